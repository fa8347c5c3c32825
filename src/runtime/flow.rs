//! A small Flow API (after Elixir's `Flow`) over the stage runtime: from an iterator, `map`,
//! `filter`, `flat_map`, `partition`, `reduce`, collected into a result.
//!
//! Operations before `partition` run fused inside `stages` mapper stages that pull from one
//! producer; `partition` routes each event by a stable hash to one of `stages` reducer stages;
//! `reduce` folds each partition into an accumulator, emitted when all of that partition's
//! inputs complete. Defaults are Flow's: one stage per core, `max_demand` 1000, `min_demand` 500.
//!
//! ```
//! use palavriado::Flow;
//! use palavriado::Pipeline;
//! let pipeline = Pipeline::new();
//! let sums = Flow::from_iter(&pipeline, 1..=100u64)
//!     .filter(|n| n % 2 == 0)
//!     .map(|n| n * 10)
//!     .partition()
//!     .reduce(|| 0u64, |acc, n| *acc += n)
//!     .collect();
//! assert_eq!(sums.iter().sum::<u64>(), 25_500);
//! ```

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::runtime::control::Pipeline;
use crate::runtime::probe::os::logical_cores;
use crate::runtime::stage::{
    Consumer, DEFAULT_MAX_DEMAND, Dispatch, Event, Handler, PartitionFn, Producer,
    ProducerConsumer, Subscription,
};

/// A fused chain of per-event operations, run inside one stage: takes one `A`, emits any number
/// of `B`. Chains are built from concrete types ([`Identity`], then one layer per `map`,
/// `filter` or `flat_map`), so the compiler inlines the whole chain into the stage's loop.
pub trait Ops<A, B>: Send + Sync + 'static {
    /// Runs the chain on `a`, calling `emit` for each resulting event.
    fn apply(&self, a: A, emit: &mut impl FnMut(B));
}

/// The empty chain: emits its input.
#[derive(Debug)]
pub struct Identity;

impl<A> Ops<A, A> for Identity {
    #[inline(always)]
    fn apply(&self, a: A, emit: &mut impl FnMut(A)) {
        emit(a)
    }
}

/// A chain followed by `map`.
pub struct Map<O, F, B> {
    ops: O,
    f: F,
    _b: PhantomData<fn(B)>,
}

impl<O, F, B> std::fmt::Debug for Map<O, F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map").finish_non_exhaustive()
    }
}

impl<A, B: 'static, C, O: Ops<A, B>, F: Fn(B) -> C + Send + Sync + 'static> Ops<A, C>
    for Map<O, F, B>
{
    #[inline(always)]
    fn apply(&self, a: A, emit: &mut impl FnMut(C)) {
        self.ops.apply(a, &mut |b| emit((self.f)(b)))
    }
}

/// A chain followed by `filter`.
pub struct Filter<O, F> {
    ops: O,
    f: F,
}

impl<O, F> std::fmt::Debug for Filter<O, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").finish_non_exhaustive()
    }
}

impl<A, B, O: Ops<A, B>, F: Fn(&B) -> bool + Send + Sync + 'static> Ops<A, B> for Filter<O, F> {
    #[inline(always)]
    fn apply(&self, a: A, emit: &mut impl FnMut(B)) {
        self.ops.apply(a, &mut |b| {
            if (self.f)(&b) {
                emit(b)
            }
        })
    }
}

/// A chain followed by `flat_map`.
pub struct FlatMap<O, F, B> {
    ops: O,
    f: F,
    _b: PhantomData<fn(B)>,
}

impl<O, F, B> std::fmt::Debug for FlatMap<O, F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatMap").finish_non_exhaustive()
    }
}

impl<A, B: 'static, C, I, O, F> Ops<A, C> for FlatMap<O, F, B>
where
    I: IntoIterator<Item = C>,
    O: Ops<A, B>,
    F: Fn(B) -> I + Send + Sync + 'static,
{
    #[inline(always)]
    fn apply(&self, a: A, emit: &mut impl FnMut(C)) {
        self.ops
            .apply(a, &mut |b| (self.f)(b).into_iter().for_each(&mut *emit))
    }
}

#[derive(Clone, Copy)]
struct Settings {
    stages: usize,
    max_demand: u64,
    min_demand: Option<u64>,
    paced: bool,
}

/// Why a subscription inside a flow cannot fail: its settings were checked before any stage.
const SETTINGS_CHECKED: &str = "the flow's demand settings were checked before it started";

impl Settings {
    /// Fails the run (and says so) if the demand settings would be refused.
    fn refused(&self, pipeline: &Pipeline) -> bool {
        match self.subscription::<()>().check("flow") {
            Ok(()) => false,
            Err(e) => {
                pipeline.control().fail(e.to_string());
                true
            }
        }
    }

    fn subscription<E>(&self) -> Subscription<E> {
        let s = Subscription::new().max_demand(self.max_demand);
        match self.min_demand {
            Some(m) => s.min_demand(m),
            None => s,
        }
    }
}

/// A flow of `T` events computed from a source of `S` items by the chain `O`.
pub struct Flow<S, T, O = Identity> {
    pipeline: Pipeline,
    source: Box<dyn Iterator<Item = S> + Send>,
    ops: O,
    settings: Settings,
    _t: PhantomData<fn(T)>,
}

impl<S, T, O> std::fmt::Debug for Flow<S, T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow").finish_non_exhaustive()
    }
}

impl<S: Event> Flow<S, S> {
    /// A flow over the items of `iter` (Flow's `from_enumerable`).
    pub fn from_iter(
        pipeline: &Pipeline,
        iter: impl IntoIterator<Item = S, IntoIter: Send + 'static>,
    ) -> Self {
        Flow {
            pipeline: pipeline.clone(),
            source: Box::new(iter.into_iter()),
            ops: Identity,
            settings: Settings {
                stages: logical_cores(),
                max_demand: DEFAULT_MAX_DEMAND,
                min_demand: None,
                paced: false,
            },
            _t: PhantomData,
        }
    }
}

impl<S: Event, T: Event, O: Ops<S, T>> Flow<S, T, O> {
    /// Number of mapper stages, and of partitions when partitioning (default: cores).
    pub fn stages(mut self, n: usize) -> Self {
        self.settings.stages = n.max(1);
        self
    }

    /// `max_demand` of every subscription (default 1000; at least 1, or the flow fails).
    pub fn max_demand(mut self, n: u64) -> Self {
        self.settings.max_demand = n;
        self
    }

    /// Each source item waits the run's simulated delay before the chain runs on it (the
    /// talk's `Process.sleep(1)` per line), as a timer that frees the scheduler.
    pub fn with_simulated_delay(mut self) -> Self {
        self.settings.paced = true;
        self
    }

    /// `min_demand` of every subscription (default `max_demand / 2`).
    pub fn min_demand(mut self, n: u64) -> Self {
        self.settings.min_demand = Some(n);
        self
    }

    /// The same flow with its chain extended by `extend`.
    fn then<U, P: Ops<S, U>>(self, extend: impl FnOnce(O) -> P) -> Flow<S, U, P> {
        Flow {
            pipeline: self.pipeline,
            source: self.source,
            ops: extend(self.ops),
            settings: self.settings,
            _t: PhantomData,
        }
    }

    /// Transforms each event.
    pub fn map<U: Event, F: Fn(T) -> U + Send + Sync + 'static>(
        self,
        f: F,
    ) -> Flow<S, U, Map<O, F, T>> {
        self.then(|ops| Map {
            ops,
            f,
            _b: PhantomData,
        })
    }

    /// Keeps the events `f` accepts.
    pub fn filter<F: Fn(&T) -> bool + Send + Sync + 'static>(
        self,
        f: F,
    ) -> Flow<S, T, Filter<O, F>> {
        self.then(|ops| Filter { ops, f })
    }

    /// Replaces each event by any number of events.
    pub fn flat_map<U: Event, I: IntoIterator<Item = U>, F: Fn(T) -> I + Send + Sync + 'static>(
        self,
        f: F,
    ) -> Flow<S, U, FlatMap<O, F, T>> {
        self.then(|ops| FlatMap {
            ops,
            f,
            _b: PhantomData,
        })
    }

    /// Routes every event to one of `stages` partitions by a stable hash of it, so equal events
    /// always meet in the same partition.
    pub fn partition(self) -> Partitioned<S, T, T, O, Identity>
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
    ) -> Partitioned<S, T, T, O, Identity> {
        self.partition_with(Arc::new(key))
    }

    fn partition_with(self, hash: PartitionFn<T>) -> Partitioned<S, T, T, O, Identity> {
        let stages = self.settings.stages;
        Partitioned {
            flow: self,
            hash,
            stages,
            ops: Identity,
            _u: PhantomData,
        }
    }

    /// Starts the producer and `stages` mapper stages running the chain, each dispatching with
    /// `dispatch()`; `subscribe` connects the downstream stages to the mappers.
    fn mappers<D>(
        self,
        dispatch: impl Fn() -> Dispatch<T>,
        subscribe: impl FnOnce(&mut [ProducerConsumer<S, T, MapperHandler<O>>]) -> D,
    ) -> (Vec<crate::runtime::executor::Worker<()>>, D) {
        let settings = self.settings;
        let pipe = self.pipeline.clone();
        let ops = Arc::new(self.ops);
        let mut producer = Producer::from_iter(&pipe, "producer", self.source, Dispatch::Demand);
        let mut mappers: Vec<_> = (1..=settings.stages)
            .map(|i| {
                let mut m = ProducerConsumer::new(
                    &pipe,
                    format!("mapper {i}"),
                    MapperHandler(ops.clone()),
                    dispatch(),
                );
                if settings.paced {
                    m = m.with_simulated_delay();
                }
                m.subscribe(&mut producer, settings.subscription())
                    .expect(SETTINGS_CHECKED);
                m
            })
            .collect();
        let downstream = subscribe(&mut mappers);
        let mut workers = vec![producer.start()];
        workers.extend(mappers.into_iter().map(|m| m.start()));
        (workers, downstream)
    }

    /// Runs the flow and collects every event (in no particular order).
    pub fn collect(self) -> Vec<T> {
        let settings = self.settings;
        let pipe = self.pipeline.clone();
        if settings.refused(&pipe) {
            return Vec::new();
        }
        let mut collector = Consumer::new(&pipe, "collector", Vec::new(), |v: &mut Vec<T>, t| {
            v.push(t)
        });
        let (workers, ()) = self.mappers(
            || Dispatch::Demand,
            |mappers| {
                for m in mappers {
                    collector
                        .subscribe(m, settings.subscription())
                        .expect(SETTINGS_CHECKED);
                }
            },
        );
        let out = collector.start().join().unwrap_or_default();
        for w in workers {
            w.join();
        }
        out
    }
}

/// A mapper stage's handler: runs the chain on each event.
struct MapperHandler<O>(Arc<O>);

impl<S, T, O: Ops<S, T>> Handler<S, T> for MapperHandler<O> {
    #[inline]
    fn handle(&mut self, event: S, out: &mut Vec<T>) {
        self.0.apply(event, &mut |t| out.push(t))
    }
}

/// A flow after `partition`: the chain `P` (from `T` to `U`) runs inside the partition's stage.
pub struct Partitioned<S, T, U, O, P> {
    flow: Flow<S, T, O>,
    hash: PartitionFn<T>,
    stages: usize,
    ops: P,
    _u: PhantomData<fn(U)>,
}

impl<S, T, U, O, P> std::fmt::Debug for Partitioned<S, T, U, O, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partitioned").finish_non_exhaustive()
    }
}

impl<S: Event, T: Event, U: 'static, O: Ops<S, T>, P: Ops<T, U>> Partitioned<S, T, U, O, P> {
    /// Number of partitions (default: the flow's `stages`).
    pub fn stages(mut self, n: usize) -> Self {
        self.stages = n.max(1);
        self
    }

    /// The same partitioned flow with its chain extended by `extend`.
    fn then<V, Q: Ops<T, V>>(self, extend: impl FnOnce(P) -> Q) -> Partitioned<S, T, V, O, Q> {
        Partitioned {
            flow: self.flow,
            hash: self.hash,
            stages: self.stages,
            ops: extend(self.ops),
            _u: PhantomData,
        }
    }

    /// Transforms each event inside its partition.
    pub fn map<V: 'static, F: Fn(U) -> V + Send + Sync + 'static>(
        self,
        f: F,
    ) -> Partitioned<S, T, V, O, Map<P, F, U>> {
        self.then(|ops| Map {
            ops,
            f,
            _b: PhantomData,
        })
    }

    /// Keeps the events `f` accepts.
    pub fn filter<F: Fn(&U) -> bool + Send + Sync + 'static>(
        self,
        f: F,
    ) -> Partitioned<S, T, U, O, Filter<P, F>> {
        self.then(|ops| Filter { ops, f })
    }

    /// Replaces each event by any number of events.
    pub fn flat_map<
        V: 'static,
        I: IntoIterator<Item = V>,
        F: Fn(U) -> I + Send + Sync + 'static,
    >(
        self,
        f: F,
    ) -> Partitioned<S, T, V, O, FlatMap<P, F, U>> {
        self.then(|ops| FlatMap {
            ops,
            f,
            _b: PhantomData,
        })
    }

    /// Folds each partition into an accumulator started by `init`; each accumulator is
    /// emitted once all of its partition's inputs have completed.
    pub fn reduce<A: Event, I, F>(self, init: I, fold: F) -> Reduced<Self, I, F>
    where
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&mut A, U) + Send + Sync + 'static,
    {
        Reduced {
            partitioned: self,
            init,
            fold: Arc::new(fold),
        }
    }
}

/// A partitioned flow reduced into one accumulator per partition (made by `init`, folded by
/// `fold`).
pub struct Reduced<P, I, F> {
    partitioned: P,
    init: I,
    fold: Arc<F>,
}

impl<P, I, F> std::fmt::Debug for Reduced<P, I, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reduced").finish_non_exhaustive()
    }
}

/// The reducer stage's handler: folds events, emits the accumulator at completion.
struct Reducer<A, P, F, U> {
    acc: Option<A>,
    ops: Arc<P>,
    fold: Arc<F>,
    salvage: Arc<Mutex<Vec<A>>>,
    _u: PhantomData<fn(U)>,
}

impl<T, U: 'static, A: Event, P: Ops<T, U>, F: Fn(&mut A, U) + Send + Sync + 'static> Handler<T, A>
    for Reducer<A, P, F, U>
{
    #[inline]
    fn handle(&mut self, event: T, _out: &mut Vec<A>) {
        let acc = self.acc.as_mut().expect("accumulator present until finish");
        let fold = &*self.fold;
        self.ops.apply(event, &mut |u| fold(acc, u));
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

impl<S, T, U, A, O, P, I, F> Reduced<Partitioned<S, T, U, O, P>, I, F>
where
    S: Event,
    T: Event,
    U: 'static,
    A: Event,
    O: Ops<S, T>,
    P: Ops<T, U>,
    I: Fn() -> A + Send + Sync + 'static,
    F: Fn(&mut A, U) + Send + Sync + 'static,
{
    /// Runs the flow and returns one accumulator per partition. If the run is stopped first,
    /// returns the partial accumulators instead.
    pub fn collect(self) -> Vec<A> {
        let Partitioned {
            flow,
            hash,
            stages: partitions,
            ops: reduce_ops,
            ..
        } = self.partitioned;
        let settings = flow.settings;
        let pipe = flow.pipeline.clone();
        if settings.refused(&pipe) {
            return Vec::new();
        }
        let salvage = Arc::new(Mutex::new(Vec::new()));
        let reduce_ops = Arc::new(reduce_ops);
        let mut collector = Consumer::new(&pipe, "collector", Vec::new(), |v: &mut Vec<A>, a| {
            v.push(a)
        });
        let (mappers, reducers) = flow.mappers(
            // The flow's own key function, not a closure calling it (one dynamic call per
            // event, not two).
            || Dispatch::Partition {
                partitions,
                hash: hash.clone(),
            },
            |mappers| {
                (0..partitions)
                    .map(|p| {
                        let mut r = ProducerConsumer::new(
                            &pipe,
                            format!("reducer {}", p + 1),
                            Reducer {
                                acc: Some((self.init)()),
                                ops: reduce_ops.clone(),
                                fold: self.fold.clone(),
                                salvage: salvage.clone(),
                                _u: PhantomData,
                            },
                            Dispatch::Demand,
                        );
                        for m in mappers.iter_mut() {
                            r.subscribe(m, settings.subscription().partition(p))
                                .expect(SETTINGS_CHECKED);
                        }
                        collector
                            .subscribe(&mut r, settings.subscription())
                            .expect(SETTINGS_CHECKED);
                        r
                    })
                    .collect::<Vec<_>>()
            },
        );
        let reducers: Vec<_> = reducers.into_iter().map(|r| r.start()).collect();
        let mut out = collector.start().join().unwrap_or_default();
        for w in mappers.into_iter().chain(reducers) {
            w.join();
        }
        out.extend(std::mem::take(&mut *salvage.lock()));
        out
    }
}
