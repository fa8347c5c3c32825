//! A tokio program followed live over tokio-console's published gRPC protocol (`console-api`):
//! any program serving `console-subscriber` shows in every view with no change to it.
//!
//! A background thread watches the program's updates (one a publish interval, 1 s unless the
//! program sets another): every task becomes a stage of kind `task` (its polled, scheduled and
//! idle time in ms per second, polls, wakes), every resource one of kind `resource` (its
//! attributes, the tasks waiting on it as its queue). The busiest tasks get series of their
//! own; all of them add to the program's totals; the tasks whose polls are longest have their
//! poll and scheduled histograms watched for p50 / p99. When the program runs on this machine,
//! its process's CPU and memory and the machine's cores are sampled beside it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use console_api::instrument::instrument_client::InstrumentClient;
use console_api::instrument::{InstrumentRequest, TaskDetailsRequest, Update};
use console_api::{Attribute, Field, Id, Location, field};
use console_api::{async_ops, resources, tasks};
use parking_lot::Mutex;
use prost_types::Timestamp;
use tonic::transport::Channel;

use super::{ProgramColumns, TaskColumns, TaskInterval, TaskTotals};
use crate::observe::diagnosis::{Diagnosis, DiagnosisKind};
use crate::observe::live::client::{Attachment, Ended, Following, unix_now_s};
use crate::observe::live::wire::Hello;
use crate::observe::run::{RunReport, StageReport};
use crate::observe::series::{self, Row, StageMetric};
use crate::observe::timeline::Timeline;
use crate::runtime::probe::os;
use crate::runtime::probe::{StageKind, StageSnapshot, StageState, TaskDetail};

/// Where `console-subscriber` serves unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6669";
/// An address spelled `console://HOST:PORT` is a tokio-console program's.
pub const SCHEME: &str = "console://";
/// Tasks given series of their own (the busiest as they appear); the rest add to the totals.
const CHARTED: usize = 48;
/// Resources given a queue series of their own.
const CHARTED_RESOURCES: usize = 32;
/// Tasks whose poll and scheduled histograms are watched at once (those with the longest
/// polls): one stream each.
const WATCHED: usize = 32;
/// How long a task or resource that ended keeps its (greyed) row, as tokio-console does.
pub const RETAIN: Duration = Duration::from_secs(6);
/// Updates in a row over which a resource's waiters must grow to be diagnosed.
const GROWING_FOR: usize = 5;
/// The largest update taken (tonic's default, 4 MB, is 10,000 tasks' first update).
const MAX_UPDATE: usize = 256 << 20;
/// How often the program's report (every task as a stage's report) is made again while it
/// is followed: it is also made at the end.
const REPORT_EVERY: Duration = Duration::from_secs(5);
/// How often the follower looks whether it was told to detach.
const TICK: Duration = Duration::from_millis(100);

/// Seconds since the Unix epoch of a protobuf time.
fn unix_s(t: &Timestamp) -> f64 {
    t.seconds as f64 + f64::from(t.nanos) / 1e9
}

/// Seconds of a protobuf duration.
fn secs(d: Option<&prost_types::Duration>) -> f64 {
    d.map_or(0.0, |d| d.seconds as f64 + f64::from(d.nanos) / 1e9)
}

/// `file:line:column` (the module path where the file is unknown).
fn location(l: Option<&Location>) -> String {
    let Some(l) = l else { return String::new() };
    let mut s = l
        .file
        .clone()
        .or_else(|| l.module_path.clone())
        .unwrap_or_default();
    if let Some(line) = l.line {
        s.push_str(&format!(":{line}"));
        if let Some(col) = l.column {
            s.push_str(&format!(":{col}"));
        }
    }
    s
}

/// One task as its updates tell it (times in seconds since the first update).
#[derive(Debug)]
struct LiveTask {
    name: String,
    detail: TaskDetail,
    created: f64,
    dropped: Option<f64>,
    polled: f64,
    scheduled: f64,
    polls: u64,
    waker_clones: u64,
    waker_drops: u64,
    last_poll_started: Option<f64>,
    last_poll_ended: Option<f64>,
    last_wake: Option<f64>,
    /// Polled and scheduled seconds and polls at the previous row.
    before: (f64, f64, u64),
    cols: Option<TaskColumns>,
    /// When its polls first looked long, and when it first woke itself mostly.
    long_since: Option<f64>,
    looping_since: Option<f64>,
}

impl LiveTask {
    fn running(&self) -> bool {
        matches!((self.last_poll_started, self.last_poll_ended), (Some(s), e) if e.is_none_or(|e| s > e))
    }

    fn awakened(&self) -> bool {
        match (self.last_wake, self.last_poll_started) {
            (Some(w), Some(p)) => w > p,
            (Some(_), None) => true,
            _ => false,
        }
    }

    fn state(&self) -> StageState {
        if self.dropped.is_some() {
            StageState::Done
        } else if self.running() || self.awakened() {
            StageState::Running
        } else {
            StageState::WaitingForEvents
        }
    }

    fn mean_poll(&self) -> f64 {
        self.polled / self.polls.max(1) as f64
    }
}

/// One resource (semaphore, mutex, timer…) and the tasks waiting on it.
#[derive(Debug)]
struct LiveResource {
    name: String,
    detail: TaskDetail,
    created: f64,
    dropped: Option<f64>,
    waiters: u64,
    max_waiters: u64,
    /// Its waiters at the last updates (for the growing check).
    recent: VecDeque<u64>,
    growing_since: Option<f64>,
    col: Option<usize>,
}

/// An async operation on a resource (a task waiting for a permit, a lock, a timer).
#[derive(Debug)]
struct AsyncOp {
    resource: u64,
    polled: bool,
    ended: bool,
}

/// Poll and scheduled time percentiles of one task (ns: p50, p99, max).
type Percentiles = (Option<[u64; 3]>, Option<[u64; 3]>);

/// Everything known of the program, updated by each update.
#[derive(Debug)]
struct Model {
    /// The first update's time: every time is seconds since it.
    origin: Timestamp,
    /// The field names of each metadata id (for fields named by index).
    meta: HashMap<u64, Vec<String>>,
    tasks: HashMap<u64, LiveTask>,
    resources: HashMap<u64, LiveResource>,
    ops: HashMap<u64, AsyncOp>,
    /// Tasks of each name so far (the second `worker` is `worker #2`).
    names: HashMap<String, usize>,
    charted: usize,
    charted_resources: usize,
    program: ProgramColumns,
    /// The process's and the machine's columns, where the program runs here.
    local: Option<Local>,
    last_t: f64,
    /// Stats for tasks never announced, and events console-subscriber had to drop.
    unknown: u64,
    dropped_events: u64,
    ended_tasks: u64,
    /// Percentiles received from the watched tasks' detail streams.
    details: Arc<Mutex<HashMap<u64, Percentiles>>>,
    /// Mean scheduled time per poll over the last update, and since when it is too long.
    saturated_since: Option<f64>,
}

/// The program's process on this machine: its CPU and memory, and the cores'.
#[derive(Debug)]
struct Local {
    pid: u32,
    cpu_col: usize,
    rss_col: usize,
    core_cols: Vec<usize>,
    cpu_before: Option<(Instant, f64)>,
    ticks_before: Vec<os::CoreTicks>,
}

impl Local {
    fn new(pid: u32, timeline: &Timeline) -> Self {
        let ticks = os::core_ticks().unwrap_or_default();
        Self {
            pid,
            cpu_col: timeline.column(series::PROGRAM_CPU),
            rss_col: timeline.column(series::RSS),
            core_cols: (0..ticks.len())
                .map(|i| timeline.column(&series::core(i)))
                .collect(),
            cpu_before: os::process_cpu_seconds_of(pid).map(|c| (Instant::now(), c)),
            ticks_before: ticks,
        }
    }

    fn sample(&mut self, values: &mut [f64]) {
        if let Some(cpu) = os::process_cpu_seconds_of(self.pid) {
            let now = Instant::now();
            if let Some((at, before)) = self.cpu_before {
                let dt = now.duration_since(at).as_secs_f64();
                if dt > 0.0 {
                    values[self.cpu_col] = (cpu - before) / dt * 100.0;
                }
            }
            self.cpu_before = Some((now, cpu));
        }
        if let Some(rss) = os::resident_bytes_of(self.pid) {
            values[self.rss_col] = rss as f64;
        }
        if let Some(ticks) = os::core_ticks() {
            for ((col, now), before) in self.core_cols.iter().zip(&ticks).zip(&self.ticks_before) {
                let total = now.total.saturating_sub(before.total);
                if total > 0 {
                    values[*col] =
                        now.busy.saturating_sub(before.busy) as f64 / total as f64 * 100.0;
                }
            }
            self.ticks_before = ticks;
        }
    }
}

impl Model {
    fn new(origin: Timestamp, timeline: &Timeline, pid: Option<u32>) -> Self {
        Self {
            origin,
            meta: HashMap::new(),
            tasks: HashMap::new(),
            resources: HashMap::new(),
            ops: HashMap::new(),
            names: HashMap::new(),
            charted: 0,
            charted_resources: 0,
            program: ProgramColumns::new(timeline),
            local: pid.map(|p| Local::new(p, timeline)),
            last_t: 0.0,
            unknown: 0,
            dropped_events: 0,
            ended_tasks: 0,
            details: Arc::default(),
            saturated_since: None,
        }
    }

    /// Seconds since the first update of a protobuf time (exact to the nanosecond: a Unix
    /// time in seconds as `f64` keeps only quarter-microseconds).
    fn at(&self, t: Option<&Timestamp>) -> Option<f64> {
        t.map(|t| {
            (t.seconds - self.origin.seconds) as f64 + f64::from(t.nanos - self.origin.nanos) / 1e9
        })
    }

    /// A field's name (given, or by index into its metadata's names).
    fn field_name<'a>(&'a self, f: &'a Field) -> Option<&'a str> {
        match f.name.as_ref()? {
            field::Name::StrName(s) => Some(s),
            field::Name::NameIdx(i) => self
                .meta
                .get(&f.metadata_id.as_ref()?.id)?
                .get(usize::try_from(*i).ok()?)
                .map(String::as_str),
        }
    }

    /// A unique name: the second of a name gets ` #2`.
    fn unique(&mut self, name: String) -> String {
        let n = self.names.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 { format!("{name} #{n}") } else { name }
    }

    fn add_task(&mut self, task: tasks::Task, t: f64) {
        let Some(Id { id }) = task.id else { return };
        // console-subscriber announces a task again to a new subscriber; it keeps its name.
        if self.tasks.contains_key(&id) {
            return;
        }
        let field = |name: &str| {
            task.fields
                .iter()
                .find(|f| self.field_name(f) == Some(name))
                .and_then(|f| f.value.as_ref())
                .map(|v| v.to_string().trim_matches('"').to_string())
        };
        let given = field("task.name").filter(|n| !n.is_empty());
        let tokio_id = field("task.id");
        let blocking = task.kind == tasks::task::Kind::Blocking as i32;
        let name = given.unwrap_or_else(|| {
            let what = if blocking { "blocking" } else { "task" };
            format!("{what} {}", tokio_id.unwrap_or_else(|| id.to_string()))
        });
        let name = self.unique(name);
        self.tasks.insert(
            id,
            LiveTask {
                name,
                detail: TaskDetail {
                    id,
                    location: location(task.location.as_ref()),
                    kind: if blocking { "blocking" } else { "task" }.into(),
                    ..TaskDetail::default()
                },
                created: t,
                dropped: None,
                polled: 0.0,
                scheduled: 0.0,
                polls: 0,
                waker_clones: 0,
                waker_drops: 0,
                last_poll_started: None,
                last_poll_ended: None,
                last_wake: None,
                before: (0.0, 0.0, 0),
                cols: None,
                long_since: None,
                looping_since: None,
            },
        );
    }

    fn task_stats(&mut self, id: u64, s: tasks::Stats) {
        let (created, dropped, last_wake) = (
            self.at(s.created_at.as_ref()),
            self.at(s.dropped_at.as_ref()),
            self.at(s.last_wake.as_ref()),
        );
        let poll = s.poll_stats.unwrap_or_default();
        let (started, ended) = (
            self.at(poll.last_poll_started.as_ref()),
            self.at(poll.last_poll_ended.as_ref()),
        );
        let Some(task) = self.tasks.get_mut(&id) else {
            self.unknown += 1;
            return;
        };
        if let Some(c) = created {
            task.created = c;
        }
        if task.dropped.is_none() && dropped.is_some() {
            self.ended_tasks += 1;
        }
        task.dropped = task.dropped.or(dropped);
        task.last_wake = last_wake;
        task.last_poll_started = started;
        task.last_poll_ended = ended;
        task.polled = secs(poll.busy_time.as_ref());
        task.scheduled = secs(s.scheduled_time.as_ref());
        task.polls = poll.polls;
        task.waker_clones = s.waker_clones;
        task.waker_drops = s.waker_drops;
        task.detail.wakes = s.wakes;
        task.detail.self_wakes = s.self_wakes;
        task.detail.wakers = s.waker_clones as i64 - s.waker_drops as i64;
    }

    fn add_resource(&mut self, r: resources::Resource, t: f64) {
        let Some(Id { id }) = r.id else { return };
        if self.resources.contains_key(&id) {
            return;
        }
        let kind = match r.kind.and_then(|k| k.kind) {
            Some(resources::resource::kind::Kind::Other(o)) => o,
            Some(resources::resource::kind::Kind::Known(_)) => "Timer".into(),
            None => String::new(),
        };
        let what = if r.concrete_type.is_empty() {
            kind.clone()
        } else {
            r.concrete_type.clone()
        };
        // Named by type and where it was made (`Semaphore at main.rs:120`): its id is the
        // program's internal one.
        let at = location(r.location.as_ref());
        let file = at.rsplit('/').next().unwrap_or_default();
        let name = self.unique(if file.is_empty() {
            what.clone()
        } else {
            format!("{what} at {file}")
        });
        self.resources.insert(
            id,
            LiveResource {
                name,
                detail: TaskDetail {
                    id,
                    location: location(r.location.as_ref()),
                    kind: if kind.is_empty() || kind == what {
                        what
                    } else {
                        format!("{what} ({kind})")
                    },
                    ..TaskDetail::default()
                },
                created: t,
                dropped: None,
                waiters: 0,
                max_waiters: 0,
                recent: VecDeque::new(),
                growing_since: None,
                col: None,
            },
        );
    }

    fn resource_stats(&mut self, id: u64, s: resources::Stats) {
        let (created, dropped) = (
            self.at(s.created_at.as_ref()),
            self.at(s.dropped_at.as_ref()),
        );
        let attributes = attributes_text(self, &s.attributes);
        let Some(r) = self.resources.get_mut(&id) else {
            self.unknown += 1;
            return;
        };
        if let Some(c) = created {
            r.created = c;
        }
        r.dropped = r.dropped.or(dropped);
        r.detail.attributes = attributes;
    }

    /// Takes in one update; returns its time (s since the first).
    fn merge(&mut self, u: Update) -> f64 {
        let t = self
            .at(u.now.as_ref())
            .unwrap_or(self.last_t)
            .max(self.last_t);
        if let Some(m) = u.new_metadata {
            for m in m.metadata {
                if let (Some(id), Some(md)) = (m.id, m.metadata) {
                    self.meta.insert(id.id, md.field_names);
                }
            }
        }
        if let Some(tu) = u.task_update {
            for task in tu.new_tasks {
                self.add_task(task, t);
            }
            for (id, s) in tu.stats_update {
                self.task_stats(id, s);
            }
            self.dropped_events += tu.dropped_events;
        }
        if let Some(ru) = u.resource_update {
            for r in ru.new_resources {
                self.add_resource(r, t);
            }
            for (id, s) in ru.stats_update {
                self.resource_stats(id, s);
            }
            self.dropped_events += ru.dropped_events;
        }
        if let Some(au) = u.async_op_update {
            self.async_ops(au);
        }
        t
    }

    fn async_ops(&mut self, au: async_ops::AsyncOpUpdate) {
        for op in au.new_async_ops {
            if let (Some(Id { id }), Some(Id { id: resource })) = (op.id, op.resource_id) {
                self.ops.insert(
                    id,
                    AsyncOp {
                        resource,
                        polled: false,
                        ended: false,
                    },
                );
            }
        }
        for (id, s) in au.stats_update {
            if let Some(op) = self.ops.get_mut(&id) {
                op.polled |= s.poll_stats.is_some_and(|p| p.polls > 0);
                op.ended |= s.dropped_at.is_some();
            }
        }
        let mut waiting: HashMap<u64, u64> = HashMap::new();
        self.ops.retain(|_, op| {
            if op.polled && !op.ended {
                *waiting.entry(op.resource).or_default() += 1;
            }
            !op.ended
        });
        for (id, r) in &mut self.resources {
            r.waiters = waiting.get(id).copied().unwrap_or(0);
            r.max_waiters = r.max_waiters.max(r.waiters);
        }
    }

    /// The row of the update at `t`: every task's interval since the previous row; ended
    /// tasks past the retention window forgotten.
    fn row(&mut self, t: f64, timeline: &Timeline) -> Row {
        let span = t - self.last_t;
        // Percentiles the detail streams brought since the last row.
        for (id, (poll, scheduled)) in self.details.lock().drain() {
            if let Some(k) = self.tasks.get_mut(&id) {
                (k.detail.poll_ns, k.detail.scheduled_ns) = (poll, scheduled);
            }
        }
        // The busiest tasks not yet charted get columns, while there is room.
        if self.charted < CHARTED {
            let mut fresh: Vec<(f64, u64)> = self
                .tasks
                .iter()
                .filter(|(_, k)| k.cols.is_none() && k.dropped.is_none() && k.polled > k.before.0)
                .map(|(id, k)| (k.polled - k.before.0, *id))
                .collect();
            fresh.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, id) in fresh.into_iter().take(CHARTED - self.charted) {
                let task = self.tasks.get_mut(&id).expect("listed above");
                task.cols = Some(super::task_columns(timeline, &task.name));
                self.charted += 1;
            }
        }
        // Resources get a queue series once tasks wait on them (timers never do).
        for r in self.resources.values_mut() {
            if r.col.is_none()
                && r.dropped.is_none()
                && r.waiters > 0
                && self.charted_resources < CHARTED_RESOURCES
            {
                r.col = Some(timeline.column(&series::stage(&r.name, StageMetric::Msgq)));
                self.charted_resources += 1;
            }
        }
        let mut values = vec![f64::NAN; timeline.width()];
        self.program.start(&mut values);
        for k in self.tasks.values_mut() {
            if k.dropped.is_some_and(|d| d < self.last_t) {
                continue;
            }
            let life = t.min(k.dropped.unwrap_or(t)) - self.last_t.max(k.created);
            let interval = TaskInterval {
                polled: (k.polled - k.before.0).max(0.0),
                waited: (k.scheduled - k.before.1).max(0.0),
                life: life.max(0.0),
                polls: k.polls.saturating_sub(k.before.2) as f64,
                polled_ms: k.polled * 1e3,
                waited_ms: k.scheduled * 1e3,
                state: k.state(),
            };
            self.program
                .add(&mut values, span, k.cols.as_ref(), &interval);
            k.before = (k.polled, k.scheduled, k.polls);
        }
        for r in self.resources.values_mut() {
            if let Some(c) = r.col
                && r.dropped.is_none()
            {
                values[c] = r.waiters as f64;
            }
            r.recent.push_back(r.waiters);
            if r.recent.len() > GROWING_FOR + 1 {
                r.recent.pop_front();
            }
        }
        if let Some(local) = &mut self.local {
            local.sample(&mut values);
        }
        let retain = RETAIN.as_secs_f64();
        self.tasks
            .retain(|_, k| k.dropped.is_none_or(|d| t - d <= retain));
        self.resources
            .retain(|_, r| r.dropped.is_none_or(|d| t - d <= retain));
        self.last_t = t;
        Row { t, values }
    }

    /// Every task and resource kept now, as stages (tasks first, in the order they came).
    fn stages(&self) -> Vec<StageSnapshot> {
        let ns = |s: f64| (s.max(0.0) * 1e9).round() as u64;
        let mut tasks: Vec<(&u64, &LiveTask)> = self.tasks.iter().collect();
        tasks.sort_by_key(|(id, _)| **id);
        let mut resources: Vec<(&u64, &LiveResource)> = self.resources.iter().collect();
        resources.sort_by_key(|(id, _)| **id);
        let end = self.last_t;
        tasks
            .into_iter()
            .map(|(_, k)| {
                super::task_snapshot(TaskTotals {
                    name: &k.name,
                    kind: StageKind::Task,
                    polled_ns: ns(k.polled),
                    scheduled_ns: ns(k.scheduled),
                    life_ns: ns(k.dropped.unwrap_or(end) - k.created),
                    polls: k.polls,
                    state: k.state(),
                    waiters: 0,
                    max_waiters: 0,
                    detail: k.detail.clone(),
                })
            })
            .chain(resources.into_iter().map(|(_, r)| {
                super::task_snapshot(TaskTotals {
                    name: &r.name,
                    kind: StageKind::Resource,
                    polled_ns: 0,
                    scheduled_ns: 0,
                    life_ns: ns(r.dropped.unwrap_or(end) - r.created),
                    polls: 0,
                    state: if r.dropped.is_some() {
                        StageState::Done
                    } else if r.waiters > 0 {
                        StageState::Running
                    } else {
                        StageState::WaitingForEvents
                    },
                    waiters: r.waiters,
                    max_waiters: r.max_waiters,
                    detail: r.detail.clone(),
                })
            }))
            .collect()
    }

    /// What the program's tasks call for now (each finding dated from when it first held).
    fn diagnose(&mut self) -> Vec<Diagnosis> {
        let t = self.last_t;
        let long = super::LONG_POLL.as_secs_f64();
        let mut found = Vec::new();
        let (mut scheduled, mut polls) = (0.0, 0u64);
        for k in self.tasks.values_mut() {
            scheduled += k.scheduled;
            polls += k.polls;
            // The histogram's p99 where one came; the mean poll otherwise.
            let (typical, longest, what) = match k.detail.poll_ns {
                Some([_, p99, max]) => (p99 as f64 / 1e9, max as f64 / 1e9, "p99"),
                None => (k.mean_poll(), k.mean_poll(), "mean"),
            };
            // A blocking task runs on tokio's blocking pool: holding its thread is its job.
            if k.polls > 0 && typical > long && k.detail.kind != "blocking" {
                let since = *k.long_since.get_or_insert(t);
                found.push(super::long_poll(
                    &k.name,
                    longest,
                    typical,
                    what,
                    since,
                    &k.detail.location,
                ));
            }
            if super::loops_on_itself(k.detail.wakes, k.detail.self_wakes) {
                let since = *k.looping_since.get_or_insert(t);
                found.push(super::self_wake(
                    &k.name,
                    k.detail.self_wakes,
                    k.detail.wakes,
                    since,
                    k.dropped,
                ));
            }
            if k.dropped.is_none()
                && k.polls > 0
                && k.waker_clones <= k.waker_drops
                && !k.running()
                && !k.awakened()
            {
                found.push(super::lost_waker(
                    &k.name,
                    k.last_poll_ended.unwrap_or(k.created).max(0.0),
                ));
            }
        }
        if polls >= 10 {
            let mean = scheduled / polls as f64;
            if mean > super::SATURATED.as_secs_f64() {
                let since = *self.saturated_since.get_or_insert(t);
                found.push(super::saturated(mean, None, since, None));
            } else {
                self.saturated_since = None;
            }
        }
        for r in self.resources.values_mut() {
            let grows = r.recent.len() > GROWING_FOR
                && r.recent
                    .iter()
                    .zip(r.recent.iter().skip(1))
                    .all(|(a, b)| b > a);
            if grows && r.dropped.is_none() {
                let since = *r.growing_since.get_or_insert(t);
                found.push(Diagnosis {
                    kind: DiagnosisKind::WaitersGrowing,
                    stage: r.name.clone(),
                    summary: format!(
                        "{} has more tasks waiting on it at each update ({} now, {} at most): \
                         whoever holds it does not give it back as fast as others ask",
                        r.name, r.waiters, r.max_waiters
                    ),
                    since_ms: since * 1e3,
                    until_ms: None,
                });
            } else {
                r.growing_since = None;
            }
        }
        found.sort_by(|a, b| {
            a.since_ms
                .total_cmp(&b.since_ms)
                .then(a.stage.cmp(&b.stage))
        });
        found
    }

    /// The tasks whose histograms are worth watching: those with the longest mean polls.
    fn worth_watching(&self) -> Vec<u64> {
        let mut v: Vec<(f64, u64)> = self
            .tasks
            .iter()
            .filter(|(_, k)| k.dropped.is_none() && k.polls > 0)
            .map(|(id, k)| (k.mean_poll(), *id))
            .collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().take(WATCHED).map(|(_, id)| id).collect()
    }

    /// One line on what was ignored or lost, if anything was.
    fn warning(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.unknown > 0 {
            parts.push(match self.unknown {
                1 => "1 update named a task or resource it never announced (ignored)".into(),
                n => format!("{n} updates named tasks or resources it never announced (ignored)"),
            });
        }
        if self.dropped_events > 0 {
            parts.push(format!(
                "console-subscriber dropped {} events (its buffer was full): counts may be short",
                self.dropped_events
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A resource's attributes as one line (`permits=3 locked=false`).
fn attributes_text(model: &Model, attributes: &[Attribute]) -> String {
    attributes
        .iter()
        .filter_map(|a| {
            let f = a.field.as_ref()?;
            let name = model.field_name(f)?;
            let value = f.value.as_ref()?.to_string();
            Some(format!("{name}={value}{}", a.unit.as_deref().unwrap_or("")))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// p50, p99 and max (ns) of a serialized HdrHistogram of durations.
fn percentiles(h: Option<&tasks::DurationHistogram>) -> Option<[u64; 3]> {
    let h = h?;
    let hist: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut h.raw_histogram.as_slice())
        .ok()?;
    (!hist.is_empty()).then(|| {
        [
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.max().max(h.highest_outlier.unwrap_or(0)),
        ]
    })
}

/// `addr` spelled as a tokio-console program's: `console://` before it, unless it has one.
pub fn console_addr(addr: &str) -> String {
    let addr = addr.trim();
    if addr.starts_with(SCHEME) {
        addr.to_string()
    } else {
        format!("{SCHEME}{addr}")
    }
}

/// The address without its `console://`, and with tokio-console's port when it has none.
pub fn host_port(addr: &str) -> String {
    let a = addr
        .trim()
        .trim_start_matches(SCHEME)
        .trim_start_matches("http://");
    let a = a.trim_end_matches('/');
    if a.is_empty() {
        DEFAULT_ADDR.into()
    } else if a
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        a.into()
    } else {
        format!("{a}:6669")
    }
}

/// The pid of the process listening on `addr`'s port, when it is on this machine.
fn local_pid(addr: &str) -> Option<u32> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_matches(['[', ']']);
    let local = matches!(host, "localhost" | "0.0.0.0" | "::" | "::1")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    local
        .then(|| os::listener_pid(port.parse().ok()?))
        .flatten()
}

/// Why a gRPC call failed, in words.
fn status_text(s: &tonic::Status) -> String {
    match s.code() {
        tonic::Code::Unimplemented => "it serves gRPC, but not tokio-console's Instrument service \
             (is console-subscriber running there?)"
            .into(),
        tonic::Code::Unavailable if s.message().contains("onnection refused") => {
            "nothing listens there (is the program running, with console-subscriber?)".into()
        }
        _ => {
            let m = s.message();
            let m = if m.is_empty() {
                s.code().description()
            } else {
                m
            };
            format!("it does not speak tokio-console's protocol ({m})")
        }
    }
}

/// Connects and reads the first update: `Err` is the one-line reason.
async fn subscribe(
    addr: &str,
    silence: Duration,
) -> Result<(InstrumentClient<Channel>, tonic::Streaming<Update>, Update), String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("not an address ({e})"))?
        .connect_timeout(crate::observe::live::client::CONNECT_TIMEOUT);
    let channel = endpoint.connect().await.map_err(|e| {
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    "nothing listens there (is the program running, with console-subscriber?)"
                        .to_string()
                } else {
                    io.to_string()
                };
            }
            source = s.source();
        }
        e.to_string()
    })?;
    // The first update lists every task: 10,000 tasks are 4.3 MB, over tonic's 4 MB default.
    let mut client = InstrumentClient::new(channel).max_decoding_message_size(MAX_UPDATE);
    let call = async {
        let mut stream = client
            .watch_updates(InstrumentRequest {})
            .await
            .map_err(|s| status_text(&s))?
            .into_inner();
        match stream.message().await {
            Ok(Some(first)) => Ok((stream, first)),
            Ok(None) => Err("it closed the stream before any update".to_string()),
            Err(s) => Err(status_text(&s)),
        }
    };
    let (stream, first) = tokio::time::timeout(silence + Duration::from_secs(2), call)
        .await
        .map_err(|_| {
            format!(
                "no update came in {} s: not a tokio-console program?",
                silence.as_secs()
            )
        })??;
    Ok((client, stream, first))
}

/// Connects to the tokio-console program at `addr` (`HOST:PORT`, or with `console://`) and
/// follows it in the background; errors are one line naming the address.
pub(crate) fn open(addr: &str, silence: Duration) -> Result<Attachment, String> {
    let target = host_port(addr);
    let shown = format!("{SCHEME}{target}");
    let fail = |e: &dyn std::fmt::Display| format!("cannot attach to '{shown}': {e}");
    let following = Following::new();
    let (tx, rx) = std::sync::mpsc::channel::<Result<Hello, String>>();
    let reader = {
        let following = following.clone();
        let target = target.clone();
        std::thread::Builder::new()
            .name("console attachment".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let ended = rt.block_on(follow(&target, silence, &following, tx));
                if let Some(ended) = ended {
                    following.end(ended);
                }
            })
            .map_err(|e| fail(&e))?
    };
    let hello = rx
        .recv()
        .map_err(|_| fail(&"the attachment thread stopped"))?
        .map_err(|e| fail(&e))?;
    Ok(Attachment::followed(shown, hello, following, None, reader))
}

/// Follows the program until the stream ends or the viewer detaches; `None` when it never
/// connected (the error went to `hello`).
async fn follow(
    addr: &str,
    silence: Duration,
    f: &Following,
    hello: std::sync::mpsc::Sender<Result<Hello, String>>,
) -> Option<Ended> {
    let (client, mut stream, first) = match subscribe(addr, silence).await {
        Ok(c) => c,
        Err(e) => {
            let _ = hello.send(Err(e));
            return None;
        }
    };
    let origin = first
        .now
        .unwrap_or_else(|| std::time::SystemTime::now().into());
    let pid = local_pid(addr);
    let program = pid
        .and_then(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("tokio program at {addr}"));
    let _ = hello.send(Ok(Hello {
        program: program.clone(),
        pid: pid.unwrap_or(0),
        sample_hz: 1,
        started_unix_ms: unix_s(&origin) * 1e3,
        sent_by: "console-subscriber".into(),
    }));
    let mut model = Model::new(origin, &f.timeline, pid);
    let mut watched: HashMap<u64, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut update = first;
    let mut last = Instant::now();
    let mut merged = 0u64;
    let mut reported: Option<Instant> = None;
    let ended = 'follow: loop {
        let arrived = unix_now_s();
        let mut sent = update.now.as_ref().map_or(arrived, unix_s);
        let mut t = model.merge(update);
        // Updates already waiting (this viewer fell behind) are merged into one row: their
        // tasks and totals are all kept, only rows between are dropped (and counted).
        let mut ended = None;
        loop {
            match tokio::time::timeout(Duration::ZERO, stream.message()).await {
                Ok(Ok(Some(next))) => {
                    sent = next.now.as_ref().map_or(sent, unix_s);
                    t = model.merge(next);
                    merged += 1;
                }
                Ok(other) => {
                    ended = Some(stream_end(other));
                    break;
                }
                Err(_) => break,
            }
        }
        f.timeline.push(model.row(t, &f.timeline));
        let diagnoses = model.diagnose();
        f.timeline.set_diagnoses(diagnoses.clone());
        let stages = model.stages();
        // The report (every stage again) is made now and then, and at the end.
        let report = (reported.is_none_or(|r| r.elapsed() >= REPORT_EVERY)).then(|| {
            reported = Some(Instant::now());
            report(&program, &model, &stages, &f.timeline, &diagnoses)
        });
        f.received(
            stages,
            diagnoses,
            report,
            arrived - sent,
            model.warning(),
            merged,
        );
        if let Some(ended) = ended {
            break ended;
        }
        watch(&client, &model, &mut watched);
        // The next update, checking for a detach meanwhile.
        update = loop {
            if f.detach.load(Relaxed) {
                break 'follow Ended::Detached;
            }
            match tokio::time::timeout(TICK, stream.message()).await {
                Err(_) if last.elapsed() > silence => {
                    break 'follow Ended::Failed(format!(
                        "no update for {} s (what was received is kept)",
                        silence.as_secs()
                    ));
                }
                Err(_) => {}
                Ok(Ok(Some(u))) => break u,
                Ok(other) => break 'follow stream_end(other),
            }
        };
        last = Instant::now();
    };
    let diagnoses = model.diagnose();
    f.final_report(report(
        &program,
        &model,
        &model.stages(),
        &f.timeline,
        &diagnoses,
    ));
    Some(ended)
}

/// How the stream of updates ended: cleanly (the program exited), or cut.
fn stream_end(r: Result<Option<Update>, tonic::Status>) -> Ended {
    match r {
        Ok(_) => Ended::Finished,
        Err(s) => Ended::Failed(format!(
            "the stream was cut ({}) (what was received is kept)",
            if s.message().is_empty() {
                s.code().description()
            } else {
                s.message()
            }
        )),
    }
}

/// Keeps a detail stream open for each task worth watching (closing those no longer).
fn watch(
    client: &InstrumentClient<Channel>,
    model: &Model,
    watched: &mut HashMap<u64, tokio::task::JoinHandle<()>>,
) {
    let want: HashSet<u64> = model.worth_watching().into_iter().collect();
    watched.retain(|id, h| {
        let keep = want.contains(id) && !h.is_finished();
        if !keep {
            h.abort();
        }
        keep
    });
    for id in want {
        if watched.contains_key(&id) {
            continue;
        }
        let mut client = client.clone();
        let details = model.details.clone();
        watched.insert(
            id,
            tokio::spawn(async move {
                let Ok(r) = client
                    .watch_task_details(TaskDetailsRequest {
                        id: Some(Id { id }),
                    })
                    .await
                else {
                    return;
                };
                let mut s = r.into_inner();
                while let Ok(Some(d)) = s.message().await {
                    let poll = match &d.poll_times_histogram {
                        Some(tasks::task_details::PollTimesHistogram::Histogram(h)) => {
                            percentiles(Some(h))
                        }
                        _ => None,
                    };
                    let sched = percentiles(d.scheduled_times_histogram.as_ref());
                    details.lock().insert(id, (poll, sched));
                }
            }),
        );
    }
}

/// The program so far as a run's report (its tasks and resources as stages).
fn report(
    program: &str,
    model: &Model,
    stages: &[StageSnapshot],
    timeline: &Arc<Timeline>,
    diagnoses: &[Diagnosis],
) -> RunReport {
    let reports = stages
        .iter()
        .map(|s| StageReport::from_snapshot(s.clone(), None))
        .collect();
    let mut r = RunReport::of_fleet(
        program.to_string(),
        reports,
        timeline.clone(),
        Duration::from_secs_f64(model.last_t.max(0.0)),
        diagnoses.to_vec(),
    );
    r.completed = false;
    if model.ended_tasks > 0 {
        r.warnings.push(format!(
            "{} tasks ended; those ended over {} s ago are no longer listed",
            model.ended_tasks,
            RETAIN.as_secs()
        ));
    }
    r.warnings.extend(model.warning());
    r
}
