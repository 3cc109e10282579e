//! Compaction inside the worker: every `--compact-interval`, each table's small files are
//! merged by size tiers ([`Policy::Tiered`]), so a month of flushes stays a few files per
//! partition without rewriting a day's data at every run. The commits are Delta commits like
//! any other: the worker's own appends and other writers go on meanwhile.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tributary_table::Warehouse;
use tributary_table::compaction::{self, Policy};
use tributary_transform::Codec;

use super::metrics::Metrics;

/// Files of one size tier merged at once.
pub const FAN_IN: usize = 8;

/// Compacts the tables every `interval` until `shutdown`.
pub async fn compact_periodically(
    warehouse: Warehouse,
    interval: Duration,
    target_bytes: u64,
    codec: Codec,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let policy = Policy::Tiered {
        target_bytes,
        fan_in: FAN_IN,
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
        match result {
            Ok(reports) => {
                for r in reports.iter().filter(|r| r.files_removed > 0) {
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
            }
            Err(e) => {
                metrics.error("compaction", "compaction");
                warn!(error = %e, "compaction failed; the next interval tries again");
            }
        }
    }
}
