//! A DataFusion session over a warehouse: its Delta tables, read through their logs (the file
//! list and per-file statistics come from the log, so filters on `year/month/day` and on
//! columns skip files without listing the table), and the latest-state views.

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};
use tributary_table::delta;
use tributary_table::state::{self, StateTable};
use tributary_table::{Table, TableError, Warehouse, WarehouseError};

use crate::views;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
    #[error("{0}")]
    Invalid(String),
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

/// Opens the warehouse at `location` and registers its tables and views in
/// [`DEFAULT_DATABASE`].
pub async fn open(location: &str) -> Result<SessionContext, QueryError> {
    open_database(location, DEFAULT_DATABASE).await
}

/// Opens the warehouse at `location` with its tables and views in `database`.
pub async fn open_database(location: &str, database: &str) -> Result<SessionContext, QueryError> {
    let warehouse = Warehouse::open(location).await?;
    session(&warehouse, database).await
}

/// A session with every table of `warehouse` registered in `database`, which is also the
/// default schema: `events`, `analytics.events` and `awsdatacatalog.analytics.events` all
/// name the same table, as they do on Athena.
pub async fn session(warehouse: &Warehouse, database: &str) -> Result<SessionContext, QueryError> {
    let ctx = empty(database)?;
    let store_url = ObjectStoreUrl::parse(warehouse.store_url())?;
    ctx.register_object_store(store_url.as_ref(), warehouse.store().clone());
    // the five snapshots are loaded at once: their log reads are what a query waits for first
    let (changes, states) = futures::join!(
        futures::future::join_all(Table::ALL.map(|t| delta::open(warehouse, t))),
        futures::future::join_all(StateTable::ALL.map(|t| state::open(warehouse, t))),
    );
    for (table, opened) in Table::ALL.into_iter().zip(changes) {
        // a plain directory of Parquet files (an earlier version's layout) is refused
        match opened? {
            Some(delta) => register_delta(&ctx, table.name(), delta).await?,
            None => register_empty(&ctx, table)?,
        }
    }
    // the current-state tables; a warehouse without them (nothing written to the change
    // tables yet) gets the views that compute the same rows from the change tables
    for ((state, opened), (name, sql)) in StateTable::ALL.into_iter().zip(states).zip(views::ALL) {
        match opened? {
            Some(delta) => register_delta(&ctx, state.name(), delta).await?,
            None => {
                crate::sql::run_statements(&ctx, &format!("CREATE VIEW {name} AS {sql}")).await?;
            }
        }
    }
    Ok(ctx)
}

/// A session without tables whose default database is `database` (tables come from Athena DDL,
/// [`crate::external::register_ddl`]).
pub fn empty(database: &str) -> Result<SessionContext, QueryError> {
    let config = SessionConfig::new()
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
/// table's directories), and only committed files are read.
async fn register_delta(
    ctx: &SessionContext,
    name: &str,
    delta: delta::DeltaTable,
) -> Result<(), QueryError> {
    let provider = delta
        .table_provider()
        .with_session(Arc::new(ctx.state()))
        .await?;
    ctx.register_table(name, provider)?;
    Ok(())
}

/// Registers a table nobody has written yet: no rows, the table's columns.
fn register_empty(ctx: &SessionContext, table: Table) -> Result<(), QueryError> {
    let schema = Arc::new(delta::arrow_schema(table));
    let empty = MemTable::try_new(schema, vec![vec![]])?;
    ctx.register_table(table.name(), Arc::new(empty))?;
    Ok(())
}
