//! The app's small dialogs (Attach…, From Prometheus…): a window at the top centre with its
//! fields, then its action and Cancel.

use egui::Ui;

/// What the user did with a dialog this frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// Pressed the action (or Enter in a field).
    Go,
    /// Pressed Cancel, or closed the window.
    Cancel,
    /// Nothing yet.
    Open,
}

/// Draws the dialog `title`: `fields` draws its contents (true when Enter was pressed in a
/// field), then come the `action` button and Cancel.
pub(super) fn dialog(
    ctx: &egui::Context,
    title: &str,
    action: &str,
    fields: impl FnOnce(&mut Ui) -> bool,
) -> Answer {
    let (mut open, mut go, mut cancel) = (true, false, false);
    egui::Window::new(title)
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0])
        .show(ctx, |ui| {
            go = fields(ui);
            ui.horizontal(|ui| {
                go |= ui.button(action).clicked();
                cancel = ui.button("Cancel").clicked();
            });
        });
    match (go, cancel || !open) {
        (true, _) => Answer::Go,
        (false, true) => Answer::Cancel,
        (false, false) => Answer::Open,
    }
}

/// A one-line text field after its label (which names it for screen readers and tests); true
/// when Enter was pressed in it.
pub(super) fn field(ui: &mut Ui, label: &str, text: &mut String, hint: &str, width: f32) -> bool {
    let l = ui.label(label);
    let f = ui
        .add(
            egui::TextEdit::singleline(text)
                .desired_width(width)
                .hint_text(hint),
        )
        .labelled_by(l.id);
    f.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}
