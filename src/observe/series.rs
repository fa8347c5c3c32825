//! The names of the series the sampler writes: one shared vocabulary for the sampler, the
//! views, the diagnoses, `--trace` and recordings.

/// Resident memory of the process (bytes), from the OS.
pub const RSS: &str = "memory/resident";
/// Live heap (bytes), from the counting allocator.
pub const HEAP: &str = "memory/heap";
/// Bytes waiting in mailboxes and stage buffers.
pub const QUEUED: &str = "memory/queued";
/// Bytes of palavriado's own data: the timeline of samples (grows with the run).
pub const PROFILER: &str = "memory/palavriado";
/// Corpus bytes read per second.
pub const IO: &str = "io/read_bytes_per_s";
/// Corpus bytes read so far.
pub const BYTES_READ: &str = "progress/bytes_read";
/// Lines read so far.
pub const LINES_READ: &str = "progress/lines_read";
/// Words counted so far.
pub const WORDS: &str = "progress/words_counted";
/// Words counted per second.
pub const WORDS_PER_S: &str = "progress/words_per_s";
/// The simulated delay (ms).
pub const DELAY: &str = "delay_ms";
/// CPU % (of one core) of palavriado itself: every thread of the process but the run's
/// (the app's UI and renderer, the sampler): the observer effect.
pub const SELF_CPU: &str = "cpu/palavriado";

/// CPU % (of one core) of a program followed from outside (a tokio-console program on this
/// machine, by its pid).
pub const PROGRAM_CPU: &str = "cpu/program";
/// Tasks alive in a tokio program (tokio-console's).
pub const TASKS_ALIVE: &str = "tasks/alive";
/// Time every task of a tokio program spent being polled, in % of one core.
pub const TASKS_POLLED: &str = "tasks/polled";
/// Time every task of a tokio program spent woken and waiting to be polled, in % of one core.
pub const TASKS_SCHEDULED: &str = "tasks/scheduled";

/// CPU % of one logical core over the interval that ends at the sample (the kernel's
/// per-CPU tick counters: 10 ms resolution).
pub fn core(i: usize) -> String {
    format!("cpu/core{i}")
}

/// Utilisation % of scheduler thread `i` (0-based; shown as `scheduler i+1`): its CPU time
/// over the interval (the runtime's busy time where the OS has no per-thread counters),
/// observer's first chart.
pub fn scheduler(i: usize) -> String {
    format!("scheduler/{}", i + 1)
}

/// A per-stage series: `stage/<name>/<metric>`.
pub fn stage(name: &str, metric: StageMetric) -> String {
    format!("stage/{name}/{}", metric.as_str())
}

/// What a per-stage series measures: one name the sampler writes and the views read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageMetric {
    /// Messages in its mailbox (observer's MsgQ).
    Msgq,
    /// Events in its mailbox and buffer.
    QueuedEvents,
    /// Events handled so far.
    In,
    /// Events emitted so far.
    Out,
    /// Events handled per second over the last interval.
    InPerS,
    /// Events held in its own buffer.
    Buffered,
    /// Outstanding demand.
    Demand,
    /// Its [`crate::runtime::probe::StageState`] as a number.
    State,
    /// Its CPU time so far (ms): its thread's with `threads`, its busy time on the scheduler.
    CpuMs,
    /// The same over the last interval, in % of one core.
    CpuPercent,
    /// Time inside its polls so far (ms).
    BusyMs,
    /// Polls per second.
    PollsPerS,
    /// Time ready but waiting for a scheduler so far (ms).
    SchedWaitMs,
    /// Times its thread was switched in so far.
    Switches,
    /// The same per second.
    SwitchesPerS,
    /// Time busy (handling events), in ms per second.
    BusyPerS,
    /// Time backpressured (output it may not send), in ms per second.
    BackpressuredPerS,
    /// Time idle (mailbox empty), in ms per second.
    IdlePerS,
    /// Time sleeping in the simulated delay, in ms per second.
    SleepingPerS,
    /// Median time in mailbox over the last second (µs).
    MailboxP50Us,
    /// 99th percentile of the time in mailbox over the last second (µs).
    MailboxP99Us,
    /// Bytes in its mailbox and buffer (observer's Memory column).
    QueuedBytes,
    /// Messages taken from its mailbox per second (hand-offs to it).
    MessagesPerS,
    /// Events waiting for it in its producers' partition (or broadcast) queues, summed over them.
    QueuedUpstream,
}

impl StageMetric {
    /// How many metrics there are (`QueuedUpstream` is the last), for tables indexed by them.
    pub const COUNT: usize = StageMetric::QueuedUpstream as usize + 1;

    /// The series' last path segment.
    pub const fn as_str(self) -> &'static str {
        match self {
            StageMetric::Msgq => "msgq",
            StageMetric::QueuedEvents => "queued_events",
            StageMetric::In => "in",
            StageMetric::Out => "out",
            StageMetric::InPerS => "in_per_s",
            StageMetric::Buffered => "buffered",
            StageMetric::Demand => "demand",
            StageMetric::State => "state",
            StageMetric::CpuMs => "cpu_ms",
            StageMetric::CpuPercent => "cpu_percent",
            StageMetric::BusyMs => "busy_ms",
            StageMetric::PollsPerS => "polls_per_s",
            StageMetric::SchedWaitMs => "sched_wait_ms",
            StageMetric::Switches => "switches",
            StageMetric::SwitchesPerS => "switches_per_s",
            StageMetric::BusyPerS => "busy_ms_per_s",
            StageMetric::BackpressuredPerS => "backpressured_ms_per_s",
            StageMetric::IdlePerS => "idle_ms_per_s",
            StageMetric::SleepingPerS => "sleeping_ms_per_s",
            StageMetric::MailboxP50Us => "mailbox_p50_us",
            StageMetric::MailboxP99Us => "mailbox_p99_us",
            StageMetric::QueuedBytes => "queued_bytes",
            StageMetric::MessagesPerS => "messages_per_s",
            StageMetric::QueuedUpstream => "queued_upstream",
        }
    }
}

/// One sample of every series at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Seconds since the run started.
    pub t: f64,
    /// One value per series, in column order; missing trailing values are NaN.
    pub values: Vec<f64>,
}

impl Row {
    /// The value of column `i` (NaN if it did not exist yet).
    pub fn get(&self, i: usize) -> f64 {
        self.values.get(i).copied().unwrap_or(f64::NAN)
    }
}
