//! A shard's flush: the buffered range of stream records becomes files, Delta commits, then a
//! checkpoint.
//!
//! ```text
//! 1. intent      checkpoint object ← pending {first, last, version n, files}  (compare-and-swap)
//! 2. files       <table>/<partition>/<source>-<shard>-<first>-<attempt>.parquet  (PUTs, retried)
//! 3. tables      each table's log ← add files + txn(<source>/<shard>, n)     (group commit)
//! 4. checkpoint  checkpoint object ← checkpoint = last, flushes = n          (compare-and-swap)
//! ```
//! A data file's name holds a random attempt id drawn when its intent is recorded, so no other
//! attempt (a new owner's replay, a late write of an old owner, a worker that lost its
//! checkpoints) can write to it: a data file, once written, only ever gets the same bytes
//! again (this attempt's retries encode the same batches), and the size a commit records stays
//! true. Dead letters are not in a table's log; their name holds the range, whose records
//! always give the same lines. A worker that finds a pending intent (after a crash, or taking
//! over a lease) completes it table by table: a table whose log holds `txn` version `n` is
//! done; for the others it commits the intent's files if all exist, or else records a new
//! intent for the same range with files of its own attempt, re-reads exactly `first..=last`,
//! and writes and commits them. Before any of this it checks that no table holds a flush of
//! the shard beyond its checkpoint's (the checkpoints were reset or restored from an older
//! copy: every new flush would be taken as already committed). Every step between two
//! checkpoint writes keeps the lease alive ([`FlushContext::renewing`]), so a slow one (a storage
//! outage, a long replay) is not taken over half-way. Why this gives exactly-once is written out
//! in `docs/stream-protocol.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use tributary_table::committer::Committer;
use tributary_table::layout::DEAD_LETTER_PREFIX;
use tributary_table::{Contribution, DataFile, Txn, delta};
use tributary_transform::{
    Codec, FileTarget, Partition, SequenceNumber, SinkError, Table, Warehouse, WrittenFile,
    write_parquet,
};

use super::budget::Budget;
use super::checkpoint::{CheckpointError, CheckpointStore, Intent};
use super::client::{ClientError, SharedClient};
use super::lease::Lease;
use super::metrics::Metrics;
use super::reader::{Backoff, Read, ShardReader};
use super::records::{DecodedChunk, decode_off_thread, pieces};
use super::shard::{Position, ShardId};
use crate::decode::SchemaDecoder;

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
    /// Memory held: Arrow batches and dead-letter lines.
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

    /// Adds a decoded chunk whose stream records run from `first` to `last`.
    pub fn add(
        &mut self,
        chunk: DecodedChunk,
        first: &SequenceNumber,
        last: &SequenceNumber,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        if self.first.is_none() {
            self.first = Some(first.clone());
            self.since = Some(Instant::now());
        }
        self.last = Some(last.clone());
        self.stream_records += chunk.stream_records;
        for batch in chunk.batches {
            *self.rows.entry(batch.table).or_default() += batch.batch.num_rows() as u64;
            self.bytes += batch.bytes;
            self.parts
                .entry((batch.table, batch.partition))
                .or_default()
                .push(batch.batch);
        }
        for letter in &chunk.dead_letters {
            self.dead_letters += 1;
            let lines = self.dead.entry(letter.format).or_default();
            let before = lines.len();
            tributary_transform::dead_letters::append_line(lines, letter);
            // dead letters count against --flush-bytes like rows do
            self.bytes += lines.len() - before;
        }
        match (&mut self.permit, permit) {
            (Some(held), Some(more)) => held.merge(more),
            (held @ None, more) => *held = more,
            (Some(_), None) => {}
        }
    }

    /// The objects this buffer becomes, relative to the warehouse root; `prefix` names the
    /// source and shard, `attempt` this attempt at writing the range.
    fn plan(&self, prefix: &str, attempt: &Attempt) -> Vec<PlannedFile> {
        let first = self.first.as_ref().map(|s| s.as_str()).unwrap_or("0");
        let last = self.last.as_ref().map(|s| s.as_str()).unwrap_or("0");
        let mut files: Vec<PlannedFile> = self
            .parts
            .keys()
            .map(|(table, partition)| PlannedFile {
                path: format!(
                    "{}/{}/{prefix}-{first}-{}.parquet",
                    table.name(),
                    partition.path(),
                    attempt.0
                ),
                content: FileContent::Parquet(*table, *partition),
            })
            .collect();
        files.extend(self.dead.keys().map(|format| PlannedFile {
            path: format!("{DEAD_LETTER_PREFIX}/{format}/{prefix}-{first}-{last}.jsonl"),
            content: FileContent::DeadLetters(format),
        }));
        files
    }
}

/// One attempt at writing a range's data files: a random id in their names, so that no other
/// attempt writes to them.
struct Attempt(String);

impl Attempt {
    fn new() -> Self {
        // 64 random bits: two attempts of one shard and range never meet
        Self(format!("{:016x}", rand::random::<u64>()))
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
    /// Shutdown dropped a wait or a step of a recovery, between two checkpoint writes: the
    /// lease is intact, and the caller gives it up as usual.
    #[error("shard {shard}: stopped for shutdown")]
    Cancelled { shard: ShardId },
    #[error("checkpoint of shard {shard}: {source}")]
    Checkpoint {
        shard: ShardId,
        source: CheckpointError,
    },
    #[error("building rows of shard {shard}: {source}")]
    Build {
        shard: ShardId,
        source: tributary_transform::batch::PartitionError,
    },
    #[error(
        "shard {shard}: the pending flush {first}..={last} cannot be replayed: {reason}; \
         its files are partly written and the shard is stopped until an operator looks at it"
    )]
    ReplayIncomplete {
        shard: ShardId,
        first: SequenceNumber,
        last: SequenceNumber,
        reason: String,
    },
    /// The service refuses the shard's position ([`ClientError::Refused`], which names it).
    #[error("{source}")]
    Unreadable { shard: ShardId, source: ClientError },
    #[error(
        "shard {shard}: the table {table} holds flush {held} of writer {app_id}, but the \
         shard's checkpoint has committed {flushes}: the checkpoints under _tributary/streams \
         were deleted or restored from an older copy (or another stream of the same name \
         writes to this warehouse). Going on would drop every new flush as already committed \
         and read records again that the tables hold; the shard is stopped. Restore the \
         checkpoint objects, or write this stream into a new warehouse"
    )]
    AheadOfCheckpoint {
        shard: ShardId,
        table: &'static str,
        app_id: String,
        held: i64,
        flushes: u64,
    },
}

impl FlushError {
    /// The `reason` label of a shard stopped by this error.
    pub fn reason(&self) -> &'static str {
        match self {
            FlushError::LeaseLost(_) => "lease_lost",
            FlushError::Cancelled { .. } => "cancelled",
            FlushError::Checkpoint {
                source: CheckpointError::Corrupt { .. },
                ..
            } => "corrupt_checkpoint",
            FlushError::Checkpoint { .. } => "checkpoint",
            FlushError::Build { .. } => "build",
            FlushError::ReplayIncomplete { .. } => "replay_incomplete",
            FlushError::Unreadable { .. } => "position_refused",
            FlushError::AheadOfCheckpoint { .. } => "checkpoint_behind_table",
        }
    }
}

/// What a flush needs besides the buffer.
#[derive(Clone)]
pub struct FlushContext {
    pub warehouse: Warehouse,
    pub store: CheckpointStore,
    /// The worker's group committer: every shard's commits to a table go through it.
    pub committer: Committer,
    pub codec: Codec,
    pub lease_duration: Duration,
    pub metrics: Arc<Metrics>,
    /// The source's slug (metrics label and file name prefix).
    pub source: String,
    pub shard: ShardId,
    /// A pause after each step of a flush; zero except in crash tests, which use it to kill
    /// the process inside a flush for certain.
    pub step_delay: Duration,
    /// Records into the rows of the schema's tables (recovery decodes what it re-reads).
    pub decoder: SchemaDecoder,
    /// The worker's buffer budget: a recovery reserves what it re-reads, as a reader does.
    pub budget: Budget,
}

impl FlushContext {
    fn file_prefix(&self) -> String {
        format!("{}-{}", self.source, self.shard)
    }

    /// The writer id of this shard's commits (`txn.appId`): `<source>/<shard>`.
    pub fn app_id(&self) -> String {
        format!("{}/{}", self.source, self.shard)
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
                Ok(()) => return Ok(()),
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
                Err(source) => {
                    return Err(FlushError::Checkpoint {
                        shard: self.shard.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Renews the lease without changing the checkpoint.
    pub async fn renew(&self, lease: &mut Lease) -> Result<(), FlushError> {
        self.write_state(lease, |_| {}).await
    }

    /// Runs `work`, a step that does not write the checkpoint (file writes and their retries,
    /// commits, a recovery's table checks and re-read, waits for memory or a recovery's turn),
    /// keeping the lease meanwhile: a slow step (a 128 MiB replay at 2 MB/s, a storage outage)
    /// must not hand the shard to another worker half-way. The lease is renewed a third of a
    /// lease after its last write began ([`Lease::written`]), which leaves two thirds for that
    /// renewal to land (and be retried) before another worker may take the shard. A renewal
    /// that finds the lease lost ends the work with [`FlushError::LeaseLost`]: fencing is
    /// unchanged.
    pub async fn renewing<T>(
        &self,
        lease: &mut Lease,
        work: impl Future<Output = T>,
    ) -> Result<T, FlushError> {
        self.renewing_unless(lease, work, None).await
    }

    /// [`Self::renewing`], ending with [`FlushError::Cancelled`] once `cancel` fires. Shutdown
    /// drops the work, never a renewal in flight: a renewal dropped after its write reached the
    /// store leaves `lease.version` behind the stored one, and the release that follows would
    /// conflict as if another worker held the shard (and that worker would wait out a lease).
    pub async fn renewing_unless<T>(
        &self,
        lease: &mut Lease,
        work: impl Future<Output = T>,
        cancel: Option<&CancellationToken>,
    ) -> Result<T, FlushError> {
        let mut work = std::pin::pin!(work);
        let mut shutdown = std::pin::pin!(async {
            match cancel {
                Some(cancel) => cancel.cancelled().await,
                None => std::future::pending().await,
            }
        });
        loop {
            let due = tokio::time::Instant::from_std(lease.written + self.lease_duration / 3);
            tokio::select! {
                biased;
                out = &mut work => return Ok(out),
                () = &mut shutdown => {
                    return Err(FlushError::Cancelled { shard: self.shard.clone() });
                }
                () = tokio::time::sleep_until(due) => {}
            }
            // the work goes on during the renewal, but this step ends only after it
            let mut renewal = std::pin::pin!(self.renew(lease));
            tokio::select! {
                biased;
                renewed = &mut renewal => renewed?,
                out = &mut work => {
                    renewal.await?;
                    return Ok(out);
                }
            }
        }
    }

    /// Gives the lease up (clean shutdown): another worker may take the shard at once.
    pub async fn release(&self, lease: &mut Lease) -> Result<(), FlushError> {
        self.write_state(lease, |s| s.owner = None).await
    }

    /// Makes `buffer` durable and checkpoints it; `finished` marks the shard as fully read.
    pub async fn flush(
        &self,
        lease: &mut Lease,
        buffer: FlushBuffer,
        finished: bool,
    ) -> Result<(), FlushError> {
        let (Some(first), Some(last)) = (buffer.first.clone(), buffer.last.clone()) else {
            if finished {
                self.write_state(lease, |s| s.finished = true).await?;
            }
            return Ok(());
        };
        let started = Instant::now();
        let plan = buffer.plan(&self.file_prefix(), &Attempt::new());
        let intent = Intent {
            first,
            last,
            records: buffer.stream_records,
            version: lease.state.flushes + 1,
            files: plan.iter().map(|f| f.path.clone()).collect(),
        };
        // 1. the intent, before any file: whoever holds the shard next knows what to complete
        self.write_state(lease, |s| s.pending = Some(intent.clone()))
            .await?;
        debug!(shard = %self.shard, first = %intent.first, last = %intent.last, files = intent.files.len(), "flush intent recorded");
        tokio::time::sleep(self.step_delay).await;
        // 2. the files, invisible to readers until a commit adds them
        let rows = buffer.rows.clone();
        let dead_letters = buffer.dead_letters;
        // (the step delays stay outside renewal: they stand for a frozen process, whose lease
        // another worker must be able to take)
        let written = self.renewing(lease, self.write_files(plan, buffer)).await?;
        debug!(shard = %self.shard, first = %intent.first, last = %intent.last, "flush files written");
        tokio::time::sleep(self.step_delay).await;
        // 3. one commit per table, each under this flush's txn; a crash from here on is
        // completed table by table by the next owner
        let held = self
            .renewing(lease, self.commit_tables(intent.version, &written))
            .await?;
        let ahead = held.into_iter().find(|(_, h)| *h > intent.version as i64);
        if let Some((table, held)) = ahead {
            // only a holder of this shard's checkpoint commits its flushes, and this one has
            // just recorded flush n: a table holding a later one means that another worker
            // holds the shard now (the renewal fails), or that the checkpoint went back. (A
            // table holding n itself is this flush, committed by a retry whose first answer
            // was lost.)
            self.renew(lease).await?;
            return Err(self.ahead(table, held, lease.state.flushes));
        }
        debug!(shard = %self.shard, first = %intent.first, last = %intent.last, version = intent.version, "flush committed to its tables");
        tokio::time::sleep(self.step_delay).await;
        // 4. the checkpoint, only once every table holds the flush
        let records = intent.records;
        self.write_state(lease, |s| s.commit(&intent, finished))
            .await?;
        self.metrics.shard_checkpointed(&self.source, &self.shard);
        self.count_written(&rows, &written, dead_letters, started);
        debug!(shard = %self.shard, first = %intent.first, last = %intent.last, records, "flushed and checkpointed");
        Ok(())
    }

    fn count_written(
        &self,
        rows: &BTreeMap<Table, u64>,
        written: &[WrittenFile],
        dead_letters: u64,
        started: Instant,
    ) {
        for (table, n) in rows {
            let labels = Metrics::table(&self.source, table.name());
            self.metrics
                .records_written
                .get_or_create(&labels)
                .inc_by(*n);
        }
        for file in written {
            let table = file
                .data
                .as_ref()
                .map_or(DEAD_LETTER_PREFIX, |(t, _)| t.name());
            let labels = Metrics::table(&self.source, table);
            self.metrics.files_written.get_or_create(&labels).inc();
            self.metrics
                .bytes_written
                .get_or_create(&labels)
                .inc_by(file.bytes);
        }
        self.metrics
            .dead_letters
            .get_or_create(&Metrics::source(&self.source))
            .inc_by(dead_letters);
        self.metrics
            .flush_seconds
            .get_or_create(&Metrics::source(&self.source))
            .observe(started.elapsed().as_secs_f64());
    }

    /// Commits the data files of flush `version` to their tables, each table under
    /// `txn(app_id, version)`, all tables at once; every commit is retried until the table
    /// holds the flush (a table that already does takes it as a no-op). Returns the tables
    /// that held it already, with the `txn` version they hold.
    async fn commit_tables(&self, version: u64, written: &[WrittenFile]) -> BTreeMap<Table, i64> {
        let mut per_table: BTreeMap<Table, Vec<DataFile>> = BTreeMap::new();
        for file in written {
            if let Some((table, data)) = &file.data {
                per_table.entry(*table).or_default().push(data.clone());
            }
        }
        let txn = Txn {
            app_id: self.app_id(),
            version: version as i64,
        };
        let commits = per_table.into_iter().map(|(table, files)| {
            let contribution = Contribution {
                txn: Some(txn.clone()),
                files,
            };
            async move {
                let done = self
                    .until_ok(
                        &format!("committing to {}", table.name()),
                        Some("table_commit"),
                        || self.committer.commit(table, contribution.clone()),
                    )
                    .await;
                debug!(shard = %self.shard, table = table.name(), version, table_version = ?done.version, group = done.group, held = ?done.held, "committed");
                done.held.map(|held| (table, held))
            }
        });
        futures::future::join_all(commits)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    fn ahead(&self, table: Table, held: i64, flushes: u64) -> FlushError {
        self.metrics.error(&self.source, "checkpoint_behind_table");
        FlushError::AheadOfCheckpoint {
            shard: self.shard.clone(),
            table: table.name(),
            app_id: self.app_id(),
            held,
            flushes,
        }
    }

    /// Checks, before a new owner does anything, that no table holds a flush of this shard
    /// beyond what its checkpoint has committed (plus the pending one): the checkpoints were
    /// reset or restored from an older copy otherwise, and every new flush would be dropped
    /// as already committed.
    async fn check_no_table_ahead(
        &self,
        lease: &mut Lease,
        cancel: Option<&CancellationToken>,
    ) -> Result<(), FlushError> {
        let flushes = lease.state.flushes;
        let allowed = flushes.max(lease.state.pending.as_ref().map_or(0, |p| p.version));
        let app_id = self.app_id();
        let check = async {
            for table in self.warehouse.schema().handles() {
                let held = self
                    .until_ok(
                        &format!("reading the log of {}", table.name()),
                        None,
                        || self.committer.held(table, &app_id),
                    )
                    .await;
                if let Some(held) = held.filter(|h| *h > allowed as i64) {
                    return Err(self.ahead(table, held, flushes));
                }
            }
            Ok(())
        };
        self.renewing_unless(lease, check, cancel).await?
    }

    /// Writes every planned file, retrying each until it is durable.
    async fn write_files(
        &self,
        plan: Vec<PlannedFile>,
        mut buffer: FlushBuffer,
    ) -> Vec<WrittenFile> {
        let jobs: Vec<(String, Payload)> = plan
            .into_iter()
            .map(|f| {
                let payload = match f.content {
                    FileContent::Parquet(table, partition) => Payload::Parquet(
                        FileTarget { table, partition },
                        buffer.parts.remove(&(table, partition)).unwrap_or_default(),
                    ),
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
        let written = futures::stream::iter(jobs)
            .map(|(path, payload)| self.write_one(path, payload))
            .buffer_unordered(PARALLEL_PUTS)
            .collect()
            .await;
        drop(permit);
        written
    }

    /// Runs a warehouse call until it succeeds: S3 outages are waited out, and nothing moves
    /// the checkpoint meanwhile. Failures are logged (and counted as `metric`, if given).
    async fn until_ok<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
        &self,
        what: &str,
        metric: Option<&str>,
        mut call: impl FnMut() -> F,
    ) -> T {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match call().await {
                Ok(done) => return done,
                Err(e) => {
                    if let Some(kind) = metric {
                        self.metrics.error(&self.source, kind);
                    }
                    let delay = backoff.next_delay();
                    warn!(shard = %self.shard, %what, error = %e, ?delay, "warehouse call failed; retrying (the checkpoint waits)");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Writes one file until it succeeds.
    async fn write_one(&self, path: String, payload: Payload) -> WrittenFile {
        self.until_ok(
            &format!("writing {path}"),
            Some("warehouse_write"),
            || async {
                match &payload {
                    Payload::Parquet(target, batches) => {
                        write_parquet(
                            self.warehouse.clone(),
                            path.clone(),
                            *target,
                            batches.clone(),
                            self.codec,
                        )
                        .await
                    }
                    Payload::Text(text) => self
                        .warehouse
                        .put(&self.warehouse.path(&path), text.clone())
                        .await
                        .map(|()| WrittenFile {
                            path: path.clone(),
                            rows: text.iter().filter(|b| **b == b'\n').count() as u64,
                            bytes: text.len() as u64,
                            data: None,
                        })
                        .map_err(SinkError::from),
                }
            },
        )
        .await
    }

    /// Whether `table` holds flush `version` of this shard already.
    async fn table_holds(&self, table: Table, version: u64) -> bool {
        let app_id = self.app_id();
        self.until_ok(
            &format!("reading the log of {}", table.name()),
            None,
            || async {
                let Some(delta) = delta::open_if_logged(&self.warehouse, table).await? else {
                    return Ok::<_, tributary_table::TableError>(false);
                };
                let held = delta::txn_version(&delta, &app_id).await?;
                Ok(held.is_some_and(|v| v >= version as i64))
            },
        )
        .await
    }

    /// What an owner does first with a shard it has claimed: [checks that no table is ahead of
    /// its checkpoint](Self::check_no_table_ahead), then [completes the pending
    /// flush](Self::complete_pending), if any. Shutdown (`cancel`) ends it between two
    /// checkpoint writes, never inside one: the intent stays, for whoever claims the shard.
    pub async fn take_over(
        &self,
        lease: &mut Lease,
        client: &SharedClient,
        cancel: Option<&CancellationToken>,
    ) -> Result<(), FlushError> {
        self.check_no_table_ahead(lease, cancel).await?;
        self.complete_pending(lease, client, cancel).await
    }

    /// Completes a pending flush found in the checkpoint, table by table: a table that holds
    /// the flush's `txn` is done; the others get the intent's files committed if every one of
    /// them exists, or else exactly the range re-read and written again, then committed. Every
    /// step between its checkpoint writes renews the lease and ends at `cancel`.
    pub async fn complete_pending(
        &self,
        lease: &mut Lease,
        client: &SharedClient,
        cancel: Option<&CancellationToken>,
    ) -> Result<(), FlushError> {
        let Some(intent) = lease.state.pending.clone() else {
            return Ok(());
        };
        let incomplete = |reason: String| FlushError::ReplayIncomplete {
            shard: self.shard.clone(),
            first: intent.first.clone(),
            last: intent.last.clone(),
            reason,
        };
        let mut per_table: BTreeMap<Table, Vec<&str>> = BTreeMap::new();
        let mut dead_letter_files = Vec::new();
        for file in &intent.files {
            let schema = self.warehouse.schema();
            let table = file.split('/').next().and_then(|name| schema.get(name));
            match table {
                Some(table) => per_table.entry(table).or_default().push(file.as_str()),
                None if file.starts_with(DEAD_LETTER_PREFIX) => {
                    dead_letter_files.push(file.as_str())
                }
                None => return Err(incomplete(format!("the intent names {file}, of no table"))),
            }
        }
        let named: BTreeSet<Table> = per_table.keys().copied().collect();
        let open = async {
            let mut open = BTreeMap::new();
            for (table, files) in per_table {
                if !self.table_holds(table, intent.version).await {
                    open.insert(table, files);
                }
            }
            open
        };
        let open = self.renewing_unless(lease, open, cancel).await?;
        let missing = async {
            let mut missing = 0;
            for file in open.values().flatten().chain(&dead_letter_files) {
                if !self.exists(file).await {
                    missing += 1;
                }
            }
            missing
        };
        let missing = self.renewing_unless(lease, missing, cancel).await?;
        if missing == 0 {
            if open.is_empty() {
                info!(shard = %self.shard, first = %intent.first, last = %intent.last, "pending flush is in every table already; checkpointing it");
            } else {
                info!(shard = %self.shard, first = %intent.first, last = %intent.last, tables = open.len(), "pending flush was fully written; committing it");
                let read_back = async {
                    let mut written = Vec::new();
                    for (table, files) in &open {
                        for file in files {
                            let in_table = &file[table.name().len() + 1..];
                            let data = self
                                .until_ok(&format!("reading back {file}"), None, || {
                                    delta::describe_file(&self.warehouse, *table, in_table)
                                })
                                .await;
                            written.push(WrittenFile {
                                path: file.to_string(),
                                rows: data.rows,
                                bytes: data.bytes,
                                data: Some((*table, data)),
                            });
                        }
                    }
                    written
                };
                let written = self.renewing_unless(lease, read_back, cancel).await?;
                self.renewing_unless(lease, self.commit_tables(intent.version, &written), cancel)
                    .await?;
            }
            self.write_state(lease, |s| s.commit(&intent, false))
                .await?;
            self.metrics.shard_checkpointed(&self.source, &self.shard);
            return Ok(());
        }
        info!(shard = %self.shard, first = %intent.first, last = %intent.last, missing, tables = open.len(), "replaying a pending flush");
        let last = &intent.last;
        let mut reader = ShardReader::new(
            client.clone(),
            self.shard.clone(),
            Position::AtSequence(intent.first.clone()),
        );
        let mut buffer = FlushBuffer::default();
        let shard_name: Arc<str> = Arc::from(self.shard.as_str());
        let mut retries = 0;
        // one recovery at a time, each reserving what it holds (a replay cannot flush early)
        let _turn = self
            .renewing_unless(lease, self.budget.recovery_turn(), cancel)
            .await?;
        loop {
            match self.renewing_unless(lease, reader.read(), cancel).await? {
                Read::Records { mut records, .. } => {
                    let reached = records.last().is_some_and(|r| &r.sequence >= last);
                    records.retain(|r| &r.sequence <= last);
                    // a piece at a time, each reserved before the next is decoded
                    for piece in pieces(records) {
                        let decode = decode_off_thread(
                            self.decoder.clone(),
                            client.kind(),
                            shard_name.clone(),
                            piece,
                        );
                        let decoded = self.renewing_unless(lease, decode, cancel).await?.map_err(
                            |source| FlushError::Build {
                                shard: self.shard.clone(),
                                source,
                            },
                        )?;
                        if let Some(decoded) = decoded {
                            let bytes = decoded.chunk.memory_bytes();
                            let reserve = self.budget.reserve_more(bytes, &buffer.permit);
                            let permit = self.renewing_unless(lease, reserve, cancel).await?;
                            buffer.add(decoded.chunk, &decoded.first, &decoded.last, permit);
                        }
                    }
                    if reached {
                        break;
                    }
                }
                Read::End => {
                    return Err(incomplete(
                        "the shard ended before the range's last record".into(),
                    ));
                }
                Read::Retry(ClientError::Trimmed { message, .. }) => {
                    return Err(incomplete(format!(
                        "the range is past the stream's retention: {message}"
                    )));
                }
                Read::Failed(e) => return Err(incomplete(e.to_string())),
                Read::Retry(e) => {
                    retries += 1;
                    debug!(shard = %self.shard, %e, retries, "replay read retry");
                }
            }
        }
        if buffer.last.as_ref() != Some(last) || buffer.stream_records != intent.records {
            return Err(incomplete(format!(
                "re-read {} records ending at {:?}, expected {} ending at {}",
                buffer.stream_records,
                buffer.last.as_ref().map(|s| s.as_str()),
                intent.records,
                intent.last
            )));
        }
        // only the tables that do not hold the flush yet get files: a table that holds it
        // has its rows, whichever writer committed them. Files of the intent that this build
        // does not write stay unreferenced (vacuum removes them); deleting one could remove a
        // file that a late commit of the old owner made part of a table.
        // A table the old intent did not name (this build decodes the range differently, for
        // example after an upgrade) gets its rows too, unless it holds the flush already.
        let mut write_to: BTreeSet<Table> = open.keys().copied().collect();
        let built: BTreeSet<Table> = buffer.parts.keys().map(|(table, _)| *table).collect();
        let unnamed_open = async {
            let mut open = Vec::new();
            for table in built.difference(&named) {
                if !self.table_holds(*table, intent.version).await {
                    open.push(*table);
                }
            }
            open
        };
        write_to.extend(self.renewing_unless(lease, unnamed_open, cancel).await?);
        let plan: Vec<PlannedFile> = buffer
            .plan(&self.file_prefix(), &Attempt::new())
            .into_iter()
            .filter(|f| match f.content {
                FileContent::Parquet(table, _) => write_to.contains(&table),
                FileContent::DeadLetters(_) => true,
            })
            .collect();
        // this attempt's files, recorded before any is written: whoever completes the flush
        // after a crash here knows them
        let intent = Intent {
            files: plan.iter().map(|f| f.path.clone()).collect(),
            ..intent
        };
        self.write_state(lease, |s| s.pending = Some(intent.clone()))
            .await?;
        let written = self
            .renewing_unless(lease, self.write_files(plan, buffer), cancel)
            .await?;
        self.renewing_unless(lease, self.commit_tables(intent.version, &written), cancel)
            .await?;
        self.write_state(lease, |s| s.commit(&intent, false))
            .await?;
        self.metrics.shard_checkpointed(&self.source, &self.shard);
        Ok(())
    }

    /// Whether an object exists; unreachable stores are retried (the answer decides whether a
    /// replay is needed, so it must be a real answer).
    async fn exists(&self, relative: &str) -> bool {
        let path = self.warehouse.path(relative);
        self.until_ok(&format!("HEAD {relative}"), None, || async {
            match self.warehouse.store().head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

enum Payload {
    Parquet(FileTarget, Vec<RecordBatch>),
    Text(Bytes),
}

#[cfg(test)]
mod tests {

    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::stream::checkpoint::ShardState;
    use crate::stream::lease::{Claim, Observer, try_claim};
    use crate::stream::memory::MemoryStream;
    use crate::stream::records::decode_chunk;
    use crate::stream::shard::StartPosition;
    use tributary_table::faults::{FaultyStore, PutFault};

    fn event(i: usize) -> Vec<u8> {
        // two days, so a flush writes two files
        let ts = 1_767_225_600_000i64 + (i as i64 % 2) * 86_400_000;
        format!(r#"{{"eventType":"PAGE_VIEW","userId":"u{i}","timestamp":{ts}}}"#).into_bytes()
    }

    struct Setup {
        _dir: tempfile::TempDir,
        warehouse: Warehouse,
        stream: Arc<MemoryStream>,
        client: SharedClient,
        ctx: FlushContext,
    }

    async fn setup(records: usize) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let stream = Arc::new(MemoryStream::new(7));
        stream.add_shard("shardId-0", &[]);
        stream.put("shardId-0", (0..records).map(event));
        stream.put("shardId-0", [b"{broken".to_vec()]);
        let client: SharedClient = stream.clone();
        let ctx = FlushContext {
            warehouse: warehouse.clone(),
            store: CheckpointStore::new(warehouse.clone(), "kinesis-memory"),
            committer: Committer::new(warehouse.clone()),
            codec: Codec::Zstd,
            lease_duration: Duration::from_secs(30),
            metrics: Arc::new(Metrics::new()),
            source: "kinesis-memory".into(),
            shard: ShardId("shardId-0".into()),
            step_delay: Duration::ZERO,
            decoder: SchemaDecoder::new(warehouse.schema()),
            budget: Budget::new(64 << 20),
        };
        Setup {
            _dir: dir,
            warehouse,
            stream,
            client,
            ctx,
        }
    }

    async fn claim(s: &Setup, worker: &str) -> Lease {
        let current = s.ctx.store.load(&s.ctx.shard).await.unwrap();
        let claim = try_claim(
            &s.ctx.store,
            &mut Observer::default(),
            &s.ctx.shard,
            current,
            StartPosition::TrimHorizon,
            worker,
            Duration::ZERO,
        )
        .await
        .unwrap();
        let Claim::Claimed(lease) = claim else {
            panic!("claimable")
        };
        *lease
    }

    /// Reads `count` stream records after the lease's checkpoint into a buffer.
    async fn read_into_buffer(s: &Setup, lease: &Lease, count: usize) -> FlushBuffer {
        let position = match lease.state.checkpoint.clone() {
            Some(seq) => Position::AfterSequence(seq),
            None => Position::TrimHorizon,
        };
        let mut reader = ShardReader::new(s.client.clone(), s.ctx.shard.clone(), position);
        let mut buffer = FlushBuffer::default();
        let mut left = count;
        while left > 0 {
            let Read::Records { mut records, .. } = reader.read().await else {
                panic!("records")
            };
            records.truncate(left);
            left -= records.len();
            let (a, b) = (
                records[0].sequence.clone(),
                records.last().unwrap().sequence.clone(),
            );
            let chunk = decode_chunk(
                &crate::decode::SchemaDecoder::new(tributary_table::schema::Schema::builtin()),
                StreamKind::Kinesis,
                &Arc::from("shardId-0"),
                &records,
            )
            .unwrap();
            buffer.add(chunk, &a, &b, None);
        }
        buffer
    }

    /// Records the intent of flushing `buffer` as flush `version`, as step 1 of a flush does.
    async fn record_intent(
        s: &Setup,
        lease: &mut Lease,
        buffer: &FlushBuffer,
        version: u64,
    ) -> (Intent, Vec<PlannedFile>) {
        let plan = buffer.plan(&s.ctx.file_prefix(), &Attempt::new());
        let intent = Intent {
            first: buffer.first.clone().unwrap(),
            last: buffer.last.clone().unwrap(),
            records: buffer.stream_records,
            version,
            files: plan.iter().map(|f| f.path.clone()).collect(),
        };
        s.ctx
            .write_state(lease, |st| st.pending = Some(intent.clone()))
            .await
            .unwrap();
        (intent, plan)
    }

    async fn files(wh: &Warehouse) -> BTreeSet<String> {
        let listed = wh.list(&wh.path("")).await.unwrap();
        listed
            .iter()
            .map(|m| wh.relative(&m.location).to_string())
            .filter(|p| !p.starts_with("_tributary") && !p.contains("_delta_log"))
            .collect()
    }

    fn parquet_rows(dir: &std::path::Path, files: &BTreeSet<String>) -> i64 {
        files
            .iter()
            .filter(|f| f.ends_with(".parquet"))
            .map(|f| {
                SerializedFileReader::new(std::fs::File::open(dir.join(f)).unwrap())
                    .unwrap()
                    .metadata()
                    .file_metadata()
                    .num_rows()
            })
            .sum()
    }

    use crate::stream::client::StreamKind;

    /// Rows of the events table, as its log adds them up.
    async fn table_rows(wh: &Warehouse) -> u64 {
        let delta = delta::open(wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        let mut rows = 0;
        for uri in delta.get_file_uris().unwrap() {
            let path = uri.rsplit_once("/events/").unwrap().1.to_string();
            rows += delta::describe_file(wh, Table::builtin("events"), &path)
                .await
                .unwrap()
                .rows;
        }
        rows
    }

    /// The events table's live files, relative to the warehouse root.
    async fn table_files(wh: &Warehouse) -> BTreeSet<String> {
        let delta = delta::open(wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        delta
            .get_file_uris()
            .unwrap()
            .map(|uri| format!("events/{}", uri.rsplit_once("/events/").unwrap().1))
            .collect()
    }

    async fn state(s: &Setup) -> ShardState {
        s.ctx.store.load(&s.ctx.shard).await.unwrap().unwrap().state
    }

    /// A context like `s`'s, with a lease of `lease_duration` and the events table's objects
    /// behind a [`FaultyStore`] (the checkpoints of a local warehouse are files beside it: the
    /// lease stays reachable, as it must for a renewal to keep it).
    fn with_faulty_table(s: &Setup, lease_duration: Duration) -> (FlushContext, Arc<FaultyStore>) {
        let faults = Arc::new(FaultyStore::new(s.warehouse.store().clone()));
        let warehouse = s
            .warehouse
            .clone()
            .map_store(|_| -> Arc<dyn object_store::ObjectStore> { faults.clone() });
        faults.only_under([warehouse.path("events")]);
        let ctx = FlushContext {
            store: CheckpointStore::new(warehouse.clone(), "kinesis-memory"),
            committer: Committer::new(warehouse.clone()),
            warehouse,
            lease_duration,
            ..s.ctx.clone()
        };
        (ctx, faults)
    }

    /// Another worker trying to take the shard until `stop`, as its discovery rounds would
    /// (ten tries a lease): whether it ever took it.
    fn claimant(ctx: &FlushContext, stop: CancellationToken) -> tokio::task::JoinHandle<bool> {
        let (store, shard, lease_duration) =
            (ctx.store.clone(), ctx.shard.clone(), ctx.lease_duration);
        tokio::spawn(async move {
            let mut observer = Observer::default();
            while !stop.is_cancelled() {
                let current = store.load(&shard).await.unwrap();
                let claim = try_claim(
                    &store,
                    &mut observer,
                    &shard,
                    current,
                    StartPosition::TrimHorizon,
                    "thief",
                    lease_duration,
                )
                .await;
                match claim {
                    Ok(Claim::Claimed(_)) => return true,
                    // a renewal between its read and its write
                    Ok(_) | Err(CheckpointError::Conflict { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
                tokio::time::sleep(lease_duration / 10).await;
            }
            false
        })
    }

    #[tokio::test]
    async fn a_flush_held_up_by_a_storage_outage_keeps_its_lease() {
        let s = setup(40).await;
        let lease_duration = Duration::from_millis(300);
        let (ctx, faults) = with_faulty_table(&s, lease_duration);
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 30).await;
        let claimed = state(&s).await;
        // the table's objects are unreachable for five leases: every file write and commit
        // fails and is retried meanwhile, while another worker watches the lease
        faults.outage_until(Instant::now() + lease_duration * 5);
        let stop = CancellationToken::new();
        let thief = claimant(&ctx, stop.clone());
        let flushed =
            tokio::time::timeout(Duration::from_secs(60), ctx.flush(&mut a, buffer, false))
                .await
                .expect("the flush ends once the store is back");
        stop.cancel();
        let stolen = thief.await.unwrap();
        assert!(faults.hits() > 0, "the outage held the flush up");
        assert!(!stolen, "another worker took the lease during the outage");
        flushed.unwrap();
        let after = state(&s).await;
        assert_eq!(
            (
                after.owner.as_deref(),
                after.lease_epoch,
                after.flushes,
                after.pending.is_none(),
                after.records_committed
            ),
            (Some("a"), claimed.lease_epoch, 1, true, 30)
        );
        assert_eq!(table_rows(&s.warehouse).await, 30);
    }

    #[tokio::test]
    async fn a_replay_held_up_by_a_storage_outage_keeps_its_lease() {
        let s = setup(40).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 30).await;
        // a dies after recording the intent: nothing of it is written, so b must re-read it
        record_intent(&s, &mut a, &buffer, 1).await;
        drop(buffer);
        let lease_duration = Duration::from_millis(300);
        let (ctx, faults) = with_faulty_table(&s, lease_duration);
        let mut b = claim(&s, "b").await;
        let claimed = state(&s).await;
        // the stream fails for three leases (the re-read retries), the table's objects refuse
        // writes for twelve (the rewrite retries); its table checks read through
        let started = Instant::now();
        s.stream
            .failing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let stream = s.stream.clone();
        let mend = tokio::spawn(async move {
            tokio::time::sleep_until((started + lease_duration * 3).into()).await;
            stream
                .failing
                .store(false, std::sync::atomic::Ordering::Relaxed);
        });
        faults.set_put(PutFault::Fail);
        faults.end_at(started + lease_duration * 12);
        let stop = CancellationToken::new();
        let thief = claimant(&ctx, stop.clone());
        let replayed = tokio::time::timeout(
            Duration::from_secs(60),
            ctx.take_over(&mut b, &s.client, None),
        )
        .await
        .expect("the replay ends once the stream and the store are back");
        stop.cancel();
        let stolen = thief.await.unwrap();
        mend.await.unwrap();
        assert!(faults.hits() > 0, "the outage held the rewrite up");
        assert!(!stolen, "another worker took the lease during the replay");
        replayed.unwrap();
        let after = state(&s).await;
        assert_eq!(
            (
                after.owner.as_deref(),
                after.lease_epoch,
                after.flushes,
                after.pending.is_none(),
                after.records_committed
            ),
            (Some("b"), claimed.lease_epoch, 1, true, 30)
        );
        assert_eq!(table_rows(&s.warehouse).await, 30);
    }

    #[tokio::test]
    async fn a_replay_writes_the_rows_of_a_table_the_old_intent_did_not_name() {
        let s = setup(40).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 20).await;
        // an older build took the whole range for dead letters: its intent names no table
        let (intent, _) = record_intent(&s, &mut a, &buffer, 1).await;
        drop(buffer);
        let old = Intent {
            files: vec![format!(
                "{DEAD_LETTER_PREFIX}/events/{}-{}-{}.jsonl",
                s.ctx.file_prefix(),
                intent.first,
                intent.last
            )],
            ..intent
        };
        s.ctx
            .write_state(&mut a, |st| st.pending = Some(old.clone()))
            .await
            .unwrap();
        // this build decodes the range into events: they are written and committed, not dropped
        let mut b = claim(&s, "b").await;
        s.ctx
            .complete_pending(&mut b, &s.client, None)
            .await
            .unwrap();
        let after = state(&s).await;
        assert!(after.pending.is_none());
        assert_eq!(after.records_committed, 20);
        assert_eq!(
            table_rows(&s.warehouse).await,
            20,
            "the events are committed"
        );
    }

    #[tokio::test]
    async fn a_replay_waits_for_the_buffer_budget_and_gives_it_back() {
        let s = setup(40).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 30).await;
        // a dies after recording the intent: nothing of it is written, so b must re-read it
        record_intent(&s, &mut a, &buffer, 1).await;
        drop(buffer);
        let mut b = claim(&s, "b").await;
        let total = s.ctx.budget.total_kib() as usize;
        // other shards hold the whole budget
        let others = s.ctx.budget.reserve(usize::MAX).await;
        let claimed = state(&s).await;
        let ctx = FlushContext {
            // a lease shorter than the wait: the wait renews it
            lease_duration: Duration::from_millis(90),
            ..s.ctx.clone()
        };
        let client = s.client.clone();
        let mut replay = tokio::spawn(async move {
            ctx.complete_pending(&mut b, &client, None).await.unwrap();
        });
        // a negative can only be shown over a window: the replay has all it needs but memory
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut replay)
                .await
                .is_err(),
            "the replay went on without a reservation"
        );
        let waiting = state(&s).await;
        assert!(waiting.pending.is_some());
        assert!(
            waiting.updated_ms > claimed.updated_ms && waiting.lease_epoch == claimed.lease_epoch,
            "the lease was renewed (not lost) while the replay waited"
        );
        drop(others);
        tokio::time::timeout(Duration::from_secs(20), replay)
            .await
            .expect("the replay ends once memory is free")
            .unwrap();
        let after = state(&s).await;
        assert!(after.pending.is_none());
        assert_eq!(after.records_committed, 30);
        assert_eq!(s.ctx.budget.available_kib(), total, "given back");
    }

    #[tokio::test]
    async fn a_crash_after_the_intent_is_completed_with_the_same_files_by_the_next_owner() {
        let s = setup(40).await;
        let dir = s.warehouse.url().to_file_path().unwrap();
        let mut a = claim(&s, "a").await;
        // a first flush commits normally
        let buffer = read_into_buffer(&s, &a, 15).await;
        s.ctx.flush(&mut a, buffer, false).await.unwrap();
        assert_eq!(
            state(&s).await.checkpoint.as_ref().map(|s| s.as_str()),
            Some("115")
        );
        // the second: intent written, one of its files written, then the process dies
        let buffer = read_into_buffer(&s, &a, 26).await;
        let (intent, plan) = record_intent(&s, &mut a, &buffer, 2).await;
        let mut buffer = buffer;
        let first = plan.into_iter().next().unwrap();
        let FileContent::Parquet(table, partition) = first.content else {
            panic!("parquet first")
        };
        let batches = buffer.parts.remove(&(table, partition)).unwrap();
        s.ctx
            .write_one(
                first.path.clone(),
                Payload::Parquet(FileTarget { table, partition }, batches),
            )
            .await;
        drop(buffer);
        assert_eq!(
            files(&s.warehouse).await.len(),
            3,
            "two files of the first flush, one of the second"
        );

        // b takes over, completes the intent by re-reading exactly its range, and is caught up
        let mut b = claim(&s, "b").await;
        s.ctx
            .complete_pending(&mut b, &s.client, None)
            .await
            .unwrap();
        let after = state(&s).await;
        assert_eq!(
            (
                after.checkpoint.as_ref().map(|s| s.as_str()),
                after.pending.is_none(),
                after.records_committed
            ),
            (Some("141"), true, 41)
        );
        let written = files(&s.warehouse).await;
        assert_eq!(
            written.len(),
            2 + 1 + intent.files.len(),
            "the first flush's two files, a's one, and the replay's own: {written:?}"
        );
        let in_table = table_files(&s.warehouse).await;
        assert!(
            !in_table.contains(&first.path),
            "a's partial write stays out of the table"
        );
        assert!(written.contains(&first.path), "and is left for vacuum");
        assert_eq!(
            parquet_rows(&dir, &in_table),
            40,
            "every event once; the broken record is a dead letter"
        );
        assert_eq!(
            table_rows(&s.warehouse).await,
            40,
            "the log adds each file once"
        );
        let dead = std::fs::read_to_string(
            dir.join(intent.files.iter().find(|f| f.ends_with(".jsonl")).unwrap()),
        )
        .unwrap();
        assert_eq!(dead.lines().count(), 1);
        assert!(dead.contains("\"sequence_number\":\"141\""), "{dead}");

        // a, the zombie, cannot commit anything any more
        let err = s
            .ctx
            .flush(&mut a, FlushBuffer::default(), true)
            .await
            .unwrap_err();
        assert!(matches!(err, FlushError::LeaseLost(_)), "{err}");
    }

    #[tokio::test]
    async fn a_crash_after_all_files_commits_without_rereading() {
        let s = setup(10).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 11).await;
        let (intent, plan) = record_intent(&s, &mut a, &buffer, 1).await;
        s.ctx.write_files(plan, buffer).await;
        // the records are gone from the stream: only a commit without a replay can succeed
        s.stream.close("shardId-0");
        let s2 = setup(0).await;
        s2.stream.close("shardId-0"); // a replay would fail here instead of hanging
        let mut b = claim(&s, "b").await;
        let empty: SharedClient = s2.stream.clone();
        s.ctx.complete_pending(&mut b, &empty, None).await.unwrap();
        assert_eq!(
            state(&s).await.checkpoint.as_ref().map(|s| s.as_str()),
            Some("111")
        );
        assert_eq!(state(&s).await.flushes, 1);
        assert_eq!(files(&s.warehouse).await.len(), intent.files.len());
        assert_eq!(
            table_rows(&s.warehouse).await,
            10,
            "the files were read back and committed"
        );
    }

    #[tokio::test]
    async fn a_crash_after_the_table_commits_only_checkpoints_and_a_zombie_adds_nothing() {
        let s = setup(30).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 31).await;
        let (_, plan) = record_intent(&s, &mut a, &buffer, 1).await;
        let written = s.ctx.write_files(plan, buffer).await;
        s.ctx.commit_tables(1, &written).await;
        let version = || async {
            delta::open(&s.warehouse, Table::builtin("events"))
                .await
                .unwrap()
                .unwrap()
                .version()
        };
        let committed = version().await;
        // b takes over: the table holds flush 1, so only the checkpoint moves
        let mut b = claim(&s, "b").await;
        let closed = setup(0).await;
        closed.stream.close("shardId-0");
        let unreadable: SharedClient = closed.stream.clone();
        s.ctx
            .complete_pending(&mut b, &unreadable, None)
            .await
            .unwrap();
        let after = state(&s).await;
        assert_eq!(
            (
                after.checkpoint.as_ref().map(|s| s.as_str()),
                after.flushes,
                after.pending
            ),
            (Some("131"), 1, None)
        );
        assert_eq!(version().await, committed, "nothing committed twice");
        // a, the zombie, still holds its files and commits them late: a no-op
        s.ctx.commit_tables(1, &written).await;
        assert_eq!(version().await, committed);
        assert_eq!(table_rows(&s.warehouse).await, 30);
        // and it can write no new intent
        let err = s.ctx.renew(&mut a).await.unwrap_err();
        assert!(matches!(err, FlushError::LeaseLost(_)), "{err}");
    }

    #[tokio::test]
    async fn a_late_write_of_the_old_owner_never_changes_a_committed_file() {
        let s = setup(30).await;
        let mut a = claim(&s, "a").await;
        let buffer = read_into_buffer(&s, &a, 31).await;
        // a records its intent, then stalls before writing anything
        let (_, plan) = record_intent(&s, &mut a, &buffer, 1).await;
        // b takes over and replays the range (zstd)
        let mut b = claim(&s, "b").await;
        s.ctx.take_over(&mut b, &s.client, None).await.unwrap();
        assert_eq!(state(&s).await.flushes, 1);
        // a wakes up and writes its files late, with another codec, then commits them
        let snappy = FlushContext {
            codec: Codec::Snappy,
            ..s.ctx.clone()
        };
        let late = snappy.write_files(plan, buffer).await;
        assert!(
            late.iter().any(|f| f.data.is_some()),
            "a wrote data files late"
        );
        let held = snappy.commit_tables(1, &late).await;
        assert_eq!(
            held.get(&Table::builtin("events")),
            Some(&1),
            "a's commit is a no-op"
        );
        // every file the log names has the size the log says, and reads
        let delta = delta::open(&s.warehouse, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        let snapshot = delta.snapshot().unwrap();
        for file in snapshot.log_data().iter() {
            let path = format!("events/{}", file.path());
            let head = s
                .warehouse
                .store()
                .head(&s.warehouse.path(&path))
                .await
                .unwrap();
            assert_eq!(head.size, file.size() as u64, "{path}");
        }
        assert_eq!(table_rows(&s.warehouse).await, 30);
    }

    #[tokio::test]
    async fn checkpoints_deleted_by_hand_stop_the_shard_instead_of_dropping_its_flushes() {
        let s = setup(30).await;
        let dir = s.warehouse.url().to_file_path().unwrap();
        let mut a = claim(&s, "a").await;
        for _ in 0..2 {
            let buffer = read_into_buffer(&s, &a, 10).await;
            s.ctx.flush(&mut a, buffer, false).await.unwrap();
        }
        assert_eq!(state(&s).await.flushes, 2);
        let checkpoint = dir.join("_tributary/streams/kinesis-memory/shardId-0.json");
        std::fs::remove_file(&checkpoint).unwrap();

        // the next owner starts from a fresh checkpoint: it finds the table ahead of it
        let mut b = claim(&s, "b").await;
        assert_eq!(b.state.flushes, 0);
        let err = s.ctx.take_over(&mut b, &s.client, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                FlushError::AheadOfCheckpoint {
                    held: 2,
                    flushes: 0,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("_tributary/streams"), "{err}");
        // and a flush that skipped the check stops before the checkpoint moves
        let buffer = read_into_buffer(&s, &b, 10).await;
        let err = s.ctx.flush(&mut b, buffer, false).await.unwrap_err();
        assert!(matches!(err, FlushError::AheadOfCheckpoint { .. }), "{err}");
        let after = state(&s).await;
        assert_eq!((after.flushes, after.checkpoint), (0, None));
        assert_eq!(
            table_rows(&s.warehouse).await,
            20,
            "nothing dropped or added"
        );
    }
}
