//! Keeping Delta tables fast and small: compaction (bin-packing each partition's small files
//! into files near a target size) and vacuum (deleting the files no retained snapshot needs).
//!
//! Both are ordinary Delta commits, so readers and writers go on meanwhile: a compaction
//! ([`crate::compaction`]) commits `remove` + `add` of the same rows (`dataChange: false`),
//! and a concurrent append does not conflict with it; a reader keeps the snapshot it started
//! with, whose files vacuum leaves alone for the retention period.

use std::num::NonZeroU64;
use std::time::Duration;

use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::parquet::file::properties::WriterProperties;

use crate::catalog::WarehouseTable;
use crate::compaction::Policy;
use crate::delta::{self, TableError};
use crate::warehouse::Warehouse;

/// The file size compaction aims at (Athena's and Spark's usual advice: 128 MiB-1 GiB).
pub const DEFAULT_TARGET_FILE_BYTES: u64 = 128 << 20;

/// How long vacuum keeps files that no current snapshot needs (Delta's own default, 7 days:
/// longer than any query or any reader's cached snapshot).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

pub use crate::compaction::CompactReport;

/// Compacts a Delta table: in every partition, the files below half of `target_bytes` are
/// rewritten into files of about `target_bytes`, sorted by [`WarehouseTable::sort_key`], with
/// `writer` (the warehouse's Parquet settings). `None` when the table is not a Delta table.
pub async fn compact(
    warehouse: &Warehouse,
    table: WarehouseTable,
    target_bytes: NonZeroU64,
    writer: WriterProperties,
) -> Result<Option<CompactReport>, TableError> {
    let policy = Policy::Full {
        target_bytes: target_bytes.get(),
    };
    crate::compaction::compact(warehouse, table, policy, writer).await
}

/// What one table's vacuum did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumReport {
    pub table: &'static str,
    pub files_deleted: Vec<String>,
    pub dry_run: bool,
}

/// Deletes the files of a Delta table that no snapshot within `retain` needs: files removed by
/// compaction (or any rewrite) longer ago than that, and files no commit ever added (left by a
/// writer that died before its commit) older than that. `None` when the table is not a Delta
/// table.
pub async fn vacuum(
    warehouse: &Warehouse,
    table: WarehouseTable,
    retain: Duration,
    dry_run: bool,
) -> Result<Option<VacuumReport>, TableError> {
    let Some(table_handle) = delta::open_named(warehouse, table.name()).await? else {
        return Ok(None);
    };
    let url = table_handle.table_url().clone();
    let retention = chrono::Duration::from_std(retain).unwrap_or(chrono::Duration::MAX);
    let (_, metrics) = table_handle
        .vacuum()
        .with_retention_period(retention)
        // the operator chose the retention; the table's own minimum is Delta's advice for it
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .with_dry_run(dry_run)
        .await
        .map_err(|source| delta::delta_error(&url, source))?;
    Ok(Some(VacuumReport {
        table: table.name(),
        files_deleted: metrics.files_deleted,
        dry_run: metrics.dry_run,
    }))
}
