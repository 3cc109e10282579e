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
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, is_string, plan_error};
use super::time::is_temporal;

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "date",
        Signature::any(1, Volatility::Immutable),
        |args| match &args[0] {
            t if is_temporal(t) || is_string(t) => Ok(DataType::Date32),
            other => Err(plan_error(
                "date",
                format!("takes a timestamp, a date or a varchar, not {other}"),
            )),
        },
        |args, _| Ok(cast(&args[0], &DataType::Date32)?),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn casts_timestamps_and_strings_to_dates() {
        assert_eq!(
            value("SELECT date(TIMESTAMP '2026-01-05 23:59:59.999')").await,
            "2026-01-05"
        );
        assert_eq!(value("SELECT date('2026-01-05')").await, "2026-01-05");
        assert_eq!(
            value("SELECT date(from_unixtime(1767657599.999))").await,
            "2026-01-05"
        );
        assert_eq!(value("SELECT date(CAST(NULL AS TIMESTAMP))").await, "");
    }
}
