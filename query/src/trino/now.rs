//! `current_timestamp`, `now()` and `localtimestamp` with Trino's types:
//!
//! ```sql
//! SELECT current_timestamp;    -- 2026-11-22 21:37:37.868 UTC   timestamp(3) with time zone
//! SELECT localtimestamp;       -- 2026-11-22 21:37:37.868       timestamp(3)
//! ```
//! Trino's are milliseconds in the session's zone (UTC on Athena); DataFusion's `now()` is
//! nanoseconds. As in both, every use in one statement sees the same instant: the start of the
//! query, fixed when the plan is simplified.
//! Trino: <https://trino.io/docs/current/functions/datetime.html#current_timestamp>.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct Now {
    name: &'static str,
    aliases: Vec<String>,
    zone: Option<Arc<str>>,
    signature: Signature,
}

/// `now()`, also spelled `current_timestamp`: a `timestamp(3) with time zone` in UTC.
pub fn now() -> ScalarUDF {
    ScalarUDF::from(Now {
        name: "now",
        aliases: vec!["current_timestamp".into()],
        zone: Some(Arc::from("UTC")),
        signature: Signature::nullary(Volatility::Stable),
    })
}

/// `localtimestamp`: a `timestamp(3)`, the UTC wall clock.
pub fn localtimestamp() -> ScalarUDF {
    ScalarUDF::from(Now {
        name: "localtimestamp",
        aliases: Vec::new(),
        zone: None,
        signature: Signature::nullary(Volatility::Stable),
    })
}

impl Now {
    fn at(&self, instant: DateTime<Utc>) -> ScalarValue {
        ScalarValue::TimestampMillisecond(Some(instant.timestamp_millis()), self.zone.clone())
    }
}

impl ScalarUDFImpl for Now {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            self.zone.clone(),
        ))
    }

    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        // never NULL
        Ok(Arc::new(Field::new(
            self.name,
            self.return_type(&[])?,
            false,
        )))
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        Ok(match info.query_execution_start_time() {
            Some(start) => ExprSimplifyResult::Simplified(Expr::Literal(self.at(start), None)),
            None => ExprSimplifyResult::Original(args),
        })
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.at(Utc::now())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn have_trinos_types() {
        assert_eq!(
            data_type("SELECT current_timestamp").await,
            "Timestamp(ms, \"UTC\")"
        );
        assert_eq!(data_type("SELECT now()").await, "Timestamp(ms, \"UTC\")");
        assert_eq!(data_type("SELECT localtimestamp").await, "Timestamp(ms)");
        assert_eq!(value("SELECT now() = current_timestamp").await, "true");
        assert_eq!(
            value("SELECT current_timestamp > TIMESTAMP '2026-01-01 00:00:00 UTC'").await,
            "true"
        );
        assert_eq!(
            value("SELECT date(current_timestamp) = current_date").await,
            "true"
        );
    }
}
