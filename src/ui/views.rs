//! The Processes table, the Pipeline diagram and the Results view.

use std::cmp::Ordering;

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use super::charts::PALETTE;
use super::session::ChartData;
use crate::diagnosis::{Diagnosis, DiagnosisKind};
use crate::probe::sampler::series::{self, StageMetric};
use crate::probe::{StageSnapshot, StageState, TimeShares};
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
    /// Where its time went: over the last second while running, over the whole run once done.
    pub time: TimeShares,
    /// Median and 99th percentile time in its mailbox over the last second (µs).
    pub mailbox_wait_us: Option<(f64, f64)>,
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
                time: if stage.state == StageState::Done {
                    stage.times.shares()
                } else {
                    let share = |m| {
                        data.mean_over(&series::stage(&stage.name, m), 1.0)
                            .unwrap_or(0.0)
                            / 1e3
                    };
                    TimeShares {
                        busy: share(StageMetric::BusyPerS),
                        backpressured: share(StageMetric::BackpressuredPerS),
                        idle: share(StageMetric::IdlePerS),
                        sleeping: share(StageMetric::SleepingPerS),
                    }
                },
                mailbox_wait_us: data
                    .last(&series::stage(&stage.name, StageMetric::MailboxP50Us))
                    .zip(data.last(&series::stage(&stage.name, StageMetric::MailboxP99Us))),
                stage,
            })
            .collect()
    }
}

/// `1234` µs → `1.2 ms`; `3.4` µs → `3.4 µs`.
fn micros(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.1} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

/// `1234567` bytes → `1.2 MB`.
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
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
    /// Time busy (ms per second).
    Busy,
    /// Time backpressured (ms per second).
    Backpressured,
    /// Time idle (ms per second).
    Idle,
    /// Time sleeping in the delay (ms per second).
    Sleeping,
    /// Time in mailbox, p50 / p99.
    MailboxWait,
    /// Bytes in its mailbox and buffer.
    Memory,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 19] = [
        Column::Name,
        Column::Kind,
        Column::State,
        Column::Rate,
        Column::MsgQ,
        Column::Memory,
        Column::Busy,
        Column::Backpressured,
        Column::Idle,
        Column::Sleeping,
        Column::MailboxWait,
        Column::In,
        Column::Out,
        Column::Queued,
        Column::Buffered,
        Column::Cpu,
        Column::Polls,
        Column::SchedWait,
        Column::Switches,
    ];

    /// The columns a 1920-pixel slide holds: who, how fast, how much waits, where time goes.
    pub const SLIDE: [Column; 11] = [
        Column::Name,
        Column::In,
        Column::Rate,
        Column::MsgQ,
        Column::Memory,
        Column::State,
        Column::Busy,
        Column::Backpressured,
        Column::Idle,
        Column::Sleeping,
        Column::MailboxWait,
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
            Column::Busy => "Busy",
            Column::Backpressured => "Backpressured",
            Column::Idle => "Idle",
            Column::Sleeping => "Delay",
            Column::MailboxWait => "In mailbox p50 / p99",
            Column::Memory => "Memory",
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
            Column::Busy => Some(
                "Time handling events, in ms per second (over the last second while running, \
                 the whole run once done)",
            ),
            Column::Backpressured => Some(
                "Time it had events but could not send them (no demand downstream, or Push's \
                 send penalty), in ms per second",
            ),
            Column::Idle => Some("Time waiting for events (mailbox empty), in ms per second"),
            Column::Sleeping => Some(
                "Time sleeping in the simulated delay (which stands for slow work), in ms per \
                 second",
            ),
            Column::MailboxWait => Some(
                "How long its messages waited in its mailbox before it took them: median and \
                 99th percentile over the last second (from a sample of about a thousand \
                 messages a second)",
            ),
            Column::Memory => {
                Some("Bytes waiting in its mailbox and its own buffer (observer's Memory column)")
            }
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
            Column::Busy => a.time.busy.total_cmp(&b.time.busy),
            Column::Backpressured => a.time.backpressured.total_cmp(&b.time.backpressured),
            Column::Idle => a.time.idle.total_cmp(&b.time.idle),
            Column::Sleeping => a.time.sleeping.total_cmp(&b.time.sleeping),
            Column::MailboxWait => {
                let p99 = |r: &ProcessRow| r.mailbox_wait_us.map_or(-1.0, |w| w.1);
                p99(a).total_cmp(&p99(b))
            }
            Column::Memory => x.queued_bytes.cmp(&y.queued_bytes),
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
            Column::Busy => format!("{:.0}", r.time.busy * 1e3),
            Column::Backpressured => format!("{:.0}", r.time.backpressured * 1e3),
            Column::Idle => format!("{:.0}", r.time.idle * 1e3),
            Column::Sleeping => format!("{:.0}", r.time.sleeping * 1e3),
            Column::MailboxWait => r.mailbox_wait_us.map_or("–".into(), |(p50, p99)| {
                format!("{} / {}", micros(p50), micros(p99))
            }),
            Column::Memory => bytes(s.queued_bytes),
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

/// The Processes table (sortable by clicking a header; clicking a name selects its stage).
pub fn processes_table(
    ui: &mut Ui,
    rows: &mut [ProcessRow],
    columns: &[Column],
    sort: &mut Sort,
    selected: &mut Option<String>,
) {
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
                for &c in columns {
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
                    for &c in columns {
                        let text = c.cell(r);
                        match c {
                            Column::Name => {
                                let on = selected.as_deref() == Some(text.as_str());
                                if ui.selectable_label(on, &text).clicked() {
                                    *selected = (!on).then_some(text);
                                }
                            }
                            Column::Kind => {
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
pub fn pipeline_columns(rows: &[ProcessRow]) -> Vec<Vec<&ProcessRow>> {
    let group = |name: &str| {
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .to_string()
    };
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        let g = group(&r.stage.name);
        if !order.contains(&g) {
            order.push(g);
        }
    }
    order
        .iter()
        .map(|g| rows.iter().filter(|r| &group(&r.stage.name) == g).collect())
        .collect()
}

/// Colours of the four parts of a stage's time, in the order drawn.
pub const TIME_COLORS: [(&str, Color32); 4] = [
    ("busy", Color32::from_rgb(214, 69, 65)),
    ("in the delay", Color32::from_rgb(236, 150, 40)),
    ("backpressured", Color32::from_rgb(140, 100, 190)),
    ("idle", Color32::from_rgb(110, 150, 215)),
];

/// A box's fill for a stage working (busy or in the delay) `load` of the time (0–1): pale
/// blue when idle, through white, to red when saturated, like Flink's busy colouring.
pub fn load_color(load: f64, dark: bool) -> Color32 {
    let (cool, mid, hot) = if dark {
        (
            Color32::from_rgb(36, 52, 82),
            Color32::from_rgb(58, 56, 54),
            Color32::from_rgb(140, 44, 40),
        )
    } else {
        (
            Color32::from_rgb(214, 228, 248),
            Color32::from_rgb(250, 245, 235),
            Color32::from_rgb(240, 120, 110),
        )
    };
    let l = load.clamp(0.0, 1.0) as f32;
    if l < 0.5 {
        cool.lerp_to_gamma(mid, l * 2.0)
    } else {
        mid.lerp_to_gamma(hot, (l - 0.5) * 2.0)
    }
}

/// The Pipeline view: stages as boxes in columns, events flowing right (and, for demand-driven
/// pipelines, demand flowing back). Each box is coloured by how loaded the stage is and shows
/// where its time goes; clicking a box selects its stage.
pub fn pipeline(
    ui: &mut Ui,
    rows: &[ProcessRow],
    demand_driven: bool,
    selected: &mut Option<String>,
) {
    let columns = pipeline_columns(rows);
    if columns.is_empty() {
        ui.label("No stages yet: start a run.");
        return;
    }
    let avail = ui.available_size();
    let (response, painter) = ui.allocate_painter(avail, Sense::click());
    let area = response.rect.shrink(20.0);
    // Room for the legend below.
    let area = Rect::from_min_max(area.min, area.max - Vec2::new(0.0, 34.0));
    let ncol = columns.len() as f32;
    let col_w = area.width() / ncol;
    let box_w = (col_w * 0.62).min(230.0);
    let mut rects: Vec<Vec<Rect>> = Vec::new();
    for (ci, col) in columns.iter().enumerate() {
        let n = col.len() as f32;
        let box_h = ((area.height() - 40.0) / n - 16.0).clamp(34.0, 100.0);
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
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        let hit = columns
            .iter()
            .zip(&rects)
            .flat_map(|(col, rs)| col.iter().zip(rs))
            .find(|(_, r)| r.contains(pos))
            .map(|(row, _)| row.stage.name.clone());
        *selected = hit;
    }
    let text = ui.visuals().text_color();
    let dark = ui.visuals().dark_mode;
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
                if demand_driven {
                    dashed_arrow(
                        &painter,
                        to + Vec2::new(0.0, 5.0),
                        from + Vec2::new(0.0, 5.0),
                        Stroke::new(1.0, PALETTE[1]),
                    );
                }
            }
        }
    }
    for (ci, col) in columns.iter().enumerate() {
        for (row, r) in col.iter().zip(&rects[ci]) {
            let s = &row.stage;
            let is_selected = selected.as_deref() == Some(s.name.as_str());
            let border = if is_selected {
                Stroke::new(4.0, ui.visuals().selection.stroke.color)
            } else {
                Stroke::new(2.0, state_color(s.state))
            };
            painter.rect(
                *r,
                8.0,
                load_color(row.time.working(), dark),
                border,
                egui::StrokeKind::Inside,
            );
            painter.text(
                r.center_top() + Vec2::new(0.0, 6.0),
                Align2::CENTER_TOP,
                &s.name,
                FontId::proportional(14.0),
                text,
            );
            // Where its time goes, as a bar along the bottom of the box.
            let bar = Rect::from_min_max(
                r.left_bottom() + Vec2::new(8.0, -12.0),
                r.right_bottom() + Vec2::new(-8.0, -6.0),
            );
            let shares = [
                row.time.busy,
                row.time.sleeping,
                row.time.backpressured,
                row.time.idle,
            ];
            let total: f64 = shares.iter().sum();
            let mut x = bar.left();
            for (share, (_, colour)) in shares.iter().zip(TIME_COLORS) {
                if total <= 0.0 {
                    break;
                }
                let w = bar.width() * (share / total) as f32;
                painter.rect_filled(
                    Rect::from_min_size(Pos2::new(x, bar.top()), Vec2::new(w, bar.height())),
                    0.0,
                    colour,
                );
                x += w;
            }
            if r.height() > 60.0 {
                painter.text(
                    r.center() + Vec2::new(0.0, -2.0),
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
                    r.center_bottom() - Vec2::new(0.0, 16.0),
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
            "→ events flow right      ⇠ demand flows back (asks)      border: state"
        } else {
            "→ events are pushed right, no demand: mailboxes are unbounded      border: state"
        },
        FontId::proportional(12.0),
        text.gamma_multiply(0.8),
    );
    pipeline_legend(
        &painter,
        area.left_bottom() + Vec2::new(0.0, 14.0),
        text,
        dark,
    );
}

/// The Pipeline's legend: the fill's scale and the time bar's colours.
fn pipeline_legend(painter: &egui::Painter, at: Pos2, text: Color32, dark: bool) {
    let font = FontId::proportional(12.0);
    let label = painter.text(at, Align2::LEFT_TOP, "fill: working", font.clone(), text);
    let ramp = Rect::from_min_size(
        Pos2::new(label.right() + 8.0, at.y + 2.0),
        Vec2::new(120.0, 12.0),
    );
    for i in 0..40 {
        let w = ramp.width() / 40.0;
        painter.rect_filled(
            Rect::from_min_size(
                Pos2::new(ramp.left() + i as f32 * w, ramp.top()),
                Vec2::new(w + 1.0, ramp.height()),
            ),
            0.0,
            load_color(i as f64 / 39.0, dark),
        );
    }
    painter.text(
        ramp.left_bottom() + Vec2::new(0.0, 2.0),
        Align2::LEFT_TOP,
        "0 %",
        FontId::proportional(10.0),
        text,
    );
    painter.text(
        ramp.right_bottom() + Vec2::new(0.0, 2.0),
        Align2::RIGHT_TOP,
        "100 % of the time",
        FontId::proportional(10.0),
        text,
    );
    let mut x = ramp.right() + 40.0;
    let bar = painter.text(
        Pos2::new(x, at.y),
        Align2::LEFT_TOP,
        "bar: time",
        font.clone(),
        text,
    );
    x = bar.right() + 10.0;
    for (name, colour) in TIME_COLORS {
        painter.rect_filled(
            Rect::from_min_size(Pos2::new(x, at.y + 2.0), Vec2::new(12.0, 12.0)),
            2.0,
            colour,
        );
        let t = painter.text(
            Pos2::new(x + 16.0, at.y),
            Align2::LEFT_TOP,
            name,
            font.clone(),
            text,
        );
        x = t.right() + 14.0;
    }
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

/// The diagnoses above the views: one line each, those holding now first (while running,
/// those that held earlier are greyed). Returns the stage of a diagnosis the user clicked.
pub fn diagnosis_strip(ui: &mut Ui, diagnoses: &[Diagnosis], live: bool) -> Option<String> {
    let mut shown: Vec<&Diagnosis> = diagnoses.iter().collect();
    shown.sort_by_key(|d| d.until_ms.is_some());
    if shown.is_empty() {
        return None;
    }
    let mut clicked = None;
    egui::Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let most = 4;
            for d in shown.iter().take(most) {
                ui.horizontal(|ui| {
                    let colour = match d.kind {
                        DiagnosisKind::MailboxGrowth | DiagnosisKind::PartitionSkew => {
                            Color32::from_rgb(200, 60, 60)
                        }
                        DiagnosisKind::Bottleneck => Color32::from_rgb(220, 120, 20),
                        DiagnosisKind::Starved | DiagnosisKind::SmallDemand => {
                            Color32::from_rgb(70, 110, 200)
                        }
                    };
                    ui.label(
                        RichText::new(format!("▲ {}", d.kind.name()))
                            .color(colour)
                            .strong(),
                    );
                    let when = match d.until_ms {
                        Some(u) => format!(" ({:.1}–{:.1} s)", d.since_ms / 1e3, u / 1e3),
                        None => format!(" (since {:.1} s)", d.since_ms / 1e3),
                    };
                    let over = live && d.until_ms.is_some();
                    let text = RichText::new(format!("{}{when}", d.summary));
                    let link = ui
                        .link(if over { text.weak() } else { text })
                        .on_hover_text("Select this stage in Processes and Pipeline");
                    if link.clicked() {
                        clicked = Some(d.stage.clone());
                    }
                });
            }
            if shown.len() > most {
                ui.label(
                    RichText::new(format!("and {} more (see Results)", shown.len() - most)).weak(),
                );
            }
        });
    clicked
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
