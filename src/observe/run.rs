//! The run controller: starts a strategy on background threads, owns its stop signal and
//! deadline, and reports the result. The CLI and the app both drive runs through [`Run`].
//!
//! ```
//! use std::sync::Arc;
//! use palavriado::wordcount::{Corpus, Strategy};
//! use palavriado::{Run, RunSettings};
//! let dir = std::env::temp_dir().join(format!("palavriado-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("a.txt"), "Capitu olhos de ressaca\nCapitu\n").unwrap();
//! let corpus = Arc::new(Corpus::open(&dir, 3).unwrap());
//! let report = Run::start(corpus, RunSettings::new(Strategy::Pull)).wait();
//! assert!(report.completed);
//! assert_eq!(report.total_words, 12); // "de" is too short to count
//! assert_eq!(report.top_words(1)[1].words[0], ("capitu".to_string(), 6));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::observe::diagnosis::Diagnosis;
use crate::observe::sampler::DEFAULT_SAMPLE_HZ;
use crate::observe::series;
use crate::observe::timeline::Timeline;
use crate::observe::watch;
use crate::runtime::control::{Pipeline, RunControl, RunEvent, StopReason};
use crate::runtime::executor::{Runtime, default_schedulers};
use crate::runtime::probe::os::physical_memory;
use crate::runtime::probe::{StageProbe, StageSnapshot, heap, wait_quantile_us};
use crate::wordcount::corpus::Corpus;
use crate::wordcount::counts::{LengthGroup, WordCounts};
use crate::wordcount::strategy::{Job, Strategy};
use crate::wordcount::words::SplitMode;

/// The knobs of one run.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// How to count.
    pub strategy: Strategy,
    /// Workers of the concurrent strategies (default: available cores).
    pub workers: usize,
    /// Simulated delay per extraction call (0 = off); can be changed live.
    pub delay: Duration,
    /// How lines are split into words.
    pub split: SplitMode,
    /// `max_demand` of the demand-driven strategies (`None` = the strategy's default).
    pub max_demand: Option<usize>,
    /// Stop after this long (`None` = run to the end).
    pub duration: Option<Duration>,
    /// Probe sampling rate in Hz (1–1000; 0 turns the timeline off).
    pub sample_hz: u32,
    /// When to stop the run for its memory.
    pub memory_limit: MemoryLimit,
    /// Where the stages run: tasks on the scheduler (default) or a thread each.
    pub runtime: Runtime,
    /// Scheduler threads of the `scheduler` runtime (default: one per core, like `erl +S`).
    pub schedulers: usize,
}

impl RunSettings {
    /// Defaults for a strategy: one worker per core, no delay, character split.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            workers: default_workers(),
            delay: Duration::ZERO,
            split: SplitMode::Chars,
            max_demand: None,
            duration: None,
            sample_hz: DEFAULT_SAMPLE_HZ,
            memory_limit: MemoryLimit::default(),
            runtime: Runtime::Scheduler,
            schedulers: default_schedulers(),
        }
    }
}

impl RunSettings {
    /// Where the stages run, for titles: `on 2 schedulers` or `a thread per stage`.
    pub fn runtime_label(&self) -> String {
        self.runtime.placement(self.schedulers)
    }
}

/// When a run is stopped for its memory: cleanly, before the process goes past the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoryLimit {
    /// Half of physical RAM (1 GiB if unknown): the default.
    #[default]
    HalfOfRam,
    /// This many bytes.
    Bytes(u64),
    /// Never (how the probes' cost is measured).
    Unlimited,
}

impl MemoryLimit {
    /// The limit in bytes; `None` when there is none.
    pub fn bytes(self) -> Option<u64> {
        match self {
            MemoryLimit::HalfOfRam => Some(match physical_memory() {
                0 => 1 << 30,
                n => n / 2,
            }),
            MemoryLimit::Bytes(b) => Some(b),
            MemoryLimit::Unlimited => None,
        }
    }
}

/// The number of available cores (the talk's `System.schedulers_online()`).
pub fn default_workers() -> usize {
    crate::runtime::probe::os::logical_cores()
}

/// What a finished (or stopped) run produced.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    /// Strategy name ([`Strategy::Program`] for a program's own pipeline).
    pub strategy: Strategy,
    /// The program's name, for a program's own pipeline (then there is no corpus or counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Corpus shown name (`built-in` or its path).
    pub corpus: String,
    /// Files in one pass.
    pub files: usize,
    /// Passes over the files.
    pub repeat: u32,
    /// Corpus bytes of the whole run (all passes).
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Words counted.
    pub total_words: u64,
    /// Distinct words.
    pub distinct_words: usize,
    /// SHA-256 of the sorted `word\tcount\n` lines.
    pub counts_sha256: String,
    /// Wall time in milliseconds.
    pub wall_ms: f64,
    /// True when the whole input was counted.
    pub completed: bool,
    /// Why it stopped early, if it did.
    pub stop_reason: Option<StopReason>,
    /// Problems with the input that did not stop the run.
    pub warnings: Vec<String>,
    /// Stage failures (a panic in a stage names it here).
    pub errors: Vec<String>,
    /// Workers used.
    pub workers: usize,
    /// Where the stages ran.
    pub runtime: Runtime,
    /// Scheduler threads (with the `scheduler` runtime; 0 with `threads`).
    pub schedulers: usize,
    /// Mean utilisation of each scheduler thread over the run (%), from the runtime's own
    /// busy-time counters (empty with `threads`).
    pub mean_scheduler_percent: Vec<f64>,
    /// Per stage: time inside its polls, polls, and time ready but waiting for a scheduler.
    pub stages: Vec<StageReport>,
    /// Simulated delay at the end of the run, in ms.
    pub delay_ms: f64,
    /// Split mode.
    pub split: SplitMode,
    /// `max_demand` used by demand-driven strategies.
    pub max_demand: Option<usize>,
    /// Largest mailbox length any stage reached.
    pub max_mailbox_len: u64,
    /// Messages that went through the run's mailboxes.
    pub messages: u64,
    /// Times the stage threads were switched in (every hand-over of a core to one of them,
    /// after it blocked, yielded or was preempted), summed: what fine-grained demand costs.
    pub context_switches: u64,
    /// Highest resident memory sampled (bytes).
    pub peak_rss_bytes: u64,
    /// Highest live heap (bytes), from the counting allocator (0 if not installed).
    pub peak_heap_bytes: u64,
    /// Mean utilisation of each logical core over the run (%).
    pub mean_cpu_percent: Vec<f64>,
    /// Timeline rows sampled.
    pub samples: usize,
    /// The memory limit that applied (bytes; `None`: there was none).
    pub memory_limit_bytes: Option<u64>,
    /// Run events (start, delay changes, stop, finish).
    pub events: Vec<RunEvent>,
    /// Where the backpressure was: every diagnosis found during the run.
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    /// The counts themselves (empty in a report read from a recording, which keeps only its
    /// top words).
    #[serde(skip)]
    pub counts: WordCounts,
    /// Everything sampled during the run.
    #[serde(skip)]
    pub timeline: Arc<Timeline>,
    /// [`RunReport::top_words`] up to [`RunReport::TOP_WORDS_KEPT`] per length, computed on first use.
    #[serde(skip)]
    top_words_kept: std::sync::OnceLock<Vec<LengthGroup>>,
    /// Read from a recording: only the kept top words exist.
    #[serde(skip)]
    recorded: bool,
}

/// What one stage did over a run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: crate::runtime::probe::StageKind,
    /// Events handled.
    pub events_in: u64,
    /// Events emitted.
    pub events_out: u64,
    /// Time handling events (ms): running, or ready and waiting for a scheduler.
    pub busy_ms: f64,
    /// Time backpressured (ms): output it could not send for want of demand, or Push's send
    /// penalty.
    pub backpressured_ms: f64,
    /// Time idle, its mailbox empty (ms).
    pub idle_ms: f64,
    /// Time sleeping in the simulated delay (ms).
    pub sleeping_ms: f64,
    /// Time inside its task's polls (ms, estimated from a sample of them).
    pub polled_ms: f64,
    /// Times its task was polled.
    pub polls: u64,
    /// Time it was ready but waited for a scheduler (ms, estimated from a sample of wake-ups).
    pub scheduled_wait_ms: f64,
    /// Largest mailbox length it reached.
    pub max_mailbox: u64,
    /// 99th percentile of the time its messages waited in its mailbox over the run (µs, from
    /// a sample of them); `None` when none was sampled.
    pub mailbox_p99_us: Option<f64>,
    /// Highest bytes waiting in its mailbox and buffer (sampled).
    pub peak_bytes: u64,
    /// A bounded channel's capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
}

impl StageReport {
    /// The report of the stage `p` at its end.
    fn of(p: &StageProbe) -> StageReport {
        Self::from_snapshot(p.snapshot(), wait_quantile_us(&p.mailbox_waits(), 0.99))
    }

    /// The report of a stage whose counters at the end are `s` (from its probe, or read back
    /// from Prometheus or a tokio-console recording), with its mailbox's p99 wait if known.
    pub(crate) fn from_snapshot(s: StageSnapshot, mailbox_p99_us: Option<f64>) -> StageReport {
        let ms = |ns: u64| ns as f64 / 1e6;
        StageReport {
            name: s.name,
            kind: s.kind,
            events_in: s.events_in,
            events_out: s.events_out,
            busy_ms: ms(s.times.busy_ns),
            backpressured_ms: ms(s.times.backpressured_ns),
            idle_ms: ms(s.times.idle_ns),
            sleeping_ms: ms(s.times.sleeping_ns),
            polled_ms: ms(s.busy_ns),
            polls: s.polls,
            scheduled_wait_ms: ms(s.sched_wait_ns),
            max_mailbox: s.max_mailbox,
            mailbox_p99_us,
            peak_bytes: s.peak_bytes,
            capacity: s.capacity,
        }
    }
}

/// Most frequent words per length a report keeps once computed (views redrawn every frame read
/// them without walking the whole map again).
pub const TOP_WORDS_KEPT: usize = 10;

impl RunReport {
    /// Top words per length a recording keeps (and [`RunReport::top_words`] caches).
    pub const TOP_WORDS_KEPT: usize = TOP_WORDS_KEPT;

    /// The `top` most frequent words of each length, most frequent first (the talk's
    /// `Printer`); up to [`RunReport::TOP_WORDS_KEPT`] per length they are computed once per report.
    pub fn top_words(&self, top: usize) -> Vec<LengthGroup> {
        if top > TOP_WORDS_KEPT && !self.recorded {
            return self.counts.top_by_length(top);
        }
        self.top_words_kept
            .get_or_init(|| self.counts.top_by_length(TOP_WORDS_KEPT))
            .iter()
            .map(|g| LengthGroup {
                length: g.length,
                words: g.words.iter().take(top).cloned().collect(),
            })
            .collect()
    }
}

impl RunReport {
    /// The `--json` object: the report's fields plus the `top` most frequent words by length.
    pub fn to_json(&self, top: usize) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("a report always serializes");
        v["top_words"] =
            serde_json::to_value(self.top_words(top)).expect("top words always serialize");
        v
    }

    /// Makes a report read from a recording whole again: its top words (it has no counts)
    /// and its timeline.
    pub(crate) fn restore(&mut self, top_words: Vec<LengthGroup>, timeline: Arc<Timeline>) {
        self.top_words_kept = top_words.into();
        self.recorded = true;
        self.timeline = timeline;
    }
}

/// A run in progress. Dropping it stops the run and waits for its threads.
pub struct Run {
    ctl: Arc<RunControl>,
    corpus: Arc<Corpus>,
    settings: RunSettings,
    worker: Option<JoinHandle<WordCounts>>,
    sampler: Option<JoinHandle<()>>,
    timeline: Arc<Timeline>,
    started: Instant,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// Starts `settings.strategy` over `corpus` on background threads and returns at once.
    pub fn start(corpus: Arc<Corpus>, settings: RunSettings) -> Run {
        heap::release_free_memory();
        let ctl = RunControl::with_runtime(settings.delay, settings.runtime, settings.schedulers);
        ctl.set_memory_limit(settings.memory_limit.bytes());
        heap::reset_peak();
        for w in &corpus.warnings {
            ctl.warn(w.clone());
        }
        let job = Job {
            corpus: corpus.clone(),
            ctl: ctl.clone(),
            split: settings.split,
            workers: settings.workers.max(1),
            max_demand: settings
                .max_demand
                .or(settings.strategy.default_max_demand())
                .unwrap_or(1000)
                .max(1),
        };
        let strategy = settings.strategy;
        let started = Instant::now();
        let worker = std::thread::Builder::new()
            .name(format!("run {strategy}"))
            .spawn(move || {
                let counts = strategy.run(&job);
                job.ctl.executor().shutdown();
                job.ctl
                    .progress
                    .words_counted
                    .store(counts.total(), Relaxed);
                job.ctl.mark_finished();
                counts
            })
            .expect("spawning the run thread");
        let timeline = Arc::new(Timeline::default());
        let sampler = watch::spawn(
            ctl.clone(),
            timeline.clone(),
            settings.sample_hz,
            settings.duration.map(|d| started + d),
            settings
                .max_demand
                .or(settings.strategy.default_max_demand()),
        );
        Run {
            ctl,
            corpus,
            settings,
            worker: Some(worker),
            sampler: Some(sampler),
            timeline,
            started,
        }
    }

    /// The shared control block: delay, stop, progress, probes.
    pub(crate) fn control(&self) -> &Arc<RunControl> {
        &self.ctl
    }

    /// The run's pipeline: its delay (change it mid-run), stop, and its stages' counters.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::of(&self.ctl)
    }

    /// Lines of the corpus read so far.
    pub fn lines_read(&self) -> u64 {
        self.ctl.progress.lines_read.load(Relaxed)
    }

    /// The corpus being counted.
    pub fn corpus(&self) -> &Arc<Corpus> {
        &self.corpus
    }

    /// The live timeline (readable during and after the run).
    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    /// The settings it started with.
    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// Asks the run to stop (returns at once; [`Run::wait`] joins).
    pub fn stop(&self) {
        self.ctl.request_stop(StopReason::Cancelled);
    }

    /// True once every worker has finished.
    pub fn is_finished(&self) -> bool {
        self.worker.as_ref().is_none_or(|w| w.is_finished())
    }

    /// Fraction of the corpus read so far (0–1).
    pub fn progress(&self) -> f64 {
        let total = self.corpus.total_bytes().max(1);
        self.ctl.progress.bytes_read.load(Relaxed) as f64 / total as f64
    }

    /// Waits for every thread and reports.
    pub fn wait(mut self) -> RunReport {
        self.finish()
    }

    fn finish(&mut self) -> RunReport {
        let counts = self
            .worker
            .take()
            .map(|w| w.join().unwrap_or_default())
            .unwrap_or_default();
        let wall = self.started.elapsed();
        if let Some(w) = self.sampler.take() {
            let _ = w.join();
        }
        RunReport {
            strategy: self.settings.strategy,
            corpus: self.corpus.display_name(),
            files: self.corpus.files.len(),
            repeat: self.corpus.repeat,
            bytes: self.corpus.total_bytes(),
            total_words: counts.total(),
            distinct_words: counts.distinct(),
            counts_sha256: counts.sha256(),
            workers: self.settings.workers.max(1),
            split: self.settings.split,
            max_demand: self
                .settings
                .max_demand
                .or(self.settings.strategy.default_max_demand()),
            counts,
            ..RunReport::measured(&self.ctl, &self.timeline, wall)
        }
    }
}

impl RunReport {
    /// What `ctl`'s stages and `timeline` measured over `wall`, with no corpus and no counts:
    /// the part every report shares. [`Run`] adds its strategy's corpus and counts; a program's
    /// [`crate::observe::profiler::Profiler`] reports it as it is (strategy [`Strategy::Program`]).
    pub(crate) fn measured(
        ctl: &RunControl,
        timeline: &Arc<Timeline>,
        wall: Duration,
    ) -> RunReport {
        let tl = timeline;
        let stop_reason = ctl.stop_reason();
        let runtime = ctl.executor().runtime();
        RunReport {
            strategy: Strategy::Program,
            program: None,
            corpus: String::new(),
            files: 0,
            repeat: 1,
            bytes: ctl.progress.bytes_read.load(Relaxed),
            lines: ctl.progress.lines_read.load(Relaxed),
            total_words: ctl.progress.words_counted.load(Relaxed),
            distinct_words: 0,
            counts_sha256: String::new(),
            wall_ms: wall.as_secs_f64() * 1e3,
            completed: stop_reason.is_none(),
            stop_reason,
            warnings: ctl.warnings(),
            errors: ctl.errors(),
            workers: 1,
            runtime,
            schedulers: match runtime {
                Runtime::Scheduler => ctl.executor().schedulers(),
                Runtime::Threads => 0,
            },
            mean_scheduler_percent: (0..ctl.executor().schedulers())
                .map_while(|i| tl.mean(&series::scheduler(i)))
                .collect(),
            stages: ctl.stages().iter().map(|p| StageReport::of(p)).collect(),
            delay_ms: ctl.delay().as_secs_f64() * 1e3,
            split: SplitMode::Chars,
            max_demand: None,
            max_mailbox_len: ctl.max_mailbox_len(),
            messages: ctl.messages_received(),
            context_switches: ctl.context_switches(),
            peak_rss_bytes: tl.max(series::RSS).unwrap_or(0.0) as u64,
            peak_heap_bytes: heap::peak_bytes(),
            mean_cpu_percent: (0..crate::runtime::probe::os::logical_cores())
                .map_while(|i| tl.mean(&series::core(i)))
                .collect(),
            samples: tl.len(),
            memory_limit_bytes: ctl.memory_limit(),
            events: ctl.events(),
            diagnoses: tl.diagnoses(),
            counts: WordCounts::new(),
            timeline: timeline.clone(),
            top_words_kept: Default::default(),
            recorded: false,
        }
    }
}

impl RunReport {
    /// The report of a fleet read from Prometheus (strategy [`Strategy::Program`], `program`
    /// naming the fleet): its stages, everything charted, the diagnoses found across it.
    pub(crate) fn of_fleet(
        program: String,
        stages: Vec<StageReport>,
        timeline: Arc<Timeline>,
        wall: Duration,
        diagnoses: Vec<Diagnosis>,
    ) -> RunReport {
        let tl = &timeline;
        RunReport {
            strategy: Strategy::Program,
            program: Some(program),
            corpus: String::new(),
            files: 0,
            repeat: 1,
            bytes: 0,
            lines: 0,
            total_words: 0,
            distinct_words: 0,
            counts_sha256: String::new(),
            wall_ms: wall.as_secs_f64() * 1e3,
            completed: true,
            stop_reason: None,
            warnings: Vec::new(),
            errors: Vec::new(),
            workers: 1,
            runtime: Runtime::Scheduler,
            schedulers: 0,
            mean_scheduler_percent: Vec::new(),
            delay_ms: 0.0,
            split: SplitMode::Chars,
            max_demand: None,
            max_mailbox_len: stages.iter().map(|s| s.max_mailbox).max().unwrap_or(0),
            // Messages taken from the channels.
            messages: stages
                .iter()
                .filter(|s| s.kind == crate::runtime::probe::StageKind::Channel)
                .map(|s| s.events_out)
                .sum(),
            context_switches: 0,
            peak_rss_bytes: tl.max(series::RSS).unwrap_or(0.0) as u64,
            peak_heap_bytes: 0,
            mean_cpu_percent: Vec::new(),
            samples: tl.len(),
            memory_limit_bytes: None,
            events: Vec::new(),
            diagnoses,
            stages,
            counts: WordCounts::new(),
            timeline,
            top_words_kept: Default::default(),
            recorded: false,
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.ctl.request_stop(StopReason::Cancelled);
            let _ = self.finish();
        }
    }
}
