//! Trino's integer literals: a literal that fits in 32 bits is an `integer`, a larger one a
//! `bigint` (DataFusion makes every integer literal a `bigint`).
//!
//! ```sql
//! SELECT typeof(1);              -- integer
//! SELECT typeof(3000000000);     -- bigint
//! SELECT typeof(ARRAY[1, 2]);    -- array(integer)
//! ```
//! Trino: <https://trino.io/docs/current/language/types.html#integer>. The types matter beyond
//! `typeof`: an `integer` becomes `decimal(10,0)` in decimal arithmetic, a `bigint`
//! `decimal(19,0)`.
//!
//! An analyzer rule that runs before type coercion; the names DataFusion gave the expressions
//! are kept, so the plan's columns keep theirs.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub struct IntegerLiterals;

impl AnalyzerRule for IntegerLiterals {
    fn name(&self) -> &str {
        "trino_integer_literals"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            // LIMIT and OFFSET take bigint counts; VALUES keeps the types it was planned with
            if matches!(plan, LogicalPlan::Limit(_) | LogicalPlan::Values(_)) {
                return Ok(Transformed::no(plan));
            }
            let names = NamePreserver::new(&plan);
            let schema = merge_schema(&plan.inputs());
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_down(|e| match e {
                    Expr::Literal(ScalarValue::Int64(Some(v)), meta)
                        if i32::try_from(v).is_ok() =>
                    {
                        Ok(Transformed::yes(Expr::Literal(
                            ScalarValue::Int32(Some(v as i32)),
                            meta,
                        )))
                    }
                    other => Ok(Transformed::no(other)),
                })?;
                // a lambda's parameters were typed from its arguments when it was planned: type
                // them again from the narrowed literals (`reduce(ARRAY[5], 0, …)` folds in integer)
                let rewritten = if rewritten.transformed && has_lambda(&rewritten.data) {
                    Transformed::yes(resolve_lambdas(rewritten.data, &schema)?)
                } else {
                    rewritten
                };
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }
}

/// Types every lambda's parameters again, innermost call first: DataFusion's resolution of a
/// call does not reach a call nested in its array argument (`transform(filter(a, …), …)`).
/// A call inside a lambda body that uses the enclosing lambda's parameters cannot be resolved
/// alone; it is resolved with the enclosing call.
fn resolve_lambdas(expr: Expr, schema: &DFSchema) -> Result<Expr> {
    expr.transform_up(|e| match e {
        Expr::HigherOrderFunction(_) => match e.clone().resolve_lambda_variables(schema) {
            Ok(resolved) => Ok(Transformed::yes(resolved.data)),
            Err(_) => Ok(Transformed::no(e)),
        },
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

fn has_lambda(expr: &Expr) -> bool {
    expr.exists(|e| Ok(matches!(e, Expr::HigherOrderFunction(_))))
        .unwrap_or(false)
}
