//! Probes: live counters of every stage, the counting allocator, and (with the sampler) the
//! timeline the charts draw.

pub mod heap;
pub mod os;
pub mod sampler;
pub mod series;
mod stage;
pub mod timeline;

pub use stage::{
    MailboxCounters, StageKind, StageProbe, StageSnapshot, StageState, StateTimes,
    SubscriptionDemand, TimeShares, WAIT_BUCKETS, clock_ns, wait_quantile_us,
};
pub use timeline::{Row, Timeline};
