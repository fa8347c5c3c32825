//! The watch: a thread per run, above the sampler. It has the sampler take a row at the run's
//! rate, stops the run when it passes its memory limit or its deadline, and once a second runs
//! the diagnoses over the last seconds of the timeline.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::diagnosis::{Diagnoser, StageInfo, Window};
use super::sampler::{MAX_SAMPLE_HZ, Sampler};
use super::timeline::Timeline;
use crate::runtime::control::RunControl;
use crate::runtime::run_event::StopReason;

/// Starts the watch of a run: samples at `hz` (0 = no timeline rows, only the limits, read
/// from the OS every 20 ms) until the run is finished, then takes a last sample. `max_demand`
/// (of a demand-driven run) goes into the diagnoses' advice.
pub fn spawn(
    ctl: Arc<RunControl>,
    timeline: Arc<Timeline>,
    hz: u32,
    deadline: Option<Instant>,
    max_demand: Option<usize>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("sampler".into())
        .spawn(move || {
            let mut watch = Watch {
                sampler: Sampler::new(ctl.clone(), timeline.clone()),
                diagnoser: Diagnoser::default(),
                diagnosed_at: 0.0,
                ctl,
                timeline,
                max_demand,
            };
            watch.run(hz, deadline);
        })
        .expect("spawning the sampler thread")
}

/// What the watch's thread keeps.
struct Watch {
    ctl: Arc<RunControl>,
    timeline: Arc<Timeline>,
    sampler: Sampler,
    /// Says where the backpressure is, once a second.
    diagnoser: Diagnoser,
    /// When the diagnoser last ran (s since the start).
    diagnosed_at: f64,
    max_demand: Option<usize>,
}

impl Watch {
    fn run(&mut self, hz: u32, mut deadline: Option<Instant>) {
        let period = if hz == 0 {
            Duration::from_millis(20)
        } else {
            Duration::from_secs_f64(1.0 / f64::from(hz.min(MAX_SAMPLE_HZ)))
        };
        let mut next = Instant::now();
        loop {
            let finished = self.ctl.is_finished();
            let rss = if hz > 0 {
                let rss = self.sampler.sample();
                self.diagnose_now_and_then();
                Some(rss)
            } else if self.ctl.memory_limit().is_some() {
                self.sampler.resident_bytes()
            } else {
                None
            };
            if let (Some(limit), Some(rss)) = (self.ctl.memory_limit(), rss)
                && rss > limit
            {
                self.ctl.request_stop(StopReason::MemoryLimit);
            }
            if finished {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.ctl.request_stop(StopReason::Duration);
                deadline = None;
            }
            next += period;
            let now = Instant::now();
            if next > now {
                // Wake at the deadline if it comes first.
                let until = deadline.map_or(next, |d| d.max(now).min(next));
                std::thread::sleep(until - now);
            } else {
                next = now;
            }
        }
    }

    /// Runs the diagnoses once a second while the run goes on; they go into the timeline.
    fn diagnose_now_and_then(&mut self) {
        let t = self.ctl.elapsed_secs();
        if t - self.diagnosed_at < 1.0 || self.ctl.is_stopped() || self.ctl.is_finished() {
            return;
        }
        self.diagnosed_at = t;
        let (names, rows) = self.timeline.recent(Diagnoser::WINDOW_SECS);
        let stages: Vec<StageInfo> = self
            .ctl
            .stages()
            .iter()
            .map(|s| StageInfo {
                name: s.name.clone(),
                kind: s.kind(),
                subscriptions: s.subscriptions(),
            })
            .collect();
        let window = Window::from_rows(
            &names,
            &rows,
            &stages,
            self.ctl.memory_limit(),
            self.max_demand,
        );
        self.diagnoser.update(t, &window);
        self.timeline.set_diagnoses(self.diagnoser.diagnoses());
    }
}
