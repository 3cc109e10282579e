//! Shared by the date and time functions: the local date-time of each value (a date at
//! midnight; a timestamp with time zone in its zone), and back.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampNanosecondType};
use datafusion::error::{DataFusionError, Result};

use super::simple::constant_string;

/// Is `t` a date or a timestamp?
pub fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    )
}

/// A function of a date or a timestamp (or NULL) returning `result`.
pub fn temporal_to(function: &str, arg: &DataType, result: DataType) -> Result<DataType> {
    if is_temporal(arg) || *arg == DataType::Null {
        Ok(result)
    } else {
        Err(DataFusionError::Plan(format!(
            "{function}(): takes a date or a timestamp, not {arg}"
        )))
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// The local date-time of each value of a date or timestamp array.
pub fn local_datetimes(array: &ArrayRef) -> Result<Vec<Option<NaiveDateTime>>> {
    match array.data_type() {
        DataType::Date32 | DataType::Date64 => {
            let days = cast(array, &DataType::Date32)?;
            Ok(days
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| {
                    d.and_then(|d| epoch().checked_add_signed(chrono::Duration::days(d as i64)))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .collect())
        }
        DataType::Timestamp(_, zone) => {
            let tz = zone.as_deref().map(Tz::from_str).transpose()?;
            Ok(instants(array)?
                .into_iter()
                .map(|v| {
                    v.map(|utc| match &tz {
                        Some(tz) => utc.with_timezone(tz).naive_local(),
                        None => utc.naive_utc(),
                    })
                })
                .collect())
        }
        DataType::Null => Ok(vec![None; array.len()]),
        other => Err(DataFusionError::Execution(format!(
            "expected a date or a timestamp, got {other}"
        ))),
    }
}

/// Each value of a timestamp array as an instant (a timestamp without zone read in UTC).
pub fn instants(array: &ArrayRef) -> Result<Vec<Option<DateTime<Utc>>>> {
    let nanos = cast(array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
    Ok(nanos
        .as_primitive::<TimestampNanosecondType>()
        .iter()
        .map(|v| v.map(DateTime::from_timestamp_nanos))
        .collect())
}

/// An array of `data_type` (a date or a timestamp) holding these local date-times.
pub fn from_local(
    values: impl IntoIterator<Item = Option<NaiveDateTime>>,
    data_type: &DataType,
) -> Result<ArrayRef> {
    match data_type {
        DataType::Date32 => {
            let days: Date32Array = values
                .into_iter()
                .map(|v| v.map(|v| (v.date() - epoch()).num_days() as i32))
                .collect();
            Ok(Arc::new(days))
        }
        DataType::Timestamp(_, zone) => {
            let tz = zone.as_deref().map(Tz::from_str).transpose()?;
            let nanos: TimestampNanosecondArray = values
                .into_iter()
                .map(|v| {
                    v.and_then(|v| match &tz {
                        Some(tz) => tz
                            .from_local_datetime(&v)
                            .earliest()
                            .and_then(|t| t.timestamp_nanos_opt()),
                        None => v.and_utc().timestamp_nanos_opt(),
                    })
                })
                .collect();
            let nanos: ArrayRef = Arc::new(match zone {
                Some(z) => nanos.with_timezone(z.clone()),
                None => nanos,
            });
            Ok(cast(&nanos, data_type)?)
        }
        other => Err(DataFusionError::Execution(format!(
            "expected a date or a timestamp, got {other}"
        ))),
    }
}

/// A date-time unit, as `date_add`, `date_diff` and `date_trunc` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn parse(function: &str, name: &str) -> Result<Unit> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "millisecond" => Unit::Millisecond,
            "second" => Unit::Second,
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" => Unit::Year,
            _ => {
                return Err(DataFusionError::Execution(format!(
                    "{function}(): unknown unit {name:?} (millisecond, second, minute, hour, day, week, month, quarter or year)"
                )));
            }
        })
    }

    /// The length of a unit of fixed length, in milliseconds.
    pub fn fixed_millis(self) -> Option<i64> {
        Some(match self {
            Unit::Millisecond => 1,
            Unit::Second => 1_000,
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => 86_400_000,
            Unit::Week => 7 * 86_400_000,
            Unit::Month | Unit::Quarter | Unit::Year => return None,
        })
    }

    /// Months in a calendar unit.
    pub fn months(self) -> Option<i64> {
        match self {
            Unit::Month => Some(1),
            Unit::Quarter => Some(3),
            Unit::Year => Some(12),
            _ => None,
        }
    }
}

/// The unit named by the first argument, the same on every row.
pub fn constant_unit(function: &str, units: &ArrayRef) -> Result<Option<Unit>> {
    constant_string(function, "unit", units)?
        .map(|name| Unit::parse(function, &name))
        .transpose()
}

/// The same stored values under another type of the same layout (a timestamp's zone label:
/// the instants stay).
pub fn relabel(array: &ArrayRef, data_type: &DataType) -> Result<ArrayRef> {
    let data = array
        .to_data()
        .into_builder()
        .data_type(data_type.clone())
        .build()?;
    Ok(datafusion::arrow::array::make_array(data))
}
