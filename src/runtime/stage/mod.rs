//! A demand-driven stage runtime: GenStage's model, with stages as async tasks.
//!
//! Stages are [`Producer`]s, [`ProducerConsumer`]s and [`Consumer`]s, each a task with its own
//! instrumented, unbounded mailbox, run by the run's executor: as tasks on an M:N scheduler
//! (the default, like the BEAM) or each on an OS thread of its own
//! ([`crate::runtime::executor::Runtime`]). A consumer subscribes to a producer with a `max_demand` and
//! `min_demand`, asks for `max_demand` events, handles what arrives in batches of at most
//! `max_demand - min_demand`, and after each batch, once its outstanding demand is at or below
//! `min_demand`, asks for enough to refill to `max_demand`. Producers never send a subscription
//! more than it asked for; what they make beyond demand waits in their dispatcher's buffers
//! ([`Dispatch`]).
//!
//! Completion cascades: a producer built from an iterator sends a completion marker behind its
//! buffered events when the iterator ends; a stage completes only after *every* upstream
//! subscription has completed and everything received has been handled, so no event is lost.
//!
//! ```
//! use palavriado::{Consumer, Dispatch, Producer, Subscription};
//! use palavriado::Pipeline;
//! let pipeline = Pipeline::new();
//! let mut producer = Producer::from_iter(&pipeline, "numbers", 1..=100u64, Dispatch::Demand);
//! let mut sum = Consumer::new(&pipeline, "sum", 0u64, |acc: &mut u64, n: u64| *acc += n);
//! sum.subscribe(&mut producer, Subscription::new().max_demand(10))?;
//! producer.start();
//! assert_eq!(sum.start().join(), Some(5050));
//! # Ok::<(), palavriado::SubscribeError>(())
//! ```

mod batch;
mod consumer;
mod dispatcher;
mod producer;
mod producer_consumer;
mod subscription;

pub use batch::{Batch, BatchIter};
pub use consumer::Consumer;
pub use dispatcher::{Dispatch, PartitionFn};
pub use producer::Producer;
pub use producer_consumer::{Handler, ProducerConsumer};
pub use subscription::{SubscribeError, Subscription};

pub use crate::runtime::event::Event;

use dispatcher::{Dispatcher, Outlet};

use crate::runtime::mailbox::{MailboxSender, Weigh};

/// Default `max_demand` of a subscription (GenStage's).
pub const DEFAULT_MAX_DEMAND: u64 = 1000;
/// Default buffer of a producer, in events (GenStage's `buffer_size`).
pub const DEFAULT_PRODUCER_BUFFER: usize = 10_000;
/// Most waiting messages a stage takes in one go before acting on them.
const PENDING_BURST: usize = 64;

/// A message in a stage's mailbox.
#[derive(Debug)]
pub enum Msg<E> {
    /// Events from upstream subscription `from`.
    Events {
        /// Index of the subscription in the receiver's upstream list.
        from: usize,
        /// The events.
        events: Batch<E>,
        /// Their bytes, computed once by the sender.
        bytes: u64,
    },
    /// Upstream subscription `from` has completed: nothing more will come from it.
    Done {
        /// Index of the subscription in the receiver's upstream list.
        from: usize,
    },
    /// Subscriber `sub` asks for `n` more events.
    Ask {
        /// Index of the subscriber in the receiver's dispatcher.
        sub: usize,
        /// How many.
        n: u64,
    },
}

impl<E: Event> Weigh for Msg<E> {
    fn events(&self) -> u64 {
        match self {
            Msg::Events { events, .. } => events.len() as u64,
            _ => 0,
        }
    }
    fn heap_bytes(&self) -> u64 {
        match self {
            Msg::Events { bytes, .. } => *bytes,
            _ => 0,
        }
    }
}

/// Sends demand to one producer on behalf of one subscription; true when that woke the
/// producer (it was waiting for demand).
struct AskHandle(Box<dyn Fn(u64) -> bool + Send>);

/// A stage others can subscribe to.
pub trait Source<E: Event> {
    /// Registers a subscriber; returns how to send it demand.
    #[doc(hidden)]
    fn attach(&mut self, outlet: OutletSpec<E>) -> AskHandleBox;
}

/// Opaque: what a subscriber hands to a producer when subscribing.
#[doc(hidden)]
pub struct OutletSpec<E>(Outlet<E>);

impl<E> std::fmt::Debug for OutletSpec<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutletSpec").finish_non_exhaustive()
    }
}
/// Opaque: how a subscriber sends demand upstream.
#[doc(hidden)]
pub struct AskHandleBox(AskHandle);

impl std::fmt::Debug for AskHandleBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AskHandleBox").finish_non_exhaustive()
    }
}

/// The producing half shared by producers and producer-consumers.
struct Output<E: Event, In: Event> {
    dispatcher: Dispatcher<E>,
    own_tx: MailboxSender<Msg<In>>,
}

impl<E: Event, In: Event> Output<E, In> {
    /// The dispatcher the stage's task runs with. Subscriptions are closed by then, so the
    /// stage's own sender goes: its mailbox disconnects once every subscriber is gone.
    fn into_dispatcher(self) -> Dispatcher<E> {
        self.dispatcher
    }

    fn attach(&mut self, spec: OutletSpec<E>) -> AskHandleBox {
        let sub = self.dispatcher.subscribe(spec.0);
        let tx = self.own_tx.clone();
        AskHandleBox(AskHandle(Box::new(move |n| {
            tx.send_waking(Msg::Ask { sub, n }).unwrap_or(false)
        })))
    }
}
