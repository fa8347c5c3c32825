//! Stages that are a program's own threads and tasks: a named [`StageHandle`] whose time the
//! instrumented channels split into busy, backpressured (a send waits on a full channel) and idle
//! (a receive waits on an empty one).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::runtime::control::{Pipeline, RunControl};
use crate::runtime::executor::{LONG_POLL, TIME_ONE_POLL_IN};
use crate::runtime::probe::{StageProbe, StageState, clock_ns};

thread_local! {
    /// The stage the calling thread runs as: set by a [`StageGuard`] for its life, or by an
    /// [`InStage`] for the length of one poll. Null: none.
    static CURRENT: Cell<*const StageProbe> = const { Cell::new(ptr::null()) };
    /// The stage a named thread without a handle shows as (its control block's address, the
    /// stage).
    static THREAD_STAGE: RefCell<Option<ThreadStage>> = const { RefCell::new(None) };
    /// The calling thread's id, read once.
    static TID: i32 = {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    };
}

/// A stage of a program's own — a thread or a task — made by [`crate::Profiler::stage`] (or
/// [`StageHandle::new`]); cheap to clone. It shows in every view as the GenStage stages do:
/// its time split busy / backpressured / idle, events in and out, CPU.
///
/// A thread holds it with [`StageHandle::enter`]; a task's future is wrapped with
/// [`StageHandle::instrument`]. Its role (producer, consumer, both) comes from the channel ends
/// it uses. Give each thread or task a handle of its own (`"parser 1"`, `"parser 2"`…): the
/// views group numbered stages into one column.
///
/// ```
/// use palavriado::{Profiler, channel::crossbeam};
/// let profiler = Profiler::new("doc").start()?;
/// let (tx, rx) = crossbeam::bounded::<u64>(&profiler, "numbers", 16);
/// let reader = profiler.stage("reader");
/// let t = std::thread::spawn(move || {
///     let _on = reader.enter();
///     for n in 1..=100 {
///         tx.send(n).unwrap();
///     }
/// });
/// let _on = profiler.stage("sum").enter();
/// assert_eq!(rx.iter().sum::<u64>(), 5050);
/// t.join().unwrap();
/// let report = profiler.finish()?;
/// let sum = report.stages().iter().find(|s| s.name == "sum").unwrap();
/// assert_eq!(sum.events_in, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct StageHandle {
    probe: Arc<StageProbe>,
}

impl StageHandle {
    /// A new stage called `name` in `pipeline` (a [`crate::Profiler`] or a [`Pipeline`]).
    pub fn new(pipeline: &impl AsRef<Pipeline>, name: impl Into<String>) -> Self {
        Self {
            probe: own_stage(pipeline.as_ref().control(), name.into()),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.probe.name
    }

    /// Its live counters.
    pub fn probe(&self) -> &Arc<StageProbe> {
        &self.probe
    }

    /// Runs the calling thread as this stage until the guard drops: the thread's CPU is the
    /// stage's, and its channel operations count for it. The guard stays on its thread.
    #[must_use = "the thread runs as the stage only while the guard lives"]
    pub fn enter(&self) -> StageGuard {
        self.probe.bind_current_thread();
        start(&self.probe);
        StageGuard {
            probe: self.probe.clone(),
            previous: CURRENT.replace(Arc::as_ptr(&self.probe)),
            _not_send: std::marker::PhantomData,
        }
    }

    /// Runs a future (a task's body) as this stage: its channel operations count for it, and
    /// each poll is timed (the stage's CPU on a scheduler). Spawn the result.
    pub fn instrument<F: Future>(&self, future: F) -> InStage<F> {
        self.probe.mark_foreign_task();
        InStage {
            future,
            probe: self.probe.clone(),
            polls: 0,
            every: 1,
        }
    }
}

/// Registers a stage of a program's own (a handle's, a named thread's, a channel end's): its
/// role is unknown until it uses a channel.
pub(crate) fn own_stage(ctl: &RunControl, name: String) -> Arc<StageProbe> {
    let probe = ctl.register_stage(name, crate::runtime::probe::StageKind::Consumer);
    probe.forget_role();
    probe
}

/// Marks a stage running when it first runs.
fn start(probe: &StageProbe) {
    if probe.state() == StageState::Starting {
        probe.set_state(StageState::Running);
    }
}

/// The calling thread runs as a stage while this lives ([`StageHandle::enter`]).
#[derive(Debug)]
pub struct StageGuard {
    probe: Arc<StageProbe>,
    previous: *const StageProbe,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for StageGuard {
    /// The stage is done; the thread runs as whatever it ran as before.
    fn drop(&mut self) {
        CURRENT.set(self.previous);
        self.probe.set_state(StageState::Done);
    }
}

pin_project_lite::pin_project! {
    /// A future run as a stage ([`StageHandle::instrument`]).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct InStage<F> {
        #[pin]
        future: F,
        probe: Arc<StageProbe>,
        // Polls since the last timed one, and how many go between timed ones (as the stage
        // runtime does: reading the clock twice a poll would cost more than a short poll).
        polls: u32,
        every: u32,
    }
}

impl<F: Future> Future for InStage<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let probe: &StageProbe = this.probe;
        start(probe);
        let previous = CURRENT.replace(probe);
        // Restores the thread's stage even if the future panics.
        struct Restore(*const StageProbe);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.set(self.0);
            }
        }
        let _restore = Restore(previous);
        probe.add_poll();
        *this.polls += 1;
        let out = if *this.polls >= *this.every {
            let began = clock_ns();
            let out = this.future.poll(cx);
            let took = clock_ns() - began;
            probe.add_busy_ns(took * u64::from(*this.every));
            probe.note_thread(TID.with(|t| *t));
            *this.every = if took > LONG_POLL.as_nanos() as u64 {
                1
            } else {
                TIME_ONE_POLL_IN
            };
            *this.polls = 0;
            out
        } else {
            this.future.poll(cx)
        };
        if out.is_ready() {
            probe.set_state(StageState::Done);
        }
        out
    }
}

/// Runs `f` with the stage the caller runs as: its handle's, else — on a named thread outside
/// any tokio runtime — a stage named after the thread, else `fallback` (a stage named after the
/// channel end).
#[inline]
pub(crate) fn with_current<'a, R>(
    ctl: &Arc<RunControl>,
    fallback: impl FnOnce() -> &'a StageProbe,
    f: impl FnOnce(&StageProbe) -> R,
) -> R {
    let mut p = CURRENT.get();
    if p.is_null() {
        p = thread_stage(ctl, true);
    }
    if !p.is_null() {
        // SAFETY: CURRENT points at a probe an `InStage` being polled on this thread, or a
        // `StageGuard` living on it, keeps alive (both reset it before letting go); a thread's
        // own stage is kept by `ctl`, which the caller holds.
        return f(unsafe { &*p });
    }
    let stage = fallback();
    start(stage);
    f(stage)
}

/// Runs `f` with the stage that is waiting, when a wait ends: the one running here, else the
/// stage already made for the channel's end (`existing`). Makes none up: a wait a runtime drops
/// with its tasks, where no stage runs, changes nothing.
#[inline]
pub(crate) fn with_waiting(
    ctl: &Arc<RunControl>,
    existing: Option<&StageProbe>,
    f: impl FnOnce(&StageProbe),
) {
    let mut p = CURRENT.get();
    if p.is_null() {
        p = thread_stage(ctl, false);
    }
    if !p.is_null() {
        // SAFETY: as in `with_current`.
        f(unsafe { &*p });
    } else if let Some(stage) = existing {
        f(stage);
    }
}

/// The stage of a named thread of the program's own (not a tokio runtime's, where tasks move
/// between threads), registered with `ctl` the first time (when `make`); null when there is
/// none. The answer is kept per thread, so a thread that has none does not ask again on every
/// message.
fn thread_stage(ctl: &Arc<RunControl>, make: bool) -> *const StageProbe {
    let key = Arc::as_ptr(ctl) as usize;
    THREAD_STAGE.with_borrow_mut(|cached| {
        if let Some(ThreadStage(k, stage)) = cached.as_ref()
            && *k == key
        {
            return stage.as_ref().map_or(ptr::null(), Arc::as_ptr);
        }
        if !make {
            return ptr::null();
        }
        let name = std::thread::current().name().map(str::to_string);
        let stage = name
            .filter(|_| tokio::runtime::Handle::try_current().is_err())
            .map(|name| {
                let stage = own_stage(ctl, name);
                stage.bind_current_thread();
                start(&stage);
                stage
            });
        let p = stage.as_ref().map_or(ptr::null(), Arc::as_ptr);
        *cached = Some(ThreadStage(key, stage));
        p
    })
}

/// What a thread shows as when it has no handle, for a control block (its address): a stage
/// named after the thread, done when the thread ends, or none.
struct ThreadStage(usize, Option<Arc<StageProbe>>);

impl Drop for ThreadStage {
    fn drop(&mut self) {
        if let Some(stage) = &self.1 {
            stage.set_state(StageState::Done);
        }
    }
}
