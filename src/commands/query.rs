//! `tributary query <name>`: a named analytics query.

use anyhow::{Context, bail};
use tributary_query::{NamedQuery, OutputFormat, Params};

use tributary_table::schema::Schema;

use crate::cli::QueryArgs;

pub async fn run(args: QueryArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let params = Params {
        from: args.from,
        to: args.to,
        limit: args.limit,
    };
    if let (Some(from), Some(to)) = (params.from, params.to)
        && from > to
    {
        bail!("--from {from} is after --to {to}");
    }
    let sql = args.name.sql(&params);
    if args.print_sql {
        println!("{sql};");
        return Ok(());
    }
    let Some(warehouse) = args.warehouse else {
        bail!("--warehouse (or TRIBUTARY_WAREHOUSE) is required to run a query")
    };
    // the named queries are the shop's: a schema without its tables cannot answer them
    let known = schema.table_names();
    if let Some(missing) = args.name.tables().iter().find(|t| !known.contains(t)) {
        bail!(
            "{} reads the shop's table {missing}, which the schema does not declare (its tables: {}); \
             use `tributary sql` for the schema's own tables",
            args.name.name(),
            known.join(", ")
        );
    }
    let tables =
        tributary_query::Tables::Only(args.name.tables().iter().map(|t| t.to_string()).collect());
    let ctx = tributary_query::open_tables(&warehouse, schema, &args.database, &tables)
        .await
        .with_context(|| format!("opening the warehouse {warehouse}"))?;
    print_query(&ctx, args.name, &sql, args.format).await
}

/// Runs `sql` and prints its result.
pub async fn print_query(
    ctx: &tributary_query::SessionContext,
    name: NamedQuery,
    sql: &str,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let batches = tributary_query::sql::run_statements(ctx, sql)
        .await
        .with_context(|| format!("running {}", name.name()))?
        .pop()
        .unwrap_or_default();
    tributary_query::output::write(&batches, format, &mut std::io::stdout().lock())?;
    Ok(())
}
