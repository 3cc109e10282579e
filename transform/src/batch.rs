//! Table rows to partition batches: a chunk's rows of one table, split by the partition of
//! each row, are what the sink buffers and writes.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::error::ArrowError;
use tributary_table::layout::{OutOfRange, Partition, Table};

/// Batches smaller than this are copied into exact-size buffers.
const COMPACT_BELOW_ROWS: usize = 4096;

/// A table's rows split by each row's partition (`partitions[i]` is row `i`'s), in the order
/// the partitions first appear.
pub fn split_by_partition(
    table: Table,
    batch: RecordBatch,
    partitions: &[Partition],
) -> Result<Vec<PartitionBatch>, ArrowError> {
    use datafusion::arrow::array::UInt32Array;
    use datafusion::arrow::compute::take_record_batch;
    assert_eq!(batch.num_rows(), partitions.len(), "a partition per row");
    let done = |partition: Partition, mut batch: RecordBatch| {
        if batch.num_rows() < COMPACT_BELOW_ROWS {
            // a few rows in buffers grown for many: copy them into exact-size buffers
            batch = concat_batches(&batch.schema(), [&batch])?;
        }
        let bytes = batch.get_array_memory_size();
        Ok(PartitionBatch {
            table,
            partition,
            batch,
            bytes,
        })
    };
    let Some(first) = partitions.first() else {
        return Ok(Vec::new());
    };
    if partitions.iter().all(|p| p == first) {
        return Ok(vec![done(*first, batch)?]);
    }
    let mut order: Vec<(Partition, Vec<u32>)> = Vec::new();
    let mut at: std::collections::HashMap<Partition, usize> = std::collections::HashMap::new();
    for (row, partition) in partitions.iter().enumerate() {
        let i = *at.entry(*partition).or_insert_with(|| {
            order.push((*partition, Vec::new()));
            order.len() - 1
        });
        order[i].1.push(row as u32);
    }
    order
        .into_iter()
        .map(|(partition, rows)| {
            let taken = take_record_batch(&batch, &UInt32Array::from(rows))?;
            done(partition, taken)
        })
        .collect()
}

/// Rows of one table partition.
#[derive(Debug)]
pub struct PartitionBatch {
    pub table: Table,
    pub partition: Partition,
    pub batch: RecordBatch,
    /// Memory the batch holds (Arrow buffers, capacity included).
    pub bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    #[error("building a {table} batch: {source}")]
    Arrow {
        table: &'static str,
        source: ArrowError,
    },
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::DataType;

    use super::*;

    #[test]
    fn a_batch_splits_by_its_rows_partitions_in_first_seen_order() {
        use datafusion::arrow::array::Int64Array;
        use datafusion::arrow::datatypes::{Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![0, 1, 2, 3, 4]))],
        )
        .unwrap();
        let day = |d: i64| Partition::of_millis(d * 86_400_000).unwrap();
        let table = Table::builtin("events");
        let parts = split_by_partition(
            table,
            batch.clone(),
            &[day(2), day(1), day(2), day(3), day(1)],
        )
        .unwrap();
        let got: Vec<(Partition, Vec<i64>)> = parts
            .iter()
            .map(|p| {
                let n = p
                    .batch
                    .column(0)
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                (p.partition, n.values().to_vec())
            })
            .collect();
        assert_eq!(
            got,
            [
                (day(2), vec![0, 2]),
                (day(1), vec![1, 4]),
                (day(3), vec![3])
            ]
        );
        let one = split_by_partition(table, batch, &[day(1); 5]).unwrap();
        assert_eq!((one.len(), one[0].batch.num_rows()), (1, 5));
        assert!(one[0].bytes > 0);
    }
}
