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

use super::diagnosis::{Diagnosis, DiagnosisKind};
use super::error::Error;
use super::run::{RunReport, StageReport};
use super::series::{self, Row, StageMetric};
use super::timeline::Timeline;
use crate::runtime::probe::{StageKind, StageSnapshot, StageState, StateTimes};

/// The newest console-subscriber recording format read.
pub const FORMAT_VERSION: u8 = 1;
/// Samples per second of a replay (fewer for a long recording: at most `MAX_ROWS` rows).
const REPLAY_HZ: f64 = 20.0;
const MAX_ROWS: f64 = 20_000.0;
/// A poll longer than this holds a scheduler thread (tokio-console warns from 100 µs… its
/// default `--warn-poll` is 10 ms; the issue names 100 µs for p99).
const LONG_POLL: Duration = Duration::from_micros(100);
/// A task waking itself in at least this share of at least `SELF_WAKES` wakes is looping.
const SELF_WAKE_SHARE: f64 = 0.5;
const SELF_WAKES: usize = 100;
/// Woken tasks waiting this long on average to be polled: the runtime is saturated.
const SATURATED: Duration = Duration::from_millis(1);

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
    for (n, line) in lines.enumerate() {
        let line = line.map_err(|e| fail(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(&line).map_err(|e| {
            fail(format!(
                "line {} is not a tokio-console event ({e}); the file may be cut short",
                n + 2
            ))
        })?;
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
    Ok(replay(tasks, end, &name))
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
    let cols: Vec<[usize; 6]> = tasks
        .iter()
        .map(|t| {
            [
                StageMetric::BusyPerS,
                StageMetric::IdlePerS,
                StageMetric::PollsPerS,
                StageMetric::BusyMs,
                StageMetric::SchedWaitMs,
                StageMetric::State,
            ]
            .map(|m| timeline.column(&series::stage(&t.name, m)))
        })
        .collect();
    let tasks_alive = timeline.column("tasks/alive");
    let width = timeline.names().len();
    // Each task's polls and waits sorted, walked once as the rows advance.
    let mut polled_ms = vec![0.0f64; tasks.len()];
    let mut waited_ms = vec![0.0f64; tasks.len()];
    let mut cursors: Vec<(Cursor, Cursor)> = tasks.iter().map(|_| Default::default()).collect();
    let rows = (end / dt).ceil() as usize + 1;
    for k in 1..=rows {
        let (from, to) = ((k - 1) as f64 * dt, (k as f64 * dt).min(end.max(dt)));
        let span = (to - from).max(1e-9);
        let mut values = vec![f64::NAN; width];
        let mut alive = 0.0;
        for (i, t) in tasks.iter().enumerate() {
            let lives = t.spawned < to && t.closed.is_none_or(|c| c > from);
            if !lives {
                continue;
            }
            alive += 1.0;
            let life = to.min(t.closed.unwrap_or(to)) - from.max(t.spawned);
            let (polled, polls) = cursors[i].0.take(&t.polls, from, to);
            let (waited, _) = cursors[i].1.take(&t.scheduled, from, to);
            polled_ms[i] += polled * 1e3;
            waited_ms[i] += waited * 1e3;
            let c = cols[i];
            values[c[0]] = (polled + waited) / span * 1e3;
            values[c[1]] = (life - polled - waited).max(0.0) / span * 1e3;
            values[c[2]] = polls as f64 / span;
            values[c[3]] = polled_ms[i];
            values[c[4]] = waited_ms[i];
            values[c[5]] = f64::from(if t.closed.is_some_and(|c| c <= to) {
                StageState::Done as u8
            } else if polled > 0.0 {
                StageState::Running as u8
            } else {
                StageState::WaitingForEvents as u8
            });
        }
        values[tasks_alive] = alive;
        timeline.push(Row { t: to, values });
    }
    let diagnoses = diagnose(&tasks, end);
    timeline.set_diagnoses(diagnoses.clone());
    let ns = |s: f64| (s * 1e9).round() as u64;
    let mut stages = Vec::with_capacity(tasks.len());
    for t in &tasks {
        let life = t.closed.unwrap_or(end) - t.spawned;
        let polled = overlap(&t.polls, 0.0, f64::INFINITY);
        let waited = overlap(&t.scheduled, 0.0, f64::INFINITY);
        let times = StateTimes {
            busy_ns: ns(polled + waited),
            backpressured_ns: 0,
            idle_ns: ns((life - polled - waited).max(0.0)),
            sleeping_ns: 0,
        };
        stages.push(StageSnapshot {
            name: t.name.clone(),
            kind: StageKind::Task,
            capacity: None,
            mailbox_messages: 0,
            mailbox_events: 0,
            queued_bytes: 0,
            events_in: t.wakes as u64,
            events_out: 0,
            buffered: 0,
            demand: 0,
            state: if t.closed.is_some() {
                StageState::Done
            } else {
                StageState::WaitingForEvents
            },
            max_mailbox: 0,
            tid: 0,
            busy_ns: ns(polled),
            polls: t.polls.len() as u64,
            sched_wait_ns: ns(waited),
            times,
            peak_bytes: 0,
            feeds: Vec::new(),
            program: None,
        });
    }
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
    let ms = |s: f64| s * 1e3;
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
                found.push(Diagnosis {
                    kind: DiagnosisKind::LongPoll,
                    stage: t.name.clone(),
                    summary: format!(
                        "{} holds its scheduler thread: polls take up to {:.1} ms (p99 {:.2} \
                         ms, over {} µs): something in it blocks (a lock, a sleep, heavy work)",
                        t.name,
                        ms(longest),
                        ms(p99),
                        LONG_POLL.as_micros()
                    ),
                    since_ms: ms(first),
                    until_ms: None,
                });
            }
        }
        if t.wakes >= SELF_WAKES && t.self_wakes as f64 >= SELF_WAKE_SHARE * t.wakes as f64 {
            found.push(Diagnosis {
                kind: DiagnosisKind::SelfWake,
                stage: t.name.clone(),
                summary: format!(
                    "{} wakes itself in {:.0} % of its {} wakes: a loop that yields or re-polls \
                     itself instead of waiting",
                    t.name,
                    t.self_wakes as f64 / t.wakes as f64 * 100.0,
                    t.wakes
                ),
                since_ms: ms(t.first_self_wake.unwrap_or(t.spawned)),
                until_ms: t.closed.map(ms),
            });
        }
        let idle_since = t.polls.last().map_or(t.spawned, |p| p.1);
        if t.closed.is_none()
            && t.polling.is_none()
            && t.woken.is_none()
            && t.wakers <= 0
            && t.last_wake <= idle_since
            && !t.polls.is_empty()
        {
            found.push(Diagnosis {
                kind: DiagnosisKind::LostWaker,
                stage: t.name.clone(),
                summary: format!(
                    "{} will never run again: idle since {:.1} s, not finished, and no waker \
                     of it is left",
                    t.name, idle_since
                ),
                since_ms: ms(idle_since),
                until_ms: None,
            });
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
            found.push(Diagnosis {
                kind: DiagnosisKind::Saturated,
                stage: "runtime".into(),
                summary: format!(
                    "woken tasks wait {:.1} ms on average to be polled (p99 {:.1} ms): the \
                     runtime has more ready work than threads",
                    ms(mean),
                    ms(p99)
                ),
                since_ms: 0.0,
                until_ms: Some(ms(end)),
            });
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
