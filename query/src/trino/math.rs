//! Trino's math functions DataFusion lacks or types differently: `sign`, `from_base`, `to_base`.
//!
//! ```sql
//! SELECT sign(-7), sign(0.0), sign(2.5e0);    -- -1  0  1.0   (integer, decimal(1,0), double)
//! SELECT from_base('ff', 16), to_base(255, 2);  -- 255  11111111
//! ```
//! `sign` keeps its argument's type (a decimal gives `decimal(1,0)`), where DataFusion's
//! `signum` is always a `double` and gives 1 for zero. `from_base` reads a signed number
//! written in a radix from 2 to 36; `to_base` writes one, lower-case.
//! Trino: <https://trino.io/docs/current/functions/math.html>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, is_string, plan_error, utf8};

fn sign_type(args: &[DataType]) -> Result<DataType> {
    match &args[0] {
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Ok(DataType::Decimal128(1, 0)),
        DataType::Null => Ok(DataType::Int32),
        t if t.is_numeric() => Ok(t.clone()),
        other => Err(plan_error("sign", format!("takes a number, not {other}"))),
    }
}

fn sign(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let values = cast(&args[0], &DataType::Float64)?;
    let signs: Float64Array = values
        .as_primitive::<Float64Type>()
        .iter()
        .map(|v| {
            v.map(|x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else if x == 0.0 {
                    0.0
                } else {
                    x
                }
            })
        })
        .collect();
    Ok(cast(&(Arc::new(signs) as ArrayRef), result)?)
}

fn radix(function: &str, r: i64) -> Result<u32> {
    if (2..=36).contains(&r) {
        Ok(r as u32)
    } else {
        Err(data_error(
            function,
            format!("radix must be between 2 and 36, not {r}"),
        ))
    }
}

fn from_base(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let texts = utf8(&args[0])?;
    let radixes = cast(&args[1], &DataType::Int64)?;
    let out = texts
        .iter()
        .zip(radixes.as_primitive::<Int64Type>().iter())
        .map(|(text, r)| match (text, r) {
            (Some(text), Some(r)) => i64::from_str_radix(text, radix("from_base", r)?)
                .map(Some)
                .map_err(|_| {
                    data_error(
                        "from_base",
                        format!("not a valid base-{r} number: {text:?}"),
                    )
                }),
            _ => Ok(None),
        })
        .collect::<Result<Int64Array>>()?;
    Ok(Arc::new(out))
}

fn to_base(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let numbers = cast(&args[0], &DataType::Int64)?;
    let radixes = cast(&args[1], &DataType::Int64)?;
    let out = numbers
        .as_primitive::<Int64Type>()
        .iter()
        .zip(radixes.as_primitive::<Int64Type>().iter())
        .map(|(n, r)| match (n, r) {
            (Some(n), Some(r)) => {
                let r = radix("to_base", r)?;
                let mut digits = Vec::new();
                let mut rest = n.unsigned_abs();
                loop {
                    digits.push(
                        std::char::from_digit((rest % r as u64) as u32, r)
                            .expect("a digit below the radix"),
                    );
                    rest /= r as u64;
                    if rest == 0 {
                        break;
                    }
                }
                if n < 0 {
                    digits.push('-');
                }
                Ok(Some(digits.iter().rev().collect::<String>()))
            }
            _ => Ok(None),
        })
        .collect::<Result<StringArray>>()?;
    Ok(Arc::new(out))
}

pub fn all() -> Vec<ScalarUDF> {
    let two = || Signature::any(2, Volatility::Immutable);
    vec![
        Simple::udf(
            "sign",
            Signature::any(1, Volatility::Immutable),
            sign_type,
            sign,
        ),
        Simple::udf(
            "from_base",
            two(),
            |a| {
                if is_string(&a[0]) && a[1].is_integer() {
                    Ok(DataType::Int64)
                } else {
                    Err(plan_error("from_base", "takes text and a radix"))
                }
            },
            from_base,
        ),
        Simple::udf(
            "to_base",
            two(),
            |a| {
                if (a[0].is_integer() || a[0] == DataType::Null) && a[1].is_integer() {
                    Ok(DataType::Utf8)
                } else {
                    Err(plan_error("to_base", "takes an integer and a radix"))
                }
            },
            to_base,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn keeps_trinos_types() {
        assert_eq!(value("SELECT sign(-7)").await, "-1");
        assert_eq!(data_type("SELECT sign(-7)").await, "Int32");
        assert_eq!(value("SELECT sign(0.0)").await, "0");
        assert_eq!(value("SELECT sign(CAST(0 AS double))").await, "0.0");
        assert_eq!(value("SELECT sign(2.5e0)").await, "1.0");
        assert_eq!(value("SELECT from_base('ff', 16)").await, "255");
        assert_eq!(value("SELECT from_base('-101', 2)").await, "-5");
        assert_eq!(value("SELECT to_base(255, 2)").await, "11111111");
        assert_eq!(value("SELECT to_base(-255, 16)").await, "-ff");
    }
}
