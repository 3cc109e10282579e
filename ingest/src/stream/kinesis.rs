//! Kinesis Data Streams over the AWS SDK: ListShards, GetShardIterator, GetRecords.

use async_trait::async_trait;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use tributary_transform::SequenceNumber;

use super::client::{ClientError, Fetched, RawRecord, ShardClient, StreamKind, message, slug};
use super::identity::{StreamIdentity, StreamInfo};
use super::shard::{Position, Shard, ShardId};

/// GetRecords returns at most this many records (the service's maximum).
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>
const GET_RECORDS_LIMIT: i32 = 10_000;

/// A Kinesis stream named by name or ARN.
pub struct KinesisStream {
    client: Client,
    /// The stream name, or its ARN (`arn:aws:kinesis:...:stream/<name>`).
    stream: String,
    slug: String,
    /// The retention in milliseconds, as last described (0: not yet).
    retention_ms: std::sync::atomic::AtomicU64,
}

impl KinesisStream {
    pub fn new(config: &aws_config::SdkConfig, stream: &str) -> Self {
        let name = stream
            .rsplit_once(":stream/")
            .map_or(stream, |(_, name)| name);
        Self {
            client: Client::new(config),
            stream: stream.to_string(),
            slug: format!("kinesis-{}", slug(name)),
            retention_ms: Default::default(),
        }
    }

    fn is_arn(&self) -> bool {
        self.stream.starts_with("arn:")
    }
}

#[async_trait]
impl ShardClient for KinesisStream {
    fn kind(&self) -> StreamKind {
        StreamKind::Kinesis
    }

    fn slug(&self) -> &str {
        &self.slug
    }

    async fn describe(&self) -> Result<StreamInfo, ClientError> {
        const OPERATION: &str = "DescribeStreamSummary";
        let request = self.client.describe_stream_summary();
        let request = if self.is_arn() {
            request.stream_arn(&self.stream)
        } else {
            request.stream_name(&self.stream)
        };
        let out = request
            .send()
            .await
            .map_err(|e| ClientError::service(OPERATION, &self.stream, e))?;
        let summary = out
            .stream_description_summary
            .ok_or_else(|| ClientError::Service {
                operation: OPERATION,
                resource: self.stream.clone(),
                message: "no stream description in the answer".into(),
            })?;
        let retention = u64::try_from(summary.retention_period_hours)
            .ok()
            .filter(|hours| *hours > 0)
            .map(|hours| std::time::Duration::from_secs(hours * 3600));
        if let Some(retention) = retention {
            self.retention_ms.store(
                retention.as_millis() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok(StreamInfo {
            identity: StreamIdentity {
                arn: summary.stream_arn,
                created_ms: summary.stream_creation_timestamp.to_millis().unwrap_or(0),
            },
            retention,
        })
    }

    fn retention(&self) -> Option<std::time::Duration> {
        match self.retention_ms.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            ms => Some(std::time::Duration::from_millis(ms)),
        }
    }

    async fn list_shards(&self) -> Result<Vec<Shard>, ClientError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // with a NextToken, the stream must not be named again
            let mut request = self.client.list_shards();
            request = match &token {
                Some(t) => request.next_token(t),
                None if self.is_arn() => request.stream_arn(&self.stream),
                None => request.stream_name(&self.stream),
            };
            let page = request
                .send()
                .await
                .map_err(|e| ClientError::service("ListShards", &self.stream, e))?;
            for s in page.shards.unwrap_or_default() {
                let parents = [s.parent_shard_id, s.adjacent_parent_shard_id]
                    .into_iter()
                    .flatten()
                    .map(ShardId)
                    .collect();
                shards.push(Shard {
                    id: ShardId(s.shard_id),
                    parents,
                });
            }
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(shards),
            }
        }
    }

    async fn iterator(&self, shard: &ShardId, position: &Position) -> Result<String, ClientError> {
        let mut request = self.client.get_shard_iterator().shard_id(shard.as_str());
        request = if self.is_arn() {
            request.stream_arn(&self.stream)
        } else {
            request.stream_name(&self.stream)
        };
        request = match position {
            Position::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Position::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
            Position::AtTimestamp { millis } => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(*millis)),
            Position::AtSequence(s) => request
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s.as_str()),
            Position::AfterSequence(s) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s.as_str()),
        };
        match request.send().await {
            Ok(out) => out
                .shard_iterator
                .ok_or_else(|| ClientError::no_iterator(shard)),
            Err(e) => Err(match e.as_service_error() {
                Some(s) => iterator_error(shard, s, message(&e)),
                None => ClientError::service("GetShardIterator", shard.as_str(), e),
            }),
        }
    }

    async fn get_records(&self, shard: &ShardId, iterator: &str) -> Result<Fetched, ClientError> {
        let out = match self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(GET_RECORDS_LIMIT)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return Err(match e.as_service_error() {
                    Some(s) => records_error(shard, s, message(&e)),
                    None => ClientError::service("GetRecords", shard.as_str(), e),
                });
            }
        };
        let mut records = Vec::with_capacity(out.records.len());
        for r in out.records {
            let sequence =
                SequenceNumber::parse(&r.sequence_number).map_err(|e| ClientError::Service {
                    operation: "GetRecords",
                    resource: shard.to_string(),
                    message: e.to_string(),
                })?;
            let arrival_ms = r
                .approximate_arrival_timestamp
                .and_then(|t| t.to_millis().ok());
            records.push(RawRecord {
                sequence,
                arrival_ms,
                data: r.data.into_inner(),
            });
        }
        Ok(Fetched {
            records,
            next_iterator: out.next_shard_iterator,
            millis_behind_latest: out.millis_behind_latest,
        })
    }
}

/// What a GetShardIterator error means for the reader.
fn iterator_error(shard: &ShardId, error: &GetShardIteratorError, message: String) -> ClientError {
    const OPERATION: &str = "GetShardIterator";
    match error {
        GetShardIteratorError::ProvisionedThroughputExceededException(_) => {
            ClientError::throttled(OPERATION, shard, message)
        }
        // a sequence number of another shard or stream, or a stream or shard that is gone
        GetShardIteratorError::InvalidArgumentException(_)
        | GetShardIteratorError::ResourceNotFoundException(_) => {
            ClientError::refused(OPERATION, shard, message)
        }
        _ => ClientError::failed(OPERATION, shard, message),
    }
}

/// What a GetRecords error means for the reader.
fn records_error(shard: &ShardId, error: &GetRecordsError, message: String) -> ClientError {
    const OPERATION: &str = "GetRecords";
    match error {
        GetRecordsError::ExpiredIteratorException(_) => ClientError::ExpiredIterator {
            shard: shard.to_string(),
        },
        GetRecordsError::ProvisionedThroughputExceededException(_)
        | GetRecordsError::KmsThrottlingException(_) => {
            ClientError::throttled(OPERATION, shard, message)
        }
        GetRecordsError::InvalidArgumentException(_)
        | GetRecordsError::ResourceNotFoundException(_) => {
            ClientError::refused(OPERATION, shard, message)
        }
        _ => ClientError::failed(OPERATION, shard, message),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kinesis::types::error::{
        ExpiredIteratorException, InternalFailureException, InvalidArgumentException,
        KmsThrottlingException, ProvisionedThroughputExceededException, ResourceNotFoundException,
    };

    use super::*;

    fn shard() -> ShardId {
        ShardId("shardId-000000000001".into())
    }

    #[test]
    fn get_shard_iterator_errors_are_classified() {
        let invalid = GetShardIteratorError::InvalidArgumentException(
            InvalidArgumentException::builder()
                .message("Invalid StartingSequenceNumber. It encodes shardId-000000000007")
                .build(),
        );
        let err = iterator_error(
            &shard(),
            &invalid,
            "InvalidArgumentException: it encodes shardId-000000000007".into(),
        );
        assert!(matches!(err, ClientError::Refused { .. }), "{err:?}");
        assert!(
            err.to_string().contains("shardId-000000000007") && err.to_string().contains("stopped"),
            "{err}"
        );
        let gone = GetShardIteratorError::ResourceNotFoundException(
            ResourceNotFoundException::builder().build(),
        );
        assert_eq!(
            iterator_error(&shard(), &gone, String::new()).kind(),
            "refused"
        );
        let slow = GetShardIteratorError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder().build(),
        );
        assert_eq!(
            iterator_error(&shard(), &slow, String::new()).kind(),
            "throttled"
        );
        let internal = GetShardIteratorError::InternalFailureException(
            InternalFailureException::builder().build(),
        );
        assert_eq!(
            iterator_error(&shard(), &internal, String::new()).kind(),
            "read_failed"
        );
    }

    #[test]
    fn get_records_errors_are_classified() {
        let cases = [
            (
                GetRecordsError::ExpiredIteratorException(
                    ExpiredIteratorException::builder().build(),
                ),
                "expired_iterator",
            ),
            (
                GetRecordsError::ProvisionedThroughputExceededException(
                    ProvisionedThroughputExceededException::builder().build(),
                ),
                "throttled",
            ),
            (
                GetRecordsError::KmsThrottlingException(KmsThrottlingException::builder().build()),
                "throttled",
            ),
            (
                GetRecordsError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                ),
                "refused",
            ),
            (
                GetRecordsError::InvalidArgumentException(
                    InvalidArgumentException::builder().build(),
                ),
                "refused",
            ),
            (
                GetRecordsError::InternalFailureException(
                    InternalFailureException::builder().build(),
                ),
                "read_failed",
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(
                records_error(&shard(), &error, String::new()).kind(),
                kind,
                "{error:?}"
            );
        }
    }
}
