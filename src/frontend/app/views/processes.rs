//! The Processes view: one row per stage, like observer's Processes tab.

use egui::{RichText, Ui, Vec2};

use super::columns::Column;
pub use super::process_row::ProcessRow;
use super::{View, ViewAction, ViewContext};
use crate::frontend::app::style::state_color;
use crate::observe::format::thousands;
use crate::runtime::probe::StageState;

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
    // A fleet's stages stay under their program; the sort orders each program's rows.
    rows.sort_by(|a, b| {
        let o = sort.column.compare(a, b);
        let o = if sort.descending { o.reverse() } else { o };
        a.stage.program.cmp(&b.stage.program).then(o)
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
                let mut program = None;
                for r in rows.iter().take(MOST_ROWS) {
                    if r.stage.program.is_some() && r.stage.program != program {
                        program.clone_from(&r.stage.program);
                        ui.label(RichText::new(program.as_deref().unwrap_or_default()).strong());
                        ui.end_row();
                    }
                    // A task or resource that ended stays, greyed, for the retention window.
                    let ended = r.stage.task.is_some() && r.stage.state == StageState::Done;
                    for &c in columns {
                        let text = c.cell(r);
                        match c {
                            Column::Name => {
                                let on = selected.as_deref() == Some(text.as_str());
                                // Under its program's heading, a stage goes by its own name.
                                let shown = match &r.stage.program {
                                    Some(_) => format!("  {}", r.stage.own_name()),
                                    None => text.clone(),
                                };
                                let shown = if ended {
                                    RichText::new(shown).weak()
                                } else {
                                    RichText::new(shown)
                                };
                                if ui.selectable_label(on, shown).clicked() {
                                    *selected = (!on).then_some(text);
                                }
                            }
                            Column::Kind | Column::Location | Column::Attributes => {
                                ui.label(if ended {
                                    RichText::new(text).weak()
                                } else {
                                    RichText::new(text)
                                });
                            }
                            Column::State => {
                                ui.label(RichText::new(text).color(state_color(r.stage.state)));
                            }
                            _ => {
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| {
                                        let t = RichText::new(text).monospace();
                                        ui.label(if ended { t.weak() } else { t });
                                    },
                                );
                            }
                        }
                    }
                    ui.end_row();
                }
            });
        if rows.len() > MOST_ROWS {
            ui.label(
                RichText::new(format!(
                    "and {} more rows: sort by another column, or filter, to see them",
                    thousands((rows.len() - MOST_ROWS) as u64)
                ))
                .weak(),
            );
        }
    });
}

/// Rows drawn at most (a tokio program may have tens of thousands of tasks; a frame lays out
/// every row it draws): the first after sorting.
const MOST_ROWS: usize = 500;

/// The Processes view; keeps its sort and filter.
#[derive(Debug, Default)]
pub struct ProcessesView {
    /// How the table is sorted.
    pub sort: Sort,
    /// Only the rows whose name or location holds this (a tokio program's tasks).
    pub filter: String,
}

impl View for ProcessesView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let mut stages = cx.run.stages();
        // A tokio program's tasks and resources: their own columns, and a filter (there may be
        // thousands).
        let tasks = !stages.is_empty() && stages.iter().all(|s| s.task.is_some());
        if !tasks {
            let mut rows = ProcessRow::collect(stages, &cx.run.data);
            processes_table(ui, &mut rows, &Column::ALL, &mut self.sort, cx.selected);
            return None;
        }
        let all = stages.len();
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .desired_width(240.0)
                    .hint_text("name or location"),
            )
            .labelled_by(l.id);
            let wanted = self.filter.trim().to_lowercase();
            if !wanted.is_empty() {
                stages.retain(|s| {
                    s.name.to_lowercase().contains(&wanted)
                        || s.task
                            .as_ref()
                            .is_some_and(|d| d.location.to_lowercase().contains(&wanted))
                });
                ui.label(RichText::new(format!("{} of {all} shown", stages.len())).weak());
            }
        });
        let mut rows = ProcessRow::collect(stages, &cx.run.data);
        processes_table(ui, &mut rows, &Column::TASKS, &mut self.sort, cx.selected);
        None
    }
}
