//! Measuring runs (`palavriado bench`): every strategy on a corpus, each run in a fresh process
//! (so one run's memory never shows in the next one's peak), alternated and repeated, reported
//! as medians; and the cost of the probes as an on/off wall-time ratio.

use std::path::PathBuf;
use std::process::Command;

use crate::observe::run::RunSettings;
use crate::runtime::executor::Runtime;
use crate::wordcount::strategy::Strategy;

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
    /// Where its stages ran.
    pub runtime: Runtime,
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
    /// Median CPU time of a run's process, user plus system (ms); `None` where the platform
    /// does not report it.
    pub median_cpu_ms: Option<f64>,
    /// Median context switches of a run's process (voluntary and involuntary, every thread):
    /// how often its threads handed the CPU over, which is what fine-grained demand costs.
    pub median_context_switches: Option<f64>,
    /// Words counted (the same in every run, or the case failed).
    pub total_words: u64,
    /// Fingerprint of the counts.
    pub counts_sha256: String,
    /// Median wall time over the reference's ([`Strategy::REFERENCE`]) median wall time, when
    /// the reference was measured in the same session.
    pub relative_to_reference: Option<f64>,
}

/// Label of the reference case in [`default_cases`].
pub const REFERENCE_LABEL: &str = "sharded (reference)";

/// Fills in every result's [`CaseResult::relative_to_reference`] from the reference case.
pub fn relate_to_reference(results: &mut [CaseResult]) {
    let Some(reference) = results
        .iter()
        .find(|r| r.label == REFERENCE_LABEL)
        .map(|r| r.median_wall_ms)
    else {
        return;
    };
    for r in results {
        r.relative_to_reference = Some(r.median_wall_ms / reference);
    }
}

/// Median of a list (NaN if empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The probe cost: the same strategy alternately with probes on (default rate, counting
/// allocator) and off (no sampling, allocator not counting).
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

/// Runs measurements as `EXE run --json …` child processes.
#[derive(Debug)]
pub struct Bench {
    /// The palavriado binary.
    pub exe: PathBuf,
    /// Corpus (None: built-in).
    pub corpus: Option<PathBuf>,
    /// Repeat.
    pub repeat: u32,
}

/// CPU time (user + system, ms) and context switches of the child processes waited for so far.
#[cfg(unix)]
fn children_usage() -> Option<(f64, u64)> {
    // SAFETY: `rusage` is plain data; getrusage only writes into the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) } != 0 {
        return None;
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let switches = u.ru_nvcsw.max(0) as u64 + u.ru_nivcsw.max(0) as u64;
    Some((ms(u.ru_utime) + ms(u.ru_stime), switches))
}

#[cfg(not(unix))]
fn children_usage() -> Option<(f64, u64)> {
    None
}

impl Bench {
    /// Runs one case in a child process; its JSON report gains the child's `cpu_ms` and
    /// `context_switches` (null where unknown).
    fn run(&self, st: &RunSettings, probes: bool) -> Result<serde_json::Value, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.args([
            "run",
            "--json",
            "--top",
            "0",
            "--strategy",
            st.strategy.name(),
        ])
        .args(["--repeat", &self.repeat.to_string()])
        .args(["--workers", &st.workers.to_string()])
        .args(["--runtime", st.runtime.name()])
        .args(["--schedulers", &st.schedulers.to_string()]);
        if let Some(c) = &self.corpus {
            cmd.arg("--corpus").arg(c);
        }
        if let Some(d) = st.max_demand {
            cmd.args(["--max-demand", &d.to_string()]);
        }
        if !probes {
            cmd.arg("--no-probes");
        }
        let before = children_usage();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run '{}': {e}", self.exe.display()))?;
        let used = before
            .zip(children_usage())
            .map(|((c0, s0), (c1, s1))| (c1 - c0, s1 - s0));
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("unreadable run output: {e}"))?;
        v["cpu_ms"] = used.map(|u| u.0).into();
        v["context_switches"] = used.map(|u| u.1).into();
        if v["completed"] != true {
            return Err(format!(
                "{} did not complete: {}",
                st.strategy, v["stop_reason"]
            ));
        }
        Ok(v)
    }

    /// Runs every case `runs` times, alternating cases within each round so machine noise hits
    /// them alike. Fails if a run does not complete or two runs disagree on the counts.
    pub fn measure(&self, cases: &[Case], runs: usize) -> Result<Vec<CaseResult>, String> {
        let mut all: Vec<Vec<serde_json::Value>> = vec![Vec::new(); cases.len()];
        for _ in 0..runs.max(1) {
            for (i, case) in cases.iter().enumerate() {
                all[i].push(
                    self.run(&case.settings, true)
                        .map_err(|e| format!("{}: {e}", case.label))?,
                );
            }
        }
        cases
            .iter()
            .zip(all)
            .map(|(case, rs)| {
                let u = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
                let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
                let sha = rs[0]["counts_sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if rs.iter().any(|r| r["counts_sha256"] != sha.as_str()) {
                    return Err(format!("{}: runs disagree on the counts", case.label));
                }
                let wall: Vec<f64> = rs.iter().map(|r| f(r, "wall_ms")).collect();
                // A statistic every run reported, as a median (None if any run lacks it).
                let median_of = |k: &str| {
                    let xs: Option<Vec<f64>> = rs.iter().map(|r| r[k].as_f64()).collect();
                    xs.map(|xs| median(&xs))
                };
                let rates: Vec<f64> = rs
                    .iter()
                    .map(|r| u(r, "messages") as f64 / (f(r, "wall_ms") / 1e3))
                    .collect();
                Ok(CaseResult {
                    label: case.label.clone(),
                    runtime: case.settings.runtime,
                    median_wall_ms: median(&wall),
                    wall_ms: wall,
                    peak_rss_bytes: rs.iter().map(|r| u(r, "peak_rss_bytes")).max().unwrap_or(0),
                    peak_heap_bytes: rs
                        .iter()
                        .map(|r| u(r, "peak_heap_bytes"))
                        .max()
                        .unwrap_or(0),
                    max_mailbox_len: rs
                        .iter()
                        .map(|r| u(r, "max_mailbox_len"))
                        .max()
                        .unwrap_or(0),
                    median_messages_per_s: median(&rates),
                    median_cpu_ms: median_of("cpu_ms"),
                    median_context_switches: median_of("context_switches"),
                    total_words: u(&rs[0], "total_words"),
                    counts_sha256: sha,
                    relative_to_reference: None,
                })
            })
            .collect()
    }

    /// Measures [`ProbeCost`] for `strategy`, alternating on and off `runs` times.
    pub fn probe_cost(
        &self,
        strategy: Strategy,
        workers: usize,
        runtime: Runtime,
        schedulers: usize,
        runs: usize,
    ) -> Result<ProbeCost, String> {
        let mut st = RunSettings::new(strategy);
        st.workers = workers;
        st.runtime = runtime;
        st.schedulers = schedulers;
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for _ in 0..runs.max(1) {
            off.push(
                self.run(&st, false)?["wall_ms"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
            );
            on.push(self.run(&st, true)?["wall_ms"].as_f64().unwrap_or(f64::NAN));
        }
        Ok(ProbeCost {
            strategy,
            overhead_percent: (median(&on) / median(&off) - 1.0) * 100.0,
            on_ms: on,
            off_ms: off,
        })
    }
}

/// The default cases: the reference ([`Strategy::REFERENCE`], a hand-written parallel count
/// the others are compared with), every strategy of the talk, and Pull with `max_demand` 1000;
/// the talk's strategies once per runtime (the reference has no stages: it is measured once).
pub fn default_cases(workers: usize, runtimes: &[Runtime], schedulers: usize) -> Vec<Case> {
    let case = |s: Strategy, label: &str, runtime: Runtime, max_demand: Option<usize>| {
        let mut st = RunSettings::new(s);
        st.workers = workers;
        st.runtime = runtime;
        st.schedulers = schedulers;
        st.max_demand = max_demand;
        Case {
            label: label.to_string(),
            settings: st,
        }
    };
    let first = runtimes.first().copied().unwrap_or_default();
    let mut cases = vec![case(Strategy::REFERENCE, REFERENCE_LABEL, first, None)];
    for &s in &Strategy::ALL {
        for &r in runtimes {
            cases.push(case(s, s.name(), r, None));
        }
    }
    for &r in runtimes {
        cases.push(case(
            Strategy::Pull,
            "pull --max-demand 1000",
            r,
            Some(1000),
        ));
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
