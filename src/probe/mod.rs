//! Probes: live counters of every stage, the counting allocator, and (with the sampler) the
//! timeline the charts draw.

pub mod heap;
mod stage;

pub use stage::{
    MailboxCounters, StageKind, StageProbe, StageSnapshot, StageState, SubscriptionDemand,
};
