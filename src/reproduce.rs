//! `palavriado reproduce`: runs the talk's scenarios and draws its stats slides with the app's
//! own chart code (offscreen, no display needed).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::corpus::Corpus;
use crate::run::{Run, RunSettings};
use crate::strategy::Strategy;
use crate::ui::charts::ChartOptions;
use crate::ui::export::{self, Picture, Scene};
use crate::ui::session::ChartData;

/// One of the talk's scenarios.
pub struct Scenario {
    /// File-name stem of its slides (`concurrent_pull_with_delay`).
    pub name: &'static str,
    /// Strategy.
    pub strategy: Strategy,
    /// With the 1 ms delay (then it runs for a fixed time).
    pub delay: bool,
}

/// The talk's slides in order, plus Flow.
pub const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "eager",
        strategy: Strategy::Eager,
        delay: false,
    },
    Scenario {
        name: "lazy",
        strategy: Strategy::Lazy,
        delay: false,
    },
    Scenario {
        name: "concurrent_push",
        strategy: Strategy::Push,
        delay: false,
    },
    Scenario {
        name: "concurrent_push_with_delay",
        strategy: Strategy::Push,
        delay: true,
    },
    Scenario {
        name: "concurrent_pull",
        strategy: Strategy::Pull,
        delay: false,
    },
    Scenario {
        name: "concurrent_pull_with_delay",
        strategy: Strategy::Pull,
        delay: true,
    },
    Scenario {
        name: "flow",
        strategy: Strategy::Flow,
        delay: false,
    },
    Scenario {
        name: "concurrent_flow_with_delay",
        strategy: Strategy::Flow,
        delay: true,
    },
];

/// What one scenario measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// Wall time (s).
    pub wall_s: f64,
    /// Peak resident memory (bytes).
    pub peak_rss_bytes: u64,
    /// Largest mailbox.
    pub max_mailbox_len: u64,
    /// Words counted.
    pub words: u64,
    /// Lines handled per second.
    pub lines_per_s: f64,
    /// Images written.
    pub images: Vec<String>,
}

/// Runs every scenario (delay ones for `delay_for`) and writes their slides into `out`.
pub fn reproduce(
    corpus: &Arc<Corpus>,
    out: &Path,
    delay_for: Duration,
    workers: usize,
    only: &[String],
    mut progress: impl FnMut(&str),
) -> Result<Vec<Outcome>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create '{}': {e}", out.display()))?;
    let mut outcomes = Vec::new();
    for sc in SCENARIOS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
    {
        progress(&format!("{}…", sc.name));
        let mut st = RunSettings::new(sc.strategy);
        st.workers = workers;
        st.sample_hz = 100;
        if sc.delay {
            st.delay = Duration::from_millis(1);
        }
        let run = Run::start(corpus.clone(), st.clone());
        let ctl = run.control().clone();
        let timeline = run.timeline().clone();
        let mut stages = Vec::new();
        let mut loaded = None;
        if sc.delay {
            // Capture the Processes table while the run is loaded, like observer's screenshot.
            let end = Instant::now() + delay_for;
            while Instant::now() < end && !run.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
            }
            stages = ctl.stages().iter().map(|s| s.snapshot()).collect();
            // The rates the table shows come from the samples up to this moment, too.
            loaded = Some(ChartData::from_timeline(&timeline));
            run.stop();
        }
        let report = Arc::new(run.wait());
        if !report.errors.is_empty() {
            return Err(format!("{}: {}", sc.name, report.errors.join("; ")));
        }
        let data = ChartData::from_timeline(&timeline);
        let delay = if sc.delay {
            ", delay 1 ms per line"
        } else {
            ""
        };
        let demand = st
            .strategy
            .default_max_demand()
            .map(|d| format!(", max_demand {d}"))
            .unwrap_or_default();
        let scene = Scene {
            title: format!(
                "{} — {} ×{}, {workers} workers {}{demand}{delay}: {:.1} s, peak {:.0} MB, largest mailbox {}",
                sc.strategy.name(),
                corpus.short_name(),
                report.repeat,
                st.runtime_label(),
                report.wall_ms / 1e3,
                report.peak_rss_bytes as f64 / 1e6,
                report.max_mailbox_len
            ),
            data,
            events: timeline.events(),
            opts: ChartOptions {
                window: None,
                interactive: false,
                ..ChartOptions::default()
            },
            stages,
            report: Some(report.clone()),
            demand_driven: sc.strategy.default_max_demand().is_some(),
        };
        let mut images = Vec::new();
        let stats = out.join(format!("{}_stats.png", sc.name));
        export::save_png(&stats, &Picture::Stats, &scene)?;
        images.push(stats.display().to_string());
        if sc.delay {
            let msgq = out.join(format!("{}_msgq.png", sc.name));
            let table = Scene {
                data: loaded.take().unwrap_or_else(|| scene.data.clone()),
                ..scene.clone()
            };
            export::save_png(&msgq, &Picture::Processes, &table)?;
            images.push(msgq.display().to_string());
        }
        outcomes.push(Outcome {
            name: sc.name.to_string(),
            wall_s: report.wall_ms / 1e3,
            peak_rss_bytes: report.peak_rss_bytes,
            max_mailbox_len: report.max_mailbox_len,
            words: report.total_words,
            lines_per_s: report.lines as f64 / (report.wall_ms / 1e3),
            images,
        });
    }
    Ok(outcomes)
}
