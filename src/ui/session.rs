//! The app's runs, without any drawing: starts a run on background threads (opening or
//! generating the corpus there too), follows its live timeline, and keeps every finished run for
//! comparison. The UI thread only polls channels and reads snapshots, so it never waits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::control::RunControl;
use crate::corpus::Corpus;
use crate::diagnosis::Diagnosis;
use crate::probe::StageSnapshot;
use crate::probe::timeline::{Row, Timeline};
use crate::recording::Recording;
use crate::run::{MemoryLimit, Run, RunReport, RunSettings};

/// Which corpus to count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorpusChoice {
    /// The generated built-in corpus.
    Builtin,
    /// A folder or `.txt` file.
    Path(PathBuf),
}

impl CorpusChoice {
    /// A short name for menus.
    pub fn label(&self) -> String {
        match self {
            CorpusChoice::Builtin => "Built-in corpus (generated)".into(),
            CorpusChoice::Path(p) => p.display().to_string(),
        }
    }

    fn path(&self) -> Option<&std::path::Path> {
        match self {
            CorpusChoice::Builtin => None,
            CorpusChoice::Path(p) => Some(p),
        }
    }
}

/// What a corpus holds, found by a background scan.
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusInfo {
    /// Files found.
    pub files: usize,
    /// Bytes of one pass.
    pub bytes: u64,
    /// Lines of one pass.
    pub lines: u64,
}

/// A local copy of a run's timeline, grown incrementally each frame.
#[derive(Clone, Debug, Default)]
pub struct ChartData {
    /// Series names (column order).
    pub names: Vec<String>,
    /// Every row copied so far.
    pub rows: Vec<Row>,
    next_seq: u64,
}

impl ChartData {
    /// Data made of the given columns and rows.
    pub fn new(names: Vec<String>, rows: Vec<Row>) -> Self {
        Self {
            names,
            rows,
            next_seq: 0,
        }
    }

    /// Copies the rows of `timeline` not seen yet (a short read lock).
    pub fn refresh(&mut self, timeline: &Timeline) {
        let (rows, next) = timeline.rows_since(self.next_seq);
        if !rows.is_empty() {
            self.rows.extend(rows);
            self.names = timeline.names();
        }
        self.next_seq = next;
    }

    /// A complete copy of a finished timeline.
    pub fn from_timeline(timeline: &Timeline) -> Self {
        let mut d = Self::default();
        d.refresh(timeline);
        d
    }

    /// Column index of a series.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The newest value of a series.
    pub fn last(&self, name: &str) -> Option<f64> {
        let i = self.column(name)?;
        self.rows
            .iter()
            .rev()
            .map(|r| r.get(i))
            .find(|v| !v.is_nan())
    }

    /// How fast a cumulative series grew over about the last `window` seconds (per second):
    /// steadier than one sample's rate, which jumps with each stage's publishing step.
    pub fn rate_over(&self, name: &str, window: f64) -> Option<f64> {
        let i = self.column(name)?;
        let mut points = self
            .rows
            .iter()
            .rev()
            .map(|r| (r.t, r.get(i)))
            .filter(|(_, v)| !v.is_nan());
        let (t1, v1) = points.next()?;
        let (t0, v0) = points
            .take_while(|&(t, _)| t >= t1 - window)
            .last()
            .filter(|&(t, _)| t < t1)?;
        Some((v1 - v0) / (t1 - t0))
    }

    /// The mean of a series over about the last `window` seconds (NaN samples skipped).
    pub fn mean_over(&self, name: &str, window: f64) -> Option<f64> {
        let i = self.column(name)?;
        let end = self.rows.last()?.t;
        let (sum, n) = self
            .rows
            .iter()
            .rev()
            .take_while(|r| r.t > end - window)
            .map(|r| r.get(i))
            .filter(|v| !v.is_nan())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        (n > 0).then(|| sum / n as f64)
    }

    /// The mean rate of a cumulative series from the start until it reached its final value
    /// (per second): what a finished stage did, not its last sample's instantaneous rate.
    pub fn mean_rate_to_final(&self, name: &str) -> Option<f64> {
        let i = self.column(name)?;
        let last = self.last(name)?;
        let reached = self.rows.iter().find(|r| r.get(i) >= last).map(|r| r.t)?;
        (reached > 0.0).then(|| last / reached)
    }

    /// Time of the last sample (s).
    pub fn duration(&self) -> f64 {
        self.rows.last().map_or(0.0, |r| r.t)
    }
}

/// A run the app started.
pub struct RunEntry {
    /// 1-based number in this session.
    pub number: usize,
    /// Settings it ran with.
    pub settings: RunSettings,
    /// Corpus name.
    pub corpus: String,
    /// Corpus bytes of the run.
    pub total_bytes: u64,
    /// Where its stages and diagnoses come from: a live run or a recording.
    pub source: RunSource,
    /// Its live timeline.
    pub timeline: Arc<Timeline>,
    /// The local copy the charts draw.
    pub data: ChartData,
    /// The report, once finished.
    pub report: Option<Arc<RunReport>>,
}

/// Where a run's live parts come from.
pub enum RunSource {
    /// A run of this session: its control block (stop, delay, progress, stages).
    Live(Arc<RunControl>),
    /// A run opened from a recording: its stages at the end.
    Recorded {
        /// The file it came from.
        path: PathBuf,
        /// Each stage's counters at the end.
        stages: Vec<StageSnapshot>,
    },
}

impl RunEntry {
    /// True while its threads run.
    pub fn is_running(&self) -> bool {
        self.report.is_none()
    }

    /// Fraction of the corpus read (0–1).
    pub fn progress(&self) -> f64 {
        match &self.source {
            RunSource::Live(ctl) => {
                ctl.progress.bytes_read.load(Relaxed) as f64 / self.total_bytes.max(1) as f64
            }
            RunSource::Recorded { .. } => 1.0,
        }
    }

    /// Every stage's counters now (or at the end of a recorded run).
    pub fn stages(&self) -> Vec<StageSnapshot> {
        match &self.source {
            RunSource::Live(ctl) => ctl.stages().iter().map(|s| s.snapshot()).collect(),
            RunSource::Recorded { stages, .. } => stages.clone(),
        }
    }

    /// The simulated delay now (or at the end).
    pub fn delay(&self) -> Duration {
        match (&self.source, &self.report) {
            (RunSource::Live(ctl), _) => ctl.delay(),
            (_, Some(r)) => Duration::from_secs_f64(r.delay_ms / 1e3),
            (_, None) => Duration::ZERO,
        }
    }

    /// What the diagnoses say so far.
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        match (&self.source, &self.report) {
            (RunSource::Live(ctl), None) => ctl.diagnoses(),
            (_, Some(r)) => r.diagnoses.clone(),
            (_, None) => Vec::new(),
        }
    }

    /// The recording it was opened from, if it was.
    pub fn recorded_from(&self) -> Option<&Path> {
        match &self.source {
            RunSource::Recorded { path, .. } => Some(path),
            RunSource::Live(_) => None,
        }
    }

    /// A label like `#3 pull, delay 1 ms`.
    pub fn label(&self) -> String {
        let delay = self.delay();
        let delay = if delay.is_zero() {
            String::new()
        } else {
            format!(", delay {}", crate::format::delay(delay))
        };
        format!("#{} {}{delay}", self.number, self.settings.strategy)
    }
}

enum Event {
    Started {
        ctl: Arc<RunControl>,
        timeline: Arc<Timeline>,
        corpus: String,
        total_bytes: u64,
    },
    Failed(String),
    Finished(Box<RunReport>),
}

struct Pending {
    settings: RunSettings,
    rx: Receiver<Event>,
    /// Index in `runs` once started.
    index: Option<usize>,
}

/// Every run of this app session.
#[derive(Default)]
pub struct Session {
    /// All runs, oldest first; the last one is the current one.
    pub runs: Vec<RunEntry>,
    pending: Option<Pending>,
    /// The last problem to show (a bad corpus …), cleared by the next run.
    pub error: Option<String>,
    scans: Vec<(CorpusChoice, Receiver<Result<CorpusInfo, String>>)>,
    /// Scanned corpora.
    pub infos: Vec<(CorpusChoice, Result<CorpusInfo, String>)>,
    opening: Vec<Receiver<Result<(PathBuf, Recording), String>>>,
}

impl Session {
    /// Starts a run in the background; returns at once.
    pub fn start(&mut self, choice: &CorpusChoice, repeat: u32, settings: RunSettings) {
        if self.is_busy() {
            return;
        }
        self.error = None;
        let (tx, rx) = crossbeam_channel::unbounded();
        let path = choice.path().map(|p| p.to_path_buf());
        let st = settings.clone();
        std::thread::Builder::new()
            .name("run launcher".into())
            .spawn(move || {
                let corpus = match Corpus::open_or_builtin(path.as_deref(), repeat) {
                    Ok(c) => Arc::new(c),
                    Err(e) => {
                        let _ = tx.send(Event::Failed(e.to_string()));
                        return;
                    }
                };
                let run = Run::start(corpus.clone(), st);
                let _ = tx.send(Event::Started {
                    ctl: run.control().clone(),
                    timeline: run.timeline().clone(),
                    corpus: corpus.short_name(),
                    total_bytes: corpus.total_bytes(),
                });
                let _ = tx.send(Event::Finished(Box::new(run.wait())));
            })
            .expect("spawning the run launcher");
        self.pending = Some(Pending {
            settings,
            rx,
            index: None,
        });
    }

    /// True while a run is starting or running.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// The current (newest) run.
    pub fn current(&self) -> Option<&RunEntry> {
        self.runs.last()
    }

    /// The current run, if it is still running.
    pub fn running(&self) -> Option<&RunEntry> {
        self.runs.last().filter(|r| r.is_running())
    }

    fn running_control(&self) -> Option<&Arc<RunControl>> {
        match &self.running()?.source {
            RunSource::Live(ctl) => Some(ctl),
            RunSource::Recorded { .. } => None,
        }
    }

    /// Asks the running run to stop (it finishes in the background).
    pub fn stop(&self) {
        if let Some(ctl) = self.running_control() {
            ctl.request_stop(crate::StopReason::Cancelled);
        }
    }

    /// Changes the running run's delay now.
    pub fn set_delay(&self, delay: Duration) {
        if let Some(ctl) = self.running_control() {
            ctl.set_delay(delay);
        }
    }

    /// Opens a recording in the background; it joins the session's runs as if it had just
    /// run (or its one-line error shows). Refused while a run is going.
    pub fn open_recording(&mut self, path: PathBuf) {
        if self.is_busy() {
            self.error = Some(format!(
                "Stop the run (or let it finish) before opening '{}'",
                path.display()
            ));
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("recording reader".into())
            .spawn(move || {
                let _ = tx.send(Recording::open(&path).map(|r| (path, r)));
            })
            .expect("spawning the recording reader");
        self.opening.push(rx);
    }

    /// True while a recording is being read.
    pub fn is_opening(&self) -> bool {
        !self.opening.is_empty()
    }

    /// What saving run `index` as a recording takes (run on a background thread); `None`
    /// while it is still running.
    pub fn recording_of(&self, index: usize) -> Option<Recording> {
        let run = self.runs.get(index)?;
        let report = run.report.clone()?;
        let stages = match &run.source {
            RunSource::Live(ctl) => ctl.stages_to_record(),
            RunSource::Recorded { stages, .. } => stages.clone(),
        };
        Some(Recording::new(
            report,
            stages,
            run.settings.sample_hz,
            run.settings.duration.map(|d| d.as_secs_f64()),
        ))
    }

    fn add_recording(&mut self, path: PathBuf, rec: Recording) {
        let r = &rec.report;
        let mut settings = RunSettings::new(r.strategy);
        settings.workers = r.workers;
        settings.runtime = r.runtime;
        settings.schedulers = r.schedulers.max(1);
        settings.delay = Duration::from_secs_f64(r.delay_ms / 1e3);
        settings.split = r.split;
        settings.max_demand = r.max_demand;
        settings.sample_hz = rec.sample_hz;
        settings.duration = rec.duration_s.map(Duration::from_secs_f64);
        settings.memory_limit = r
            .memory_limit_bytes
            .map_or(MemoryLimit::Unlimited, MemoryLimit::Bytes);
        self.runs.push(RunEntry {
            number: self.runs.len() + 1,
            settings,
            corpus: r.corpus.clone(),
            total_bytes: r.bytes,
            source: RunSource::Recorded {
                path,
                stages: rec.stages,
            },
            timeline: r.timeline.clone(),
            data: ChartData::from_timeline(&r.timeline),
            report: Some(rec.report),
        });
    }

    /// Scans a corpus (files, bytes, lines) in the background, once.
    pub fn scan(&mut self, choice: &CorpusChoice) {
        if self.infos.iter().any(|(c, _)| c == choice)
            || self.scans.iter().any(|(c, _)| c == choice)
        {
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let path = choice.path().map(|p| p.to_path_buf());
        std::thread::spawn(move || {
            let info = Corpus::open_or_builtin(path.as_deref(), 1)
                .map_err(|e| e.to_string())
                .map(|c| {
                    let lines = c
                        .files
                        .iter()
                        .filter_map(|f| std::fs::read(&f.path).ok())
                        .map(|b| memchr::memchr_iter(b'\n', &b).count() as u64)
                        .sum();
                    CorpusInfo {
                        files: c.files.len(),
                        bytes: c.bytes_once(),
                        lines,
                    }
                });
            let _ = tx.send(info);
        });
        self.scans.push((choice.clone(), rx));
    }

    /// What the scan of `choice` found, if done.
    pub fn info(&self, choice: &CorpusChoice) -> Option<&Result<CorpusInfo, String>> {
        self.infos.iter().find(|(c, _)| c == choice).map(|(_, i)| i)
    }

    /// Takes what the background threads sent and refreshes the current run's chart data.
    pub fn poll(&mut self) {
        let mut opened = Vec::new();
        self.opening.retain(|rx| match rx.try_recv() {
            Ok(r) => {
                opened.push(r);
                false
            }
            Err(TryRecvError::Empty) => true,
            Err(TryRecvError::Disconnected) => false,
        });
        for r in opened {
            match r {
                Ok((path, rec)) => self.add_recording(path, rec),
                Err(e) => self.error = Some(e),
            }
        }
        self.scans.retain(|(choice, rx)| match rx.try_recv() {
            Ok(info) => {
                self.infos.push((choice.clone(), info));
                false
            }
            Err(TryRecvError::Empty) => true,
            Err(TryRecvError::Disconnected) => false,
        });
        while let Some(p) = &mut self.pending {
            match p.rx.try_recv() {
                Ok(Event::Started {
                    ctl,
                    timeline,
                    corpus,
                    total_bytes,
                }) => {
                    self.runs.push(RunEntry {
                        number: self.runs.len() + 1,
                        settings: p.settings.clone(),
                        corpus,
                        total_bytes,
                        source: RunSource::Live(ctl),
                        timeline,
                        data: ChartData::default(),
                        report: None,
                    });
                    p.index = Some(self.runs.len() - 1);
                }
                Ok(Event::Failed(e)) => {
                    self.error = Some(e);
                    self.pending = None;
                }
                Ok(Event::Finished(report)) => {
                    if let Some(i) = p.index {
                        let entry = &mut self.runs[i];
                        entry.data.refresh(&entry.timeline);
                        if !report.errors.is_empty() {
                            self.error = Some(report.errors.join("; "));
                        }
                        entry.report = Some(Arc::from(report));
                    }
                    self.pending = None;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.error = Some("the run ended without a report".into());
                    self.pending = None;
                }
            }
        }
        if let Some(r) = self.runs.last_mut()
            && r.is_running()
        {
            r.data.refresh(&r.timeline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_over_a_window_ignores_steps_between_samples() {
        // Words published in steps of 1,000 every 0.1 s, sampled every 0.02 s: single samples
        // read 0 or 50,000/s, the one-second window reads the true 10,000/s.
        let rows = (0..=150)
            .map(|i| {
                let t = i as f64 * 0.02;
                let words = (t * 10.0).floor() * 1000.0;
                Row {
                    t,
                    values: vec![words],
                }
            })
            .collect();
        let data = ChartData::new(vec!["words".into()], rows);
        let rate = data.rate_over("words", 1.0).unwrap();
        assert!((rate - 10_000.0).abs() < 1_000.0, "{rate}");
        assert_eq!(data.rate_over("other", 1.0), None);
        // One sample has no rate yet.
        let one = ChartData::new(
            vec!["words".into()],
            vec![Row {
                t: 0.0,
                values: vec![5.0],
            }],
        );
        assert_eq!(one.rate_over("words", 1.0), None);
        // The stage finished at 1.5 s (words stopped growing): its mean rate is over 1.5 s,
        // however long the run went on after.
        let mut done = data.rows.clone();
        for r in &mut done {
            r.values[0] = r.values[0].min(15_000.0);
        }
        let done = ChartData::new(vec!["words".into()], done);
        let mean = done.mean_rate_to_final("words").unwrap();
        assert!((mean - 10_000.0).abs() < 100.0, "{mean}");
    }
}
