//! Casts from and to JSON, as Trino makes them:
//!
//! ```sql
//! SELECT CAST(json_parse('[1, null, 456]') AS array(integer));                          -- [1, NULL, 456]
//! SELECT CAST(json_parse('{"k1": 1, "k2": 23}') AS map(varchar, integer));              -- {k1=1, k2=23}
//! SELECT CAST(json_parse('{"v1": 123, "V2": "abc"}') AS row(v1 bigint, v2 varchar));     -- {v1=123, v2=abc}
//! SELECT CAST(json_parse('[123, "abc"]') AS row(v1 bigint, v2 varchar));                -- {v1=123, v2=abc}
//! SELECT CAST(json_extract(doc, '$.items') AS array(map(varchar, json))) FROM orders;   -- elements as JSON text
//! SELECT TRY_CAST(json_parse('{"a": 1}') AS array(integer));                            -- NULL
//! SELECT CAST(json_extract('{"name": "Ann"}', '$.name') AS varchar);                   -- Ann (not "Ann")
//! SELECT CAST(JSON 'null' AS varchar), CAST(JSON '12' AS bigint);                      -- NULL  12
//! SELECT CAST('Ann' AS json), CAST(ARRAY[1, 2] AS json), CAST(MAP(ARRAY['a'], ARRAY[1]) AS json); -- "Ann"  [1,2]  {"a":1}
//! ```
//! The rules are Trino's: a JSON `null` is NULL at any depth; a row takes an object's fields by
//! name, case-insensitively, or an array's elements by position; numbers and booleans become
//! text where a `varchar` is asked for, and an object or array where text (or `json`) is asked
//! for is kept as its JSON text. A value that does not fit the type is an error naming the text
//! and the type (NULL under `TRY_CAST`).
//!
//! JSON values are text marked as `json` ([`super::types::json_field`]); an analyzer rule
//! ([`super::casts::TrinoCasts`]) sends casts from `json` (and from any text to an array, map
//! or row) through `trino_json_cast(text, CAST(NULL AS type), try)`, and casts to `json`
//! through `trino_to_json(x)`. Values read are checked and shaped with serde_json, then
//! decoded into Arrow by arrow-json; values written are encoded by arrow-json.
//! Trino: <https://trino.io/docs/current/functions/json.html#cast-from-json>.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, new_null_array,
};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::arrow::json::{ArrayWriter, ReaderBuilder};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, ScalarUDF, Signature, Volatility};
use serde_json::{Map, Value};

use super::simple::{Simple, json_udf, utf8};
use super::type_of::trino_type_name;
use super::types::is_json;

pub const NAME: &str = "trino_json_cast";

pub fn udf() -> ScalarUDF {
    Simple::udf(
        NAME,
        Signature::any(3, Volatility::Immutable),
        |args| Ok(args[1].clone()),
        kernel,
    )
}

/// Does a cast from `source` to `target` read JSON? From a `json` value to text, booleans,
/// numbers, arrays, maps and rows; and from any text to arrays, maps and rows (Trino has no
/// such cast from `varchar`, so the text can only have been meant as JSON).
pub fn reads_json(source: &Field, target: &Field) -> bool {
    let (from, to) = (source.data_type(), target.data_type());
    let text = matches!(
        from,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let nested = matches!(
        to,
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_)
    );
    let scalar = matches!(
        to,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
    ) || to.is_numeric();
    text && !is_json(target) && (nested || (is_json(source) && scalar))
}

/// Does a cast from `source` to `target` write JSON (`CAST(x AS json)`)?
pub fn writes_json(source: &Field, target: &Field) -> bool {
    is_json(target) && !is_json(source)
}

/// The call that reads the JSON text `expr` as `to`; `try` gives NULL for a value that does
/// not fit instead of an error.
pub fn from_json(expr: Expr, to: &DataType, r#try: bool) -> Result<Expr> {
    let template = Expr::Literal(ScalarValue::try_new_null(to)?, None);
    let r#try = Expr::Literal(ScalarValue::Boolean(Some(r#try)), None);
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(udf()),
        vec![expr, template, r#try],
    )))
}

/// The call that writes `expr` as JSON text: strings quoted, arrays as arrays, maps and rows
/// as objects (keys in order), NULL as NULL.
pub fn to_json(expr: Expr, _target: FieldRef) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(to_json_udf()), vec![expr]))
}

pub fn to_json_udf() -> ScalarUDF {
    json_udf(
        "trino_to_json",
        Signature::any(1, Volatility::Immutable),
        |_| Ok(DataType::Utf8),
        to_json_kernel,
    )
}

fn to_json_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let array = &args[0];
    if array.is_empty() || array.data_type() == &DataType::Null {
        return Ok(new_null_array(&DataType::Utf8, array.len()));
    }
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![Arc::clone(array)])?;
    let mut writer = ArrayWriter::new(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&writer.into_inner())
        .map_err(|e| DataFusionError::Execution(format!("writing JSON: {e}")))?;
    let texts: StringArray = rows
        .into_iter()
        .map(|mut row| {
            row.remove("v")
                .filter(|v| !v.is_null())
                .map(|v| v.to_string())
        })
        .collect();
    Ok(Arc::new(texts))
}

fn kernel(args: &[ArrayRef], to: &DataType) -> Result<ArrayRef> {
    let texts = utf8(&args[0])?;
    let r#try = args[2]
        .as_boolean()
        .iter()
        .flatten()
        .next()
        .unwrap_or(false);
    let mut rows = Vec::with_capacity(texts.len());
    for text in texts.iter() {
        let value = match text.map(|t| shaped(t, to)).transpose() {
            Ok(value) => value.unwrap_or(Value::Null),
            Err(_) if r#try => Value::Null,
            Err(reason) => {
                return exec_err!(
                    "Cannot cast '{}' to {}: {reason}",
                    text.unwrap_or_default(),
                    trino_type_name(to)
                );
            }
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
                        return exec_err!(
                            "Cannot cast '{}' to {}: {e}",
                            texts.value(row),
                            trino_type_name(to)
                        );
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
    let mut decoder = ReaderBuilder::new(schema)
        .with_coerce_primitive(true)
        .with_batch_size(rows.len().max(1))
        .build_decoder()?;
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
        (Value::Array(items), DataType::List(f) | DataType::LargeList(f)) => Value::Array(
            items
                .into_iter()
                .map(|v| shape(v, f.data_type()))
                .collect::<std::result::Result<_, _>>()?,
        ),
        (Value::Object(entries), DataType::Map(entries_field, _)) => {
            let DataType::Struct(kv) = entries_field.data_type() else {
                return Err("a map without entries".into());
            };
            let value_type = kv[1].data_type();
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((k, shape(v, value_type)?)))
                    .collect::<std::result::Result<_, String>>()?,
            )
        }
        (Value::Object(mut entries), DataType::Struct(fields)) => {
            let mut row = Map::new();
            for field in fields {
                let key = entries
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(field.name()))
                    .cloned();
                let v = key.and_then(|k| entries.remove(&k)).unwrap_or(Value::Null);
                row.insert(field.name().clone(), shape(v, field.data_type())?);
            }
            Value::Object(row)
        }
        (Value::Array(items), DataType::Struct(fields)) => {
            if items.len() != fields.len() {
                return Err(format!(
                    "an array of {} values for a row of {} fields",
                    items.len(),
                    fields.len()
                ));
            }
            let row = fields
                .iter()
                .zip(items)
                .map(|(f, v)| Ok((f.name().clone(), shape(v, f.data_type())?)));
            Value::Object(row.collect::<std::result::Result<_, String>>()?)
        }
        (
            nested @ (Value::Array(_) | Value::Object(_)),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View,
        ) => Value::String(nested.to_string()),
        (Value::Array(_), _) => return Err("an array where the type has none".into()),
        (Value::Object(_), _) => return Err("an object where the type has none".into()),
        (
            scalar,
            DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_),
        ) => {
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
        assert_eq!(
            value("SELECT CAST(json_parse('[1, 23, 456]') AS array(integer))").await,
            "[1, 23, 456]"
        );
        assert_eq!(
            value("SELECT CAST(json_parse('[1, null, 456]') AS array(integer))").await,
            "[1, , 456]"
        );
        assert_eq!(
            value("SELECT CAST(json_parse('[[1, 23], [456]]') AS array(array(integer)))").await,
            "[[1, 23], [456]]"
        );
        assert_eq!(
            value(r#"SELECT CAST(json_parse('{"k1": 1, "k2": 23}') AS map(varchar, integer))"#)
                .await,
            "{k1: 1, k2: 23}"
        );
        let row = "row(v1 bigint, v2 varchar, v3 boolean)";
        assert_eq!(
            value(&format!(
                r#"SELECT CAST(json_parse('{{"v1": 123, "V2": "abc", "v3": true}}') AS {row})"#
            ))
            .await,
            "{v1: 123, v2: abc, v3: true}"
        );
        assert_eq!(
            value(&format!(
                r#"SELECT CAST(json_parse('[123, "abc", true]') AS {row})"#
            ))
            .await,
            "{v1: 123, v2: abc, v3: true}"
        );
        assert_eq!(
            value(r#"SELECT CAST(json_parse('[1, "a", {"b": [2]}]') AS array(json))"#).await,
            r#"[1, a, {"b":[2]}]"#
        );
        assert_eq!(
            value("SELECT CAST(CAST(NULL AS varchar) AS array(integer))").await,
            ""
        );
    }

    #[tokio::test]
    async fn reads_json_scalars_as_trino_does() {
        assert_eq!(
            value(r#"SELECT CAST(json_extract('{"name": "Ann"}', '$.name') AS varchar)"#).await,
            "Ann"
        );
        assert_eq!(
            value("SELECT CAST(JSON 'null' AS varchar) IS NULL").await,
            "true"
        );
        assert_eq!(value("SELECT CAST(JSON '12' AS bigint)").await, "12");
        assert_eq!(value("SELECT CAST(JSON '1.5' AS double)").await, "1.5");
        assert_eq!(value("SELECT CAST(JSON 'true' AS boolean)").await, "true");
        assert_eq!(value("SELECT CAST(JSON '12' AS varchar)").await, "12");
        // plain text is not JSON: its cast to varchar keeps the quotes
        assert_eq!(
            value(r#"SELECT CAST('"Ann"' AS varchar)"#).await,
            r#""Ann""#
        );
    }

    #[tokio::test]
    async fn writes_json_as_trino_does() {
        assert_eq!(value("SELECT CAST('Ann' AS json)").await, r#""Ann""#);
        assert_eq!(value("SELECT CAST(ARRAY[1, 2] AS json)").await, "[1,2]");
        assert_eq!(
            value("SELECT CAST(MAP(ARRAY['b', 'a'], ARRAY[1, 2]) AS json)").await,
            r#"{"a":2,"b":1}"#
        );
        // Trino writes an anonymous field with an empty name, `{"":1,"":"x"}` (a known difference)
        assert_eq!(
            value("SELECT CAST(ROW(1, 'x') AS json)").await,
            r#"{"field0":1,"field1":"x"}"#
        );
        assert_eq!(
            value("SELECT CAST(CAST(NULL AS varchar) AS json) IS NULL").await,
            "true"
        );
        assert_eq!(
            value("SELECT json_format(CAST(ARRAY['a'] AS json))").await,
            r#"["a"]"#
        );
    }

    #[tokio::test]
    async fn bad_json_is_an_error_or_null_under_try_cast() {
        let error =
            super::super::tests::error(r#"SELECT CAST(json_parse('{"a": 1}') AS array(integer))"#)
                .await;
        assert!(
            error.contains(r#"Cannot cast '{"a":1}' to array(integer)"#),
            "{error}"
        );
        let error =
            super::super::tests::error(r#"SELECT CAST(json_parse('["x"]') AS array(integer))"#)
                .await;
        assert!(
            error.contains(r#"Cannot cast '["x"]' to array(integer)"#),
            "{error}"
        );
        assert_eq!(
            value(r#"SELECT TRY_CAST(json_parse('{"a": 1}') AS array(integer))"#).await,
            ""
        );
        let mixed = r#"SELECT array_agg(TRY_CAST(j AS array(integer)) ORDER BY k) FROM (VALUES (1, '[1]'), (2, '["x"]'), (3, '[3]')) t(k, j)"#;
        assert_eq!(value(mixed).await, "[[1], , [3]]");
    }
}
