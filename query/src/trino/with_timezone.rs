//! `with_timezone(timestamp, zone)`: a timestamp without zone read as local time in `zone`.
//!
//! ```sql
//! SELECT with_timezone(TIMESTAMP '2026-01-01 12:00:00', 'America/New_York');
//! -- 2026-01-01 12:00:00 America/New_York (17:00 UTC)
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#with_timezone>. A local time
//! that a daylight-saving change skips or repeats takes the earlier instant.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{ArrayRef, AsArray, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, TimestampNanosecondType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::at_timezone::zone_argument;
use super::map_one;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WithTimezone {
    signature: Signature,
}

impl WithTimezone {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for WithTimezone {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for WithTimezone {
    fn name(&self) -> &str {
        "with_timezone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal("with_timezone uses return_field_from_args".into()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let zone = zone_argument("with_timezone", args.scalar_arguments[1])?;
        match args.arg_fields[0].data_type() {
            DataType::Timestamp(unit, None) => Ok(Arc::new(Field::new(self.name(), DataType::Timestamp(*unit, Some(zone)), true))),
            other => Err(DataFusionError::Plan(format!("with_timezone() takes a timestamp without time zone, not {other}"))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let target = args.return_field.data_type().clone();
        let DataType::Timestamp(_, Some(zone)) = &target else { unreachable!("a zoned result") };
        let tz = Tz::from_str(zone)?;
        map_one(&args.args[0], |array| {
            let nanos = cast(array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
            let utc: TimestampNanosecondArray = nanos
                .as_primitive::<TimestampNanosecondType>()
                .iter()
                .map(|v| {
                    v.and_then(|local| {
                        let local = DateTime::from_timestamp_nanos(local).naive_utc();
                        tz.from_local_datetime(&local).earliest().and_then(|t| t.timestamp_nanos_opt())
                    })
                })
                .collect();
            Ok(cast(&(Arc::new(utc.with_timezone(zone.clone())) as ArrayRef), &target)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn reads_local_time_in_the_zone() {
        assert_eq!(
            value("SELECT with_timezone(TIMESTAMP '2026-01-01 12:00:00', 'America/New_York')").await,
            "2026-01-01T12:00:00-05:00"
        );
        assert_eq!(value("SELECT to_unixtime(with_timezone(TIMESTAMP '1970-01-01 00:00:00', 'Europe/Paris'))").await, "-3600.0");
    }
}
