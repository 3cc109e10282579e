//! Trino's correlated `UNNEST`: each row of a table joined with the elements of its own array.
//!
//! ```sql
//! SELECT o.order_id, t.item.price
//! FROM order_changes AS o CROSS JOIN UNNEST(o.items) AS t(item);
//!
//! SELECT u.id, t.tag, t.n FROM users u, UNNEST(u.tags) WITH ORDINALITY AS t(tag, n);
//! ```
//! DataFusion plans a join with an `UNNEST` of the left side's columns but cannot run it; it runs
//! `unnest(…)` in a projection. So the relation and its unnests become one derived table under
//! the relation's name, `(SELECT o.*, unnest(o.items) AS item FROM order_changes AS o) AS o`, and
//! `t.item` becomes `o.item`. Several arrays are unnested side by side, as in Trino; `WITH
//! ORDINALITY` adds the 1-based position. Supported: `CROSS JOIN UNNEST` and `, UNNEST` right
//! after one relation, one alias per array. Trino: <https://trino.io/docs/current/sql/select.html#unnest>.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Join, JoinConstraint, JoinOperator, Query, Select, SetExpr, TableFactor,
    TableWithJoins, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::parser::Parser;

use super::dialect::TrinoDialect;

/// Rewrites every `SELECT` of `query` whose `FROM` unnests the columns of the relation before it.
pub fn rewrite(query: &mut Query) {
    let renames: Vec<Requalify> = match query.body.as_mut() {
        SetExpr::Select(select) => select_from(select).into_iter().collect(),
        SetExpr::SetOperation { left, right, .. } => [left, right]
            .into_iter()
            .filter_map(|side| match side.as_mut() {
                SetExpr::Select(select) => select_from(select),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    // `t.x` now names a column of the derived table, in the SELECT and its ORDER BY
    for mut rename in renames {
        let _ = query.visit(&mut rename);
    }
}

/// An `UNNEST` joined to the relation before it.
struct Unnest {
    arrays: Vec<Expr>,
    /// `t` of `AS t(x, n)`
    alias: Option<Ident>,
    columns: Vec<Ident>,
    ordinality: bool,
}

fn as_unnest(factor: &TableFactor) -> Option<Unnest> {
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_ordinality,
        ..
    } = factor
    else {
        return None;
    };
    Some(Unnest {
        arrays: array_exprs.clone(),
        alias: alias.as_ref().map(|a| a.name.clone()),
        columns: alias
            .as_ref()
            .map(|a| a.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default(),
        ordinality: *with_ordinality,
    })
}

/// Rewrites the `FROM` of `select`; returns the renaming of the unnest's alias it needs.
fn select_from(select: &mut Select) -> Option<Requalify> {
    // `FROM r, UNNEST(…)`: the unnest as a cross join of the first item
    if select.from.len() == 2
        && select.from[1].joins.is_empty()
        && as_unnest(&select.from[1].relation).is_some()
    {
        let second = select.from.remove(1);
        select.from[0].joins.insert(
            0,
            Join {
                relation: second.relation,
                global: false,
                join_operator: JoinOperator::CrossJoin(JoinConstraint::None),
            },
        );
    }
    let first = select.from.first_mut()?;
    let join = first.joins.first()?;
    if !matches!(join.join_operator, JoinOperator::CrossJoin(_)) {
        return None;
    }
    let unnest = as_unnest(&join.relation)?;
    let name = relation_name(&first.relation)?;
    if unnest.columns.len() != unnest.arrays.len() + usize::from(unnest.ordinality) {
        return None; // rows expanded into several columns: left for DataFusion to report
    }
    let mut items: Vec<String> = vec![format!("{name}.*")];
    for (array, column) in unnest.arrays.iter().zip(&unnest.columns) {
        items.push(format!("unnest({array}) AS {column}"));
    }
    if unnest.ordinality {
        let lengths: Vec<String> = unnest
            .arrays
            .iter()
            .map(|a| format!("cardinality({a})"))
            .collect();
        let longest = if lengths.len() == 1 {
            lengths[0].clone()
        } else {
            format!("greatest({})", lengths.join(", "))
        };
        items.push(format!(
            "unnest(generate_series(1, {longest})) AS {}",
            unnest.columns.last().expect("an ordinality column")
        ));
    }
    let derived = format!(
        "SELECT 1 FROM (SELECT {} FROM {}) AS {name}",
        items.join(", "),
        first.relation
    );
    let parsed = Parser::new(&TrinoDialect)
        .try_with_sql(&derived)
        .and_then(|mut p| p.parse_query())
        .ok()?;
    let SetExpr::Select(parsed) = *parsed.body else {
        return None;
    };
    let TableWithJoins { relation, .. } = parsed.from.into_iter().next()?;
    first.relation = relation;
    first.joins.remove(0);
    unnest.alias.map(|from| Requalify { from, to: name })
}

/// The name a relation is referred to by: its alias, or a table's own name.
fn relation_name(relation: &TableFactor) -> Option<Ident> {
    match relation {
        TableFactor::Table {
            alias: Some(alias), ..
        }
        | TableFactor::Derived {
            alias: Some(alias), ..
        } => Some(alias.name.clone()),
        TableFactor::Table {
            name, alias: None, ..
        } => name.0.last().and_then(|part| part.as_ident().cloned()),
        _ => None,
    }
}

struct Requalify {
    from: Ident,
    to: Ident,
}

impl VisitorMut for Requalify {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::CompoundIdentifier(parts) = expr
            && parts.len() >= 2
            && parts[0].value.eq_ignore_ascii_case(&self.from.value)
        {
            parts[0] = self.to.clone();
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::context;
    use crate::sql::run_statements;

    async fn rows(sql: &str) -> String {
        let ctx = context();
        run_statements(&ctx, "CREATE VIEW u AS SELECT * FROM (VALUES (1, ['x', 'y']), (2, ['z']), (3, [])) AS v(id, tags)")
            .await
            .unwrap();
        let batches = run_statements(&ctx, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        datafusion::arrow::util::pretty::pretty_format_batches(&batches[0])
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn joins_each_row_with_its_own_elements() {
        let out =
            rows("SELECT u.id, t.tag FROM u CROSS JOIN UNNEST(u.tags) AS t(tag) ORDER BY t.tag")
                .await;
        assert!(
            out.contains("| 1  | x   |")
                && out.contains("| 1  | y   |")
                && out.contains("| 2  | z   |"),
            "{out}"
        );
        assert_eq!(
            out.lines().filter(|l| l.starts_with("| ")).count(),
            4,
            "a header and three rows: {out}"
        );
        let out = rows("SELECT a.id, t.tag, t.n FROM u AS a, UNNEST(a.tags) WITH ORDINALITY AS t(tag, n) ORDER BY 1, 3").await;
        assert!(out.contains("| 1  | y   | 2 |"), "{out}");
    }
}
