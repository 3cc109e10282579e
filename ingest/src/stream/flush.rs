//! A shard's flush: the buffered range of stream records becomes files, then a checkpoint.
//!
//! ```text
//! 1. intent      checkpoint object ← pending {first, last, files}      (compare-and-swap)
//! 2. files       <table>/<partition>/<source>-<shard>-<first>.parquet   (PUTs, retried)
//! 3. commit      checkpoint object ← checkpoint = last, pending = none  (compare-and-swap)
//! ```
//! Object keys depend only on the shard and the first sequence number of the range, and the
//! rows of each file only on the records of the range. A worker that finds a pending intent
//! (after a crash, or taking over a lease) completes it: if every file exists it commits, else
//! it re-reads exactly `first..=last` and writes the same keys again. Why this gives
//! exactly-once is written out in `docs/stream-protocol.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, info, warn};
use tributary_transform::layout::DEAD_LETTER_PREFIX;
use tributary_transform::{Codec, Partition, SequenceNumber, SinkError, Table, Warehouse, write_parquet};

use super::checkpoint::{CheckpointError, CheckpointStore, Intent};
use super::client::{ClientError, SharedClient};
use super::lease::Lease;
use super::metrics::Metrics;
use super::reader::{Backoff, Read, ShardReader};
use super::records::{DecodedChunk, decode_chunk};
use super::shard::{Position, ShardId};

/// Files of one flush written at once.
const PARALLEL_PUTS: usize = 4;

/// Stream records read, not yet durable: one shard's buffer.
#[derive(Default)]
pub struct FlushBuffer {
    parts: BTreeMap<(Table, Partition), Vec<RecordBatch>>,
    dead: BTreeMap<&'static str, Vec<u8>>,
    dead_letters: u64,
    rows: BTreeMap<Table, u64>,
    first: Option<SequenceNumber>,
    last: Option<SequenceNumber>,
    stream_records: u64,
    /// Arrow memory held.
    bytes: usize,
    /// When the first record arrived (the flush interval counts from here).
    since: Option<Instant>,
    /// Memory budget held for these bytes, given back when the buffer is dropped.
    permit: Option<OwnedSemaphorePermit>,
}

impl FlushBuffer {
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn since(&self) -> Option<Instant> {
        self.since
    }

    pub fn last(&self) -> Option<&SequenceNumber> {
        self.last.as_ref()
    }

    /// Adds a decoded chunk whose stream records run from `first` to `last`.
    pub fn add(&mut self, chunk: DecodedChunk, first: &SequenceNumber, last: &SequenceNumber, permit: Option<OwnedSemaphorePermit>) {
        if self.first.is_none() {
            self.first = Some(first.clone());
            self.since = Some(Instant::now());
        }
        self.last = Some(last.clone());
        self.stream_records += chunk.stream_records;
        for batch in chunk.batches {
            *self.rows.entry(batch.table).or_default() += batch.batch.num_rows() as u64;
            self.bytes += batch.bytes;
            self.parts.entry((batch.table, batch.partition)).or_default().push(batch.batch);
        }
        for letter in &chunk.dead_letters {
            self.dead_letters += 1;
            tributary_transform::dead_letters::append_line(self.dead.entry(letter.format).or_default(), letter);
        }
        match (&mut self.permit, permit) {
            (Some(held), Some(more)) => held.merge(more),
            (held @ None, more) => *held = more,
            (Some(_), None) => {}
        }
    }

    /// The objects this buffer becomes, relative to the warehouse root; `prefix` names the
    /// source and shard.
    fn plan(&self, prefix: &str) -> Vec<PlannedFile> {
        let first = self.first.as_ref().map(|s| s.as_str()).unwrap_or("0");
        let mut files: Vec<PlannedFile> = self
            .parts
            .keys()
            .map(|(table, partition)| PlannedFile {
                path: format!("{}/{}/{prefix}-{first}.parquet", table.name(), partition.path()),
                content: FileContent::Parquet(*table, *partition),
            })
            .collect();
        files.extend(self.dead.keys().map(|format| PlannedFile {
            path: format!("{DEAD_LETTER_PREFIX}/{format}/{prefix}-{first}.jsonl"),
            content: FileContent::DeadLetters(format),
        }));
        files
    }
}

struct PlannedFile {
    path: String,
    content: FileContent,
}

enum FileContent {
    Parquet(Table, Partition),
    DeadLetters(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error(transparent)]
    LeaseLost(CheckpointError),
    #[error("checkpoint of shard {shard}: {source}")]
    Checkpoint { shard: ShardId, source: CheckpointError },
    #[error("building rows of shard {shard}: {source}")]
    Build { shard: ShardId, source: tributary_transform::batch::PartitionError },
    #[error(
        "shard {shard}: the pending flush {first}..={last} cannot be replayed: {reason}; \
         its files are partly written and the shard is stopped until an operator looks at it"
    )]
    ReplayIncomplete { shard: ShardId, first: String, last: String, reason: String },
}

/// What a flush needs besides the buffer.
#[derive(Clone)]
pub struct FlushContext {
    pub warehouse: Warehouse,
    pub store: CheckpointStore,
    pub codec: Codec,
    pub lease_duration: Duration,
    pub metrics: Arc<Metrics>,
    /// The source's slug (metrics label and file name prefix).
    pub source: String,
    pub shard: ShardId,
}

impl FlushContext {
    fn file_prefix(&self) -> String {
        format!("{}-{}", self.source, self.shard)
    }

    /// A checkpoint write, retried while the store is unreachable; a conflict means another
    /// worker holds the shard now.
    async fn write_state(
        &self,
        lease: &mut Lease,
        change: impl Fn(&mut super::checkpoint::ShardState),
    ) -> Result<(), FlushError> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(15));
        loop {
            match lease.write(&self.store, self.lease_duration, &change).await {
                Ok(()) => {
                    self.metrics.shard_checkpointed(&self.source, &self.shard);
                    return Ok(());
                }
                Err(e @ CheckpointError::Conflict { .. }) => {
                    self.metrics.error(&self.source, "lease_lost");
                    return Err(FlushError::LeaseLost(e));
                }
                Err(e) if e.is_transient() => {
                    self.metrics.error(&self.source, "checkpoint_store");
                    let delay = backoff.next_delay();
                    warn!(shard = %self.shard, %e, ?delay, "checkpoint write failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(source) => return Err(FlushError::Checkpoint { shard: self.shard.clone(), source }),
            }
        }
    }

    /// Renews the lease without changing the checkpoint.
    pub async fn renew(&self, lease: &mut Lease) -> Result<(), FlushError> {
        self.write_state(lease, |_| {}).await
    }

    /// Gives the lease up (clean shutdown): another worker may take the shard at once.
    pub async fn release(&self, lease: &mut Lease) -> Result<(), FlushError> {
        self.write_state(lease, |s| s.owner = None).await
    }

    /// Makes `buffer` durable and checkpoints it; `finished` marks the shard as fully read.
    pub async fn flush(&self, lease: &mut Lease, buffer: FlushBuffer, finished: bool) -> Result<(), FlushError> {
        let (Some(first), Some(last)) = (buffer.first.clone(), buffer.last.clone()) else {
            if finished {
                self.write_state(lease, |s| s.finished = true).await?;
            }
            return Ok(());
        };
        let started = Instant::now();
        let plan = buffer.plan(&self.file_prefix());
        let intent = Intent {
            first: first.as_str().to_string(),
            last: last.as_str().to_string(),
            records: buffer.stream_records,
            files: plan.iter().map(|f| f.path.clone()).collect(),
        };
        // 1. the intent, before any file: whoever holds the shard next knows what to complete
        self.write_state(lease, |s| s.pending = Some(intent.clone())).await?;
        // 2. the files; a crash from here on is completed by the next owner
        let rows = buffer.rows.clone();
        let dead_letters = buffer.dead_letters;
        let written = self.write_files(plan, buffer).await;
        // 3. the checkpoint, only once every file is durable
        let records = intent.records;
        self.write_state(lease, |s| {
            s.checkpoint = Some(intent.last.clone());
            s.pending = None;
            s.records_committed += records;
            s.finished = finished;
        })
        .await?;
        for (table, n) in rows {
            let labels = Metrics::table(&self.source, table.name());
            self.metrics.records_written.get_or_create(&labels).inc_by(n);
        }
        for (table, files, bytes) in written {
            let labels = Metrics::table(&self.source, table);
            self.metrics.files_written.get_or_create(&labels).inc_by(files);
            self.metrics.bytes_written.get_or_create(&labels).inc_by(bytes);
        }
        self.metrics.dead_letters.get_or_create(&Metrics::source(&self.source)).inc_by(dead_letters);
        self.metrics.flush_seconds.get_or_create(&Metrics::source(&self.source)).observe(started.elapsed().as_secs_f64());
        debug!(shard = %self.shard, first = %first, last = %last, records, "flushed and checkpointed");
        Ok(())
    }

    /// Writes every planned file, retrying each until it is durable. Returns (table, files,
    /// bytes) written per table.
    async fn write_files(&self, plan: Vec<PlannedFile>, mut buffer: FlushBuffer) -> Vec<(&'static str, u64, u64)> {
        let jobs: Vec<(String, Payload)> = plan
            .into_iter()
            .map(|f| {
                let payload = match f.content {
                    FileContent::Parquet(table, partition) => {
                        Payload::Parquet(table, buffer.parts.remove(&(table, partition)).unwrap_or_default())
                    }
                    FileContent::DeadLetters(format) => {
                        Payload::Text(Bytes::from(buffer.dead.remove(format).unwrap_or_default()))
                    }
                };
                (f.path, payload)
            })
            .collect();
        // the memory budget is given back once the files are written, not before
        let permit = buffer.permit.take();
        drop(buffer);
        let results: Vec<(&'static str, u64)> = futures::stream::iter(jobs)
            .map(|(path, payload)| self.write_one(path, payload))
            .buffer_unordered(PARALLEL_PUTS)
            .collect()
            .await;
        let mut per_table: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
        for (table, bytes) in results {
            let entry = per_table.entry(table).or_default();
            entry.0 += 1;
            entry.1 += bytes;
        }
        drop(permit);
        per_table.into_iter().map(|(t, (files, bytes))| (t, files, bytes)).collect()
    }

    /// Writes one file until it succeeds (S3 outages are waited out; the checkpoint does not
    /// move meanwhile). Returns its table (or `dead_letters`) and size.
    async fn write_one(&self, path: String, payload: Payload) -> (&'static str, u64) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            let result: Result<(&'static str, u64), SinkError> = match &payload {
                Payload::Parquet(table, batches) => {
                    write_parquet(self.warehouse.clone(), path.clone(), batches.clone(), self.codec)
                        .await
                        .map(|f| (table.name(), f.bytes))
                }
                Payload::Text(text) => self
                    .warehouse
                    .put(&self.warehouse.path(&path), text.clone())
                    .await
                    .map(|()| (DEAD_LETTER_PREFIX, text.len() as u64))
                    .map_err(SinkError::from),
            };
            match result {
                Ok(done) => return done,
                Err(e) => {
                    self.metrics.error(&self.source, "warehouse_write");
                    let delay = backoff.next_delay();
                    warn!(shard = %self.shard, %path, error = %e, ?delay, "writing a file failed; retrying (the checkpoint waits)");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Completes a pending flush found in the checkpoint: commits it if all of its files exist,
    /// otherwise re-reads exactly its range and writes the same files again.
    pub async fn complete_pending(&self, lease: &mut Lease, client: &SharedClient) -> Result<(), FlushError> {
        let Some(intent) = lease.state.pending.clone() else { return Ok(()) };
        let incomplete = |reason: String| FlushError::ReplayIncomplete {
            shard: self.shard.clone(),
            first: intent.first.clone(),
            last: intent.last.clone(),
            reason,
        };
        let mut missing = 0;
        for file in &intent.files {
            if !self.exists(file).await {
                missing += 1;
            }
        }
        if missing == 0 {
            info!(shard = %self.shard, first = %intent.first, last = %intent.last, "pending flush was fully written; committing it");
            let records = intent.records;
            return self
                .write_state(lease, |s| {
                    s.checkpoint = Some(intent.last.clone());
                    s.pending = None;
                    s.records_committed += records;
                })
                .await;
        }
        info!(shard = %self.shard, first = %intent.first, last = %intent.last, missing, "replaying a pending flush");
        let first = SequenceNumber::parse(&intent.first).map_err(|e| incomplete(e.to_string()))?;
        let last = SequenceNumber::parse(&intent.last).map_err(|e| incomplete(e.to_string()))?;
        let mut reader = ShardReader::new(client.clone(), self.shard.clone(), Position::AtSequence(first));
        let mut buffer = FlushBuffer::default();
        let shard_name: Arc<str> = Arc::from(self.shard.as_str());
        let mut retries = 0;
        loop {
            match reader.read().await {
                Read::Records { mut records, .. } => {
                    let reached = records.last().is_some_and(|r| r.sequence >= last);
                    records.retain(|r| r.sequence <= last);
                    if let (Some(a), Some(b)) = (records.first(), records.last()) {
                        let (a, b) = (a.sequence.clone(), b.sequence.clone());
                        let kind = client.kind();
                        let name = shard_name.clone();
                        let chunk = tokio::task::spawn_blocking(move || decode_chunk(kind, &name, &records))
                            .await
                            .expect("decoding does not panic")
                            .map_err(|source| FlushError::Build { shard: self.shard.clone(), source })?;
                        buffer.add(chunk, &a, &b, None);
                    }
                    if reached {
                        break;
                    }
                }
                Read::End => return Err(incomplete("the shard ended before the range's last record".into())),
                Read::Retry(ClientError::Trimmed { message, .. }) => {
                    return Err(incomplete(format!("the range is past the stream's retention: {message}")));
                }
                Read::Retry(e) => {
                    retries += 1;
                    debug!(shard = %self.shard, %e, retries, "replay read retry");
                }
            }
        }
        if buffer.last.as_ref() != Some(&last) || buffer.stream_records != intent.records {
            return Err(incomplete(format!(
                "re-read {} records ending at {:?}, expected {} ending at {}",
                buffer.stream_records,
                buffer.last.as_ref().map(|s| s.as_str()),
                intent.records,
                intent.last
            )));
        }
        let plan = buffer.plan(&self.file_prefix());
        let planned: BTreeSet<&str> = plan.iter().map(|f| f.path.as_str()).collect();
        // files of the intent that this build does not produce (an older version partitioned
        // differently) must not stay next to the rewritten rows
        let stale: Vec<String> = intent.files.iter().filter(|f| !planned.contains(f.as_str())).cloned().collect();
        self.write_files(plan, buffer).await;
        for file in stale {
            warn!(shard = %self.shard, %file, "removing a file of the pending flush that the replay does not produce");
            let path = self.warehouse.path(&file);
            let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
            while let Err(e) = self.warehouse.delete(&path).await {
                let delay = backoff.next_delay();
                warn!(%e, ?delay, "delete failed; retrying");
                tokio::time::sleep(delay).await;
            }
        }
        let records = intent.records;
        self.write_state(lease, |s| {
            s.checkpoint = Some(intent.last.clone());
            s.pending = None;
            s.records_committed += records;
        })
        .await
    }

    /// Whether an object exists; unreachable stores are retried (the answer decides whether a
    /// replay is needed, so it must be a real answer).
    async fn exists(&self, relative: &str) -> bool {
        let path = self.warehouse.path(relative);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match self.warehouse.store().head(&path).await {
                Ok(_) => return true,
                Err(object_store::Error::NotFound { .. }) => return false,
                Err(e) => {
                    let delay = backoff.next_delay();
                    warn!(%relative, %e, ?delay, "HEAD failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

enum Payload {
    Parquet(Table, Vec<RecordBatch>),
    Text(Bytes),
}
