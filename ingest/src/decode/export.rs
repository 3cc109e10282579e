//! DynamoDB Export to S3 (DYNAMODB_JSON): `data/*.json.gz`, one `{"Item": {...}}` per line,
//! next to `manifest-summary.json` (whose `exportTime` dates every item) and `manifest-files.json`.
//! Each item becomes a `SNAPSHOT` change: the item's state at the export time.

use serde_json::Value;
use tributary_transform::model::{Change, Operation, Origin, Record};

use super::attribute::Item;
use super::entity;

pub fn decode(raw: &[u8], origin: Origin, export_time_ms: i64) -> Result<Record, String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| format!("invalid JSON: {e}"))?;
    let Some(Value::Object(item)) = value.get("Item") else {
        return Err("not an export line: Item is missing".into());
    };
    let change = Change {
        operation: Operation::Snapshot,
        sequence_number: None,
        change_time_ms: export_time_ms,
        event_id: None,
        origin,
    };
    entity::map_item(&Item::new(), item, change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_transform::SequenceNumber;

    #[test]
    fn an_export_item_is_a_snapshot() {
        let origin = Origin {
            source: "file".into(),
            shard: "f".into(),
            sequence: SequenceNumber::from_u64(3),
            arrival_time_ms: None,
        };
        let raw = br#"{"Item":{"PK":{"S":"USER#u1"},"SK":{"S":"PROFILE"},"email":{"S":"a@b"},"createdAt":{"S":"2026-01-01T00:00:00Z"}}}"#;
        let Record::User(u) = decode(raw, origin.clone(), 42).unwrap() else {
            panic!()
        };
        assert_eq!(u.change.operation, Operation::Snapshot);
        assert_eq!(u.change.change_time_ms, 42);
        assert_eq!(u.email.as_deref(), Some("a@b"));
        assert!(
            decode(br#"{"Items": {}}"#, origin, 42)
                .unwrap_err()
                .contains("Item is missing")
        );
    }
}
