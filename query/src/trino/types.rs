//! Trino's SQL type names → Arrow types, where they differ from DataFusion's:
//!
//! | SQL type | Trino | DataFusion alone |
//! |---|---|---|
//! | `timestamp` | `timestamp(3)`: milliseconds | nanoseconds |
//! | `timestamp(p)` | any `p` from 0 to 12 | only 0, 3, 6 and 9 |
//! | `timestamp with time zone` | `timestamp(3) with time zone`, zone UTC (Athena's session zone) | nanoseconds, zone from the config |
//! | `json` | a JSON text (kept as `varchar`) | unknown |
//!
//! Arrow has four timestamp units, so precisions 1–2 are kept as milliseconds, 4–5 as
//! microseconds and 7–12 as nanoseconds.
//! Trino: <https://trino.io/docs/current/language/types.html#date-and-time>.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef, TimeUnit};
use datafusion::error::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::{DataType as SqlType, TimezoneInfo};

#[derive(Debug, Default)]
pub struct TrinoTypes;

/// The Arrow unit that holds a Trino timestamp precision.
pub fn unit_of_precision(precision: u64) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// The number of fraction-of-second digits a unit holds.
pub fn precision_of_unit(unit: TimeUnit) -> usize {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

impl TypePlanner for TrinoTypes {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        let data_type = match sql_type {
            SqlType::Timestamp(precision, zone) => {
                let unit = unit_of_precision(precision.unwrap_or(3));
                let zone = matches!(zone, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz).then(|| Arc::from("UTC"));
                DataType::Timestamp(unit, zone)
            }
            SqlType::JSON => DataType::Utf8,
            SqlType::Custom(name, _) if name.to_string().eq_ignore_ascii_case("json") => DataType::Utf8,
            _ => return Ok(None),
        };
        Ok(Some(Arc::new(datafusion::arrow::datatypes::Field::new("", data_type, true))))
    }
}
