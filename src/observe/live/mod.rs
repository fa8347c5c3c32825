//! Live profiling across processes: a program instrumented with [`crate::observe::profiler::Profiler`]
//! serves its samples ([`server`]); `palavriado attach` and the app's "Attach…" follow it
//! ([`client`]), several at once ([`group`]); [`wire`] is the versioned format between them.

pub mod client;
mod connect;
pub mod group;
pub mod server;
pub mod wire;

pub use client::{Attachment, Ended};
pub use group::Group;
pub use server::Server;
