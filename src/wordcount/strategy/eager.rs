//! Eager: read every file of the run whole into memory (all passes, like
//! `Enum.map(files, &File.read!/1)`), then extract and reduce into one map.

use super::{Job, extract_into};
use crate::runtime::pacing::Pacer;
use crate::runtime::probe::StageKind;
use crate::wordcount::counts::WordCounts;

pub(super) fn run(job: &Job) -> WordCounts {
    let probe = job.ctl.register_stage("eager", StageKind::Consumer);
    let job = job.clone();
    let worker = job.ctl.clone().spawn(probe.clone(), async move {
        let mut texts = Vec::with_capacity(job.corpus.files.len() * job.corpus.repeat as usize);
        for (pass, file) in job.corpus.passes() {
            if job.ctl.check_memory() {
                break;
            }
            if let Some(t) = job.corpus.read_file(file, pass, &job.ctl) {
                texts.push(t);
            }
        }
        let queued: u64 = texts.iter().map(|t| t.len() as u64).sum();
        probe.set_buffered(texts.len() as u64, queued);
        let mut counts = WordCounts::new();
        let mut scratch = String::new();
        let (mut files_left, mut bytes_left) = (texts.len() as u64, queued);
        let mut pacer = Pacer::new();
        for text in texts {
            if job.ctl.is_stopped() {
                break;
            }
            pacer.pause(&job.ctl, &probe).await;
            extract_into(&job, &probe, &text, &mut scratch, &mut counts);
            files_left -= 1;
            bytes_left -= text.len() as u64;
            probe.set_buffered(files_left, bytes_left);
        }
        probe.set_buffered(0, 0);
        counts
    });
    worker.join().unwrap_or_default()
}
