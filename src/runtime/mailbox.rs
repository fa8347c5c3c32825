//! Instrumented unbounded mailboxes: a channel whose length, events and bytes are live counters
//! of the owning stage's [`StageProbe`], readable from any thread at any moment.
//!
//! A mailbox wakes its owner only when the owner is waiting (its [`crate::runtime::doorbell::Doorbell`]
//! is armed): a stream of messages to a busy stage costs each send a queue push and two counter
//! updates, on either executor.

use std::mem::ManuallyDrop;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::runtime::control::RunControl;
use crate::runtime::event::Event;
use crate::runtime::executor::on_own_thread;
use crate::runtime::probe::{StageProbe, StageState};

/// How much a message weighs in a mailbox: how many events it carries and the heap bytes it holds.
///
/// Every [`Event`] is a one-event message; the stage runtime's own messages carry batches. A
/// message's own size (`size_of::<T>()`) is counted per message by the mailbox; `heap_bytes`
/// adds what it owns beyond that, so one-event inline messages cost a single counter update.
pub trait Weigh: Send + 'static {
    /// True when every message is exactly one event (the events counter is then not kept).
    const SINGLE_EVENT: bool = false;
    /// Events in the message (1 for a single line or word, n for a batch).
    fn events(&self) -> u64 {
        1
    }
    /// Heap bytes the message owns.
    fn heap_bytes(&self) -> u64;
}

impl<E: Event> Weigh for E {
    const SINGLE_EVENT: bool = true;
    #[inline]
    fn heap_bytes(&self) -> u64 {
        Event::heap_bytes(self)
    }
}

#[inline(always)]
fn weight<T: Weigh>(msg: &T) -> (u64, u64) {
    let events = if T::SINGLE_EVENT { 0 } else { msg.events() };
    (events, msg.heap_bytes())
}

/// Times an idle stage on a thread of its own yields its core before it sleeps: the stage that
/// feeds it usually runs meanwhile, and a message then arrives without a sleep/wake round trip.
const YIELDS_BEFORE_WAITING: usize = 32;

/// The sending side of a mailbox; cheap to clone.
pub struct MailboxSender<T> {
    tx: ManuallyDrop<Sender<T>>,
    probe: Arc<StageProbe>,
}

impl<T> std::fmt::Debug for MailboxSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxSender").finish_non_exhaustive()
    }
}

impl<T> Clone for MailboxSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            probe: self.probe.clone(),
        }
    }
}

impl<T> Drop for MailboxSender<T> {
    /// The last sender gone disconnects the mailbox: a waiting owner is woken to see it.
    fn drop(&mut self) {
        // SAFETY: `tx` is never used again; the doorbell must ring after the channel has
        // seen this sender go, so it is dropped here rather than after this body.
        unsafe { ManuallyDrop::drop(&mut self.tx) };
        self.probe.doorbell().ring();
    }
}

/// The receiving side of a mailbox, owned by its stage.
pub struct MailboxReceiver<T> {
    rx: Receiver<T>,
    probe: Arc<StageProbe>,
}

impl<T> std::fmt::Debug for MailboxReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxReceiver").finish_non_exhaustive()
    }
}

/// What waiting on a mailbox gave.
#[derive(Debug)]
pub enum Received<T> {
    /// A message.
    Message(T),
    /// The run was stopped.
    Stopped,
    /// Every sender is gone and the mailbox is empty.
    Closed,
}

/// What a look into a mailbox found.
#[derive(Debug)]
pub enum TryReceived<T> {
    /// A message.
    Message(T),
    /// Nothing now.
    Empty,
    /// Every sender is gone and the mailbox is empty.
    Closed,
}

/// Creates an unbounded mailbox whose counters live in `probe`.
pub fn mailbox<T: Weigh>(probe: Arc<StageProbe>) -> (MailboxSender<T>, MailboxReceiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    probe.set_mailbox_shape(size_of::<T>() as u64, T::SINGLE_EVENT);
    (
        MailboxSender {
            tx: ManuallyDrop::new(tx),
            probe: probe.clone(),
        },
        MailboxReceiver { rx, probe },
    )
}

impl<T: Weigh> MailboxSender<T> {
    /// Queues a message (never blocks); returns it back if the receiver is gone.
    #[inline]
    pub fn send(&self, msg: T) -> Result<(), T> {
        self.send_waking(msg).map(drop)
    }

    /// [`MailboxSender::send`], telling whether the message woke its waiting owner.
    #[inline]
    pub fn send_waking(&self, msg: T) -> Result<bool, T> {
        let (e, b) = weight(&msg);
        self.probe.mailbox_push(e, b);
        match self.tx.send(msg) {
            Ok(()) => Ok(self.probe.doorbell().ring()),
            Err(err) => {
                self.probe.mailbox_unpush(e, b);
                Err(err.into_inner())
            }
        }
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

    /// Waits for the next message without holding a thread or scheduler, marking the stage
    /// `idle` meanwhile. Ends early when the run is stopped.
    pub(crate) async fn recv_or_stop(&self, ctl: &RunControl, idle: StageState) -> Received<T> {
        self.wait_for(Some(ctl), idle).await
    }

    /// Waits, in a task of a program's own, for the next message without holding a thread or
    /// scheduler, the owner marked idle meanwhile; `None` once every sender is gone and the
    /// mailbox is empty. Each message taken counts as handled (`In` in Processes).
    pub async fn recv(&self) -> Option<T> {
        match self.wait_for(None, StageState::WaitingForEvents).await {
            Received::Message(m) => {
                self.probe.add_in(m.events());
                Some(m)
            }
            Received::Stopped | Received::Closed => {
                self.probe.set_state(StageState::Done);
                None
            }
        }
    }

    /// Waits for a message, the mailbox closing, or `ctl`'s stop.
    async fn wait_for(&self, ctl: Option<&RunControl>, idle: StageState) -> Received<T> {
        let stopped = || ctl.is_some_and(|c| c.is_stopped());
        if on_own_thread() {
            for _ in 0..YIELDS_BEFORE_WAITING {
                if !self.looks_empty() || stopped() {
                    break;
                }
                std::thread::yield_now();
            }
        }
        let bell = self.probe.doorbell();
        loop {
            if stopped() {
                return Received::Stopped;
            }
            match self.try_recv() {
                TryReceived::Message(m) => return Received::Message(m),
                TryReceived::Closed => return Received::Closed,
                TryReceived::Empty => {}
            }
            // Publish "waiting", then look once more: a message sent meanwhile either is seen
            // now or rings the bell.
            bell.arm();
            if stopped() {
                return Received::Stopped;
            }
            match self.try_recv() {
                TryReceived::Message(m) => {
                    bell.disarm();
                    return Received::Message(m);
                }
                TryReceived::Closed => return Received::Closed,
                TryReceived::Empty => {}
            }
            self.probe.set_state(idle);
            bell.wait().await;
            self.probe.set_state(StageState::Running);
        }
    }

    /// Waits for the next message on a plain thread of a program's own (blocking it), the
    /// owner marked idle meanwhile; `None` once every sender is gone and the mailbox is empty.
    /// Each message taken counts as handled (`In` in Processes).
    pub fn recv_blocking(&self) -> Option<T> {
        let msg = match self.try_recv() {
            TryReceived::Message(m) => m,
            TryReceived::Closed => {
                self.probe.set_state(StageState::Done);
                return None;
            }
            TryReceived::Empty => {
                self.probe.set_state(StageState::WaitingForEvents);
                let got = self.rx.recv();
                match got {
                    Ok(m) => {
                        self.probe.set_state(StageState::Running);
                        self.took(m)
                    }
                    Err(_) => {
                        self.probe.set_state(StageState::Done);
                        return None;
                    }
                }
            }
        };
        self.probe.set_state(StageState::Running);
        self.probe.add_in(msg.events());
        Some(msg)
    }

    /// True when no message can be waiting: every message counted as sent has been taken. Two
    /// plain loads, so a stage polling its mailbox skips the channel when nothing came; it is a
    /// hint (a message being sent right now may be missed), never a reason to stop waiting.
    #[inline]
    pub fn looks_empty(&self) -> bool {
        self.probe.mailbox_len() == 0
    }

    /// Takes a message if one is waiting.
    #[inline]
    pub fn try_recv(&self) -> TryReceived<T> {
        match self.rx.try_recv() {
            Ok(m) => TryReceived::Message(self.took(m)),
            Err(TryRecvError::Empty) => TryReceived::Empty,
            Err(TryRecvError::Disconnected) => TryReceived::Closed,
        }
    }

    /// Messages already waiting (at most `most`), taken without waiting, so a stage answers a
    /// burst of asks at once.
    pub fn pending(&self, most: usize) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(|| {
            if self.looks_empty() {
                return None;
            }
            match self.try_recv() {
                TryReceived::Message(m) => Some(m),
                _ => None,
            }
        })
        .take(most)
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
    use crate::runtime::probe::StageKind;

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
        let size = size_of::<String>() as u64;
        assert_eq!(probe.queued_bytes(), 3 * size + 3 + 100);
        assert!(matches!(rx.try_recv(), TryReceived::Message(m) if m == "abc"));
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
    fn a_closed_mailbox_reads_empty_with_a_message_left_in_it() {
        // An ask that arrives after the stage drained its mailbox, before it ended: the stage
        // is done, and its MsgQ (live and in snapshots) says nothing waits.
        let probe = Arc::new(StageProbe::new("stage", StageKind::Consumer));
        let (tx, rx) = mailbox::<String>(probe.clone());
        tx.send("late".to_string()).unwrap();
        assert_eq!(probe.snapshot().mailbox_messages, 1);
        drop(rx);
        assert_eq!(probe.mailbox_len(), 0);
        assert_eq!(probe.snapshot().mailbox_messages, 0);
        assert_eq!(probe.snapshot().mailbox_events, 0);
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
