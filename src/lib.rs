//! palavriado: count the words of a corpus eagerly, lazily, pushed or pulled on demand, and watch
//! what each way does to memory, CPU and queues.
//!
//! The engine (this library) has no UI dependency: [`corpus`] finds and streams text, [`words`]
//! is the talk's tokenizer, [`stage`] is the demand-driven stage runtime whose stages run as tasks
//! on an M:N scheduler or on threads ([`executor`]), [`strategy`] holds the five ways of counting, [`probe`] measures them,
//! and [`run`] starts, stops and reports a run. The CLI and the desktop app are thin front ends.

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

// What every stage and channel counts, live.
pub use runtime::mailbox::{MailboxReceiver as Receiver, MailboxSender as Sender, Received};
pub use runtime::probe::heap::CountingAlloc;
pub use runtime::probe::{StageKind, StageProbe, StageSnapshot, StageState};
pub use runtime::run_event::StopReason;

// Profiling a program: sampling, reports, recordings, serving and attaching.
pub use observe::diagnosis::{Diagnosis, DiagnosisKind};
pub use observe::error::Error;
pub use observe::live::{Attachment, Ended, wire::DEFAULT_ADDR};
pub use observe::profiler::{Profiler, ProfilerBuilder};
pub use observe::recording::Recording;
pub use observe::run::{RunReport, StageReport};
pub use observe::timeline::Timeline;
pub use runtime::run_event::{RunEvent, RunEventKind};

// The talk's word count, run and observed (its parts are in [`wordcount`]).
pub use observe::run::{MemoryLimit, Run, RunSettings};
