//! The producer stage: emits the items of an iterator, exactly as many as are demanded.

use std::sync::Arc;

use super::dispatcher::Dispatcher;
use super::{AskHandleBox, DEFAULT_PRODUCER_BUFFER, Dispatch, Msg, OutletSpec, Output};
use super::{PENDING_BURST, Source};
use crate::runtime::control::{Pipeline, RunControl};
use crate::runtime::event::Event;
use crate::runtime::executor::{Reductions, Worker, hand_off};
use crate::runtime::mailbox::{MailboxReceiver, Received, mailbox};
use crate::runtime::probe::{StageKind, StageProbe, StageState};

/// Most items a producer pulls from its iterator in one go.
const FILL_BATCH: u64 = 1024;

/// A stage that emits the items of an iterator, exactly as many as are demanded.
pub struct Producer<E: Event> {
    ctl: Arc<RunControl>,
    probe: Arc<StageProbe>,
    rx: MailboxReceiver<Msg<()>>,
    out: Output<E, ()>,
    source: Box<dyn Iterator<Item = E> + Send>,
}

impl<E: Event> std::fmt::Debug for Producer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("name", &self.probe.name)
            .finish_non_exhaustive()
    }
}

impl<E: Event> Producer<E> {
    /// GenStage's `from_enumerable`: a producer of `iter`'s items, completing when it ends.
    pub fn from_iter(
        pipeline: &Pipeline,
        name: impl Into<String>,
        iter: impl IntoIterator<Item = E, IntoIter: Send + 'static>,
        dispatch: Dispatch<E>,
    ) -> Self {
        let ctl = pipeline.control();
        let probe = ctl.register_stage(name, StageKind::Producer);
        let (tx, rx) = mailbox(probe.clone());
        Self {
            ctl: ctl.clone(),
            out: Output {
                dispatcher: Dispatcher::new(dispatch, DEFAULT_PRODUCER_BUFFER, probe.clone()),
                own_tx: tx,
            },
            probe,
            rx,
            source: Box::new(iter.into_iter()),
        }
    }

    /// Events kept when subscribers have no demand (default 10,000; oldest dropped beyond).
    /// A producer makes events only on demand, so its own never reach it.
    pub fn buffer_size(mut self, n: usize) -> Self {
        self.out.dispatcher.set_cap(n);
        self
    }

    /// The stage's live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }

    /// Starts the stage on the run's executor.
    pub fn start(self) -> Worker<()> {
        let Producer {
            ctl,
            probe,
            rx,
            out,
            source,
        } = self;
        let dispatcher = out.into_dispatcher();
        ctl.clone()
            .spawn(probe.clone(), produce(ctl, probe, rx, dispatcher, source))
    }
}

/// The producer's task.
async fn produce<E: Event>(
    ctl: Arc<RunControl>,
    probe: Arc<StageProbe>,
    rx: MailboxReceiver<Msg<()>>,
    mut dispatcher: Dispatcher<E>,
    mut source: Box<dyn Iterator<Item = E> + Send>,
) {
    if let Err(e) = dispatcher.validate(&probe.name) {
        ctl.fail(e);
        return;
    }
    let mut exhausted = false;
    let mut batch = Vec::new();
    let mut reductions = Reductions::default();
    while !dispatcher.all_done_sent() {
        let msg = match rx.recv_or_stop(&ctl, StageState::WaitingForDemand).await {
            Received::Message(m) => m,
            Received::Stopped | Received::Closed => break,
        };
        for msg in std::iter::once(msg).chain(rx.pending(PENDING_BURST)) {
            if let Msg::Ask { sub, n } = msg {
                dispatcher.ask(sub, n);
            }
        }
        dispatcher.settle();
        // Pull exactly the demanded number of items.
        while !exhausted {
            let demand = dispatcher.wanted().min(FILL_BATCH);
            if demand == 0 {
                break;
            }
            // `dispatch` leaves the vector empty (and usually with a fresh buffer when the
            // batch went out whole), so one vector serves every batch.
            batch.reserve(demand as usize);
            while (batch.len() as u64) < demand {
                if ctl.check_memory() {
                    break;
                }
                match source.next() {
                    Some(e) => batch.push(e),
                    None => {
                        exhausted = true;
                        break;
                    }
                }
            }
            if ctl.is_stopped() {
                break;
            }
            let made = batch.len() as u32;
            probe.add_in(made as u64);
            dispatcher.dispatch(&mut batch);
            if exhausted {
                dispatcher.complete();
            } else if dispatcher.take_woke() && dispatcher.wanted() > 0 {
                // It goes on making events: let the subscriber it woke start elsewhere.
                hand_off();
            }
            reductions.spend(made).await;
        }
        probe.set_buffered(dispatcher.buffered() as u64, dispatcher.buffered_bytes());
    }
    rx.drain();
    dispatcher.report_drops(&ctl);
}

impl<E: Event> Source<E> for Producer<E> {
    fn attach(&mut self, outlet: OutletSpec<E>) -> AskHandleBox {
        self.out.attach(outlet)
    }
}
