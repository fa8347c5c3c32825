//! Every view drawn from the same deterministic run (a recording made up here, so no clock or
//! machine speed shows) and compared with its stored image in `tests/snapshots/`: a layout
//! regression fails here. `UPDATE_SNAPSHOTS=1 cargo test --test snapshots` rewrites them after
//! a deliberate change (look at the new images before committing them).
#![cfg(feature = "gui")]
#![recursion_limit = "256"]

use egui_kittest::Harness;
use palavriado::Recording;
use palavriado::frontend::app::charts::ChartOptions;
use palavriado::frontend::app::session::{ChartData, RunEntry, RunSource};
use palavriado::frontend::app::views::{Tab, ViewContext, Views, diagnosis_strip};
use serde_json::{Value, json};

const STAGES: [(&str, &str); 5] = [
    ("producer", "producer"),
    ("extractor 1", "producer_consumer"),
    ("extractor 2", "producer_consumer"),
    ("counter 1", "consumer"),
    ("counter 2", "consumer"),
];

/// A 4-second Pull run with the delay, sampled at 50 Hz: every value a function of time.
fn recording() -> Value {
    let n = 200;
    let t: Vec<f64> = (1..=n).map(|i| i as f64 * 0.02).collect();
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<Value>> = Vec::new();
    let mut add = |name: String, f: &dyn Fn(f64) -> f64| {
        names.push(name);
        columns.push(t.iter().map(|&t| json!(f(t))).collect());
    };
    add("cpu/core0".into(), &|t| 20.0 + 10.0 * (t * 3.0).sin());
    add("cpu/core1".into(), &|t| 15.0 + 5.0 * (t * 2.0).cos());
    add("cpu/palavriado".into(), &|_| 4.0);
    add("scheduler/1".into(), &|t| 3.0 + (t * 5.0).sin().abs());
    add("scheduler/2".into(), &|t| 2.0 + (t * 4.0).cos().abs());
    add("memory/resident".into(), &|t| 9e6 + 2e5 * t);
    add("memory/heap".into(), &|t| 1e6 + 1e5 * t);
    add("memory/queued".into(), &|_| 4e3);
    add("memory/palavriado".into(), &|t| 5e4 * t);
    add("io/read_bytes_per_s".into(), &|t| {
        1.2e5 + 2e4 * (t * 7.0).sin()
    });
    add("progress/words_counted".into(), &|t| (t * 15_000.0).floor());
    for (i, (name, _)) in STAGES.iter().enumerate() {
        let k = i as f64;
        let m = |metric: &str| format!("stage/{name}/{metric}");
        let extractor = name.starts_with("extractor");
        add(m("msgq"), &move |t| {
            ((t * 10.0 + k).sin().abs() * 3.0).round()
        });
        add(m("in"), &move |t| (t * 1000.0 * (k + 1.0)).floor());
        add(m("cpu_percent"), &move |_| 1.0 + k);
        add(m("busy_ms_per_s"), &move |_| {
            if extractor { 10.0 } else { 5.0 }
        });
        add(m("sleeping_ms_per_s"), &move |_| {
            if extractor { 985.0 } else { 0.0 }
        });
        add(m("backpressured_ms_per_s"), &move |_| {
            if i == 0 { 990.0 } else { 0.0 }
        });
        add(m("idle_ms_per_s"), &move |_| {
            if i >= 3 { 990.0 } else { 5.0 }
        });
        add(m("mailbox_p50_us"), &move |_| 20.0 + k);
        add(m("mailbox_p99_us"), &move |_| 400.0 + 10.0 * k);
    }
    let stage_json: Vec<Value> = STAGES
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            json!({
                "name": name, "kind": kind, "mailbox_messages": i, "mailbox_events": i * 5,
                "queued_bytes": i * 400, "events_in": 4000 * (i + 1), "events_out": 4000 * (i + 1),
                "buffered": 0, "demand": 10, "state": if i == 0 { "waiting_for_demand" } else if i < 3 { "sleeping" } else { "waiting_for_events" },
                "max_mailbox": 5, "tid": 0, "busy_ns": 40_000_000, "polls": 4000, "sched_wait_ns": 1_000_000,
                "times": {"busy_ns": 40_000_000, "backpressured_ns": if i == 0 { 3_900_000_000u64 } else { 0 },
                          "idle_ns": if i >= 3 { 3_900_000_000u64 } else { 0 },
                          "sleeping_ns": if (1..3).contains(&i) { 3_900_000_000u64 } else { 0 }},
                "peak_bytes": 800
            })
        })
        .collect();
    let diagnoses = json!([
        {"kind": "bottleneck", "stage": "extractor 1", "since_ms": 1000.0,
         "summary": "extractor 1 is the bottleneck: working 100 % of the time (mostly in the simulated delay) while producer is backpressured 99 % of it"},
        {"kind": "bottleneck", "stage": "extractor 2", "since_ms": 1000.0,
         "summary": "extractor 2 is the bottleneck: working 100 % of the time (mostly in the simulated delay) while producer is backpressured 99 % of it"}
    ]);
    json!({
        "format": "palavriado-recording", "version": 1, "recorded_by": "test",
        "sample_hz": 50, "duration_s": 4.0,
        "report": {
            "strategy": "pull", "corpus": "built-in", "files": 112, "repeat": 10,
            "bytes": 112_000_000u64, "lines": 8000, "total_words": 60_000, "distinct_words": 9000,
            "counts_sha256": "0".repeat(64), "wall_ms": 4000.0, "completed": false,
            "stop_reason": "duration", "warnings": [], "errors": [], "workers": 2,
            "runtime": "scheduler", "schedulers": 2, "mean_scheduler_percent": [3.5, 2.5],
            "stages": [], "delay_ms": 1.0, "split": "chars", "max_demand": 10,
            "max_mailbox_len": 5, "messages": 9000, "context_switches": 4000,
            "peak_rss_bytes": 9_800_000u64, "peak_heap_bytes": 1_400_000u64,
            "mean_cpu_percent": [20.0, 15.0], "samples": n, "memory_limit_bytes": null,
            "events": [{"at_secs": 0.0, "kind": {"type": "started"}},
                       {"at_secs": 0.0, "kind": {"type": "delay_changed", "delay_ms": 1.0}},
                       {"at_secs": 4.0, "kind": {"type": "stop_requested", "reason": "duration"}},
                       {"at_secs": 4.01, "kind": {"type": "finished", "completed": false}}],
            "diagnoses": diagnoses,
            "top_words": [{"length": 3, "words": [["que", 900], ["não", 400]]},
                          {"length": 4, "words": [["para", 300], ["mais", 200]]}]
        },
        "stages": stage_json,
        "timeline": {"names": names, "t": t, "columns": columns}
    })
}

/// The made-up run, opened as the app opens recordings.
fn run_entry() -> RunEntry {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made-up.json");
    std::fs::write(&path, recording().to_string()).unwrap();
    let rec = Recording::open(&path).unwrap();
    let report = rec.report.clone();
    let mut settings = palavriado::RunSettings::new(report.strategy);
    settings.workers = 2;
    settings.max_demand = Some(10);
    RunEntry {
        number: 1,
        settings,
        corpus: report.corpus.clone(),
        total_bytes: report.bytes,
        source: RunSource::Recorded {
            path: "made-up.json".into(),
            stages: rec.stages,
        },
        timeline: report.timeline.clone(),
        data: ChartData::from_timeline(&report.timeline),
        report: Some(report.clone()),
    }
}

struct State {
    runs: Vec<RunEntry>,
    views: Views,
    tab: Tab,
    selected: Option<String>,
}

fn snapshot(tab: Tab, name: &str) {
    let state = State {
        runs: vec![run_entry()],
        views: Views::default(),
        tab,
        selected: Some("extractor 1".into()),
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 760.0))
        .build_ui_state(
            |ui, s: &mut State| {
                ui.ctx().set_visuals(egui::Visuals::light());
                palavriado::frontend::app::setup_fonts(ui.ctx());
                let run = &s.runs[0];
                diagnosis_strip(ui, &run.diagnoses(), false);
                let opts = ChartOptions {
                    window: None,
                    ..ChartOptions::default()
                };
                let mut cx = ViewContext {
                    run,
                    runs: &s.runs,
                    opts: &opts,
                    selected: &mut s.selected,
                };
                s.views.get(s.tab).ui(ui, &mut cx);
            },
            state,
        );
    h.run_steps(4);
    h.snapshot(name);
}

#[test]
fn load_charts_match_their_stored_image() {
    snapshot(Tab::Load, "view_load_charts");
}

#[test]
fn processes_match_their_stored_image() {
    snapshot(Tab::Processes, "view_processes");
}

#[test]
fn queues_match_their_stored_image() {
    snapshot(Tab::Queues, "view_queues");
}

#[test]
fn pipeline_matches_its_stored_image() {
    snapshot(Tab::Pipeline, "view_pipeline");
}

#[test]
fn results_match_their_stored_image() {
    snapshot(Tab::Results, "view_results");
}
