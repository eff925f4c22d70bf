//! Side-by-side measurement on a noisy machine: the subject and its baseline run in
//! alternating rounds (A B, B A, A B, …) in the same process, and each round gives
//! one ratio. Drift (another build starting, frequency changes) hits both sides of
//! a round alike, so the median of the per-round ratios is far steadier than two
//! absolute timings taken one after the other.

use std::time::{Duration, Instant};

/// The outcome of a paired comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Median over rounds of `subject time / baseline time` (below 1: subject faster).
    pub time_ratio: f64,
    /// 25th and 75th percentile of the per-round ratios.
    pub spread: (f64, f64),
    /// Rounds measured.
    pub rounds: usize,
    /// Median time of one subject call, in nanoseconds (context only).
    pub subject_ns: f64,
    /// Median time of one baseline call, in nanoseconds (context only).
    pub baseline_ns: f64,
}

impl Comparison {
    /// The throughput ratio subject / baseline (above 1: subject faster).
    pub fn throughput_ratio(&self) -> f64 {
        1.0 / self.time_ratio
    }

    /// The spread of the throughput ratio, low to high.
    pub fn throughput_spread(&self) -> (f64, f64) {
        (1.0 / self.spread.1, 1.0 / self.spread.0)
    }
}

/// Compares two CPU-bound closures: `rounds` rounds, each timing a batch of calls
/// of each side lasting about `batch` (calibrated on the subject), after a warm-up.
pub fn compare_cpu(
    rounds: usize,
    batch: Duration,
    mut subject: impl FnMut(),
    mut baseline: impl FnMut(),
) -> Comparison {
    // Warm-up: caches, allocator, branch predictors, CPU frequency.
    let warm_until = Instant::now() + batch * 20;
    while Instant::now() < warm_until {
        subject();
        baseline();
    }
    let iterations = calibrate(batch, &mut subject);
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..iterations {
            f();
        }
        started.elapsed().as_secs_f64()
    };
    let mut ratios = Vec::with_capacity(rounds);
    let (mut subject_times, mut baseline_times) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (s, b) = if round % 2 == 0 {
            let s = time(&mut subject);
            (s, time(&mut baseline))
        } else {
            let b = time(&mut baseline);
            (time(&mut subject), b)
        };
        ratios.push(s / b);
        subject_times.push(s / iterations as f64 * 1e9);
        baseline_times.push(b / iterations as f64 * 1e9);
    }
    summarize(ratios, subject_times, baseline_times)
}

/// Builds a [`Comparison`] from per-round ratios and per-call times.
pub fn summarize(ratios: Vec<f64>, subject_ns: Vec<f64>, baseline_ns: Vec<f64>) -> Comparison {
    Comparison {
        time_ratio: median(&ratios),
        spread: (quantile(&ratios, 0.25), quantile(&ratios, 0.75)),
        rounds: ratios.len(),
        subject_ns: median(&subject_ns),
        baseline_ns: median(&baseline_ns),
    }
}

/// How many calls of `f` take about `batch`.
fn calibrate(batch: Duration, f: &mut impl FnMut()) -> u64 {
    let mut n: u64 = 1;
    loop {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        let elapsed = started.elapsed();
        if elapsed >= batch / 4 || n >= 1 << 30 {
            let per_call = elapsed.as_secs_f64() / n as f64;
            return ((batch.as_secs_f64() / per_call.max(1e-9)) as u64).max(1);
        }
        n *= 2;
    }
}

/// The median (0 for no values).
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q` quantile by linear interpolation (0 for no values).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - low as f64;
    sorted[low] * (1.0 - weight) + sorted[high] * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[1.0, 5.0], 0.25), 2.0);
    }

    #[test]
    fn a_closure_compared_with_itself_is_about_even() {
        let work = || {
            std::hint::black_box((0..2000u64).map(|i| i * i).sum::<u64>());
        };
        let c = compare_cpu(21, Duration::from_micros(200), work, work);
        assert!(c.time_ratio > 0.5 && c.time_ratio < 2.0, "{c:?}");
    }
}
