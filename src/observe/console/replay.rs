//! tokio-console's recordings, replayed as a run. A program instrumented with
//! `console-subscriber` records with `TOKIO_CONSOLE_RECORD_PATH` (format version 1): JSON lines,
//! a header `{"v":1}`, then one event a line — a task spawned (its fields), a span entered or
//! exited (a poll), closed, or a waker used (woken, woken by reference, cloned, dropped), each
//! with its time. Replayed, every task is a stage of kind `task`: its time split (busy = polled
//! or woken and waiting to be polled, idle otherwise), polls, wakes, and the diagnoses tokio's
//! tasks call for (long polls, self-wakes, lost wakers, a saturated runtime). The format
//! carries neither spawn locations nor resources: they are not shown.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{LONG_POLL, SATURATED};
use crate::observe::diagnosis::Diagnosis;
use crate::observe::error::Error;
use crate::observe::run::{RunReport, StageReport};
use crate::observe::series::Row;
use crate::observe::timeline::Timeline;
use crate::runtime::probe::{StageKind, StageSnapshot, StageState, TaskDetail};

/// The newest console-subscriber recording format read.
pub const FORMAT_VERSION: u8 = 1;
/// Samples per second of a replay (fewer for a long recording: at most `MAX_ROWS` rows).
const REPLAY_HZ: f64 = 20.0;
const MAX_ROWS: f64 = 20_000.0;

/// True when `first_line` is a console-subscriber recording's header.
pub fn is_console_recording(first_line: &str) -> bool {
    serde_json::from_str::<Header>(first_line.trim()).is_ok()
}

/// True when the file at `path` starts as a console-subscriber recording does.
pub fn is_console_file(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(file).take(64);
    reader.read_line(&mut first).is_ok() && is_console_recording(&first)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    v: u8,
}

/// A time as serde writes a `SystemTime`.
#[derive(serde::Deserialize, Clone, Copy)]
struct At {
    secs_since_epoch: u64,
    nanos_since_epoch: u32,
}

impl At {
    /// Nanoseconds since the epoch (exact: seconds of a Unix time as `f64` keep only
    /// quarter-microseconds).
    fn nanos(self) -> i128 {
        i128::from(self.secs_since_epoch) * 1_000_000_000 + i128::from(self.nanos_since_epoch)
    }
}

#[derive(serde::Deserialize)]
struct Field {
    name: String,
    value: serde_json::Value,
}

#[derive(serde::Deserialize)]
enum WakeOp {
    Wake {
        #[serde(rename = "self_wake")]
        own: bool,
    },
    WakeByRef {
        #[serde(rename = "self_wake")]
        own: bool,
    },
    Clone,
    Drop,
}

#[derive(serde::Deserialize)]
enum Event {
    Spawn { id: u64, at: At, fields: Vec<Field> },
    Enter { id: u64, at: At },
    Exit { id: u64, at: At },
    Close { id: u64, at: At },
    Waker { id: u64, op: WakeOp, at: At },
}

/// One task as its events tell it (times in seconds since the recording's first event).
#[derive(Default)]
struct Task {
    /// Its span id in the recording.
    id: u64,
    name: String,
    spawned: f64,
    closed: Option<f64>,
    /// Its polls: (start, end).
    polls: Vec<(f64, f64)>,
    /// Woken and waiting to be polled: (woken, polled).
    scheduled: Vec<(f64, f64)>,
    /// The poll going on.
    polling: Option<f64>,
    /// The first wake not yet followed by a poll.
    woken: Option<f64>,
    /// Woken while being polled: polled again once this poll ends.
    woken_in_poll: bool,
    wakes: usize,
    self_wakes: usize,
    /// When it first woke itself.
    first_self_wake: Option<f64>,
    /// Wakers alive: clones add one, drops and wakes by value take one.
    wakers: i64,
    /// When it last woke (or was woken).
    last_wake: f64,
}

/// A console-subscriber recording replayed: what a [`crate::Recording`] is made of.
#[derive(Debug)]
pub struct Replay {
    /// The run's report (its tasks as stages, the timeline, the diagnoses).
    pub report: RunReport,
    /// Each task at the end.
    pub stages: Vec<StageSnapshot>,
    /// Samples per second of its timeline.
    pub sample_hz: u32,
}

/// Reads the console-subscriber recording at `path` and replays it.
pub fn open(path: &Path) -> Result<Replay, Error> {
    let fail = |what: String| Error::Open(format!("cannot open '{}': {what}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = lines
        .next()
        .transpose()
        .map_err(|e| fail(e.to_string()))?
        .unwrap_or_default();
    let header: Header = serde_json::from_str(header.trim())
        .map_err(|_| fail("not a tokio-console recording (no {\"v\":…} header)".into()))?;
    if header.v > FORMAT_VERSION {
        return Err(fail(format!(
            "a tokio-console recording of format version {}; this palavriado reads version \
             {FORMAT_VERSION} (a newer palavriado may read it)",
            header.v
        )));
    }
    let mut tasks: Vec<Task> = Vec::new();
    // Span ids are reused once closed: the task each live id is now.
    let mut live: HashMap<u64, usize> = HashMap::new();
    let mut origin: Option<i128> = None;
    let mut end = 0.0f64;
    let mut lines = lines.enumerate().peekable();
    // A program stopped while console-subscriber was writing leaves its last line cut: what
    // came before is replayed, and the report says so.
    let mut cut = None;
    while let Some((n, line)) = lines.next() {
        let line = line.map_err(|e| fail(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(_) if lines.peek().is_none() => {
                cut = Some(n + 2);
                break;
            }
            Err(e) => {
                return Err(fail(format!(
                    "line {} is not a tokio-console event ({e}): not a recording, or damaged",
                    n + 2
                )));
            }
        };
        let at = match &event {
            Event::Spawn { at, .. }
            | Event::Enter { at, .. }
            | Event::Exit { at, .. }
            | Event::Close { at, .. }
            | Event::Waker { at, .. } => at.nanos(),
        };
        let t = (at - *origin.get_or_insert(at)) as f64 / 1e9;
        end = end.max(t);
        match event {
            Event::Spawn { id, fields, .. } => {
                live.insert(id, tasks.len());
                tasks.push(Task {
                    id,
                    name: task_name(&fields),
                    spawned: t,
                    last_wake: t,
                    ..Task::default()
                });
            }
            Event::Enter { id, .. } => {
                if let Some(task) = live.get(&id).map(|&i| &mut tasks[i]) {
                    task.polling.get_or_insert(t);
                    if let Some(w) = task.woken.take() {
                        task.scheduled.push((w, t));
                    }
                }
            }
            Event::Exit { id, .. } => {
                if let Some(task) = live.get(&id).map(|&i| &mut tasks[i])
                    && let Some(start) = task.polling.take()
                {
                    task.polls.push((start, t));
                    if std::mem::take(&mut task.woken_in_poll) {
                        task.woken.get_or_insert(t);
                    }
                }
            }
            Event::Close { id, .. } => {
                if let Some(i) = live.remove(&id) {
                    tasks[i].closed = Some(t);
                }
            }
            Event::Waker { id, op, .. } => {
                if let Some(task) = live.get(&id).map(|&i| &mut tasks[i]) {
                    let own = match op {
                        WakeOp::Wake { own } => {
                            task.wakers -= 1;
                            Some(own)
                        }
                        WakeOp::WakeByRef { own } => Some(own),
                        WakeOp::Clone => {
                            task.wakers += 1;
                            None
                        }
                        WakeOp::Drop => {
                            task.wakers -= 1;
                            None
                        }
                    };
                    if let Some(own) = own {
                        task.wakes += 1;
                        task.self_wakes += usize::from(own);
                        if own {
                            task.first_self_wake.get_or_insert(t);
                        }
                        task.last_wake = t;
                        if task.polling.is_some() {
                            task.woken_in_poll = true;
                        } else {
                            task.woken.get_or_insert(t);
                        }
                    }
                }
            }
        }
    }
    if tasks.is_empty() {
        return Err(fail("a tokio-console recording with no task in it".into()));
    }
    name_apart(&mut tasks);
    let name = path
        .file_name()
        .map_or_else(|| "recording".into(), |n| n.to_string_lossy().into_owned());
    let mut replayed = replay(tasks, end, &name);
    if let Some(line) = cut {
        replayed.report.warnings.push(format!(
            "its last line ({line}) was cut short (the program stopped while writing it): \
             replayed up to it"
        ));
    }
    Ok(replayed)
}

/// A task's name: its `task.name` field, else `task <task.id>`.
fn task_name(fields: &[Field]) -> String {
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| match &f.value {
                serde_json::Value::String(s) => s.trim_matches('"').to_string(),
                other => other.to_string(),
            })
    };
    field("task.name")
        .filter(|n| !n.is_empty())
        .or_else(|| field("task.id").map(|id| format!("task {id}")))
        .unwrap_or_else(|| "task".into())
}

/// Tasks of one name get their order after it (`worker`, `worker #2`).
fn name_apart(tasks: &mut [Task]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for t in tasks.iter_mut() {
        let n = seen.entry(t.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            t.name = format!("{} #{n}", t.name);
        }
    }
}

/// Seconds of `spans` inside `[from, to)`.
fn overlap(spans: &[(f64, f64)], from: f64, to: f64) -> f64 {
    spans
        .iter()
        .map(|&(a, b)| (b.min(to) - a.max(from)).max(0.0))
        .sum()
}

/// Walks spans sorted by time through consecutive intervals: each span is looked at only
/// while it can overlap the interval.
#[derive(Default)]
struct Cursor(usize);

impl Cursor {
    /// Seconds of `spans` inside `[from, to)`, and how many start in it (intervals asked in
    /// order).
    fn take(&mut self, spans: &[(f64, f64)], from: f64, to: f64) -> (f64, usize) {
        while self.0 < spans.len() && spans[self.0].1 < from {
            self.0 += 1;
        }
        let mut inside = 0.0;
        let mut starts = 0;
        for &(a, b) in spans[self.0..].iter().take_while(|s| s.0 < to) {
            inside += (b.min(to) - a.max(from)).max(0.0);
            starts += usize::from(a >= from);
        }
        (inside, starts)
    }
}

/// The run a recording's tasks make: a timeline at [`REPLAY_HZ`], each task's totals, the
/// diagnoses.
fn replay(tasks: Vec<Task>, end: f64, name: &str) -> Replay {
    let hz = REPLAY_HZ.min(MAX_ROWS / end.max(1e-3)).max(0.01);
    let dt = 1.0 / hz;
    let timeline = Timeline::new((end * hz).ceil() as usize + 2);
    let cols: Vec<super::TaskColumns> = tasks
        .iter()
        .map(|t| super::task_columns(&timeline, &t.name))
        .collect();
    let program = super::ProgramColumns::new(&timeline);
    let width = timeline.width();
    // Each task's polls and waits sorted, walked once as the rows advance.
    let mut polled_ms = vec![0.0f64; tasks.len()];
    let mut waited_ms = vec![0.0f64; tasks.len()];
    let mut cursors: Vec<(Cursor, Cursor)> = tasks.iter().map(|_| Default::default()).collect();
    let rows = (end / dt).ceil() as usize + 1;
    for k in 1..=rows {
        let (from, to) = ((k - 1) as f64 * dt, (k as f64 * dt).min(end.max(dt)));
        let mut values = vec![f64::NAN; width];
        program.start(&mut values);
        for (i, t) in tasks.iter().enumerate() {
            let lives = t.spawned < to && t.closed.is_none_or(|c| c > from);
            if !lives {
                continue;
            }
            let (polled, polls) = cursors[i].0.take(&t.polls, from, to);
            let (waited, _) = cursors[i].1.take(&t.scheduled, from, to);
            polled_ms[i] += polled * 1e3;
            waited_ms[i] += waited * 1e3;
            let interval = super::TaskInterval {
                polled,
                waited,
                life: to.min(t.closed.unwrap_or(to)) - from.max(t.spawned),
                polls: polls as f64,
                polled_ms: polled_ms[i],
                waited_ms: waited_ms[i],
                state: if t.closed.is_some_and(|c| c <= to) {
                    StageState::Done
                } else if polled > 0.0 {
                    StageState::Running
                } else {
                    StageState::WaitingForEvents
                },
            };
            program.add(&mut values, to - from, Some(&cols[i]), &interval);
        }
        timeline.push(Row { t: to, values });
    }
    let diagnoses = diagnose(&tasks, end);
    timeline.set_diagnoses(diagnoses.clone());
    let ns = |s: f64| (s * 1e9).round() as u64;
    let stages: Vec<StageSnapshot> = tasks
        .iter()
        .map(|t| {
            let lengths = |spans: &[(f64, f64)]| -> Option<[u64; 3]> {
                let mut l: Vec<f64> = spans.iter().map(|(a, b)| b - a).collect();
                (!l.is_empty()).then(|| {
                    let max = l.iter().copied().fold(0.0, f64::max);
                    [
                        ns(quantile(&mut l, 0.5)),
                        ns(quantile(&mut l, 0.99)),
                        ns(max),
                    ]
                })
            };
            super::task_snapshot(super::TaskTotals {
                name: &t.name,
                kind: StageKind::Task,
                polled_ns: ns(overlap(&t.polls, 0.0, f64::INFINITY)),
                scheduled_ns: ns(overlap(&t.scheduled, 0.0, f64::INFINITY)),
                life_ns: ns(t.closed.unwrap_or(end) - t.spawned),
                polls: t.polls.len() as u64,
                state: if t.closed.is_some() {
                    StageState::Done
                } else {
                    StageState::WaitingForEvents
                },
                waiters: 0,
                max_waiters: 0,
                detail: TaskDetail {
                    id: t.id,
                    location: String::new(),
                    kind: "task".into(),
                    attributes: String::new(),
                    wakes: t.wakes as u64,
                    self_wakes: t.self_wakes as u64,
                    wakers: t.wakers,
                    poll_ns: lengths(&t.polls),
                    scheduled_ns: lengths(&t.scheduled),
                },
            })
        })
        .collect();
    let reports = stages
        .iter()
        .map(|s| StageReport::from_snapshot(s.clone(), None))
        .collect();
    let report = RunReport::of_fleet(
        format!("tokio-console: {name}"),
        reports,
        Arc::new(timeline),
        Duration::from_secs_f64(end.max(0.0)),
        diagnoses,
    );
    Replay {
        report,
        stages,
        sample_hz: hz.round().max(1.0) as u32,
    }
}

/// The `q` quantile of `xs` (sorted here).
fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// What tokio's tasks call for, over the whole recording, each dated from when it first held.
fn diagnose(tasks: &[Task], end: f64) -> Vec<Diagnosis> {
    let mut found = Vec::new();
    for t in tasks {
        let mut lengths: Vec<f64> = t.polls.iter().map(|(a, b)| b - a).collect();
        if !lengths.is_empty() {
            let longest = lengths.iter().copied().fold(0.0, f64::max);
            let p99 = quantile(&mut lengths, 0.99);
            if p99 > LONG_POLL.as_secs_f64() {
                let first = t
                    .polls
                    .iter()
                    .find(|(a, b)| b - a > LONG_POLL.as_secs_f64())
                    .map_or(t.spawned, |p| p.0);
                found.push(super::long_poll(&t.name, longest, p99, "p99", first, ""));
            }
        }
        if super::loops_on_itself(t.wakes as u64, t.self_wakes as u64) {
            found.push(super::self_wake(
                &t.name,
                t.self_wakes as u64,
                t.wakes as u64,
                t.first_self_wake.unwrap_or(t.spawned),
                t.closed,
            ));
        }
        let idle_since = t.polls.last().map_or(t.spawned, |p| p.1);
        if t.closed.is_none()
            && t.polling.is_none()
            && t.woken.is_none()
            && t.wakers <= 0
            && t.last_wake <= idle_since
            && !t.polls.is_empty()
        {
            found.push(super::lost_waker(&t.name, idle_since));
        }
    }
    let mut waits: Vec<f64> = tasks
        .iter()
        .flat_map(|t| t.scheduled.iter().map(|(a, b)| b - a))
        .collect();
    if waits.len() >= 10 {
        let mean = waits.iter().sum::<f64>() / waits.len() as f64;
        if mean > SATURATED.as_secs_f64() {
            let p99 = quantile(&mut waits, 0.99);
            found.push(super::saturated(mean, Some(p99), 0.0, Some(end)));
        }
    }
    found.sort_by(|a, b| a.since_ms.total_cmp(&b.since_ms));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_count_only_inside_the_interval() {
        let spans = [(0.0, 1.0), (2.0, 3.0)];
        assert_eq!(overlap(&spans, 0.5, 2.5), 1.0);
        assert_eq!(overlap(&spans, 3.0, 4.0), 0.0);
    }

    #[test]
    fn the_header_tells_a_console_recording() {
        assert!(is_console_recording("{\"v\":1}\n"));
        assert!(!is_console_recording(
            "{\"format\":\"palavriado-recording\"}"
        ));
        assert!(!is_console_recording("\u{1f}\u{8b}"));
    }
}
