//! The subscription and demand protocol (GenStage's): how a consuming stage subscribes, asks
//! for events, files what arrives and asks again as it handles it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::dispatcher::{Filter, Outlet};
use super::{AskHandle, BatchIter, Msg, OutletSpec, Source};
use crate::runtime::control::RunControl;
use crate::runtime::event::{Event, event_bytes};
use crate::runtime::mailbox::{MailboxReceiver, MailboxSender, mailbox};
use crate::runtime::pacing::Pacer;
use crate::runtime::probe::{StageKind, StageProbe};

/// How a consumer subscribes to a producer.
///
/// ```
/// use palavriado::Subscription;
/// // The talk's Pull: ask for 10 events, ask again after handling 5.
/// let talk = Subscription::<String>::new().max_demand(10).min_demand(5);
/// # let _ = talk;
/// ```
pub struct Subscription<E> {
    max_demand: u64,
    min_demand: Option<u64>,
    pub(super) partition: Option<usize>,
    pub(super) filter: Option<Filter<E>>,
}

impl<E> Default for Subscription<E> {
    fn default() -> Self {
        Self {
            max_demand: super::DEFAULT_MAX_DEMAND,
            min_demand: None,
            partition: None,
            filter: None,
        }
    }
}

impl<E> fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("max_demand", &self.max_demand)
            .field("min_demand", &self.min_demand)
            .field("partition", &self.partition)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

/// Why a subscription was refused (GenStage refuses the same settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// `max_demand` must be at least 1.
    ZeroMaxDemand {
        /// The subscribing stage.
        stage: String,
    },
    /// `min_demand` must be below `max_demand`.
    MinNotBelowMax {
        /// The subscribing stage.
        stage: String,
        /// The `min_demand` given.
        min: u64,
        /// The `max_demand` given.
        max: u64,
    },
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::ZeroMaxDemand { stage } => write!(
                f,
                "stage '{stage}': max_demand must be at least 1 (it is the most events in flight)"
            ),
            SubscribeError::MinNotBelowMax { stage, min, max } => write!(
                f,
                "stage '{stage}': min_demand ({min}) must be below max_demand ({max})"
            ),
        }
    }
}

impl std::error::Error for SubscribeError {}

impl<E> Subscription<E> {
    /// `max_demand` 1000, `min_demand` 500.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most events in flight for this subscription (at least 1, checked at subscribe).
    pub fn max_demand(mut self, n: u64) -> Self {
        self.max_demand = n;
        self
    }

    /// Ask again once outstanding demand falls to this (default `max_demand / 2`; below
    /// `max_demand`, checked at subscribe).
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

    /// Checks the demand settings as subscribing would, for `stage`.
    pub fn check(&self, stage: &str) -> Result<(), SubscribeError> {
        self.limits(stage).map(drop)
    }

    /// `(max, min)`, or why they are refused.
    fn limits(&self, stage: &str) -> Result<(u64, u64), SubscribeError> {
        let max = self.max_demand;
        if max == 0 {
            return Err(SubscribeError::ZeroMaxDemand {
                stage: stage.into(),
            });
        }
        let min = self.min_demand.unwrap_or(max / 2);
        if min >= max {
            return Err(SubscribeError::MinNotBelowMax {
                stage: stage.into(),
                min,
                max,
            });
        }
        Ok((max, min))
    }
}

/// One upstream subscription as the consuming stage sees it.
pub(super) struct Upstream {
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
pub(super) struct Input<In: Event> {
    ups: Vec<Upstream>,
    own_tx: Option<MailboxSender<Msg<In>>>,
    /// Received messages not yet fully handled: the subscription they came from, their events
    /// and those events' bytes.
    queue: VecDeque<(usize, BatchIter<In>, u64)>,
    pub(super) queued: u64,
    pub(super) queued_bytes: u64,
    /// Upstream subscriptions that have completed, and the sum of their pending demand (kept
    /// as they change: a counter of 256 extractors must not sum 256 entries per message).
    ups_done: usize,
    pending_total: u64,
}

impl<In: Event> Input<In> {
    fn new(tx: MailboxSender<Msg<In>>) -> Self {
        Self {
            ups: Vec::new(),
            own_tx: Some(tx),
            queue: VecDeque::new(),
            queued: 0,
            queued_bytes: 0,
            ups_done: 0,
            pending_total: 0,
        }
    }

    fn subscribe<P: Source<In>>(
        &mut self,
        name: &str,
        producer: &mut P,
        sub: Subscription<In>,
    ) -> Result<(), SubscribeError> {
        let (max, min) = sub.limits(name)?;
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
        self.pending_total += max;
        Ok(())
    }

    /// True once every upstream has completed and everything received was handled.
    pub(super) fn all_done(&self) -> bool {
        self.ups_done == self.ups.len() && self.queue.is_empty()
    }

    /// True when nothing received waits to be handled.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when the stage has no upstream at all.
    pub(super) fn has_no_upstream(&self) -> bool {
        self.ups.is_empty()
    }

    /// Demand asked for and not yet received, over every subscription.
    pub(super) fn outstanding(&self) -> u64 {
        self.pending_total
    }

    /// Handles the next batch (at most `max - min` events of one subscription) with `handle`,
    /// taking the events straight out of the queued message (no copy). With a `pacer`, each
    /// event first waits the run's simulated delay. Returns the subscription it came from and
    /// its size, or `None` when nothing is queued.
    pub(super) async fn handle_batch(
        &mut self,
        pace: Option<(&mut Pacer, &RunControl, &StageProbe)>,
        mut handle: impl FnMut(In),
    ) -> Option<(usize, u64)> {
        let (from, events, bytes) = self.queue.front_mut()?;
        let from = *from;
        let up = &self.ups[from];
        let k = ((up.max - up.min).max(1) as usize).min(events.len());
        let whole = k == events.len();
        let taken = match pace {
            // The common case: a whole message, handled straight from its vector.
            None if whole => {
                let (_, events, bytes) = self.queue.pop_front().expect("front exists");
                events.for_each(&mut handle);
                bytes
            }
            mut pace => {
                let mut b = 0;
                for e in events.by_ref().take(k) {
                    if let Some((pacer, ctl, probe)) = pace.as_mut() {
                        pacer.pause(ctl, probe).await;
                    }
                    b += event_bytes(&e);
                    handle(e);
                }
                if whole {
                    let (_, _, bytes) = self.queue.pop_front().expect("front exists");
                    bytes
                } else {
                    let b = b.min(*bytes);
                    *bytes -= b;
                    b
                }
            }
        };
        self.queued -= k as u64;
        self.queued_bytes = self.queued_bytes.saturating_sub(taken);
        Some((from, k as u64))
    }

    /// True when the stage has more to handle right away (events queued, or messages in its
    /// mailbox): a stage that woke another then hands it off rather than keep it waiting.
    pub(super) fn goes_on(&self, rx: &MailboxReceiver<Msg<In>>) -> bool {
        !(self.is_empty() && rx.looks_empty())
    }

    /// After handling a batch: GenStage's refill rule. True when the refill woke its
    /// producer: the stage should then [`crate::runtime::executor::hand_off`] before handling more, so
    /// the producer runs meanwhile.
    #[must_use]
    pub(super) fn handled(&mut self, from: usize, n: u64) -> bool {
        let up = &mut self.ups[from];
        let before = up.pending;
        up.pending = up.pending.saturating_sub(n);
        let mut woke = false;
        if up.pending <= up.min && !up.done {
            let ask = up.max - up.pending;
            up.pending = up.max;
            up.asked_total += ask;
            woke = (up.ask.0)(ask);
        }
        self.pending_total = self.pending_total - before + up.pending;
        woke
    }

    /// Files a message from upstream; an error if a producer sent more than was asked.
    pub(super) fn receive(&mut self, msg: Msg<In>) -> Result<(), String> {
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
            Msg::Done { from } => {
                if !self.ups[from].done {
                    self.ups[from].done = true;
                    self.ups_done += 1;
                }
            }
            Msg::Ask { .. } => {}
        }
        Ok(())
    }
}

/// The consuming side of a stage before it starts: its probe, mailbox and subscriptions
/// (shared by producer-consumers and consumers).
pub(super) struct Inlet<In: Event> {
    pub(super) ctl: Arc<RunControl>,
    pub(super) probe: Arc<StageProbe>,
    rx: MailboxReceiver<Msg<In>>,
    input: Input<In>,
    /// Each event first waits the run's simulated delay.
    pub(super) paced: bool,
}

/// What a consuming stage's task owns once it runs.
pub(super) struct Running<In: Event> {
    pub(super) ctl: Arc<RunControl>,
    pub(super) probe: Arc<StageProbe>,
    pub(super) rx: MailboxReceiver<Msg<In>>,
    pub(super) input: Input<In>,
    /// Paces each event by the simulated delay (a paced stage only).
    pub(super) pacer: Option<Pacer>,
}

impl<In: Event> Inlet<In> {
    /// Registers the stage and makes its mailbox; also returns a sender to it.
    pub(super) fn new(
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
            paced: false,
        };
        (inlet, tx)
    }

    pub(super) fn subscribe<P: Source<In>>(
        &mut self,
        producer: &mut P,
        sub: Subscription<In>,
    ) -> Result<(), SubscribeError> {
        let name = self.probe.name.clone();
        self.input.subscribe(&name, producer, sub)
    }

    /// The stage's parts for its task. Subscriptions are closed by then, so the stage drops its
    /// own sender: its mailbox disconnects once every upstream sender is gone.
    pub(super) fn into_running(self) -> Running<In> {
        let Inlet {
            ctl,
            probe,
            rx,
            mut input,
            paced,
        } = self;
        input.own_tx = None;
        Running {
            ctl,
            probe,
            rx,
            input,
            pacer: paced.then(Pacer::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use std::time::Duration;

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
        input.pending_total = max;
        (input, asks)
    }

    fn deliver(input: &mut Input<u64>, n: usize) -> Vec<usize> {
        let events: Vec<u64> = (0..n as u64).collect();
        input
            .receive(Msg::Events {
                from: 0,
                bytes: 0,
                events: events.into(),
            })
            .unwrap();
        let mut sizes = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        while let Some((from, n)) = rt.block_on(input.handle_batch(None, drop)) {
            sizes.push(n as usize);
            let _ = input.handled(from, n);
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
            events: (0..11).collect::<Vec<u64>>().into(),
        };
        assert!(
            input
                .receive(too_many)
                .unwrap_err()
                .contains("asked for 10")
        );
    }

    #[test]
    fn zero_max_demand_and_min_not_below_max_are_refused() {
        let s = Subscription::<u64>::new().max_demand(0);
        assert_eq!(
            s.limits("c").unwrap_err().to_string(),
            "stage 'c': max_demand must be at least 1 (it is the most events in flight)"
        );
        let s = Subscription::<u64>::new().max_demand(10).min_demand(10);
        assert_eq!(
            s.limits("c").unwrap_err(),
            SubscribeError::MinNotBelowMax {
                stage: "c".into(),
                min: 10,
                max: 10
            }
        );
        assert_eq!(
            Subscription::<u64>::new().max_demand(1).limits("c"),
            Ok((1, 0))
        );
        assert_eq!(Subscription::<u64>::new().limits("c"), Ok((1000, 500)));
    }
}
