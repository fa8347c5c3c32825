//! The stage runtime: GenStage's demand-driven stages as async tasks on an M:N scheduler (or a
//! thread each), their instrumented mailboxes and doorbells, dispatchers, Flow, the pacing of
//! the simulated delay, and the probes every stage and mailbox keeps. It imports nothing above
//! it.

pub mod control;
pub mod doorbell;
pub mod event;
pub mod executor;
pub mod flow;
pub mod mailbox;
pub mod own;
pub mod pacing;
pub mod probe;
pub mod run_event;
pub mod stage;
pub mod unknown_name;
