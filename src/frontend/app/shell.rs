//! The app shell: the controls panel on the left, the bars, the diagnoses strip and one view in
//! the middle; it starts runs, applies the controls' events and routes the views' actions.

use std::path::PathBuf;
use std::time::Instant;

use crossbeam_channel::Receiver;
use egui::{Key, KeyboardShortcut, Modifiers, Ui};

use super::AppOptions;
use super::attach::AttachDialog;
use super::charts::{self, ChartOptions};
use super::controls::{ControlEvent, Controls};
use super::export;
use super::fleet::FleetDialog;
use super::prefs::{self, Prefs};
use super::repaint::{FrameTimes, Repaint};
use super::session::Session;
use super::style;
use super::views::{self, Tab, ViewAction, ViewContext, Views};

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
    /// The controls panel.
    pub controls: Controls,
    /// Every view, with its own state.
    pub views: Views,
    /// The view shown.
    pub tab: Tab,
    /// Chart options.
    pub chart_opts: ChartOptions,
    /// The stage selected in Processes and Pipeline (by clicking it, or a diagnosis).
    pub selected_stage: Option<String>,
    /// Where exports are written.
    pub export_dir: PathBuf,
    /// Open a save dialog for each export.
    pub ask_where: bool,
    /// The status line.
    pub status: Option<Status>,
    /// How often the window is redrawn during a run.
    pub repaint: Repaint,
    /// A file dialog choosing a recording to open.
    pub(super) opening: Option<Receiver<Option<PathBuf>>>,
    /// Exports being written.
    pub(super) exporting: Vec<Receiver<Result<String, String>>>,
    /// The last frames' times.
    pub frames: FrameTimes,
    /// The "Attach…" window, while open.
    pub attach_dialog: Option<AttachDialog>,
    /// The address last attached to (the window opens with it).
    pub last_attach: AttachDialog,
    /// The "From Prometheus…" window, while open.
    pub fleet_dialog: Option<FleetDialog>,
    /// What it last opened (the window opens with it).
    pub last_fleet: FleetDialog,
}

impl std::fmt::Debug for PalavriadoApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PalavriadoApp")
            .field("runs", &self.session.runs.len())
            .field("tab", &self.tab)
            .finish_non_exhaustive()
    }
}

impl PalavriadoApp {
    /// The app with default settings (and remembered ones, when eframe gives storage).
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        setup_fonts(&cc.egui_ctx);
        let mut app = Self::with_defaults();
        if let Some(p) = cc
            .storage
            .and_then(|s| eframe::get_value::<Prefs>(s, prefs::KEY))
        {
            p.restore(&mut app.controls);
            app.export_dir = p.export_dir;
            app.ask_where = p.ask_where;
        }
        app
    }

    /// The app with default settings, no storage (tests build it like this).
    pub fn with_defaults() -> Self {
        Self {
            session: Session::default(),
            controls: Controls::default(),
            views: Views::default(),
            tab: Tab::Load,
            chart_opts: ChartOptions::default(),
            selected_stage: None,
            export_dir: export::default_export_dir(),
            ask_where: false,
            status: None,
            repaint: Repaint::default(),
            opening: None,
            exporting: Vec::new(),
            frames: FrameTimes::default(),
            attach_dialog: None,
            last_attach: AttachDialog::default(),
            fleet_dialog: None,
            last_fleet: FleetDialog::default(),
        }
    }

    /// Applies start-up choices (corpus, strategy, delay, autorun).
    pub fn apply(&mut self, o: &AppOptions) {
        let c = &mut self.controls;
        if let Some(p) = &o.corpus {
            c.use_path(p.clone(), &mut self.session);
        }
        if let Some(r) = o.repeat {
            c.repeat = r;
        }
        if o.strategy.is_some() || o.delay.is_some() {
            // Set up as asked, not as the first-run preset.
            c.delay_on = false;
            c.duration = None;
        }
        if let Some(s) = o.strategy {
            c.set_strategy(s);
        }
        if let Some(r) = o.runtime {
            c.runtime = r;
        }
        if let Some(d) = o.delay {
            c.delay_on = !d.is_zero();
            if c.delay_on {
                c.delay = d;
            }
        }
        if let Some(fps) = o.fps {
            self.repaint.ask_fps(fps);
        }
        if o.run {
            self.start_run();
        }
        self.session.attach_all(o.attach.clone());
        for path in &o.open {
            self.session.open_recording(path.clone());
        }
        if let Some(q) = &o.fleet {
            self.session.open_fleet(q.clone());
        }
    }

    /// Starts a run with the current controls (does nothing while one runs).
    pub fn start_run(&mut self) {
        if self.session.is_busy() {
            return;
        }
        self.controls.remember_corpus();
        let c = &self.controls;
        self.session.start(&c.corpus, c.repeat, c.settings());
        self.status = None;
    }

    /// Turns the delay on or off (also on the running run, marked on its charts).
    pub fn set_delay_on(&mut self, on: bool) {
        self.controls.delay_on = on;
        self.session.set_delay(self.controls.effective_delay());
    }

    fn poll(&mut self) {
        self.session.poll();
        self.controls.poll(&mut self.session);
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
            self.set_delay_on(!self.controls.delay_on);
        }
    }

    fn dropped_files(&mut self, ui: &Ui) {
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
    }

    fn controls_panel(&mut self, ui: &mut Ui) {
        for event in self.controls.show(ui, &mut self.session) {
            match event {
                ControlEvent::Run => self.start_run(),
                ControlEvent::Stop => self.session.stop(),
                ControlEvent::DelayChanged => {
                    self.session.set_delay(self.controls.effective_delay());
                }
            }
        }
    }

    fn view_options(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let mut whole = self.chart_opts.window.is_none();
            if ui.checkbox(&mut whole, "Whole run").changed() {
                self.chart_opts.window = (!whole).then_some(style::CHART_WINDOW_SECS);
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
                ui.heading("Pick one of the talk's scenarios on the left, or set up a run and press ▶ Run (F5).");
                ui.label("Push + 1 ms, then Pull + 1 ms: Push's mailboxes and memory explode, Pull's stay tiny.");
            });
            return;
        };
        let diagnoses = run.diagnoses();
        if let Some(stage) = views::diagnosis_strip(ui, &diagnoses, run.is_running()) {
            self.selected_stage = Some(stage);
            if !matches!(self.tab, Tab::Processes | Tab::Pipeline) {
                self.tab = Tab::Pipeline;
            }
        }
        let mut cx = ViewContext {
            run,
            runs: &self.session.runs,
            opts: &self.chart_opts,
            selected: &mut self.selected_stage,
        };
        match self.views.get(self.tab).ui(ui, &mut cx) {
            Some(ViewAction::Export(picture)) => self.export_png(picture),
            Some(ViewAction::SaveRun(i)) => self.save_run(i),
            None => {}
        }
    }

    /// True while something in the background may change what is drawn.
    fn is_live(&self) -> bool {
        self.session.is_busy()
            || self.session.is_opening()
            || !self.exporting.is_empty()
            || self.controls.is_picking()
            || self.opening.is_some()
            || self.attach_dialog.is_some()
            || self.fleet_dialog.is_some()
    }
}

impl eframe::App for PalavriadoApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        self.repaint.detect_renderer(frame);
        self.poll();
        self.shortcuts(ui);
        self.dropped_files(ui);
        self.top_bar(ui);
        self.status_bar(ui);
        if let Some(chosen) = super::attach::attach_window(ui.ctx(), &mut self.attach_dialog) {
            self.session.attach(chosen.target());
            self.last_attach = chosen;
            self.status = None;
        }
        if let Some((q, fields)) = super::fleet::fleet_window(ui.ctx(), &mut self.fleet_dialog) {
            self.last_fleet = fields;
            self.session.open_fleet(q);
            self.status = None;
        }
        egui::Panel::left("controls")
            .resizable(false)
            .exact_size(300.0)
            .show(ui, |ui| {
                self.controls_panel(ui);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.view_options(ui);
            self.central(ui);
        });
        if self.is_live() {
            self.repaint.request(ui.ctx(), self.controls.sample_hz);
        }
        self.frames.record(t0);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let p = Prefs::capture(&self.controls, self.export_dir.clone(), self.ask_where);
        eframe::set_value(storage, prefs::KEY, &p);
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
