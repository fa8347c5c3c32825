//! The timeline: named series sampled together, kept in a bounded ring of rows.
//!
//! The sampler appends one row per tick; readers copy only the rows they have not seen
//! ([`Timeline::rows_since`]) under a short read lock, so the app never waits on the run. Series
//! can appear mid-run (a stage starts later): earlier rows read as NaN for them.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};

use parking_lot::RwLock;

use super::diagnosis::Diagnosis;
pub use super::series::Row;
use crate::runtime::run_event::RunEvent;

/// Rows kept by default: 10 minutes at the default 50 Hz.
pub const DEFAULT_CAPACITY: usize = 30_000;

#[derive(Default)]
struct Inner {
    names: Vec<String>,
    index: HashMap<String, usize>,
    rows: VecDeque<Row>,
    /// Sequence number of `rows[0]`.
    first_seq: u64,
    /// Heap bytes of the kept rows.
    bytes: u64,
    events: Vec<RunEvent>,
    diagnoses: Vec<Diagnosis>,
}

/// Named series of (time, value), bounded; see the module docs.
pub struct Timeline {
    inner: RwLock<Inner>,
    capacity: usize,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("series", &self.width())
            .field("rows", &self.len())
            .finish()
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Timeline {
    /// An empty timeline keeping at most `capacity` rows (older rows are dropped).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The column index of series `name`, creating it if new.
    pub fn column(&self, name: &str) -> usize {
        if let Some(&i) = self.inner.read().index.get(name) {
            return i;
        }
        let mut w = self.inner.write();
        if let Some(&i) = w.index.get(name) {
            return i;
        }
        let i = w.names.len();
        w.names.push(name.to_string());
        w.index.insert(name.to_string(), i);
        i
    }

    /// Appends a row, dropping the oldest beyond capacity.
    pub fn push(&self, row: Row) {
        let mut w = self.inner.write();
        w.bytes += row_bytes(&row);
        w.rows.push_back(row);
        if w.rows.len() > self.capacity {
            if let Some(old) = w.rows.pop_front() {
                w.bytes -= row_bytes(&old);
            }
            w.first_seq += 1;
        }
    }

    /// Replaces the run events shown on the timeline.
    pub fn set_events(&self, events: Vec<RunEvent>) {
        self.inner.write().events = events;
    }

    /// The run events (start, delay changes, stop, finish).
    pub fn events(&self) -> Vec<RunEvent> {
        self.inner.read().events.clone()
    }

    /// Replaces the diagnoses found so far (the watch does, once a second).
    pub fn set_diagnoses(&self, diagnoses: Vec<Diagnosis>) {
        self.inner.write().diagnoses = diagnoses;
    }

    /// Every diagnosis found so far, each with when it held.
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        self.inner.read().diagnoses.clone()
    }

    /// Series names, in column order.
    pub fn names(&self) -> Vec<String> {
        self.names_from(0)
    }

    /// The names of the series from column `first` on (those a reader has not seen yet).
    pub fn names_from(&self, first: usize) -> Vec<String> {
        let r = self.inner.read();
        r.names
            .get(first..)
            .map_or_else(Vec::new, <[String]>::to_vec)
    }

    /// How many series there are (the width of a row), without copying their names.
    pub fn width(&self) -> usize {
        self.inner.read().names.len()
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.inner.read().rows.len()
    }

    /// True before the first sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes the kept rows take (an estimate from their sizes): the profiler's own memory,
    /// which grows with the run at the sample rate.
    pub fn heap_bytes(&self) -> u64 {
        self.inner.read().bytes
    }

    /// Sequence number the next row will get (rows pushed so far, dropped ones included).
    pub fn next_seq(&self) -> u64 {
        let r = self.inner.read();
        r.first_seq + r.rows.len() as u64
    }

    /// The rows with sequence number ≥ `seq` still kept, and the sequence number to ask for
    /// next time: what a reader has not seen yet.
    pub fn rows_since(&self, seq: u64) -> (Vec<Row>, u64) {
        let r = self.inner.read();
        let skip = seq.saturating_sub(r.first_seq) as usize;
        let rows: Vec<Row> = r.rows.iter().skip(skip).cloned().collect();
        (rows, r.first_seq + r.rows.len() as u64)
    }

    /// The series names and the rows of the last `seconds` (by sample time), oldest first.
    pub fn recent(&self, seconds: f64) -> (Vec<String>, Vec<Row>) {
        let r = self.inner.read();
        let Some(last) = r.rows.back().map(|row| row.t) else {
            return (r.names.clone(), Vec::new());
        };
        let from = r
            .rows
            .iter()
            .rposition(|row| row.t < last - seconds)
            .map_or(0, |i| i + 1);
        (r.names.clone(), r.rows.range(from..).cloned().collect())
    }

    /// One series as (time, value) points (NaN rows skipped).
    pub fn series(&self, name: &str) -> Vec<(f64, f64)> {
        let r = self.inner.read();
        let Some(&i) = r.index.get(name) else {
            return Vec::new();
        };
        r.rows
            .iter()
            .map(|row| (row.t, row.get(i)))
            .filter(|(_, v)| !v.is_nan())
            .collect()
    }

    /// The newest value of a series, if any.
    pub fn last(&self, name: &str) -> Option<f64> {
        let r = self.inner.read();
        let &i = r.index.get(name)?;
        r.rows
            .iter()
            .rev()
            .map(|row| row.get(i))
            .find(|v| !v.is_nan())
    }

    /// Largest value of a series (None if it has no samples).
    pub fn max(&self, name: &str) -> Option<f64> {
        self.series(name)
            .into_iter()
            .map(|(_, v)| v)
            .reduce(f64::max)
    }

    /// Mean value of a series (None if it has no samples).
    pub fn mean(&self, name: &str) -> Option<f64> {
        let s = self.series(name);
        (!s.is_empty()).then(|| s.iter().map(|(_, v)| v).sum::<f64>() / s.len() as f64)
    }

    /// Writes the whole timeline as CSV: `time_ms` then one column per series, a header row
    /// naming them; values not sampled yet are empty.
    pub fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        let r = self.inner.read();
        write!(out, "time_ms")?;
        for n in &r.names {
            write!(out, ",{}", csv_field(n))?;
        }
        writeln!(out)?;
        for row in &r.rows {
            write!(out, "{:.1}", row.t * 1e3)?;
            for i in 0..r.names.len() {
                let v = row.get(i);
                if v.is_nan() {
                    write!(out, ",")?;
                } else if v.fract() == 0.0 && v.abs() < 1e15 {
                    write!(out, ",{}", v as i64)?;
                } else {
                    write!(out, ",{v:.3}")?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Heap bytes one row takes.
fn row_bytes(row: &Row) -> u64 {
    (size_of::<Row>() + row.values.capacity() * 8) as u64
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_column_keeps_its_samples_and_writes_csv() {
        let tl = Timeline::new(1000);
        let msgq = tl.column("stage/reader/msgq");
        for i in 0..5 {
            let mut values = vec![f64::NAN; msgq + 1];
            values[msgq] = (i * 10) as f64;
            tl.push(Row {
                t: i as f64 * 0.02,
                values,
            });
        }
        assert_eq!(tl.max("stage/reader/msgq"), Some(40.0));
        assert_eq!(tl.series("stage/reader/msgq")[1], (0.02, 10.0));
        let mut csv = Vec::new();
        tl.write_csv(&mut csv).unwrap();
        assert!(
            String::from_utf8(csv)
                .unwrap()
                .starts_with("time_ms,stage/reader/msgq\n0.0,0\n")
        );
    }

    use super::*;

    #[test]
    fn ring_drops_oldest_and_readers_see_only_new_rows() {
        let t = Timeline::new(3);
        let a = t.column("a");
        for i in 0..5 {
            t.push(Row {
                t: i as f64,
                values: vec![i as f64 * 10.0],
            });
        }
        assert_eq!(a, 0);
        assert_eq!(t.len(), 3);
        assert_eq!(t.series("a"), vec![(2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]);
        let (rows, next) = t.rows_since(3);
        assert_eq!(rows.len(), 2);
        assert_eq!(next, 5);
        assert!(t.rows_since(next).0.is_empty());
        // A series added later reads NaN before it existed.
        let b = t.column("b,x");
        t.push(Row {
            t: 5.0,
            values: vec![50.0, 1.5],
        });
        assert_eq!(b, 1);
        assert_eq!(t.series("b,x"), vec![(5.0, 1.5)]);
        let mut csv = Vec::new();
        t.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(csv.lines().next(), Some("time_ms,a,\"b,x\""));
        assert_eq!(csv.lines().last(), Some("5000.0,50,1.500"));
        assert_eq!(csv.lines().nth(1), Some("3000.0,30,"));
    }
}
