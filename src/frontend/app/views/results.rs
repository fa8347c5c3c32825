//! The Results view: the shown run's totals and top words, the runs of the session, and two
//! runs compared.

use egui::{Color32, RichText, Ui, Vec2};

use super::{View, ViewAction, ViewContext};
use crate::frontend::app::chart_data::ChartData;
use crate::frontend::app::charts::{self, ChartOptions, Unit};
use crate::observe::diagnosis::Diagnosis;
use crate::observe::format::thousands;
use crate::observe::run::RunReport;
use crate::observe::series;
use crate::runtime::probe::{StageKind, StageSnapshot, StateTimes};

/// How a run ended, coloured: completed, stopped (why), or seen until detached.
fn status_text(r: &RunReport) -> RichText {
    match (r.stop_reason, r.completed) {
        (None, true) => RichText::new("completed").color(Color32::from_rgb(46, 160, 67)),
        (None, false) => RichText::new("seen until detached").color(Color32::from_rgb(200, 120, 0)),
        (Some(reason), _) => RichText::new(format!("stopped: {}", reason.name()))
            .color(Color32::from_rgb(200, 120, 0)),
    }
}

/// The totals grid: `first` (what this kind of run counts), then what every report has, then
/// `more` rows.
fn totals<const N: usize>(
    ui: &mut Ui,
    r: &RunReport,
    first: [(&str, String); N],
    more: impl FnOnce(&mut Ui),
) {
    let every = [
        ("Wall time", format!("{:.2} s", r.wall_ms / 1e3)),
        (
            "Peak resident memory",
            format!("{:.1} MB", r.peak_rss_bytes as f64 / 1e6),
        ),
        ("Largest mailbox", thousands(r.max_mailbox_len)),
        ("Context switches", thousands(r.context_switches)),
    ];
    egui::Grid::new("totals")
        .spacing(Vec2::new(16.0, 4.0))
        .show(ui, |ui| {
            for (k, v) in first.into_iter().chain(every) {
                ui.label(k);
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            }
            more(ui);
        });
}

/// The summary of a program's own pipeline: its totals and where each stage's time went.
fn program_summary(ui: &mut Ui, r: &RunReport, program: &str) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(program).strong().size(16.0));
        ui.label(RichText::new("a program's pipeline").weak());
        ui.label(status_text(r));
    });
    totals(
        ui,
        r,
        [
            ("Stages", r.stages.len().to_string()),
            ("Messages", thousands(r.messages)),
        ],
        |_| {},
    );
    ui.add_space(6.0);
    ui.label(RichText::new("Where each stage's time went (ms)").strong());
    egui::Grid::new("stage times").striped(true).show(ui, |ui| {
        for h in ["Stage", "In", "Out", "Busy", "Backpressured", "Idle"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for s in &r.stages {
            ui.label(&s.name);
            for v in [
                thousands(s.events_in),
                thousands(s.events_out),
                format!("{:.0}", s.busy_ms),
                format!("{:.0}", s.backpressured_ms),
                format!("{:.0}", s.idle_ms),
            ] {
                ui.label(RichText::new(v).monospace());
            }
            ui.end_row();
        }
    });
}

/// Totals, fingerprint and the top words by length of one finished run.
pub fn result_summary(ui: &mut Ui, r: &RunReport, top: usize) {
    if let Some(program) = &r.program {
        return program_summary(ui, r, program);
    }
    let status = status_text(r);
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} on {} ×{}",
                r.strategy,
                crate::wordcount::corpus::short_name_of(&r.corpus),
                r.repeat
            ))
            .strong()
            .size(16.0),
        );
        ui.label(status);
    });
    totals(
        ui,
        r,
        [
            ("Words", thousands(r.total_words)),
            ("Distinct words", thousands(r.distinct_words as u64)),
            ("Lines", thousands(r.lines)),
        ],
        |ui| {
            ui.label("counts_sha256");
            ui.label(RichText::new(&r.counts_sha256).monospace().small());
            ui.end_row();
        },
    );
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

/// Programs side by side, where the shown run follows several (or is a fleet): each one's
/// stages, events, where its stages' time went, its largest queue and its diagnoses.
fn programs_compared(ui: &mut Ui, stages: &[StageSnapshot], diagnoses: &[Diagnosis]) {
    let mut programs: Vec<&str> = stages.iter().filter_map(|s| s.program.as_deref()).collect();
    programs.dedup();
    if programs.len() < 2 {
        return;
    }
    ui.label(RichText::new(format!("{} programs compared", programs.len())).strong());
    egui::Grid::new("programs").striped(true).show(ui, |ui| {
        for h in [
            "Program",
            "Stages",
            "Events in",
            "Busy",
            "Backpressured",
            "Idle",
            "Largest queue",
            "Diagnoses",
        ] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for p in programs {
            let own: Vec<&StageSnapshot> = stages
                .iter()
                .filter(|s| s.program.as_deref() == Some(p))
                .collect();
            let workers: Vec<&&StageSnapshot> = own
                .iter()
                .filter(|s| s.kind != StageKind::Channel)
                .collect();
            let ns = |f: fn(&StateTimes) -> u64| workers.iter().map(|s| f(&s.times)).sum::<u64>();
            let (busy, back, idle) = (
                ns(|t| t.busy_ns + t.sleeping_ns),
                ns(|t| t.backpressured_ns),
                ns(|t| t.idle_ns),
            );
            let all = (busy + back + idle).max(1) as f64;
            let found = diagnoses
                .iter()
                .filter(|d| own.iter().any(|s| s.name == d.stage))
                .count();
            ui.label(p);
            for v in [
                own.len().to_string(),
                thousands(workers.iter().map(|s| s.events_in).sum()),
                format!("{:.0} %", busy as f64 / all * 100.0),
                format!("{:.0} %", back as f64 / all * 100.0),
                format!("{:.0} %", idle as f64 / all * 100.0),
                thousands(own.iter().map(|s| s.max_mailbox).max().unwrap_or(0)),
                found.to_string(),
            ] {
                ui.label(RichText::new(v).monospace());
            }
            ui.end_row();
        }
    });
    ui.add_space(8.0);
}

/// The Results view; keeps which runs are compared.
#[derive(Debug, Default)]
pub struct ResultsView {
    /// Runs picked for comparison (indices into the session's runs; at most two).
    pub compare: Vec<usize>,
}

impl View for ResultsView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let mut action = None;
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            egui::ScrollArea::both().id_salt("summary").show(ui, |ui| {
                programs_compared(ui, &cx.run.stages(), &cx.run.diagnoses());
                match cx.run.report.clone() {
                    Some(r) => result_summary(ui, &r, 10),
                    None => {
                        ui.label("The run is still going: results appear when it ends.");
                    }
                }
            });
            let ui = &mut cols[1];
            ui.label(RichText::new("Runs of this session (tick two to compare)").strong());
            egui::ScrollArea::vertical()
                .id_salt("runs")
                .max_height(260.0)
                .show(ui, |ui| {
                    egui::Grid::new("history").striped(true).show(ui, |ui| {
                        for h in [
                            "",
                            "Run",
                            "Delay",
                            "Workers",
                            "Wall",
                            "Peak memory",
                            "Largest MsgQ",
                            "Result",
                            "",
                        ] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        let mut save = None;
                        for (i, run) in cx.runs.iter().enumerate() {
                            let mut on = self.compare.contains(&i);
                            let tick = ui.checkbox(&mut on, "");
                            let name = format!("Compare run #{}", run.number);
                            tick.widget_info(|| {
                                egui::WidgetInfo::selected(egui::Role::CheckBox, true, on, &name)
                            });
                            if tick.changed() {
                                if on {
                                    self.compare.push(i);
                                    if self.compare.len() > 2 {
                                        self.compare.remove(0);
                                    }
                                } else {
                                    self.compare.retain(|&j| j != i);
                                }
                            }
                            let name = format!("#{} {}", run.number, run.what());
                            match run.recorded_from() {
                                Some(path) => {
                                    ui.label(format!("{name} (recorded)"))
                                        .on_hover_text(path.display().to_string());
                                }
                                None => {
                                    ui.label(name);
                                }
                            }
                            ui.label(crate::observe::format::delay(run.delay()));
                            ui.label(run.settings.workers.to_string());
                            match &run.report {
                                Some(r) => {
                                    ui.label(format!("{:.2} s", r.wall_ms / 1e3));
                                    ui.label(format!("{:.0} MB", r.peak_rss_bytes as f64 / 1e6));
                                    ui.label(thousands(r.max_mailbox_len));
                                    ui.label(match (r.stop_reason, r.completed) {
                                        (None, true) => "completed".to_string(),
                                        (None, false) => "detached".to_string(),
                                        (Some(s), _) => s.name().to_string(),
                                    });
                                    if ui
                                        .small_button("Save…")
                                        .on_hover_text("Save this run as a recording")
                                        .clicked()
                                    {
                                        save = Some(i);
                                    }
                                }
                                None => {
                                    ui.label("running…");
                                    ui.label("");
                                    ui.label("");
                                    ui.label("");
                                    ui.label("");
                                }
                            }
                            ui.end_row();
                        }
                        if let Some(i) = save {
                            action = Some(ViewAction::SaveRun(i));
                        }
                    });
                });
            let picked: Vec<(String, &ChartData)> = self
                .compare
                .iter()
                .filter_map(|&i| cx.runs.get(i))
                .map(|r| (r.label(), &r.data))
                .collect();
            if picked.len() == 2 {
                let opts = ChartOptions {
                    window: None,
                    ..*cx.opts
                };
                charts::overlay_chart(
                    ui,
                    "cmp-mem",
                    "Resident memory",
                    Unit::Bytes,
                    &picked,
                    series::RSS,
                    &opts,
                    160.0,
                );
                let queues: Vec<ChartData> = picked
                    .iter()
                    .map(|(_, d)| charts::max_queue_series(d))
                    .collect();
                let q: Vec<(String, &ChartData)> = picked
                    .iter()
                    .zip(&queues)
                    .map(|((l, _), d)| (l.clone(), d))
                    .collect();
                charts::overlay_chart(
                    ui,
                    "cmp-q",
                    "Largest mailbox",
                    Unit::Count,
                    &q,
                    charts::MAX_QUEUE,
                    &opts,
                    160.0,
                );
            }
        });
        action
    }
}
