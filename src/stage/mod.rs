//! A demand-driven stage runtime: GenStage's model on threads.
//!
//! Stages are [`Producer`]s, [`ProducerConsumer`]s and [`Consumer`]s, each on its own thread with
//! its own instrumented, unbounded mailbox. A consumer subscribes to a producer with a
//! `max_demand` and `min_demand`, asks for `max_demand` events, handles what arrives in batches of
//! at most `max_demand - min_demand`, and after each batch, once its outstanding demand is at or
//! below `min_demand`, asks for enough to refill to `max_demand`. Producers never send a
//! subscription more than it asked for; what they make beyond demand waits in their dispatcher's
//! buffers ([`Dispatch`]).
//!
//! Completion cascades: a producer built from an iterator sends a completion marker behind its
//! buffered events when the iterator ends; a stage completes only after *every* upstream
//! subscription has completed and everything received has been handled, so no event is lost.
//!
//! ```
//! use palavriado::stage::{Consumer, Dispatch, Producer, Subscription};
//! use palavriado::RunControl;
//! let ctl = RunControl::new(std::time::Duration::ZERO);
//! let mut producer = Producer::from_iter(&ctl, "numbers", 1..=100u64, Dispatch::Demand);
//! let mut sum = Consumer::new(&ctl, "sum", 0u64, |acc: &mut u64, n: u64| *acc += n);
//! sum.subscribe(&mut producer, Subscription::new().max_demand(10));
//! producer.start();
//! assert_eq!(sum.start().join(), Some(5050));
//! ```

mod dispatcher;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

pub use dispatcher::{Dispatch, Filter, PartitionFn};
use dispatcher::{Dispatcher, Outlet};

use crate::control::{RunControl, Worker};
use crate::counts::WordCounts;
use crate::mailbox::{MailboxReceiver, MailboxSender, Weigh, mailbox};
use crate::probe::{StageKind, StageProbe, StageState};

/// Default `max_demand` of a subscription (GenStage's).
pub const DEFAULT_MAX_DEMAND: u64 = 1000;
/// Default buffer of a producer, in events (GenStage's `buffer_size`).
pub const DEFAULT_PRODUCER_BUFFER: usize = 10_000;
/// How long an idle stage waits before re-checking the stop signal.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// Most waiting messages a stage takes in one go before acting on them.
const PENDING_BURST: usize = 64;
/// Times an idle stage yields its core before blocking on its mailbox.
const YIELDS_BEFORE_BLOCKING: usize = 32;

/// Something that can flow between stages; `heap_bytes` feeds the queued-bytes probes.
pub trait Event: Send + 'static {
    /// Heap bytes owned by the event (beyond its own size).
    fn heap_bytes(&self) -> u64 {
        0
    }
}

macro_rules! plain_events {
    ($($t:ty),*) => { $(impl Event for $t {})* };
}
plain_events!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    usize,
    i8,
    i16,
    i32,
    i64,
    isize,
    f32,
    f64,
    &'static str
);

impl Event for String {
    fn heap_bytes(&self) -> u64 {
        self.capacity() as u64
    }
}

impl Event for Box<str> {
    fn heap_bytes(&self) -> u64 {
        self.len() as u64
    }
}

impl Event for crate::words::Word {
    fn heap_bytes(&self) -> u64 {
        crate::words::Word::heap_bytes(self)
    }
}

impl<T: Event> Event for Vec<T> {
    fn heap_bytes(&self) -> u64 {
        batch_bytes(self)
    }
}

impl<T: Event> Event for Option<T> {
    fn heap_bytes(&self) -> u64 {
        self.as_ref().map_or(0, Event::heap_bytes)
    }
}

impl<K: Event, V: Event> Event for std::collections::BTreeMap<K, V> {
    fn heap_bytes(&self) -> u64 {
        let entry = (std::mem::size_of::<K>() + std::mem::size_of::<V>()) as u64;
        self.iter()
            .map(|(k, v)| entry + k.heap_bytes() + v.heap_bytes())
            .sum()
    }
}

impl<K: Event, V: Event, H: Send + 'static> Event for std::collections::HashMap<K, V, H> {
    fn heap_bytes(&self) -> u64 {
        let entry = (std::mem::size_of::<K>() + std::mem::size_of::<V>() + 1) as u64;
        self.capacity() as u64 * entry
            + self
                .iter()
                .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                .sum::<u64>()
    }
}

impl<A: Event, B: Event> Event for (A, B) {
    fn heap_bytes(&self) -> u64 {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

impl Event for WordCounts {
    fn heap_bytes(&self) -> u64 {
        // Keys inline up to 24 bytes, plus the count and hash-table control byte.
        self.distinct() as u64 * 33
    }
}

/// Bytes of one event: its own size plus the heap it owns.
pub(crate) fn event_bytes<E: Event>(e: &E) -> u64 {
    std::mem::size_of::<E>() as u64 + e.heap_bytes()
}

/// Bytes of a batch: its events' own size plus the heap they own.
pub(crate) fn batch_bytes<E: Event>(events: &[E]) -> u64 {
    let own = std::mem::size_of_val(events) as u64;
    own + events.iter().map(Event::heap_bytes).sum::<u64>()
}

/// A message in a stage's mailbox.
pub enum Msg<E> {
    /// Events from upstream subscription `from`.
    Events {
        /// Index of the subscription in the receiver's upstream list.
        from: usize,
        /// The events.
        events: Vec<E>,
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

/// Sends demand to one producer on behalf of one subscription.
struct AskHandle(Box<dyn Fn(u64) -> bool + Send>);

/// How a consumer subscribes to a producer.
pub struct Subscription<E> {
    max_demand: u64,
    min_demand: Option<u64>,
    partition: Option<usize>,
    filter: Option<Filter<E>>,
}

impl<E> Default for Subscription<E> {
    fn default() -> Self {
        Self {
            max_demand: DEFAULT_MAX_DEMAND,
            min_demand: None,
            partition: None,
            filter: None,
        }
    }
}

impl<E> Subscription<E> {
    /// `max_demand` 1000, `min_demand` 500.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most events in flight for this subscription (at least 1).
    pub fn max_demand(mut self, n: u64) -> Self {
        self.max_demand = n.max(1);
        self
    }

    /// Ask again once outstanding demand falls to this (default `max_demand / 2`).
    pub fn min_demand(mut self, n: u64) -> Self {
        self.min_demand = Some(n);
        self
    }

    /// Take partition `p` of a Partition dispatcher.
    pub fn partition(mut self, p: usize) -> Self {
        self.partition = Some(p);
        self
    }

    /// Receive only the events this accepts (Broadcast dispatcher).
    pub fn filter(mut self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(f));
        self
    }

    fn limits(&self) -> (u64, u64) {
        let max = self.max_demand;
        let min = self.min_demand.unwrap_or(max / 2).min(max - 1);
        (max, min)
    }
}

/// A stage others can subscribe to.
pub trait Source<E: Event> {
    /// Registers a subscriber; returns how to send it demand.
    #[doc(hidden)]
    fn attach(&mut self, outlet: OutletSpec<E>) -> AskHandleBox;
}

/// Opaque: what a subscriber hands to a producer when subscribing.
#[doc(hidden)]
pub struct OutletSpec<E>(Outlet<E>);
/// Opaque: how a subscriber sends demand upstream.
#[doc(hidden)]
pub struct AskHandleBox(AskHandle);

/// The producing half shared by producers and producer-consumers.
struct Output<E: Event, In: Event> {
    dispatcher: Dispatcher<E>,
    own_tx: MailboxSender<Msg<In>>,
}

impl<E: Event, In: Event> Output<E, In> {
    fn attach(&mut self, spec: OutletSpec<E>) -> AskHandleBox {
        let sub = self.dispatcher.subscribe(spec.0);
        let tx = self.own_tx.clone();
        AskHandleBox(AskHandle(Box::new(move |n| {
            tx.send(Msg::Ask { sub, n }).is_ok()
        })))
    }
}

/// One upstream subscription as the consuming stage sees it.
struct Upstream {
    ask: AskHandle,
    max: u64,
    min: u64,
    /// Demand not yet consumed (GenStage's `new_demand`).
    pending: u64,
    /// Events asked for so far, and received so far: received never exceeds asked.
    asked_total: u64,
    received_total: u64,
    done: bool,
}

impl Upstream {
    /// A subscription that has just asked for `max` events.
    fn new(ask: AskHandle, max: u64, min: u64) -> Self {
        Self {
            ask,
            max,
            min,
            pending: max,
            asked_total: max,
            received_total: 0,
            done: false,
        }
    }
}

/// The consuming half shared by consumers and producer-consumers.
struct Input<In: Event> {
    ups: Vec<Upstream>,
    own_tx: Option<MailboxSender<Msg<In>>>,
    /// Received messages not yet fully handled: the subscription they came from, their events
    /// and those events' bytes.
    queue: VecDeque<(usize, std::vec::IntoIter<In>, u64)>,
    queued: u64,
    queued_bytes: u64,
}

impl<In: Event> Input<In> {
    fn new(tx: MailboxSender<Msg<In>>) -> Self {
        Self {
            ups: Vec::new(),
            own_tx: Some(tx),
            queue: VecDeque::new(),
            queued: 0,
            queued_bytes: 0,
        }
    }

    fn subscribe<P: Source<In>>(&mut self, name: &str, producer: &mut P, sub: Subscription<In>) {
        let (max, min) = sub.limits();
        let outlet = Outlet {
            tx: self.own_tx.clone().expect("subscribe before start"),
            upstream_index: self.ups.len(),
            filter: sub.filter,
            partition: sub.partition,
            name: name.to_string(),
        };
        let ask = producer.attach(OutletSpec(outlet)).0;
        // On subscribe a consumer asks for max_demand.
        (ask.0)(max);
        self.ups.push(Upstream::new(ask, max, min));
    }

    fn all_done(&self) -> bool {
        self.ups.iter().all(|u| u.done) && self.queue.is_empty()
    }

    fn outstanding(&self) -> u64 {
        self.ups.iter().map(|u| u.pending).sum()
    }

    /// Handles the next batch (at most `max - min` events of one subscription) with `handle`,
    /// taking the events straight out of the queued message (no copy); returns the
    /// subscription it came from and its size, or `None` when nothing is queued.
    fn handle_batch(&mut self, mut handle: impl FnMut(In)) -> Option<(usize, u64)> {
        let (from, events, bytes) = self.queue.front_mut()?;
        let from = *from;
        let up = &self.ups[from];
        let k = ((up.max - up.min).max(1) as usize).min(events.len());
        let taken = if k == events.len() {
            let (_, events, bytes) = self.queue.pop_front().expect("front exists");
            events.for_each(&mut handle);
            bytes
        } else {
            let mut b = 0;
            for e in events.by_ref().take(k) {
                b += event_bytes(&e);
                handle(e);
            }
            let b = b.min(*bytes);
            *bytes -= b;
            b
        };
        self.queued -= k as u64;
        self.queued_bytes = self.queued_bytes.saturating_sub(taken);
        Some((from, k as u64))
    }

    /// After handling a batch: GenStage's refill rule.
    fn handled(&mut self, from: usize, n: u64) {
        let up = &mut self.ups[from];
        up.pending = up.pending.saturating_sub(n);
        if up.pending <= up.min && !up.done {
            let ask = up.max - up.pending;
            up.pending = up.max;
            up.asked_total += ask;
            (up.ask.0)(ask);
        }
    }

    /// Files a message from upstream; an error if a producer sent more than was asked.
    fn receive(&mut self, msg: Msg<In>) -> Result<(), String> {
        match msg {
            Msg::Events {
                from,
                events,
                bytes,
            } => {
                let up = &mut self.ups[from];
                up.received_total += events.len() as u64;
                if up.received_total > up.asked_total {
                    return Err(format!(
                        "subscription {from} received {} events but asked for {}",
                        up.received_total, up.asked_total
                    ));
                }
                if !events.is_empty() {
                    self.queued += events.len() as u64;
                    self.queued_bytes += bytes;
                    self.queue.push_back((from, events.into_iter(), bytes));
                }
            }
            Msg::Done { from } => self.ups[from].done = true,
            Msg::Ask { .. } => {}
        }
        Ok(())
    }
}

/// Receives the next message, marking the stage `idle_state` while it waits. `None` when the
/// run stopped or every sender is gone.
fn next_msg<T: Weigh>(
    ctl: &RunControl,
    probe: &StageProbe,
    rx: &MailboxReceiver<T>,
    idle_state: StageState,
) -> Option<T> {
    // With more stages than cores, a stage whose mailbox is empty first yields its core a few
    // times: the stage that will feed it usually runs meanwhile, and a message then arrives
    // without the futex sleep/wake round trip a blocking receive costs.
    for _ in 0..YIELDS_BEFORE_BLOCKING {
        if rx.looks_empty() {
            std::thread::yield_now();
            continue;
        }
        match rx.try_recv() {
            Ok(m) => return Some(m),
            Err(true) => return None,
            Err(false) => std::thread::yield_now(),
        }
    }
    probe.set_state(idle_state);
    loop {
        if ctl.is_stopped() {
            return None;
        }
        match rx.recv_timeout(IDLE_POLL) {
            Ok(m) => {
                probe.set_state(StageState::Running);
                return Some(m);
            }
            Err(true) => return None,
            Err(false) => {}
        }
    }
}

/// Messages already waiting (at most a mailbox's worth), taken without blocking so a stage
/// answers a burst of asks at once.
fn pending<T: Weigh>(rx: &MailboxReceiver<T>) -> impl Iterator<Item = T> + '_ {
    std::iter::from_fn(|| {
        if rx.looks_empty() {
            None
        } else {
            rx.try_recv().ok()
        }
    })
    .take(PENDING_BURST)
}

fn report_drops<E: Event>(ctl: &RunControl, probe: &StageProbe, d: &Dispatcher<E>) {
    if d.dropped() > 0 {
        ctl.warn(format!(
            "stage '{}': buffer full, dropped the {} oldest events",
            probe.name,
            d.dropped()
        ));
    }
}

/// The consuming side of a stage before it starts: its probe, mailbox and subscriptions
/// (shared by producer-consumers and consumers).
struct Inlet<In: Event> {
    ctl: Arc<RunControl>,
    probe: Arc<StageProbe>,
    rx: MailboxReceiver<Msg<In>>,
    input: Input<In>,
}

impl<In: Event> Inlet<In> {
    /// Registers the stage and makes its mailbox; also returns a sender to it.
    fn new(
        ctl: &Arc<RunControl>,
        name: impl Into<String>,
        kind: StageKind,
    ) -> (Self, MailboxSender<Msg<In>>) {
        let probe = ctl.register_stage(name, kind);
        let (tx, rx) = mailbox(probe.clone());
        let inlet = Self {
            ctl: ctl.clone(),
            probe,
            rx,
            input: Input::new(tx.clone()),
        };
        (inlet, tx)
    }

    fn subscribe<P: Source<In>>(&mut self, producer: &mut P, sub: Subscription<In>) {
        let name = self.probe.name.clone();
        self.input.subscribe(&name, producer, sub);
    }

    /// Starts the stage's thread running `body` with its parts. Subscriptions are closed by
    /// then, so the stage drops its own sender: its mailbox disconnects once every upstream
    /// sender is gone.
    fn spawn<R: Send + 'static>(
        self,
        body: impl FnOnce(Arc<RunControl>, Arc<StageProbe>, MailboxReceiver<Msg<In>>, Input<In>) -> R
        + Send
        + 'static,
    ) -> Worker<R> {
        let Inlet {
            ctl,
            probe,
            rx,
            mut input,
        } = self;
        input.own_tx = None;
        ctl.clone()
            .spawn(probe.clone(), move || body(ctl, probe, rx, input))
    }
}

/// A stage that emits the items of an iterator, exactly as many as are demanded.
pub struct Producer<E: Event> {
    ctl: Arc<RunControl>,
    probe: Arc<StageProbe>,
    rx: MailboxReceiver<Msg<()>>,
    out: Output<E, ()>,
    source: Box<dyn Iterator<Item = E> + Send>,
}

impl<E: Event> Producer<E> {
    /// GenStage's `from_enumerable`: a producer of `iter`'s items, completing when it ends.
    pub fn from_iter(
        ctl: &Arc<RunControl>,
        name: impl Into<String>,
        iter: impl IntoIterator<Item = E, IntoIter: Send + 'static>,
        dispatch: Dispatch<E>,
    ) -> Self {
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
    pub fn buffer_size(mut self, n: usize) -> Self {
        self.out.dispatcher.set_cap(n);
        self
    }

    /// The stage's live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }

    /// Starts the stage's thread.
    pub fn start(self) -> Worker<()> {
        let Producer {
            ctl,
            probe,
            rx,
            out,
            mut source,
        } = self;
        let mut dispatcher = out.dispatcher;
        drop(out.own_tx);
        ctl.clone().spawn(probe.clone(), move || {
            if let Err(e) = dispatcher.validate(&probe.name) {
                ctl.fail(e);
                return;
            }
            let mut exhausted = false;
            let mut batch = Vec::new();
            while !dispatcher.all_done_sent() {
                let Some(msg) = next_msg(&ctl, &probe, &rx, StageState::WaitingForDemand) else {
                    break;
                };
                for msg in std::iter::once(msg).chain(pending(&rx)) {
                    if let Msg::Ask { sub, n } = msg {
                        dispatcher.ask(sub, n);
                    }
                }
                dispatcher.settle();
                // Pull exactly the demanded number of items.
                while !exhausted {
                    let demand = dispatcher.wanted().min(1024);
                    if demand == 0 {
                        break;
                    }
                    // `dispatch` leaves the vector empty (and usually with a fresh buffer
                    // when the batch went out whole), so one vector serves every batch.
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
                    probe.add_in(batch.len() as u64);
                    dispatcher.dispatch(&mut batch);
                    if exhausted {
                        dispatcher.complete();
                    }
                }
                probe.set_buffered(dispatcher.buffered() as u64, dispatcher.buffered_bytes());
            }
            rx.drain();
            report_drops(&ctl, &probe, &dispatcher);
        })
    }
}

impl<E: Event> Source<E> for Producer<E> {
    fn attach(&mut self, outlet: OutletSpec<E>) -> AskHandleBox {
        self.out.attach(outlet)
    }
}

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
pub struct ProducerConsumer<In: Event, Out: Event, H> {
    inlet: Inlet<In>,
    out: Output<Out, In>,
    handler: H,
}

impl<In: Event, Out: Event, H: Handler<In, Out>> ProducerConsumer<In, Out, H> {
    /// A producer-consumer running `handler` on each event.
    pub fn new(
        ctl: &Arc<RunControl>,
        name: impl Into<String>,
        handler: H,
        dispatch: Dispatch<Out>,
    ) -> Self {
        let (inlet, tx) = Inlet::new(ctl, name, StageKind::ProducerConsumer);
        Self {
            out: Output {
                dispatcher: Dispatcher::new(dispatch, usize::MAX, inlet.probe.clone()),
                own_tx: tx,
            },
            inlet,
            handler,
        }
    }

    /// The stage's live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.inlet.probe
    }

    /// Subscribes this stage to `producer`.
    pub fn subscribe<P: Source<In>>(&mut self, producer: &mut P, sub: Subscription<In>) {
        self.inlet.subscribe(producer, sub);
    }

    /// Starts the stage's thread.
    pub fn start(self) -> Worker<()> {
        let ProducerConsumer {
            inlet,
            out,
            mut handler,
        } = self;
        let mut dispatcher = out.dispatcher;
        drop(out.own_tx);
        inlet.spawn(move |ctl, probe, rx, mut input| {
            if let Err(e) = dispatcher.validate(&probe.name) {
                ctl.fail(e);
                return;
            }
            let mut emitted = Vec::new();
            let mut finished = input.ups.is_empty();
            if finished {
                handler.finish(&mut emitted);
                dispatcher.dispatch(&mut emitted);
                dispatcher.complete();
            }
            while !dispatcher.all_done_sent() {
                let idle = if input.queue.is_empty() {
                    StageState::WaitingForEvents
                } else {
                    StageState::WaitingForDemand
                };
                let Some(msg) = next_msg(&ctl, &probe, &rx, idle) else {
                    break;
                };
                for msg in std::iter::once(msg).chain(pending(&rx)) {
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
                    let Some((from, n)) = input.handle_batch(|e| handler.handle(e, &mut emitted))
                    else {
                        break;
                    };
                    probe.add_in(n);
                    dispatcher.dispatch(&mut emitted);
                    input.handled(from, n);
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
            report_drops(&ctl, &probe, &dispatcher);
        })
    }
}

impl<In: Event, Out: Event, H: Handler<In, Out>> Source<Out> for ProducerConsumer<In, Out, H> {
    fn attach(&mut self, outlet: OutletSpec<Out>) -> AskHandleBox {
        self.out.attach(outlet)
    }
}

/// A stage that consumes events into a state, returned when every input has completed.
pub struct Consumer<In: Event, S, F> {
    inlet: Inlet<In>,
    state: S,
    handle: F,
}

impl<In: Event, S: Send + 'static, F: FnMut(&mut S, In) + Send + 'static> Consumer<In, S, F> {
    /// A consumer folding events into `state` with `handle`.
    pub fn new(ctl: &Arc<RunControl>, name: impl Into<String>, state: S, handle: F) -> Self {
        Self {
            inlet: Inlet::new(ctl, name, StageKind::Consumer).0,
            state,
            handle,
        }
    }

    /// The stage's live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.inlet.probe
    }

    /// Subscribes this stage to `producer`.
    pub fn subscribe<P: Source<In>>(&mut self, producer: &mut P, sub: Subscription<In>) {
        self.inlet.subscribe(producer, sub);
    }

    /// Starts the stage's thread; joining it gives the final state (or the state so far, if the
    /// run was stopped).
    pub fn start(self) -> Worker<S> {
        let Consumer {
            inlet,
            mut state,
            mut handle,
        } = self;
        inlet.spawn(move |ctl, probe, rx, mut input| {
            probe.set_demand(input.outstanding());
            while !input.all_done() {
                let Some(msg) = next_msg(&ctl, &probe, &rx, StageState::WaitingForEvents) else {
                    break;
                };
                if let Err(e) = input.receive(msg) {
                    ctl.fail(format!("stage '{}': {e}", probe.name));
                }
                probe.set_buffered(input.queued, input.queued_bytes);
                while let Some((from, n)) = input.handle_batch(|e| handle(&mut state, e)) {
                    probe.add_in(n);
                    input.handled(from, n);
                    if ctl.is_stopped() {
                        break;
                    }
                }
                probe.set_demand(input.outstanding());
                probe.set_buffered(input.queued, input.queued_bytes);
            }
            rx.drain();
            state
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// An input with one upstream whose asks are recorded.
    fn recorded(max: u64, min: u64) -> (Input<u64>, Arc<Mutex<Vec<u64>>>) {
        let ctl = RunControl::new(Duration::ZERO);
        let probe = ctl.register_stage("consumer", StageKind::Consumer);
        let (tx, _rx) = mailbox::<Msg<u64>>(probe);
        let mut input = Input::new(tx);
        let asks = Arc::new(Mutex::new(Vec::new()));
        let log = asks.clone();
        let ask = AskHandle(Box::new(move |n| {
            log.lock().push(n);
            true
        }));
        input.ups.push(Upstream::new(ask, max, min));
        (input, asks)
    }

    fn deliver(input: &mut Input<u64>, n: usize) -> Vec<usize> {
        let events: Vec<u64> = (0..n as u64).collect();
        input
            .receive(Msg::Events {
                from: 0,
                bytes: 0,
                events,
            })
            .unwrap();
        let mut sizes = Vec::new();
        while let Some((from, n)) = input.handle_batch(drop) {
            sizes.push(n as usize);
            input.handled(from, n);
        }
        sizes
    }

    #[test]
    fn genstage_refill_rule_max_1000_min_750() {
        // GenStage's documentation case: max 1000 / min 750, the producer sends 100 at a time.
        // Batches are the 100-event messages (≤ 250 each). After the third, 700 are outstanding,
        // at or below 750, so the consumer refills to 1000: it asks for 300 (GenStage's
        // `split_batches` does exactly this: `max - (demand - batch_size)`).
        let (mut input, asks) = recorded(1000, 750);
        assert_eq!(deliver(&mut input, 100), [100]);
        assert_eq!(deliver(&mut input, 100), [100]);
        assert!(asks.lock().is_empty());
        assert_eq!(deliver(&mut input, 100), [100]);
        assert_eq!(*asks.lock(), [300]);
        // A 1000-event burst is handled in batches of max - min = 250, refilling after each one
        // that takes outstanding demand to 750 or below.
        let (mut input, asks) = recorded(1000, 750);
        assert_eq!(deliver(&mut input, 1000), [250, 250, 250, 250]);
        assert_eq!(*asks.lock(), [250, 250, 250, 250]);
    }

    #[test]
    fn talks_demand_asks_five_after_each_batch_of_five() {
        let (mut input, asks) = recorded(10, 5);
        assert_eq!(deliver(&mut input, 10), [5, 5]);
        assert_eq!(*asks.lock(), [5, 5]);
    }

    #[test]
    fn receiving_more_than_asked_is_an_error() {
        let (mut input, _) = recorded(10, 5);
        let too_many = Msg::Events {
            from: 0,
            bytes: 0,
            events: (0..11).collect(),
        };
        assert!(
            input
                .receive(too_many)
                .unwrap_err()
                .contains("asked for 10")
        );
    }
}
