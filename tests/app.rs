//! The desktop app, driven headlessly through its real UI (egui_kittest): pick a strategy, Run,
//! watch the Processes rows, toggle the delay mid-run, Stop, export a PNG.
#![cfg(feature = "gui")]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use palavriado::RunEventKind;
use palavriado::frontend::app::session::RunSource;
use palavriado::frontend::app::views::Column;
use palavriado::frontend::app::{PalavriadoApp, Tab};
use palavriado::wordcount::Strategy;

#[path = "common/console.rs"]
mod console;

fn app() -> Harness<'static, PalavriadoApp> {
    Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(|cc| PalavriadoApp::new(cc))
}

/// The app set up for a short run: no delay, no time limit, one pass.
fn plain_app() -> Harness<'static, PalavriadoApp> {
    let mut h = app();
    let c = &mut h.state_mut().controls;
    c.delay_on = false;
    c.duration = None;
    c.repeat = 1;
    h
}

/// Steps the UI until `done` holds (the app runs work on background threads, so it never
/// settles by itself).
fn step_until(
    h: &mut Harness<'static, PalavriadoApp>,
    what: &str,
    done: impl Fn(&PalavriadoApp) -> bool,
) {
    // Generous: the first test to use the built-in corpus on a fresh machine generates it while
    // other test processes do the same.
    let deadline = Instant::now() + Duration::from_secs(240);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} (status: {:?}, runs: {}, busy: {})",
            h.state().status,
            h.state().session.runs.len(),
            h.state().session.is_busy()
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Steps until the status line shows an error; returns its text.
fn error_status(h: &mut Harness<'static, PalavriadoApp>) -> String {
    step_until(h, "an error in the status line", |a| {
        a.status.as_ref().is_some_and(|s| s.error)
    });
    h.state().status.clone().unwrap().text
}

/// Attaches to `addr` the way a user does: "Attach…", then "Attach" in its window (the address
/// set as the one remembered).
fn attach_through_the_window(h: &mut Harness<'static, PalavriadoApp>, addr: &str) {
    h.state_mut().last_attach = palavriado::frontend::app::AttachDialog {
        addr: addr.to_string(),
        ..Default::default()
    };
    open_and_press(h, "Attach…", "Attach");
}

/// Opens a dialog from the top bar's `button` (it opens with what was set last), then presses
/// its `action`.
fn open_and_press(h: &mut Harness<'static, PalavriadoApp>, button: &str, action: &str) {
    h.run_steps(2);
    h.get_by_label(button).click();
    h.run_steps(2);
    h.get_by_label(action).click();
}

#[test]
fn run_watch_toggle_delay_stop_and_export() {
    let mut h = app();
    let export = tempfile::tempdir().unwrap();
    h.state_mut().export_dir = export.path().to_path_buf();
    h.run_steps(2);

    // The first run is set up to tell the story: Push with the 1 ms delay, ×10, for 20 s.
    let c = &h.state().controls;
    assert_eq!(c.strategy, Strategy::Push);
    assert!(c.delay_on);
    assert_eq!(c.repeat, 10);
    assert_eq!(c.duration, Some(Duration::from_secs(20)));
    h.get_by_label("▶ Run").click();
    step_until(&mut h, "the run to start", |a| {
        a.session.running().is_some()
    });
    step_until(&mut h, "lines to flow", |a| {
        a.session
            .current()
            .is_some_and(|r| r.progress() > 0.0 && r.data.rows.len() > 5)
    });

    // The Processes tab lists the stages with live mailboxes.
    h.get_by_label("Processes").click();
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Processes);
    h.get_by_label("reader");
    h.get_by_label("extractor 1");
    h.get_by_label("counter 1");
    h.get_by_label("MsgQ ▼");
    // Sorting by time busy, busiest first.
    h.get_by_label("Busy").click();
    h.run_steps(2);
    assert_eq!(h.state().views.processes.sort.column, Column::Busy);
    h.get_by_label("Busy ▼");

    // Toggle the delay off and on mid-run: the run sees it at once and records it.
    h.get_by_label("Simulated delay").click();
    h.run_steps(1);
    let RunSource::Live(ctl) = &h.state().session.current().unwrap().source else {
        panic!("a run started in the app is live");
    };
    let ctl = ctl.clone();
    assert_eq!(ctl.delay(), Duration::ZERO);
    h.get_by_label("Simulated delay").click();
    h.run_steps(1);
    assert_eq!(ctl.delay(), Duration::from_millis(1));
    let toggles = ctl
        .events()
        .iter()
        .filter(|e| matches!(e.kind, RunEventKind::DelayChanged { .. }))
        .count();
    assert!(toggles >= 3, "initial delay + off + on, got {toggles}");

    // Stop: the run ends promptly, its data stays on screen.
    h.get_by_label("■ Stop").click();
    step_until(&mut h, "the run to stop", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    let report = h.state().session.current().unwrap().report.clone().unwrap();
    assert_eq!(report.stop_reason, Some(palavriado::StopReason::Cancelled));
    assert!(report.total_words > 0);
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("stopped: cancelled");
    h.get_by_label("counts_sha256");

    // Export the Load Charts view: a real PNG, slide-sized, not blank.
    h.get_by_label("Load Charts").click();
    h.run_steps(1);
    h.get_by_label("Export view").click();
    step_until(&mut h, "the export", |a| {
        a.status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("Saved") || s.error)
    });
    let status = h.state().status.clone().unwrap();
    assert!(!status.error, "{}", status.text);
    let path = export.path().join("push_with_delay_stats.png");
    assert!(
        status.text.contains(&path.display().to_string()),
        "{}",
        status.text
    );
    let img = image::open(&path).expect("the PNG decodes").to_rgba8();
    assert!(img.width() >= 1600, "{} px wide", img.width());
    let first = *img.get_pixel(0, 0);
    let differing = img.pixels().filter(|p| **p != first).count();
    assert!(
        differing > (img.width() * img.height() / 50) as usize,
        "image is nearly blank"
    );

    // CSV export of the timeline.
    h.get_by_label("Export data").click();
    step_until(&mut h, "the CSV", |a| {
        a.status.as_ref().is_some_and(|s| s.text.ends_with(".csv"))
    });
    let csv = std::fs::read_to_string(export.path().join("push_with_delay_timeline.csv")).unwrap();
    assert!(csv.starts_with("time_ms,cpu/core0"));
    assert!(csv.lines().count() > 5);
}

#[test]
fn a_missing_corpus_shows_an_error_and_keeps_the_previous_run() {
    let mut h = plain_app();
    h.get_by_label("Lazy").click();
    h.run_steps(1);
    h.get_by_label("▶ Run").click();
    step_until(&mut h, "the first run", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    let first = h.state().session.current().unwrap().report.clone().unwrap();
    assert!(first.completed);
    // A finished run shows its mean rate, not the last sample's.
    h.run_steps(1);
    let mean = first.total_words as f64 / (first.wall_ms / 1e3);
    h.get_by_label(&format!(
        "{} words/s",
        palavriado::frontend::thousands(mean as u64)
    ));

    // Type a path that does not exist and press Run again.
    h.get_by_label("Path").focus();
    h.run_steps(1);
    h.get_by_label("Path").type_text("/no/such/corpus");
    h.run_steps(1);
    h.get_by_label("Use").click();
    h.run_steps(1);
    h.get_by_label("▶ Run").click();
    let status = error_status(&mut h);
    assert!(
        status.contains("/no/such/corpus") && status.contains("does not exist"),
        "{}",
        status
    );
    assert_eq!(h.state().session.runs.len(), 1, "the previous run is kept");
    h.run_steps(2);
    // Shown in the status bar (and under the corpus picker).
    assert!(h.query_all_by_label(&status).count() >= 1);
}

#[test]
fn runtime_choice_sits_beside_workers_and_charts_scheduler_utilisation() {
    let mut h = plain_app();
    h.run_steps(2);
    assert_eq!(h.state().controls.runtime, palavriado::Runtime::Scheduler);
    // The one-line explanation of the chosen runtime is shown under the choice.
    h.get_by_label(palavriado::Runtime::Scheduler.describe());

    // Threads: every stage on its own OS thread; the explanation follows the choice.
    h.get_by_label("threads").click();
    h.run_steps(1);
    assert_eq!(h.state().controls.runtime, palavriado::Runtime::Threads);
    h.get_by_label(palavriado::Runtime::Threads.describe());
    h.get_by_label("▶ Run").click();
    step_until(&mut h, "the threads run to finish", |a| {
        a.session.running().is_none() && a.session.current().is_some_and(|r| r.data.rows.len() > 2)
    });
    assert_eq!(
        h.state().session.current().unwrap().settings.runtime,
        palavriado::Runtime::Threads
    );
    // No scheduler ran it, so Load Charts has no utilisation chart.
    h.get_by_label("Load Charts").click();
    h.run_steps(2);
    assert!(h.query_by_label("Scheduler utilisation").is_none());

    // Back on the scheduler: observer's first chart, one line per scheduler thread.
    h.get_by_label("scheduler").click();
    h.run_steps(1);
    h.get_by_label("▶ Run").click();
    step_until(&mut h, "the scheduler run to finish", |a| {
        a.session.running().is_none()
            && a.session.current().is_some_and(|r| {
                r.settings.runtime == palavriado::Runtime::Scheduler && r.data.rows.len() > 2
            })
    });
    h.run_steps(2);
    h.get_by_label("Scheduler utilisation");
    h.get_by_label("CPU per core");
    h.get_by_label("CPU by stage (stacked, % of one core)");
}

#[test]
fn a_recorded_run_opens_like_a_live_one_and_its_diagnoses_select_stages() {
    use std::sync::Arc;

    use palavriado::Recording;
    use palavriado::{Run, RunSettings};

    // Record Pull with the delay: its extractors are the bottleneck.
    let mut st = RunSettings::new(Strategy::Pull);
    st.workers = 2;
    st.delay = Duration::from_millis(1);
    st.duration = Some(Duration::from_millis(2500));
    let corpus = Arc::new(palavriado::wordcount::Corpus::builtin(1).unwrap());
    let run = Run::start(corpus, st);
    let ctl = run.pipeline();
    let report = Arc::new(run.wait());
    assert!(!report.diagnoses.is_empty(), "{:?}", report.diagnoses);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pull.json.gz");
    let stages = ctl.stages().iter().map(|s| s.snapshot()).collect();
    Recording::new(report.clone(), stages, 50, Some(2.5))
        .save(&file)
        .unwrap();

    let mut h = app();
    h.run_steps(2);
    // A file that is not a recording: one line in the status bar, nothing lost.
    let junk = dir.path().join("notes.json");
    std::fs::write(&junk, b"[1, 2, 3]").unwrap();
    h.state_mut().session.open_recording(junk);
    step_until(&mut h, "the refusal", |a| a.status.is_some());
    h.get_by_label_contains("is not a palavriado recording");
    assert!(h.state().session.runs.is_empty());

    h.state_mut().session.open_recording(file.clone());
    step_until(&mut h, "the recording to open", |a| {
        a.session.runs.len() == 1
    });
    let opened = h.state().session.current().unwrap();
    assert_eq!(opened.recorded_from(), Some(file.as_path()));
    assert_eq!(
        opened.report.as_ref().unwrap().counts_sha256,
        report.counts_sha256
    );
    assert_eq!(opened.data.rows.len(), report.timeline.len());

    // Results lists it as recorded.
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("#1 pull (recorded)");
    // The strip above the views says where the backpressure was; clicking a diagnosis selects
    // its stage and shows it in the Pipeline.
    h.get_by_label_contains("extractor 1 is the bottleneck")
        .click();
    h.run_steps(2);
    assert_eq!(h.state().selected_stage.as_deref(), Some("extractor 1"));
    assert_eq!(h.state().tab, Tab::Pipeline);
    // Processes shows where each stage's time went, and the selection.
    h.get_by_label("Processes").click();
    h.run_steps(2);
    h.get_by_label("Backpressured");
    h.get_by_label("In mailbox p50 / p99");
    // Clicking a name there selects that stage instead.
    h.get_by_label("extractor 2").click();
    h.run_steps(2);
    assert_eq!(h.state().selected_stage.as_deref(), Some("extractor 2"));

    // A live run joins it, and the two compare in Results.
    {
        let c = &mut h.state_mut().controls;
        c.set_strategy(Strategy::Lazy);
        c.delay_on = false;
        c.duration = None;
        c.repeat = 1;
    }
    h.get_by_label("▶ Run").click();
    step_until(&mut h, "the live run", |a| {
        a.session.runs.len() == 2 && a.session.current().is_some_and(|r| r.report.is_some())
    });
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("Compare run #1").click();
    h.run_steps(1);
    h.get_by_label("Compare run #2").click();
    h.run_steps(2);
    assert_eq!(h.state().views.results.compare, [0, 1]);
    // The overlay charts (the summary has a "Largest mailbox" row of its own).
    h.get_by_label("Resident memory");
    assert_eq!(h.query_all_by_label("Largest mailbox").count(), 2);
}

#[test]
fn a_preset_sets_up_the_talks_scenario_and_runs_it() {
    let mut h = plain_app();
    h.run_steps(2);
    h.get_by_label("▶ Pull + 1 ms").click();
    step_until(&mut h, "the preset's run to start", |a| {
        a.session.running().is_some()
    });
    let c = &h.state().controls;
    assert_eq!(c.strategy, Strategy::Pull);
    assert!(c.delay_on);
    assert_eq!(c.repeat, 10);
    let run = h.state().session.current().unwrap();
    assert_eq!(run.settings.strategy, Strategy::Pull);
    assert_eq!(run.settings.delay, Duration::from_millis(1));
    assert_eq!(run.settings.duration, Some(Duration::from_secs(20)));
    assert_eq!(run.settings.max_demand, Some(10));
    // While it runs, another preset does not start a second run.
    h.get_by_label("▶ Push + 1 ms").click();
    h.run_steps(2);
    assert_eq!(h.state().session.runs.len(), 1);
    assert_eq!(h.state().controls.strategy, Strategy::Pull);
    h.get_by_label("■ Stop").click();
    step_until(&mut h, "the run to stop", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
}

/// A program of the test's own, profiled and serving on a free local port: a pipeline that
/// runs until `stop` is set, then finishes its profiler.
fn serving_program(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<u64>) {
    serving_named("test program", stop)
}

/// [`serving_program`] named `name`.
fn serving_named(
    name: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<u64>) {
    use palavriado::Profiler;
    use palavriado::{Consumer, Dispatch, Producer, Subscription};
    use std::sync::atomic::Ordering::Relaxed;
    let profiler = Profiler::new(name).serve("127.0.0.1:0").start().unwrap();
    let addr = profiler.local_addr().unwrap().to_string();
    let program = std::thread::spawn(move || {
        let ctl = profiler.pipeline();
        let items = std::iter::from_fn(move || {
            std::thread::sleep(Duration::from_micros(200));
            (!stop.load(Relaxed)).then_some(1u64)
        });
        let mut numbers = Producer::from_iter(ctl, "numbers", items, Dispatch::Demand);
        let mut sum = Consumer::new(ctl, "sum", 0u64, |t: &mut u64, x: u64| *t += x);
        sum.subscribe(&mut numbers, Subscription::new().max_demand(10))
            .unwrap();
        let (numbers, sum) = (numbers.start(), sum.start());
        let total = sum.join().unwrap();
        numbers.join();
        profiler.finish().unwrap();
        total
    });
    (addr, program)
}

#[test]
fn attach_follows_a_program_live_and_keeps_what_was_seen() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (addr, program) = serving_program(stop.clone());
    let mut h = plain_app();
    attach_through_the_window(&mut h, &addr);
    step_until(&mut h, "the program to be followed", |a| {
        a.session.following().is_some()
    });
    h.run_steps(1);
    h.get_by_label("● Attached to test program");
    // Live in every view: its stages in Processes, its samples in the charts.
    step_until(&mut h, "samples to arrive", |a| {
        a.session.current().is_some_and(|r| r.data.rows.len() > 5)
    });
    h.get_by_label("Processes").click();
    h.run_steps(2);
    h.get_by_label("numbers");
    h.get_by_label("sum");
    assert!(
        h.state().session.is_busy(),
        "Run waits while a program is followed"
    );

    // Exports work on a program followed live as on a run.
    let export = tempfile::tempdir().unwrap();
    h.state_mut().export_dir = export.path().to_path_buf();
    h.get_by_label("Export data").click();
    step_until(&mut h, "the CSV export", |a| {
        a.status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("Saved"))
    });
    let csv = std::fs::read_to_string(export.path().join("test program_timeline.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("stage/numbers/msgq"));
    assert!(csv.lines().count() > 5);

    // The program finishes: what was seen stays, with its final report.
    stop.store(true, Relaxed);
    let total = program.join().unwrap();
    step_until(&mut h, "the program's end", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    h.run_steps(2);
    h.get_by_label_contains("Finished in");
    let run = h.state().session.current().unwrap();
    let report = run.report.as_ref().unwrap();
    assert_eq!(report.program.as_deref(), Some("test program"));
    assert_eq!(
        report.stages[1].events_in, total,
        "the final counts arrived"
    );
    assert!(!h.state().session.is_busy());
    h.get_by_label("numbers");

    // Saved as a recording, it opens again as the program's run.
    h.state_mut().status = None;
    h.get_by_label("Save run…").click();
    step_until(&mut h, "the recording", |a| {
        a.status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("Saved"))
    });
    let saved = export.path().join("test program_run.json.gz");
    h.state_mut().session.open_recording(saved);
    step_until(&mut h, "the recording to open", |a| {
        a.session.runs.len() == 2
    });
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("#2 test program (recorded)");
}

#[test]
fn a_tokio_console_program_is_followed_through_the_attach_window() {
    let addr = console::serve(
        console::script(30),
        Duration::from_millis(100),
        console::End::Close,
        std::collections::HashMap::from([(2, console::blocker_polls())]),
    );
    let mut h = plain_app();
    h.state_mut().last_attach = palavriado::frontend::app::AttachDialog {
        addr: addr.to_string(),
        ..Default::default()
    };
    h.run_steps(2);
    h.get_by_label("Attach…").click();
    h.run_steps(2);
    h.get_by_label("A tokio program serving tokio-console (console-subscriber)")
        .click();
    h.run_steps(2);
    h.get_by_label("Attach").click();
    step_until(&mut h, "the program to be followed", |a| {
        a.session.following().is_some()
    });
    assert!(h.state().last_attach.console, "the kind is remembered");
    h.run_steps(1);
    h.get_by_label_contains("● Attached to");
    h.get_by_label(&format!("pid {} at console://{addr}", std::process::id()));
    // The stand-in's third update names a task it never announced: said, not fatal.
    step_until(&mut h, "the unknown task's update", |a| {
        a.session
            .current()
            .and_then(|r| r.attachment())
            .is_some_and(|a| a.warning().is_some())
    });
    h.run_steps(1);
    h.get_by_label_contains("1 update named a task or resource it never announced");
    // Its tasks and resources are the Processes rows; its diagnoses the strip's.
    h.get_by_label("Processes").click();
    step_until(&mut h, "the tasks", |a| {
        a.session.current().is_some_and(|r| r.stages().len() == 7)
    });
    h.run_steps(2);
    for name in [
        "worker",
        "blocker",
        "sleeper",
        "looper",
        "blocking 17",
        "Semaphore",
    ] {
        h.get_by_label(name);
    }
    step_until(&mut h, "the long poll", |a| {
        a.session
            .current()
            .is_some_and(|r| r.diagnoses().iter().any(|d| d.stage == "blocker"))
    });
    h.run_steps(2);
    h.get_by_label_contains("blocker holds its scheduler thread");
    // The program exits: what was seen stays, as a run in Results.
    step_until(&mut h, "the program's end", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    let run = h.state().session.current().unwrap();
    let report = run.report.as_ref().unwrap();
    let worker = report.stages.iter().find(|s| s.name == "worker").unwrap();
    assert_eq!(worker.events_in, 300, "each of its 30 updates' 10 wakes");
    let program = report.program.clone().unwrap();
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label(&format!("#1 {program}"));
}

#[test]
fn thousands_of_tasks_are_listed_without_laying_out_every_row() {
    let addr = console::serve(
        console::many_tasks(2_000, 3),
        Duration::from_millis(100),
        console::End::Silence,
        std::collections::HashMap::new(),
    );
    let mut h = plain_app();
    h.state_mut().session.attach(format!("console://{addr}"));
    step_until(&mut h, "the tasks", |a| {
        a.session.current().is_some_and(|r| r.data.rows.len() >= 2)
    });
    h.get_by_label("Processes").click();
    h.run_steps(3);
    // Sorted by name: the first rows are there, the far ones are not laid out…
    h.get_by_label("Name").click();
    h.run_steps(3);
    h.get_by_label("job 1");
    assert!(
        h.query_by_label("job 999").is_none(),
        "only the rows in view"
    );
    // …and the filter finds any of them.
    h.get_by_label("Filter").click();
    h.run_steps(1);
    h.get_by_label("Filter").type_text("job 1999");
    h.run_steps(3);
    h.get_by_label("1 of 2,000 shown");
    h.get_by_label("job 1999");
    // Pipeline draws the busiest 200 and says so.
    h.get_by_label("Pipeline").click();
    h.run_steps(3);
    h.get_by_label("2,000 stages: the 200 busiest are drawn (Processes lists them all)");
}

#[test]
fn a_console_subscriber_recording_replays_in_every_view() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/console-subscriber-0.5.jsonl");
    let mut h = plain_app();
    h.run_steps(2);
    h.state_mut().session.open_recording(path);
    step_until(&mut h, "the recording to open", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    h.get_by_label("Processes").click();
    h.run_steps(3);
    for name in ["worker 0", "worker 1", "blocker", "spinner"] {
        h.get_by_label(name);
    }
    h.get_by_label_contains("Poll p50 / p99");
    h.get_by_label_contains("blocker holds its scheduler thread");
    h.get_by_label("Load Charts").click();
    h.run_steps(2);
    h.get_by_label_contains("Tasks: polled and scheduled");
    h.get_by_label("Results").click();
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains("tokio-console: console-subscriber-0.5.jsonl")
            .count()
            >= 1
    );
}

#[test]
fn attaching_to_something_else_says_so_and_keeps_the_app_alive() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            use std::io::Write;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut h = plain_app();
    attach_through_the_window(&mut h, &addr);
    let status = error_status(&mut h);
    assert!(
        status.contains("not a palavriado program") && status.contains(&addr),
        "{status}"
    );
    assert!(h.state().session.runs.is_empty());
    assert!(!h.state().session.is_busy(), "Run is available again");
    h.run_steps(2);
    h.get_by_label("▶ Run");
}

/// A tokio pipeline of the test's own, instrumented with palavriado's channels and stage
/// handles, serving on a free port: a reader task, two parsers sharing the work by key, and a
/// writer that sleeps a millisecond per message (the bottleneck), until `stop` is set.
fn serving_tokio_pipeline(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<u64>) {
    use palavriado::Profiler;
    use palavriado::channel::mpsc;
    use std::sync::atomic::Ordering::Relaxed;
    let profiler = Profiler::new("tokio pipeline")
        .serve("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.local_addr().unwrap().to_string();
    let program = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let written = rt.block_on(async {
            let (lines_txs, results_tx, mut results_rx) = {
                let (tx, rx) = mpsc::channel::<u64>(&profiler, "results", 8);
                let mut lines = Vec::new();
                for i in 1..=2 {
                    let (ltx, mut lrx) = mpsc::channel::<u64>(&profiler, format!("lines {i}"), 8);
                    lines.push(ltx);
                    let tx = tx.clone();
                    tokio::spawn(
                        profiler
                            .stage(format!("parser {i}"))
                            .instrument(async move {
                                while let Some(n) = lrx.recv().await {
                                    if tx.send(n * 2).await.is_err() {
                                        break;
                                    }
                                }
                            }),
                    );
                }
                (lines, tx, rx)
            };
            drop(results_tx);
            tokio::spawn(profiler.stage("reader").instrument(async move {
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    if lines_txs[(n % 2) as usize].send(n).await.is_err() {
                        break;
                    }
                    n += 1;
                }
            }));
            profiler
                .stage("writer")
                .instrument(async move {
                    let mut written = 0;
                    while results_rx.recv().await.is_some() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        written += 1;
                    }
                    written
                })
                .await
        });
        profiler.finish().unwrap();
        written
    });
    (addr, program)
}

#[test]
fn following_a_tokio_pipeline_shows_its_stages_channels_and_bottleneck() {
    use palavriado::frontend::app::views::{ProcessRow, pipeline_columns};
    use std::sync::atomic::Ordering::Relaxed;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (addr, program) = serving_tokio_pipeline(stop.clone());
    let mut h = plain_app();
    attach_through_the_window(&mut h, &addr);
    step_until(&mut h, "the program to be followed", |a| {
        a.session.following().is_some()
    });
    h.run_steps(2);
    // What applies to a program is in view; the talk's controls are folded away.
    h.get_by_label("● Attached to tokio pipeline");
    h.get_by_label("The talk's word count");
    assert!(h.query_by_label("Strategy").is_none());
    assert!(h.query_by_label("Simulated delay").is_none());
    // The writer is the bottleneck within a few seconds: the strip says so.
    step_until(&mut h, "the bottleneck diagnosis", |a| {
        a.session.current().is_some_and(|r| {
            r.diagnoses()
                .iter()
                .any(|d| d.stage == "writer" && d.kind == palavriado::DiagnosisKind::Bottleneck)
        })
    });
    h.run_steps(2);
    h.get_by_label_contains("writer is the bottleneck");
    h.get_by_label("4 stages, 3 channels");
    // Processes: a row per stage and per channel.
    h.get_by_label("Processes").click();
    h.run_steps(2);
    for name in [
        "reader", "lines 1", "lines 2", "parser 1", "parser 2", "results", "writer",
    ] {
        h.get_by_label(name);
    }
    // Pipeline: drawn from the channels, reader → lines → parsers → results → writer.
    h.get_by_label("Pipeline").click();
    h.run_steps(2);
    let run = h.state().session.current().unwrap();
    let rows = ProcessRow::collect(run.stages(), &run.data);
    let columns: Vec<Vec<&str>> = pipeline_columns(&rows)
        .iter()
        .map(|c| {
            let mut names: Vec<&str> = c.iter().map(|r| r.stage.name.as_str()).collect();
            names.sort();
            names
        })
        .collect();
    assert_eq!(
        columns,
        [
            vec!["reader"],
            vec!["lines 1", "lines 2"],
            vec!["parser 1", "parser 2"],
            vec!["results"],
            vec!["writer"]
        ]
    );
    stop.store(true, Relaxed);
    let written = program.join().unwrap();
    step_until(&mut h, "the program's end", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    let report = h.state().session.current().unwrap().report.clone().unwrap();
    let writer = report.stages.iter().find(|s| s.name == "writer").unwrap();
    assert_eq!(writer.events_in, written, "the final counts arrived");
}

/// How many programs the shown run follows (or followed).
fn programs_followed(a: &PalavriadoApp) -> usize {
    match a.session.current().map(|r| &r.source) {
        Some(RunSource::Attached(_)) => 1,
        Some(RunSource::Group(g)) => g.members().len(),
        _ => 0,
    }
}

#[test]
fn the_app_follows_four_programs_at_once_and_detaching_one_keeps_the_others_live() {
    use palavriado::Ended;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let stops: Vec<_> = (0..4)
        .map(|_| std::sync::Arc::new(AtomicBool::new(false)))
        .collect();
    let programs: Vec<_> = stops
        .iter()
        .enumerate()
        .map(|(i, stop)| serving_named(&format!("program {}", i + 1), stop.clone()))
        .collect();
    let mut h = plain_app();
    for (i, (addr, _)) in programs.iter().enumerate() {
        attach_through_the_window(&mut h, addr);
        step_until(&mut h, "the program to join the others", |a| {
            programs_followed(a) == i + 1 && !a.session.is_attaching()
        });
    }
    h.run_steps(2);
    h.get_by_label("● Following 4 of 4 programs");
    step_until(&mut h, "every program's samples", |a| {
        let names = a.session.current().unwrap().timeline.names();
        (1..=4).all(|i| names.contains(&format!("stage/program {i}/sum/msgq")))
    });

    // Each program's stages under its name, in Processes and Pipeline.
    h.get_by_label("Processes").click();
    h.run_steps(2);
    for i in 1..=4 {
        // Its heading in the table, and its name in the controls.
        assert_eq!(h.query_all_by_label(&format!("program {i}")).count(), 2);
    }
    assert_eq!(h.query_all_by_label("  numbers").count(), 4);
    let stages = h.state().session.current().unwrap().stages();
    assert_eq!(stages.len(), 8);
    assert!(stages.iter().any(|s| s.name == "program 3/sum"
        && s.program.as_deref() == Some("program 3")
        && s.events_in > 0));
    h.get_by_label("Pipeline").click();
    h.run_steps(2);

    // Detaching one: the others stay followed and keep charting; what was seen of it stays.
    h.get_by_label("Detach program 2").click();
    let group = match &h.state().session.current().unwrap().source {
        RunSource::Group(g) => g.clone(),
        _ => panic!("a group"),
    };
    step_until(&mut h, "program 2 to be detached", |_| {
        group.members()[1].1.ended() == Some(Ended::Detached)
    });
    let rows = group.timeline().len();
    let others = |g: &palavriado::Group| {
        g.members()
            .iter()
            .filter(|(_, a)| a.ended().is_none())
            .count()
    };
    step_until(&mut h, "the others to go on", |_| {
        group.timeline().len() > rows + 5
    });
    assert_eq!(others(&group), 3);
    h.run_steps(2);
    h.get_by_label("● Following 3 of 4 programs");
    h.get_by_label("Detached: what was seen is kept");
    assert_eq!(h.state().session.current().unwrap().stages().len(), 8);
    let last = group.timeline().series("stage/program 1/sum/in");
    assert!(last.last().is_some_and(|(t, _)| *t > 0.0));
    let gone = group.timeline().series("stage/program 2/sum/in");
    let seen = group.timeline().series("stage/program 1/sum/in");
    assert!(
        gone.last().unwrap().0 < seen.last().unwrap().0,
        "a detached program's columns stop where it was detached"
    );

    // The programs finish: one report of all four, compared side by side in Results.
    for stop in &stops {
        stop.store(true, Relaxed);
    }
    let totals: Vec<u64> = programs
        .into_iter()
        .map(|(_, p)| p.join().unwrap())
        .collect();
    step_until(&mut h, "the group's end", |a| {
        a.session.current().is_some_and(|r| r.report.is_some())
    });
    let report = h.state().session.current().unwrap().report.clone().unwrap();
    assert_eq!(report.stages.len(), 8);
    for i in [1, 3, 4] {
        let sum = report
            .stages
            .iter()
            .find(|s| s.name == format!("program {i}/sum"))
            .unwrap();
        assert_eq!(sum.events_in, totals[i - 1], "program {i}'s final count");
    }
    assert!(!report.completed, "program 2 was detached");
    assert!(!h.state().session.is_busy());
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("4 programs compared");
}

#[path = "common/prometheus.rs"]
mod prometheus;

/// Opens the fleet `fields` ask for the way a user does: "From Prometheus…", then "Open".
fn open_fleet_through_the_window(
    h: &mut Harness<'static, PalavriadoApp>,
    fields: palavriado::frontend::app::FleetDialog,
) {
    h.state_mut().last_fleet = fields;
    open_and_press(h, "From Prometheus…", "Open");
}

#[test]
fn a_fleet_from_prometheus_opens_as_a_run_under_each_program() {
    use palavriado::frontend::app::FleetDialog;
    let mut h = plain_app();
    // Nothing listening there: one line in the status bar, and nothing else changes.
    open_fleet_through_the_window(
        &mut h,
        FleetDialog {
            url: "http://127.0.0.1:1".into(),
            ..FleetDialog::default()
        },
    );
    let err = error_status(&mut h);
    assert!(
        err.contains("cannot reach Prometheus at 'http://127.0.0.1:1'"),
        "{err}"
    );
    assert!(h.state().session.runs.is_empty());
    // A span that does not read is said in the window, which stays open.
    h.state_mut().status = None;
    h.get_by_label("From Prometheus…").click();
    h.run_steps(2);
    h.state_mut().fleet_dialog.as_mut().unwrap().since = "a while".into();
    h.run_steps(1);
    h.get_by_label("Open").click();
    h.run_steps(2);
    h.get_by_label_contains("How far back: 'a while' is not a duration");
    h.get_by_label("Cancel").click();
    h.run_steps(2);

    let (url, _) = prometheus::prometheus(prometheus::fleet_api);
    open_fleet_through_the_window(
        &mut h,
        FleetDialog {
            url: url.clone(),
            since: "2m".into(),
            ..FleetDialog::default()
        },
    );
    step_until(&mut h, "the fleet", |a| a.session.runs.len() == 1);
    h.run_steps(2);
    let run = h.state().session.current().unwrap();
    assert_eq!(run.stages().len(), 6);
    assert_eq!(
        run.report.as_ref().unwrap().program.as_deref(),
        Some(format!("fleet of 2 programs from {url}").as_str())
    );
    // Its diagnoses in the strip, each naming its instance.
    h.get_by_label_contains("slow:1/parser is the bottleneck");
    // Each program's stages under its name.
    h.get_by_label("Processes").click();
    h.run_steps(2);
    h.get_by_label("sales on slow:1");
    h.get_by_label("sales on fine:1");
    assert_eq!(h.query_all_by_label("  parser").count(), 2);
    // The two compared.
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label("2 programs compared");
}
