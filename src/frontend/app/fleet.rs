//! Opening a fleet from Prometheus: the "From Prometheus…" window (its address, how far back,
//! which programs).

use egui::RichText;

use super::dialog::{self, Answer};
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
    let answer = dialog::dialog(ctx, "Open a fleet from Prometheus", "Open", |ui| {
        ui.label(
            "Every program profiled with palavriado that Prometheus scrapes (each serves \
             --metrics), its stages over time, the diagnoses across the fleet.",
        );
        let enter = egui::Grid::new("fleet fields")
            .num_columns(2)
            .show(ui, |ui| {
                let mut enter = false;
                for (label, text, hint) in [
                    ("Prometheus", &mut d.url, "http://127.0.0.1:9090"),
                    ("How far back", &mut d.since, "15m, 1h, 90s"),
                    ("Matching", &mut d.matchers, "job=\"sales\" (empty: all)"),
                ] {
                    enter |= dialog::field(ui, label, text, hint, 260.0);
                    ui.end_row();
                }
                enter
            })
            .inner;
        if let Some(p) = &d.problem {
            ui.label(RichText::new(p).color(ui.visuals().error_fg_color));
        }
        enter
    });
    match answer {
        Answer::Open => None,
        Answer::Cancel => {
            *dialog = None;
            None
        }
        Answer::Go => {
            let query = d.query().map_err(|e| d.problem = Some(e)).ok()?;
            let fields = dialog.take()?;
            Some((
                query,
                FleetDialog {
                    problem: None,
                    ..fields
                },
            ))
        }
    }
}
