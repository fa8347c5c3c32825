//! The Load Charts (scheduler utilisation, CPU, CPU by stage, memory, IO), the Queues chart
//! and the comparison of runs: which series each draws.

use egui::{Color32, Ui};

use super::points::window_start;
use super::{
    ChartOptions, MAX_POINTS, Series, Unit, at_interval_middles, chart, decimate, points,
    smooth_centred,
};
use crate::frontend::app::chart_data::ChartData;
use crate::frontend::app::style::PALETTE;
use crate::observe::series::{self, StageMetric};
use crate::runtime::control::RunEvent;

/// Which chart of the Load Charts view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadChart {
    /// Utilisation of each scheduler thread (observer's first chart; scheduler runtime only).
    Schedulers,
    /// A tokio program's tasks, all together: time polled and time woken waiting to be polled
    /// (a tokio-console program).
    Tasks,
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
    /// ran on the scheduler), CPU, CPU by stage, memory, IO. Once samples have come, a chart
    /// none of them fills is left out (a fleet read from Prometheus has no per-core CPU; a
    /// program of one's own reads no corpus).
    pub fn shown(data: &ChartData) -> Vec<LoadChart> {
        let sampled = !data.rows.is_empty();
        let has = |name: &str| !sampled || data.column(name).is_some();
        let mut v = Vec::with_capacity(5);
        if data.column(&series::scheduler(0)).is_some() {
            v.push(LoadChart::Schedulers);
        }
        if data.column(series::TASKS_POLLED).is_some() {
            v.push(LoadChart::Tasks);
        }
        if has(&series::core(0)) {
            v.push(LoadChart::Cpu);
        }
        let cpu_by_stage = StageMetric::CpuPercent.as_str();
        if !sampled
            || data
                .names
                .iter()
                .any(|n| n.starts_with("stage/") && n.ends_with(cpu_by_stage))
        {
            v.push(LoadChart::StageCpu);
        }
        v.push(LoadChart::Memory);
        if has(series::IO) {
            v.push(LoadChart::Io);
        }
        v
    }

    /// Title shown above the chart.
    pub fn title(self) -> &'static str {
        match self {
            LoadChart::Schedulers => "Scheduler utilisation",
            LoadChart::Tasks => "Tasks: polled and scheduled (all tasks, % of one core)",
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
            LoadChart::Tasks => "tasks",
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
                // A program followed from outside, on this machine: its process's CPU.
                let program = at_interval_middles(&points(data, series::PROGRAM_CPU, opts));
                if !program.is_empty() {
                    lines.push(Series {
                        label: "the program".into(),
                        color: Color32::from_rgb(230, 230, 230),
                        points: program,
                    });
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
            LoadChart::Tasks => (
                Unit::Percent,
                [
                    ("polled (running)", series::TASKS_POLLED, PALETTE[0]),
                    (
                        "scheduled (woken, waiting for a thread)",
                        series::TASKS_SCHEDULED,
                        PALETTE[3],
                    ),
                ]
                .into_iter()
                .map(|(label, name, color)| Series {
                    label: label.into(),
                    color,
                    points: at_interval_middles(&points(data, name, opts)),
                })
                .collect(),
            ),
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
    // The stages with a CPU column (channels and resources have none), tasks included.
    let suffix = format!("/{}", StageMetric::CpuPercent.as_str());
    let names: Vec<String> = data
        .names
        .iter()
        .filter_map(|n| n.strip_prefix("stage/")?.strip_suffix(suffix.as_str()))
        .map(str::to_string)
        .collect();
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

/// The one series of [`max_queue_series`]'s data.
pub const MAX_QUEUE: &str = "largest_msgq";

/// The largest mailbox of any stage at each sample (for comparing runs).
pub fn max_queue_series(data: &ChartData) -> ChartData {
    let cols: Vec<usize> = stage_names(data)
        .iter()
        .filter_map(|n| data.column(&series::stage(n, StageMetric::Msgq)))
        .collect();
    let rows = data
        .rows
        .iter()
        .map(|r| crate::observe::timeline::Row {
            t: r.t,
            values: vec![
                cols.iter()
                    .map(|&c| r.get(c))
                    .filter(|v| !v.is_nan())
                    .fold(0.0, f64::max),
            ],
        })
        .collect();
    ChartData::new(vec![MAX_QUEUE.into()], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_cpu_stacks_stages_and_groups_many_by_kind() {
        use crate::observe::timeline::Row;
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
}
