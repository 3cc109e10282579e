//! Trino's casts where DataFusion's differ:
//! - from `double`, `real` and `decimal` to integer types they round to the nearest integer,
//!   half away from zero; DataFusion's truncate;
//! - from JSON they read the JSON value (`CAST(JSON '"abc"' AS varchar)` is `abc`), to JSON
//!   they write one ([`super::json_cast`]); DataFusion has no JSON type;
//! - between rows they take the fields by position ([`super::row_cast`]); DataFusion's by name.
//!
//! ```sql
//! SELECT CAST(1.5 AS integer), CAST(-2.5e0 AS bigint), CAST(2.4 AS smallint);   -- 2  -3  2
//! SELECT CAST(json_parse('[1, 2]') AS array(integer));                          -- [1, 2]
//! ```
//! Trino: <https://trino.io/docs/current/functions/conversion.html#cast>. An analyzer rule after
//! type coercion wraps the rounding casts' operand in `round` and replaces the JSON casts by
//! the function; the plan's column names are kept.

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::DFSchema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, TryCast};
use datafusion::optimizer::AnalyzerRule;

use super::{json_cast, row_cast};

#[derive(Debug, Default)]
pub struct TrinoCasts;

fn rounds(from: &DataType, to: &DataType) -> bool {
    to.is_integer()
        && matches!(
            from,
            DataType::Float16
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(_, _)
                | DataType::Decimal256(_, _)
        )
}

fn round(expr: Expr) -> Box<Expr> {
    Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(
        datafusion::functions::math::round(),
        vec![expr],
    )))
}

/// `CAST(expr AS field)` (`TRY_CAST` when `r#try`) as Trino makes it.
fn cast(expr: Expr, field: FieldRef, r#try: bool, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (_, source) = expr.to_field(schema)?;
    let (from, to) = (source.data_type(), field.data_type());
    let unchanged = |expr: Expr, field: FieldRef| {
        Transformed::no(if r#try {
            Expr::TryCast(TryCast {
                expr: Box::new(expr),
                field,
            })
        } else {
            Expr::Cast(Cast {
                expr: Box::new(expr),
                field,
            })
        })
    };
    Ok(if json_cast::reads_json(&source, &field) {
        Transformed::yes(json_cast::from_json(expr, to, r#try)?)
    } else if json_cast::writes_json(&source, &field) {
        Transformed::yes(json_cast::to_json(expr, field))
    } else if row_cast::applies(from, to)? {
        Transformed::yes(row_cast::call(expr, to)?)
    } else if rounds(from, to) {
        let expr = *round(expr);
        let mut rounded = unchanged(expr, field);
        rounded.transformed = true;
        rounded
    } else {
        unchanged(expr, field)
    })
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
                    Expr::Cast(Cast { expr, field }) => cast(*expr, field, false, &schema),
                    Expr::TryCast(TryCast { expr, field }) => cast(*expr, field, true, &schema),
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
        assert_eq!(
            value("SELECT CAST(CAST(1.5 AS integer) AS bigint)").await,
            "2"
        );
    }
}
