//! What the worker needs from a stream service, whichever it is: list shards, get an iterator,
//! get records. [`super::kinesis`] and [`super::dynamodb_streams`] implement it over the AWS
//! SDK; unit tests implement it in memory.

use std::sync::Arc;

use async_trait::async_trait;
use tributary_transform::SequenceNumber;

use super::identity::StreamInfo;
use super::shard::{Position, Shard, ShardId};

/// The kind of stream a source reads: names the decoder and the `ingest_source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Kinesis Data Streams: clickstream events and DynamoDB changes, KPL-aggregated or not.
    Kinesis,
    /// DynamoDB Streams records.
    DynamodbStream,
}

impl StreamKind {
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Kinesis => "kinesis",
            StreamKind::DynamodbStream => "dynamodb-stream",
        }
    }
}

/// One record as GetRecords returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub sequence: SequenceNumber,
    /// Kinesis: ApproximateArrivalTimestamp; DynamoDB Streams: ApproximateCreationDateTime.
    pub arrival_ms: Option<i64>,
    /// Kinesis: the producer's bytes; DynamoDB Streams: the record as its JSON wire form.
    pub data: Vec<u8>,
}

/// One GetRecords answer.
#[derive(Debug, Default)]
pub struct Fetched {
    pub records: Vec<RawRecord>,
    /// `None`: the shard is closed and every record of it has been returned.
    pub next_iterator: Option<String>,
    /// How far the reader is behind the tip of the shard (Kinesis only).
    pub millis_behind_latest: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// ProvisionedThroughputExceeded / LimitExceeded: back off and ask again.
    #[error("{operation} on shard {shard} was throttled: {message}")]
    Throttled {
        operation: &'static str,
        shard: String,
        message: String,
    },
    /// The iterator is older than its lifetime (5 min for Kinesis, 15 for DynamoDB Streams).
    #[error("the shard iterator of {shard} expired")]
    ExpiredIterator { shard: String },
    /// The position asked for is older than the stream's retention.
    #[error("shard {shard}: records at {position} are past the stream's retention: {message}")]
    Trimmed {
        shard: String,
        position: String,
        message: String,
    },
    /// The service refuses the position, or no longer knows the shard or the stream
    /// (`InvalidArgumentException`, `ResourceNotFoundException`): asking again cannot help, so
    /// the shard stops with this error.
    #[error(
        "{operation} on shard {shard} was refused: {message}; the shard is stopped (was the \
         stream deleted or re-created, or does the checkpoint belong to another stream?)"
    )]
    Refused {
        operation: &'static str,
        shard: String,
        message: String,
    },
    #[error("{operation} on {resource} failed: {message}")]
    Service {
        operation: &'static str,
        resource: String,
        message: String,
    },
}

impl ClientError {
    /// A failed call, with the whole error chain the SDK gives as the message.
    pub fn service(operation: &'static str, resource: &str, err: impl std::error::Error) -> Self {
        ClientError::Service {
            operation,
            resource: resource.to_string(),
            message: message(&err),
        }
    }

    /// A throttled request (see [`ClientError::Throttled`]).
    pub fn throttled(operation: &'static str, shard: &ShardId, message: String) -> Self {
        ClientError::Throttled {
            operation,
            shard: shard.to_string(),
            message,
        }
    }

    /// A failed request worth retrying, with the service's message.
    pub fn failed(operation: &'static str, shard: &ShardId, message: String) -> Self {
        ClientError::Service {
            operation,
            resource: shard.to_string(),
            message,
        }
    }

    /// A refused request (see [`ClientError::Refused`]).
    pub fn refused(operation: &'static str, shard: &ShardId, message: String) -> Self {
        ClientError::Refused {
            operation,
            shard: shard.to_string(),
            message,
        }
    }

    /// The label of this error in the `errors` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Throttled { .. } => "throttled",
            ClientError::ExpiredIterator { .. } => "expired_iterator",
            ClientError::Trimmed { .. } => "trimmed",
            ClientError::Refused { .. } => "refused",
            ClientError::Service { .. } => "read_failed",
        }
    }

    /// A GetShardIterator answer without an iterator.
    pub fn no_iterator(shard: &ShardId) -> Self {
        ClientError::Service {
            operation: "GetShardIterator",
            resource: shard.to_string(),
            message: "no iterator in the answer".into(),
        }
    }
}

/// An SDK error with its causes (the service's code and message, or the transport failure);
/// every AWS SDK crate re-exports the same formatter.
pub fn message(err: &impl std::error::Error) -> String {
    aws_sdk_kinesis::error::DisplayErrorContext(err).to_string()
}

/// A stream service: one source.
#[async_trait]
pub trait ShardClient: Send + Sync + 'static {
    fn kind(&self) -> StreamKind;

    /// A stable name for checkpoints, file names and metrics (`kinesis-clicks`,
    /// `dynamodb-orders-2026-11-22T07:00:00.000`).
    fn slug(&self) -> &str;

    /// Which stream this is (ARN and creation time) and how long it keeps records.
    async fn describe(&self) -> Result<StreamInfo, ClientError>;

    /// The retention the last [`ShardClient::describe`] reported, if the service reports one
    /// and says nothing itself of a position past it (Kinesis; the worker describes its
    /// stream every discovery round, so a changed retention is seen).
    fn retention(&self) -> Option<std::time::Duration> {
        None
    }

    /// Every shard the service still lists (open and closed).
    async fn list_shards(&self) -> Result<Vec<Shard>, ClientError>;

    async fn iterator(&self, shard: &ShardId, position: &Position) -> Result<String, ClientError>;

    async fn get_records(&self, shard: &ShardId, iterator: &str) -> Result<Fetched, ClientError>;
}

pub type SharedClient = Arc<dyn ShardClient>;

/// Makes a name safe and readable in object keys: keeps `[A-Za-z0-9._-]`, maps the rest to `_`.
pub fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_key_safe() {
        assert_eq!(
            super::slug("orders/stream/2026-11-22T07:00:00.000"),
            "orders_stream_2026-11-22T07_00_00.000"
        );
    }
}
