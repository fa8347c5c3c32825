//! Diagnoses on real pipelines: each one built to trigger a diagnosis, and one built not to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::observe::diagnosis::{Diagnosis, DiagnosisKind};
use crate::observe::run::{Run, RunReport, RunSettings};
use crate::observe::timeline::Timeline;
use crate::observe::watch;
use crate::runtime::stage::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};
use crate::wordcount::{Corpus, Strategy};
use crate::{Pipeline, Runtime};

fn run(strategy: Strategy, repeat: u32, delay_ms: u64, seconds: u64) -> RunReport {
    let corpus = Arc::new(Corpus::builtin(repeat).unwrap());
    let mut st = RunSettings::new(strategy);
    st.workers = 2;
    st.delay = Duration::from_millis(delay_ms);
    st.duration = Some(Duration::from_secs(seconds));
    Run::start(corpus, st).wait()
}

fn named(r: &RunReport, kind: DiagnosisKind) -> Vec<String> {
    r.diagnoses
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.stage.clone())
        .collect()
}

#[test]
fn push_with_the_delay_grows_an_extractors_mailbox_and_pull_does_not() {
    let push = run(Strategy::Push, 10, 1, 3);
    let growing = named(&push, DiagnosisKind::MailboxGrowth);
    assert!(
        growing.iter().any(|s| s.starts_with("extractor")),
        "{:?}",
        push.diagnoses
    );
    let d = push
        .diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::MailboxGrowth)
        .unwrap();
    assert!(d.summary.contains("messages/s"), "{}", d.summary);
    assert!(d.since_ms >= 1000.0 && d.since_ms < 3000.0, "{d:?}");

    let pull = run(Strategy::Pull, 10, 1, 3);
    assert!(
        named(&pull, DiagnosisKind::MailboxGrowth).is_empty(),
        "{:?}",
        pull.diagnoses
    );
    let mut bottlenecks = named(&pull, DiagnosisKind::Bottleneck);
    bottlenecks.sort();
    assert_eq!(
        bottlenecks,
        ["extractor 1", "extractor 2"],
        "{:?}",
        pull.diagnoses
    );
}

#[test]
fn one_word_per_message_is_small_demand_and_flows_batches_are_not() {
    let push = run(Strategy::Push, 20, 0, 4);
    let small = named(&push, DiagnosisKind::SmallDemand);
    assert!(!small.is_empty(), "{:?}", push.diagnoses);
    assert!(
        push.diagnoses
            .iter()
            .filter(|d| d.kind == DiagnosisKind::SmallDemand)
            .all(|d| d.summary.contains("send events in batches")),
        "{:?}",
        push.diagnoses
    );
    let flow = run(Strategy::Flow, 20, 0, 4);
    assert!(
        named(&flow, DiagnosisKind::SmallDemand).is_empty(),
        "{:?}",
        flow.diagnoses
    );
    // No delay: nothing sleeps, so no bottleneck is blamed on the delay.
    assert!(
        flow.diagnoses
            .iter()
            .all(|d| !d.summary.contains("simulated delay")),
        "{:?}",
        flow.diagnoses
    );
}

/// Runs `body`'s stages with the sampler (and so the diagnoser) at 50 Hz; returns what it found.
fn diagnosed(schedulers: usize, body: impl FnOnce(&Pipeline)) -> Vec<Diagnosis> {
    let ctl = Pipeline::builder()
        .runtime(Runtime::Scheduler)
        .schedulers(schedulers)
        .build();
    let timeline = Arc::new(Timeline::default());
    let sampler = watch::spawn(ctl.control().clone(), timeline.clone(), 50, None, None);
    body(&ctl);
    ctl.control().mark_finished();
    sampler.join().unwrap();
    timeline.diagnoses()
}

fn spin(micros: u64) {
    let end = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// A producer of numbers → a transform spinning `work_us` per event → a consumer spinning
/// `sink_us` per event, for about `seconds`.
fn chain(ctl: &Pipeline, work_us: u64, sink_us: u64, seconds: f64) {
    let per_event = work_us.max(sink_us).max(1) as f64;
    let n = (seconds * 1e6 / per_event) as u64;
    let mut p = Producer::from_iter(ctl, "numbers", 0..n, Dispatch::Demand);
    let mut work = ProducerConsumer::new(
        ctl,
        "work",
        move |e: u64, out: &mut Vec<u64>| {
            spin(work_us);
            out.push(e)
        },
        Dispatch::Demand,
    );
    work.subscribe(&mut p, Subscription::new().max_demand(100))
        .unwrap();
    let mut sink = Consumer::new(ctl, "sink", 0u64, move |n: &mut u64, _e: u64| {
        spin(sink_us);
        *n += 1
    });
    sink.subscribe(&mut work, Subscription::new().max_demand(100))
        .unwrap();
    let p = p.start();
    let work = work.start();
    assert_eq!(sink.start().join(), Some(n));
    work.join();
    p.join();
}

#[test]
fn a_sink_behind_a_busy_stage_is_starved_and_a_busy_sink_is_not() {
    let found = diagnosed(2, |ctl| chain(ctl, 200, 0, 2.5));
    let starved: Vec<&Diagnosis> = found
        .iter()
        .filter(|d| d.kind == DiagnosisKind::Starved)
        .collect();
    assert!(starved.iter().any(|d| d.stage == "sink"), "{found:?}");
    // The slow one is now the sink: it is busy, and the stage before it waits for its demand.
    let found = diagnosed(2, |ctl| chain(ctl, 0, 200, 2.5));
    assert!(
        found.iter().all(|d| d.kind != DiagnosisKind::Starved),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|d| d.kind == DiagnosisKind::Bottleneck && d.stage == "sink"),
        "{found:?}"
    );
}

/// A producer partitioning `n` numbers (spinning `make_us` for each) by `route` to three
/// consumers asking 1,000 at a time; consumer `i` spins `work_us[i]` per event.
fn partitioned(ctl: &Pipeline, route: fn(&u64) -> u64, make_us: u64, work_us: [u64; 3], n: u64) {
    let numbers = (0..n).inspect(move |_| spin(make_us));
    let mut p = Producer::from_iter(ctl, "numbers", numbers, Dispatch::partition_by(3, route));
    let consumers: Vec<_> = (0..3)
        .map(|i| {
            let mut c = Consumer::new(
                ctl,
                format!("partition {i}"),
                0u64,
                move |n: &mut u64, _e| {
                    spin(work_us[i]);
                    *n += 1
                },
            );
            c.subscribe(
                &mut p,
                Subscription::new()
                    .max_demand(1000)
                    .min_demand(500)
                    .partition(i),
            )
            .unwrap();
            c
        })
        .collect();
    let p = p.start();
    let workers: Vec<_> = consumers.into_iter().map(|c| c.start()).collect();
    let total: u64 = workers.into_iter().filter_map(|w| w.join()).sum();
    p.join();
    assert_eq!(total, n);
}

#[test]
fn a_slow_partition_is_skewed_and_balanced_ones_are_not() {
    // 60 % of the events go to partition 0, which is 100× slower than the others: its queue
    // fills while the others wait. (Four schedulers, so its long polls never hold the
    // producer's.)
    let skewed = |e: &u64| match e % 10 {
        0..=5 => 0,
        6 | 7 => 1,
        _ => 2,
    };
    let found = diagnosed(4, |ctl| partitioned(ctl, skewed, 0, [200, 2, 2], 12_000));
    assert!(
        found
            .iter()
            .any(|d| d.kind == DiagnosisKind::PartitionSkew && d.stage == "partition 0"),
        "{found:?}"
    );
    // Even routing, consumers faster than the producer: no skew.
    let found = diagnosed(4, |ctl| partitioned(ctl, |e| e % 3, 5, [0, 0, 0], 300_000));
    assert!(
        found.iter().all(|d| d.kind != DiagnosisKind::PartitionSkew),
        "{found:?}"
    );
}
