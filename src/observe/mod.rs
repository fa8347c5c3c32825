//! Observation: the sampler reads the runtime's probes and the OS into a timeline; above it,
//! the watch enforces limits and runs the diagnoses; reports, recordings, live serving and the
//! [`crate::Profiler`] a program links; and the talk's observed run of the word count.

pub mod console;
pub mod diagnosis;
pub mod error;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod format;
pub mod live;
pub mod metrics;
pub mod profiler;
pub mod program_report;
pub mod recording;
pub mod run;
pub mod sampler;
pub mod series;
pub mod timeline;
pub mod watch;
