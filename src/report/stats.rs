//! Small statistics for the report (pure).

/// The `q`-quantile (0 < q ≤ 1) of `values` by the nearest-rank method: the smallest value
/// such that at least `q` of all values are ≤ it. `None` for no values.
///
/// Nearest rank always returns an observed duration (no interpolation), which is what an
/// admin expects to see next to "p95".
pub fn percentile(values: &[u64], q: f64) -> Option<u64> {
    if values.is_empty() || !(q > 0.0 && q <= 1.0) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (q * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile(&[7], 0.95), Some(7));
        assert_eq!(percentile(&[4, 1, 3, 2], 0.5), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        let hundred: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&hundred, 0.5), Some(50));
        assert_eq!(percentile(&hundred, 0.95), Some(95));
        assert_eq!(percentile(&hundred, 1.0), Some(100));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&twenty, 0.95), Some(19));
        // One slow outlier among fast runs shows at p95 only when it is > 5 % of runs.
        let mut v = vec![10; 19];
        v.push(1000);
        assert_eq!(percentile(&v, 0.95), Some(10));
        v.push(1000);
        assert_eq!(percentile(&v, 0.95), Some(1000));
        assert_eq!(percentile(&[1, 2], 0.0), None);
    }
}
