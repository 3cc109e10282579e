//! `round(x)` and `round(x, d)` on decimals, with Trino's result types.
//!
//! ```sql
//! SELECT round(CAST(33.3333 AS decimal(6,4)), 2);   -- 33.3300   decimal(6,4): the type of x
//! SELECT round(2.5);                                 -- 3         decimal(2,0)
//! SELECT ROUND(100.0 * 1 / 3, 2);                    -- 33.3
//! ```
//! Trino rounds half away from zero and keeps `x`'s type when given `d`; without `d` the
//! result has scale 0 and one more integer digit when `x` had fraction digits. DataFusion's
//! `round` rounds the same way but narrows the scale to `d`; the call is wrapped in a cast to
//! Trino's type by an analyzer rewrite. Trino: <https://trino.io/docs/current/functions/math.html#round>.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, lit};

#[derive(Debug)]
pub struct RoundRewrite;

impl FunctionRewrite for RoundRewrite {
    fn name(&self) -> &str {
        "trino_round"
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
        if call.func.name() != "round" || call.args.is_empty() {
            return Ok(Transformed::no(expr));
        }
        let DataType::Decimal128(p, s) = call.args[0].get_type(schema)? else {
            return Ok(Transformed::no(expr));
        };
        let target = if call.args.len() == 2 {
            DataType::Decimal128(p, s)
        } else {
            DataType::Decimal128(
                (p as i16 - s as i16 + (s as i16).min(1)).clamp(1, 38) as u8,
                0,
            )
        };
        let mut args = call.args.clone();
        if args.len() == 1 {
            args.push(lit(0i64));
        }
        let rounded = Expr::ScalarFunction(
            datafusion::logical_expr::expr::ScalarFunction::new_udf(call.func.clone(), args),
        );
        Ok(Transformed::yes(Expr::Cast(Cast::new(
            Box::new(rounded),
            target,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn keeps_trinos_types() {
        assert_eq!(
            value("SELECT round(CAST(33.3333 AS decimal(6,4)), 2)").await,
            "33.3300"
        );
        assert_eq!(value("SELECT round(2.5)").await, "3");
        assert_eq!(data_type("SELECT round(2.5)").await, "Decimal128(2, 0)");
        assert_eq!(value("SELECT round(-2.5)").await, "-3");
        assert_eq!(value("SELECT ROUND(100.0 * 1 / 3, 2)").await, "33.3");
        assert_eq!(
            value("SELECT round(2.5e0)").await,
            "3.0",
            "a double stays a double"
        );
    }
}
