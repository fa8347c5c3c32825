//! The Processes view: one row per stage, like observer's Processes tab.

use egui::{RichText, Ui, Vec2};

use super::columns::Column;
pub use super::process_row::ProcessRow;
use super::{View, ViewAction, ViewContext};
use crate::frontend::app::style::state_color;
use crate::observe::format::thousands;
use crate::observe::series;
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
    // Thousands of rows (a tokio program's tasks): only those in view are laid out.
    if rows.len() > LAID_OUT_WHOLE && rows.iter().all(|r| r.stage.program.is_none()) {
        let height = ui
            .text_style_height(&egui::TextStyle::Body)
            .max(ui.spacing().interact_size.y)
            + ROW_GAP;
        egui::ScrollArea::both().show_rows(ui, height, rows.len(), |ui, range| {
            grid(ui, &rows[range], columns, sort, selected);
        });
    } else {
        egui::ScrollArea::both().show(ui, |ui| grid(ui, rows, columns, sort, selected));
    }
}

/// Tables up to this many rows are laid out whole; longer ones only where they are seen.
const LAID_OUT_WHOLE: usize = 200;
/// Space between rows.
const ROW_GAP: f32 = 6.0;

/// The header (click to sort) and `rows`.
fn grid(
    ui: &mut Ui,
    rows: &[ProcessRow],
    columns: &[Column],
    sort: &mut Sort,
    selected: &mut Option<String>,
) {
    egui::Grid::new("processes")
        .striped(true)
        .spacing(Vec2::new(18.0, ROW_GAP))
        .show(ui, |ui| {
            header(ui, columns, sort);
            let mut program = None;
            for r in rows {
                if r.stage.program.is_some() && r.stage.program != program {
                    program.clone_from(&r.stage.program);
                    ui.label(RichText::new(program.as_deref().unwrap_or_default()).strong());
                    ui.end_row();
                }
                row(ui, r, columns, selected);
            }
        });
}

/// The column titles; clicking one sorts by it (again: the other way).
fn header(ui: &mut Ui, columns: &[Column], sort: &mut Sort) {
    for &c in columns {
        let arrow = if sort.column == c {
            if sort.descending { " ▼" } else { " ▲" }
        } else {
            ""
        };
        let mut header = ui.add(
            egui::Button::new(RichText::new(format!("{}{arrow}", c.title())).strong()).frame(false),
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
                    descending: !matches!(c, Column::Name | Column::Kind | Column::State),
                };
            }
        }
    }
    ui.end_row();
}

/// One stage's row; clicking its name selects it.
fn row(ui: &mut Ui, r: &ProcessRow, columns: &[Column], selected: &mut Option<String>) {
    // A task or resource that ended stays, greyed, for the retention window.
    let ended = r.stage.task.is_some() && r.stage.state == StageState::Done;
    let text_of = |t: String| {
        if ended {
            RichText::new(t).weak()
        } else {
            RichText::new(t)
        }
    };
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
                if ui.selectable_label(on, text_of(shown)).clicked() {
                    *selected = (!on).then_some(text);
                }
            }
            Column::Kind | Column::Location | Column::Attributes => {
                ui.label(text_of(text));
            }
            Column::State => {
                ui.label(RichText::new(text).color(state_color(r.stage.state)));
            }
            _ => {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.label(text_of(text).monospace());
                });
            }
        }
    }
    ui.end_row();
}

/// The Processes view; keeps its sort and filter.
#[derive(Debug, Default)]
pub struct ProcessesView {
    /// How the table is sorted.
    pub sort: Sort,
    /// Only the rows whose name or location holds this (a tokio program's tasks).
    pub filter: String,
    /// A tokio program's rows as last made, and what they were made from: remade when a
    /// sample arrives or the filter or sort changes, not every frame (there may be tens of
    /// thousands).
    task_rows: Option<(RowsKey, Vec<ProcessRow>)>,
    /// How many rows there are before the filter.
    shown_of: usize,
}

/// What a tokio program's rows were made from.
#[derive(Clone, Debug, PartialEq)]
struct RowsKey {
    run: usize,
    samples: usize,
    /// The newest sample's time (bits): the count stays put once a history is full.
    newest: u64,
    ended: bool,
    filter: String,
    sort: Sort,
}

impl View for ProcessesView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        // A tokio program's tasks and resources: their own columns, and a filter.
        if cx.run.data.column(series::TASKS_ALIVE).is_none() {
            let mut rows = ProcessRow::collect(cx.run.stages(), &cx.run.data);
            processes_table(ui, &mut rows, &Column::ALL, &mut self.sort, cx.selected);
            return None;
        }
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .desired_width(240.0)
                    .hint_text("name or location"),
            )
            .labelled_by(l.id);
            let key = RowsKey {
                run: std::ptr::from_ref(cx.run) as usize,
                samples: cx.run.data.rows.len(),
                newest: cx.run.data.rows.last().map_or(0, |r| r.t.to_bits()),
                ended: cx.run.report.is_some(),
                filter: self.filter.trim().to_lowercase(),
                sort: self.sort,
            };
            if self.task_rows.as_ref().is_none_or(|(k, _)| *k != key) {
                let mut stages = cx.run.stages();
                let all = stages.len();
                if !key.filter.is_empty() {
                    stages.retain(|s| {
                        s.name.to_lowercase().contains(&key.filter)
                            || s.task
                                .as_ref()
                                .is_some_and(|d| d.location.to_lowercase().contains(&key.filter))
                    });
                }
                let rows = ProcessRow::collect(stages, &cx.run.data);
                self.task_rows = Some((key.clone(), rows));
                self.shown_of = all;
            }
            if !key.filter.is_empty() {
                let shown = self.task_rows.as_ref().map_or(0, |(_, r)| r.len());
                let (shown, all) = (thousands(shown as u64), thousands(self.shown_of as u64));
                ui.label(RichText::new(format!("{shown} of {all} shown")).weak());
            }
        });
        if let Some((_, rows)) = &mut self.task_rows {
            processes_table(ui, rows, &Column::TASKS, &mut self.sort, cx.selected);
        }
        None
    }
}
