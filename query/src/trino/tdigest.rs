//! The merging t-digest Trino's `approx_percentile` keeps (airlift's `TDigest`, compression
//! 100), so that our approximate percentiles are the ones Athena gives.
//!
//! A digest is a list of centroids (mean, weight). Values are appended unsorted; when the buffer
//! is full, when the digest is read, or when it is handed to another partition, the centroids
//! are sorted and neighbours merged greedily while a cluster stays under the size the t-digest
//! scale allows at its quantile (`q·(1−q)/normalizer`, so clusters stay single near the tails).
//! Alternate merges walk the centroids in opposite directions, as the reference does.
//!
//! Reading a quantile ([`TDigest::value_at`]) does *not* simply interpolate between sorted
//! values, which is what DataFusion's `approx_percentile_cont` does: a rank that falls inside a
//! single-sample centroid answers that sample, the lowest and highest ranks answer the exact
//! minimum and maximum, and only between multi-sample centroids is the answer interpolated.
//! So for small groups (where nothing merges) the answer is always one of the input values:
//! over 1, 2, 3, 4 the median is 3, where DataFusion says 2.5.
//! Trino: <https://trino.io/docs/current/functions/aggregate.html#approx_percentile>.

use std::cmp::Ordering;

/// Trino's default compression.
pub const COMPRESSION: f64 = 100.0;

/// How many centroids the buffer holds before it is compressed (unmerged values included).
const fn capacity(compression: f64) -> usize {
    6 * (internal(compression) as usize + 10)
}

/// Merges done while values are still arriving use twice the compression.
const fn internal(compression: f64) -> f64 {
    2.0 * compression
}

#[derive(Debug, Clone)]
pub struct TDigest {
    compression: f64,
    means: Vec<f64>,
    weights: Vec<f64>,
    total: f64,
    min: f64,
    max: f64,
    unmerged: bool,
    backwards: bool,
}

impl Default for TDigest {
    fn default() -> Self {
        Self::new(COMPRESSION)
    }
}

impl TDigest {
    pub fn new(compression: f64) -> Self {
        Self {
            compression,
            means: Vec::new(),
            weights: Vec::new(),
            total: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            unmerged: false,
            backwards: false,
        }
    }

    /// A digest from centroids (as [`TDigest::centroids`] gave them), with the extremes seen.
    pub fn from_parts(means: Vec<f64>, weights: Vec<f64>, min: f64, max: f64) -> Self {
        let total = weights.iter().sum();
        Self {
            means,
            weights,
            total,
            min,
            max,
            unmerged: true,
            ..Self::default()
        }
    }

    /// The total weight added.
    pub fn count(&self) -> f64 {
        self.total
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// The memory the digest holds, in bytes.
    pub fn size(&self) -> usize {
        size_of_val(self) + (self.means.capacity() + self.weights.capacity()) * size_of::<f64>()
    }

    /// Adds `value` with `weight`; the caller has checked both are finite (and the weight ≥ 1).
    pub fn add(&mut self, value: f64, weight: f64) {
        if self.means.len() >= capacity(self.compression) {
            self.compress(internal(self.compression));
        }
        self.means.push(value);
        self.weights.push(weight);
        self.total += weight;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.unmerged = true;
    }

    /// Adds every centroid of `other`.
    pub fn merge(&mut self, mut other: TDigest) {
        if self.means.len() + other.means.len() > capacity(self.compression) {
            self.compress(internal(self.compression));
            other.compress(internal(self.compression));
        }
        self.means.append(&mut other.means);
        self.weights.append(&mut other.weights);
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.unmerged = true;
    }

    /// The centroids after the compression a digest gets when it is handed from one aggregation
    /// step to the next (Trino serializes partial digests with the plain compression).
    pub fn centroids(&mut self) -> (&[f64], &[f64]) {
        self.compress(self.compression);
        (&self.means, &self.weights)
    }

    /// Sorts the centroids and merges neighbours while the merged cluster stays under the
    /// size allowed at its quantile.
    fn compress(&mut self, compression: f64) {
        if self.means.is_empty() {
            return;
        }
        let mut order: Vec<usize> = (0..self.means.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            self.means[a]
                .partial_cmp(&self.means[b])
                .unwrap_or(Ordering::Equal)
        });
        if self.backwards {
            order.reverse();
        }
        let normalizer = compression / (4.0 * (self.total / compression).ln() + 24.0);
        let limit = |q: f64| q * (1.0 - q) / normalizer;

        let mut means = Vec::with_capacity(order.len());
        let mut weights = Vec::with_capacity(order.len());
        let (mut mean, mut weight) = (self.means[order[0]], self.weights[order[0]]);
        let mut below = 0.0;
        let mut here_limit = limit(0.0);
        for &i in &order[1..] {
            let (m, w) = (self.means[i], self.weights[i]);
            let joined = weight + w;
            let q = ((below + joined) / self.total).min(1.0);
            if joined <= self.total * here_limit.min(limit(q)) {
                mean += (m - mean) * w / joined;
                weight = joined;
            } else {
                means.push(mean);
                weights.push(weight);
                below += weight;
                here_limit = limit(below / self.total);
                (mean, weight) = (m, w);
            }
        }
        means.push(mean);
        weights.push(weight);
        if self.backwards {
            means.reverse();
            weights.reverse();
        }
        self.backwards = !self.backwards;
        self.means = means;
        self.weights = weights;
        self.unmerged = false;
    }

    /// The value at quantile `q` (0 ≤ q ≤ 1), or `None` for an empty digest.
    pub fn value_at(&mut self, q: f64) -> Option<f64> {
        if self.means.is_empty() {
            return None;
        }
        if self.unmerged {
            self.compress(internal(self.compression));
        }
        let (means, weights, total) = (&self.means, &self.weights, self.total);
        let n = means.len();
        if n == 1 {
            return Some(means[0]);
        }
        // the rank sought in the sorted sequence of all (weighted) values
        let rank = q * total;
        // a straight line through (x0, 0) and (x1, y1 - y0), read at x
        let slope = |x: f64, x0: f64, y0: f64, x1: f64, y1: f64| (x - x0) / (x1 - x0) * (y1 - y0);
        let last = n - 1;
        if rank < 1.0 {
            return Some(self.min);
        }
        if rank < weights[0] / 2.0 {
            return Some(self.min + slope(rank, 1.0, self.min, weights[0] / 2.0, means[0]));
        }
        let near_top = |rank: f64| rank <= total - 1.0 && weights[last] / 2.0 > 1.0;
        if near_top(rank) && total - rank <= weights[last] / 2.0 {
            return Some(
                self.max
                    + slope(
                        total - rank,
                        1.0,
                        self.max,
                        weights[last] / 2.0,
                        means[last],
                    ),
            );
        }
        if rank >= total - 1.0 {
            return Some(self.max);
        }
        // walk the midpoints between centroids until the rank lies between two of them
        let mut passed = weights[0] / 2.0;
        let mut left = 0;
        while left < last {
            let gap = (weights[left] + weights[left + 1]) / 2.0;
            if passed + gap > rank {
                break;
            }
            passed += gap;
            left += 1;
        }
        if left == last {
            return Some(if near_top(rank) {
                self.max
                    + slope(
                        total - rank,
                        1.0,
                        self.max,
                        weights[last] / 2.0,
                        means[last],
                    )
            } else {
                self.max
            });
        }
        let right = left + 1;
        let offset = rank - passed;
        Some(if weights[left] == 1.0 && offset < weights[left] / 2.0 {
            // inside a single sample on the left
            means[left]
        } else if weights[right] == 1.0 && offset >= weights[left] / 2.0 {
            // inside a single sample on the right
            means[right]
        } else {
            // inside a cluster of several samples: interpolate, leaving out a single-sample side
            let (offset, length) = if weights[left] == 1.0 {
                (offset - weights[left] / 2.0, weights[right] / 2.0)
            } else if weights[right] == 1.0 {
                (offset, weights[left] / 2.0)
            } else {
                (offset, (weights[left] + weights[right]) / 2.0)
            };
            means[left] + slope(offset, 0.0, means[left], length, means[right])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(values: impl IntoIterator<Item = f64>) -> TDigest {
        let mut d = TDigest::default();
        for v in values {
            d.add(v, 1.0);
        }
        d
    }

    #[test]
    fn small_groups_answer_one_of_their_values() {
        let mut d = digest([4.0, 1.0, 3.0, 2.0]);
        assert_eq!(d.value_at(0.5), Some(3.0));
        assert_eq!(d.value_at(0.0), Some(1.0));
        assert_eq!(d.value_at(0.2), Some(1.0)); // a rank below 1 is the minimum
        assert_eq!(d.value_at(0.25), Some(2.0)); // rank 1 is past the first sample's midpoint
        assert_eq!(d.value_at(0.75), Some(4.0));
        assert_eq!(d.value_at(1.0), Some(4.0));
        let mut odd = digest([5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!(odd.value_at(0.5), Some(3.0));
        assert_eq!(digest([7.5]).value_at(0.9), Some(7.5));
        assert_eq!(TDigest::default().value_at(0.5), None);
    }

    #[test]
    fn large_inputs_stay_close_to_the_true_quantile() {
        // 0..100_000 in a scrambled order: many compressions, clusters of hundreds of samples
        let n = 100_000u64;
        let mut d = digest((0..n).map(|i| ((i * 7919) % n) as f64));
        for q in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let got = d.value_at(q).unwrap();
            let want = q * n as f64;
            assert!(
                (got - want).abs() < 0.01 * n as f64,
                "q={q}: {got} vs {want}"
            );
        }
        assert!(d.means.len() < 1000, "{} centroids", d.means.len());
        assert_eq!(d.value_at(1.0), Some((n - 1) as f64));
    }

    #[test]
    fn merged_digests_answer_like_one() {
        let mut a = digest((0..500).map(f64::from));
        let b = digest((500..1000).map(f64::from));
        a.merge(b);
        assert_eq!(a.count(), 1000.0);
        let median = a.value_at(0.5).unwrap();
        assert!((median - 500.0).abs() < 5.0, "{median}");
        let (means, weights) = a.centroids();
        let rebuilt = TDigest::from_parts(means.to_vec(), weights.to_vec(), a.min(), a.max());
        assert_eq!(rebuilt.count(), 1000.0);
    }
}
