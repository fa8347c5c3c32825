//! What an export draws: a slide of charts, one chart, a view.

use super::charts::LoadChart;

/// What to draw into an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Picture {
    /// The three Load charts (observer's Load Charts tab): a "stats" slide.
    Stats,
    /// One Load chart.
    Chart(LoadChart),
    /// Mailbox lengths over time.
    Queues,
    /// The Processes table sorted by MsgQ (observer's Processes tab): a "msgq" slide.
    Processes,
    /// The pipeline diagram.
    Pipeline,
    /// Totals and top words.
    Results,
}

impl Picture {
    /// File-name suffix (`stats`, `msgq` …).
    pub fn slug(&self) -> &'static str {
        match self {
            Picture::Stats => "stats",
            Picture::Chart(c) => c.slug(),
            Picture::Queues => "queues",
            Picture::Processes => "msgq",
            Picture::Pipeline => "pipeline",
            Picture::Results => "results",
        }
    }
}
