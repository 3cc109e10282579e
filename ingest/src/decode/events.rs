//! Clickstream events, one JSON object per record:
//!
//! ```json
//! {"eventType": "PAGE_VIEW", "userId": "user-123", "timestamp": 1767607200000,
//!  "properties": {"page": "/products/shoes", "referrer": "...", "productId": "prod-456",
//!                 "amount": 99.99, "currency": "USD"}}
//! ```
//! Decoded in one pass without an intermediate `Value` (this is the hot path of a backfill);
//! keys the schema does not name are kept in `extra` as JSON, never dropped.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use tributary_transform::Partition;
use tributary_transform::model::{ClickEvent, Origin};

pub fn decode(raw: &[u8], origin: Origin) -> Result<ClickEvent, String> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let fields = de
        .deserialize_map(EventVisitor)
        .map_err(|e| format!("invalid event: {e}"))?;
    de.end().map_err(|e| format!("invalid event: {e}"))?;
    let event_type = fields
        .event_type
        .ok_or("invalid event: eventType is missing")?;
    let user_id = fields.user_id.ok_or("invalid event: userId is missing")?;
    if user_id.is_empty() {
        return Err("invalid event: userId is empty".into());
    }
    let timestamp_ms = fields
        .timestamp
        .ok_or("invalid event: timestamp is missing")?;
    Partition::of_millis(timestamp_ms).map_err(|e| format!("invalid event: timestamp {e}"))?;
    let p = fields.properties;
    let mut extra = fields.extra;
    if !p.extra.is_empty() {
        extra.insert("properties".into(), Value::Object(p.extra));
    }
    Ok(ClickEvent {
        event_type,
        user_id,
        timestamp_ms,
        page: p.page,
        referrer: p.referrer,
        product_id: p.product_id,
        amount: p.amount,
        currency: p.currency,
        extra: (!extra.is_empty()).then(|| Value::Object(extra).to_string()),
        origin,
    })
}

#[derive(Default)]
struct EventFields {
    event_type: Option<String>,
    user_id: Option<String>,
    timestamp: Option<i64>,
    properties: PropertyFields,
    extra: Map<String, Value>,
}

#[derive(Default)]
struct PropertyFields {
    page: Option<String>,
    referrer: Option<String>,
    product_id: Option<String>,
    amount: Option<f64>,
    currency: Option<String>,
    extra: Map<String, Value>,
}

/// A map key, borrowed from the input unless it had escapes.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn value_of<'de, T: de::Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    key: &str,
) -> Result<T, A::Error> {
    map.next_value::<T>()
        .map_err(|e| de::Error::custom(format_args!("{key}: {e}")))
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = EventFields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventFields, A::Error> {
        let mut fields = EventFields::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "eventType" => fields.event_type = value_of(&mut map, "eventType")?,
                "userId" => fields.user_id = value_of(&mut map, "userId")?,
                "timestamp" => {
                    let n: Option<serde_json::Number> = value_of(&mut map, "timestamp")?;
                    fields.timestamp = n
                        .map(|n| epoch_millis(&n))
                        .transpose()
                        .map_err(de::Error::custom)?;
                }
                "properties" => {
                    if let Some(p) = map.next_value_seed(OptionalProperties)? {
                        fields.properties = p;
                    }
                }
                other => {
                    let other = other.to_string();
                    fields.extra.insert(other, map.next_value()?);
                }
            }
        }
        Ok(fields)
    }
}

fn epoch_millis(n: &serde_json::Number) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(format!("timestamp: {n} is not whole epoch milliseconds")),
    }
}

/// `properties`: an object, or null.
struct OptionalProperties;

impl<'de> DeserializeSeed<'de> for OptionalProperties {
    type Value = Option<PropertyFields>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalProperties {
    type Value = Option<PropertyFields>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("properties: an object or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut p = PropertyFields::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "page" => p.page = value_of(&mut map, "properties.page")?,
                "referrer" => p.referrer = value_of(&mut map, "properties.referrer")?,
                "productId" => p.product_id = value_of(&mut map, "properties.productId")?,
                "amount" => p.amount = value_of(&mut map, "properties.amount")?,
                "currency" => p.currency = value_of(&mut map, "properties.currency")?,
                other => {
                    let other = other.to_string();
                    p.extra.insert(other, map.next_value()?);
                }
            }
        }
        Ok(Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_transform::SequenceNumber;

    fn origin() -> Origin {
        Origin {
            source: "file".into(),
            shard: "f".into(),
            sequence: SequenceNumber::from_u64(1),
            arrival_time_ms: None,
        }
    }

    #[test]
    fn decodes_an_event_and_keeps_unknown_keys() {
        let raw = br#"{"eventType":"PURCHASE","userId":"user-1","timestamp":1767607200000,"sessionId":"s1",
            "properties":{"page":"/checkout","amount":99.99,"currency":"USD","coupon":"X","productId":"p\u00e9"}}"#;
        let e = decode(raw, origin()).unwrap();
        assert_eq!(e.event_type, "PURCHASE");
        assert_eq!(e.timestamp_ms, 1_767_607_200_000);
        assert_eq!(e.amount, Some(99.99));
        assert_eq!(e.product_id.as_deref(), Some("pé"));
        assert_eq!(
            e.extra.as_deref(),
            Some(r#"{"properties":{"coupon":"X"},"sessionId":"s1"}"#)
        );
    }

    #[test]
    fn null_and_missing_properties_are_fine() {
        for raw in [&br#"{"eventType":"PAGE_VIEW","userId":"u","timestamp":1767607200000.0,"properties":null}"#[..],
                    br#"{"eventType":"PAGE_VIEW","userId":"u","timestamp":1767607200000}"#] {
            let e = decode(raw, origin()).unwrap();
            assert_eq!((e.page, e.extra), (None, None));
        }
    }

    #[test]
    fn bad_events_say_why() {
        let cases: [(&[u8], &str); 7] = [
            (br#"{"eventType":"PAGE_VIEW","userId":"u","timest"#, "EOF"),
            (
                br#"{"eventType":"PAGE_VIEW","timestamp":1}"#,
                "userId is missing",
            ),
            (
                br#"{"eventType":5,"userId":"u","timestamp":1}"#,
                "eventType: invalid type",
            ),
            (
                br#"{"eventType":"X","userId":"u","timestamp":"yesterday"}"#,
                "timestamp: invalid type",
            ),
            (
                br#"{"eventType":"X","userId":"u","timestamp":1.5}"#,
                "not whole epoch milliseconds",
            ),
            (
                br#"{"eventType":"X","userId":"u","timestamp":1,"properties":{"amount":"12"}}"#,
                "properties.amount",
            ),
            (br#"[1,2]"#, "invalid event"),
        ];
        for (raw, expected) in cases {
            let err = decode(raw, origin()).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
        }
        assert!(
            decode(
                br#"{"eventType":"X","userId":"u","timestamp":99999999999999999}"#,
                origin()
            )
            .unwrap_err()
            .contains("outside")
        );
        assert!(
            decode(
                br#"{"eventType":"X","userId":"u","timestamp":1} {}"#,
                origin()
            )
            .unwrap_err()
            .contains("trailing")
        );
    }
}
