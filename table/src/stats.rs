//! Delta file statistics: row count, and per top-level column its null count and its minimum
//! and maximum, so readers skip files a filter cannot match (the log carries them; no reader
//! opens a Parquet footer to decide).
//!
//! Only columns whose order every reader agrees on get bounds: integers, timestamps (written
//! with millisecond precision, which is exact for the tables' millisecond instants) and short
//! strings. Strings longer than [`MAX_STRING_BOUND`] bytes get no bounds rather than truncated
//! ones (a truncated maximum would need care to stay an upper bound). Nested columns get
//! neither bounds nor null counts.

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{max, max_string, min, min_string};
use datafusion::arrow::datatypes::{
    DataType, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
};
use serde_json::{Map, Value, json};

/// Longest string kept as a bound, in bytes (Delta's own writers truncate at 32 characters).
pub const MAX_STRING_BOUND: usize = 32;

/// The statistics of a file holding `batches` (all of one schema), as Delta's `stats` JSON.
pub fn of_batches(batches: &[RecordBatch]) -> String {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut mins = Map::new();
    let mut maxs = Map::new();
    let mut nulls = Map::new();
    if let Some(first) = batches.first() {
        for (i, field) in first.schema().fields().iter().enumerate() {
            let columns: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            if field.data_type().is_nested() {
                continue;
            }
            let null_count: usize = columns.iter().map(|c| c.null_count()).sum();
            nulls.insert(field.name().clone(), json!(null_count));
            if let Some((lo, hi)) = bounds(field.data_type(), &columns) {
                mins.insert(field.name().clone(), lo);
                maxs.insert(field.name().clone(), hi);
            }
        }
    }
    json!({
        "numRecords": rows,
        "minValues": mins,
        "maxValues": maxs,
        "nullCount": nulls,
    })
    .to_string()
}

/// The smallest and largest non-null value of a column spread over several arrays.
fn bounds(data_type: &DataType, columns: &[&dyn Array]) -> Option<(Value, Value)> {
    let numbers = |(lo, hi): (i64, i64)| (json!(lo), json!(hi));
    match data_type {
        DataType::Int64 => int_bounds(columns, |c| {
            let a = c.as_primitive::<Int64Type>();
            Some((min(a)?, max(a)?))
        })
        .map(numbers),
        DataType::Int32 => int_bounds(columns, |c| {
            let a = c.as_primitive::<Int32Type>();
            Some((i64::from(min(a)?), i64::from(max(a)?)))
        })
        .map(numbers),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let (lo, hi) = int_bounds(columns, |c| {
                let a = c.as_primitive::<TimestampMillisecondType>();
                Some((min(a)?, max(a)?))
            })?;
            Some((instant(lo)?, instant(hi)?))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let (lo, hi) = int_bounds(columns, |c| {
                let a = c.as_primitive::<TimestampMicrosecondType>();
                Some((min(a)?, max(a)?))
            })?;
            // bounds at millisecond precision must still bound: round the minimum down and
            // the maximum up
            Some((
                instant(lo.div_euclid(1000))?,
                instant((hi + 999).div_euclid(1000))?,
            ))
        }
        DataType::Utf8 => {
            let mut lo: Option<&str> = None;
            let mut hi: Option<&str> = None;
            for c in columns {
                let a: &StringArray = c.as_string::<i32>();
                if let Some(v) = min_string(a)
                    && lo.is_none_or(|l| v < l)
                {
                    lo = Some(v);
                }
                if let Some(v) = max_string(a)
                    && hi.is_none_or(|h| v > h)
                {
                    hi = Some(v);
                }
            }
            let (lo, hi) = (lo?, hi?);
            (lo.len() <= MAX_STRING_BOUND && hi.len() <= MAX_STRING_BOUND)
                .then(|| (json!(lo), json!(hi)))
        }
        _ => None,
    }
}

/// Folds per-array integer bounds into the bounds of the whole column.
fn int_bounds(
    columns: &[&dyn Array],
    each: impl Fn(&dyn Array) -> Option<(i64, i64)>,
) -> Option<(i64, i64)> {
    columns
        .iter()
        .filter_map(|c| each(*c))
        .reduce(|(l, h), (lo, hi)| (l.min(lo), h.max(hi)))
}

/// An instant in milliseconds as Delta's statistics spell it: `2026-01-05T00:00:00.000Z`.
fn instant(ms: i64) -> Option<Value> {
    let t = chrono::DateTime::from_timestamp_millis(ms)?;
    Some(json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, ListArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{Field, Int64Type as I64, Schema};

    use super::*;

    fn batch(ids: Vec<Option<i64>>, names: Vec<Option<&str>>, at: Vec<i64>) -> RecordBatch {
        let list = ListArray::from_iter_primitive::<I64, _, _>(ids.iter().map(|i| Some(vec![*i])));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("items", list.data_type().clone(), true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(TimestampMillisecondArray::from(at)),
                Arc::new(list),
            ],
        )
        .unwrap()
    }

    #[test]
    fn bounds_and_null_counts_span_every_batch() {
        let long = "x".repeat(MAX_STRING_BOUND + 1);
        let stats: Value = serde_json::from_str(&of_batches(&[
            batch(
                vec![Some(5), None],
                vec![Some("b"), Some("c")],
                vec![1_767_657_600_000, 0],
            ),
            batch(vec![Some(-2)], vec![None], vec![1_767_657_600_001]),
        ]))
        .unwrap();
        assert_eq!(stats["numRecords"], 3);
        assert_eq!(stats["minValues"]["id"], -2);
        assert_eq!(stats["maxValues"]["id"], 5);
        assert_eq!(stats["nullCount"]["id"], 1);
        assert_eq!(stats["minValues"]["name"], "b");
        assert_eq!(stats["maxValues"]["name"], "c");
        assert_eq!(stats["nullCount"]["name"], 1);
        assert_eq!(stats["minValues"]["at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(stats["maxValues"]["at"], "2026-01-06T00:00:00.001Z");
        assert!(
            stats["nullCount"].get("items").is_none(),
            "nested: no stats"
        );

        let stats: Value = serde_json::from_str(&of_batches(&[batch(
            vec![Some(1)],
            vec![Some(long.as_str())],
            vec![0],
        )]))
        .unwrap();
        assert!(stats["maxValues"].get("name").is_none(), "{stats}");
        assert_eq!(stats["nullCount"]["name"], 0);
    }

    #[test]
    fn microsecond_bounds_round_outwards() {
        let a = datafusion::arrow::array::TimestampMicrosecondArray::from(vec![1_500, 2_001]);
        let (lo, hi) = bounds(
            &DataType::Timestamp(TimeUnit::Microsecond, None),
            &[&a as &dyn Array],
        )
        .unwrap();
        assert_eq!(lo, "1970-01-01T00:00:00.001Z");
        assert_eq!(hi, "1970-01-01T00:00:00.003Z");
    }
}
