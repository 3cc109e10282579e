//! DynamoDB's typed attribute JSON (`{"S": "x"}`, `{"N": "1.5"}`, `{"M": {...}}`, ...): typed
//! accessors that say exactly what is wrong, and conversion of unnamed attributes to plain JSON.

use serde_json::{Map, Value};

/// A DynamoDB item or image: attribute name → typed value.
pub type Item = Map<String, Value>;

/// The single `{"T": v}` entry of a typed value.
fn typed<'a>(name: &str, value: &'a Value) -> Result<(&'a str, &'a Value), String> {
    match value {
        Value::Object(m) if m.len() == 1 => {
            let (t, v) = m.iter().next().expect("one entry");
            Ok((t.as_str(), v))
        }
        other => Err(format!(
            "attribute {name}: not a DynamoDB typed value: {other}"
        )),
    }
}

/// A string attribute; `None` when absent or `{"NULL": true}`.
pub fn string<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, String> {
    let Some(value) = item.get(name) else {
        return Ok(None);
    };
    match typed(name, value)? {
        ("S", Value::String(s)) => Ok(Some(s)),
        ("NULL", _) => Ok(None),
        (t, _) => Err(format!("attribute {name}: expected S, found {t}")),
    }
}

/// A required string attribute.
pub fn required_string<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    string(item, name)?.ok_or_else(|| format!("attribute {name} is missing"))
}

/// The text of a number attribute; `None` when absent or NULL.
pub fn number<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, String> {
    let Some(value) = item.get(name) else {
        return Ok(None);
    };
    match typed(name, value)? {
        ("N", Value::String(s)) => Ok(Some(s)),
        ("NULL", _) => Ok(None),
        (t, _) => Err(format!("attribute {name}: expected N, found {t}")),
    }
}

/// A number attribute as an exact decimal scaled by 10^`scale`.
pub fn decimal(
    item: &Item,
    name: &str,
    scale: u32,
    precision: u32,
) -> Result<Option<i128>, String> {
    number(item, name)?
        .map(|text| {
            parse_decimal(text, scale, precision).map_err(|e| format!("attribute {name}: {e}"))
        })
        .transpose()
}

/// A number attribute that must be a whole number.
pub fn integer(item: &Item, name: &str) -> Result<Option<i64>, String> {
    number(item, name)?
        .map(|text| {
            parse_decimal(text, 0, 18)
                .map(|v| v as i64)
                .map_err(|e| format!("attribute {name}: {e} (expected a whole number)"))
        })
        .transpose()
}

/// A list attribute (`L`); `None` when absent or NULL.
pub fn list<'a>(item: &'a Item, name: &str) -> Result<Option<&'a Vec<Value>>, String> {
    let Some(value) = item.get(name) else {
        return Ok(None);
    };
    match typed(name, value)? {
        ("L", Value::Array(a)) => Ok(Some(a)),
        ("NULL", _) => Ok(None),
        (t, _) => Err(format!("attribute {name}: expected L, found {t}")),
    }
}

/// A map value (`M`), e.g. an element of a list.
pub fn map<'a>(name: &str, value: &'a Value) -> Result<&'a Item, String> {
    match typed(name, value)? {
        ("M", Value::Object(m)) => Ok(m),
        (t, _) => Err(format!("{name}: expected M, found {t}")),
    }
}

/// Parses a DynamoDB number (`-12.5`, `1E+2`, `0.0001`) into an integer scaled by 10^`scale`,
/// refusing anything that would lose digits or exceed `precision` digits.
pub fn parse_decimal(text: &str, scale: u32, precision: u32) -> Result<i128, String> {
    let bad = || format!("{text:?} is not a number");
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // digits · 10^(exponent - frac_len) · 10^scale
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let shift = i64::from(exponent) - frac_part.len() as i64 + i64::from(scale);
    let (kept, dropped) = if shift >= 0 {
        (format!("{digits}{}", "0".repeat(shift as usize)), "")
    } else {
        let cut = digits.len().saturating_sub((-shift) as usize);
        (digits[..cut].to_string(), &digits[cut..])
    };
    if dropped.bytes().any(|b| b != b'0') {
        return Err(format!("{text} has more than {scale} decimal places"));
    }
    let kept = kept.trim_start_matches('0');
    if kept.len() > precision as usize {
        return Err(format!("{text} does not fit DECIMAL({precision},{scale})"));
    }
    let value: i128 = if kept.is_empty() {
        0
    } else {
        kept.parse().map_err(|_| bad())?
    };
    Ok(if negative { -value } else { value })
}

/// Converts a typed value to plain JSON: S → string, N → number, BOOL → bool, NULL → null,
/// M → object, L → array, SS/NS/BS → arrays, B → base64 string (as DynamoDB sends it).
pub fn to_plain_json(value: &Value) -> Value {
    let Value::Object(m) = value else {
        return value.clone();
    };
    let Some((t, v)) = m.iter().next().filter(|_| m.len() == 1) else {
        return value.clone();
    };
    match (t.as_str(), v) {
        ("N", Value::String(n)) => number_value(n),
        ("NS", Value::Array(ns)) => Value::Array(
            ns.iter()
                .map(|n| n.as_str().map_or_else(|| n.clone(), number_value))
                .collect(),
        ),
        ("M", Value::Object(inner)) => Value::Object(
            inner
                .iter()
                .map(|(k, v)| (k.clone(), to_plain_json(v)))
                .collect(),
        ),
        ("L", Value::Array(items)) => Value::Array(items.iter().map(to_plain_json).collect()),
        ("NULL", _) => Value::Null,
        (_, v) => v.clone(), // S, BOOL, B, SS, BS carry their value as is
    }
}

/// A DynamoDB number as a JSON number when it is one, else kept as text (never rounded).
fn number_value(text: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(text)
        .map_or_else(|_| Value::String(text.to_string()), Value::Number)
}

/// The attributes of `item` not in `known`, as a JSON object text; `None` when there are none.
pub fn unnamed_attributes(item: &Item, known: &[&str]) -> Option<String> {
    let extra: Map<String, Value> = item
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), to_plain_json(v)))
        .collect();
    (!extra.is_empty()).then(|| Value::Object(extra).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal("99.99", 4, 18), Ok(999_900));
        assert_eq!(parse_decimal("-0.5", 4, 18), Ok(-5_000));
        assert_eq!(parse_decimal("1E+2", 4, 18), Ok(1_000_000));
        assert_eq!(parse_decimal("1.5e-3", 4, 18), Ok(15));
        assert_eq!(parse_decimal("12.340000", 4, 18), Ok(123_400));
        assert_eq!(parse_decimal("0", 4, 18), Ok(0));
        assert_eq!(parse_decimal(".5", 4, 18), Ok(5_000));
        assert!(
            parse_decimal("0.00001", 4, 18)
                .unwrap_err()
                .contains("more than 4 decimal places")
        );
        assert!(
            parse_decimal("1e20", 4, 18)
                .unwrap_err()
                .contains("DECIMAL(18,4)")
        );
        assert!(parse_decimal("abc", 4, 18).is_err());
        assert!(parse_decimal("", 4, 18).is_err());
        assert!(parse_decimal("1.2.3", 4, 18).is_err());
    }

    #[test]
    fn typed_accessors_name_the_problem() {
        let item: Item = serde_json::from_value(json!({
            "status": {"S": "PAID"}, "total": {"N": "12.5"}, "gone": {"NULL": true}, "wrong": {"N": "3"}
        }))
        .unwrap();
        assert_eq!(string(&item, "status"), Ok(Some("PAID")));
        assert_eq!(string(&item, "gone"), Ok(None));
        assert_eq!(string(&item, "absent"), Ok(None));
        assert_eq!(
            string(&item, "wrong").unwrap_err(),
            "attribute wrong: expected S, found N"
        );
        assert_eq!(decimal(&item, "total", 4, 18), Ok(Some(125_000)));
        assert!(
            integer(&item, "total")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            required_string(&item, "absent")
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn plain_json_keeps_every_type() {
        let v = json!({"M": {"a": {"N": "1.50"}, "b": {"SS": ["x"]}, "c": {"L": [{"BOOL": true}, {"NULL": true}]}, "d": {"NS": ["2"]}}});
        assert_eq!(
            to_plain_json(&v),
            json!({"a": 1.50, "b": ["x"], "c": [true, null], "d": [2]})
        );
        let item: Item =
            serde_json::from_value(json!({"PK": {"S": "x"}, "gift": {"BOOL": false}})).unwrap();
        assert_eq!(
            unnamed_attributes(&item, &["PK"]).unwrap(),
            r#"{"gift":false}"#
        );
        assert_eq!(unnamed_attributes(&item, &["PK", "gift"]), None);
    }
}
