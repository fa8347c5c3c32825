//! The charts, drawn from a run's [`ChartData`]: per-core CPU, memory, IO and mailbox lengths,
//! like observer's Load Charts. The same functions draw the app's views, the exported PNGs and
//! `palavriado reproduce`'s slides.

use egui::{Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, Plot, PlotPoint, Text, VLine};

use super::session::ChartData;
use crate::control::{RunEvent, RunEventKind};
use crate::probe::sampler::series::{self, StageMetric};

/// Most points drawn per series (min/max per bucket keep every spike visible).
pub const MAX_POINTS: usize = 1200;

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
            window: Some(120.0),
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
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub color: Color32,
    /// (t, value) points.
    pub points: Vec<[f64; 2]>,
}

fn window_start(data: &ChartData, opts: &ChartOptions) -> f64 {
    match opts.window {
        Some(w) => (data.duration() - w).max(0.0),
        None => 0.0,
    }
}

/// The points of one series in the visible window, decimated to at most [`MAX_POINTS`] by
/// keeping each bucket's minimum and maximum in time order.
pub fn points(data: &ChartData, name: &str, opts: &ChartOptions) -> Vec<[f64; 2]> {
    let Some(col) = data.column(name) else {
        return Vec::new();
    };
    let from = window_start(data, opts);
    let start = data.rows.partition_point(|r| r.t < from);
    let raw: Vec<[f64; 2]> = data.rows[start..]
        .iter()
        .map(|r| [r.t, r.get(col)])
        .filter(|p| !p[1].is_nan())
        .collect();
    decimate(raw, MAX_POINTS)
}

/// Keeps at most `max` points: each bucket contributes its min and max, in time order.
pub fn decimate(raw: Vec<[f64; 2]>, max: usize) -> Vec<[f64; 2]> {
    if raw.len() <= max {
        return raw;
    }
    let buckets = (max / 2).max(1);
    let per = raw.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for chunk in raw.chunks(per) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

/// Moves each point of an interval series (a value covering the time since the previous
/// sample) to the middle of its interval, so the curve never lags what it measured.
pub fn at_interval_middles(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut prev = None;
    points
        .iter()
        .map(|&[t, v]| {
            let mid = prev.map_or(t, |p: f64| (p + t) / 2.0);
            prev = Some(t);
            [mid, v]
        })
        .collect()
}

/// A centred average: each point becomes the mean of the points within `secs / 2` on either
/// side. Points whose window is not complete yet (the newest `secs / 2`) are left out rather
/// than averaged lopsidedly, so the curve is late by nothing, it only ends earlier.
pub fn smooth_centred(points: &[[f64; 2]], secs: f64) -> Vec<[f64; 2]> {
    let half = secs / 2.0;
    let Some(&[last_t, _]) = points.last() else {
        return Vec::new();
    };
    let (mut lo, mut hi, mut sum) = (0, 0, 0.0);
    let mut out = Vec::with_capacity(points.len());
    for &[t, _] in points {
        if t + half > last_t {
            break;
        }
        while hi < points.len() && points[hi][0] <= t + half {
            sum += points[hi][1];
            hi += 1;
        }
        while points[lo][0] < t - half {
            sum -= points[lo][1];
            lo += 1;
        }
        out.push([t, sum / (hi - lo) as f64]);
    }
    out
}

/// How the CPU chart is smoothed, for its hover text.
pub const CPU_SMOOTHING_HELP: &str = "Each core's CPU is read from the kernel's per-CPU counters at every sample and drawn at the middle of the interval it covers. The kernel counts in 10 ms ticks, so one 20 ms sample reads 0, 50 or 100 %: Smooth CPU averages each core over a centred 100 ms window (the newest 50 ms are drawn once their window is complete).";

/// Human label of a run event.
pub fn event_label(e: &RunEvent) -> String {
    match &e.kind {
        RunEventKind::Started => "start".into(),
        RunEventKind::DelayChanged { delay_ms } => {
            format!("delay {}", crate::format::delay_ms(*delay_ms))
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

/// Which chart of the Load Charts view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadChart {
    /// Utilisation of each scheduler thread (observer's first chart; scheduler runtime only).
    Schedulers,
    /// Per-core CPU.
    Cpu,
    /// The run's own CPU, stacked by stage (by kind when there are many).
    StageCpu,
    /// Resident, heap, queued.
    Memory,
    /// Corpus bytes read per second.
    Io,
}

impl LoadChart {
    /// The charts a run's data can fill, top to bottom: scheduler utilisation (when its stages
    /// ran on the scheduler), CPU, memory, IO.
    pub fn shown(data: &ChartData) -> Vec<LoadChart> {
        let mut v = Vec::with_capacity(4);
        if data.column(&series::scheduler(0)).is_some() {
            v.push(LoadChart::Schedulers);
        }
        v.extend([
            LoadChart::Cpu,
            LoadChart::StageCpu,
            LoadChart::Memory,
            LoadChart::Io,
        ]);
        v
    }

    /// Title shown above the chart.
    pub fn title(self) -> &'static str {
        match self {
            LoadChart::Schedulers => "Scheduler utilisation",
            LoadChart::StageCpu => "CPU by stage (stacked, % of one core)",
            LoadChart::Cpu => "CPU per core",
            LoadChart::Memory => "Memory",
            LoadChart::Io => "IO input",
        }
    }

    /// File-name part for exports.
    pub fn slug(self) -> &'static str {
        match self {
            LoadChart::Schedulers => "schedulers",
            LoadChart::StageCpu => "stage_cpu",
            LoadChart::Cpu => "cpu",
            LoadChart::Memory => "memory",
            LoadChart::Io => "io",
        }
    }

    /// The lines of this chart.
    pub fn series(self, data: &ChartData, opts: &ChartOptions) -> (Unit, Vec<Series>) {
        match self {
            LoadChart::Schedulers => {
                let mut lines = Vec::new();
                let mut i = 0;
                while data.column(&series::scheduler(i)).is_some() {
                    lines.push(Series {
                        label: format!("scheduler {}", i + 1),
                        color: PALETTE[i % PALETTE.len()],
                        points: points(data, &series::scheduler(i), opts),
                    });
                    i += 1;
                }
                (Unit::Percent, lines)
            }
            LoadChart::Cpu => {
                let mut lines = Vec::new();
                let mut i = 0;
                while data.column(&series::core(i)).is_some() {
                    let mut pts = at_interval_middles(&points(data, &series::core(i), opts));
                    if opts.smooth_cpu {
                        pts = smooth_centred(&pts, 0.1);
                    }
                    lines.push(Series {
                        label: format!("core {}", i + 1),
                        color: PALETTE[i % PALETTE.len()],
                        points: pts,
                    });
                    i += 1;
                }
                // The observer effect: what palavriado itself (UI, renderer, sampler) used.
                let mut own = at_interval_middles(&points(data, series::SELF_CPU, opts));
                if opts.smooth_cpu {
                    own = smooth_centred(&own, 0.1);
                }
                if !own.is_empty() {
                    lines.push(Series {
                        label: "palavriado itself".into(),
                        color: Color32::from_gray(150),
                        points: own,
                    });
                }
                (Unit::Percent, lines)
            }
            LoadChart::StageCpu => (Unit::Percent, stage_cpu_stacked(data, opts)),
            LoadChart::Memory => (
                Unit::Bytes,
                [
                    ("resident (OS)", series::RSS, PALETTE[0]),
                    ("heap (allocator)", series::HEAP, PALETTE[1]),
                    ("queued (mailboxes, buffers)", series::QUEUED, PALETTE[3]),
                    (
                        "palavriado's samples",
                        series::PROFILER,
                        Color32::from_gray(140),
                    ),
                ]
                .into_iter()
                .map(|(label, name, color)| Series {
                    label: label.into(),
                    color,
                    points: points(data, name, opts),
                })
                .collect(),
            ),
            LoadChart::Io => (
                Unit::BytesPerSecond,
                vec![Series {
                    label: "corpus read".into(),
                    color: PALETTE[2],
                    points: points(data, series::IO, opts),
                }],
            ),
        }
    }
}

/// Stages stacked one by one up to this many; beyond, by kind (a legend of 513 stages helps
/// nobody).
const STACK_EACH_STAGE_UP_TO: usize = 12;

/// The run's own CPU by stage, each line the sum of the stages up to it (so the areas between
/// lines are the stages' shares and the top line is the whole pipeline).
fn stage_cpu_stacked(data: &ChartData, opts: &ChartOptions) -> Vec<Series> {
    let names = stage_names(data);
    // Groups of stages to stack: one per stage, or one per kind of name (`extractor 1..N` →
    // `extractors`) when there are many.
    let groups: Vec<(String, Vec<String>)> = if names.len() <= STACK_EACH_STAGE_UP_TO {
        names.iter().map(|n| (n.clone(), vec![n.clone()])).collect()
    } else {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for n in &names {
            let kind = n.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
            let label = format!("{kind}s");
            match groups.iter_mut().find(|(l, _)| *l == label) {
                Some((_, members)) => members.push(n.clone()),
                None => groups.push((label, vec![n.clone()])),
            }
        }
        groups
    };
    let from = window_start(data, opts);
    let start = data.rows.partition_point(|r| r.t < from);
    let rows = &data.rows[start..];
    let cols: Vec<Vec<usize>> = groups
        .iter()
        .map(|(_, members)| {
            members
                .iter()
                .filter_map(|m| data.column(&series::stage(m, StageMetric::CpuPercent)))
                .collect()
        })
        .collect();
    let mut below = vec![0.0; rows.len()];
    groups
        .iter()
        .zip(cols)
        .enumerate()
        .map(|(g, ((label, _), cols))| {
            let raw: Vec<[f64; 2]> = rows
                .iter()
                .zip(below.iter_mut())
                .map(|(r, b)| {
                    *b += cols
                        .iter()
                        .map(|&c| r.get(c))
                        .filter(|v| !v.is_nan())
                        .sum::<f64>();
                    [r.t, *b]
                })
                .collect();
            let mut points = at_interval_middles(&decimate(raw, MAX_POINTS));
            if opts.smooth_cpu {
                points = smooth_centred(&points, 0.1);
            }
            Series {
                label: label.clone(),
                color: PALETTE[g % PALETTE.len()],
                points,
            }
        })
        .collect()
}

/// Draws one Load chart; returns true if its save button was clicked.
pub fn load_chart(
    ui: &mut Ui,
    which: LoadChart,
    data: &ChartData,
    events: &[RunEvent],
    opts: &ChartOptions,
    height: f32,
) -> bool {
    let (unit, lines) = which.series(data, opts);
    chart(
        ui,
        which.slug(),
        which.title(),
        unit,
        lines,
        events,
        opts,
        height,
    )
}

/// Stage names in the data (from `stage/<name>/msgq` columns), in order of appearance.
pub fn stage_names(data: &ChartData) -> Vec<String> {
    data.names
        .iter()
        .filter_map(|n| n.strip_prefix("stage/")?.strip_suffix("/msgq"))
        .map(str::to_string)
        .collect()
}

/// Mailbox length over time, one line per stage.
pub fn queue_chart(
    ui: &mut Ui,
    data: &ChartData,
    events: &[RunEvent],
    opts: &ChartOptions,
    height: f32,
) -> bool {
    let lines = stage_names(data)
        .into_iter()
        .enumerate()
        .map(|(i, name)| Series {
            points: points(data, &series::stage(&name, StageMetric::Msgq), opts),
            label: name,
            color: PALETTE[i % PALETTE.len()],
        })
        .collect();
    chart(
        ui,
        "queues",
        "Mailbox length (MsgQ, messages)",
        Unit::Count,
        lines,
        events,
        opts,
        height,
    )
}

/// One series of several runs on one chart (the Results view's comparison).
#[allow(clippy::too_many_arguments)]
pub fn overlay_chart(
    ui: &mut Ui,
    id: &str,
    title: &str,
    unit: Unit,
    runs: &[(String, &ChartData)],
    series_name: &str,
    opts: &ChartOptions,
    height: f32,
) {
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, (label, data))| Series {
            label: label.clone(),
            color: PALETTE[i % PALETTE.len()],
            points: points(data, series_name, opts),
        })
        .collect();
    chart(ui, id, title, unit, lines, &[], opts, height);
}

/// The largest mailbox of any stage at each sample (for comparing runs).
pub fn max_queue_series(data: &ChartData) -> ChartData {
    let cols: Vec<usize> = stage_names(data)
        .iter()
        .filter_map(|n| data.column(&series::stage(n, StageMetric::Msgq)))
        .collect();
    let rows = data
        .rows
        .iter()
        .map(|r| crate::probe::Row {
            t: r.t,
            values: vec![
                cols.iter()
                    .map(|&c| r.get(c))
                    .filter(|v| !v.is_nan())
                    .fold(0.0, f64::max),
            ],
        })
        .collect();
    ChartData::new(vec!["max_msgq".into()], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_order() {
        let raw: Vec<[f64; 2]> = (0..10_000)
            .map(|i| [i as f64, if i == 5_000 { 1e6 } else { (i % 7) as f64 }])
            .collect();
        let d = decimate(raw, 200);
        assert!(d.len() <= 200);
        assert!(d.iter().any(|p| p[1] == 1e6));
        assert!(d.windows(2).all(|w| w[0][0] < w[1][0]));
    }

    #[test]
    fn stage_cpu_stacks_stages_and_groups_many_by_kind() {
        use crate::probe::Row;
        let stack = |stages: &[(&str, f64)]| {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for (n, cpu) in stages {
                names.push(series::stage(n, StageMetric::Msgq));
                values.push(0.0);
                names.push(series::stage(n, StageMetric::CpuPercent));
                values.push(*cpu);
            }
            let rows = (0..3)
                .map(|i| Row {
                    t: i as f64 * 0.02,
                    values: values.clone(),
                })
                .collect();
            let opts = ChartOptions {
                smooth_cpu: false,
                ..ChartOptions::default()
            };
            stage_cpu_stacked(&ChartData::new(names, rows), &opts)
        };
        let two = stack(&[("producer", 30.0), ("counter 1", 50.0)]);
        let labels: Vec<&str> = two.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["producer", "counter 1"]);
        assert_eq!(two[0].points.last().unwrap()[1], 30.0);
        assert_eq!(two[1].points.last().unwrap()[1], 80.0);
        // 1 producer, 8 extractors and 8 counters: stacked by kind, the top still the total.
        let mut many = vec![("producer".to_string(), 10.0)];
        for i in 1..=8 {
            many.push((format!("extractor {i}"), 5.0));
            many.push((format!("counter {i}"), 2.0));
        }
        let many: Vec<(&str, f64)> = many.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let grouped = stack(&many);
        let labels: Vec<&str> = grouped.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["producers", "extractors", "counters"]);
        assert_eq!(
            grouped[2].points.last().unwrap()[1],
            10.0 + 8.0 * 5.0 + 8.0 * 2.0
        );
    }

    #[test]
    fn cpu_points_sit_at_interval_middles_and_smooth_centred() {
        let pts: Vec<[f64; 2]> = (0..=10)
            .map(|i| [i as f64 * 0.02, if i >= 5 { 100.0 } else { 0.0 }])
            .collect();
        let mid = at_interval_middles(&pts);
        assert_eq!(mid[0], [0.0, 0.0]);
        assert!((mid[5][0] - 0.09).abs() < 1e-12 && mid[5][1] == 100.0);
        // A step at 0.09 s: the centred average crosses 50 % at the step, not after it.
        let s = smooth_centred(&mid, 0.1);
        let crossing = s.iter().find(|p| p[1] >= 50.0).unwrap()[0];
        assert!((0.07..=0.1).contains(&crossing), "{crossing}");
        // The newest 50 ms have no complete window yet.
        assert!(s.last().unwrap()[0] <= mid.last().unwrap()[0] - 0.05 + 1e-9);
    }
}
