//! The charts' copy of a run's timeline, grown incrementally each frame, and the rates and
//! means the views read from it.

use crate::observe::timeline::{Row, Timeline};

/// A local copy of a run's timeline, grown incrementally each frame.
#[derive(Clone, Debug, Default)]
pub struct ChartData {
    /// Series names (column order).
    pub names: Vec<String>,
    /// Every row copied so far.
    pub rows: Vec<Row>,
    next_seq: u64,
    /// Each name's column: views look up thousands of series a frame (a tokio program's
    /// tasks), too many for a scan of the names.
    index: std::collections::HashMap<String, usize>,
}

impl ChartData {
    /// Data made of the given columns and rows.
    pub fn new(names: Vec<String>, rows: Vec<Row>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Self {
            names,
            rows,
            next_seq: 0,
            index,
        }
    }

    /// Copies the rows of `timeline` not seen yet (a short read lock), and the series that
    /// came with them.
    pub fn refresh(&mut self, timeline: &Timeline) {
        let (rows, next) = timeline.rows_since(self.next_seq);
        if !rows.is_empty() {
            self.rows.extend(rows);
            for name in timeline.names_from(self.names.len()) {
                self.index.insert(name.clone(), self.names.len());
                self.names.push(name);
            }
        }
        self.next_seq = next;
    }

    /// A complete copy of a finished timeline.
    pub fn from_timeline(timeline: &Timeline) -> Self {
        let mut d = Self::default();
        d.refresh(timeline);
        d
    }

    /// Column index of a series.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The newest value of a series.
    pub fn last(&self, name: &str) -> Option<f64> {
        let i = self.column(name)?;
        self.rows
            .iter()
            .rev()
            .map(|r| r.get(i))
            .find(|v| !v.is_nan())
    }

    /// How fast a cumulative series grew over about the last `window` seconds (per second):
    /// steadier than one sample's rate, which jumps with each stage's publishing step.
    pub fn rate_over(&self, name: &str, window: f64) -> Option<f64> {
        let i = self.column(name)?;
        let mut points = self
            .rows
            .iter()
            .rev()
            .map(|r| (r.t, r.get(i)))
            .filter(|(_, v)| !v.is_nan());
        let (t1, v1) = points.next()?;
        let (t0, v0) = points
            .take_while(|&(t, _)| t >= t1 - window)
            .last()
            .filter(|&(t, _)| t < t1)?;
        Some((v1 - v0) / (t1 - t0))
    }

    /// The mean of a series over about the last `window` seconds (NaN samples skipped).
    pub fn mean_over(&self, name: &str, window: f64) -> Option<f64> {
        let i = self.column(name)?;
        let end = self.rows.last()?.t;
        let (sum, n) = self
            .rows
            .iter()
            .rev()
            .take_while(|r| r.t > end - window)
            .map(|r| r.get(i))
            .filter(|v| !v.is_nan())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        (n > 0).then(|| sum / n as f64)
    }

    /// The mean rate of a cumulative series from the start until it reached its final value
    /// (per second): what a finished stage did, not its last sample's instantaneous rate.
    pub fn mean_rate_to_final(&self, name: &str) -> Option<f64> {
        let i = self.column(name)?;
        let last = self.last(name)?;
        let reached = self.rows.iter().find(|r| r.get(i) >= last).map(|r| r.t)?;
        (reached > 0.0).then(|| last / reached)
    }

    /// Time of the last sample (s).
    pub fn duration(&self) -> f64 {
        self.rows.last().map_or(0.0, |r| r.t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_over_a_window_ignores_steps_between_samples() {
        // Words published in steps of 1,000 every 0.1 s, sampled every 0.02 s: single samples
        // read 0 or 50,000/s, the one-second window reads the true 10,000/s.
        let rows = (0..=150)
            .map(|i| {
                let t = i as f64 * 0.02;
                let words = (t * 10.0).floor() * 1000.0;
                Row {
                    t,
                    values: vec![words],
                }
            })
            .collect();
        let data = ChartData::new(vec!["words".into()], rows);
        let rate = data.rate_over("words", 1.0).unwrap();
        assert!((rate - 10_000.0).abs() < 1_000.0, "{rate}");
        assert_eq!(data.rate_over("other", 1.0), None);
        // One sample has no rate yet.
        let one = ChartData::new(
            vec!["words".into()],
            vec![Row {
                t: 0.0,
                values: vec![5.0],
            }],
        );
        assert_eq!(one.rate_over("words", 1.0), None);
        // The stage finished at 1.5 s (words stopped growing): its mean rate is over 1.5 s,
        // however long the run went on after.
        let mut done = data.rows.clone();
        for r in &mut done {
            r.values[0] = r.values[0].min(15_000.0);
        }
        let done = ChartData::new(vec!["words".into()], done);
        let mean = done.mean_rate_to_final("words").unwrap();
        assert!((mean - 10_000.0).abs() < 100.0, "{mean}");
    }
}
