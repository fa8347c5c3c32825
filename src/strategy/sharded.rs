//! Sharded, a reference rather than one of the talk's five: `workers` threads, each counting its
//! own share of the files (every `workers`-th file) into its own map, with no stages and no
//! messages; the maps are merged at the end. It is what a hand-written parallel count costs, so
//! `palavriado bench` can show what each pipeline design adds on top of it.

use super::{Job, extract_into};
use crate::counts::WordCounts;
use crate::probe::StageKind;

pub(super) fn run(job: &Job) -> WordCounts {
    let shares = job.workers.max(1);
    let workers: Vec<_> = (0..shares)
        .map(|share| {
            let probe = job
                .ctl
                .register_stage(format!("worker {}", share + 1), StageKind::Consumer);
            let job = job.clone();
            job.ctl.clone().spawn(probe.clone(), move || {
                let mut counts = WordCounts::new();
                let mut scratch = String::new();
                for line in job.corpus.lines_share(job.ctl.clone(), share, shares) {
                    extract_into(&job, &probe, &line, &mut scratch, &mut counts);
                }
                counts
            })
        })
        .collect();
    let mut total = WordCounts::new();
    for w in workers {
        if let Some(counts) = w.join() {
            total.merge(counts);
        }
    }
    total
}
