//! `date_diff(unit, a, b)`: how many whole units from `a` to `b` (negative when `b` is earlier),
//! as a `bigint`.
//!
//! ```sql
//! SELECT date_diff('day', DATE '2026-01-01', DATE '2026-03-01');                 -- 59
//! SELECT date_diff('month', DATE '2026-01-31', DATE '2026-02-28');               -- 0
//! SELECT date_diff('hour', TIMESTAMP '2026-01-01 00:00', TIMESTAMP '2026-01-01 05:59');  -- 5
//! ```
//! Calendar units (month, quarter, year) count completed months: from January 31 to
//! February 28 is not yet a month. Trino: <https://trino.io/docs/current/functions/datetime.html#date_diff>.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};
use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, is_string, plan_error};
use super::time::{Unit, constant_unit, is_temporal, local_datetimes};

/// Whole `unit`s from `a` to `b`.
pub fn diff(unit: Unit, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    if let Some(per) = unit.months() {
        let mut months =
            (b.year() as i64 * 12 + b.month0() as i64) - (a.year() as i64 * 12 + a.month0() as i64);
        // the rest of b's month (day and time) must reach a's for the last month to count
        let rest = |t: NaiveDateTime| (t.day(), t.time());
        if months > 0 && rest(b) < rest(a) {
            months -= 1;
        } else if months < 0 && rest(b) > rest(a) {
            months += 1;
        }
        return months / per;
    }
    let millis = (b - a).num_milliseconds();
    millis / unit.fixed_millis().expect("a fixed unit")
}

fn kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let Some(unit) = constant_unit("date_diff", &args[0])? else {
        return Ok(Arc::new(Int64Array::new_null(args[1].len())));
    };
    // a timestamp with time zone: fixed units between instants, calendar units between local times
    let (a, b) = (local_datetimes(&args[1])?, local_datetimes(&args[2])?);
    let out: Int64Array = a
        .into_iter()
        .zip(b)
        .map(|(a, b)| Some(diff(unit, a?, b?)))
        .collect();
    Ok(Arc::new(out))
}

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "date_diff",
        Signature::any(3, Volatility::Immutable),
        |args| {
            let temporal = |t: &DataType| is_temporal(t) || *t == DataType::Null;
            if is_string(&args[0]) && temporal(&args[1]) && temporal(&args[2]) {
                Ok(DataType::Int64)
            } else {
                Err(plan_error(
                    "date_diff",
                    "takes a unit name and two dates or timestamps",
                ))
            }
        },
        kernel,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn counts_whole_units() {
        assert_eq!(
            value("SELECT date_diff('day', DATE '2026-01-01', DATE '2026-03-01')").await,
            "59"
        );
        assert_eq!(
            value("SELECT date_diff('month', DATE '2026-01-31', DATE '2026-02-28')").await,
            "0"
        );
        assert_eq!(
            value("SELECT date_diff('month', DATE '2026-01-31', DATE '2026-03-31')").await,
            "2"
        );
        assert_eq!(
            value("SELECT date_diff('year', DATE '2026-06-01', DATE '2024-06-02')").await,
            "-1"
        );
        assert_eq!(
            value("SELECT date_diff('hour', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 05:59:00')").await,
            "5"
        );
    }
}
