//! tokio-console's recordings (console-subscriber's `TOKIO_CONSOLE_RECORD_PATH`, format 1)
//! replayed as runs: tasks as stages with exact polls and times, and the diagnoses tokio's tasks
//! call for. The file is written here in that format, event by event.

use palavriado::{DiagnosisKind, Error, Recording, StageKind};

/// One event line at `ms` milliseconds after the recording's start.
fn line(kind: &str, id: u64, ms: f64, rest: &str) -> String {
    let ns = (ms * 1e6).round() as u64;
    let at = format!(
        r#"{{"secs_since_epoch":{},"nanos_since_epoch":{}}}"#,
        1_796_000_000 + ns / 1_000_000_000,
        ns % 1_000_000_000
    );
    format!(r#"{{"{kind}":{{"id":{id},{rest}"at":{at}}}}}"#)
}

fn spawn(id: u64, ms: f64, fields: &str) -> String {
    line("Spawn", id, ms, &format!(r#""fields":[{fields}],"#))
}

fn waker(id: u64, ms: f64, op: &str) -> String {
    line("Waker", id, ms, &format!(r#""op":{op},"#))
}

/// A recording: a task blocking its thread, one waking itself over and over, one left with no
/// waker, a span that is not a task, and a span id used again by a later task.
fn recording() -> String {
    let mut l = vec![r#"{"v":1}"#.to_string()];
    l.push(line("Enter", 99, 0.0, ""));
    l.push(spawn(
        1,
        0.0,
        r#"{"name":"kind","value":"task"},{"name":"task.name","value":"blocker"},{"name":"task.id","value":1}"#,
    ));
    l.push(spawn(
        2,
        0.0,
        r#"{"name":"kind","value":"task"},{"name":"task.id","value":7}"#,
    ));
    l.push(spawn(
        3,
        0.0,
        r#"{"name":"kind","value":"task"},{"name":"task.name","value":"stuck"}"#,
    ));
    l.push(line("Exit", 99, 0.1, ""));
    // The blocker: a 20 ms poll, woken at 30 ms, polled 1 ms later for 1 ms, closed.
    l.push(line("Enter", 1, 0.0, ""));
    l.push(line("Exit", 1, 20.0, ""));
    l.push(waker(1, 30.0, r#"{"WakeByRef":{"self_wake":false}}"#));
    l.push(line("Enter", 1, 31.0, ""));
    l.push(line("Exit", 1, 32.0, ""));
    l.push(line("Close", 1, 40.0, ""));
    // Its span id, used again by another task.
    l.push(spawn(
        1,
        41.0,
        r#"{"name":"kind","value":"task"},{"name":"task.name","value":"blocker"}"#,
    ));
    l.push(line("Enter", 1, 41.0, ""));
    l.push(line("Exit", 1, 41.01, ""));
    l.push(line("Close", 1, 42.0, ""));
    // The spinner (no name): 150 polls of 10 µs, each waking itself, polled again 5 µs later.
    for i in 0..150 {
        let t = 50.0 + f64::from(i) * 0.015;
        l.push(line("Enter", 2, t, ""));
        l.push(waker(2, t + 0.005, r#"{"WakeByRef":{"self_wake":true}}"#));
        l.push(line("Exit", 2, t + 0.010, ""));
    }
    l.push(line("Close", 2, 60.0, ""));
    // Stuck: polled once, its one waker cloned then dropped, never woken, never finished.
    l.push(line("Enter", 3, 1.0, ""));
    l.push(waker(3, 1.001, r#""Clone""#));
    l.push(line("Exit", 3, 1.002, ""));
    l.push(waker(3, 5.0, r#""Drop""#));
    l.push(line("Exit", 99, 100.0, ""));
    l.join("\n") + "\n"
}

#[test]
fn a_console_recording_replays_its_tasks_with_their_polls_and_diagnoses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("console.jsonl");
    std::fs::write(&path, recording()).unwrap();
    let rec = Recording::open(&path).unwrap();
    let names: Vec<&str> = rec.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["blocker", "task 7", "stuck", "blocker #2"]);
    assert!(rec.stages.iter().all(|s| s.kind == StageKind::Task));
    let report = &rec.report;
    assert_eq!(
        report.program.as_deref(),
        Some("tokio-console: console.jsonl")
    );
    assert!((report.wall_ms - 100.0).abs() < 1e-6, "{}", report.wall_ms);
    let stage = |n: &str| report.stages.iter().find(|s| s.name == n).unwrap();
    let blocker = stage("blocker");
    assert_eq!(blocker.polls, 2);
    assert!(
        (blocker.polled_ms - 21.0).abs() < 1e-6,
        "{}",
        blocker.polled_ms
    );
    assert!((blocker.scheduled_wait_ms - 1.0).abs() < 1e-6);
    // Busy is polled or waiting to be; idle the rest of its 40 ms.
    assert!((blocker.busy_ms - 22.0).abs() < 1e-6);
    assert!((blocker.idle_ms - 18.0).abs() < 1e-6);
    assert_eq!(blocker.events_in, 1, "one wake");
    let spinner = stage("task 7");
    assert_eq!((spinner.polls, spinner.events_in), (150, 150));
    // Each self-wake in a poll is polled again 5 µs after that poll ends.
    assert!((spinner.scheduled_wait_ms - 149.0 * 0.005).abs() < 1e-6);
    assert_eq!(stage("blocker #2").polls, 1);

    let found: Vec<(DiagnosisKind, &str)> = report
        .diagnoses
        .iter()
        .map(|d| (d.kind, d.stage.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (DiagnosisKind::LongPoll, "blocker"),
            (DiagnosisKind::LostWaker, "stuck"),
            (DiagnosisKind::SelfWake, "task 7"),
        ]
    );
    let long = &report.diagnoses[0];
    assert!(long.summary.contains("up to 20.0 ms"), "{}", long.summary);
    let lost = &report.diagnoses[1];
    assert!((lost.since_ms - 1.002).abs() < 1e-6, "{}", lost.since_ms);

    // Charted: the blocker's busy share over its first 50 ms sample is 22 ms of 50.
    let busy = report.timeline.series("stage/blocker/busy_ms_per_s");
    assert!((busy[0].1 - 440.0).abs() < 1e-6, "{busy:?}");
    // Saved as palavriado's own recording, it opens the same.
    let saved = dir.path().join("replayed.json.gz");
    rec.save(&saved).unwrap();
    let again = Recording::open(&saved).unwrap();
    assert_eq!(again.stages, rec.stages);
    assert_eq!(again.report.diagnoses, rec.report.diagnoses);
}

/// `text` written whole to a file in `dir`.
fn whole(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("whole.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_newer_damaged_or_cut_console_recording_is_one_line_or_replayed_up_to_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.jsonl");
    std::fs::write(&newer, "{\"v\":2}\n").unwrap();
    let e = Recording::open(&newer).unwrap_err();
    assert!(matches!(e, Error::Open(_)));
    assert!(e.to_string().contains("format version 2"), "{e}");
    assert!(e.to_string().contains(&newer.display().to_string()));

    // A last line cut short (the program stopped mid-write): replayed up to it, and said so.
    let cut = dir.path().join("cut.jsonl");
    let text = recording();
    std::fs::write(&cut, &text[..text.len() - 30]).unwrap();
    let rec = Recording::open(&cut).unwrap();
    let lines = text.lines().count();
    assert_eq!(
        rec.report.warnings,
        [format!(
            "its last line ({lines}) was cut short (the program stopped while writing it): \
             replayed up to it"
        )]
    );
    assert_eq!(
        rec.stages.len(),
        Recording::open(&whole(&dir, &text)).unwrap().stages.len()
    );

    // Damage before the end is one line naming the file and the line.
    let damaged = dir.path().join("damaged.jsonl");
    let mut broken: Vec<&str> = text.lines().collect();
    broken[3] = "{\"Enter\":";
    std::fs::write(&damaged, broken.join("\n")).unwrap();
    let e = Recording::open(&damaged).unwrap_err().to_string();
    assert!(e.contains("line 4 is not a tokio-console event"), "{e}");
    assert!(e.contains(&damaged.display().to_string()), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

/// A recording console-subscriber 0.5 wrote (a debug build of a program with two workers
/// sharing a semaphore, a task blocking its thread 5 ms three times, one yielding 150 times).
#[test]
fn a_recording_console_subscriber_wrote_replays() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/console-subscriber-0.5.jsonl");
    let rec = Recording::open(&path).unwrap();
    let names: Vec<&str> = rec.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["worker 0", "worker 1", "blocker", "spinner"]);
    let report = &rec.report;
    let stage = |n: &str| report.stages.iter().find(|s| s.name == n).unwrap();
    // yield_now: 150 wakes, each followed by a poll (and one more, as it recorded).
    assert_eq!(stage("spinner").events_in, 150);
    assert_eq!(stage("spinner").polls, 152);
    // Three sleeps of 5 ms inside its polls.
    let blocker = stage("blocker");
    assert!(blocker.polls >= 4, "{}", blocker.polls);
    assert!(blocker.polled_ms >= 15.0, "{}", blocker.polled_ms);
    let long = report
        .diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::LongPoll && d.stage == "blocker")
        .expect("the blocker's long polls");
    assert!(long.summary.contains("up to 5."), "{}", long.summary);
    assert!(
        !report
            .diagnoses
            .iter()
            .any(|d| d.kind == DiagnosisKind::LostWaker),
        "every task finished"
    );
    assert!(report.completed);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any damage to a recording (bytes changed, lines cut or dropped) opens or fails in one
    /// line naming the file: it never panics.
    #[test]
    fn a_damaged_console_recording_never_panics(
        edits in proptest::collection::vec((0usize..4000, proptest::num::u8::ANY), 0..8),
        cut in 0usize..4000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("damaged.jsonl");
        let mut bytes = recording().into_bytes();
        for (at, b) in edits {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = Recording::open(&path) {
            let e = e.to_string();
            proptest::prop_assert!(!e.contains('\n'), "{}", e);
            proptest::prop_assert!(e.contains(&path.display().to_string()), "{}", e);
        }
    }
}
