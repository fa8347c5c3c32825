//! Instrumented unbounded mailboxes: a channel whose length, events and bytes are live counters
//! of the owning stage's [`StageProbe`].

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::probe::StageProbe;

/// How much a message weighs in a mailbox: how many events it carries and the heap bytes it holds.
///
/// A message's own size (`size_of::<T>()`) is counted per message by the mailbox; `heap_bytes`
/// adds what it owns beyond that, so one-event inline messages cost a single counter update.
pub trait Weigh {
    /// True when every message is exactly one event (the events counter is then not kept).
    const SINGLE_EVENT: bool = false;
    /// Events in the message (1 for a single line or word, n for a batch).
    fn events(&self) -> u64 {
        1
    }
    /// Heap bytes the message owns.
    fn heap_bytes(&self) -> u64;
}

impl Weigh for String {
    const SINGLE_EVENT: bool = true;
    fn heap_bytes(&self) -> u64 {
        self.capacity() as u64
    }
}

impl Weigh for crate::words::Word {
    const SINGLE_EVENT: bool = true;
    fn heap_bytes(&self) -> u64 {
        crate::words::Word::heap_bytes(self)
    }
}

#[inline(always)]
fn weight<T: Weigh>(msg: &T) -> (u64, u64) {
    let events = if T::SINGLE_EVENT { 0 } else { msg.events() };
    (events, msg.heap_bytes())
}

/// The sending side of a mailbox; cheap to clone.
pub struct MailboxSender<T> {
    tx: Sender<T>,
    probe: Arc<StageProbe>,
}

impl<T> Clone for MailboxSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            probe: self.probe.clone(),
        }
    }
}

/// The receiving side of a mailbox, owned by its stage.
pub struct MailboxReceiver<T> {
    rx: Receiver<T>,
    probe: Arc<StageProbe>,
}

/// Creates an unbounded mailbox whose counters live in `probe`.
pub fn mailbox<T: Weigh>(probe: Arc<StageProbe>) -> (MailboxSender<T>, MailboxReceiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    probe.set_mailbox_shape(std::mem::size_of::<T>() as u64, T::SINGLE_EVENT);
    (
        MailboxSender {
            tx,
            probe: probe.clone(),
        },
        MailboxReceiver { rx, probe },
    )
}

impl<T: Weigh> MailboxSender<T> {
    /// Queues a message; returns it back if the receiver is gone.
    #[inline]
    pub fn send(&self, msg: T) -> Result<(), T> {
        let (e, b) = weight(&msg);
        self.probe.mailbox_push(e, b);
        self.tx.send(msg).map_err(|err| {
            self.probe.mailbox_unpush(e, b);
            err.into_inner()
        })
    }

    /// The probe of the stage that owns this mailbox.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }
}

impl<T: Weigh> MailboxReceiver<T> {
    /// The probe of the stage that owns this mailbox.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }

    #[inline]
    fn took(&self, msg: T) -> T {
        let (e, b) = weight(&msg);
        self.probe.mailbox_pop(e, b);
        msg
    }

    /// Waits up to `timeout` for a message. `Err(true)` means every sender is gone.
    #[inline]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, bool> {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => Ok(self.took(m)),
            Err(RecvTimeoutError::Timeout) => Err(false),
            Err(RecvTimeoutError::Disconnected) => Err(true),
        }
    }

    /// True when no message can be waiting: every message counted as sent has been taken. Two
    /// plain loads, so a stage polling its mailbox skips the channel when nothing came; it is a
    /// hint (a message being sent right now may be missed), never a reason to stop waiting.
    #[inline]
    pub fn looks_empty(&self) -> bool {
        self.probe.mailbox_len() == 0
    }

    /// Takes a message if one is waiting. `Err(true)` means every sender is gone.
    #[inline]
    pub fn try_recv(&self) -> Result<T, bool> {
        match self.rx.try_recv() {
            Ok(m) => Ok(self.took(m)),
            Err(TryRecvError::Empty) => Err(false),
            Err(TryRecvError::Disconnected) => Err(true),
        }
    }

    /// Drops every waiting message (on stop), keeping the counters right.
    pub fn drain(&self) {
        while let Ok(m) = self.rx.try_recv() {
            drop(self.took(m));
        }
    }
}

impl<T> Drop for MailboxReceiver<T> {
    /// A finished stage's mailbox is closed: whatever is still sent to it is discarded and it
    /// reads as empty from now on.
    fn drop(&mut self) {
        self.probe.close_mailbox();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::StageKind;

    #[test]
    fn counters_follow_sends_and_receives() {
        let probe = Arc::new(StageProbe::new("stage", StageKind::Consumer));
        let (tx, rx) = mailbox::<String>(probe.clone());
        let other = tx.clone();
        tx.send("abc".to_string()).unwrap();
        other.send(String::with_capacity(100)).unwrap();
        tx.send(String::new()).unwrap();
        assert_eq!(probe.mailbox_len(), 3);
        assert_eq!(probe.mailbox_events(), 3);
        assert_eq!(probe.max_mailbox(), 3);
        let size = std::mem::size_of::<String>() as u64;
        assert_eq!(probe.queued_bytes(), 3 * size + 3 + 100);
        assert_eq!(rx.try_recv().unwrap(), "abc");
        assert_eq!(probe.mailbox_len(), 2);
        assert_eq!(probe.queued_bytes(), 2 * size + 100);
        assert_eq!(probe.messages_received(), 1);
        rx.drain();
        assert_eq!(probe.mailbox_len(), 0);
        assert_eq!(probe.queued_bytes(), 0);
        assert_eq!(probe.messages_received(), 3);
        assert_eq!(probe.max_mailbox(), 3);
    }

    #[test]
    fn a_send_to_a_gone_stage_is_not_counted() {
        let probe = Arc::new(StageProbe::new("stage", StageKind::Consumer));
        let (tx, rx) = mailbox::<String>(probe.clone());
        drop(rx);
        assert!(tx.send("lost".to_string()).is_err());
        // The push was taken back: nothing counts as sent, and nothing was received.
        let sent = &probe.mailbox.sent;
        assert_eq!(sent.messages.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(sent.bytes.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(probe.messages_received(), 0);
    }
}
