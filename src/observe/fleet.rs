//! Fleets: the profiled programs a Prometheus server scrapes, read back through its HTTP API
//! (`query_range`) into one recording, so every view shows them. Each program's stages are
//! named `instance/stage` and grouped under their instance; busy / backpressured / idle come
//! from `rate()` of the counters the programs serve ([`crate::observe::metrics`]); the
//! diagnoses run across the fleet, with one only a fleet has: one instance holding most of the
//! queue of a stage every instance runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::borrow::Cow;

use serde::Deserialize;

use super::diagnosis::{Check, Diagnoser, DiagnosisKind, Finding, StageInfo, Window};
use super::error::Error;
use super::recording::Recording;
use super::run::{RunReport, StageReport};
use super::series::{self, Row, StageMetric};
use super::timeline::Timeline;
use crate::runtime::probe::{StageKind, StageSnapshot, StageState, StateTimes, SubscriptionDemand};

/// The key of the stage's peak queued bytes among the totals.
const PEAK_QUEUED: &str = "peak queued bytes";
/// How far back a fleet is read unless told.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(15 * 60);
/// Points per series asked for at most: past it the step grows with the range, which keeps a
/// large fleet's answer small enough to read at once.
const MAX_POINTS: f64 = 240.0;
/// How long one query may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (bytes).
const MAX_ANSWER: u64 = 1 << 30;
/// The scrape interval assumed when Prometheus does not say (its own default).
const DEFAULT_SCRAPE_S: f64 = 15.0;
/// Times the diagnoses are run over a fleet's range at most (each over its own window).
const DIAGNOSES_RUNS: usize = 40;

/// Which programs to read from which Prometheus, over how long.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetQuery {
    /// Prometheus's address: `http://host:9090` (a bare `host:port` gets `http://`).
    pub url: String,
    /// How far back from now.
    pub since: Duration,
    /// Label matchers every series must match, in PromQL without the braces (`job="sales"`);
    /// empty for every palavriado program Prometheus scrapes.
    pub matchers: String,
    /// Time between points; `None` picks it from the scrape interval and the range.
    pub step: Option<Duration>,
}

impl FleetQuery {
    /// Every palavriado program `url`'s Prometheus scraped over the last 15 minutes.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            since: DEFAULT_SINCE,
            matchers: String::new(),
            step: None,
        }
    }

    /// Reads the last `since` instead.
    pub fn since(mut self, since: Duration) -> Self {
        self.since = since;
        self
    }

    /// Keeps only the series matching `matchers` (PromQL, without braces: `job="sales"`).
    pub fn matching(mut self, matchers: impl Into<String>) -> Self {
        self.matchers = matchers.into();
        self
    }

    /// Reads the fleet: every matching program's stages over the range, charted, with the
    /// diagnoses found across it, as a recording (which opens, shows and saves like a run's).
    /// Errors are one line naming Prometheus's address and what to do.
    pub fn load(&self) -> Result<Recording, Error> {
        let prometheus = Prometheus::new(&self.url)?;
        let end = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let since = self.since.as_secs_f64().max(1.0);
        let scrape = prometheus.scrape_interval()?;
        let step = self.step.map_or_else(
            || scrape.max(since / MAX_POINTS).ceil(),
            |s| s.as_secs_f64().max(0.001),
        );
        // A rate needs two scrapes in its window; four keep it steady.
        let window_ms = ((4.0 * scrape).max(2.0 * step) * 1e3).round() as u64;
        // On whole steps: Prometheus writes whole-second times, and answers of the same range
        // agree point for point.
        let end = (end / step).floor() * step;
        let range = Range {
            start: end - (since / step).floor() * step,
            end,
            step,
        };
        let m = if self.matchers.trim().is_empty() {
            String::new()
        } else {
            format!("{{{}}}", self.matchers.trim())
        };
        let rate = |metric: &str, scale: &str| format!("rate({metric}{m}[{window_ms}ms]){scale}");
        let charted: Vec<(StageMetric, String)> = vec![
            (
                StageMetric::BusyPerS,
                rate("palavriado_stage_busy_seconds_total", " * 1000"),
            ),
            (
                StageMetric::BackpressuredPerS,
                rate("palavriado_stage_backpressured_seconds_total", " * 1000"),
            ),
            (
                StageMetric::IdlePerS,
                rate("palavriado_stage_idle_seconds_total", " * 1000"),
            ),
            (
                StageMetric::SleepingPerS,
                rate("palavriado_stage_delay_seconds_total", " * 1000"),
            ),
            (
                StageMetric::InPerS,
                rate("palavriado_stage_events_in_total", ""),
            ),
            (
                StageMetric::Msgq,
                format!("palavriado_stage_mailbox_messages{m}"),
            ),
        ];
        let totals = totals_queries(&m, since, false);
        let memory = format!("sum by (instance) (palavriado_process_resident_memory_bytes{m})");

        // Every query at once: Prometheus answers them in parallel.
        let (charted_answers, total_answers, memory_answer) = std::thread::scope(|scope| {
            let charted: Vec<_> = charted
                .iter()
                .map(|(_, q)| scope.spawn(|| prometheus.range(q, &range)))
                .collect();
            let totals: Vec<_> = totals
                .iter()
                .map(|(_, q)| scope.spawn(|| prometheus.instant(q, end)))
                .collect();
            let memory = scope.spawn(|| prometheus.range(&memory, &range));
            let join = |h: std::thread::ScopedJoinHandle<'_, Result<Vec<Series>, Error>>| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Fleet("a query thread failed".into())))
            };
            (
                charted.into_iter().map(join).collect::<Vec<_>>(),
                totals.into_iter().map(join).collect::<Vec<_>>(),
                join(memory),
            )
        });
        let mut fleet = FleetBuilder::new(range);
        for ((metric, _), answer) in charted.iter().zip(charted_answers) {
            for s in answer? {
                if let Some(stage) = fleet.stage(&s.metric) {
                    fleet.chart(&series::stage(&stage, *metric), &s.values);
                }
            }
        }
        for s in memory_answer? {
            fleet.chart(series::RSS, &[]);
            fleet.add_to(series::RSS, &s.values);
        }
        fleet.totals(&totals, total_answers)?;
        // A program that ended (its series gone stale) has no value now: its last in the range.
        let ended: Vec<String> = fleet.without_totals();
        if !ended.is_empty() {
            let instances = ended
                .iter()
                .map(|i| promql_regex_escaped(i))
                .collect::<Vec<_>>()
                .join("|");
            let matchers = [self.matchers.trim(), &format!("instance=~\"{instances}\"")]
                .iter()
                .filter(|x| !x.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let lookback = totals_queries(&format!("{{{matchers}}}"), since, true);
            let answers = std::thread::scope(|scope| {
                let asked: Vec<_> = lookback
                    .iter()
                    .map(|(_, q)| scope.spawn(|| prometheus.instant(q, end)))
                    .collect();
                asked
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(Error::Fleet("a query thread failed".into())))
                    })
                    .collect::<Vec<_>>()
            });
            fleet.totals(&lookback, answers)?;
        }
        if fleet.stages.is_empty() {
            let matching = if m.is_empty() {
                String::new()
            } else {
                format!(" matching {m}")
            };
            return Err(Error::Fleet(format!(
                "Prometheus at '{}' has no palavriado stage series{matching} in the last {} \
                 (is it scraping the programs' --metrics addresses?)",
                prometheus.base,
                span_text(self.since)
            )));
        }
        Ok(fleet.finish(&prometheus.base))
    }
}

/// The queries of each stage's totals over `selector` (`{…}` or empty) at the end: each
/// metric's value then (with `lookback`, its last in the range: for programs that ended), and
/// the queue's peak in the range. Each with its key for [`FleetBuilder::total`].
fn totals_queries(selector: &str, since: f64, lookback: bool) -> Vec<(&'static str, String)> {
    let range = format!("[{}s]", since.ceil());
    let mut queries: Vec<(&'static str, String)> = [
        "palavriado_stage_events_in_total",
        "palavriado_stage_events_out_total",
        "palavriado_stage_busy_seconds_total",
        "palavriado_stage_backpressured_seconds_total",
        "palavriado_stage_idle_seconds_total",
        "palavriado_stage_delay_seconds_total",
        "palavriado_channel_capacity",
        "palavriado_stage_link",
        "palavriado_stage_queued_bytes",
    ]
    .into_iter()
    .map(|metric| {
        let q = if lookback {
            format!("last_over_time({metric}{selector}{range})")
        } else {
            format!("{metric}{selector}")
        };
        (metric, q)
    })
    .collect();
    if !lookback {
        queries.push((
            PEAK_QUEUED,
            format!("max_over_time(palavriado_stage_queued_bytes{selector}{range})"),
        ));
    }
    queries
}

/// `text` matched literally in a PromQL regular expression (inside a double-quoted string).
fn promql_regex_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if ".+*?()|[]{}^$\\".contains(c) {
            out.push_str("\\\\");
        } else if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A query's time grid (Unix seconds).
#[derive(Clone, Copy, Debug)]
struct Range {
    start: f64,
    end: f64,
    step: f64,
}

impl Range {
    /// Points on the grid.
    fn points(&self) -> usize {
        // (A hair over, so a range of whole steps keeps its last point.)
        ((self.end - self.start) / self.step + 1e-6).floor() as usize + 1
    }

    /// The grid point nearest Unix time `t`.
    fn index(&self, t: f64) -> Option<usize> {
        let i = ((t - self.start) / self.step).round();
        (i >= 0.0 && (i as usize) < self.points()).then_some(i as usize)
    }
}

/// Prometheus's answer: `status`, then `data` or the error.
#[derive(Deserialize)]
struct Answer<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

/// A query's result, read in place from the answer (a large fleet's answers hold millions of
/// points: none gets a string of its own).
#[derive(serde::Deserialize)]
struct QueryData<'a> {
    #[serde(borrow)]
    result: Vec<RawSeries<'a>>,
}

/// One series of a result as Prometheus writes it: its labels, and its points (a range query)
/// or its value (instant), each value a string.
#[derive(serde::Deserialize)]
struct RawSeries<'a> {
    #[serde(borrow)]
    metric: HashMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(borrow, default)]
    values: Vec<(f64, Cow<'a, str>)>,
    #[serde(borrow, default)]
    value: Option<(f64, Cow<'a, str>)>,
}

/// One series of a result: its labels and its points (one, for an instant query).
struct Series {
    metric: HashMap<String, String>,
    values: Vec<(f64, f64)>,
}

impl From<RawSeries<'_>> for Series {
    fn from(raw: RawSeries<'_>) -> Self {
        Series {
            metric: raw
                .metric
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            values: raw
                .values
                .iter()
                .chain(&raw.value)
                .map(|(t, v)| (*t, parse_value(v)))
                .collect(),
        }
    }
}

/// What `/api/v1/targets` says of the targets it scrapes.
#[derive(serde::Deserialize)]
struct Targets {
    #[serde(rename = "activeTargets", default)]
    active: Vec<Target>,
}

#[derive(serde::Deserialize)]
struct Target {
    #[serde(rename = "scrapeInterval", default)]
    scrape_interval: Option<String>,
}

/// A sample value as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`).
fn parse_value(v: &str) -> f64 {
    v.parse().unwrap_or(f64::NAN)
}

/// Prometheus's HTTP API at one address.
struct Prometheus {
    base: String,
    agent: ureq::Agent,
}

impl Prometheus {
    fn new(url: &str) -> Result<Self, Error> {
        let url = url.trim().trim_end_matches('/');
        let base = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        if !base.starts_with("http://") {
            return Err(Error::Fleet(format!(
                "cannot read Prometheus at '{url}': only http:// addresses are read (put a \
                 local proxy in front of an https one)"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self { base, agent })
    }

    /// `path`'s answer to `params`, read by `take` (in place: a large fleet's answers hold
    /// millions of points), or a one-line error saying what went wrong where.
    fn get<T>(
        &self,
        path: &str,
        params: &[(&str, String)],
        take: impl for<'a> FnOnce(&'a str) -> Result<Answer<T>, serde_json::Error>,
    ) -> Result<T, Error> {
        let what = params
            .iter()
            .find(|(k, _)| *k == "query")
            .map_or_else(|| path.to_string(), |(_, q)| format!("the query `{q}`"));
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in params {
            request = request.query(*k, v);
        }
        let mut response = request.call().map_err(|e| {
            Error::Fleet(format!(
                "cannot reach Prometheus at '{}': {e} (is it running? give its address, e.g. \
                 --prometheus http://127.0.0.1:9090)",
                self.base
            ))
        })?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| {
                Error::Fleet(format!(
                    "cannot read Prometheus's answer at '{}' to {what}: {e}",
                    self.base
                ))
            })?;
        let answer = take(&body).map_err(|_| {
            Error::Fleet(format!(
                "'{}' does not answer as Prometheus does ({status} to {path}); is it \
                 Prometheus's address?",
                self.base
            ))
        })?;
        match (answer.status.as_str(), answer.data) {
            ("success", Some(data)) => Ok(data),
            _ => Err(Error::Fleet(format!(
                "Prometheus at '{}' refused {what}: {}",
                self.base,
                answer.error.unwrap_or_else(|| status.to_string())
            ))),
        }
    }

    /// A query's series (`/api/v1/query_range` or `/api/v1/query`).
    fn series(&self, path: &str, params: &[(&str, String)]) -> Result<Vec<Series>, Error> {
        self.get(path, params, |body| {
            let raw: Answer<QueryData<'_>> = serde_json::from_str(body)?;
            Ok(Answer {
                status: raw.status,
                error: raw.error,
                data: raw
                    .data
                    .map(|d| d.result.into_iter().map(Series::from).collect()),
            })
        })
    }

    /// The shortest scrape interval of its active targets (s), or Prometheus's default.
    fn scrape_interval(&self) -> Result<f64, Error> {
        let targets: Targets =
            self.get("/api/v1/targets", &[("state", "active".into())], |body| {
                serde_json::from_str(body)
            })?;
        Ok(targets
            .active
            .iter()
            .filter_map(|t| parse_span(t.scrape_interval.as_deref()?).ok())
            .map(|d| d.as_secs_f64())
            .filter(|&s| s > 0.0)
            .reduce(f64::min)
            .unwrap_or(DEFAULT_SCRAPE_S))
    }

    fn range(&self, query: &str, r: &Range) -> Result<Vec<Series>, Error> {
        self.series(
            "/api/v1/query_range",
            &[
                ("query", query.to_string()),
                ("start", format!("{}", r.start)),
                ("end", format!("{}", r.end)),
                ("step", format!("{}", r.step)),
            ],
        )
    }

    fn instant(&self, query: &str, at: f64) -> Result<Vec<Series>, Error> {
        self.series(
            "/api/v1/query",
            &[("query", query.to_string()), ("time", format!("{at:.3}"))],
        )
    }
}

/// One stage of the fleet as its totals describe it.
#[derive(Debug, Default)]
struct FleetStage {
    /// Its instance (the program it belongs to).
    instance: String,
    /// Its name in its program.
    name: String,
    /// The `program` label.
    program: String,
    kind: Option<StageKind>,
    events_in: u64,
    events_out: u64,
    times: StateTimes,
    capacity: Option<u64>,
    /// Bytes waiting in it at the end.
    queued_bytes: u64,
    /// The most bytes waiting in it in the range.
    peak_bytes: u64,
    /// Its totals came (its program's series are not stale).
    has_totals: bool,
    /// Qualified names of what it sends to.
    feeds: Vec<String>,
}

/// Gathers the answers into one timeline and the stages' totals.
struct FleetBuilder {
    range: Range,
    /// Series name → one value per grid point.
    columns: BTreeMap<String, Vec<f64>>,
    /// Qualified stage name → its totals.
    stages: BTreeMap<String, FleetStage>,
}

impl FleetBuilder {
    fn new(range: Range) -> Self {
        Self {
            range,
            columns: BTreeMap::new(),
            stages: BTreeMap::new(),
        }
    }

    /// The qualified name (`instance/stage`) of the stage `labels` name, noting it.
    fn stage(&mut self, labels: &HashMap<String, String>) -> Option<String> {
        let name = labels.get("stage")?;
        let program = labels.get("program").cloned().unwrap_or_default();
        let instance = labels
            .get("instance")
            .cloned()
            .unwrap_or_else(|| program.clone());
        let qualified = format!("{instance}/{name}");
        let s = self.stages.entry(qualified.clone()).or_default();
        if s.name.is_empty() {
            s.instance = instance;
            s.name = name.clone();
            s.program = program;
        }
        if s.kind.is_none() {
            s.kind = labels.get("kind").and_then(|k| StageKind::from_label(k));
        }
        Some(qualified)
    }

    /// `values` as series `name` (created if new).
    fn chart(&mut self, name: &str, values: &[(f64, f64)]) {
        let points = self.range.points();
        let column = self
            .columns
            .entry(name.to_string())
            .or_insert_with(|| vec![f64::NAN; points]);
        for (t, v) in values {
            if let Some(i) = self.range.index(*t) {
                column[i] = *v;
            }
        }
    }

    /// Adds `values` into series `name` (a fleet's total of a per-program series).
    fn add_to(&mut self, name: &str, values: &[(f64, f64)]) {
        if let Some(column) = self.columns.get_mut(name) {
            for (t, v) in values {
                if let Some(i) = self.range.index(*t) {
                    column[i] = if column[i].is_nan() {
                        *v
                    } else {
                        column[i] + v
                    };
                }
            }
        }
    }

    /// The totals' answers, each for its key.
    fn totals(
        &mut self,
        queries: &[(&'static str, String)],
        answers: Vec<Result<Vec<Series>, Error>>,
    ) -> Result<(), Error> {
        for ((key, _), answer) in queries.iter().zip(answers) {
            for s in answer? {
                let Some(stage) = self.stage(&s.metric) else {
                    continue;
                };
                let v = s.values.last().map_or(f64::NAN, |(_, v)| *v);
                self.total(&stage, key, v, &s.metric);
            }
        }
        Ok(())
    }

    /// The instances none of whose stages has totals yet (their programs ended).
    fn without_totals(&self) -> Vec<String> {
        let with: std::collections::HashSet<&str> = self
            .stages
            .values()
            .filter(|s| s.has_totals)
            .map(|s| s.instance.as_str())
            .collect();
        let mut ended: Vec<String> = self
            .stages
            .values()
            .filter(|s| !with.contains(s.instance.as_str()))
            .map(|s| s.instance.clone())
            .collect();
        ended.dedup();
        ended
    }

    /// Stage `qualified`'s last value of `metric`.
    fn total(&mut self, qualified: &str, metric: &str, v: f64, labels: &HashMap<String, String>) {
        let instance = self.stages[qualified].instance.clone();
        let s = self.stages.get_mut(qualified).expect("noted by stage()");
        s.has_totals |= metric == "palavriado_stage_events_in_total";
        let (count, ns) = if v.is_finite() && v > 0.0 {
            (v.round() as u64, (v * 1e9).round() as u64)
        } else {
            (0, 0)
        };
        match metric {
            "palavriado_stage_events_in_total" => s.events_in = count,
            "palavriado_stage_events_out_total" => s.events_out = count,
            "palavriado_stage_busy_seconds_total" => s.times.busy_ns = ns,
            "palavriado_stage_backpressured_seconds_total" => s.times.backpressured_ns = ns,
            "palavriado_stage_idle_seconds_total" => s.times.idle_ns = ns,
            "palavriado_stage_delay_seconds_total" => s.times.sleeping_ns = ns,
            "palavriado_channel_capacity" => s.capacity = Some(count),
            "palavriado_stage_queued_bytes" => s.queued_bytes = count,
            PEAK_QUEUED => s.peak_bytes = count,
            "palavriado_stage_link" => {
                if let Some(to) = labels.get("to") {
                    s.feeds.push(format!("{instance}/{to}"));
                }
            }
            _ => {}
        }
    }

    /// The recording of the fleet: its timeline, stages, diagnoses and report.
    fn finish(self, base: &str) -> Recording {
        let FleetBuilder {
            range,
            columns,
            mut stages,
        } = self;
        // Grid points before the first value of any series are before the fleet was seen.
        let points = range.points();
        let first = (0..points)
            .find(|&i| {
                columns
                    .values()
                    .any(|c| !c.get(i).is_none_or(|v| v.is_nan()))
            })
            .unwrap_or(0);
        let timeline = Timeline::new(points.max(1));
        let names: Vec<&String> = columns.keys().collect();
        for n in &names {
            timeline.column(n);
        }
        let column_of: Vec<&Vec<f64>> = columns.values().collect();
        let mut rows = Vec::with_capacity(points - first);
        for i in first..points {
            let row = Row {
                t: (i - first) as f64 * range.step,
                values: column_of.iter().map(|c| c[i]).collect(),
            };
            timeline.push(row.clone());
            rows.push(row);
        }
        let names: Vec<String> = names.into_iter().cloned().collect();
        // A link to a stage Prometheus did not return is not drawn.
        let known: Vec<String> = stages.keys().cloned().collect();
        for s in stages.values_mut() {
            s.feeds.retain(|f| known.binary_search(f).is_ok());
            s.feeds.sort();
            s.feeds.dedup();
        }
        let infos: Vec<StageInfo> = stages
            .iter()
            .map(|(q, s)| StageInfo {
                name: q.clone(),
                kind: s.kind.unwrap_or(StageKind::ProducerConsumer),
                subscriptions: s
                    .feeds
                    .iter()
                    .map(|to| SubscriptionDemand {
                        subscriber: to.clone(),
                        outstanding: 0,
                        queued: 0,
                    })
                    .collect(),
            })
            .collect();
        let diagnoses = diagnose(&names, &rows, &infos, &stages, range.step);
        timeline.set_diagnoses(diagnoses.clone());
        let column = |q: &str, metric| columns.get(&series::stage(q, metric));
        let peak = |q: &str, metric| {
            column(q, metric).map_or(0, |c| {
                c.iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .fold(0.0, f64::max) as u64
            })
        };
        let latest = |q: &str, metric| {
            column(q, metric).map_or(0, |c| {
                c.iter()
                    .rev()
                    .copied()
                    .find(|v| v.is_finite())
                    .unwrap_or(0.0) as u64
            })
        };
        let mut snapshots = Vec::with_capacity(stages.len());
        for (q, s) in &stages {
            let kind = s.kind.unwrap_or(StageKind::ProducerConsumer);
            snapshots.push(StageSnapshot {
                name: q.clone(),
                kind,
                capacity: s.capacity,
                mailbox_messages: latest(q, StageMetric::Msgq),
                mailbox_events: 0,
                queued_bytes: s.queued_bytes,
                events_in: s.events_in,
                events_out: s.events_out,
                buffered: 0,
                demand: 0,
                state: StageState::Done,
                max_mailbox: peak(q, StageMetric::Msgq),
                tid: 0,
                busy_ns: 0,
                polls: 0,
                sched_wait_ns: 0,
                times: s.times,
                peak_bytes: s.peak_bytes,
                feeds: s.feeds.clone(),
                program: Some(if s.program.is_empty() {
                    s.instance.clone()
                } else {
                    format!("{} on {}", s.program, s.instance)
                }),
                task: None,
            });
        }
        let reports = snapshots
            .iter()
            .map(|s| StageReport::from_snapshot(s.clone(), None))
            .collect();
        let instances = {
            let mut v: Vec<&str> = stages.values().map(|s| s.instance.as_str()).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        let wall = Duration::from_secs_f64((points - first).saturating_sub(1) as f64 * range.step);
        let report = RunReport::of_fleet(
            format!(
                "fleet of {instances} program{} from {base}",
                if instances == 1 { "" } else { "s" }
            ),
            reports,
            Arc::new(timeline),
            wall,
            diagnoses,
        );
        let hz = (1.0 / range.step).round().max(1.0) as u32;
        Recording::new(Arc::new(report), snapshots, hz, None)
    }
}

/// The diagnoses over the fleet's range: every check, each time over the window before it.
fn diagnose(
    names: &[String],
    rows: &[Row],
    infos: &[StageInfo],
    stages: &BTreeMap<String, FleetStage>,
    step: f64,
) -> Vec<crate::observe::diagnosis::Diagnosis> {
    let mut diagnoser = Diagnoser::default();
    diagnoser.add(Box::new(FleetSkew::new(stages)));
    // Enough points for a trend in each window.
    let span = Diagnoser::WINDOW_SECS.max(4.0 * step);
    let per = (span / step).ceil() as usize;
    if rows.len() < 2 {
        return Vec::new();
    }
    let stride = (rows.len() / DIAGNOSES_RUNS).max(1);
    let mut end = per.min(rows.len());
    let started = Instant::now();
    loop {
        let from = end.saturating_sub(per + 1);
        let window = Window::from_rows(names, &rows[from..end], infos, None, None);
        diagnoser.update(rows[end - 1].t, &window);
        if end == rows.len() || started.elapsed() > TIMEOUT {
            break;
        }
        end = (end + stride).min(rows.len());
    }
    diagnoser.diagnoses()
}

/// `partition_skew` across a fleet: of the instances running a stage of the same name, one
/// holds at least half of their queue and twice its share (90 % of two), of 10 messages or
/// more.
struct FleetSkew {
    /// Qualified name → (the stage's name in its program, its instance).
    of: HashMap<String, (String, String)>,
}

impl FleetSkew {
    fn new(stages: &BTreeMap<String, FleetStage>) -> Self {
        Self {
            of: stages
                .iter()
                .map(|(q, s)| (q.clone(), (s.name.clone(), s.instance.clone())))
                .collect(),
        }
    }
}

impl Check for FleetSkew {
    fn kind(&self) -> DiagnosisKind {
        DiagnosisKind::PartitionSkew
    }

    fn check(&self, w: &Window) -> Vec<Finding> {
        let mut by_name: HashMap<&str, Vec<(&str, &str, f64)>> = HashMap::new();
        for s in &w.stages {
            let Some((name, instance)) = self.of.get(&s.name) else {
                continue;
            };
            let mean = if s.mailbox.is_empty() {
                0.0
            } else {
                s.mailbox.iter().map(|(_, v)| v).sum::<f64>() / s.mailbox.len() as f64
            };
            by_name
                .entry(name)
                .or_default()
                .push((s.name.as_str(), instance, mean));
        }
        let mut found = Vec::new();
        for (name, members) in by_name {
            let n = members.len();
            let total: f64 = members.iter().map(|m| m.2).sum();
            if n < 2 || total < 10.0 {
                continue;
            }
            let (qualified, instance, most) = members
                .iter()
                .copied()
                .max_by(|a, b| a.2.total_cmp(&b.2))
                .expect("two or more");
            let share = most / total;
            if share >= (2.0 / n as f64).clamp(0.5, 0.9) {
                found.push(Finding {
                    kind: self.kind(),
                    stage: qualified.to_string(),
                    summary: format!(
                        "{name} on {instance} holds {:.0} % of the queue of the fleet's {n} \
                         '{name}' ({most:.0} of {total:.0} messages on average): its \
                         instance is slower or gets more",
                        share * 100.0
                    ),
                });
            }
        }
        found
    }
}

/// `90s`, `15m`, `1h30m`, `2d` (Prometheus's units: ms, s, m, h, d, w, y) or plain seconds.
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(s) = t.parse::<f64>() {
        return (s.is_finite() && s >= 0.0)
            .then(|| Duration::from_secs_f64(s))
            .ok_or_else(|| format!("'{text}' is not a duration"));
    }
    let bad = || format!("'{text}' is not a duration: use e.g. 90s, 15m, 1h30m or 2d");
    let mut total = 0.0;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return Err(bad()),
        };
        total += n * seconds;
        rest = &rest[unit..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// A span as it was likely typed: `15m`, `90s`, `2h`.
fn span_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{}s", s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_prometheus_writes_them() {
        assert_eq!(parse_span("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_span("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_span("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_span("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_span("15 minutes").unwrap_err().contains("15m"));
        assert!(parse_span("").is_err());
        assert!(parse_span("-3").is_err());
        assert_eq!(span_text(Duration::from_secs(900)), "15m");
    }

    #[test]
    fn the_grid_places_prometheus_timestamps() {
        let r = Range {
            start: 100.0,
            end: 110.0,
            step: 2.0,
        };
        assert_eq!(r.points(), 6);
        assert_eq!(r.index(100.0), Some(0));
        assert_eq!(r.index(104.1), Some(2));
        assert_eq!(r.index(110.0), Some(5));
        assert_eq!(r.index(113.0), None);
        assert_eq!(r.index(90.0), None);
    }

    #[test]
    fn an_address_that_is_not_http_is_refused_in_one_line() {
        let e = FleetQuery::new("https://example.org").load().unwrap_err();
        assert!(matches!(e, Error::Fleet(_)));
        assert!(e.to_string().contains("only http://"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }
}
