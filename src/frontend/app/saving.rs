//! Everything the app writes: PNG exports of a view or chart, the timeline as CSV, and runs
//! as recordings, each on a background thread into the export folder or where a dialog says.

use std::path::PathBuf;

use crossbeam_channel::Receiver;

use super::export::{self, Picture, Scene};
use super::session;
use super::shell::{PalavriadoApp, Status};
use crate::observe::recording;

impl PalavriadoApp {
    pub(super) fn scene(&self) -> Option<Scene> {
        let run = self.session.current()?;
        let delay = run.delay();
        let delay = if delay.is_zero() {
            String::from("no delay")
        } else {
            format!("delay {} per line", crate::observe::format::delay(delay))
        };
        let demand = run
            .settings
            .max_demand
            .map(|d| format!(", max_demand {d}"))
            .unwrap_or_default();
        let title = match (run.group(), run.attachment()) {
            (Some(g), _) => format!(
                "{} — {} programs' pipelines ({}), {} stages",
                run.what(),
                g.labels().len(),
                g.labels().join(", "),
                run.stages().len()
            ),
            (None, attachment) => match attachment {
                Some(a) => format!(
                    "{} — a program's pipeline (pid {}), {} stages",
                    run.what(),
                    a.hello().pid,
                    run.stages().len()
                ),
                None => format!(
                    "{} — {} ×{}, {} workers {}{demand}, {delay}",
                    run.what(),
                    run.corpus,
                    self.repeat_of(run),
                    run.settings.workers,
                    run.settings.runtime_label()
                ),
            },
        };
        Some(Scene {
            title,
            data: run.data.clone(),
            events: run.timeline.events(),
            opts: self.chart_opts,
            stages: run.stages(),
            report: run.report.clone(),
            demand_driven: run.settings.strategy.uses_demand(),
        })
    }

    fn repeat_of(&self, run: &session::RunEntry) -> u32 {
        run.report
            .as_ref()
            .map_or(self.controls.repeat, |r| r.repeat)
    }

    /// Exports `picture` of the current run as PNG (rendered on a background thread).
    pub fn export_png(&mut self, picture: Picture) {
        let Some(scene) = self.scene() else {
            return self.nothing_to_export();
        };
        let run = self.session.current().expect("a scene has a run");
        let name = export::file_name(&run.what(), had_delay(run), picture.slug(), "png");
        self.spawn_export(&name, move |path| {
            export::save_png(path, &picture, &scene)
                .map(|(w, h)| format!("Saved {} ({w}×{h})", path.display()))
        });
    }

    /// Exports the current run's timeline as CSV.
    pub fn export_csv(&mut self) {
        let Some(run) = self.session.current() else {
            return self.nothing_to_export();
        };
        let name = export::file_name(&run.what(), had_delay(run), "timeline", "csv");
        let timeline = run.timeline.clone();
        self.spawn_export(&name, move |path| {
            export::save_csv(path, &timeline).map(|_| format!("Saved {}", path.display()))
        });
    }

    /// Saves run `index` of the session as a recording (on a background thread).
    pub fn save_run(&mut self, index: usize) {
        let Some(recording) = self.session.recording_of(index) else {
            self.status = Some(Status {
                text: "Finish or stop the run before saving it.".into(),
                error: true,
            });
            return;
        };
        let run = &self.session.runs[index];
        let name = export::file_name(&run.what(), had_delay(run), "run", recording::EXTENSION);
        self.spawn_export(&name, move |path| {
            recording
                .save(path)
                .map(|()| format!("Saved {}", path.display()))
                .map_err(|e| e.to_string())
        });
    }

    fn nothing_to_export(&mut self) {
        self.status = Some(Status {
            text: "Nothing to export yet: start a run first.".into(),
            error: true,
        });
    }

    /// Chooses the file (dialog or export folder) and writes it, on a background thread.
    fn spawn_export(
        &mut self,
        name: &str,
        write: impl FnOnce(&std::path::Path) -> Result<String, String> + Send + 'static,
    ) {
        let target = self.target(name);
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let r = match target() {
                Some(path) => write(&path),
                None => Err("Export cancelled (no file chosen).".into()),
            };
            let _ = tx.send(r);
        });
        self.exporting.push(rx);
    }

    /// Where an export goes: a save dialog (if asked) or a fresh name in the export folder.
    fn target(&self, name: &str) -> impl FnOnce() -> Option<PathBuf> + Send + 'static {
        let dir = self.export_dir.clone();
        let ask = self.ask_where;
        let name = name.to_string();
        move || {
            if ask {
                rfd::FileDialog::new()
                    .set_directory(&dir)
                    .set_file_name(&name)
                    .save_file()
            } else {
                Some(export::unique_path(&dir, &name))
            }
        }
    }
}

pub(super) fn had_delay(run: &session::RunEntry) -> bool {
    run.timeline
        .events()
        .iter()
        .any(|e| matches!(e.kind, crate::runtime::control::RunEventKind::DelayChanged { delay_ms } if delay_ms > 0.0))
        || !run.settings.delay.is_zero()
}

/// Opens a file dialog for a recording, answered on the returned channel.
pub(super) fn pick_recording() -> Receiver<Option<PathBuf>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let picked = rfd::FileDialog::new()
            .add_filter("palavriado recording", &["gz", "json"])
            .add_filter("tokio-console recording", &["jsonl", "json", "log", "txt"])
            .add_filter("any file", &["*"])
            .pick_file();
        let _ = tx.send(picked);
    });
    rx
}
