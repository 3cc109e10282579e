//! Declared schemas: which tables a warehouse holds, which records belong to each, and where
//! each column's value comes from.
//!
//! A schema is read from a TOML file ([`file`], the format is in the README) or is the
//! built-in one, the shop's (`shop.toml`, printed by `tributary schema show`). Every table
//! derives its Arrow schema from its declaration:
//!
//! ```text
//! dynamodb tables:  operation, sequence_number, change_time, event_id,   (the change)
//!                   <declared columns>, <rest>,                          (the item)
//!                   ingest_source, ingest_shard, ingest_sequence, ingest_arrival_time
//! json tables:      <declared columns>, <rest>, ingest_*
//! state tables:     <declared columns>, <rest>, deleted, last_change_time, sequence_number
//! ```
//! and every table is partitioned by the UTC day of its `time` column (`year`, `month`, `day`).

pub mod file;
pub mod types;

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};

pub use file::{SchemaError, SchemaErrors};
pub use types::{ColumnType, StructField};

/// The shop's schema, as `tributary schema show` prints it.
pub const BUILTIN_TEXT: &str = include_str!("shop.toml");

static BUILTIN: LazyLock<Schema> = LazyLock::new(|| {
    Schema::parse(BUILTIN_TEXT, "built-in schema")
        .unwrap_or_else(|e| panic!("the built-in schema is valid (a unit test checks it): {e}"))
});

/// The columns every table ends with: where a row came from, so duplicates can be traced.
pub const INGEST_COLUMNS: [&str; 4] = [
    "ingest_source",
    "ingest_shard",
    "ingest_sequence",
    "ingest_arrival_time",
];

/// Columns a state table adds after the item's.
pub const STATE_COLUMNS: [&str; 3] = ["deleted", "last_change_time", "sequence_number"];

/// The partition columns of every table, in path order.
pub const PARTITION_COLUMNS: [&str; 3] = ["year", "month", "day"];

/// A declared schema: the tables, in the order of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    tables: Vec<TableDef>,
}

/// What a table's records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// JSON documents: clickstream and other events, from Kinesis or files.
    Json,
    /// DynamoDB items: Streams, Kinesis Data Streams for DynamoDB, Export to S3.
    Dynamodb,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Json => "json",
            SourceKind::Dynamodb => "dynamodb",
        }
    }
}

/// One table of the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub source: SourceKind,
    /// A record belongs to the table when every condition holds (none: every record of the
    /// source kind, which only one table of a kind may say).
    pub conditions: Vec<Condition>,
    /// The declared columns, in table order.
    pub columns: Vec<ColumnDef>,
    /// The column whose UTC day partitions the rows.
    pub time: String,
    /// The current-state table that follows this change table (DynamoDB tables only).
    pub state: Option<StateDef>,
    /// A JSON text column with every member no column names.
    pub rest: Option<String>,
    /// The order compaction writes rows in (empty: the state key, then the change order).
    pub sort: Vec<String>,
    /// Members that are neither read nor kept in the rest column (copies of the keys, say).
    pub ignore: Vec<String>,
}

/// `<path> begins_with "…"` or `<path> equals "…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Attribute or field names, outermost first.
    pub path: Vec<String>,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    BeginsWith(String),
    Equals(String),
}

impl Test {
    pub fn holds(&self, value: &str) -> bool {
        match self {
            Test::BeginsWith(prefix) => value.starts_with(prefix.as_str()),
            Test::Equals(expected) => value == expected,
        }
    }
}

/// Units of epoch numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Milliseconds,
    Microseconds,
}

impl EpochUnit {
    pub fn name(self) -> &'static str {
        match self {
            EpochUnit::Seconds => "seconds",
            EpochUnit::Milliseconds => "milliseconds",
            EpochUnit::Microseconds => "microseconds",
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Lower case, as Athena (Glue) stores column names.
    pub name: String,
    pub data_type: ColumnType,
    /// The attribute or field path the value comes from; `None`: the member named like the
    /// column (ignoring case), or else the camelCase of a snake_case name (`opened_at` finds
    /// `openedAt`).
    pub from: Option<Vec<String>>,
    /// For a key attribute such as `PK = CUSTOMER#42`: the prefix removed (`42`). A value
    /// without the prefix, or with nothing after it, does not match the table.
    pub strip_prefix: Option<String>,
    /// For epoch numbers in a `timestamp` or integer column.
    pub unit: Option<EpochUnit>,
    /// A record without a value here is a dead letter (the time column, the key columns and
    /// columns with a prefix are always required).
    pub required: bool,
}

impl ColumnDef {
    /// The path the value comes from, for messages (`PK`, `device.os.name`, `(by name)`).
    pub fn source_text(&self) -> String {
        match &self.from {
            Some(path) => path.join("."),
            None => self.name.clone(),
        }
    }
}

/// A current-state table: one row per key, with the latest state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDef {
    pub name: String,
    pub key: Vec<String>,
}

impl Schema {
    /// The shop's schema (`events`, `order_changes`, `user_changes`, `orders`, `users`).
    pub fn builtin() -> &'static Schema {
        &BUILTIN
    }

    /// Reads a schema file's text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Schema, SchemaErrors> {
        file::parse(text, origin)
    }

    /// Reads a schema file.
    pub fn read(path: &std::path::Path) -> Result<Schema, SchemaErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SchemaErrors::single(
                &path.display().to_string(),
                None,
                format!("cannot read: {e}"),
            )
        })?;
        Schema::parse(&text, &path.display().to_string())
    }

    pub(crate) fn new(tables: Vec<TableDef>) -> Self {
        Self { tables }
    }

    pub fn tables(&self) -> &[TableDef] {
        &self.tables
    }

    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn timestamp(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Millisecond, None),
        nullable,
    )
}

/// The change-metadata columns of a DynamoDB table.
pub fn change_fields() -> Vec<Field> {
    vec![
        utf8("operation", false),
        utf8("sequence_number", true),
        timestamp("change_time", false),
        utf8("event_id", true),
    ]
}

fn ingest_fields() -> Vec<Field> {
    vec![
        utf8(INGEST_COLUMNS[0], true),
        utf8(INGEST_COLUMNS[1], true),
        utf8(INGEST_COLUMNS[2], true),
        timestamp(INGEST_COLUMNS[3], true),
    ]
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The declared columns and the rest column, as Arrow fields.
    pub fn item_fields(&self) -> Vec<Field> {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.data_type.arrow(), !c.required))
            .collect();
        if let Some(rest) = &self.rest {
            fields.push(utf8(rest, true));
        }
        fields
    }

    /// The Arrow schema rows are built in (timestamps in milliseconds, no partition columns).
    pub fn arrow_schema(&self) -> SchemaRef {
        let mut fields = match self.source {
            SourceKind::Dynamodb => change_fields(),
            SourceKind::Json => Vec::new(),
        };
        fields.extend(self.item_fields());
        fields.extend(ingest_fields());
        Arc::new(ArrowSchema::new(fields))
    }

    /// The state table's columns before the partition columns, in the change table's types.
    pub fn state_fields(&self) -> Option<Vec<Field>> {
        self.state.as_ref()?;
        let mut fields = self.item_fields();
        fields.push(Field::new("deleted", DataType::Boolean, false));
        fields.push(timestamp("last_change_time", false));
        fields.push(utf8("sequence_number", true));
        Some(fields)
    }

    /// The order compaction writes the change table's rows in.
    pub fn sort_key(&self) -> Vec<String> {
        if !self.sort.is_empty() {
            return self.sort.clone();
        }
        match &self.state {
            Some(state) => {
                let mut key = state.key.clone();
                key.extend(["change_time".to_string(), "sequence_number".to_string()]);
                key
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Table;
    use crate::state::StateTable;

    #[test]
    fn the_builtin_schema_is_the_shop_as_the_tables_have_it() {
        let schema = Schema::builtin();
        let names: Vec<&str> = schema.tables().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["events", "order_changes", "user_changes"]);
        for table in Table::ALL {
            let declared = schema.table(table.name()).unwrap();
            assert_eq!(declared.arrow_schema(), table.schema(), "{}", table.name());
        }
        for state in StateTable::ALL {
            let declared = schema.table(state.changes().name()).unwrap();
            let def = declared.state.as_ref().unwrap();
            assert_eq!(def.name, state.name());
            assert_eq!(def.key, [state.key()]);
            let expected = state.schema();
            let n = expected.fields().len() - PARTITION_COLUMNS.len();
            let expected: Vec<Field> = expected.fields()[..n]
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            // the state table holds the change table's Delta types (UTC microseconds)
            let declared: Vec<Field> = declared
                .state_fields()
                .unwrap()
                .into_iter()
                .map(|f| match f.data_type() {
                    DataType::Timestamp(..) => f.with_data_type(DataType::Timestamp(
                        TimeUnit::Microsecond,
                        Some("UTC".into()),
                    )),
                    _ => f,
                })
                .collect();
            assert_eq!(declared, expected, "{}", state.name());
        }
        for table in crate::catalog::WarehouseTable::ALL {
            if let crate::catalog::WarehouseTable::Append(t) = table {
                assert_eq!(
                    schema.table(t.name()).unwrap().sort_key(),
                    table.sort_key(),
                    "{}",
                    t.name()
                );
            }
        }
    }
}
