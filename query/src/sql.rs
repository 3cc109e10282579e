//! Running SQL text: one or many `;`-separated statements ([`crate::repl`] is the shell).

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::session::QueryError;

/// Parses `sql` (one or more `;`-separated statements) as Trino reads it: the
/// [`TrinoDialect`](crate::trino::dialect::TrinoDialect), then [`crate::trino::rewrite`].
pub fn parse(sql: &str) -> Result<Vec<Statement>, QueryError> {
    let mut statements =
        DFParser::parse_sql_with_dialect(sql, &crate::trino::dialect::TrinoDialect)
            .map_err(|e| QueryError::Invalid(format!("SQL syntax error: {e}")))?;
    if statements.is_empty() {
        return Err(QueryError::Invalid("no SQL statement given".into()));
    }
    for statement in statements.iter_mut() {
        crate::trino::rewrite::statement(statement)
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
    }
    Ok(statements.into())
}

/// The statements of `sql`, split at the `;`s outside strings, quotes and comments.
pub fn split(sql: &str) -> Result<Vec<String>, QueryError> {
    let tokens = Tokenizer::new(&crate::trino::dialect::TrinoDialect, sql)
        .tokenize()
        .map_err(|e| QueryError::Invalid(format!("SQL syntax error: {e}")))?;
    let mut statements = vec![String::new()];
    for token in tokens {
        match token {
            Token::SemiColon => statements.push(String::new()),
            other => statements
                .last_mut()
                .expect("one statement at least")
                .push_str(&other.to_string()),
        }
    }
    statements.retain(|s| !s.trim().is_empty());
    if statements.is_empty() {
        return Err(QueryError::Invalid("no SQL statement given".into()));
    }
    Ok(statements)
}

/// Runs every statement of `sql` in order, returning each one's results. Athena's metadata
/// statements (`SHOW TABLES`, `DESCRIBE`, …) are answered by [`crate::metadata`].
pub async fn run_statements(
    ctx: &SessionContext,
    sql: &str,
) -> Result<Vec<Vec<RecordBatch>>, QueryError> {
    let mut results = Vec::new();
    for text in split(sql)? {
        if let Some(answer) = crate::metadata::answer(ctx, &text).await {
            results.push(vec![answer?]);
            continue;
        }
        for statement in parse(&text)? {
            let plan = ctx.state().statement_to_plan(statement).await?;
            results.push(ctx.execute_logical_plan(plan).await?.collect().await?);
        }
    }
    Ok(results)
}
