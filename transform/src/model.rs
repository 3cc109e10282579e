//! What flows from `ingest` into the table writers besides the rows themselves: where a record
//! came from, what happened to an item, and the dead letters that stand in for records that
//! could not be decoded.

use std::sync::Arc;

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

/// A record that could not be decoded or mapped: kept with its raw bytes and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub origin: Origin,
    /// The input format the record was read as (`events`, `dynamodb-stream`, ...).
    pub format: &'static str,
    pub reason: String,
    pub raw: Vec<u8>,
}
