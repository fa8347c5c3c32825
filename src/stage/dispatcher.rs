//! Dispatchers: how a producing stage hands its events to its subscribers (GenStage's
//! `DemandDispatcher`, `PartitionDispatcher` and `BroadcastDispatcher`).

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Event, Msg, batch_bytes};
use crate::mailbox::MailboxSender;
use crate::probe::{StageProbe, SubscriptionDemand};

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

impl<E> Dispatch<E> {
    /// Partition by a custom hash function.
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

struct Sub<E> {
    outlet: Outlet<E>,
    demand: u64,
    /// Events waiting for this subscriber (Partition: its partition's queue).
    queue: VecDeque<E>,
    done_sent: bool,
    gone: bool,
}

/// A dispatcher's state inside a running stage.
pub(crate) struct Dispatcher<E> {
    kind: Dispatch<E>,
    subs: Vec<Sub<E>>,
    /// Shared buffer (Demand, Broadcast).
    buffer: VecDeque<E>,
    /// Maximum events kept in buffers; beyond it the oldest are dropped (GenStage's
    /// `buffer_size`, `buffer_keep: :last`).
    cap: usize,
    dropped: u64,
    completing: bool,
    probe: Arc<StageProbe>,
    buffered_bytes: u64,
}

impl<E: Event> Dispatcher<E> {
    pub fn new(kind: Dispatch<E>, cap: usize, probe: Arc<StageProbe>) -> Self {
        Self {
            kind,
            subs: Vec::new(),
            buffer: VecDeque::new(),
            cap,
            dropped: 0,
            completing: false,
            probe,
            buffered_bytes: 0,
        }
    }

    /// Adds a subscriber; returns its index. For Partition, the subscriber's index must match
    /// the partition it takes.
    pub fn subscribe(&mut self, outlet: Outlet<E>) -> usize {
        self.subs.push(Sub {
            outlet,
            demand: 0,
            queue: VecDeque::new(),
            done_sent: false,
            gone: false,
        });
        self.probe.set_subscriptions(
            self.subs
                .iter()
                .map(|s| SubscriptionDemand {
                    subscriber: s.outlet.name.clone(),
                    outstanding: 0,
                    queued: 0,
                })
                .collect(),
        );
        self.subs.len() - 1
    }

    /// Checks that a Partition dispatcher has one subscriber per partition.
    pub fn validate(&self, stage: &str) -> Result<(), String> {
        if let Dispatch::Partition { partitions, .. } = &self.kind {
            for p in 0..*partitions {
                let n = self
                    .subs
                    .iter()
                    .filter(|s| s.outlet.partition == Some(p))
                    .count();
                if n != 1 {
                    return Err(format!(
                        "stage '{stage}': partition {p} has {n} subscribers, needs exactly 1"
                    ));
                }
            }
        }
        Ok(())
    }

    fn partition_sub(&self, p: usize) -> usize {
        self.subs
            .iter()
            .position(|s| s.outlet.partition == Some(p))
            .expect("validated: one subscriber per partition")
    }

    /// Events kept in the dispatcher's buffers.
    pub fn buffered(&self) -> usize {
        self.buffer.len() + self.subs.iter().map(|s| s.queue.len()).sum::<usize>()
    }

    /// Changes the buffer limit.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Bytes of the events kept in the buffers.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered_bytes
    }

    /// Events dropped because a buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Sum of the subscribers' outstanding demand.
    pub fn total_demand(&self) -> u64 {
        self.subs.iter().map(|s| s.demand).sum()
    }

    fn min_demand(&self) -> u64 {
        self.subs
            .iter()
            .filter(|s| !s.gone)
            .map(|s| s.demand)
            .min()
            .unwrap_or(0)
    }

    /// A subscriber asks for `n` more events. Waiting events are sent first; returns how many
    /// new events the stage should now produce for it (the demand passed upstream).
    pub fn ask(&mut self, sub: usize, n: u64) -> u64 {
        let before_min = self.min_demand();
        let before_buffered = self.buffered() as u64;
        self.subs[sub].demand += n;
        let upstream = match self.kind {
            Dispatch::Demand => {
                self.flush_shared();
                n.saturating_sub(before_buffered - self.buffered() as u64)
            }
            Dispatch::Partition { .. } => {
                let sent = self.flush_partition(sub);
                n - sent
            }
            Dispatch::Broadcast { .. } => {
                self.flush_shared();
                let after_min = self.min_demand();
                after_min
                    .saturating_sub(before_min)
                    .saturating_sub(before_buffered - self.buffered() as u64)
            }
        };
        self.after_change();
        upstream
    }

    /// Hands out new events: sent where there is demand, kept (per GenStage) where not.
    pub fn dispatch(&mut self, events: Vec<E>) {
        if events.is_empty() {
            return;
        }
        self.buffered_bytes += batch_bytes(&events);
        match &self.kind {
            Dispatch::Partition { partitions, hash } => {
                let n = *partitions as u64;
                let hash = hash.clone();
                for e in events {
                    let p = (hash(&e) % n) as usize;
                    let s = self.partition_sub(p);
                    self.subs[s].queue.push_back(e);
                }
                for s in 0..self.subs.len() {
                    self.flush_partition(s);
                }
            }
            _ => {
                self.buffer.extend(events);
                self.flush_shared();
            }
        }
        self.enforce_cap();
        self.after_change();
    }

    fn enforce_cap(&mut self) {
        let over = self.buffered().saturating_sub(self.cap);
        if over == 0 {
            return;
        }
        // Drop the oldest events of the fullest queues.
        let mut left = over;
        while left > 0 {
            let from_buffer = self.buffer.len();
            let (idx, len) = self
                .subs
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.queue.len()))
                .max_by_key(|&(_, l)| l)
                .unwrap_or((0, 0));
            let dropped = if from_buffer >= len {
                self.buffer.pop_front()
            } else {
                self.subs[idx].queue.pop_front()
            };
            match dropped {
                Some(e) => {
                    self.buffered_bytes = self
                        .buffered_bytes
                        .saturating_sub(e.heap_bytes() + std::mem::size_of::<E>() as u64);
                    left -= 1;
                }
                None => break,
            }
        }
        self.dropped += over as u64;
    }

    fn send(&mut self, sub: usize, events: Vec<E>) {
        let len = events.len() as u64;
        let bytes = batch_bytes(&events);
        self.buffered_bytes = self.buffered_bytes.saturating_sub(bytes);
        let s = &mut self.subs[sub];
        s.demand -= len;
        if s.gone {
            return;
        }
        let msg = Msg::Events {
            from: s.outlet.upstream_index,
            events,
            bytes,
        };
        if s.outlet.tx.send(msg).is_err() {
            s.gone = true;
        }
        self.probe.add_out(len);
    }

    /// Sends queued events of subscriber `sub`'s partition within its demand; returns how many.
    fn flush_partition(&mut self, sub: usize) -> u64 {
        let s = &mut self.subs[sub];
        let k = (s.demand as usize).min(s.queue.len());
        if k == 0 {
            return 0;
        }
        let batch: Vec<E> = s.queue.drain(..k).collect();
        self.send(sub, batch);
        k as u64
    }

    /// Demand/Broadcast: sends from the shared buffer while there is demand.
    fn flush_shared(&mut self) {
        match self.kind {
            Dispatch::Demand => loop {
                if self.buffer.is_empty() {
                    break;
                }
                let Some((best, demand)) = self
                    .subs
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.gone)
                    .map(|(i, s)| (i, s.demand))
                    .max_by_key(|&(i, d)| (d, std::cmp::Reverse(i)))
                else {
                    break;
                };
                if demand == 0 {
                    break;
                }
                let k = (demand as usize).min(self.buffer.len());
                let batch: Vec<E> = self.buffer.drain(..k).collect();
                self.send(best, batch);
            },
            Dispatch::Broadcast { clone } => {
                let k = (self.min_demand() as usize).min(self.buffer.len());
                if k == 0 || self.subs.is_empty() {
                    return;
                }
                let events: Vec<E> = self.buffer.drain(..k).collect();
                self.buffered_bytes = self.buffered_bytes.saturating_sub(batch_bytes(&events));
                for i in 0..self.subs.len() {
                    let s = &self.subs[i];
                    let mine: Vec<E> = match &s.outlet.filter {
                        Some(f) => events.iter().filter(|e| f(e)).map(clone).collect(),
                        None => events.iter().map(clone).collect(),
                    };
                    self.buffered_bytes += batch_bytes(&mine);
                    if mine.is_empty() {
                        self.subs[i].demand -= k as u64;
                    } else {
                        let skipped = (k - mine.len()) as u64;
                        self.subs[i].demand -= skipped;
                        self.send(i, mine);
                    }
                }
            }
            Dispatch::Partition { .. } => {}
        }
    }

    /// Marks the stage as finished: each subscriber gets a completion marker once the events
    /// waiting for it have been sent.
    pub fn complete(&mut self) {
        self.completing = true;
        self.after_change();
    }

    /// True once every subscriber has been sent its completion marker.
    pub fn all_done_sent(&self) -> bool {
        self.completing && self.subs.iter().all(|s| s.done_sent || s.gone)
    }

    fn after_change(&mut self) {
        if self.completing {
            let shared_empty = self.buffer.is_empty();
            for s in &mut self.subs {
                if !s.done_sent && shared_empty && s.queue.is_empty() {
                    s.done_sent = true;
                    if s.outlet
                        .tx
                        .send(Msg::Done {
                            from: s.outlet.upstream_index,
                        })
                        .is_err()
                    {
                        s.gone = true;
                    }
                }
            }
        }
        self.probe.set_demand(self.total_demand());
        for (i, s) in self.subs.iter().enumerate() {
            self.probe
                .set_subscription_demand(i, s.demand, s.queue.len() as u64);
        }
    }
}
