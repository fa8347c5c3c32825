//! The controls panel: the talk's scenarios as one-click presets, the corpus, the strategy and
//! its knobs, the simulated delay, Run and Stop. It owns what the controls hold and yields
//! the [`RunSettings`] they describe; the app acts on the [`ControlEvent`]s it returns.

mod sections;

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::Receiver;
use egui::{RichText, Ui};

use super::session::{CorpusChoice, Session};
use crate::frontend::scenario::{SCENARIOS, Scenario};
use crate::observe::run::{MemoryLimit, RunSettings, default_workers};
use crate::observe::sampler::{DEFAULT_SAMPLE_HZ, MAX_SAMPLE_HZ};
use crate::runtime::executor::{Runtime, default_schedulers};
use crate::wordcount::strategy::Strategy;
use sections::progress;

/// How long a preset with the delay runs (it would otherwise take minutes).
pub const PRESET_DURATION: Duration = Duration::from_secs(20);
/// How many passes over the corpus a preset makes (the talk's ×10).
pub const PRESET_REPEAT: u32 = 10;
/// The preset the app starts on: the talk's point in one run (Push's mailboxes and memory
/// climbing while the sleeping extractors fall behind).
pub const FIRST_PRESET: usize = 3;

/// What the controls ask the app to do this frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlEvent {
    /// Start a run with the current settings.
    Run,
    /// Stop the running run.
    Stop,
    /// The simulated delay changed: apply it to the running run now.
    DelayChanged,
}

/// Everything the controls hold.
#[derive(Debug)]
pub struct Controls {
    /// The corpus to count.
    pub corpus: CorpusChoice,
    /// Recently used corpus paths.
    pub recent: Vec<PathBuf>,
    /// The path field (for when no file dialog is available).
    pub path_field: String,
    /// Passes over the corpus.
    pub repeat: u32,
    /// Chosen strategy.
    pub strategy: Strategy,
    /// Workers.
    pub workers: usize,
    /// Where the stages run.
    pub runtime: Runtime,
    /// Scheduler threads (scheduler runtime).
    pub schedulers: usize,
    /// `max_demand` of Pull and Flow.
    pub max_demand: usize,
    /// Probe rate.
    pub sample_hz: u32,
    /// Memory limit (MB).
    pub memory_limit_mb: u64,
    /// Simulated delay on or off.
    pub delay_on: bool,
    /// The simulated delay when on.
    pub delay: Duration,
    /// Stop the run after this long (`None`: run to the end).
    pub duration: Option<Duration>,
    picking: Option<Receiver<Option<PathBuf>>>,
}

fn default_max_demand(s: Strategy) -> usize {
    s.default_max_demand().unwrap_or(1000)
}

impl Default for Controls {
    /// Set up as the first preset: a first run that shows its shape.
    fn default() -> Self {
        let mut c = Self {
            corpus: CorpusChoice::Builtin,
            recent: Vec::new(),
            path_field: String::new(),
            repeat: 1,
            strategy: Strategy::Pull,
            workers: default_workers(),
            runtime: Runtime::Scheduler,
            schedulers: default_schedulers(),
            max_demand: default_max_demand(Strategy::Pull),
            sample_hz: DEFAULT_SAMPLE_HZ,
            memory_limit_mb: MemoryLimit::HalfOfRam.bytes().unwrap_or(1 << 30) / 1_000_000,
            delay_on: false,
            delay: Duration::from_millis(1),
            duration: None,
            picking: None,
        };
        c.apply_preset(&SCENARIOS[FIRST_PRESET]);
        c
    }
}

impl Controls {
    /// The delay a run gets now (zero when off).
    pub fn effective_delay(&self) -> Duration {
        if self.delay_on {
            self.delay
        } else {
            Duration::ZERO
        }
    }

    /// Chooses a strategy, with its default `max_demand`.
    pub fn set_strategy(&mut self, s: Strategy) {
        self.strategy = s;
        self.max_demand = default_max_demand(s);
    }

    /// Sets strategy, delay, repeat and duration as the talk's `scenario` ran.
    pub fn apply_preset(&mut self, scenario: &Scenario) {
        self.set_strategy(scenario.strategy);
        self.delay_on = scenario.delay;
        if scenario.delay {
            self.delay = scenario.delay();
        }
        self.repeat = PRESET_REPEAT;
        self.duration = scenario.delay.then_some(PRESET_DURATION);
    }

    /// The settings the controls describe.
    pub fn settings(&self) -> RunSettings {
        let mut st = RunSettings::new(self.strategy);
        st.workers = self.workers.max(1);
        st.runtime = self.runtime;
        st.schedulers = self.schedulers.max(1);
        st.delay = self.effective_delay();
        st.max_demand = self
            .strategy
            .default_max_demand()
            .map(|_| self.max_demand.max(1));
        st.duration = self.duration;
        st.sample_hz = self.sample_hz.clamp(1, MAX_SAMPLE_HZ);
        st.memory_limit = MemoryLimit::Bytes(self.memory_limit_mb.max(1) * 1_000_000);
        st
    }

    /// Counts `path` from now on (and scans it).
    pub fn use_path(&mut self, path: PathBuf, session: &mut Session) {
        self.path_field = path.display().to_string();
        self.corpus = CorpusChoice::Path(path);
        session.scan(&self.corpus);
    }

    /// Remembers the corpus a run starts on among the recent ones.
    pub fn remember_corpus(&mut self) {
        if let CorpusChoice::Path(p) = &self.corpus {
            self.recent.retain(|r| r != p);
            self.recent.insert(0, p.clone());
            self.recent.truncate(8);
        }
    }

    /// True while a file dialog is open.
    pub fn is_picking(&self) -> bool {
        self.picking.is_some()
    }

    /// Takes the file dialog's answer, if it came.
    pub fn poll(&mut self, session: &mut Session) {
        if let Some(rx) = &self.picking
            && let Ok(picked) = rx.try_recv()
        {
            self.picking = None;
            if let Some(p) = picked {
                self.use_path(p, session);
            }
        }
    }

    /// Draws the panel: Run, Stop and progress on top (always in view), the rest below in a
    /// scroll area; returns what the user asked for.
    pub fn show(&mut self, ui: &mut Ui, session: &mut Session) -> Vec<ControlEvent> {
        let mut events = Vec::new();
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let busy = session.is_busy();
            let run = ui.add_enabled(
                !busy,
                egui::Button::new(RichText::new("▶ Run").size(17.0))
                    .min_size(egui::vec2(90.0, 32.0)),
            );
            if run.on_hover_text("Start (F5)").clicked() {
                events.push(ControlEvent::Run);
            }
            let following = session.is_following();
            let (label, hover) = if following {
                (
                    "■ Detach",
                    "Stop following the program (every program); what was seen stays (Esc)",
                )
            } else {
                ("■ Stop", "Stop (Esc)")
            };
            let stop = ui.add_enabled(
                session.running().is_some(),
                egui::Button::new(RichText::new(label).size(17.0)).min_size(egui::vec2(90.0, 32.0)),
            );
            if stop.on_hover_text(hover).clicked() {
                events.push(ControlEvent::Stop);
            }
        });
        // A program's run (followed, or opened from its recording) has none of the talk's
        // settings: what applies to it comes first, the word count's controls fold away.
        let program = session.current().is_some_and(|r| {
            r.is_followed() || r.report.as_ref().is_some_and(|r| r.program.is_some())
        });
        if !program {
            self.delay_and_duration(ui, &mut events);
        }
        progress(ui, session);
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            if program {
                egui::CollapsingHeader::new("The talk's word count")
                    .id_salt("talk controls")
                    .default_open(false)
                    .show(ui, |ui| {
                        self.delay_and_duration(ui, &mut events);
                        self.talk_controls(ui, session, &mut events);
                    });
            } else {
                self.talk_controls(ui, session, &mut events);
            }
        });
        events
    }

    /// The talk's scenarios, the corpus, the strategy and where it runs.
    fn talk_controls(
        &mut self,
        ui: &mut Ui,
        session: &mut Session,
        events: &mut Vec<ControlEvent>,
    ) {
        self.presets(ui, session, events);
        ui.separator();
        self.corpus_choice(ui, session);
        ui.separator();
        ui.heading("Strategy");
        for s in Strategy::ALL {
            if ui
                .radio(self.strategy == s, RichText::new(s.title()).strong())
                .clicked()
            {
                self.set_strategy(s);
            }
            ui.label(RichText::new(s.describe()).weak());
        }
        ui.separator();
        self.execution(ui);
    }
}
