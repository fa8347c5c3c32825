//! Where stages run. A stage is an async task; an [`Executor`] runs it either as a task on an
//! M:N scheduler (tokio's multi-thread runtime, N threads named `scheduler 1..N`, like the
//! BEAM's one scheduler per core) or on an OS thread of its own (`threads`), to show what a
//! context switch per hand-off costs.
//!
//! Every stage's task is wrapped in a probe that counts its polls and estimates, from a sample
//! of them, the time spent inside polls (busy) and the time it was ready but waited for a
//! scheduler (the run queue).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::runtime::probe::os::thread_sched;
use crate::runtime::probe::{StageProbe, StageState};
use crate::runtime::unknown_name::UnknownName;

/// How a run's stages are executed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// Tasks on N scheduler threads (M:N, like the BEAM): a hand-off is a queue push.
    #[default]
    Scheduler,
    /// One OS thread per stage: a hand-off to a sleeping stage is a kernel context switch.
    Threads,
}

impl Runtime {
    /// Both runtimes, the default first.
    pub const ALL: [Runtime; 2] = [Runtime::Scheduler, Runtime::Threads];

    /// The CLI/JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Scheduler => "scheduler",
            Runtime::Threads => "threads",
        }
    }

    /// Where the stages ran, for titles: `on 2 schedulers` or `a thread per stage`.
    pub fn placement(self, schedulers: usize) -> String {
        match self {
            Runtime::Scheduler if schedulers == 1 => "on 1 scheduler".into(),
            Runtime::Scheduler => format!("on {schedulers} schedulers"),
            Runtime::Threads => "a thread per stage".into(),
        }
    }

    /// A one-line explanation for menus and help.
    pub fn describe(self) -> &'static str {
        match self {
            Runtime::Scheduler => {
                "Stages are tasks on one scheduler thread per core (like the BEAM): a hand-off is a queue push, not a context switch."
            }
            Runtime::Threads => {
                "Every stage on its own OS thread: each hand-off to a waiting stage costs a kernel context switch."
            }
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Runtime {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Runtime::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName::new("runtime", s, "scheduler or threads"))
    }
}

/// The number of scheduler threads by default: one per core (`erl +S`'s default).
pub fn default_schedulers() -> usize {
    crate::runtime::probe::os::logical_cores()
}

thread_local! {
    /// True on a thread that runs one stage alone (the `threads` runtime).
    static OWN_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True when the calling stage has an OS thread of its own (then yielding means yielding the
/// core, and an idle stage may spin briefly before it sleeps).
pub fn on_own_thread() -> bool {
    OWN_THREAD.with(|c| c.get())
}

/// Gives other stages on this scheduler thread a turn before this one: the task waits until
/// the thread has nothing else to run (tokio's `yield_now`), or, on a thread of its own, the
/// thread yields its core. Push's send penalty: receivers first. Never blocks.
pub async fn yield_now() {
    if on_own_thread() {
        std::thread::yield_now();
    } else {
        tokio::task::yield_now().await;
    }
}

/// Lets a stage this task has just woken start on another scheduler thread while this task
/// goes on handling. tokio runs a task woken by the running task next on the same thread, from
/// its LIFO slot, which no other thread may take: a producer woken by a consumer's refill would
/// wait there until the consumer's poll ends, after the rest of its message, however long that
/// takes (GenStage's producer, a process of its own, runs at once). Waking one more task, a
/// [`Bumper`] that does nothing, moves the woken stage from the slot to this thread's run queue,
/// which idle threads steal from, and notifies one of them. A no-op on a thread of its own.
pub(crate) fn hand_off() {
    if on_own_thread() {
        return;
    }
    BUMPERS.with(|bumpers| {
        let mut bumpers = bumpers.borrow_mut();
        match bumpers.iter().find(|b| !b.queued.load(Relaxed)) {
            Some(b) => {
                b.queued.store(true, Relaxed);
                b.waker.wake();
            }
            // A new bumper's spawn moves the woken stage the same way.
            None if bumpers.len() < MAX_BUMPERS => {
                let b = Arc::new(Bumper::default());
                b.queued.store(true, Relaxed);
                if let Ok(h) = tokio::runtime::Handle::try_current() {
                    h.spawn(bump(b.clone()));
                    bumpers.push(b);
                }
            }
            None => {}
        }
    });
}

/// Most bumpers a scheduler thread keeps (each hand-off uses one that is not queued already).
const MAX_BUMPERS: usize = 8;

/// A task that does nothing when woken: see [`hand_off`].
#[derive(Debug, Default)]
struct Bumper {
    /// Woken and not yet polled: waking it again would not move anything.
    queued: std::sync::atomic::AtomicBool,
    waker: atomic_waker::AtomicWaker,
}

thread_local! {
    /// The bumpers this scheduler thread has spawned.
    static BUMPERS: std::cell::RefCell<Vec<Arc<Bumper>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A bumper's task: waits to be woken, forever (it ends with the scheduler).
async fn bump(b: Arc<Bumper>) {
    std::future::poll_fn(|cx| {
        b.waker.register(cx.waker());
        b.queued.store(false, Relaxed);
        Poll::<()>::Pending
    })
    .await
}

/// Puts the task at the back of its scheduler thread's run queue, which idle scheduler threads
/// steal from (one of them is notified). The task wakes itself and returns `Pending` once:
/// tokio queues a task woken during its own poll as a yield. (`tokio::task::yield_now` instead
/// keeps the task aside until this thread runs out of work, where no other thread can take
/// it: a producer yielding there would wait for as long as the consumer run after it keeps the
/// thread, with the consumer's refill unanswered.)
async fn requeue() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Events a stage handles between turns it gives to others on the scheduler, like the BEAM's
/// reductions: tasks are not preempted, so a stage with a full mailbox yields now and then.
pub const REDUCTIONS: u32 = 2000;

/// Counts a stage's work and gives others a turn every [`REDUCTIONS`] units of it.
#[derive(Debug, Default)]
pub struct Reductions(u32);

impl Reductions {
    /// Spends `n` units; yields (on the scheduler only) once the budget is used up.
    #[inline]
    pub async fn spend(&mut self, n: u32) {
        self.0 += n;
        if self.0 >= REDUCTIONS {
            self.0 = 0;
            if !on_own_thread() {
                requeue().await;
            }
        }
    }
}

/// A running stage; [`Worker::join`] waits for its result.
#[derive(Debug)]
pub struct Worker<T> {
    name: String,
    result: crossbeam_channel::Receiver<Option<T>>,
}

impl<T> Worker<T> {
    /// The stage name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for the stage to end; `None` if it failed (the failure is in the run's errors).
    /// Call it from outside the stages (a stage that joins another would hold its scheduler).
    pub fn join(self) -> Option<T> {
        self.result.recv().ok().flatten()
    }
}

/// Runs a run's stages on the chosen [`Runtime`]. The scheduler's threads are started with the
/// first stage and stopped by [`Executor::shutdown`] (or when the executor is dropped).
#[derive(Debug)]
pub struct Executor {
    runtime: Runtime,
    schedulers: usize,
    tokio: Mutex<Option<tokio::runtime::Runtime>>,
    handle: OnceLock<tokio::runtime::Handle>,
    scheduler_tids: Arc<Mutex<Vec<i32>>>,
    /// Context switches of stage threads and scheduler threads that have ended.
    switches: Arc<AtomicU64>,
    /// CPU time of the scheduler threads when they were stopped (ns).
    scheduler_cpu_at_shutdown: AtomicU64,
}

impl Executor {
    /// An executor of `runtime` with `schedulers` scheduler threads (at least 1; unused with
    /// `threads`).
    pub fn new(runtime: Runtime, schedulers: usize) -> Self {
        Self {
            runtime,
            schedulers: schedulers.max(1),
            tokio: Mutex::new(None),
            handle: OnceLock::new(),
            scheduler_tids: Arc::new(Mutex::new(Vec::new())),
            switches: Arc::new(AtomicU64::new(0)),
            scheduler_cpu_at_shutdown: AtomicU64::new(0),
        }
    }

    /// Which runtime it is.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// Scheduler threads (used with the `scheduler` runtime).
    pub fn schedulers(&self) -> usize {
        self.schedulers
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.handle.get_or_init(|| {
            let next = Arc::new(AtomicUsize::new(1));
            let tids = self.scheduler_tids.clone();
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            // Only for measuring: with `RUSTFLAGS="--cfg tokio_unstable"` every woken task goes
            // to the stealable run queue. The default build needs no flag ([`hand_off`]).
            #[cfg(tokio_unstable)]
            builder.disable_lifo_slot();
            let rt = builder
                .worker_threads(self.schedulers)
                .thread_name_fn(move || format!("scheduler {}", next.fetch_add(1, Relaxed)))
                .on_thread_start(move || {
                    // SAFETY: gettid has no preconditions.
                    tids.lock().push(unsafe { libc::gettid() });
                })
                .enable_time()
                .build()
                .expect("starting the scheduler threads");
            let handle = rt.handle().clone();
            *self.tokio.lock() = Some(rt);
            handle
        })
    }

    /// Starts `stage` for `probe`. A panic inside it ends the stage: `on_panic` gets the
    /// panic's message and [`Worker::join`] gives `None`.
    pub fn spawn<T: Send + 'static>(
        &self,
        probe: Arc<StageProbe>,
        stage: impl Future<Output = T> + Send + 'static,
        on_panic: impl FnOnce(String) + Send + 'static,
    ) -> Worker<T> {
        let (tx, result) = crossbeam_channel::bounded(1);
        let name = probe.name.clone();
        let task = {
            let probe = probe.clone();
            async move {
                probe.set_state(StageState::Running);
                let out = Probed::new(probe.clone(), stage).await;
                probe.set_state(StageState::Done);
                let _ = tx.send(out.map_err(on_panic).ok());
            }
        };
        match self.runtime {
            Runtime::Scheduler => {
                self.handle().spawn(task);
            }
            Runtime::Threads => {
                let switches = self.switches.clone();
                std::thread::Builder::new()
                    .name(name.clone())
                    .spawn(move || {
                        probe.bind_current_thread();
                        OWN_THREAD.with(|c| c.set(true));
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_time()
                            .build()
                            .expect("starting a stage thread's runtime");
                        rt.block_on(task);
                        if let Some(s) = thread_sched(probe.tid()) {
                            probe.record_switches(s.switches);
                            switches.fetch_add(s.switches, Relaxed);
                        }
                    })
                    .expect("spawning a stage thread");
            }
        }
        Worker { name, result }
    }

    /// The scheduler threads' OS ids, in the order they started (empty before the first task
    /// and with `threads`).
    pub fn scheduler_tids(&self) -> Vec<i32> {
        self.scheduler_tids.lock().clone()
    }

    /// Cumulative busy time of each scheduler thread (empty with `threads`, or before the first
    /// stage started): utilisation is its change over a sampling interval.
    pub fn scheduler_busy(&self) -> Vec<Duration> {
        match self.handle.get() {
            Some(h) => {
                let m = h.metrics();
                (0..m.num_workers())
                    .map(|i| m.worker_total_busy_duration(i))
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// Context switches of the run's threads so far: every stage thread that has ended, and the
    /// scheduler threads (read now).
    pub fn context_switches(&self) -> u64 {
        let schedulers: u64 = self
            .scheduler_tids
            .lock()
            .iter()
            .filter_map(|&t| thread_sched(t))
            .map(|s| s.switches)
            .sum();
        self.switches.load(Relaxed) + schedulers
    }

    /// CPU time the scheduler threads have used (ns): what the run's tasks cost on the
    /// scheduler, polls and the runtime's own work together.
    pub fn scheduler_cpu_ns(&self) -> u64 {
        let tids = self.scheduler_tids.lock();
        if tids.is_empty() {
            return self.scheduler_cpu_at_shutdown.load(Relaxed);
        }
        tids.iter()
            .filter_map(|&t| thread_sched(t))
            .map(|s| s.cpu_ns)
            .sum()
    }

    /// Stops the scheduler threads (stages still running are dropped). Called by the run
    /// controller once every stage has been joined.
    pub fn shutdown(&self) {
        let switches = self.context_switches();
        let cpu = self.scheduler_cpu_ns();
        if let Some(rt) = self.tokio.lock().take() {
            self.switches.store(switches, Relaxed);
            self.scheduler_cpu_at_shutdown.store(cpu, Relaxed);
            self.scheduler_tids.lock().clear();
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                drop(rt);
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(rt) = self.tokio.get_mut().take() {
            // Possibly on one of its own threads (the last stage dropping the run): never wait.
            rt.shutdown_background();
        }
    }
}

/// Polls taken between two timed ones when polls are short; long polls are all timed (their
/// clock reads cost nothing next to them).
pub(crate) const TIME_ONE_POLL_IN: u32 = 16;
/// A timed poll longer than this makes the next poll timed too.
pub(crate) const LONG_POLL: Duration = Duration::from_micros(20);

/// Records when a stage's task was woken, for the sampled scheduled-wait time.
struct WakeStamp {
    origin: Instant,
    woken_at_ns: AtomicU64,
    /// What the measured wake-up stands for (the sampling factor when it was armed).
    scale: AtomicU32,
    inner: Mutex<Option<Waker>>,
}

impl Wake for WakeStamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let now = (self.origin.elapsed().as_nanos() as u64).max(1);
        let _ = self.woken_at_ns.compare_exchange(0, now, Relaxed, Relaxed);
        if let Some(w) = self.inner.lock().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// A stage's future with its probe: counts polls, times a sample of them, turns a panic into an
/// error message.
struct Probed<F> {
    fut: Pin<Box<F>>,
    probe: Arc<StageProbe>,
    stamp: Arc<WakeStamp>,
    polls: u32,
    every: u32,
}

impl<F: Future> Probed<F> {
    fn new(probe: Arc<StageProbe>, fut: F) -> Self {
        Self {
            fut: Box::pin(fut),
            probe,
            stamp: Arc::new(WakeStamp {
                origin: Instant::now(),
                woken_at_ns: AtomicU64::new(0),
                scale: AtomicU32::new(1),
                inner: Mutex::new(None),
            }),
            polls: 0,
            every: 1,
        }
    }
}

/// The message of a caught panic.
fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

impl<F: Future> Future for Probed<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let probe = &*this.probe;
        probe.add_poll();
        if this.stamp.woken_at_ns.load(Relaxed) != 0 {
            let woken = this.stamp.woken_at_ns.swap(0, Relaxed);
            let now = this.stamp.origin.elapsed().as_nanos() as u64;
            let scale = this.stamp.scale.load(Relaxed) as u64;
            probe.add_sched_wait_ns(now.saturating_sub(woken) * scale);
        }
        this.polls = this.polls.wrapping_add(1);
        let fut = this.fut.as_mut();
        let out = if this.polls.is_multiple_of(this.every) {
            // A timed poll: its wake-up is stamped too.
            *this.stamp.inner.lock() = Some(cx.waker().clone());
            this.stamp.scale.store(this.every, Relaxed);
            let waker = Waker::from(this.stamp.clone());
            let mut stamped = Context::from_waker(&waker);
            let start = Instant::now();
            let out =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(&mut stamped)));
            let took = start.elapsed();
            probe.add_busy_ns(took.as_nanos() as u64 * this.every as u64);
            this.every = if took > LONG_POLL {
                1
            } else {
                TIME_ONE_POLL_IN
            };
            this.polls = 0;
            out
        } else {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx)))
        };
        match out {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic_message(panic))),
        }
    }
}
