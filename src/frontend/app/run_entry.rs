//! One run of the session as the views see it: its settings, its chart data, its report once
//! done, and its stages and diagnoses — from the live run or from a recording alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::chart_data::ChartData;
use crate::observe::diagnosis::Diagnosis;
use crate::observe::live::{Attachment, Group};
use crate::observe::run::{RunReport, RunSettings};
use crate::observe::timeline::Timeline;
use crate::runtime::control::RunControl;
use crate::runtime::probe::StageSnapshot;

/// A run the app started.
#[derive(Debug)]
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
#[derive(Debug)]
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
    /// A program of the user's, followed live (or what was seen of it, once it ended).
    Attached(Arc<Attachment>),
    /// Several programs followed at once (or what was seen of them).
    Group(Arc<Group>),
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
            // A program's input is its own: all of it is read once it has ended.
            RunSource::Attached(_) | RunSource::Group(_) if self.is_running() => 0.0,
            RunSource::Attached(_) | RunSource::Group(_) => 1.0,
        }
    }

    /// Every stage's counters now (or at the end of a recorded run).
    pub fn stages(&self) -> Vec<StageSnapshot> {
        match &self.source {
            RunSource::Live(ctl) => ctl.stages().iter().map(|s| s.snapshot()).collect(),
            RunSource::Recorded { stages, .. } => stages.clone(),
            RunSource::Attached(a) => a.stages(),
            RunSource::Group(g) => g.stages(),
        }
    }

    /// How many stages there are, and how many of them are channels, without copying them
    /// (a program followed may have tens of thousands, counted every frame).
    pub fn stage_counts(&self) -> (usize, usize) {
        let count = |stages: &[StageSnapshot]| {
            let channels = stages
                .iter()
                .filter(|s| s.kind == crate::StageKind::Channel)
                .count();
            (stages.len(), channels)
        };
        match &self.source {
            RunSource::Recorded { stages, .. } => count(stages),
            RunSource::Attached(a) => a.with_stages(count),
            _ => count(&self.stages()),
        }
    }

    /// The program followed, if it is one.
    pub fn attachment(&self) -> Option<&Arc<Attachment>> {
        match &self.source {
            RunSource::Attached(a) => Some(a),
            _ => None,
        }
    }

    /// The programs followed at once, if it is several.
    pub fn group(&self) -> Option<&Arc<Group>> {
        match &self.source {
            RunSource::Group(g) => Some(g),
            _ => None,
        }
    }

    /// True for a program (or programs) followed live, or what was seen of them.
    pub fn is_followed(&self) -> bool {
        matches!(self.source, RunSource::Attached(_) | RunSource::Group(_))
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
            (RunSource::Live(_), None) => self.timeline.diagnoses(),
            (RunSource::Attached(a), None) => a.diagnoses(),
            (RunSource::Group(g), None) => g.diagnoses(),
            (_, Some(r)) => r.diagnoses.clone(),
            (_, None) => Vec::new(),
        }
    }

    /// The recording it was opened from, if it was.
    pub fn recorded_from(&self) -> Option<&Path> {
        match &self.source {
            RunSource::Recorded { path, .. } => Some(path),
            RunSource::Live(_) | RunSource::Attached(_) | RunSource::Group(_) => None,
        }
    }

    /// What ran: the strategy's name, or the program's (for titles and file names).
    pub fn what(&self) -> String {
        if let Some(g) = self.group() {
            return format!("{} programs", g.labels().len());
        }
        match (
            self.attachment(),
            self.report.as_ref().and_then(|r| r.program.as_ref()),
        ) {
            (Some(a), _) => a.hello().program.clone(),
            (None, Some(program)) => program.clone(),
            (None, None) => self.settings.strategy.name().to_string(),
        }
    }

    /// A label like `#3 pull, delay 1 ms`.
    pub fn label(&self) -> String {
        let delay = self.delay();
        let delay = if delay.is_zero() {
            String::new()
        } else {
            format!(", delay {}", crate::observe::format::delay(delay))
        };
        format!("#{} {}{delay}", self.number, self.what())
    }
}
