//! `to_unixtime(timestamp)`: epoch seconds as `double`.
//!
//! ```sql
//! SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00.250');   -- 1.76722560025E9
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#to_unixtime>. The result is a
//! `double` with the fraction of a second (DataFusion's own returns an integer). A timestamp
//! without zone is read as UTC, Athena's session zone.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::map_one;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToUnixtime {
    signature: Signature,
}

impl ToUnixtime {
    pub fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl Default for ToUnixtime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ToUnixtime {
    fn name(&self) -> &str {
        "to_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null => Ok(DataType::Float64),
            other => Err(DataFusionError::Plan(format!("to_unixtime() takes a timestamp, not {other}"))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_one(&args.args[0], |array| {
            // microseconds keep every fraction Trino's timestamp(6) has; the zone does not
            // change the instant
            let zone = match array.data_type() {
                DataType::Timestamp(_, zone) => zone.clone(),
                _ => None,
            };
            let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, zone))?;
            let micros = cast(&micros, &DataType::Int64)?;
            let micros = micros.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
            let seconds: Float64Array = micros.iter().map(|m| m.map(|m| m as f64 / 1e6)).collect();
            Ok(Arc::new(seconds) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn gives_fractional_seconds_as_a_double() {
        assert_eq!(value("SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00.250')").await, "1767225600.25");
        assert_eq!(value("SELECT to_unixtime(from_unixtime(1767225600.5))").await, "1767225600.5");
        assert_eq!(data_type("SELECT to_unixtime(TIMESTAMP '2026-01-01 00:00:00')").await, "Float64");
    }
}
