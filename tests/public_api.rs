//! The talk's strategies use nothing a user could not: Pull, written here outside the crate
//! with the public API only and profiled with a `Profiler`, counts exactly what
//! `Strategy::Pull` counts, stage for stage.

#[path = "../src/tests/common.rs"]
mod common;

use std::sync::Arc;

use palavriado::Profiler;
use palavriado::wordcount::Strategy;
use palavriado::wordcount::WordCounts;
use palavriado::wordcount::{Corpus, Line};
use palavriado::wordcount::{SplitMode, Word};
use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};
use palavriado::{Run, RunSettings};

/// The talk's Pull (producer → extractors → partitioned counters) as a user writes it.
fn users_pull(corpus: &Arc<Corpus>, profiler: &Profiler, workers: usize) -> WordCounts {
    let ctl = profiler.pipeline();
    let mut producer = Producer::from_iter(ctl, "producer", corpus.lines(ctl), Dispatch::Demand);
    let mut extractors: Vec<_> = (1..=workers)
        .map(|i| {
            let mut scratch = String::new();
            let mut e = ProducerConsumer::new(
                ctl,
                format!("extractor {i}"),
                move |line: Line, out: &mut Vec<Word>| {
                    SplitMode::Chars.for_each_word(&line, &mut scratch, |w| out.push(Word::new(w)))
                },
                Dispatch::partition_by(workers, Word::partition_key),
            );
            e.subscribe(&mut producer, Subscription::new().max_demand(10))
                .unwrap();
            e
        })
        .collect();
    let counters: Vec<_> = (0..workers)
        .map(|i| {
            let mut c = Consumer::new(
                ctl,
                format!("counter {}", i + 1),
                WordCounts::new(),
                |counts: &mut WordCounts, w: Word| counts.add_word(&w),
            );
            for e in &mut extractors {
                c.subscribe(e, Subscription::new().max_demand(10).partition(i))
                    .unwrap();
            }
            c
        })
        .collect();
    let producer = producer.start();
    let extractors: Vec<_> = extractors.into_iter().map(|e| e.start()).collect();
    let counters: Vec<_> = counters.into_iter().map(|c| c.start()).collect();
    let total = counters.into_iter().filter_map(|c| c.join()).collect();
    producer.join();
    for e in extractors {
        e.join();
    }
    total
}

#[test]
fn pull_written_with_the_public_api_counts_exactly_as_the_strategy() {
    let dir = common::corpus_dir(&[
        (
            "a.txt",
            "Capitu, olhos de ressaca.\nBentinho e Capitu\n".as_bytes(),
        ),
        (
            "b/c.txt",
            "Dom Casmurro — Machado de Assis\nolhos olhos olhos\n".as_bytes(),
        ),
    ]);
    let corpus = Arc::new(Corpus::open(dir.path(), 50).unwrap());
    let profiler = Profiler::new("user's pull").start().unwrap();
    let mine = users_pull(&corpus, &profiler, 2);
    let report = profiler.finish().unwrap();

    let mut settings = RunSettings::new(Strategy::Pull);
    settings.workers = 2;
    let theirs = Run::start(corpus.clone(), settings).wait();
    assert!(theirs.completed);
    assert_eq!(mine.total(), theirs.total_words);
    assert_eq!(mine.sha256(), theirs.counts_sha256);
    let names = |stages: &[palavriado::StageReport]| -> Vec<String> {
        stages.iter().map(|s| s.name.clone()).collect()
    };
    assert_eq!(names(report.stages()), names(&theirs.stages));
    // The producer and each counter (fed by word partition) handle exactly the same events;
    // which extractor takes which line depends on who asks first, so only their sum is fixed.
    for (a, b) in report.stages().iter().zip(&theirs.stages) {
        if !a.name.starts_with("extractor") {
            assert_eq!(
                (a.events_in, a.events_out),
                (b.events_in, b.events_out),
                "{}",
                a.name
            );
        }
    }
    let extracted = |stages: &[palavriado::StageReport]| -> (u64, u64) {
        stages
            .iter()
            .filter(|s| s.name.starts_with("extractor"))
            .fold((0, 0), |(i, o), s| (i + s.events_in, o + s.events_out))
    };
    assert_eq!(extracted(report.stages()), extracted(&theirs.stages));
}
