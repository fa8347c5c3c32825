//! The session's runs that are not run here: programs followed live (attached), and
//! recordings opened from files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::TryRecvError;

use super::{ChartData, RunEntry, RunSource, Session, in_background};
use crate::observe::live::{Attachment, Ended, Group};
use crate::observe::recording::Recording;
use crate::observe::run::{MemoryLimit, RunSettings};

impl Session {
    /// Attaches to the program serving at `addr` in the background; it joins the session's
    /// runs and every view follows it live (or its one-line error shows). While programs are
    /// followed, it joins them: every view shows them all, each under its name.
    pub fn attach(&mut self, addr: String) {
        if !self.can_attach() {
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

    /// Attaches to every address in turn, each joining the programs already followed.
    pub fn attach_all(&mut self, addrs: Vec<String>) {
        self.to_attach.extend(addrs);
        if let Some(addr) = self.to_attach.pop_front() {
            self.attach(addr);
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

    /// Reads a fleet from Prometheus in the background; it joins the session's runs like an
    /// opened recording (or its one-line error shows). Refused while a run is going.
    pub fn open_fleet(&mut self, query: crate::FleetQuery) {
        if self.is_busy() {
            self.error = Some(format!(
                "Stop the run (or detach) before reading the fleet at '{}'",
                query.url
            ));
            return;
        }
        self.error = None;
        self.opening.push(in_background("fleet reader", move || {
            query
                .load()
                .map(|r| (PathBuf::from(&query.url), r))
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
            RunSource::Group(g) => g.stages(),
        };
        Some(Recording::new(
            report,
            stages,
            run.settings.sample_hz,
            run.settings.duration.map(|d| d.as_secs_f64()),
        ))
    }

    pub(super) fn add_recording(&mut self, path: PathBuf, rec: Recording) {
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
    pub(super) fn poll_attachment(&mut self) {
        if let Some(rx) = &self.attaching {
            match rx.try_recv() {
                Ok(Ok(a)) if self.is_following() => {
                    self.attaching = None;
                    self.join_followed(Arc::new(a));
                }
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
        if let Some(g) = self.running().and_then(RunEntry::group).cloned() {
            if !g.is_live() {
                let entry = self.runs.last_mut().expect("following the last run");
                entry.data.refresh(&entry.timeline);
                match g.run_report() {
                    Some(r) => entry.report = Some(Arc::new(r)),
                    None => {
                        self.runs.pop();
                    }
                }
            }
            return;
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
        match a.run_report() {
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

    /// `a` joins the programs followed: a program followed alone becomes a group of two (its
    /// history kept), a group takes one more.
    fn join_followed(&mut self, a: Arc<Attachment>) {
        let entry = self.runs.last_mut().expect("following the last run");
        match &entry.source {
            RunSource::Group(g) => {
                g.add(a);
            }
            RunSource::Attached(first) => {
                let group = Arc::new(Group::new(first.clone(), a));
                entry.timeline = group.timeline().clone();
                entry.data = ChartData::default();
                entry.corpus = group.labels().join(", ");
                entry.source = RunSource::Group(group);
            }
            RunSource::Live(_) | RunSource::Recorded { .. } => {}
        }
    }
}
