//! `date_trunc(unit, x)`: `x` cut down to the start of its unit, of the same type (a date stays
//! a date; DataFusion's gives a timestamp).
//!
//! ```sql
//! SELECT date_trunc('month', DATE '2026-03-15');                          -- 2026-03-01
//! SELECT date_trunc('week', DATE '2026-03-15');                           -- 2026-03-09 (a Monday)
//! SELECT date_trunc('hour', TIMESTAMP '2026-03-15 10:42:07.123');         -- 2026-03-15 10:00:00.000
//! ```
//! Weeks start on Monday (ISO). A timestamp with time zone is cut in its local time.
//! Trino: <https://trino.io/docs/current/functions/datetime.html#date_trunc>.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, is_string, plan_error};
use super::time::{Unit, constant_unit, from_local, is_temporal, local_datetimes};

/// `t` cut to the start of its `unit`.
pub fn truncate(t: NaiveDateTime, unit: Unit) -> Option<NaiveDateTime> {
    let day = |d: chrono::NaiveDate| d.and_time(NaiveTime::MIN);
    Some(match unit {
        Unit::Millisecond => t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)?,
        Unit::Second => t.with_nanosecond(0)?,
        Unit::Minute => t.with_nanosecond(0)?.with_second(0)?,
        Unit::Hour => t.with_nanosecond(0)?.with_second(0)?.with_minute(0)?,
        Unit::Day => day(t.date()),
        Unit::Week => day(t.date() - Duration::days(t.weekday().num_days_from_monday() as i64)),
        Unit::Month => day(t.date().with_day(1)?),
        Unit::Quarter => day(t.date().with_day(1)?.with_month(t.month0() / 3 * 3 + 1)?),
        Unit::Year => day(t.date().with_day(1)?.with_month(1)?),
    })
}

fn kernel(args: &[ArrayRef], data_type: &DataType) -> Result<ArrayRef> {
    let Some(unit) = constant_unit("date_trunc", &args[0])? else {
        return from_local(vec![None; args[1].len()], data_type);
    };
    let values = cast(&args[1], data_type)?;
    let cut = local_datetimes(&values)?
        .into_iter()
        .map(|t| t.and_then(|t| truncate(t, unit)));
    from_local(cut, data_type)
}

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "date_trunc",
        Signature::any(2, Volatility::Immutable),
        |args| match &args[1] {
            t if is_string(&args[0]) && is_temporal(t) => Ok(if *t == DataType::Date64 {
                DataType::Date32
            } else {
                t.clone()
            }),
            other => Err(plan_error(
                "date_trunc",
                format!("takes a unit name and a date or a timestamp, not {other}"),
            )),
        },
        kernel,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn truncates_keeping_the_type() {
        assert_eq!(
            value("SELECT date_trunc('month', DATE '2026-03-15')").await,
            "2026-03-01"
        );
        assert_eq!(
            value("SELECT date_trunc('week', DATE '2026-03-15')").await,
            "2026-03-09"
        );
        assert_eq!(
            value("SELECT date_trunc('quarter', DATE '2026-08-15')").await,
            "2026-07-01"
        );
        assert_eq!(
            value("SELECT date_trunc('hour', TIMESTAMP '2026-03-15 10:42:07.123')").await,
            "2026-03-15T10:00:00"
        );
        assert_eq!(
            value("SELECT date_trunc('day', from_unixtime(0) AT TIME ZONE 'America/New_York')")
                .await,
            "1969-12-31T00:00:00-05:00"
        );
    }
}
