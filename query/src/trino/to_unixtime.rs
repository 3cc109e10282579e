//! `to_unixtime(timestamp)`: epoch seconds as `double`.
//!
//! ```sql
//! SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00.250');   -- 1.76722560025E9
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#to_unixtime>. The result is a
//! `double` with the fraction of a second (DataFusion's own returns an integer). A timestamp
//! without zone is read as UTC, Athena's session zone.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::Simple;
use super::time::temporal_to;

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "to_unixtime",
        Signature::any(1, Volatility::Immutable),
        |args| temporal_to("to_unixtime", &args[0], DataType::Float64),
        |args, _| {
            // microseconds keep every fraction Trino's timestamp(6) has; the zone does not
            // change the instant
            let zone = match args[0].data_type() {
                DataType::Timestamp(_, zone) => zone.clone(),
                _ => None,
            };
            let micros = cast(&args[0], &DataType::Timestamp(TimeUnit::Microsecond, zone))?;
            let micros = cast(&micros, &DataType::Int64)?;
            let seconds: Float64Array = micros
                .as_primitive::<Int64Type>()
                .iter()
                .map(|m| m.map(|m| m as f64 / 1e6))
                .collect();
            Ok(Arc::new(seconds))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn gives_fractional_seconds_as_a_double() {
        assert_eq!(
            value("SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00.250')").await,
            "1767225600.25"
        );
        assert_eq!(
            value("SELECT to_unixtime(from_unixtime(1767225600.5))").await,
            "1767225600.5"
        );
        assert_eq!(
            data_type("SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00')").await,
            "Float64"
        );
    }
}
