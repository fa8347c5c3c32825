//! The points a chart draws: the visible window, decimated without losing spikes; interval
//! series at the middles of their intervals; centred smoothing.

use super::ChartOptions;
use crate::frontend::app::chart_data::ChartData;

/// Most points drawn per series (min/max per bucket keep every spike visible).
pub const MAX_POINTS: usize = 1200;

pub(super) fn window_start(data: &ChartData, opts: &ChartOptions) -> f64 {
    match opts.window {
        Some(w) => (data.duration() - w).max(0.0),
        None => 0.0,
    }
}

/// The points of one series in the visible window, decimated to at most [`MAX_POINTS`] by
/// keeping each bucket's minimum and maximum in time order.
pub fn points(data: &ChartData, name: &str, opts: &ChartOptions) -> Vec<[f64; 2]> {
    let Some(col) = data.column(name) else {
        return Vec::new();
    };
    let from = window_start(data, opts);
    let start = data.rows.partition_point(|r| r.t < from);
    let raw: Vec<[f64; 2]> = data.rows[start..]
        .iter()
        .map(|r| [r.t, r.get(col)])
        .filter(|p| !p[1].is_nan())
        .collect();
    decimate(raw, MAX_POINTS)
}

/// Keeps at most `max` points: each bucket contributes its min and max, in time order.
pub fn decimate(raw: Vec<[f64; 2]>, max: usize) -> Vec<[f64; 2]> {
    if raw.len() <= max {
        return raw;
    }
    let buckets = (max / 2).max(1);
    let per = raw.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for chunk in raw.chunks(per) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

/// Moves each point of an interval series (a value covering the time since the previous
/// sample) to the middle of its interval, so the curve never lags what it measured.
pub fn at_interval_middles(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut prev = None;
    points
        .iter()
        .map(|&[t, v]| {
            let mid = prev.map_or(t, |p: f64| (p + t) / 2.0);
            prev = Some(t);
            [mid, v]
        })
        .collect()
}

/// A centred average: each point becomes the mean of the points within `secs / 2` on either
/// side. Points whose window is not complete yet (the newest `secs / 2`) are left out rather
/// than averaged lopsidedly, so the curve is late by nothing, it only ends earlier.
pub fn smooth_centred(points: &[[f64; 2]], secs: f64) -> Vec<[f64; 2]> {
    let half = secs / 2.0;
    let Some(&[last_t, _]) = points.last() else {
        return Vec::new();
    };
    let (mut lo, mut hi, mut sum) = (0, 0, 0.0);
    let mut out = Vec::with_capacity(points.len());
    for &[t, _] in points {
        if t + half > last_t {
            break;
        }
        while hi < points.len() && points[hi][0] <= t + half {
            sum += points[hi][1];
            hi += 1;
        }
        while points[lo][0] < t - half {
            sum -= points[lo][1];
            lo += 1;
        }
        out.push([t, sum / (hi - lo) as f64]);
    }
    out
}

/// How the CPU chart is smoothed, for its hover text.
pub const CPU_SMOOTHING_HELP: &str = "Each core's CPU is read from the kernel's per-CPU counters at every sample and drawn at the middle of the interval it covers. The kernel counts in 10 ms ticks, so one 20 ms sample reads 0, 50 or 100 %: Smooth CPU averages each core over a centred 100 ms window (the newest 50 ms are drawn once their window is complete).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_order() {
        let raw: Vec<[f64; 2]> = (0..10_000)
            .map(|i| [i as f64, if i == 5_000 { 1e6 } else { (i % 7) as f64 }])
            .collect();
        let d = decimate(raw, 200);
        assert!(d.len() <= 200);
        assert!(d.iter().any(|p| p[1] == 1e6));
        assert!(d.windows(2).all(|w| w[0][0] < w[1][0]));
    }

    #[test]
    fn cpu_points_sit_at_interval_middles_and_smooth_centred() {
        let pts: Vec<[f64; 2]> = (0..=10)
            .map(|i| [i as f64 * 0.02, if i >= 5 { 100.0 } else { 0.0 }])
            .collect();
        let mid = at_interval_middles(&pts);
        assert_eq!(mid[0], [0.0, 0.0]);
        assert!((mid[5][0] - 0.09).abs() < 1e-12 && mid[5][1] == 100.0);
        // A step at 0.09 s: the centred average crosses 50 % at the step, not after it.
        let s = smooth_centred(&mid, 0.1);
        let crossing = s.iter().find(|p| p[1] >= 50.0).unwrap()[0];
        assert!((0.07..=0.1).contains(&crossing), "{crossing}");
        // The newest 50 ms have no complete window yet.
        assert!(s.last().unwrap()[0] <= mid.last().unwrap()[0] - 0.05 + 1e-9);
    }
}
