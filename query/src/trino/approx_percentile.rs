//! `approx_percentile(x, p)`, `approx_percentile(x, w, p)` and their array forms
//! (`approx_percentile(x, ARRAY[0.5, 0.9])`), as Trino computes them: over the t-digest of
//! [`super::tdigest`], so a small group answers one of its own values.
//!
//! ```sql
//! SELECT approx_percentile(x, 0.5) FROM (VALUES (1), (2), (3), (4)) t(x);     -- 3 (bigint)
//! SELECT approx_percentile(amount, ARRAY[0.5, 0.9]) FROM order_changes;      -- [p50, p90]
//! SELECT approx_percentile(latency, requests, 0.99) FROM hourly;             -- weighted
//! ```
//! The rules are Trino's: integer values give a `bigint` (the digest's value rounded half up),
//! `real` gives `real`, everything else `double`; rows with a NULL argument are skipped; an empty
//! group is NULL; the percentile of the last row counts; it must lie in [0, 1]; a weight must be
//! finite and at least 1. DataFusion's `approx_percentile_cont` interpolates between values
//! instead, which is why this exists.
//! Trino: <https://trino.io/docs/current/functions/aggregate.html#approx_percentile>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::tdigest::TDigest;

#[derive(Debug, PartialEq, Eq, Hash)]
struct ApproxPercentile {
    signature: Signature,
}

pub fn udaf() -> AggregateUDF {
    AggregateUDF::from(ApproxPercentile {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

/// Trino's value types: integers are `bigint`, `real` stays `real`, the rest is `double`.
fn value_type(t: &DataType) -> Result<DataType> {
    Ok(match t {
        t if t.is_integer() => DataType::Int64,
        DataType::Float32 => DataType::Float32,
        DataType::Float16
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Null => DataType::Float64,
        other => {
            return plan_err!("approx_percentile takes bigint, real or double values, not {other}");
        }
    })
}

fn double_or_doubles(t: &DataType, what: &str) -> Result<DataType> {
    Ok(match t {
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            DataType::new_list(DataType::Float64, true)
        }
        t if t.is_numeric() || t.is_null() => DataType::Float64,
        other => {
            return plan_err!(
                "approx_percentile: the {what} must be a number or an array of numbers, not {other}"
            );
        }
    })
}

fn list_of_doubles() -> DataType {
    DataType::new_list(DataType::Float64, true)
}

impl AggregateUDFImpl for ApproxPercentile {
    fn name(&self) -> &str {
        "approx_percentile"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [x, p] => Ok(vec![value_type(x)?, double_or_doubles(p, "percentile")?]),
            [x, w, p] => {
                if !(w.is_numeric() || w.is_null()) {
                    return plan_err!("approx_percentile: the weight must be a number, not {w}");
                }
                Ok(vec![
                    value_type(x)?,
                    DataType::Float64,
                    double_or_doubles(p, "percentile")?,
                ])
            }
            _ => plan_err!(
                "approx_percentile takes (x, percentile) or (x, weight, percentile), not {} arguments",
                args.len()
            ),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let value = value_type(&args[0])?;
        Ok(match args.last() {
            Some(DataType::List(_)) => DataType::new_list(value, true),
            _ => value,
        })
    }

    fn state_fields(&self, _: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str| Arc::new(Field::new(name, list_of_doubles(), true));
        let double = |name: &str| Arc::new(Field::new(name, DataType::Float64, true));
        Ok(vec![
            list("means"),
            list("weights"),
            double("min"),
            double("max"),
            list("percentiles"),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let output = args.return_field.data_type().clone();
        Ok(Box::new(PercentileAccumulator {
            digest: TDigest::default(),
            percentiles: None,
            weighted: args.exprs.len() == 3,
            output,
        }))
    }
}

#[derive(Debug)]
struct PercentileAccumulator {
    digest: TDigest,
    /// The percentiles of the last row (one, or an array's).
    percentiles: Option<Vec<f64>>,
    weighted: bool,
    output: DataType,
}

fn percentiles_of(array: &ArrayRef, row: usize) -> Result<Option<Vec<f64>>> {
    if array.is_null(row) {
        return Ok(None);
    }
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            let list = list.as_primitive::<Float64Type>();
            if list.null_count() > 0 {
                return exec_err!("approx_percentile: a percentile in the array is NULL");
            }
            Ok(Some(list.values().to_vec()))
        }
        _ => Ok(Some(vec![array.as_primitive::<Float64Type>().value(row)])),
    }
}

fn doubles(array: &ArrayRef) -> Result<Float64Array> {
    Ok(cast(array, &DataType::Float64)?
        .as_primitive::<Float64Type>()
        .clone())
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let x = doubles(&values[0])?;
        let w = if self.weighted {
            Some(doubles(&values[1])?)
        } else {
            None
        };
        let p = values.last().expect("a percentile argument");
        for row in 0..x.len() {
            if x.is_null(row) || w.as_ref().is_some_and(|w| w.is_null(row)) {
                continue;
            }
            let Some(percentiles) = percentiles_of(p, row)? else {
                continue;
            };
            let value = x.value(row);
            if !value.is_finite() {
                return exec_err!("approx_percentile: value must be finite, was {value}");
            }
            let weight = w.as_ref().map_or(1.0, |w| w.value(row));
            if !weight.is_finite() || weight < 1.0 {
                return exec_err!(
                    "approx_percentile: weight must be finite and >= 1, was {weight}"
                );
            }
            self.digest.add(value, weight);
            self.percentiles = Some(percentiles);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (means, weights) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        let (min, max) = (
            states[2].as_primitive::<Float64Type>(),
            states[3].as_primitive::<Float64Type>(),
        );
        for row in 0..means.len() {
            if means.is_null(row) || means.value(row).is_empty() {
                continue;
            }
            let values = |list: ArrayRef| list.as_primitive::<Float64Type>().values().to_vec();
            let other = TDigest::from_parts(
                values(means.value(row)),
                values(weights.value(row)),
                min.value(row),
                max.value(row),
            );
            self.digest.merge(other);
            if let Some(p) = percentiles_of(&states[4], row)? {
                self.percentiles = Some(p);
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (min, max) = (self.digest.min(), self.digest.max());
        let (means, weights) = self.digest.centroids();
        let list = |values: &[f64]| {
            let values: Vec<ScalarValue> = values
                .iter()
                .map(|v| ScalarValue::Float64(Some(*v)))
                .collect();
            ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Float64))
        };
        let percentiles = match &self.percentiles {
            Some(p) => list(p),
            None => ScalarValue::try_from(list_of_doubles())?,
        };
        Ok(vec![
            list(means),
            list(weights),
            ScalarValue::Float64(Some(min)),
            ScalarValue::Float64(Some(max)),
            percentiles,
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (Some(percentiles), true) = (self.percentiles.clone(), self.digest.count() > 0.0)
        else {
            return ScalarValue::try_from(&self.output);
        };
        let value_type = match &self.output {
            DataType::List(item) => item.data_type().clone(),
            t => t.clone(),
        };
        let mut values = Vec::with_capacity(percentiles.len());
        for p in percentiles {
            if !(0.0..=1.0).contains(&p) {
                return exec_err!("approx_percentile: Percentile must be between 0 and 1, was {p}");
            }
            let v = self.digest.value_at(p).expect("a digest with values");
            values.push(match value_type {
                // Java's Math.round: half up
                DataType::Int64 => ScalarValue::Int64(Some((v + 0.5).floor() as i64)),
                DataType::Float32 => ScalarValue::Float32(Some(v as f32)),
                _ => ScalarValue::Float64(Some(v)),
            });
        }
        Ok(match &self.output {
            DataType::List(_) => {
                ScalarValue::List(ScalarValue::new_list_nullable(&values, &value_type))
            }
            _ => values.pop().expect("one percentile"),
        })
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.digest.size()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn answers_a_value_of_the_group_as_trino_does() {
        let data = "(VALUES (1), (2), (3), (4), (NULL)) t(x)";
        assert_eq!(
            value(&format!("SELECT approx_percentile(x, 0.5) FROM {data}")).await,
            "3"
        );
        assert_eq!(
            data_type(&format!("SELECT approx_percentile(x, 0.5) FROM {data}")).await,
            "Int64"
        );
        assert_eq!(
            value(&format!(
                "SELECT approx_percentile(x, ARRAY[0, 0.25, 1]) FROM {data}"
            ))
            .await,
            "[1, 2, 4]"
        );
        assert_eq!(
            value(&format!(
                "SELECT approx_percentile(CAST(x AS double), 0.5) FROM {data}"
            ))
            .await,
            "3.0"
        );
        assert_eq!(
            value("SELECT approx_percentile(x, 0.5) FROM (VALUES (1)) t(x) WHERE x > 1").await,
            ""
        );
    }

    #[tokio::test]
    async fn weights_count_as_repeated_values() {
        let weighted =
            "SELECT approx_percentile(x, w, 0.5) FROM (VALUES (1, 1), (2, 1), (10, 5)) t(x, w)";
        // rank 3.5 of 7 falls inside the cluster of five 10s, read as spread towards 2: 6.8 → 7
        assert_eq!(value(weighted).await, "7");
        let bad = "SELECT approx_percentile(x, w, 0.5) FROM (VALUES (1, 0.5)) t(x, w)";
        let error = crate::sql::run_statements(&super::super::tests::context(), bad)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("weight must be finite and >= 1"), "{error}");
        let out_of_range = "SELECT approx_percentile(x, 1.5) FROM (VALUES (1)) t(x)";
        let error = crate::sql::run_statements(&super::super::tests::context(), out_of_range)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Percentile must be between 0 and 1"),
            "{error}"
        );
    }
}
