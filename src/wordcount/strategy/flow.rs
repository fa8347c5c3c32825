//! Flow, as the talk's five-line `Palavriado.Flow`:
//! `from_enumerable(lines) |> flat_map(&extract_words/1) |> partition() |> reduce(map, count)`,
//! written with [`crate::runtime::flow::Flow`] (one stage per worker, demand 1000/500).

use super::{Job, count_word};
use crate::runtime::flow::Flow;
use crate::wordcount::corpus::Line;
use crate::wordcount::counts::WordCounts;
use crate::wordcount::words::Word;

pub(super) fn run(job: &Job) -> WordCounts {
    let progress = job.ctl.clone();
    let pipe = job.pipeline();
    let split = job.split;
    let partials = Flow::from_iter(&pipe, job.corpus.lines(&pipe))
        .stages(job.workers.max(1))
        .max_demand(job.max_demand as u64)
        .with_simulated_delay()
        .flat_map(move |line: Line| split.into_words(line))
        .partition_by(Word::partition_key)
        .reduce(WordCounts::new, move |counts, w: Word| {
            count_word(&progress, counts, &w)
        })
        .collect();
    partials.into_iter().collect()
}
