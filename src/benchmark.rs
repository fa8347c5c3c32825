//! Measuring runs: every strategy on a corpus, alternated and repeated, reported as medians
//! (`palavriado bench`); and the cost of the probes as an on/off throughput ratio.

use std::sync::Arc;
use std::time::Duration;

use crate::corpus::Corpus;
use crate::probe::heap;
use crate::run::{Run, RunReport, RunSettings};
use crate::strategy::Strategy;

/// One measured configuration.
#[derive(Clone, Debug)]
pub struct Case {
    /// A label for tables (`pull --max-demand 1000`).
    pub label: String,
    /// What to run.
    pub settings: RunSettings,
}

/// What the repeated runs of one case measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseResult {
    /// The case's label.
    pub label: String,
    /// Wall times of every run (ms), in run order.
    pub wall_ms: Vec<f64>,
    /// Median wall time (ms).
    pub median_wall_ms: f64,
    /// Highest resident memory over the runs (bytes).
    pub peak_rss_bytes: u64,
    /// Highest live heap over the runs (bytes).
    pub peak_heap_bytes: u64,
    /// Largest mailbox over the runs.
    pub max_mailbox_len: u64,
    /// Median messages per second through the mailboxes.
    pub median_messages_per_s: f64,
    /// Words counted (the same in every run, or the case failed).
    pub total_words: u64,
    /// Fingerprint of the counts.
    pub counts_sha256: String,
}

/// Median of a non-empty list.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs every case `runs` times, alternating cases within each round so machine noise hits
/// them alike. Fails if a run does not complete or two runs disagree on the counts.
pub fn measure(
    corpus: &Arc<Corpus>,
    cases: &[Case],
    runs: usize,
) -> Result<Vec<CaseResult>, String> {
    let mut reports: Vec<Vec<RunReport>> = vec![Vec::new(); cases.len()];
    for _ in 0..runs.max(1) {
        for (i, case) in cases.iter().enumerate() {
            let r = Run::start(corpus.clone(), case.settings.clone()).wait();
            if !r.completed {
                return Err(format!(
                    "{}: run stopped ({:?}) {}",
                    case.label,
                    r.stop_reason,
                    r.errors.join("; ")
                ));
            }
            reports[i].push(r);
            std::thread::sleep(SETTLE);
        }
    }
    cases
        .iter()
        .zip(reports)
        .map(|(case, rs)| {
            let sha = rs[0].counts_sha256.clone();
            if rs.iter().any(|r| r.counts_sha256 != sha) {
                return Err(format!("{}: runs disagree on the counts", case.label));
            }
            let wall: Vec<f64> = rs.iter().map(|r| r.wall_ms).collect();
            let rates: Vec<f64> = rs
                .iter()
                .map(|r| r.messages as f64 / (r.wall_ms / 1e3))
                .collect();
            Ok(CaseResult {
                label: case.label.clone(),
                median_wall_ms: median(&wall),
                wall_ms: wall,
                peak_rss_bytes: rs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0),
                peak_heap_bytes: rs.iter().map(|r| r.peak_heap_bytes).max().unwrap_or(0),
                max_mailbox_len: rs.iter().map(|r| r.max_mailbox_len).max().unwrap_or(0),
                median_messages_per_s: median(&rates),
                total_words: rs[0].total_words,
                counts_sha256: sha,
            })
        })
        .collect()
}

/// The probe cost: the same strategy alternately with probes on (default rate, counting
/// allocator) and off (no sampling, allocator not counting), `runs` times each.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProbeCost {
    /// Strategy measured.
    pub strategy: Strategy,
    /// Wall times with probes on (ms).
    pub on_ms: Vec<f64>,
    /// Wall times with probes off (ms).
    pub off_ms: Vec<f64>,
    /// median(on) / median(off) − 1, in percent.
    pub overhead_percent: f64,
}

/// Measures [`ProbeCost`] for `strategy`.
pub fn probe_cost(corpus: &Arc<Corpus>, base: &RunSettings, runs: usize) -> ProbeCost {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for _ in 0..runs.max(1) {
        for probes in [false, true] {
            let mut st = base.clone();
            if probes {
                st.sample_hz = crate::probe::sampler::DEFAULT_SAMPLE_HZ;
            } else {
                st.sample_hz = 0;
                st.memory_limit = Some(u64::MAX);
            }
            heap::set_counting(probes);
            let r = Run::start(corpus.clone(), st).wait();
            heap::set_counting(true);
            if probes { &mut on } else { &mut off }.push(r.wall_ms);
            std::thread::sleep(SETTLE);
        }
    }
    ProbeCost {
        strategy: base.strategy,
        overhead_percent: (median(&on) / median(&off) - 1.0) * 100.0,
        on_ms: on,
        off_ms: off,
    }
}

/// The default cases: every strategy, plus Pull with `max_demand` 1000.
pub fn default_cases(workers: usize) -> Vec<Case> {
    let mut cases: Vec<Case> = Strategy::ALL
        .iter()
        .map(|&s| {
            let mut st = RunSettings::new(s);
            st.workers = workers;
            Case {
                label: s.name().to_string(),
                settings: st,
            }
        })
        .collect();
    let mut st = RunSettings::new(Strategy::Pull);
    st.workers = workers;
    st.max_demand = Some(1000);
    cases.push(Case {
        label: "pull --max-demand 1000".into(),
        settings: st,
    });
    cases
}

/// Short pause between runs so one run's freed memory is returned before the next starts.
pub const SETTLE: Duration = Duration::from_millis(200);
