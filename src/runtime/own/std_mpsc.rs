//! The standard library's channels, instrumented in place: [`sync_channel`] (bounded) and
//! [`channel`] (unbounded) make the channel `std::sync::mpsc` makes, and their ends have the
//! same methods, errors, disconnection and iteration, with no extra buffer or thread. As with
//! the others, a send that waits on a full channel is the sending stage's backpressured time, a
//! receive that waits on an empty one the receiving stage's idle time.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::runtime::control::Pipeline;
use crate::runtime::own::counting::{
    Counts, LastStage, Named, Tried, channel_end, receiver_iterators,
};

/// A channel of at most `bound` messages (0: each send waits for a receive), as
/// `std::sync::mpsc::sync_channel`, counted as the channel `name` of `pipeline`.
pub fn sync_channel<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
    bound: usize,
) -> (SyncSender<T>, Receiver<T>) {
    let counts = Counts::register(pipeline, name.into(), Some(bound));
    let (tx, rx) = std_mpsc::sync_channel(bound);
    (
        SyncSender {
            inner: tx,
            counts: counts.clone(),
            last: LastStage::default(),
        },
        Receiver::new(rx, counts),
    )
}

/// A channel without a bound, as `std::sync::mpsc::channel`, counted as the channel `name` of
/// `pipeline`.
pub fn channel<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
) -> (Sender<T>, Receiver<T>) {
    let counts = Counts::register(pipeline, name.into(), None);
    let (tx, rx) = std_mpsc::channel();
    (
        Sender {
            inner: tx,
            counts: counts.clone(),
            last: LastStage::default(),
        },
        Receiver::new(rx, counts),
    )
}

/// The sending end of a bounded channel (`std::sync::mpsc::SyncSender`'s methods).
pub struct SyncSender<T> {
    inner: std_mpsc::SyncSender<T>,
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> SyncSender<T> {
    /// Sends, waiting while the channel is full (the stage's backpressured time); fails only
    /// when the receiver is gone.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.counts.send_or_wait(
            t,
            &self.last,
            |t| match self.inner.try_send(t) {
                Ok(()) => Tried::Done(()),
                Err(TrySendError::Full(t)) => Tried::Wait(t),
                Err(TrySendError::Disconnected(t)) => Tried::Failed(SendError(t)),
            },
            |t| self.inner.send(t),
        )
    }

    /// Sends without waiting: `Full`, or `Disconnected` when the receiver is gone.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        let bytes = self.counts.weigh(&t);
        self.inner.try_send(t)?;
        self.counts.sent(bytes, &self.last);
        Ok(())
    }
}

/// The sending end of an unbounded channel (`std::sync::mpsc::Sender`'s methods).
pub struct Sender<T> {
    inner: std_mpsc::Sender<T>,
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> Sender<T> {
    /// Sends (never waits); the value comes back if the receiver is gone.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        let bytes = self.counts.weigh(&t);
        self.inner.send(t)?;
        self.counts.sent(bytes, &self.last);
        Ok(())
    }
}

/// The receiving end (`std::sync::mpsc::Receiver`'s methods).
pub struct Receiver<T> {
    inner: std_mpsc::Receiver<T>,
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> Receiver<T> {
    fn new(inner: std_mpsc::Receiver<T>, counts: Arc<Counts<T>>) -> Self {
        Self {
            inner,
            counts,
            last: LastStage::default(),
        }
    }

    fn took(&self, t: &T) {
        self.counts.received(self.counts.weigh(t), &self.last);
    }

    /// A receive: without waiting first, then with `wait` while the channel is empty.
    fn recv_with<E>(
        &self,
        disconnected: E,
        wait: impl FnOnce(&std_mpsc::Receiver<T>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.counts.recv_or_wait(
            &self.last,
            || match self.inner.try_recv() {
                Ok(t) => Tried::Done(t),
                Err(TryRecvError::Empty) => Tried::Wait(()),
                Err(TryRecvError::Disconnected) => Tried::Failed(disconnected),
            },
            || wait(&self.inner),
        )
    }

    /// Receives, waiting while the channel is empty (the stage's idle time); fails once every
    /// sender is gone and the channel is empty.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_with(RecvError, std_mpsc::Receiver::recv)
    }

    /// Receives without waiting: `Empty`, or `Disconnected` once every sender is gone and the
    /// channel is empty.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let t = self.inner.try_recv()?;
        self.took(&t);
        Ok(t)
    }

    /// Receives, waiting at most `timeout` while the channel is empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_with(RecvTimeoutError::Disconnected, |rx| {
            rx.recv_timeout(timeout)
        })
    }
}

channel_end!(SyncSender, clone);
channel_end!(Sender, clone);
channel_end!(Receiver, receiver);
receiver_iterators!(Receiver);
