//! GenStage's demand rule as a reference, and a harness that runs it on palavriado.
//!
//! This crate depends on palavriado as a user's program does: by path, default features off,
//! built with no flags of palavriado's own. Its tests run GenStage's refill scenarios on both
//! runtimes and compare, event by event, what the producer has emitted when the consumer
//! handles each refill point with what GenStage's consumer would have asked for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use palavriado::{Consumer, Dispatch, Pipeline, Producer, ProducerConsumer, Runtime, Subscription};

/// What GenStage's consumer does with `total` events from a producer that answers each ask with
/// one message of exactly what was asked: the first ask is `max`; each message is handled in
/// batches of at most `max - min`, and after a batch that leaves `min` or fewer outstanding it
/// asks for enough to refill to `max` (GenStage's `split_batches`).
///
/// Returns `(handled, emitted)`: how many events the producer has emitted by the time the
/// consumer, having handled `handled` events, handles the next one. The first point is
/// `(0, max)`; one point follows every ask that brings new events.
pub fn genstage_refills(max: u64, min: u64, total: u64) -> Vec<(u64, u64)> {
    let mut emitted = max.min(total);
    let mut messages = std::collections::VecDeque::from([emitted]);
    let mut demand = max;
    let mut handled = 0;
    let mut points = vec![(0, emitted)];
    while let Some(mut left) = messages.pop_front() {
        while left > 0 {
            let batch = (max - min).min(left);
            left -= batch;
            handled += batch;
            let after = demand - batch;
            if after <= min {
                demand = max;
                let sent = (max - after).min(total - emitted);
                if sent > 0 {
                    emitted += sent;
                    messages.push_back(sent);
                    points.push((handled, emitted));
                }
            } else {
                demand = after;
            }
        }
    }
    points.retain(|&(h, _)| h < total);
    points
}

/// How the stage under test spends its time at a refill point while it waits for the producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// It blocks its thread (a sleep).
    Blocks,
    /// It computes (spins on the CPU).
    Computes,
}

/// Where the scenario's handler waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Under {
    /// A consumer subscribed to the producer.
    Consumer,
    /// A producer-consumer between the producer and a consumer with GenStage's default demand.
    ProducerConsumer,
}

/// Longest a refill point waits for the producer to emit what GenStage's would have.
const PATIENCE: Duration = Duration::from_secs(3);

/// At each refill point the handler waits (blocking or computing) until the producer has
/// emitted what the model says, or [`PATIENCE`] has passed, and records what it saw.
struct Checkpoints {
    expected: BTreeMap<u64, u64>,
    emitted: Arc<AtomicU64>,
    busy: Busy,
    handled: u64,
    seen: Vec<(u64, u64)>,
    /// A refill point already missed: the rest are recorded without waiting, so a failing
    /// scenario fails in seconds.
    missed: bool,
}

impl Checkpoints {
    fn on_event(&mut self) {
        if let Some(&want) = self.expected.get(&self.handled) {
            let start = Instant::now();
            let patience = if self.missed {
                Duration::ZERO
            } else {
                PATIENCE
            };
            while self.emitted.load(SeqCst) < want && start.elapsed() < patience {
                match self.busy {
                    Busy::Blocks => std::thread::sleep(Duration::from_micros(200)),
                    Busy::Computes => std::hint::spin_loop(),
                }
            }
            let emitted = self.emitted.load(SeqCst);
            self.missed |= emitted != want;
            self.seen.push((self.handled, emitted));
        }
        self.handled += 1;
    }
}

/// Runs `total` events through a producer and a stage subscribed with `max`/`min`, on
/// `runtime` with two schedulers. Returns what the stage saw at each of the model's refill
/// points, and the events that reached the pipeline's end.
pub fn run(
    runtime: Runtime,
    under: Under,
    max: u64,
    min: u64,
    total: u64,
    busy: Busy,
) -> (Vec<(u64, u64)>, u64) {
    let pipeline = Pipeline::builder().runtime(runtime).schedulers(2).build();
    let emitted = Arc::new(AtomicU64::new(0));
    let counter = emitted.clone();
    let source = (0..total).inspect(move |_| {
        counter.fetch_add(1, SeqCst);
    });
    let mut producer = Producer::from_iter(&pipeline, "producer", source, Dispatch::Demand);
    let mut checkpoints = Checkpoints {
        expected: genstage_refills(max, min, total).into_iter().collect(),
        emitted,
        busy,
        handled: 0,
        seen: Vec::new(),
        missed: false,
    };
    let sub = Subscription::new().max_demand(max).min_demand(min);
    match under {
        Under::Consumer => {
            let mut consumer = Consumer::new(
                &pipeline,
                "consumer",
                (checkpoints, 0u64),
                |(c, n): &mut (Checkpoints, u64), _e: u64| {
                    c.on_event();
                    *n += 1;
                },
            );
            consumer.subscribe(&mut producer, sub).expect("subscribe");
            let producer = producer.start();
            let (c, n) = consumer.start().join().expect("the consumer ends");
            producer.join();
            (c.seen, n)
        }
        Under::ProducerConsumer => {
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let out = seen.clone();
            let mut middle = ProducerConsumer::new(
                &pipeline,
                "middle",
                move |e: u64, emit: &mut Vec<u64>| {
                    checkpoints.on_event();
                    *out.lock().unwrap() = checkpoints.seen.clone();
                    emit.push(e);
                },
                Dispatch::Demand,
            );
            middle.subscribe(&mut producer, sub).expect("subscribe");
            let mut consumer =
                Consumer::new(&pipeline, "consumer", 0u64, |n: &mut u64, _e: u64| *n += 1);
            consumer
                .subscribe(&mut middle, Subscription::new())
                .expect("subscribe");
            let (producer, middle) = (producer.start(), middle.start());
            let n = consumer.start().join().expect("the consumer ends");
            producer.join();
            middle.join();
            let seen = seen.lock().unwrap().clone();
            (seen, n)
        }
    }
}
