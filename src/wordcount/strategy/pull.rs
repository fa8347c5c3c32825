//! Pull, as the talk's `Palavriado.Pull` (GenStage): a producer of corpus lines; `workers`
//! extractors subscribed to it with `max_demand` 10, emitting words through a Partition
//! dispatcher with `workers` partitions; `workers` counters, counter *i* subscribed to partition
//! *i* of every extractor. Counters keep maps, merged when all complete.

use super::{Job, count_word};
use crate::runtime::stage::{
    Consumer, Dispatch, Producer, ProducerConsumer, SubscribeError, Subscription,
};
use crate::wordcount::corpus::Line;
use crate::wordcount::counts::WordCounts;
use crate::wordcount::words::Word;

pub(super) fn run(job: &Job) -> WordCounts {
    pipeline(job).unwrap_or_else(|e| {
        job.ctl.fail(e.to_string());
        WordCounts::new()
    })
}

fn pipeline(job: &Job) -> Result<WordCounts, SubscribeError> {
    let n = job.workers.max(1);
    let ctl = &job.ctl;
    let pipe = &job.pipeline();
    let demand = job.max_demand as u64;
    let mut producer =
        Producer::from_iter(pipe, "producer", job.corpus.lines(pipe), Dispatch::Demand);
    let mut extractors: Vec<_> = (1..=n)
        .map(|i| {
            let job = job.clone();
            let mut scratch = String::new();
            let mut e = ProducerConsumer::new(
                pipe,
                format!("extractor {i}"),
                move |line: Line, out: &mut Vec<Word>| {
                    job.split
                        .for_each_word(&line, &mut scratch, |w| out.push(Word::new(w)));
                },
                Dispatch::partition_by(n, Word::partition_key),
            )
            .with_simulated_delay();
            e.subscribe(&mut producer, Subscription::new().max_demand(demand))?;
            Ok(e)
        })
        .collect::<Result<_, SubscribeError>>()?;
    let counters: Vec<_> = (0..n)
        .map(|i| {
            let mut c = Consumer::new(pipe, format!("counter {}", i + 1), WordCounts::new(), {
                let ctl = ctl.clone();
                move |counts: &mut WordCounts, w: Word| count_word(&ctl, counts, &w)
            });
            for e in &mut extractors {
                c.subscribe(e, Subscription::new().max_demand(demand).partition(i))?;
            }
            Ok(c)
        })
        .collect::<Result<_, SubscribeError>>()?;
    let producer = producer.start();
    let extractors: Vec<_> = extractors.into_iter().map(|e| e.start()).collect();
    let counters: Vec<_> = counters.into_iter().map(|c| c.start()).collect();
    let total: WordCounts = counters.into_iter().filter_map(|c| c.join()).collect();
    producer.join();
    for e in extractors {
        e.join();
    }
    Ok(total)
}
