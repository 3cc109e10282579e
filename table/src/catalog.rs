//! Every Delta table of a warehouse, as upkeep (compaction, vacuum) sees them: the tables the
//! writers append to, and the current-state tables the refresh keeps by MERGE.

use datafusion::arrow::datatypes::SchemaRef;

use crate::delta;
use crate::layout::Table;
use crate::schema::Schema;
use crate::state::StateTable;

/// One Delta table of the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarehouseTable {
    /// `events`, `order_changes`, `user_changes`, ...: appended to by backfill and the stream.
    Append(Table),
    /// `orders`, `users`, ...: rewritten by the refresh's MERGE.
    State(StateTable),
}

impl WarehouseTable {
    /// The tables of a schema: the append tables, then the state tables.
    pub fn all(schema: &'static Schema) -> Vec<WarehouseTable> {
        let mut all: Vec<WarehouseTable> = schema
            .handles()
            .into_iter()
            .map(WarehouseTable::Append)
            .collect();
        all.extend(schema.state_tables().into_iter().map(WarehouseTable::State));
        all
    }

    pub fn name(self) -> &'static str {
        match self {
            WarehouseTable::Append(t) => t.name(),
            WarehouseTable::State(t) => t.name(),
        }
    }

    pub fn from_name(schema: &'static Schema, name: &str) -> Option<WarehouseTable> {
        Self::all(schema).into_iter().find(|t| t.name() == name)
    }

    /// The Arrow schema of its data files (without the partition columns).
    pub fn file_schema(self) -> SchemaRef {
        match self {
            WarehouseTable::Append(t) => delta::file_schema(t),
            WarehouseTable::State(t) => delta::without_partition_columns(&t.schema()),
        }
    }

    /// The order compaction writes rows in: what queries filter and group by, so row groups
    /// carry narrow min/max ranges. An append table by its declared order (the shop's `events`
    /// by (eventtype, userid, timestamp) for the funnel's per-type scans), else a change table
    /// by its key and change order, so one key's history sits together, else by time; a
    /// current-state table by its key, so a lookup of one key reads one row group.
    pub fn sort_key(self) -> Vec<String> {
        match self {
            WarehouseTable::Append(t) => t.def().sort_key(),
            WarehouseTable::State(t) => t.key().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_keys_are_columns() {
        let shop = Schema::builtin();
        assert_eq!(WarehouseTable::all(shop).len(), 5);
        for table in WarehouseTable::all(shop) {
            assert_eq!(WarehouseTable::from_name(shop, table.name()), Some(table));
            let schema = table.file_schema();
            for column in table.sort_key() {
                assert!(
                    schema.field_with_name(&column).is_ok(),
                    "{column} of {table:?}"
                );
            }
            assert!(schema.field_with_name("year").is_err());
        }
        assert_eq!(WarehouseTable::from_name(shop, "nope"), None);
    }
}
