//! The charts, drawn from a run's [`ChartData`]: per-core CPU, memory, IO and mailbox lengths,
//! like observer's Load Charts. The same functions draw the app's views, the exported PNGs and
//! `palavriado reproduce`'s slides.

mod load;
mod points;

use egui::{Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, Plot, PlotPoint, Text, VLine};

pub use load::{
    LoadChart, MAX_QUEUE, load_chart, max_queue_series, overlay_chart, queue_chart, stage_names,
};
pub use points::{
    CPU_SMOOTHING_HELP, MAX_POINTS, at_interval_middles, decimate, points, smooth_centred,
};

#[cfg(doc)]
use super::chart_data::ChartData;
use crate::runtime::control::{RunEvent, RunEventKind};

/// How the charts are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartOptions {
    /// Show only the last this-many seconds (None: the whole run).
    pub window: Option<f64>,
    /// Average CPU over 200 ms (the OS counts in 10 ms ticks, so raw samples are jagged).
    pub smooth_cpu: bool,
    /// Log scale for mailbox lengths.
    pub log_queues: bool,
    /// Hover, zoom and drag (off when exporting).
    pub interactive: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            window: Some(crate::frontend::app::style::CHART_WINDOW_SECS),
            smooth_cpu: true,
            log_queues: false,
            interactive: true,
        }
    }
}

/// The unit of a chart's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    /// Percent (0–100).
    Percent,
    /// Bytes, shown in MB or GB.
    Bytes,
    /// Bytes per second, shown in MB/s.
    BytesPerSecond,
    /// Plain counts.
    Count,
}

/// One line to draw.
#[derive(Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub color: Color32,
    /// (t, value) points.
    pub points: Vec<[f64; 2]>,
}

/// Human label of a run event.
pub fn event_label(e: &RunEvent) -> String {
    match &e.kind {
        RunEventKind::Started => "start".into(),
        RunEventKind::DelayChanged { delay_ms } => {
            format!("delay {}", crate::observe::format::delay_ms(*delay_ms))
        }
        RunEventKind::StopRequested { reason } => format!("stop ({})", reason.name()),
        RunEventKind::Finished { completed: true } => "done".into(),
        RunEventKind::Finished { completed: false } => "stopped".into(),
    }
}

fn event_color(e: &RunEvent) -> Color32 {
    match e.kind {
        RunEventKind::Started => Color32::from_gray(150),
        RunEventKind::DelayChanged { .. } => Color32::from_rgb(200, 120, 0),
        RunEventKind::StopRequested { .. } => Color32::from_rgb(200, 40, 40),
        RunEventKind::Finished { .. } => Color32::from_rgb(40, 140, 40),
    }
}

/// Formats a value of `unit` for axes and tooltips, scaled by `scale`.
fn unit_suffix(unit: Unit, max: f64) -> (f64, &'static str) {
    match unit {
        Unit::Percent => (1.0, "%"),
        Unit::Count => (1.0, ""),
        Unit::Bytes if max >= 2e9 => (1e9, "GB"),
        Unit::Bytes => (1e6, "MB"),
        Unit::BytesPerSecond if max < 2e6 => (1e3, "KB/s"),
        Unit::BytesPerSecond => (1e6, "MB/s"),
    }
}

/// Draws one chart with a title row; returns true when its "Save as PNG" button was clicked.
#[allow(clippy::too_many_arguments)]
pub fn chart(
    ui: &mut Ui,
    id: &str,
    title: &str,
    unit: Unit,
    lines: Vec<Series>,
    events: &[RunEvent],
    opts: &ChartOptions,
    height: f32,
) -> bool {
    let mut save = false;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(title).strong().size(15.0));
        // The legend sits beside the title, outside the plot, so it never hides the data.
        ui.add_space(12.0);
        for l in &lines {
            ui.label(RichText::new("■").color(l.color));
            ui.label(RichText::new(&l.label).size(13.0));
            ui.add_space(6.0);
        }
        if opts.interactive {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                save = ui
                    .small_button("Save as PNG")
                    .on_hover_text(format!("Save the {title} chart as a PNG image"))
                    .clicked();
            });
        }
    });
    let max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p[1]))
        .fold(0.0f64, f64::max);
    let (scale, suffix) = unit_suffix(unit, max);
    let log = unit == Unit::Count && opts.log_queues;
    let tx = |v: f64| {
        if log {
            (v.max(0.0) + 1.0).log10()
        } else {
            v / scale
        }
    };
    let mut plot = Plot::new(id)
        .height(height)
        .x_axis_label("time (s)")
        .y_axis_label(if log {
            "log10(n + 1)".to_string()
        } else {
            suffix.to_string()
        })
        .include_y(0.0)
        .include_x(0.0)
        .allow_scroll(false)
        .allow_zoom(opts.interactive)
        .allow_drag(opts.interactive)
        .show_x(opts.interactive)
        .show_y(opts.interactive);
    if unit == Unit::Percent {
        plot = plot.include_y(100.0);
    }
    // The right end of the data: an event label near it is written to the left of its line,
    // so it is never cut by the plot's edge.
    let x_end = lines
        .iter()
        .filter_map(|l| l.points.last().map(|q| q[0]))
        .chain(events.iter().map(|e| e.at_secs))
        .fold(0.0f64, f64::max);
    plot.show(ui, |p| {
        for l in lines {
            let pts: Vec<[f64; 2]> = l.points.iter().map(|q| [q[0], tx(q[1])]).collect();
            p.line(Line::new(l.label, pts).color(l.color).width(1.8));
        }
        // Run events: dashed lines labelled at the top (kept out of the legend).
        let top = if log {
            tx(max)
        } else {
            tx(max.max(if unit == Unit::Percent { 100.0 } else { 0.0 }))
        };
        for (i, e) in events.iter().enumerate() {
            // The start, a delay set from the start (the title says it) and a finish right
            // after a stop request would only crowd the labels.
            let crowded = match e.kind {
                RunEventKind::Started => true,
                RunEventKind::DelayChanged { .. } => e.at_secs < 0.05,
                RunEventKind::Finished { .. } => {
                    i > 0
                        && matches!(events[i - 1].kind, RunEventKind::StopRequested { .. })
                        && e.at_secs - events[i - 1].at_secs < 2.0
                }
                RunEventKind::StopRequested { .. } => false,
            };
            if crowded {
                continue;
            }
            p.vline(
                VLine::new("", e.at_secs)
                    .color(event_color(e))
                    .style(LineStyle::dashed_loose())
                    .width(1.2),
            );
            p.text(
                Text::new(
                    "",
                    PlotPoint::new(e.at_secs, top),
                    RichText::new(event_label(e)).size(11.0),
                )
                .color(event_color(e))
                .anchor(if e.at_secs > 0.8 * x_end {
                    egui::Align2::RIGHT_TOP
                } else {
                    egui::Align2::LEFT_TOP
                }),
            );
        }
    });
    save
}
