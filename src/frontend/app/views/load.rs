//! Load Charts (observer's: scheduler utilisation, CPU, memory, IO, plus CPU by stage) and the
//! Queues view (every mailbox's length over time).

use egui::Ui;

use super::{View, ViewAction, ViewContext};
use crate::frontend::app::charts::{self, LoadChart};
use crate::frontend::app::picture::Picture;

/// Height of a chart's title row and time axis, besides its plot.
const CHART_CHROME: f32 = 34.0;

/// The Load Charts view.
#[derive(Debug, Default)]
pub struct LoadView;

impl View for LoadView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let events = cx.run.timeline.events();
        let shown = LoadChart::shown(&cx.run.data);
        let n = shown.len() as f32;
        let each = ((ui.available_height() - n * CHART_CHROME) / n).max(80.0);
        let mut action = None;
        for c in shown {
            if charts::load_chart(ui, c, &cx.run.data, &events, cx.opts, each) {
                action = Some(ViewAction::Export(Picture::Chart(c)));
            }
        }
        action
    }
}

/// The Queues view.
#[derive(Debug, Default)]
pub struct QueuesView;

impl View for QueuesView {
    fn ui(&mut self, ui: &mut Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        let events = cx.run.timeline.events();
        let h = ui.available_height() - CHART_CHROME;
        charts::queue_chart(ui, &cx.run.data, &events, cx.opts, h)
            .then_some(ViewAction::Export(Picture::Queues))
    }
}
