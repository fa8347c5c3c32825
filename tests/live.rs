//! A program's own pipeline profiled with the library: recorded to a file, served live and
//! attached to. (Viewers facing peers that are not palavriado programs are tested in the
//! crate, which speaks the wire format.)

use std::net::TcpListener;
use std::time::{Duration, Instant};

use palavriado::Profiler;
use palavriado::Recording;
use palavriado::{Attachment, Ended};
use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};

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
    assert_eq!(report.program(), "squares");
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
    assert_eq!(seen.program(), "squares");
    assert_eq!(seen.stages()[2].events_in, 300_000);
    assert_eq!(seen.timeline().0, report.timeline().0);
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
    let err = Attachment::connect(&format!("127.0.0.1:{port}")).unwrap_err();
    assert!(matches!(err, palavriado::Error::Attach(_)), "{err:?}");
    let e = err.to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.contains("nothing listens"), "{e}");
    assert!(!e.contains('\n'));
    let e = Attachment::connect("not an address")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an address"), "{e}");
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
        report.stop_reason(),
        Some(palavriado::StopReason::MemoryLimit)
    );
    assert!(!report.completed());
    assert_eq!(report.memory_limit(), Some(1 << 20));
}

#[test]
fn a_group_follows_two_programs_of_one_name_each_under_a_name_of_its_own() {
    use std::sync::Arc;
    let serve = || {
        Profiler::new("squares")
            .sample_hz(100)
            .serve("127.0.0.1:0")
            .start()
            .unwrap()
    };
    let (first, second) = (serve(), serve());
    let addr = |p: &Profiler| p.local_addr().unwrap().to_string();
    let a = Arc::new(Attachment::connect(&addr(&first)).unwrap());
    let b = Arc::new(Attachment::connect(&addr(&second)).unwrap());
    let group = palavriado::Group::new(a, b);
    let labels = group.labels();
    assert_eq!(
        labels,
        [
            "squares".to_string(),
            format!("squares ({})", addr(&second))
        ]
    );
    assert_eq!(squares(&first, 50_000), sum_of_squares(50_000));
    assert_eq!(squares(&second, 70_000), sum_of_squares(70_000));
    first.finish().unwrap();
    second.finish().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while group.is_live() {
        assert!(Instant::now() < deadline, "the programs' ends to arrive");
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = group.run_report().expect("one report of both");
    assert!(report.completed);
    let sum = |name: &str| {
        report
            .stages
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .events_in
    };
    assert_eq!(sum("squares/sum"), 50_000);
    assert_eq!(sum(&format!("{}/sum", labels[1])), 70_000);
    // Each program's series under its name in the merged timeline.
    let names = group.timeline().names();
    assert!(
        names.contains(&"stage/squares/sum/in".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&format!("stage/{}/sum/in", labels[1])));
    let stages = group.stages();
    assert_eq!(stages.len(), 6);
    assert!(stages.iter().all(|s| s.program.is_some()));
}
