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

mod opened;
use crate::observe::live::Attachment;
use crate::observe::recording::Recording;
use crate::observe::run::{Run, RunReport, RunSettings};

/// Runs `work` on a thread of its own named `name`; its result arrives on the receiver (which
/// the UI polls, so it never waits).
pub(super) fn in_background<T: Send + 'static>(
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
    /// Addresses still to attach to, one after the other (each joins those followed).
    to_attach: std::collections::VecDeque<String>,
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
        self.pending.is_some() || self.attaching.is_some() || self.is_following()
    }

    /// True while one program or more is followed live.
    pub fn is_following(&self) -> bool {
        self.running().is_some_and(RunEntry::is_followed)
    }

    /// True when Attach… may be used: nothing runs, or programs are followed (another joins
    /// them).
    pub fn can_attach(&self) -> bool {
        self.pending.is_none()
            && self.attaching.is_none()
            && self.running().is_none_or(RunEntry::is_followed)
    }

    /// The program being followed live, if one is.
    pub fn following(&self) -> Option<&Arc<Attachment>> {
        self.running()?.attachment()
    }

    /// True while connecting to a program.
    pub fn is_attaching(&self) -> bool {
        self.attaching.is_some()
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
            RunSource::Recorded { .. } | RunSource::Attached(_) | RunSource::Group(_) => None,
        }
    }

    /// Asks the running run to stop (it finishes in the background), or detaches from the
    /// programs followed (and attaches to none still waiting their turn).
    pub fn stop(&mut self) {
        self.to_attach.clear();
        if let Some(a) = self.following() {
            a.detach();
        }
        if let Some(g) = self.running().and_then(RunEntry::group) {
            g.detach_all();
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
        if self.attaching.is_none()
            && self.can_attach()
            && let Some(addr) = self.to_attach.pop_front()
        {
            self.attach(addr);
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
