//! The SQL shell: `tributary sql` without `-c` or `-f`.
//!
//! On a terminal it is a line editor ([rustyline], as datafusion-cli uses): editing keys,
//! history kept across sessions, statements over several lines (Enter on a statement without
//! its closing `;` goes on to a new line), and Tab completion of keywords, tables and columns.
//! Ctrl-C cancels the statement that runs, or clears the line being typed; it never ends the
//! shell (Ctrl-D or `\q` does).
//!
//! From a pipe it runs each statement as it completes, reports a failing one and goes on, and
//! fails at the end if any did, so a script's mistakes reach its exit status.
//!
//! The history file is `$TRIBUTARY_HISTORY`, or `.tributary_history` in the home directory.

use std::borrow::Cow;
use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Behavior, Config, Editor, Helper};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::output::{self, OutputFormat};
use crate::session::QueryError;

const PROMPT: &str = "tributary> ";

/// Keywords offered by completion, besides the session's tables and columns.
const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "INNER",
    "OUTER",
    "CROSS",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "DESC",
    "ASC",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "CAST",
    "DATE",
    "TIMESTAMP",
    "INTERVAL",
    "TRUE",
    "FALSE",
    "SHOW",
    "TABLES",
    "DESCRIBE",
    "EXPLAIN",
    "CREATE",
    "VIEW",
    "OVER",
    "PARTITION",
    "UNNEST",
    "VALUES",
];

/// Runs the shell until end of input or `\q`. `interactive`: standard input is a terminal.
pub async fn run(
    ctx: &SessionContext,
    format: OutputFormat,
    interactive: bool,
) -> Result<(), QueryError> {
    if interactive {
        interactive_shell(ctx, format).await
    } else {
        piped(ctx, format).await
    }
}

/// Whether `line` (outside a statement) ends the shell.
fn is_quit(line: &str) -> bool {
    matches!(line.trim(), "\\q" | "quit" | "exit")
}

/// Whether `text` is ready to run: it ends with a `;` outside strings, quoted names and
/// comments, or it is a command of the shell itself. Text that does not tokenize (an
/// unterminated string, say) is ready when it ends with `;`, so that its error is reported
/// rather than waited on.
pub fn is_complete(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() || is_quit(trimmed) {
        return true;
    }
    match Tokenizer::new(&crate::trino::dialect::TrinoDialect, text).tokenize() {
        Ok(tokens) => tokens
            .iter()
            .rev()
            .find(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
            .is_some_and(|t| matches!(t, Token::SemiColon)),
        Err(_) => trimmed.ends_with(';'),
    }
}

/// Completion candidates for the word that ends at `pos` in `line`: the start of that word and
/// the names and keywords it begins. Keywords follow the case typed; names are as stored.
pub fn complete(names: &[String], line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    if word.is_empty() || in_string_or_comment(before) {
        return (start, Vec::new());
    }
    let lower = word.to_lowercase();
    let typed_lower = word.chars().next().is_some_and(char::is_lowercase);
    let mut found: Vec<String> = names
        .iter()
        .filter(|n| n.to_lowercase().starts_with(&lower) && n.len() > word.len())
        .cloned()
        .collect();
    found.extend(
        KEYWORDS
            .iter()
            .filter(|k| k.to_lowercase().starts_with(&lower) && k.len() > word.len())
            .map(|k| {
                if typed_lower {
                    k.to_lowercase()
                } else {
                    (*k).to_string()
                }
            }),
    );
    found.sort();
    found.dedup();
    (start, found)
}

/// Whether the end of `text` lies inside a string, a quoted name or a comment.
fn in_string_or_comment(text: &str) -> bool {
    match Tokenizer::new(&crate::trino::dialect::TrinoDialect, text).tokenize() {
        Err(_) => true,
        Ok(tokens) => {
            matches!(
                tokens.last(),
                Some(Token::Whitespace(
                    Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
                ))
            ) && !text.ends_with('\n')
        }
    }
}

/// The names completion offers: every table (bare and `schema.table`) and every column of the
/// session's default catalog.
async fn names(ctx: &SessionContext) -> Vec<String> {
    let mut names = Vec::new();
    let catalog_name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    let Some(catalog) = ctx.catalog(&catalog_name) else {
        return names;
    };
    for schema_name in catalog.schema_names() {
        let Some(schema) = catalog.schema(&schema_name) else {
            continue;
        };
        for table in schema.table_names() {
            if let Ok(Some(provider)) = schema.table(&table).await {
                names.extend(provider.schema().fields().iter().map(|f| f.name().clone()));
            }
            names.push(format!("{schema_name}.{table}"));
            names.push(table);
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The line editor's helper: completion and multi-line statements.
struct Shell {
    names: Vec<String>,
}

impl Completer for Shell {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = complete(&self.names, line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|name| Pair {
                    display: name.clone(),
                    replacement: name,
                })
                .collect(),
        ))
    }
}

impl Validator for Shell {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Hinter for Shell {
    type Hint = String;
}

impl Highlighter for Shell {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Helper for Shell {}

/// Where the history is kept, if anywhere.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("TRIBUTARY_HISTORY")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".tributary_history")))
}

fn editor_error(e: ReadlineError) -> QueryError {
    QueryError::Invalid(format!("the line editor failed: {e}"))
}

async fn interactive_shell(ctx: &SessionContext, format: OutputFormat) -> Result<(), QueryError> {
    // From here on SIGINT is ours: a Ctrl-C that arrives while no line is being edited (a
    // statement runs, or its result prints) must not end the shell. Each statement listens for
    // the Ctrl-Cs that come after it starts, so an earlier one cannot cancel it.
    #[cfg(unix)]
    let _sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| QueryError::Invalid(format!("cannot handle Ctrl-C: {e}")))?;
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)
        .map_err(editor_error)?
        .max_history_size(10_000)
        .map_err(editor_error)?
        // prompts go to the terminal even when standard output is redirected to a file
        .behavior(Behavior::PreferTerm)
        .build();
    let mut editor: Editor<Shell, FileHistory> =
        Editor::with_config(config).map_err(editor_error)?;
    editor.set_helper(Some(Shell {
        names: names(ctx).await,
    }));
    let history = history_path();
    if let Some(path) = &history
        && path.exists()
        && let Err(e) = editor.load_history(path)
    {
        eprintln!("warning: cannot read the history {}: {e}", path.display());
    }
    let mut history_warned = false;
    loop {
        let (back, line) = tokio::task::spawn_blocking(move || {
            let line = editor.readline(PROMPT);
            (editor, line)
        })
        .await
        .map_err(|e| QueryError::Invalid(format!("the line editor stopped: {e}")))?;
        editor = back;
        let text = match line {
            Ok(text) => text,
            // Ctrl-C while typing clears the line
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(editor_error(e)),
        };
        if text.trim().is_empty() {
            continue;
        }
        if is_quit(&text) {
            break;
        }
        let _ = editor.add_history_entry(text.as_str());
        if let Some(path) = &history
            && let Err(e) = editor.append_history(path)
            && !history_warned
        {
            eprintln!("warning: cannot write the history {}: {e}", path.display());
            history_warned = true;
        }
        tokio::select! {
            result = run_and_print(ctx, &text, format) => {
                if let Err(e) = result {
                    eprintln!("error: {e}");
                }
            }
            _ = tokio::signal::ctrl_c() => eprintln!("cancelled"),
        }
        // a statement may have made a view or a table
        if let Some(shell) = editor.helper_mut() {
            shell.names = names(ctx).await;
        }
    }
    Ok(())
}

/// Statements from a pipe: each runs when its `;` arrives; a failure is reported and counted.
async fn piped(ctx: &SessionContext, format: OutputFormat) -> Result<(), QueryError> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = String::new();
    let mut failed = 0usize;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| QueryError::Invalid(format!("reading input: {e}")))?
    {
        if pending.is_empty() && is_quit(&line) {
            break;
        }
        pending.push_str(&line);
        pending.push('\n');
        if is_complete(&pending) {
            if let Err(e) = run_and_print(ctx, &pending, format).await {
                eprintln!("error: {e}");
                failed += 1;
            }
            pending.clear();
        }
    }
    if !pending.trim().is_empty()
        && let Err(e) = run_and_print(ctx, &pending, format).await
    {
        eprintln!("error: {e}");
        failed += 1;
    }
    match failed {
        0 => Ok(()),
        n => Err(QueryError::Invalid(format!(
            "{n} statement(s) failed, each reported above"
        ))),
    }
}

/// Runs the statements of `text` and prints each result to standard output.
async fn run_and_print(
    ctx: &SessionContext,
    text: &str,
    format: OutputFormat,
) -> Result<(), QueryError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let results = crate::sql::run_statements(ctx, text).await?;
    let mut out = std::io::stdout().lock();
    for batches in results {
        output::write(&batches, format, &mut out)
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_complete_at_its_semicolon_outside_strings_and_comments() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1\nFROM t;  \n"));
        assert!(is_complete("\\q"));
        assert!(is_complete(""));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';'"));
        assert!(!is_complete("SELECT \"a;\""));
        assert!(!is_complete("SELECT 1 -- ;"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(is_complete("SELECT 1; -- done\n"));
        // an unterminated string ending in ';' runs, to report its error
        assert!(is_complete("SELECT 'abc;"));
    }

    #[test]
    fn tab_completes_tables_columns_and_keywords_in_the_case_typed() {
        let names: Vec<String> = ["events", "default.events", "event_type", "user_id"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            complete(&names, "SELECT * FROM eve", 17),
            (14, vec!["event_type".to_string(), "events".to_string()])
        );
        assert_eq!(
            complete(&names, "SELECT * FROM default.ev", 24),
            (14, vec!["default.events".to_string()])
        );
        assert_eq!(complete(&names, "sel", 3), (0, vec!["select".to_string()]));
        assert_eq!(complete(&names, "SEL", 3), (0, vec!["SELECT".to_string()]));
        assert_eq!(complete(&names, "SELECT use", 10).1, vec!["user_id"]);
        assert_eq!(complete(&names, "SELECT us", 9).1, vec!["user_id", "using"]);
        // nothing inside a string, nothing for an empty word
        assert!(complete(&names, "SELECT 'eve", 11).1.is_empty());
        assert!(complete(&names, "SELECT ", 7).1.is_empty());
    }
}
