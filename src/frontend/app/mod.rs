//! The desktop app (eframe/egui), shaped like egui's own demo app: an app shell
//! ([`PalavriadoApp`]), a controls panel that yields the run's settings, one struct per view
//! behind a small trait ([`views::View`]), the look in one place ([`style`]) and the remembered
//! preferences as one serde struct ([`prefs::Prefs`]). A thin front end over [`crate::Run`]:
//! everything slow (opening corpora and recordings, running, file dialogs, rendering exports)
//! happens on background threads.

mod attach;
mod bars;
pub mod chart_data;
pub mod charts;
pub mod controls;
mod dialog;
pub mod export;
mod fleet;
pub mod picture;
pub mod prefs;
mod repaint;
pub mod run_entry;
mod saving;
pub mod session;
mod shell;
pub mod style;
pub mod views;

use std::path::PathBuf;
use std::time::Duration;

pub use attach::AttachDialog;
pub use fleet::FleetDialog;
pub use repaint::{FrameTimes, MAX_FPS, Repaint, SOFTWARE_FPS};
pub use shell::{PalavriadoApp, Status, setup_fonts};
pub use views::Tab;

use crate::runtime::executor::Runtime;
use crate::wordcount::strategy::Strategy;

/// How the window is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Renderer {
    /// OpenGL: the cheaper of the two under a software GL driver (measured).
    #[default]
    Glow,
    /// wgpu (Vulkan, Metal, DX12, or GL).
    Wgpu,
}

/// How the app starts: what to set up, how to draw, whether to run at once.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Start with this corpus (a folder or `.txt`) selected.
    pub corpus: Option<PathBuf>,
    /// Start with this many passes.
    pub repeat: Option<u32>,
    /// Start with this strategy selected.
    pub strategy: Option<Strategy>,
    /// Start with the simulated delay at this (zero: off).
    pub delay: Option<Duration>,
    /// Start with this runtime selected.
    pub runtime: Option<Runtime>,
    /// How the window is drawn.
    pub renderer: Renderer,
    /// Most frames a second while a run is live.
    pub fps: Option<u32>,
    /// Press Run as soon as the window opens.
    pub run: bool,
    /// Attach to the programs serving at these addresses as soon as the window opens (all
    /// followed at once).
    pub attach: Vec<String>,
    /// Open this fleet from Prometheus as soon as the window opens.
    pub fleet: Option<crate::FleetQuery>,
    /// Open these recordings as soon as the window opens.
    pub open: Vec<PathBuf>,
}

/// Starts the app window (set up as `options` say); returns when it is closed.
pub fn run_app(options: AppOptions) -> eframe::Result {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("palavriado — see backpressure")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([960.0, 600.0]),
        renderer: match options.renderer {
            Renderer::Wgpu => eframe::Renderer::Wgpu,
            Renderer::Glow => eframe::Renderer::Glow,
        },
        ..Default::default()
    };
    eframe::run_native(
        "palavriado",
        native,
        Box::new(move |cc| {
            let mut app = PalavriadoApp::new(cc);
            app.apply(&options);
            Ok(Box::new(app))
        }),
    )
}
