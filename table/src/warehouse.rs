//! The warehouse: a local directory or an S3 prefix, behind one `ObjectStore`.
//!
//! Writes are whole-object puts, atomic on both backends (S3 PUT; the local store writes a
//! staging file and renames it), so a reader never sees half a Parquet file.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::aws::{SdkCredentials, load_sdk_config};
use crate::layout::Table;
use crate::schema::Schema;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("invalid warehouse location {location:?}: {reason}")]
    InvalidLocation { location: String, reason: String },
    #[error("cannot create the warehouse directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the warehouse directory {path} does not exist (check the path, or write to it first with `tributary backfill` or `tributary run`)"
    )]
    NoSuchDirectory { path: String },
    #[error("cannot open the S3 warehouse {url}: {source}")]
    S3Config {
        url: String,
        source: Box<object_store::Error>,
    },
    #[error("{operation} {key} in the warehouse {url} failed: {source}")]
    Store {
        operation: &'static str,
        key: String,
        url: String,
        source: Box<object_store::Error>,
    },
}

/// Where the tables live.
#[derive(Clone, Debug)]
pub struct Warehouse {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// `file:///abs/dir/` or `s3://bucket/prefix/`, always ending with `/`.
    url: Url,
    /// The tables it holds (the built-in shop schema unless [`Warehouse::with_schema`]).
    schema: &'static Schema,
}

/// A parsed location: a local path, or `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(std::path::PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    pub fn parse(text: &str) -> Result<Self, WarehouseError> {
        let invalid = |reason: &str| WarehouseError::InvalidLocation {
            location: text.to_string(),
            reason: reason.into(),
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid("no bucket name after s3://"));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if text.contains("://") {
            return Err(invalid(
                "only local paths and s3://bucket/prefix are supported",
            ));
        }
        if text.is_empty() {
            return Err(invalid("empty path"));
        }
        Ok(Location::Local(std::path::PathBuf::from(text)))
    }
}

/// Builds an S3 object store for `bucket` with region, endpoint and credentials from the AWS chain.
pub async fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let config = load_sdk_config().await;
    let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
    if let Some(region) = config.region() {
        builder = builder.with_region(region.as_ref());
    }
    // the S3-specific override first, as the SDK's own clients do (AWS_ENDPOINT_URL_S3)
    let s3_endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|e| !e.is_empty());
    if let Some(endpoint) = s3_endpoint.as_deref().or(config.endpoint_url()) {
        // custom endpoints (LocalStack, MinIO) want path-style requests
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(credentials) = SdkCredentials::from_config(&config) {
        builder = builder.with_credentials(Arc::new(credentials));
    }
    Ok(Arc::new(builder.build()?))
}

/// The local store and the object path of `dir` (created if missing).
pub fn local_store(
    dir: &std::path::Path,
) -> Result<(Arc<dyn ObjectStore>, Path, Url), WarehouseError> {
    std::fs::create_dir_all(dir).map_err(|source| WarehouseError::CreateDir {
        path: dir.display().to_string(),
        source,
    })?;
    let abs = std::fs::canonicalize(dir).map_err(|source| WarehouseError::CreateDir {
        path: dir.display().to_string(),
        source,
    })?;
    let invalid = |reason: String| WarehouseError::InvalidLocation {
        location: dir.display().to_string(),
        reason,
    };
    let root = Path::from_filesystem_path(&abs).map_err(|e| invalid(e.to_string()))?;
    let url =
        Url::from_directory_path(&abs).map_err(|()| invalid("not an absolute path".into()))?;
    Ok((Arc::new(LocalFileSystem::new()), root, url))
}

impl Warehouse {
    /// Opens the warehouse at `location` for reading: a local directory must exist, since a
    /// reader that created it would answer a mistyped path with empty tables.
    pub async fn open_existing(location: &str) -> Result<Self, WarehouseError> {
        if let Location::Local(dir) = Location::parse(location)?
            && !dir.is_dir()
        {
            return Err(WarehouseError::NoSuchDirectory {
                path: dir.display().to_string(),
            });
        }
        Self::open(location).await
    }

    /// Opens (and for a local directory, creates) the warehouse at `location`.
    pub async fn open(location: &str) -> Result<Self, WarehouseError> {
        match Location::parse(location)? {
            Location::Local(dir) => {
                let (store, root, url) = local_store(&dir)?;
                Ok(Self {
                    store,
                    root,
                    url,
                    schema: Schema::builtin(),
                })
            }
            Location::S3 { bucket, prefix } => {
                let url_text = if prefix.is_empty() {
                    format!("s3://{bucket}/")
                } else {
                    format!("s3://{bucket}/{prefix}/")
                };
                let url = Url::parse(&url_text).map_err(|e| WarehouseError::InvalidLocation {
                    location: location.to_string(),
                    reason: e.to_string(),
                })?;
                let store = s3_store(&bucket)
                    .await
                    .map_err(|source| WarehouseError::S3Config {
                        url: url_text,
                        source: Box::new(source),
                    })?;
                Ok(Self {
                    store,
                    root: Path::from(prefix),
                    url,
                    schema: Schema::builtin(),
                })
            }
        }
    }

    /// A warehouse over `store` at `url` (`s3://bucket/prefix/`), for tests of the store's
    /// behaviour.
    #[cfg(test)]
    pub(crate) fn with_store(store: Arc<dyn ObjectStore>, url: &str) -> Self {
        let url = Url::parse(url).expect("a test's warehouse URL");
        Self {
            store,
            root: Path::from(url.path().trim_matches('/')),
            url,
            schema: Schema::builtin(),
        }
    }

    /// The same warehouse over another store made from its own: a wrapper such as
    /// [`crate::faults::FaultyStore`] (tests of storage outages) that keeps the root and URL.
    pub fn map_store(
        mut self,
        f: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Self {
        self.store = f(self.store);
        self
    }

    /// The same warehouse, holding the tables of `schema`.
    pub fn with_schema(mut self, schema: &'static Schema) -> Self {
        self.schema = schema;
        self
    }

    /// The tables it holds.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// `file:///abs/dir/` or `s3://bucket/prefix/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL of the object store itself (`file:///` or `s3://bucket`), as DataFusion registers it.
    pub fn store_url(&self) -> String {
        match self.url.scheme() {
            "s3" => format!("s3://{}", self.url.host_str().unwrap_or_default()),
            _ => "file:///".to_string(),
        }
    }

    /// The URL of a table's directory, ending with `/`.
    pub fn table_url(&self, table: &str) -> String {
        format!("{}{}/", self.url, table)
    }

    /// The object path of `relative` (e.g. `events/year=2026/...`) below the root.
    pub fn path(&self, relative: &str) -> Path {
        let mut path = self.root.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path = path.clone().join(part);
        }
        path
    }

    pub fn table_path(&self, table: Table) -> Path {
        self.path(table.name())
    }

    /// The path below the root, for messages and manifests.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a str {
        let root = self.root.as_ref();
        let p = path.as_ref();
        if root.is_empty() {
            p
        } else {
            p.strip_prefix(root)
                .map_or(p, |r| r.trim_start_matches('/'))
        }
    }

    fn error(
        &self,
        operation: &'static str,
        key: &Path,
        source: object_store::Error,
    ) -> WarehouseError {
        WarehouseError::Store {
            operation,
            key: key.to_string(),
            url: self.url.to_string(),
            source: Box::new(source),
        }
    }

    /// Writes a whole object atomically (replacing any object at that path).
    pub async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), WarehouseError> {
        self.store
            .put(path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| self.error("PUT", path, e))?;
        Ok(())
    }

    pub async fn get(&self, path: &Path) -> Result<Option<Bytes>, WarehouseError> {
        match self.store.get(path).await {
            Ok(result) => Ok(Some(
                result
                    .bytes()
                    .await
                    .map_err(|e| self.error("GET", path, e))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("GET", path, e)),
        }
    }

    /// Every object below `prefix` (recursively).
    pub async fn list(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, WarehouseError> {
        self.store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|e| self.error("LIST", prefix, e))
    }

    /// Deletes an object; a missing one is not an error (a repeated cleanup).
    pub async fn delete(&self, path: &Path) -> Result<(), WarehouseError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("DELETE", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("s3://bucket/a/b/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bucket").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "".into()
            }
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("gs://bucket").is_err());
        assert_eq!(
            Location::parse("./wh").unwrap(),
            Location::Local("./wh".into())
        );
    }

    #[tokio::test]
    async fn local_puts_lists_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().join("wh").to_str().unwrap())
            .await
            .unwrap();
        assert!(wh.url().as_str().starts_with("file:///"));
        assert!(wh.table_url("events").ends_with("/wh/events/"));
        let p = wh.path("events/year=2026/month=01/day=05/a.parquet");
        wh.put(&p, Bytes::from_static(b"x")).await.unwrap();
        let listed = wh.list(&wh.path("events")).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            wh.relative(&listed[0].location),
            "events/year=2026/month=01/day=05/a.parquet"
        );
        assert_eq!(wh.get(&p).await.unwrap().unwrap().as_ref(), b"x");
        wh.delete(&p).await.unwrap();
        wh.delete(&p).await.unwrap();
        assert!(wh.get(&p).await.unwrap().is_none());
    }
}
