//! Live profiling across processes: a program instrumented with [`crate::observe::profiler::Profiler`]
//! serves its samples ([`server`]); `palavriado attach` and the app's "Attach…" follow it
//! ([`client`]); [`wire`] is the versioned format between them.

pub mod client;
pub mod server;
pub mod wire;

pub use client::{Attachment, Ended};
pub use server::Server;
