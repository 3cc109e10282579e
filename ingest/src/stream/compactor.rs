//! Compaction inside the worker: every `--compact-interval`, each table's small files are
//! merged by size tiers ([`Policy::Tiered`]), so a month of flushes stays a few files per
//! partition without rewriting a day's data at every run. The current-state tables are
//! compacted too: each refresh's MERGE adds files to the partitions it touches. The commits are Delta commits like
//! any other: the worker's own appends and other writers go on meanwhile.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tributary_table::Warehouse;
use tributary_table::compaction::{self, Policy};
use tributary_transform::Codec;

use super::metrics::Metrics;

/// Compacts the tables every `interval` until `shutdown`.
pub async fn compact_periodically(
    warehouse: Warehouse,
    interval: Duration,
    target_bytes: u64,
    fan_in: usize,
    codec: Codec,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let policy = Policy::Tiered {
        target_bytes,
        fan_in,
    };
    let writer = tributary_transform::parquet::writer_properties(codec);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
        // a compaction cut short by shutdown leaves unreferenced files only (vacuum's work)
        let run = compaction::compact_all(&warehouse, policy, &writer);
        let result = tokio::select! {
            result = run => result,
            _ = shutdown.cancelled() => return,
        };
        for (table, outcome) in result {
            match outcome {
                Ok(Some(r)) if r.files_removed > 0 => {
                    info!(
                        table = r.table,
                        files_removed = r.files_removed,
                        files_added = r.files_added,
                        partitions = r.partitions,
                        bytes = r.bytes_rewritten,
                        "compacted"
                    );
                    metrics.files_compacted(r.table, r.files_removed);
                }
                Ok(_) => {}
                // a writer rewrote some of the same files first (a state refresh's MERGE):
                // the next interval chooses again from the new snapshot
                Err(e) if e.is_conflict() => {
                    info!(table = table.name(), error = %e, "compaction lost a race with a writer; the next interval tries again");
                }
                Err(e) => {
                    metrics.error("compaction", "compaction");
                    warn!(table = table.name(), error = %e, "compaction failed; the next interval tries again");
                }
            }
        }
    }
}
