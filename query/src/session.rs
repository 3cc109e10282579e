//! A DataFusion session over a warehouse: its Delta tables, read through their logs (the file
//! list and per-file statistics come from the log, so filters on `year/month/day` and on
//! columns skip files without listing the table), and the latest-state views.

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};
use tributary_table::delta;
use tributary_table::schema::Schema;
use tributary_table::state::{self, StateTable};
use tributary_table::{Table, TableError, Warehouse, WarehouseError};

use crate::views;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{}", shown(.0))]
    DataFusion(#[from] DataFusionError),
    #[error("{0}")]
    Invalid(String),
}

/// A DataFusion error as a user reads it: without the name of the analyzer rule that raised
/// it (`trino_strict_operands\ncaused by\nError during planning: …`), which says nothing to
/// someone who wrote the query.
fn shown(error: &DataFusionError) -> String {
    match error {
        DataFusionError::Context(context, inner)
            if !context.is_empty()
                && context.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            shown(inner)
        }
        other => other.to_string(),
    }
}

/// The catalog Athena names its Glue databases under.
pub const CATALOG: &str = "awsdatacatalog";

/// The database the tables are registered in unless told otherwise (the original design's
/// `analytics.events`).
pub const DEFAULT_DATABASE: &str = "analytics";

/// A Glue database name, checked and lower-cased as Glue stores it.
pub fn database_name(name: &str) -> Result<String, QueryError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(QueryError::Invalid(format!(
            "invalid database name {name:?}: use letters, digits and underscores (as Glue does)"
        )));
    }
    Ok(name.to_ascii_lowercase())
}

/// Which of the warehouse's tables a session registers: loading a Delta table means reading
/// its log, so a query that names one table should not wait for the other four.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tables {
    All,
    /// These names (case-insensitively); others are not registered.
    Only(Vec<String>),
}

impl Tables {
    fn wants(&self, name: &str) -> bool {
        match self {
            Tables::All => true,
            Tables::Only(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }

    /// The tables that `sql` reads, if it is only queries over tables named without
    /// `information_schema`; otherwise (SHOW, DESCRIBE, DDL, or text the parser does not
    /// take) all of them.
    pub fn read_by(sql: &str) -> Tables {
        use datafusion::sql::parser::{DFParser, Statement};
        let dialect = datafusion::sql::sqlparser::dialect::GenericDialect {};
        let Ok(statements) = DFParser::parse_sql_with_dialect(sql, &dialect) else {
            return Tables::All;
        };
        let state = SessionContext::new().state();
        let mut names = Vec::new();
        for statement in &statements {
            let Statement::Statement(inner) = statement else {
                return Tables::All;
            };
            if !matches!(
                inner.as_ref(),
                datafusion::sql::sqlparser::ast::Statement::Query(_)
            ) {
                return Tables::All;
            }
            let Ok(references) = state.resolve_table_references(statement) else {
                return Tables::All;
            };
            for reference in references {
                if reference
                    .schema()
                    .is_some_and(|s| s.eq_ignore_ascii_case("information_schema"))
                {
                    return Tables::All;
                }
                names.push(reference.table().to_string());
            }
        }
        Tables::Only(names)
    }
}

/// Opens the warehouse at `location` and registers its tables and views in
/// [`DEFAULT_DATABASE`].
pub async fn open(location: &str, schema: &'static Schema) -> Result<SessionContext, QueryError> {
    open_tables(location, schema, DEFAULT_DATABASE, &Tables::All).await
}

/// Opens the warehouse at `location`, holding the tables of `schema`, with `tables`
/// registered in `database`.
pub async fn open_tables(
    location: &str,
    schema: &'static Schema,
    database: &str,
    tables: &Tables,
) -> Result<SessionContext, QueryError> {
    let warehouse = Warehouse::open_existing(location)
        .await?
        .with_schema(schema);
    session_of(&warehouse, database, tables).await
}

/// A session with every table of `warehouse` registered in `database`, which is also the
/// default schema: `events`, `analytics.events` and `awsdatacatalog.analytics.events` all
/// name the same table, as they do on Athena.
pub async fn session(warehouse: &Warehouse, database: &str) -> Result<SessionContext, QueryError> {
    session_of(warehouse, database, &Tables::All).await
}

/// [`session`] with only `tables` registered (and, for a current-state table that does not
/// exist yet, the change table its view reads).
pub async fn session_of(
    warehouse: &Warehouse,
    database: &str,
    tables: &Tables,
) -> Result<SessionContext, QueryError> {
    let ctx = empty(database)?;
    let store_url = ObjectStoreUrl::parse(warehouse.store_url())?;
    ctx.register_object_store(store_url.as_ref(), warehouse.store().clone());
    let schema = warehouse.schema();
    let states: Vec<StateTable> = schema
        .state_tables()
        .into_iter()
        .filter(|t| tables.wants(t.name()))
        .collect();
    let mut changes: Vec<Table> = schema
        .handles()
        .into_iter()
        .filter(|t| tables.wants(t.name()))
        .collect();
    // the snapshots are loaded at once: their log reads are what a query waits for first
    let (opened_changes, opened_states) = futures::join!(
        futures::future::join_all(changes.iter().map(|t| delta::open(warehouse, *t))),
        futures::future::join_all(states.iter().map(|t| state::open(warehouse, *t))),
    );
    let mut opened_changes: Vec<_> = changes.iter().copied().zip(opened_changes).collect();
    let mut views = Vec::new();
    let mut found = false;
    for (state, opened) in states.into_iter().zip(opened_states) {
        match opened? {
            Some(delta) => {
                found = true;
                register_delta(&ctx, warehouse, state.name(), delta).await?
            }
            // no current-state table yet (nothing written to the change table): the view
            // that computes the same rows from the change table
            None => views.push(state),
        }
    }
    for state in &views {
        if !changes.contains(&state.changes()) {
            changes.push(state.changes());
            opened_changes.push((
                state.changes(),
                delta::open(warehouse, state.changes()).await,
            ));
        }
    }
    for (table, opened) in opened_changes {
        // a plain directory of Parquet files (an earlier version's layout) is refused
        match opened? {
            Some(delta) => {
                found = true;
                register_delta(&ctx, warehouse, table.name(), delta).await?
            }
            None => register_empty(&ctx, table)?,
        }
    }
    if !found && !changes.is_empty() {
        match tables {
            // statements that name tables of the schema (and named queries) over a warehouse
            // that has none of them are refused
            Tables::Only(_) => refuse_empty_warehouse(warehouse, &changes).await?,
            // a session for everything (the REPL) opened every table and found none: it
            // says so once and opens regardless
            Tables::All => tracing::warn!(
                "the warehouse {} has none of the tables {} yet: they read as empty",
                warehouse.url(),
                schema.names()
            ),
        }
    }
    for state in views {
        let sql = views::sql(state);
        crate::sql::run_statements(&ctx, &format!("CREATE VIEW {} AS {sql}", state.name())).await?;
    }
    Ok(ctx)
}

/// A session without tables whose default database is `database` (tables come from Athena DDL,
/// [`crate::external::register_ddl`]).
pub fn empty(database: &str) -> Result<SessionContext, QueryError> {
    // DataFusion's own settings from DATAFUSION_* variables (as datafusion-cli reads them,
    // e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS), then ours
    let config = SessionConfig::from_env()?
        .with_default_catalog_and_schema(CATALOG, database_name(database)?)
        .with_information_schema(true)
        // Athena and Trino show `1.5` as DECIMAL; keep DataFusion's parsing but not its
        // view-typed strings, which some clients cannot print
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        .set_bool(
            "datafusion.execution.listing_table_ignore_subdirectory",
            false,
        );
    Ok(crate::trino::context(config))
}

/// Registers a Delta table: its files and their statistics come from the log (no LIST of the
/// table's directories), and only committed files are read ([`crate::snapshot_scan`]).
async fn register_delta(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    name: &str,
    delta: delta::DeltaTable,
) -> Result<(), QueryError> {
    let provider =
        crate::snapshot_scan::provider(warehouse, name, delta, Arc::new(ctx.state())).await?;
    ctx.register_table(name, provider)?;
    Ok(())
}

/// A warehouse without any of the schema's tables is a mistake (a wrong path, or nothing
/// written yet), not an empty answer: a table that a live warehouse has not written yet
/// reads as empty, but a query over no tables at all would print `(0 rows)` and succeed.
/// `absent` were opened already and have no log; the others are looked for.
async fn refuse_empty_warehouse(warehouse: &Warehouse, absent: &[Table]) -> Result<(), QueryError> {
    for table in warehouse.schema().handles() {
        if !absent.contains(&table) && delta::has_log(warehouse, table).await? {
            return Ok(());
        }
    }
    Err(QueryError::Invalid(format!(
        "the warehouse {} has none of the tables {}: check the path (and --schema), or write to it first with `tributary backfill` or `tributary run`",
        warehouse.url(),
        warehouse.schema().names()
    )))
}

/// Registers a table nobody has written yet: no rows, the table's columns.
fn register_empty(ctx: &SessionContext, table: Table) -> Result<(), QueryError> {
    let schema = delta::arrow_schema(table);
    let empty = MemTable::try_new(schema, vec![vec![]])?;
    ctx.register_table(table.name(), Arc::new(empty))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_loads_only_the_tables_it_reads() {
        let only = |names: &[&str]| Tables::Only(names.iter().map(|n| n.to_string()).collect());
        assert_eq!(
            Tables::read_by("SELECT COUNT(*) FROM analytics.events"),
            only(&["events"])
        );
        assert_eq!(
            Tables::read_by(
                "WITH o AS (SELECT * FROM orders) SELECT * FROM o JOIN users u USING (user_id); \
                 SELECT 1"
            ),
            only(&["orders", "users"])
        );
        for all in [
            "SHOW TABLES",
            "DESCRIBE events",
            "SELECT * FROM information_schema.tables",
            "CREATE VIEW v AS SELECT 1",
            "SELEC nothing (",
        ] {
            assert_eq!(Tables::read_by(all), Tables::All, "{all}");
        }
        assert!(only(&["Orders"]).wants("orders"));
        assert!(!only(&["orders"]).wants("events"));
    }
}
