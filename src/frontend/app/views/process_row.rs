//! One stage as a row of the Processes table (and a box of the Pipeline): its counters and
//! the rates and shares read from the run's chart data.

use crate::frontend::app::chart_data::ChartData;
use crate::observe::series::{self, StageMetric};
use crate::runtime::probe::{StageSnapshot, StageState, TimeShares};

/// One row of the Processes table.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRow {
    /// The stage's counters.
    pub stage: StageSnapshot,
    /// Events handled per second: over the last second while running, the mean once done.
    pub events_per_s: f64,
    /// CPU time of its thread (ms).
    pub cpu_ms: f64,
    /// Times per second its thread was switched in (newest sample): the cost of hand-overs.
    pub switches_per_s: f64,
    /// Polls of its task per second (newest sample).
    pub polls_per_s: f64,
    /// Time it was ready but waited for a scheduler (ms).
    pub sched_wait_ms: f64,
    /// Where its time went: over the last second while running, over the whole run once done.
    pub time: TimeShares,
    /// Median and 99th percentile time in its mailbox over the last second (µs).
    pub mailbox_wait_us: Option<(f64, f64)>,
}

impl ProcessRow {
    /// Rows for every stage, with rates from the chart data.
    pub fn collect(stages: Vec<StageSnapshot>, data: &ChartData) -> Vec<ProcessRow> {
        stages
            .into_iter()
            .map(|stage| ProcessRow {
                // A finished stage shows its mean rate; a running one its rate over the last
                // second (steadier than one sample's).
                events_per_s: if stage.state == StageState::Done {
                    data.mean_rate_to_final(&series::stage(&stage.name, StageMetric::In))
                } else {
                    data.rate_over(&series::stage(&stage.name, StageMetric::In), 1.0)
                }
                // A fleet read from Prometheus has the rate itself, not the count.
                .or_else(|| {
                    data.mean_over(
                        &series::stage(&stage.name, StageMetric::InPerS),
                        data.duration(),
                    )
                })
                .unwrap_or(0.0),
                cpu_ms: data
                    .last(&series::stage(&stage.name, StageMetric::CpuMs))
                    .unwrap_or(0.0),
                switches_per_s: data
                    .last(&series::stage(&stage.name, StageMetric::SwitchesPerS))
                    .unwrap_or(0.0),
                polls_per_s: data
                    .last(&series::stage(&stage.name, StageMetric::PollsPerS))
                    .unwrap_or(0.0),
                sched_wait_ms: stage.sched_wait_ns as f64 / 1e6,
                // A tokio program's task beyond those charted has no series: its whole life.
                time: if stage.state == StageState::Done
                    || (stage.task.is_some()
                        && data
                            .column(&series::stage(&stage.name, StageMetric::BusyPerS))
                            .is_none())
                {
                    stage.times.shares()
                } else {
                    let share = |m| {
                        data.mean_over(&series::stage(&stage.name, m), 1.0)
                            .unwrap_or(0.0)
                            / 1e3
                    };
                    TimeShares {
                        busy: share(StageMetric::BusyPerS),
                        backpressured: share(StageMetric::BackpressuredPerS),
                        idle: share(StageMetric::IdlePerS),
                        sleeping: share(StageMetric::SleepingPerS),
                    }
                },
                mailbox_wait_us: data
                    .last(&series::stage(&stage.name, StageMetric::MailboxP50Us))
                    .zip(data.last(&series::stage(&stage.name, StageMetric::MailboxP99Us))),
                stage,
            })
            .collect()
    }
}
