//! The five ways of counting: Eager, Lazy, Push, Pull and Flow (the talk's modules).

mod eager;
mod flow;
mod lazy;
mod pull;
mod push;
mod sharded;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::runtime::control::{Pipeline, RunControl};
use crate::runtime::executor::{Reductions, Worker};
use crate::runtime::pacing::Pacer;
use crate::runtime::probe::StageKind;
use crate::runtime::unknown_name::UnknownName;
use crate::wordcount::corpus::Corpus;
use crate::wordcount::counts::WordCounts;
use crate::wordcount::words::SplitMode;

/// A way of counting the words of a corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Read every file whole, then extract, then reduce (`Palavriado.Eager`).
    Eager,
    /// Stream lines through extract and reduce on one thread (`Palavriado.Lazy`).
    Lazy,
    /// Workers with unbounded mailboxes, one message per word (`Palavriado.Push`).
    Push,
    /// Demand-driven stages, GenStage-style, `max_demand` 10 (`Palavriado.Pull`).
    Pull,
    /// The high-level Flow API over the stage runtime (`Palavriado.Flow`).
    Flow,
    /// A reference, not one of the talk's five: each worker counts its own share of the files,
    /// with no stages and no messages (the speed the pipelines are measured against).
    Sharded,
    /// Not a way of counting: a pipeline of the user's own program, instrumented with this
    /// library's [`crate::observe::profiler::Profiler`] and watched live or from its recording.
    Program,
}

impl Strategy {
    /// All strategies, in the talk's order.
    pub const ALL: [Strategy; 5] = [
        Strategy::Eager,
        Strategy::Lazy,
        Strategy::Push,
        Strategy::Pull,
        Strategy::Flow,
    ];

    /// The reference the benchmark measures the talk's strategies against.
    pub const REFERENCE: Strategy = Strategy::Sharded;

    /// The talk's strategies and the reference: everything `run --strategy` accepts.
    pub const RUNNABLE: [Strategy; 6] = [
        Strategy::Eager,
        Strategy::Lazy,
        Strategy::Push,
        Strategy::Pull,
        Strategy::Flow,
        Strategy::REFERENCE,
    ];

    /// The name with a capital, for buttons and headings.
    pub fn title(self) -> &'static str {
        match self {
            Strategy::Eager => "Eager",
            Strategy::Lazy => "Lazy",
            Strategy::Push => "Push",
            Strategy::Pull => "Pull",
            Strategy::Flow => "Flow",
            Strategy::Sharded => "Sharded",
            Strategy::Program => "Program",
        }
    }

    /// The CLI and JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Eager => "eager",
            Strategy::Lazy => "lazy",
            Strategy::Push => "push",
            Strategy::Pull => "pull",
            Strategy::Flow => "flow",
            Strategy::Sharded => "sharded",
            Strategy::Program => "program",
        }
    }

    /// A one-line explanation for menus and help.
    pub fn describe(self) -> &'static str {
        match self {
            Strategy::Eager => {
                "Read every file whole into memory, then extract and count: memory climbs to hold the corpus."
            }
            Strategy::Lazy => {
                "Stream lines one at a time through extract and count on one thread: memory stays flat."
            }
            Strategy::Push => {
                "Workers with unbounded mailboxes, one message per word: fast, but queues explode when workers lag."
            }
            Strategy::Pull => {
                "Demand-driven stages (GenStage): consumers ask for 10 events at a time, queues stay tiny."
            }
            Strategy::Flow => {
                "The same demand-driven pipeline through a high-level Flow API, with batches of 1000."
            }
            Strategy::Sharded => {
                "Reference: each worker counts its own share of the files, no stages, no messages."
            }
            Strategy::Program => {
                "A program of your own, instrumented with palavriado's profiler: its stages, its mailboxes."
            }
        }
    }

    /// Default `max_demand` of its subscriptions, for the demand-driven strategies.
    pub fn default_max_demand(self) -> Option<usize> {
        match self {
            Strategy::Pull => Some(10),
            Strategy::Flow => Some(1000),
            _ => None,
        }
    }

    /// True when its stages hand events over on demand (the Pipeline view draws demand
    /// arrows): Pull and Flow, and a program's own stages (the stage runtime's protocol).
    pub fn uses_demand(self) -> bool {
        self.default_max_demand().is_some() || self == Strategy::Program
    }

    /// Runs the strategy to completion or until `job.ctl` is stopped; returns the counts so far.
    pub fn run(self, job: &Job) -> WordCounts {
        match self {
            Strategy::Eager => eager::run(job),
            Strategy::Lazy => lazy::run(job),
            Strategy::Push => push::run(job),
            Strategy::Pull => pull::run(job),
            Strategy::Flow => flow::run(job),
            Strategy::Sharded => sharded::run(job),
            Strategy::Program => {
                job.ctl.fail(
                    "a program's pipeline runs inside that program: attach to it, or open its recording"
                        .into(),
                );
                WordCounts::new()
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::RUNNABLE
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                UnknownName::new("strategy", s, "eager, lazy, push, pull, flow (or sharded)")
            })
    }
}

/// Everything a strategy needs to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// What to count.
    pub corpus: Arc<Corpus>,
    /// Shared stop signal, delay, progress and probes.
    pub ctl: Arc<RunControl>,
    /// How lines are split into words.
    pub split: SplitMode,
    /// Worker count for the concurrent strategies (≥ 1).
    pub workers: usize,
    /// `max_demand` of the demand-driven strategies (≥ 1).
    pub max_demand: usize,
}

impl Job {
    /// The run's pipeline, to make stages and read the corpus with.
    fn pipeline(&self) -> Pipeline {
        Pipeline::of(&self.ctl)
    }
}

/// Words a counting stage counts between updates of the shared progress counter.
const PROGRESS_WORDS: u64 = 1024;

/// Counts one word that carries its hash, publishing progress (words counted, for the live
/// words/s) every [`PROGRESS_WORDS`] words of this map; the run stores the exact total at the end.
#[inline]
fn count_word(ctl: &RunControl, counts: &mut WordCounts, word: &crate::wordcount::words::Word) {
    counts.add_word(word);
    publish_counted(ctl, counts.total() - 1, counts.total());
}

/// Adds to the shared words-counted progress the whole [`PROGRESS_WORDS`] steps a map's total
/// crossed going from `before` to `after` (so threads counting at once rarely touch it).
#[inline]
fn publish_counted(ctl: &RunControl, before: u64, after: u64) {
    let steps = after / PROGRESS_WORDS - before / PROGRESS_WORDS;
    if steps > 0 {
        ctl.progress
            .words_counted
            .fetch_add(steps * PROGRESS_WORDS, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts a stage `name` that counts share `share` of `shares` of the corpus's files (every file
/// when `shares` is 1) as one task, the single-process loop of Lazy and Sharded.
fn count_share(job: &Job, name: String, share: usize, shares: usize) -> Worker<WordCounts> {
    let probe = job.ctl.register_stage(name, StageKind::Consumer);
    let job = job.clone();
    job.ctl.clone().spawn(probe.clone(), async move {
        let mut counts = WordCounts::new();
        let mut scratch = String::new();
        let mut pacer = Pacer::new();
        let mut reductions = Reductions::default();
        for line in job.corpus.lines_share(&job.pipeline(), share, shares) {
            pacer.pause(&job.ctl, &probe).await;
            extract_into(&job, &probe, &line, &mut scratch, &mut counts);
            reductions.spend(1).await;
        }
        counts
    })
}

/// Extracts the words of `text` into `counts`; the hot loop shared by the single-process
/// strategies (the caller waits the simulated delay first). Returns the number of words counted.
fn extract_into(
    job: &Job,
    probe: &crate::runtime::probe::StageProbe,
    text: &str,
    scratch: &mut String,
    counts: &mut WordCounts,
) -> u64 {
    let before = counts.total();
    job.split.for_each_word(text, scratch, |w| counts.add(w));
    let n = counts.total() - before;
    probe.add_in(1);
    probe.add_out(n);
    publish_counted(&job.ctl, before, counts.total());
    n
}
