//! Athena's metadata statements, answered from the session's tables:
//!
//! | statement | answer (columns) |
//! |---|---|
//! | `SHOW DATABASES` (`SHOW SCHEMAS`) | `database_name` |
//! | `SHOW TABLES [IN database]` | `tab_name`, tables and views, sorted |
//! | `DESCRIBE [database.]table` | `col_name`, `data_type` (Hive types), `comment`; then `# Partition Information` and the partition columns, as Athena prints it |
//! | `SHOW PARTITIONS [database.]table` | `partition`: `year=2026/month=01/day=05`, one row per partition directory with data |
//! | `MSCK REPAIR TABLE [database.]table` | `result`: one `Repair: Added partition to metastore table:partition` line per partition |
//!
//! Partitions are always read from storage here (there is no metastore to fall behind), so
//! `MSCK REPAIR TABLE` only reports what every query already sees. Reference:
//! <https://docs.aws.amazon.com/athena/latest/ug/ddl-reference.html>.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::listing::ListingTable;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

use crate::ddl::hive_type;
use crate::projection::ProjectedTable;
use crate::session::{CATALOG, QueryError};

/// The answer to `statement` when it is one of Athena's metadata statements, else None.
pub async fn answer(
    ctx: &SessionContext,
    statement: &str,
) -> Option<Result<RecordBatch, QueryError>> {
    let words: Vec<String> = statement
        .split_whitespace()
        .map(|w| w.trim_end_matches(';').to_string())
        .collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    Some(match upper.as_slice() {
        ["SHOW", "DATABASES" | "SCHEMAS"] => show_databases(ctx),
        ["SHOW", "TABLES"] => show_tables(ctx, None),
        ["SHOW", "TABLES", "IN" | "FROM", _] => show_tables(ctx, Some(&words[3])),
        ["DESCRIBE" | "DESC", _] => describe(ctx, &words[1]).await,
        ["DESCRIBE" | "DESC", "TABLE", _] => describe(ctx, &words[2]).await,
        ["SHOW", "PARTITIONS", _] => partitions(ctx, &words[2])
            .await
            .and_then(|p| strings("partition", p.into_iter().map(|(_, p)| p))),
        ["MSCK", "REPAIR", "TABLE", _] => partitions(ctx, &words[3]).await.and_then(|p| {
            strings(
                "result",
                p.into_iter()
                    .map(|(table, p)| format!("Repair: Added partition to metastore {table}:{p}")),
            )
        }),
        _ => return None,
    })
}

fn strings(
    column: &str,
    values: impl IntoIterator<Item = String>,
) -> Result<RecordBatch, QueryError> {
    columns(&[column], vec![values.into_iter().collect()])
}

fn columns(names: &[&str], values: Vec<Vec<String>>) -> Result<RecordBatch, QueryError> {
    let schema = Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    );
    let arrays = values
        .into_iter()
        .map(|v| Arc::new(StringArray::from(v)) as _)
        .collect();
    Ok(RecordBatch::try_new(Arc::new(schema), arrays)
        .map_err(datafusion::error::DataFusionError::from)?)
}

fn show_databases(ctx: &SessionContext) -> Result<RecordBatch, QueryError> {
    let catalog = ctx
        .catalog(CATALOG)
        .ok_or_else(|| QueryError::Invalid("no catalog".into()))?;
    let mut names = catalog.schema_names();
    names.retain(|n| n != "information_schema");
    names.sort();
    strings("database_name", names)
}

fn show_tables(ctx: &SessionContext, database: Option<&str>) -> Result<RecordBatch, QueryError> {
    let state = ctx.state();
    let database = database.map_or_else(
        || state.config().options().catalog.default_schema.clone(),
        |d| d.to_ascii_lowercase(),
    );
    let schema = ctx
        .catalog(CATALOG)
        .and_then(|c| c.schema(&database))
        .ok_or_else(|| QueryError::Invalid(format!("database {database} does not exist")))?;
    let mut names = schema.table_names();
    names.sort();
    strings("tab_name", names)
}

async fn provider(
    ctx: &SessionContext,
    name: &str,
) -> Result<(String, Arc<dyn TableProvider>), QueryError> {
    let reference = TableReference::from(name.trim_matches(['`', '"']).to_ascii_lowercase());
    let provider = ctx.table_provider(reference.clone()).await?;
    Ok((reference.table().to_string(), provider))
}

/// The Parquet listing behind a table (directly, or under partition projection).
fn listing(provider: &Arc<dyn TableProvider>) -> Option<&ListingTable> {
    provider.downcast_ref::<ListingTable>().or_else(|| {
        provider
            .downcast_ref::<ProjectedTable>()
            .map(|p| p.inner.as_ref())
    })
}

async fn describe(ctx: &SessionContext, name: &str) -> Result<RecordBatch, QueryError> {
    let (_, provider) = provider(ctx, name).await?;
    let partition_columns: Vec<String> = listing(&provider)
        .map(|l| {
            l.options()
                .table_partition_cols
                .iter()
                .map(|(c, _)| c.clone())
                .collect()
        })
        .unwrap_or_default();
    let schema = provider.schema();
    let mut rows: Vec<[String; 3]> = Vec::new();
    let row = |f: &Field| [f.name().clone(), hive_type(f.data_type()), String::new()];
    rows.extend(
        schema
            .fields()
            .iter()
            .filter(|f| !partition_columns.contains(f.name()))
            .map(|f| row(f)),
    );
    if !partition_columns.is_empty() {
        rows.push(Default::default());
        rows.push([
            "# Partition Information".into(),
            String::new(),
            String::new(),
        ]);
        rows.push(["# col_name".into(), "data_type".into(), "comment".into()]);
        rows.push(Default::default());
        rows.extend(
            schema
                .fields()
                .iter()
                .filter(|f| partition_columns.contains(f.name()))
                .map(|f| row(f)),
        );
    }
    let (a, b, c) = rows.into_iter().map(|[a, b, c]| (a, (b, c))).fold(
        (vec![], vec![], vec![]),
        |(mut a, mut b, mut c), (x, (y, z))| {
            a.push(x);
            b.push(y);
            c.push(z);
            (a, b, c)
        },
    );
    columns(&["col_name", "data_type", "comment"], vec![a, b, c])
}

/// The partition directories of a table that hold data: `(table, "year=…/month=…/day=…")`.
async fn partitions(ctx: &SessionContext, name: &str) -> Result<Vec<(String, String)>, QueryError> {
    let (table, provider) = provider(ctx, name).await?;
    let listing = listing(&provider)
        .ok_or_else(|| QueryError::Invalid(format!("{table} is not a partitioned table")))?;
    let depth = listing.options().table_partition_cols.len();
    if depth == 0 {
        return Err(QueryError::Invalid(format!("{table} is not partitioned")));
    }
    let url = &listing.table_paths()[0];
    let store = ctx.runtime_env().object_store(url)?;
    let root = url.prefix().as_ref().to_string();
    let objects: Vec<_> = store
        .list(Some(url.prefix()))
        .try_collect()
        .await
        .map_err(datafusion::error::DataFusionError::from)?;
    let found: BTreeSet<String> = objects
        .iter()
        .filter(|o| {
            o.location
                .as_ref()
                .ends_with(listing.options().file_extension.as_str())
        })
        .filter_map(|o| {
            let relative = o
                .location
                .as_ref()
                .strip_prefix(&root)?
                .trim_start_matches('/');
            let parts: Vec<&str> = relative.split('/').take(depth).collect();
            (parts.len() == depth && parts.iter().all(|p| p.contains('='))).then(|| parts.join("/"))
        })
        .collect();
    Ok(found.into_iter().map(|p| (table.clone(), p)).collect())
}
