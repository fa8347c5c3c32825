//! Attaching to a program of the user's: the "Attach…" window, and what the controls show
//! while a program is followed (who, how far behind, what was dropped).

use egui::{RichText, Ui};

use super::dialog::Answer;
use super::run_entry::RunEntry;
use crate::observe::console::live::{DEFAULT_ADDR as CONSOLE_ADDR, console_addr};
use crate::observe::format::thousands;
use crate::observe::live::wire::DEFAULT_ADDR;
use crate::observe::live::{Ended, Group};

/// The "Attach…" window's state: the kind of program and the address being typed.
#[derive(Clone, Debug)]
pub struct AttachDialog {
    /// The address to attach to.
    pub addr: String,
    /// A tokio program serving tokio-console's protocol (else one profiled with palavriado).
    pub console: bool,
}

impl Default for AttachDialog {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.into(),
            console: false,
        }
    }
}

impl AttachDialog {
    /// The address as `Attachment::connect` takes it (`console://…` for tokio-console's).
    pub fn target(&self) -> String {
        if self.console {
            console_addr(&self.addr)
        } else {
            self.addr.trim().to_string()
        }
    }
}

/// Draws the "Attach…" window while `dialog` is open; returns what to attach to when the user
/// presses Attach (or Enter). Cancel or closing the window closes it.
pub(super) fn attach_window(
    ctx: &egui::Context,
    dialog: &mut Option<AttachDialog>,
) -> Option<AttachDialog> {
    let d = dialog.as_mut()?;
    let answer = super::dialog::dialog(ctx, "Attach to a program", "Attach", |ui| {
        let was = d.console;
        ui.radio_value(&mut d.console, false, "A program profiled with palavriado")
            .on_hover_text("Its Profiler serves its stages: Profiler::new(…).serve(…)");
        ui.radio_value(
            &mut d.console,
            true,
            "A tokio program serving tokio-console (console-subscriber)",
        )
        .on_hover_text("Its tasks and resources, over tokio-console's gRPC protocol");
        // Switching kinds switches the default address with it.
        let (default, example) = if d.console {
            (
                CONSOLE_ADDR,
                "e.g. `cd examples/console_jobs && cargo run --release` serves on",
            )
        } else {
            (
                DEFAULT_ADDR,
                "e.g. `cargo run --release --example log_analyser` serves on",
            )
        };
        if was != d.console && [DEFAULT_ADDR, CONSOLE_ADDR, ""].contains(&d.addr.trim()) {
            d.addr = default.into();
        }
        let enter = ui
            .horizontal(|ui| super::dialog::field(ui, "Address", &mut d.addr, default, 220.0))
            .inner;
        ui.label(RichText::new(format!("{example} {default}")).weak());
        enter
    });
    let chosen = (answer == Answer::Go).then(|| d.clone());
    if answer != Answer::Open {
        *dialog = None;
    }
    chosen
}

/// What the controls show for a followed program (in place of a run's progress).
pub(super) fn attached_status(ui: &mut Ui, run: &RunEntry) {
    let Some(a) = run.attachment() else {
        return;
    };
    let hello = a.hello();
    let live = run.is_running();
    let head = if live {
        format!("● Attached to {}", hello.program)
    } else {
        format!("Was attached to {}", hello.program)
    };
    ui.label(RichText::new(head).strong());
    ui.label(RichText::new(format!("pid {} at {}", hello.pid, a.addr())).weak());
    stage_count(ui, run);
    if live {
        a.note_shown();
        ui.label(format!(
            "newest sample {} old (median {})",
            ms(a.behind()),
            ms(a.median_shown_latency())
        ))
        .on_hover_text(
            "How long ago the program took the newest sample shown: now, and the median over \
             the last frames (the sample-to-screen latency)",
        );
    }
    let dropped = a.dropped_rows();
    if dropped > 0 {
        ui.label(format!(
            "{} samples dropped (this viewer was too slow)",
            thousands(dropped)
        ));
    }
    // What the program sent that was ignored or lost (a tokio-console program's updates for
    // tasks it never announced, events its instrumentation dropped).
    if let Some(w) = a.warning() {
        ui.label(RichText::new(w).color(ui.visuals().warn_fg_color));
    }
    if let Some(r) = &run.report {
        let text = match a.ended() {
            Some(Ended::Finished) => how_it_ended(r),
            Some(Ended::Detached) => "Detached: what was seen is kept".into(),
            _ => "Connection ended: what was seen is kept".into(),
        };
        ui.label(RichText::new(text).strong());
    }
}

/// What the controls show while several programs are followed: each with its address, how far
/// behind its newest sample is (or how it ended), and a Detach of its own.
pub(super) fn group_status(ui: &mut Ui, run: &RunEntry, g: &Group) {
    let members = g.members();
    let following = members.iter().filter(|(_, a)| a.ended().is_none()).count();
    let head = if run.is_running() {
        format!("● Following {following} of {} programs", members.len())
    } else {
        format!("Followed {} programs", members.len())
    };
    ui.label(RichText::new(head).strong());
    stage_count(ui, run);
    for (label, a) in &members {
        ui.separator();
        ui.label(RichText::new(label).strong());
        ui.label(RichText::new(format!("pid {} at {}", a.hello().pid, a.addr())).weak());
        match a.ended() {
            None => {
                a.note_shown();
                ui.label(format!("newest sample {} old", ms(a.behind())));
                if ui
                    .button(format!("Detach {label}"))
                    .on_hover_text("Stop following this program; the others go on")
                    .clicked()
                {
                    g.detach(label);
                }
            }
            Some(Ended::Finished) => {
                ui.label(
                    a.run_report()
                        .map_or("Finished".into(), |r| how_it_ended(&r)),
                );
            }
            Some(Ended::Detached) => {
                ui.label("Detached: what was seen is kept");
            }
            Some(Ended::Failed(why)) => {
                ui.label(format!("Connection ended ({why}): what was seen is kept"));
            }
        }
    }
}

/// A duration in whole ms, or "-".
fn ms(d: Option<std::time::Duration>) -> String {
    d.map_or("-".into(), |b| format!("{:.0} ms", b.as_secs_f64() * 1e3))
}

/// How many stages and channels a program's run has.
fn stage_count(ui: &mut Ui, run: &RunEntry) {
    let (stages, channels) = run.stage_counts();
    ui.label(match channels {
        0 => format!("{stages} stages"),
        1 => format!("{} stages, 1 channel", stages - 1),
        n => format!("{} stages, {n} channels", stages - n),
    });
}

/// What the controls show for a program's run opened from its recording.
pub(super) fn recorded_program_status(ui: &mut Ui, run: &RunEntry, program: &str) {
    ui.label(RichText::new(format!("Recording of {program}")).strong());
    stage_count(ui, run);
    if let Some(r) = &run.report {
        ui.label(RichText::new(how_it_ended(r)).strong());
    }
}

/// How a program's run that reached its end ended: finished, or stopped and why.
fn how_it_ended(r: &crate::observe::run::RunReport) -> String {
    match r.stop_reason {
        None => format!("Finished in {:.2} s", r.wall_ms / 1e3),
        Some(reason) => format!("Stopped ({}) after {:.2} s", reason.name(), r.wall_ms / 1e3),
    }
}
