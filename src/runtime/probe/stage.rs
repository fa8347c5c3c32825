//! Live counters of one stage/worker: mailbox, events in and out, demand, buffer, state.
//!
//! Every worker thread of every strategy owns one [`StageProbe`]; the sampler, the CLI and the app
//! read them at any moment without stopping the run (all fields are relaxed atomics).

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

use crate::runtime::doorbell::Doorbell;

/// What a stage does in its pipeline (observer's process kinds, GenStage's stage types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Emits events (reads the corpus).
    Producer,
    /// Consumes events and emits others (extracts words).
    ProducerConsumer,
    /// Consumes events (counts words).
    Consumer,
    /// A channel of a program's own between its tasks or threads: a queue, not a worker (its
    /// "mailbox" is what waits in it; its events in and out are messages received and sent).
    Channel,
    /// A task of a tokio program seen through tokio-console's instrumentation: polled, woken,
    /// with no known place in a pipeline.
    Task,
    /// A resource of a tokio program seen through tokio-console (a semaphore, a mutex, a
    /// timer): its "mailbox" is the tasks waiting on it.
    Resource,
}

impl StageKind {
    /// Short human name for tables.
    pub fn label(self) -> &'static str {
        match self {
            StageKind::Producer => "producer",
            StageKind::ProducerConsumer => "producer-consumer",
            StageKind::Consumer => "consumer",
            StageKind::Channel => "channel",
            StageKind::Task => "task",
            StageKind::Resource => "resource",
        }
    }

    /// The kind whose [`StageKind::label`] is `label` (as metrics carry it).
    pub fn from_label(label: &str) -> Option<Self> {
        [
            StageKind::Producer,
            StageKind::ProducerConsumer,
            StageKind::Consumer,
            StageKind::Channel,
            StageKind::Task,
            StageKind::Resource,
        ]
        .into_iter()
        .find(|k| k.label() == label)
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => StageKind::Producer,
            1 => StageKind::ProducerConsumer,
            3 => StageKind::Channel,
            4 => StageKind::Task,
            5 => StageKind::Resource,
            _ => StageKind::Consumer,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            StageKind::Producer => 0,
            StageKind::ProducerConsumer => 1,
            StageKind::Consumer => 2,
            StageKind::Channel => 3,
            StageKind::Task => 4,
            StageKind::Resource => 5,
        }
    }
}

/// What a stage is doing right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum StageState {
    /// Created, thread not yet running.
    Starting = 0,
    /// Handling events.
    Running = 1,
    /// Backpressured: has output to give but no downstream demand (or, in Push, a crowded
    /// receiver: the send penalty).
    WaitingForDemand = 2,
    /// Idle, its mailbox is empty.
    WaitingForEvents = 3,
    /// Sleeping in the simulated delay.
    Sleeping = 4,
    /// Finished (completed or stopped).
    Done = 5,
}

impl StageState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => StageState::Running,
            2 => StageState::WaitingForDemand,
            3 => StageState::WaitingForEvents,
            4 => StageState::Sleeping,
            5 => StageState::Done,
            _ => StageState::Starting,
        }
    }

    /// Short human name for tables.
    pub fn label(self) -> &'static str {
        match self {
            StageState::Starting => "starting",
            StageState::Running => "running",
            StageState::WaitingForDemand => "waiting for demand",
            StageState::WaitingForEvents => "waiting for events",
            StageState::Sleeping => "sleeping",
            StageState::Done => "done",
        }
    }
}

/// Nanoseconds since the first probe reading of the process (never 0): one cheap clock that
/// every probe's timestamps share.
#[inline]
pub fn clock_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Where a stage's time went so far, in ns (Flink's busy / backpressured / idle, plus the
/// simulated delay's sleep).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateTimes {
    /// Handling events (running, or ready and waiting for a scheduler).
    pub busy_ns: u64,
    /// Has events to give but may not: no demand downstream, or a crowded mailbox (Push's send
    /// penalty).
    pub backpressured_ns: u64,
    /// Waiting for events: its mailbox is empty.
    pub idle_ns: u64,
    /// Sleeping in the simulated delay (which stands for slow work).
    pub sleeping_ns: u64,
}

impl StateTimes {
    /// Each state's share of the time they add up to (all 0 when nothing was timed).
    pub fn shares(&self) -> TimeShares {
        let total = (self.busy_ns + self.backpressured_ns + self.idle_ns + self.sleeping_ns) as f64;
        let f = |ns: u64| if total > 0.0 { ns as f64 / total } else { 0.0 };
        TimeShares {
            busy: f(self.busy_ns),
            backpressured: f(self.backpressured_ns),
            idle: f(self.idle_ns),
            sleeping: f(self.sleeping_ns),
        }
    }
}

/// Shares (0–1) of a stage's time busy, backpressured, idle and sleeping over some span.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimeShares {
    /// Handling events.
    pub busy: f64,
    /// Has events it may not send.
    pub backpressured: f64,
    /// Waiting for events.
    pub idle: f64,
    /// In the simulated delay.
    pub sleeping: f64,
}

impl TimeShares {
    /// Busy or sleeping in the delay (which stands for slow work): the stage's load.
    pub fn working(&self) -> f64 {
        self.busy + self.sleeping
    }
}

/// Buckets of the time-in-mailbox histogram: bucket `i` holds waits up to
/// `WAIT_BUCKET_BASE_NS × 2^(i/3)`, from 100 ns to about 7 minutes.
pub const WAIT_BUCKETS: usize = 96;
const WAIT_BUCKET_BASE_NS: f64 = 100.0;

/// The histogram bucket of a wait of `ns`.
fn wait_bucket(ns: u64) -> usize {
    if ns as f64 <= WAIT_BUCKET_BASE_NS {
        return 0;
    }
    let i = ((ns as f64 / WAIT_BUCKET_BASE_NS).log2() * 3.0).ceil() as usize;
    i.min(WAIT_BUCKETS - 1)
}

/// The longest wait (s) bucket `i` holds.
pub fn wait_bucket_upper_s(i: usize) -> f64 {
    bucket_table()[i].0
}

/// Each bucket's upper bound (s) and middle (µs), computed once.
fn bucket_table() -> &'static [(f64, f64); WAIT_BUCKETS] {
    static TABLE: std::sync::OnceLock<[(f64, f64); WAIT_BUCKETS]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            (
                WAIT_BUCKET_BASE_NS * 2f64.powf(i as f64 / 3.0) / 1e9,
                WAIT_BUCKET_BASE_NS * 2f64.powf((i as f64 - 0.5).max(0.0) / 3.0) / 1e3,
            )
        })
    })
}

/// The wait (µs) that bucket `i` stands for: the geometric middle of its range.
pub fn wait_bucket_us(i: usize) -> f64 {
    bucket_table()[i].1
}

/// The `q` quantile (0–1) of a time-in-mailbox histogram (counts per bucket), in µs; `None`
/// when it is empty.
pub fn wait_quantile_us(hist: &[u64], q: f64) -> Option<f64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(wait_bucket_us(i));
        }
    }
    None
}

/// Enqueue times of a sample of the messages in a mailbox, matched with their dequeue.
#[derive(Debug, Default)]
struct Stamps {
    /// (index of the message in send order, 1-based; enqueue time), oldest first.
    pending: VecDeque<(u64, u64)>,
    /// Stamps since the sampler last set the rate.
    since_set: u32,
}

/// Stamps a mailbox takes at one rate before it halves the rate itself: a burst after a quiet
/// interval (when every message is stamped) then costs a few hundred stamps, not all of it.
const STAMPS_BEFORE_WIDENING: u32 = 64;

/// Stamps kept at most per mailbox (older ones are dropped: those messages go unmeasured).
const MAX_STAMPS: usize = 65_536;

/// Running totals of one side of a mailbox.
#[derive(Debug, Default)]
pub struct MailboxTotals {
    /// Messages.
    pub messages: AtomicU64,
    /// Events inside those messages (a batch message holds many; unused for one-event messages).
    pub events: AtomicU64,
    /// Heap bytes owned by those messages.
    pub bytes: AtomicU64,
}

/// Counters of a mailbox: what senders put in and what the owner took out, on separate cache
/// lines, so a message costs each side a write to its own line only. What waits is the
/// difference (the observer's MsgQ is `sent.messages - taken.messages`).
#[derive(Debug, Default)]
pub struct MailboxCounters {
    /// Totals sent in (written by the senders).
    pub sent: CachePadded<MailboxTotals>,
    /// Totals taken out (written by the owner only).
    pub taken: CachePadded<MailboxTotals>,
}

/// Which sends do the occasional extra work.
#[derive(Debug)]
struct SendMasks {
    /// A message is stamped when its send index has these bits clear (the sampler widens it as
    /// traffic grows, keeping stamps to about a thousand a second).
    stamp: AtomicU64,
    /// The mailbox's length is compared with its largest when the send index has these bits
    /// clear: every send while traffic is light (exact), one in up to 64 under heavy traffic
    /// (reading the owner's counter costs a cache miss per send).
    max: AtomicU64,
}

/// The raw kind of a stage of a program's own before it used a channel.
const NO_ROLE_YET: u8 = u8::MAX;

/// Live counters of one stage. Cheap to update from the hot loop, readable from anywhere.
#[derive(Debug)]
pub struct StageProbe {
    /// Unique name within a run: `reader`, `extractor 2`, `counter 1` …
    pub name: String,
    /// Role in the pipeline (a stage of a program's own learns it from the channel ends it uses).
    kind: AtomicU8,
    /// A bounded channel's capacity (`u64::MAX`: unbounded, or not a channel).
    capacity: AtomicU64,
    /// The stage's own mailbox.
    pub(crate) mailbox: MailboxCounters,
    events_in: CachePadded<AtomicU64>,
    events_out: CachePadded<AtomicU64>,
    buffered: AtomicU64,
    buffered_bytes: AtomicU64,
    demand: AtomicU64,
    state: AtomicU8,
    tid: AtomicI32,
    /// Times the stage's thread was switched in, recorded when it ends.
    switches: AtomicU64,
    max_mailbox: AtomicU64,
    message_size: AtomicU64,
    single_event: std::sync::atomic::AtomicBool,
    closed: std::sync::atomic::AtomicBool,
    /// A task of a program's own runtime (not the stage runtime's scheduler): its CPU is the
    /// time inside its polls.
    foreign_task: std::sync::atomic::AtomicBool,
    /// A stage of a program's own: no mailbox (see [`StageProbe::has_mailbox`]).
    mailboxless: std::sync::atomic::AtomicBool,
    /// The thread a task of a program's own runtime was last seen polled on.
    last_thread: AtomicI32,
    subscriptions: Mutex<Vec<SubscriptionDemand>>,
    /// What a stage of a program's own sends into, or a channel feeds (names): the edges the
    /// Pipeline view draws. Empty for the stage runtime's stages (their columns tell).
    feeds: Mutex<Vec<String>>,
    /// Time inside the stage's polls (estimated from a sample of them), in ns.
    busy_ns: CachePadded<AtomicU64>,
    /// Times the stage's task was polled.
    polls: AtomicU64,
    /// Time the stage was ready to run but waited for a scheduler (estimated from a sample of
    /// its wake-ups), in ns.
    sched_wait_ns: AtomicU64,
    /// Wakes the stage when a message arrives, the run stops or the delay changes. On a line
    /// of its own: senders read it on every send, the owner writes it when it waits.
    bell: CachePadded<Doorbell>,
    /// Time spent in each [`StageState`] before the current one, in ns.
    state_ns: [AtomicU64; 6],
    /// When the current state began ([`clock_ns`]; 0 before the first).
    state_since: AtomicU64,
    /// What senders read on every send and the sampler rarely changes, on a line of its own
    /// (beside the owner's counters, every send would fetch a line the owner just wrote).
    masks: CachePadded<SendMasks>,
    /// Send index of the oldest stamped message still waiting (`u64::MAX`: none), so the owner
    /// looks at the stamps only when that message comes out.
    next_stamped: AtomicU64,
    stamps: Mutex<Stamps>,
    /// Time-in-mailbox histogram of the stamped messages (see [`WAIT_BUCKETS`]).
    waits: Box<[AtomicU64; WAIT_BUCKETS]>,
    /// Highest bytes queued in the mailbox and buffer seen by the sampler.
    peak_bytes: AtomicU64,
}

/// Outstanding demand of one subscription, as seen by the producing stage.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionDemand {
    /// Name of the subscriber.
    pub subscriber: String,
    /// Events it asked for and has not yet been sent.
    pub outstanding: u64,
    /// Events waiting for it alone (its partition's queue).
    pub queued: u64,
}

/// A consistent-enough copy of a probe's counters at one moment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageSnapshot {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: StageKind,
    /// A bounded channel's capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// Messages in the mailbox (MsgQ).
    pub mailbox_messages: u64,
    /// Events in the mailbox.
    pub mailbox_events: u64,
    /// Bytes in the mailbox plus the stage's own buffer.
    pub queued_bytes: u64,
    /// Events handled so far.
    pub events_in: u64,
    /// Events emitted so far.
    pub events_out: u64,
    /// Events waiting in the stage's own output buffer.
    pub buffered: u64,
    /// Outstanding demand (sum over subscriptions, for producers) or asked-for (consumers).
    pub demand: u64,
    /// Current state.
    pub state: StageState,
    /// Largest mailbox length seen.
    pub max_mailbox: u64,
    /// OS thread id (0 before the thread starts, and on the scheduler, where a stage has none).
    pub tid: i32,
    /// Time inside the stage's polls, in ns.
    pub busy_ns: u64,
    /// Polls of the stage's task.
    pub polls: u64,
    /// Time ready but waiting for a scheduler, in ns.
    pub sched_wait_ns: u64,
    /// Where its time went so far.
    pub times: StateTimes,
    /// Highest bytes queued (mailbox and buffer) seen by the sampler.
    pub peak_bytes: u64,
    /// What a stage of a program's own sends into, or a channel feeds (names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
    /// The program it belongs to, where one view shows several (a fleet); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// What tokio-console tells of a task or resource beyond these counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskDetail>,
}

/// What tokio-console tells of a task or a resource that a stage's counters do not hold.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskDetail {
    /// Its id in the program (tokio-console's).
    pub id: u64,
    /// Where it was spawned or created (`file:line:column`), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// tokio-console's kind: `task`, `blocking`, or a resource's type (`Semaphore`, `Sleep`…).
    pub kind: String,
    /// A resource's attributes now (`permits=3 locked=false`); empty for a task.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attributes: String,
    /// Times it was woken, and by itself.
    pub wakes: u64,
    /// Wakes from inside its own poll.
    pub self_wakes: u64,
    /// Wakers of it alive (clones less drops).
    pub wakers: i64,
    /// Poll time p50, p99 and max (ns), where a histogram of them came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_ns: Option<[u64; 3]>,
    /// Scheduled time (woken until polled) p50, p99 and max (ns), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_ns: Option<[u64; 3]>,
}

impl StageSnapshot {
    /// Its name within its program: without the `program/` that a view of several programs
    /// (a group, a fleet) puts before it.
    pub fn own_name(&self) -> &str {
        match &self.program {
            Some(_) => self.name.split_once('/').map_or(&self.name, |(_, n)| n),
            None => &self.name,
        }
    }
}

impl StageProbe {
    /// A fresh probe.
    pub(crate) fn new(name: impl Into<String>, kind: StageKind) -> Self {
        Self {
            name: name.into(),
            kind: AtomicU8::new(kind.to_u8()),
            capacity: AtomicU64::new(u64::MAX),
            mailbox: MailboxCounters::default(),
            events_in: Default::default(),
            events_out: Default::default(),
            buffered: AtomicU64::new(0),
            buffered_bytes: AtomicU64::new(0),
            demand: AtomicU64::new(0),
            state: AtomicU8::new(StageState::Starting as u8),
            tid: AtomicI32::new(0),
            switches: AtomicU64::new(0),
            max_mailbox: AtomicU64::new(0),
            message_size: AtomicU64::new(0),
            single_event: std::sync::atomic::AtomicBool::new(false),
            closed: std::sync::atomic::AtomicBool::new(false),
            foreign_task: std::sync::atomic::AtomicBool::new(false),
            mailboxless: std::sync::atomic::AtomicBool::new(false),
            last_thread: AtomicI32::new(0),
            subscriptions: Mutex::new(Vec::new()),
            feeds: Mutex::new(Vec::new()),
            busy_ns: Default::default(),
            polls: AtomicU64::new(0),
            sched_wait_ns: AtomicU64::new(0),
            bell: Default::default(),
            state_ns: Default::default(),
            state_since: AtomicU64::new(0),
            masks: CachePadded::new(SendMasks {
                stamp: AtomicU64::new(63),
                max: AtomicU64::new(0),
            }),
            next_stamped: AtomicU64::new(u64::MAX),
            stamps: Mutex::new(Stamps::default()),
            waits: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            peak_bytes: AtomicU64::new(0),
        }
    }

    /// Role in the pipeline.
    pub fn kind(&self) -> StageKind {
        StageKind::from_u8(self.kind.load(Relaxed))
    }

    /// A stage of a program's own sends (`sends`) or receives on a channel: a stage that does
    /// both is a producer-consumer. Returns true when its role changed.
    pub(crate) fn note_role(&self, sends: bool) -> bool {
        if self.kind.load(Relaxed) == NO_ROLE_YET {
            let kind = if sends {
                StageKind::Producer
            } else {
                StageKind::Consumer
            };
            self.kind.store(kind.to_u8(), Relaxed);
            return true;
        }
        let now = self.kind();
        let next = match (now, sends) {
            (StageKind::Channel | StageKind::Task, _) => return false,
            (StageKind::Producer, false) | (StageKind::Consumer, true) => {
                StageKind::ProducerConsumer
            }
            (k, _) => k,
        };
        next != now && {
            self.kind.store(next.to_u8(), Relaxed);
            true
        }
    }

    /// A stage of a program's own has no role until it uses a channel (it reads as a consumer).
    pub(crate) fn forget_role(&self) {
        self.kind.store(NO_ROLE_YET, Relaxed);
        self.mailboxless.store(true, Relaxed);
    }

    /// False for a stage of a program's own (a task or thread): it has no mailbox, its queues
    /// are its channels.
    pub fn has_mailbox(&self) -> bool {
        !self.mailboxless.load(Relaxed)
    }

    /// A bounded channel's capacity, `None` when unbounded (or not a channel).
    pub fn capacity(&self) -> Option<u64> {
        Some(self.capacity.load(Relaxed)).filter(|&c| c != u64::MAX)
    }

    /// Declares a channel's capacity (`None`: unbounded).
    pub(crate) fn set_capacity(&self, capacity: Option<usize>) {
        self.capacity
            .store(capacity.map_or(u64::MAX, |c| c as u64), Relaxed);
    }

    /// Records events handled.
    #[inline]
    pub(crate) fn add_in(&self, n: u64) {
        self.events_in.fetch_add(n, Relaxed);
    }

    /// Records events emitted.
    #[inline]
    pub(crate) fn add_out(&self, n: u64) {
        self.events_out.fetch_add(n, Relaxed);
    }

    /// Sets the number of events (and their bytes) waiting in the stage's own buffer.
    #[inline]
    pub(crate) fn set_buffered(&self, events: u64, bytes: u64) {
        self.buffered.store(events, Relaxed);
        self.buffered_bytes.store(bytes, Relaxed);
    }

    /// Sets the total outstanding demand.
    #[inline]
    pub(crate) fn set_demand(&self, n: u64) {
        self.demand.store(n, Relaxed);
    }

    /// Adds a subscription to the per-subscription demand list.
    pub(crate) fn add_subscription(&self, sub: SubscriptionDemand) {
        self.subscriptions.lock().push(sub);
    }

    /// Updates subscriptions' outstanding demand and queued events: `(index, outstanding,
    /// queued)` each, under one lock.
    pub(crate) fn set_subscription_demands(
        &self,
        updates: impl IntoIterator<Item = (usize, u64, u64)>,
    ) {
        let mut subs = self.subscriptions.lock();
        for (index, outstanding, queued) in updates {
            if let Some(s) = subs.get_mut(index) {
                s.outstanding = outstanding;
                s.queued = queued;
            }
        }
    }

    /// Visits each subscription's demand (with its index) without copying the list.
    pub(crate) fn for_each_subscription(&self, mut visit: impl FnMut(usize, &SubscriptionDemand)) {
        for (i, s) in self.subscriptions.lock().iter().enumerate() {
            visit(i, s);
        }
    }

    /// Records that this stage (or channel) feeds `name`.
    pub(crate) fn add_feed(&self, name: &str) {
        self.feeds.lock().push(name.to_string());
    }

    /// Per-subscription outstanding demand.
    pub fn subscriptions(&self) -> Vec<SubscriptionDemand> {
        self.subscriptions.lock().clone()
    }

    /// Sets the current state, adding the time spent in the one it ends to its state times.
    /// Called by the stage itself, only where it starts or stops waiting (never per event).
    #[inline]
    pub(crate) fn set_state(&self, s: StageState) {
        let now = clock_ns();
        let before = self.state.swap(s as u8, Relaxed);
        let since = self.state_since.swap(now, Relaxed);
        if since != 0 {
            self.state_ns[before as usize].fetch_add(now.saturating_sub(since), Relaxed);
        }
    }

    /// Where the stage's time went so far, the current state counted up to now.
    pub fn state_times(&self) -> StateTimes {
        let state = self.state.load(Relaxed) as usize;
        let since = self.state_since.load(Relaxed);
        let ns = |s: StageState| {
            let mut n = self.state_ns[s as usize].load(Relaxed);
            if s as usize == state && since != 0 {
                n += clock_ns().saturating_sub(since);
            }
            n
        };
        StateTimes {
            busy_ns: ns(StageState::Running),
            backpressured_ns: ns(StageState::WaitingForDemand),
            idle_ns: ns(StageState::WaitingForEvents),
            sleeping_ns: ns(StageState::Sleeping),
        }
    }

    /// Sets how often messages are stamped for the time-in-mailbox figures: one in
    /// `every` (rounded up to a power of two); the largest-mailbox check follows, up to one in
    /// 64 sends.
    pub(crate) fn set_stamp_every(&self, every: u64) {
        let mask = every.max(1).next_power_of_two() - 1;
        self.masks.stamp.store(mask, Relaxed);
        self.masks.max.store(mask.min(63), Relaxed);
        self.stamps.lock().since_set = 0;
    }

    /// The time-in-mailbox histogram so far (counts per bucket).
    pub(crate) fn mailbox_waits(&self) -> Vec<u64> {
        self.waits.iter().map(|b| b.load(Relaxed)).collect()
    }

    /// Records the bytes queued now, keeping the highest.
    pub(crate) fn note_queued_bytes(&self, bytes: u64) {
        self.peak_bytes.fetch_max(bytes, Relaxed);
    }

    /// Current state.
    pub fn state(&self) -> StageState {
        StageState::from_u8(self.state.load(Relaxed))
    }

    /// Records the calling thread as this stage's thread (for per-thread CPU time).
    pub(crate) fn bind_current_thread(&self) {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        self.tid.store(tid, Relaxed);
    }

    /// OS thread id of the stage (0 before it starts).
    pub fn tid(&self) -> i32 {
        self.tid.load(Relaxed)
    }

    /// Records, as the stage's thread ends, how many times it was switched in.
    pub(crate) fn record_switches(&self, n: u64) {
        self.switches.store(n, Relaxed);
    }

    /// Times the stage's thread was switched in over its life (0 until it has ended).
    pub fn switches(&self) -> u64 {
        self.switches.load(Relaxed)
    }

    /// Declares the mailbox's message size (bytes per message in the channel) and whether each
    /// message is one event (then `events` is derived from `messages`).
    pub(crate) fn set_mailbox_shape(&self, message_size: u64, single_event: bool) {
        self.message_size.store(message_size, Relaxed);
        self.single_event.store(single_event, Relaxed);
    }

    /// Counts a message entering the mailbox (`events` 0 for single-event mailboxes; `bytes`
    /// is the heap the message owns).
    #[inline]
    pub(crate) fn mailbox_push(&self, events: u64, bytes: u64) {
        let sent = &self.mailbox.sent;
        let total = sent.messages.fetch_add(1, Relaxed) + 1;
        if events != 0 {
            sent.events.fetch_add(events, Relaxed);
        }
        if bytes != 0 {
            sent.bytes.fetch_add(bytes, Relaxed);
        }
        if total & self.masks.max.load(Relaxed) == 0 {
            let len = total.saturating_sub(self.mailbox.taken.messages.load(Relaxed));
            if len > self.max_mailbox.load(Relaxed) {
                self.max_mailbox
                    .fetch_max(len.min(self.capacity.load(Relaxed)), Relaxed);
            }
        }
        if total & self.masks.stamp.load(Relaxed) == 0 {
            self.stamp(total);
        }
    }

    #[cold]
    fn stamp(&self, index: u64) {
        let mut st = self.stamps.lock();
        if st.pending.len() >= MAX_STAMPS {
            st.pending.pop_front();
        }
        st.pending.push_back((index, clock_ns()));
        let oldest = st.pending.front().map_or(u64::MAX, |p| p.0);
        self.next_stamped.store(oldest, Relaxed);
        st.since_set += 1;
        if st.since_set >= STAMPS_BEFORE_WIDENING {
            st.since_set = 0;
            let mask = self.masks.stamp.load(Relaxed);
            let wider = (mask << 1 | 1).min(u64::MAX >> 1);
            self.masks.stamp.store(wider, Relaxed);
            self.masks.max.store(wider.min(63), Relaxed);
        }
    }

    /// The message with send index `taken` came out: if it was stamped, its wait is recorded.
    #[cold]
    fn unstamp(&self, taken: u64) {
        let now = clock_ns();
        let mut st = self.stamps.lock();
        while let Some(&(index, at)) = st.pending.front() {
            if index > taken {
                break;
            }
            st.pending.pop_front();
            if index == taken {
                self.waits[wait_bucket(now.saturating_sub(at))].fetch_add(1, Relaxed);
            }
        }
        let oldest = st.pending.front().map_or(u64::MAX, |p| p.0);
        self.next_stamped.store(oldest, Relaxed);
    }

    /// Takes back a [`StageProbe::mailbox_push`] whose message was never delivered.
    pub(crate) fn mailbox_unpush(&self, events: u64, bytes: u64) {
        let sent = &self.mailbox.sent;
        sent.messages.fetch_sub(1, Relaxed);
        sent.events.fetch_sub(events, Relaxed);
        sent.bytes.fetch_sub(bytes, Relaxed);
    }

    /// Counts a message leaving a channel that several receivers may share (one atomic add
    /// each instead of the owner's plain store).
    #[inline]
    pub(crate) fn shared_pop(&self, bytes: u64) {
        let taken = &self.mailbox.taken;
        let index = taken.messages.fetch_add(1, Relaxed) + 1;
        if index >= self.next_stamped.load(Relaxed) {
            self.unstamp(index);
        }
        if bytes != 0 {
            taken.bytes.fetch_add(bytes, Relaxed);
        }
    }

    /// Counts a message leaving the mailbox; called by the mailbox's owner only.
    #[inline]
    pub(crate) fn mailbox_pop(&self, events: u64, bytes: u64) {
        // One writer: a plain load and store, no locked read-modify-write.
        let taken = &self.mailbox.taken;
        let index = taken.messages.load(Relaxed) + 1;
        taken.messages.store(index, Relaxed);
        if index >= self.next_stamped.load(Relaxed) {
            self.unstamp(index);
        }
        if events != 0 {
            taken
                .events
                .store(taken.events.load(Relaxed) + events, Relaxed);
        }
        if bytes != 0 {
            taken
                .bytes
                .store(taken.bytes.load(Relaxed) + bytes, Relaxed);
        }
    }

    /// Waiting = sent − taken, reading `taken` first so the difference never goes negative.
    fn waiting(&self, field: impl Fn(&MailboxTotals) -> &AtomicU64) -> u64 {
        let taken = field(&self.mailbox.taken).load(Relaxed);
        field(&self.mailbox.sent)
            .load(Relaxed)
            .saturating_sub(taken)
    }

    /// Marks the stage a task of a program's own runtime.
    pub(crate) fn mark_foreign_task(&self) {
        self.foreign_task.store(true, Relaxed);
    }

    /// Records the thread a task of a program's own runtime is polled on.
    pub(crate) fn note_thread(&self, tid: i32) {
        self.last_thread.store(tid, Relaxed);
    }

    /// The thread a task of a program's own runtime was last polled on (0: not yet).
    pub fn last_thread(&self) -> i32 {
        self.last_thread.load(Relaxed)
    }

    /// True for a task of a program's own runtime.
    pub fn is_foreign_task(&self) -> bool {
        self.foreign_task.load(Relaxed)
    }

    /// Shows a channel open (a channel has a state but no time split: its state time is
    /// never counted).
    pub(crate) fn mark_open(&self, open: bool) {
        let state = if open {
            StageState::Running
        } else {
            StageState::Done
        };
        self.state.store(state as u8, Relaxed);
    }

    /// Marks the mailbox closed (its stage is gone): it reads as empty from now on.
    pub(crate) fn close_mailbox(&self) {
        self.closed.store(true, Relaxed);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Messages waiting in the mailbox now. A channel's ends count each message just after it
    /// goes in or out, so in-flight operations could read past its bound: it is capped there.
    pub fn mailbox_len(&self) -> u64 {
        if self.is_closed() {
            return 0;
        }
        self.waiting(|t| &t.messages)
            .min(self.capacity.load(Relaxed))
    }

    /// Messages taken out of the mailbox so far.
    pub fn messages_received(&self) -> u64 {
        self.mailbox.taken.messages.load(Relaxed)
    }

    /// Largest mailbox length seen so far.
    pub fn max_mailbox(&self) -> u64 {
        self.max_mailbox.load(Relaxed)
    }

    /// Events waiting in the mailbox.
    pub fn mailbox_events(&self) -> u64 {
        if self.is_closed() {
            0
        } else if self.single_event.load(Relaxed) {
            self.mailbox_len()
        } else {
            self.waiting(|t| &t.events)
        }
    }

    /// Bytes waiting in the mailbox (messages and the heap they own) and the stage's buffer.
    pub fn queued_bytes(&self) -> u64 {
        let mailbox = if self.is_closed() {
            0
        } else {
            self.mailbox_len() * self.message_size.load(Relaxed) + self.waiting(|t| &t.bytes)
        };
        mailbox + self.buffered_bytes.load(Relaxed)
    }

    /// Events handled so far.
    pub fn events_in(&self) -> u64 {
        self.events_in.load(Relaxed)
    }

    /// Events emitted so far.
    pub fn events_out(&self) -> u64 {
        self.events_out.load(Relaxed)
    }

    /// The stage's doorbell (rung by senders, stop and delay changes).
    #[inline]
    pub(crate) fn doorbell(&self) -> &Doorbell {
        &self.bell
    }

    /// Records one poll of the stage's task.
    #[inline]
    pub(crate) fn add_poll(&self) {
        self.polls.fetch_add(1, Relaxed);
    }

    /// Adds (estimated) time spent inside polls.
    #[inline]
    pub(crate) fn add_busy_ns(&self, ns: u64) {
        self.busy_ns.fetch_add(ns, Relaxed);
    }

    /// Adds (estimated) time spent ready but waiting for a scheduler.
    #[inline]
    pub(crate) fn add_sched_wait_ns(&self, ns: u64) {
        self.sched_wait_ns.fetch_add(ns, Relaxed);
    }

    /// Time inside the stage's polls so far, in ns (observer's "reductions", as time).
    pub fn busy_ns(&self) -> u64 {
        self.busy_ns.load(Relaxed)
    }

    /// Times the stage's task has been polled.
    pub fn polls(&self) -> u64 {
        self.polls.load(Relaxed)
    }

    /// Time the stage was ready but waited for a scheduler, in ns.
    pub fn sched_wait_ns(&self) -> u64 {
        self.sched_wait_ns.load(Relaxed)
    }

    /// Copies every counter.
    pub fn snapshot(&self) -> StageSnapshot {
        StageSnapshot {
            name: self.name.clone(),
            kind: self.kind(),
            capacity: self.capacity(),
            mailbox_messages: self.mailbox_len(),
            mailbox_events: self.mailbox_events(),
            queued_bytes: self.queued_bytes(),
            events_in: self.events_in(),
            events_out: self.events_out(),
            buffered: self.buffered.load(Relaxed),
            demand: self.demand.load(Relaxed),
            state: self.state(),
            max_mailbox: self.max_mailbox(),
            tid: self.tid(),
            busy_ns: self.busy_ns(),
            polls: self.polls(),
            sched_wait_ns: self.sched_wait_ns(),
            times: self.state_times(),
            peak_bytes: self.peak_bytes.load(Relaxed),
            feeds: self.feeds.lock().clone(),
            program: None,
            task: None,
        }
    }
}
