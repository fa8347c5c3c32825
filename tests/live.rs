//! A program's own pipeline profiled with the library: recorded to a file, served live and
//! attached to; and viewers facing peers that are not palavriado programs, or break off.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use palavriado::Strategy;
use palavriado::live::wire::{self, Frame, Hello, Samples};
use palavriado::live::{Attachment, Ended};
use palavriado::profiler::Profiler;
use palavriado::recording::Recording;
use palavriado::stage::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};
use proptest::prelude::*;

/// A three-stage pipeline of the test's own (numbers → squares → sum) on `profiler`; returns
/// the sum.
fn squares(profiler: &Profiler, n: u64) -> u64 {
    let ctl = profiler.pipeline();
    let mut numbers = Producer::from_iter(ctl, "numbers", 1..=n, Dispatch::Demand);
    let mut square = ProducerConsumer::new(
        ctl,
        "square",
        |x: u64, out: &mut Vec<u64>| out.push(x * x),
        Dispatch::Demand,
    );
    let mut sum = Consumer::new(ctl, "sum", 0u64, |total: &mut u64, x: u64| *total += x);
    square
        .subscribe(&mut numbers, Subscription::new().max_demand(100))
        .unwrap();
    sum.subscribe(&mut square, Subscription::new().max_demand(100))
        .unwrap();
    let (numbers, square, sum) = (numbers.start(), square.start(), sum.start());
    let total = sum.join().unwrap();
    square.join();
    numbers.join();
    total
}

fn sum_of_squares(n: u64) -> u64 {
    n * (n + 1) * (2 * n + 1) / 6
}

#[test]
fn a_programs_run_is_recorded_and_opens_like_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("squares.json.gz");
    let profiler = Profiler::new("squares")
        .sample_hz(200)
        .record_to(&path)
        .start()
        .unwrap();
    assert_eq!(squares(&profiler, 200_000), sum_of_squares(200_000));
    let report = profiler.finish().unwrap();
    assert_eq!(report.strategy, Strategy::Program);
    let rec = Recording::open(&path).unwrap();
    let r = &rec.report;
    assert_eq!(r.program.as_deref(), Some("squares"));
    let names: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["numbers", "square", "sum"]);
    assert_eq!(r.stages[2].events_in, 200_000);
    assert_eq!(rec.stages[1].events_out, 200_000);
    assert_eq!(rec.sample_hz, 200);
    assert!(r.timeline.len() >= 2, "sampled at least at start and end");
    assert!(
        r.timeline.max("stage/sum/in").unwrap() >= 200_000.0,
        "the last sample holds every event"
    );
    // Written as format version 2 (older builds refuse it by version, not as corrupt).
    let raw = std::fs::read(&path).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 2);
    assert_eq!(v["report"]["strategy"], "program");
}

#[test]
fn an_attached_viewer_sees_every_sample_and_the_final_report() {
    let profiler = Profiler::new("squares")
        .sample_hz(200)
        .serve("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.local_addr().unwrap().to_string();
    let viewer = Attachment::connect(&addr).unwrap();
    assert_eq!(viewer.hello().program, "squares");
    assert_eq!(viewer.hello().pid, std::process::id());
    // Attached before the pipeline starts: it sees its stages appear.
    assert_eq!(squares(&profiler, 300_000), sum_of_squares(300_000));
    let program_timeline = profiler.timeline().clone();
    let report = profiler.finish().unwrap();
    let program_rows = program_timeline.len();
    assert_eq!(
        viewer.wait(Some(Duration::from_secs(10))),
        Some(Ended::Finished)
    );
    let seen = viewer.report().unwrap();
    assert_eq!(seen.program.as_deref(), Some("squares"));
    assert_eq!(seen.stages[2].events_in, 300_000);
    assert_eq!(seen.samples, report.samples);
    assert_eq!(viewer.timeline().len(), program_rows, "every row arrived");
    assert_eq!(viewer.dropped_rows(), 0);
    assert_eq!(viewer.stages().len(), 3);
    assert!(viewer.median_latency().is_some());
    // What was seen saves as a recording that opens.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seen.json.gz");
    viewer.recording().unwrap().save(&path).unwrap();
    assert_eq!(
        Recording::open(&path).unwrap().report.stages[2].events_in,
        300_000
    );
}

#[test]
fn a_late_viewer_gets_the_history_and_a_slow_one_is_told_what_it_missed() {
    // 1000 samples a second, 50 ms kept: a viewer that does not read for a while misses rows.
    let profiler = Profiler::new("idle program")
        .sample_hz(1000)
        .retention(Duration::from_millis(50))
        .serve("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.local_addr().unwrap();
    // A viewer that connects and does not read: the program is not held up by it.
    let stuck = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let late = Attachment::connect(&addr.to_string()).unwrap();
    let started = Instant::now();
    while late.frames() < 3 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!late.timeline().is_empty(), "the history kept was sent");
    assert!(
        late.dropped_rows() > 0,
        "rows older than the retention are counted as missed"
    );
    let t = Instant::now();
    profiler.finish().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "a stuck viewer does not hold the program's end"
    );
    assert_eq!(
        late.wait(Some(Duration::from_secs(10))),
        Some(Ended::Finished)
    );
    drop(stuck);
}

#[test]
fn attaching_to_nothing_says_so_in_one_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Attachment::connect(&format!("127.0.0.1:{port}")).unwrap_err();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.contains("nothing listens"), "{e}");
    assert!(!e.contains('\n'));
    let e = Attachment::connect("not an address").unwrap_err();
    assert!(e.contains("not an address"), "{e}");
}

/// A peer that sends `bytes` to the first viewer, then keeps the connection open for `hold`.
fn peer(bytes: Vec<u8>, hold: Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.write_all(&bytes);
            std::thread::sleep(hold);
        }
    });
    addr
}

fn greeting() -> Vec<u8> {
    let mut b = Vec::new();
    wire::write_header(&mut b).unwrap();
    let hello = Hello {
        program: "fake".into(),
        pid: 1,
        sample_hz: 50,
        started_unix_ms: 0.0,
        sent_by: "test".into(),
    };
    wire::write_frame(&mut b, &Frame::Hello(hello)).unwrap();
    b
}

/// A valid samples frame: two series, two rows, a report.
fn samples() -> Vec<u8> {
    let report = Profiler::new("fake").start().unwrap().finish().unwrap();
    let frame = Samples {
        new_series: vec!["stage/a/msgq".into(), "stage/b/msgq".into()],
        rows: vec![
            (0.02, vec![Some(1.0), None]),
            (0.04, vec![Some(2.0), Some(3.0)]),
        ],
        report: Some(report.to_json(0)),
        ..Samples::default()
    };
    let mut b = Vec::new();
    wire::write_frame(&mut b, &Frame::Samples(frame)).unwrap();
    b
}

#[test]
fn peers_that_are_not_palavriado_programs_are_refused_in_one_line() {
    let hold = Duration::from_millis(500);
    let mut errors = Vec::new();
    let http = peer(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), hold);
    let e = Attachment::connect(&http).unwrap_err();
    assert!(
        e.contains("not a palavriado program") && e.contains(&http),
        "{e}"
    );
    errors.push(e);
    let mut newer = wire::MAGIC.to_vec();
    newer.extend(7u32.to_be_bytes());
    let e = Attachment::connect(&peer(newer, hold)).unwrap_err();
    assert!(e.contains("version 7"), "{e}");
    errors.push(e);
    let silent = peer(Vec::new(), Duration::from_secs(3));
    let e = Attachment::connect_with(&silent, Duration::from_millis(200)).unwrap_err();
    assert!(e.contains("stopped sending"), "{e}");
    errors.push(e);
    let mut no_hello = Vec::new();
    wire::write_header(&mut no_hello).unwrap();
    wire::write_frame(&mut no_hello, &Frame::Heartbeat).unwrap();
    let e = Attachment::connect(&peer(no_hello, hold)).unwrap_err();
    assert!(e.contains("not a palavriado program"), "{e}");
    errors.push(e);
    for e in errors {
        assert!(!e.contains('\n'), "{e}");
    }
}

/// Attaches to a peer sending a good start then `tail`; returns the attachment once it ended.
fn after_good_start(tail: &[u8], hold: Duration, silence: Duration) -> Attachment {
    let mut bytes = greeting();
    bytes.extend(samples());
    bytes.extend(tail);
    let a = Attachment::connect_with(&peer(bytes, hold), silence).unwrap();
    a.wait(Some(Duration::from_secs(10)));
    a
}

fn ended_failing(a: &Attachment) -> String {
    match a.ended() {
        Some(Ended::Failed(why)) => {
            assert!(!why.contains('\n'), "{why}");
            // What was received before stays.
            assert_eq!(a.timeline().len(), 2);
            assert_eq!(a.timeline().last("stage/b/msgq"), Some(3.0));
            assert!(a.report().is_some());
            why
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_peer_breaking_off_or_sending_garbage_ends_the_attachment_keeping_what_came() {
    let short = Duration::from_millis(300);
    let quick = Duration::from_secs(5);
    let oversized = (wire::MAX_FRAME + 1).to_be_bytes();
    let why = ended_failing(&after_good_start(&oversized, short, quick));
    assert!(why.contains("frame of"), "{why}");
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend(b"{\"type\":\"samples\"");
    let why = ended_failing(&after_good_start(&truncated, Duration::ZERO, quick));
    assert!(why.contains("broke off"), "{why}");
    let mut junk = 5u32.to_be_bytes().to_vec();
    junk.extend(b"\xff\xfe{{{");
    let why = ended_failing(&after_good_start(&junk, short, quick));
    assert!(why.contains("malformed"), "{why}");
    let mut misfit = Vec::new();
    let frame = Samples {
        rows: vec![(0.06, vec![Some(1.0); 9])],
        ..Samples::default()
    };
    wire::write_frame(&mut misfit, &Frame::Samples(frame)).unwrap();
    let why = ended_failing(&after_good_start(&misfit, short, quick));
    assert!(why.contains("does not fit"), "{why}");
    let why = ended_failing(&after_good_start(&[], Duration::ZERO, quick));
    assert!(why.contains("went away"), "{why}");
    let stall = after_good_start(&[], Duration::from_secs(3), Duration::from_millis(200));
    let why = ended_failing(&stall);
    assert!(why.contains("stopped sending"), "{why}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Whatever bytes arrive, reading them gives frames or a named, one-line error: never a
    /// panic. Bytes after a real greeting are read as frames; without it, the greeting is
    /// refused.
    #[test]
    fn the_decoder_survives_any_bytes(
        greet in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = Vec::new();
        if greet {
            wire::write_header(&mut bytes).unwrap();
        }
        bytes.extend(&body);
        let mut r = &bytes[..];
        let header = wire::read_header(&mut r);
        let one_line = |e: &wire::WireError| {
            let m = e.to_string();
            !m.is_empty() && !m.contains('\n')
        };
        match &header {
            Ok(v) => prop_assert!(greet && *v == wire::VERSION),
            Err(e) => {
                prop_assert!(!greet, "a real greeting refused: {e}");
                prop_assert!(one_line(e), "{e}");
            }
        }
        if header.is_ok() {
            let mut ended = false;
            for _ in 0..8 {
                if let Err(e) = wire::read_frame(&mut r) {
                    prop_assert!(one_line(&e), "{e}");
                    ended = true;
                    break;
                }
            }
            // Random bytes never hold eight valid frames in a row.
            prop_assert!(ended);
        }
    }

    /// A valid stream cut anywhere is a clean error, never a panic or a hang.
    #[test]
    fn a_valid_stream_cut_anywhere_is_an_error(cut in 0usize..400) {
        let mut bytes = greeting();
        bytes.extend(samples());
        let cut = cut.min(bytes.len().saturating_sub(1));
        let mut r = &bytes[..cut];
        let ok = wire::read_header(&mut r).is_ok()
            && wire::read_frame(&mut r).is_ok()
            && wire::read_frame(&mut r).is_ok();
        prop_assert!(!ok);
    }
}

#[test]
fn a_programs_memory_limit_stops_its_pipeline_cleanly() {
    // A limit far below any process's resident memory: the first sample stops the pipeline.
    let profiler = Profiler::new("greedy")
        .memory_limit(1 << 20)
        .start()
        .unwrap();
    let ctl = profiler.pipeline();
    let mut numbers = Producer::from_iter(ctl, "numbers", 0u64.., Dispatch::Demand);
    let mut sum = Consumer::new(ctl, "sum", 0u64, |t: &mut u64, x: u64| {
        *t = t.wrapping_add(x)
    });
    sum.subscribe(&mut numbers, Subscription::new().max_demand(100))
        .unwrap();
    let (numbers, sum) = (numbers.start(), sum.start());
    sum.join();
    numbers.join();
    let report = profiler.finish().unwrap();
    assert_eq!(
        report.stop_reason,
        Some(palavriado::StopReason::MemoryLimit)
    );
    assert!(!report.completed);
    assert_eq!(report.memory_limit_bytes, Some(1 << 20));
}
