//! A program's profile: what a profiled pipeline of one's own did, without the talk's corpus and
//! counts. [`crate::Profiler::finish`] returns it; an [`crate::Attachment`] gives what it saw.

use std::sync::Arc;
use std::time::Duration;

use super::diagnosis::Diagnosis;
use super::run::{RunReport, StageReport};
use super::timeline::Timeline;
use crate::runtime::executor::Runtime;
use crate::runtime::run_event::{RunEvent, StopReason};

/// What a program's pipeline did: each stage's report (events, where its time went, queues),
/// the diagnoses, memory and CPU peaks, and everything sampled.
#[derive(Clone, Debug)]
pub struct ProgramReport {
    /// The same report the app shows and a recording keeps (strategy `program`).
    report: RunReport,
}

impl ProgramReport {
    /// A program's report from the report recordings and the wire carry.
    pub(crate) fn new(report: RunReport) -> Self {
        Self { report }
    }

    /// The program's name, as given to [`crate::Profiler::new`].
    pub fn program(&self) -> &str {
        self.report.program.as_deref().unwrap_or_default()
    }

    /// Per stage, in the order they were made: events in and out, busy / backpressured / idle /
    /// delay time, polls, largest mailbox, time in mailbox.
    pub fn stages(&self) -> &[StageReport] {
        &self.report.stages
    }

    /// Where the backpressure was: every diagnosis found, with when it held.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.report.diagnoses
    }

    /// How long it was profiled.
    pub fn wall(&self) -> Duration {
        Duration::from_secs_f64(self.report.wall_ms / 1e3)
    }

    /// True when the pipeline ended on its own (not stopped, nothing failed).
    pub fn completed(&self) -> bool {
        self.report.completed
    }

    /// Why it stopped early, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.report.stop_reason
    }

    /// Stage failures (a panic names its stage) and problems that did not stop it.
    pub fn errors_and_warnings(&self) -> (&[String], &[String]) {
        (&self.report.errors, &self.report.warnings)
    }

    /// Where the stages ran, and on how many scheduler threads (0 with threads).
    pub fn runtime(&self) -> (Runtime, usize) {
        (self.report.runtime, self.report.schedulers)
    }

    /// Highest resident memory (bytes, from the OS) and live heap (from the counting
    /// allocator; 0 if the program does not install it).
    pub fn peak_memory(&self) -> (u64, u64) {
        (self.report.peak_rss_bytes, self.report.peak_heap_bytes)
    }

    /// Mean utilisation of each logical core (%).
    pub fn mean_cpu_percent(&self) -> &[f64] {
        &self.report.mean_cpu_percent
    }

    /// The largest mailbox any stage reached, and the messages that went through them all.
    pub fn mailboxes(&self) -> (u64, u64) {
        (self.report.max_mailbox_len, self.report.messages)
    }

    /// The memory limit that applied (bytes), if one did.
    pub fn memory_limit(&self) -> Option<u64> {
        self.report.memory_limit_bytes
    }

    /// Events of the run: started, stop asked, finished.
    pub fn events(&self) -> &[RunEvent] {
        &self.report.events
    }

    /// Samples taken, and every series sampled.
    pub fn timeline(&self) -> (usize, &Arc<Timeline>) {
        (self.report.samples, &self.report.timeline)
    }

    /// The report as `palavriado show --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        self.report.to_json(0)
    }
}
