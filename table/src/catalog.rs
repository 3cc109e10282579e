//! Every Delta table of a warehouse, as upkeep (compaction, vacuum) sees them: the three tables
//! the writers append to, and the two current-state tables the refresh keeps by MERGE.

use datafusion::arrow::datatypes::SchemaRef;

use crate::delta;
use crate::layout::Table;
use crate::state::StateTable;

/// One Delta table of the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarehouseTable {
    /// `events`, `order_changes`, `user_changes`: appended to by backfill and the stream.
    Append(Table),
    /// `orders`, `users`: rewritten by the refresh's MERGE.
    State(StateTable),
}

impl WarehouseTable {
    pub const ALL: [WarehouseTable; 5] = [
        WarehouseTable::Append(Table::Events),
        WarehouseTable::Append(Table::OrderChanges),
        WarehouseTable::Append(Table::UserChanges),
        WarehouseTable::State(StateTable::Orders),
        WarehouseTable::State(StateTable::Users),
    ];

    pub fn name(self) -> &'static str {
        match self {
            WarehouseTable::Append(t) => t.name(),
            WarehouseTable::State(t) => t.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<WarehouseTable> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The names, for messages: `events, order_changes, user_changes, orders, users`.
    pub fn names() -> String {
        Self::ALL.map(|t| t.name()).join(", ")
    }

    /// The Arrow schema of its data files (without the partition columns).
    pub fn file_schema(self) -> SchemaRef {
        match self {
            WarehouseTable::Append(t) => delta::file_schema(t),
            WarehouseTable::State(t) => delta::without_partition_columns(&t.schema()),
        }
    }

    /// The order compaction writes rows in: what the named queries filter and group by, so
    /// row groups carry narrow min/max ranges. `events` by (eventtype, userid, timestamp) for
    /// the funnel's per-type scans; a change table by its key and change order, so one key's
    /// history sits together; a current-state table by its key, so a lookup of one key reads
    /// one row group.
    pub fn sort_key(self) -> &'static [&'static str] {
        match self {
            WarehouseTable::Append(Table::Events) => &["eventtype", "userid", "timestamp"],
            WarehouseTable::Append(Table::OrderChanges) => {
                &["order_id", "change_time", "sequence_number"]
            }
            WarehouseTable::Append(Table::UserChanges) => {
                &["user_id", "change_time", "sequence_number"]
            }
            WarehouseTable::State(StateTable::Orders) => &["order_id"],
            WarehouseTable::State(StateTable::Users) => &["user_id"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_keys_are_columns() {
        for table in WarehouseTable::ALL {
            assert_eq!(WarehouseTable::from_name(table.name()), Some(table));
            let schema = table.file_schema();
            for column in table.sort_key() {
                assert!(
                    schema.field_with_name(column).is_ok(),
                    "{column} of {table:?}"
                );
            }
            assert!(schema.field_with_name("year").is_err());
        }
        assert_eq!(WarehouseTable::from_name("nope"), None);
    }
}
