//! Decoding: raw records in, rows of the schema's tables (or the reason a record is a dead
//! letter) out: [`SchemaDecoder`], compiled once per run from the schema, fills a
//! [`ChunkRows`] per chunk of records.

pub mod attribute;
pub mod document;
pub mod key;
pub mod kinesis;
pub mod kpl;
pub mod plan;
#[cfg(test)]
mod properties;
pub mod row;
pub mod schema_decoder;
pub mod typed;

use std::str::FromStr;

pub use schema_decoder::{ChunkRows, SchemaDecoder, TableBatch};

/// The formats records arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Clickstream events as JSON objects.
    Events,
    /// DynamoDB Streams records (also as delivered through Kinesis Data Streams).
    DynamodbStream,
    /// DynamoDB Export to S3, DYNAMODB_JSON lines.
    DynamodbExport,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Events => "events",
            Format::DynamodbStream => "dynamodb-stream",
            Format::DynamodbExport => "dynamodb-export",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "events" => Ok(Format::Events),
            "dynamodb-stream" => Ok(Format::DynamodbStream),
            "dynamodb-export" => Ok(Format::DynamodbExport),
            other => Err(format!(
                "unknown format {other:?} (expected events, dynamodb-stream or dynamodb-export)"
            )),
        }
    }
}
