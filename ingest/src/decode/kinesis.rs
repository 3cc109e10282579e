//! Kinesis Data Streams records: what the producer put, as bytes.
//!
//! One stream may carry clickstream events, DynamoDB changes ("Kinesis Data Streams for
//! DynamoDB": the stream record JSON with `tableName`), or both; each record says which it is
//! by its top-level keys. Records aggregated by the KPL are first split into their user records
//! ([`super::kpl`]).

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Format, kpl};

/// Which decoder a Kinesis payload needs.
pub fn payload_format(data: &[u8]) -> Format {
    // the cheap test first: an event that never mentions "dynamodb" goes straight to its
    // decoder, unless it has a `\u` escape, which could spell the name (`"dyn\u0061modb"`)
    if memchr::memmem::find(data, b"\"dynamodb\"").is_none()
        && memchr::memmem::find(data, b"\\u").is_none()
    {
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

/// Hands each user record of one Kinesis record (KPL aggregates split first) to `each`, with
/// its format: `Ok(format)`, or `Err(reason)` for an aggregate that cannot be split (handed
/// whole).
pub fn user_records(data: &[u8], mut each: impl FnMut(&[u8], Result<Format, String>)) {
    if kpl::is_aggregated(data) {
        match kpl::deaggregate(data) {
            Ok(records) => {
                for record in &records {
                    each(record, Ok(payload_format(record)));
                }
            }
            Err(reason) => each(data, Err(reason)),
        }
    } else {
        each(data, Ok(payload_format(data)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::SchemaDecoder;
    use tributary_table::schema::Schema;
    use tributary_transform::SequenceNumber;
    use tributary_transform::model::Origin;

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

    /// A user record's format (`None`: an aggregate that could not be split) and result.
    type Outcome = (Option<Format>, Result<(), String>);

    /// Each user record's outcome, and the tables the good ones went to.
    fn decode_all(data: &[u8]) -> (Vec<Outcome>, Vec<&'static str>) {
        let mut rows = SchemaDecoder::new(Schema::builtin()).rows();
        let mut out = Vec::new();
        user_records(data, |record, format| match format {
            Ok(format) => out.push((Some(format), rows.push(format, record, &origin(), 0))),
            Err(reason) => out.push((None, Err(reason))),
        });
        let tables = rows
            .finish()
            .unwrap()
            .iter()
            .map(|t| t.table.name())
            .collect();
        (out, tables)
    }

    #[test]
    fn tells_events_from_dynamodb_changes() {
        assert_eq!(payload_format(EVENT), Format::Events);
        assert_eq!(
            payload_format(br#"{"eventType":"X","properties":{"dynamodb":1}}"#),
            Format::Events
        );
        assert_eq!(payload_format(CHANGE), Format::DynamodbStream);
        let (out, tables) = decode_all(CHANGE);
        assert_eq!(out, [(Some(Format::DynamodbStream), Ok(()))]);
        assert_eq!(tables, ["user_changes"]);
        assert_eq!(decode_all(EVENT).1, ["events"]);
    }

    /// A property-test finding (issue 15): the member name spelled with an escape is the
    /// same name, so the change is read as a change, not as an event.
    #[test]
    fn an_escaped_dynamodb_member_is_still_a_change() {
        let escaped = String::from_utf8(CHANGE.to_vec())
            .unwrap()
            .replace(r#""dynamodb""#, r#""dyn\u0061modb""#)
            .replace(r#""eventName""#, r#""event\u004eame""#);
        assert_eq!(payload_format(escaped.as_bytes()), Format::DynamodbStream);
        let (out, tables) = decode_all(escaped.as_bytes());
        assert_eq!(out, [(Some(Format::DynamodbStream), Ok(()))]);
        assert_eq!(tables, ["user_changes"]);
        // an escape elsewhere in an event changes nothing
        let event = br#"{"eventType":"PAGE_VIEW","userId":"u\u0031","timestamp":1767607200000}"#;
        assert_eq!(payload_format(event), Format::Events);
    }

    #[test]
    fn splits_kpl_aggregates_and_reports_bad_ones() {
        let data = kpl::aggregate(&[("u1", EVENT), ("u1", b"{not json"), ("u2", CHANGE)]);
        let (out, tables) = decode_all(&data);
        assert_eq!(out.len(), 3);
        assert!(out[0].1.is_ok() && out[2].1.is_ok());
        assert!(out[1].1.as_ref().unwrap_err().contains("invalid record"));
        assert_eq!(tables, ["events", "user_changes"]);
        let mut broken = data.clone();
        broken.truncate(data.len() - 1);
        let (out, _) = decode_all(&broken);
        assert_eq!(out.len(), 1);
        assert!(out[0].1.as_ref().unwrap_err().contains("KPL"));
    }
}
