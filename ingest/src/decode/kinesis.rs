//! Kinesis Data Streams records: what the producer put, as bytes.
//!
//! One stream may carry clickstream events, DynamoDB changes ("Kinesis Data Streams for
//! DynamoDB": the stream record JSON with `tableName`), or both; each record says which it is
//! by its top-level keys. Records aggregated by the KPL are first split into their user records
//! ([`super::kpl`]).

use serde::Deserialize;
use serde::de::IgnoredAny;
use tributary_transform::model::Origin;

use super::{Decoded, Format, kpl};

/// Which decoder a Kinesis payload needs.
pub fn payload_format(data: &[u8]) -> Format {
    // the cheap test first: an event that never mentions "dynamodb" goes straight to its decoder
    if memchr::memmem::find(data, b"\"dynamodb\"").is_none() {
        return Format::Events;
    }
    /// The top-level keys that tell a DynamoDB change from an event (other keys are skipped).
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "eventName")]
        event_name: Option<IgnoredAny>,
        dynamodb: Option<IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(data) {
        Ok(Probe {
            event_name: Some(_),
            dynamodb: Some(_),
        }) => Format::DynamodbStream,
        _ => Format::Events,
    }
}

/// Decodes one Kinesis record (de-aggregating KPL records) and hands each user record, with its
/// format and raw bytes, to `each`.
pub fn decode_record(
    data: &[u8],
    origin: &Origin,
    mut each: impl FnMut(Format, &[u8], Result<Decoded, String>),
) {
    if kpl::is_aggregated(data) {
        match kpl::deaggregate(data) {
            Ok(records) => {
                for record in &records {
                    decode_user_record(record, origin, &mut each);
                }
            }
            Err(reason) => each(Format::Events, data, Err(reason)),
        }
    } else {
        decode_user_record(data, origin, &mut each);
    }
}

fn decode_user_record(
    data: &[u8],
    origin: &Origin,
    each: &mut impl FnMut(Format, &[u8], Result<Decoded, String>),
) {
    let format = payload_format(data);
    // no export time: a Kinesis payload is never an export line
    each(format, data, super::decode(format, data, origin.clone(), 0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_transform::{Record, SequenceNumber};

    fn origin() -> Origin {
        Origin {
            source: "kinesis".into(),
            shard: "shardId-0".into(),
            sequence: SequenceNumber::from_u64(7),
            arrival_time_ms: None,
        }
    }

    const EVENT: &[u8] = br#"{"eventType":"PAGE_VIEW","userId":"u1","timestamp":1767607200000,"properties":{"page":"/dynamodb"}}"#;
    const CHANGE: &[u8] = br#"{"eventID":"e1","eventName":"INSERT","tableName":"shop","dynamodb":{"ApproximateCreationDateTime":1767607200123,"Keys":{"PK":{"S":"USER#u1"},"SK":{"S":"PROFILE"}},"NewImage":{"createdAt":{"S":"2026-01-05T10:00:00Z"}}}}"#;

    fn decode_all(data: &[u8]) -> Vec<(Format, Result<Decoded, String>)> {
        let mut out = Vec::new();
        decode_record(data, &origin(), |f, _, r| out.push((f, r)));
        out
    }

    #[test]
    fn tells_events_from_dynamodb_changes() {
        assert_eq!(payload_format(EVENT), Format::Events);
        assert_eq!(
            payload_format(br#"{"eventType":"X","properties":{"dynamodb":1}}"#),
            Format::Events
        );
        assert_eq!(payload_format(CHANGE), Format::DynamodbStream);
        let out = decode_all(CHANGE);
        assert!(matches!(out[0].1.as_ref().unwrap().record, Record::User(_)));
        assert!(matches!(
            decode_all(EVENT)[0].1.as_ref().unwrap().record,
            Record::Event(_)
        ));
    }

    #[test]
    fn splits_kpl_aggregates_and_reports_bad_ones() {
        let data = kpl::aggregate(&[("u1", EVENT), ("u1", b"{not json"), ("u2", CHANGE)]);
        let out = decode_all(&data);
        assert_eq!(out.len(), 3);
        assert!(out[0].1.is_ok() && out[2].1.is_ok());
        assert!(out[1].1.as_ref().unwrap_err().contains("invalid event"));
        let mut broken = data.clone();
        broken.truncate(data.len() - 1);
        let out = decode_all(&broken);
        assert_eq!(out.len(), 1);
        assert!(out[0].1.as_ref().unwrap_err().contains("KPL"));
    }
}
