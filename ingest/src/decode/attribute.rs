//! DynamoDB's typed attribute JSON (`{"S": "x"}`, `{"N": "1.5"}`, `{"M": {...}}`, ...): the
//! bounded parser of `N` texts into exact decimals, and typed values as plain JSON (for the
//! rest column).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::key::{Key, Skip};
use super::row::shown;

/// Parses a DynamoDB number (`-12.5`, `1E+2`, `0.0001`) into an integer scaled by 10^`scale`,
/// refusing anything that would lose digits or exceed `precision` digits.
///
/// Time and memory are linear in the text and nothing is built from the exponent, so
/// `1e2147483647` is refused and `0e2147483647` is zero at once (the exponent is compared with
/// the precision before any digit is placed).
pub fn parse_decimal(text: &str, scale: u32, precision: u32) -> Result<i128, String> {
    let shown = shown(text);
    let bad = || format!("{shown:?} is not a number");
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], exponent_of(&rest[i + 1..]).ok_or_else(bad)?),
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
    // value = significant digits · 10^power, with the digits' leading and trailing zeros gone
    let digits = int_part.bytes().chain(frac_part.bytes());
    let total = int_part.len() + frac_part.len();
    let leading = digits.clone().take_while(|b| *b == b'0').count();
    if leading == total {
        return Ok(0);
    }
    let trailing = digits.clone().rev().take_while(|b| *b == b'0').count();
    let significant = total - leading - trailing;
    // exponent is within ±10^9 and lengths within isize: no overflow in i64
    let power = exponent - frac_part.len() as i64 + trailing as i64 + i64::from(scale);
    if power < 0 {
        return Err(format!("{shown} has more than {scale} decimal places"));
    }
    if significant as i64 + power > i64::from(precision) {
        return Err(format!("{shown} does not fit DECIMAL({precision},{scale})"));
    }
    // at most `precision` (≤ 38) digits now: they fit an i128
    let mut value: i128 = 0;
    for b in digits.skip(leading).take(significant) {
        value = value * 10 + i128::from(b - b'0');
    }
    for _ in 0..power {
        value *= 10;
    }
    Ok(if negative { -value } else { value })
}

/// An exponent's value, saturated at ±10^9 (far beyond any precision, and safe to add to
/// lengths); `None` if it is not `[+-]digits`.
fn exponent_of(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    const LIMIT: i64 = 1_000_000_000;
    let mut value: i64 = 0;
    for b in digits.bytes() {
        value = (value * 10 + i64::from(b - b'0')).min(LIMIT);
    }
    Some(if negative { -value } else { value })
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

/// A typed attribute value (`{"S": "x"}`, `{"M": {...}}`) read straight into plain JSON, as
/// [`to_plain_json`] gives it, without building the typed tree first: the rest column of
/// large items is most of their bytes (a profile of 1.7 KB items had the two trees at a
/// sixth of the decoding). `raw` is the value's text; a value that is not typed JSON (more
/// than one member, say) is kept as [`to_plain_json`] keeps it.
pub fn plain_json_of(raw: &serde_json::value::RawValue) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    match PlainValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v))
    {
        Ok(value) => Ok(value),
        Err(_) => serde_json::from_str::<Value>(raw.get()).map(|v| to_plain_json(&v)),
    }
}

/// One typed value as plain JSON; fails on anything but a one-member object with a known tag.
struct PlainValue;

impl<'de> DeserializeSeed<'de> for PlainValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlainValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a typed attribute value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let tag: Key<'de> = map
            .next_key()?
            .ok_or_else(|| de::Error::custom("an empty object"))?;
        let value = match tag.as_str() {
            "S" | "B" => Value::String(map.next_value()?),
            "N" => number_value(map.next_value::<Key<'de>>()?.as_str()),
            "BOOL" => Value::Bool(map.next_value()?),
            "NULL" => {
                map.next_value::<Skip>()?;
                Value::Null
            }
            "SS" | "BS" => Value::Array(
                map.next_value::<Vec<String>>()?
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
            "NS" => Value::Array(
                map.next_value::<Vec<Key<'de>>>()?
                    .iter()
                    .map(|n| number_value(n.as_str()))
                    .collect(),
            ),
            "M" => Value::Object(map.next_value_seed(PlainMap)?),
            "L" => Value::Array(map.next_value_seed(PlainList)?),
            _ => return Err(de::Error::custom("an unknown type tag")),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("more than one member"));
        }
        Ok(value)
    }
}

/// The members of an `M`, each a typed value.
struct PlainMap;

impl<'de> DeserializeSeed<'de> for PlainMap {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlainMap {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of typed values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(PlainValue)?;
            out.insert(key, value);
        }
        Ok(out)
    }
}

/// The items of an `L`, each a typed value.
struct PlainList;

impl<'de> DeserializeSeed<'de> for PlainList {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PlainList {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of typed values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(value) = seq.next_element_seed(PlainValue)? {
            out.push(value);
        }
        Ok(out)
    }
}

/// A DynamoDB number as a JSON number when a double holds it exactly (integers of 64 bits, or
/// at most 15 significant digits in range), else kept as its text: never rounded.
fn number_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Value::from(n);
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits = mantissa.trim_start_matches(['-', '+']).replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    match text.parse::<f64>() {
        // a zero only when the digits are all zeros (1e-400 is not 0)
        Ok(f)
            if f.is_finite() && significant.len() <= 15 && (f != 0.0 || significant.is_empty()) =>
        {
            serde_json::Number::from_f64(f)
                .map_or_else(|| Value::String(text.to_string()), Value::Number)
        }
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_values_read_straight_into_plain_json_as_the_tree_conversion_gives_them() {
        let cases = [
            r#"{"S":"a\"b"}"#,
            r#"{"N":"12345678901234567890.5"}"#,
            r#"{"N":"42"}"#,
            r#"{"BOOL":true}"#,
            r#"{"NULL":true}"#,
            r#"{"SS":["b","a"]}"#,
            r#"{"NS":["1","2.5"]}"#,
            r#"{"B":"AAE="}"#,
            r#"{"M":{"z":{"N":"1"},"a":{"L":[{"S":"x"},{"M":{}}]}}}"#,
            r#"{"S":"x","N":"1"}"#,
            r#"{"X":5}"#,
            r#"[1,2]"#,
        ];
        for case in cases {
            let raw: Box<serde_json::value::RawValue> = serde_json::from_str(case).unwrap();
            let tree: Value = serde_json::from_str(case).unwrap();
            assert_eq!(plain_json_of(&raw).unwrap(), to_plain_json(&tree), "{case}");
        }
    }

    #[test]
    fn numbers_become_json_numbers_only_when_exact() {
        assert_eq!(number_value("42"), json!(42));
        assert_eq!(
            number_value("18446744073709551615"),
            json!(18446744073709551615u64)
        );
        assert_eq!(number_value("99.99"), json!(99.99));
        assert_eq!(number_value("1E+2"), json!(100.0));
        assert_eq!(number_value("0.000"), json!(0.0));
        for exact in [
            "12345678901234567890123",
            "0.1234567890123456789",
            "1e-400",
            "1e2147483647",
        ] {
            assert_eq!(number_value(exact), json!(exact), "{exact}");
        }
    }

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
        assert!(parse_decimal("1e", 4, 18).is_err());
        assert_eq!(parse_decimal("-120e-1", 0, 18), Ok(-12));
        assert_eq!(parse_decimal("0.0120e2", 4, 18), Ok(12_000));
        assert_eq!(
            parse_decimal("99999999999999.9999", 4, 18),
            Ok(999_999_999_999_999_999)
        );
        assert!(parse_decimal("100000000000000", 4, 18).is_err());
        assert_eq!(
            parse_decimal("12345678901234567890123456789012345678", 0, 38),
            Ok(12_345_678_901_234_567_890_123_456_789_012_345_678)
        );
    }

    #[test]
    fn huge_exponents_cost_nothing() {
        // these once built a 2 GiB string of zeros (13 s, 4.2 GB of RSS per value)
        for _ in 0..1000 {
            assert!(
                parse_decimal("1e2147483647", 4, 18)
                    .unwrap_err()
                    .contains("does not fit DECIMAL(18,4)")
            );
            assert_eq!(parse_decimal("0e2147483647", 4, 18), Ok(0));
            assert_eq!(parse_decimal("-0.000e99999999999999999999", 4, 18), Ok(0));
            assert!(
                parse_decimal("1e-2147483648", 4, 18)
                    .unwrap_err()
                    .contains("more than 4 decimal places")
            );
            assert!(parse_decimal("5e99999999999999999999999", 4, 18).is_err());
        }
        let long = format!("1{}", "0".repeat(100_000));
        let err = parse_decimal(&long, 4, 18).unwrap_err();
        assert!(
            err.len() < 100,
            "messages show at most 40 characters: {err}"
        );
    }

    #[test]
    fn plain_json_keeps_every_type() {
        let v = json!({"M": {"a": {"N": "1.50"}, "b": {"SS": ["x"]}, "c": {"L": [{"BOOL": true}, {"NULL": true}]}, "d": {"NS": ["2"]}}});
        assert_eq!(
            to_plain_json(&v),
            json!({"a": 1.50, "b": ["x"], "c": [true, null], "d": [2]})
        );
    }
}
