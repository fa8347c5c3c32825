//! The app's look in one place: colours, sizes and the default chart window.

use egui::Color32;

use crate::runtime::probe::StageState;

/// Distinct, readable colours for series (cores, stages).
pub const PALETTE: [Color32; 10] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(127, 127, 127),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
];

/// Seconds of a run the charts show by default (the rest with "Whole run").
pub const CHART_WINDOW_SECS: f64 = 120.0;

/// The colour of a stage state (Processes' State column, Pipeline borders).
pub fn state_color(state: StageState) -> Color32 {
    match state {
        StageState::Running => Color32::from_rgb(46, 160, 67),
        StageState::Sleeping => Color32::from_rgb(210, 140, 20),
        StageState::WaitingForDemand => Color32::from_rgb(200, 60, 60),
        StageState::WaitingForEvents => Color32::from_rgb(90, 120, 200),
        StageState::Starting | StageState::Done => Color32::from_gray(140),
    }
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
