//! Trino's array functions whose DataFusion counterparts exist under another name or with
//! other arguments. Each name is a placeholder function that plans with Trino's types, and an
//! analyzer rewrite ([`ArrayRewrites`]) replaces the call with DataFusion's function before
//! execution:
//!
//! | Trino | becomes | Trino rule |
//! |---|---|---|
//! | `element_at(array, i)` | `array_element(array, i)` | 1-based; negative counts from the end; out of range is NULL |
//! | `element_at(map, key)` | `map_extract(map, key)[1]` | NULL when the key is missing |
//! | `concat(array, …)` | `array_concat(array, …)` | arrays concatenate as arrays (DataFusion's `concat` joins their text) |
//! | `contains(array, x)` | `array_has(array, x)` | (the string `contains` is not Trino's) |
//! | `slice(array, start, length)` | `array_slice(array, start, start + length - 1)` | start is 1-based, negative from the end |
//! | `sequence(start, stop[, step])` | `generate_series(…)` | inclusive; dates step by a day |
//! | `transform`, `filter`, `any_match` | `array_transform`, `array_filter`, `array_any_match` | lambdas `x -> …` |
//!
//! Trino: <https://trino.io/docs/current/functions/array.html>,
//! <https://trino.io/docs/current/functions/map.html#element_at>.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::functions_nested::expr_fn::{
    array_concat, array_element, array_has, array_slice, gen_series, map_extract,
};
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::{Expr, ExprSchemable, Signature, Volatility, lit, when};
use datafusion::prelude::SessionContext;

use super::simple::{Simple, plan_error};

fn placeholder(
    _: &[datafusion::arrow::array::ArrayRef],
    _: &DataType,
) -> Result<datafusion::arrow::array::ArrayRef> {
    Err(DataFusionError::Internal(
        "a Trino array function was not rewritten before execution".into(),
    ))
}

fn element_type(function: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Ok(f.data_type().clone())
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Ok(kv[1].data_type().clone()),
            _ => Err(plan_error(function, "a map without keys and values")),
        },
        DataType::Null => Ok(DataType::Null),
        other => Err(plan_error(
            function,
            format!("takes an array or a map, not {other}"),
        )),
    }
}

/// Registers the placeholders and the lambda aliases ([`ArrayRewrites`] is installed with the
/// session's analyzer rules).
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(Simple::udf(
        "element_at",
        Signature::any(2, Volatility::Immutable),
        |a| element_type("element_at", &a[0]),
        placeholder,
    ));
    ctx.register_udf(Simple::udf(
        "contains",
        Signature::any(2, Volatility::Immutable),
        |a| match &a[0] {
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Null => Ok(DataType::Boolean),
            other => Err(plan_error(
                "contains",
                format!("takes an array and an element, not {other}"),
            )),
        },
        placeholder,
    ));
    ctx.register_udf(Simple::udf(
        "slice",
        Signature::any(3, Volatility::Immutable),
        |a| match &a[0] {
            t @ (DataType::List(_) | DataType::LargeList(_)) => Ok(t.clone()),
            other => Err(plan_error("slice", format!("takes an array, not {other}"))),
        },
        placeholder,
    ));
    ctx.register_udf(Simple::udf(
        "sequence",
        Signature::variadic_any(Volatility::Immutable),
        |a| match a.first() {
            Some(t @ DataType::Date32) => Ok(DataType::List(Arc::new(Field::new_list_field(
                t.clone(),
                true,
            )))),
            Some(t) if t.is_integer() => Ok(DataType::List(Arc::new(Field::new_list_field(
                DataType::Int64,
                true,
            )))),
            other => Err(plan_error(
                "sequence",
                format!("takes integers or dates, not {other:?}"),
            )),
        },
        placeholder,
    ));
    use datafusion::functions_nested::{array_any_match, array_filter, array_transform};
    for (function, alias) in [
        (
            array_transform::array_transform_higher_order_function(),
            "transform",
        ),
        (array_filter::array_filter_higher_order_function(), "filter"),
        (
            array_any_match::array_any_match_higher_order_function(),
            "any_match",
        ),
    ] {
        let aliased = datafusion::logical_expr::HigherOrderUDF::new_from_shared_impl(Arc::clone(
            function.inner(),
        ))
        .with_aliases([alias]);
        ctx.register_higher_order_function(Arc::new(aliased));
    }
}

#[derive(Debug)]
pub struct ArrayRewrites;

impl FunctionRewrite for ArrayRewrites {
    fn name(&self) -> &str {
        "trino_arrays"
    }

    fn rewrite(
        &self,
        expr: Expr,
        schema: &DFSchema,
        _: &ConfigOptions,
    ) -> Result<Transformed<Expr>> {
        let Expr::ScalarFunction(call) = &expr else {
            return Ok(Transformed::no(expr));
        };
        let args = call.args.clone();
        let rewritten = match call.func.name() {
            "element_at" => match args[0].get_type(schema)? {
                DataType::Map(_, _) => {
                    let [m, k] = <[Expr; 2]>::try_from(args).expect("two arguments");
                    array_element(map_extract(m, k), lit(1i64))
                }
                _ => {
                    let [a, i] = <[Expr; 2]>::try_from(args).expect("two arguments");
                    array_element(a, i)
                }
            },
            "concat" => {
                let mut types = args.iter().map(|a| a.get_type(schema));
                if !types.any(|t| {
                    matches!(
                        t,
                        Ok(DataType::List(_)
                            | DataType::LargeList(_)
                            | DataType::FixedSizeList(_, _))
                    )
                }) {
                    return Ok(Transformed::no(expr));
                }
                array_concat(args)
            }
            "contains" => {
                let [a, x] = <[Expr; 2]>::try_from(args).expect("two arguments");
                array_has(a, x)
            }
            "slice" => {
                let [a, start, length] = <[Expr; 3]>::try_from(args).expect("three arguments");
                array_slice(a, start.clone(), start + length - lit(1i64), None)
            }
            "sequence" => {
                let is_date = args[0].get_type(schema)? == DataType::Date32;
                let mut args = args.into_iter();
                let (start, stop) = (
                    args.next().expect("a start"),
                    args.next()
                        .ok_or_else(|| plan_error("sequence", "takes a start and a stop"))?,
                );
                // by default one step up, or down when the stop is before the start
                let step = args.next().unwrap_or_else(|| {
                    let (up, down) = if is_date {
                        (
                            lit(ScalarValue::new_interval_dt(1, 0)),
                            lit(ScalarValue::new_interval_dt(-1, 0)),
                        )
                    } else {
                        (lit(1i64), lit(-1i64))
                    };
                    when(start.clone().lt_eq(stop.clone()), up)
                        .otherwise(down)
                        .expect("a CASE with an ELSE")
                });
                gen_series(start, stop, step)
            }
            _ => return Ok(Transformed::no(expr)),
        };
        Ok(Transformed::yes(rewritten))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn follow_trinos_arguments() {
        assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], 2)").await, "2");
        assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], -1)").await, "3");
        assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], 5)").await, "");
        assert_eq!(
            value("SELECT element_at(MAP(ARRAY['a'], ARRAY[1]), 'a')").await,
            "1"
        );
        assert_eq!(
            value("SELECT element_at(MAP(ARRAY['a'], ARRAY[1]), 'b')").await,
            ""
        );
        assert_eq!(value("SELECT contains(ARRAY[1, 2], 2)").await, "true");
        assert_eq!(
            value("SELECT concat(ARRAY[1], ARRAY[2, 3])").await,
            "[1, 2, 3]"
        );
        assert_eq!(value("SELECT concat('a', 'b')").await, "ab");
        assert_eq!(
            value("SELECT slice(ARRAY[1, 2, 3, 4], 2, 2)").await,
            "[2, 3]"
        );
        assert_eq!(value("SELECT sequence(1, 5)").await, "[1, 2, 3, 4, 5]");
        assert_eq!(value("SELECT sequence(5, 1, -2)").await, "[5, 3, 1]");
        assert_eq!(value("SELECT sequence(3, 1)").await, "[3, 2, 1]");
        assert_eq!(
            value("SELECT sequence(DATE '2026-01-30', DATE '2026-02-01')").await,
            "[2026-01-30, 2026-01-31, 2026-02-01]"
        );
        assert_eq!(
            value("SELECT transform(ARRAY[1, 2], x -> x * 2)").await,
            "[2, 4]"
        );
        assert_eq!(
            value("SELECT filter(ARRAY[1, 2, 3], x -> x > 1)").await,
            "[2, 3]"
        );
    }
}
