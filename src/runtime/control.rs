//! What every worker of a run shares: the stop signal, the live simulated delay, progress
//! counters, the memory limit and the registry of stage probes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use crate::runtime::run_event::{RunEvent, RunEventKind, StopReason};

use crate::runtime::executor::{Executor, Runtime, Worker, default_schedulers};
use crate::runtime::probe::{StageKind, StageProbe, heap};

/// Live progress counters, updated by the reading and counting stages.
#[derive(Debug, Default)]
pub struct Progress {
    /// Corpus bytes read so far.
    pub bytes_read: AtomicU64,
    /// Lines read so far.
    pub lines_read: AtomicU64,
    /// Words counted so far.
    pub words_counted: AtomicU64,
}

/// Shared control block of one run.
#[derive(Debug)]
pub struct RunControl {
    stop: AtomicU8,
    finished: AtomicBool,
    delay_ns: AtomicU64,
    memory_limit: AtomicU64,
    started: Instant,
    /// Live progress.
    pub progress: Progress,
    stages: Mutex<Vec<Arc<StageProbe>>>,
    events: Mutex<Vec<RunEvent>>,
    errors: Mutex<Vec<String>>,
    warnings: Mutex<Vec<String>>,
    /// Every stage's counters at the moment the stop was asked (before mailboxes drain).
    stages_at_stop: Mutex<Option<Vec<crate::runtime::probe::StageSnapshot>>>,
    executor: Executor,
}

impl RunControl {
    /// A control block with the given delay and no memory limit, whose stages run on the
    /// default executor (the scheduler, one thread per core).
    pub fn new(delay: Duration) -> Arc<Self> {
        Self::with_runtime(delay, Runtime::Scheduler, default_schedulers())
    }

    /// A control block whose stages run on `runtime` (with `schedulers` scheduler threads).
    pub fn with_runtime(delay: Duration, runtime: Runtime, schedulers: usize) -> Arc<Self> {
        let ctl = Arc::new(Self {
            stop: AtomicU8::new(0),
            finished: AtomicBool::new(false),
            delay_ns: AtomicU64::new(delay.as_nanos() as u64),
            memory_limit: AtomicU64::new(u64::MAX),
            started: Instant::now(),
            progress: Progress::default(),
            stages: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            stages_at_stop: Mutex::new(None),
            executor: Executor::new(runtime, schedulers),
        });
        ctl.record(RunEventKind::Started);
        if !delay.is_zero() {
            ctl.record(RunEventKind::DelayChanged {
                delay_ms: delay.as_secs_f64() * 1e3,
            });
        }
        ctl
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Seconds since the run started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Appends a run event stamped now.
    pub fn record(&self, kind: RunEventKind) {
        let at_secs = self.elapsed_secs();
        self.events.lock().push(RunEvent { at_secs, kind });
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<RunEvent> {
        self.events.lock().clone()
    }

    /// Asks every worker to stop; the first reason wins.
    pub fn request_stop(&self, reason: StopReason) {
        if self
            .stop
            .compare_exchange(0, reason.code(), SeqCst, Relaxed)
            .is_ok()
        {
            *self.stages_at_stop.lock() =
                Some(self.stages().iter().map(|s| s.snapshot()).collect());
            self.record(RunEventKind::StopRequested { reason });
            self.wake_stages();
        }
    }

    /// The stages as a recording keeps them: as they were when the stop was asked (a stopped
    /// run's mailboxes are then drained), or as they are now.
    pub fn stages_to_record(&self) -> Vec<crate::runtime::probe::StageSnapshot> {
        self.stages_at_stop
            .lock()
            .clone()
            .unwrap_or_else(|| self.stages().iter().map(|s| s.snapshot()).collect())
    }

    /// Wakes every stage (waiting for messages or sleeping in the delay) to look at the run.
    fn wake_stages(&self) {
        for s in self.stages.lock().iter() {
            s.doorbell().ring_always();
        }
    }

    /// Where the run's stages execute.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Marks the run finished (every worker joined) and records it.
    pub fn mark_finished(&self) {
        let completed = !self.is_stopped();
        self.record(RunEventKind::Finished { completed });
        self.finished.store(true, Relaxed);
    }

    /// True once every worker of the run has been joined.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Relaxed)
    }

    /// Records a stage failure and stops the run.
    pub fn fail(&self, message: String) {
        self.errors.lock().push(message);
        self.request_stop(StopReason::Error);
    }

    /// Failures recorded so far.
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().clone()
    }

    /// Records a warning about the input (an unreadable file, invalid UTF-8 …).
    /// The same message twice is kept once.
    pub fn warn(&self, message: String) {
        let mut w = self.warnings.lock();
        if !w.contains(&message) {
            w.push(message);
        }
    }

    /// Warnings recorded so far.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().clone()
    }

    /// True once a stop was requested (checked by workers at least once per message).
    #[inline]
    pub fn is_stopped(&self) -> bool {
        // SeqCst: a stage that has just armed its doorbell must see a stop that did not ring it.
        self.stop.load(SeqCst) != 0
    }

    /// Why the run was stopped, if it was.
    pub fn stop_reason(&self) -> Option<StopReason> {
        StopReason::from_code(self.stop.load(Relaxed))
    }

    /// The simulated delay now.
    #[inline]
    pub fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay_ns.load(Relaxed))
    }

    /// Changes the simulated delay; takes effect at the next extraction call.
    pub fn set_delay(&self, delay: Duration) {
        let ns = delay.as_nanos() as u64;
        if self.delay_ns.swap(ns, Relaxed) != ns {
            self.record(RunEventKind::DelayChanged {
                delay_ms: delay.as_secs_f64() * 1e3,
            });
            // A stage sleeping a longer delay than the new one wakes to shorten it.
            self.wake_stages();
        }
    }

    /// Sets the memory limit in bytes (`None`: none).
    pub fn set_memory_limit(&self, bytes: Option<u64>) {
        self.memory_limit.store(bytes.unwrap_or(u64::MAX), Relaxed);
    }

    /// The memory limit in bytes (`None`: none).
    pub fn memory_limit(&self) -> Option<u64> {
        Some(self.memory_limit.load(Relaxed)).filter(|&b| b != u64::MAX)
    }

    /// Stops the run if live heap memory is past the limit; returns true if stopped.
    ///
    /// Called by producers for every item they queue, so the limit holds between samples.
    #[inline]
    pub fn check_memory(&self) -> bool {
        let limit = self.memory_limit.load(Relaxed);
        if limit != u64::MAX && heap::is_tracking() && heap::live_bytes() > limit {
            self.request_stop(StopReason::MemoryLimit);
        }
        self.is_stopped()
    }

    /// Creates and registers a stage probe.
    pub fn register_stage(&self, name: impl Into<String>, kind: StageKind) -> Arc<StageProbe> {
        let p = Arc::new(StageProbe::new(name, kind));
        self.stages.lock().push(p.clone());
        p
    }

    /// Every stage registered so far, in registration order.
    pub fn stages(&self) -> Vec<Arc<StageProbe>> {
        self.stages.lock().clone()
    }

    /// Messages handled through every mailbox of the run.
    pub fn messages_received(&self) -> u64 {
        self.stages
            .lock()
            .iter()
            .map(|s| s.messages_received())
            .sum()
    }

    /// Times the run's threads (stage threads that have ended, or the scheduler threads) were
    /// switched in.
    pub fn context_switches(&self) -> u64 {
        self.executor.context_switches()
    }

    /// Largest mailbox length any stage has seen.
    pub fn max_mailbox_len(&self) -> u64 {
        self.stages
            .lock()
            .iter()
            .map(|s| s.max_mailbox())
            .max()
            .unwrap_or(0)
    }

    /// Starts `stage` for `probe` on the run's executor; a panic inside it becomes a run failure
    /// naming the stage (so the caller never hangs).
    pub fn spawn<T: Send + 'static>(
        self: &Arc<Self>,
        probe: Arc<StageProbe>,
        stage: impl Future<Output = T> + Send + 'static,
    ) -> Worker<T> {
        let ctl = self.clone();
        let name = probe.name.clone();
        self.executor.spawn(probe, stage, move |what| {
            ctl.fail(format!("stage '{name}' failed: {what}"));
        })
    }
}

/// One pipeline's stages and what they share: where they run, the stop signal and the
/// simulated delay. Stages are made with it ([`crate::Producer::from_iter`]…); a clone is
/// the same pipeline, so stage code can keep one to look at the stop signal or the delay.
///
/// ```
/// use palavriado::{Consumer, Dispatch, Pipeline, Producer, Runtime, Subscription};
/// let pipeline = Pipeline::builder().runtime(Runtime::Threads).build();
/// let mut numbers = Producer::from_iter(&pipeline, "numbers", 1..=100u64, Dispatch::Demand);
/// let mut sum = Consumer::new(&pipeline, "sum", 0u64, |acc: &mut u64, n: u64| *acc += n);
/// sum.subscribe(&mut numbers, Subscription::new().max_demand(10))?;
/// numbers.start();
/// assert_eq!(sum.start().join(), Some(5050));
/// # Ok::<(), palavriado::SubscribeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pipeline {
    ctl: Arc<RunControl>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// A pipeline whose stages run as tasks on one scheduler thread per core, with no delay.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Chooses where the stages run and the simulated delay.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            runtime: Runtime::Scheduler,
            schedulers: default_schedulers(),
            delay: Duration::ZERO,
        }
    }

    /// Asks every stage to stop: each checks at least once per message and per delay, keeps
    /// what it has, and ends; joining a stage then gives its state so far.
    pub fn stop(&self) {
        self.ctl.request_stop(StopReason::Cancelled);
    }

    /// True once [`Pipeline::stop`] was called (or a stage failed, or a limit was reached).
    pub fn is_stopped(&self) -> bool {
        self.ctl.is_stopped()
    }

    /// Why the pipeline stopped, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.ctl.stop_reason()
    }

    /// The simulated delay each paced stage waits before each event (zero: none).
    pub fn delay(&self) -> Duration {
        self.ctl.delay()
    }

    /// Changes the simulated delay, at once, for every paced stage (even one asleep in it).
    pub fn set_delay(&self, delay: Duration) {
        self.ctl.set_delay(delay);
    }

    /// Failures so far: a stage that panicked, a subscription that could not be served.
    pub fn errors(&self) -> Vec<String> {
        self.ctl.errors()
    }

    /// Things that went wrong without failing (a producer's buffer dropped events).
    pub fn warnings(&self) -> Vec<String> {
        self.ctl.warnings()
    }

    /// Every stage's live counters, in the order they were made.
    pub fn stages(&self) -> Vec<Arc<StageProbe>> {
        self.ctl.stages()
    }

    /// The control block behind it.
    pub(crate) fn control(&self) -> &Arc<RunControl> {
        &self.ctl
    }

    /// The pipeline of a control block.
    pub(crate) fn of(ctl: &Arc<RunControl>) -> Self {
        Self { ctl: ctl.clone() }
    }
}

/// Where a [`Pipeline`]'s stages run and its delay; made by [`Pipeline::builder`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build`"]
pub struct PipelineBuilder {
    runtime: Runtime,
    schedulers: usize,
    delay: Duration,
}

impl PipelineBuilder {
    /// Where the stages run (default: tasks on scheduler threads).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }

    /// Scheduler threads for [`Runtime::Scheduler`] (at least 1; default: one per core).
    pub fn schedulers(mut self, n: usize) -> Self {
        self.schedulers = n.max(1);
        self
    }

    /// A simulated delay before each event of every paced stage (the talk's 1 ms).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The pipeline; its scheduler threads start with its first stage.
    pub fn build(self) -> Pipeline {
        Pipeline {
            ctl: RunControl::with_runtime(self.delay, self.runtime, self.schedulers),
        }
    }
}

impl AsRef<Pipeline> for Pipeline {
    fn as_ref(&self) -> &Pipeline {
        self
    }
}
