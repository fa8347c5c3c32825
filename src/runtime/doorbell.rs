//! A stage's doorbell: how a sleeping stage is woken when a message arrives, the run stops or
//! the simulated delay changes, on either executor.
//!
//! A mailbox stays silent while its owner is busy: a sender rings only when the owner has said
//! it is about to wait ([`Doorbell::arm`]), so a burst of messages to a busy stage costs no
//! wake-ups at all (tokio's own channels pay a wake-up path on every send). A ring is two
//! atomic operations and, when the owner waits, one wake-up of its task: no lock.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::Poll;

use atomic_waker::AtomicWaker;

/// A wake-up signal for one stage, safe to ring from any thread or task.
#[derive(Debug, Default)]
pub struct Doorbell {
    /// The owner armed the bell: the next ring wakes it.
    waiting: AtomicBool,
    /// The run itself rang (stop, delay change): whatever the owner waits for, it looks again.
    kicked: AtomicBool,
    waker: AtomicWaker,
}

impl Doorbell {
    /// Says the owner is about to wait: from now on a [`Doorbell::ring`] wakes it. The owner
    /// must look at what it waits for once more after arming, then [`Doorbell::wait`].
    #[inline]
    pub fn arm(&self) {
        // SeqCst (a locked exchange on x86): the owner's next look at its queue cannot be
        // ordered before this store, and a sender's ring after its push sees it.
        self.waiting.store(true, SeqCst);
    }

    /// Takes back an [`Doorbell::arm`] when the owner found what it waited for after all.
    #[inline]
    pub fn disarm(&self) {
        self.waiting
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Wakes the owner if it armed the bell (cheap when it did not: one load); true when it
    /// woke it.
    #[inline]
    pub fn ring(&self) -> bool {
        // On x86 the sender's push ends with a locked instruction, a full fence already.
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        std::sync::atomic::fence(SeqCst);
        if self.waiting.load(SeqCst) && self.waiting.swap(false, SeqCst) {
            self.waker.wake();
            true
        } else {
            false
        }
    }

    /// Wakes the owner whatever it is doing (a stop, a delay change): if it is not waiting, its
    /// next wait returns at once, and it looks again at why it was woken.
    pub fn ring_always(&self) {
        self.kicked.store(true, SeqCst);
        self.waiting.store(false, SeqCst);
        self.waker.wake();
    }

    /// Waits for a ring after [`Doorbell::arm`] (one that came before this call counts), or
    /// for the run's own ring.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            self.waker.register(cx.waker());
            if !self.waiting.load(SeqCst) || self.kicked.swap(false, SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Waits for the run's own ring only (a stop, a delay change): what a stage sleeping in
    /// the simulated delay listens to, deaf to messages meanwhile.
    pub async fn kicked(&self) {
        poll_fn(|cx| {
            self.waker.register(cx.waker());
            if self.kicked.swap(false, SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}
