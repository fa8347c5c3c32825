//! tokio-console's programs: their recordings replayed ([`replay`]) and, with the `console`
//! feature, the programs themselves followed live over tokio-console's gRPC protocol
//! ([`live`]). Either way every task is a stage of kind `task`, and the same diagnoses name
//! what tokio's tasks call for: long polls, self-wakes, lost wakers, a saturated runtime.

#[cfg(feature = "console")]
pub mod live;
pub mod replay;

pub use replay::{is_console_file, open};

use std::time::Duration;

use super::diagnosis::{Diagnosis, DiagnosisKind};
use super::series::{self, StageMetric};
use super::timeline::Timeline;
use crate::runtime::probe::{StageKind, StageSnapshot, StageState, StateTimes, TaskDetail};

/// A poll longer than this holds a scheduler thread: its other ready tasks wait. (At 100 µs,
/// every worker of `examples/console_jobs` was named on this 2-core machine with the viewer
/// running beside it: p99 0.17–0.25 ms from scheduling noise, not from blocking.)
pub const LONG_POLL: Duration = Duration::from_millis(1);
/// A task waking itself in at least this share of at least `SELF_WAKES` wakes is looping.
pub const SELF_WAKE_SHARE: f64 = 0.5;
/// Wakes a task needs before its self-wakes count.
pub const SELF_WAKES: u64 = 100;
/// Woken tasks waiting this long on average to be polled: the runtime is saturated.
pub const SATURATED: Duration = Duration::from_millis(1);

/// True when `wakes` with `self_wakes` among them make a task that loops on itself.
fn loops_on_itself(wakes: u64, self_wakes: u64) -> bool {
    wakes >= SELF_WAKES && self_wakes as f64 >= SELF_WAKE_SHARE * wakes as f64
}

/// A task whose polls hold its scheduler thread (times in seconds; `what` says where the
/// figures come from, e.g. "p99" or "mean"; `spawned_at` where it was spawned, if known).
fn long_poll(
    task: &str,
    longest_s: f64,
    typical_s: f64,
    what: &str,
    since_s: f64,
    spawned_at: &str,
) -> Diagnosis {
    let at = if spawned_at.is_empty() {
        String::new()
    } else {
        format!(" — spawned at {spawned_at}")
    };
    Diagnosis {
        kind: DiagnosisKind::LongPoll,
        stage: task.to_string(),
        summary: format!(
            "{task} holds its scheduler thread: polls take up to {:.1} ms ({what} {:.2} ms, over \
             {} ms): something in it blocks (a lock, a sleep, heavy work), or the machine is too \
             busy to run its thread{at}",
            longest_s * 1e3,
            typical_s * 1e3,
            LONG_POLL.as_secs_f64() * 1e3
        ),
        since_ms: since_s * 1e3,
        until_ms: None,
    }
}

/// A task that wakes itself in most of its wakes.
fn self_wake(
    task: &str,
    self_wakes: u64,
    wakes: u64,
    since_s: f64,
    until_s: Option<f64>,
) -> Diagnosis {
    Diagnosis {
        kind: DiagnosisKind::SelfWake,
        stage: task.to_string(),
        summary: format!(
            "{task} wakes itself in {:.0} % of its {wakes} wakes: a loop that yields or re-polls \
             itself instead of waiting",
            self_wakes as f64 / wakes.max(1) as f64 * 100.0,
        ),
        since_ms: since_s * 1e3,
        until_ms: until_s.map(|s| s * 1e3),
    }
}

/// A task idle since `idle_since_s`, not finished, with no waker left: nothing can wake it.
fn lost_waker(task: &str, idle_since_s: f64) -> Diagnosis {
    Diagnosis {
        kind: DiagnosisKind::LostWaker,
        stage: task.to_string(),
        summary: format!(
            "{task} will never run again: idle since {idle_since_s:.1} s, not finished, and no \
             waker of it is left"
        ),
        since_ms: idle_since_s * 1e3,
        until_ms: None,
    }
}

/// Woken tasks waiting `mean_s` on average (`p99_s` at the 99th percentile, when known).
fn saturated(mean_s: f64, p99_s: Option<f64>, since_s: f64, until_s: Option<f64>) -> Diagnosis {
    let p99 = p99_s.map_or(String::new(), |p| format!(" (p99 {:.1} ms)", p * 1e3));
    Diagnosis {
        kind: DiagnosisKind::Saturated,
        stage: "runtime".into(),
        summary: format!(
            "woken tasks wait {:.1} ms on average to be polled{p99}: the runtime has more ready \
             work than threads",
            mean_s * 1e3
        ),
        since_ms: since_s * 1e3,
        until_ms: until_s.map(|s| s * 1e3),
    }
}

/// What a task's stage is made of, from a recording or a live program.
struct TaskTotals<'a> {
    name: &'a str,
    kind: StageKind,
    /// Time inside its polls, woken and waiting to be polled, and alive (ns).
    polled_ns: u64,
    scheduled_ns: u64,
    life_ns: u64,
    polls: u64,
    state: StageState,
    /// Tasks waiting on it (a resource), now and at most.
    waiters: u64,
    max_waiters: u64,
    detail: TaskDetail,
}

/// A task (or resource) as a stage: busy is polled or woken and waiting to be polled, idle
/// the rest of its life; its wakes are its events in.
fn task_snapshot(t: TaskTotals<'_>) -> StageSnapshot {
    let busy = t.polled_ns + t.scheduled_ns;
    StageSnapshot {
        name: t.name.to_string(),
        kind: t.kind,
        capacity: None,
        mailbox_messages: t.waiters,
        mailbox_events: t.waiters,
        queued_bytes: 0,
        events_in: t.detail.wakes,
        events_out: 0,
        buffered: 0,
        demand: 0,
        state: t.state,
        max_mailbox: t.max_waiters,
        tid: 0,
        busy_ns: t.polled_ns,
        polls: t.polls,
        sched_wait_ns: t.scheduled_ns,
        times: StateTimes {
            busy_ns: busy,
            backpressured_ns: 0,
            idle_ns: t.life_ns.saturating_sub(busy),
            sleeping_ns: 0,
        },
        peak_bytes: 0,
        feeds: Vec::new(),
        program: None,
        task: Some(t.detail),
    }
}

/// The series each task fills, in the order [`TaskColumns`] holds them.
const TASK_METRICS: [StageMetric; 7] = [
    StageMetric::BusyPerS,
    StageMetric::IdlePerS,
    StageMetric::PollsPerS,
    StageMetric::BusyMs,
    StageMetric::SchedWaitMs,
    StageMetric::State,
    StageMetric::CpuPercent,
];

/// A task's columns in a timeline.
type TaskColumns = [usize; TASK_METRICS.len()];

/// Adds a task's columns to `timeline`.
fn task_columns(timeline: &Timeline, name: &str) -> TaskColumns {
    TASK_METRICS.map(|m| timeline.column(&series::stage(name, m)))
}

/// A task over one interval of `span` seconds: seconds polled, woken waiting to be polled
/// and alive in it, its polls in it, its totals so far (ms) and its state at the end.
struct TaskInterval {
    polled: f64,
    waited: f64,
    life: f64,
    polls: f64,
    polled_ms: f64,
    waited_ms: f64,
    state: StageState,
}

/// The whole program's columns: tasks alive, polled and scheduled time.
#[derive(Debug)]
struct ProgramColumns {
    alive: usize,
    polled: usize,
    scheduled: usize,
}

impl ProgramColumns {
    fn new(timeline: &Timeline) -> Self {
        Self {
            alive: timeline.column(series::TASKS_ALIVE),
            polled: timeline.column(series::TASKS_POLLED),
            scheduled: timeline.column(series::TASKS_SCHEDULED),
        }
    }

    /// Starts a row's sums at zero.
    fn start(&self, values: &mut [f64]) {
        for c in [self.alive, self.polled, self.scheduled] {
            values[c] = 0.0;
        }
    }

    /// Adds one task's interval to the row's sums (and its own columns, when it has them).
    /// An interval of no length (a live program's first update) has totals but no rates.
    fn add(&self, values: &mut [f64], span: f64, cols: Option<&TaskColumns>, i: &TaskInterval) {
        values[self.alive] += 1.0;
        let rate = |x: f64| if span > 0.0 { x / span } else { f64::NAN };
        values[self.polled] += rate(i.polled) * 100.0;
        values[self.scheduled] += rate(i.waited) * 100.0;
        let Some(c) = cols else { return };
        values[c[0]] = rate(i.polled + i.waited) * 1e3;
        values[c[1]] = rate((i.life - i.polled - i.waited).max(0.0)) * 1e3;
        values[c[2]] = rate(i.polls);
        values[c[3]] = i.polled_ms;
        values[c[4]] = i.waited_ms;
        values[c[5]] = f64::from(i.state as u8);
        values[c[6]] = rate(i.polled) * 100.0;
    }
}
