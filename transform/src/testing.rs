//! Rows for tests: changes of the shop's `order_changes`, built as the decoders build them.

use tributary_table::layout::{Partition, Table};
use tributary_table::sequence::SequenceNumber;

use crate::batch::{PartitionBatch, split_by_partition};
use crate::columns::Rows;
use crate::model::Origin;

pub(crate) fn origin(seq: u64) -> Origin {
    Origin {
        source: "file".into(),
        shard: "file:///tmp/x.jsonl".into(),
        sequence: SequenceNumber::from_u64(seq),
        arrival_time_ms: None,
    }
}

/// A change of order `o-<seq>`, created on 2026-01-`day` (UTC): one row in its partition.
pub(crate) fn order(seq: u64, day: u32) -> PartitionBatch {
    let table = Table::builtin("order_changes");
    let schema = table.schema();
    let mut rows = Rows::new(schema.clone()).unwrap();
    let at = |name: &str| schema.index_of(name).unwrap();
    let created = 1_767_225_600_000 + i64::from(day - 1) * 86_400_000;
    rows.column(at("operation")).append_str("MODIFY").unwrap();
    rows.column(at("sequence_number"))
        .append_str(&SequenceNumber::from_u64(seq).padded())
        .unwrap();
    rows.column(at("change_time")).append_int(created).unwrap();
    rows.column(at("event_id"))
        .append_str(&format!("ev-{seq}"))
        .unwrap();
    rows.column(at("order_id"))
        .append_str(&format!("o-{seq}"))
        .unwrap();
    rows.column(at("user_id")).append_str("u-1").unwrap();
    rows.column(at("status")).append_str("PAID").unwrap();
    rows.column(at("total_amount")).append_decimal(1_234_500);
    rows.column(at("created_at")).append_int(created).unwrap();
    let o = origin(seq);
    rows.column(at("ingest_source"))
        .append_str(&o.source)
        .unwrap();
    rows.column(at("ingest_shard"))
        .append_str(&o.shard)
        .unwrap();
    rows.column(at("ingest_sequence"))
        .append_str(&o.sequence.padded())
        .unwrap();
    rows.finish_row();
    let partition = Partition::of_millis(created).unwrap();
    split_by_partition(table, rows.finish().unwrap(), &[partition])
        .unwrap()
        .pop()
        .unwrap()
}
