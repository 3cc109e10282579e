//! Which stream a source's checkpoints belong to.
//!
//! A name does not say which stream it is: a Kinesis stream deleted and created again under
//! the same name has new shards whose ids and sequence numbers start over, and a stream of the
//! same name in another account or region may write to the same warehouse. Checkpoints of the
//! old stream would make the worker skip the new stream's records (a sequence number it reads
//! as already done), and the old stream's `txn` ids would make the tables drop the new
//! stream's flushes as already committed.
//!
//! So each source's state directory (`_tributary/streams/<source>/`) holds `stream.json`: the
//! ARN and creation time of the stream its checkpoints came from, written once, put-if-absent.
//! A worker that finds another stream there reads its stream in a namespace of its own,
//! `<source>.created-<creation time, UTC>`: its own checkpoints, file names and `txn` ids,
//! starting from `--start` as a new source does. The old state stays where it is.

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use tributary_table::Warehouse;
use tributary_table::layout::STATE_PREFIX;

/// A stream as its service knows it: stable for its lifetime, new when it is re-created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamIdentity {
    /// The full ARN: account, region and name (and, for DynamoDB Streams, the stream label).
    pub arn: String,
    /// When the stream was created (Kinesis `StreamCreationTimestamp`, DynamoDB Streams
    /// `CreationRequestDateTime`), in milliseconds since the epoch.
    pub created_ms: i64,
}

impl std::fmt::Display for StreamIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} created {}", self.arn, utc(self.created_ms))
    }
}

/// What a describe call says about a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub identity: StreamIdentity,
    /// How long the service keeps records, if it says (Kinesis `RetentionPeriodHours`).
    pub retention: Option<std::time::Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "{key} names {found}, and so does the namespace for {ours}: two streams created at the \
         same time under one name cannot share a warehouse; give each its own warehouse"
    )]
    Taken {
        key: String,
        found: StreamIdentity,
        ours: StreamIdentity,
    },
    #[error(
        "{key} is not a stream identity ({reason}); move it aside if the checkpoints beside it belong to {ours}"
    )]
    Corrupt {
        key: String,
        reason: String,
        ours: StreamIdentity,
    },
    #[error("{key} kept changing while it was read and written; is another worker misbehaving?")]
    Unsettled { key: String },
    #[error("{operation} {key}: {source}")]
    Store {
        operation: &'static str,
        key: String,
        source: object_store::Error,
    },
}

/// The name of the file beside a source's checkpoints.
const FILE: &str = "stream.json";

/// Rounds of read-then-create before [`IdentityError::Unsettled`]: a create loses only to a
/// concurrent create, after which the read finds the winner.
const ROUNDS: usize = 4;

/// The namespace (state directory name under `_tributary/streams/`) of the stream `identity`
/// read under the source name `slug`: `slug` itself if its state is this stream's or new, or
/// `<slug>.created-<time>` if it belongs to another stream.
pub async fn resolve(
    warehouse: &Warehouse,
    slug: &str,
    identity: &StreamIdentity,
) -> Result<String, IdentityError> {
    if claim(warehouse, slug, identity).await? {
        return Ok(slug.to_string());
    }
    let namespace = format!(
        "{slug}.created-{}",
        utc(identity.created_ms).format("%Y%m%dT%H%M%S%.3fZ")
    );
    if claim(warehouse, &namespace, identity).await? {
        return Ok(namespace);
    }
    let key = key(&namespace);
    let found = read(warehouse, &key, identity)
        .await?
        .unwrap_or_else(|| identity.clone());
    Err(IdentityError::Taken {
        key,
        found,
        ours: identity.clone(),
    })
}

fn key(namespace: &str) -> String {
    format!("{STATE_PREFIX}/streams/{namespace}/{FILE}")
}

fn utc(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// Whether the namespace belongs to `identity`, recording it there if the namespace has none.
async fn claim(
    warehouse: &Warehouse,
    namespace: &str,
    identity: &StreamIdentity,
) -> Result<bool, IdentityError> {
    let key = key(namespace);
    let path = warehouse.path(&key);
    for _ in 0..ROUNDS {
        if let Some(found) = read(warehouse, &key, identity).await? {
            return Ok(&found == identity);
        }
        let bytes = serde_json::to_vec_pretty(identity).expect("an identity serializes");
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match warehouse
            .store()
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => return Ok(true),
            // another worker recorded one first: read it
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {}
            Err(source) => {
                return Err(IdentityError::Store {
                    operation: "PUT",
                    key,
                    source,
                });
            }
        }
    }
    Err(IdentityError::Unsettled { key })
}

async fn read(
    warehouse: &Warehouse,
    key: &str,
    ours: &StreamIdentity,
) -> Result<Option<StreamIdentity>, IdentityError> {
    let store_error = |source| IdentityError::Store {
        operation: "GET",
        key: key.to_string(),
        source,
    };
    let bytes = match warehouse.store().get(&warehouse.path(key)).await {
        Ok(result) => result.bytes().await.map_err(store_error)?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(store_error(source)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| IdentityError::Corrupt {
            key: key.to_string(),
            reason: e.to_string(),
            ours: ours.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(arn: &str, created_ms: i64) -> StreamIdentity {
        StreamIdentity {
            arn: arn.into(),
            created_ms,
        }
    }

    async fn warehouse(dir: &std::path::Path) -> Warehouse {
        Warehouse::open(dir.to_str().unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn a_source_keeps_its_namespace_while_its_stream_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(dir.path()).await;
        let clicks = stream("arn:aws:kinesis:eu-west-1:1:stream/clicks", 1_000);
        assert_eq!(
            resolve(&wh, "kinesis-clicks", &clicks).await.unwrap(),
            "kinesis-clicks"
        );
        assert_eq!(
            resolve(&wh, "kinesis-clicks", &clicks).await.unwrap(),
            "kinesis-clicks"
        );
        let stored = std::fs::read_to_string(
            dir.path()
                .join("_tributary/streams/kinesis-clicks/stream.json"),
        )
        .unwrap();
        assert!(stored.contains("stream/clicks"), "{stored}");
    }

    #[tokio::test]
    async fn a_recreated_or_foreign_stream_gets_a_namespace_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(dir.path()).await;
        let old = stream("arn:aws:kinesis:eu-west-1:1:stream/clicks", 1_000);
        let recreated = stream(
            "arn:aws:kinesis:eu-west-1:1:stream/clicks",
            1_764_000_000_123,
        );
        resolve(&wh, "kinesis-clicks", &old).await.unwrap();
        let namespace = resolve(&wh, "kinesis-clicks", &recreated).await.unwrap();
        assert_eq!(namespace, "kinesis-clicks.created-20251124T160000.123Z");
        // stable across restarts, and the old stream keeps its own
        assert_eq!(
            resolve(&wh, "kinesis-clicks", &recreated).await.unwrap(),
            namespace
        );
        assert_eq!(
            resolve(&wh, "kinesis-clicks", &old).await.unwrap(),
            "kinesis-clicks"
        );
        // a stream of the same name and time in another account has nowhere to go
        let foreign = stream(
            "arn:aws:kinesis:eu-west-1:2:stream/clicks",
            1_764_000_000_123,
        );
        let err = resolve(&wh, "kinesis-clicks", &foreign).await.unwrap_err();
        assert!(matches!(err, IdentityError::Taken { .. }), "{err}");
        assert!(err.to_string().contains(":1:stream/clicks"), "{err}");
    }

    #[tokio::test]
    async fn a_corrupt_identity_is_refused_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(dir.path()).await;
        let state = dir.path().join("_tributary/streams/kinesis-clicks");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join("stream.json"), b"{ not json").unwrap();
        let err = resolve(&wh, "kinesis-clicks", &stream("arn:x", 1))
            .await
            .unwrap_err();
        assert!(matches!(err, IdentityError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("_tributary/streams/kinesis-clicks/stream.json"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn workers_racing_to_record_a_new_stream_agree() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(dir.path()).await;
        let clicks = stream("arn:aws:kinesis:eu-west-1:1:stream/clicks", 1_000);
        let other = stream("arn:aws:kinesis:eu-west-1:1:stream/clicks", 2_000);
        let (a, b) = tokio::join!(
            resolve(&wh, "kinesis-clicks", &clicks),
            resolve(&wh, "kinesis-clicks", &other)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a, b, "two streams shared a namespace");
        assert!(a == "kinesis-clicks" || b == "kinesis-clicks", "{a} {b}");
    }
}
