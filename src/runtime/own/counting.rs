//! What every instrumented channel counts, whichever channel it wraps: the channel's own probe
//! (its length, bytes, time in channel, messages in and out) and, for the stage on each end,
//! events in and out, its role, its links, and the time it waits on a full or empty channel.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::runtime::control::{Pipeline, RunControl};
use crate::runtime::event::Event;
use crate::runtime::own::stage::{end_stage, with_current};
use crate::runtime::probe::{StageKind, StageProbe, StageState, SubscriptionDemand};

/// A channel's name, and how to weigh what it carries.
///
/// A `&str` or `String` is a name (each message then weighs its own size); name a channel of
/// [`Event`]s with [`Named::events`] to count the heap its messages own too, or give any
/// weighing with [`Named::heap_bytes`].
pub struct Named<T> {
    name: String,
    heap_bytes: fn(&T) -> u64,
}

impl<T> std::fmt::Debug for Named<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Named").field("name", &self.name).finish()
    }
}

impl<T> Named<T> {
    /// A channel called `name` whose messages weigh their own size.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            heap_bytes: |_| 0,
        }
    }

    /// Counts `heap_bytes(message)` (the heap a message owns) in the bytes waiting in it.
    pub fn heap_bytes(mut self, heap_bytes: fn(&T) -> u64) -> Self {
        self.heap_bytes = heap_bytes;
        self
    }
}

impl<T: Event> Named<T> {
    /// A channel called `name` of [`Event`]s: the heap each one owns counts in its bytes.
    pub fn events(name: impl Into<String>) -> Self {
        Self::new(name).heap_bytes(Event::heap_bytes)
    }
}

impl<T> From<&str> for Named<T> {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl<T> From<String> for Named<T> {
    fn from(name: String) -> Self {
        Self::new(name)
    }
}

/// The counting side of one channel, shared by all its ends.
pub(crate) struct Counts<T> {
    probe: Arc<StageProbe>,
    ctl: Arc<RunControl>,
    heap_bytes: fn(&T) -> u64,
    /// Stages named after the channel's ends, for tasks and threads that use it without a
    /// handle.
    sender_stage: OnceLock<Arc<StageProbe>>,
    receiver_stage: OnceLock<Arc<StageProbe>>,
    /// Stages already linked to it: (probe address, sends).
    linked: Mutex<Vec<(usize, bool)>>,
    /// Receiving ends alive: the last gone, what waits in it is gone too.
    receivers: AtomicUsize,
}

/// The stage an end handle last counted for (a probe address, its low bit set for a sender),
/// so a handle used by one stage links it once.
#[derive(Debug, Default)]
pub(crate) struct LastStage(AtomicUsize);

impl Clone for LastStage {
    fn clone(&self) -> Self {
        Self(AtomicUsize::new(self.0.load(Relaxed)))
    }
}

impl<T> Counts<T> {
    /// Registers the channel `named` with `pipeline`; `capacity` `None` is unbounded.
    pub(crate) fn register(
        pipeline: &impl AsRef<Pipeline>,
        named: Named<T>,
        capacity: Option<usize>,
    ) -> Arc<Self> {
        let ctl = pipeline.as_ref().control().clone();
        let probe = ctl.register_stage(named.name, StageKind::Channel);
        probe.set_capacity(capacity);
        probe.set_mailbox_shape(size_of::<T>() as u64, true);
        // Until the sampler has seen its traffic: one message in 1,024 stamped for the time
        // in channel (a channel of a program's own may carry millions a second).
        probe.set_stamp_every(1024);
        probe.mark_open(true);
        Arc::new(Self {
            probe,
            ctl,
            heap_bytes: named.heap_bytes,
            sender_stage: OnceLock::new(),
            receiver_stage: OnceLock::new(),
            linked: Mutex::new(Vec::new()),
            receivers: AtomicUsize::new(1),
        })
    }

    /// The channel's probe.
    pub(crate) fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }

    /// Heap bytes `message` owns.
    #[inline]
    pub(crate) fn weigh(&self, message: &T) -> u64 {
        (self.heap_bytes)(message)
    }

    /// A message of `bytes` went in, sent by the caller's stage. Counted once it is in (never
    /// before: a send that waits or fails is never seen in the channel's length, which so
    /// never reads above the bound).
    #[inline]
    pub(crate) fn sent(&self, bytes: u64, last: &LastStage) {
        self.probe.mailbox_push(0, bytes);
        self.probe.add_in(1);
        self.with_stage(true, |stage| {
            stage.add_out(1);
            self.link(stage, true, last);
        });
    }

    /// A message of `bytes` came out, received by the caller's stage.
    #[inline]
    pub(crate) fn received(&self, bytes: u64, last: &LastStage) {
        self.probe.shared_pop(bytes);
        self.probe.add_out(1);
        self.with_stage(false, |stage| {
            stage.add_in(1);
            self.link(stage, false, last);
        });
    }

    /// The caller's stage waits on the channel: to send into it when `sends` (backpressured),
    /// else to receive from it (idle).
    #[inline]
    pub(crate) fn waits(&self, sends: bool) {
        let state = if sends {
            StageState::WaitingForDemand
        } else {
            StageState::WaitingForEvents
        };
        self.with_stage(sends, |stage| stage.set_state(state));
    }

    /// The caller's stage is done waiting.
    #[inline]
    pub(crate) fn resumes(&self, sends: bool) {
        self.with_stage(sends, |stage| stage.set_state(StageState::Running));
    }

    /// Another receiving end.
    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Relaxed);
    }

    /// A receiving end is gone: with the last one, what waits in the channel is gone.
    pub(crate) fn drop_receiver(&self) {
        if self.receivers.fetch_sub(1, Relaxed) == 1 {
            self.probe.close_mailbox();
            self.probe.mark_open(false);
        }
    }

    #[inline]
    fn with_stage<R>(&self, sends: bool, f: impl FnOnce(&StageProbe) -> R) -> R {
        with_current(&self.ctl, || self.end_stage(sends), f)
    }

    /// The stage named after an end (`lines sender`, `lines receiver`).
    #[cold]
    fn end_stage(&self, sends: bool) -> &StageProbe {
        let (cell, end) = if sends {
            (&self.sender_stage, "sender")
        } else {
            (&self.receiver_stage, "receiver")
        };
        cell.get_or_init(|| end_stage(&self.ctl, format!("{} {end}", self.probe.name)))
    }

    #[inline]
    fn link(&self, stage: &StageProbe, sends: bool, last: &LastStage) {
        let key = stage as *const StageProbe as usize | usize::from(sends);
        if last.0.load(Relaxed) != key {
            self.link_slow(stage, sends, key);
            last.0.store(key, Relaxed);
        }
    }

    /// Links a stage to the channel the first time it uses it: a sender subscribes the channel
    /// (the views draw it feeding the channel), the channel subscribes a receiver.
    #[cold]
    fn link_slow(&self, stage: &StageProbe, sends: bool, key: usize) {
        let mut linked = self.linked.lock();
        if linked.contains(&(key, sends)) {
            return;
        }
        linked.push((key, sends));
        stage.note_role(sends);
        let (from, to) = if sends {
            (stage, &*self.probe)
        } else {
            (&*self.probe, stage)
        };
        from.add_subscription(SubscriptionDemand {
            subscriber: to.name.clone(),
            outstanding: 0,
            queued: 0,
        });
        from.add_feed(&to.name);
    }
}
