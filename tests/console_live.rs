//! Following a program that serves tokio-console's protocol: a stand-in streams scripted
//! updates, and the attachment must show each task's exact counters, rates and diagnoses,
//! keep what it saw however the stream ends, and refuse foreign peers in one line.

#[path = "common/console.rs"]
mod console;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use console::{End, blocker_polls, expected_percentiles, script, serve};
use palavriado::{Attachment, DiagnosisKind, Ended, StageKind, StageState};

const EVERY: Duration = Duration::from_millis(100);
const UPDATES: u64 = 8;

#[test]
fn a_console_program_shows_each_task_exactly_with_its_diagnoses() {
    let addr = serve(
        script(UPDATES),
        EVERY,
        End::Close,
        HashMap::from([(2, blocker_polls())]),
    );
    let a = Attachment::connect(&format!("console://{addr}")).expect("attaches");
    assert_eq!(a.addr(), format!("console://{addr}"));
    assert_eq!(a.wait(Some(Duration::from_secs(20))), Some(Ended::Finished));
    let stages = a.stages();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "worker",
            "blocker",
            "sleeper",
            "looper",
            "done",
            "blocking 17",
            "Semaphore"
        ]
    );
    let stage = |n: &str| stages.iter().find(|s| s.name == n).unwrap();
    let worker = stage("worker");
    assert_eq!(worker.kind, StageKind::Task);
    assert_eq!(worker.polls, 10 * UPDATES);
    assert_eq!(worker.events_in, 10 * UPDATES);
    assert_eq!(worker.busy_ns, 500_000 * UPDATES);
    let detail = worker.task.as_ref().unwrap();
    assert_eq!(detail.location, "src/jobs.rs:41:9");
    assert_eq!(detail.wakers, 1);
    assert_eq!(stage("done").state, StageState::Done);
    assert_eq!(stage("blocking 17").task.as_ref().unwrap().kind, "blocking");
    let semaphore = stage("Semaphore");
    assert_eq!(semaphore.kind, StageKind::Resource);
    assert_eq!(
        semaphore.mailbox_messages, UPDATES,
        "one more waiter each update"
    );
    let sd = semaphore.task.as_ref().unwrap();
    assert_eq!(
        (sd.kind.as_str(), sd.attributes.as_str()),
        ("Semaphore (Sync)", "permits=0")
    );
    // The blocker's histogram was watched: its percentiles are the histogram's.
    assert_eq!(
        stage("blocker").task.as_ref().unwrap().poll_ns,
        Some(expected_percentiles(&blocker_polls()))
    );

    // One row per update; the worker's rate is its busy time over the program's clock.
    let tl = a.timeline();
    assert_eq!(tl.len(), UPDATES as usize);
    let busy = tl.series("stage/worker/busy_ms_per_s");
    assert_eq!(
        busy.len() as u64,
        UPDATES - 1,
        "no rate at the first update"
    );
    for &(_, v) in &busy {
        assert!(
            (v - 5.0).abs() < 1e-6,
            "0.5 ms each 100 ms is 5 ms/s, got {v}"
        );
    }
    let alive = tl.series("tasks/alive");
    assert_eq!(alive.last().unwrap().1, 5.0, "`done` ended at once");

    let diagnoses = a.diagnoses();
    let found = |k: DiagnosisKind| -> Vec<&str> {
        diagnoses
            .iter()
            .filter(|d| d.kind == k)
            .map(|d| d.stage.as_str())
            .collect()
    };
    assert_eq!(found(DiagnosisKind::LongPoll), ["blocker"]);
    let long = diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::LongPoll)
        .unwrap();
    assert!(
        long.summary.contains("src/jobs.rs:42:9"),
        "{}",
        long.summary
    );
    assert!(long.summary.contains("p99"), "{}", long.summary);
    assert_eq!(found(DiagnosisKind::SelfWake), ["looper"]);
    assert_eq!(found(DiagnosisKind::LostWaker), ["sleeper"]);
    assert_eq!(found(DiagnosisKind::WaitersGrowing), ["Semaphore"]);
    assert_eq!(found(DiagnosisKind::Saturated), Vec::<&str>::new());
    let warning = a.warning().expect("the unknown task is reported");
    assert!(
        warning.starts_with("1 update named a task or resource it never announced"),
        "{warning}"
    );

    // What was seen records and opens again whole.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("console.json.gz");
    let rec = a.recording().expect("a report came");
    rec.save(&path).unwrap();
    let back = palavriado::Recording::open(&path).unwrap();
    assert_eq!(back.stages.len(), 7);
    assert_eq!(back.report.diagnoses.len(), diagnoses.len());
}

#[test]
fn what_was_seen_stays_when_the_stream_is_cut_or_falls_silent() {
    let addr = serve(script(3), EVERY, End::Cut, HashMap::new());
    let a = Attachment::connect(&format!("console://{addr}")).unwrap();
    match a.wait(Some(Duration::from_secs(20))) {
        Some(Ended::Failed(why)) => assert!(why.contains("the stream was cut"), "{why}"),
        other => panic!("ended {other:?}"),
    }
    assert_eq!(a.stages().len(), 7);
    assert_eq!(a.timeline().len(), 3);

    let addr = serve(script(2), EVERY, End::Silence, HashMap::new());
    let a = Attachment::connect_with(&format!("console://{addr}"), Duration::from_secs(1)).unwrap();
    match a.wait(Some(Duration::from_secs(20))) {
        Some(Ended::Failed(why)) => assert!(why.starts_with("no update for 1 s"), "{why}"),
        other => panic!("ended {other:?}"),
    }
    assert_eq!(a.timeline().len(), 2);

    // Detaching keeps what was seen, and says so.
    let addr = serve(script(2), EVERY, End::Silence, HashMap::new());
    let a = Attachment::connect(&format!("console://{addr}")).unwrap();
    a.detach();
    assert_eq!(a.ended(), Some(Ended::Detached));
    assert_eq!(a.stages().len(), 7);
}

/// A local server that answers every connection with `reply` and closes it.
fn foreign(reply: &'static [u8]) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 512];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        }
    });
    addr
}

#[test]
fn a_foreign_peer_is_one_line_naming_it() {
    let http = foreign(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let garbage = foreign(b"\x00\x01garbage that is not a frame of anything\xff\xfe");
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for (addr, says) in [
        (http, "tokio-console's protocol"),
        (garbage, "tokio-console's protocol"),
        (free, "nothing listens there"),
    ] {
        let url = format!("console://{addr}");
        let e = Attachment::connect_with(&url, Duration::from_secs(1))
            .expect_err("not a tokio-console program")
            .to_string();
        assert!(e.starts_with(&format!("cannot attach to '{url}'")), "{e}");
        assert!(e.contains(says), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        eprintln!("{e}");
    }
}

#[test]
fn a_console_program_is_followed_beside_another_in_a_group() {
    use std::sync::Arc;
    let first = serve(script(UPDATES), EVERY, End::Close, HashMap::new());
    let second = serve(script(UPDATES + 4), EVERY, End::Close, HashMap::new());
    let a = Arc::new(Attachment::connect(&format!("console://{first}")).unwrap());
    let b = Arc::new(Attachment::connect(&format!("console://{second}")).unwrap());
    let group = palavriado::Group::new(a, b);
    let labels = group.labels();
    assert_eq!(labels.len(), 2);
    assert_ne!(
        labels[0], labels[1],
        "two programs of one name are told apart"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while group.is_live() {
        assert!(std::time::Instant::now() < deadline, "the programs' ends");
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = group.run_report().expect("one report of both");
    let wakes = |label: &str| {
        report
            .stages
            .iter()
            .find(|s| s.name == format!("{label}/worker"))
            .unwrap_or_else(|| panic!("{label}/worker"))
            .events_in
    };
    assert_eq!(wakes(&labels[0]), 10 * UPDATES);
    assert_eq!(wakes(&labels[1]), 10 * (UPDATES + 4));
    let stages = group.stages();
    assert_eq!(stages.len(), 14, "7 each");
    assert!(
        stages
            .iter()
            .all(|s| s.program.is_some() && s.task.is_some())
    );
    let diagnoses = group.diagnoses();
    for label in &labels {
        assert!(
            diagnoses
                .iter()
                .any(|d| d.kind == DiagnosisKind::LongPoll && d.stage == format!("{label}/blocker")),
            "{diagnoses:?}"
        );
    }
}

#[test]
fn a_burst_of_updates_is_merged_not_lost() {
    // 60 updates at once: whatever the viewer could not keep up with is merged into the next
    // row, counted as dropped rows; every task's totals stay exact.
    let n = 60;
    let addr = serve(script(n), Duration::ZERO, End::Close, HashMap::new());
    let a = Attachment::connect(&format!("console://{addr}")).unwrap();
    assert_eq!(a.wait(Some(Duration::from_secs(20))), Some(Ended::Finished));
    let rows = a.timeline().len() as u64;
    assert!(
        a.dropped_rows() > 0,
        "a burst is more than a viewer takes row by row"
    );
    assert_eq!(
        rows + a.dropped_rows(),
        n,
        "each update a row or a dropped one"
    );
    let worker = a.stages().into_iter().find(|s| s.name == "worker").unwrap();
    assert_eq!(worker.events_in, 10 * n);
    assert_eq!(worker.busy_ns, 500_000 * n);
}
