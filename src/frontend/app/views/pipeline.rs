//! The Pipeline view: the stages as boxes coloured by load, events flowing right and demand
//! flowing back.

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use super::pipeline_layout::{
    self, Chosen, arrow, column_rects, dashed_arrow, linked, pipeline_columns, stages_to_draw,
};
use super::process_row::ProcessRow;
use super::{View, ViewAction, ViewContext};
use crate::StageKind;
use crate::frontend::app::style::{PALETTE, TIME_COLORS, load_color, state_color};
use crate::observe::format::thousands;

/// The Pipeline view: stages as boxes in columns, events flowing right (and, for demand-driven
/// pipelines, demand flowing back). Each box is coloured by how loaded the stage is and shows
/// where its time goes; clicking a box selects its stage.
pub fn pipeline(
    ui: &mut Ui,
    rows: &[ProcessRow],
    demand_driven: bool,
    selected: &mut Option<String>,
) {
    if rows.is_empty() {
        ui.label("No stages yet: start a run.");
        return;
    }
    let avail = ui.available_size();
    let (response, painter) = ui.allocate_painter(avail, Sense::click());
    let area = response.rect.shrink(20.0);
    // Room for the legend below.
    let area = Rect::from_min_max(area.min, area.max - Vec2::new(0.0, 34.0));
    // Several programs: each in a band of its own, under its name (a program's stages come
    // together, as a group of programs and a fleet list them).
    let band_rows: Vec<&[ProcessRow]> = rows
        .chunk_by(|a, b| a.stage.program == b.stage.program)
        .collect();
    let programs: Vec<Option<&str>> = band_rows
        .iter()
        .map(|b| b[0].stage.program.as_deref())
        .collect();
    let grouped = programs.len() >= 2;
    let title_h = if grouped { 18.0 } else { 0.0 };
    let band_columns: Vec<Vec<Vec<&ProcessRow>>> =
        band_rows.iter().map(|b| pipeline_columns(b)).collect();
    let weights: Vec<f32> = band_columns
        .iter()
        .map(|cols| cols.iter().map(Vec::len).max().unwrap_or(1) as f32)
        .collect();
    let total_weight: f32 = weights.iter().sum();
    let text = ui.visuals().text_color();
    let mut top = area.top();
    // Each band's columns and their boxes.
    let mut bands = Vec::new();
    for ((cols, w), program) in band_columns.iter().zip(&weights).zip(&programs) {
        let h = area.height() * w / total_weight;
        if grouped {
            painter.text(
                Pos2::new(area.left(), top + 24.0),
                Align2::LEFT_TOP,
                program.unwrap_or_default(),
                FontId::proportional(14.0),
                text,
            );
        }
        let band = Rect::from_min_max(
            Pos2::new(area.left(), top + title_h),
            Pos2::new(area.right(), top + h),
        );
        bands.push((cols, column_rects(band, cols)));
        top += h;
    }
    // Each stage with its box.
    let placed: Vec<(&ProcessRow, Rect)> = bands
        .iter()
        .flat_map(|(cols, rects)| {
            cols.iter()
                .zip(rects)
                .flat_map(|(col, rs)| col.iter().copied().zip(rs.iter().copied()))
        })
        .collect();
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        let hit = placed
            .iter()
            .find(|(_, r)| r.contains(pos))
            .map(|(row, _)| row.stage.name.clone());
        *selected = hit;
    }
    let dark = ui.visuals().dark_mode;
    // Arrows: along the links a program's stages and channels reported, else events go
    // right (solid) and demand back (dashed) between neighbouring columns.
    let linked = linked(rows);
    // Each program is drawn by its own links, or by its columns when it has none (a GenStage
    // pipeline beside programs of channels).
    let linked_programs: Vec<Option<&str>> = programs
        .iter()
        .zip(&band_rows)
        .filter(|(_, b)| pipeline_layout::linked(b))
        .map(|(p, _)| *p)
        .collect();
    if linked {
        let at: std::collections::HashMap<&str, Rect> = placed
            .iter()
            .map(|(row, rect)| (row.stage.name.as_str(), *rect))
            .collect();
        for (row, from) in &placed {
            for fed in &row.stage.feeds {
                if let Some(to) = at.get(fed.as_str()) {
                    arrow(
                        &painter,
                        from.right_center(),
                        to.left_center(),
                        Stroke::new(1.6, PALETTE[0]),
                    );
                }
            }
        }
    }
    for (_, rects) in bands
        .iter()
        .zip(&programs)
        .filter(|(_, p)| !linked_programs.contains(p))
        .map(|(b, _)| b)
    {
        for pair in rects.windows(2) {
            for (a, b) in pair[0]
                .iter()
                .flat_map(|a| pair[1].iter().map(move |b| (a, b)))
            {
                let from = a.right_center();
                let to = b.left_center();
                arrow(
                    &painter,
                    from + Vec2::new(0.0, -4.0),
                    to + Vec2::new(0.0, -4.0),
                    Stroke::new(1.6, PALETTE[0]),
                );
                if demand_driven {
                    dashed_arrow(
                        &painter,
                        to + Vec2::new(0.0, 5.0),
                        from + Vec2::new(0.0, 5.0),
                        Stroke::new(1.0, PALETTE[1]),
                    );
                }
            }
        }
    }
    for (row, r) in &placed {
        let s = &row.stage;
        let is_selected = selected.as_deref() == Some(s.name.as_str());
        let border = if is_selected {
            Stroke::new(4.0, ui.visuals().selection.stroke.color)
        } else {
            Stroke::new(2.0, state_color(s.state))
        };
        // A channel is filled by how full it is; a stage by how much of its time it works.
        let channel = s.kind == StageKind::Channel;
        let fill = match (channel, s.capacity) {
            (true, Some(cap)) if cap > 0 => s.mailbox_messages as f64 / cap as f64,
            (true, _) => 0.0,
            (false, _) => row.time.working(),
        };
        painter.rect(
            *r,
            if channel { 2.0 } else { 8.0 },
            load_color(fill, dark),
            border,
            egui::StrokeKind::Inside,
        );
        // Under its program's name, a stage goes by its own.
        let name = s.own_name();
        painter.text(
            r.center_top() + Vec2::new(0.0, 6.0),
            Align2::CENTER_TOP,
            name,
            FontId::proportional(14.0),
            text,
        );
        // Where its time goes, as a bar along the bottom of the box.
        let bar = Rect::from_min_max(
            r.left_bottom() + Vec2::new(8.0, -12.0),
            r.right_bottom() + Vec2::new(-8.0, -6.0),
        );
        let shares = [
            row.time.busy,
            row.time.sleeping,
            row.time.backpressured,
            row.time.idle,
        ];
        let total: f64 = shares.iter().sum();
        let mut x = bar.left();
        for (share, (_, colour)) in shares.iter().zip(TIME_COLORS) {
            if total <= 0.0 {
                break;
            }
            let w = bar.width() * (share / total) as f32;
            painter.rect_filled(
                Rect::from_min_size(Pos2::new(x, bar.top()), Vec2::new(w, bar.height())),
                0.0,
                colour,
            );
            x += w;
        }
        if r.height() > 60.0 {
            painter.text(
                r.center() + Vec2::new(0.0, -2.0),
                Align2::CENTER_CENTER,
                match (channel, s.capacity) {
                    (true, Some(cap)) => format!(
                        "{} of {} waiting",
                        thousands(s.mailbox_messages),
                        thousands(cap)
                    ),
                    (true, None) => format!("{} waiting", thousands(s.mailbox_messages)),
                    // A program's own stage has no mailbox: its channels are drawn.
                    (false, _) if linked_programs.contains(&s.program.as_deref()) => {
                        s.state.label().to_string()
                    }
                    (false, _) => format!(
                        "MsgQ {}  ·  {}",
                        thousands(s.mailbox_messages),
                        s.state.label()
                    ),
                },
                FontId::proportional(12.0),
                text,
            );
            painter.text(
                r.center_bottom() - Vec2::new(0.0, 16.0),
                Align2::CENTER_BOTTOM,
                format!(
                    "in {}  out {}",
                    thousands(s.events_in),
                    thousands(s.events_out)
                ),
                FontId::monospace(11.0),
                text.gamma_multiply(0.8),
            );
        }
    }
    painter.text(
        area.left_top(),
        Align2::LEFT_TOP,
        if linked {
            "→ messages flow right through the channels (square boxes, filled by how full they are)      border: state"
        } else if demand_driven {
            "→ events flow right      ⇠ demand flows back (asks)      border: state"
        } else {
            "→ events are pushed right, no demand: mailboxes are unbounded      border: state"
        },
        FontId::proportional(12.0),
        text.gamma_multiply(0.8),
    );
    pipeline_legend(
        &painter,
        area.left_bottom() + Vec2::new(0.0, 14.0),
        text,
        dark,
    );
}

/// The Pipeline's legend: the fill's scale and the time bar's colours.
fn pipeline_legend(painter: &egui::Painter, at: Pos2, text: Color32, dark: bool) {
    let font = FontId::proportional(12.0);
    let label = painter.text(at, Align2::LEFT_TOP, "fill: working", font.clone(), text);
    let ramp = Rect::from_min_size(
        Pos2::new(label.right() + 8.0, at.y + 2.0),
        Vec2::new(120.0, 12.0),
    );
    for i in 0..40 {
        let w = ramp.width() / 40.0;
        painter.rect_filled(
            Rect::from_min_size(
                Pos2::new(ramp.left() + i as f32 * w, ramp.top()),
                Vec2::new(w + 1.0, ramp.height()),
            ),
            0.0,
            load_color(i as f64 / 39.0, dark),
        );
    }
    painter.text(
        ramp.left_bottom() + Vec2::new(0.0, 2.0),
        Align2::LEFT_TOP,
        "0 %",
        FontId::proportional(10.0),
        text,
    );
    painter.text(
        ramp.right_bottom() + Vec2::new(0.0, 2.0),
        Align2::RIGHT_TOP,
        "100 % of the time",
        FontId::proportional(10.0),
        text,
    );
    let mut x = ramp.right() + 40.0;
    let bar = painter.text(
        Pos2::new(x, at.y),
        Align2::LEFT_TOP,
        "bar: time",
        font.clone(),
        text,
    );
    x = bar.right() + 10.0;
    for (name, colour) in TIME_COLORS {
        painter.rect_filled(
            Rect::from_min_size(Pos2::new(x, at.y + 2.0), Vec2::new(12.0, 12.0)),
            2.0,
            colour,
        );
        let t = painter.text(
            Pos2::new(x + 16.0, at.y),
            Align2::LEFT_TOP,
            name,
            font.clone(),
            text,
        );
        x = t.right() + 14.0;
    }
}

/// Programs drawn at once, each in its band, at most: a larger fleet is drawn one program at a
/// time, picked from a list.
const BANDS_DRAWN: usize = 4;

/// The Pipeline view; keeps which program it draws when there are too many to draw at once.
#[derive(Debug, Default)]
pub struct PipelineView {
    /// The program drawn (of a run of many).
    pub program: Option<String>,
    /// The busiest stages of a very large set, and which run and sample they were chosen at.
    busiest: Option<Chosen>,
}

impl View for PipelineView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let (stages, note) = stages_to_draw(&mut self.busiest, cx.run);
        if let Some(note) = note {
            ui.label(RichText::new(note).weak());
        }
        let mut rows = ProcessRow::collect(stages, &cx.run.data);
        let mut programs: Vec<String> = Vec::new();
        for r in &rows {
            if let Some(p) = &r.stage.program
                && !programs.contains(p)
            {
                programs.push(p.clone());
            }
        }
        if programs.len() > BANDS_DRAWN {
            // The selected stage's program comes first (a diagnosis clicked selects one).
            let of_selected = cx.selected.as_ref().and_then(|name| {
                rows.iter()
                    .find(|r| &r.stage.name == name)
                    .and_then(|r| r.stage.program.clone())
            });
            if of_selected.is_some() {
                self.program = of_selected;
            }
            let shown = match &self.program {
                Some(p) if programs.contains(p) => p.clone(),
                _ => programs[0].clone(),
            };
            ui.horizontal(|ui| {
                ui.label(format!("{} programs; showing", programs.len()));
                egui::ComboBox::from_id_salt("pipeline program")
                    .selected_text(&shown)
                    .width(320.0)
                    .show_ui(ui, |ui| {
                        for p in &programs {
                            if ui.selectable_label(*p == shown, p).clicked() {
                                self.program = Some(p.clone());
                                *cx.selected = None;
                            }
                        }
                    });
            });
            let shown = self.program.clone().unwrap_or(shown);
            rows.retain(|r| r.stage.program.as_deref() == Some(shown.as_str()));
        }
        let demand_driven = cx.run.settings.strategy.uses_demand();
        pipeline(ui, &rows, demand_driven, cx.selected);
        None
    }
}
