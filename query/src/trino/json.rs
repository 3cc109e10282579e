//! JSON functions over JSON text: `json_extract`, `json_extract_scalar`, `json_parse`,
//! `json_format`, `json_array_length`, `json_array_contains`, `json_array_get`, `json_size`.
//!
//! ```sql
//! SELECT json_extract_scalar('{"user":{"id":7,"tags":["a","b"]}}', '$.user.id');      -- 7
//! SELECT json_extract('{"user":{"id":7,"tags":["a","b"]}}', '$.user.tags');           -- ["a","b"]
//! SELECT json_extract_scalar('{"user":{"tags":["a","b"]}}', '$.user.tags[1]');        -- b
//! SELECT json_array_length('[1, 2, 3]');                                              -- 3
//! SELECT json_format(json_parse('{"b": 1, "a": [true, null]}'));                      -- {"a":[true,null],"b":1}
//! ```
//! JSON values are kept as their text (a `varchar` tagged as `json`, see [`super::types`]), written compactly with object keys in
//! order, as Trino writes its `json` type. Paths: `$`, `.key`, `["key"]`, `[index]` (0-based).
//! `json_extract_scalar` gives NULL for objects and arrays, as Trino does; text that is not
//! JSON gives NULL from the extract functions and an error from `json_parse`.
//! Trino: <https://trino.io/docs/current/functions/json.html>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};
use serde_json::Value;

use super::simple::{Simple, constant_string, data_error, json_udf, parse_each, string_args, utf8};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A JSONPath of keys and indexes.
fn parse_path(path: &str) -> std::result::Result<Vec<Step>, String> {
    let bad = || format!("invalid JSON path: {path:?}");
    let mut rest = path.trim().strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(Step::Key(after[..end].to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let inside = after[..end].trim();
            let quoted = inside
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
            steps.push(match quoted {
                Some(key) => Step::Key(key.to_string()),
                None => Step::Index(inside.parse().map_err(|_| bad())?),
            });
            rest = &after[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

fn walk<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match step {
            Step::Key(k) => value.as_object()?.get(k)?,
            Step::Index(i) => value.as_array()?.get(*i)?,
        };
    }
    Some(value)
}

fn constant_path(function: &str, args: &[ArrayRef]) -> Result<Option<Vec<Step>>> {
    constant_string(function, "JSON path", &args[1])?
        .map(|p| parse_path(&p).map_err(|e| data_error(function, e)))
        .transpose()
}

fn extract(args: &[ArrayRef], scalar: bool) -> Result<ArrayRef> {
    let function = if scalar {
        "json_extract_scalar"
    } else {
        "json_extract"
    };
    let Some(path) = constant_path(function, args)? else {
        return Ok(Arc::new(StringArray::new_null(args[0].len())));
    };
    let out: StringArray = utf8(&args[0])?
        .iter()
        .map(|text| {
            let doc: Value = serde_json::from_str(text?).ok()?;
            let found = walk(&doc, &path)?;
            match (scalar, found) {
                (true, Value::String(s)) => Some(s.clone()),
                (true, Value::Number(n)) => Some(n.to_string()),
                (true, Value::Bool(b)) => Some(b.to_string()),
                (true, _) => None,
                (false, v) => Some(v.to_string()),
            }
        })
        .collect();
    Ok(Arc::new(out))
}

fn parse_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: StringArray = parse_each(&args[0], |t| {
        serde_json::from_str::<Value>(t)
            .map(|v| v.to_string())
            .map_err(|e| data_error("json_parse", format!("cannot convert {t:?} to JSON: {e}")))
    })?
    .into_iter()
    .collect();
    Ok(Arc::new(out))
}

fn length_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: Int64Array = utf8(&args[0])?
        .iter()
        .map(|t| {
            serde_json::from_str::<Value>(t?)
                .ok()?
                .as_array()
                .map(|a| a.len() as i64)
        })
        .collect();
    Ok(Arc::new(out))
}

fn size_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let Some(path) = constant_path("json_size", args)? else {
        return Ok(Arc::new(Int64Array::new_null(args[0].len())));
    };
    let out: Int64Array = utf8(&args[0])?
        .iter()
        .map(|t| {
            let doc: Value = serde_json::from_str(t?).ok()?;
            Some(match walk(&doc, &path)? {
                Value::Array(a) => a.len() as i64,
                Value::Object(o) => o.len() as i64,
                _ => 0,
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// `json_array_contains(json, value)`: is `value` (a boolean, number or string) an element?
/// NULL when the text is not a JSON array.
fn contains_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let wanted = &args[1];
    let needles: Vec<Option<Value>> = match wanted.data_type() {
        DataType::Boolean => wanted
            .as_boolean()
            .iter()
            .map(|b| b.map(Value::Bool))
            .collect(),
        t if t.is_integer() => cast(wanted, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .map(|n| n.map(Value::from))
            .collect(),
        t if t.is_numeric() => cast(wanted, &DataType::Float64)?
            .as_primitive::<Float64Type>()
            .iter()
            .map(|x| x.map(Value::from))
            .collect(),
        _ => utf8(wanted)?.iter().map(|s| s.map(Value::from)).collect(),
    };
    let same = |element: &Value, needle: &Value| match (element, needle) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    };
    let out: BooleanArray = utf8(&args[0])?
        .iter()
        .zip(needles)
        .map(|(text, needle)| {
            let needle = needle?;
            let array = serde_json::from_str::<Value>(text?).ok()?;
            Some(array.as_array()?.iter().any(|e| same(e, &needle)))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `json_array_get(json, index)`: the element at a 0-based index (negative from the end), as
/// JSON; NULL out of range or when the text is not a JSON array.
fn get_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let indexes = cast(&args[1], &DataType::Int64)?;
    let out: StringArray = utf8(&args[0])?
        .iter()
        .zip(indexes.as_primitive::<Int64Type>().iter())
        .map(|(text, index)| {
            let doc = serde_json::from_str::<Value>(text?).ok()?;
            let array = doc.as_array()?;
            let index = index?;
            let position = if index < 0 {
                array.len().checked_sub(index.unsigned_abs() as usize)?
            } else {
                index as usize
            };
            array.get(position).map(Value::to_string)
        })
        .collect();
    Ok(Arc::new(out))
}

pub fn all() -> Vec<ScalarUDF> {
    let (one, two) = (
        || Signature::any(1, Volatility::Immutable),
        || Signature::any(2, Volatility::Immutable),
    );
    vec![
        json_udf(
            "json_extract",
            two(),
            |a| string_args("json_extract", a, DataType::Utf8),
            |a, _| extract(a, false),
        ),
        Simple::udf(
            "json_extract_scalar",
            two(),
            |a| string_args("json_extract_scalar", a, DataType::Utf8),
            |a, _| extract(a, true),
        ),
        Simple::udf(
            "json_size",
            two(),
            |a| string_args("json_size", a, DataType::Int64),
            size_kernel,
        ),
        json_udf(
            "json_parse",
            one(),
            |a| string_args("json_parse", a, DataType::Utf8),
            parse_kernel,
        ),
        Simple::udf(
            "json_format",
            one(),
            |a| string_args("json_format", a, DataType::Utf8),
            parse_kernel,
        ),
        Simple::udf(
            "json_array_contains",
            two(),
            |_| Ok(DataType::Boolean),
            contains_kernel,
        ),
        json_udf(
            "json_array_get",
            two(),
            |a| string_args("json_array_get", a, DataType::Utf8),
            get_kernel,
        ),
        Simple::udf(
            "json_array_length",
            one(),
            |a| string_args("json_array_length", a, DataType::Int64),
            length_kernel,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("$.a[1]['b c']").unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Index(1),
                Step::Key("b c".into())
            ]
        );
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("$.a[x]").is_err());
    }

    #[tokio::test]
    async fn extracts_as_trino_does() {
        let doc = r#"'{"user":{"id":7,"tags":["a","b"]}}'"#;
        assert_eq!(
            value(&format!("SELECT json_extract_scalar({doc}, '$.user.id')")).await,
            "7"
        );
        assert_eq!(
            value(&format!("SELECT json_extract({doc}, '$.user.tags')")).await,
            r#"["a","b"]"#
        );
        assert_eq!(
            value(&format!(
                "SELECT json_extract_scalar({doc}, '$.user.tags[1]')"
            ))
            .await,
            "b"
        );
        assert_eq!(
            value(&format!("SELECT json_extract_scalar({doc}, '$.user')")).await,
            ""
        );
        assert_eq!(value("SELECT json_array_length('[1, 2, 3]')").await, "3");
        assert_eq!(
            value("SELECT json_array_contains('[1, 2, 3]', 2)").await,
            "true"
        );
        assert_eq!(
            value("SELECT json_array_contains('[1, \"a\", true]', 'a')").await,
            "true"
        );
        assert_eq!(
            value("SELECT json_array_contains('[1.5]', 1.5e0)").await,
            "true"
        );
        assert_eq!(value("SELECT json_array_contains('{}', 2)").await, "");
        assert_eq!(
            value("SELECT json_array_get('[\"a\", [3, 9], \"c\"]', 1)").await,
            "[3,9]"
        );
        assert_eq!(
            value("SELECT json_array_get('[\"a\", [3, 9], \"c\"]', -1)").await,
            "\"c\""
        );
        assert_eq!(value("SELECT json_array_get('[\"a\"]', 5)").await, "");
        assert_eq!(
            value(r#"SELECT json_format(json_parse('{"b": 1, "a": [true, null]}'))"#).await,
            r#"{"a":[true,null],"b":1}"#
        );
    }
}
