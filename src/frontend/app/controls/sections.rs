//! The sections of the controls panel: the talk's scenarios, the corpus, the execution knobs,
//! the delay and time limit, and the run's progress.

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::Receiver;
use egui::{Color32, Key, RichText, Ui};

use super::{ControlEvent, Controls, PRESET_DURATION, PRESET_REPEAT};
use crate::frontend::app::session::{CorpusChoice, Session};
use crate::frontend::scenario::SCENARIOS;
use crate::observe::format::{delay, thousands};
use crate::runtime::executor::Runtime;

impl Controls {
    pub(super) fn presets(
        &mut self,
        ui: &mut Ui,
        session: &Session,
        events: &mut Vec<ControlEvent>,
    ) {
        ui.label(RichText::new("The talk's scenarios").strong())
            .on_hover_text(
                "Each sets the strategy, the 1 ms delay, ×10 and, with the delay, a 20 s limit; \
                 then runs it",
            );
        egui::Grid::new("presets")
            .num_columns(2)
            .spacing([6.0, 4.0])
            .show(ui, |ui| {
                for (i, sc) in SCENARIOS.iter().enumerate() {
                    let button = egui::Button::new(format!("▶ {}", sc.label()))
                        .min_size(egui::vec2(128.0, 0.0));
                    if ui
                        .add_enabled(!session.is_busy(), button)
                        .on_hover_text(format!(
                            "{}, ×{PRESET_REPEAT}{}",
                            sc.strategy.describe(),
                            if sc.delay {
                                format!(
                                    ", a 1 ms delay per line, stopped after {} s",
                                    PRESET_DURATION.as_secs()
                                )
                            } else {
                                String::new()
                            }
                        ))
                        .clicked()
                    {
                        self.apply_preset(sc);
                        events.push(ControlEvent::Run);
                    }
                    if i % 2 == 1 {
                        ui.end_row();
                    }
                }
            });
        ui.label(
            RichText::new(
                "Push + 1 ms, then Pull + 1 ms: the same work; Push's mailboxes and memory \
                 explode, Pull's stay tiny.",
            )
            .weak(),
        );
    }

    pub(super) fn corpus_choice(&mut self, ui: &mut Ui, session: &mut Session) {
        let label = self.corpus.label();
        egui::ComboBox::new("corpus", "Corpus")
            .selected_text(ellipsize(&label, 28))
            .width(215.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(
                        self.corpus == CorpusChoice::Builtin,
                        CorpusChoice::Builtin.label(),
                    )
                    .clicked()
                {
                    self.corpus = CorpusChoice::Builtin;
                    session.scan(&self.corpus);
                }
                for p in self.recent.clone() {
                    let choice = CorpusChoice::Path(p.clone());
                    if ui
                        .selectable_label(self.corpus == choice, p.display().to_string())
                        .clicked()
                    {
                        self.use_path(p, session);
                    }
                }
            });
        ui.horizontal(|ui| {
            let picking = self.picking.is_some();
            if ui
                .add_enabled(!picking, egui::Button::new("Open folder…"))
                .on_hover_text("Pick a folder of .txt files")
                .clicked()
            {
                self.picking = Some(pick(true));
            }
            if ui
                .add_enabled(!picking, egui::Button::new("Open file…"))
                .on_hover_text("Pick one .txt file")
                .clicked()
            {
                self.picking = Some(pick(false));
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Path");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path_field)
                        .hint_text("or type a folder or .txt")
                        .desired_width(170.0),
                )
                .labelled_by(label.id);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (ui.button("Use").clicked() || enter) && !self.path_field.trim().is_empty() {
                let p = PathBuf::from(self.path_field.trim());
                self.use_path(p, session);
            }
        });
        session.scan(&self.corpus);
        match session.info(&self.corpus) {
            Some(Ok(info)) => {
                ui.label(
                    RichText::new(format!(
                        "{} files · {:.1} MB · {} lines",
                        info.files,
                        info.bytes as f64 / 1e6,
                        thousands(info.lines)
                    ))
                    .small(),
                );
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(200, 50, 50), RichText::new(e).small());
            }
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(RichText::new("scanning…").small());
                });
            }
        }
        ui.horizontal(|ui| {
            ui.label("Repeat ×");
            ui.add(egui::DragValue::new(&mut self.repeat).range(1..=100))
                .on_hover_text("Read the corpus this many times in a row (the talk used ×10)");
        });
    }

    pub(super) fn execution(&mut self, ui: &mut Ui) {
        egui::Grid::new("execution").num_columns(2).show(ui, |ui| {
            ui.label("Workers");
            ui.add(egui::DragValue::new(&mut self.workers).range(1..=64))
                .on_hover_text(
                    "Extractors and counters of Push, Pull and Flow (default: one per core)",
                );
            ui.end_row();
            ui.label("Runtime");
            ui.horizontal(|ui| {
                for r in Runtime::ALL {
                    ui.radio_value(&mut self.runtime, r, r.name())
                        .on_hover_text(r.describe());
                }
            });
            ui.end_row();
            ui.label("Schedulers");
            ui.add_enabled(
                self.runtime == Runtime::Scheduler,
                egui::DragValue::new(&mut self.schedulers).range(1..=64),
            )
            .on_hover_text(
                "Scheduler threads of the scheduler runtime, like erl +S (default: one per core)",
            );
            ui.end_row();
        });
        // The chosen runtime in one line, wrapped to the panel's width.
        ui.label(RichText::new(self.runtime.describe()).weak());
        egui::Grid::new("settings").num_columns(2).show(ui, |ui| {
            // Always shown (disabled where there is no demand), so the controls below never
            // jump when the strategy changes.
            ui.label("max_demand");
            ui.add_enabled(
                self.strategy.default_max_demand().is_some(),
                egui::DragValue::new(&mut self.max_demand).range(1..=100_000),
            )
            .on_hover_text(
                "Most events in flight per subscription (Pull: 10, Flow: 1000); min_demand is half",
            )
            .on_disabled_hover_text("Only Pull and Flow are demand-driven");
            ui.end_row();
            ui.label("Sample rate");
            ui.add(
                egui::DragValue::new(&mut self.sample_hz)
                    .range(1..=1000)
                    .suffix(" Hz"),
            )
            .on_hover_text("How often the probes sample (default 50 Hz)");
            ui.end_row();
            ui.label("Memory limit");
            ui.add(
                egui::DragValue::new(&mut self.memory_limit_mb)
                    .range(16..=1_000_000)
                    .suffix(" MB"),
            )
            .on_hover_text(
                "A run that would go past this is stopped cleanly (default: half of RAM)",
            );
            ui.end_row();
        });
    }

    pub(super) fn delay_and_duration(&mut self, ui: &mut Ui, events: &mut Vec<ControlEvent>) {
        ui.horizontal(|ui| {
            let mut on = self.delay_on;
            if ui
                .toggle_value(&mut on, RichText::new("Simulated delay").strong())
                .on_hover_text(
                    "Sleep before each extraction, like the talk's Process.sleep(1). Takes \
                     effect immediately, also mid-run (Ctrl+D).",
                )
                .changed()
            {
                self.delay_on = on;
                events.push(ControlEvent::DelayChanged);
            }
            let mut ms = self.delay.as_secs_f64() * 1e3;
            let r = ui.add(
                egui::DragValue::new(&mut ms)
                    .range(0.01..=1000.0)
                    .speed(0.1)
                    .suffix(" ms"),
            );
            if r.changed() {
                self.delay = Duration::from_secs_f64(ms / 1e3);
                if self.delay_on {
                    events.push(ControlEvent::DelayChanged);
                }
            }
        });
        ui.horizontal(|ui| {
            let mut limited = self.duration.is_some();
            if ui
                .checkbox(&mut limited, "Stop after")
                .on_hover_text(
                    "Stop the run after this many seconds (runs with the delay take minutes)",
                )
                .changed()
            {
                self.duration = limited.then_some(PRESET_DURATION);
            }
            let mut secs = self
                .duration
                .map_or(PRESET_DURATION.as_secs_f64(), |d| d.as_secs_f64());
            if ui
                .add_enabled(
                    limited,
                    egui::DragValue::new(&mut secs)
                        .range(1.0..=3600.0)
                        .suffix(" s"),
                )
                .changed()
            {
                self.duration = Some(Duration::from_secs_f64(secs));
            }
        });
    }
}

/// Progress of the shown run: a bar, words/s, time left, how it ended.
pub(super) fn progress(ui: &mut Ui, session: &Session) {
    if session.is_attaching() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Attaching…");
        });
        return;
    }
    if session.is_busy() && session.running().is_none() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Preparing the corpus…");
        });
        return;
    }
    let Some(run) = session.current() else {
        return;
    };
    if let Some(g) = run.group() {
        crate::frontend::app::attach::group_status(ui, run, g);
        return;
    }
    if run.attachment().is_some() {
        crate::frontend::app::attach::attached_status(ui, run);
        return;
    }
    if let Some(program) = run.report.as_ref().and_then(|r| r.program.as_deref()) {
        crate::frontend::app::attach::recorded_program_status(ui, run, program);
        return;
    }
    let p = run.progress().min(1.0) as f32;
    ui.add(egui::ProgressBar::new(p).show_percentage());
    // Live: the rate over the last second; once finished, the run's mean rate (the last
    // samples can hold the final flush of the counters and read far too high).
    let wps = match &run.report {
        Some(r) if r.wall_ms > 0.0 => r.total_words as f64 / (r.wall_ms / 1e3),
        _ => run
            .data
            .rate_over(crate::observe::series::WORDS, 1.0)
            .unwrap_or(0.0),
    };
    let elapsed = run.data.duration();
    let left = (p > 0.0).then(|| elapsed * (1.0 - p as f64) / p as f64);
    // A run with a time limit ends by then, whatever it has read.
    let limit = run
        .settings
        .duration
        .map(|d| (d.as_secs_f64() - elapsed).max(0.0));
    let eta = match (run.is_running(), left, limit) {
        (false, _, _) => String::new(),
        (true, Some(l), Some(d)) if d < l || p >= 1.0 => format!(", stops in {d:.0} s"),
        (true, Some(l), _) if p < 1.0 => format!(", ~{l:.0} s left"),
        (true, None, Some(d)) => format!(", stops in {d:.0} s"),
        _ => String::new(),
    };
    ui.label(format!("{} words/s{eta}", thousands(wps as u64)));
    if run.is_running() && !run.delay().is_zero() {
        ui.label(RichText::new(format!("delay {} per line", delay(run.delay()))).weak());
    }
    if let Some(r) = &run.report {
        let text = match r.stop_reason {
            None => format!("Completed in {:.2} s", r.wall_ms / 1e3),
            Some(reason) => {
                format!("Stopped ({}) after {:.2} s", reason.name(), r.wall_ms / 1e3)
            }
        };
        ui.label(RichText::new(text).strong());
    }
}

fn pick(folder: bool) -> Receiver<Option<PathBuf>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let dialog = rfd::FileDialog::new();
        let picked = if folder {
            dialog.pick_folder()
        } else {
            dialog.add_filter("Text", &["txt"]).pick_file()
        };
        let _ = tx.send(picked);
    });
    rx
}

fn ellipsize(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        format!("…{}", s.chars().skip(n - max + 1).collect::<String>())
    }
}
