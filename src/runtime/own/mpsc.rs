//! tokio's `mpsc` channels, instrumented in place: [`channel`] and [`unbounded_channel`] make
//! the same channel `tokio::sync::mpsc` makes, and their ends have the same methods, errors,
//! capacity, permits, closing and drop behaviour, with no proxy task and no extra buffer. Each
//! channel shows as a queue between the stages that use it; a send (or `reserve`) that waits
//! on a full channel is the sending stage's backpressured time, a receive that waits on an
//! empty one the receiving stage's idle time.
//!
//! Changing `mpsc::channel(64)` into `mpsc::channel(&profiler, "lines", 64)` (with
//! `use palavriado::channel::mpsc;`) is the whole change at a channel.

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc as tokio_mpsc;

use crate::runtime::control::Pipeline;
use crate::runtime::own::counting::{Counts, LastStage, Named};

/// The errors, tokio's own.
pub mod error {
    pub use tokio::sync::mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
}
use error::{SendError, SendTimeoutError, TryRecvError, TrySendError};

/// A channel of at most `buffer` messages, as `tokio::sync::mpsc::channel` (which panics on a
/// `buffer` of 0, and so does this), counted as the channel `name` of `pipeline` (a
/// [`crate::Profiler`] or a [`Pipeline`]).
pub fn channel<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
    buffer: usize,
) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tokio_mpsc::channel(buffer);
    let counts = Counts::register(pipeline, name.into(), Some(buffer));
    (
        Sender {
            inner: tx,
            end: End::new(counts.clone()),
        },
        Receiver {
            inner: rx,
            end: End::new(counts),
            waiting: false,
        },
    )
}

/// A channel without a bound, as `tokio::sync::mpsc::unbounded_channel`, counted as the channel
/// `name` of `pipeline`.
pub fn unbounded_channel<T>(
    pipeline: &impl AsRef<Pipeline>,
    name: impl Into<Named<T>>,
) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = tokio_mpsc::unbounded_channel();
    let counts = Counts::register(pipeline, name.into(), None);
    (
        UnboundedSender {
            inner: tx,
            end: End::new(counts.clone()),
        },
        UnboundedReceiver {
            inner: rx,
            end: End::new(counts),
            waiting: false,
        },
    )
}

/// One end's counting: the channel's counts and the stage it last counted for.
struct End<T> {
    counts: Arc<Counts<T>>,
    last: LastStage,
}

impl<T> End<T> {
    fn new(counts: Arc<Counts<T>>) -> Self {
        Self {
            counts,
            last: LastStage::default(),
        }
    }

    /// Sends `value` with `send`, counting it if `ok` says it went in.
    fn send_now<R>(&self, value: T, send: impl FnOnce(T) -> R, ok: impl Fn(&R) -> bool) -> R {
        let bytes = self.counts.weigh(&value);
        let r = send(value);
        if ok(&r) {
            self.counts.sent(bytes, &self.last);
        }
        r
    }

    fn took(&self, msg: &T) {
        self.counts.received(self.counts.weigh(msg), &self.last);
    }

    /// A poll of a receive: counts what came, and marks the stage idle while it waits on an
    /// empty channel (`waiting` remembers it across polls).
    fn poll_took<O>(
        &self,
        poll: Poll<O>,
        waiting: &mut bool,
        empty: impl FnOnce() -> bool,
        took: impl FnOnce(&O),
    ) -> Poll<O> {
        match poll {
            Poll::Ready(out) => {
                if std::mem::take(waiting) {
                    self.counts.resumes(false);
                }
                took(&out);
                Poll::Ready(out)
            }
            Poll::Pending => {
                if !*waiting && empty() {
                    *waiting = true;
                    self.counts.waits(false);
                }
                Poll::Pending
            }
        }
    }

    /// A receive future dropped while it waited: the stage is no longer idle.
    fn stop_waiting(&self, waiting: &mut bool) {
        if std::mem::take(waiting) {
            self.counts.resumes(false);
        }
    }
}

impl<T> Clone for End<T> {
    fn clone(&self) -> Self {
        Self {
            counts: self.counts.clone(),
            last: self.last.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A send or reserve of tokio's: while it waits on a full channel, its stage is
    /// backpressured, until it ends or is dropped. Built in place around tokio's future (no
    /// async block around it: a send is a few tens of nanoseconds, and moving futures about
    /// would be a good part of them).
    struct Backpressured<'a, T, F> {
        #[pin]
        future: F,
        room: &'a tokio_mpsc::Sender<T>,
        wait: SendWait<'a, T>,
    }
}

impl<'a, T, F: Future> Backpressured<'a, T, F> {
    fn new(future: F, room: &'a tokio_mpsc::Sender<T>, end: &'a End<T>) -> Self {
        Self {
            future,
            room,
            wait: SendWait {
                counts: &end.counts,
                waiting: false,
            },
        }
    }
}

impl<T, F: Future> Future for Backpressured<'_, T, F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = this.future.poll(cx);
        let wait = this.wait;
        if out.is_ready() {
            wait.stop();
        } else if !wait.waiting && this.room.capacity() == 0 {
            wait.waiting = true;
            wait.counts.waits(true);
        }
        out
    }
}

/// A send waiting on a full channel: its stage is backpressured until it ends or is dropped.
struct SendWait<'a, T> {
    counts: &'a Counts<T>,
    waiting: bool,
}

impl<T> SendWait<'_, T> {
    fn stop(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.counts.resumes(true);
        }
    }
}

impl<T> Drop for SendWait<'_, T> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What both kinds of sender share (closing, counts, `downgrade`), and their weak sender
/// (`upgrade` gives the sender back while another lives).
macro_rules! sender_and_weak {
    ($(#[$doc:meta])* $weak:ident, $strong:ident) => {
        $(#[$doc])*
        pub struct $weak<T> {
            inner: tokio_mpsc::$weak<T>,
            end: End<T>,
        }

        impl<T> $strong<T> {
            /// Completes when the receiver is gone (or closed).
            pub async fn closed(&self) {
                self.inner.closed().await;
            }

            /// True when the receiver is gone (or closed).
            pub fn is_closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// True when both send into the same channel.
            pub fn same_channel(&self, other: &Self) -> bool {
                self.inner.same_channel(&other.inner)
            }

            /// Senders alive.
            pub fn strong_count(&self) -> usize {
                self.inner.strong_count()
            }

            /// Weak senders alive.
            pub fn weak_count(&self) -> usize {
                self.inner.weak_count()
            }

            /// A sender that does not keep the channel open (`upgrade` gives a sender back
            /// while another lives).
            pub fn downgrade(&self) -> $weak<T> {
                $weak {
                    inner: self.inner.downgrade(),
                    end: self.end.clone(),
                }
            }
        }

        impl<T> Clone for $strong<T> {
            fn clone(&self) -> Self {
                Self {
                    inner: self.inner.clone(),
                    end: self.end.clone(),
                }
            }
        }

        impl<T> std::fmt::Debug for $strong<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($strong))
                    .field("channel", &self.end.counts.probe().name)
                    .finish_non_exhaustive()
            }
        }

        impl<T> $weak<T> {
            /// A sender, if the channel still has one.
            pub fn upgrade(&self) -> Option<$strong<T>> {
                Some($strong {
                    inner: self.inner.upgrade()?,
                    end: self.end.clone(),
                })
            }

            /// Senders alive.
            pub fn strong_count(&self) -> usize {
                self.inner.strong_count()
            }

            /// Weak senders alive.
            pub fn weak_count(&self) -> usize {
                self.inner.weak_count()
            }
        }

        impl<T> Clone for $weak<T> {
            fn clone(&self) -> Self {
                Self {
                    inner: self.inner.clone(),
                    end: self.end.clone(),
                }
            }
        }

        impl<T> std::fmt::Debug for $weak<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($weak))
                    .field("channel", &self.end.counts.probe().name)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The sending end of a bounded channel (`tokio::sync::mpsc::Sender`'s methods).
pub struct Sender<T> {
    inner: tokio_mpsc::Sender<T>,
    end: End<T>,
}

impl<T> Sender<T> {
    /// Sends, waiting while the channel is full (the stage's backpressured time); the value
    /// comes back if the receiver is gone.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        // What tokio's `send` is: a reserve, then a send into the room it holds.
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends without waiting: `Full` or `Closed`, the value in the error.
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.end
            .send_now(message, |m| self.inner.try_send(m), Result::is_ok)
    }

    /// Sends, waiting at most `timeout` while the channel is full.
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let bytes = self.end.counts.weigh(&value);
        let sent = Backpressured::new(
            self.inner.send_timeout(value, timeout),
            &self.inner,
            &self.end,
        )
        .await;
        if sent.is_ok() {
            self.end.counts.sent(bytes, &self.end.last);
        }
        sent
    }

    /// Sends from outside any runtime, blocking the thread while the channel is full; panics
    /// inside an asynchronous context, as tokio's does.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        let bytes = self.end.counts.weigh(&value);
        let full = self.inner.capacity() == 0;
        if full {
            self.end.counts.waits(true);
        }
        let r = self.inner.blocking_send(value);
        if full {
            self.end.counts.resumes(true);
        }
        if r.is_ok() {
            self.end.counts.sent(bytes, &self.end.last);
        }
        r
    }

    /// Waits for room for one message (backpressured while the channel is full) and holds it.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        let permit = Backpressured::new(self.inner.reserve(), &self.inner, &self.end).await?;
        Ok(Permit {
            inner: permit,
            end: &self.end,
        })
    }

    /// Holds room for one message if there is some now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let permit = self.inner.try_reserve()?;
        Ok(Permit {
            inner: permit,
            end: &self.end,
        })
    }

    /// As [`Sender::reserve`], the permit owning the sender.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        let Self { inner, end } = self;
        let room = inner.clone();
        let permit = Backpressured::new(inner.reserve_owned(), &room, &end).await?;
        Ok(OwnedPermit { inner: permit, end })
    }

    /// As [`Sender::try_reserve`], the permit owning the sender; the sender comes back in the
    /// error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        let Self { inner, end } = self;
        match inner.try_reserve_owned() {
            Ok(permit) => Ok(OwnedPermit { inner: permit, end }),
            Err(TrySendError::Full(inner)) => Err(TrySendError::Full(Self { inner, end })),
            Err(TrySendError::Closed(inner)) => Err(TrySendError::Closed(Self { inner, end })),
        }
    }

    /// Room left now (the bound less messages and held permits).
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The channel's bound.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }
}

sender_and_weak!(
    /// A sender that does not keep the channel open (`tokio::sync::mpsc::WeakSender`'s
    /// methods).
    WeakSender,
    Sender
);

/// Room for one message, held ([`Sender::reserve`]).
pub struct Permit<'a, T> {
    inner: tokio_mpsc::Permit<'a, T>,
    end: &'a End<T>,
}

impl<T> Permit<'_, T> {
    /// Sends into the held room (never waits, never fails).
    pub fn send(self, value: T) {
        let Self { inner, end } = self;
        end.send_now(value, |v| inner.send(v), |_| true);
    }
}

impl<T> std::fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// Room for one message, held, owning the sender ([`Sender::reserve_owned`]).
pub struct OwnedPermit<T> {
    inner: tokio_mpsc::OwnedPermit<T>,
    end: End<T>,
}

impl<T> OwnedPermit<T> {
    /// Sends into the held room and gives the sender back.
    pub fn send(self, value: T) -> Sender<T> {
        let Self { inner, end } = self;
        let inner = end.send_now(value, |v| inner.send(v), |_| true);
        Sender { inner, end }
    }

    /// Lets the room go and gives the sender back.
    pub fn release(self) -> Sender<T> {
        Sender {
            inner: self.inner.release(),
            end: self.end,
        }
    }
}

impl<T> std::fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// The receiving end of a bounded channel (`tokio::sync::mpsc::Receiver`'s methods).
pub struct Receiver<T> {
    inner: tokio_mpsc::Receiver<T>,
    end: End<T>,
    /// A receive is waiting on an empty channel (the stage is idle).
    waiting: bool,
}

/// The receiving end of a channel, either kind: what its methods share.
macro_rules! receiving {
    ($receiver:ident) => {
        impl<T> $receiver<T> {
            /// Receives, waiting while the channel is empty (the stage's idle time); `None`
            /// once every sender is gone (or it was closed) and the channel is empty.
            pub async fn recv(&mut self) -> Option<T> {
                /// Dropped while it waited, the receive leaves its stage no longer idle.
                struct Recv<'a, T>(&'a mut $receiver<T>);
                impl<T> Drop for Recv<'_, T> {
                    fn drop(&mut self) {
                        let rx = &mut *self.0;
                        rx.end.stop_waiting(&mut rx.waiting);
                    }
                }
                let recv = Recv(self);
                poll_fn(|cx| recv.0.poll_recv(cx)).await
            }

            /// Receives up to `limit` messages into `buffer`, waiting while the channel is
            /// empty; 0 once it is closed and empty (or `limit` is 0).
            pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                let Self {
                    inner,
                    end,
                    waiting,
                } = self;
                let end = &*end;
                let guard = StopWaiting { end, waiting };
                let waiting = &mut *guard.waiting;
                poll_fn(|cx| {
                    let before = buffer.len();
                    let p = inner.poll_recv_many(cx, buffer, limit);
                    end.poll_took(
                        p,
                        waiting,
                        || inner.is_empty(),
                        |_| {
                            for m in &buffer[before..] {
                                end.took(m);
                            }
                        },
                    )
                })
                .await
            }

            /// Polls for a message, as tokio's: counts it, and the stage is idle while the
            /// channel is empty.
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                let Self {
                    inner,
                    end,
                    waiting,
                } = self;
                let p = inner.poll_recv(cx);
                end.poll_took(
                    p,
                    waiting,
                    || inner.is_empty(),
                    |m| {
                        if let Some(m) = m {
                            end.took(m)
                        }
                    },
                )
            }

            /// Receives without waiting: `Empty`, or `Disconnected` once every sender is gone
            /// and the channel is empty.
            pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                let m = self.inner.try_recv()?;
                self.end.took(&m);
                Ok(m)
            }

            /// Receives from outside any runtime, blocking the thread while the channel is
            /// empty; panics inside an asynchronous context, as tokio's does.
            pub fn blocking_recv(&mut self) -> Option<T> {
                let empty = self.inner.is_empty();
                if empty {
                    self.end.counts.waits(false);
                }
                let got = self.inner.blocking_recv();
                if empty {
                    self.end.counts.resumes(false);
                }
                if let Some(m) = &got {
                    self.end.took(m);
                }
                got
            }

            /// Closes the channel to senders; what is in it can still be received.
            pub fn close(&mut self) {
                self.inner.close();
            }

            /// True once closed, or every sender is gone.
            pub fn is_closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// True when the channel is empty.
            pub fn is_empty(&self) -> bool {
                self.inner.is_empty()
            }

            /// Messages in the channel.
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// Senders alive.
            pub fn sender_strong_count(&self) -> usize {
                self.inner.sender_strong_count()
            }

            /// Weak senders alive.
            pub fn sender_weak_count(&self) -> usize {
                self.inner.sender_weak_count()
            }
        }

        impl<T> Drop for $receiver<T> {
            /// What waits in the channel goes with the receiver.
            fn drop(&mut self) {
                self.end.counts.drop_receiver();
            }
        }

        impl<T> std::fmt::Debug for $receiver<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($receiver))
                    .field("channel", &self.end.counts.probe().name)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A receive dropped while waiting leaves its stage no longer idle.
struct StopWaiting<'a, T> {
    end: &'a End<T>,
    waiting: &'a mut bool,
}

impl<T> Drop for StopWaiting<'_, T> {
    fn drop(&mut self) {
        self.end.stop_waiting(self.waiting);
    }
}

receiving!(Receiver);
receiving!(UnboundedReceiver);

impl<T> Receiver<T> {
    /// Room left now.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The channel's bound.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }
}

/// The sending end of an unbounded channel (`tokio::sync::mpsc::UnboundedSender`'s methods).
pub struct UnboundedSender<T> {
    inner: tokio_mpsc::UnboundedSender<T>,
    end: End<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends (never waits); the value comes back if the receiver is gone.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.end
            .send_now(message, |m| self.inner.send(m), Result::is_ok)
    }
}

sender_and_weak!(
    /// A sender of an unbounded channel that does not keep it open
    /// (`tokio::sync::mpsc::WeakUnboundedSender`'s methods).
    WeakUnboundedSender,
    UnboundedSender
);

/// The receiving end of an unbounded channel (`tokio::sync::mpsc::UnboundedReceiver`'s methods).
pub struct UnboundedReceiver<T> {
    inner: tokio_mpsc::UnboundedReceiver<T>,
    end: End<T>,
    /// A receive is waiting on an empty channel (the stage is idle).
    waiting: bool,
}
