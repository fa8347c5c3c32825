//! The columns of the Processes table: titles, help, sorting and cells.

use std::cmp::Ordering;

use super::process_row::ProcessRow;
use crate::observe::format::{bytes, micros, thousands};

/// A column of the Processes table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Stage name.
    Name,
    /// Stage kind.
    Kind,
    /// Events in.
    In,
    /// Events out.
    Out,
    /// Events per second.
    Rate,
    /// Messages in the mailbox.
    MsgQ,
    /// Events in the mailbox.
    Queued,
    /// Events in the stage's own buffer.
    Buffered,
    /// Current state.
    State,
    /// CPU time.
    Cpu,
    /// Context switches per second.
    Switches,
    /// Polls per second.
    Polls,
    /// Time ready but waiting for a scheduler.
    SchedWait,
    /// Time busy (ms per second).
    Busy,
    /// Time backpressured (ms per second).
    Backpressured,
    /// Time idle (ms per second).
    Idle,
    /// Time sleeping in the delay (ms per second).
    Sleeping,
    /// Time in mailbox, p50 / p99.
    MailboxWait,
    /// Bytes in its mailbox and buffer.
    Memory,
    /// Where a tokio task was spawned (a resource made).
    Location,
    /// Times a tokio task was woken.
    Wakes,
    /// Wakes from inside its own poll.
    SelfWakes,
    /// A tokio task's poll time, p50 / p99.
    PollTime,
    /// A tokio task's scheduled time (woken until polled), p50 / p99.
    ScheduledTime,
    /// Tasks waiting on a resource.
    Waiters,
    /// A resource's attributes.
    Attributes,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 19] = [
        Column::Name,
        Column::Kind,
        Column::State,
        Column::Rate,
        Column::MsgQ,
        Column::Memory,
        Column::Busy,
        Column::Backpressured,
        Column::Idle,
        Column::Sleeping,
        Column::MailboxWait,
        Column::In,
        Column::Out,
        Column::Queued,
        Column::Buffered,
        Column::Cpu,
        Column::Polls,
        Column::SchedWait,
        Column::Switches,
    ];

    /// The columns of a tokio program's tasks and resources (followed through tokio-console).
    pub const TASKS: [Column; 14] = [
        Column::Name,
        Column::Kind,
        Column::State,
        Column::Busy,
        Column::Idle,
        Column::SchedWait,
        Column::Polls,
        Column::PollTime,
        Column::ScheduledTime,
        Column::Wakes,
        Column::SelfWakes,
        Column::Waiters,
        Column::Attributes,
        Column::Location,
    ];

    /// The columns a 1920-pixel slide holds: who, how fast, how much waits, where time goes.
    pub const SLIDE: [Column; 11] = [
        Column::Name,
        Column::In,
        Column::Rate,
        Column::MsgQ,
        Column::Memory,
        Column::State,
        Column::Busy,
        Column::Backpressured,
        Column::Idle,
        Column::Sleeping,
        Column::MailboxWait,
    ];

    /// Header text.
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Kind => "Kind",
            Column::In => "Events in",
            Column::Out => "Events out",
            Column::Rate => "Events/s",
            Column::MsgQ => "MsgQ",
            Column::Queued => "Queued events",
            Column::Buffered => "Buffered",
            Column::State => "State",
            Column::Cpu => "CPU time",
            Column::Switches => "Switches/s",
            Column::Polls => "Polls/s",
            Column::SchedWait => "Run queue",
            Column::Busy => "Busy",
            Column::Backpressured => "Backpressured",
            Column::Idle => "Idle",
            Column::Sleeping => "Delay",
            Column::MailboxWait => "In mailbox p50 / p99",
            Column::Memory => "Memory",
            Column::Location => "Location",
            Column::Wakes => "Wakes",
            Column::SelfWakes => "Self-wakes",
            Column::PollTime => "Poll p50 / p99",
            Column::ScheduledTime => "Scheduled p50 / p99",
            Column::Waiters => "Waiters",
            Column::Attributes => "Attributes",
        }
    }

    /// What the column means, shown when hovering its header.
    pub fn help(self) -> Option<&'static str> {
        match self {
            Column::MsgQ => Some("Messages waiting in the stage's mailbox (observer's MsgQ)"),
            Column::Queued => Some("Events carried by the messages waiting in its mailbox"),
            Column::Buffered => Some(
                "Events the stage holds beyond its mailbox: input not yet handled and output \
                 waiting for demand",
            ),
            Column::Cpu => Some(
                "Its thread's CPU time (threads runtime), or the time inside its task's polls \
                 (scheduler runtime)",
            ),
            Column::Polls => Some(
                "Times per second its task was polled: each poll handles what its mailbox holds \
                 (observer's reductions, as work units)",
            ),
            Column::SchedWait => Some(
                "Time it was ready to run but waited for a scheduler (the run queue), \
                 estimated from a sample of its wake-ups",
            ),
            Column::Switches => Some(
                "Times per second the stage's thread got a core back after blocking, yielding \
                 or being preempted: small demand means many hand-overs",
            ),
            Column::Busy => Some(
                "Time handling events, in ms per second (over the last second while running, \
                 the whole run once done)",
            ),
            Column::Backpressured => Some(
                "Time it had events but could not send them (no demand downstream, or Push's \
                 send penalty), in ms per second",
            ),
            Column::Idle => Some("Time waiting for events (mailbox empty), in ms per second"),
            Column::Sleeping => Some(
                "Time sleeping in the simulated delay (which stands for slow work), in ms per \
                 second",
            ),
            Column::MailboxWait => Some(
                "How long its messages waited in its mailbox before it took them: median and \
                 99th percentile over the last second (from a sample of about a thousand \
                 messages a second)",
            ),
            Column::Memory => {
                Some("Bytes waiting in its mailbox and its own buffer (observer's Memory column)")
            }
            Column::PollTime => Some(
                "How long its polls take: median and 99th percentile, from tokio-console's \
                 histogram (watched for the tasks with the longest polls)",
            ),
            Column::ScheduledTime => {
                Some("How long it waited for a thread once woken: median and 99th percentile")
            }
            Column::SelfWakes => Some("Wakes from inside its own poll: a loop re-polling itself"),
            Column::Waiters => Some("Tasks waiting on the resource (a permit, a lock)"),
            _ => None,
        }
    }

    pub(super) fn compare(self, a: &ProcessRow, b: &ProcessRow) -> Ordering {
        let (x, y) = (&a.stage, &b.stage);
        match self {
            Column::Name => x.name.cmp(&y.name),
            Column::Kind => x.kind.label().cmp(y.kind.label()),
            Column::In => x.events_in.cmp(&y.events_in),
            Column::Out => x.events_out.cmp(&y.events_out),
            Column::Rate => a.events_per_s.total_cmp(&b.events_per_s),
            Column::MsgQ => x.mailbox_messages.cmp(&y.mailbox_messages),
            Column::Queued => x.mailbox_events.cmp(&y.mailbox_events),
            Column::Buffered => x.buffered.cmp(&y.buffered),
            Column::State => x.state.label().cmp(y.state.label()),
            Column::Cpu => a.cpu_ms.total_cmp(&b.cpu_ms),
            Column::Switches => a.switches_per_s.total_cmp(&b.switches_per_s),
            Column::Polls => a.polls_per_s.total_cmp(&b.polls_per_s),
            Column::SchedWait => a.sched_wait_ms.total_cmp(&b.sched_wait_ms),
            Column::Busy => a.time.busy.total_cmp(&b.time.busy),
            Column::Backpressured => a.time.backpressured.total_cmp(&b.time.backpressured),
            Column::Idle => a.time.idle.total_cmp(&b.time.idle),
            Column::Sleeping => a.time.sleeping.total_cmp(&b.time.sleeping),
            Column::MailboxWait => {
                let p99 = |r: &ProcessRow| r.mailbox_wait_us.map_or(-1.0, |w| w.1);
                p99(a).total_cmp(&p99(b))
            }
            Column::Memory => x.queued_bytes.cmp(&y.queued_bytes),
            Column::Location => {
                detail(a, |d| d.location.clone()).cmp(&detail(b, |d| d.location.clone()))
            }
            Column::Wakes => x.events_in.cmp(&y.events_in),
            Column::SelfWakes => detail(a, |d| d.self_wakes).cmp(&detail(b, |d| d.self_wakes)),
            Column::PollTime => detail(a, |d| d.poll_ns).cmp(&detail(b, |d| d.poll_ns)),
            Column::ScheduledTime => {
                detail(a, |d| d.scheduled_ns).cmp(&detail(b, |d| d.scheduled_ns))
            }
            Column::Waiters => x.mailbox_messages.cmp(&y.mailbox_messages),
            Column::Attributes => {
                detail(a, |d| d.attributes.clone()).cmp(&detail(b, |d| d.attributes.clone()))
            }
        }
    }

    pub(super) fn cell(self, r: &ProcessRow) -> String {
        let s = &r.stage;
        match self {
            Column::Name => s.name.clone(),
            Column::Kind => s.kind.label().into(),
            Column::In => thousands(s.events_in),
            Column::Out => thousands(s.events_out),
            Column::Rate => thousands(r.events_per_s.round() as u64),
            Column::MsgQ => thousands(s.mailbox_messages),
            Column::Queued => thousands(s.mailbox_events),
            Column::Buffered => thousands(s.buffered),
            Column::State => s.state.label().into(),
            Column::Cpu => format!("{:.2} s", r.cpu_ms / 1e3),
            // A task on the scheduler has no thread of its own to switch.
            Column::Switches if s.tid == 0 => "–".into(),
            Column::Switches => thousands(r.switches_per_s.round() as u64),
            Column::Polls => thousands(r.polls_per_s.round() as u64),
            Column::SchedWait => format!("{:.1} ms", r.sched_wait_ms),
            Column::Busy => format!("{:.0}", r.time.busy * 1e3),
            Column::Backpressured => format!("{:.0}", r.time.backpressured * 1e3),
            Column::Idle => format!("{:.0}", r.time.idle * 1e3),
            Column::Sleeping => format!("{:.0}", r.time.sleeping * 1e3),
            Column::MailboxWait => r.mailbox_wait_us.map_or("–".into(), |(p50, p99)| {
                format!("{} / {}", micros(p50), micros(p99))
            }),
            Column::Memory => bytes(s.queued_bytes),
            Column::Location => detail(r, |d| d.location.clone()).unwrap_or_default(),
            Column::Wakes => thousands(s.events_in),
            Column::SelfWakes => detail(r, |d| thousands(d.self_wakes)).unwrap_or_default(),
            Column::PollTime => percentiles(detail(r, |d| d.poll_ns).flatten()),
            Column::ScheduledTime => percentiles(detail(r, |d| d.scheduled_ns).flatten()),
            Column::Waiters if s.kind == crate::StageKind::Resource => {
                thousands(s.mailbox_messages)
            }
            Column::Waiters => String::new(),
            Column::Attributes => detail(r, |d| d.attributes.clone()).unwrap_or_default(),
        }
    }
}

/// A value of a tokio task's or resource's detail, where it has one.
fn detail<T>(r: &ProcessRow, f: impl Fn(&crate::TaskDetail) -> T) -> Option<T> {
    r.stage.task.as_ref().map(f)
}

/// `p50 / p99` of durations given in ns, or "–".
fn percentiles(p: Option<[u64; 3]>) -> String {
    p.map_or("–".into(), |[p50, p99, _]| {
        format!(
            "{} / {}",
            micros(p50 as f64 / 1e3),
            micros(p99 as f64 / 1e3)
        )
    })
}
