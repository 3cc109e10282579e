//! Running SQL text: one or many `;`-separated statements, and an interactive REPL.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::output::{self, OutputFormat};
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

/// Reads statements from standard input until EOF or `\q`, printing each result.
/// `interactive` shows prompts (on a terminal).
pub async fn repl(
    ctx: &SessionContext,
    format: OutputFormat,
    interactive: bool,
) -> Result<(), QueryError> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = String::new();
    let prompt = |pending: &str| {
        if interactive {
            print!(
                "{}",
                if pending.is_empty() {
                    "tributary> "
                } else {
                    "        -> "
                }
            );
            let _ = std::io::stdout().flush();
        }
    };
    prompt(&pending);
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| QueryError::Invalid(format!("reading input: {e}")))?
    {
        let trimmed = line.trim();
        if pending.is_empty() && matches!(trimmed, "\\q" | "quit" | "exit") {
            break;
        }
        pending.push_str(&line);
        pending.push('\n');
        if trimmed.ends_with(';') {
            let mut out = std::io::stdout().lock();
            match run_statements(ctx, &pending).await {
                Ok(results) => {
                    for batches in results {
                        output::write(&batches, format, &mut out)
                            .map_err(|e| QueryError::Invalid(e.to_string()))?;
                    }
                }
                // an interactive mistake is reported, not fatal
                Err(e) => eprintln!("error: {e}"),
            }
            pending.clear();
        }
        prompt(&pending);
    }
    if !pending.trim().is_empty() {
        let results = run_statements(ctx, &pending).await?;
        let mut out = std::io::stdout().lock();
        for batches in results {
            output::write(&batches, format, &mut out)
                .map_err(|e| QueryError::Invalid(e.to_string()))?;
        }
    }
    Ok(())
}
