//! `skewness(x)` and `kurtosis(x)`: shape statistics from the central moments of the values.
//!
//! ```sql
//! SELECT skewness(x), kurtosis(x) FROM (VALUES (1), (2), (3), (10)) AS t(x);
//! ```
//! Trino's definitions, over the count `n` and the sums of the 2nd, 3rd and 4th powers of the
//! deviations from the mean (`M2`, `M3`, `M4`):
//! - `skewness = sqrt(n) * M3 / M2^1.5`, NULL below 3 values;
//! - `kurtosis` is the excess kurtosis with the sample correction,
//!   `(n-1) n (n+1) / ((n-2)(n-3)) * M4 / M2² - 3 (n-1)² / ((n-2)(n-3))`, NULL below 4 values.
//!
//! The moments are updated one value at a time and partial states merged with the pairwise
//! formulas (Pébay, 2008), so no pass over the data is needed for the mean. NULLs are skipped;
//! the result is a `double`.
//! Trino: <https://trino.io/docs/current/functions/aggregate.html#skewness>,
//! <https://trino.io/docs/current/functions/aggregate.html#kurtosis>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::simple::plan_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Statistic {
    Skewness,
    Kurtosis,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Moments {
    statistic: Statistic,
    signature: Signature,
}

pub fn skewness() -> AggregateUDF {
    AggregateUDF::from(Moments {
        statistic: Statistic::Skewness,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

pub fn kurtosis() -> AggregateUDF {
    AggregateUDF::from(Moments {
        statistic: Statistic::Kurtosis,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

impl AggregateUDFImpl for Moments {
    fn name(&self) -> &str {
        match self.statistic {
            Statistic::Skewness => "skewness",
            Statistic::Kurtosis => "kurtosis",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if args[0].is_numeric() || args[0] == DataType::Null {
            Ok(DataType::Float64)
        } else {
            Err(plan_error(
                self.name(),
                format!("takes numbers, not {}", args[0]),
            ))
        }
    }

    fn state_fields(&self, _: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |name: &str, t: DataType| Arc::new(Field::new(name, t, true));
        Ok(vec![
            field("count", DataType::Int64),
            field("mean", DataType::Float64),
            field("m2", DataType::Float64),
            field("m3", DataType::Float64),
            field("m4", DataType::Float64),
        ])
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MomentsAccumulator {
            statistic: self.statistic,
            state: State::default(),
        }))
    }
}

/// The count, the mean, and the sums of the 2nd to 4th powers of the deviations from it.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct State {
    n: i64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl State {
    fn add(&mut self, x: f64) {
        let n1 = self.n as f64;
        self.n += 1;
        let n = self.n as f64;
        let delta = x - self.mean;
        let delta_n = delta / n;
        let delta_n2 = delta_n * delta_n;
        let term = delta * delta_n * n1;
        self.mean += delta_n;
        self.m4 += term * delta_n2 * (n * n - 3.0 * n + 3.0) + 6.0 * delta_n2 * self.m2
            - 4.0 * delta_n * self.m3;
        self.m3 += term * delta_n * (n - 2.0) - 3.0 * delta_n * self.m2;
        self.m2 += term;
    }

    fn merge(&mut self, other: State) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        let (delta2, delta3, delta4) = (
            delta * delta,
            delta * delta * delta,
            delta * delta * delta * delta,
        );
        let m4 = self.m4
            + other.m4
            + delta4 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6.0 * delta2 * (na * na * other.m2 + nb * nb * self.m2) / (n * n)
            + 4.0 * delta * (na * other.m3 - nb * self.m3) / n;
        let m3 = self.m3
            + other.m3
            + delta3 * na * nb * (na - nb) / (n * n)
            + 3.0 * delta * (na * other.m2 - nb * self.m2) / n;
        let m2 = self.m2 + other.m2 + delta2 * na * nb / n;
        *self = State {
            n: self.n + other.n,
            mean: (na * self.mean + nb * other.mean) / n,
            m2,
            m3,
            m4,
        };
    }

    fn skewness(&self) -> Option<f64> {
        (self.n >= 3).then(|| (self.n as f64).sqrt() * self.m3 / self.m2.powf(1.5))
    }

    fn kurtosis(&self) -> Option<f64> {
        let n = self.n as f64;
        (self.n >= 4).then(|| {
            let d = (n - 2.0) * (n - 3.0);
            ((n - 1.0) * n * (n + 1.0)) / d * self.m4 / (self.m2 * self.m2)
                - 3.0 * ((n - 1.0) * (n - 1.0)) / d
        })
    }
}

#[derive(Debug)]
struct MomentsAccumulator {
    statistic: Statistic,
    state: State,
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = cast(&values[0], &DataType::Float64)?;
        for x in values.as_primitive::<Float64Type>().iter().flatten() {
            self.state.add(x);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let count = states[0].as_primitive::<Int64Type>();
        let [mean, m2, m3, m4] = [1, 2, 3, 4].map(|i| states[i].as_primitive::<Float64Type>());
        for row in 0..count.len() {
            let other = State {
                n: count.value(row),
                mean: mean.value(row),
                m2: m2.value(row),
                m3: m3.value(row),
                m4: m4.value(row),
            };
            self.state.merge(other);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let State {
            n,
            mean,
            m2,
            m3,
            m4,
        } = self.state;
        Ok(vec![
            ScalarValue::from(n),
            ScalarValue::from(mean),
            ScalarValue::from(m2),
            ScalarValue::from(m3),
            ScalarValue::from(m4),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(match self.statistic {
            Statistic::Skewness => self.state.skewness(),
            Statistic::Kurtosis => self.state.kurtosis(),
        }))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;
    use super::State;

    /// The definitions computed directly, with the mean known first.
    fn direct(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let m = |p: i32| xs.iter().map(|x| (x - mean).powi(p)).sum::<f64>();
        let skewness = n.sqrt() * m(3) / m(2).powf(1.5);
        let kurtosis = (n - 1.0) * n * (n + 1.0) / ((n - 2.0) * (n - 3.0)) * m(4) / (m(2) * m(2))
            - 3.0 * (n - 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
        (skewness, kurtosis)
    }

    #[test]
    fn streaming_and_merged_moments_match_the_definition() {
        let xs = [1.0, 2.0, 3.0, 10.0, 4.5, -7.25, 0.0, 12.0];
        let (skewness, kurtosis) = direct(&xs);
        let mut whole = State::default();
        xs.iter().for_each(|x| whole.add(*x));
        let (mut left, mut right) = (State::default(), State::default());
        xs[..3].iter().for_each(|x| left.add(*x));
        xs[3..].iter().for_each(|x| right.add(*x));
        left.merge(right);
        for state in [whole, left] {
            assert!(
                (state.skewness().unwrap() - skewness).abs() < 1e-12,
                "{state:?}"
            );
            assert!(
                (state.kurtosis().unwrap() - kurtosis).abs() < 1e-12,
                "{state:?}"
            );
        }
    }

    #[tokio::test]
    async fn follows_trinos_definitions() {
        // symmetric values: no skew; 1, 2, 3, 4 has M2 = 5 and M4 = 10.25, so kurtosis is
        // 30 * 10.25 / 25 - 13.5
        assert_eq!(
            value("SELECT skewness(x) FROM (VALUES (1), (2), (3), (4)) AS t(x)").await,
            "0.0"
        );
        let kurtosis: f64 = value("SELECT kurtosis(x) FROM (VALUES (1), (2), (3), (4)) AS t(x)")
            .await
            .parse()
            .unwrap();
        assert!(
            (kurtosis - (30.0 * 10.25 / 25.0 - 13.5)).abs() < 1e-12,
            "{kurtosis}"
        );
        assert_eq!(
            value("SELECT skewness(x) FROM (VALUES (1), (2)) AS t(x)").await,
            ""
        );
        assert_eq!(
            value("SELECT kurtosis(x) FROM (VALUES (1), (2), (3), (NULL)) AS t(x)").await,
            ""
        );
        let skewness: f64 = value("SELECT skewness(x) FROM (VALUES (1), (2), (3), (10)) AS t(x)")
            .await
            .parse()
            .unwrap();
        // mean 4: deviations -3, -2, -1, 6; M2 = 50, M3 = 180
        assert!(
            (skewness - 2.0 * 180.0 / 50f64.powf(1.5)).abs() < 1e-12,
            "{skewness}"
        );
    }
}
