//! `tributary sql`: `-c SQL`, `-f FILE`, or the SQL shell on standard input.

use std::io::IsTerminal;

use anyhow::Context;

use tributary_table::schema::Schema;

use crate::cli::SqlArgs;

pub async fn run(args: SqlArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let statements = match (&args.command, &args.file) {
        (Some(sql), _) => Some(sql.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        ),
        (None, None) => None,
    };
    // statements known in advance load only the tables they read; the REPL gets them all
    let tables = statements.as_deref().map_or(
        tributary_query::Tables::All,
        tributary_query::Tables::read_by,
    );
    let ctx = match &args.warehouse {
        Some(warehouse) => tributary_query::open_tables(warehouse, schema, &args.database, &tables)
            .await
            .with_context(|| format!("opening the warehouse {warehouse}"))?,
        None => tributary_query::empty(&args.database)?,
    };
    for file in &args.ddl {
        let ddl =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        tributary_query::external::register_ddl(&ctx, &ddl)
            .await
            .with_context(|| format!("registering the tables of {}", file.display()))?;
    }
    let sql = match statements {
        Some(sql) => sql,
        None => {
            let interactive = std::io::stdin().is_terminal();
            if interactive {
                eprintln!(
                    "database {}: SHOW TABLES lists the tables. End statements with ';', \\q quits.",
                    args.database
                );
            }
            return Ok(tributary_query::repl::run(&ctx, args.format, interactive).await?);
        }
    };
    let results = tributary_query::sql::run_statements(&ctx, &sql).await?;
    let mut out = std::io::stdout().lock();
    for batches in results {
        tributary_query::output::write(&batches, args.format, &mut out)?;
    }
    Ok(())
}
