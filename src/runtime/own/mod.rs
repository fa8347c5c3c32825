//! A program's own tasks and threads as stages, and the channels they already use,
//! instrumented in place: tokio's `mpsc` and crossbeam's channels with the same methods and
//! behaviour (and std's), each a queue the views show between the stages at its ends.

pub mod counting;
pub mod crossbeam;
pub mod mpsc;
pub mod stage;
pub mod std_mpsc;
