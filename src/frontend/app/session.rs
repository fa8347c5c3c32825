//! The app's runs, without any drawing: starts a run on background threads (opening or
//! generating the corpus there too), follows its live timeline, and keeps every finished run for
//! comparison. The UI thread only polls channels and reads snapshots, so it never waits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::observe::timeline::Timeline;
use crate::runtime::control::RunControl;
use crate::wordcount::corpus::Corpus;

pub use super::chart_data::ChartData;
pub use super::run_entry::{RunEntry, RunSource};
use crate::observe::live::{Attachment, Ended};
use crate::observe::recording::Recording;
use crate::observe::run::{MemoryLimit, Run, RunReport, RunSettings};

/// Runs `work` on a thread of its own named `name`; its result arrives on the receiver (which
/// the UI polls, so it never waits).
fn in_background<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Receiver<T> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .expect("spawning a background thread");
    rx
}

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
    attaching: Option<Receiver<Result<Attachment, String>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("runs", &self.runs.len())
            .field("busy", &self.is_busy())
            .finish_non_exhaustive()
    }
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

    /// True while a run is starting or running, or a program is being attached to or followed.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some() || self.attaching.is_some() || self.following().is_some()
    }

    /// The program being followed live, if one is.
    pub fn following(&self) -> Option<&Arc<Attachment>> {
        self.running()?.attachment()
    }

    /// True while connecting to a program.
    pub fn is_attaching(&self) -> bool {
        self.attaching.is_some()
    }

    /// Attaches to the program serving at `addr` in the background; it joins the session's
    /// runs and every view follows it live (or its one-line error shows).
    pub fn attach(&mut self, addr: String) {
        if self.is_busy() {
            self.error = Some(format!(
                "Stop the run (or detach) before attaching to '{addr}'"
            ));
            return;
        }
        self.error = None;
        self.attaching = Some(in_background("attaching", move || {
            Attachment::connect(&addr).map_err(|e| e.to_string())
        }));
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
            RunSource::Recorded { .. } | RunSource::Attached(_) => None,
        }
    }

    /// Asks the running run to stop (it finishes in the background), or detaches from the
    /// program followed.
    pub fn stop(&self) {
        if let Some(a) = self.following() {
            a.detach();
        }
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
        self.opening
            .push(in_background("recording reader", move || {
                Recording::open(&path)
                    .map(|r| (path, r))
                    .map_err(|e| e.to_string())
            }));
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
            RunSource::Attached(a) => a.stages(),
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
            corpus: crate::wordcount::corpus::short_name_of(&r.corpus),
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

    /// Takes a new attachment in, and ends the followed one's entry when its connection ended
    /// (its last report becomes the entry's: what was seen stays).
    fn poll_attachment(&mut self) {
        if let Some(rx) = &self.attaching {
            match rx.try_recv() {
                Ok(Ok(a)) => {
                    self.attaching = None;
                    let mut settings = RunSettings::new(crate::wordcount::Strategy::Program);
                    settings.sample_hz = a.hello().sample_hz;
                    self.runs.push(RunEntry {
                        number: self.runs.len() + 1,
                        settings,
                        corpus: a.hello().program.clone(),
                        total_bytes: 0,
                        timeline: a.timeline().clone(),
                        source: RunSource::Attached(Arc::new(a)),
                        data: ChartData::default(),
                        report: None,
                    });
                }
                Ok(Err(e)) => {
                    self.attaching = None;
                    self.error = Some(e);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.attaching = None,
            }
        }
        let Some(a) = self.following().cloned() else {
            return;
        };
        let Some(ended) = a.ended() else {
            return;
        };
        let entry = self.runs.last_mut().expect("following the last run");
        entry.data.refresh(&entry.timeline);
        if let Ended::Failed(why) = &ended {
            self.error = Some(format!("{} at {}: {why}", a.hello().program, a.addr()));
        }
        match a.report() {
            Some(r) => entry.report = Some(Arc::new(r)),
            None => {
                // Not one report arrived: nothing to show or save.
                self.runs.pop();
                if ended == Ended::Detached {
                    self.error = Some(format!(
                        "detached from {} before it sent anything",
                        a.hello().program
                    ));
                }
            }
        }
    }

    /// Scans a corpus (files, bytes, lines) in the background, once.
    pub fn scan(&mut self, choice: &CorpusChoice) {
        if self.infos.iter().any(|(c, _)| c == choice)
            || self.scans.iter().any(|(c, _)| c == choice)
        {
            return;
        }
        let path = choice.path().map(|p| p.to_path_buf());
        let rx = in_background("corpus scan", move || {
            Corpus::open_or_builtin(path.as_deref(), 1)
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
                })
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
        self.poll_attachment();
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
