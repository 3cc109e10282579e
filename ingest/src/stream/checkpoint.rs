//! Shard checkpoints: one small JSON object per shard in the warehouse, changed only by
//! compare-and-swap, so that exactly one worker can commit a shard at a time.
//!
//! ```text
//! <warehouse>/_tributary/streams/<source>/<shard id>.json
//! ```
//! On S3 every write is conditional: `If-None-Match: *` to create, `If-Match: <ETag>` to update.
//! A worker that lost the shard to another one gets 412 Precondition Failed, which is
//! [`CheckpointError::Conflict`]. The local backend (a warehouse directory) does the same
//! compare-and-swap under an exclusive file lock, with a hash of the content as the version.
//!
//! What the object holds, and why it makes replays exact, is in `docs/stream-protocol.md`.

use std::path::PathBuf;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tributary_table::layout::STATE_PREFIX;
use tributary_table::{SequenceNumber, Warehouse};

use super::shard::{ShardId, StartPosition};

/// The format version written in each checkpoint; older workers refuse newer objects.
const STATE_VERSION: u32 = 2;

/// Files a flush is about to write, recorded before the first of them is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Sequence number of the first stream record the flush covers.
    pub first: SequenceNumber,
    /// Sequence number of the last stream record it covers (inclusive).
    pub last: SequenceNumber,
    /// Stream records in the range.
    pub records: u64,
    /// The flush's number, the `txn` version of its commit to each table: the shard's
    /// committed flushes plus one.
    pub version: u64,
    /// Every object the flush writes, relative to the warehouse root.
    pub files: Vec<String>,
}

/// The durable state of one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardState {
    pub version: u32,
    pub shard: ShardId,
    /// The worker holding the lease, if any.
    pub owner: Option<String>,
    /// Incremented by every claim: tells a taken-over lease from a renewed one in logs.
    pub lease_epoch: u64,
    /// When the owner's lease ends unless renewed (wall clock of the owner; informational:
    /// other workers judge expiry by their own clock, see [`super::lease`]).
    pub lease_until_ms: i64,
    /// Where reading began, fixed at the first claim (`latest` becomes the claim time), so a
    /// restart before the first checkpoint starts at the same place.
    pub start: StartPosition,
    /// The last stream record whose rows are durably in the warehouse.
    pub checkpoint: Option<SequenceNumber>,
    /// The shard is closed and every record of it is committed: its children may start.
    pub finished: bool,
    /// A flush whose files may be partly written: the next owner completes it first.
    pub pending: Option<Intent>,
    /// Stream records committed so far (for operators).
    pub records_committed: u64,
    /// Flushes committed so far; the tables hold `txn(<source>/<shard>, flushes)`.
    pub flushes: u64,
    pub updated_ms: i64,
}

impl ShardState {
    pub fn new(shard: ShardId, start: StartPosition) -> Self {
        Self {
            version: STATE_VERSION,
            shard,
            owner: None,
            lease_epoch: 0,
            lease_until_ms: 0,
            start,
            checkpoint: None,
            finished: false,
            pending: None,
            records_committed: 0,
            flushes: 0,
            updated_ms: 0,
        }
    }

    /// The intent's range is durable: move the checkpoint to its end and clear it.
    pub fn commit(&mut self, intent: &Intent, finished: bool) {
        self.checkpoint = Some(intent.last.clone());
        self.pending = None;
        self.records_committed += intent.records;
        self.flushes = self.flushes.max(intent.version);
        self.finished = finished;
    }
}

/// An opaque version of a stored state: what the next conditional write must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    S3(UpdateVersion),
    Local(String),
}

/// A state read from the store, with the version to update it from.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub state: ShardState,
    pub version: Version,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint of shard {shard} was changed by another worker (lease lost)")]
    Conflict { shard: ShardId },
    #[error("{operation} checkpoint {key} failed: {source}")]
    Store {
        operation: &'static str,
        key: String,
        source: object_store::Error,
    },
    #[error("checkpoint {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("checkpoint {key}: {source}")]
    Io { key: String, source: std::io::Error },
}

impl CheckpointError {
    /// Errors worth retrying (the store is down); a conflict or a corrupt object is not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CheckpointError::Store { .. } | CheckpointError::Io { .. }
        )
    }
}

/// The checkpoints of one source (stream), below the warehouse.
#[derive(Clone, Debug)]
pub struct CheckpointStore {
    warehouse: Warehouse,
    /// `_tributary/streams/<source>`, relative to the warehouse root.
    dir: String,
    /// For a local warehouse: the directory on disk (compare-and-swap under a file lock).
    local_dir: Option<PathBuf>,
}

impl CheckpointStore {
    pub fn new(warehouse: Warehouse, source_slug: &str) -> Self {
        let dir = format!("{STATE_PREFIX}/streams/{source_slug}");
        let local_dir = match warehouse.url().scheme() {
            "file" => warehouse
                .url()
                .to_file_path()
                .ok()
                .map(|root| root.join(&dir)),
            _ => None,
        };
        Self {
            warehouse,
            dir,
            local_dir,
        }
    }

    fn key(&self, shard: &ShardId) -> String {
        format!("{}/{}.json", self.dir, shard)
    }

    fn path(&self, shard: &ShardId) -> Path {
        self.warehouse.path(&self.key(shard))
    }

    fn parse(&self, shard: &ShardId, bytes: &[u8]) -> Result<ShardState, CheckpointError> {
        let corrupt = |reason: String| CheckpointError::Corrupt {
            key: self.key(shard),
            reason,
        };
        let state: ShardState =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if state.version > STATE_VERSION {
            return Err(corrupt(format!(
                "written by a newer Tributary (state version {})",
                state.version
            )));
        }
        if &state.shard != shard {
            return Err(corrupt(format!("holds shard {} instead", state.shard)));
        }
        Ok(state)
    }

    /// The shard's state, if it was ever claimed.
    pub async fn load(&self, shard: &ShardId) -> Result<Option<Versioned>, CheckpointError> {
        if let Some(dir) = &self.local_dir {
            let file = dir.join(format!("{shard}.json"));
            let key = self.key(shard);
            let bytes = match tokio::fs::read(&file).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => return Err(CheckpointError::Io { key, source }),
            };
            let state = self.parse(shard, &bytes)?;
            return Ok(Some(Versioned {
                state,
                version: Version::Local(content_version(&bytes)),
            }));
        }
        let path = self.path(shard);
        let result = match self.warehouse.store().get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Store {
                    operation: "GET",
                    key: self.key(shard),
                    source,
                });
            }
        };
        let version = UpdateVersion {
            e_tag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        };
        let bytes = result
            .bytes()
            .await
            .map_err(|source| CheckpointError::Store {
                operation: "GET",
                key: self.key(shard),
                source,
            })?;
        Ok(Some(Versioned {
            state: self.parse(shard, &bytes)?,
            version: Version::S3(version),
        }))
    }

    /// Writes `state` if the stored object is still `expected` (`None`: if there is none yet).
    pub async fn swap(
        &self,
        state: &ShardState,
        expected: Option<&Version>,
    ) -> Result<Version, CheckpointError> {
        let shard = &state.shard;
        let bytes = serde_json::to_vec_pretty(state).expect("a shard state always serializes");
        if let Some(dir) = &self.local_dir {
            return local_swap(
                dir.clone(),
                self.key(shard),
                shard.clone(),
                bytes,
                expected.cloned(),
            )
            .await;
        }
        let mode = match expected {
            None => PutMode::Create,
            Some(Version::S3(v)) => PutMode::Update(v.clone()),
            Some(Version::Local(_)) => unreachable!("a local version never reaches the S3 backend"),
        };
        let options = PutOptions {
            mode,
            ..Default::default()
        };
        match self
            .warehouse
            .store()
            .put_opts(
                &self.path(shard),
                PutPayload::from_bytes(Bytes::from(bytes)),
                options,
            )
            .await
        {
            Ok(result) => Ok(Version::S3(UpdateVersion {
                e_tag: result.e_tag,
                version: result.version,
            })),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(CheckpointError::Conflict {
                shard: shard.clone(),
            }),
            Err(source) => Err(CheckpointError::Store {
                operation: "PUT",
                key: self.key(shard),
                source,
            }),
        }
    }
}

fn content_version(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compare-and-swap of a local file: under an exclusive lock on `<shard>.json.lock`, compare
/// the current content's hash with `expected`, then write a staging file and rename it.
async fn local_swap(
    dir: PathBuf,
    key: String,
    shard: ShardId,
    bytes: Vec<u8>,
    expected: Option<Version>,
) -> Result<Version, CheckpointError> {
    tokio::task::spawn_blocking(move || {
        let io = |source: std::io::Error| CheckpointError::Io {
            key: key.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = dir.join(format!("{shard}.json"));
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{shard}.json.lock")))
            .map_err(io)?;
        lock.lock().map_err(io)?;
        let current = match std::fs::read(&file) {
            Ok(bytes) => Some(content_version(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let matches = match (&expected, &current) {
            (None, None) => true,
            (Some(Version::Local(v)), Some(c)) => v == c,
            _ => false,
        };
        if !matches {
            return Err(CheckpointError::Conflict { shard });
        }
        let staging = dir.join(format!(".{shard}.json.{}", std::process::id()));
        std::fs::write(&staging, &bytes).map_err(io)?;
        std::fs::File::open(&staging)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&staging, &file).map_err(io)?;
        Ok(Version::Local(content_version(&bytes)))
    })
    .await
    .expect("the checkpoint writer does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_compare_and_swap_fences_stale_writers() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let store = CheckpointStore::new(wh, "kinesis-clicks");
        let shard = ShardId("shardId-000000000001".into());
        assert!(store.load(&shard).await.unwrap().is_none());
        let mut state = ShardState::new(shard.clone(), StartPosition::TrimHorizon);
        state.owner = Some("a".into());
        let v1 = store.swap(&state, None).await.unwrap();
        // a second creator loses
        assert!(matches!(
            store.swap(&state, None).await,
            Err(CheckpointError::Conflict { .. })
        ));
        // worker b takes over from v1; worker a, still holding v1, is fenced off
        let mut taken = store.load(&shard).await.unwrap().unwrap();
        assert_eq!(taken.version, v1);
        taken.state.owner = Some("b".into());
        taken.state.lease_epoch += 1;
        let v2 = store.swap(&taken.state, Some(&v1)).await.unwrap();
        state.checkpoint = Some(SequenceNumber::from_u64(42));
        assert!(matches!(
            store.swap(&state, Some(&v1)).await,
            Err(CheckpointError::Conflict { .. })
        ));
        let now = store.load(&shard).await.unwrap().unwrap();
        assert_eq!(now.version, v2);
        assert_eq!(now.state.owner.as_deref(), Some("b"));
        assert_eq!(now.state.checkpoint, None);
    }

    #[tokio::test]
    async fn refuses_a_state_of_another_shard() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let store = CheckpointStore::new(wh, "s");
        let a = ShardId("a".into());
        store
            .swap(&ShardState::new(a.clone(), StartPosition::Latest), None)
            .await
            .unwrap();
        std::fs::rename(
            dir.path().join("_tributary/streams/s/a.json"),
            dir.path().join("_tributary/streams/s/b.json"),
        )
        .unwrap();
        let err = store.load(&ShardId("b".into())).await.unwrap_err();
        assert!(err.to_string().contains("holds shard a"), "{err}");
    }

    #[tokio::test]
    async fn refuses_a_checkpoint_that_is_not_a_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let store = CheckpointStore::new(wh, "s");
        let a = ShardId("a".into());
        let mut state = ShardState::new(a.clone(), StartPosition::Latest);
        state.checkpoint = Some(SequenceNumber::from_u64(7));
        store.swap(&state, None).await.unwrap();
        let path = dir.path().join("_tributary/streams/s/a.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""checkpoint": "7""#), "{text}");
        std::fs::write(
            &path,
            text.replace(r#""checkpoint": "7""#, r#""checkpoint": "7x""#),
        )
        .unwrap();
        let err = store.load(&a).await.unwrap_err();
        assert!(
            matches!(err, CheckpointError::Corrupt { .. })
                && err.to_string().contains("invalid sequence number \"7x\""),
            "{err}"
        );
    }
}
