//! Batch backfill: input files → decode (in parallel, order kept) → sink → Parquet → one Delta
//! commit per table.
//!
//! # Idempotence
//! Each input file is a unit named `bf-<hash of format and URI>`, and a writer with its own
//! `txn` in the tables: its files are committed once, in one commit per table at the end of the
//! run, and a later run leaves the tables that hold its `txn` as they are (see
//! [`DeltaCommits`]). Its sink names files `bf-<hash>-<run>-<n>`, where `<run>` is drawn at
//! random for each run: two runs of one input (a re-run beside a hung one, or two operators at
//! once) never write to one object, so a committed file is never replaced by another run's
//! bytes, and whichever commits first wins by `txn`. Files no commit names (a crashed run's, a
//! losing run's) are invisible to readers; vacuum removes them. Dead letters are plain JSON Lines
//! files: once every input is written, dead-letter files of these units that this run did not
//! write are deleted.
//!
//! Within one run, DynamoDB Streams records delivered more than once (same `eventID`) are
//! written once. Two input files are processed at a time, each with half the buffer budget.

use std::collections::{HashSet, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tributary_table::delta::{self, DeltaTable, TxnVersions};
use tributary_table::layout::{DEAD_LETTER_PREFIX, Table};
use tributary_table::schema::Schema;
use tributary_table::{CommitKind, Contribution, DataFile, TableError, Txn};
use tributary_transform::batch::{PartitionError, split_by_partition};
use tributary_transform::model::{DeadLetter, Origin};
use tributary_transform::{
    SequenceNumber, Sink, SinkConfig, SinkError, SinkReport, Warehouse, WarehouseError,
};

use crate::decode::{Format, SchemaDecoder, TableBatch};
use crate::read::{Chunk, spawn_reader};
use crate::source::{InputFile, SourceError, list_inputs};

/// Input files read at once.
const FILES_IN_FLIGHT: usize = 2;

/// What to backfill, and where to.
#[derive(Debug, Clone)]
pub struct BackfillConfig {
    /// A file, a directory, or `s3://bucket/prefix`.
    pub source: String,
    pub format: Format,
    /// A directory or `s3://bucket/prefix`.
    pub warehouse: String,
    pub sink: SinkConfig,
    /// Chunks decoded at once (one blocking thread each).
    pub decode_parallelism: usize,
    /// The tables written.
    pub schema: &'static Schema,
}

/// Live counters for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes_total: AtomicU64,
    pub bytes_read: Arc<AtomicU64>,
    pub records: AtomicU64,
}

/// What a backfill did.
#[derive(Debug, Default)]
pub struct BackfillReport {
    pub inputs: usize,
    pub skipped_files: usize,
    pub input_bytes: u64,
    /// Non-blank lines read.
    pub records_read: u64,
    /// Stream records dropped because their eventID was already written in this run.
    pub duplicates_skipped: u64,
    pub sink: SinkReport,
    /// Objects of an earlier run of the same inputs that this run replaced and deleted.
    pub stale_files_deleted: u64,
    /// Delta tables: (input, table) parts an earlier run committed already, left as they are.
    pub already_committed: u64,
    /// Rows of the current-state tables (`orders`, `users`) inserted or updated.
    pub state_rows_changed: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Store(#[from] tributary_table::store_probe::ProbeError),
    #[error("reading {input}: {source}")]
    Read {
        input: String,
        source: std::io::Error,
    },
    #[error("writing the records of {input}: {source}")]
    Sink { input: String, source: SinkError },
    #[error("a decoding task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Runs a backfill to the end.
pub async fn run(
    config: &BackfillConfig,
    progress: Arc<Progress>,
) -> Result<BackfillReport, BackfillError> {
    let started = Instant::now();
    let warehouse = Warehouse::open(&config.warehouse)
        .await?
        .with_schema(config.schema);
    warehouse.verify_conditional_writes().await?;
    let inputs = list_inputs(&config.source, config.format).await?;
    let mut report = BackfillReport {
        inputs: inputs.files.len(),
        skipped_files: inputs.skipped,
        input_bytes: inputs.files.iter().map(|f| f.size).sum(),
        ..Default::default()
    };
    progress
        .bytes_total
        .store(report.input_bytes, Ordering::Relaxed);
    // two inputs at a time keep both stages busy across the start and end of each file; each
    // gets its share of the buffer budget, so memory stays within --max-buffer-bytes
    let in_flight = FILES_IN_FLIGHT.min(inputs.files.len()).max(1);
    let state_writer = tributary_transform::parquet::writer_properties(config.sink.codec);
    let mut sink_config = config.sink;
    sink_config.limits.max_buffer_bytes = (sink_config.limits.max_buffer_bytes / in_flight).max(1);
    let seen = Mutex::new(EventIds::default());
    let decoder = SchemaDecoder::new(config.schema);
    let units: Vec<String> = inputs
        .files
        .iter()
        .map(|f| unit_prefix(config.format, &f.uri))
        .collect();
    let mut delta = DeltaCommits::open(&warehouse).await?;
    // an input whose rows a Delta table holds already (its txn) is not written there again
    let mut held = Vec::with_capacity(units.len());
    for unit in &units {
        held.push(delta.holding(unit).await?);
    }
    report.already_committed = held.iter().map(|h| h.len() as u64).sum();
    let run = format!("{:016x}", rand::random::<u64>());
    let mut files = futures::stream::iter(
        inputs
            .files
            .into_iter()
            .zip(units.iter().cloned())
            .zip(held),
    )
    .map(|((input, unit), held)| {
        let mut sink = Sink::new(warehouse.clone(), sink_config, format!("{unit}-{run}"));
        sink.skip_tables(held);
        let (seen, progress, decoder) = (&seen, &progress, &decoder);
        async move {
            let report = backfill_file(config, decoder, input, sink, seen, progress).await?;
            Ok::<_, BackfillError>((unit, report))
        }
    })
    .buffered(in_flight);
    while let Some(file) = files.next().await {
        let (unit, file) = file?;
        report.records_read += file.records;
        report.duplicates_skipped += file.duplicates;
        delta.add(&unit, &file.sink);
        report.sink.merge(file.sink);
    }
    drop(files);
    delta.commit().await?;
    // the current-state tables follow the change tables' commits
    for (table, refresh) in tributary_table::state::refresh_all(&warehouse, &state_writer).await? {
        report.state_rows_changed += refresh.inserted + refresh.updated;
        tracing::debug!(table = table.name(), ?refresh, "current state refreshed");
    }
    // Delta tables keep what they committed; only dead letters (plain files) are replaced
    let stale_prefixes = [DEAD_LETTER_PREFIX];
    report.stale_files_deleted =
        delete_stale(&warehouse, &stale_prefixes, &units, &report.sink).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

struct FileReport {
    records: u64,
    duplicates: u64,
    sink: SinkReport,
}

async fn backfill_file(
    config: &BackfillConfig,
    decoder: &SchemaDecoder,
    input: InputFile,
    mut sink: Sink,
    seen: &Mutex<EventIds>,
    progress: &Progress,
) -> Result<FileReport, BackfillError> {
    let uri = input.uri.clone();
    let shard: Arc<str> = uri.as_str().into();
    let format = config.format;
    let export_time_ms = input.export_time_ms.unwrap_or_default();
    let (tx, mut rx) = mpsc::channel::<Chunk>(config.decode_parallelism.max(1));
    let reader = spawn_reader(input, progress.bytes_read.clone(), tx);
    let chunks = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let sink_error = |source| BackfillError::Sink {
        input: uri.clone(),
        source,
    };
    // decode in parallel (straight into Arrow columns), drop redelivered events in order,
    // split the rows by partition in parallel: the sink only routes finished batches, so no
    // single thread does per-record work
    let parallelism = config.decode_parallelism.max(1);
    let decoded = chunks
        .map(|chunk| {
            let (decoder, shard) = (decoder.clone(), shard.clone());
            tokio::task::spawn_blocking(move || {
                decode_chunk(&decoder, format, &chunk, &shard, export_time_ms)
            })
        })
        .buffered(parallelism);
    let kept = decoded.map(|chunk| {
        let mut chunk = chunk?.map_err(|e| sink_error(SinkError::from(e)))?;
        let mut seen = seen.lock().expect("no panics while holding the lock");
        chunk.duplicates =
            drop_seen(&mut chunk.tables, &mut seen).map_err(|e| sink_error(SinkError::from(e)))?;
        Ok::<_, BackfillError>(chunk)
    });
    let mut built = kept
        .map(|chunk| async move {
            let mut chunk = chunk?;
            let tables = std::mem::take(&mut chunk.tables);
            let batches = tokio::task::spawn_blocking(move || {
                let mut batches = Vec::new();
                for t in tables {
                    let name = t.table.name();
                    batches.extend(split_by_partition(t.table, t.batch, &t.partitions).map_err(
                        |source| PartitionError::Arrow {
                            table: name,
                            source,
                        },
                    )?);
                }
                Ok::<_, PartitionError>(batches)
            })
            .await?;
            Ok::<_, BackfillError>((chunk, batches))
        })
        .buffered(parallelism);
    let (mut records, mut duplicates) = (0, 0);
    while let Some(next) = built.next().await {
        let (chunk, batches) = next?;
        records += chunk.read;
        duplicates += chunk.duplicates;
        progress.records.fetch_add(chunk.read, Ordering::Relaxed);
        let batches = batches.map_err(|e| sink_error(SinkError::from(e)))?;
        sink.push_batches(batches).await.map_err(sink_error)?;
        for letter in &chunk.letters {
            sink.dead_letter(letter).await.map_err(sink_error)?;
        }
    }
    reader.await?.map_err(|source| BackfillError::Read {
        input: uri.clone(),
        source,
    })?;
    let sink = sink.finish().await.map_err(sink_error)?;
    Ok(FileReport {
        records,
        duplicates,
        sink,
    })
}

/// One decoded chunk of an input.
#[derive(Default)]
struct DecodedLines {
    /// Non-blank lines.
    read: u64,
    /// Rows dropped as redelivered (their event id was written already in this run).
    duplicates: u64,
    tables: Vec<TableBatch>,
    letters: Vec<DeadLetter>,
}

fn decode_chunk(
    decoder: &SchemaDecoder,
    format: Format,
    chunk: &Chunk,
    shard: &Arc<str>,
    export_time_ms: i64,
) -> Result<DecodedLines, PartitionError> {
    let source: Arc<str> = "file".into();
    let mut rows = decoder.rows();
    let mut out = DecodedLines::default();
    for (line, raw) in chunk.lines() {
        out.read += 1;
        let origin = Origin {
            source: source.clone(),
            shard: shard.clone(),
            sequence: SequenceNumber::from_u64(line),
            arrival_time_ms: None,
        };
        if let Err(reason) = rows.push(format, raw, &origin, export_time_ms) {
            out.letters.push(DeadLetter {
                origin,
                format: format.name(),
                reason,
                raw: raw.to_vec(),
            });
        }
    }
    out.tables = rows.finish().map_err(|source| PartitionError::Arrow {
        table: "(a chunk)",
        source,
    })?;
    Ok(out)
}

/// Drops the rows whose event id `seen` holds (or that an earlier row of these tables had),
/// recording the others; returns how many were dropped.
fn drop_seen(tables: &mut [TableBatch], seen: &mut EventIds) -> Result<u64, PartitionError> {
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::compute::filter_record_batch;
    let mut dropped = 0;
    for table in tables {
        if table.event_ids.len() != table.batch.num_rows() {
            continue; // rows without event ids (events, export lines)
        }
        let keep: Vec<bool> = table.event_ids.iter().map(|id| seen.insert(id)).collect();
        let kept = keep.iter().filter(|k| **k).count();
        if kept == keep.len() {
            continue;
        }
        dropped += (keep.len() - kept) as u64;
        let mask = BooleanArray::from(keep.clone());
        table.batch =
            filter_record_batch(&table.batch, &mask).map_err(|source| PartitionError::Arrow {
                table: table.table.name(),
                source,
            })?;
        let mut i = 0;
        table.partitions.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let mut i = 0;
        table.event_ids.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    Ok(dropped)
}

/// `bf-<16 hex>`: a stable name for one input (FNV-1a of the format and URI, stable across
/// Rust releases, unlike `DefaultHasher`).
pub fn unit_prefix(format: Format, uri: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format.name().bytes().chain([0]).chain(uri.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("bf-{hash:016x}")
}

/// Deletes objects of `units` below `prefixes` that this run did not write; returns how many.
async fn delete_stale(
    warehouse: &Warehouse,
    prefixes: &[&str],
    units: &[String],
    written: &SinkReport,
) -> Result<u64, WarehouseError> {
    let written: HashSet<&str> = written.files.iter().map(|f| f.path.as_str()).collect();
    let units: HashSet<&str> = units.iter().map(String::as_str).collect();
    let mut deleted = 0;
    for prefix in prefixes.iter().copied() {
        for object in warehouse.list(&warehouse.path(prefix)).await? {
            let relative = warehouse.relative(&object.location);
            let name = relative.rsplit('/').next().unwrap_or_default();
            // bf-<16 hex>-<16 hex run>-<n>.<ext>
            let unit = name.get(..19).unwrap_or_default();
            if units.contains(unit) && !written.contains(relative) {
                warehouse.delete(&object.location).await?;
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// The Delta side of a backfill: each input is one writer (`txn` app id = its unit name,
/// version 1), and each table gets one commit at the end of the run with every input's files.
/// A run that dies before a table's commit left files no reader sees; the next run writes its
/// own and commits them. A table that holds an input's txn is not written again.
struct DeltaCommits {
    tables: Vec<CommitTarget>,
}

/// One table of a backfill: its log, which inputs it holds, and what this run adds.
struct CommitTarget {
    table: Table,
    delta: DeltaTable,
    txns: TxnVersions,
    contributions: Vec<Contribution>,
}

impl DeltaCommits {
    async fn open(warehouse: &Warehouse) -> Result<Self, TableError> {
        delta::refuse_plain_layout(warehouse).await?;
        let mut tables = Vec::new();
        for table in warehouse.schema().handles() {
            let delta = delta::open_or_create(warehouse, table).await?;
            tables.push(CommitTarget {
                table,
                delta,
                txns: TxnVersions::default(),
                contributions: Vec::new(),
            });
        }
        Ok(Self { tables })
    }

    /// The tables that hold `unit`'s rows already.
    async fn holding(&mut self, unit: &str) -> Result<Vec<Table>, TableError> {
        let mut held = Vec::new();
        for target in &mut self.tables {
            if target.txns.get(&target.delta, unit).await?.is_some() {
                held.push(target.table);
            }
        }
        Ok(held)
    }

    /// Keeps the data files one input wrote, for its table's commit.
    fn add(&mut self, unit: &str, written: &SinkReport) {
        for CommitTarget {
            table,
            contributions,
            ..
        } in &mut self.tables
        {
            let files: Vec<DataFile> = written
                .files
                .iter()
                .filter_map(|f| f.data.as_ref())
                .filter(|(t, _)| t == table)
                .map(|(_, file)| file.clone())
                .collect();
            if !files.is_empty() {
                contributions.push(Contribution {
                    txn: Some(Txn {
                        app_id: unit.to_string(),
                        version: 1,
                    }),
                    files,
                });
            }
        }
    }

    async fn commit(self) -> Result<(), TableError> {
        for mut target in self.tables {
            if !target.contributions.is_empty() {
                delta::commit(
                    &mut target.delta,
                    &mut target.txns,
                    target.contributions,
                    CommitKind::Backfill,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Event ids already written in this run, as 128-bit hashes (16 bytes each, however long the ids).
#[derive(Default)]
struct EventIds(HashSet<u128>);

impl EventIds {
    /// False when the id was seen before.
    fn insert(&mut self, id: &str) -> bool {
        let mut a = DefaultHasher::new();
        id.hash(&mut a);
        let mut b = DefaultHasher::new();
        (0x5bd1_e995u32, id).hash(&mut b);
        self.0
            .insert((u128::from(a.finish()) << 64) | u128::from(b.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are pinned: a re-run after an upgrade must name the same input the same way,
    /// or it would write a second copy beside the first (values from FNV-1a 64 computed
    /// independently of this code).
    #[test]
    fn unit_prefixes_are_pinned_and_distinct() {
        assert_eq!(
            unit_prefix(Format::Events, "file:///a.jsonl"),
            "bf-ca92fd786624489a"
        );
        assert_eq!(
            unit_prefix(Format::DynamodbStream, "file:///a.jsonl"),
            "bf-7c8d31939c6d195a"
        );
        assert_eq!(unit_prefix(Format::Events, "x").len(), 19);
    }

    #[test]
    fn event_ids_are_seen_once() {
        let mut ids = EventIds::default();
        assert!(ids.insert("a"));
        assert!(ids.insert("b"));
        assert!(!ids.insert("a"));
    }
}
