//! A stage's doorbell: how a sleeping stage is woken when a message arrives, the run stops or
//! the simulated delay changes, on either executor.
//!
//! A mailbox stays silent while its owner is busy: a sender rings only when the owner has said
//! it is about to wait ([`Doorbell::arm`]), so a burst of messages to a busy stage costs no
//! wake-ups at all (tokio's own channels pay a wake-up path on every send).

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use tokio::sync::Notify;

/// A wake-up signal for one stage, safe to ring from any thread or task.
#[derive(Debug, Default)]
pub struct Doorbell {
    waiting: AtomicBool,
    notify: Notify,
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

    /// Wakes the owner if it armed the bell (cheap when it did not: one locked exchange).
    #[inline]
    pub fn ring(&self) {
        // On x86 the sender's push ends with a locked instruction, a full fence already.
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        std::sync::atomic::fence(SeqCst);
        if self.waiting.load(SeqCst) && self.waiting.swap(false, SeqCst) {
            self.notify.notify_one();
        }
    }

    /// Wakes the owner whatever it is doing (a stop, a delay change): if it is not waiting, its
    /// next wait returns at once, and it looks again at why it was woken.
    pub fn ring_always(&self) {
        self.waiting.store(false, SeqCst);
        self.notify.notify_one();
    }

    /// Waits for a ring (one that came after [`Doorbell::arm`] but before this call counts).
    pub async fn wait(&self) {
        self.notify.notified().await;
        self.waiting.store(false, SeqCst);
    }
}
