//! The sink: decoded records and dead letters in, Parquet and JSON Lines files out.
//!
//! Records are routed to partition buffers ([`crate::buffer`]); a full buffer is encoded to
//! Parquet on a blocking thread and written to the warehouse while decoding goes on (at most
//! [`MAX_WRITES_IN_FLIGHT`] at once, so memory stays bounded). File names are
//! `<prefix>-<n>.parquet`, where the caller's prefix names the input and `n` counts flushes:
//! the same input always produces the same names, so a replay overwrites instead of duplicating.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use tokio::task::JoinSet;

use crate::batch::{PartitionBatch, PartitionError};
use crate::buffer::{BufferKey, BufferLimits, Buffers};
use crate::dead_letters;
use crate::model::DeadLetter;
use crate::parquet::{self, Codec};
use tributary_table::layout::DEAD_LETTER_PREFIX;
use tributary_table::warehouse::{Warehouse, WarehouseError};
use tributary_table::{DataFile, Partition, Table, delta};

/// Parquet encodes in flight at once (each holds one flushed batch).
pub const MAX_WRITES_IN_FLIGHT: usize = 2;

/// Flush dead letters of one format when their text reaches this size.
const DEAD_LETTER_FILE_BYTES: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("encoding {path} failed: {source}")]
    Parquet {
        path: String,
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("a record reached the sink without a valid partition: {0}")]
    Partition(#[from] PartitionError),
    #[error("a Parquet encoding task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How the sink writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkConfig {
    pub limits: BufferLimits,
    pub codec: Codec,
}

/// A file the sink wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path below the warehouse root.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    /// For a table's data file: the table, and what a Delta commit adds (with statistics).
    pub data: Option<(Table, DataFile)>,
}

/// Which table partition a Parquet file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTarget {
    pub table: Table,
    pub partition: Partition,
}

/// What a sink wrote.
#[derive(Debug, Clone, Default)]
pub struct SinkReport {
    pub rows: BTreeMap<&'static str, u64>,
    pub dead_letters: BTreeMap<&'static str, u64>,
    pub files: Vec<WrittenFile>,
    /// Time spent waiting for encodes and writes.
    pub write_wait: Duration,
}

impl SinkReport {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    pub fn merge(&mut self, other: SinkReport) {
        for (k, v) in other.rows {
            *self.rows.entry(k).or_default() += v;
        }
        for (k, v) in other.dead_letters {
            *self.dead_letters.entry(k).or_default() += v;
        }
        self.files.extend(other.files);
        self.write_wait += other.write_wait;
    }
}

pub struct Sink {
    warehouse: Warehouse,
    config: SinkConfig,
    prefix: String,
    buffers: Buffers,
    dead: BTreeMap<&'static str, Vec<u8>>,
    flushes: u64,
    /// Tables whose rows this sink drops (their part of the input is committed already).
    skipped: BTreeSet<Table>,
    writes: JoinSet<Result<WrittenFile, SinkError>>,
    report: SinkReport,
}

impl Sink {
    /// A sink whose files are named `<file_prefix>-<n>`.
    pub fn new(warehouse: Warehouse, config: SinkConfig, file_prefix: String) -> Self {
        Self {
            warehouse,
            config,
            prefix: file_prefix,
            buffers: Buffers::new(config.limits),
            dead: BTreeMap::new(),
            flushes: 0,
            skipped: BTreeSet::new(),
            writes: JoinSet::new(),
            report: SinkReport::default(),
        }
    }

    /// Drops the rows of `tables` instead of writing (or counting) them.
    pub fn skip_tables(&mut self, tables: impl IntoIterator<Item = Table>) {
        self.skipped.extend(tables);
    }

    /// Adds batches built by [`crate::batch::split_by_partition`] (on worker threads), flushing buffers as the
    /// limits say.
    pub async fn push_batches(&mut self, batches: Vec<PartitionBatch>) -> Result<(), SinkError> {
        for batch in batches {
            if self.skipped.contains(&batch.table) {
                continue;
            }
            *self.report.rows.entry(batch.table.name()).or_default() +=
                batch.batch.num_rows() as u64;
            if let Some(key) = self.buffers.push(batch) {
                self.flush(key).await?;
            }
        }
        Ok(())
    }

    /// Keeps a dead letter; they are written with the records.
    pub async fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), SinkError> {
        *self.report.dead_letters.entry(letter.format).or_default() += 1;
        let text = self.dead.entry(letter.format).or_default();
        dead_letters::append_line(text, letter);
        if text.len() >= DEAD_LETTER_FILE_BYTES {
            self.flush_dead_letters(letter.format).await?;
        }
        Ok(())
    }

    fn next_name(&mut self, extension: &str) -> String {
        self.flushes += 1;
        format!("{}-{:06}.{extension}", self.prefix, self.flushes)
    }

    async fn flush(&mut self, key: BufferKey) -> Result<(), SinkError> {
        let (table, partition) = key;
        let batches = self.buffers.take(key);
        if batches.is_empty() {
            return Ok(());
        }
        let relative = format!(
            "{}/{}/{}",
            table.name(),
            partition.path(),
            self.next_name("parquet")
        );
        let target = FileTarget { table, partition };
        while self.writes.len() >= MAX_WRITES_IN_FLIGHT {
            self.join_one().await?;
        }
        let warehouse = self.warehouse.clone();
        let codec = self.config.codec;
        self.writes
            .spawn(async move { write_parquet(warehouse, relative, target, batches, codec).await });
        Ok(())
    }

    async fn flush_dead_letters(&mut self, format: &'static str) -> Result<(), SinkError> {
        let Some(text) = self.dead.remove(format) else {
            return Ok(());
        };
        let relative = format!("{DEAD_LETTER_PREFIX}/{format}/{}", self.next_name("jsonl"));
        let path = self.warehouse.path(&relative);
        let lines = text.iter().filter(|b| **b == b'\n').count() as u64;
        let bytes = text.len() as u64;
        self.warehouse.put(&path, Bytes::from(text)).await?;
        self.report.files.push(WrittenFile {
            path: relative,
            rows: lines,
            bytes,
            data: None,
        });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), SinkError> {
        let started = Instant::now();
        if let Some(result) = self.writes.join_next().await {
            self.report.files.push(result??);
        }
        self.report.write_wait += started.elapsed();
        Ok(())
    }

    /// Flushes every buffer and waits until all files are written.
    pub async fn finish(mut self) -> Result<SinkReport, SinkError> {
        for key in self.buffers.keys() {
            self.flush(key).await?;
        }
        let formats: Vec<_> = self.dead.keys().copied().collect();
        for format in formats {
            self.flush_dead_letters(format).await?;
        }
        while !self.writes.is_empty() {
            self.join_one().await?;
        }
        Ok(self.report)
    }
}

/// Encodes `batches` as one Parquet file (on a blocking thread) and writes it to `relative`,
/// which lies in the directory of `target`'s partition. The batches are written in the types of
/// the table's Delta data files, and the file's statistics are kept for the commit.
pub async fn write_parquet(
    warehouse: Warehouse,
    relative: String,
    target: FileTarget,
    batches: Vec<RecordBatch>,
    codec: Codec,
) -> Result<WrittenFile, SinkError> {
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let (encoded, stats) = {
        let relative = relative.clone();
        tokio::task::spawn_blocking(move || {
            let parquet_error = |source| SinkError::Parquet {
                path: relative.clone(),
                source,
            };
            let batches = batches
                .iter()
                .map(|b| delta::conform(target.table, b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| parquet_error(e.into()))?;
            let stats = Some(tributary_table::stats::of_batches(&batches));
            let encoded = parquet::encode(&batches, codec).map_err(parquet_error)?;
            Ok::<_, SinkError>((encoded, stats))
        })
        .await??
    };
    let bytes = encoded.len() as u64;
    warehouse.put(&warehouse.path(&relative), encoded).await?;
    let in_table = relative
        .strip_prefix(target.table.name())
        .map(|p| p.trim_start_matches('/'))
        .unwrap_or(&relative)
        .to_string();
    Ok(WrittenFile {
        data: Some((
            target.table,
            DataFile {
                path: in_table,
                partition: target.partition,
                bytes,
                rows,
                stats,
            },
        )),
        path: relative,
        rows,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{order, origin};

    #[tokio::test]
    async fn writes_partitioned_files_with_deterministic_names() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let run = |wh: Warehouse| async move {
            let mut sink = Sink::new(wh, SinkConfig::default(), "bf-abc".into());
            for i in 0..10 {
                sink.push_batches(vec![order(i, 6)]).await.unwrap();
            }
            sink.dead_letter(&DeadLetter {
                origin: origin(11),
                format: "dynamodb-stream",
                reason: "x".into(),
                raw: b"{".to_vec(),
            })
            .await
            .unwrap();
            sink.finish().await.unwrap()
        };
        let first = run(wh.clone()).await;
        let second = run(wh.clone()).await;
        assert_eq!(first.rows["order_changes"], 10);
        assert_eq!(first.dead_letters["dynamodb-stream"], 1);
        let names = |r: &SinkReport| {
            let mut names = r.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
            names.sort();
            names
        };
        assert_eq!(
            names(&first),
            vec![
                "dead_letters/dynamodb-stream/bf-abc-000002.jsonl",
                "order_changes/year=2026/month=01/day=06/bf-abc-000001.parquet"
            ]
        );
        assert_eq!(names(&first), names(&second));
        assert_eq!(wh.list(&wh.path("")).await.unwrap().len(), 2);
    }
}
