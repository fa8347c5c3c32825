//! Lazy: stream lines through extract and reduce on one thread (`Stream` in the talk).

use super::{Job, extract_into};
use crate::counts::WordCounts;
use crate::probe::StageKind;

pub(super) fn run(job: &Job) -> WordCounts {
    let probe = job.ctl.register_stage("lazy", StageKind::Consumer);
    let job = job.clone();
    let worker = job.ctl.clone().spawn(probe.clone(), move || {
        let mut counts = WordCounts::new();
        let mut scratch = String::new();
        for line in job.corpus.lines(job.ctl.clone()) {
            extract_into(&job, &probe, &line, &mut scratch, &mut counts);
        }
        counts
    });
    worker.join().unwrap_or_default()
}
