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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
pub use deltalake_core::DeltaTable;
pub use deltalake_core::DeltaTableError;
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
pub use crate::txn::TxnVersions;
use crate::warehouse::Warehouse;

/// Log entries between two Delta checkpoints (the protocol's default is 100; a worker that
/// commits every few seconds reaches that within minutes, and a reader then replays at most
/// this many JSON entries after the last checkpoint).
pub const CHECKPOINT_INTERVAL: u64 = 100;

/// How long log entries stay (`delta.logRetentionDuration`): as long as `tributary vacuum`
/// keeps replaced files by default, since time travel further back finds no files anyway.
/// The protocol's default of 30 days would keep 2.6 million entries of a table committed every
/// second.
pub const LOG_RETENTION: &str = "interval 7 days";

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
    #[error("{url}: {what} (version {version}); this writer's new files are left for vacuum")]
    Superseded {
        url: String,
        what: String,
        version: u64,
    },
    #[error(
        "a retention of {retain} is below the floor of {floor}: it could delete the files of a \
         flush written but not yet committed, or of a running query; pass \
         --allow-short-retention if no writer and no reader is running"
    )]
    RetentionTooShort { retain: String, floor: String },
    #[error("reading back the data file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("writing a log entry: {reason}")]
    Entry { reason: String },
    #[error("inspecting {url}: {source}")]
    Store {
        url: String,
        source: object_store::Error,
    },
    /// The schema declares a table differently from the table in the warehouse, in a way
    /// that is not a new column.
    #[error("table {table}: {reason}")]
    SchemaChange { table: String, reason: String },
}

impl TableError {
    /// Whether another writer's commit won the race for the versions this one needed (a
    /// conflict Delta's checks found, or a version taken): trying again on the new snapshot
    /// may succeed.
    pub fn is_conflict(&self) -> bool {
        match self {
            TableError::Delta { source, .. } => matches!(
                source.as_ref(),
                DeltaTableError::Transaction { .. } | DeltaTableError::VersionAlreadyExists(_)
            ),
            TableError::Superseded { .. } => true,
            _ => false,
        }
    }
}

/// How a reader is told about the tables (`tributary ddl --as`). Every table is written as a
/// Delta table; its data files also lie in `year=/month=/day=` directories, which a reader
/// without Delta support can list as a plain Hive table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// The Parquet files in the `year=/month=/day=` directories, every file listed, committed
    /// or not (and replaced by compaction or not).
    Hive,
    /// The tables through their Delta logs: committed files only.
    #[default]
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
    /// The writers of those contributions, each with the `txn` version the table holds.
    pub held: BTreeMap<String, i64>,
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

/// The Arrow schema of a table as Delta stores it ([`crate::schema::TableDef::delta_schema`]):
/// its columns, then `year`, `month`, `day` as `int`, timestamps as UTC microseconds.
pub fn arrow_schema(table: Table) -> SchemaRef {
    table.def().delta_schema()
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

/// Refuses a warehouse in the plain Hive layout of earlier versions (Parquet files, no log).
pub async fn refuse_plain_layout(warehouse: &Warehouse) -> Result<(), TableError> {
    for table in warehouse.schema().handles() {
        // only LISTs: the snapshots are loaded by whoever opens the tables next
        if !has_log(warehouse, table).await? {
            refuse_plain_files(warehouse, table).await?;
        }
    }
    Ok(())
}

/// [`TableError::PlainLayout`] when a table without a log has data files.
async fn refuse_plain_files(warehouse: &Warehouse, table: Table) -> Result<(), TableError> {
    if has_objects(warehouse, table.name(), |p| p.ends_with(".parquet")).await? {
        return Err(TableError::PlainLayout {
            url: warehouse.table_url(table.name()),
        });
    }
    Ok(())
}

/// Describes a data file already written below `table` (at `path`, relative to the table's
/// directory) as a commit adds it: its size, rows and statistics, read back from the file. A
/// recovery uses it for files whose writer died before committing them.
pub async fn describe_file(
    warehouse: &Warehouse,
    table: Table,
    path: &str,
) -> Result<DataFile, TableError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use object_store::ObjectStoreExt as _;
    let relative = format!("{}/{path}", table.name());
    let failed = |reason: String| TableError::File {
        path: relative.clone(),
        reason,
    };
    let partition = Partition::of_path(path)
        .ok_or_else(|| failed("the path names no year=/month=/day= partition".into()))?;
    let bytes = warehouse
        .store()
        .get(&warehouse.path(&relative))
        .await
        .map_err(|source| TableError::Store {
            url: warehouse.table_url(&relative),
            source,
        })?
        .bytes()
        .await
        .map_err(|source| TableError::Store {
            url: warehouse.table_url(&relative),
            source,
        })?;
    let size = bytes.len() as u64;
    let batches = tokio::task::spawn_blocking(move || {
        ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| failed(e.to_string()))?
    .map_err(failed)?;
    Ok(DataFile {
        path: path.to_string(),
        partition,
        bytes: size,
        rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
        stats: Some(crate::stats::of_batches(&batches)),
    })
}

/// Whether a table has a Delta log (is a Delta table).
pub async fn has_log(warehouse: &Warehouse, table: Table) -> Result<bool, TableError> {
    has_log_named(warehouse, table.name()).await
}

pub(crate) async fn has_log_named(warehouse: &Warehouse, name: &str) -> Result<bool, TableError> {
    has_objects(warehouse, &format!("{name}/_delta_log"), |_| true).await
}

/// The Arrow schema of a table's data files: [`arrow_schema`] without the partition columns
/// (Hive directories carry those).
pub fn file_schema(table: Table) -> SchemaRef {
    without_partition_columns(&arrow_schema(table))
}

/// A table schema (its columns, then `year`, `month`, `day`) without the partition columns.
pub fn without_partition_columns(schema: &Schema) -> SchemaRef {
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
    open_named(warehouse, table.name()).await
}

/// [`open_if_logged`] by the table's directory name.
pub(crate) async fn open_named(
    warehouse: &Warehouse,
    name: &str,
) -> Result<Option<DeltaTable>, TableError> {
    if has_log_named(warehouse, name).await? {
        load_named(warehouse, name).await.map(Some)
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
    refuse_plain_files(warehouse, table).await?;
    Ok(None)
}

/// Loads the latest snapshot of a table that has a log.
async fn load(warehouse: &Warehouse, table: Table) -> Result<DeltaTable, TableError> {
    load_named(warehouse, table.name()).await
}

async fn load_named(warehouse: &Warehouse, name: &str) -> Result<DeltaTable, TableError> {
    let mut delta = DeltaTable::new(log_store(warehouse, name));
    delta
        .load()
        .await
        .map_err(|e| delta_error(&table_url(warehouse, name), e))?;
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
///
/// A directory with data files but no log is not refused here (a writer's files may precede
/// its table's creation): writers refuse a warehouse in the plain layout once, at their start,
/// with [`refuse_plain_layout`].
pub async fn open_or_create(warehouse: &Warehouse, table: Table) -> Result<DeltaTable, TableError> {
    open_or_create_named(warehouse, table.name(), &arrow_schema(table)).await
}

/// [`open_or_create`] for the table in directory `name`, with Arrow schema `schema` whose last
/// columns are the partition columns.
pub(crate) async fn open_or_create_named(
    warehouse: &Warehouse,
    name: &str,
    schema: &Schema,
) -> Result<DeltaTable, TableError> {
    if let Some(delta) = open_named(warehouse, name).await? {
        return evolve(warehouse, name, delta, schema).await;
    }
    let url = table_url(warehouse, name);
    let columns: StructType = schema
        .try_into_kernel()
        .expect("every column type of the layout has a Delta type");
    let created = CreateBuilder::new()
        .with_log_store(log_store(warehouse, name))
        .with_table_name(name)
        .with_columns(columns.fields().cloned())
        .with_partition_columns(PARTITION_COLUMNS)
        .with_save_mode(SaveMode::Ignore)
        .with_configuration_property(
            deltalake_core::TableProperty::CheckpointInterval,
            Some(CHECKPOINT_INTERVAL.to_string()),
        )
        .with_configuration_property(
            deltalake_core::TableProperty::LogRetentionDuration,
            Some(LOG_RETENTION.to_string()),
        )
        .await;
    match created {
        Ok(delta) => Ok(delta),
        Err(e) => {
            debug!(table = name, error = %e, "creating the table failed; loading it");
            match open_named(warehouse, name).await? {
                Some(delta) => Ok(delta),
                None => Err(delta_error(&url, e)),
            }
        }
    }
}

/// What the declared schema adds to the table's: its new columns, or why it is not only that.
fn new_columns(
    table: &str,
    existing: &StructType,
    declared: &StructType,
) -> Result<Vec<deltalake_core::kernel::StructField>, TableError> {
    let refused = |reason: String| TableError::SchemaChange {
        table: table.to_string(),
        reason,
    };
    for field in existing.fields() {
        let Some(wanted) = declared.field(field.name()) else {
            return Err(refused(format!(
                "the warehouse has a column {} that the schema does not declare; a column cannot be removed (declare it again; a query need not read it)",
                field.name()
            )));
        };
        if wanted.data_type() != field.data_type() {
            return Err(refused(format!(
                "column {} is {} in the warehouse and {} in the schema; a column's type cannot change: give the new type a new column name, or declare a new table and backfill it",
                field.name(),
                field.data_type(),
                wanted.data_type()
            )));
        }
        if wanted.is_nullable() != field.is_nullable() {
            return Err(refused(format!(
                "column {} is {} in the warehouse and {} in the schema; whether a column is required cannot change",
                field.name(),
                if field.is_nullable() {
                    "optional"
                } else {
                    "required"
                },
                if wanted.is_nullable() {
                    "optional"
                } else {
                    "required"
                },
            )));
        }
    }
    let mut added = Vec::new();
    for field in declared.fields() {
        if existing.field(field.name()).is_some() {
            continue;
        }
        if !field.is_nullable() {
            return Err(refused(format!(
                "the new column {} is required, and the rows written before it have no value there: declare it optional",
                field.name()
            )));
        }
        added.push(field.clone());
    }
    Ok(added)
}

/// Brings an existing table to its declared columns: a column the schema adds is added to the
/// table's schema (older files read as NULL there); anything else that differs is refused.
/// Two writers adding the same columns at once: the loser finds them there and goes on.
async fn evolve(
    warehouse: &Warehouse,
    name: &str,
    mut delta: DeltaTable,
    schema: &Schema,
) -> Result<DeltaTable, TableError> {
    let declared: StructType = schema
        .try_into_kernel()
        .expect("every column type of the layout has a Delta type");
    for _ in 0..MAX_COMMIT_ATTEMPTS {
        let existing = delta.snapshot().map_err(|e| error_of(&delta, e))?.schema();
        let added = new_columns(name, &existing, &declared)?;
        if added.is_empty() {
            return Ok(delta);
        }
        let url = delta.table_url().clone();
        let names: Vec<String> = added.iter().map(|f| f.name().to_string()).collect();
        match delta.clone().add_columns().with_fields(added).await {
            Ok(evolved) => {
                tracing::info!(table = name, columns = ?names, "columns added to the table");
                return Ok(evolved);
            }
            Err(e) => {
                debug!(table = name, error = %e, "adding columns lost a race; loading the table");
                delta = match open_named(warehouse, name).await? {
                    Some(reloaded) => reloaded,
                    None => return Err(delta_error(&url, e)),
                };
            }
        }
    }
    Err(TableError::SchemaChange {
        table: name.to_string(),
        reason: "adding the new columns kept losing races with other writers".into(),
    })
}

/// The latest version of `app_id` the table holds.
pub async fn txn_version(delta: &DeltaTable, app_id: &str) -> Result<Option<i64>, TableError> {
    let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
    snapshot
        .transaction_version(delta.log_store().as_ref(), app_id)
        .await
        .map_err(|e| error_of(delta, e))
}

/// Removes the log entries older than the table's log retention that a checkpoint covers (the
/// protocol's log cleanup). A failure only leaves entries for the next cleanup to remove.
pub(crate) async fn clean_up_log(delta: &DeltaTable, version: u64) {
    let retention = match delta.snapshot() {
        Ok(snapshot) => {
            use deltalake_core::table::config::TablePropertiesExt as _;
            snapshot.table_config().log_retention_duration()
        }
        Err(_) => return,
    };
    let cutoff = chrono::Utc::now().timestamp_millis() - retention.as_millis() as i64;
    match deltalake_core::protocol::checkpoints::cleanup_expired_logs_for(
        version,
        delta.log_store().as_ref(),
        cutoff,
        None,
    )
    .await
    {
        Ok(removed) => debug!(url = %delta.table_url(), removed, "expired log entries removed"),
        Err(e) => {
            tracing::warn!(url = %delta.table_url(), error = %e, "log cleanup failed; the next checkpoint tries again")
        }
    }
}

fn error_of(delta: &DeltaTable, source: DeltaTableError) -> TableError {
    delta_error(delta.table_url(), source)
}

pub(crate) fn add_action(file: &DataFile, now_ms: i64) -> Action {
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

/// What a commit adds for a set of contributions: the files and `txn`s of those the table
/// does not hold yet.
pub(crate) struct Selection {
    pub report: CommitReport,
    pub adds: Vec<Action>,
    pub txns: Vec<Transaction>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.txns.is_empty()
    }
}

/// Where [`select`] learns the `txn` versions a table holds.
pub(crate) enum Held<'a> {
    /// As of this snapshot ([`TxnVersions::get`]).
    At(&'a DeltaTable),
    /// As of the entries learned after this snapshot ([`TxnVersions::get_after`]).
    After(&'a DeltaTable),
}

/// Selects the contributions whose `txn` version is newer than the table holds (a contribution
/// without a `txn` always). The protocol allows one `txn` per app id in a commit; a second
/// contribution of the same writer in one group (a zombie's and its successor's) is the same
/// flush, and is counted as already committed.
pub(crate) async fn select(
    contributions: &[Contribution],
    now_ms: i64,
    txns: &mut TxnVersions,
    held: Held<'_>,
) -> Result<Selection, TableError> {
    let mut selected = Selection {
        report: CommitReport::default(),
        adds: Vec::new(),
        txns: Vec::new(),
    };
    let mut in_this_commit: HashMap<&str, i64> = HashMap::new();
    for c in contributions {
        if let Some(txn) = &c.txn {
            let held = match held {
                Held::At(delta) => txns.get(delta, &txn.app_id).await?,
                Held::After(base) => txns.get_after(base, &txn.app_id).await?,
            };
            let grouped = in_this_commit.get(txn.app_id.as_str()).copied();
            if let Some(held) = held.max(grouped).filter(|v| *v >= txn.version) {
                selected.report.already_committed += 1;
                selected.report.held.insert(txn.app_id.clone(), held);
                continue;
            }
            in_this_commit.insert(&txn.app_id, txn.version);
            selected.txns.push(Transaction::new_with_last_update(
                &txn.app_id,
                txn.version,
                Some(now_ms),
            ));
        }
        selected
            .adds
            .extend(c.files.iter().map(|f| add_action(f, now_ms)));
        selected.report.files += c.files.len();
    }
    Ok(selected)
}

/// How a commit of `kind` is labelled in the table's history.
pub(crate) fn operation(kind: CommitKind, now_ms: i64) -> DeltaOperation {
    match kind {
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
    }
}

/// The table's `delta.checkpointInterval`.
pub(crate) fn checkpoint_interval(delta: &DeltaTable) -> Result<u64, TableError> {
    use deltalake_core::table::config::TablePropertiesExt as _;
    let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
    Ok(snapshot.table_config().checkpoint_interval().get())
}

/// Writes a checkpoint of `delta`'s snapshot. A failure is logged, not returned: the table stays
/// correct, readers replay more entries until the next checkpoint.
pub(crate) async fn write_checkpoint(delta: &DeltaTable) -> bool {
    match deltalake_core::checkpoints::create_checkpoint(delta, None).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(url = %delta.table_url(), version = ?delta.version(), error = %e, "writing a checkpoint failed; readers replay the log until the next one");
            false
        }
    }
}

/// Commits the files of every contribution whose `txn` the table does not hold yet, in one
/// Delta commit with one `txn` action per contribution. A concurrent commit of other files is
/// resolved by writing the next version; one that carries the same `app_id` (a zombie worker,
/// or a recovery racing the original) makes this commit re-read the log and drop what the other
/// one already committed. Nothing is lost: either this commit or an earlier one holds each
/// contribution when this returns `Ok`.
///
/// `txns` remembers the writers' versions between commits on the same handle; pass a fresh
/// one for a single commit.
pub async fn commit(
    delta: &mut DeltaTable,
    txns: &mut TxnVersions,
    contributions: Vec<Contribution>,
    kind: CommitKind,
) -> Result<CommitReport, TableError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        delta.update_state().await.map_err(|e| error_of(delta, e))?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let selected = select(&contributions, now_ms, txns, Held::At(delta)).await?;
        if selected.is_empty() {
            return Ok(selected.report);
        }
        let Selection {
            mut report,
            adds: mut actions,
            txns: new_txns,
        } = selected;
        actions.extend(new_txns.into_iter().map(Action::Txn));
        let operation = operation(kind, now_ms);
        let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
        // from CommitProperties, not CommitBuilder::default(): only that runs the post-commit
        // hook that writes a checkpoint every CHECKPOINT_INTERVAL versions and expires old logs
        // log cleanup lists the whole log: run it only after a checkpoint (below), not on
        // every commit as delta-rs would
        let properties = CommitProperties::default().with_cleanup_expired_logs(Some(false));
        let result = CommitBuilder::from(properties)
            .with_actions(actions)
            .with_max_retries(MAX_COMMIT_ATTEMPTS)
            .build(Some(snapshot), delta.log_store(), operation)
            .await;
        match result {
            Ok(done) => {
                let version = done.version();
                report.version = Some(version);
                // the post-commit hook brought its copy of the snapshot to this version: take
                // it rather than update ours again (each snapshot update that finds new
                // versions re-reads the statistics of every live file of the table)
                delta.state = Some(done.snapshot());
                // right after the hook's checkpoint (at 99, 199, ...)
                if (version + 1).is_multiple_of(CHECKPOINT_INTERVAL) {
                    clean_up_log(delta, version).await;
                }
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

/// How many times [`commit_if`] builds its commit again on a newer version.
const MAX_CONDITIONAL_ATTEMPTS: usize = 100;

/// Commits `actions` as exactly the next version of the table, provided `precondition` holds
/// on the newest snapshot, and returns that version. delta-rs's own retries would check its
/// conflict rules instead of ours (and they let a second removal with `dataChange: false` of
/// an already replaced file through), so each attempt writes only the version after the
/// snapshot it checked (no retries inside delta-rs, put-if-absent): a commit that lands
/// between the check and the write takes that version, the write fails, and the next attempt
/// checks again on the newer snapshot. The check and the write are thus one step in the log's
/// order. A failed precondition ends the commit with its error.
pub(crate) async fn commit_if(
    delta: &mut DeltaTable,
    actions: Vec<Action>,
    operation: DeltaOperation,
    precondition: impl Fn(&DeltaTable) -> Result<(), TableError>,
) -> Result<u64, TableError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        precondition(delta)?;
        let snapshot = delta.snapshot().map_err(|e| error_of(delta, e))?;
        let properties = CommitProperties::default().with_cleanup_expired_logs(Some(false));
        let result = CommitBuilder::from(properties)
            .with_actions(actions.clone())
            .with_max_retries(0)
            .build(Some(snapshot), delta.log_store(), operation.clone())
            .await
            .map_err(|e| error_of(delta, e));
        match result {
            Ok(done) => {
                let version = done.version();
                delta.state = Some(done.snapshot());
                return Ok(version);
            }
            Err(e) if e.is_conflict() && attempts < MAX_CONDITIONAL_ATTEMPTS => {
                debug!(url = %delta.table_url(), attempts, "a commit took the version: checking again");
                delta.update_state().await.map_err(|e| error_of(delta, e))?;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::datatypes::DataType;

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

    pub(crate) fn contribution(app: &str, version: i64, names: &[&str]) -> Contribution {
        Contribution {
            txn: Some(Txn {
                app_id: app.into(),
                version,
            }),
            files: names.iter().map(|n| file(n)).collect(),
        }
    }

    /// The names of the table's live files, sorted.
    pub(crate) async fn files(delta: &DeltaTable) -> Vec<String> {
        let mut f: Vec<String> = delta
            .get_file_uris()
            .unwrap()
            .map(|u| u.rsplit('/').next().unwrap().to_string())
            .collect();
        f.sort();
        f
    }

    /// A stream commit that must succeed.
    async fn stream(
        delta: &mut DeltaTable,
        txns: &mut TxnVersions,
        contributions: Vec<Contribution>,
    ) -> CommitReport {
        commit(delta, txns, contributions, CommitKind::Stream)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_repeated_txn_is_a_no_op_and_several_writers_share_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        assert!(open(&wh, Table::builtin("events")).await.unwrap().is_none());
        let mut delta = open_or_create(&wh, Table::builtin("events")).await.unwrap();
        let mut txns = TxnVersions::default();
        let first = stream(
            &mut delta,
            &mut txns,
            vec![
                contribution("kinesis-s/shard-1", 1, &["a"]),
                contribution("kinesis-s/shard-2", 1, &["b", "c"]),
            ],
        )
        .await;
        assert_eq!((first.version, first.files), (Some(1), 3));
        // shard-1's flush again (a recovery), with shard-2's next flush
        let second = stream(
            &mut delta,
            &mut txns,
            vec![
                contribution("kinesis-s/shard-1", 1, &["a"]),
                contribution("kinesis-s/shard-2", 2, &["d"]),
            ],
        )
        .await;
        assert_eq!(
            (second.version, second.files, second.already_committed),
            (Some(2), 1, 1)
        );
        let nothing = stream(
            &mut delta,
            &mut txns,
            vec![contribution("kinesis-s/shard-2", 2, &["d"])],
        )
        .await;
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
        let mut other = open(&wh, Table::builtin("events")).await.unwrap().unwrap();
        assert_eq!(files(&other).await.len(), 4);
        // a commit through the other handle: the first handle's remembered versions learn it
        // from the log entry and take the same flush as a no-op
        let elsewhere = stream(
            &mut other,
            &mut TxnVersions::default(),
            vec![contribution("kinesis-s/shard-2", 3, &["e"])],
        )
        .await;
        assert_eq!(elsewhere.version, Some(3));
        let repeated = stream(
            &mut delta,
            &mut txns,
            vec![contribution("kinesis-s/shard-2", 3, &["e"])],
        )
        .await;
        assert_eq!((repeated.version, repeated.already_committed), (None, 1));
        assert_eq!(files(&delta).await.len(), 5);
    }

    #[tokio::test]
    async fn racing_writers_both_land_and_a_racing_duplicate_lands_once() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let (a, b) = tokio::join!(
            open_or_create(&wh, Table::builtin("order_changes")),
            open_or_create(&wh, Table::builtin("order_changes"))
        );
        let (mut a, mut b) = (a.unwrap(), b.unwrap());
        let mut tasks = Vec::new();
        for i in 0..8 {
            let mut handle = if i % 2 == 0 {
                open(&wh, Table::builtin("order_changes"))
                    .await
                    .unwrap()
                    .unwrap()
            } else {
                b.clone()
            };
            tasks.push(tokio::spawn(async move {
                // writers 0-5 commit their own flushes; 6 and 7 both commit writer 0's
                let app = if i >= 6 { 0 } else { i };
                commit(
                    &mut handle,
                    &mut TxnVersions::default(),
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
        let err = open(&wh, Table::builtin("events")).await.unwrap_err();
        assert!(matches!(err, TableError::PlainLayout { .. }), "{err}");
        assert!(err.to_string().contains("no Delta log"), "{err}");
    }

    #[tokio::test]
    async fn a_new_column_is_added_and_other_changes_are_refused() {
        use datafusion::arrow::datatypes::Field;
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let schema = |columns: Vec<Field>| {
            let mut fields = columns;
            fields.extend(PARTITION_COLUMNS.map(|c| Field::new(c, DataType::Int32, false)));
            Schema::new(fields)
        };
        let a = || Field::new("a", DataType::Utf8, true);
        let b = || Field::new("b", DataType::Int64, true);
        open_or_create_named(&wh, "t", &schema(vec![a()]))
            .await
            .unwrap();
        let t = open_or_create_named(&wh, "t", &schema(vec![a(), b()]))
            .await
            .unwrap();
        assert!(t.snapshot().unwrap().schema().field("b").is_some());
        let version = t.version();
        let again = open_or_create_named(&wh, "t", &schema(vec![a(), b()]))
            .await
            .unwrap();
        assert_eq!(again.version(), version, "nothing new: no commit");
        let refused = |columns: Vec<Field>| {
            let wh = wh.clone();
            async move {
                open_or_create_named(&wh, "t", &schema(columns))
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let e = refused(vec![Field::new("a", DataType::Int64, true), b()]).await;
        assert!(
            e.contains("table t: column a is string in the warehouse and long in the schema"),
            "{e}"
        );
        let e = refused(vec![b()]).await;
        assert!(e.contains("cannot be removed"), "{e}");
        let e = refused(vec![a(), b(), Field::new("c", DataType::Int64, false)]).await;
        assert!(e.contains("declare it optional"), "{e}");
        let e = refused(vec![Field::new("a", DataType::Utf8, false), b()]).await;
        assert!(e.contains("optional in the warehouse and required"), "{e}");
    }

    #[test]
    fn partition_columns_are_ints_after_the_columns() {
        let schema = arrow_schema(Table::builtin("events"));
        let n = schema.fields().len();
        for (i, c) in PARTITION_COLUMNS.iter().enumerate() {
            assert_eq!(schema.field(n - 3 + i).name(), c);
            assert_eq!(schema.field(n - 3 + i).data_type(), &DataType::Int32);
        }
        assert_eq!(partition_values(&day(5))["month"].as_deref(), Some("1"));
        for table in crate::schema::Schema::builtin().handles() {
            let _: StructType = arrow_schema(table)
                .as_ref()
                .try_into_kernel()
                .expect("a Delta type for every column");
        }
    }
}
