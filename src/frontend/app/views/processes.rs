//! The Processes view: one row per stage, like observer's Processes tab.

use egui::{RichText, Ui, Vec2};

use super::columns::Column;
pub use super::process_row::ProcessRow;
use super::{View, ViewAction, ViewContext};
use crate::frontend::app::style::state_color;

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
                for r in rows.iter() {
                    if r.stage.program.is_some() && r.stage.program != program {
                        program.clone_from(&r.stage.program);
                        ui.label(RichText::new(program.as_deref().unwrap_or_default()).strong());
                        ui.end_row();
                    }
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
                                if ui.selectable_label(on, shown).clicked() {
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
