//! Which workers read a source, so that they split its shards evenly.
//!
//! Every worker rewrites a small heartbeat object each discovery round:
//! ```text
//! <warehouse>/_tributary/streams/<source>/workers/<worker id>.json
//! ```
//! A worker counts the heartbeats it has seen change within one lease duration (by its own
//! clock, as for leases), itself included, and holds at most its fair share of the shards that
//! can be read now: `ceil(shards / workers)`. A worker over its share gives shards back (flush,
//! checkpoint, clear the owner), and the others claim them. A clean shutdown deletes the
//! heartbeat, so the others take over at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use tributary_table::layout::STATE_PREFIX;
use tributary_table::{Warehouse, WarehouseError};

pub struct Membership {
    warehouse: Warehouse,
    /// `_tributary/streams/<source>/workers`, relative to the warehouse root.
    dir: String,
    me: String,
    round: u64,
    lease_duration: Duration,
    /// Each other worker's last seen heartbeat version, and when it was first seen.
    seen: HashMap<String, (Option<String>, Instant)>,
}

impl Membership {
    pub fn new(
        warehouse: Warehouse,
        source_slug: &str,
        me: &str,
        lease_duration: Duration,
    ) -> Self {
        Self {
            warehouse,
            dir: format!("{STATE_PREFIX}/streams/{source_slug}/workers"),
            me: me.to_string(),
            round: 0,
            lease_duration,
            seen: HashMap::new(),
        }
    }

    fn key(&self, worker: &str) -> String {
        format!("{}/{worker}.json", self.dir)
    }

    /// Writes this worker's heartbeat and returns how many workers are live (at least 1).
    pub async fn heartbeat(&mut self) -> Result<usize, WarehouseError> {
        self.round += 1;
        let body = json!({"worker": self.me, "round": self.round, "updated_ms": chrono::Utc::now().timestamp_millis()});
        self.warehouse
            .put(
                &self.warehouse.path(&self.key(&self.me)),
                Bytes::from(body.to_string()),
            )
            .await?;
        let now = Instant::now();
        let mut live = 1;
        let listed = self.warehouse.list(&self.warehouse.path(&self.dir)).await?;
        let mut present = Vec::new();
        for meta in listed {
            let Some(worker) = meta
                .location
                .filename()
                .and_then(|f| f.strip_suffix(".json"))
                .map(str::to_string)
            else {
                continue;
            };
            if worker == self.me {
                continue;
            }
            let entry = self
                .seen
                .entry(worker.clone())
                .or_insert_with(|| (meta.e_tag.clone(), now));
            if entry.0 != meta.e_tag {
                *entry = (meta.e_tag.clone(), now);
            }
            if now.duration_since(entry.1) < self.lease_duration {
                live += 1;
            }
            present.push(worker);
        }
        self.seen.retain(|w, _| present.contains(w));
        Ok(live)
    }

    /// Removes this worker's heartbeat (clean shutdown).
    pub async fn leave(&self) -> Result<(), WarehouseError> {
        self.warehouse
            .delete(&self.warehouse.path(&self.key(&self.me)))
            .await
    }
}

/// The most shards one of `workers` workers should hold.
pub fn fair_share(shards: usize, workers: usize) -> usize {
    shards.div_ceil(workers.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_up() {
        assert_eq!(fair_share(4, 2), 2);
        assert_eq!(fair_share(5, 2), 3);
        assert_eq!(fair_share(1, 3), 1);
        assert_eq!(fair_share(0, 2), 0);
    }

    #[tokio::test]
    async fn counts_workers_whose_heartbeat_moves() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let lease = Duration::from_millis(300);
        let mut a = Membership::new(wh.clone(), "s", "a", lease);
        let mut b = Membership::new(wh.clone(), "s", "b", lease);
        assert_eq!(a.heartbeat().await.unwrap(), 1);
        assert_eq!(b.heartbeat().await.unwrap(), 2);
        assert_eq!(a.heartbeat().await.unwrap(), 2);
        // b stops beating: after a lease duration a counts only itself
        tokio::time::sleep(lease + Duration::from_millis(50)).await;
        assert_eq!(a.heartbeat().await.unwrap(), 1);
        // b comes back, then leaves cleanly
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.heartbeat().await.unwrap();
        assert_eq!(a.heartbeat().await.unwrap(), 2);
        b.leave().await.unwrap();
        assert_eq!(a.heartbeat().await.unwrap(), 1);
    }
}
