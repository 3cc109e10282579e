//! `tributary sql`: `-c SQL`, `-f FILE`, or a REPL on standard input.

use std::io::IsTerminal;

use anyhow::Context;

use crate::cli::SqlArgs;

pub async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let ctx = tributary_query::open_database(&args.warehouse, &args.database).await.with_context(|| format!("opening the warehouse {}", args.warehouse))?;
    let sql = match (&args.command, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(file)) => std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        (None, None) => {
            let interactive = std::io::stdin().is_terminal();
            if interactive {
                eprintln!(
                    "database {}: tables events, order_changes, user_changes; views orders, users. End statements with ';', \\q quits.",
                    args.database
                );
            }
            return Ok(tributary_query::sql::repl(&ctx, args.format, interactive).await?);
        }
    };
    let results = tributary_query::sql::run_statements(&ctx, &sql).await?;
    let mut out = std::io::stdout().lock();
    for batches in results {
        tributary_query::output::write(&batches, args.format, &mut out)?;
    }
    Ok(())
}
