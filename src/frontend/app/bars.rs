//! The top bar (the views as tabs; open, save and export) and the status bar (the last
//! message, where exports go, the frame time).

use egui::{Color32, RichText, Ui};

use super::saving::pick_recording;
use super::shell::PalavriadoApp;
use super::views::Tab;

impl PalavriadoApp {
    pub(super) fn top_bar(&mut self, ui: &mut Ui) {
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("palavriado").strong().size(20.0));
                ui.separator();
                for t in Tab::ALL {
                    ui.selectable_value(&mut self.tab, t, RichText::new(t.title()).size(15.0));
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let saveable = self.session.current().is_some_and(|r| !r.is_running());
                    if ui
                        .add_enabled(saveable, egui::Button::new("Save run…"))
                        .on_hover_text(
                            "Save the shown run (settings, every sample, stages, diagnoses, \
                             result) to open later or share",
                        )
                        .on_disabled_hover_text("Finish or stop a run first")
                        .clicked()
                    {
                        self.save_run(self.session.runs.len() - 1);
                    }
                    if ui
                        .add_enabled(self.session.can_attach(), egui::Button::new("Attach…"))
                        .on_hover_text(
                            "Follow a program that profiles its own pipeline with palavriado's \
                             library, live; while following, another one joins it",
                        )
                        .on_disabled_hover_text("Stop the run first")
                        .clicked()
                    {
                        self.attach_dialog = Some(self.last_attach.clone());
                    }
                    if ui
                        .button("From Prometheus…")
                        .on_hover_text(
                            "Open a fleet: every profiled program a Prometheus server scrapes, \
                             over the last minutes",
                        )
                        .clicked()
                    {
                        self.fleet_dialog = Some(self.last_fleet.clone());
                    }
                    if ui
                        .button("Open run…")
                        .on_hover_text(
                            "Open a recorded run (.json.gz); you can also drop one on the window",
                        )
                        .clicked()
                    {
                        self.opening = Some(pick_recording());
                    }
                    ui.separator();
                    if ui
                        .button("Export data")
                        .on_hover_text("Save the timeline as CSV")
                        .clicked()
                    {
                        self.export_csv();
                    }
                    if ui
                        .button("Export view")
                        .on_hover_text("Save the current view as a 1920×1080 PNG")
                        .clicked()
                    {
                        let p = self.tab.picture();
                        self.export_png(p);
                    }
                });
            });
        });
    }

    pub(super) fn status_bar(&mut self, ui: &mut Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.status {
                    Some(s) if s.error => {
                        ui.colored_label(Color32::from_rgb(200, 50, 50), &s.text);
                    }
                    Some(s) => {
                        ui.label(&s.text);
                    }
                    None => {
                        ui.label(
                            RichText::new(format!("Exports go to {}", self.export_dir.display()))
                                .weak(),
                        );
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.checkbox(&mut self.ask_where, "Ask where to save");
                    if let Some((median, _)) = self.frames.stats() {
                        ui.label(
                            RichText::new(format!("frame {median:.1} ms"))
                                .weak()
                                .small(),
                        );
                    }
                });
            });
        });
    }
}
