//! Leases: which worker reads a shard. A lease is the `owner` field of the shard's checkpoint
//! object; taking, renewing and giving it up are compare-and-swap writes of that object, so the
//! lease and the checkpoint can never disagree.
//!
//! Expiry is judged as the Kinesis Client Library does: a worker that sees the same version of
//! another worker's checkpoint for a whole lease duration, by its own monotonic clock, may take
//! it. Clocks of different machines are never compared.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tracing::info;

use super::checkpoint::{CheckpointError, CheckpointStore, ShardState, Version, Versioned};
use super::shard::{ShardId, StartPosition};

/// A lease this worker holds: the state as last written, its version, and when it was written.
#[derive(Debug, Clone)]
pub struct Lease {
    pub state: ShardState,
    pub version: Version,
    /// When the write of `version` began, by this worker's monotonic clock: other workers
    /// start counting the lease's duration only once they see that version, which is later, so
    /// a renewal due a fraction of a lease after this instant is early enough
    /// ([`super::flush::FlushContext::renewing`]).
    pub written: Instant,
}

/// What a claim attempt found.
#[derive(Debug)]
pub enum Claim {
    Claimed(Box<Lease>),
    /// Another worker holds a live lease.
    Held {
        owner: String,
    },
    /// The shard is closed and fully committed.
    Finished,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Lease {
    /// Writes the state as changed by `change`, renewing the lease; on
    /// [`CheckpointError::Conflict`] the lease is lost and nothing was written.
    pub async fn write(
        &mut self,
        store: &CheckpointStore,
        lease_duration: Duration,
        change: impl FnOnce(&mut ShardState),
    ) -> Result<(), CheckpointError> {
        let mut next = self.state.clone();
        change(&mut next);
        next.updated_ms = now_ms();
        if next.owner.is_some() {
            next.lease_until_ms = next.updated_ms + lease_duration.as_millis() as i64;
        }
        let started = Instant::now();
        self.version = store.swap(&next, Some(&self.version)).await?;
        self.state = next;
        self.written = started;
        Ok(())
    }
}

/// Remembers when this worker first saw each version of other workers' leases.
#[derive(Debug, Default)]
pub struct Observer {
    seen: HashMap<ShardId, (Version, Instant)>,
}

impl Observer {
    /// Whether a lease at `version` has stood unchanged for `lease_duration` as seen from here.
    fn expired(&mut self, shard: &ShardId, version: &Version, lease_duration: Duration) -> bool {
        let now = Instant::now();
        let entry = self
            .seen
            .entry(shard.clone())
            .or_insert_with(|| (version.clone(), now));
        if &entry.0 != version {
            *entry = (version.clone(), now);
        }
        now.duration_since(entry.1) >= lease_duration
    }

    pub fn forget(&mut self, shard: &ShardId) {
        self.seen.remove(shard);
    }
}

/// Where a shard that was never claimed starts: `latest` becomes "now", written into the state
/// at the first claim so that a restart before the first checkpoint starts at the same instant.
pub fn fixed_start(start: StartPosition) -> StartPosition {
    match start {
        StartPosition::Latest => StartPosition::AtTimestamp(now_ms()),
        other => other,
    }
}

/// Tries to take `shard` for `worker`: free, expired, or already ours (a restart of this
/// worker) leases are taken; a new shard's state starts at `start`.
pub async fn try_claim(
    store: &CheckpointStore,
    observer: &mut Observer,
    shard: &ShardId,
    current: Option<Versioned>,
    start: StartPosition,
    worker: &str,
    lease_duration: Duration,
) -> Result<Claim, CheckpointError> {
    let (mut state, expected) = match current {
        None => (ShardState::new(shard.clone(), fixed_start(start)), None),
        Some(Versioned { state, version }) => {
            if state.finished {
                return Ok(Claim::Finished);
            }
            if let Some(owner) = state.owner.as_deref()
                && owner != worker
                && !observer.expired(shard, &version, lease_duration)
            {
                return Ok(Claim::Held {
                    owner: owner.to_string(),
                });
            }
            (state, Some(version))
        }
    };
    if let Some(previous) = state.owner.as_deref().filter(|o| *o != worker) {
        info!(%shard, previous, worker, "taking over an expired lease");
    }
    state.owner = Some(worker.to_string());
    state.lease_epoch += 1;
    state.updated_ms = now_ms();
    state.lease_until_ms = state.updated_ms + lease_duration.as_millis() as i64;
    let written = Instant::now();
    let version = store.swap(&state, expected.as_ref()).await?;
    observer.forget(shard);
    Ok(Claim::Claimed(Box::new(Lease {
        state,
        version,
        written,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_transform::Warehouse;

    #[tokio::test]
    async fn a_live_lease_is_held_an_expired_one_is_taken_and_the_loser_is_fenced() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(
            Warehouse::open(dir.path().to_str().unwrap()).await.unwrap(),
            "s",
        );
        let shard = ShardId("shardId-1".into());
        let lease = Duration::from_millis(200);
        let (mut a_obs, mut b_obs) = (Observer::default(), Observer::default());
        let Claim::Claimed(mut a) = try_claim(
            &store,
            &mut a_obs,
            &shard,
            None,
            StartPosition::Latest,
            "a",
            lease,
        )
        .await
        .unwrap() else {
            panic!("a new shard is free")
        };
        assert!(
            matches!(a.state.start, StartPosition::AtTimestamp(_)),
            "latest is fixed at the first claim"
        );
        let current = store.load(&shard).await.unwrap();
        let claim = try_claim(
            &store,
            &mut b_obs,
            &shard,
            current,
            StartPosition::TrimHorizon,
            "b",
            lease,
        )
        .await
        .unwrap();
        assert!(matches!(claim, Claim::Held { ref owner } if owner == "a"));
        tokio::time::sleep(lease).await;
        let current = store.load(&shard).await.unwrap();
        let Claim::Claimed(b) = try_claim(
            &store,
            &mut b_obs,
            &shard,
            current,
            StartPosition::TrimHorizon,
            "b",
            lease,
        )
        .await
        .unwrap() else {
            panic!("an unrenewed lease expires")
        };
        assert_eq!(b.state.lease_epoch, 2);
        // a, not knowing, tries to checkpoint: fenced
        let err = a
            .write(&store, lease, |s| {
                s.checkpoint = Some(tributary_table::SequenceNumber::from_u64(9))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, CheckpointError::Conflict { .. }));
        assert_eq!(
            store.load(&shard).await.unwrap().unwrap().state.checkpoint,
            None
        );
    }
}
