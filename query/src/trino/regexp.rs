//! Trino's regular expression functions: `regexp_extract`, `regexp_extract_all`,
//! `regexp_replace` (every match; `$1` names a group; the replacement may be left out),
//! `regexp_count`, `regexp_split`.
//!
//! ```sql
//! SELECT regexp_extract('1a 2b 14m', '\d+');                 -- 1
//! SELECT regexp_extract('1a 2b 14m', '(\d+)([a-z]+)', 2);    -- a
//! SELECT regexp_extract_all('1a 2b 14m', '\d+');             -- [1, 2, 14]
//! SELECT regexp_replace('1a 2b 14m', '(\d+)([ab]) ', '3c$2 ');  -- 3ca 3cb 14m
//! SELECT regexp_replace('1a 2b 14m', '\d+[ab] ');            -- 14m
//! SELECT regexp_count('1a 2b 14m', '\s*[a-z]+\s*');           -- 3
//! ```
//! DataFusion's `regexp_replace` replaces only the first match unless given the `g` flag.
//! Patterns are Rust regular expressions, which cover the Java syntax Trino documents except
//! look-around and back-references. Trino: <https://trino.io/docs/current/functions/regexp.html>.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};
use regex::Regex;

use super::simple::{Simple, constant_string, data_error, string_args, utf8};

/// The pattern of argument `index`, the same on every row.
fn constant_regex(function: &str, args: &[ArrayRef], index: usize) -> Result<Option<Regex>> {
    constant_string(function, "pattern", &args[index])?
        .map(|p| {
            Regex::new(&p).map_err(|e| data_error(function, format!("invalid pattern {p:?}: {e}")))
        })
        .transpose()
}

fn group_of(function: &str, args: &[ArrayRef], re: &Regex) -> Result<usize> {
    let Some(groups) = args.get(2) else {
        return Ok(0);
    };
    let groups = cast(groups, &DataType::Int64)?;
    let group = groups
        .as_primitive::<Int64Type>()
        .iter()
        .flatten()
        .next()
        .unwrap_or(0);
    if group < 0 || group as usize >= re.captures_len() {
        return Err(data_error(
            function,
            format!(
                "pattern has {} groups; cannot access group {group}",
                re.captures_len() - 1
            ),
        ));
    }
    Ok(group as usize)
}

fn extract(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let Some(re) = constant_regex("regexp_extract", args, 1)? else {
        return Ok(Arc::new(StringArray::new_null(args[0].len())));
    };
    let group = group_of("regexp_extract", args, &re)?;
    let out: StringArray = utf8(&args[0])?
        .iter()
        .map(|s| Some(re.captures(s?)?.get(group)?.as_str()))
        .collect();
    Ok(Arc::new(out))
}

fn extract_all(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let re = constant_regex("regexp_extract_all", args, 1)?;
    let group = match &re {
        Some(re) => group_of("regexp_extract_all", args, re)?,
        None => 0,
    };
    let mut out = ListBuilder::new(StringBuilder::new());
    for s in utf8(&args[0])?.iter() {
        match (s, &re) {
            (Some(s), Some(re)) => {
                for c in re.captures_iter(s) {
                    out.values().append_option(c.get(group).map(|m| m.as_str()));
                }
                out.append(true);
            }
            _ => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let Some(re) = constant_regex("regexp_replace", args, 1)? else {
        return Ok(Arc::new(StringArray::new_null(args[0].len())));
    };
    let replacements = match args.get(2) {
        Some(r) => utf8(r)?,
        None => StringArray::from(vec![""; args[0].len()]),
    };
    let out: StringArray = utf8(&args[0])?
        .iter()
        .zip(replacements.iter())
        .map(|(s, r)| Some(re.replace_all(s?, r?).into_owned()))
        .collect();
    Ok(Arc::new(out))
}

fn count(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let Some(re) = constant_regex("regexp_count", args, 1)? else {
        return Ok(Arc::new(Int64Array::new_null(args[0].len())));
    };
    let out: Int64Array = utf8(&args[0])?
        .iter()
        .map(|s| Some(re.find_iter(s?).count() as i64))
        .collect();
    Ok(Arc::new(out))
}

fn split(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let re = constant_regex("regexp_split", args, 1)?;
    let mut out = ListBuilder::new(StringBuilder::new());
    for s in utf8(&args[0])?.iter() {
        match (s, &re) {
            (Some(s), Some(re)) => {
                re.split(s).for_each(|part| out.values().append_value(part));
                out.append(true);
            }
            _ => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

pub fn all() -> Vec<ScalarUDF> {
    let two_or_three = || {
        Signature::one_of(
            vec![
                Signature::any(2, Volatility::Immutable).type_signature,
                Signature::any(3, Volatility::Immutable).type_signature,
            ],
            Volatility::Immutable,
        )
    };
    vec![
        Simple::udf(
            "regexp_extract",
            two_or_three(),
            |a| string_args("regexp_extract", a, DataType::Utf8),
            extract,
        ),
        Simple::udf(
            "regexp_extract_all",
            two_or_three(),
            |a| string_args("regexp_extract_all", a, string_list()),
            extract_all,
        ),
        Simple::udf(
            "regexp_replace",
            two_or_three(),
            |a| string_args("regexp_replace", a, DataType::Utf8),
            replace,
        ),
        Simple::udf(
            "regexp_count",
            Signature::any(2, Volatility::Immutable),
            |a| string_args("regexp_count", a, DataType::Int64),
            count,
        ),
        Simple::udf(
            "regexp_split",
            Signature::any(2, Volatility::Immutable),
            |a| string_args("regexp_split", a, string_list()),
            split,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn match_as_trino_does() {
        assert_eq!(
            value(r"SELECT regexp_extract('1a 2b 14m', '\d+')").await,
            "1"
        );
        assert_eq!(
            value(r"SELECT regexp_extract('1a 2b 14m', '(\d+)([a-z]+)', 2)").await,
            "a"
        );
        assert_eq!(value(r"SELECT regexp_extract('abc', '\d+')").await, "");
        assert_eq!(
            value(r"SELECT regexp_extract_all('1a 2b 14m', '\d+')").await,
            "[1, 2, 14]"
        );
        assert_eq!(
            value(r"SELECT regexp_replace('1a 2b 14m', '(\d+)([ab]) ', '3c$2 ')").await,
            "3ca 3cb 14m"
        );
        assert_eq!(
            value(r"SELECT regexp_replace('1a 2b 14m', '\d+[ab] ')").await,
            "14m"
        );
        assert_eq!(
            value(r"SELECT regexp_count('1a 2b 14m', '\s*[a-z]+\s*')").await,
            "3"
        );
        assert_eq!(
            value(r"SELECT regexp_split('1a 2b 14m', '\s*[a-z]+\s*')").await,
            "[1, 2, 14, ]"
        );
    }
}
