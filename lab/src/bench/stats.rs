//! Summary statistics of a scenario's outages.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub runs: usize,
    pub min: f64,
    pub median: f64,
    /// Nearest rank: the smallest value at least 90 % of the runs do not exceed.
    pub p90: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
        Some(Stats {
            runs: n,
            min: v[0],
            median,
            p90: v[rank - 1],
            max: v[n - 1],
        })
    }
}

/// Milliseconds, rounded to whole ms (the probe resolves 10 ms).
pub fn ms(x: f64) -> String {
    format!("{:.0}", x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p90() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!(
            (s.runs, s.min, s.median, s.p90, s.max),
            (10, 1.0, 5.5, 9.0, 10.0)
        );
        let s = Stats::of(&[30.0, 10.0, 20.0]).unwrap();
        assert_eq!((s.median, s.p90), (20.0, 30.0));
        assert_eq!(Stats::of(&[]), None);
    }
}
