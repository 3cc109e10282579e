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

/// The shortest retention vacuum accepts unless told otherwise, as Delta's own
/// `retentionDurationCheck` refuses one below the table's retention. A shorter one can delete
/// the files of a flush that is written but not yet committed (a worker waiting out a storage
/// outage, or recovering a pending flush after a restart), and the files an hour-long query
/// still reads. One day is also Kinesis's default retention: a pending flush older than that
/// cannot be replayed from the stream anyway.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Whether vacuum refuses a retention below [`MIN_RETENTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionCheck {
    /// Refuse it (the default).
    Enforce,
    /// Accept it: the operator knows that no writer and no reader is running.
    Skip,
}

pub use crate::compaction::CompactReport;

/// Compacts a Delta table: in every partition, the files below half of `target_bytes` are
/// rewritten into files of about `target_bytes`, sorted by [`WarehouseTable::sort_key`], with
/// `writer` (the warehouse's Parquet settings). `None` when the table is not a Delta table.
/// A compaction that another writer's rewrite of the same files overtook (a worker's
/// compaction, a state refresh) plans again on the new snapshot, up to
/// [`COMPACT_ATTEMPTS`] times.
pub async fn compact(
    warehouse: &Warehouse,
    table: WarehouseTable,
    target_bytes: NonZeroU64,
    writer: WriterProperties,
) -> Result<Option<CompactReport>, TableError> {
    let policy = Policy::Full {
        target_bytes: target_bytes.get(),
    };
    let mut attempt = 1;
    loop {
        match crate::compaction::compact(warehouse, table, policy, writer.clone()).await {
            Err(e) if e.is_conflict() && attempt < COMPACT_ATTEMPTS => {
                tracing::info!(table = table.name(), attempt, error = %e, "compaction overtaken; planning again");
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// How many times [`compact`] plans again after losing to another rewrite.
pub const COMPACT_ATTEMPTS: usize = 5;

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
/// table. A `retain` below [`MIN_RETENTION`] is refused unless `check` is
/// [`RetentionCheck::Skip`] or this is a dry run.
pub async fn vacuum(
    warehouse: &Warehouse,
    table: WarehouseTable,
    retain: Duration,
    check: RetentionCheck,
    dry_run: bool,
) -> Result<Option<VacuumReport>, TableError> {
    // a dry run deletes nothing: it may show what a short retention would delete
    if retain < MIN_RETENTION && check == RetentionCheck::Enforce && !dry_run {
        return Err(TableError::RetentionTooShort {
            retain: humantime::format_duration(retain).to_string(),
            floor: humantime::format_duration(MIN_RETENTION).to_string(),
        });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Table;

    #[tokio::test]
    async fn a_retention_below_the_floor_is_refused_unless_the_check_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        delta::open_or_create(&wh, Table::builtin("events"))
            .await
            .unwrap();
        let events = WarehouseTable::Append(Table::builtin("events"));
        let short = Duration::from_secs(3600);
        let err = vacuum(&wh, events, short, RetentionCheck::Enforce, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, TableError::RetentionTooShort { .. })
                && err
                    .to_string()
                    .contains("retention of 1h is below the floor of 1day"),
            "{err}"
        );
        // a dry run deletes nothing, and an explicit skip is the operator's call
        for (check, dry_run) in [
            (RetentionCheck::Enforce, true),
            (RetentionCheck::Skip, false),
        ] {
            let report = vacuum(&wh, events, short, check, dry_run)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(report.dry_run, dry_run);
        }
        assert!(
            vacuum(&wh, events, MIN_RETENTION, RetentionCheck::Enforce, false)
                .await
                .unwrap()
                .is_some()
        );
    }
}
