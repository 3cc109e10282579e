//! The tables as Delta Lake tables: created on first use, changed only by atomic commits.
//!
//! ```text
//! <warehouse>/<table>/_delta_log/00000000000000000000.json   the log: what the table is
//! <warehouse>/<table>/year=YYYY/month=MM/day=DD/<file>.parquet  data files (Hive directories)
//! ```
//! A data file is part of the table only once a commit adds it, so readers (ours, Athena,
//! DuckDB, Spark) see a whole flush or none of it. Each commit may carry `txn` actions, one per
//! writer (`app_id`) and flush (`version`): [`commit`] skips a contribution whose `txn` the
//! table already holds, which makes a repeated or recovered commit a no-op. Commits are
//! `PutMode::Create` writes of the next log entry (S3 conditional writes, `O_EXCL` locally), so
//! two writers never both win a version; a loser re-reads the log and tries the next one.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
pub use deltalake_core::DeltaTable;
use deltalake_core::DeltaTableError;
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, Add, StructType, Transaction};
use deltalake_core::logstore::{LogStoreRef, StorageConfig, default_logstore};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, OutputMode, SaveMode};
use object_store::ObjectStore;
use object_store::prefix::PrefixStore;
use tracing::debug;
use url::Url;

use crate::layout::{PARTITION_COLUMNS, Partition, Table};
use crate::warehouse::Warehouse;

/// Log entries between two Delta checkpoints (the protocol's default is 100; a worker that
/// commits every few seconds reaches that within minutes, and a reader then replays at most
/// this many JSON entries after the last checkpoint).
pub const CHECKPOINT_INTERVAL: u64 = 100;

/// Commit attempts before giving up on a contended table (each one re-reads the log).
const MAX_COMMIT_ATTEMPTS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("Delta table {url}: {source}")]
    Delta {
        url: String,
        source: Box<DeltaTableError>,
    },
    #[error(
        "{url} holds Parquet files but no Delta log: it is a warehouse in the plain Hive layout of \
         earlier versions, which this version neither reads nor writes; backfill into a new \
         warehouse"
    )]
    PlainLayout { url: String },
    #[error(
        "{url} is a Delta table; writing plain Parquet files next to it would leave them \
         invisible to its readers (write with --table-format delta)"
    )]
    DeltaTableExists { url: String },
    #[error("inspecting {url}: {source}")]
    Store {
        url: String,
        source: object_store::Error,
    },
}

/// How a writer lays out a table. Delta is the target layout of every table; Hive (plain
/// Parquet directories, today's default) stays until the stream worker commits to Delta too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// Parquet files in `year=/month=/day=` directories, visible as soon as they are written.
    #[default]
    Hive,
    /// The same directories, with a Delta log that makes each commit atomic.
    Delta,
}

impl std::str::FromStr for TableFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hive" => Ok(TableFormat::Hive),
            "delta" => Ok(TableFormat::Delta),
            other => Err(format!(
                "unknown table format {other:?} (expected hive or delta)"
            )),
        }
    }
}

/// A writer's claim on a commit: `app_id` identifies the writer (a source and shard, or a
/// backfill input), `version` grows with each of its flushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub app_id: String,
    pub version: i64,
}

/// A data file written below a table's directory, not yet part of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Path below the table's directory: `year=2026/month=01/day=05/<name>.parquet`.
    pub path: String,
    pub partition: Partition,
    pub bytes: u64,
    pub rows: u64,
    /// Delta file statistics (JSON), for data skipping by readers.
    pub stats: Option<String>,
}

/// What one writer adds in one commit: its files, under its `txn` (if it has one).
#[derive(Debug, Clone, Default)]
pub struct Contribution {
    pub txn: Option<Txn>,
    pub files: Vec<DataFile>,
}

/// What a commit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// The table version written; `None` when every contribution was already committed.
    pub version: Option<u64>,
    pub files: usize,
    /// Contributions skipped because the table already holds their `txn`.
    pub already_committed: usize,
}

/// How a commit is labelled in the table's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitKind {
    /// A backfill run appending files.
    Backfill,
    /// A stream worker's flushes.
    Stream,
}

/// The object-store-backed log of one table: Delta's default log store over the warehouse's
/// store, with the table's directory as its root. S3 has had conditional writes (If-None-Match)
/// since 2024 and object_store uses them for `PutMode::Create`, so this log store's
/// put-if-absent commit is atomic on S3 as it is on a local disk: no lock table is needed.
fn log_store(warehouse: &Warehouse, table: &str) -> LogStoreRef {
    let url = table_url(warehouse, table);
    let prefixed: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(
        warehouse.store().clone(),
        warehouse.path(table),
    ));
    default_logstore(
        prefixed,
        warehouse.store().clone(),
        &url,
        &StorageConfig::default(),
    )
}

fn table_url(warehouse: &Warehouse, table: &str) -> Url {
    Url::parse(&warehouse.table_url(table)).expect("a warehouse URL joined with a table name")
}

pub(crate) fn delta_error(url: &Url, source: DeltaTableError) -> TableError {
    TableError::Delta {
        url: url.to_string(),
        source: Box::new(source),
    }
}

/// The Arrow schema of a table as Delta stores it: its columns, then `year`, `month`, `day` as
/// `int`. Timestamps are Delta's `timestamp` (microseconds, UTC-adjusted: the type every Delta
/// reader knows, shown by Athena as `timestamp(3) with time zone`), not `timestamp_ntz`, which
/// needs a table feature that not every reader has.
pub fn arrow_schema(table: Table) -> Schema {
    let mut fields: Vec<Field> = table
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(_, _) => f.as_ref().clone().with_data_type(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into()),
            )),
            _ => f.as_ref().clone(),
        })
        .collect();
    fields.extend(
        PARTITION_COLUMNS
            .iter()
            .map(|c| Field::new(*c, DataType::Int32, false)),
    );
    Schema::new(fields)
}

fn delta_schema(table: Table) -> StructType {
    (&arrow_schema(table))
        .try_into_kernel()
        .expect("every column type of the layout has a Delta type")
}

/// The partition values of a file, as Delta writes them (`int` columns: no zero padding).
pub fn partition_values(partition: &Partition) -> HashMap<String, Option<String>> {
    let [y, m, d] = PARTITION_COLUMNS;
    HashMap::from([
        (y.to_string(), Some(partition.year.to_string())),
        (m.to_string(), Some(partition.month.to_string())),
        (d.to_string(), Some(partition.day.to_string())),
    ])
}

/// Refuses to write plain files into a warehouse whose tables are Delta tables.
pub async fn ensure_not_delta(warehouse: &Warehouse) -> Result<(), TableError> {
    for table in Table::ALL {
        if has_log(warehouse, table).await? {
            return Err(TableError::DeltaTableExists {
                url: warehouse.table_url(table.name()),
            });
        }
    }
    Ok(())
}

/// Whether a table has a Delta log (is a Delta table).
pub async fn has_log(warehouse: &Warehouse, table: Table) -> Result<bool, TableError> {
    has_objects(warehouse, &format!("{}/_delta_log", table.name()), |_| true).await
}

/// The Arrow schema of a table's data files: [`arrow_schema`] without the partition columns
/// (Hive directories carry those).
pub fn file_schema(table: Table) -> SchemaRef {
    let schema = arrow_schema(table);
    let n = schema.fields().len() - PARTITION_COLUMNS.len();
    Arc::new(Schema::new(schema.fields()[..n].to_vec()))
}

/// A batch of a table's layout schema in the types of its Delta data files (timestamps as
/// UTC microseconds).
pub fn conform(table: Table, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = file_schema(table);
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// Opens a table that has a Delta log; `None` for any other (a plain Hive directory, or
/// nothing), which readers of both layouts take as "not a Delta table".
pub async fn open_if_logged(
    warehouse: &Warehouse,
    table: Table,
) -> Result<Option<DeltaTable>, TableError> {
    if has_log(warehouse, table).await? {
        load(warehouse, table).await.map(Some)
    } else {
        Ok(None)
    }
}

/// Opens a table; `None` if it has no Delta log yet. A directory with data files but no log
/// (the plain layout of earlier versions) is refused with [`TableError::PlainLayout`].
pub async fn open(warehouse: &Warehouse, table: Table) -> Result<Option<DeltaTable>, TableError> {
    // the kernel reports a missing local directory and an empty one differently; one LIST of
    // the log's prefix answers both ways the same
    if has_log(warehouse, table).await? {
        return load(warehouse, table).await.map(Some);
    }
    if has_objects(warehouse, table.name(), |p| p.ends_with(".parquet")).await? {
        return Err(TableError::PlainLayout {
            url: warehouse.table_url(table.name()),
        });
    }
    Ok(None)
}

/// Loads the latest snapshot of a table that has a log.
async fn load(warehouse: &Warehouse, table: Table) -> Result<DeltaTable, TableError> {
    let mut delta = DeltaTable::new(log_store(warehouse, table.name()));
    delta
        .load()
        .await
        .map_err(|e| delta_error(&table_url(warehouse, table.name()), e))?;
    Ok(delta)
}

/// Whether any object below `relative` (recursively) has a path that `wanted` accepts.
async fn has_objects(
    warehouse: &Warehouse,
    relative: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<bool, TableError> {
    use futures::StreamExt;
    let prefix = warehouse.path(relative);
    let mut listing = warehouse.store().list(Some(&prefix));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|source| TableError::Store {
            url: warehouse.table_url(relative),
            source,
        })?;
        if wanted(meta.location.as_ref()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Opens a table, creating it (empty, with its schema and partition columns) if it has no log.
/// Two writers creating it at once both end with the same table: the loser of the race for
/// version 0 loads the winner's.
pub async fn open_or_create(warehouse: &Warehouse, table: Table) -> Result<DeltaTable, TableError> {
    if let Some(delta) = open(warehouse, table).await? {
        return Ok(delta);
    }
    let name = table.name();
    let url = table_url(warehouse, name);
    let created = CreateBuilder::new()
        .with_log_store(log_store(warehouse, name))
        .with_table_name(name)
        .with_columns(delta_schema(table).fields().cloned())
        .with_partition_columns(PARTITION_COLUMNS)
        .with_save_mode(SaveMode::Ignore)
        .with_configuration_property(
            deltalake_core::TableProperty::CheckpointInterval,
            Some(CHECKPOINT_INTERVAL.to_string()),
        )
        .await;
    match created {
        Ok(delta) => Ok(delta),
        Err(e) => {
            debug!(table = name, error = %e, "creating the table failed; loading it");
            match open(warehouse, table).await? {
                Some(delta) => Ok(delta),
                None => Err(delta_error(&url, e)),
            }
        }
    }
}

/// The latest version of `app_id` the table holds.
pub async fn txn_version(delta: &DeltaTable, app_id: &str) -> Result<Option<i64>, TableError> {
    let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
    snapshot
        .transaction_version(delta.log_store().as_ref(), app_id)
        .await
        .map_err(|e| error_of(delta, e))
}

fn error_of(delta: &DeltaTable, source: DeltaTableError) -> TableError {
    delta_error(delta.table_url(), source)
}

fn add_action(file: &DataFile, now_ms: i64) -> Action {
    Action::Add(Add {
        path: file.path.clone(),
        partition_values: partition_values(&file.partition),
        size: file.bytes as i64,
        modification_time: now_ms,
        data_change: true,
        stats: file.stats.clone(),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    })
}

/// Commits the files of every contribution whose `txn` the table does not hold yet, in one
/// Delta commit with one `txn` action per contribution. A concurrent commit of other files is
/// resolved by writing the next version; one that carries the same `app_id` (a zombie worker,
/// or a recovery racing the original) makes this commit re-read the log and drop what the other
/// one already committed. Nothing is lost: either this commit or an earlier one holds each
/// contribution when this returns `Ok`.
pub async fn commit(
    delta: &mut DeltaTable,
    contributions: Vec<Contribution>,
    kind: CommitKind,
) -> Result<CommitReport, TableError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        delta.update_state().await.map_err(|e| error_of(delta, e))?;
        let mut report = CommitReport::default();
        let mut actions = Vec::new();
        let now_ms = chrono::Utc::now().timestamp_millis();
        for c in &contributions {
            if let Some(txn) = &c.txn {
                let held = txn_version(delta, &txn.app_id).await?;
                if held.is_some_and(|v| v >= txn.version) {
                    report.already_committed += 1;
                    continue;
                }
            }
            actions.extend(c.files.iter().map(|f| add_action(f, now_ms)));
            report.files += c.files.len();
            if let Some(txn) = &c.txn {
                actions.push(Action::Txn(Transaction::new_with_last_update(
                    &txn.app_id,
                    txn.version,
                    Some(now_ms),
                )));
            }
        }
        if actions.is_empty() {
            return Ok(report);
        }
        let operation = match kind {
            CommitKind::Backfill => DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: None,
                predicate: None,
            },
            CommitKind::Stream => DeltaOperation::StreamingUpdate {
                output_mode: OutputMode::Append,
                query_id: "tributary".into(),
                epoch_id: now_ms,
            },
        };
        let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
        // from CommitProperties, not CommitBuilder::default(): only that runs the post-commit
        // hook that writes a checkpoint every CHECKPOINT_INTERVAL versions and expires old logs
        let result = CommitBuilder::from(CommitProperties::default())
            .with_actions(actions)
            .with_max_retries(MAX_COMMIT_ATTEMPTS)
            .build(Some(snapshot), delta.log_store(), operation)
            .await;
        match result {
            Ok(done) => {
                report.version = Some(done.version());
                delta.update_state().await.map_err(|e| error_of(delta, e))?;
                return Ok(report);
            }
            Err(DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(conflict),
            }) if attempts < MAX_COMMIT_ATTEMPTS => {
                debug!(url = %delta.table_url(), %conflict, attempts, "commit conflict; re-reading the log");
            }
            Err(e) => return Err(error_of(delta, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> Partition {
        Partition {
            year: 2026,
            month: 1,
            day: d,
        }
    }

    fn file(name: &str) -> DataFile {
        DataFile {
            path: format!("{}/{name}.parquet", day(5).path()),
            partition: day(5),
            bytes: 10,
            rows: 1,
            stats: None,
        }
    }

    fn contribution(app: &str, version: i64, names: &[&str]) -> Contribution {
        Contribution {
            txn: Some(Txn {
                app_id: app.into(),
                version,
            }),
            files: names.iter().map(|n| file(n)).collect(),
        }
    }

    async fn files(delta: &DeltaTable) -> Vec<String> {
        let mut f: Vec<String> = delta
            .get_file_uris()
            .unwrap()
            .map(|u| u.rsplit('/').next().unwrap().to_string())
            .collect();
        f.sort();
        f
    }

    #[tokio::test]
    async fn a_repeated_txn_is_a_no_op_and_several_writers_share_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        assert!(open(&wh, Table::Events).await.unwrap().is_none());
        let mut delta = open_or_create(&wh, Table::Events).await.unwrap();
        let first = commit(
            &mut delta,
            vec![
                contribution("kinesis-s/shard-1", 1, &["a"]),
                contribution("kinesis-s/shard-2", 1, &["b", "c"]),
            ],
            CommitKind::Stream,
        )
        .await
        .unwrap();
        assert_eq!((first.version, first.files), (Some(1), 3));
        // shard-1's flush again (a recovery), with shard-2's next flush
        let second = commit(
            &mut delta,
            vec![
                contribution("kinesis-s/shard-1", 1, &["a"]),
                contribution("kinesis-s/shard-2", 2, &["d"]),
            ],
            CommitKind::Stream,
        )
        .await
        .unwrap();
        assert_eq!(
            (second.version, second.files, second.already_committed),
            (Some(2), 1, 1)
        );
        let nothing = commit(
            &mut delta,
            vec![contribution("kinesis-s/shard-2", 2, &["d"])],
            CommitKind::Stream,
        )
        .await
        .unwrap();
        assert_eq!(nothing.version, None);
        assert_eq!(
            files(&delta).await,
            vec!["a.parquet", "b.parquet", "c.parquet", "d.parquet"]
        );
        assert_eq!(
            txn_version(&delta, "kinesis-s/shard-2").await.unwrap(),
            Some(2)
        );
        // a second handle on the same table sees the same state
        let other = open(&wh, Table::Events).await.unwrap().unwrap();
        assert_eq!(files(&other).await.len(), 4);
    }

    #[tokio::test]
    async fn racing_writers_both_land_and_a_racing_duplicate_lands_once() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let (a, b) = tokio::join!(
            open_or_create(&wh, Table::OrderChanges),
            open_or_create(&wh, Table::OrderChanges)
        );
        let (mut a, mut b) = (a.unwrap(), b.unwrap());
        let mut tasks = Vec::new();
        for i in 0..8 {
            let mut handle = if i % 2 == 0 {
                open(&wh, Table::OrderChanges).await.unwrap().unwrap()
            } else {
                b.clone()
            };
            tasks.push(tokio::spawn(async move {
                // writers 0-5 commit their own flushes; 6 and 7 both commit writer 0's
                let app = if i >= 6 { 0 } else { i };
                commit(
                    &mut handle,
                    vec![contribution(&format!("w{app}"), 1, &[&format!("f{app}")])],
                    CommitKind::Stream,
                )
                .await
                .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        a.update_state().await.unwrap();
        assert_eq!(
            files(&a).await,
            (0..6).map(|i| format!("f{i}.parquet")).collect::<Vec<_>>()
        );
        b.update_state().await.unwrap();
        assert_eq!(txn_version(&b, "w0").await.unwrap(), Some(1));
    }

    #[tokio::test]
    async fn a_plain_hive_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        wh.put(
            &wh.path("events/year=2026/month=01/day=05/a.parquet"),
            bytes::Bytes::from_static(b"PAR1"),
        )
        .await
        .unwrap();
        let err = open(&wh, Table::Events).await.unwrap_err();
        assert!(matches!(err, TableError::PlainLayout { .. }), "{err}");
        assert!(err.to_string().contains("no Delta log"), "{err}");
    }

    #[test]
    fn partition_columns_are_ints_after_the_columns() {
        let schema = arrow_schema(Table::Events);
        let n = schema.fields().len();
        for (i, c) in PARTITION_COLUMNS.iter().enumerate() {
            assert_eq!(schema.field(n - 3 + i).name(), c);
            assert_eq!(schema.field(n - 3 + i).data_type(), &DataType::Int32);
        }
        assert_eq!(partition_values(&day(5))["month"].as_deref(), Some("1"));
        let _ = delta_schema(Table::OrderChanges);
    }
}
