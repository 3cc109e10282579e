//! DynamoDB Streams records, as GetRecords, Lambda and "Kinesis Data Streams for DynamoDB"
//! deliver them:
//!
//! ```json
//! {"eventID": "...", "eventName": "INSERT|MODIFY|REMOVE", "tableName": "(Kinesis only)",
//!  "dynamodb": {"ApproximateCreationDateTime": 1795318980.0, "Keys": {...}, "NewImage": {...},
//!               "OldImage": {...}, "SequenceNumber": "000000000000000000034", "SizeBytes": 81,
//!               "StreamViewType": "NEW_AND_OLD_IMAGES"}}
//! ```
//! ApproximateCreationDateTime is epoch seconds from DynamoDB Streams, and milliseconds (or
//! microseconds, with `ApproximateCreationDateTimePrecision`) through Kinesis.

use serde_json::Value;
use tributary_transform::SequenceNumber;
use tributary_transform::model::{Change, Operation, Origin, Record};

use super::attribute::Item;
use super::entity;

/// A decoded stream record, with the event id used to drop redelivered duplicates.
#[derive(Debug)]
pub struct StreamChange {
    pub record: Record,
    pub event_id: String,
}

pub fn decode(raw: &[u8], origin: Origin) -> Result<StreamChange, String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(record) = value else {
        return Err("not a JSON object".into());
    };
    let event_id = record
        .get("eventID")
        .and_then(Value::as_str)
        .ok_or("eventID is missing")?
        .to_string();
    let operation = match record.get("eventName").and_then(Value::as_str) {
        Some("INSERT") => Operation::Insert,
        Some("MODIFY") => Operation::Modify,
        Some("REMOVE") => Operation::Remove,
        Some(other) => {
            return Err(format!(
                "unknown eventName {other:?} (expected INSERT, MODIFY or REMOVE)"
            ));
        }
        None => return Err("eventName is missing".into()),
    };
    let Some(Value::Object(ddb)) = record.get("dynamodb") else {
        return Err("dynamodb is missing".into());
    };
    // Kinesis Data Streams for DynamoDB leaves SequenceNumber out: the Kinesis record's own
    // sequence number orders the changes of one item instead (they share a partition key).
    let sequence_number = match ddb.get("SequenceNumber") {
        Some(Value::String(s)) => {
            SequenceNumber::parse(s).map_err(|e| format!("dynamodb.SequenceNumber: {e}"))?
        }
        Some(_) => return Err("dynamodb.SequenceNumber is not a string".into()),
        None if record.contains_key("tableName") => origin.sequence.clone(),
        None => return Err("dynamodb.SequenceNumber is missing".into()),
    };
    let change_time_ms = creation_time_ms(ddb)?;
    let empty = Item::new();
    let keys = match ddb.get("Keys") {
        Some(Value::Object(keys)) => keys,
        _ => &empty,
    };
    // REMOVE carries the last state in OldImage; INSERT and MODIFY the new one in NewImage
    let image_name = if operation == Operation::Remove {
        "OldImage"
    } else {
        "NewImage"
    };
    let image = match ddb.get(image_name) {
        Some(Value::Object(image)) => image,
        _ => {
            let view = ddb
                .get("StreamViewType")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(format!(
                "dynamodb.{image_name} is missing (StreamViewType {view}); NEW_AND_OLD_IMAGES or NEW_IMAGE is needed"
            ));
        }
    };
    let change = Change {
        operation,
        sequence_number: Some(sequence_number),
        change_time_ms,
        event_id: Some(event_id.clone()),
        origin,
    };
    let record = entity::map_item(keys, image, change)?;
    Ok(StreamChange { record, event_id })
}

/// ApproximateCreationDateTime in epoch milliseconds, whatever unit it came in.
fn creation_time_ms(ddb: &serde_json::Map<String, Value>) -> Result<i64, String> {
    let value = ddb
        .get("ApproximateCreationDateTime")
        .and_then(Value::as_f64)
        .ok_or("dynamodb.ApproximateCreationDateTime is missing or not a number")?;
    let precision = ddb
        .get("ApproximateCreationDateTimePrecision")
        .and_then(Value::as_str);
    let ms = match precision {
        Some("MICROSECOND") => value / 1_000.0,
        Some("MILLISECOND") => value,
        // by magnitude: seconds until the year 5138, milliseconds until 5138 after that
        _ if value.abs() < 1e11 => value * 1_000.0,
        _ if value.abs() < 1e14 => value,
        _ => value / 1_000.0,
    };
    Ok(ms.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin() -> Origin {
        Origin {
            source: "file".into(),
            shard: "f".into(),
            sequence: SequenceNumber::from_u64(1),
            arrival_time_ms: None,
        }
    }

    fn record(event: &str, time: Value, images: Value) -> Vec<u8> {
        let mut ddb = json!({
            "ApproximateCreationDateTime": time, "Keys": {"PK": {"S": "USER#u1"}, "SK": {"S": "ORDER#o1"}},
            "SequenceNumber": "000000000000000000034", "SizeBytes": 81, "StreamViewType": "NEW_AND_OLD_IMAGES"
        });
        ddb.as_object_mut()
            .unwrap()
            .extend(images.as_object().unwrap().clone());
        serde_json::to_vec(
            &json!({"eventID": "e1", "eventName": event, "eventVersion": "1.1", "dynamodb": ddb}),
        )
        .unwrap()
    }

    fn image(status: &str) -> Value {
        json!({"createdAt": {"S": "2026-01-05T10:00:00Z"}, "status": {"S": status}})
    }

    #[test]
    fn remove_uses_the_old_image_and_times_are_normalised() {
        let raw = record(
            "REMOVE",
            json!(1767607200.0),
            json!({"OldImage": image("PAID")}),
        );
        let change = decode(&raw, origin()).unwrap();
        let Record::Order(o) = change.record else {
            panic!()
        };
        assert_eq!(o.change.operation, Operation::Remove);
        assert_eq!(o.status.as_deref(), Some("PAID"));
        assert_eq!(o.change.change_time_ms, 1_767_607_200_000);
        assert_eq!(o.change.sequence_number.unwrap().as_str(), "34");
        // Kinesis Data Streams for DynamoDB: milliseconds, or microseconds
        for t in [json!(1767607200123i64), json!(1767607200123000i64)] {
            let raw = record("MODIFY", t, json!({"NewImage": image("SHIPPED")}));
            let Record::Order(o) = decode(&raw, origin()).unwrap().record else {
                panic!()
            };
            assert_eq!(o.change.change_time_ms, 1_767_607_200_123);
        }
    }

    #[test]
    fn kinesis_delivered_changes_take_the_kinesis_sequence_number() {
        let raw = serde_json::to_vec(&json!({"eventID": "e1", "eventName": "INSERT", "tableName": "shop",
            "dynamodb": {"ApproximateCreationDateTime": 1767607200123i64,
                         "Keys": {"PK": {"S": "USER#u1"}, "SK": {"S": "ORDER#o1"}}, "NewImage": image("PAID")}}))
        .unwrap();
        let Record::Order(o) = decode(&raw, origin()).unwrap().record else {
            panic!()
        };
        assert_eq!(o.change.sequence_number.unwrap().as_str(), "1");
        let mut without_table: Value = serde_json::from_slice(&raw).unwrap();
        without_table.as_object_mut().unwrap().remove("tableName");
        let err = decode(&serde_json::to_vec(&without_table).unwrap(), origin()).unwrap_err();
        assert!(err.contains("SequenceNumber is missing"), "{err}");
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(
            decode(b"{\"eventID\": \"e", origin())
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        let raw = record("UPSERT", json!(1.0), json!({}));
        assert!(
            decode(&raw, origin())
                .unwrap_err()
                .contains("unknown eventName")
        );
        let raw = record("INSERT", json!(1767607200.0), json!({}));
        assert!(
            decode(&raw, origin())
                .unwrap_err()
                .contains("NewImage is missing")
        );
    }
}
