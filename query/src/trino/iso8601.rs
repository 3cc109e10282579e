//! ISO 8601 text: `from_iso8601_timestamp`, `from_iso8601_date` and `to_iso8601`.
//!
//! ```sql
//! SELECT from_iso8601_timestamp('2026-03-05T14:07:09.5Z');     -- 2026-03-05 14:07:09.500 UTC
//! SELECT from_iso8601_timestamp('2026-03-05T14:07:09+01:00');  -- the instant 2026-03-05 13:07:09.000 UTC
//! SELECT from_iso8601_date('2026-03-05');                      -- 2026-03-05
//! SELECT to_iso8601(TIMESTAMP '2026-03-05 14:07:09.500');      -- 2026-03-05T14:07:09.500
//! SELECT to_iso8601(from_unixtime(0));                         -- 1970-01-01T00:00:00.000Z
//! ```
//! A timestamp without offset is read in UTC (Athena's session zone). Difference from Trino: a
//! timestamp with an offset gives the same instant, but shown in UTC rather than in that offset
//! (an Arrow column has a single zone, fixed when the query is planned). Trino: <https://trino.io/docs/current/functions/datetime.html#from_iso8601_timestamp>,
//! <https://trino.io/docs/current/functions/datetime.html#to_iso8601>.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{ArrayRef, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, parse_each, string_args};
use super::time::{from_local, local_datetimes, temporal_to};

/// An ISO 8601 timestamp: the instant in milliseconds and its offset (None: no offset given).
fn parse_timestamp(text: &str) -> Option<(i64, Option<FixedOffset>)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some((t.timestamp_millis(), Some(*t.offset())));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some((t.timestamp_millis(), Some(*t.offset())));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some((t.and_utc().timestamp_millis(), None));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((
        date.and_time(NaiveTime::MIN).and_utc().timestamp_millis(),
        None,
    ))
}

fn from_timestamp_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let parsed = parse_each(&args[0], |s| {
        parse_timestamp(s).ok_or_else(|| {
            data_error(
                "from_iso8601_timestamp",
                format!("invalid ISO 8601 timestamp: \"{s}\""),
            )
        })
    })?;
    let millis: TimestampMillisecondArray = parsed.iter().map(|p| p.map(|(ms, _)| ms)).collect();
    Ok(Arc::new(millis.with_timezone("UTC")))
}

fn from_date_kernel(args: &[ArrayRef], data_type: &DataType) -> Result<ArrayRef> {
    let dates = parse_each(&args[0], |s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| d.and_time(NaiveTime::MIN))
            .map_err(|_| {
                data_error(
                    "from_iso8601_date",
                    format!("invalid ISO 8601 date: \"{s}\""),
                )
            })
    })?;
    from_local(dates, data_type)
}

fn to_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (format, suffix) = match args[0].data_type() {
        DataType::Date32 | DataType::Date64 => ("%Y-%m-%d", None),
        DataType::Timestamp(unit, zone) => (
            match unit {
                TimeUnit::Second => "%Y-%m-%dT%H:%M:%S",
                TimeUnit::Millisecond => "%Y-%m-%dT%H:%M:%S%.3f",
                TimeUnit::Microsecond => "%Y-%m-%dT%H:%M:%S%.6f",
                TimeUnit::Nanosecond => "%Y-%m-%dT%H:%M:%S%.9f",
            },
            zone.clone(),
        ),
        _ => ("", None),
    };
    let locals = local_datetimes(&args[0])?;
    let out: StringArray = match suffix {
        None => locals
            .into_iter()
            .map(|t| t.map(|t| t.format(format).to_string()))
            .collect(),
        Some(zone) => {
            use std::str::FromStr;
            let tz = datafusion::arrow::array::timezone::Tz::from_str(&zone)?;
            locals
                .into_iter()
                .map(|t| {
                    t.and_then(|t| chrono::TimeZone::from_local_datetime(&tz, &t).earliest())
                        .map(|t| {
                            let offset = chrono::Offset::fix(
                                &chrono::TimeZone::offset_from_utc_datetime(&tz, &t.naive_utc()),
                            );
                            let zone = if offset.local_minus_utc() == 0 {
                                "Z".to_string()
                            } else {
                                offset.to_string()
                            };
                            format!("{}{zone}", t.naive_local().format(format))
                        })
                })
                .collect()
        }
    };
    Ok(Arc::new(out))
}

pub fn all() -> Vec<ScalarUDF> {
    let one = || Signature::any(1, Volatility::Immutable);
    vec![
        Simple::udf(
            "from_iso8601_timestamp",
            one(),
            |a| {
                string_args(
                    "from_iso8601_timestamp",
                    a,
                    DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("UTC"))),
                )
            },
            from_timestamp_kernel,
        ),
        Simple::udf(
            "from_iso8601_date",
            one(),
            |a| string_args("from_iso8601_date", a, DataType::Date32),
            from_date_kernel,
        ),
        Simple::udf(
            "to_iso8601",
            one(),
            |a| temporal_to("to_iso8601", &a[0], DataType::Utf8),
            to_kernel,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn reads_and_writes_iso_8601() {
        assert_eq!(
            value("SELECT from_iso8601_timestamp('2026-03-05T14:07:09.5Z')").await,
            "2026-03-05T14:07:09.500Z"
        );
        assert_eq!(
            value("SELECT from_iso8601_date('2026-03-05')").await,
            "2026-03-05"
        );
        assert_eq!(
            value("SELECT to_iso8601(TIMESTAMP '2026-03-05 14:07:09.500')").await,
            "2026-03-05T14:07:09.500"
        );
        assert_eq!(
            value("SELECT to_iso8601(from_unixtime(0))").await,
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            value("SELECT to_iso8601(DATE '2026-03-05')").await,
            "2026-03-05"
        );
    }
}
