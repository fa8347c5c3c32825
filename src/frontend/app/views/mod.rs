//! The app's views, one struct each behind [`View`]: Load Charts, Processes, Queues, Pipeline,
//! Results; and the strip of diagnoses above them. Views read a run through
//! [`RunEntry`](super::session::RunEntry) (live or recorded alike), never a run's control
//! block, and ask the app for anything beyond drawing with a [`ViewAction`].

mod columns;
mod diagnoses;
mod load;
mod pipeline;
mod pipeline_layout;
mod process_row;
mod processes;
mod results;

use egui::Ui;

pub use columns::Column;
pub use diagnoses::diagnosis_strip;
pub use load::{LoadView, QueuesView};
pub use pipeline::{PipelineView, pipeline};
pub use pipeline_layout::pipeline_columns;
pub use processes::{ProcessRow, ProcessesView, Sort, processes_table};
pub use results::{ResultsView, result_summary};

use super::charts::ChartOptions;
use super::picture::Picture;
use super::session::RunEntry;

/// What a view is given to draw.
#[derive(Debug)]
pub struct ViewContext<'a> {
    /// The run shown.
    pub run: &'a RunEntry,
    /// Every run of the session (Results lists and compares them).
    pub runs: &'a [RunEntry],
    /// How charts are drawn.
    pub opts: &'a ChartOptions,
    /// The stage selected in Processes and Pipeline.
    pub selected: &'a mut Option<String>,
}

/// Something a view asks the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewAction {
    /// Export this picture of the shown run as PNG.
    Export(Picture),
    /// Save run `i` of the session as a recording.
    SaveRun(usize),
}

/// One view of the central area.
pub trait View {
    /// Draws the view; returns what it asks the app to do, if anything.
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction>;
}

/// The views of the central area, as tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// CPU, memory, IO charts.
    Load,
    /// The Processes table.
    Processes,
    /// Mailbox lengths over time.
    Queues,
    /// The pipeline diagram.
    Pipeline,
    /// Totals, top words, past runs.
    Results,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Load,
        Tab::Processes,
        Tab::Queues,
        Tab::Pipeline,
        Tab::Results,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Load => "Load Charts",
            Tab::Processes => "Processes",
            Tab::Queues => "Queues",
            Tab::Pipeline => "Pipeline",
            Tab::Results => "Results",
        }
    }

    /// The picture "Export view" saves of it.
    pub fn picture(self) -> Picture {
        match self {
            Tab::Load => Picture::Stats,
            Tab::Processes => Picture::Processes,
            Tab::Queues => Picture::Queues,
            Tab::Pipeline => Picture::Pipeline,
            Tab::Results => Picture::Results,
        }
    }
}

/// Every view, each keeping its own state (sort, compared runs).
#[derive(Debug, Default)]
pub struct Views {
    /// Load Charts.
    pub load: LoadView,
    /// Processes.
    pub processes: ProcessesView,
    /// Queues.
    pub queues: QueuesView,
    /// Pipeline.
    pub pipeline: PipelineView,
    /// Results.
    pub results: ResultsView,
}

impl Views {
    /// The view of `tab`.
    pub fn get(&mut self, tab: Tab) -> &mut dyn View {
        match tab {
            Tab::Load => &mut self.load,
            Tab::Processes => &mut self.processes,
            Tab::Queues => &mut self.queues,
            Tab::Pipeline => &mut self.pipeline,
            Tab::Results => &mut self.results,
        }
    }
}
