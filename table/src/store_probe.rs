//! Conditional writes, verified before anything is written.
//!
//! The Delta log (a version is written with put-if-absent: `If-None-Match: *` on S3, `O_EXCL`
//! locally) and the shard leases (a checkpoint is replaced only if it is still the version read:
//! `If-Match` on S3) are correct only on a store that enforces those conditions. Some
//! S3-compatible stores accept the headers and ignore them (older MinIO versions, other S3
//! clones): every write then succeeds, two writers of one log version both "win", and the log
//! and the leases break silently. So a writer probes the store once at start: a second create
//! of one key must fail, and so must a replace that names a stale version. A store that
//! accepts either is refused, by name.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::warehouse::{Warehouse, WarehouseError};

/// Where the probe objects are written (and deleted again).
const PROBE_PREFIX: &str = "_tributary/probe";

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "the store of {url} ({store}) {what}: it does not enforce conditional writes, which \
         the Delta log and the shard leases depend on (two writers would both win); use AWS S3, \
         a local directory, or a store that enforces If-None-Match and If-Match"
    )]
    NotEnforced {
        url: String,
        store: String,
        what: &'static str,
    },
    #[error("probing the conditional writes of {url}: {operation} {key} failed: {source}")]
    Store {
        url: String,
        operation: &'static str,
        key: String,
        source: Box<object_store::Error>,
    },
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

impl Warehouse {
    /// Checks that the store refuses a second create of one key and, on S3, a replace with a
    /// stale version; see the module documentation. Costs two writes locally and four on S3, and
    /// a delete.
    pub async fn verify_conditional_writes(&self) -> Result<(), ProbeError> {
        let key = format!("{PROBE_PREFIX}/{}", uuid::Uuid::new_v4());
        let path = self.path(&key);
        let result = self.probe(&path).await;
        // the probe object goes whatever the outcome; a failed delete leaves one tiny object
        let _ = self.delete(&path).await;
        result
    }

    async fn probe(&self, path: &Path) -> Result<(), ProbeError> {
        let store = self.store();
        let failed = |operation: &'static str, source| ProbeError::Store {
            url: self.url().to_string(),
            operation,
            key: path.to_string(),
            source: Box::new(source),
        };
        let refused = |what: &'static str| ProbeError::NotEnforced {
            url: self.url().to_string(),
            store: store.to_string(),
            what,
        };
        let create = |body: &'static [u8]| {
            store.put_opts(
                path,
                PutPayload::from_bytes(Bytes::from_static(body)),
                PutOptions::from(PutMode::Create),
            )
        };
        let first = create(b"first")
            .await
            .map_err(|e| failed("PUT (If-None-Match)", e))?;
        match create(b"second").await {
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {}
            Ok(_) => return Err(refused("accepted a second create of one key")),
            Err(e) => return Err(failed("PUT (If-None-Match)", e)),
        }
        // the local store has no replace-if-version (the leases use their own locked swap)
        if self.url().scheme() != "s3" {
            return Ok(());
        }
        // replace with the version just written: must succeed; then replace again naming
        // that same, now earlier, version: a real stale ETag, which must fail
        let earlier = UpdateVersion {
            e_tag: first.e_tag,
            version: first.version,
        };
        store
            .put_opts(
                path,
                PutPayload::from_bytes(Bytes::from_static(b"second")),
                PutOptions::from(PutMode::Update(earlier.clone())),
            )
            .await
            .map_err(|e| failed("PUT (If-Match, current version)", e))?;
        match store
            .put_opts(
                path,
                PutPayload::from_bytes(Bytes::from_static(b"stale")),
                PutOptions::from(PutMode::Update(earlier)),
            )
            .await
        {
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => {}
            Ok(_) => return Err(refused("accepted a replace that named a stale version")),
            Err(e) => return Err(failed("PUT (If-Match, stale version)", e)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::faults::{FaultyStore, PutFault};

    #[tokio::test]
    async fn a_local_warehouse_enforces_its_conditional_writes() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        wh.verify_conditional_writes().await.unwrap();
        let left = wh.list(&wh.path(PROBE_PREFIX)).await.unwrap();
        assert!(left.is_empty(), "the probe object is deleted: {left:?}");
    }

    #[tokio::test]
    async fn a_store_that_ignores_conditions_is_refused_by_name() {
        // a store that takes conditional writes as plain overwrites, as an S3 clone that
        // ignores the headers does; or one that ignores only If-Match
        for (fault, what) in [
            (PutFault::IgnoreConditions, "second create"),
            (PutFault::IgnoreIfMatch, "stale version"),
        ] {
            let store = FaultyStore::new(Arc::new(InMemory::new()));
            store.set_put(fault);
            let wh = Warehouse::with_store(Arc::new(store), "s3://clone/wh/");
            let err = wh.verify_conditional_writes().await.unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, ProbeError::NotEnforced { .. })
                    && text.contains("FaultyStore(InMemory)")
                    && text.contains("s3://clone/wh/")
                    && text.contains(what),
                "{text}"
            );
        }
        // and one that enforces them passes, the stale-version check included
        let wh = Warehouse::with_store(Arc::new(InMemory::new()), "s3://real/wh/");
        wh.verify_conditional_writes().await.unwrap();
    }
}
