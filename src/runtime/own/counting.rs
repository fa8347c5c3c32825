//! What every instrumented channel counts, whichever channel it wraps: the channel's own probe
//! (its length, bytes, time in channel, messages in and out) and, for the stage on each end,
//! events in and out, its role, its links, and the time it waits on a full or empty channel.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::runtime::control::{Pipeline, RunControl};
use crate::runtime::event::Event;
use crate::runtime::own::stage::{own_stage, with_current, with_waiting};
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

/// What a try at a channel operation did: done, or it would wait (keeping what it tried
/// with), or it failed for good.
pub(crate) enum Tried<D, W, E> {
    /// Done: the message went in, or this came out.
    Done(D),
    /// It would wait: the channel is full (the message comes back) or empty.
    Wait(W),
    /// Failed, not for want of room or messages (the other side is gone).
    Failed(E),
}

/// What every end of an instrumented channel has: `Debug` naming its channel, `Clone` for a
/// sending end (`clone`), and for a receiving end (`receiver`) the drop that lets what waits in
/// the channel go with the last one. An end has `inner`, `counts` and `last`.
macro_rules! channel_end {
    ($end:ident) => {
        impl<T> std::fmt::Debug for $end<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($end))
                    .field("channel", &self.counts.probe().name)
                    .finish_non_exhaustive()
            }
        }
    };
    ($end:ident, clone) => {
        $crate::runtime::own::counting::channel_end!($end);
        impl<T> Clone for $end<T> {
            fn clone(&self) -> Self {
                Self {
                    inner: self.inner.clone(),
                    counts: self.counts.clone(),
                    last: self.last.clone(),
                }
            }
        }
    };
    ($end:ident, receiver) => {
        $crate::runtime::own::counting::channel_end!($end);
        impl<T> Drop for $end<T> {
            /// What waits in the channel goes with the last receiver.
            fn drop(&mut self) {
                self.counts.drop_receiver();
            }
        }
    };
}
pub(crate) use channel_end;

/// The iterators of a blocking receiving end with `recv` and `try_recv` (crossbeam's and std's
/// have the same), as the originals have them.
macro_rules! receiver_iterators {
    ($receiver:ident) => {
        impl<T> $receiver<T> {
            /// Receives until every sender is gone and the channel is empty.
            pub fn iter(&self) -> Iter<'_, T> {
                Iter { rx: self }
            }

            /// Receives what is in the channel now, without waiting.
            pub fn try_iter(&self) -> TryIter<'_, T> {
                TryIter { rx: self }
            }
        }

        /// Receives until every sender is gone ([`Receiver::iter`]).
        #[derive(Debug)]
        pub struct Iter<'a, T> {
            rx: &'a $receiver<T>,
        }

        impl<T> Iterator for Iter<'_, T> {
            type Item = T;
            fn next(&mut self) -> Option<T> {
                self.rx.recv().ok()
            }
        }

        /// Receives what is there now ([`Receiver::try_iter`]).
        #[derive(Debug)]
        pub struct TryIter<'a, T> {
            rx: &'a $receiver<T>,
        }

        impl<T> Iterator for TryIter<'_, T> {
            type Item = T;
            fn next(&mut self) -> Option<T> {
                self.rx.try_recv().ok()
            }
        }

        /// Receives until every sender is gone, owning the receiver.
        #[derive(Debug)]
        pub struct IntoIter<T> {
            rx: $receiver<T>,
        }

        impl<T> Iterator for IntoIter<T> {
            type Item = T;
            fn next(&mut self) -> Option<T> {
                self.rx.recv().ok()
            }
        }

        impl<T> IntoIterator for $receiver<T> {
            type Item = T;
            type IntoIter = IntoIter<T>;
            fn into_iter(self) -> IntoIter<T> {
                IntoIter { rx: self }
            }
        }

        impl<'a, T> IntoIterator for &'a $receiver<T> {
            type Item = T;
            type IntoIter = Iter<'a, T>;
            fn into_iter(self) -> Iter<'a, T> {
                self.iter()
            }
        }
    };
}
pub(crate) use receiver_iterators;

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

    /// The caller's stage is done waiting (a wait dropped where no stage runs, as when a runtime
    /// drops its tasks, makes no stage up).
    #[inline]
    pub(crate) fn resumes(&self, sends: bool) {
        let existing = if sends {
            &self.sender_stage
        } else {
            &self.receiver_stage
        };
        with_waiting(&self.ctl, existing.get().map(|s| &**s), |stage| {
            stage.set_state(StageState::Running)
        });
    }

    /// A blocking send: `try_send` first; when the channel is full, `wait` sends, the stage
    /// backpressured meanwhile. Counted once the message is in.
    pub(crate) fn send_or_wait<E>(
        &self,
        msg: T,
        last: &LastStage,
        try_send: impl FnOnce(T) -> Tried<(), T, E>,
        wait: impl FnOnce(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let bytes = self.weigh(&msg);
        let msg = match try_send(msg) {
            Tried::Done(()) => {
                self.sent(bytes, last);
                return Ok(());
            }
            Tried::Failed(e) => return Err(e),
            Tried::Wait(msg) => msg,
        };
        self.waits(true);
        let sent = wait(msg);
        self.resumes(true);
        if sent.is_ok() {
            self.sent(bytes, last);
        }
        sent
    }

    /// A blocking receive: `try_recv` first; when the channel is empty, `wait` receives, the
    /// stage idle meanwhile. Counted once the message is out.
    pub(crate) fn recv_or_wait<E>(
        &self,
        last: &LastStage,
        try_recv: impl FnOnce() -> Tried<T, (), E>,
        wait: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let got = match try_recv() {
            Tried::Done(msg) => Ok(msg),
            Tried::Failed(e) => return Err(e),
            Tried::Wait(()) => {
                self.waits(false);
                let got = wait();
                self.resumes(false);
                got
            }
        };
        if let Ok(msg) = &got {
            self.received(self.weigh(msg), last);
        }
        got
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
        cell.get_or_init(|| own_stage(&self.ctl, format!("{} {end}", self.probe.name)))
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
