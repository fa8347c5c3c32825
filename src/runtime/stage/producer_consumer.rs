//! The producer-consumer stage (GenStage's `:producer_consumer`): consumes events, emits others.

use std::sync::Arc;

use super::dispatcher::Dispatcher;
use super::subscription::{Inlet, Running};
use super::{AskHandleBox, Dispatch, Msg, OutletSpec, Output, PENDING_BURST, Source};
use super::{SubscribeError, Subscription};
use crate::runtime::control::Pipeline;
use crate::runtime::event::Event;
use crate::runtime::executor::{Reductions, Worker, hand_off};
use crate::runtime::mailbox::Received;
use crate::runtime::probe::{StageKind, StageProbe, StageState};

/// What a producer-consumer does with each event.
pub trait Handler<In, Out>: Send + 'static {
    /// Handles one event, pushing what it emits to `out`.
    fn handle(&mut self, event: In, out: &mut Vec<Out>);
    /// Called once every input has completed and been handled: emit final events (a
    /// reducer emits its accumulator here).
    fn finish(&mut self, _out: &mut Vec<Out>) {}
    /// Called instead of `finish` when the run stops first (a reducer hands over its partial
    /// accumulator here, so a stopped run still reports what it counted).
    fn abandon(&mut self) {}
}

impl<In, Out, F: FnMut(In, &mut Vec<Out>) + Send + 'static> Handler<In, Out> for F {
    fn handle(&mut self, event: In, out: &mut Vec<Out>) {
        self(event, out)
    }
}

/// A stage that consumes events and emits others (GenStage's `:producer_consumer`).
///
/// It handles queued input only while it has downstream demand (which each emitted event uses
/// up); what it emits beyond that demand waits in its dispatcher's buffers (unbounded by
/// default), and it asks upstream for more only as it handles input.
///
/// ```
/// use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};
/// let pipeline = palavriado::Pipeline::new();
/// let mut lines = Producer::from_iter(&pipeline, "lines", ["a b", "c"], Dispatch::Demand);
/// let mut words = ProducerConsumer::new(
///     &pipeline,
///     "words",
///     |line: &'static str, out: &mut Vec<&'static str>| out.extend(line.split(' ')),
///     Dispatch::Demand,
/// );
/// words.subscribe(&mut lines, Subscription::new().max_demand(10))?;
/// let mut count = Consumer::new(&pipeline, "count", 0, |n: &mut usize, _w: &'static str| *n += 1);
/// count.subscribe(&mut words, Subscription::new())?;
/// lines.start();
/// words.start();
/// assert_eq!(count.start().join(), Some(3));
/// # Ok::<(), palavriado::SubscribeError>(())
/// ```
pub struct ProducerConsumer<In: Event, Out: Event, H> {
    inlet: Inlet<In>,
    out: Output<Out, In>,
    handler: H,
}

impl<In: Event, Out: Event, H> std::fmt::Debug for ProducerConsumer<In, Out, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerConsumer")
            .field("name", &self.inlet.probe.name)
            .finish_non_exhaustive()
    }
}

impl<In: Event, Out: Event, H: Handler<In, Out>> ProducerConsumer<In, Out, H> {
    /// A producer-consumer running `handler` on each event.
    pub fn new(
        pipeline: &Pipeline,
        name: impl Into<String>,
        handler: H,
        dispatch: Dispatch<Out>,
    ) -> Self {
        let (inlet, tx) = Inlet::new(pipeline.control(), name, StageKind::ProducerConsumer);
        Self {
            out: Output {
                dispatcher: Dispatcher::new(dispatch, usize::MAX, inlet.probe.clone()),
                own_tx: tx,
            },
            inlet,
            handler,
        }
    }

    /// Each event first waits the run's simulated delay (the talk's `Process.sleep(1)` per
    /// line), as a timer: the scheduler runs other stages meanwhile.
    pub fn with_simulated_delay(mut self) -> Self {
        self.inlet.paced = true;
        self
    }

    /// The stage's live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.inlet.probe
    }

    /// Subscribes this stage to `producer`; refused for a `max_demand` of 0 or a `min_demand`
    /// not below `max_demand`.
    pub fn subscribe<P: Source<In>>(
        &mut self,
        producer: &mut P,
        sub: Subscription<In>,
    ) -> Result<(), SubscribeError> {
        self.inlet.subscribe(producer, sub)
    }

    /// Starts the stage on the run's executor.
    pub fn start(self) -> Worker<()> {
        let ProducerConsumer {
            inlet,
            out,
            handler,
        } = self;
        let dispatcher = out.into_dispatcher();
        let ctl = inlet.ctl.clone();
        let probe = inlet.probe.clone();
        ctl.spawn(probe, transform(inlet.into_running(), dispatcher, handler))
    }
}

/// The producer-consumer's task.
async fn transform<In: Event, Out: Event, H: Handler<In, Out>>(
    stage: Running<In>,
    mut dispatcher: Dispatcher<Out>,
    mut handler: H,
) {
    let Running {
        ctl,
        probe,
        rx,
        mut input,
        mut pacer,
    } = stage;
    if let Err(e) = dispatcher.validate(&probe.name) {
        ctl.fail(e);
        return;
    }
    let mut reductions = Reductions::default();
    let mut emitted = Vec::new();
    let mut finished = input.has_no_upstream();
    if finished {
        handler.finish(&mut emitted);
        dispatcher.dispatch(&mut emitted);
        dispatcher.complete();
    }
    while !dispatcher.all_done_sent() {
        let idle = if input.is_empty() {
            StageState::WaitingForEvents
        } else {
            StageState::WaitingForDemand
        };
        let msg = match rx.recv_or_stop(&ctl, idle).await {
            Received::Message(m) => m,
            Received::Stopped | Received::Closed => break,
        };
        for msg in std::iter::once(msg).chain(rx.pending(PENDING_BURST)) {
            match msg {
                Msg::Ask { sub, n } => dispatcher.ask(sub, n),
                other => {
                    if let Err(e) = input.receive(other) {
                        ctl.fail(format!("stage '{}': {e}", probe.name));
                    }
                }
            }
        }
        dispatcher.settle();
        while dispatcher.wanted() > 0 && !ctl.is_stopped() {
            let pace = pacer.as_mut().map(|p| (p, &*ctl, &*probe));
            let Some((from, n)) = input
                .handle_batch(pace, |e| handler.handle(e, &mut emitted))
                .await
            else {
                break;
            };
            probe.add_in(n);
            dispatcher.dispatch(&mut emitted);
            // A refill that woke its producer, or events that woke a subscriber: if it goes on
            // handling, let them start elsewhere.
            let woke = input.handled(from, n) | dispatcher.take_woke();
            if woke && input.goes_on(&rx) {
                hand_off();
            }
            reductions.spend(n as u32).await;
        }
        probe.set_buffered(
            dispatcher.buffered() as u64 + input.queued,
            dispatcher.buffered_bytes() + input.queued_bytes,
        );
        if !finished && input.all_done() {
            finished = true;
            handler.finish(&mut emitted);
            dispatcher.dispatch(&mut emitted);
            dispatcher.complete();
        }
    }
    if !finished {
        handler.abandon();
    }
    rx.drain();
    dispatcher.report_drops(&ctl);
}

impl<In: Event, Out: Event, H: Handler<In, Out>> Source<Out> for ProducerConsumer<In, Out, H> {
    fn attach(&mut self, outlet: OutletSpec<Out>) -> AskHandleBox {
        self.out.attach(outlet)
    }
}
