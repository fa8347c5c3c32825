//! The Processes table, the Pipeline diagram and the Results view.

use std::cmp::Ordering;

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use super::charts::PALETTE;
use super::session::ChartData;
use crate::probe::sampler::series::{self, StageMetric};
use crate::probe::{StageKind, StageSnapshot, StageState};
use crate::run::RunReport;

/// One row of the Processes table.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRow {
    /// The stage's counters.
    pub stage: StageSnapshot,
    /// Events handled per second: over the last second while running, the mean once done.
    pub events_per_s: f64,
    /// CPU time of its thread (ms).
    pub cpu_ms: f64,
    /// Times per second its thread was switched in (newest sample): the cost of hand-overs.
    pub switches_per_s: f64,
    /// Polls of its task per second (newest sample).
    pub polls_per_s: f64,
    /// Time it was ready but waited for a scheduler (ms).
    pub sched_wait_ms: f64,
}

impl ProcessRow {
    /// Rows for every stage, with rates from the chart data.
    pub fn collect(stages: Vec<StageSnapshot>, data: &ChartData) -> Vec<ProcessRow> {
        stages
            .into_iter()
            .map(|stage| ProcessRow {
                // A finished stage shows its mean rate; a running one its rate over the last
                // second (steadier than one sample's).
                events_per_s: if stage.state == StageState::Done {
                    data.mean_rate_to_final(&series::stage(&stage.name, StageMetric::In))
                } else {
                    data.rate_over(&series::stage(&stage.name, StageMetric::In), 1.0)
                }
                .unwrap_or(0.0),
                cpu_ms: data
                    .last(&series::stage(&stage.name, StageMetric::CpuMs))
                    .unwrap_or(0.0),
                switches_per_s: data
                    .last(&series::stage(&stage.name, StageMetric::SwitchesPerS))
                    .unwrap_or(0.0),
                polls_per_s: data
                    .last(&series::stage(&stage.name, StageMetric::PollsPerS))
                    .unwrap_or(0.0),
                sched_wait_ms: stage.sched_wait_ns as f64 / 1e6,
                stage,
            })
            .collect()
    }
}

/// A column of the Processes table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Stage name.
    Name,
    /// Stage kind.
    Kind,
    /// Events in.
    In,
    /// Events out.
    Out,
    /// Events per second.
    Rate,
    /// Messages in the mailbox.
    MsgQ,
    /// Events in the mailbox.
    Queued,
    /// Events in the stage's own buffer.
    Buffered,
    /// Current state.
    State,
    /// CPU time.
    Cpu,
    /// Context switches per second.
    Switches,
    /// Polls per second.
    Polls,
    /// Time ready but waiting for a scheduler.
    SchedWait,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 13] = [
        Column::Name,
        Column::Kind,
        Column::In,
        Column::Out,
        Column::Rate,
        Column::MsgQ,
        Column::Queued,
        Column::Buffered,
        Column::State,
        Column::Cpu,
        Column::Polls,
        Column::SchedWait,
        Column::Switches,
    ];

    /// Header text.
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Kind => "Kind",
            Column::In => "Events in",
            Column::Out => "Events out",
            Column::Rate => "Events/s",
            Column::MsgQ => "MsgQ",
            Column::Queued => "Queued events",
            Column::Buffered => "Buffered",
            Column::State => "State",
            Column::Cpu => "CPU time",
            Column::Switches => "Switches/s",
            Column::Polls => "Polls/s",
            Column::SchedWait => "Run queue",
        }
    }

    /// What the column means, shown when hovering its header.
    pub fn help(self) -> Option<&'static str> {
        match self {
            Column::MsgQ => Some("Messages waiting in the stage's mailbox (observer's MsgQ)"),
            Column::Queued => Some("Events carried by the messages waiting in its mailbox"),
            Column::Buffered => Some(
                "Events the stage holds beyond its mailbox: input not yet handled and output \
                 waiting for demand",
            ),
            Column::Cpu => Some(
                "Its thread's CPU time (threads runtime), or the time inside its task's polls \
                 (scheduler runtime)",
            ),
            Column::Polls => Some(
                "Times per second its task was polled: each poll handles what its mailbox holds \
                 (observer's reductions, as work units)",
            ),
            Column::SchedWait => Some(
                "Time it was ready to run but waited for a scheduler (the run queue), \
                 estimated from a sample of its wake-ups",
            ),
            Column::Switches => Some(
                "Times per second the stage's thread got a core back after blocking, yielding \
                 or being preempted: small demand means many hand-overs",
            ),
            _ => None,
        }
    }

    fn compare(self, a: &ProcessRow, b: &ProcessRow) -> Ordering {
        let (x, y) = (&a.stage, &b.stage);
        match self {
            Column::Name => x.name.cmp(&y.name),
            Column::Kind => x.kind.label().cmp(y.kind.label()),
            Column::In => x.events_in.cmp(&y.events_in),
            Column::Out => x.events_out.cmp(&y.events_out),
            Column::Rate => a.events_per_s.total_cmp(&b.events_per_s),
            Column::MsgQ => x.mailbox_messages.cmp(&y.mailbox_messages),
            Column::Queued => x.mailbox_events.cmp(&y.mailbox_events),
            Column::Buffered => x.buffered.cmp(&y.buffered),
            Column::State => x.state.label().cmp(y.state.label()),
            Column::Cpu => a.cpu_ms.total_cmp(&b.cpu_ms),
            Column::Switches => a.switches_per_s.total_cmp(&b.switches_per_s),
            Column::Polls => a.polls_per_s.total_cmp(&b.polls_per_s),
            Column::SchedWait => a.sched_wait_ms.total_cmp(&b.sched_wait_ms),
        }
    }

    fn cell(self, r: &ProcessRow) -> String {
        let s = &r.stage;
        match self {
            Column::Name => s.name.clone(),
            Column::Kind => s.kind.label().into(),
            Column::In => thousands(s.events_in),
            Column::Out => thousands(s.events_out),
            Column::Rate => thousands(r.events_per_s.round() as u64),
            Column::MsgQ => thousands(s.mailbox_messages),
            Column::Queued => thousands(s.mailbox_events),
            Column::Buffered => thousands(s.buffered),
            Column::State => s.state.label().into(),
            Column::Cpu => format!("{:.2} s", r.cpu_ms / 1e3),
            // A task on the scheduler has no thread of its own to switch.
            Column::Switches if s.tid == 0 => "–".into(),
            Column::Switches => thousands(r.switches_per_s.round() as u64),
            Column::Polls => thousands(r.polls_per_s.round() as u64),
            Column::SchedWait => format!("{:.1} ms", r.sched_wait_ms),
        }
    }
}

/// The sort of the Processes table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// Column sorted by.
    pub column: Column,
    /// Descending?
    pub descending: bool,
}

impl Default for Sort {
    /// MsgQ descending, like observer's default.
    fn default() -> Self {
        Sort {
            column: Column::MsgQ,
            descending: true,
        }
    }
}

pub use crate::run::thousands;

fn state_color(state: StageState) -> Color32 {
    match state {
        StageState::Running => Color32::from_rgb(46, 160, 67),
        StageState::Sleeping => Color32::from_rgb(210, 140, 20),
        StageState::WaitingForDemand => Color32::from_rgb(200, 60, 60),
        StageState::WaitingForEvents => Color32::from_rgb(90, 120, 200),
        StageState::Starting | StageState::Done => Color32::from_gray(140),
    }
}

/// The Processes table (sortable by clicking a header).
pub fn processes_table(ui: &mut Ui, rows: &mut [ProcessRow], sort: &mut Sort) {
    rows.sort_by(|a, b| {
        let o = sort.column.compare(a, b);
        if sort.descending { o.reverse() } else { o }
    });
    if rows.is_empty() {
        ui.label("No stages yet: start a run.");
        return;
    }
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("processes")
            .striped(true)
            .spacing(Vec2::new(18.0, 6.0))
            .show(ui, |ui| {
                for c in Column::ALL {
                    let arrow = if sort.column == c {
                        if sort.descending { " ▼" } else { " ▲" }
                    } else {
                        ""
                    };
                    let mut header = ui.add(
                        egui::Button::new(RichText::new(format!("{}{arrow}", c.title())).strong())
                            .frame(false),
                    );
                    if let Some(help) = c.help() {
                        header = header.on_hover_text(help);
                    }
                    if header.clicked() {
                        if sort.column == c {
                            sort.descending = !sort.descending;
                        } else {
                            *sort = Sort {
                                column: c,
                                descending: !matches!(
                                    c,
                                    Column::Name | Column::Kind | Column::State
                                ),
                            };
                        }
                    }
                }
                ui.end_row();
                for r in rows.iter() {
                    for c in Column::ALL {
                        let text = c.cell(r);
                        match c {
                            Column::Name | Column::Kind => {
                                ui.label(text);
                            }
                            Column::State => {
                                ui.label(RichText::new(text).color(state_color(r.stage.state)));
                            }
                            _ => {
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| {
                                        ui.label(RichText::new(text).monospace());
                                    },
                                );
                            }
                        }
                    }
                    ui.end_row();
                }
            });
    });
}

/// Groups stages into pipeline columns by name (`extractor 1`, `extractor 2` → `extractor`),
/// in order of first appearance.
pub fn pipeline_columns(stages: &[StageSnapshot]) -> Vec<Vec<&StageSnapshot>> {
    let group = |name: &str| {
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .to_string()
    };
    let mut order: Vec<String> = Vec::new();
    for s in stages {
        let g = group(&s.name);
        if !order.contains(&g) {
            order.push(g);
        }
    }
    order
        .iter()
        .map(|g| stages.iter().filter(|s| &group(&s.name) == g).collect())
        .collect()
}

/// The Pipeline view: stages as boxes in columns, events flowing right (and, for demand-driven
/// pipelines, demand flowing back), each box with its live mailbox and state.
pub fn pipeline(ui: &mut Ui, stages: &[StageSnapshot], demand_driven: bool) {
    let columns = pipeline_columns(stages);
    if columns.is_empty() {
        ui.label("No stages yet: start a run.");
        return;
    }
    let avail = ui.available_size();
    let (response, painter) = ui.allocate_painter(avail, Sense::hover());
    let area = response.rect.shrink(20.0);
    let ncol = columns.len() as f32;
    let col_w = area.width() / ncol;
    let box_w = (col_w * 0.62).min(230.0);
    let mut rects: Vec<Vec<Rect>> = Vec::new();
    for (ci, col) in columns.iter().enumerate() {
        let n = col.len() as f32;
        let box_h = ((area.height() - 40.0) / n - 16.0).clamp(34.0, 92.0);
        let total = n * box_h + (n - 1.0) * 16.0;
        let top = area.top() + 30.0 + (area.height() - 30.0 - total) / 2.0;
        let cx = area.left() + col_w * (ci as f32 + 0.5);
        rects.push(
            (0..col.len())
                .map(|i| {
                    Rect::from_center_size(
                        Pos2::new(cx, top + box_h / 2.0 + i as f32 * (box_h + 16.0)),
                        Vec2::new(box_w, box_h),
                    )
                })
                .collect(),
        );
    }
    let text = ui.visuals().text_color();
    // Arrows: events go right (solid), demand goes back (dashed).
    for ci in 1..columns.len() {
        for a in &rects[ci - 1] {
            for b in &rects[ci] {
                let from = a.right_center();
                let to = b.left_center();
                arrow(
                    &painter,
                    from + Vec2::new(0.0, -4.0),
                    to + Vec2::new(0.0, -4.0),
                    Stroke::new(1.6, PALETTE[0]),
                );
                dashed_arrow(
                    &painter,
                    to + Vec2::new(0.0, 5.0),
                    from + Vec2::new(0.0, 5.0),
                    Stroke::new(1.0, PALETTE[1]),
                );
            }
        }
    }
    for (ci, col) in columns.iter().enumerate() {
        for (s, r) in col.iter().zip(&rects[ci]) {
            let fill = match s.kind {
                StageKind::Producer => Color32::from_rgb(225, 236, 250),
                StageKind::ProducerConsumer => Color32::from_rgb(230, 245, 228),
                StageKind::Consumer => Color32::from_rgb(250, 235, 222),
            };
            let fill = if ui.visuals().dark_mode {
                fill.gamma_multiply(0.25)
            } else {
                fill
            };
            painter.rect(
                *r,
                8.0,
                fill,
                Stroke::new(2.0, state_color(s.state)),
                egui::StrokeKind::Inside,
            );
            painter.text(
                r.center_top() + Vec2::new(0.0, 6.0),
                Align2::CENTER_TOP,
                &s.name,
                FontId::proportional(14.0),
                text,
            );
            if r.height() > 50.0 {
                painter.text(
                    r.center() + Vec2::new(0.0, 6.0),
                    Align2::CENTER_CENTER,
                    format!(
                        "MsgQ {}  ·  {}",
                        thousands(s.mailbox_messages),
                        s.state.label()
                    ),
                    FontId::proportional(12.0),
                    text,
                );
                painter.text(
                    r.center_bottom() - Vec2::new(0.0, 6.0),
                    Align2::CENTER_BOTTOM,
                    format!(
                        "in {}  out {}",
                        thousands(s.events_in),
                        thousands(s.events_out)
                    ),
                    FontId::monospace(11.0),
                    text.gamma_multiply(0.8),
                );
            }
        }
    }
    painter.text(
        area.left_top(),
        Align2::LEFT_TOP,
        if demand_driven {
            "→ events flow right      ⇠ demand flows back (asks)      box border: state"
        } else {
            "→ events are pushed right, no demand: mailboxes are unbounded      box border: state"
        },
        FontId::proportional(12.0),
        text.gamma_multiply(0.8),
    );
}

fn arrow(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    painter.line_segment([from, to], stroke);
    head(painter, from, to, stroke);
}

fn dashed_arrow(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    painter.extend(egui::Shape::dashed_line(&[from, to], stroke, 6.0, 4.0));
    head(painter, from, to, stroke);
}

fn head(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    let dir = (to - from).normalized();
    let side = Vec2::new(-dir.y, dir.x);
    let a = to - dir * 9.0 + side * 4.5;
    let b = to - dir * 9.0 - side * 4.5;
    painter.add(egui::Shape::convex_polygon(
        vec![to, a, b],
        stroke.color,
        Stroke::NONE,
    ));
}

/// Totals, fingerprint and the top words by length of one finished run.
pub fn result_summary(ui: &mut Ui, r: &RunReport, top: usize) {
    let status = match r.stop_reason {
        None => RichText::new("completed").color(Color32::from_rgb(46, 160, 67)),
        Some(reason) => RichText::new(format!("stopped: {}", reason.name()))
            .color(Color32::from_rgb(200, 120, 0)),
    };
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("{} on {} ×{}", r.strategy, r.corpus, r.repeat))
                .strong()
                .size(16.0),
        );
        ui.label(status);
    });
    egui::Grid::new("totals")
        .spacing(Vec2::new(16.0, 4.0))
        .show(ui, |ui| {
            let rows = [
                ("Words", thousands(r.total_words)),
                ("Distinct words", thousands(r.distinct_words as u64)),
                ("Lines", thousands(r.lines)),
                ("Wall time", format!("{:.2} s", r.wall_ms / 1e3)),
                (
                    "Peak resident memory",
                    format!("{:.1} MB", r.peak_rss_bytes as f64 / 1e6),
                ),
                ("Largest mailbox", thousands(r.max_mailbox_len)),
                ("Context switches", thousands(r.context_switches)),
            ];
            for (k, v) in rows {
                ui.label(k);
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            }
            ui.label("counts_sha256");
            ui.label(RichText::new(&r.counts_sha256).monospace().small());
            ui.end_row();
        });
    for w in r.warnings.iter().take(5) {
        ui.colored_label(Color32::from_rgb(200, 120, 0), format!("Warning: {w}"));
    }
    ui.add_space(6.0);
    ui.label(RichText::new("Most frequent words by length").strong());
    egui::ScrollArea::vertical()
        .id_salt("top words")
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("top").striped(true).show(ui, |ui| {
                for g in r.top_words(top) {
                    ui.label(RichText::new(g.length.to_string()).monospace());
                    let words: Vec<String> = g
                        .words
                        .iter()
                        .map(|(w, n)| format!("{w} ({})", thousands(*n)))
                        .collect();
                    ui.label(words.join(", "));
                    ui.end_row();
                }
            });
        });
}
