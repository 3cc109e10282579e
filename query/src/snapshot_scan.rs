//! A Delta table read by DataFusion's own Parquet scan. The files of the loaded snapshot (their
//! paths, sizes, partition values and row counts) come from the log, so a query lists nothing;
//! files are skipped before any is opened, by their partition values (exactly) and by the
//! column bounds the log carries; what remains is a plain `DataSourceExec` over Parquet, so
//! everything DataFusion does for Parquet applies: reading only the leaves of a struct that a
//! query names, row-group and page pruning, filter pushdown, answers from statistics.
//!
//! Only tables that a Delta reader of version 1 can read are taken (no deletion vectors, no
//! column mapping, nothing else a reader must apply to a file's rows); for any other,
//! [`provider`] returns delta-rs's own provider, which implements the whole reader protocol.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::listing::helpers::expr_applicable_for_cols;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchemaBuilder;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use tributary_table::Warehouse;
use tributary_table::delta::{DeltaTable, DeltaTableError};

/// The provider for `delta`: a [`SnapshotTable`] when a version-1 reader can read the table,
/// else delta-rs's provider.
pub async fn provider(
    warehouse: &Warehouse,
    name: &str,
    delta: DeltaTable,
    session: Arc<datafusion::execution::SessionState>,
) -> Result<Arc<dyn TableProvider>> {
    match SnapshotTable::try_new(warehouse, name, delta.clone())? {
        Some(table) => Ok(Arc::new(table)),
        None => Ok(delta.table_provider().with_session(session).await?),
    }
}

/// One loaded snapshot of a Delta table, scanned as Parquet files.
#[derive(Debug)]
pub struct SnapshotTable {
    /// The table's columns: the data files' columns, then the partition columns.
    schema: SchemaRef,
    file_schema: SchemaRef,
    partition_fields: Vec<FieldRef>,
    store_url: ObjectStoreUrl,
    /// The snapshot's files, in the order of its log data (the order pruning answers in).
    files: Vec<PartitionedFile>,
    delta: DeltaTable,
}

impl SnapshotTable {
    /// `None` when the table needs more of a reader than plain Parquet files.
    fn try_new(warehouse: &Warehouse, name: &str, delta: DeltaTable) -> Result<Option<Self>> {
        let state = delta.snapshot().map_err(delta_error)?;
        if state.protocol().min_reader_version() != 1 {
            return Ok(None);
        }
        let logical = state.snapshot().arrow_schema();
        let partition_columns = state.metadata().partition_columns().to_vec();
        // in the order the metadata names them, as the values are listed
        let partition_fields = partition_columns
            .iter()
            .map(|c| Ok(Arc::new(logical.field_with_name(c)?.clone())))
            .collect::<Result<Vec<FieldRef>>>()?;
        let file_fields: Vec<FieldRef> = logical
            .fields()
            .iter()
            .filter(|f| !partition_columns.contains(f.name()))
            .cloned()
            .collect();
        let file_schema = Arc::new(Schema::new(file_fields.clone()));
        let schema = Arc::new(Schema::new(
            file_fields
                .into_iter()
                .chain(partition_fields.iter().cloned())
                .collect::<Vec<_>>(),
        ));
        let root = warehouse.path(name);
        let mut files = Vec::new();
        for file in state.log_data().iter() {
            let raw = file.partition_values_map();
            let values = partition_fields
                .iter()
                .map(|f| match raw.get(f.name()).cloned().flatten() {
                    Some(text) => ScalarValue::try_from_string(text, f.data_type()),
                    None => ScalarValue::try_from(f.data_type()),
                })
                .collect::<Result<Vec<_>>>()?;
            let rows = file.num_records();
            let path = format!("{}/{}", root.as_ref(), file.object_store_path().as_ref());
            let statistics = file_statistics(&file_schema, &values, rows, file.size());
            files.push(
                PartitionedFile::new(path, file.size().max(0) as u64)
                    .with_partition_values(values)
                    .with_statistics(Arc::new(statistics)),
            );
        }
        Ok(Some(Self {
            schema,
            file_schema,
            partition_fields,
            store_url: ObjectStoreUrl::parse(warehouse.store_url())?,
            files,
            delta,
        }))
    }

    fn partition_names(&self) -> Vec<&str> {
        self.partition_fields
            .iter()
            .map(|f| f.name().as_str())
            .collect()
    }

    /// Which files the partition filters keep: each distinct partition is evaluated once, as
    /// one row of a batch of the partition columns.
    fn by_partition(&self, state: &dyn Session, filters: &[Expr]) -> Result<Vec<bool>> {
        let Some(filter) = conjunction(filters.iter().cloned()) else {
            return Ok(vec![true; self.files.len()]);
        };
        let mut distinct: HashMap<&[ScalarValue], usize> = HashMap::new();
        let mut rows: Vec<&[ScalarValue]> = Vec::new();
        let index: Vec<usize> = self
            .files
            .iter()
            .map(|f| {
                *distinct
                    .entry(f.partition_values.as_slice())
                    .or_insert_with(|| {
                        rows.push(f.partition_values.as_slice());
                        rows.len() - 1
                    })
            })
            .collect();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let schema = Arc::new(Schema::new(self.partition_fields.clone()));
        let columns = (0..self.partition_fields.len())
            .map(|c| ScalarValue::iter_to_array(rows.iter().map(|r| r[c].clone())))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let expr = state.create_physical_expr(filter, &DFSchema::try_from(schema)?)?;
        let matches = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        let matches = matches.as_boolean();
        Ok(index
            .into_iter()
            .map(|i| !matches.is_null(i) && matches.value(i))
            .collect())
    }

    /// Which files the other filters may match, by the column bounds in the log (a filter the
    /// pruning cannot use keeps every file).
    fn by_statistics(&self, state: &dyn Session, filters: &[Expr]) -> Result<Vec<bool>> {
        let all = vec![true; self.files.len()];
        let Some(filter) = conjunction(filters.iter().cloned()) else {
            return Ok(all);
        };
        let expr = state.create_physical_expr(filter, &DFSchema::try_from(self.schema.clone())?)?;
        let Some(pruning) = PruningPredicateBuilder::new()
            .with_file_schema(self.schema.clone())
            .build(expr)
        else {
            return Ok(all);
        };
        let snapshot = self.delta.snapshot().map_err(delta_error)?;
        let keep = pruning.prune(&snapshot.log_data())?;
        Ok(if keep.len() == self.files.len() {
            keep
        } else {
            all
        })
    }
}

/// A file's statistics as the scan wants them: its row count, and its partition values as
/// exact one-value columns (the other columns' bounds are used before the scan, from the log).
fn file_statistics(
    file_schema: &Schema,
    partition: &[ScalarValue],
    rows: Option<usize>,
    bytes: i64,
) -> Statistics {
    let rows = rows.map_or(Precision::Absent, Precision::Exact);
    let mut columns: Vec<ColumnStatistics> = file_schema
        .fields()
        .iter()
        .map(|_| ColumnStatistics::new_unknown())
        .collect();
    columns.extend(partition.iter().map(|value| ColumnStatistics {
        null_count: Precision::Exact(if value.is_null() {
            rows.get_value().copied().unwrap_or(0)
        } else {
            0
        }),
        max_value: Precision::Exact(value.clone()),
        min_value: Precision::Exact(value.clone()),
        distinct_count: Precision::Exact(1),
        ..ColumnStatistics::new_unknown()
    }));
    Statistics {
        num_rows: rows,
        total_byte_size: Precision::Inexact(bytes.max(0) as usize),
        column_statistics: columns,
    }
}

fn delta_error(e: DeltaTableError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// A filter on the partition columns alone is applied exactly (files of other partitions
    /// are not read); any other is used to skip files and row groups, and applied again above.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let partitions = self.partition_names();
        Ok(filters
            .iter()
            .map(|f| {
                if expr_applicable_for_cols(&partitions, f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = self.partition_names();
        let (on_partitions, others): (Vec<Expr>, Vec<Expr>) = filters
            .iter()
            .cloned()
            .partition(|f| expr_applicable_for_cols(&partitions, f));
        let by_partition = self.by_partition(state, &on_partitions)?;
        let by_statistics = self.by_statistics(state, &others)?;
        let kept: Vec<PartitionedFile> = self
            .files
            .iter()
            .zip(by_partition.iter().zip(&by_statistics))
            .filter(|(_, (p, s))| **p && **s)
            .map(|(f, _)| f.clone())
            .collect();
        if kept.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let statistics = table_statistics(&self.schema, &kept);
        let groups = FileGroup::new(kept).split_files(state.config().target_partitions());
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let table_schema = TableSchemaBuilder::from(&self.file_schema)
            .with_table_partition_cols(self.partition_fields.clone())
            .build();
        let config =
            FileScanConfigBuilder::new(self.store_url.clone(), format.file_source(table_schema))
                .with_file_groups(groups)
                .with_statistics(statistics)
                .with_projection_indices(projection.cloned())?
                // a limit is only safe to push when no filter is left for the scan to apply
                .with_limit(if others.is_empty() { limit } else { None })
                .build();
        format.create_physical_plan(state, config).await
    }

    fn statistics(&self) -> Option<Statistics> {
        Some(table_statistics(&self.schema, &self.files))
    }
}

/// The statistics of the files a scan reads: their rows summed (exact when every file's count
/// is known), and the partition columns' bounds.
fn table_statistics(schema: &Schema, files: &[PartitionedFile]) -> Statistics {
    let mut total = Statistics::new_unknown(schema);
    let mut rows = 0usize;
    let mut bytes = 0usize;
    let mut counts_known = true;
    for file in files {
        let Some(s) = &file.statistics else {
            counts_known = false;
            continue;
        };
        counts_known &= matches!(s.num_rows, Precision::Exact(_));
        rows += s.num_rows.get_value().copied().unwrap_or(0);
        bytes += s.total_byte_size.get_value().copied().unwrap_or(0);
    }
    total.num_rows = if counts_known {
        Precision::Exact(rows)
    } else {
        Precision::Inexact(rows)
    };
    total.total_byte_size = Precision::Inexact(bytes);
    let n = schema.fields().len();
    let partition_count = files.first().map_or(0, |f| f.partition_values.len());
    for c in 0..partition_count {
        let values = files.iter().map(|f| &f.partition_values[c]);
        let min = values
            .clone()
            .filter(|v| !v.is_null())
            .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let max = values
            .filter(|v| !v.is_null())
            .max_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let column = &mut total.column_statistics[n - partition_count + c];
        if let (Some(min), Some(max)) = (min, max) {
            column.min_value = Precision::Exact(min.clone());
            column.max_value = Precision::Exact(max.clone());
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray, new_null_array};
    use datafusion::arrow::compute::cast;
    use datafusion::parquet::file::properties::WriterProperties;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::SessionContext;
    use tributary_table::delta::{self, TxnVersions};
    use tributary_table::{CommitKind, Contribution, Partition, Table};

    fn day(d: u32) -> Partition {
        Partition {
            year: 2026,
            month: 1,
            day: d,
        }
    }

    /// An events file of `users` (one PAGE_VIEW each), every other column NULL.
    fn events(users: &[&str]) -> RecordBatch {
        let schema = delta::file_schema(Table::builtin("events"));
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "userid" => Arc::new(StringArray::from(users.to_vec())) as ArrayRef,
                "eventtype" => Arc::new(StringArray::from(vec!["PAGE_VIEW"; users.len()])),
                _ if f.is_nullable() => new_null_array(f.data_type(), users.len()),
                _ => cast(&Int64Array::from(vec![0; users.len()]), f.data_type()).unwrap(),
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// Three files over two days, committed; the warehouse and the loaded table.
    async fn table(dir: &tempfile::TempDir) -> (Warehouse, DeltaTable) {
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let mut delta = delta::open_or_create(&wh, Table::builtin("events"))
            .await
            .unwrap();
        let mut files = Vec::new();
        for (n, (d, users)) in [(1, vec!["a", "b"]), (1, vec!["c"]), (2, vec!["d"])]
            .into_iter()
            .enumerate()
        {
            let written = tributary_table::files::write(
                &wh,
                "events",
                day(d),
                &format!("f{n}.parquet"),
                delta::file_schema(Table::builtin("events")),
                vec![events(&users)],
                &WriterProperties::default(),
            )
            .await
            .unwrap();
            files.push(written);
        }
        let contribution = Contribution { txn: None, files };
        delta::commit(
            &mut delta,
            &mut TxnVersions::default(),
            vec![contribution],
            CommitKind::Backfill,
        )
        .await
        .unwrap();
        (wh, delta)
    }

    /// A session that reads the warehouse's store.
    fn reading(wh: &Warehouse) -> SessionContext {
        let ctx = SessionContext::new();
        ctx.register_object_store(
            ObjectStoreUrl::parse(wh.store_url()).unwrap().as_ref(),
            wh.store().clone(),
        );
        ctx
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut lines: Vec<String> =
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
                .lines()
                .map(str::to_string)
                .collect();
        lines.sort();
        lines
    }

    const QUERIES: [&str; 4] = [
        "SELECT userId, year, month, day FROM events",
        "SELECT COUNT(*) AS n FROM events WHERE day = 1",
        "SELECT userId FROM events WHERE day = 2 OR userId = 'b'",
        "SELECT day, COUNT(*) FROM events WHERE userId > 'b' GROUP BY day",
    ];

    #[tokio::test]
    async fn reads_the_rows_delta_rs_reads() {
        let dir = tempfile::tempdir().unwrap();
        let (wh, delta) = table(&dir).await;
        let ours = reading(&wh);
        let table = SnapshotTable::try_new(&wh, "events", delta.clone())
            .unwrap()
            .expect("a version-1 reader reads our tables");
        ours.register_table("events", Arc::new(table)).unwrap();
        let theirs = SessionContext::new();
        let provider = delta
            .table_provider()
            .with_session(Arc::new(theirs.state()))
            .await
            .unwrap();
        theirs.register_table("events", provider).unwrap();
        for sql in QUERIES {
            let expected = rows(&theirs, sql).await;
            assert!(expected.len() > 4, "{sql}: {expected:?}");
            assert_eq!(rows(&ours, sql).await, expected, "{sql}");
        }
    }

    #[tokio::test]
    async fn a_scan_opens_only_the_files_its_filters_can_match() {
        let dir = tempfile::tempdir().unwrap();
        let (wh, delta) = table(&dir).await;
        let ctx = reading(&wh);
        let table = SnapshotTable::try_new(&wh, "events", delta)
            .unwrap()
            .unwrap();
        let state = ctx.state();
        let files = |filters: Vec<Expr>| {
            let table = &table;
            let state = &state;
            async move {
                let plan = table.scan(state, None, &filters, None).await.unwrap();
                let listed = datafusion::physical_plan::displayable(plan.as_ref())
                    .indent(true)
                    .to_string();
                (
                    ["f0", "f1", "f2"]
                        .into_iter()
                        .filter(|f| listed.contains(&format!("{f}.parquet")))
                        .collect::<Vec<_>>(),
                    collect(plan, state.task_ctx())
                        .await
                        .unwrap()
                        .iter()
                        .map(|b| b.num_rows())
                        .sum::<usize>(),
                )
            }
        };
        use datafusion::prelude::{col, lit};
        assert_eq!(files(vec![]).await, (vec!["f0", "f1", "f2"], 4));
        // by partition, exactly: the filter is not applied again above the scan
        assert_eq!(
            table
                .supports_filters_pushdown(&[&col("day").eq(lit(2))])
                .unwrap(),
            vec![TableProviderFilterPushDown::Exact]
        );
        assert_eq!(files(vec![col("day").eq(lit(2))]).await, (vec!["f2"], 1));
        // by the bounds in the log: only f0 holds users up to "b"
        assert_eq!(
            files(vec![col("userid").lt_eq(lit("b"))]).await.0,
            vec!["f0"]
        );
        // nothing can match: no file is opened
        assert_eq!(files(vec![col("day").eq(lit(3))]).await, (vec![], 0));
    }
}
