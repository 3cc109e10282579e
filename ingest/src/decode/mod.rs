//! Decoding: one raw record in, a [`Record`] or the reason it is a dead letter out.

pub mod attribute;
pub mod document;
pub mod dynamodb;
pub mod entity;
pub mod events;
pub mod export;
pub mod kinesis;
pub mod kpl;
pub mod plan;
pub mod row;
pub mod schema_decoder;
pub mod typed;

use std::str::FromStr;

use tributary_table::schema::Schema;
use tributary_transform::model::{Origin, Record};

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

/// What one raw record decodes to.
#[derive(Debug)]
pub struct Decoded {
    pub record: Record,
    /// The stream's event id, for dropping redelivered duplicates.
    pub event_id: Option<String>,
}

/// Decodes one record of `format`; `export_time_ms` dates export snapshots.
pub fn decode(
    format: Format,
    raw: &[u8],
    origin: Origin,
    export_time_ms: i64,
) -> Result<Decoded, String> {
    match format {
        Format::Events => events::decode(raw, origin).map(|e| Decoded {
            record: Record::Event(e),
            event_id: None,
        }),
        Format::DynamodbStream => dynamodb::decode(raw, origin).map(|c| Decoded {
            record: c.record,
            event_id: Some(c.event_id),
        }),
        Format::DynamodbExport => {
            export::decode(raw, origin, export_time_ms).map(|record| Decoded {
                record,
                event_id: None,
            })
        }
    }
}

/// A schema whose tables the decoders cannot fill yet: they decode the shop's records only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "writing the tables of this schema ({tables}) is not supported yet: backfill and run decode \
     the built-in shop schema's records only (sql, query, ddl, compact and vacuum read any schema)"
)]
pub struct UndecodableSchema {
    pub tables: String,
}

/// Refuses a schema other than the shop's, before anything is read or written.
pub fn refuse_undecodable(schema: &'static Schema) -> Result<(), UndecodableSchema> {
    if schema == Schema::builtin() {
        return Ok(());
    }
    Err(UndecodableSchema {
        tables: schema.names(),
    })
}
