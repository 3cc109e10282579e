//! The decoded records that flow from `ingest` into the table writers, and the dead letters
//! that stand in for records that could not be decoded.

use std::sync::Arc;

use std::sync::LazyLock;

use tributary_table::layout::{OutOfRange, Partition, Table};

/// The shop's tables, looked up once: a record's table is asked for per record.
static SHOP: LazyLock<[Table; 3]> =
    LazyLock::new(|| ["events", "order_changes", "user_changes"].map(Table::builtin));
use tributary_table::sequence::SequenceNumber;

/// Where one record came from: enough to find it again and to trace duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `file`, `kinesis`, `dynamodb-stream`, ...
    pub source: Arc<str>,
    /// The shard id, or the URI of the input file.
    pub shard: Arc<str>,
    /// The record's sequence number in its shard (for files: the 1-based line number).
    pub sequence: SequenceNumber,
    /// When the stream accepted the record (Kinesis ApproximateArrivalTimestamp); unknown for files.
    pub arrival_time_ms: Option<i64>,
}

/// One clickstream event as the web shop sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickEvent {
    pub event_type: String,
    pub user_id: String,
    /// Event time, epoch milliseconds (UTC); the partition is taken from it.
    pub timestamp_ms: i64,
    pub page: Option<String>,
    pub referrer: Option<String>,
    pub product_id: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    /// Keys the schema does not name, as a JSON object text (never dropped).
    pub extra: Option<String>,
    pub origin: Origin,
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Modify,
    Remove,
    /// A row of a DynamoDB table export: the item's state at the export time (Debezium's "read").
    Snapshot,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Modify => "MODIFY",
            Operation::Remove => "REMOVE",
            Operation::Snapshot => "SNAPSHOT",
        }
    }
}

/// The change-data-capture header shared by every CDC table.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub operation: Operation,
    /// The stream sequence number; none for export snapshots.
    pub sequence_number: Option<SequenceNumber>,
    /// ApproximateCreationDateTime of the change (or the export time), epoch milliseconds.
    pub change_time_ms: i64,
    /// The stream record's eventID; none for export snapshots.
    pub event_id: Option<String>,
    pub origin: Origin,
}

/// Money and prices: DECIMAL(18,4), as an integer count of 1/10,000ths.
pub use tributary_table::layout::{MONEY_PRECISION, MONEY_SCALE};

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub product_id: Option<String>,
    pub quantity: Option<i64>,
    /// Scaled by 10^[`MONEY_SCALE`].
    pub price: Option<i128>,
}

/// One change of an `ORDER#` item (image: NewImage, or OldImage for REMOVE).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderChange {
    pub change: Change,
    pub order_id: String,
    pub user_id: String,
    pub status: Option<String>,
    /// Scaled by 10^[`MONEY_SCALE`].
    pub total_amount: Option<i128>,
    pub currency: Option<String>,
    /// Creation time: the partition, which never changes for an order.
    pub created_at_ms: i64,
    pub updated_at_ms: Option<i64>,
    pub items: Option<Vec<OrderItem>>,
    /// Attributes the schema does not name, as a JSON object text.
    pub extra_attributes: Option<String>,
}

/// One change of a `PROFILE` item.
#[derive(Debug, Clone, PartialEq)]
pub struct UserChange {
    pub change: Change,
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: Option<i64>,
    pub extra_attributes: Option<String>,
}

/// A decoded record, bound for one table.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(ClickEvent),
    Order(OrderChange),
    User(UserChange),
}

impl Record {
    pub fn origin(&self) -> &Origin {
        match self {
            Record::Event(e) => &e.origin,
            Record::Order(o) => &o.change.origin,
            Record::User(u) => &u.change.origin,
        }
    }

    /// The table the record belongs to.
    pub fn table(&self) -> Table {
        match self {
            Record::Event(_) => SHOP[0],
            Record::Order(_) => SHOP[1],
            Record::User(_) => SHOP[2],
        }
    }

    /// The UTC day that partitions the record: event time, or the item's creation time.
    pub fn partition(&self) -> Result<Partition, OutOfRange> {
        Partition::of_millis(match self {
            Record::Event(e) => e.timestamp_ms,
            Record::Order(o) => o.created_at_ms,
            Record::User(u) => u.created_at_ms,
        })
    }
}

/// A record that could not be decoded or mapped: kept with its raw bytes and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub origin: Origin,
    /// The input format the record was read as (`events`, `dynamodb-stream`, ...).
    pub format: &'static str,
    pub reason: String,
    pub raw: Vec<u8>,
}
