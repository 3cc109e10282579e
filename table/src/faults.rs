//! Storage faults on demand, for tests: a store that passes every call to the store it wraps,
//! except calls to chosen paths while a fault is set. Those fail without reaching the store (as
//! an unreachable S3 endpoint's do), are held up, or have their conditions ignored (as some
//! S3-compatible stores do). An outage can end by itself at a chosen instant, so the code under
//! test finds a store that heals while it retries.
//!
//! Put it under a warehouse with [`Warehouse::map_store`](crate::Warehouse::map_store), and keep
//! the `Arc` to switch the faults:
//!
//! ```ignore
//! let faults = Arc::new(FaultyStore::new(warehouse.store().clone()));
//! let warehouse = warehouse.map_store(|_| faults.clone());
//! faults.only_under([warehouse.path("events")]);
//! faults.outage_until(Instant::now() + Duration::from_secs(2));
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// What happens to a put of a faulted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutFault {
    /// The put goes to the store as asked.
    #[default]
    Pass,
    /// The put fails without reaching the store.
    Fail,
    /// Conditional puts (`If-None-Match: *`, `If-Match`) become plain overwrites.
    IgnoreConditions,
    /// Only `If-Match` is ignored; creates stay conditional.
    IgnoreIfMatch,
}

#[derive(Debug, Clone, Default)]
struct Faults {
    /// The paths the faults apply to, each with everything below it; empty: every path.
    under: Vec<Path>,
    put: PutFault,
    /// GETs, HEADs and LISTs fail without reaching the store.
    reads_fail: bool,
    /// Every call to a faulted path waits this long first (then fails or goes on).
    delay: Duration,
    /// The faults end by themselves at this instant (an outage that heals).
    until: Option<Instant>,
}

impl Faults {
    fn active(&self) -> bool {
        let set = self.put != PutFault::Pass || self.reads_fail || !self.delay.is_zero();
        set && self.until.is_none_or(|until| Instant::now() < until)
    }

    /// Whether a call to `location` (or a LIST of it, `listing`) meets the faults.
    fn hit(&self, location: &Path, listing: bool) -> bool {
        self.active()
            && (self.under.is_empty()
                || self.under.iter().any(|under| {
                    location.prefix_matches(under) || (listing && under.prefix_matches(location))
                }))
    }
}

/// An [`ObjectStore`] with switchable faults; see the module documentation.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Mutex<Faults>,
    /// Calls that met a fault so far.
    hits: AtomicU64,
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

fn injected(operation: &str, location: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: format!("{operation} {location}: injected fault (connection refused)").into(),
    }
}

impl FaultyStore {
    /// `inner` with no fault set.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            faults: Mutex::default(),
            hits: AtomicU64::new(0),
        }
    }

    fn change(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.faults.lock().expect("the faults are never poisoned"));
    }

    /// Limits the faults to these paths and everything below them (none: every path).
    pub fn only_under(&self, paths: impl IntoIterator<Item = Path>) {
        let under = paths.into_iter().collect();
        self.change(|f| f.under = under);
    }

    pub fn set_put(&self, fault: PutFault) {
        self.change(|f| f.put = fault);
    }

    pub fn set_reads_fail(&self, fail: bool) {
        self.change(|f| f.reads_fail = fail);
    }

    /// Holds up every call to a faulted path by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.change(|f| f.delay = delay);
    }

    /// The faults set end by themselves at `until` (an outage that heals while the code under
    /// test retries).
    pub fn end_at(&self, until: Instant) {
        self.change(|f| f.until = Some(until));
    }

    /// Puts and reads of the faulted paths fail until `until`, then pass again by themselves.
    pub fn outage_until(&self, until: Instant) {
        self.change(|f| {
            f.put = PutFault::Fail;
            f.reads_fail = true;
            f.until = Some(until);
        });
    }

    /// Clears every fault (the paths chosen stay).
    pub fn heal(&self) {
        self.change(|f| {
            *f = Faults {
                under: std::mem::take(&mut f.under),
                ..Faults::default()
            }
        });
    }

    /// How many calls met a fault so far: a test can check that its fault was in the way.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The faults a call to `location` meets now, if any (counted as a hit).
    fn faults_for(&self, location: &Path, listing: bool) -> Option<Faults> {
        let faults = self.faults.lock().expect("the faults are never poisoned");
        faults.hit(location, listing).then(|| {
            self.hits.fetch_add(1, Ordering::Relaxed);
            faults.clone()
        })
    }

    /// Waits out the delay of `faults`, then fails a read if reads fail.
    async fn read_faults(
        &self,
        operation: &str,
        location: &Path,
    ) -> Result<(), object_store::Error> {
        let Some(faults) = self.faults_for(location, false) else {
            return Ok(());
        };
        tokio::time::sleep(faults.delay).await;
        if faults.reads_fail {
            return Err(injected(operation, location));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let Some(faults) = self.faults_for(location, false) else {
            return self.inner.put_opts(location, payload, opts).await;
        };
        tokio::time::sleep(faults.delay).await;
        let opts = match (faults.put, &opts.mode) {
            (PutFault::Fail, _) => return Err(injected("PUT", location)),
            (PutFault::IgnoreConditions, _) | (PutFault::IgnoreIfMatch, PutMode::Update(_)) => {
                PutOptions {
                    mode: PutMode::Overwrite,
                    ..opts
                }
            }
            _ => opts,
        };
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if let Some(faults) = self.faults_for(location, false) {
            tokio::time::sleep(faults.delay).await;
            if faults.put == PutFault::Fail {
                return Err(injected("PUT (multipart)", location));
            }
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.read_faults("GET", location).await?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.read_faults("GET", location).await?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let root = Path::default();
        let listed = prefix.unwrap_or(&root).clone();
        let inner = self.inner.list(prefix);
        let Some(faults) = self.faults_for(&listed, true) else {
            return inner;
        };
        futures::stream::once(async move {
            tokio::time::sleep(faults.delay).await;
            if faults.reads_fail {
                futures::stream::once(async move { Err(injected("LIST", &listed)) }).boxed()
            } else {
                inner
            }
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let root = Path::default();
        let listed = prefix.unwrap_or(&root);
        if let Some(faults) = self.faults_for(listed, true) {
            tokio::time::sleep(faults.delay).await;
            if faults.reads_fail {
                return Err(injected("LIST", listed));
            }
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn faults_meet_only_the_chosen_paths_and_an_outage_heals_by_itself() {
        let store = FaultyStore::new(Arc::new(InMemory::new()));
        let (table, other) = (Path::from("wh/events/a"), Path::from("wh/orders/a"));
        store.only_under([Path::from("wh/events")]);
        store.outage_until(Instant::now() + Duration::from_secs(1));
        assert!(
            store
                .put(&table, Bytes::from_static(b"x").into())
                .await
                .is_err()
        );
        store
            .put(&other, Bytes::from_static(b"x").into())
            .await
            .unwrap();
        assert!(store.head(&other).await.is_ok());
        // a listing of the root covers the faulted paths
        let listed: Vec<_> = store.list(None).collect().await;
        assert!(listed.iter().any(|r| r.is_err()), "{listed:?}");
        assert_eq!(store.hits(), 2);
        let deadline = Instant::now() + Duration::from_secs(10);
        while store
            .put(&table, Bytes::from_static(b"y").into())
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the outage never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let read = store.get(&table).await.unwrap().bytes().await.unwrap();
        assert_eq!(read.as_ref(), b"y");
    }
}
