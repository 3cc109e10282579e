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

use std::sync::{Arc, LazyLock, OnceLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};

use crate::layout::Table;
use crate::state::StateTable;

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

/// The generic tables, one per source kind, that take the records no declared table takes.
pub const RAW_TABLES: [&str; 2] = ["dynamodb_raw", "json_raw"];

/// A declared schema: the tables, in the order of the file, then the raw tables it uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    tables: Vec<TableDef>,
    unmatched: Unmatched,
}

/// What becomes of a record that no declared table of its source kind takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmatched {
    /// A dead letter naming the values the match rules read (the default). A source kind
    /// the schema declares no table for lands in its raw table all the same.
    DeadLetter,
    /// A row of the source kind's raw table (`dynamodb_raw`, `json_raw`).
    Raw,
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
    /// A raw table ([`RAW_TABLES`]): the record as JSON text, not its members in columns.
    pub raw: bool,
    /// The Arrow schemas, computed once.
    pub derived: Derived,
}

/// What a table's declaration gives, computed at first use: the schemas are asked for per
/// batch.
#[derive(Default, Clone)]
pub struct Derived {
    arrow: OnceLock<SchemaRef>,
    delta: OnceLock<SchemaRef>,
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

/// Derived from the declaration, so never a difference of its own.
impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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

    /// The declared tables, then the raw table of each source kind that either has no
    /// declared table or, with [`Unmatched::Raw`], sends its unmatched records there.
    pub(crate) fn new(mut tables: Vec<TableDef>, unmatched: Unmatched) -> Self {
        for kind in [SourceKind::Dynamodb, SourceKind::Json] {
            let declared = tables.iter().any(|t| t.source == kind);
            if !declared || unmatched == Unmatched::Raw {
                tables.push(TableDef::raw_table(kind));
            }
        }
        Self { tables, unmatched }
    }

    pub fn unmatched(&self) -> Unmatched {
        self.unmatched
    }

    pub fn tables(&self) -> &[TableDef] {
        &self.tables
    }

    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// A schema that lives as long as the process: a command reads its schema once, and the
    /// table handles ([`Table`]) are plain references into it.
    pub fn leak(self) -> &'static Schema {
        Box::leak(Box::new(self))
    }
}

impl Schema {
    /// The tables the writers append to, in the order of the file.
    pub fn handles(&'static self) -> Vec<Table> {
        self.tables.iter().map(Table::of).collect()
    }

    /// The table of a name (a change table or a JSON table, not a state table).
    pub fn get(&'static self, name: &str) -> Option<Table> {
        self.table(name).map(Table::of)
    }

    /// The current-state tables, in the order of their change tables.
    pub fn state_tables(&'static self) -> Vec<StateTable> {
        self.handles()
            .into_iter()
            .filter_map(Table::state)
            .collect()
    }

    /// Every table name (the state tables after the others), for messages:
    /// `events, order_changes, user_changes, orders, users`.
    pub fn names(&'static self) -> String {
        self.table_names().join(", ")
    }

    /// Every table name, the state tables after the others.
    pub fn table_names(&'static self) -> Vec<&'static str> {
        let mut names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        names.extend(self.state_tables().iter().map(|s| s.name()));
        names
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
    /// The raw table of a source kind:
    /// - `dynamodb_raw`: the change columns, `keys`, `new_image` and `old_image` as plain JSON
    ///   (DynamoDB's types unmarshalled: `{"PK":"CUSTOMER#1","priority":2}`), partitioned by the
    ///   change time;
    /// - `json_raw`: `document`, the record's JSON text as it came, and `arrival_time` (when
    ///   the stream accepted it, or for files when Tributary read it), its partition.
    pub fn raw_table(kind: SourceKind) -> TableDef {
        let text = |name: &str, required: bool| ColumnDef {
            name: name.into(),
            data_type: ColumnType::String,
            from: None,
            strip_prefix: None,
            unit: None,
            required,
        };
        let (name, columns, time) = match kind {
            SourceKind::Dynamodb => (
                RAW_TABLES[0],
                vec![
                    text("keys", false),
                    text("new_image", false),
                    text("old_image", false),
                ],
                "change_time",
            ),
            SourceKind::Json => (
                RAW_TABLES[1],
                vec![
                    text("document", true),
                    ColumnDef {
                        data_type: ColumnType::Timestamp,
                        ..text("arrival_time", true)
                    },
                ],
                "arrival_time",
            ),
        };
        TableDef {
            name: name.into(),
            source: kind,
            conditions: Vec::new(),
            columns,
            time: time.into(),
            state: None,
            rest: None,
            sort: Vec::new(),
            ignore: Vec::new(),
            raw: true,
            derived: Derived::default(),
        }
    }

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
        self.derived
            .arrow
            .get_or_init(|| self.build_arrow_schema())
            .clone()
    }

    /// The Arrow schema of the table as Delta stores it: its columns, then `year`, `month`,
    /// `day` as `int`. Timestamps are Delta's `timestamp` (microseconds, UTC-adjusted: the type
    /// every Delta reader knows, shown by Athena as `timestamp(3) with time zone`), not
    /// `timestamp_ntz`, which needs a table feature that not every reader has; nested ones too.
    pub fn delta_schema(&self) -> SchemaRef {
        self.derived
            .delta
            .get_or_init(|| {
                let mut fields: Vec<Field> = self
                    .arrow_schema()
                    .fields()
                    .iter()
                    .map(|f| delta_field(f))
                    .collect();
                fields.extend(
                    PARTITION_COLUMNS
                        .iter()
                        .map(|c| Field::new(*c, DataType::Int32, false)),
                );
                Arc::new(ArrowSchema::new(fields))
            })
            .clone()
    }

    fn build_arrow_schema(&self) -> SchemaRef {
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

    /// The order compaction writes the change table's rows in: the declared order, else the
    /// state key and the change order (one key's history together), else the time column.
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
            None => vec![self.time.clone()],
        }
    }
}

/// A field in its Delta type ([`TableDef::delta_schema`]).
pub fn delta_field(field: &Field) -> Field {
    field.clone().with_data_type(delta_type(field.data_type()))
}

/// Timestamps (at any depth) as UTC microseconds; every other type as it is.
pub fn delta_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Timestamp(..) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::List(item) => DataType::List(Arc::new(delta_field(item))),
        DataType::Struct(fields) => {
            DataType::Struct(fields.iter().map(|f| delta_field(f)).collect())
        }
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(delta_field(entries)), *sorted),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::Fields;

    use super::*;

    fn money(name: &str) -> Field {
        Field::new(name, DataType::Decimal128(18, 4), true)
    }

    fn ms(name: &str, nullable: bool) -> Field {
        timestamp(name, nullable)
    }

    fn string(name: &str) -> Field {
        utf8(name, true)
    }

    /// The shop's tables as the warehouses written before declared schemas have them, written
    /// out by hand: the built-in schema must give exactly these, or old warehouses stop
    /// reading.
    fn shop_layout(table: &str) -> Vec<Field> {
        let ingest = vec![
            string("ingest_source"),
            string("ingest_shard"),
            string("ingest_sequence"),
            ms("ingest_arrival_time", true),
        ];
        let change = vec![
            utf8("operation", false),
            string("sequence_number"),
            ms("change_time", false),
            string("event_id"),
        ];
        let item = Fields::from(vec![
            string("product_id"),
            Field::new("quantity", DataType::Int64, true),
            money("price"),
        ]);
        let mut fields = match table {
            "events" => vec![
                utf8("eventtype", false),
                utf8("userid", false),
                Field::new("timestamp", DataType::Int64, false),
                Field::new(
                    "properties",
                    DataType::Struct(Fields::from(vec![
                        string("page"),
                        string("referrer"),
                        string("productid"),
                        Field::new("amount", DataType::Float64, true),
                        string("currency"),
                    ])),
                    true,
                ),
                string("extra"),
            ],
            "order_changes" => {
                let mut f = change.clone();
                f.extend([
                    utf8("order_id", false),
                    utf8("user_id", false),
                    string("status"),
                    money("total_amount"),
                    string("currency"),
                    ms("created_at", false),
                    ms("updated_at", true),
                    Field::new(
                        "items",
                        DataType::List(Arc::new(Field::new("item", DataType::Struct(item), true))),
                        true,
                    ),
                    string("extra_attributes"),
                ]);
                f
            }
            "user_changes" => {
                let mut f = change.clone();
                f.extend([
                    utf8("user_id", false),
                    string("email"),
                    string("name"),
                    string("country"),
                    ms("created_at", false),
                    ms("updated_at", true),
                    string("extra_attributes"),
                ]);
                f
            }
            other => panic!("not a shop table: {other}"),
        };
        fields.extend(ingest);
        fields
    }

    #[test]
    fn the_builtin_schema_is_the_shop_as_its_warehouses_have_it() {
        let schema = Schema::builtin();
        let names: Vec<&str> = schema.tables().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["events", "order_changes", "user_changes"]);
        assert_eq!(
            schema.names(),
            "events, order_changes, user_changes, orders, users"
        );
        for table in schema.handles() {
            let expected = ArrowSchema::new(shop_layout(table.name()));
            assert_eq!(table.schema().as_ref(), &expected, "{}", table.name());
        }
        let state: Vec<(&str, &[String])> = schema
            .state_tables()
            .iter()
            .map(|s| (s.name(), s.key()))
            .collect();
        assert_eq!(
            state,
            [
                ("orders", &["order_id".to_string()][..]),
                ("users", &["user_id".to_string()][..])
            ]
        );
        let users = StateTable::builtin("users").schema();
        let columns: Vec<&str> = users.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            columns,
            [
                "user_id",
                "email",
                "name",
                "country",
                "created_at",
                "updated_at",
                "extra_attributes",
                "deleted",
                "last_change_time",
                "sequence_number",
                "year",
                "month",
                "day"
            ]
        );
        let sort = |name: &str| schema.table(name).unwrap().sort_key();
        assert_eq!(sort("events"), ["eventtype", "userid", "timestamp"]);
        assert_eq!(
            sort("order_changes"),
            ["order_id", "change_time", "sequence_number"]
        );
    }

    #[test]
    fn the_readmes_second_domain_is_a_valid_schema() {
        let text = include_str!("../../../docs/examples/helpdesk.toml");
        assert!(
            include_str!("../../../README.md").contains(text),
            "the README shows docs/examples/helpdesk.toml as it is"
        );
        let schema = Schema::parse(text, "helpdesk.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .leak();
        assert_eq!(
            schema.names(),
            "ticket_changes, customer_changes, telemetry, tickets, customers"
        );
        let tickets = schema.get("ticket_changes").unwrap().state().unwrap();
        assert_eq!(tickets.key(), ["customer_id", "ticket_id"]);
        let telemetry = schema.table("telemetry").unwrap();
        assert_eq!(telemetry.sort_key(), ["app_version", "ts"]);
        assert_eq!(
            telemetry.column("device_os").unwrap().from.as_deref(),
            Some(&["device".to_string(), "os".to_string(), "name".to_string()][..])
        );
    }

    #[test]
    fn a_source_kind_without_tables_or_with_unmatched_raw_gets_its_raw_table() {
        let names = |text: &str| -> Vec<String> {
            let schema = Schema::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
            schema.tables().iter().map(|t| t.name.clone()).collect()
        };
        assert_eq!(names("version = 1\n"), ["dynamodb_raw", "json_raw"]);
        let telemetry = "[[tables]]\nname = \"t\"\nsource = \"json\"\ntime = \"ts\"\ncolumns = [{ name = \"ts\", type = \"timestamp\" }]\n";
        assert_eq!(
            names(&format!("version = 1\n{telemetry}")),
            ["t", "dynamodb_raw"]
        );
        assert_eq!(
            names(&format!("version = 1\nunmatched = \"raw\"\n{telemetry}")),
            ["t", "dynamodb_raw", "json_raw"]
        );
        let raw = TableDef::raw_table(SourceKind::Dynamodb);
        let columns: Vec<String> = raw
            .arrow_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            columns,
            [
                "operation",
                "sequence_number",
                "change_time",
                "event_id",
                "keys",
                "new_image",
                "old_image",
                "ingest_source",
                "ingest_shard",
                "ingest_sequence",
                "ingest_arrival_time"
            ]
        );
        let e = Schema::parse(
            &format!(
                "version = 1\n{}",
                telemetry.replace("\"t\"", "\"json_raw\"")
            ),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("a raw table's"), "{e}");
    }

    #[test]
    fn nested_timestamps_take_delta_types_too() {
        let nested = DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(Fields::from(vec![ms("at", true)])),
            true,
        )));
        let DataType::List(item) = delta_type(&nested) else {
            panic!("a list")
        };
        let DataType::Struct(fields) = item.data_type() else {
            panic!("a struct")
        };
        assert_eq!(
            fields[0].data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }
}
