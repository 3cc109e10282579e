//! Current-state tables: `orders` and `users`, one row per key with its latest state, kept up
//! to date from the change tables by MERGE.
//!
//! ```text
//! order_changes (append-only log) ──new files since version h──▶ latest change per order_id
//!        ──MERGE (only if newer)──▶ orders, with txn("state/order_changes", v)
//! ```
//! A refresh folds the changes committed to the change table after the version its state
//! table holds (`txn` app id `state/<change table>`, version = the change table's version) into
//! the state table, in one MERGE: a row is replaced only by a change that is newer (greater
//! `last_change_time`, ties broken by `sequence_number`, as the `orders` view orders them), and
//! inserted if its key is new. Deleted keys stay, with `deleted = true` and the state they had
//! before the delete (what a REMOVE's old image carries), so the MERGE does not depend on the
//! order in which changes arrive, and the named queries count an order on its creation day
//! whatever happened to it later.
//!
//! Because the MERGE only ever moves a row forward, folding the same changes twice changes
//! nothing: a refresh that a crash interrupted, or two workers refreshing at once, end with the
//! same table. The `txn` only spares the work. A change table's files that the log no longer
//! lists one by one (its log cleaned up), or a state table that holds no version yet, are
//! folded from the change table's whole snapshot instead.
//!
//! Rows are partitioned by the key's creation day, like the change rows; the MERGE matches on
//! the key and the partition, so it reads only the partitions that the new changes touch. The
//! creation time of a key never changes in the shop's items; a change that moved it to another
//! day would leave the old day's row behind (documented in the README).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext, lit};
use deltalake_core::kernel::transaction::CommitProperties;
use deltalake_core::kernel::{Action, Transaction};
use deltalake_core::parquet::file::properties::WriterProperties;
use tracing::debug;

use crate::catalog::WarehouseTable;
use crate::delta::{self, DeltaTable, TableError};
use crate::layout::{PARTITION_COLUMNS, Partition, Table};
use crate::schema::STATE_COLUMNS;
use crate::warehouse::Warehouse;

/// Attempts of a refresh that lost a race to another writer of the state table.
const MAX_ATTEMPTS: usize = 10;

/// A current-state table and the change table it follows: a change table of the schema that
/// declares `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateTable(Table);

impl StateTable {
    /// The state table that follows `changes`, if it declares one.
    pub fn of(changes: Table) -> Option<Self> {
        changes.def().state.as_ref().map(|_| Self(changes))
    }

    /// A state table of the built-in (shop) schema: `orders` or `users`.
    ///
    /// # Panics
    /// When the shop has no state table of that name.
    pub fn builtin(name: &str) -> Self {
        crate::schema::Schema::builtin()
            .state_tables()
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("the shop has no state table {name}"))
    }

    fn def(self) -> &'static crate::schema::StateDef {
        self.0
            .def()
            .state
            .as_ref()
            .expect("made only of tables with a state")
    }

    pub fn name(self) -> &'static str {
        &self.def().name
    }

    /// The change table whose rows this table folds.
    pub fn changes(self) -> Table {
        self.0
    }

    /// The key: one row per combination of values.
    pub fn key(self) -> &'static [String] {
        &self.def().key
    }

    /// The columns of the entity, as the change table has them: the declared ones and the
    /// rest column.
    pub fn entity_columns(self) -> Vec<String> {
        self.0
            .def()
            .item_fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// Every column, in table order: the entity's, `deleted`, `last_change_time`,
    /// `sequence_number`, then the partition columns.
    pub fn columns(self) -> Vec<String> {
        let mut columns = self.entity_columns();
        columns.extend(STATE_COLUMNS.iter().map(|c| c.to_string()));
        columns.extend(PARTITION_COLUMNS.iter().map(|c| c.to_string()));
        columns
    }

    /// The Arrow schema, in the Delta types of the change table's columns.
    pub fn schema(self) -> SchemaRef {
        let changes = delta::arrow_schema(self.changes());
        let field = |name: &str| -> Field {
            changes
                .field_with_name(name)
                .expect("a column of the change table")
                .clone()
        };
        let mut fields: Vec<Field> = self.entity_columns().iter().map(|c| field(c)).collect();
        fields.push(Field::new("deleted", DataType::Boolean, false));
        fields.push(field("change_time").with_name("last_change_time"));
        fields.push(field("sequence_number"));
        fields.extend(PARTITION_COLUMNS.iter().map(|c| field(c)));
        Arc::new(Schema::new(fields))
    }

    /// The `txn` app id under which this table records the change table's version it holds.
    fn app_id(self) -> String {
        format!("state/{}", self.changes().name())
    }

    /// `t.a = s.a AND t.b = s.b AND` the partition: the MERGE's match of a key.
    fn merge_on(self) -> String {
        self.key()
            .iter()
            .map(String::as_str)
            .chain(PARTITION_COLUMNS)
            .map(|c| {
                let c = quoted(c);
                format!("t.{c} = s.{c}")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The key columns, quoted, comma-separated.
    fn key_list(self) -> String {
        self.key()
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A column name as a SQL identifier (declared names may be any lower-case text).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refresh {
    /// The change table's version the state table holds now.
    pub changes_version: Option<u64>,
    /// Change rows read.
    pub changes_read: u64,
    /// Keys inserted and updated.
    pub inserted: u64,
    pub updated: u64,
    /// Whether the change table's whole snapshot was folded (first build, or a cleaned log).
    pub full: bool,
}

/// Opens a current-state table, if it exists.
pub async fn open(
    warehouse: &Warehouse,
    table: StateTable,
) -> Result<Option<DeltaTable>, TableError> {
    delta::open_named(warehouse, table.name()).await
}

/// Folds what the change table committed since the last refresh into `table`.
pub async fn refresh(
    warehouse: &Warehouse,
    table: StateTable,
    writer: &WriterProperties,
) -> Result<Refresh, TableError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match refresh_once(warehouse, table, writer).await {
            Err(e) if attempt < MAX_ATTEMPTS && e.is_conflict() => {
                debug!(table = table.name(), error = %e, attempt, "state refresh lost a race; again");
            }
            done => return done,
        }
    }
}

/// Refreshes every current-state table.
pub async fn refresh_all(
    warehouse: &Warehouse,
    writer: &WriterProperties,
) -> Result<Vec<(StateTable, Refresh)>, TableError> {
    let mut done = Vec::new();
    for table in warehouse.schema().state_tables() {
        done.push((table, refresh(warehouse, table, writer).await?));
    }
    Ok(done)
}

async fn refresh_once(
    warehouse: &Warehouse,
    table: StateTable,
    writer: &WriterProperties,
) -> Result<Refresh, TableError> {
    let Some(changes) = delta::open_if_logged(warehouse, table.changes()).await? else {
        return Ok(Refresh::default());
    };
    let Some(version) = changes.version() else {
        return Ok(Refresh::default());
    };
    let state = delta::open_or_create_named(warehouse, table.name(), &table.schema()).await?;
    let held = delta::txn_version(&state, &table.app_id()).await?;
    if held.is_some_and(|h| h as u64 >= version) {
        return Ok(Refresh {
            changes_version: Some(version),
            ..Refresh::default()
        });
    }
    if held.is_none() && is_empty(&state)? {
        return build(warehouse, table, &changes, version, state, writer).await;
    }
    let new_files = match held {
        Some(h) => added_since(&changes, h as u64, version).await?,
        None => None,
    };
    let full = new_files.is_none();
    let ctx = crate::files::context(warehouse).map_err(|e| df(warehouse, table, e))?;
    let source: Option<DataFrame> = match new_files {
        // an empty change table: nothing to fold (a MERGE would commit nothing, and the
        // version would never be recorded)
        None if changes
            .get_file_uris()
            .map_err(|e| delta::delta_error(changes.table_url(), e))?
            .next()
            .is_none() =>
        {
            None
        }
        None => {
            let provider = changes
                .table_provider()
                .await
                .map_err(|e| df(warehouse, table, e))?;
            Some(
                ctx.read_table(provider)
                    .map_err(|e| df(warehouse, table, e))?,
            )
        }
        Some(files) if files.is_empty() => None,
        Some(files) => Some(
            read_files(&ctx, warehouse, table.changes(), &files)
                .await
                .map_err(|e| df(warehouse, table, e))?,
        ),
    };
    let txn = Transaction::new(table.app_id(), version as i64);
    let properties = CommitProperties::default()
        .with_application_transaction(txn.clone())
        .with_cleanup_expired_logs(Some(false));
    let Some(source) = source else {
        // nothing new to fold (the change table's new versions only rewrote files): record
        // the version, so the next refresh starts after it
        let mut state = state;
        delta::commit(
            &mut state,
            &mut delta::TxnVersions::default(),
            vec![delta::Contribution {
                txn: Some(delta::Txn {
                    app_id: table.app_id(),
                    version: version as i64,
                }),
                files: vec![],
            }],
            delta::CommitKind::Stream,
        )
        .await?;
        return Ok(Refresh {
            changes_version: Some(version),
            full,
            ..Refresh::default()
        });
    };
    ctx.register_table("changes", source.into_view())
        .map_err(|e| df(warehouse, table, e))?;
    let latest = ctx
        .sql(&latest_sql(table))
        .await
        .map_err(|e| df(warehouse, table, e))?;
    let on = table.merge_on();
    let newer = "s.last_change_time > t.last_change_time OR \
                 (s.last_change_time = t.last_change_time AND \
                  coalesce(s.sequence_number, '') > coalesce(t.sequence_number, ''))";
    let columns = table.columns();
    let url = state.table_url().clone();
    let merged = state
        .merge(latest, on)
        .with_source_alias("s")
        .with_target_alias("t")
        .with_commit_properties(properties)
        .with_writer_properties(writer.clone())
        .when_matched_update(|update| {
            columns.iter().fold(update.predicate(newer), |u, c| {
                u.update(c.as_str(), format!("s.{}", quoted(c)))
            })
        })
        .and_then(|merge| {
            merge.when_not_matched_insert(|insert| {
                columns
                    .iter()
                    .fold(insert, |i, c| i.set(c.as_str(), format!("s.{}", quoted(c))))
            })
        })
        .map_err(|e| delta::delta_error(&url, e))?
        .await;
    let (_, metrics) = merged.map_err(|e| delta::delta_error(&url, e))?;
    debug!(
        table = table.name(),
        version,
        full,
        source_rows = metrics.num_source_rows,
        inserted = metrics.num_target_rows_inserted,
        updated = metrics.num_target_rows_updated,
        "state refreshed"
    );
    Ok(Refresh {
        changes_version: Some(version),
        changes_read: metrics.num_source_rows as u64,
        inserted: metrics.num_target_rows_inserted as u64,
        updated: metrics.num_target_rows_updated as u64,
        full,
    })
}

fn is_empty(state: &DeltaTable) -> Result<bool, TableError> {
    Ok(state
        .get_file_uris()
        .map_err(|e| delta::delta_error(state.table_url(), e))?
        .next()
        .is_none())
}

/// Partitions built at once by [`build`].
const BUILD_PARALLELISM: usize = 2;

/// Builds an empty state table from the change table's whole snapshot (version `version`),
/// partition by partition: a key's whole history lies in its creation day's partition, so the
/// latest rows of a partition come from that partition's change files alone, and memory
/// follows the largest partition, not the table. Each partition's rows are written as one
/// file sorted by the key; one commit adds them all, with the `txn` of `version`, and only onto
/// a state table that is still empty at the version it writes ([`delta::commit_if`]). A second
/// builder racing this one (two workers starting together, a backfill beside a worker) writes
/// files of its own names, finds the first build committed, and ends with a conflict; the
/// refresh then folds in what the first build did not hold, by MERGE.
async fn build(
    warehouse: &Warehouse,
    table: StateTable,
    changes: &DeltaTable,
    version: u64,
    mut state: DeltaTable,
    writer: &WriterProperties,
) -> Result<Refresh, TableError> {
    use futures::{StreamExt, TryStreamExt};
    let snapshot = changes
        .snapshot()
        .map_err(|e| delta::delta_error(changes.table_url(), e))?;
    let mut partitions: BTreeMap<Partition, Vec<String>> = BTreeMap::new();
    let mut changes_read = 0;
    for file in snapshot.log_data().iter() {
        let path = file.path().to_string();
        changes_read += file.num_records().unwrap_or(0) as u64;
        if let Some(partition) = Partition::of_path(&path) {
            partitions.entry(partition).or_default().push(path);
        }
    }
    let schema = WarehouseTable::State(table).file_schema();
    let latest = format!("{} ORDER BY {}", latest_sql(table), table.key_list());
    let build_id = uuid::Uuid::new_v4().simple().to_string();
    let build_id = build_id.as_str();
    let one_partition = |(partition, files): (Partition, Vec<String>)| {
        let (schema, latest) = (schema.clone(), latest.clone());
        async move {
            let ctx = crate::files::context(warehouse).map_err(|e| df(warehouse, table, e))?;
            let frame = read_files(&ctx, warehouse, table.changes(), &files)
                .await
                .map_err(|e| df(warehouse, table, e))?;
            ctx.register_table("changes", frame.into_view())
                .map_err(|e| df(warehouse, table, e))?;
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let batches = ctx
                .sql(&latest)
                .await
                .and_then(|frame| frame.select_columns(&columns))
                .map_err(|e| df(warehouse, table, e))?
                .collect()
                .await
                .map_err(|e| df(warehouse, table, e))?;
            // the rows in the file schema's exact types (nullability included)
            let batches = batches
                .iter()
                .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| df(warehouse, table, e.into()))?;
            // a name of this build's own: a racing build never overwrites committed files
            let name = format!("build-v{version:020}-{build_id}.parquet");
            crate::files::write(
                warehouse,
                table.name(),
                partition,
                &name,
                schema,
                batches,
                writer,
            )
            .await
        }
    };
    let files: Vec<delta::DataFile> = futures::stream::iter(partitions)
        .map(one_partition)
        .buffer_unordered(BUILD_PARALLELISM)
        .try_collect()
        .await?;
    let inserted = files.iter().map(|f| f.rows).sum();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut actions: Vec<Action> = files.iter().map(|f| delta::add_action(f, now_ms)).collect();
    actions.push(Action::Txn(Transaction::new(
        table.app_id(),
        version as i64,
    )));
    let still_empty = |state: &DeltaTable| {
        if is_empty(state)? {
            return Ok(());
        }
        Err(TableError::Superseded {
            url: state.table_url().to_string(),
            what: "another build of the table committed first".into(),
            version: state.version().unwrap_or_default(),
        })
    };
    let operation = delta::operation(delta::CommitKind::Backfill, now_ms);
    let committed = delta::commit_if(&mut state, actions, operation, still_empty).await?;
    debug!(
        table = table.name(),
        version, inserted, committed, "state built"
    );
    Ok(Refresh {
        changes_version: Some(version),
        changes_read,
        inserted,
        updated: 0,
        full: true,
    })
}

/// The latest change per key among `changes`, in the state table's columns.
fn latest_sql(table: StateTable) -> String {
    let entity = table
        .entity_columns()
        .iter()
        .map(|c| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    let key = table.key_list();
    format!(
        "SELECT {entity}, operation = 'REMOVE' AS deleted, change_time AS last_change_time, \
         sequence_number, CAST(year AS INT) AS year, CAST(month AS INT) AS month, \
         CAST(day AS INT) AS day \
         FROM (SELECT *, row_number() OVER (PARTITION BY {key} \
               ORDER BY change_time DESC, sequence_number DESC NULLS LAST) AS rn FROM changes) \
         WHERE rn = 1"
    )
}

/// The data files (paths below the table) that versions `after + 1 ..= to` of `changes` added
/// as new data; `None` when a version's entry is gone (the log was cleaned up).
async fn added_since(
    changes: &DeltaTable,
    after: u64,
    to: u64,
) -> Result<Option<Vec<String>>, TableError> {
    let store = changes.log_store();
    let mut files = Vec::new();
    for version in after + 1..=to {
        let entry = store
            .read_commit_entry(version)
            .await
            .map_err(|e| delta::delta_error(changes.table_url(), e))?;
        let Some(bytes) = entry else {
            return Ok(None);
        };
        let actions = deltalake_core::logstore::get_actions(version, &bytes)
            .map_err(|e| delta::delta_error(changes.table_url(), e))?;
        files.extend(actions.into_iter().filter_map(|a| match a {
            Action::Add(add) if add.data_change => Some(add.path),
            _ => None,
        }));
    }
    Ok(Some(files))
}

/// The rows of some data files of `table`, with the partition columns of their directories:
/// one scan per partition (a refresh after a long pause may fold thousands of files, and a
/// union of one plan per file costs the optimizer far more than reading them).
async fn read_files(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    table: Table,
    files: &[String],
) -> datafusion::error::Result<DataFrame> {
    let schema = delta::file_schema(table);
    let root = warehouse.table_url(table.name());
    let mut by_partition: BTreeMap<Partition, Vec<String>> = BTreeMap::new();
    for file in files {
        let partition = Partition::of_path(file).ok_or_else(|| {
            datafusion::error::DataFusionError::Plan(format!(
                "{file} of {} is in no year=/month=/day= directory",
                table.name()
            ))
        })?;
        by_partition
            .entry(partition)
            .or_default()
            .push(format!("{}/{file}", root.trim_end_matches('/')));
    }
    let mut union: Option<DataFrame> = None;
    for (partition, urls) in by_partition {
        let frame = ctx
            .read_parquet(urls, ParquetReadOptions::default().schema(&schema))
            .await?
            .with_column("year", lit(partition.year))?
            .with_column("month", lit(partition.month as i32))?
            .with_column("day", lit(partition.day as i32))?;
        union = Some(match union {
            None => frame,
            Some(all) => all.union(frame)?,
        });
    }
    union.ok_or_else(|| datafusion::error::DataFusionError::Plan("no files".into()))
}

fn df(
    warehouse: &Warehouse,
    table: StateTable,
    e: datafusion::error::DataFusionError,
) -> TableError {
    TableError::File {
        path: warehouse.table_url(table.name()),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;

    use super::*;
    use crate::testing::{append, file};

    /// Rows and distinct keys of the `users` table.
    async fn users(wh: &Warehouse) -> (i64, i64) {
        let users = open(wh, StateTable::builtin("users"))
            .await
            .unwrap()
            .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("users", users.table_provider().await.unwrap())
            .unwrap();
        let batches = ctx
            .sql("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM users")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let n = |c: usize| {
            batches[0]
                .column(c)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0)
        };
        (n(0), n(1))
    }

    #[tokio::test]
    async fn of_two_first_builds_only_one_lands_and_the_refresh_folds_in_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let writer = WriterProperties::default();
        let table = StateTable::builtin("users");
        append(
            &wh,
            Table::builtin("user_changes"),
            vec![file(&wh, Table::builtin("user_changes"), "a", 10).await],
        )
        .await;
        let at_first = delta::open(&wh, Table::builtin("user_changes"))
            .await
            .unwrap()
            .unwrap();
        let schema = table.schema();
        let empty = || delta::open_or_create_named(&wh, table.name(), &schema);
        let first_state = empty().await.unwrap();
        append(
            &wh,
            Table::builtin("user_changes"),
            vec![file(&wh, Table::builtin("user_changes"), "b", 5).await],
        )
        .await;
        let at_second = delta::open(&wh, Table::builtin("user_changes"))
            .await
            .unwrap()
            .unwrap();
        let second_state = empty().await.unwrap();
        let (v1, v2) = (at_first.version().unwrap(), at_second.version().unwrap());
        assert!(v2 > v1);

        // both builders found the state table empty; the one that read the older version
        // commits first, then the other one
        build(&wh, table, &at_first, v1, first_state, &writer)
            .await
            .unwrap();
        assert_eq!(users(&wh).await, (10, 10));
        let err = build(&wh, table, &at_second, v2, second_state, &writer)
            .await
            .unwrap_err();
        assert!(
            matches!(err, TableError::Superseded { .. }) && err.is_conflict(),
            "{err}"
        );
        assert_eq!(users(&wh).await, (10, 10), "no key twice");

        // the next refresh folds in the change table's later version
        let done = refresh(&wh, table, &writer).await.unwrap();
        assert_eq!((done.changes_version, done.full), (Some(v2), false));
        assert_eq!(users(&wh).await, (15, 15));
    }
}
