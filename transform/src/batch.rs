//! Arrow builders, one per table: records in, `RecordBatch` out.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int64Builder, ListArray, RecordBatch,
    StringBuilder, StructArray, TimestampMillisecondBuilder,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::error::ArrowError;

use crate::model::{
    Change, ClickEvent, MONEY_PRECISION, MONEY_SCALE, OrderChange, Origin, Record, UserChange,
};
use tributary_table::layout::{OutOfRange, Partition, Table};

/// Builds one table's batch.
pub struct BatchBuilder {
    table: Table,
    rows: usize,
    columns: Columns,
}

enum Columns {
    Events(Box<EventColumns>),
    Orders(Box<OrderColumns>),
    Users(Box<UserColumns>),
}

impl BatchBuilder {
    pub fn new(table: Table) -> Self {
        let columns = match table.name() {
            "events" => Columns::Events(Box::default()),
            "order_changes" => Columns::Orders(Box::default()),
            "user_changes" => Columns::Users(Box::default()),
            other => panic!("no record type builds rows of {other}"),
        };
        Self {
            table,
            rows: 0,
            columns,
        }
    }

    pub fn table(&self) -> Table {
        self.table
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a record of this builder's table.
    ///
    /// # Panics
    /// If the record belongs to another table: the caller routes by [`Record::table`].
    pub fn append(&mut self, record: &Record) {
        match (&mut self.columns, record) {
            (Columns::Events(c), Record::Event(e)) => c.append(e),
            (Columns::Orders(c), Record::Order(o)) => c.append(o),
            (Columns::Users(c), Record::User(u)) => c.append(u),
            _ => panic!(
                "record routed to the {} builder belongs to another table",
                self.table.name()
            ),
        }
        self.rows += 1;
    }

    /// Finishes the batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns = match &mut self.columns {
            Columns::Events(c) => c.finish(),
            Columns::Orders(c) => c.finish(),
            Columns::Users(c) => c.finish(),
        };
        self.rows = 0;
        RecordBatch::try_new(self.table.schema(), columns)
    }
}

/// Batches smaller than this are copied into exact-size buffers.
const COMPACT_BELOW_ROWS: usize = 4096;

/// Batches of one (table, partition), in the order the partitions first appear, with the
/// estimated bytes each holds. Runs on a worker thread: this is where records become Arrow.
pub fn partition_batches(records: &[Record]) -> Result<Vec<PartitionBatch>, PartitionError> {
    let mut order: Vec<(Table, Partition)> = Vec::new();
    let mut builders: std::collections::HashMap<(Table, Partition), BatchBuilder> =
        std::collections::HashMap::new();
    for record in records {
        let key = (record.table(), record.partition()?);
        builders
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                BatchBuilder::new(key.0)
            })
            .append(record);
    }
    order
        .into_iter()
        .map(|key| {
            let mut builder = builders.remove(&key).expect("a builder per key");
            let arrow = |source| PartitionError::Arrow {
                table: key.0.name(),
                source,
            };
            let mut batch = builder.finish().map_err(arrow)?;
            if batch.num_rows() < COMPACT_BELOW_ROWS {
                // builders start with room for ~1024 rows: a batch of a few late events would
                // hold far more memory than its rows, so copy it into exact-size buffers
                batch = concat_batches(&batch.schema(), [&batch]).map_err(arrow)?;
            }
            let bytes = batch.get_array_memory_size();
            Ok(PartitionBatch {
                table: key.0,
                partition: key.1,
                batch,
                bytes,
            })
        })
        .collect()
}

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

#[derive(Default)]
struct IngestColumns {
    source: StringBuilder,
    shard: StringBuilder,
    sequence: StringBuilder,
    arrival: TimestampMillisecondBuilder,
    scratch: String,
}

impl IngestColumns {
    fn append(&mut self, origin: &Origin) {
        self.source.append_value(&origin.source);
        self.shard.append_value(&origin.shard);
        self.scratch.clear();
        origin.sequence.write_padded(&mut self.scratch);
        self.sequence.append_value(&self.scratch);
        self.arrival.append_option(origin.arrival_time_ms);
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.source.finish()));
        out.push(Arc::new(self.shard.finish()));
        out.push(Arc::new(self.sequence.finish()));
        out.push(Arc::new(self.arrival.finish()));
    }
}

#[derive(Default)]
struct ChangeColumns {
    operation: StringBuilder,
    sequence_number: StringBuilder,
    change_time: TimestampMillisecondBuilder,
    event_id: StringBuilder,
}

impl ChangeColumns {
    fn append(&mut self, change: &Change) {
        self.operation.append_value(change.operation.as_str());
        let padded = change.sequence_number.as_ref().map(|s| s.padded());
        self.sequence_number.append_option(padded.as_deref());
        self.change_time.append_value(change.change_time_ms);
        self.event_id.append_option(change.event_id.as_deref());
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.operation.finish()));
        out.push(Arc::new(self.sequence_number.finish()));
        out.push(Arc::new(self.change_time.finish()));
        out.push(Arc::new(self.event_id.finish()));
    }
}

fn money_builder() -> Decimal128Builder {
    Decimal128Builder::new()
        .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
        .expect("valid decimal type")
}

#[derive(Default)]
struct EventColumns {
    event_type: StringBuilder,
    user_id: StringBuilder,
    timestamp: Int64Builder,
    page: StringBuilder,
    referrer: StringBuilder,
    product_id: StringBuilder,
    amount: Float64Builder,
    currency: StringBuilder,
    extra: StringBuilder,
    ingest: IngestColumns,
}

impl EventColumns {
    fn append(&mut self, e: &ClickEvent) {
        self.event_type.append_value(&e.event_type);
        self.user_id.append_value(&e.user_id);
        self.timestamp.append_value(e.timestamp_ms);
        self.page.append_option(e.page.as_deref());
        self.referrer.append_option(e.referrer.as_deref());
        self.product_id.append_option(e.product_id.as_deref());
        self.amount.append_option(e.amount);
        self.currency.append_option(e.currency.as_deref());
        self.extra.append_option(e.extra.as_deref());
        self.ingest.append(&e.origin);
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        // every event has a properties struct; absent properties are null children
        let properties = StructArray::new(
            event_properties_fields(),
            vec![
                Arc::new(self.page.finish()),
                Arc::new(self.referrer.finish()),
                Arc::new(self.product_id.finish()),
                Arc::new(self.amount.finish()),
                Arc::new(self.currency.finish()),
            ],
            None,
        );
        let mut out: Vec<ArrayRef> = vec![
            Arc::new(self.event_type.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(properties),
            Arc::new(self.extra.finish()),
        ];
        self.ingest.finish(&mut out);
        out
    }
}

struct OrderColumns {
    change: ChangeColumns,
    order_id: StringBuilder,
    user_id: StringBuilder,
    status: StringBuilder,
    total_amount: Decimal128Builder,
    currency: StringBuilder,
    created_at: TimestampMillisecondBuilder,
    updated_at: TimestampMillisecondBuilder,
    item_offsets: Vec<i32>,
    item_validity: Vec<bool>,
    item_product_id: StringBuilder,
    item_quantity: Int64Builder,
    item_price: Decimal128Builder,
    extra_attributes: StringBuilder,
    ingest: IngestColumns,
}

impl Default for OrderColumns {
    fn default() -> Self {
        Self {
            change: ChangeColumns::default(),
            order_id: StringBuilder::new(),
            user_id: StringBuilder::new(),
            status: StringBuilder::new(),
            total_amount: money_builder(),
            currency: StringBuilder::new(),
            created_at: TimestampMillisecondBuilder::new(),
            updated_at: TimestampMillisecondBuilder::new(),
            item_offsets: vec![0],
            item_validity: Vec::new(),
            item_product_id: StringBuilder::new(),
            item_quantity: Int64Builder::new(),
            item_price: money_builder(),
            extra_attributes: StringBuilder::new(),
            ingest: IngestColumns::default(),
        }
    }
}

impl OrderColumns {
    fn append(&mut self, o: &OrderChange) {
        self.change.append(&o.change);
        self.order_id.append_value(&o.order_id);
        self.user_id.append_value(&o.user_id);
        self.status.append_option(o.status.as_deref());
        self.total_amount.append_option(o.total_amount);
        self.currency.append_option(o.currency.as_deref());
        self.created_at.append_value(o.created_at_ms);
        self.updated_at.append_option(o.updated_at_ms);
        let mut count = *self.item_offsets.last().expect("offsets start with 0");
        if let Some(items) = &o.items {
            for item in items {
                self.item_product_id
                    .append_option(item.product_id.as_deref());
                self.item_quantity.append_option(item.quantity);
                self.item_price.append_option(item.price);
            }
            count += i32::try_from(items.len()).expect("fewer than 2^31 items in one order");
        }
        self.item_offsets.push(count);
        self.item_validity.push(o.items.is_some());
        self.extra_attributes
            .append_option(o.extra_attributes.as_deref());
        self.ingest.append(&o.change.origin);
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let items_struct = StructArray::new(
            order_item_fields(),
            vec![
                Arc::new(self.item_product_id.finish()),
                Arc::new(self.item_quantity.finish()),
                Arc::new(self.item_price.finish()),
            ],
            None,
        );
        let offsets = OffsetBuffer::new(std::mem::replace(&mut self.item_offsets, vec![0]).into());
        let validity = NullBuffer::from(std::mem::take(&mut self.item_validity));
        let items = ListArray::new(
            order_item_list_field(),
            offsets,
            Arc::new(items_struct),
            Some(validity),
        );
        let mut out = Vec::with_capacity(17);
        self.change.finish(&mut out);
        out.push(Arc::new(self.order_id.finish()) as ArrayRef);
        out.push(Arc::new(self.user_id.finish()));
        out.push(Arc::new(self.status.finish()));
        out.push(Arc::new(self.total_amount.finish()));
        out.push(Arc::new(self.currency.finish()));
        out.push(Arc::new(self.created_at.finish()));
        out.push(Arc::new(self.updated_at.finish()));
        out.push(Arc::new(items));
        out.push(Arc::new(self.extra_attributes.finish()));
        self.ingest.finish(&mut out);
        out
    }
}

#[derive(Default)]
struct UserColumns {
    change: ChangeColumns,
    user_id: StringBuilder,
    email: StringBuilder,
    name: StringBuilder,
    country: StringBuilder,
    created_at: TimestampMillisecondBuilder,
    updated_at: TimestampMillisecondBuilder,
    extra_attributes: StringBuilder,
    ingest: IngestColumns,
}

impl UserColumns {
    fn append(&mut self, u: &UserChange) {
        self.change.append(&u.change);
        self.user_id.append_value(&u.user_id);
        self.email.append_option(u.email.as_deref());
        self.name.append_option(u.name.as_deref());
        self.country.append_option(u.country.as_deref());
        self.created_at.append_value(u.created_at_ms);
        self.updated_at.append_option(u.updated_at_ms);
        self.extra_attributes
            .append_option(u.extra_attributes.as_deref());
        self.ingest.append(&u.change.origin);
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut out = Vec::with_capacity(15);
        self.change.finish(&mut out);
        out.push(Arc::new(self.user_id.finish()) as ArrayRef);
        out.push(Arc::new(self.email.finish()));
        out.push(Arc::new(self.name.finish()));
        out.push(Arc::new(self.country.finish()));
        out.push(Arc::new(self.created_at.finish()));
        out.push(Arc::new(self.updated_at.finish()));
        out.push(Arc::new(self.extra_attributes.finish()));
        self.ingest.finish(&mut out);
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Operation, OrderItem};
    use datafusion::arrow::array::{Array, AsArray};
    use tributary_table::sequence::SequenceNumber;

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

    pub(crate) fn origin(seq: u64) -> Origin {
        Origin {
            source: "file".into(),
            shard: "file:///tmp/x.jsonl".into(),
            sequence: SequenceNumber::from_u64(seq),
            arrival_time_ms: None,
        }
    }

    pub(crate) fn order(seq: u64, items: Option<Vec<OrderItem>>) -> Record {
        Record::Order(OrderChange {
            change: Change {
                operation: Operation::Modify,
                sequence_number: Some(SequenceNumber::from_u64(seq)),
                change_time_ms: 1_767_657_600_000,
                event_id: Some(format!("ev-{seq}")),
                origin: origin(seq),
            },
            order_id: format!("o-{seq}"),
            user_id: "u-1".into(),
            status: Some("PAID".into()),
            total_amount: Some(1_234_500),
            currency: Some("USD".into()),
            created_at_ms: 1_767_657_600_000,
            updated_at_ms: None,
            items,
            extra_attributes: None,
        })
    }

    #[test]
    fn order_items_become_a_list_of_structs_with_nulls() {
        let mut b = BatchBuilder::new(Table::builtin("order_changes"));
        let item = |p: &str| OrderItem {
            product_id: Some(p.into()),
            quantity: Some(2),
            price: Some(99_990),
        };
        b.append(&order(1, Some(vec![item("a"), item("b")])));
        b.append(&order(2, None));
        b.append(&order(3, Some(vec![])));
        assert_eq!(b.rows(), 3);
        let batch = b.finish().unwrap();
        assert_eq!(b.rows(), 0);
        let items = batch.column_by_name("items").unwrap().as_list::<i32>();
        assert_eq!(items.value_length(0), 2);
        assert!(items.is_null(1));
        assert!(!items.is_null(2));
        assert_eq!(items.value_length(2), 0);
        let seq = batch
            .column_by_name("sequence_number")
            .unwrap()
            .as_string::<i32>();
        assert!(seq.value(1).ends_with("0002"));
    }

    #[test]
    fn partition_batches_keep_first_appearance_order() {
        let mut late = order(3, None);
        if let Record::Order(o) = &mut late {
            o.created_at_ms -= 86_400_000;
        }
        let batches = partition_batches(&[order(1, None), late, order(2, None)]).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].partition.day, 6);
        assert_eq!(batches[0].batch.num_rows(), 2);
        assert_eq!(batches[1].partition.day, 5);
    }

    #[test]
    #[should_panic(expected = "another table")]
    fn a_misrouted_record_is_a_bug() {
        BatchBuilder::new(Table::builtin("events")).append(&order(1, None));
    }
}

/// The Arrow type of a column of the shop's built-in schema.
fn shop_type(table: &str, column: &str) -> DataType {
    Table::builtin(table)
        .schema()
        .field_with_name(column)
        .unwrap_or_else(|_| panic!("the shop's {table} has {column}"))
        .data_type()
        .clone()
}

fn event_properties_fields() -> Fields {
    match shop_type("events", "properties") {
        DataType::Struct(fields) => fields,
        other => panic!("events.properties is a struct, not {other}"),
    }
}

fn order_item_list_field() -> Arc<Field> {
    match shop_type("order_changes", "items") {
        DataType::List(item) => item,
        other => panic!("order_changes.items is a list, not {other}"),
    }
}

fn order_item_fields() -> Fields {
    match order_item_list_field().data_type() {
        DataType::Struct(fields) => fields.clone(),
        other => panic!("order_changes.items holds structs, not {other}"),
    }
}
