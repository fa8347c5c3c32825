//! The desktop app (eframe/egui): pick a corpus and a strategy, Run, watch observer-style live
//! charts, compare runs, export images. A thin front end over [`crate::run`]; everything slow
//! (opening corpora, running, file dialogs, rendering exports) happens on background threads.

pub mod charts;
pub mod export;
pub mod session;
pub mod views;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use egui::{Color32, Key, KeyboardShortcut, Modifiers, RichText, Ui};

use charts::{ChartOptions, LoadChart, Unit};
use export::{Picture, Scene};
use session::{CorpusChoice, Session};
use views::{Column, ProcessRow, Sort};

use crate::executor::{Runtime, default_schedulers};
use crate::probe::sampler::{self, DEFAULT_SAMPLE_HZ, series};
use crate::recording;
use crate::run::{MemoryLimit, RunSettings, default_workers};
use crate::strategy::Strategy;

/// Most frames a second while a run is live.
pub const MAX_FPS: u32 = 30;
/// Frames a second while a run is live with a software GL driver (llvmpipe in a VM, a remote
/// desktop, Xvfb): each frame redraws the whole window on the CPU, about 5 % of a core per
/// frame a second at 1440×900 (measured, see the README), so fewer frames keep the app's own
/// cost below the run's.
pub const SOFTWARE_FPS: u32 = 6;
/// The GL renderer names of software drivers.
const SOFTWARE_RENDERERS: [&str; 4] = ["llvmpipe", "softpipe", "swrast", "lavapipe"];
/// How often an unfocused window is redrawn while a run is live.
const UNFOCUSED_FRAME: Duration = Duration::from_millis(500);

/// Starts the app window (set up as `args` say); returns when it is closed.
pub fn run_app(args: crate::cli::AppArgs) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("palavriado — see backpressure")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([960.0, 600.0]),
        renderer: match args.renderer.as_deref() {
            Some("wgpu") => eframe::Renderer::Wgpu,
            _ => eframe::Renderer::Glow,
        },
        ..Default::default()
    };
    eframe::run_native(
        "palavriado",
        options,
        Box::new(move |cc| {
            let mut app = PalavriadoApp::new(cc);
            app.apply(&args);
            Ok(Box::new(app))
        }),
    )
}

/// The views of the central area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// CPU, memory, IO charts.
    Load,
    /// The Processes table.
    Processes,
    /// Mailbox lengths over time.
    Queues,
    /// The pipeline diagram.
    Pipeline,
    /// Totals, top words, past runs.
    Results,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Load,
        Tab::Processes,
        Tab::Queues,
        Tab::Pipeline,
        Tab::Results,
    ];

    fn title(self) -> &'static str {
        match self {
            Tab::Load => "Load Charts",
            Tab::Processes => "Processes",
            Tab::Queues => "Queues",
            Tab::Pipeline => "Pipeline",
            Tab::Results => "Results",
        }
    }

    fn picture(self) -> Picture {
        match self {
            Tab::Load => Picture::Stats,
            Tab::Processes => Picture::Processes,
            Tab::Queues => Picture::Queues,
            Tab::Pipeline => Picture::Pipeline,
            Tab::Results => Picture::Results,
        }
    }
}

const RUN_KEYS: [KeyboardShortcut; 2] = [
    KeyboardShortcut::new(Modifiers::NONE, Key::F5),
    KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter),
];
const STOP_KEY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Escape);
const DELAY_KEY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);

/// A status line message.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Shown in red.
    pub error: bool,
}

/// The app's state.
pub struct PalavriadoApp {
    /// Every run of this session.
    pub session: Session,
    /// The corpus to count.
    pub corpus: CorpusChoice,
    /// Recently used corpus paths (remembered across restarts).
    pub recent: Vec<PathBuf>,
    /// The path field (fallback when no file dialog is available).
    pub path_field: String,
    /// ×N.
    pub repeat: u32,
    /// Chosen strategy.
    pub strategy: Strategy,
    /// Workers.
    pub workers: usize,
    /// Where the stages run.
    pub runtime: Runtime,
    /// Scheduler threads (scheduler runtime).
    pub schedulers: usize,
    /// max_demand for Pull and Flow.
    pub max_demand: usize,
    /// Probe rate.
    pub sample_hz: u32,
    /// Most frames a second while a run is live.
    pub max_fps: u32,
    /// Set once the renderer is known: true when the window is drawn by a software driver.
    software_gl: Option<bool>,
    /// Frames a second asked on the command line (overrides the renderer's default).
    fps_asked: Option<u32>,
    /// Memory limit (MB).
    pub memory_limit_mb: u64,
    /// Simulated delay on/off.
    pub delay_on: bool,
    /// Simulated delay (ms).
    pub delay_ms: f64,
    /// The view shown.
    pub tab: Tab,
    /// Chart options.
    pub chart_opts: ChartOptions,
    /// Processes table sort.
    pub sort: Sort,
    /// Where exports are written.
    pub export_dir: PathBuf,
    /// Open a save dialog for each export.
    pub ask_where: bool,
    /// Runs selected for comparison in Results (indices into `session.runs`).
    pub compare: Vec<usize>,
    /// The status line.
    pub status: Option<Status>,
    /// The stage selected in Processes and Pipeline (by clicking it, or a diagnosis).
    pub selected_stage: Option<String>,
    picking: Option<Receiver<Option<PathBuf>>>,
    /// A file dialog choosing a recording to open.
    opening: Option<Receiver<Option<PathBuf>>>,
    exporting: Vec<Receiver<Result<String, String>>>,
    frame_ms: VecDeque<f32>,
    frames_seen: u64,
}

fn default_max_demand(s: Strategy) -> usize {
    s.default_max_demand().unwrap_or(1000)
}

impl PalavriadoApp {
    /// The app with default settings (and remembered ones, when eframe gives storage).
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        setup_fonts(&cc.egui_ctx);
        let mut app = Self::with_defaults();
        if let Some(storage) = cc.storage {
            if let Some(recent) = storage.get_string("recent") {
                app.recent = recent
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from)
                    .collect();
            }
            if let Some(dir) = storage.get_string("export_dir") {
                app.export_dir = PathBuf::from(dir);
            }
            if let Some(s) = storage.get_string("strategy").and_then(|s| s.parse().ok()) {
                app.strategy = s;
                app.max_demand = default_max_demand(s);
            }
            if let Some(r) = storage.get_string("repeat").and_then(|s| s.parse().ok()) {
                app.repeat = r;
            }
        }
        app
    }

    /// The app with default settings, no storage (tests build it like this).
    pub fn with_defaults() -> Self {
        Self {
            session: Session::default(),
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
            max_fps: MAX_FPS,
            software_gl: None,
            fps_asked: None,
            memory_limit_mb: MemoryLimit::HalfOfRam.bytes().unwrap_or(1 << 30) / 1_000_000,
            delay_on: false,
            delay_ms: 1.0,
            tab: Tab::Load,
            chart_opts: ChartOptions::default(),
            sort: Sort::default(),
            export_dir: export::default_export_dir(),
            ask_where: false,
            compare: Vec::new(),
            status: None,
            selected_stage: None,
            picking: None,
            opening: None,
            exporting: Vec::new(),
            frame_ms: VecDeque::new(),
            frames_seen: 0,
        }
    }

    /// Applies command-line choices (corpus, strategy, delay, autorun).
    pub fn apply(&mut self, args: &crate::cli::AppArgs) {
        if let Some(p) = &args.corpus {
            self.use_path(p.clone());
        }
        if let Some(r) = args.repeat {
            self.repeat = r;
        }
        if let Some(s) = args.strategy {
            self.strategy = s;
            self.max_demand = default_max_demand(s);
        }
        if let Some(r) = args.runtime {
            self.runtime = r;
        }
        if let Some(fps) = args.fps {
            self.fps_asked = Some(fps);
            self.max_fps = fps;
        }
        if let Some(d) = args.delay_ms {
            self.delay_ms = d;
            self.delay_on = d > 0.0;
        }
        if args.run {
            self.start_run();
        }
    }

    fn delay(&self) -> Duration {
        if self.delay_on {
            Duration::from_secs_f64(self.delay_ms.max(0.0) / 1e3)
        } else {
            Duration::ZERO
        }
    }

    /// The settings the controls describe.
    pub fn settings(&self) -> RunSettings {
        let mut st = RunSettings::new(self.strategy);
        st.workers = self.workers.max(1);
        st.runtime = self.runtime;
        st.schedulers = self.schedulers.max(1);
        st.delay = self.delay();
        st.max_demand = self
            .strategy
            .default_max_demand()
            .map(|_| self.max_demand.max(1));
        st.sample_hz = self.sample_hz.clamp(1, sampler::MAX_SAMPLE_HZ);
        st.memory_limit = MemoryLimit::Bytes(self.memory_limit_mb.max(1) * 1_000_000);
        st
    }

    /// Starts a run with the current controls (does nothing while one runs).
    pub fn start_run(&mut self) {
        if self.session.is_busy() {
            return;
        }
        if let CorpusChoice::Path(p) = &self.corpus {
            self.recent.retain(|r| r != p);
            self.recent.insert(0, p.clone());
            self.recent.truncate(8);
        }
        self.session
            .start(&self.corpus, self.repeat, self.settings());
        self.status = None;
    }

    /// Sets the delay (also on the running run, marked on its charts).
    pub fn set_delay_on(&mut self, on: bool) {
        self.delay_on = on;
        self.session.set_delay(self.delay());
    }

    fn use_path(&mut self, path: PathBuf) {
        self.path_field = path.display().to_string();
        self.corpus = CorpusChoice::Path(path);
        self.session.scan(&self.corpus);
    }

    fn scene(&self) -> Option<Scene> {
        let run = self.session.current()?;
        let delay = run.delay();
        let delay = if delay.is_zero() {
            String::from("no delay")
        } else {
            format!("delay {} per line", crate::format::delay(delay))
        };
        let demand = run
            .settings
            .max_demand
            .map(|d| format!(", max_demand {d}"))
            .unwrap_or_default();
        Some(Scene {
            title: format!(
                "{} — {} ×{}, {} workers {}{demand}, {delay}",
                run.settings.strategy.name(),
                run.corpus,
                self.repeat_of(run),
                run.settings.workers,
                run.settings.runtime_label()
            ),
            data: run.data.clone(),
            events: run.timeline.events(),
            opts: self.chart_opts,
            stages: run.stages(),
            report: run.report.clone(),
            demand_driven: run.settings.strategy.default_max_demand().is_some(),
        })
    }

    fn repeat_of(&self, run: &session::RunEntry) -> u32 {
        run.report.as_ref().map_or(self.repeat, |r| r.repeat)
    }

    /// Exports `picture` of the current run as PNG (rendered on a background thread).
    pub fn export_png(&mut self, picture: Picture) {
        let Some(scene) = self.scene() else {
            return self.nothing_to_export();
        };
        let run = self.session.current().expect("a scene has a run");
        let name = export::file_name(
            run.settings.strategy.name(),
            had_delay(run),
            picture.slug(),
            "png",
        );
        self.spawn_export(&name, move |path| {
            export::save_png(path, &picture, &scene)
                .map(|(w, h)| format!("Saved {} ({w}×{h})", path.display()))
        });
    }

    /// Exports the current run's timeline as CSV.
    pub fn export_csv(&mut self) {
        let Some(run) = self.session.current() else {
            return self.nothing_to_export();
        };
        let name = export::file_name(
            run.settings.strategy.name(),
            had_delay(run),
            "timeline",
            "csv",
        );
        let timeline = run.timeline.clone();
        self.spawn_export(&name, move |path| {
            export::save_csv(path, &timeline).map(|_| format!("Saved {}", path.display()))
        });
    }

    /// Saves run `index` of the session as a recording (on a background thread).
    pub fn save_run(&mut self, index: usize) {
        let Some(recording) = self.session.recording_of(index) else {
            self.status = Some(Status {
                text: "Finish or stop the run before saving it.".into(),
                error: true,
            });
            return;
        };
        let run = &self.session.runs[index];
        let name = export::file_name(
            run.settings.strategy.name(),
            had_delay(run),
            "run",
            recording::EXTENSION,
        );
        self.spawn_export(&name, move |path| {
            recording
                .save(path)
                .map(|()| format!("Saved {}", path.display()))
        });
    }

    fn nothing_to_export(&mut self) {
        self.status = Some(Status {
            text: "Nothing to export yet: start a run first.".into(),
            error: true,
        });
    }

    /// Chooses the file (dialog or export folder) and writes it, on a background thread.
    fn spawn_export(
        &mut self,
        name: &str,
        write: impl FnOnce(&std::path::Path) -> Result<String, String> + Send + 'static,
    ) {
        let target = self.target(name);
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let r = match target() {
                Some(path) => write(&path),
                None => Err("Export cancelled (no file chosen).".into()),
            };
            let _ = tx.send(r);
        });
        self.exporting.push(rx);
    }

    /// Where an export goes: a save dialog (if asked) or a fresh name in the export folder.
    fn target(&self, name: &str) -> impl FnOnce() -> Option<PathBuf> + Send + 'static {
        let dir = self.export_dir.clone();
        let ask = self.ask_where;
        let name = name.to_string();
        move || {
            if ask {
                rfd::FileDialog::new()
                    .set_directory(&dir)
                    .set_file_name(&name)
                    .save_file()
            } else {
                Some(export::unique_path(&dir, &name))
            }
        }
    }

    fn poll(&mut self) {
        self.session.poll();
        if let Some(err) = &self.session.error {
            self.status = Some(Status {
                text: err.clone(),
                error: true,
            });
        }
        self.exporting.retain(|rx| match rx.try_recv() {
            Ok(r) => {
                self.status = Some(match r {
                    Ok(text) => Status { text, error: false },
                    Err(text) => Status { text, error: true },
                });
                false
            }
            Err(crossbeam_channel::TryRecvError::Empty) => true,
            Err(_) => false,
        });
        if let Some(rx) = &self.opening
            && let Ok(picked) = rx.try_recv()
        {
            self.opening = None;
            if let Some(p) = picked {
                self.session.open_recording(p);
            }
        }
        if let Some(rx) = &self.picking
            && let Ok(picked) = rx.try_recv()
        {
            self.picking = None;
            if let Some(p) = picked {
                self.use_path(p);
            }
        }
    }

    fn shortcuts(&mut self, ui: &mut Ui) {
        let (run, stop, delay) = ui.input_mut(|i| {
            (
                RUN_KEYS.iter().any(|k| i.consume_shortcut(k)),
                i.consume_shortcut(&STOP_KEY),
                i.consume_shortcut(&DELAY_KEY),
            )
        });
        if run {
            self.start_run();
        }
        if stop {
            self.session.stop();
        }
        if delay {
            self.set_delay_on(!self.delay_on);
        }
    }

    fn controls(&mut self, ui: &mut Ui) {
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
                    self.session.scan(&self.corpus);
                }
                for p in self.recent.clone() {
                    let choice = CorpusChoice::Path(p.clone());
                    if ui
                        .selectable_label(self.corpus == choice, p.display().to_string())
                        .clicked()
                    {
                        self.use_path(p);
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
                self.use_path(p);
            }
        });
        self.session.scan(&self.corpus);
        match self.session.info(&self.corpus) {
            Some(Ok(info)) => {
                ui.label(
                    RichText::new(format!(
                        "{} files · {:.1} MB · {} lines",
                        info.files,
                        info.bytes as f64 / 1e6,
                        views::thousands(info.lines)
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
        ui.separator();
        ui.heading("Strategy");
        for s in Strategy::ALL {
            let r = ui.radio_value(
                &mut self.strategy,
                s,
                RichText::new(capitalize(s.name())).strong(),
            );
            if r.changed() {
                self.max_demand = default_max_demand(s);
            }
            ui.label(RichText::new(s.describe()).small().weak());
        }
        ui.separator();
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
        ui.separator();
        ui.horizontal(|ui| {
            let mut on = self.delay_on;
            if ui
                .toggle_value(&mut on, RichText::new("Simulated delay").strong())
                .on_hover_text("Sleep before each extraction, like the talk's Process.sleep(1). Takes effect immediately, also mid-run (Ctrl+D).")
                .changed()
            {
                self.set_delay_on(on);
            }
            let r = ui.add(egui::DragValue::new(&mut self.delay_ms).range(0.01..=1000.0).speed(0.1).suffix(" ms"));
            if r.changed() && self.delay_on {
                self.session.set_delay(self.delay());
            }
        });
        ui.separator();
        ui.horizontal(|ui| {
            let busy = self.session.is_busy();
            let run = ui.add_enabled(
                !busy,
                egui::Button::new(RichText::new("▶ Run").size(17.0))
                    .min_size(egui::vec2(90.0, 32.0)),
            );
            if run.on_hover_text("Start (F5)").clicked() {
                self.start_run();
            }
            let running = self.session.running().is_some();
            let stop = ui.add_enabled(
                running,
                egui::Button::new(RichText::new("■ Stop").size(17.0))
                    .min_size(egui::vec2(90.0, 32.0)),
            );
            if stop.on_hover_text("Stop (Esc)").clicked() {
                self.session.stop();
            }
        });
        self.progress(ui);
    }

    fn progress(&self, ui: &mut Ui) {
        if self.session.is_busy() && self.session.running().is_none() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Preparing the corpus…");
            });
            return;
        }
        let Some(run) = self.session.current() else {
            return;
        };
        let p = run.progress().min(1.0) as f32;
        ui.add(egui::ProgressBar::new(p).show_percentage());
        // Live: the rate over the last second; once finished, the run's mean rate (the last
        // samples can hold the final flush of the counters and read far too high).
        let wps = match &run.report {
            Some(r) if r.wall_ms > 0.0 => r.total_words as f64 / (r.wall_ms / 1e3),
            _ => run.data.rate_over(series::WORDS, 1.0).unwrap_or(0.0),
        };
        let elapsed = run.data.duration();
        let eta = if p > 0.0 && run.is_running() {
            format!(", ~{:.0} s left", elapsed * (1.0 - p as f64) / p as f64)
        } else {
            String::new()
        };
        ui.label(format!("{} words/s{eta}", views::thousands(wps as u64)));
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

    fn view_options(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let mut whole = self.chart_opts.window.is_none();
            if ui.checkbox(&mut whole, "Whole run").changed() {
                self.chart_opts.window = if whole { None } else { Some(120.0) };
            }
            if let Some(w) = &mut self.chart_opts.window {
                ui.add(
                    egui::DragValue::new(w)
                        .range(5.0..=3600.0)
                        .suffix(" s window"),
                );
            }
            if self.tab == Tab::Load {
                ui.checkbox(&mut self.chart_opts.smooth_cpu, "Smooth CPU")
                    .on_hover_text(charts::CPU_SMOOTHING_HELP);
            }
            if self.tab == Tab::Queues {
                ui.checkbox(&mut self.chart_opts.log_queues, "Log scale");
            }
        });
    }

    fn central(&mut self, ui: &mut Ui) {
        let Some(run) = self.session.current() else {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() / 3.0);
                ui.heading("Pick a corpus and a strategy, then press ▶ Run (F5).");
                ui.label("Turn on the simulated delay to see backpressure: Push's mailboxes explode, Pull's stay tiny.");
            });
            return;
        };
        let events = run.timeline.events();
        let opts = self.chart_opts;
        let diagnoses = run.diagnoses();
        if let Some(stage) = views::diagnosis_strip(ui, &diagnoses, run.is_running()) {
            self.selected_stage = Some(stage);
            if !matches!(self.tab, Tab::Processes | Tab::Pipeline) {
                self.tab = Tab::Pipeline;
            }
        }
        let Some(run) = self.session.current() else {
            return;
        };
        match self.tab {
            Tab::Load => {
                let shown = LoadChart::shown(&run.data);
                let n = shown.len() as f32;
                let each = ((ui.available_height() - n * 34.0) / n).max(80.0);
                let mut save = None;
                for c in shown {
                    if charts::load_chart(ui, c, &run.data, &events, &opts, each) {
                        save = Some(c);
                    }
                }
                if let Some(c) = save {
                    self.export_png(Picture::Chart(c));
                }
            }
            Tab::Queues => {
                let h = ui.available_height() - 34.0;
                if charts::queue_chart(ui, &run.data, &events, &opts, h) {
                    self.export_png(Picture::Queues);
                }
            }
            Tab::Processes => {
                let mut rows = ProcessRow::collect(run.stages(), &run.data);
                views::processes_table(
                    ui,
                    &mut rows,
                    &Column::ALL,
                    &mut self.sort,
                    &mut self.selected_stage,
                );
            }
            Tab::Pipeline => {
                let rows = ProcessRow::collect(run.stages(), &run.data);
                views::pipeline(
                    ui,
                    &rows,
                    run.settings.strategy.default_max_demand().is_some(),
                    &mut self.selected_stage,
                );
            }
            Tab::Results => self.results(ui),
        }
    }

    fn results(&mut self, ui: &mut Ui) {
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            match self.session.current().and_then(|r| r.report.clone()) {
                Some(r) => views::result_summary(ui, &r, 10),
                None => {
                    ui.label("The run is still going: results appear when it ends.");
                }
            }
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
                        for (i, run) in self.session.runs.iter().enumerate() {
                            let mut on = self.compare.contains(&i);
                            if ui.checkbox(&mut on, "").changed() {
                                if on {
                                    self.compare.push(i);
                                    if self.compare.len() > 2 {
                                        self.compare.remove(0);
                                    }
                                } else {
                                    self.compare.retain(|&j| j != i);
                                }
                            }
                            let name = format!("#{} {}", run.number, run.settings.strategy);
                            match run.recorded_from() {
                                Some(path) => {
                                    ui.label(format!("{name} (recorded)"))
                                        .on_hover_text(path.display().to_string());
                                }
                                None => {
                                    ui.label(name);
                                }
                            }
                            ui.label(crate::format::delay(run.delay()));
                            ui.label(run.settings.workers.to_string());
                            match &run.report {
                                Some(r) => {
                                    ui.label(format!("{:.2} s", r.wall_ms / 1e3));
                                    ui.label(format!("{:.0} MB", r.peak_rss_bytes as f64 / 1e6));
                                    ui.label(views::thousands(r.max_mailbox_len));
                                    ui.label(match r.stop_reason {
                                        None => "completed".to_string(),
                                        Some(s) => s.name().to_string(),
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
                            self.save_run(i);
                        }
                    });
                });
            let picked: Vec<(String, &session::ChartData)> = self
                .compare
                .iter()
                .filter_map(|&i| self.session.runs.get(i))
                .map(|r| (r.label(), &r.data))
                .collect();
            if picked.len() == 2 {
                let opts = ChartOptions {
                    window: None,
                    ..self.chart_opts
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
                let queues: Vec<session::ChartData> = picked
                    .iter()
                    .map(|(_, d)| charts::max_queue_series(d))
                    .collect();
                let q: Vec<(String, &session::ChartData)> = picked
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
                    "max_msgq",
                    &opts,
                    160.0,
                );
            }
        });
    }
}

/// Adds the monospace font's symbols (▶ ■ ▼ ▲ arrows) as a fallback of the proportional font.
pub fn setup_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if fonts.font_data.contains_key("Hack")
        && let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
    {
        family.push("Hack".into());
    }
    ctx.set_fonts(fonts);
}

fn had_delay(run: &session::RunEntry) -> bool {
    run.timeline
        .events()
        .iter()
        .any(|e| matches!(e.kind, crate::control::RunEventKind::DelayChanged { delay_ms } if delay_ms > 0.0))
        || !run.settings.delay.is_zero()
}

fn pick_recording() -> Receiver<Option<PathBuf>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let picked = rfd::FileDialog::new()
            .add_filter("palavriado recording", &["gz", "json"])
            .pick_file();
        let _ = tx.send(picked);
    });
    rx
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

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn ellipsize(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        format!("…{}", s.chars().skip(n - max + 1).collect::<String>())
    }
}

impl PalavriadoApp {
    /// Reads which GL driver draws the window; a software one gets [`SOFTWARE_FPS`] (unless
    /// `--fps` said otherwise).
    fn detect_renderer(&mut self, frame: &eframe::Frame) {
        let name = frame.gl().map(|gl| {
            use eframe::glow::HasContext;
            // SAFETY: a plain string query on the context eframe made current for this frame.
            unsafe { gl.get_parameter_string(eframe::glow::RENDERER) }
        });
        let software = name.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            SOFTWARE_RENDERERS.iter().any(|s| n.contains(s))
        });
        self.software_gl = Some(software);
        if software && self.fps_asked.is_none() {
            self.max_fps = SOFTWARE_FPS;
        }
    }
}

impl eframe::App for PalavriadoApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        if self.software_gl.is_none() {
            self.detect_renderer(frame);
        }
        self.poll();
        self.shortcuts(ui);
        // Recordings dropped on the window open like Open run….
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            self.session.open_recording(path);
        }
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("palavriado").strong().size(20.0));
                ui.separator();
                for t in Tab::ALL {
                    ui.selectable_value(&mut self.tab, t, RichText::new(t.title()).size(15.0));
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let saveable = self.session.current().is_some_and(|r| !r.is_running());
                    if ui
                        .add_enabled(saveable, egui::Button::new("Save run…"))
                        .on_hover_text("Save the shown run (settings, every sample, stages, diagnoses, result) to open later or share")
                        .on_disabled_hover_text("Finish or stop a run first")
                        .clicked()
                    {
                        self.save_run(self.session.runs.len() - 1);
                    }
                    if ui
                        .button("Open run…")
                        .on_hover_text("Open a recorded run (.json.gz); you can also drop one on the window")
                        .clicked()
                    {
                        self.opening = Some(pick_recording());
                    }
                    ui.separator();
                    if ui
                        .button("Export data")
                        .on_hover_text("Save the timeline as CSV")
                        .clicked()
                    {
                        self.export_csv();
                    }
                    if ui
                        .button("Export view")
                        .on_hover_text("Save the current view as a 1920×1080 PNG")
                        .clicked()
                    {
                        let p = self.tab.picture();
                        self.export_png(p);
                    }
                });
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.status {
                    Some(s) if s.error => {
                        ui.colored_label(Color32::from_rgb(200, 50, 50), &s.text);
                    }
                    Some(s) => {
                        ui.label(&s.text);
                    }
                    None => {
                        ui.label(
                            RichText::new(format!("Exports go to {}", self.export_dir.display()))
                                .weak(),
                        );
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.checkbox(&mut self.ask_where, "Ask where to save");
                    let mut frame = self.frame_ms.iter().copied().collect::<Vec<f32>>();
                    frame.sort_by(f32::total_cmp);
                    if let Some(m) = frame.get(frame.len() / 2) {
                        ui.label(RichText::new(format!("frame {m:.1} ms")).weak().small());
                    }
                });
            });
        });
        egui::Panel::left("controls")
            .resizable(false)
            .exact_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.view_options(ui);
            self.central(ui);
        });
        if self.session.is_busy()
            || !self.exporting.is_empty()
            || self.picking.is_some()
            || self.opening.is_some()
            || self.session.is_opening()
        {
            // Redraw only as often as there can be something new, and less when nobody looks:
            // the app's own drawing must not cost more than the run it charts.
            let (focused, minimized) = ui
                .ctx()
                .input(|i| (i.viewport().focused, i.viewport().minimized));
            let every = if minimized == Some(true) {
                None
            } else if focused == Some(false) {
                Some(UNFOCUSED_FRAME)
            } else {
                let fps = self.max_fps.clamp(1, MAX_FPS).min(self.sample_hz.max(1));
                Some(Duration::from_secs_f64(1.0 / fps as f64))
            };
            if let Some(every) = every {
                ui.ctx().request_repaint_after(every);
            }
        }
        self.frame_ms.push_back(t0.elapsed().as_secs_f32() * 1e3);
        if self.frame_ms.len() > 600 {
            self.frame_ms.pop_front();
        }
        // `PALAVRIADO_FRAME_STATS=1` logs frame times (how the responsiveness figures are taken).
        self.frames_seen += 1;
        if self.frames_seen.is_multiple_of(300)
            && std::env::var_os("PALAVRIADO_FRAME_STATS").is_some()
            && let Some((median, p99)) = frame_stats(self)
        {
            eprintln!(
                "frame time over the last {} frames: median {median:.2} ms, p99 {p99:.2} ms",
                self.frame_ms.len()
            );
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let recent: Vec<String> = self
            .recent
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        storage.set_string("recent", recent.join("\n"));
        storage.set_string("export_dir", self.export_dir.display().to_string());
        storage.set_string("strategy", self.strategy.name().to_string());
        storage.set_string("repeat", self.repeat.to_string());
    }
}

/// Median and 99th percentile of the frame times recorded so far (ms).
pub fn frame_stats(app: &PalavriadoApp) -> Option<(f32, f32)> {
    let mut v: Vec<f32> = app.frame_ms.iter().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some((p(0.5), p(0.99)))
}
