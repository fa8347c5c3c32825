//! Opening a fleet from Prometheus: the "From Prometheus…" window (its address, how far back,
//! which programs).

use egui::RichText;

use crate::FleetQuery;
use crate::observe::fleet::{DEFAULT_SINCE, parse_span};

/// The "From Prometheus…" window's fields, as typed.
#[derive(Clone, Debug)]
pub struct FleetDialog {
    /// Prometheus's address.
    pub url: String,
    /// How far back (`15m`, `1h`).
    pub since: String,
    /// Label matchers, PromQL without braces.
    pub matchers: String,
    /// Why the last try was refused (a span that does not read).
    pub problem: Option<String>,
}

impl Default for FleetDialog {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:9090".into(),
            since: format!("{}m", DEFAULT_SINCE.as_secs() / 60),
            matchers: String::new(),
            problem: None,
        }
    }
}

impl FleetDialog {
    /// The query the fields ask for, or why they do not read.
    pub fn query(&self) -> Result<FleetQuery, String> {
        let since = parse_span(&self.since).map_err(|e| format!("How far back: {e}"))?;
        Ok(FleetQuery::new(self.url.trim())
            .since(since)
            .matching(self.matchers.trim()))
    }
}

/// Draws the window while `dialog` is open; returns the query, and the fields that asked for
/// it, when the user presses Open (or Enter) with fields that read. Cancel or closing the
/// window closes it.
pub(super) fn fleet_window(
    ctx: &egui::Context,
    dialog: &mut Option<FleetDialog>,
) -> Option<(FleetQuery, FleetDialog)> {
    let d = dialog.as_mut()?;
    let (mut open, mut go, mut cancel) = (true, false, false);
    egui::Window::new("Open a fleet from Prometheus")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0])
        .show(ctx, |ui| {
            ui.label(
                "Every program profiled with palavriado that Prometheus scrapes (each serves \
                 --metrics), its stages over time, the diagnoses across the fleet.",
            );
            egui::Grid::new("fleet fields")
                .num_columns(2)
                .show(ui, |ui| {
                    for (label, text, hint) in [
                        ("Prometheus", &mut d.url, "http://127.0.0.1:9090"),
                        ("How far back", &mut d.since, "15m, 1h, 90s"),
                        ("Matching", &mut d.matchers, "job=\"sales\" (empty: all)"),
                    ] {
                        let l = ui.label(label);
                        let field = ui
                            .add(
                                egui::TextEdit::singleline(text)
                                    .desired_width(260.0)
                                    .hint_text(hint),
                            )
                            .labelled_by(l.id);
                        go |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        ui.end_row();
                    }
                });
            if let Some(p) = &d.problem {
                ui.label(RichText::new(p).color(ui.visuals().error_fg_color));
            }
            ui.horizontal(|ui| {
                go |= ui.button("Open").clicked();
                cancel = ui.button("Cancel").clicked();
            });
        });
    let query = if go {
        d.query().map_err(|e| d.problem = Some(e)).ok()
    } else {
        None
    };
    if query.is_some() || cancel || !open {
        let fields = dialog.take()?;
        return query.map(|q| {
            (
                q,
                FleetDialog {
                    problem: None,
                    ..fields
                },
            )
        });
    }
    None
}
