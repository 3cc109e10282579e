//! Trino's casts where DataFusion's differ:
//! - from `double`, `real` and `decimal` to integer types they round to the nearest integer,
//!   half away from zero; DataFusion's truncate;
//! - from JSON (text) to arrays, maps and rows they read the JSON ([`super::json_cast`]);
//!   DataFusion has no such cast;
//! - between rows they take the fields by position ([`super::row_cast`]); DataFusion's by name.
//!
//! ```sql
//! SELECT CAST(1.5 AS integer), CAST(-2.5e0 AS bigint), CAST(2.4 AS smallint);   -- 2  -3  2
//! SELECT CAST(json_parse('[1, 2]') AS array(integer));                          -- [1, 2]
//! ```
//! Trino: <https://trino.io/docs/current/functions/conversion.html#cast>. An analyzer rule after
//! type coercion wraps the rounding casts' operand in `round` and replaces the JSON casts by
//! the function; the plan's column names are kept.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, TryCast};
use datafusion::optimizer::AnalyzerRule;
use datafusion::arrow::datatypes::DataType;

use super::{json_cast, row_cast};

#[derive(Debug, Default)]
pub struct TrinoCasts;

fn rounds(from: &DataType, to: &DataType) -> bool {
    to.is_integer() && matches!(from, DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) | DataType::Decimal256(_, _))
}

fn round(expr: Expr) -> Box<Expr> {
    Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(datafusion::functions::math::round(), vec![expr])))
}

impl AnalyzerRule for TrinoCasts {
    fn name(&self) -> &str {
        "trino_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            if matches!(plan, LogicalPlan::TableScan(_)) {
                return Ok(Transformed::no(plan));
            }
            let schema = merge_schema(&plan.inputs());
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| match e {
                    Expr::Cast(Cast { expr, field }) if json_cast::applies(&expr.get_type(&schema)?, field.data_type()) => {
                        Ok(Transformed::yes(json_cast::call(*expr, field.data_type(), false)?))
                    }
                    Expr::TryCast(TryCast { expr, field }) if json_cast::applies(&expr.get_type(&schema)?, field.data_type()) => {
                        Ok(Transformed::yes(json_cast::call(*expr, field.data_type(), true)?))
                    }
                    Expr::Cast(Cast { expr, field }) if row_cast::applies(&expr.get_type(&schema)?, field.data_type())? => {
                        Ok(Transformed::yes(row_cast::call(*expr, field.data_type())?))
                    }
                    Expr::TryCast(TryCast { expr, field }) if row_cast::applies(&expr.get_type(&schema)?, field.data_type())? => {
                        Ok(Transformed::yes(row_cast::call(*expr, field.data_type())?))
                    }
                    Expr::Cast(Cast { expr, field }) if rounds(&expr.get_type(&schema)?, field.data_type()) => {
                        Ok(Transformed::yes(Expr::Cast(Cast { expr: round(*expr), field })))
                    }
                    Expr::TryCast(TryCast { expr, field }) if rounds(&expr.get_type(&schema)?, field.data_type()) => {
                        Ok(Transformed::yes(Expr::TryCast(TryCast { expr: round(*expr), field })))
                    }
                    other => Ok(Transformed::no(other)),
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn rounds_half_away_from_zero() {
        assert_eq!(value("SELECT CAST(1.5 AS integer)").await, "2");
        assert_eq!(value("SELECT CAST(-2.5e0 AS bigint)").await, "-3");
        assert_eq!(value("SELECT CAST(2.4 AS smallint)").await, "2");
        assert_eq!(value("SELECT try_cast(7.5e0 AS integer)").await, "8");
        assert_eq!(value("SELECT CAST(CAST(1.5 AS integer) AS bigint)").await, "2");
    }
}
