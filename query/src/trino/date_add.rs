//! `date_add(unit, value, timestamp)`: `timestamp` moved by `value` units, of the same type.
//!
//! ```sql
//! SELECT date_add('day', 1, DATE '2026-01-31');                       -- 2026-02-01
//! SELECT date_add('month', 1, DATE '2026-01-31');                     -- 2026-02-28
//! SELECT date_add('hour', -2, TIMESTAMP '2026-01-01 01:00:00.000');   -- 2025-12-31 23:00:00.000
//! ```
//! Months, quarters and years keep the day of the month, or take the month's last day when it
//! is shorter. Days and longer units move the local time of a timestamp with time zone; shorter
//! ones move the instant. Trino: <https://trino.io/docs/current/functions/datetime.html#date_add>.

use chrono::{Duration, Months, NaiveDateTime};
use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, is_string, plan_error};
use super::time::{Unit, constant_unit, from_local, is_temporal, local_datetimes, relabel};

/// `t` moved by `n` units (None when out of range).
pub fn add(t: NaiveDateTime, unit: Unit, n: i64) -> Option<NaiveDateTime> {
    if let Some(months) = unit.months() {
        let months = n.checked_mul(months)?;
        return if months >= 0 {
            t.checked_add_months(Months::new(u32::try_from(months).ok()?))
        } else {
            t.checked_sub_months(Months::new(u32::try_from(-months).ok()?))
        };
    }
    let millis = n.checked_mul(unit.fixed_millis()?)?;
    t.checked_add_signed(Duration::milliseconds(millis))
}

fn kernel(args: &[ArrayRef], data_type: &DataType) -> Result<ArrayRef> {
    let Some(unit) = constant_unit("date_add", &args[0])? else {
        return from_local(vec![None; args[2].len()], data_type);
    };
    let counts = cast(&args[1], &DataType::Int64)?;
    let counts = counts.as_primitive::<Int64Type>();
    let zoned_instant = matches!(data_type, DataType::Timestamp(_, Some(_))) && unit < Unit::Day;
    // a zoned timestamp moved by hours or less: move the instant (as UTC), then relabel
    let (values, working_type) = match data_type {
        DataType::Timestamp(u, Some(_)) if zoned_instant => {
            let plain = DataType::Timestamp(*u, None);
            (relabel(&cast(&args[2], data_type)?, &plain)?, plain)
        }
        _ => (cast(&args[2], data_type)?, data_type.clone()),
    };
    let moved = local_datetimes(&values)?
        .into_iter()
        .zip(counts.iter())
        .map(|(t, n)| match (t, n) {
            (Some(t), Some(n)) => add(t, unit, n)
                .map(Some)
                .ok_or_else(|| data_error("date_add", "result out of range")),
            _ => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    relabel(&from_local(moved, &working_type)?, data_type)
}

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "date_add",
        Signature::any(3, Volatility::Immutable),
        |args| {
            if !is_string(&args[0]) || !(args[1].is_integer() || args[1] == DataType::Null) {
                return Err(plan_error(
                    "date_add",
                    "takes a unit name, an integer and a date or timestamp",
                ));
            }
            match &args[2] {
                t if is_temporal(t) => Ok(if *t == DataType::Date64 {
                    DataType::Date32
                } else {
                    t.clone()
                }),
                other => Err(plan_error(
                    "date_add",
                    format!("takes a date or a timestamp, not {other}"),
                )),
            }
        },
        kernel,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn moves_by_calendar_and_fixed_units() {
        assert_eq!(
            value("SELECT date_add('day', 1, DATE '2026-01-31')").await,
            "2026-02-01"
        );
        assert_eq!(
            value("SELECT date_add('month', 1, DATE '2026-01-31')").await,
            "2026-02-28"
        );
        assert_eq!(
            value("SELECT date_add('year', -1, DATE '2024-02-29')").await,
            "2023-02-28"
        );
        assert_eq!(
            value("SELECT date_add('hour', -2, TIMESTAMP '2026-01-01 01:00:00.000')").await,
            "2025-12-31T23:00:00"
        );
        assert_eq!(
            value("SELECT date_add('day', 1, with_timezone(TIMESTAMP '2026-03-28 12:00:00', 'Europe/Paris'))").await,
            "2026-03-29T12:00:00+02:00",
            "a day across the DST change keeps the local time"
        );
    }
}
