//! Where the Pipeline view puts its boxes: stages in columns (by their links, else by name),
//! and the columns in an area, wrapped onto rows when the pipeline is long; its arrows.

use egui::{Pos2, Rect, Stroke, Vec2};

use crate::runtime::probe::StageSnapshot;

use super::process_row::ProcessRow;

/// Groups stages into pipeline columns: by how far from the start each is when stages say what
/// they feed (a program's own stages and channels), else by name (`extractor 1`, `extractor 2`
/// → `extractor`), in order of first appearance.
pub fn pipeline_columns(rows: &[ProcessRow]) -> Vec<Vec<&ProcessRow>> {
    if linked(rows) {
        return columns_by_links(rows);
    }
    let group = |name: &str| {
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .to_string()
    };
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        let g = group(&r.stage.name);
        if !order.contains(&g) {
            order.push(g);
        }
    }
    order
        .iter()
        .map(|g| rows.iter().filter(|r| &group(&r.stage.name) == g).collect())
        .collect()
}

/// True when stages say what they feed: the arrows follow those links.
pub(super) fn linked(rows: &[ProcessRow]) -> bool {
    rows.iter().any(|r| !r.stage.feeds.is_empty())
}

/// Columns by the longest path from a stage nothing feeds (a cycle stops growing at the number
/// of stages).
fn columns_by_links(rows: &[ProcessRow]) -> Vec<Vec<&ProcessRow>> {
    let index: std::collections::HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.stage.name.as_str(), i))
        .collect();
    let mut depth = vec![0usize; rows.len()];
    for _ in 0..rows.len() {
        let mut changed = false;
        for (i, r) in rows.iter().enumerate() {
            for fed in &r.stage.feeds {
                if let Some(&j) = index.get(fed.as_str())
                    && depth[j] < depth[i] + 1
                    && depth[i] + 1 < rows.len()
                {
                    depth[j] = depth[i] + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let deepest = depth.iter().copied().max().unwrap_or(0);
    (0..=deepest)
        .map(|d| {
            rows.iter()
                .zip(&depth)
                .filter(|(_, x)| **x == d)
                .map(|(r, _)| r)
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// Narrowest a column of boxes gets: a longer pipeline wraps onto more rows.
const MIN_COLUMN_W: f32 = 130.0;

/// The boxes of `columns` laid out in `area`: columns side by side, each one's boxes stacked
/// and centred; a pipeline too long for the width wraps onto rows of columns.
pub(super) fn column_rects(area: Rect, columns: &[Vec<&ProcessRow>]) -> Vec<Vec<Rect>> {
    let ncol = columns.len().max(1);
    let per_row = ((area.width() / MIN_COLUMN_W).floor() as usize).clamp(1, ncol);
    let rows = ncol.div_ceil(per_row);
    let col_w = area.width() / per_row as f32;
    let row_h = area.height() / rows as f32;
    let box_w = (col_w * 0.62).min(230.0);
    columns
        .iter()
        .enumerate()
        .map(|(ci, col)| {
            let (row, at) = (ci / per_row, ci % per_row);
            let band_top = area.top() + row as f32 * row_h;
            let n = col.len() as f32;
            let box_h = ((row_h - 40.0) / n - 16.0).clamp(34.0, 100.0);
            let total = n * box_h + (n - 1.0) * 16.0;
            let top = band_top + 30.0 + (row_h - 30.0 - total) / 2.0;
            let cx = area.left() + col_w * (at as f32 + 0.5);
            (0..col.len())
                .map(|i| {
                    Rect::from_center_size(
                        Pos2::new(cx, top + box_h / 2.0 + i as f32 * (box_h + 16.0)),
                        Vec2::new(box_w, box_h),
                    )
                })
                .collect()
        })
        .collect()
}

/// Most stages drawn: a tokio program's thousands of tasks (no links between them) are the
/// busiest this many; Processes lists them all.
const MOST_DRAWN: usize = 200;

/// Stages chosen to draw: (run, samples, ended), the stages, the note saying so.
pub(super) type Chosen = ((usize, usize, bool), Vec<StageSnapshot>, Option<String>);

/// The stages of `run` to draw: past [`MOST_DRAWN`], the busiest, chosen again once a sample
/// (kept in `chosen`), not every frame.
pub(super) fn stages_to_draw(
    chosen: &mut Option<Chosen>,
    run: &crate::frontend::app::run_entry::RunEntry,
) -> (Vec<StageSnapshot>, Option<String>) {
    let key = (
        std::ptr::from_ref(run) as usize,
        run.data.rows.len(),
        run.report.is_some(),
    );
    match chosen {
        Some((k, stages, note)) if *k == key && note.is_some() => (stages.clone(), note.clone()),
        _ => {
            let (stages, note) = busiest(run.stages());
            *chosen = Some((key, stages.clone(), note.clone()));
            (stages, note)
        }
    }
}

/// The stages to draw: all of them, or past [`MOST_DRAWN`] (and not grouped by program) the
/// busiest over their life, in their order, with a note saying so.
fn busiest(stages: Vec<StageSnapshot>) -> (Vec<StageSnapshot>, Option<String>) {
    let all = stages.len();
    if all <= MOST_DRAWN || stages.iter().any(|s| s.program.is_some()) {
        return (stages, None);
    }
    let mut ranked: Vec<(usize, StageSnapshot)> = stages.into_iter().enumerate().collect();
    ranked.select_nth_unstable_by(MOST_DRAWN, |a, b| b.1.times.busy_ns.cmp(&a.1.times.busy_ns));
    ranked.truncate(MOST_DRAWN);
    ranked.sort_unstable_by_key(|(i, _)| *i);
    let note = format!(
        "{} stages: the {MOST_DRAWN} busiest are drawn (Processes lists them all)",
        crate::observe::format::thousands(all as u64)
    );
    (ranked.into_iter().map(|(_, s)| s).collect(), Some(note))
}

/// A line from `from` to `to` with an arrowhead at `to`.
pub(super) fn arrow(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    painter.line_segment([from, to], stroke);
    head(painter, from, to, stroke);
}

/// The same, dashed (demand flowing back upstream).
pub(super) fn dashed_arrow(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    painter.extend(egui::Shape::dashed_line(&[from, to], stroke, 6.0, 4.0));
    head(painter, from, to, stroke);
}

/// An arrowhead at `to`, pointing away from `from`.
fn head(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    let dir = (to - from).normalized();
    let side = Vec2::new(-dir.y, dir.x);
    let a = to - dir * 9.0 + side * 4.5;
    let b = to - dir * 9.0 - side * 4.5;
    painter.add(egui::Shape::convex_polygon(
        vec![to, a, b],
        stroke.color,
        Stroke::NONE,
    ));
}
