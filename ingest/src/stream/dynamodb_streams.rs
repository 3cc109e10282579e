//! DynamoDB Streams over the AWS SDK: DescribeStream, GetShardIterator, GetRecords.
//!
//! Records are turned back into their JSON wire form, the same text Lambda, `aws
//! dynamodbstreams get-records` and Kinesis Data Streams for DynamoDB show, so one decoder
//! serves every delivery path and a dead letter keeps a record a person can read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use serde_json::{Map, Value, json};
use tributary_transform::SequenceNumber;

use super::client::{ClientError, Fetched, RawRecord, ShardClient, StreamKind, message, slug};
use super::identity::{StreamIdentity, StreamInfo};
use super::shard::{Position, Shard, ShardId};

/// GetRecords returns at most this many records (the service's maximum).
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html>
const GET_RECORDS_LIMIT: i32 = 1_000;

pub struct DynamodbStream {
    client: Client,
    arn: String,
    slug: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("DescribeTable {table} failed: {message}")]
    Describe { table: String, message: String },
    #[error("table {table} has no stream: enable DynamoDB Streams (NEW_AND_OLD_IMAGES) on it")]
    NoStream { table: String },
}

/// The ARN of a table's latest stream.
pub async fn latest_stream_arn(
    config: &aws_config::SdkConfig,
    table: &str,
) -> Result<String, ResolveError> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| ResolveError::Describe {
            table: table.to_string(),
            message: message(&e),
        })?;
    out.table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| ResolveError::NoStream {
            table: table.to_string(),
        })
}

impl DynamodbStream {
    /// `arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>`.
    pub fn new(config: &aws_config::SdkConfig, arn: &str) -> Self {
        let name = arn
            .split_once(":table/")
            .map_or(arn, |(_, rest)| rest)
            .replace("/stream/", "-");
        Self {
            client: Client::new(config),
            arn: arn.to_string(),
            slug: format!("dynamodb-{}", slug(&name)),
        }
    }
}

#[async_trait]
impl ShardClient for DynamodbStream {
    fn kind(&self) -> StreamKind {
        StreamKind::DynamodbStream
    }

    fn slug(&self) -> &str {
        &self.slug
    }

    async fn describe(&self) -> Result<StreamInfo, ClientError> {
        const OPERATION: &str = "DescribeStream";
        let out = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .limit(1)
            .send()
            .await
            .map_err(|e| ClientError::service(OPERATION, &self.arn, e))?;
        let description = out.stream_description;
        let created = description
            .as_ref()
            .and_then(|d| d.creation_request_date_time)
            .and_then(|t| t.to_millis().ok());
        Ok(StreamInfo {
            identity: StreamIdentity {
                arn: description
                    .and_then(|d| d.stream_arn)
                    .unwrap_or_else(|| self.arn.clone()),
                created_ms: created.unwrap_or(0),
            },
            // 24 hours, fixed; the service reports a trimmed position itself
            retention: None,
        })
    }

    async fn list_shards(&self) -> Result<Vec<Shard>, ClientError> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let mut request = self.client.describe_stream().stream_arn(&self.arn);
            if let Some(s) = &start {
                request = request.exclusive_start_shard_id(s);
            }
            let out = request
                .send()
                .await
                .map_err(|e| ClientError::service("DescribeStream", &self.arn, e))?;
            let Some(description) = out.stream_description else {
                return Ok(shards);
            };
            for s in description.shards.unwrap_or_default() {
                let Some(id) = s.shard_id else { continue };
                shards.push(Shard {
                    id: ShardId(id),
                    parents: s.parent_shard_id.into_iter().map(ShardId).collect(),
                });
            }
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => return Ok(shards),
            }
        }
    }

    async fn iterator(&self, shard: &ShardId, position: &Position) -> Result<String, ClientError> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard.as_str());
        let request = match position {
            // DynamoDB Streams has no AT_TIMESTAMP: the reader starts at the trim horizon and
            // skips older records (see `super::reader`)
            Position::TrimHorizon | Position::AtTimestamp { .. } => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            Position::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
            Position::AtSequence(s) => request
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .sequence_number(api_sequence(s)),
            Position::AfterSequence(s) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(api_sequence(s)),
        };
        match request.send().await {
            Ok(out) => out
                .shard_iterator
                .ok_or_else(|| ClientError::no_iterator(shard)),
            Err(e) => Err(match e.as_service_error() {
                Some(s) => iterator_error(shard, position, s, message(&e)),
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
        let mut records = Vec::new();
        for record in out.records.unwrap_or_default() {
            let stream_record = record.dynamodb.as_ref();
            let Some(sequence) = stream_record.and_then(|d| d.sequence_number.as_deref()) else {
                return Err(ClientError::Service {
                    operation: "GetRecords",
                    resource: shard.to_string(),
                    message: "a record without dynamodb.SequenceNumber".into(),
                });
            };
            let sequence = SequenceNumber::parse(sequence).map_err(|e| ClientError::Service {
                operation: "GetRecords",
                resource: shard.to_string(),
                message: e.to_string(),
            })?;
            let arrival_ms = stream_record
                .and_then(|d| d.approximate_creation_date_time.as_ref())
                .and_then(|t| t.to_millis().ok());
            records.push(RawRecord {
                sequence,
                arrival_ms,
                data: record_json(&record).to_string().into_bytes(),
            });
        }
        Ok(Fetched {
            records,
            next_iterator: out.next_shard_iterator,
            millis_behind_latest: None,
        })
    }
}

/// A stream record in its JSON wire form.
pub fn record_json(record: &Record) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    };
    put("eventID", record.event_id.clone().map(Value::String));
    put(
        "eventName",
        record
            .event_name
            .as_ref()
            .map(|n| Value::String(n.as_str().to_string())),
    );
    put(
        "eventVersion",
        record.event_version.clone().map(Value::String),
    );
    put(
        "eventSource",
        record.event_source.clone().map(Value::String),
    );
    put("awsRegion", record.aws_region.clone().map(Value::String));
    if let Some(d) = &record.dynamodb {
        let mut ddb = Map::new();
        if let Some(t) = &d.approximate_creation_date_time {
            // epoch seconds, as DynamoDB Streams' JSON has it
            ddb.insert("ApproximateCreationDateTime".into(), json!(t.as_secs_f64()));
        }
        for (key, image) in [
            ("Keys", &d.keys),
            ("NewImage", &d.new_image),
            ("OldImage", &d.old_image),
        ] {
            if let Some(image) = image {
                ddb.insert(key.into(), item_json(image));
            }
        }
        if let Some(s) = &d.sequence_number {
            ddb.insert("SequenceNumber".into(), Value::String(s.clone()));
        }
        if let Some(s) = d.size_bytes {
            ddb.insert("SizeBytes".into(), json!(s));
        }
        if let Some(v) = &d.stream_view_type {
            ddb.insert(
                "StreamViewType".into(),
                Value::String(v.as_str().to_string()),
            );
        }
        out.insert("dynamodb".into(), Value::Object(ddb));
    }
    Value::Object(out)
}

fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

/// One attribute as DynamoDB's typed JSON (`{"S": "x"}`, `{"N": "1.5"}`, ...).
pub fn attribute_json(value: &AttributeValue) -> Value {
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": b64(b.as_ref())}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(n) => json!({"NULL": n}),
        AttributeValue::Ss(v) => json!({"SS": strings(v)}),
        AttributeValue::Ns(v) => json!({"NS": strings(v)}),
        AttributeValue::Bs(v) => {
            json!({"BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>()})
        }
        AttributeValue::L(items) => {
            json!({"L": items.iter().map(attribute_json).collect::<Vec<_>>()})
        }
        AttributeValue::M(map) => json!({"M": item_json(map)}),
        // an attribute type newer than this SDK: kept visible rather than dropped
        _ => json!({"UNKNOWN": format!("{value:?}")}),
    }
}

/// The API's minimum length of a sequence number (`GetShardIterator` refuses shorter ones).
const MIN_SEQUENCE_DIGITS: usize = 21;

/// A sequence number as DynamoDB Streams takes it: at least [`MIN_SEQUENCE_DIGITS`] digits, the
/// leading zeros that [`SequenceNumber`] drops put back (streams number their records
/// `000000000000000000034`, and `34` is refused).
fn api_sequence(sequence: &SequenceNumber) -> String {
    format!("{:0>MIN_SEQUENCE_DIGITS$}", sequence.as_str())
}

/// What a GetShardIterator error means for the reader.
fn iterator_error(
    shard: &ShardId,
    position: &Position,
    error: &GetShardIteratorError,
    message: String,
) -> ClientError {
    const OPERATION: &str = "GetShardIterator";
    match error {
        GetShardIteratorError::TrimmedDataAccessException(_) => ClientError::Trimmed {
            shard: shard.to_string(),
            position: format!("{position:?}"),
            message,
        },
        GetShardIteratorError::ResourceNotFoundException(_) => {
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
        GetRecordsError::LimitExceededException(_) => {
            ClientError::throttled(OPERATION, shard, message)
        }
        GetRecordsError::TrimmedDataAccessException(_) => ClientError::Trimmed {
            shard: shard.to_string(),
            position: "the iterator".into(),
            message,
        },
        GetRecordsError::ResourceNotFoundException(_) => {
            ClientError::refused(OPERATION, shard, message)
        }
        _ => ClientError::failed(OPERATION, shard, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::primitives::DateTime;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord};
    use tributary_transform::model::Origin;

    #[test]
    fn sdk_errors_are_classified() {
        use aws_sdk_dynamodbstreams::types::error::{
            ExpiredIteratorException, InternalServerError, LimitExceededException,
            ResourceNotFoundException, TrimmedDataAccessException,
        };
        let shard = ShardId("shardId-1".into());
        let at = Position::AfterSequence(SequenceNumber::from_u64(7));
        let kind = |e: &GetShardIteratorError| iterator_error(&shard, &at, e, String::new()).kind();
        let trimmed = GetShardIteratorError::TrimmedDataAccessException(
            TrimmedDataAccessException::builder().build(),
        );
        assert_eq!(kind(&trimmed), "trimmed");
        let err = iterator_error(&shard, &at, &trimmed, "past retention".into());
        assert!(err.to_string().contains("AfterSequence"), "{err}");
        let gone = GetShardIteratorError::ResourceNotFoundException(
            ResourceNotFoundException::builder().build(),
        );
        assert_eq!(kind(&gone), "refused");
        let internal =
            GetShardIteratorError::InternalServerError(InternalServerError::builder().build());
        assert_eq!(kind(&internal), "read_failed");
        let cases = [
            (
                GetRecordsError::ExpiredIteratorException(
                    ExpiredIteratorException::builder().build(),
                ),
                "expired_iterator",
            ),
            (
                GetRecordsError::LimitExceededException(LimitExceededException::builder().build()),
                "throttled",
            ),
            (
                GetRecordsError::TrimmedDataAccessException(
                    TrimmedDataAccessException::builder().build(),
                ),
                "trimmed",
            ),
            (
                GetRecordsError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                ),
                "refused",
            ),
            (
                GetRecordsError::InternalServerError(InternalServerError::builder().build()),
                "read_failed",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(
                records_error(&shard, &error, String::new()).kind(),
                want,
                "{error:?}"
            );
        }
    }

    #[test]
    fn sequence_numbers_go_to_the_api_with_at_least_21_digits() {
        let short = SequenceNumber::parse("000000000000000000075").unwrap();
        assert_eq!(short.as_str(), "75");
        assert_eq!(api_sequence(&short), "000000000000000000075");
        let long = "4421584500000000017450439091";
        assert_eq!(api_sequence(&SequenceNumber::parse(long).unwrap()), long);
    }

    #[test]
    fn wire_json_decodes_like_a_stream_file() {
        let image: HashMap<String, AttributeValue> = [
            ("PK".to_string(), AttributeValue::S("USER#u1".into())),
            ("SK".to_string(), AttributeValue::S("ORDER#o1".into())),
            (
                "createdAt".to_string(),
                AttributeValue::S("2026-01-05T10:00:00Z".into()),
            ),
            ("totalAmount".to_string(), AttributeValue::N("12.5".into())),
            ("tags".to_string(), AttributeValue::Ss(vec!["a".into()])),
        ]
        .into();
        let record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_767_607_200))
                    .set_keys(Some(image.clone()))
                    .set_new_image(Some(image))
                    .sequence_number("000000000000000000034")
                    .build(),
            )
            .build();
        let json = record_json(&record);
        assert_eq!(json["dynamodb"]["NewImage"]["tags"], json!({"SS": ["a"]}));
        let origin = Origin {
            source: "dynamodb-stream".into(),
            shard: "s".into(),
            sequence: SequenceNumber::from_u64(34),
            arrival_time_ms: None,
        };
        let decoder = crate::decode::SchemaDecoder::new(tributary_table::schema::Schema::builtin());
        let mut rows = decoder.rows();
        rows.push_stream_record(json.to_string().as_bytes(), &origin)
            .unwrap();
        let orders = rows.finish().unwrap().pop().unwrap();
        assert_eq!(orders.table.name(), "order_changes");
        let value = |column: &str| {
            let array = orders.batch.column_by_name(column).unwrap();
            datafusion::arrow::util::display::array_value_to_string(array, 0).unwrap()
        };
        assert_eq!(value("change_time"), "2026-01-05T10:00:00");
        assert_eq!(value("total_amount"), "12.5000");
    }
}
