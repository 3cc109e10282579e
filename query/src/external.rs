//! Tables from Athena DDL (`tributary sql --ddl FILE`): each `CREATE EXTERNAL TABLE` becomes a
//! Parquet table over its `LOCATION` (S3 or `file://`), with its partition columns, read with the
//! declared types; partition projection in its `TBLPROPERTIES` is honoured ([`crate::projection`]).
//! `CREATE DATABASE` creates a database (schema) and `CREATE VIEW` a view, as on Athena.
//!
//! Files: those ending in `.parquet` below the location (what Tributary and most writers name
//! them); Athena reads every file, so other names there are not seen here.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;

use crate::athena_ddl::{DdlStatement, ExternalTable, parse};
use crate::projection::{ProjectedTable, Projection};
use crate::session::{CATALOG, QueryError, database_name};
use crate::sql::run_statements;

/// Registers the tables, databases and views of `ddl` in `ctx`; returns the tables' names
/// (`database.table`). Tables without a database go to the session's default one.
pub async fn register_ddl(ctx: &SessionContext, ddl: &str) -> Result<Vec<String>, QueryError> {
    let default_database = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_schema
        .clone();
    let mut registered = Vec::new();
    for statement in parse(ddl)? {
        match statement {
            DdlStatement::Database(name) => create_database(ctx, &name).await?,
            DdlStatement::View { name, sql } => {
                run_statements(ctx, &format!("CREATE OR REPLACE VIEW {name} AS {sql}")).await?;
            }
            DdlStatement::Table(table) => {
                let database =
                    database_name(table.database.as_deref().unwrap_or(&default_database))?;
                create_database(ctx, &database).await?;
                let provider = table_provider(ctx, &table).await?;
                ctx.register_table(
                    TableReference::full(CATALOG, database.as_str(), table.name.as_str()),
                    provider,
                )?;
                registered.push(format!("{database}.{}", table.name));
            }
        }
    }
    Ok(registered)
}

async fn create_database(ctx: &SessionContext, name: &str) -> Result<(), QueryError> {
    let name = database_name(name)?;
    run_statements(
        ctx,
        &format!("CREATE SCHEMA IF NOT EXISTS {CATALOG}.{name}"),
    )
    .await?;
    Ok(())
}

async fn table_provider(
    ctx: &SessionContext,
    table: &ExternalTable,
) -> Result<Arc<dyn TableProvider>, QueryError> {
    let location = if table.location.ends_with('/') {
        table.location.clone()
    } else {
        format!("{}/", table.location)
    };
    let url = ListingTableUrl::parse(&location)?;
    if url.scheme() == "s3" {
        let bucket = url::Url::parse(&location)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let store = tributary_table::warehouse::s3_store(&bucket)
            .await
            .map_err(|e| {
                QueryError::Invalid(format!("table {}: opening s3://{bucket}: {e}", table.name))
            })?;
        ctx.register_object_store(url.object_store().as_ref(), store);
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(table.partitions.clone());
    let schema = Schema::new(
        table
            .columns
            .iter()
            .map(|(name, t)| Field::new(name, t.clone(), true))
            .collect::<Vec<_>>(),
    );
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(Arc::new(schema));
    let listing = Arc::new(ListingTable::try_new(config)?);
    Ok(
        match Projection::from_properties(
            &table.name,
            &location,
            &table.partitions,
            &table.properties,
        )? {
            Some(projection) => Arc::new(ProjectedTable {
                inner: listing,
                projection,
            }),
            None => listing,
        },
    )
}
