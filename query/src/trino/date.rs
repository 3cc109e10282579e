//! `date(x)`: Trino's shorthand for `CAST(x AS date)`.
//!
//! ```sql
//! SELECT date(from_unixtime(1767225600));   -- 2026-01-01
//! SELECT date('2026-01-05');                 -- 2026-01-05
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#date>. A timestamp with time zone
//! gives the date where it is, in its zone. Strings must be `YYYY-MM-DD`.


use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::map_one;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Date {
    signature: Signature,
}

impl Date {
    pub fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl Default for Date {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Date {
    fn name(&self) -> &str {
        "date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) | DataType::Null => Ok(DataType::Date32),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(DataType::Date32),
            other => Err(DataFusionError::Plan(format!("date() takes a timestamp, a date or a varchar, not {other}"))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_one(&args.args[0], |array| Ok(cast(array, &DataType::Date32)?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn casts_timestamps_and_strings_to_dates() {
        assert_eq!(value("SELECT date(TIMESTAMP '2026-01-05 23:59:59.999')").await, "2026-01-05");
        assert_eq!(value("SELECT date('2026-01-05')").await, "2026-01-05");
        assert_eq!(value("SELECT date(from_unixtime(1767657599.999))").await, "2026-01-05");
        assert_eq!(value("SELECT date(CAST(NULL AS TIMESTAMP))").await, "");
    }
}
