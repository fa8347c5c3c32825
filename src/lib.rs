//! palavriado: see backpressure. A demand-driven stage runtime (GenStage's model, stages as
//! tasks on an M:N scheduler or a thread each), and a profiler that samples any pipeline built
//! on it — where each stage's time goes, its queue, memory, CPU — records it, serves it live to
//! the `palavriado` app, and says where the backpressure is.
//!
//! A program profiling its own pipeline: a [`Profiler`], stages made with its [`Pipeline`],
//! subscriptions with GenStage's demand, then the report.
//!
//! ```
//! use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Profiler, Subscription};
//!
//! let profiler = Profiler::new("squares").sample_hz(100).start()?;
//! let pipeline = profiler.pipeline();
//! let mut numbers = Producer::from_iter(pipeline, "numbers", 1..=10_000u64, Dispatch::Demand);
//! let mut squares = ProducerConsumer::new(
//!     pipeline,
//!     "squares",
//!     |n: u64, out: &mut Vec<u64>| out.push(n * n),
//!     Dispatch::Demand,
//! );
//! squares.subscribe(&mut numbers, Subscription::new().max_demand(100))?;
//! let mut sum = Consumer::new(pipeline, "sum", 0u64, |total: &mut u64, n: u64| *total += n);
//! sum.subscribe(&mut squares, Subscription::new().max_demand(100))?;
//! let (numbers, squares) = (numbers.start(), squares.start());
//! assert_eq!(sum.start().join(), Some(333_383_335_000));
//! numbers.join();
//! squares.join();
//!
//! let report = profiler.finish()?;
//! let stage = report.stages().iter().find(|s| s.name == "squares").unwrap();
//! assert_eq!((stage.events_in, stage.events_out), (10_000, 10_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`ProfilerBuilder::record_to`] writes the run to a file the app and `palavriado show` open
//! ([`Recording`]); [`ProfilerBuilder::serve`] serves it live to `palavriado attach` (or
//! [`Attachment`]). [`Flow`] builds the same pipelines from `map`, `partition` and `reduce`;
//! [`Profiler::channel`] instruments a channel between threads of your own. The talk's word
//! count ([`Run`], [`wordcount`]) is written with the same API.

// Without the front ends, the parts of the library only they use are unused.
#![cfg_attr(not(feature = "cli"), allow(dead_code))]

// The layers, each importing only from those below it (see docs/architecture.md).
mod observe;
mod runtime;
pub mod wordcount;

/// The binary's front ends (command line, app, benchmarks, slides): not part of the API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod frontend;

#[cfg(test)]
mod tests;

// A pipeline of stages (GenStage's model) and where it runs.
pub use runtime::control::{Pipeline, PipelineBuilder};
pub use runtime::event::Event;
pub use runtime::executor::{Runtime, Worker};
pub use runtime::flow::Flow;
pub use runtime::stage::{
    Consumer, Dispatch, Handler, Producer, ProducerConsumer, SubscribeError, Subscription,
};

// A program's own tasks and threads as stages, joined by the channels they already use.
pub use runtime::own::stage::{InStage, StageGuard, StageHandle};

/// Instrumented channels: tokio's `mpsc` ([`channel::mpsc`]), crossbeam's
/// ([`channel::crossbeam`]) and the standard library's ([`channel::std_mpsc`]), the same channels
/// with the same methods, counted in place.
pub mod channel {
    pub use crate::runtime::own::counting::Named;
    pub use crate::runtime::own::crossbeam;
    pub use crate::runtime::own::mpsc;
    pub use crate::runtime::own::std_mpsc;
}

// What every stage and channel counts, live.
pub use runtime::mailbox::{MailboxReceiver as Receiver, MailboxSender as Sender, TryReceived};
pub use runtime::probe::heap::CountingAlloc;
pub use runtime::probe::{StageKind, StageProbe, StageSnapshot, StageState, TaskDetail};
pub use runtime::run_event::StopReason;
pub use runtime::unknown_name::UnknownName;

// Profiling a program: sampling, reports, recordings, serving and attaching.
pub use observe::diagnosis::{Diagnosis, DiagnosisKind};
pub use observe::error::Error;
#[cfg(feature = "fleet")]
pub use observe::fleet::FleetQuery;
pub use observe::live::{Attachment, Ended, Group, wire::DEFAULT_ADDR};
pub use observe::profiler::{Profiler, ProfilerBuilder};
pub use observe::program_report::ProgramReport;
pub use observe::recording::Recording;
pub use observe::run::{RunReport, StageReport};
pub use observe::timeline::Timeline;
pub use runtime::run_event::{RunEvent, RunEventKind};

// The talk's word count, run and observed (its parts are in [`wordcount`]).
pub use observe::run::{MemoryLimit, Run, RunSettings};
