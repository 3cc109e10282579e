//! Trino's SQL type names → Arrow types, where they differ from DataFusion's:
//!
//! | SQL type | Trino | DataFusion alone |
//! |---|---|---|
//! | `timestamp` | `timestamp(3)`: milliseconds | nanoseconds |
//! | `timestamp(p)` | any `p` from 0 to 12 | only 0, 3, 6 and 9 |
//! | `timestamp with time zone` | `timestamp(3) with time zone`, zone UTC (Athena's session zone) | nanoseconds, zone from the config |
//! | `varbinary` | bytes (`Binary`) | unknown |
//! | `json` | a JSON text: `varchar` marked with the Arrow extension type `arrow.json` | unknown |
//! | `array(T)`, `map(K, V)`, `row(a T)` | nested types (see [`super::type_syntax`]) | `map` unknown |
//!
//! Arrow has four timestamp units, so precisions 1–2 are kept as milliseconds, 4–5 as
//! microseconds and 7–12 as nanoseconds.
//! Trino: <https://trino.io/docs/current/language/types.html#date-and-time>.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};
use datafusion::common::plan_datafusion_err;
use datafusion::error::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::{ArrayElemTypeDef, DataType as SqlType, TimezoneInfo};

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
            SqlType::Timestamp(..)
            | SqlType::JSON
            | SqlType::Varbinary(_)
            | SqlType::Custom(..) => scalar(sql_type),
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(..) => {
                Some(arrow_type(sql_type)?)
            }
            _ => None,
        };
        let json = matches!(sql_type, SqlType::JSON)
            || matches!(sql_type, SqlType::Custom(name, _) if name.to_string().eq_ignore_ascii_case("json"));
        Ok(data_type.map(|t| {
            let field = Field::new("", t, true);
            Arc::new(if json { json_field(field) } else { field })
        }))
    }
}

/// The name of a row's `position`th field when it has none (`ROW(1, 'a')`, `zip`): Trino's
/// clients show such fields as `field0`, `field1`, … and `typeof` leaves the name out.
pub fn anonymous_field(position: usize) -> String {
    format!("field{position}")
}

/// Is `name` the name [`anonymous_field`] gives the `position`th field?
pub fn is_anonymous_field(name: &str, position: usize) -> bool {
    name.strip_prefix("field")
        .is_some_and(|n| n == position.to_string())
}

/// The Arrow extension type that marks a text as JSON, under Arrow's metadata key for
/// extension types (which DataFusion keeps through functions' fields and explicit casts).
const JSON_EXTENSION: &str = "arrow.json";
const EXTENSION_TYPE_NAME_KEY: &str = "ARROW:extension:name";

/// `field` (text) marked as Trino's `json`: the text is a JSON value, so casts read it
/// ([`super::json_cast`]) and `typeof` says `json`.
pub fn json_field(field: Field) -> Field {
    let mut metadata = field.metadata().clone();
    metadata.insert(
        EXTENSION_TYPE_NAME_KEY.to_string(),
        JSON_EXTENSION.to_string(),
    );
    field.with_metadata(metadata)
}

/// Is `field` Trino's `json`?
pub fn is_json(field: &Field) -> bool {
    field
        .metadata()
        .get(EXTENSION_TYPE_NAME_KEY)
        .is_some_and(|name| name == JSON_EXTENSION)
}

/// Trino's reading of a scalar type where it differs from DataFusion's; None elsewhere.
fn scalar(sql_type: &SqlType) -> Option<DataType> {
    match sql_type {
        SqlType::Timestamp(precision, zone) => {
            let unit = unit_of_precision(precision.unwrap_or(3));
            let zone = matches!(zone, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz)
                .then(|| Arc::from("UTC"));
            Some(DataType::Timestamp(unit, zone))
        }
        SqlType::JSON => Some(DataType::Utf8),
        SqlType::Varbinary(_) => Some(DataType::Binary),
        SqlType::Custom(name, _) if name.to_string().eq_ignore_ascii_case("json") => {
            Some(DataType::Utf8)
        }
        _ => None,
    }
}

/// The Arrow type of any type a cast names, nested ones included (`array(T)`, `map(K, V)`,
/// `row(a T)`; see [`super::type_syntax`]): arrays are `List`, maps `Map` with non-null keys,
/// rows `Struct` with lower-cased names unless quoted (Trino's field names are
/// case-insensitive).
pub fn arrow_type(sql_type: &SqlType) -> Result<DataType> {
    if let Some(t) = scalar(sql_type) {
        return Ok(t);
    }
    Ok(match sql_type {
        SqlType::Array(
            ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::Parenthesis(inner),
        ) => DataType::List(Arc::new(Field::new_list_field(arrow_type(inner)?, true))),
        SqlType::Map(key, value) => {
            let entries = Fields::from(vec![
                Field::new("key", arrow_type(key)?, false),
                Field::new("value", arrow_type(value)?, true),
            ]);
            DataType::Map(
                Arc::new(Field::new("entries", DataType::Struct(entries), false)),
                false,
            )
        }
        SqlType::Struct(fields, _) => DataType::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = match &f.field_name {
                        Some(n) if n.quote_style.is_some() => n.value.clone(),
                        Some(n) => n.value.to_ascii_lowercase(),
                        None => format!("field{i}"),
                    };
                    Ok(Field::new(name, arrow_type(&f.field_type)?, true))
                })
                .collect::<Result<Fields>>()?,
        ),
        other => crate::athena_ddl::arrow_type(other).map_err(|e| plan_datafusion_err!("{e}"))?,
    })
}
