//! The sampler: reads the OS (per-core CPU, resident memory), the counting allocator, every
//! stage probe and the progress counters into a [`Timeline`], one row per call. It measures and
//! nothing else: the watch (`super::watch`) calls it at the run's rate, enforces the limits and
//! runs the diagnoses.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use sysinfo::{Pid, System};

use std::collections::VecDeque;

use super::timeline::{Row, Timeline};
use crate::runtime::control::RunControl;
use crate::runtime::probe::StageProbe;
use crate::runtime::probe::heap;
use crate::runtime::probe::os::{
    CoreTicks, ThreadSched, core_ticks, resident_bytes, thread_ids, thread_sched,
};
use crate::runtime::probe::{StateTimes, wait_quantile_us};
use series::StageMetric as M;

/// Default sampling rate.
pub const DEFAULT_SAMPLE_HZ: u32 = 50;
/// Highest sampling rate accepted.
pub const MAX_SAMPLE_HZ: u32 = 1000;

use super::series;

#[derive(Default, Clone)]
struct StagePrev {
    events_in: u64,
    polls: u64,
    messages_sent: u64,
    messages_taken: u64,
    times: StateTimes,
    /// Time-in-mailbox histograms of the last second, oldest first.
    waits: VecDeque<(f64, Vec<u64>)>,
    cpu_ms: f64,
    cpu_owed_ms: f64,
    sched: ThreadSched,
    /// The stage's series' columns, looked up on first use (in the order the sampler writes
    /// them, so a trace's columns keep their order): a run of 512 stages would otherwise format
    /// and look up thousands of names per sample.
    columns: [Option<usize>; M::COUNT],
    /// The `queued_upstream` column of each of its subscribers, by subscription index.
    subscriber_columns: Vec<usize>,
}

/// Marks a column of [`Sampler::upstream_sums`] that is no subscriber's.
const NOT_A_SUBSCRIBER: u64 = u64::MAX;

/// Messages stamped per second over all mailboxes, for their time-in-mailbox quantiles.
const STAMPS_PER_SECOND: f64 = 16_000.0;

/// Reads one run's probes into its timeline; see [`Sampler::sample`].
pub struct Sampler {
    ctl: Arc<RunControl>,
    timeline: Arc<Timeline>,
    sys: Option<System>,
    pid: Option<Pid>,
    last_t: f64,
    last_bytes: u64,
    last_words: u64,
    stage_prev: Vec<StagePrev>,
    /// Events queued upstream of each subscriber this sample, by its `queued_upstream` column
    /// ([`NOT_A_SUBSCRIBER`] elsewhere); kept between samples for its room.
    upstream_sums: Vec<u64>,
    events_seen: usize,
    /// Each core's ticks at the previous sample.
    ticks_prev: Vec<CoreTicks>,
    /// CPU time of palavriado itself (the process but the run's threads) at the previous
    /// sample, in ns (0 before the first).
    own_cpu_prev_ns: u64,
    /// The scheduler threads' CPU time at the previous sample, in ns.
    scheduler_cpu_prev_ns: u64,
    /// Each thread's scheduler counters at their last reading.
    threads: std::collections::HashMap<i32, ThreadSched>,
    /// CPU of each thread tasks of the program's own runtime were polled on, at the last
    /// sample (ns).
    foreign_cpu_prev: std::collections::HashMap<i32, u64>,
    /// Each scheduler thread's busy time at the previous sample, and busy seconds reported by
    /// the runtime but not yet shown.
    scheduler_prev: Vec<(Duration, f64)>,
}

/// Where a stage ran, for its CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RanOn {
    /// A thread of its own: its CPU is the thread's.
    Thread,
    /// The stage runtime's scheduler: its polls' time, scaled to the schedulers' CPU.
    Scheduler,
    /// A task of the program's own runtime: its polls' time, scaled down to the CPU of the
    /// threads it was polled on when the polls add up to more (a preempted poll counts on).
    ForeignTask,
}

/// The CPU column of a channel, which has none.
const NO_CPU_COLUMN: usize = usize::MAX;

/// What one stage's sample leaves for the run-wide columns.
struct StageSample {
    /// Its `cpu_percent` column, its CPU growth this interval (ms) and where it ran (on the
    /// scheduler, or as a task of the program's own runtime, its share of those threads' CPU is
    /// known only once every stage is read).
    cpu: (usize, f64, RanOn),
    /// Its thread's CPU time (ns; 0 on the scheduler).
    thread_cpu_ns: u64,
    queued_bytes: u64,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    /// A sampler of `ctl`'s stages into `timeline`.
    pub fn new(ctl: Arc<RunControl>, timeline: Arc<Timeline>) -> Self {
        Sampler {
            pid: sysinfo::get_current_pid().ok(),
            sys: System::new().ok(),
            ctl,
            timeline,
            last_t: 0.0,
            last_bytes: 0,
            last_words: 0,
            stage_prev: Vec::new(),
            upstream_sums: Vec::new(),
            events_seen: 0,
            scheduler_prev: Vec::new(),
            ticks_prev: core_ticks().unwrap_or_default(),
            own_cpu_prev_ns: 0,
            threads: Default::default(),
            foreign_cpu_prev: Default::default(),
            scheduler_cpu_prev_ns: 0,
        }
    }

    /// The process's resident memory now (bytes), if the OS tells.
    pub fn resident_bytes(&mut self) -> Option<u64> {
        match (self.sys.as_mut(), self.pid) {
            (Some(sys), Some(pid)) => Some(resident_bytes(sys, pid)),
            _ => None,
        }
    }

    /// Takes one sample: a row of every series, and the run's events if new ones came.
    /// Returns the resident memory it read (0 if the OS did not tell).
    pub fn sample(&mut self) -> u64 {
        let t = self.ctl.elapsed_secs();
        let dt = (t - self.last_t).max(1e-6);
        let mut values: Vec<(usize, f64)> = Vec::with_capacity(64);
        self.sample_cores(&mut values);
        let rss = self.resident_bytes().unwrap_or(0);
        if self.sys.is_some() {
            values.push((self.timeline.column(series::RSS), rss as f64));
        }
        if heap::is_tracking() {
            values.push((
                self.timeline.column(series::HEAP),
                heap::live_bytes() as f64,
            ));
        }
        self.sample_progress(dt, &mut values);
        self.read_threads();
        let queued = self.sample_stages_and_cpu(t, dt, &mut values);
        self.sample_schedulers(dt, &mut values);
        values.extend(
            self.upstream_sums
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n != NOT_A_SUBSCRIBER)
                .map(|(c, &n)| (c, n as f64)),
        );
        values.push((self.timeline.column(series::QUEUED), queued as f64));
        values.push((
            self.timeline.column(series::PROFILER),
            self.timeline.heap_bytes() as f64,
        ));
        let width = values.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
        let mut row = vec![f64::NAN; width];
        for (i, v) in values {
            row[i] = v;
        }
        self.timeline.push(Row { t, values: row });
        self.last_t = t;
        let events = self.ctl.events();
        if events.len() != self.events_seen {
            self.events_seen = events.len();
            self.timeline.set_events(events);
        }
        rss
    }

    /// Per-core CPU over the interval since the previous sample, from the kernel's tick
    /// counters (an interval with no tick yet has no reading).
    fn sample_cores(&mut self, values: &mut Vec<(usize, f64)>) {
        let Some(now) = core_ticks() else { return };
        self.ticks_prev.resize(now.len(), CoreTicks::default());
        for (i, (n, p)) in now.iter().zip(self.ticks_prev.iter_mut()).enumerate() {
            let total = n.total.saturating_sub(p.total);
            let percent = if total > 0 && p.total > 0 {
                n.busy.saturating_sub(p.busy) as f64 / total as f64 * 100.0
            } else {
                f64::NAN
            };
            values.push((self.timeline.column(&series::core(i)), percent));
            *p = *n;
        }
    }

    /// The corpus read and the words counted so far, and their rates; the simulated delay.
    fn sample_progress(&mut self, dt: f64, values: &mut Vec<(usize, f64)>) {
        let tl = &self.timeline;
        let p = &self.ctl.progress;
        let bytes = p.bytes_read.load(Relaxed);
        let words = p.words_counted.load(Relaxed);
        values.push((
            tl.column(series::IO),
            (bytes - self.last_bytes.min(bytes)) as f64 / dt,
        ));
        values.push((tl.column(series::BYTES_READ), bytes as f64));
        values.push((
            tl.column(series::LINES_READ),
            p.lines_read.load(Relaxed) as f64,
        ));
        values.push((tl.column(series::WORDS), words as f64));
        values.push((
            tl.column(series::WORDS_PER_S),
            words.saturating_sub(self.last_words) as f64 / dt,
        ));
        values.push((
            tl.column(series::DELAY),
            self.ctl.delay().as_secs_f64() * 1e3,
        ));
        self.last_bytes = bytes;
        self.last_words = words;
    }

    /// CPU (ms) the threads a program's own runtime polled its tasks on used since the last
    /// sample;
    /// `None` when a thread is seen for the first time (its CPU before is unknown).
    fn foreign_threads_cpu_ms(&mut self, tids: &std::collections::HashSet<i32>) -> Option<f64> {
        let (mut ns, mut known) = (0, true);
        for &tid in tids.iter().filter(|&&t| t != 0) {
            let now = self.threads.get(&tid).map_or(0, |t| t.cpu_ns);
            match self.foreign_cpu_prev.insert(tid, now) {
                Some(before) => ns += now.saturating_sub(before),
                None => known = false,
            }
        }
        known.then_some(ns as f64 / 1e6)
    }

    /// Every thread's scheduler counters, read once per sample (a thread that has ended keeps
    /// its last reading): the stages' threads and the whole process come from them.
    fn read_threads(&mut self) {
        for tid in thread_ids() {
            if let Some(t) = thread_sched(tid) {
                self.threads.insert(tid, t);
            }
        }
    }

    /// Every stage's columns, then the run's CPU shared out by stage and palavriado's own CPU;
    /// each subscriber's events queued upstream are left in `upstream_sums`. Returns the bytes
    /// queued in every mailbox and buffer.
    fn sample_stages_and_cpu(&mut self, t: f64, dt: f64, values: &mut Vec<(usize, f64)>) -> u64 {
        let mut upstream_sums = std::mem::take(&mut self.upstream_sums);
        upstream_sums.clear();
        // The run's own threads' CPU: each stage thread's (threads), or the schedulers'.
        let scheduler_cpu_ns = self.ctl.executor().scheduler_cpu_ns();
        let mut run_cpu_ns = scheduler_cpu_ns;
        let mut stage_cpu = Vec::new();
        let mut polled_ms = 0.0;
        let (mut foreign_polled_ms, mut foreign_threads) = (0.0, std::collections::HashSet::new());
        let mut queued = 0;
        let stages = self.ctl.stages();
        self.stage_prev.resize(stages.len(), StagePrev::default());
        // A thousand stamps a second per mailbox for a few stages; fewer each when there are
        // hundreds (stamping takes a lock), at least 50 so each stage's quantiles stay drawn.
        let stamps_per_mailbox =
            (STAMPS_PER_SECOND / stages.len().max(1) as f64).clamp(50.0, 1000.0);
        for (stage, prev) in stages.iter().zip(self.stage_prev.iter_mut()) {
            let s = sample_stage(
                stage,
                prev,
                &self.timeline,
                &self.threads,
                (t, dt, stamps_per_mailbox),
                values,
                &mut upstream_sums,
            );
            queued += s.queued_bytes;
            run_cpu_ns += s.thread_cpu_ns;
            match s.cpu.2 {
                RanOn::Scheduler => polled_ms += s.cpu.1,
                RanOn::ForeignTask => {
                    foreign_polled_ms += s.cpu.1;
                    foreign_threads.insert(stage.last_thread());
                }
                RanOn::Thread => {}
            }
            stage_cpu.push(s.cpu);
        }
        // % of one core per stage: the run's own CPU, split by stage. On the scheduler, time
        // inside polls is wall time (a preempted poll counts on), so the schedulers' measured
        // CPU is shared out in proportion to it. A stage runs on one thread at a time, so it
        // cannot use more than one core: time counted in a chunk (a long poll counted when it
        // ends, a sampled poll scaled up) beyond that is carried to the next intervals.
        let scheduler_ms = scheduler_cpu_ns.saturating_sub(self.scheduler_cpu_prev_ns) as f64 / 1e6;
        self.scheduler_cpu_prev_ns = scheduler_cpu_ns;
        let share = if polled_ms > 0.0 {
            scheduler_ms / polled_ms
        } else {
            0.0
        };
        let foreign_ms = self.foreign_threads_cpu_ms(&foreign_threads);
        let foreign_share = match foreign_ms {
            Some(ms) if foreign_polled_ms > 0.0 => (ms / foreign_polled_ms).min(1.0),
            _ => 1.0,
        };
        for ((column, grew, ran_on), prev) in stage_cpu.into_iter().zip(self.stage_prev.iter_mut())
        {
            if column == NO_CPU_COLUMN {
                continue;
            }
            prev.cpu_owed_ms += match ran_on {
                RanOn::Scheduler => grew * share,
                RanOn::ForeignTask => grew * foreign_share,
                RanOn::Thread => grew,
            };
            let used = prev.cpu_owed_ms.min(dt * 1e3);
            prev.cpu_owed_ms -= used;
            values.push((column, used / (dt * 1e3) * 100.0));
        }
        // The whole process, from the same nanosecond counters as the run's threads.
        let process: u64 = self.threads.values().map(|t| t.cpu_ns).sum();
        let own = process.saturating_sub(run_cpu_ns);
        if self.own_cpu_prev_ns > 0 {
            let used = own.saturating_sub(self.own_cpu_prev_ns) as f64 / 1e9;
            values.push((self.timeline.column(series::SELF_CPU), used / dt * 100.0));
        }
        self.own_cpu_prev_ns = own.max(1);
        self.upstream_sums = upstream_sums;
        queued
    }

    /// Scheduler utilisation: each scheduler thread's CPU time from the kernel's nanosecond
    /// counters where it has them (exact at every sample, even while one long task keeps a
    /// scheduler from updating the runtime's own counters), else the runtime's busy time. The
    /// runtime adds a worker's busy time in chunks (after every 61 polls, and when it parks),
    /// so a chunk can exceed one sample's interval: what exceeds it is carried to the next
    /// samples, never dropped.
    fn sample_schedulers(&mut self, dt: f64, values: &mut Vec<(usize, f64)>) {
        let executor = self.ctl.executor();
        let tids = executor.scheduler_tids();
        let busy: Vec<Duration> = if tids.is_empty() || self.threads.is_empty() {
            executor.scheduler_busy()
        } else {
            // One column per scheduler thread from the first sample on: one not started yet
            // reads idle, one already gone keeps its last reading.
            (0..executor.schedulers().max(tids.len()))
                .map(|i| match tids.get(i) {
                    Some(t) => self.threads.get(t).map_or_else(
                        || self.scheduler_prev.get(i).map_or(Duration::ZERO, |p| p.0),
                        |s| Duration::from_nanos(s.cpu_ns),
                    ),
                    None => Duration::ZERO,
                })
                .collect()
        };
        self.scheduler_prev
            .resize(busy.len(), (Duration::ZERO, 0.0));
        for (i, (now, (prev, owed))) in busy.iter().zip(self.scheduler_prev.iter_mut()).enumerate()
        {
            *owed += now.saturating_sub(*prev).as_secs_f64();
            let used = owed.min(dt);
            *owed -= used;
            values.push((
                self.timeline.column(&series::scheduler(i)),
                used / dt * 100.0,
            ));
            *prev = *now;
        }
    }
}

/// One stage's columns this sample: mailbox, events, state, CPU, where its time went, time in
/// mailbox, message rate; and its subscribers' events queued upstream, summed into
/// `upstream_sums` by column. `(t, dt, stamps_per_mailbox)`: now, the interval, and how many of
/// its messages a second to stamp for time in mailbox.
fn sample_stage(
    stage: &StageProbe,
    prev: &mut StagePrev,
    tl: &Timeline,
    threads: &std::collections::HashMap<i32, ThreadSched>,
    (t, dt, stamps_per_mailbox): (f64, f64, f64),
    values: &mut Vec<(usize, f64)>,
    upstream_sums: &mut Vec<u64>,
) -> StageSample {
    let s = stage.snapshot();
    let columns = &mut prev.columns;
    let mut col =
        |m: M| *columns[m as usize].get_or_insert_with(|| tl.column(&series::stage(&s.name, m)));
    let sched = if s.tid != 0 {
        threads.get(&s.tid).copied().unwrap_or(prev.sched)
    } else {
        ThreadSched::default()
    };
    values.push((col(M::Msgq), s.mailbox_messages as f64));
    values.push((col(M::QueuedEvents), (s.mailbox_events + s.buffered) as f64));
    values.push((col(M::In), s.events_in as f64));
    values.push((col(M::Out), s.events_out as f64));
    values.push((
        col(M::InPerS),
        s.events_in.saturating_sub(prev.events_in) as f64 / dt,
    ));
    values.push((col(M::Buffered), s.buffered as f64));
    values.push((col(M::Demand), s.demand as f64));
    values.push((col(M::State), s.state as u8 as f64));
    let busy_ms = s.busy_ns as f64 / 1e6;
    // A task of the program's own runtime: the time inside its polls is its CPU.
    let foreign_task = stage.is_foreign_task();
    let on_scheduler = s.tid == 0 && !foreign_task;
    let cpu_ms = if s.tid == 0 {
        busy_ms
    } else {
        sched.cpu_ns as f64 / 1e6
    };
    values.push((col(M::CpuMs), cpu_ms));
    // The stage's CPU over the interval (its `cpu_percent`, filled in by the caller once the
    // scheduler's share is known).
    let grew = (cpu_ms - prev.cpu_ms).max(0.0);
    prev.cpu_ms = cpu_ms;
    // A channel is no thread or task: it has no CPU column (the charts of CPU by stage leave
    // it out).
    let ran_on = match (on_scheduler, foreign_task) {
        (true, _) => RanOn::Scheduler,
        (false, true) => RanOn::ForeignTask,
        (false, false) => RanOn::Thread,
    };
    let cpu = if s.kind == crate::runtime::probe::StageKind::Channel {
        (NO_CPU_COLUMN, 0.0, RanOn::Thread)
    } else {
        (col(M::CpuPercent), grew, ran_on)
    };
    values.push((col(M::BusyMs), busy_ms));
    values.push((
        col(M::PollsPerS),
        s.polls.saturating_sub(prev.polls) as f64 / dt,
    ));
    values.push((col(M::SchedWaitMs), s.sched_wait_ns as f64 / 1e6));
    values.push((col(M::Switches), sched.switches as f64));
    values.push((
        col(M::SwitchesPerS),
        sched.switches.saturating_sub(prev.sched.switches) as f64 / dt,
    ));
    // Where its time went this interval, in ms per second.
    let per_s = |now: u64, before: u64| now.saturating_sub(before) as f64 / 1e6 / dt;
    let (now, before) = (s.times, prev.times);
    values.push((col(M::BusyPerS), per_s(now.busy_ns, before.busy_ns)));
    values.push((
        col(M::BackpressuredPerS),
        per_s(now.backpressured_ns, before.backpressured_ns),
    ));
    values.push((col(M::IdlePerS), per_s(now.idle_ns, before.idle_ns)));
    values.push((
        col(M::SleepingPerS),
        per_s(now.sleeping_ns, before.sleeping_ns),
    ));
    prev.times = now;
    // Time in mailbox over the last second: this histogram less the one from a second ago.
    let hist = stage.mailbox_waits();
    while prev.waits.len() > 1 && prev.waits[1].0 <= t - 1.0 {
        prev.waits.pop_front();
    }
    let recent: Vec<u64> = match prev.waits.front() {
        Some((_, old)) => hist.iter().zip(old).map(|(n, o)| n - o.min(n)).collect(),
        None => hist.clone(),
    };
    prev.waits.push_back((t, hist));
    for (metric, q) in [(M::MailboxP50Us, 0.5), (M::MailboxP99Us, 0.99)] {
        values.push((
            col(metric),
            wait_quantile_us(&recent, q).unwrap_or(f64::NAN),
        ));
    }
    // Stamp a bounded number of messages a second, whatever the traffic.
    let sent = stage.mailbox.sent.messages.load(Relaxed);
    let rate = sent.saturating_sub(prev.messages_sent) as f64 / dt;
    stage.set_stamp_every((rate / stamps_per_mailbox) as u64);
    prev.messages_sent = sent;
    let taken = stage.messages_received();
    values.push((
        col(M::MessagesPerS),
        taken.saturating_sub(prev.messages_taken) as f64 / dt,
    ));
    prev.messages_taken = taken;
    values.push((col(M::QueuedBytes), s.queued_bytes as f64));
    let columns = &mut prev.subscriber_columns;
    stage.for_each_subscription(|i, sub| {
        if i == columns.len() {
            columns.push(tl.column(&series::stage(&sub.subscriber, M::QueuedUpstream)));
        }
        // A stage subscribed to several producers waits on all their queues.
        let c = columns[i];
        if c >= upstream_sums.len() {
            upstream_sums.resize(c + 1, NOT_A_SUBSCRIBER);
        }
        let sum = &mut upstream_sums[c];
        *sum = if *sum == NOT_A_SUBSCRIBER {
            sub.queued
        } else {
            *sum + sub.queued
        };
    });
    stage.note_queued_bytes(s.queued_bytes);
    prev.events_in = s.events_in;
    prev.polls = s.polls;
    prev.sched = sched;
    StageSample {
        cpu,
        thread_cpu_ns: match (on_scheduler, foreign_task) {
            (true, _) => 0,
            (false, true) => s.busy_ns,
            (false, false) => sched.cpu_ns,
        },
        queued_bytes: s.queued_bytes,
    }
}
