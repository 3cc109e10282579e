//! Trino's string functions DataFusion lacks: `hamming_distance` and `split_to_map`.
//!
//! ```sql
//! SELECT hamming_distance('abcde', 'abxye');             -- 2
//! SELECT split_to_map('a=1,b=2', ',', '=');               -- {a=1, b=2}
//! SELECT split_to_map(query, '&', '=')['utm_source'] FROM visits;
//! ```
//! The rules are Trino's: `hamming_distance` counts differing characters and is an error for
//! texts of different lengths; `split_to_map` is an error for an entry without exactly one
//! key-value delimiter or a key seen twice, and ignores a trailing entry delimiter.
//! Trino: <https://trino.io/docs/current/functions/string.html#hamming_distance>,
//! <https://trino.io/docs/current/functions/string.html#split_to_map>.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, MapBuilder, MapFieldNames, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, string_args, utf8};

fn hamming(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out = utf8(&args[0])?
        .iter()
        .zip(utf8(&args[1])?.iter())
        .map(|pair| match pair {
            (Some(a), Some(b)) => {
                if a.chars().count() != b.chars().count() {
                    return Err(data_error(
                        "hamming_distance",
                        "the two strings must have the same length",
                    ));
                }
                Ok(Some(
                    a.chars().zip(b.chars()).filter(|(x, y)| x != y).count() as i64,
                ))
            }
            _ => Ok(None),
        })
        .collect::<Result<Int64Array>>()?;
    Ok(Arc::new(out))
}

/// `map(varchar, varchar)` as Trino's maps are laid out here.
fn text_map() -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

fn split_to_map(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut out = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    let (texts, entry_delimiters, pair_delimiters) =
        (utf8(&args[0])?, utf8(&args[1])?, utf8(&args[2])?);
    for ((text, entry_delimiter), pair_delimiter) in texts
        .iter()
        .zip(entry_delimiters.iter())
        .zip(pair_delimiters.iter())
    {
        let (Some(text), Some(entry_delimiter), Some(pair_delimiter)) =
            (text, entry_delimiter, pair_delimiter)
        else {
            out.append(false)?;
            continue;
        };
        if entry_delimiter.is_empty()
            || pair_delimiter.is_empty()
            || entry_delimiter == pair_delimiter
        {
            return Err(data_error(
                "split_to_map",
                "the delimiters must be non-empty and different",
            ));
        }
        let text = text.strip_suffix(entry_delimiter).unwrap_or(text);
        let mut seen = HashSet::new();
        if !text.is_empty() {
            for entry in text.split(entry_delimiter) {
                let mut parts = entry.split(pair_delimiter);
                let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(data_error(
                        "split_to_map",
                        format!(
                            "Key-value delimiter must appear exactly once in each entry. Bad input: '{entry}'"
                        ),
                    ));
                };
                if !seen.insert(key) {
                    return Err(data_error(
                        "split_to_map",
                        format!("Duplicate keys ({key}) are not allowed"),
                    ));
                }
                out.keys().append_value(key);
                out.values().append_value(value);
            }
        }
        out.append(true)?;
    }
    Ok(Arc::new(out.finish()))
}

pub fn all() -> Vec<ScalarUDF> {
    vec![
        Simple::udf(
            "hamming_distance",
            Signature::any(2, Volatility::Immutable),
            |a| string_args("hamming_distance", a, DataType::Int64),
            hamming,
        ),
        Simple::udf(
            "split_to_map",
            Signature::any(3, Volatility::Immutable),
            |a| string_args("split_to_map", a, text_map()),
            split_to_map,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, value};

    #[tokio::test]
    async fn follow_trinos_rules() {
        assert_eq!(
            value("SELECT hamming_distance('abcde', 'abxye')").await,
            "2"
        );
        assert!(
            error("SELECT hamming_distance('ab', 'abc')")
                .await
                .contains("same length")
        );
        assert_eq!(
            value("SELECT split_to_map('a=1,b=2,', ',', '=')").await,
            "{a: 1, b: 2}"
        );
        assert_eq!(
            value("SELECT split_to_map('a=1,b=2', ',', '=')['b']").await,
            "2"
        );
        assert_eq!(
            value("SELECT cardinality(split_to_map('', ',', '='))").await,
            "0"
        );
        assert!(
            error("SELECT split_to_map('a=1,a=2', ',', '=')")
                .await
                .contains("Duplicate keys (a)")
        );
        assert!(
            error("SELECT split_to_map('a', ',', '=')")
                .await
                .contains("exactly once")
        );
    }
}
