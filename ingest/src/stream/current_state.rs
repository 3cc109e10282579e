//! Keeps the current-state tables (`orders`, `users`) current while the worker runs: after
//! every commit that added change rows, one refresh folds them in (see
//! [`tributary_table::state`]). Commits that land while a refresh runs are folded by the next
//! one, so a change is in its state table one refresh after its flush's commit.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use tributary_table::Warehouse;
use tributary_table::state;
use tributary_transform::Codec;

use super::metrics::Metrics;
use super::reader::Backoff;

/// Refreshes the state tables after each wake-up of `committed` until `shutdown`.
pub async fn keep_current(
    warehouse: Warehouse,
    codec: Codec,
    committed: Arc<Notify>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let writer = tributary_transform::parquet::writer_properties(codec);
    loop {
        tokio::select! {
            _ = committed.notified() => {}
            _ = shutdown.cancelled() => return,
        }
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match state::refresh_all(&warehouse, &writer).await {
                Ok(done) => {
                    debug!(?done, "current state refreshed");
                    break;
                }
                Err(e) => {
                    metrics.error("state", "state_refresh");
                    let delay = backoff.next_delay();
                    warn!(error = %e, ?delay, "refreshing the current-state tables failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }
}

/// One last refresh at shutdown, after every shard has flushed: the state tables then hold
/// everything the worker committed. A failure is only logged; the next start's first
/// refresh folds the rest.
pub async fn refresh_at_exit(warehouse: &Warehouse, codec: Codec) {
    let writer = tributary_transform::parquet::writer_properties(codec);
    if let Err(e) = state::refresh_all(warehouse, &writer).await {
        warn!(error = %e, "refreshing the current-state tables at shutdown failed; the next start does it");
    }
}
