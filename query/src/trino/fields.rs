//! Date and time fields: `year`, `quarter`, `month`, `week`, `day` (`day_of_month`),
//! `day_of_week` (`dow`), `day_of_year` (`doy`), `year_of_week` (`yow`), `hour`, `minute`,
//! `second`, `millisecond`, `timezone_hour`, `timezone_minute` and `last_day_of_month`.
//!
//! ```sql
//! SELECT year(DATE '2026-01-04'), day_of_week(DATE '2026-01-04'), week(DATE '2026-01-04');  -- 2026  7  1
//! SELECT hour(from_unixtime(0) AT TIME ZONE 'Asia/Kolkata');                                 -- 5
//! SELECT last_day_of_month(DATE '2024-02-10');                                               -- 2024-02-29
//! ```
//! ISO rules as in Trino: Monday is day 1 and Sunday day 7; `week` is the ISO week, so the
//! first days of January can be in week 52 or 53 of the year before (`year_of_week`). Fields of a
//! timestamp with time zone are those of its local time. All give `bigint`.
//! `timezone_hour` and `timezone_minute` are the hours and the minutes of a timestamp with time
//! zone's offset from UTC at that instant (both negative west of Greenwich: -05:30 is -5 and -30).
//! Trino: <https://trino.io/docs/current/functions/datetime.html#convenience-extraction-functions>.

use std::str::FromStr;

use chrono::{Datelike, NaiveDateTime, Offset, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, plan_error};
use super::time::{from_local, instants, local_datetimes, temporal_to};

macro_rules! field {
    ($fn_name:ident, $get:expr) => {
        fn $fn_name(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
            let get: fn(&NaiveDateTime) -> i64 = $get;
            let values: Int64Array = local_datetimes(&args[0])?
                .iter()
                .map(|v| v.as_ref().map(get))
                .collect();
            Ok(std::sync::Arc::new(values))
        }
    };
}

field!(year, |t| t.year() as i64);
field!(quarter, |t| t.month0() as i64 / 3 + 1);
field!(month, |t| t.month() as i64);
field!(week, |t| t.iso_week().week() as i64);
field!(year_of_week, |t| t.iso_week().year() as i64);
field!(day, |t| t.day() as i64);
field!(day_of_week, |t| t.weekday().number_from_monday() as i64);
field!(day_of_year, |t| t.ordinal() as i64);
field!(hour, |t| t.hour() as i64);
field!(minute, |t| t.minute() as i64);
field!(second, |t| t.second() as i64);
field!(millisecond, |t| t.nanosecond() as i64 / 1_000_000 % 1000);

fn bigint(args: &[DataType]) -> Result<DataType> {
    temporal_to("date field", &args[0], DataType::Int64)
}

/// Each value's offset from UTC in minutes, in its zone at that instant.
fn offset_minutes(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let DataType::Timestamp(_, Some(zone)) = array.data_type() else {
        return Ok(vec![None; array.len()]);
    };
    let tz = Tz::from_str(zone)?;
    Ok(instants(array)?
        .into_iter()
        .map(|v| v.map(|utc| utc.with_timezone(&tz).offset().fix().local_minus_utc() as i64 / 60))
        .collect())
}

fn zone_offset_type(args: &[DataType]) -> Result<DataType> {
    match &args[0] {
        DataType::Timestamp(_, Some(_)) | DataType::Null => Ok(DataType::Int64),
        other => Err(plan_error(
            "timezone_hour",
            format!("takes a timestamp with time zone, not {other}"),
        )),
    }
}

fn timezone_hour(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    Ok(std::sync::Arc::new(
        offset_minutes(&args[0])?
            .into_iter()
            .map(|m| m.map(|m| m / 60))
            .collect::<Int64Array>(),
    ))
}

fn timezone_minute(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    Ok(std::sync::Arc::new(
        offset_minutes(&args[0])?
            .into_iter()
            .map(|m| m.map(|m| m % 60))
            .collect::<Int64Array>(),
    ))
}

fn last_day_of_month(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let last = local_datetimes(&args[0])?.into_iter().map(|v| {
        v.and_then(|t| {
            let first = t.date().with_day(1)?;
            let next = first.checked_add_months(chrono::Months::new(1))?;
            next.pred_opt()?.and_hms_opt(0, 0, 0)
        })
    });
    from_local(last, &DataType::Date32)
}

/// Every field function.
pub fn all() -> Vec<ScalarUDF> {
    let one = || Signature::any(1, Volatility::Immutable);
    let mut udfs = vec![
        Simple::udf("year", one(), bigint, year),
        Simple::udf("quarter", one(), bigint, quarter),
        Simple::udf("month", one(), bigint, month),
        Simple::udf_with_aliases("week", &["week_of_year"], one(), bigint, week),
        Simple::udf_with_aliases("year_of_week", &["yow"], one(), bigint, year_of_week),
        Simple::udf_with_aliases("day", &["day_of_month"], one(), bigint, day),
        Simple::udf_with_aliases("day_of_week", &["dow"], one(), bigint, day_of_week),
        Simple::udf_with_aliases("day_of_year", &["doy"], one(), bigint, day_of_year),
        Simple::udf("hour", one(), bigint, hour),
        Simple::udf("minute", one(), bigint, minute),
        Simple::udf("second", one(), bigint, second),
        Simple::udf("millisecond", one(), bigint, millisecond),
        Simple::udf("timezone_hour", one(), zone_offset_type, timezone_hour),
        Simple::udf("timezone_minute", one(), zone_offset_type, timezone_minute),
    ];
    udfs.push(Simple::udf(
        "last_day_of_month",
        one(),
        |args| temporal_to("last_day_of_month", &args[0], DataType::Date32),
        last_day_of_month,
    ));
    udfs
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn extracts_iso_fields() {
        // 2026-01-04 is a Sunday, in ISO week 1 of 2026; 2027-01-01 is in week 53 of 2026
        assert_eq!(value("SELECT day_of_week(DATE '2026-01-04')").await, "7");
        assert_eq!(value("SELECT dow(DATE '2026-01-05')").await, "1");
        assert_eq!(value("SELECT week(DATE '2027-01-01')").await, "53");
        assert_eq!(
            value("SELECT year_of_week(DATE '2027-01-01')").await,
            "2026"
        );
        assert_eq!(value("SELECT quarter(DATE '2026-08-01')").await, "3");
        assert_eq!(value("SELECT day_of_year(DATE '2026-12-31')").await, "365");
        assert_eq!(
            value("SELECT millisecond(TIMESTAMP '2026-01-01 10:11:12.345')").await,
            "345"
        );
        assert_eq!(
            value("SELECT hour(from_unixtime(0) AT TIME ZONE 'Asia/Kolkata')").await,
            "5"
        );
        assert_eq!(
            value("SELECT last_day_of_month(DATE '2024-02-10')").await,
            "2024-02-29"
        );
        assert_eq!(
            value("SELECT timezone_hour(from_unixtime(0) AT TIME ZONE 'Asia/Kolkata')").await,
            "5"
        );
        assert_eq!(
            value("SELECT timezone_minute(from_unixtime(0) AT TIME ZONE 'Asia/Kolkata')").await,
            "30"
        );
        assert_eq!(
            value("SELECT timezone_hour(from_unixtime(0) AT TIME ZONE 'America/St_Johns')").await,
            "-3"
        );
        assert_eq!(
            value("SELECT timezone_minute(from_unixtime(0) AT TIME ZONE 'America/St_Johns')").await,
            "-30"
        );
        // New York's offset follows daylight saving time
        assert_eq!(
            value(
                "SELECT timezone_hour(from_unixtime(1783000000) AT TIME ZONE 'America/New_York')"
            )
            .await,
            "-4"
        );
    }
}
