//! The strip of diagnoses above the views: where the backpressure is, in words.

use egui::{Color32, RichText, Ui};

use crate::observe::diagnosis::{Diagnosis, DiagnosisKind};

/// The diagnoses above the views: one line each, those holding now first (while running,
/// those that held earlier are greyed). Returns the stage of a diagnosis the user clicked.
pub fn diagnosis_strip(ui: &mut Ui, diagnoses: &[Diagnosis], live: bool) -> Option<String> {
    let mut shown: Vec<&Diagnosis> = diagnoses.iter().collect();
    shown.sort_by_key(|d| d.until_ms.is_some());
    if shown.is_empty() {
        return None;
    }
    let mut clicked = None;
    egui::Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let most = 4;
            for d in shown.iter().take(most) {
                ui.horizontal(|ui| {
                    let colour = match d.kind {
                        DiagnosisKind::MailboxGrowth
                        | DiagnosisKind::PartitionSkew
                        | DiagnosisKind::LostWaker
                        | DiagnosisKind::WaitersGrowing => Color32::from_rgb(200, 60, 60),
                        DiagnosisKind::Bottleneck
                        | DiagnosisKind::LongPoll
                        | DiagnosisKind::Saturated => Color32::from_rgb(220, 120, 20),
                        DiagnosisKind::SelfWake => Color32::from_rgb(150, 90, 200),
                        DiagnosisKind::Starved | DiagnosisKind::SmallDemand => {
                            Color32::from_rgb(70, 110, 200)
                        }
                    };
                    ui.label(
                        RichText::new(format!("▲ {}", d.kind.name()))
                            .color(colour)
                            .strong(),
                    );
                    let when = match d.until_ms {
                        Some(u) => format!(" ({:.1}–{:.1} s)", d.since_ms / 1e3, u / 1e3),
                        None => format!(" (since {:.1} s)", d.since_ms / 1e3),
                    };
                    let over = live && d.until_ms.is_some();
                    let text = RichText::new(format!("{}{when}", d.summary));
                    let link = ui
                        .link(if over { text.weak() } else { text })
                        .on_hover_text("Select this stage in Processes and Pipeline");
                    if link.clicked() {
                        clicked = Some(d.stage.clone());
                    }
                });
            }
            if shown.len() > most {
                ui.label(
                    RichText::new(format!("and {} more (see Results)", shown.len() - most)).weak(),
                );
            }
        });
    clicked
}
