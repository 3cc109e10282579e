//! `at_timezone(timestamp, zone)` and `timestamp AT TIME ZONE zone`: the same instant, shown
//! in `zone`; the precision is kept.
//!
//! ```sql
//! SELECT from_unixtime(0) AT TIME ZONE 'America/New_York';   -- 1969-12-31 19:00:00.000 America/New_York
//! SELECT at_timezone(TIMESTAMP '2026-01-01 12:00:00 UTC', 'Asia/Tokyo');
//! ```
//! A timestamp without zone is read in the session zone, which on Athena is UTC. Trino:
//! <https://trino.io/docs/current/functions/datetime.html#at_timezone> and
//! <https://trino.io/docs/current/functions/datetime.html#time-zone-conversion>.
//! DataFusion's `AT TIME ZONE` converts to nanoseconds; [`super::rewrite`] turns the operator
//! into this function.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::make_array;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::map_one;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AtTimezone {
    signature: Signature,
}

impl AtTimezone {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for AtTimezone {
    fn default() -> Self {
        Self::new()
    }
}

/// The zone named by a constant argument, checked.
pub(crate) fn zone_argument(function: &str, arg: Option<&ScalarValue>) -> Result<Arc<str>> {
    let name = match arg {
        Some(ScalarValue::Utf8(Some(z)) | ScalarValue::LargeUtf8(Some(z)) | ScalarValue::Utf8View(Some(z))) => z.clone(),
        _ => return Err(DataFusionError::Plan(format!("{function}() takes the zone as a constant string"))),
    };
    Tz::from_str(&name).map_err(|_| DataFusionError::Plan(format!("{function}(): unknown time zone {name:?}")))?;
    Ok(Arc::from(name))
}

impl ScalarUDFImpl for AtTimezone {
    fn name(&self) -> &str {
        "at_timezone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal("at_timezone uses return_field_from_args".into()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let zone = zone_argument("at_timezone", args.scalar_arguments[1])?;
        match args.arg_fields[0].data_type() {
            DataType::Timestamp(unit, _) => Ok(Arc::new(Field::new(self.name(), DataType::Timestamp(*unit, Some(zone)), true))),
            DataType::Null => Ok(Arc::new(Field::new(self.name(), DataType::Null, true))),
            other => Err(DataFusionError::Plan(format!("at_timezone() takes a timestamp, not {other}"))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let target = args.return_field.data_type().clone();
        map_one(&args.args[0], |array| {
            if array.data_type() == &DataType::Null {
                return Ok(array.clone());
            }
            // the stored instant is UTC either way: only the zone label changes
            let data = array.to_data().into_builder().data_type(target.clone()).build()?;
            Ok(make_array(data))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn shows_the_same_instant_in_another_zone() {
        assert_eq!(value("SELECT from_unixtime(0) AT TIME ZONE 'America/New_York'").await, "1969-12-31T19:00:00-05:00");
        assert_eq!(value("SELECT at_timezone(TIMESTAMP '2026-01-01 12:00:00', 'Asia/Tokyo')").await, "2026-01-01T21:00:00+09:00");
    }
}
