//! Sharded, a reference rather than one of the talk's five: `workers` threads, each counting its
//! own share of the files (every `workers`-th file) into its own map, with no stages and no
//! messages; the maps are merged at the end. It is what a hand-written parallel count costs, so
//! `palavriado bench` can show what each pipeline design adds on top of it.

use super::{Job, count_share};
use crate::wordcount::counts::WordCounts;

pub(super) fn run(job: &Job) -> WordCounts {
    let shares = job.workers.max(1);
    let workers: Vec<_> = (0..shares)
        .map(|share| count_share(job, format!("worker {}", share + 1), share, shares))
        .collect();
    workers.into_iter().filter_map(|w| w.join()).collect()
}
