//! Casts from JSON to arrays, maps and rows, as Trino makes them:
//!
//! ```sql
//! SELECT CAST(json_parse('[1, null, 456]') AS array(integer));                          -- [1, NULL, 456]
//! SELECT CAST(json_parse('{"k1": 1, "k2": 23}') AS map(varchar, integer));              -- {k1=1, k2=23}
//! SELECT CAST(json_parse('{"v1": 123, "V2": "abc"}') AS row(v1 bigint, v2 varchar));     -- {v1=123, v2=abc}
//! SELECT CAST(json_parse('[123, "abc"]') AS row(v1 bigint, v2 varchar));                -- {v1=123, v2=abc}
//! SELECT CAST(json_extract(doc, '$.items') AS array(map(varchar, json))) FROM orders;   -- elements as JSON text
//! SELECT TRY_CAST(json_parse('{"a": 1}') AS array(integer));                            -- NULL
//! ```
//! The rules are Trino's: a JSON `null` is NULL at any depth; a row takes an object's fields by
//! name, case-insensitively, or an array's elements by position; numbers and booleans become
//! text where a `varchar` is asked for, and an object or array where text (or `json`) is asked
//! for is kept as its JSON text. A value that does not fit the type is an error naming the text
//! and the type (NULL under `TRY_CAST`).
//!
//! JSON values are `varchar` here ([`super::types`]), so an analyzer rule
//! ([`super::casts::TrinoCasts`]) sends every cast from text to an array, map or row through
//! this function: `trino_json_cast(text, CAST(NULL AS type), try)`. The values are checked and
//! shaped with serde_json, then decoded into Arrow by arrow-json.
//! Trino: <https://trino.io/docs/current/functions/json.html#cast-from-json>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, ScalarUDF, Signature, Volatility};
use serde_json::{Map, Value};

use super::simple::{Simple, utf8};
use super::type_of::trino_type_name;

pub const NAME: &str = "trino_json_cast";

pub fn udf() -> ScalarUDF {
    Simple::udf(NAME, Signature::any(3, Volatility::Immutable), |args| Ok(args[1].clone()), kernel)
}

/// Is a cast from `from` to `to` one this function makes?
pub fn applies(from: &DataType, to: &DataType) -> bool {
    matches!(from, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        && matches!(to, DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_))
}

/// The call that casts the JSON text `expr` to `to`; `try` gives NULL for a value that does
/// not fit instead of an error.
pub fn call(expr: Expr, to: &DataType, r#try: bool) -> Result<Expr> {
    let template = Expr::Literal(ScalarValue::try_new_null(to)?, None);
    let r#try = Expr::Literal(ScalarValue::Boolean(Some(r#try)), None);
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf()), vec![expr, template, r#try])))
}

fn kernel(args: &[ArrayRef], to: &DataType) -> Result<ArrayRef> {
    let texts = utf8(&args[0])?;
    let r#try = args[2].as_boolean().iter().flatten().next().unwrap_or(false);
    let mut rows = Vec::with_capacity(texts.len());
    for text in texts.iter() {
        let value = match text.map(|t| shaped(t, to)).transpose() {
            Ok(value) => value.unwrap_or(Value::Null),
            Err(_) if r#try => Value::Null,
            Err(reason) => return exec_err!("Cannot cast '{}' to {}: {reason}", text.unwrap_or_default(), trino_type_name(to)),
        };
        rows.push(Value::Object(Map::from_iter([("v".to_string(), value)])));
    }
    match decode(&rows, to) {
        Ok(array) => Ok(array),
        // a scalar arrow-json cannot read (`"abc"` as an integer): find it, row by row
        Err(_) => {
            let mut pieces = Vec::with_capacity(rows.len());
            for (row, value) in rows.iter().enumerate() {
                match decode(std::slice::from_ref(value), to) {
                    Ok(array) => pieces.push(array),
                    Err(_) if r#try => pieces.push(new_null_array(to, 1)),
                    Err(e) => {
                        return exec_err!("Cannot cast '{}' to {}: {e}", texts.value(row), trino_type_name(to));
                    }
                }
            }
            let pieces: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
            Ok(concat(&pieces)?)
        }
    }
}

/// `rows` (objects `{"v": value}`) as an array of type `to`.
fn decode(rows: &[Value], to: &DataType) -> Result<ArrayRef> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", to.clone(), true)]));
    let mut decoder = ReaderBuilder::new(schema).with_coerce_primitive(true).with_batch_size(rows.len().max(1)).build_decoder()?;
    decoder.serialize(rows)?;
    match decoder.flush()? {
        Some(batch) => Ok(Arc::clone(batch.column(0))),
        None => Ok(new_null_array(to, 0)),
    }
}

/// The JSON text `text` parsed and shaped to `to`'s layout.
fn shaped(text: &str, to: &DataType) -> std::result::Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    shape(value, to)
}

/// `value` in the layout arrow-json reads as `to`: rows as objects keyed by the field names,
/// nested JSON kept as text where text is asked for.
fn shape(value: Value, to: &DataType) -> std::result::Result<Value, String> {
    Ok(match (value, to) {
        (Value::Null, _) => Value::Null,
        (Value::Array(items), DataType::List(f) | DataType::LargeList(f)) => {
            Value::Array(items.into_iter().map(|v| shape(v, f.data_type())).collect::<std::result::Result<_, _>>()?)
        }
        (Value::Object(entries), DataType::Map(entries_field, _)) => {
            let DataType::Struct(kv) = entries_field.data_type() else { return Err("a map without entries".into()) };
            let value_type = kv[1].data_type();
            Value::Object(entries.into_iter().map(|(k, v)| Ok((k, shape(v, value_type)?))).collect::<std::result::Result<_, String>>()?)
        }
        (Value::Object(mut entries), DataType::Struct(fields)) => {
            let mut row = Map::new();
            for field in fields {
                let key = entries.keys().find(|k| k.eq_ignore_ascii_case(field.name())).cloned();
                let v = key.and_then(|k| entries.remove(&k)).unwrap_or(Value::Null);
                row.insert(field.name().clone(), shape(v, field.data_type())?);
            }
            Value::Object(row)
        }
        (Value::Array(items), DataType::Struct(fields)) => {
            if items.len() != fields.len() {
                return Err(format!("an array of {} values for a row of {} fields", items.len(), fields.len()));
            }
            let row = fields.iter().zip(items).map(|(f, v)| Ok((f.name().clone(), shape(v, f.data_type())?)));
            Value::Object(row.collect::<std::result::Result<_, String>>()?)
        }
        (nested @ (Value::Array(_) | Value::Object(_)), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            Value::String(nested.to_string())
        }
        (Value::Array(_), _) => return Err("an array where the type has none".into()),
        (Value::Object(_), _) => return Err("an object where the type has none".into()),
        (scalar, DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_)) => {
            return Err(format!("{scalar} is not an array or object"));
        }
        (scalar, _) => scalar,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn casts_json_as_trino_does() {
        assert_eq!(value("SELECT CAST(json_parse('[1, 23, 456]') AS array(integer))").await, "[1, 23, 456]");
        assert_eq!(value("SELECT CAST(json_parse('[1, null, 456]') AS array(integer))").await, "[1, , 456]");
        assert_eq!(value("SELECT CAST(json_parse('[[1, 23], [456]]') AS array(array(integer)))").await, "[[1, 23], [456]]");
        assert_eq!(value(r#"SELECT CAST(json_parse('{"k1": 1, "k2": 23}') AS map(varchar, integer))"#).await, "{k1: 1, k2: 23}");
        let row = "row(v1 bigint, v2 varchar, v3 boolean)";
        assert_eq!(value(&format!(r#"SELECT CAST(json_parse('{{"v1": 123, "V2": "abc", "v3": true}}') AS {row})"#)).await, "{v1: 123, v2: abc, v3: true}");
        assert_eq!(value(&format!(r#"SELECT CAST(json_parse('[123, "abc", true]') AS {row})"#)).await, "{v1: 123, v2: abc, v3: true}");
        assert_eq!(value(r#"SELECT CAST(json_parse('[1, "a", {"b": [2]}]') AS array(json))"#).await, r#"[1, a, {"b":[2]}]"#);
        assert_eq!(value("SELECT CAST(CAST(NULL AS varchar) AS array(integer))").await, "");
    }

    #[tokio::test]
    async fn bad_json_is_an_error_or_null_under_try_cast() {
        let error = super::super::tests::error(r#"SELECT CAST(json_parse('{"a": 1}') AS array(integer))"#).await;
        assert!(error.contains(r#"Cannot cast '{"a":1}' to array(integer)"#), "{error}");
        let error = super::super::tests::error(r#"SELECT CAST(json_parse('["x"]') AS array(integer))"#).await;
        assert!(error.contains(r#"Cannot cast '["x"]' to array(integer)"#), "{error}");
        assert_eq!(value(r#"SELECT TRY_CAST(json_parse('{"a": 1}') AS array(integer))"#).await, "");
        let mixed = r#"SELECT array_agg(TRY_CAST(j AS array(integer)) ORDER BY k) FROM (VALUES (1, '[1]'), (2, '["x"]'), (3, '[3]')) t(k, j)"#;
        assert_eq!(value(mixed).await, "[[1], , [3]]");
    }
}
