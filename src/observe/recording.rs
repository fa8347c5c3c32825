//! Recordings: one finished run in one file, to open later, compare and share.
//!
//! The format is gzip-compressed JSON (`.json.gz`), one object:
//!
//! ```text
//! {
//!   "format": "palavriado-recording", "version": 1 (2 for a program's own pipeline),
//!   "recorded_by": "palavriado 0.1.0",
//!   "sample_hz": 50, "duration_s": null,
//!   "report": { …exactly what `run --json` prints, diagnoses included… },
//!   "stages": [ { …each stage's counters at the end… } ],
//!   "timeline": { "names": ["cpu/core0", …], "t": [0.02, …], "columns": [[12.5, null, …], …] }
//! }
//! ```
//!
//! `timeline.columns[i][j]` is series `names[i]` at time `t[j]` (seconds since the start;
//! `null` where it was not sampled), so a table library reads it in one line, e.g. in Python:
//! `r = json.load(gzip.open(f)); pd.DataFrame(dict(zip(r["timeline"]["names"],
//! r["timeline"]["columns"])), index=r["timeline"]["t"])`. Values keep 6 significant digits.
//! A reader refuses a `version` newer than its own.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::observe::error::Error;
use crate::observe::run::{RunReport, TOP_WORDS_KEPT};
use crate::observe::timeline::{Row, Timeline};
use crate::runtime::probe::StageSnapshot;
use crate::wordcount::counts::LengthGroup;

/// The `format` field of every recording.
pub const FORMAT: &str = "palavriado-recording";
/// The newest format version this build writes and reads. Version 2 added recordings of a
/// program's own pipeline (`report.strategy` `"program"`, `report.program` its name); runs of
/// the talk's strategies are still written as version 1, which older builds read.
pub const VERSION: u32 = 2;
/// The file name ending recordings are saved with.
pub const EXTENSION: &str = "json.gz";
/// Largest recording read (decompressed bytes): far above an hour at 50 Hz.
const MAX_BYTES: u64 = 2 << 30;

/// A recorded run: its report, its stages at the end and every sample of its timeline.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The run's report, as `run --json` prints it (its timeline restored).
    pub report: Arc<RunReport>,
    /// Each stage's counters at the end of the run, or when its stop was asked (for the
    /// Processes and Pipeline views).
    pub stages: Vec<StageSnapshot>,
    /// Samples per second it was recorded at.
    pub sample_hz: u32,
    /// The duration limit it ran with, if any (s).
    pub duration_s: Option<f64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Columns {
    names: Vec<String>,
    t: Vec<f64>,
    columns: Vec<Vec<Option<f64>>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    format: String,
    version: u32,
    recorded_by: String,
    sample_hz: u32,
    duration_s: Option<f64>,
    report: serde_json::Value,
    stages: Vec<StageSnapshot>,
    timeline: Columns,
}

/// `v` rounded to 6 significant digits (what the recording keeps).
fn round6(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() || v.fract() == 0.0 {
        return v;
    }
    let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

impl Recording {
    /// A recording of a finished run: its report, its stages' last counters.
    pub fn new(
        report: Arc<RunReport>,
        stages: Vec<StageSnapshot>,
        sample_hz: u32,
        duration_s: Option<f64>,
    ) -> Self {
        Self {
            report,
            stages,
            sample_hz,
            duration_s,
        }
    }

    /// Writes it to `path` (gzip-compressed JSON, see the module docs).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        self.write_to(path).map_err(Error::Save)
    }

    fn write_to(&self, path: &Path) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| format!("cannot write '{}': {e}", path.display());
        let tl = &self.report.timeline;
        let names = tl.names();
        let (rows, _) = tl.rows_since(0);
        let columns = (0..names.len())
            .map(|i| {
                rows.iter()
                    .map(|r| Some(r.get(i)).filter(|v| !v.is_nan()).map(round6))
                    .collect()
            })
            .collect();
        let report = self.report.to_json(TOP_WORDS_KEPT);
        let file = File {
            format: FORMAT.into(),
            version: if self.report.program.is_some() {
                VERSION
            } else {
                1
            },
            recorded_by: format!("palavriado {}", env!("CARGO_PKG_VERSION")),
            sample_hz: self.sample_hz,
            duration_s: self.duration_s,
            report,
            stages: self.stages.clone(),
            timeline: Columns {
                names,
                t: rows.iter().map(|r| (r.t * 1e4).round() / 1e4).collect(),
                columns,
            },
        };
        // Write next to the target, then rename: a failed save never leaves half a file.
        let tmp = path.with_extension("part");
        let write = || -> std::io::Result<()> {
            let out = std::fs::File::create(&tmp)?;
            let mut gz = flate2::write::GzEncoder::new(
                std::io::BufWriter::new(out),
                flate2::Compression::default(),
            );
            serde_json::to_writer(&mut gz, &file)?;
            gz.finish()?.flush()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(&e)
        })
    }

    /// Reads a recording; a missing, truncated, corrupt, foreign or newer file gives one line
    /// naming it and what to do.
    pub fn open(path: &Path) -> Result<Recording, Error> {
        if super::console::is_console_file(path) {
            let r = super::console::open(path)?;
            return Ok(Recording::new(
                Arc::new(r.report),
                r.stages,
                r.sample_hz,
                None,
            ));
        }
        Self::read_from(path).map_err(Error::Open)
    }

    fn read_from(path: &Path) -> Result<Recording, String> {
        let name = path.display();
        let mut raw = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_BYTES).read_to_end(&mut raw))
            .map_err(|e| format!("cannot read '{name}': {e}"))?;
        let text = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .take(MAX_BYTES)
                .read_to_end(&mut out)
                .map_err(|e| {
                    format!("'{name}' is truncated or corrupt ({e}); record the run again")
                })?;
            out
        } else {
            raw
        };
        if !text.trim_ascii_start().starts_with(b"{") {
            return Err(format!(
                "'{name}' is not a palavriado recording (save one with `run --record` or Save run…)"
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
            if e.is_eof() {
                format!("'{name}' is truncated ({e}); record the run again")
            } else {
                format!("'{name}' is corrupt ({e}); record the run again")
            }
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!(
                "'{name}' is not a palavriado recording (save one with `run --record` or Save run…)"
            ));
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version > VERSION as u64 {
            return Err(format!(
                "'{name}' was recorded by a newer palavriado (format version {version}; this one \
                 reads up to {VERSION}): update palavriado to open it"
            ));
        }
        let corrupt =
            |e: &dyn std::fmt::Display| format!("'{name}' is corrupt ({e}); record the run again");
        let file: File = serde_json::from_value(value).map_err(|e| corrupt(&e))?;
        let cols = &file.timeline;
        if cols.columns.len() != cols.names.len()
            || cols.columns.iter().any(|c| c.len() != cols.t.len())
        {
            return Err(corrupt(
                &"its timeline's columns and times differ in length",
            ));
        }
        let top_words: Vec<LengthGroup> = file
            .report
            .get("top_words")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| corrupt(&e))?
            .unwrap_or_default();
        let mut report: RunReport = serde_json::from_value(file.report).map_err(|e| corrupt(&e))?;
        let timeline = Timeline::new(cols.t.len().max(1));
        for n in &cols.names {
            timeline.column(n);
        }
        for (j, &t) in cols.t.iter().enumerate() {
            let values = cols
                .columns
                .iter()
                .map(|c| c[j].unwrap_or(f64::NAN))
                .collect();
            timeline.push(Row { t, values });
        }
        timeline.set_events(report.events.clone());
        report.restore(top_words, Arc::new(timeline));
        Ok(Recording {
            report: Arc::new(report),
            stages: file.stages,
            sample_hz: file.sample_hz,
            duration_s: file.duration_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_significant_digits() {
        assert_eq!(round6(123.456789), 123.457);
        assert_eq!(round6(0.000123456789), 0.000123457);
        assert_eq!(round6(12_345_678.0), 12_345_678.0);
        assert_eq!(round6(-2.5), -2.5);
    }
}
