//! Trino does not compare or add text and numbers: `'a' = 1` and `month = 3` on a `varchar`
//! column are type errors when the query is planned, with Trino's message, where DataFusion
//! would cast the text (an Arrow cast error at run time for `'a'`, a silent cast for `month`).
//!
//! ```sql
//! SELECT 'a' = 1;            -- Cannot apply operator: varchar(1) = integer
//! SELECT n + '2' FROM t;    -- a planning error too (DataFusion's planner refuses it first)
//! SELECT * FROM t WHERE s IN (1, 2);   -- IN value and list items must be the same type: varchar
//! ```
//! Trino: <https://trino.io/docs/current/functions/comparison.html>,
//! <https://trino.io/docs/current/language/types.html>. An analyzer rule that runs before type
//! coercion, while the operands still have the types the user wrote. Whatever a table's
//! partition columns end up typed as, the rule sees the type they have.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, ScalarValue, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

use super::type_of::trino_type_name;

#[derive(Debug, Default)]
pub struct StrictOperands;

impl AnalyzerRule for StrictOperands {
    fn name(&self) -> &str {
        "trino_strict_operands"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            let schema = merge_schema(&node.inputs());
            node.apply_expressions(|expr| {
                expr.apply(|e| {
                    check(e, &schema)?;
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        Ok(plan)
    }
}

/// The error Trino gives for `e`, if its operands are text on one side and a number on the
/// other. An operand whose type cannot be known here (an outer column of a subquery) is let
/// through: type coercion decides.
fn check(e: &Expr, schema: &DFSchema) -> Result<()> {
    let type_of = |e: &Expr| e.get_type(schema).ok();
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if strict(op) => {
            if let (Some(l), Some(r)) = (type_of(left), type_of(right))
                && mismatched(&l, &r)
            {
                // Trino spells `!=` as `<>`
                let op = match op {
                    Operator::NotEq => "<>".to_string(),
                    other => other.to_string(),
                };
                return plan_err!(
                    "Cannot apply operator: {} {op} {}",
                    name(left, &l),
                    name(right, &r)
                );
            }
        }
        Expr::Between(Between {
            expr, low, high, ..
        }) => {
            let bounds = [type_of(low), type_of(high)];
            if let Some(value) = type_of(expr)
                && bounds.iter().flatten().any(|t| mismatched(&value, t))
            {
                let [l, h] = bounds.map(|t| t.unwrap_or(DataType::Null));
                return plan_err!(
                    "Cannot check if {} is BETWEEN {} and {}",
                    name(expr, &value),
                    name(low, &l),
                    name(high, &h)
                );
            }
        }
        Expr::InList(InList { expr, list, .. }) => {
            if let Some(value) = type_of(expr)
                && list
                    .iter()
                    .filter_map(type_of)
                    .any(|item| mismatched(&value, &item))
            {
                return plan_err!(
                    "IN value and list items must be the same type: {}",
                    trino_type_name(&value)
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// The operators Trino types strictly: comparisons and arithmetic.
fn strict(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        Eq | NotEq
            | Lt
            | LtEq
            | Gt
            | GtEq
            | IsDistinctFrom
            | IsNotDistinctFrom
            | Plus
            | Minus
            | Multiply
            | Divide
            | Modulo
    )
}

fn mismatched(a: &DataType, b: &DataType) -> bool {
    (is_text(a) && is_number(b)) || (is_number(a) && is_text(b))
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

fn is_number(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, value) => is_number(value),
        other => other.is_numeric(),
    }
}

/// Trino's name of an operand's type: a text literal's has its length (`varchar(1)`).
fn name(e: &Expr, t: &DataType) -> String {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => format!("varchar({})", s.chars().count()),
        Expr::Literal(ScalarValue::Dictionary(_, value), meta) => {
            name(&Expr::Literal((**value).clone(), meta.clone()), t)
        }
        _ => match t {
            DataType::Dictionary(_, value) => trino_type_name(value),
            other => trino_type_name(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionConfig;

    async fn error_of(sql: &str) -> String {
        let ctx = super::super::context(SessionConfig::new());
        ctx.sql("CREATE TABLE t (s varchar, n int) AS VALUES ('3', 3)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        // the analyzer runs when the plan is made: an error here comes before any row
        let plan = match ctx.sql(sql).await {
            Ok(df) => df.create_physical_plan().await.map(|_| ()),
            Err(e) => Err(e),
        };
        match plan {
            Ok(()) => String::new(),
            Err(e) => crate::QueryError::from(e).to_string(),
        }
    }

    #[tokio::test]
    async fn text_and_numbers_do_not_mix_as_in_trino() {
        for (sql, message) in [
            (
                "SELECT 'a' = 1",
                "Cannot apply operator: varchar(1) = integer",
            ),
            // arithmetic on text is refused by DataFusion's planner already, in its own words
            ("SELECT 1 + '22'", "Cannot coerce arithmetic expression"),
            (
                "SELECT * FROM t WHERE s = 3",
                "Cannot apply operator: varchar = integer",
            ),
            (
                "SELECT * FROM t WHERE n <> s",
                "Cannot apply operator: integer <> varchar",
            ),
            (
                "SELECT * FROM t WHERE s IN (1, 2)",
                "IN value and list items must be the same type: varchar",
            ),
            (
                "SELECT * FROM t WHERE n BETWEEN '1' AND 5",
                "Cannot check if integer is BETWEEN varchar(1) and integer",
            ),
            (
                "SELECT (SELECT max(n) FROM t WHERE s > 1)",
                "Cannot apply operator: varchar > integer",
            ),
        ] {
            let e = error_of(sql).await;
            assert!(
                e.contains(message) && e.starts_with("Error during planning"),
                "{sql}: {e}"
            );
        }
        // what Trino takes is still taken
        for sql in [
            "SELECT * FROM t WHERE s = '3' AND n = 3 AND n + 1.5 > 2 AND s || 'x' = '3x'",
            "SELECT * FROM t WHERE n IN (1, 2) AND s IN ('1', '2') AND n BETWEEN 1 AND 5",
            "SELECT CAST(s AS integer) = n FROM t",
        ] {
            assert_eq!(error_of(sql).await, "", "{sql}");
        }
    }
}
