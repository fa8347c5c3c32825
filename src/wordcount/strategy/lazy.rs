//! Lazy: stream lines through extract and reduce on one thread (`Stream` in the talk).

use super::{Job, count_share};
use crate::wordcount::counts::WordCounts;

pub(super) fn run(job: &Job) -> WordCounts {
    count_share(job, "lazy".into(), 0, 1)
        .join()
        .unwrap_or_default()
}
