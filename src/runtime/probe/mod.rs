//! Probes: the live counters every stage and mailbox keeps (events, queue, time split, polls),
//! the counting allocator and the OS readings they are sampled with.

pub mod heap;
pub mod os;
mod stage;

pub use stage::{
    StageKind, StageProbe, StageSnapshot, StageState, StateTimes, SubscriptionDemand, TaskDetail,
    TimeShares, WAIT_BUCKETS, clock_ns, wait_bucket_upper_s, wait_bucket_us, wait_quantile_us,
};
