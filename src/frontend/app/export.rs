//! Exporting: any view or chart rendered offscreen at slide size (1920×1080, drawn at 2× so text
//! is crisp) by the same drawing code as the app, saved as PNG; the timeline as CSV.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{RichText, Ui, Vec2};

use super::charts::{self, ChartOptions, LoadChart};
pub use super::picture::Picture;
use super::session::ChartData;
use super::views::{self, Column, ProcessRow, Sort};
use crate::observe::run::RunReport;
use crate::observe::timeline::Timeline;
use crate::runtime::control::RunEvent;
use crate::runtime::probe::StageSnapshot;

/// Logical size of an exported image; at [`EXPORT_SCALE`] it is 1920×1080 pixels.
pub const EXPORT_SIZE: Vec2 = Vec2::new(960.0, 540.0);
/// Pixels per point of exported images.
pub const EXPORT_SCALE: f32 = 2.0;

/// Everything a picture may need, copied so it can be drawn on another thread.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Title line at the top of the image.
    pub title: String,
    /// The run's samples.
    pub data: ChartData,
    /// Its events.
    pub events: Vec<RunEvent>,
    /// Chart options (window etc.); hover and zoom are turned off.
    pub opts: ChartOptions,
    /// Stage counters, for the table and diagram.
    pub stages: Vec<StageSnapshot>,
    /// The report, once the run finished.
    pub report: Option<Arc<RunReport>>,
    /// True for Pull and Flow (the diagram shows demand).
    pub demand_driven: bool,
}

/// Draws `picture` of `scene` into `ui` (the same code the app's views use).
pub fn draw(ui: &mut Ui, picture: &Picture, scene: &Scene) {
    ui.label(RichText::new(&scene.title).strong().size(17.0));
    ui.add_space(4.0);
    let opts = ChartOptions {
        interactive: false,
        ..scene.opts
    };
    let h = ui.available_height();
    match picture {
        Picture::Stats => {
            // The talk's observer slide: utilisation, CPU, memory, IO. (CPU by stage has a
            // legend per stage, too tall for a fifth of a slide: it exports on its own.)
            let shown: Vec<LoadChart> = LoadChart::shown(&scene.data)
                .into_iter()
                .filter(|c| *c != LoadChart::StageCpu)
                .collect();
            let n = shown.len() as f32;
            // Split the slide's height evenly (the plot's height includes its time axis; the
            // title rows fit in what the heading leaves, measured on the exported images).
            let each = h / n - 26.0;
            for c in shown {
                charts::load_chart(ui, c, &scene.data, &scene.events, &opts, each);
            }
        }
        Picture::Chart(c) => {
            charts::load_chart(ui, *c, &scene.data, &scene.events, &opts, h - 34.0);
        }
        Picture::Queues => {
            charts::queue_chart(ui, &scene.data, &scene.events, &opts, h - 34.0);
        }
        Picture::Processes => {
            let mut rows = ProcessRow::collect(scene.stages.clone(), &scene.data);
            views::processes_table(
                ui,
                &mut rows,
                &Column::SLIDE,
                &mut Sort::default(),
                &mut None,
            );
            if let Some(r) = &scene.report {
                ui.add_space(16.0);
                views::diagnosis_strip(ui, &r.diagnoses, false);
            }
        }
        Picture::Pipeline => {
            let rows = ProcessRow::collect(scene.stages.clone(), &scene.data);
            views::pipeline(ui, &rows, scene.demand_driven, &mut None)
        }
        Picture::Results => match &scene.report {
            Some(r) => views::result_summary(ui, r, 5),
            None => {
                ui.label("The run has not finished yet.");
            }
        },
    }
}

/// Renders `picture` offscreen at 1920×1080 with a light theme and saves it as PNG; returns the
/// image size.
pub fn save_png(path: &Path, picture: &Picture, scene: &Scene) -> Result<(u32, u32), String> {
    let image = render(EXPORT_SIZE, EXPORT_SCALE, |ui| draw(ui, picture, scene))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    }
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
    Ok(image.dimensions())
}

/// Renders any UI offscreen (no window, no display) with the GPU or a software renderer.
pub fn render(
    size: Vec2,
    scale: f32,
    mut draw: impl FnMut(&mut Ui),
) -> Result<image::RgbaImage, String> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut harness = egui_kittest::Harness::builder()
            .with_size(size)
            .with_pixels_per_point(scale)
            .with_context_setup(super::setup_fonts)
            .build_ui(|ui| {
                ui.ctx().set_visuals(egui::Visuals::light());
                egui::CentralPanel::default().show(ui, |ui| draw(ui));
            });
        // Let the plots and legends settle their layout.
        harness.run_steps(3);
        harness.render()
    }));
    match result {
        Ok(r) => r.map_err(|e| format!("rendering failed: {e}")),
        Err(_) => Err(
            "rendering failed: no graphics adapter (install Mesa's Vulkan or GL drivers)".into(),
        ),
    }
}

/// Writes a run's timeline as CSV.
pub fn save_csv(path: &Path, timeline: &Timeline) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    }
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    timeline
        .write_csv(&mut w)
        .and_then(|_| std::io::Write::flush(&mut w))
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))
}

/// Where exports go when no dialog is used: `~/Pictures/palavriado`, else `~/palavriado-exports`.
pub fn default_export_dir() -> PathBuf {
    if let Some(p) = dirs::picture_dir() {
        return p.join("palavriado");
    }
    dirs::home_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("palavriado-exports")
}

/// A meaningful file name: `pull_with_delay_stats.png`, like the talk's slides.
pub fn file_name(strategy: &str, delay: bool, what: &str, ext: &str) -> String {
    let delay = if delay { "_with_delay" } else { "" };
    format!("{strategy}{delay}_{what}.{ext}")
}

/// `dir/name`, or `dir/name-2.ext`, `-3` … if that exists (an export never overwrites one).
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    if !p.exists() {
        return p;
    }
    let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
    (2..)
        .map(|i| dir.join(format!("{stem}-{i}.{ext}")))
        .find(|p| !p.exists())
        .expect("some numbered name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let name = file_name("pull", true, "stats", "png");
        assert_eq!(name, "pull_with_delay_stats.png");
        let a = unique_path(dir.path(), &name);
        std::fs::write(&a, b"x").unwrap();
        let b = unique_path(dir.path(), &name);
        assert_eq!(b.file_name().unwrap(), "pull_with_delay_stats-2.png");
    }
}
