//! A small Flow API (after Elixir's `Flow`) over the stage runtime: from an iterator, `map`,
//! `filter`, `flat_map`, `partition`, `reduce`, collected into a result.
//!
//! Operations before `partition` run fused inside `stages` mapper stages that pull from one
//! producer; `partition` routes each event by a stable hash to one of `stages` reducer stages;
//! `reduce` folds each partition into an accumulator, emitted when all of that partition's
//! inputs complete. Defaults are Flow's: one stage per core, `max_demand` 1000, `min_demand` 500.
//!
//! ```
//! use palavriado::flow::Flow;
//! use palavriado::RunControl;
//! let ctl = RunControl::new(std::time::Duration::ZERO);
//! let sums = Flow::from_iter(&ctl, 1..=100u64)
//!     .filter(|n| n % 2 == 0)
//!     .map(|n| n * 10)
//!     .partition()
//!     .reduce(|| 0u64, |acc, n| *acc += n)
//!     .collect();
//! assert_eq!(sums.iter().sum::<u64>(), 25_500);
//! ```

use std::hash::Hash;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::control::RunControl;
use crate::run::default_workers;
use crate::stage::{
    Consumer, DEFAULT_MAX_DEMAND, Dispatch, Event, Handler, PartitionFn, Producer,
    ProducerConsumer, Subscription,
};

/// A fused chain of per-event operations: takes one `A`, emits any number of `B`.
type Ops<A, B> = Arc<dyn Fn(A, &mut dyn FnMut(B)) + Send + Sync>;
/// A reducer's fold step.
type Fold<A, U> = Arc<dyn Fn(&mut A, U) + Send + Sync>;

#[derive(Clone, Copy)]
struct Settings {
    stages: usize,
    max_demand: u64,
    min_demand: Option<u64>,
}

impl Settings {
    fn subscription<E>(&self) -> Subscription<E> {
        let s = Subscription::new().max_demand(self.max_demand);
        match self.min_demand {
            Some(m) => s.min_demand(m),
            None => s,
        }
    }
}

/// A flow of `T` events computed from a source of `S` items.
pub struct Flow<S, T> {
    ctl: Arc<RunControl>,
    source: Box<dyn Iterator<Item = S> + Send>,
    ops: Ops<S, T>,
    settings: Settings,
}

impl<S: Event> Flow<S, S> {
    /// A flow over the items of `iter` (Flow's `from_enumerable`).
    pub fn from_iter(
        ctl: &Arc<RunControl>,
        iter: impl IntoIterator<Item = S, IntoIter: Send + 'static>,
    ) -> Self {
        Flow {
            ctl: ctl.clone(),
            source: Box::new(iter.into_iter()),
            ops: Arc::new(|s, emit| emit(s)),
            settings: Settings {
                stages: default_workers(),
                max_demand: DEFAULT_MAX_DEMAND,
                min_demand: None,
            },
        }
    }
}

fn then_map<A: 'static, B: 'static, C: 'static>(
    ops: Ops<A, B>,
    f: impl Fn(B) -> C + Send + Sync + 'static,
) -> Ops<A, C> {
    Arc::new(move |a, emit| ops(a, &mut |b| emit(f(b))))
}

fn then_filter<A: 'static, B: 'static>(
    ops: Ops<A, B>,
    f: impl Fn(&B) -> bool + Send + Sync + 'static,
) -> Ops<A, B> {
    Arc::new(move |a, emit| {
        ops(a, &mut |b| {
            if f(&b) {
                emit(b)
            }
        })
    })
}

fn then_flat_map<A: 'static, B: 'static, C: 'static, I: IntoIterator<Item = C>>(
    ops: Ops<A, B>,
    f: impl Fn(B) -> I + Send + Sync + 'static,
) -> Ops<A, C> {
    Arc::new(move |a, emit| {
        ops(a, &mut |b| {
            for c in f(b) {
                emit(c)
            }
        })
    })
}

impl<S: Event, T: Event> Flow<S, T> {
    /// Number of mapper stages, and of partitions when partitioning (default: cores).
    pub fn stages(mut self, n: usize) -> Self {
        self.settings.stages = n.max(1);
        self
    }

    /// `max_demand` of every subscription (default 1000).
    pub fn max_demand(mut self, n: u64) -> Self {
        self.settings.max_demand = n.max(1);
        self
    }

    /// `min_demand` of every subscription (default `max_demand / 2`).
    pub fn min_demand(mut self, n: u64) -> Self {
        self.settings.min_demand = Some(n);
        self
    }

    /// Transforms each event.
    pub fn map<U: Event>(self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Flow<S, U> {
        Flow {
            ops: then_map(self.ops, f),
            ctl: self.ctl,
            source: self.source,
            settings: self.settings,
        }
    }

    /// Keeps the events `f` accepts.
    pub fn filter(self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Flow<S, T> {
        Flow {
            ops: then_filter(self.ops, f),
            ..self
        }
    }

    /// Replaces each event by any number of events.
    pub fn flat_map<U: Event, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Send + Sync + 'static,
    ) -> Flow<S, U> {
        Flow {
            ops: then_flat_map(self.ops, f),
            ctl: self.ctl,
            source: self.source,
            settings: self.settings,
        }
    }

    /// Routes every event to one of `stages` partitions by a stable hash of it, so equal events
    /// always meet in the same partition.
    pub fn partition(self) -> Partitioned<S, T, T>
    where
        T: Hash,
    {
        let Dispatch::Partition { hash, .. } = Dispatch::<T>::partition(1) else {
            unreachable!("Dispatch::partition builds a Partition dispatcher")
        };
        self.partition_with(hash)
    }

    /// Routes every event by `key` (taken modulo the number of partitions).
    pub fn partition_by(
        self,
        key: impl Fn(&T) -> u64 + Send + Sync + 'static,
    ) -> Partitioned<S, T, T> {
        self.partition_with(Arc::new(key))
    }

    fn partition_with(self, hash: PartitionFn<T>) -> Partitioned<S, T, T> {
        let stages = self.settings.stages;
        Partitioned {
            flow: self,
            hash,
            stages,
            ops: Arc::new(|t, emit| emit(t)),
        }
    }

    /// Runs the flow and collects every event (in no particular order).
    pub fn collect(self) -> Vec<T> {
        let settings = self.settings;
        let ctl = self.ctl.clone();
        let mut producer = Producer::from_iter(&ctl, "producer", self.source, Dispatch::Demand);
        let mut collector =
            Consumer::new(&ctl, "collector", Vec::new(), |v: &mut Vec<T>, t| v.push(t));
        let mut mappers = Vec::new();
        for i in 1..=settings.stages {
            let ops = self.ops.clone();
            let mut m = ProducerConsumer::new(
                &ctl,
                format!("mapper {i}"),
                move |s: S, out: &mut Vec<T>| ops(s, &mut |t| out.push(t)),
                Dispatch::Demand,
            );
            m.subscribe(&mut producer, settings.subscription());
            collector.subscribe(&mut m, settings.subscription());
            mappers.push(m);
        }
        let p = producer.start();
        let ms: Vec<_> = mappers.into_iter().map(|m| m.start()).collect();
        let out = collector.start().join().unwrap_or_default();
        p.join();
        ms.into_iter().for_each(|m| {
            m.join();
        });
        out
    }
}

/// A flow after `partition`: operations here run inside the partition's stage.
pub struct Partitioned<S, T, U> {
    flow: Flow<S, T>,
    hash: PartitionFn<T>,
    stages: usize,
    ops: Ops<T, U>,
}

impl<S: Event, T: Event, U: 'static> Partitioned<S, T, U> {
    /// Number of partitions (default: the flow's `stages`).
    pub fn stages(mut self, n: usize) -> Self {
        self.stages = n.max(1);
        self
    }

    /// Transforms each event inside its partition.
    pub fn map<V: 'static>(
        self,
        f: impl Fn(U) -> V + Send + Sync + 'static,
    ) -> Partitioned<S, T, V> {
        Partitioned {
            ops: then_map(self.ops, f),
            flow: self.flow,
            hash: self.hash,
            stages: self.stages,
        }
    }

    /// Keeps the events `f` accepts.
    pub fn filter(self, f: impl Fn(&U) -> bool + Send + Sync + 'static) -> Self {
        Partitioned {
            ops: then_filter(self.ops, f),
            ..self
        }
    }

    /// Replaces each event by any number of events.
    pub fn flat_map<V: 'static, I: IntoIterator<Item = V>>(
        self,
        f: impl Fn(U) -> I + Send + Sync + 'static,
    ) -> Partitioned<S, T, V> {
        Partitioned {
            ops: then_flat_map(self.ops, f),
            flow: self.flow,
            hash: self.hash,
            stages: self.stages,
        }
    }

    /// Folds each partition into an accumulator started by `init`; each accumulator is
    /// emitted once all of its partition's inputs have completed.
    pub fn reduce<A: Event>(
        self,
        init: impl Fn() -> A + Send + Sync + 'static,
        fold: impl Fn(&mut A, U) + Send + Sync + 'static,
    ) -> Reduced<S, T, U, A> {
        Reduced {
            partitioned: self,
            init: Arc::new(init),
            fold: Arc::new(fold),
        }
    }
}

/// A partitioned flow reduced into one accumulator per partition.
pub struct Reduced<S, T, U, A> {
    partitioned: Partitioned<S, T, U>,
    init: Arc<dyn Fn() -> A + Send + Sync>,
    fold: Fold<A, U>,
}

/// The reducer stage's handler: folds events, emits the accumulator at completion.
struct Reducer<T, U, A> {
    acc: Option<A>,
    ops: Ops<T, U>,
    fold: Fold<A, U>,
    salvage: Arc<Mutex<Vec<A>>>,
}

impl<T: Event, U: 'static, A: Event> Handler<T, A> for Reducer<T, U, A> {
    fn handle(&mut self, event: T, _out: &mut Vec<A>) {
        let acc = self.acc.as_mut().expect("accumulator present until finish");
        let fold = &self.fold;
        (self.ops)(event, &mut |u| fold(acc, u));
    }

    fn finish(&mut self, out: &mut Vec<A>) {
        out.extend(self.acc.take());
    }

    fn abandon(&mut self) {
        if let Some(acc) = self.acc.take() {
            self.salvage.lock().push(acc);
        }
    }
}

impl<S: Event, T: Event, U: 'static, A: Event> Reduced<S, T, U, A> {
    /// Runs the flow and returns one accumulator per partition. If the run is stopped first,
    /// returns the partial accumulators instead.
    pub fn collect(self) -> Vec<A> {
        let Partitioned {
            flow,
            hash,
            stages: partitions,
            ops: reduce_ops,
        } = self.partitioned;
        let settings = flow.settings;
        let ctl = flow.ctl.clone();
        let salvage = Arc::new(Mutex::new(Vec::new()));

        let mut producer = Producer::from_iter(&ctl, "producer", flow.source, Dispatch::Demand);
        let mut mappers = Vec::new();
        for i in 1..=settings.stages {
            let ops = flow.ops.clone();
            let hash = hash.clone();
            let mut m = ProducerConsumer::new(
                &ctl,
                format!("mapper {i}"),
                move |s: S, out: &mut Vec<T>| ops(s, &mut |t| out.push(t)),
                Dispatch::partition_by(partitions, move |t: &T| hash(t)),
            );
            m.subscribe(&mut producer, settings.subscription());
            mappers.push(m);
        }
        let mut collector =
            Consumer::new(&ctl, "collector", Vec::new(), |v: &mut Vec<A>, a| v.push(a));
        let mut reducers = Vec::new();
        for p in 0..partitions {
            let mut r = ProducerConsumer::new(
                &ctl,
                format!("reducer {}", p + 1),
                Reducer {
                    acc: Some((self.init)()),
                    ops: reduce_ops.clone(),
                    fold: self.fold.clone(),
                    salvage: salvage.clone(),
                },
                Dispatch::Demand,
            );
            for m in &mut mappers {
                r.subscribe(m, settings.subscription().partition(p));
            }
            collector.subscribe(&mut r, settings.subscription());
            reducers.push(r);
        }
        let p = producer.start();
        let ms: Vec<_> = mappers.into_iter().map(|m| m.start()).collect();
        let rs: Vec<_> = reducers.into_iter().map(|r| r.start()).collect();
        let mut out = collector.start().join().unwrap_or_default();
        p.join();
        for w in ms.into_iter().chain(rs) {
            w.join();
        }
        out.extend(std::mem::take(&mut *salvage.lock()));
        out
    }
}
