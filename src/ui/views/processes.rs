//! The Processes view: one row per stage, like observer's Processes tab.

use egui::{RichText, Ui, Vec2};

use super::columns::Column;
use super::{View, ViewAction, ViewContext};
use crate::probe::series::{self, StageMetric};
use crate::probe::{StageSnapshot, StageState, TimeShares};
use crate::ui::chart_data::ChartData;
use crate::ui::style::state_color;

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
                time: if stage.state == StageState::Done {
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

/// The sort of the Processes table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// Column sorted by.
    pub column: Column,
    /// Descending?
    pub descending: bool,
}

impl Default for Sort {
    /// MsgQ descending, like observer's default.
    fn default() -> Self {
        Sort {
            column: Column::MsgQ,
            descending: true,
        }
    }
}

/// The Processes table (sortable by clicking a header; clicking a name selects its stage).
pub fn processes_table(
    ui: &mut Ui,
    rows: &mut [ProcessRow],
    columns: &[Column],
    sort: &mut Sort,
    selected: &mut Option<String>,
) {
    rows.sort_by(|a, b| {
        let o = sort.column.compare(a, b);
        if sort.descending { o.reverse() } else { o }
    });
    if rows.is_empty() {
        ui.label("No stages yet: start a run.");
        return;
    }
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("processes")
            .striped(true)
            .spacing(Vec2::new(18.0, 6.0))
            .show(ui, |ui| {
                for &c in columns {
                    let arrow = if sort.column == c {
                        if sort.descending { " ▼" } else { " ▲" }
                    } else {
                        ""
                    };
                    let mut header = ui.add(
                        egui::Button::new(RichText::new(format!("{}{arrow}", c.title())).strong())
                            .frame(false),
                    );
                    if let Some(help) = c.help() {
                        header = header.on_hover_text(help);
                    }
                    if header.clicked() {
                        if sort.column == c {
                            sort.descending = !sort.descending;
                        } else {
                            *sort = Sort {
                                column: c,
                                descending: !matches!(
                                    c,
                                    Column::Name | Column::Kind | Column::State
                                ),
                            };
                        }
                    }
                }
                ui.end_row();
                for r in rows.iter() {
                    for &c in columns {
                        let text = c.cell(r);
                        match c {
                            Column::Name => {
                                let on = selected.as_deref() == Some(text.as_str());
                                if ui.selectable_label(on, &text).clicked() {
                                    *selected = (!on).then_some(text);
                                }
                            }
                            Column::Kind => {
                                ui.label(text);
                            }
                            Column::State => {
                                ui.label(RichText::new(text).color(state_color(r.stage.state)));
                            }
                            _ => {
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| {
                                        ui.label(RichText::new(text).monospace());
                                    },
                                );
                            }
                        }
                    }
                    ui.end_row();
                }
            });
    });
}

/// The Processes view; keeps its sort.
#[derive(Debug, Default)]
pub struct ProcessesView {
    /// How the table is sorted.
    pub sort: Sort,
}

impl View for ProcessesView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let mut rows = ProcessRow::collect(cx.run.stages(), &cx.run.data);
        processes_table(ui, &mut rows, &Column::ALL, &mut self.sort, cx.selected);
        None
    }
}
