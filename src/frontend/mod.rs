//! The front ends, the binary's: the command line, benchmarks, the desktop app and the talk's
//! slides (`reproduce`). Nothing below imports them. Not part of the library's API.

#[cfg(feature = "gui")]
pub mod app;
pub mod bench;
pub mod cli;
#[cfg(feature = "gui")]
pub mod reproduce;
pub mod scenario;

pub use crate::observe::format::thousands;
