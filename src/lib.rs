//! palavriado: count the words of a corpus eagerly, lazily, pushed or pulled on demand, and watch
//! what each way does to memory, CPU and queues.
//!
//! The engine (this library) has no UI dependency: [`corpus`] finds and streams text, [`words`]
//! is the talk's tokenizer, [`stage`] is the demand-driven stage runtime whose stages run as tasks
//! on an M:N scheduler or on threads ([`executor`]), [`strategy`] holds the five ways of counting, [`probe`] measures them,
//! and [`run`] starts, stops and reports a run. The CLI and the desktop app are thin front ends.

pub mod benchmark;
pub mod cli;
pub mod control;
pub mod corpus;
pub mod counts;
pub mod diagnosis;
pub mod doorbell;
pub mod event;
pub mod executor;
pub mod flow;
pub mod format;
pub mod live;
pub mod mailbox;
pub mod probe;
pub mod profiler;
pub mod recording;
#[cfg(feature = "gui")]
pub mod reproduce;
pub mod run;
pub mod run_event;
pub mod scenario;
pub mod stage;
pub mod strategy;
#[cfg(feature = "gui")]
pub mod ui;
pub mod words;

pub use control::{Pipeline, PipelineBuilder, RunControl, StopReason};
pub use corpus::{Corpus, CorpusError};
pub use counts::WordCounts;
pub use executor::Runtime;
pub use flow::Flow;
pub use profiler::{Profiler, ProfilerBuilder};
pub use run::{Run, RunReport, RunSettings};
pub use stage::{
    Consumer, Dispatch, Event, Handler, Producer, ProducerConsumer, SubscribeError, Subscription,
    Worker,
};
pub use strategy::Strategy;
pub use words::SplitMode;
