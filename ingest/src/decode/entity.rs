//! The single-table design: `PK = USER#<userId>`, and `SK = PROFILE` (a user) or
//! `SK = ORDER#<orderId>` (an order). Maps one item image to the row of its table.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use tributary_transform::Partition;
use tributary_transform::model::{
    Change, MONEY_PRECISION, MONEY_SCALE, OrderChange, OrderItem, Record, UserChange,
};

use super::attribute::{self, Item};

const USER_PREFIX: &str = "USER#";
const ORDER_PREFIX: &str = "ORDER#";
const PROFILE: &str = "PROFILE";

const ORDER_ATTRIBUTES: &[&str] = &[
    "PK",
    "SK",
    "orderId",
    "userId",
    "status",
    "totalAmount",
    "currency",
    "createdAt",
    "updatedAt",
    "items",
];
const USER_ATTRIBUTES: &[&str] = &[
    "PK",
    "SK",
    "userId",
    "email",
    "name",
    "country",
    "createdAt",
    "updatedAt",
];

/// Maps `image` (with the item's `keys`) to an order or user change.
pub fn map_item(keys: &Item, image: &Item, change: Change) -> Result<Record, String> {
    let pk = attribute::string(keys, "PK")?
        .or(attribute::string(image, "PK")?)
        .ok_or("key attribute PK is missing")?;
    let sk = attribute::string(keys, "SK")?
        .or(attribute::string(image, "SK")?)
        .ok_or("key attribute SK is missing")?;
    let user_id = pk
        .strip_prefix(USER_PREFIX)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("unknown entity: PK {pk:?} does not start with {USER_PREFIX}"))?;
    if sk == PROFILE {
        return map_user(user_id, image, change).map(Record::User);
    }
    match sk.strip_prefix(ORDER_PREFIX).filter(|id| !id.is_empty()) {
        Some(order_id) => map_order(user_id, order_id, image, change).map(Record::Order),
        None => Err(format!(
            "unknown entity: SK {sk:?} is neither {PROFILE} nor {ORDER_PREFIX}<orderId>"
        )),
    }
}

fn map_order(
    user_id: &str,
    order_id: &str,
    image: &Item,
    change: Change,
) -> Result<OrderChange, String> {
    let created_at_ms = required_time(image, "createdAt")?;
    let items = attribute::list(image, "items")?
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, v)| map_order_item(i, v))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(OrderChange {
        order_id: order_id.to_string(),
        user_id: user_id.to_string(),
        status: attribute::string(image, "status")?.map(str::to_string),
        total_amount: attribute::decimal(
            image,
            "totalAmount",
            MONEY_SCALE as u32,
            u32::from(MONEY_PRECISION),
        )?,
        currency: attribute::string(image, "currency")?.map(str::to_string),
        created_at_ms,
        updated_at_ms: optional_time(image, "updatedAt")?,
        items,
        extra_attributes: attribute::unnamed_attributes(image, ORDER_ATTRIBUTES),
        change,
    })
}

fn map_order_item(index: usize, value: &serde_json::Value) -> Result<OrderItem, String> {
    let item = attribute::map(&format!("items[{index}]"), value)?;
    let context = |e: String| format!("items[{index}]: {e}");
    Ok(OrderItem {
        product_id: attribute::string(item, "productId")
            .map_err(context)?
            .map(str::to_string),
        quantity: attribute::integer(item, "quantity").map_err(context)?,
        price: attribute::decimal(
            item,
            "price",
            MONEY_SCALE as u32,
            u32::from(MONEY_PRECISION),
        )
        .map_err(context)?,
    })
}

fn map_user(user_id: &str, image: &Item, change: Change) -> Result<UserChange, String> {
    Ok(UserChange {
        user_id: user_id.to_string(),
        email: attribute::string(image, "email")?.map(str::to_string),
        name: attribute::string(image, "name")?.map(str::to_string),
        country: attribute::string(image, "country")?.map(str::to_string),
        created_at_ms: required_time(image, "createdAt")?,
        updated_at_ms: optional_time(image, "updatedAt")?,
        extra_attributes: attribute::unnamed_attributes(image, USER_ATTRIBUTES),
        change,
    })
}

fn required_time(image: &Item, name: &str) -> Result<i64, String> {
    let ms = optional_time(image, name)?.ok_or_else(|| {
        format!("attribute {name} is missing: the item's partition cannot be chosen")
    })?;
    Partition::of_millis(ms).map_err(|e| format!("attribute {name}: {e}"))?;
    Ok(ms)
}

fn optional_time(image: &Item, name: &str) -> Result<Option<i64>, String> {
    attribute::string(image, name)?
        .map(|text| {
            parse_time(text)
                .ok_or_else(|| format!("attribute {name}: {text:?} is not an ISO-8601 date-time"))
        })
        .transpose()
}

/// ISO-8601 as shops write it: with an offset (`2026-01-05T10:00:00Z`, `+02:00`), without one
/// (taken as UTC), or a bare date. Returns epoch milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| {
        d.and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tributary_transform::{Operation, Origin, SequenceNumber};

    fn change() -> Change {
        Change {
            operation: Operation::Insert,
            sequence_number: Some(SequenceNumber::from_u64(1)),
            change_time_ms: 0,
            event_id: None,
            origin: Origin {
                source: "file".into(),
                shard: "f".into(),
                sequence: SequenceNumber::from_u64(1),
                arrival_time_ms: None,
            },
        }
    }

    fn item(v: serde_json::Value) -> Item {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn maps_an_order_and_keeps_unnamed_attributes() {
        let image = item(json!({
            "PK": {"S": "USER#u1"}, "SK": {"S": "ORDER#o1"}, "status": {"S": "PAID"}, "totalAmount": {"N": "10.5"},
            "createdAt": {"S": "2026-01-05T10:00:00Z"}, "giftWrap": {"BOOL": true},
            "items": {"L": [{"M": {"productId": {"S": "p"}, "quantity": {"N": "2"}, "price": {"N": "5.25"}}}]}
        }));
        let Record::Order(o) = map_item(&Item::new(), &image, change()).unwrap() else {
            panic!("not an order")
        };
        assert_eq!((o.order_id.as_str(), o.user_id.as_str()), ("o1", "u1"));
        assert_eq!(o.total_amount, Some(105_000));
        assert_eq!(o.items.unwrap()[0].price, Some(52_500));
        assert_eq!(o.extra_attributes.as_deref(), Some(r#"{"giftWrap":true}"#));
        assert_eq!(o.created_at_ms, 1_767_607_200_000);
    }

    #[test]
    fn refuses_unknown_entities_and_wrong_types() {
        let keys = item(json!({"PK": {"S": "USER#u1"}, "SK": {"S": "CART#1"}}));
        assert!(
            map_item(&keys, &Item::new(), change())
                .unwrap_err()
                .contains("unknown entity")
        );
        let keys = item(json!({"PK": {"S": "PRODUCT#1"}, "SK": {"S": "PROFILE"}}));
        assert!(
            map_item(&keys, &Item::new(), change())
                .unwrap_err()
                .contains("unknown entity")
        );
        let keys = item(json!({"PK": {"S": "USER#u1"}, "SK": {"S": "ORDER#o1"}}));
        let image = item(json!({"createdAt": {"S": "2026-01-05"}, "totalAmount": {"S": "ten"}}));
        assert_eq!(
            map_item(&keys, &image, change()).unwrap_err(),
            "attribute totalAmount: expected N, found S"
        );
        let image = item(json!({"totalAmount": {"N": "1"}}));
        assert!(
            map_item(&keys, &image, change())
                .unwrap_err()
                .contains("createdAt is missing")
        );
    }

    #[test]
    fn parses_iso_times() {
        assert_eq!(parse_time("2026-01-05T10:00:00Z"), Some(1_767_607_200_000));
        assert_eq!(
            parse_time("2026-01-05T12:00:00+02:00"),
            Some(1_767_607_200_000)
        );
        assert_eq!(
            parse_time("2026-01-05T10:00:00.250"),
            Some(1_767_607_200_250)
        );
        assert_eq!(parse_time("2026-01-05"), Some(1_767_571_200_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
