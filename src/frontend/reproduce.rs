//! `palavriado reproduce`: runs the talk's scenarios, each in a fresh process of its own (so a
//! slide's memory is that pipeline's alone), and draws its stats slides from what each run
//! recorded, with the app's own chart code (offscreen, no display needed).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::frontend::app::charts::ChartOptions;
use crate::frontend::app::export::{self, Picture, Scene};
use crate::frontend::app::session::ChartData;
use crate::frontend::scenario::{SCENARIOS, Scenario};
use crate::observe::format;
use crate::observe::recording::{self, Recording};
use crate::runtime::control::RunEventKind;
use crate::wordcount::corpus::Corpus;

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

/// Runs one scenario in a child process of its own (`EXE run … --record`), so its memory is
/// the pipeline's alone, and reads what it recorded.
fn record(
    exe: &Path,
    corpus: &Corpus,
    sc: &Scenario,
    workers: usize,
    delay_for: Duration,
    dir: &Path,
) -> Result<Recording, String> {
    let file = dir.join(format!("{}.{}", sc.name, recording::EXTENSION));
    let mut cmd = Command::new(exe);
    cmd.args(["run", "--json", "--top", "0", "--sample-hz", "100"])
        .args(["--strategy", sc.strategy.name()])
        .args(["--repeat", &corpus.repeat.to_string()])
        .args(["--workers", &workers.to_string()])
        .arg("--record")
        .arg(&file);
    if !corpus.builtin {
        cmd.arg("--corpus").arg(&corpus.root);
    }
    if sc.delay {
        cmd.args(["--delay-ms", "1"])
            .args(["--duration", &delay_for.as_secs_f64().to_string()]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run '{}': {e}", exe.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Recording::open(&file).map_err(|e| e.to_string())
}

/// The rows of `data` up to `t` seconds: the run as it was at that moment.
fn until(data: &ChartData, t: f64) -> ChartData {
    let rows = data.rows.iter().filter(|r| r.t <= t).cloned().collect();
    ChartData::new(data.names.clone(), rows)
}

/// Runs every scenario (delay ones for `delay_for`), each in a fresh process of its own, and
/// writes their slides into `out` from what each run recorded.
pub fn reproduce(
    corpus: &Arc<Corpus>,
    out: &Path,
    delay_for: Duration,
    workers: usize,
    only: &[String],
    mut progress: impl FnMut(&str),
) -> Result<Vec<Outcome>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create '{}': {e}", out.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find palavriado itself: {e}"))?;
    let scratch = tempfile_dir(out)?;
    let mut outcomes = Vec::new();
    for sc in SCENARIOS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
    {
        progress(&format!("{}…", sc.name));
        let rec = record(&exe, corpus, sc, workers, delay_for, &scratch.0)?;
        let report = rec.report.clone();
        if !report.errors.is_empty() {
            return Err(format!("{}: {}", sc.name, report.errors.join("; ")));
        }
        let data = ChartData::from_timeline(&report.timeline);
        let delay = if sc.delay {
            format!(", delay {} per line", format::delay_ms(report.delay_ms))
        } else {
            String::new()
        };
        let demand = report
            .max_demand
            .map(|d| format!(", max_demand {d}"))
            .unwrap_or_default();
        let runtime = report.runtime.placement(report.schedulers);
        let scene = Scene {
            title: format!(
                "{} — {} ×{}, {workers} workers {runtime}{demand}{delay}: {:.1} s, peak {:.0} MB, largest mailbox {}",
                sc.strategy.name(),
                corpus.short_name(),
                report.repeat,
                report.wall_ms / 1e3,
                report.peak_rss_bytes as f64 / 1e6,
                report.max_mailbox_len
            ),
            data,
            events: report.events.clone(),
            opts: ChartOptions {
                window: None,
                interactive: false,
                ..ChartOptions::default()
            },
            stages: rec.stages.clone(),
            report: Some(report.clone()),
            demand_driven: sc.strategy.uses_demand(),
        };
        let mut images = Vec::new();
        let stats = out.join(format!("{}_stats.png", sc.name));
        export::save_png(&stats, &Picture::Stats, &scene)?;
        images.push(stats.display().to_string());
        if sc.delay {
            // observer's Processes screenshot, as the run was when it was stopped.
            let stopped = report.events.iter().find_map(|e| match e.kind {
                RunEventKind::StopRequested { .. } => Some(e.at_secs),
                _ => None,
            });
            let msgq = out.join(format!("{}_msgq.png", sc.name));
            let table = Scene {
                data: stopped.map_or_else(|| scene.data.clone(), |t| until(&scene.data, t)),
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

/// A scratch folder for the recordings inside `out`, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir(out: &Path) -> Result<Scratch, String> {
    let dir = out.join(format!(".recordings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    Ok(Scratch(dir))
}
