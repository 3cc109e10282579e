//! `split(string, delimiter[, limit])`: the parts of `string` between `delimiter`s, as an
//! array; with `limit`, at most `limit` parts, the last holding the rest.
//!
//! ```sql
//! SELECT split('a.b.c', '.');      -- [a, b, c]
//! SELECT split('a.b.c', '.', 2);   -- [a, b.c]
//! ```
//! Trino: <https://trino.io/docs/current/functions/string.html#split>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, is_string, plan_error, utf8};

fn kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let delimiters = utf8(&args[1])?;
    let limits: Vec<Option<i64>> = match args.get(2) {
        Some(l) => cast(l, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .collect(),
        None => vec![Some(i64::MAX); args[0].len()],
    };
    let mut out = ListBuilder::new(StringBuilder::new());
    for ((s, d), limit) in utf8(&args[0])?.iter().zip(delimiters.iter()).zip(limits) {
        let (Some(s), Some(d), Some(limit)) = (s, d, limit) else {
            out.append(false);
            continue;
        };
        if d.is_empty() {
            return Err(data_error("split", "the delimiter is empty"));
        }
        if limit <= 0 {
            return Err(data_error("split", "limit must be positive"));
        }
        s.splitn(usize::try_from(limit).unwrap_or(usize::MAX), d)
            .for_each(|p| out.values().append_value(p));
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

pub fn udf() -> ScalarUDF {
    let sig = Signature::one_of(
        vec![
            Signature::any(2, Volatility::Immutable).type_signature,
            Signature::any(3, Volatility::Immutable).type_signature,
        ],
        Volatility::Immutable,
    );
    Simple::udf(
        "split",
        sig,
        |a| {
            if is_string(&a[0]) && is_string(&a[1]) && a.get(2).is_none_or(|t| t.is_integer()) {
                Ok(DataType::List(Arc::new(Field::new_list_field(
                    DataType::Utf8,
                    true,
                ))))
            } else {
                Err(plan_error(
                    "split",
                    format!("takes a string, a delimiter and an optional limit, not {a:?}"),
                ))
            }
        },
        kernel,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn splits_with_and_without_limit() {
        assert_eq!(value("SELECT split('a.b.c', '.')").await, "[a, b, c]");
        assert_eq!(value("SELECT split('a.b.c', '.', 2)").await, "[a, b.c]");
        assert_eq!(value("SELECT cardinality(split('', ','))").await, "1");
    }
}
