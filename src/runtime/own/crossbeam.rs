//! crossbeam's channels, instrumented in place: [`bounded`] and [`unbounded`] make the same
//! channel `crossbeam_channel` makes, and their ends have the same methods, errors, capacity,
//! disconnection and iteration, with no extra buffer or thread. Each channel shows as a queue
//! between the stages that use it; a send that waits on a full channel is the sending stage's
//! backpressured time, a receive that waits on an empty one the receiving stage's idle time.
//!
//! Changing `crossbeam_channel::bounded(64)` into `crossbeam::bounded(&profiler, "lines", 64)`
//! is the whole change at a channel; the error types are crossbeam's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

use crate::runtime::control::Pipeline;
use crate::runtime::own::counting::{
    Counts, LastStage, Named, Tried, channel_end, receiver_iterators,
};

/// A channel of at most `capacity` messages (0: each send waits for a receive), as
/// `crossbeam_channel::bounded`, counted as the channel `name` of `pipeline` (a
/// [`crate::Profiler`] or a [`Pipeline`]).
pub fn bounded<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
    capacity: usize,
) -> (Sender<T>, Receiver<T>) {
    let counts = Counts::register(pipeline, name.into(), Some(capacity));
    ends(crossbeam_channel::bounded(capacity), counts)
}

/// A channel without a bound, as `crossbeam_channel::unbounded`, counted as the channel `name`
/// of `pipeline`.
pub fn unbounded<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
) -> (Sender<T>, Receiver<T>) {
    let counts = Counts::register(pipeline, name.into(), None);
    ends(crossbeam_channel::unbounded(), counts)
}

fn ends<T>(
    (tx, rx): (crossbeam_channel::Sender<T>, crossbeam_channel::Receiver<T>),
    counts: Arc<Counts<T>>,
) -> (Sender<T>, Receiver<T>) {
    (
        Sender {
            inner: tx,
            counts: counts.clone(),
            last: LastStage::default(),
        },
        Receiver {
            inner: rx,
            counts,
            last: LastStage::default(),
        },
    )
}

/// The sending end (`crossbeam_channel::Sender`'s methods); clone it for each sender.
pub struct Sender<T> {
    inner: crossbeam_channel::Sender<T>,
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> Sender<T> {
    /// Sends without waiting: `Full` if the channel is full, `Disconnected` if every receiver
    /// is gone (the message comes back in the error).
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let bytes = self.counts.weigh(&msg);
        self.inner.try_send(msg)?;
        self.counts.sent(bytes, &self.last);
        Ok(())
    }

    /// Sends, waiting while the channel is full (the stage's backpressured time); fails only
    /// when every receiver is gone.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_until(msg, None).map_err(|e| match e {
            SendTimeoutError::Disconnected(m) | SendTimeoutError::Timeout(m) => SendError(m),
        })
    }

    /// Sends, waiting at most `timeout` while the channel is full.
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.send_until(msg, Some(deadline)),
            None => self
                .send(msg)
                .map_err(|SendError(m)| SendTimeoutError::Disconnected(m)),
        }
    }

    /// Sends, waiting until `deadline` at most while the channel is full.
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(msg, Some(deadline))
    }

    fn send_until(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        self.counts.send_or_wait(
            msg,
            &self.last,
            |m| match self.inner.try_send(m) {
                Ok(()) => Tried::Done(()),
                Err(TrySendError::Full(m)) => Tried::Wait(m),
                Err(TrySendError::Disconnected(m)) => {
                    Tried::Failed(SendTimeoutError::Disconnected(m))
                }
            },
            |m| match deadline {
                None => self
                    .inner
                    .send(m)
                    .map_err(|SendError(m)| SendTimeoutError::Disconnected(m)),
                Some(deadline) => self.inner.send_deadline(m, deadline),
            },
        )
    }
}

/// The receiving end (`crossbeam_channel::Receiver`'s methods); clones share the messages
/// (each goes to one of them), as crossbeam's do.
pub struct Receiver<T> {
    inner: crossbeam_channel::Receiver<T>,
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> Receiver<T> {
    fn took(&self, msg: &T) {
        self.counts.received(self.counts.weigh(msg), &self.last);
    }

    /// Receives without waiting: `Empty`, or `Disconnected` once every sender is gone and the
    /// channel is empty.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let msg = self.inner.try_recv()?;
        self.took(&msg);
        Ok(msg)
    }

    /// Receives, waiting while the channel is empty (the stage's idle time); fails once every
    /// sender is gone and the channel is empty.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Receives, waiting at most `timeout` while the channel is empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.recv_until(Some(deadline)),
            None => self.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }

    /// Receives, waiting until `deadline` at most while the channel is empty.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.counts.recv_or_wait(
            &self.last,
            || match self.inner.try_recv() {
                Ok(msg) => Tried::Done(msg),
                Err(TryRecvError::Empty) => Tried::Wait(()),
                Err(TryRecvError::Disconnected) => Tried::Failed(RecvTimeoutError::Disconnected),
            },
            || match deadline {
                None => self
                    .inner
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(deadline) => self.inner.recv_deadline(deadline),
            },
        )
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.counts.add_receiver();
        Self {
            inner: self.inner.clone(),
            counts: self.counts.clone(),
            last: self.last.clone(),
        }
    }
}

/// What both ends tell of the channel, as crossbeam's do.
macro_rules! queries {
    ($end:ident, $same:literal) => {
        impl<T> $end<T> {
            /// True when the channel is empty.
            pub fn is_empty(&self) -> bool {
                self.inner.is_empty()
            }

            /// True when the channel is full (an unbounded one never is).
            pub fn is_full(&self) -> bool {
                self.inner.is_full()
            }

            /// Messages in the channel.
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// Its capacity (`None`: unbounded).
            pub fn capacity(&self) -> Option<usize> {
                self.inner.capacity()
            }

            #[doc = $same]
            pub fn same_channel(&self, other: &$end<T>) -> bool {
                self.inner.same_channel(&other.inner)
            }
        }
    };
}
queries!(Sender, "True when both send into the same channel.");
queries!(Receiver, "True when both receive from the same channel.");

channel_end!(Sender, clone);
channel_end!(Receiver, receiver);
receiver_iterators!(Receiver);
