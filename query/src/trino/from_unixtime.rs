//! `from_unixtime(unixtime)`: epoch seconds → `timestamp(3) with time zone` in UTC.
//!
//! ```sql
//! SELECT from_unixtime(1767225600);                          -- 2026-01-01 00:00:00.000 UTC
//! SELECT from_unixtime(1767225600.5);                        -- 2026-01-01 00:00:00.500 UTC
//! SELECT date(from_unixtime("timestamp" / 1000)) FROM events;
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#from_unixtime>. The result
//! carries the zone UTC, so `AT TIME ZONE` converts from UTC (DataFusion's own `from_unixtime`
//! returns a timestamp without zone, which `AT TIME ZONE` then reads as local time). Fractions
//! of a second are kept to the millisecond, rounded half away from zero.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, TimestampMillisecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimeUnit};
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, plan_error};

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "from_unixtime",
        Signature::any(1, Volatility::Immutable),
        |args| {
            if args[0].is_numeric() || args[0] == DataType::Null {
                Ok(DataType::Timestamp(
                    TimeUnit::Millisecond,
                    Some(Arc::from("UTC")),
                ))
            } else {
                Err(plan_error(
                    "from_unixtime",
                    format!("takes epoch seconds as a number, not {}", args[0]),
                ))
            }
        },
        |args, _| {
            let seconds = cast(&args[0], &DataType::Float64)?;
            let millis: TimestampMillisecondArray = seconds
                .as_primitive::<Float64Type>()
                .iter()
                .map(|s| s.map(|s| (s * 1000.0).round() as i64))
                .collect();
            Ok(Arc::new(millis.with_timezone("UTC")))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn gives_a_utc_timestamp_with_milliseconds() {
        assert_eq!(
            value("SELECT from_unixtime(1767225600)").await,
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            value("SELECT from_unixtime(1767225600.5)").await,
            "2026-01-01T00:00:00.500Z"
        );
        assert_eq!(
            value("SELECT from_unixtime(CAST(1767225600123 AS BIGINT) / 1000)").await,
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            data_type("SELECT from_unixtime(0)").await,
            "Timestamp(ms, \"UTC\")"
        );
    }
}
