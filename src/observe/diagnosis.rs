//! Diagnoses: where the backpressure is, said in words. Each [`Check`] looks at the last few
//! seconds of a run (a [`Window`] over its timeline) and names the stages it finds; a
//! [`Diagnoser`] runs them once a second and remembers since when each finding holds.
//!
//! A new diagnosis is one more [`Check`] and one more [`DiagnosisKind`] (the CLI and recordings
//! show it as it comes; the app's strip gives each kind its label).

use std::collections::HashMap;

use crate::observe::series::{self, Row, StageMetric};
use crate::runtime::probe::{StageKind, SubscriptionDemand, TimeShares};

/// What a diagnosis says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisKind {
    /// A mailbox grows steadily (Push with a slow consumer).
    MailboxGrowth,
    /// A stage busy (or sleeping in the delay) nearly all the time while its upstream waits.
    Bottleneck,
    /// A stage idle most of the time while its upstream is busy.
    Starved,
    /// So few events per hand-off that handing over dominates.
    SmallDemand,
    /// One partition's queue many times the others'.
    PartitionSkew,
    /// A task's polls take long: it holds its scheduler thread (tokio-console's tasks).
    LongPoll,
    /// A task wakes itself over and over: a busy loop.
    SelfWake,
    /// A task no one will wake again: idle, not finished, and no waker left.
    LostWaker,
    /// Tasks wait long to be polled once woken: the runtime has more work than threads.
    Saturated,
    /// More and more tasks wait on one resource (a semaphore, a lock) of a tokio program.
    WaitersGrowing,
}

impl DiagnosisKind {
    /// Its name in JSON and recordings (`mailbox_growth`).
    pub fn name(self) -> &'static str {
        match self {
            DiagnosisKind::MailboxGrowth => "mailbox_growth",
            DiagnosisKind::Bottleneck => "bottleneck",
            DiagnosisKind::Starved => "starved",
            DiagnosisKind::SmallDemand => "small_demand",
            DiagnosisKind::PartitionSkew => "partition_skew",
            DiagnosisKind::LongPoll => "long_poll",
            DiagnosisKind::SelfWake => "self_wake",
            DiagnosisKind::LostWaker => "lost_waker",
            DiagnosisKind::Saturated => "saturated",
            DiagnosisKind::WaitersGrowing => "waiters_growing",
        }
    }
}

/// One finding about one stage, and since when it holds (ms since the run started).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diagnosis {
    /// What it says.
    pub kind: DiagnosisKind,
    /// The stage it names.
    pub stage: String,
    /// One line for people.
    pub summary: String,
    /// When it was first found (ms since the start).
    pub since_ms: f64,
    /// When it stopped holding (ms since the start); `None` while it holds (or held to the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<f64>,
}

/// A finding before the diagnoser dates it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What it says.
    pub kind: DiagnosisKind,
    /// The stage it names.
    pub stage: String,
    /// One line for people.
    pub summary: String,
}

/// What a check sees of one stage over the window.
#[derive(Clone, Debug, Default)]
pub struct StageWindow {
    /// Stage name.
    pub name: String,
    /// Indices (into [`Window::stages`]) of the stages that feed it.
    pub upstream: Vec<usize>,
    /// Shares of the window's time busy, backpressured, idle and sleeping.
    pub time: TimeShares,
    /// Mailbox length at each sample (time, messages).
    pub mailbox: Vec<(f64, f64)>,
    /// Mean messages taken per second.
    pub messages_per_s: f64,
    /// Mean events handled per second.
    pub events_per_s: f64,
    /// Its subscribers' demand now and queues on average over the window (a producer with a
    /// dispatcher).
    pub subscriptions: Vec<SubscriptionDemand>,
    /// It is a channel of a program's own (a queue, not a worker).
    pub is_channel: bool,
    /// It takes its input from a channel of the program's own, not by demand (in a pipeline
    /// of subscriptions, a stage no producer feeds): demand settings do not apply to it.
    pub fed_by_channel: bool,
}

/// The last few seconds of a run, as the checks see them.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// Every stage.
    pub stages: Vec<StageWindow>,
    /// Resident memory at each sample (time, bytes).
    pub memory: Vec<(f64, f64)>,
    /// The memory limit that stops the run (bytes), if any.
    pub memory_limit: Option<u64>,
    /// `max_demand` of a demand-driven run.
    pub max_demand: Option<usize>,
}

/// One per stage of a run: what a [`Window`] is built from besides the timeline.
#[derive(Clone, Debug)]
pub struct StageInfo {
    /// Stage name.
    pub name: String,
    /// Its role.
    pub kind: StageKind,
    /// Its subscribers now.
    pub subscriptions: Vec<SubscriptionDemand>,
}

impl Window {
    /// A window over `rows` (named by `names`, as the sampler wrote them) for `stages`.
    /// Upstream links come from the subscriptions; a pipeline without any (Push) is taken to
    /// flow producer → producer-consumer → consumer.
    pub fn from_rows(
        names: &[String],
        rows: &[Row],
        stages: &[StageInfo],
        memory_limit: Option<u64>,
        max_demand: Option<usize>,
    ) -> Window {
        let index: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let points = |name: &str| -> Vec<(f64, f64)> {
            index.get(name).map_or_else(Vec::new, |&i| {
                rows.iter()
                    .map(|r| (r.t, r.get(i)))
                    .filter(|(_, v)| !v.is_nan())
                    .collect()
            })
        };
        let mean = |name: &str| {
            let p = points(name);
            if p.is_empty() {
                0.0
            } else {
                p.iter().map(|(_, v)| v).sum::<f64>() / p.len() as f64
            }
        };
        let by_name: HashMap<&str, usize> = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let linked = stages.iter().any(|s| !s.subscriptions.is_empty());
        // A partition's queue, averaged over the window (a snapshot catches bursts a dispatch
        // clears at once). The series is one per subscriber, the sum over its producers, so
        // each producer's partition is taken to hold an equal share of it; each series is read
        // once however many producers the subscriber has.
        let mut producers: HashMap<&str, u64> = HashMap::new();
        for sub in stages.iter().flat_map(|s| &s.subscriptions) {
            *producers.entry(sub.subscriber.as_str()).or_insert(0) += 1;
        }
        let upstream_means: HashMap<&str, Option<u64>> = producers
            .into_iter()
            .map(|(subscriber, n)| {
                let p = points(&series::stage(subscriber, StageMetric::QueuedUpstream));
                let share = (!p.is_empty()).then(|| {
                    (p.iter().map(|(_, v)| v).sum::<f64>() / p.len() as f64 / n as f64).round()
                        as u64
                });
                (subscriber, share)
            })
            .collect();
        let mut windows: Vec<StageWindow> = stages
            .iter()
            .map(|s| {
                let m = |metric| mean(&series::stage(&s.name, metric)) / 1e3;
                StageWindow {
                    name: s.name.clone(),
                    upstream: Vec::new(),
                    is_channel: s.kind == StageKind::Channel,
                    fed_by_channel: false,
                    time: TimeShares {
                        busy: m(StageMetric::BusyPerS),
                        backpressured: m(StageMetric::BackpressuredPerS),
                        idle: m(StageMetric::IdlePerS),
                        sleeping: m(StageMetric::SleepingPerS),
                    },
                    mailbox: points(&series::stage(&s.name, StageMetric::Msgq)),
                    messages_per_s: mean(&series::stage(&s.name, StageMetric::MessagesPerS)),
                    events_per_s: mean(&series::stage(&s.name, StageMetric::InPerS)),
                    subscriptions: s
                        .subscriptions
                        .iter()
                        .map(|sub| {
                            let channel = by_name
                                .get(sub.subscriber.as_str())
                                .is_some_and(|&i| stages[i].kind == StageKind::Channel);
                            // A channel's queue is what waits in it.
                            let queued = if channel {
                                Some(
                                    mean(&series::stage(&sub.subscriber, StageMetric::Msgq)).round()
                                        as u64,
                                )
                            } else {
                                upstream_means[sub.subscriber.as_str()]
                            };
                            SubscriptionDemand {
                                queued: queued.unwrap_or(sub.queued),
                                ..sub.clone()
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        for (i, s) in stages.iter().enumerate() {
            if linked {
                for sub in &s.subscriptions {
                    if let Some(&j) = by_name.get(sub.subscriber.as_str()) {
                        windows[j].upstream.push(i);
                    }
                }
            }
        }
        if linked {
            for (w, s) in windows.iter_mut().zip(stages) {
                w.fed_by_channel = w.upstream.is_empty() && s.kind != StageKind::Producer;
            }
            link_through_channels(&mut windows, stages);
        }
        if !linked {
            let layer = |k: StageKind| match k {
                StageKind::Producer => 0,
                StageKind::ProducerConsumer
                | StageKind::Channel
                | StageKind::Task
                | StageKind::Resource => 1,
                StageKind::Consumer => 2,
            };
            for j in 0..stages.len() {
                let below = stages
                    .iter()
                    .map(|s| layer(s.kind))
                    .filter(|&l| l < layer(stages[j].kind))
                    .max();
                windows[j].upstream = stages
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| Some(layer(s.kind)) == below)
                    .map(|(i, _)| i)
                    .collect();
            }
        }
        Window {
            stages: windows,
            memory: points(series::RSS),
            memory_limit,
            max_demand,
        }
    }
}

/// A channel of a program's own is a queue between stages, not a stage: a stage fed through
/// channels is fed by the stages that send into them (and takes its input from a channel).
fn link_through_channels(windows: &mut [StageWindow], stages: &[StageInfo]) {
    let is_channel = |i: usize| stages[i].kind == StageKind::Channel;
    let direct: Vec<Vec<usize>> = windows.iter().map(|w| w.upstream.clone()).collect();
    for (j, w) in windows.iter_mut().enumerate() {
        if is_channel(j) || !direct[j].iter().any(|&i| is_channel(i)) {
            continue;
        }
        let (mut todo, mut seen, mut feeding) = (direct[j].clone(), Vec::new(), Vec::new());
        while let Some(i) = todo.pop() {
            if seen.contains(&i) {
                continue;
            }
            seen.push(i);
            if is_channel(i) {
                todo.extend(&direct[i]);
            } else {
                feeding.push(i);
            }
        }
        feeding.sort_unstable();
        w.upstream = feeding;
        w.fed_by_channel = true;
    }
}

/// One diagnosis: a check over the window that names the stages it finds.
pub trait Check: Send {
    /// What it finds.
    fn kind(&self) -> DiagnosisKind;
    /// The stages it finds in `window`, each with a one-line summary.
    fn check(&self, window: &Window) -> Vec<Finding>;
}

/// Least-squares slope of `points` (units per second), and the share of steps that went up.
fn trend(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    if points.len() < 3 {
        return (0.0, 0.0);
    }
    let (mt, mv) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = points.iter().map(|(t, v)| (t - mt) * (v - mv)).sum();
    let var: f64 = points.iter().map(|(t, _)| (t - mt) * (t - mt)).sum();
    let slope = if var > 0.0 { cov / var } else { 0.0 };
    let ups = points.windows(2).filter(|w| w[1].1 >= w[0].1).count();
    (slope, ups as f64 / (points.len() - 1) as f64)
}

/// `mailbox_growth`: a mailbox grows steadily (at least 1,000 messages over the window, rising
/// in at least 80 % of the samples).
#[derive(Debug, Default)]
pub struct MailboxGrowth;

impl Check for MailboxGrowth {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::MailboxGrowth
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        let (memory_slope, _) = trend(&w.memory);
        let memory_now = w.memory.last().map_or(0.0, |p| p.1);
        w.stages
            .iter()
            .filter_map(|s| {
                let (first, last) = (s.mailbox.first()?, s.mailbox.last()?);
                let (slope, rising) = trend(&s.mailbox);
                if last.1 - first.1 < 1000.0 || slope <= 0.0 || rising < 0.8 {
                    return None;
                }
                let mut summary = format!(
                    "{} grows by {} messages/s ({} waiting)",
                    if s.is_channel {
                        format!("channel {}", s.name)
                    } else {
                        format!("{}'s mailbox", s.name)
                    },
                    crate::observe::format::thousands(slope.round() as u64),
                    crate::observe::format::thousands(last.1 as u64)
                );
                if let Some(limit) = w.memory_limit
                    && memory_slope > 0.0
                {
                    let left = (limit as f64 - memory_now).max(0.0) / memory_slope;
                    summary.push_str(&format!(
                        "; at this pace the memory limit stops the run in {left:.0} s"
                    ));
                }
                Some(Finding {
                    kind: self.kind(),
                    stage: s.name.clone(),
                    summary,
                })
            })
            .collect()
    }
}

/// `bottleneck`: a stage busy or sleeping in the delay ≥ 90 % of the time while a stage that
/// feeds it is backpressured at least half of the time.
#[derive(Debug, Default)]
pub struct Bottleneck;

impl Check for Bottleneck {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::Bottleneck
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        w.stages
            .iter()
            .filter_map(|s| {
                let working = s.time.working();
                let waiting = s
                    .upstream
                    .iter()
                    .map(|&u| &w.stages[u])
                    .find(|u| u.time.backpressured >= 0.5)?;
                (working >= 0.9).then(|| Finding {
                    kind: self.kind(),
                    stage: s.name.clone(),
                    summary: format!(
                        "{} is the bottleneck: working {:.0} % of the time{} while {} is \
                         backpressured {:.0} % of it",
                        s.name,
                        working * 100.0,
                        if s.time.sleeping > s.time.busy {
                            " (mostly in the simulated delay)"
                        } else {
                            ""
                        },
                        waiting.name,
                        waiting.time.backpressured * 100.0
                    ),
                })
            })
            .collect()
    }
}

/// `starved`: a stage idle ≥ 80 % of the time while every stage that feeds it is busy ≥ 90 %.
#[derive(Debug, Default)]
pub struct Starved;

impl Check for Starved {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::Starved
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        w.stages
            .iter()
            .filter(|s| {
                s.time.idle >= 0.8
                    && !s.upstream.is_empty()
                    && s.upstream.iter().all(|&u| w.stages[u].time.busy >= 0.9)
            })
            .map(|s| Finding {
                kind: self.kind(),
                stage: s.name.clone(),
                summary: format!(
                    "{} is starved: idle {:.0} % of the time while the stages feeding it are \
                     busy; add workers upstream",
                    s.name,
                    s.time.idle * 100.0
                ),
            })
            .collect()
    }
}

/// `small_demand`: a stage takes ≥ 20,000 messages/s carrying ≤ 10 events each, so handing
/// over costs more than the work.
#[derive(Debug, Default)]
pub struct SmallDemand;

impl Check for SmallDemand {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::SmallDemand
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        w.stages
            .iter()
            .filter(|s| s.messages_per_s >= 20_000.0 && s.events_per_s > 0.0)
            .filter_map(|s| {
                let per_message = s.events_per_s / s.messages_per_s;
                if per_message > 10.0 {
                    return None;
                }
                let advice = match w.max_demand {
                    Some(d) if !s.fed_by_channel => {
                        format!("raise max_demand (now {d}) to hand over larger batches")
                    }
                    _ => "send events in batches".to_string(),
                };
                Some(Finding {
                    kind: self.kind(),
                    stage: s.name.clone(),
                    summary: format!(
                        "{} takes {} messages/s of {per_message:.1} events each: handing over \
                         dominates; {advice}",
                        s.name,
                        crate::observe::format::thousands(s.messages_per_s as u64)
                    ),
                })
            })
            .collect()
    }
}

/// `partition_skew`: one partition's queue holds ≥ 100 events and ≥ 10× the median of the
/// others' (on average over the window).
#[derive(Debug, Default)]
pub struct PartitionSkew;

impl Check for PartitionSkew {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::PartitionSkew
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        let mut found = Vec::new();
        for s in w.stages.iter().filter(|s| s.subscriptions.len() > 1) {
            let mut queues: Vec<u64> = s.subscriptions.iter().map(|d| d.queued).collect();
            queues.sort_unstable();
            let Some(top) = s.subscriptions.iter().max_by_key(|d| d.queued) else {
                continue;
            };
            let median = queues[(queues.len() - 1) / 2].max(1);
            if top.queued >= 100 && top.queued >= 10 * median {
                found.push(Finding {
                    kind: self.kind(),
                    stage: top.subscriber.clone(),
                    summary: format!(
                        "{}'s partition at {} holds {} events, {}× the median: it is sent more \
                         than its share, or handles its share slower",
                        top.subscriber,
                        s.name,
                        crate::observe::format::thousands(top.queued),
                        top.queued / median
                    ),
                });
            }
        }
        found
    }
}

/// Runs every check once a second over the last [`Diagnoser::WINDOW_SECS`] and dates the
/// findings.
pub struct Diagnoser {
    checks: Vec<Box<dyn Check>>,
    /// Findings that hold now, by (kind, stage).
    active: HashMap<(DiagnosisKind, String), usize>,
    /// Every diagnosis found so far, in the order found.
    history: Vec<Diagnosis>,
}

impl std::fmt::Debug for Diagnoser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diagnoser")
            .field("checks", &self.checks.len())
            .field("history", &self.history)
            .finish()
    }
}

impl Default for Diagnoser {
    fn default() -> Self {
        Self::new(vec![
            Box::new(MailboxGrowth),
            Box::new(Bottleneck),
            Box::new(Starved),
            Box::new(SmallDemand),
            Box::new(PartitionSkew),
        ])
    }
}

impl Diagnoser {
    /// Seconds of the run each evaluation looks at.
    pub const WINDOW_SECS: f64 = 2.0;

    /// A diagnoser running `checks`.
    pub fn new(checks: Vec<Box<dyn Check>>) -> Self {
        Self {
            checks,
            active: HashMap::new(),
            history: Vec::new(),
        }
    }

    /// Runs `check` too, after the others.
    pub fn add(&mut self, check: Box<dyn Check>) {
        self.checks.push(check);
    }

    /// Runs every check over `window` at `t` (seconds since the start): new findings start,
    /// findings no longer found end.
    pub fn update(&mut self, t: f64, window: &Window) {
        let mut found: HashMap<(DiagnosisKind, String), Finding> = HashMap::new();
        for c in &self.checks {
            for f in c.check(window) {
                found.insert((f.kind, f.stage.clone()), f);
            }
        }
        let ms = t * 1e3;
        self.active.retain(|key, &mut i| {
            let holds = found.contains_key(key);
            if !holds {
                self.history[i].until_ms = Some(ms);
            }
            holds
        });
        for (key, f) in found {
            match self.active.get(&key) {
                Some(&i) => self.history[i].summary = f.summary,
                None => {
                    self.active.insert(key, self.history.len());
                    self.history.push(Diagnosis {
                        kind: f.kind,
                        stage: f.stage,
                        summary: f.summary,
                        since_ms: ms,
                        until_ms: None,
                    });
                }
            }
        }
    }

    /// Every diagnosis found so far (those still holding have no `until_ms`).
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        self.history.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_stage_fed_by_a_backpressured_one_is_the_bottleneck() {
        let stage = |name: &str, upstream: Vec<usize>, time: TimeShares| StageWindow {
            name: name.into(),
            upstream,
            time,
            ..StageWindow::default()
        };
        let window = Window {
            stages: vec![
                stage(
                    "reader",
                    vec![],
                    TimeShares {
                        backpressured: 0.95,
                        ..TimeShares::default()
                    },
                ),
                stage(
                    "parser",
                    vec![0],
                    TimeShares {
                        busy: 0.97,
                        ..TimeShares::default()
                    },
                ),
            ],
            ..Window::default()
        };
        let found = Bottleneck.check(&window);
        assert_eq!(found[0].stage, "parser");
    }

    fn stage(name: &str, upstream: Vec<usize>) -> StageWindow {
        StageWindow {
            name: name.into(),
            upstream,
            ..StageWindow::default()
        }
    }

    fn pipeline() -> Window {
        Window {
            stages: vec![
                stage("reader", vec![]),
                stage("extractor 1", vec![0]),
                stage("counter 1", vec![1]),
            ],
            memory: Vec::new(),
            memory_limit: None,
            max_demand: Some(10),
        }
    }

    fn kinds(check: &dyn Check, w: &Window) -> Vec<String> {
        check.check(w).into_iter().map(|f| f.stage).collect()
    }

    #[test]
    fn mailbox_growth_names_a_growing_mailbox_and_projects_the_limit() {
        let mut w = pipeline();
        w.stages[1].mailbox = (0..=20)
            .map(|i| (i as f64 * 0.1, i as f64 * 500.0))
            .collect();
        w.stages[2].mailbox = (0..=20).map(|i| (i as f64 * 0.1, 5.0)).collect();
        w.memory = (0..=20)
            .map(|i| (i as f64 * 0.1, 1e8 + i as f64 * 1e6))
            .collect();
        w.memory_limit = Some(2e8 as u64);
        let found = MailboxGrowth.check(&w);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].stage, "extractor 1");
        assert!(
            found[0].summary.contains("5,000 messages/s"),
            "{}",
            found[0].summary
        );
        // 80 MB left at 10 MB/s.
        assert!(found[0].summary.contains("in 8 s"), "{}", found[0].summary);
        // A bounded mailbox that goes up and down is not growth.
        let mut w = pipeline();
        w.stages[1].mailbox = (0..=20)
            .map(|i| (i as f64 * 0.1, if i % 2 == 0 { 10.0 } else { 2000.0 }))
            .collect();
        assert!(MailboxGrowth.check(&w).is_empty());
    }

    #[test]
    fn bottleneck_needs_a_busy_stage_and_a_waiting_upstream() {
        let mut w = pipeline();
        w.stages[0].time.backpressured = 0.95;
        w.stages[1].time.sleeping = 0.97;
        w.stages[2].time.idle = 0.99;
        assert_eq!(kinds(&Bottleneck, &w), ["extractor 1"]);
        // The same stage, but its upstream keeps sending: no bottleneck to name.
        w.stages[0].time.backpressured = 0.1;
        w.stages[0].time.busy = 0.9;
        assert!(kinds(&Bottleneck, &w).is_empty());
    }

    #[test]
    fn starved_needs_an_idle_stage_behind_busy_ones() {
        let mut w = pipeline();
        w.stages[1].time.busy = 0.95;
        w.stages[2].time.idle = 0.9;
        assert_eq!(kinds(&Starved, &w), ["counter 1"]);
        w.stages[1].time.busy = 0.5;
        assert!(kinds(&Starved, &w).is_empty());
    }

    #[test]
    fn small_demand_needs_many_small_hand_offs() {
        let mut w = pipeline();
        w.stages[1].messages_per_s = 100_000.0;
        w.stages[1].events_per_s = 500_000.0;
        let found = SmallDemand.check(&w);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].summary.contains("max_demand (now 10)"),
            "{}",
            found[0].summary
        );
        // A stage fed through a channel of the program's is not told about max_demand.
        w.stages[1].fed_by_channel = true;
        let found = SmallDemand.check(&w);
        assert!(
            found[0].summary.ends_with("send events in batches"),
            "{}",
            found[0].summary
        );
        w.stages[1].events_per_s = 5_000_000.0;
        assert!(SmallDemand.check(&w).is_empty());
    }

    #[test]
    fn partition_skew_names_the_crowded_partition() {
        let mut w = pipeline();
        let sub = |name: &str, queued| SubscriptionDemand {
            subscriber: name.into(),
            outstanding: 0,
            queued,
        };
        w.stages[1].subscriptions = vec![sub("a", 5000), sub("b", 100), sub("c", 120)];
        assert_eq!(kinds(&PartitionSkew, &w), ["a"]);
        w.stages[1].subscriptions = vec![sub("a", 150), sub("b", 0), sub("c", 2)];
        assert_eq!(kinds(&PartitionSkew, &w), ["a"]);
        w.stages[1].subscriptions = vec![sub("a", 5000), sub("b", 4000), sub("c", 4500)];
        assert!(kinds(&PartitionSkew, &w).is_empty());
        w.stages[1].subscriptions = vec![sub("a", 60), sub("b", 0), sub("c", 0)];
        assert!(kinds(&PartitionSkew, &w).is_empty());
    }

    #[test]
    fn the_diagnoser_dates_findings_and_ends_them() {
        let mut d = Diagnoser::default();
        let mut w = pipeline();
        w.stages[0].time.backpressured = 0.95;
        w.stages[1].time.busy = 0.95;
        d.update(1.0, &w);
        d.update(2.0, &w);
        w.stages[1].time.busy = 0.2;
        d.update(3.0, &w);
        let all = d.diagnoses();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].kind, DiagnosisKind::Bottleneck);
        assert_eq!((all[0].since_ms, all[0].until_ms), (1000.0, Some(3000.0)));
    }

    #[test]
    fn upstream_links_come_from_subscriptions_or_the_stage_kinds() {
        let info = |name: &str, kind, subs: &[&str]| StageInfo {
            name: name.into(),
            kind,
            subscriptions: subs
                .iter()
                .map(|s| SubscriptionDemand {
                    subscriber: s.to_string(),
                    outstanding: 0,
                    queued: 0,
                })
                .collect(),
        };
        let stages = [
            info("reader", StageKind::Producer, &["x"]),
            info("x", StageKind::Consumer, &[]),
            info("y", StageKind::Consumer, &[]),
        ];
        let w = Window::from_rows(&[], &[], &stages, None, None);
        assert_eq!(w.stages[1].upstream, [0]);
        assert!(w.stages[2].upstream.is_empty());
        // `y` is fed by something else than a subscription: a channel of the program's.
        let fed: Vec<bool> = w.stages.iter().map(|s| s.fed_by_channel).collect();
        assert_eq!(fed, [false, false, true]);
        let stages = [
            info("reader", StageKind::Producer, &[]),
            info("x", StageKind::ProducerConsumer, &[]),
            info("y", StageKind::Consumer, &[]),
            info("z", StageKind::Consumer, &[]),
        ];
        let w = Window::from_rows(&[], &[], &stages, None, None);
        assert_eq!(w.stages[1].upstream, [0]);
        assert_eq!(w.stages[3].upstream, [1]);
        assert!(w.stages.iter().all(|s| !s.fed_by_channel));
    }
}
