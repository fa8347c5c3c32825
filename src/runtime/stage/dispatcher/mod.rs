//! Dispatchers: how a producing stage hands its events to its subscribers (GenStage's
//! `DemandDispatcher`, `PartitionDispatcher` and `BroadcastDispatcher`, one file each). This
//! file holds what they share: the subscribers, their demand, sending and completion.

mod broadcast;
mod demand;
mod partition;

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Batch, Msg};
use crate::runtime::control::RunControl;
use crate::runtime::event::{Event, batch_bytes, event_bytes};
use crate::runtime::mailbox::MailboxSender;
use crate::runtime::probe::{StageProbe, SubscriptionDemand};

/// Maps an event to a partition index (taken modulo the partition count).
pub type PartitionFn<E> = Arc<dyn Fn(&E) -> u64 + Send + Sync>;
/// A Broadcast subscriber's filter: it receives only the events it accepts.
pub type Filter<E> = Arc<dyn Fn(&E) -> bool + Send + Sync>;

/// Which dispatcher a producing stage uses.
pub enum Dispatch<E> {
    /// Each batch goes to the subscriber with the most outstanding demand (the default).
    Demand,
    /// `partitions` partitions, one subscriber each; an event goes to partition
    /// `hash(event) mod partitions`.
    Partition {
        /// Number of partitions (and of subscribers).
        partitions: usize,
        /// The event's hash.
        hash: PartitionFn<E>,
    },
    /// Every event to every subscriber (each may filter); upstream demand is the smallest
    /// outstanding demand.
    Broadcast {
        /// How an event is copied for each subscriber.
        clone: fn(&E) -> E,
    },
}

impl<E> std::fmt::Debug for Dispatch<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dispatch::Demand => "Demand",
            Dispatch::Broadcast { .. } => "Broadcast",
            Dispatch::Partition { .. } => "Partition",
        })
    }
}

impl<E> Dispatch<E> {
    /// Partition by a custom hash function: each subscriber takes one partition
    /// ([`Subscription::partition`](crate::runtime::stage::Subscription::partition)).
    ///
    /// ```
    /// use palavriado::{Consumer, Dispatch, Producer, Subscription};
    /// let pipeline = palavriado::Pipeline::new();
    /// // Even numbers to partition 0, odd ones to partition 1.
    /// let mut numbers =
    ///     Producer::from_iter(&pipeline, "numbers", 0..10u64, Dispatch::partition_by(2, |n| n % 2));
    /// let consumers: Vec<_> = (0..2)
    ///     .map(|i| {
    ///         let mut c = Consumer::new(&pipeline, format!("part {i}"), Vec::new(), |v: &mut Vec<u64>, n| v.push(n));
    ///         c.subscribe(&mut numbers, Subscription::new().max_demand(4).partition(i))
    ///             .unwrap();
    ///         c
    ///     })
    ///     .collect();
    /// numbers.start();
    /// let got: Vec<Vec<u64>> = consumers.into_iter().map(|c| c.start().join().unwrap()).collect();
    /// assert_eq!(got[0], [0, 2, 4, 6, 8]);
    /// assert_eq!(got[1], [1, 3, 5, 7, 9]);
    /// ```
    pub fn partition_by(
        partitions: usize,
        hash: impl Fn(&E) -> u64 + Send + Sync + 'static,
    ) -> Self {
        Dispatch::Partition {
            partitions: partitions.max(1),
            hash: Arc::new(hash),
        }
    }

    /// Broadcast every event to every subscriber.
    pub fn broadcast() -> Self
    where
        E: Clone,
    {
        Dispatch::Broadcast { clone: E::clone }
    }
}

impl<E: std::hash::Hash> Dispatch<E> {
    /// Partition by a stable hash of the event (the same event always goes to the same partition).
    pub fn partition(partitions: usize) -> Self {
        Self::partition_by(partitions, |e: &E| {
            use std::hash::Hasher;
            let mut h = rustc_hash::FxHasher::default();
            e.hash(&mut h);
            h.finish()
        })
    }
}

/// One subscriber as the producing stage sees it.
pub(crate) struct Outlet<E> {
    /// The subscriber's mailbox.
    pub tx: MailboxSender<Msg<E>>,
    /// Index of this subscription in the subscriber's upstream list.
    pub upstream_index: usize,
    /// Broadcast filter.
    pub filter: Option<Filter<E>>,
    /// Partition this subscriber takes (Partition dispatcher).
    pub partition: Option<usize>,
    pub name: String,
}

pub(super) struct Sub<E> {
    outlet: Outlet<E>,
    demand: u64,
    /// Events waiting for this subscriber (Partition: its partition's queue).
    queue: VecDeque<E>,
    done_sent: bool,
    gone: bool,
}

/// A dispatcher's state inside a running stage.
///
/// Demand is recorded by [`Dispatcher::ask`] and acted on by [`Dispatcher::settle`], so a stage
/// that finds several asks in its mailbox answers them with one message per subscriber;
/// [`Dispatcher::wanted`] says how many new events the stage should make now.
pub(crate) struct Dispatcher<E> {
    kind: Dispatch<E>,
    subs: Vec<Sub<E>>,
    /// Subscriber index of each partition (Partition).
    partition_subs: Vec<usize>,
    /// Shared buffer (Demand, Broadcast).
    buffer: VecDeque<E>,
    /// Maximum events kept in buffers; beyond it the oldest are dropped (GenStage's
    /// `buffer_size`, `buffer_keep: :last`).
    cap: usize,
    dropped: u64,
    completing: bool,
    probe: Arc<StageProbe>,
    buffered_bytes: u64,
    /// Events asked for by every subscriber so far, and events handed to [`Self::dispatch`]
    /// (Partition: upstream demand is the sum of the asks, GenStage's `waiting`).
    asked: u64,
    dispatched: u64,
    /// Sum of the subscribers' outstanding demand.
    demand_total: u64,
    /// A send woke its subscriber since [`Dispatcher::take_woke`] was last asked.
    woke: bool,
    /// Subscribers whose demand or queue changed since the probe was last told (so a stage
    /// with hundreds of subscribers publishes only what changed).
    touched: Vec<usize>,
    is_touched: Vec<bool>,
}

/// The first `k` events of `queue`; the whole buffer, without a copy, when that is all of it and
/// it is a large batch or the buffer is not much larger (a partition queue that grew once keeps
/// its room rather than sending it away with a few events and allocating anew).
pub(super) fn take_front<E>(queue: &mut VecDeque<E>, k: usize) -> Batch<E> {
    if k == 1 {
        Batch::One(queue.pop_front().expect("k is at most the queue's length"))
    } else if k == queue.len() && (k >= 64 || queue.capacity() <= 2 * k + 8) {
        Batch::Many(Vec::from(std::mem::take(queue)))
    } else {
        // Popping into an exactly sized vector is cheaper than a drain for the small batches
        // fine-grained demand asks for.
        Batch::Many(
            (0..k)
                .map(|_| queue.pop_front().expect("k is at most the queue's length"))
                .collect(),
        )
    }
}

impl<E: Event> Dispatcher<E> {
    pub(crate) fn new(kind: Dispatch<E>, cap: usize, probe: Arc<StageProbe>) -> Self {
        Self {
            kind,
            subs: Vec::new(),
            partition_subs: Vec::new(),
            buffer: VecDeque::new(),
            cap,
            dropped: 0,
            completing: false,
            probe,
            buffered_bytes: 0,
            asked: 0,
            dispatched: 0,
            demand_total: 0,
            woke: false,
            touched: Vec::new(),
            is_touched: Vec::new(),
        }
    }

    /// Adds a subscriber; returns its index.
    pub(crate) fn subscribe(&mut self, outlet: Outlet<E>) -> usize {
        self.subs.push(Sub {
            outlet,
            demand: 0,
            queue: VecDeque::new(),
            done_sent: false,
            gone: false,
        });
        self.is_touched.push(false);
        let name = self.subs[self.subs.len() - 1].outlet.name.clone();
        self.probe.add_subscription(SubscriptionDemand {
            subscriber: name,
            outstanding: 0,
            queued: 0,
        });
        self.subs.len() - 1
    }

    /// Checks that a Partition dispatcher has exactly one subscriber per partition and indexes
    /// them; call once before the stage runs.
    pub(crate) fn validate(&mut self, stage: &str) -> Result<(), String> {
        if let Dispatch::Partition { partitions, .. } = &self.kind {
            let partitions = *partitions;
            self.index_partitions(stage, partitions)?;
        }
        Ok(())
    }

    /// Changes the buffer limit.
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Bytes of the events kept in the buffers.
    pub(crate) fn buffered_bytes(&self) -> u64 {
        self.buffered_bytes
    }

    /// Events kept in the dispatcher's buffers.
    pub(crate) fn buffered(&self) -> usize {
        self.buffer.len() + self.subs.iter().map(|s| s.queue.len()).sum::<usize>()
    }

    /// Sum of the subscribers' outstanding demand.
    pub(crate) fn total_demand(&self) -> u64 {
        self.demand_total
    }

    /// Notes that subscriber `sub`'s demand or queue changed.
    #[inline]
    pub(super) fn touch(&mut self, sub: usize) {
        if !self.is_touched[sub] {
            self.is_touched[sub] = true;
            self.touched.push(sub);
        }
    }

    pub(super) fn min_demand(&self) -> u64 {
        self.subs
            .iter()
            .filter(|s| !s.gone)
            .map(|s| s.demand)
            .min()
            .unwrap_or(0)
    }

    /// Records that subscriber `sub` asks for `n` more events (acted on by [`Self::settle`]).
    pub(crate) fn ask(&mut self, sub: usize, n: u64) {
        self.subs[sub].demand += n;
        self.demand_total += n;
        self.asked += n;
        self.touch(sub);
    }

    /// Warns (once, at the end of the stage) if events were dropped because a buffer was full.
    pub(crate) fn report_drops(&self, ctl: &RunControl) {
        if self.dropped > 0 {
            ctl.warn(format!(
                "stage '{}': buffer full, dropped the {} oldest events",
                self.probe.name, self.dropped
            ));
        }
    }

    /// Sends waiting events within the recorded demand.
    pub(crate) fn settle(&mut self) {
        match self.kind {
            Dispatch::Partition { .. } => {
                for s in 0..self.subs.len() {
                    self.flush_queue(s);
                }
            }
            Dispatch::Demand => self.flush_by_demand(),
            Dispatch::Broadcast { clone } => self.flush_broadcast(clone),
        }
        self.after_change();
    }

    /// How many new events the stage should make now. Demand: the subscribers' outstanding
    /// demand not already covered by buffered events; Broadcast: the smallest subscriber demand
    /// not covered. Partition (GenStage's): every ask passes upstream, so the stage makes
    /// exactly the sum of the asks; events for a partition without demand wait in its queue,
    /// which its subscriber's own asks bound (a backed-up partition slows all the others). This
    /// is the demand a producer-consumer passes upstream by handling input.
    pub(crate) fn wanted(&self) -> u64 {
        match self.kind {
            Dispatch::Demand => self.total_demand().saturating_sub(self.buffered() as u64),
            Dispatch::Partition { .. } => self.asked.saturating_sub(self.dispatched),
            Dispatch::Broadcast { .. } => self.min_demand().saturating_sub(self.buffered() as u64),
        }
    }

    /// Hands out new events, leaving `events` empty: sent where there is demand, kept (per
    /// GenStage) where not. The caller's vector keeps its capacity when the events are copied
    /// out, so a stage emitting into it does not regrow it for every batch.
    pub(crate) fn dispatch(&mut self, events: &mut Vec<E>) {
        if events.is_empty() {
            return;
        }
        self.dispatched += events.len() as u64;
        match &self.kind {
            Dispatch::Partition { partitions, hash } => {
                let (partitions, hash) = (*partitions, hash.clone());
                self.route(events, partitions, &hash);
            }
            _ => {
                self.buffered_bytes += batch_bytes(events);
                if self.buffer.is_empty() {
                    // Move the batch in whole: if one subscriber takes it all, it goes out
                    // without a copy.
                    let len = events.len();
                    self.buffer = std::mem::replace(events, Vec::with_capacity(len)).into();
                } else {
                    self.buffer.extend(events.drain(..));
                }
                match self.kind {
                    Dispatch::Broadcast { clone } => self.flush_broadcast(clone),
                    _ => self.flush_by_demand(),
                }
            }
        }
        self.enforce_cap();
        self.after_change();
    }

    fn enforce_cap(&mut self) {
        if self.cap == usize::MAX {
            // A producer-consumer's buffers are unbounded: nothing to count per dispatch
            // (summing every subscriber's queue costs a stage of 256 subscribers 256 loads).
            return;
        }
        let over = self.buffered().saturating_sub(self.cap);
        for _ in 0..over {
            // Drop the oldest event of the fullest queue.
            let fullest = (0..self.subs.len()).max_by_key(|&i| self.subs[i].queue.len());
            let dropped = match fullest {
                Some(i) if self.subs[i].queue.len() > self.buffer.len() => {
                    self.touch(i);
                    self.subs[i].queue.pop_front()
                }
                _ => self.buffer.pop_front(),
            };
            if let Some(e) = dropped {
                self.buffered_bytes = self.buffered_bytes.saturating_sub(event_bytes(&e));
                self.dropped += 1;
            }
        }
    }

    /// Sends `events` (weighing `bytes`, or unweighed when `None`) to subscriber `sub`.
    pub(super) fn send(&mut self, sub: usize, events: Batch<E>, bytes: Option<u64>) {
        let len = events.len() as u64;
        self.touch(sub);
        self.demand_total -= len;
        let s = &mut self.subs[sub];
        s.demand -= len;
        if s.gone {
            return;
        }
        let bytes = bytes.unwrap_or_else(|| batch_bytes(events.as_slice()));
        let msg = Msg::Events {
            from: s.outlet.upstream_index,
            events,
            bytes,
        };
        match s.outlet.tx.send_waking(msg) {
            Ok(woke) => self.woke |= woke,
            Err(_) => s.gone = true,
        }
        self.probe.add_out(len);
    }

    /// True when a send woke its subscriber since the last call: a stage that goes on working
    /// should then [`crate::runtime::executor::hand_off`], so the subscriber runs meanwhile.
    pub(crate) fn take_woke(&mut self) -> bool {
        std::mem::take(&mut self.woke)
    }

    /// Sends events taken out of a buffer (they stop counting as buffered).
    pub(super) fn send_buffered(&mut self, sub: usize, batch: Batch<E>) {
        let bytes = batch_bytes(batch.as_slice());
        self.buffered_bytes = self.buffered_bytes.saturating_sub(bytes);
        self.send(sub, batch, Some(bytes));
    }

    /// Marks the stage as finished: each subscriber gets a completion marker once the events
    /// waiting for it have been sent.
    pub(crate) fn complete(&mut self) {
        self.completing = true;
        self.after_change();
    }

    /// True once every subscriber has been sent its completion marker.
    pub(crate) fn all_done_sent(&self) -> bool {
        self.completing && self.subs.iter().all(|s| s.done_sent || s.gone)
    }

    fn after_change(&mut self) {
        if self.completing {
            let shared_empty = self.buffer.is_empty();
            for s in &mut self.subs {
                if !s.done_sent && shared_empty && s.queue.is_empty() {
                    s.done_sent = true;
                    let done = Msg::Done {
                        from: s.outlet.upstream_index,
                    };
                    if s.outlet.tx.send(done).is_err() {
                        s.gone = true;
                    }
                }
            }
        }
        self.probe.set_demand(self.demand_total);
        if !self.touched.is_empty() {
            let subs = &self.subs;
            self.probe.set_subscription_demands(
                self.touched
                    .iter()
                    .map(|&i| (i, subs[i].demand, subs[i].queue.len() as u64)),
            );
            for &i in &self.touched {
                self.is_touched[i] = false;
            }
            self.touched.clear();
        }
    }
}
