//! The consumer stage: folds events into a state, returned when every input has completed.

use std::sync::Arc;

use super::subscription::{Inlet, Running};
use super::{Source, SubscribeError, Subscription};
use crate::runtime::control::Pipeline;
use crate::runtime::event::Event;
use crate::runtime::executor::{Reductions, Worker, hand_off};
use crate::runtime::mailbox::Received;
use crate::runtime::probe::{StageKind, StageProbe, StageState};

/// A stage that consumes events into a state, returned when every input has completed.
pub struct Consumer<In: Event, S, F> {
    inlet: Inlet<In>,
    state: S,
    handle: F,
}

impl<In: Event, S, F> std::fmt::Debug for Consumer<In, S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.inlet.probe.name)
            .finish_non_exhaustive()
    }
}

impl<In: Event, S: Send + 'static, F: FnMut(&mut S, In) + Send + 'static> Consumer<In, S, F> {
    /// A consumer folding events into `state` with `handle`.
    pub fn new(pipeline: &Pipeline, name: impl Into<String>, state: S, handle: F) -> Self {
        Self {
            inlet: Inlet::new(pipeline.control(), name, StageKind::Consumer).0,
            state,
            handle,
        }
    }

    /// Each event first waits the run's simulated delay (a timer: the scheduler runs other
    /// stages meanwhile).
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

    /// Starts the stage; joining it gives the final state (or the state so far, if the run was
    /// stopped).
    pub fn start(self) -> Worker<S> {
        let Consumer {
            inlet,
            state,
            handle,
        } = self;
        let ctl = inlet.ctl.clone();
        let probe = inlet.probe.clone();
        ctl.spawn(probe, consume(inlet.into_running(), state, handle))
    }
}

/// The consumer's task.
async fn consume<In: Event, S, F: FnMut(&mut S, In)>(
    stage: Running<In>,
    mut state: S,
    mut handle: F,
) -> S {
    let Running {
        ctl,
        probe,
        rx,
        mut input,
        mut pacer,
    } = stage;
    let mut reductions = Reductions::default();
    probe.set_demand(input.outstanding());
    while !input.all_done() {
        let msg = match rx.recv_or_stop(&ctl, StageState::WaitingForEvents).await {
            Received::Message(m) => m,
            Received::Stopped | Received::Closed => break,
        };
        if let Err(e) = input.receive(msg) {
            ctl.fail(format!("stage '{}': {e}", probe.name));
        }
        probe.set_buffered(input.queued, input.queued_bytes);
        loop {
            let pace = pacer.as_mut().map(|p| (p, &*ctl, &*probe));
            let Some((from, n)) = input.handle_batch(pace, |e| handle(&mut state, e)).await else {
                break;
            };
            probe.add_in(n);
            let woke = input.handled(from, n);
            if ctl.is_stopped() {
                break;
            }
            if woke && input.goes_on(&rx) {
                hand_off();
            }
            reductions.spend(n as u32).await;
        }
        probe.set_demand(input.outstanding());
        probe.set_buffered(input.queued, input.queued_bytes);
    }
    rx.drain();
    state
}
