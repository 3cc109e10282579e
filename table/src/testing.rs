//! Helpers of the unit tests: tables with rows in them.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::parquet::file::properties::WriterProperties;

use crate::delta::{self, CommitKind, Contribution, DataFile};
use crate::layout::{Partition, Table};
use crate::txn::TxnVersions;
use crate::warehouse::Warehouse;

/// The partition the helpers write to.
pub const DAY: Partition = Partition {
    year: 2026,
    month: 1,
    day: 5,
};

/// `rows` rows of `schema`: every required column filled (text `<prefix>-<i>`, so keys are
/// distinct; numbers and times `i`), every other column null.
pub fn rows(schema: &SchemaRef, prefix: &str, rows: usize) -> RecordBatch {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match (f.is_nullable(), f.data_type()) {
                (true, t) => new_null_array(t, rows),
                (false, DataType::Utf8) => Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("{prefix}-{i}")),
                )),
                (false, DataType::Int64) => {
                    Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i as i64)))
                }
                (false, DataType::Timestamp(TimeUnit::Millisecond, None)) => Arc::new(
                    TimestampMillisecondArray::from_iter_values((0..rows).map(|i| i as i64)),
                ),
                (false, DataType::Timestamp(TimeUnit::Microsecond, tz)) => Arc::new(
                    TimestampMicrosecondArray::from_iter_values((0..rows).map(|i| i as i64))
                        .with_timezone_opt(tz.clone()),
                ),
                (false, t) => panic!("no test values for a required {t} column"),
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

/// A data file of `table` in [`DAY`] named `<prefix>.parquet`, holding [`rows`].
pub async fn file(wh: &Warehouse, table: Table, prefix: &str, n: usize) -> DataFile {
    let schema = delta::file_schema(table);
    crate::files::write(
        wh,
        table.name(),
        DAY,
        &format!("{prefix}.parquet"),
        schema.clone(),
        vec![rows(&schema, prefix, n)],
        &WriterProperties::default(),
    )
    .await
    .unwrap()
}

/// Commits `files` to `table` as a backfill does (no `txn`).
pub async fn append(wh: &Warehouse, table: Table, files: Vec<DataFile>) {
    let mut delta = delta::open_or_create(wh, table).await.unwrap();
    delta::commit(
        &mut delta,
        &mut TxnVersions::default(),
        vec![Contribution { txn: None, files }],
        CommitKind::Backfill,
    )
    .await
    .unwrap();
}
