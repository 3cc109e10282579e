//! The two ways a time zone is put on a timestamp.
//!
//! `at_timezone(timestamp, zone)` and `timestamp AT TIME ZONE zone`: the same instant, shown in
//! `zone`; the precision is kept. A timestamp without zone is read in the session zone, which
//! on Athena is UTC.
//! ```sql
//! SELECT from_unixtime(0) AT TIME ZONE 'America/New_York';   -- 1969-12-31 19:00:00.000 America/New_York
//! SELECT at_timezone(from_unixtime(0), 'Asia/Kolkata');      -- 1970-01-01 05:30:00.000 Asia/Kolkata
//! ```
//! `with_timezone(timestamp, zone)`: a timestamp without zone read as local time in `zone`; a
//! local time that a daylight-saving change skips or repeats takes the earlier instant.
//! ```sql
//! SELECT with_timezone(TIMESTAMP '2026-01-01 12:00:00', 'America/New_York');
//! -- 2026-01-01 12:00:00 America/New_York (17:00 UTC)
//! ```
//! The zone must be a constant: an Arrow column has one zone, fixed when the query is planned.
//! DataFusion's `AT TIME ZONE` converts to nanoseconds; [`super::rewrite`] turns the operator into
//! `at_timezone`. Trino: <https://trino.io/docs/current/functions/datetime.html#at_timezone>,
//! <https://trino.io/docs/current/functions/datetime.html#with_timezone>,
//! <https://trino.io/docs/current/functions/datetime.html#time-zone-conversion>.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::simple::plan_error;
use super::time::{from_local, local_datetimes, relabel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// the same instant, labelled with the zone
    At,
    /// the local time read in the zone
    With,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ZoneFunction {
    kind: Kind,
    signature: Signature,
}

pub fn at_timezone() -> ScalarUDF {
    ScalarUDF::from(ZoneFunction {
        kind: Kind::At,
        signature: Signature::any(2, Volatility::Immutable),
    })
}

pub fn with_timezone() -> ScalarUDF {
    ScalarUDF::from(ZoneFunction {
        kind: Kind::With,
        signature: Signature::any(2, Volatility::Immutable),
    })
}

impl ScalarUDFImpl for ZoneFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::At => "at_timezone",
            Kind::With => "with_timezone",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(format!(
            "{} uses return_field_from_args",
            self.name()
        )))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let name = match args.scalar_arguments[1] {
            Some(
                ScalarValue::Utf8(Some(z))
                | ScalarValue::LargeUtf8(Some(z))
                | ScalarValue::Utf8View(Some(z)),
            ) => z,
            _ => {
                return Err(plan_error(
                    self.name(),
                    "takes the zone as a constant string",
                ));
            }
        };
        Tz::from_str(name)
            .map_err(|_| plan_error(self.name(), format!("unknown time zone {name:?}")))?;
        let data_type = match (self.kind, args.arg_fields[0].data_type()) {
            (Kind::At, DataType::Timestamp(unit, _))
            | (Kind::With, DataType::Timestamp(unit, None)) => {
                DataType::Timestamp(*unit, Some(Arc::from(name.as_str())))
            }
            (_, DataType::Null) => DataType::Null,
            (Kind::At, other) => {
                return Err(plan_error(
                    self.name(),
                    format!("takes a timestamp, not {other}"),
                ));
            }
            (Kind::With, other) => {
                return Err(plan_error(
                    self.name(),
                    format!("takes a timestamp without time zone, not {other}"),
                ));
            }
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let target = args.return_field.data_type().clone();
        let constant = matches!(args.args[0], ColumnarValue::Scalar(_));
        let array = args.args[0].to_array(args.number_rows)?;
        let result = match (self.kind, &target) {
            (_, DataType::Null) => array,
            // the stored instant is UTC either way: only the zone label changes
            (Kind::At, _) => relabel(&array, &target)?,
            (Kind::With, _) => from_local(local_datetimes(&array)?, &target)?,
        };
        Ok(if constant {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn at_timezone_shows_the_same_instant_in_another_zone() {
        assert_eq!(
            value("SELECT from_unixtime(0) AT TIME ZONE 'America/New_York'").await,
            "1969-12-31T19:00:00-05:00"
        );
        assert_eq!(
            value("SELECT at_timezone(TIMESTAMP '2026-01-01 12:00:00', 'Asia/Tokyo')").await,
            "2026-01-01T21:00:00+09:00"
        );
    }

    #[tokio::test]
    async fn with_timezone_reads_local_time_in_the_zone() {
        assert_eq!(
            value("SELECT with_timezone(TIMESTAMP '2026-01-01 12:00:00', 'America/New_York')")
                .await,
            "2026-01-01T12:00:00-05:00"
        );
        assert_eq!(
            value(
                "SELECT to_unixtime(with_timezone(TIMESTAMP '1970-01-01 00:00:00', 'Europe/Paris'))"
            )
            .await,
            "-3600.0"
        );
    }
}
