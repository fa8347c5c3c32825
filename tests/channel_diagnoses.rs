//! The diagnoses name the right stage or channel on pipelines of a program's own threads,
//! built for each: a slow writer behind a bounded channel, an unbounded channel growing, a
//! starved consumer, one hot partition.

use std::time::{Duration, Instant};

use palavriado::channel::{Named, crossbeam};
use palavriado::{DiagnosisKind, Profiler, ProgramReport};

/// Runs `body` for about `seconds` under a fresh profiler and returns its report.
fn profile(name: &str, limit: Option<u64>, body: impl FnOnce(&Profiler)) -> ProgramReport {
    let builder = Profiler::new(name).sample_hz(50);
    let builder = match limit {
        Some(bytes) => builder.memory_limit(bytes),
        None => builder,
    };
    let profiler = builder.start().unwrap();
    body(&profiler);
    profiler.finish().unwrap()
}

/// The stages (or channels) a kind of diagnosis named.
fn named(report: &ProgramReport, kind: DiagnosisKind) -> Vec<String> {
    let mut names: Vec<String> = report
        .diagnoses()
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.stage.clone())
        .collect();
    names.dedup();
    names
}

/// Works (spins) for `d`.
fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn a_sleeping_writer_behind_a_bounded_channel_is_the_bottleneck() {
    let report = profile("bottleneck", None, |p| {
        let (tx, rx) = crossbeam::bounded::<u64>(p, "rows", 16);
        let reader = p.stage("reader");
        let t = std::thread::spawn(move || {
            let _on = reader.enter();
            let until = Instant::now() + Duration::from_millis(3500);
            let mut i = 0;
            while Instant::now() < until && tx.send(i).is_ok() {
                i += 1;
            }
        });
        let _on = p.stage("writer").enter();
        for _ in rx {
            std::thread::sleep(Duration::from_millis(1));
        }
        t.join().unwrap();
    });
    assert_eq!(
        named(&report, DiagnosisKind::Bottleneck),
        ["writer"],
        "{:?}",
        report.diagnoses()
    );
    let d = report
        .diagnoses()
        .iter()
        .find(|d| d.kind == DiagnosisKind::Bottleneck)
        .unwrap();
    assert!(
        d.summary.contains("reader is backpressured"),
        "{}",
        d.summary
    );
}

#[test]
fn an_unbounded_channel_growing_is_named_with_the_time_to_the_memory_limit() {
    let limit = 8 << 30;
    let report = profile("growth", Some(limit), |p| {
        let (tx, rx) = crossbeam::unbounded::<Vec<u8>>(p, Named::events("backlog"));
        let reader = p.stage("reader");
        let t = std::thread::spawn(move || {
            let _on = reader.enter();
            let start = Instant::now();
            // 5,000 messages of 4 KiB a second, for 3.5 s.
            for i in 0..17_500u64 {
                let due = start + Duration::from_micros(i * 200);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                tx.send(vec![1u8; 4096]).unwrap();
            }
        });
        let _on = p.stage("slow").enter();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(3600) {
            if rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        t.join().unwrap();
    });
    assert_eq!(
        named(&report, DiagnosisKind::MailboxGrowth),
        ["backlog"],
        "{:?}",
        report.diagnoses()
    );
    let d = report
        .diagnoses()
        .iter()
        .find(|d| d.kind == DiagnosisKind::MailboxGrowth)
        .unwrap();
    assert!(
        d.summary.starts_with("channel backlog grows by")
            && d.summary.contains("the memory limit stops the run in"),
        "{}",
        d.summary
    );
}

#[test]
fn a_consumer_behind_a_busy_producer_is_starved() {
    let report = profile("starved", None, |p| {
        let (tx, rx) = crossbeam::bounded::<u64>(p, "results", 16);
        let producer = p.stage("producer");
        let t = std::thread::spawn(move || {
            let _on = producer.enter();
            // Works 20 ms for each result, for 3.5 s.
            for i in 0..175 {
                spin(Duration::from_millis(20));
                tx.send(i).unwrap();
            }
        });
        let _on = p.stage("consumer").enter();
        assert_eq!(rx.iter().count(), 175);
        t.join().unwrap();
    });
    assert_eq!(
        named(&report, DiagnosisKind::Starved),
        ["consumer"],
        "{:?}",
        report.diagnoses()
    );
}

#[test]
fn one_slow_partition_fills_its_channel_and_is_named() {
    let report = profile("skew", None, |p| {
        let mut txs = Vec::new();
        let mut workers = Vec::new();
        for w in 1..=4u64 {
            let (tx, rx) = crossbeam::bounded::<u64>(p, format!("part {w}"), 1000);
            txs.push(tx);
            let stage = p.stage(format!("worker {w}"));
            workers.push(std::thread::spawn(move || {
                let _on = stage.enter();
                for _ in rx {
                    if w == 3 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }));
        }
        let _on = p.stage("dispatcher").enter();
        let until = Instant::now() + Duration::from_millis(3500);
        let mut key = 0u64;
        while Instant::now() < until {
            txs[(key % 4) as usize].send(key).unwrap();
            key += 1;
        }
        drop(txs);
        workers.into_iter().for_each(|w| w.join().unwrap());
    });
    assert_eq!(
        named(&report, DiagnosisKind::PartitionSkew),
        ["part 3"],
        "{:?}",
        report.diagnoses()
    );
}
