//! JSON documents (events from Kinesis or files) decoded straight into their table's columns:
//! one pass over the bytes, each declared member converted as it is read, with no
//! `serde_json::Value` for them. Members that no column names are kept in the rest column as a
//! JSON object (under their path for members of a declared struct), so nothing is dropped.
//!
//! A value of the wrong JSON type, a number out of its column's range, or a required column
//! missing, null or empty, makes the record a dead letter whose reason names the column and
//! where its value came from; whatever the record had written is taken back.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tributary_transform::Partition;
use tributary_transform::columns::{ColumnBuilder, Rows};
use tributary_transform::model::Origin;

use super::attribute::parse_decimal;
use super::key::{Key, Skip};
use super::plan::{ColumnPlan, Conversion, Members, TablePlan};
use super::row::{epoch_millis, epoch_millis_f64, finish_columns, parse_date, parse_time, shown};

/// Reused between records: the sequence text.
#[derive(Debug, Default)]
pub struct Scratch {
    text: String,
}

/// Decodes `raw` into a new row of `rows`, which holds `plan`'s table; returns the row's
/// partition. On an error nothing of the record stays in `rows`.
pub fn decode_row(
    plan: &TablePlan,
    raw: &[u8],
    origin: &Origin,
    rows: &mut Rows,
    scratch: &mut Scratch,
) -> Result<Partition, String> {
    super::row::in_row(rows, |rows| fill(plan, raw, origin, rows, scratch))
}

fn fill(
    plan: &TablePlan,
    raw: &[u8],
    origin: &Origin,
    rows: &mut Rows,
    scratch: &mut Scratch,
) -> Result<Partition, String> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let mut rest = Map::new();
    de.deserialize_map(Object {
        plan,
        members: &plan.members,
        rows: &mut *rows,
        rest: &mut rest,
        keep_rest: plan.rest.is_some(),
    })
    .map_err(|e| {
        // a column's own mistake names the column; anything else is the record's
        let reason = super::row::reason(e);
        match reason.starts_with("column ") {
            true => reason,
            false => format!("invalid record: {reason}"),
        }
    })?;
    de.end().map_err(|e| format!("invalid record: {e}"))?;
    finish_columns(plan, rows, rest, origin, &mut scratch.text)
}

/// An object level of the record: its members by [`Members`].
struct Object<'a> {
    plan: &'a TablePlan,
    members: &'a Members,
    rows: &'a mut Rows,
    /// The members no column names, at this level.
    rest: &'a mut Map<String, Value>,
    keep_rest: bool,
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = ();

    /// Through `deserialize_option`: serde_json's `deserialize_map` refuses a null before any
    /// visitor sees it.
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    /// A null where a path continues (`{"device": null}`): its columns stay null.
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let name = key.as_str();
            let Some(slot) = self
                .members
                .lookup
                .find(name)
                .map(|i| &self.members.slots[i])
            else {
                if self.keep_rest {
                    let value: Value = map.next_value()?;
                    self.rest.insert(name.to_string(), value);
                } else {
                    map.next_value::<Skip>()?;
                }
                continue;
            };
            if slot.ignored {
                map.next_value::<Skip>()?;
                continue;
            }
            match (slot.column, &slot.nested) {
                (Some(i), None) => {
                    let column = self.plan.column(i);
                    let mut unclaimed = Map::new();
                    map.next_value_seed(Column {
                        column,
                        conversion: &column.conversion,
                        out: self.rows.column(i),
                        unclaimed: self.keep_rest.then_some(&mut unclaimed),
                    })?;
                    if !unclaimed.is_empty() {
                        self.rest.insert(name.to_string(), Value::Object(unclaimed));
                    }
                }
                (None, Some(nested)) => {
                    let mut below = Map::new();
                    map.next_value_seed(Object {
                        plan: self.plan,
                        members: nested,
                        rows: &mut *self.rows,
                        rest: &mut below,
                        keep_rest: self.keep_rest,
                    })?;
                    if !below.is_empty() {
                        self.rest.insert(name.to_string(), Value::Object(below));
                    }
                }
                (Some(i), Some(nested)) => {
                    // a column and the path of others: read the value twice
                    let raw: &RawValue = map.next_value()?;
                    let column = self.plan.column(i);
                    Column {
                        column,
                        conversion: &column.conversion,
                        out: self.rows.column(i),
                        unclaimed: None,
                    }
                    .deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
                    .map_err(de::Error::custom)?;
                    Object {
                        plan: self.plan,
                        members: nested,
                        rows: &mut *self.rows,
                        rest: &mut Map::new(),
                        keep_rest: false,
                    }
                    .deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
                    .map_err(de::Error::custom)?;
                }
                (None, None) => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

/// One value of a column (or of a list element, map value or struct field inside one).
struct Column<'a> {
    column: &'a ColumnPlan,
    conversion: &'a Conversion,
    out: &'a mut ColumnBuilder,
    /// Members of a struct value that name no field.
    unclaimed: Option<&'a mut Map<String, Value>>,
}

impl Column<'_> {
    fn fail<E: de::Error>(&self, reason: impl fmt::Display) -> E {
        E::custom(format_args!(
            "column {} (from {}): {reason}",
            self.column.name, self.column.source
        ))
    }

    fn mismatch<E: de::Error>(&self, found: &str) -> E {
        self.fail(format_args!(
            "expected {}, found {found}",
            expected(self.conversion)
        ))
    }
}

/// What a conversion takes, for messages.
fn expected(conversion: &Conversion) -> &'static str {
    match conversion {
        Conversion::String => "a string",
        Conversion::Boolean => "true or false",
        Conversion::Integer => "a whole number",
        Conversion::Float | Conversion::Decimal { .. } => "a number",
        Conversion::Date => "a date (YYYY-MM-DD)",
        Conversion::Timestamp { unit: None } => "an ISO-8601 date-time",
        Conversion::Timestamp { unit: Some(_) } => "an ISO-8601 date-time or an epoch number",
        Conversion::Binary => "base64 text",
        Conversion::Array(_) => "an array",
        Conversion::Map(..) | Conversion::Struct(_) => "an object",
    }
}

impl<'de> DeserializeSeed<'de> for Column<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.conversion {
            // the number's own text, so that a decimal is exact
            Conversion::Decimal { precision, scale } => {
                let raw: &RawValue = de::Deserialize::deserialize(d)?;
                let text = raw.get();
                if text == "null" {
                    self.out.append_null();
                    return Ok(());
                }
                let unescaped: String;
                let number = match text.as_bytes().first() {
                    // a valid JSON string (RawValue checked it): without escapes, its text
                    // between the quotes; with them (`"1\u002e5"`), unescaped
                    Some(b'"') if !text.contains('\\') => &text[1..text.len() - 1],
                    Some(b'"') => {
                        unescaped =
                            serde_json::from_str(text).map_err(|_| self.mismatch("text"))?;
                        &unescaped
                    }
                    Some(b'-' | b'0'..=b'9') => text,
                    _ => return Err(self.mismatch(found_of(text))),
                };
                let unscaled = parse_decimal(number, *scale as u32, u32::from(*precision))
                    .map_err(|e| self.fail(e))?;
                self.out.append_decimal(unscaled);
                Ok(())
            }
            _ => d.deserialize_any(self),
        }
    }
}

/// The JSON type of a value's text, for messages.
fn found_of(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}

impl<'de> Visitor<'de> for Column<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(expected(self.conversion))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.append_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        match self.conversion {
            Conversion::Boolean => {
                self.out.append_bool(v);
                Ok(())
            }
            _ => Err(self.mismatch("a boolean")),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        match self.conversion {
            Conversion::Integer => self.out.append_int(v).map_err(|e| self.fail(e)),
            Conversion::Float => self.out.append_float(v as f64).map_err(|e| self.fail(e)),
            Conversion::Timestamp { unit: Some(unit) } => {
                let ms = epoch_millis(v, *unit).ok_or_else(|| {
                    self.fail(format_args!("{v} {} is out of range", unit.name()))
                })?;
                self.out.append_int(ms).map_err(|e| self.fail(e))
            }
            Conversion::Timestamp { unit: None } => Err(self.fail(format_args!(
                "{v} is a number, and the column declares no epoch unit (seconds, milliseconds \
                 or microseconds)"
            ))),
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) if matches!(self.conversion, Conversion::Float) => {
                self.out.append_float(v as f64).map_err(|e| self.fail(e))
            }
            Err(_) => Err(self.fail(format_args!("{v} is out of range"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match self.conversion {
            Conversion::Float => self.out.append_float(v).map_err(|e| self.fail(e)),
            Conversion::Integer if v.fract() == 0.0 && v.abs() < 9.0e15 => {
                self.out.append_int(v as i64).map_err(|e| self.fail(e))
            }
            Conversion::Integer => Err(self.fail(format_args!("{v} is not a whole number"))),
            Conversion::Timestamp { unit: Some(unit) } => {
                let ms = epoch_millis_f64(v, *unit).ok_or_else(|| {
                    self.fail(format_args!("{v} {} is out of range", unit.name()))
                })?;
                self.out.append_int(ms).map_err(|e| self.fail(e))
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match self.conversion {
            Conversion::String => self.out.append_str(v).map_err(|e| self.fail(e)),
            Conversion::Timestamp { .. } => {
                let ms = parse_time(v).ok_or_else(|| {
                    self.fail(format_args!("{:?} is not an ISO-8601 date-time", shown(v)))
                })?;
                self.out.append_int(ms).map_err(|e| self.fail(e))
            }
            Conversion::Date => {
                let days = parse_date(v)
                    .ok_or_else(|| self.fail(format_args!("{:?} is not a date", shown(v))))?;
                self.out.append_int(days).map_err(|e| self.fail(e))
            }
            Conversion::Binary => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|e| self.fail(format_args!("not base64: {e}")))?;
                self.out.append_binary(&bytes).map_err(|e| self.fail(e))
            }
            _ => Err(self.mismatch("a string")),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Conversion::Array(item) = self.conversion else {
            return Err(self.mismatch("an array"));
        };
        let out = &mut *self.out;
        while seq
            .next_element_seed(Column {
                column: self.column,
                conversion: item,
                out: out.list_items(),
                unclaimed: None,
            })?
            .is_some()
        {}
        out.close_list().map_err(|e| self.fail(e))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.conversion {
            Conversion::Struct(plan) => {
                let mut unclaimed = self.unclaimed;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match plan.lookup.find(key.as_str()) {
                        Some(i) => {
                            let mut below = Map::new();
                            let keep = unclaimed.is_some();
                            map.next_value_seed(Column {
                                column: self.column,
                                conversion: &plan.fields[i].1,
                                out: self.out.struct_field(i),
                                unclaimed: keep.then_some(&mut below),
                            })?;
                            if let Some(rest) = unclaimed.as_deref_mut()
                                && !below.is_empty()
                            {
                                rest.insert(key.as_str().to_string(), Value::Object(below));
                            }
                        }
                        None => match unclaimed.as_deref_mut() {
                            Some(rest) => {
                                let value: Value = map.next_value()?;
                                rest.insert(key.as_str().to_string(), value);
                            }
                            None => {
                                map.next_value::<Skip>()?;
                            }
                        },
                    }
                }
                self.out.close_struct();
                Ok(())
            }
            Conversion::Map(key_conversion, value_conversion) => {
                if !matches!(**key_conversion, Conversion::String) {
                    return Err(self.fail("map keys other than strings are not supported"));
                }
                let column = self.column;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let (keys, values) = self.out.map_entries();
                    keys.append_str(key.as_str()).map_err(|e| {
                        de::Error::custom(format_args!(
                            "column {} (from {}): {e}",
                            column.name, column.source
                        ))
                    })?;
                    map.next_value_seed(Column {
                        column: self.column,
                        conversion: value_conversion,
                        out: values,
                        unclaimed: None,
                    })?;
                }
                self.out.close_map().map_err(|e| self.fail(e))
            }
            _ => Err(self.mismatch("an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;
    use datafusion::arrow::util::display::array_value_to_string;
    use tributary_table::Table;
    use tributary_table::schema::Schema;
    use tributary_transform::SequenceNumber;

    use super::*;

    fn origin(line: u64) -> Origin {
        Origin {
            source: "file".into(),
            shard: "f.jsonl".into(),
            sequence: SequenceNumber::from_u64(line),
            arrival_time_ms: None,
        }
    }

    fn cell(batch: &datafusion::arrow::array::RecordBatch, column: &str, row: usize) -> String {
        let array = batch.column_by_name(column).unwrap();
        if array.is_null(row) {
            return "NULL".into();
        }
        array_value_to_string(array, row).unwrap()
    }

    const TELEMETRY: &str = r#"
version = 1

[[tables]]
name = "telemetry"
source = "json"
time = "ts"
rest = "extra"
columns = [
  { name = "ts", type = "timestamp", from = "timestamp", unit = "milliseconds" },
  { name = "device_os", type = "string", from = "device.os.name" },
  { name = "latency_ms", type = "double", from = "metrics.latencyMs" },
  { name = "session_id", type = "string", required = true },
  { name = "price", type = "decimal(10,2)" },
  { name = "count", type = "int" },
  { name = "tags", type = "array<string>" },
  { name = "attrs", type = "map<string,bigint>" },
  { name = "ok", type = "boolean" },
  { name = "first_seen", type = "date" },
]
"#;

    fn telemetry() -> TablePlan {
        let schema = Schema::parse(TELEMETRY, "test").unwrap().leak();
        TablePlan::compile(schema.get("telemetry").unwrap())
    }

    #[test]
    fn a_document_fills_its_columns_by_name_path_and_camel_case() {
        let plan = telemetry();
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let mut scratch = Scratch::default();
        let doc = br#"{"timestamp": 1767607200000, "sessionId": "s1",
            "device": {"os": {"name": "ios", "version": "18"}, "model": "x"},
            "metrics": {"latencyMs": 12.5}, "price": 19.99, "COUNT": 3,
            "tags": ["a", "b"], "attrs": {"k": 1}, "ok": true, "firstSeen": "2026-01-05",
            "other": [1, {"a": null}]}"#;
        let partition = decode_row(&plan, doc, &origin(1), &mut rows, &mut scratch).unwrap();
        assert_eq!(partition.path(), "year=2026/month=01/day=05");
        let batch = rows.finish().unwrap();
        assert_eq!(cell(&batch, "ts", 0), "2026-01-05T10:00:00");
        assert_eq!(cell(&batch, "device_os", 0), "ios");
        assert_eq!(cell(&batch, "latency_ms", 0), "12.5");
        assert_eq!(cell(&batch, "session_id", 0), "s1");
        assert_eq!(cell(&batch, "price", 0), "19.99");
        assert_eq!(cell(&batch, "count", 0), "3");
        assert_eq!(cell(&batch, "tags", 0), "[a, b]");
        assert_eq!(cell(&batch, "attrs", 0), "{k: 1}");
        assert_eq!(cell(&batch, "ok", 0), "true");
        assert_eq!(cell(&batch, "first_seen", 0), "2026-01-05");
        assert_eq!(
            cell(&batch, "extra", 0),
            r#"{"device":{"model":"x","os":{"version":"18"}},"other":[1,{"a":null}]}"#
        );
        assert_eq!(
            cell(&batch, "ingest_sequence", 0).trim_start_matches('0'),
            "1"
        );
    }

    #[test]
    fn bad_values_name_their_column_and_leave_nothing_behind() {
        let plan = telemetry();
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let mut scratch = Scratch::default();
        let good = br#"{"timestamp": 1767607200000, "sessionId": "s"}"#;
        let cases: [(&[u8], &str); 9] = [
            (
                br#"{"timestamp": 1767607200000, "sessionId": "s", "count": "3"}"#,
                "column count (from count, any case): expected a whole number, found a string",
            ),
            (
                br#"{"timestamp": 1767607200000, "sessionId": "s", "count": 3000000000}"#,
                "column count (from count, any case): 3000000000 is out of range for int",
            ),
            (
                br#"{"timestamp": 1767607200000, "sessionId": "s", "price": 1e2147483647}"#,
                "column price (from price, any case): ",
            ),
            (
                br#"{"timestamp": 1767607200000, "sessionId": "s", "tags": ["a", 1]}"#,
                "column tags (from tags, any case): expected a string, found a number",
            ),
            (
                br#"{"timestamp": 1767607200000}"#,
                "column session_id (from session_id or sessionId, any case) is missing",
            ),
            (
                br#"{"timestamp": 1767607200000, "sessionId": ""}"#,
                "column session_id (from session_id or sessionId, any case) is empty",
            ),
            (
                br#"{"sessionId": "s"}"#,
                "column ts (from timestamp) is missing",
            ),
            (
                br#"{"timestamp": "soon", "sessionId": "s"}"#,
                "\"soon\" is not an ISO-8601 date-time",
            ),
            (br#"[1, 2]"#, "invalid record"),
        ];
        decode_row(&plan, good, &origin(1), &mut rows, &mut scratch).unwrap();
        for (doc, reason) in cases {
            let e = decode_row(&plan, doc, &origin(2), &mut rows, &mut scratch).unwrap_err();
            assert!(e.contains(reason), "{e}\nshould say: {reason}");
        }
        decode_row(&plan, good, &origin(3), &mut rows, &mut scratch).unwrap();
        let batch = rows.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(cell(&batch, "count", 1), "NULL");
        assert_eq!(cell(&batch, "tags", 1), "NULL");
    }

    /// Three findings of the property tests (issue 15): a null where a path continues is a
    /// row of nulls, a decimal in a string with escapes is read, and a double is read to its
    /// exact value (serde_json's `float_roundtrip`), not one ULP off.
    #[test]
    fn a_null_path_an_escaped_decimal_and_a_doubles_last_bit_are_read() {
        let plan = telemetry();
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let mut scratch = Scratch::default();
        let docs: [&[u8]; 3] = [
            br#"{"timestamp": 1767607200000, "sessionId": "s", "device": null, "metrics": null}"#,
            br#"{"timestamp": 1767607200000, "sessionId": "s", "price": "1\u002e5"}"#,
            br#"{"timestamp": 1767607200000, "sessionId": "s", "metrics": {"latencyMs": 1.6026609539055187e-22}}"#,
        ];
        for doc in docs {
            decode_row(&plan, doc, &origin(1), &mut rows, &mut scratch)
                .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(doc)));
        }
        let batch = rows.finish().unwrap();
        assert_eq!(cell(&batch, "device_os", 0), "NULL");
        assert_eq!(cell(&batch, "latency_ms", 0), "NULL");
        assert_eq!(cell(&batch, "extra", 0), "NULL");
        assert_eq!(cell(&batch, "price", 1), "1.50");
        let latency = batch
            .column_by_name("latency_ms")
            .unwrap()
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Float64Array>()
            .unwrap()
            .value(2);
        assert_eq!(latency, "1.6026609539055187e-22".parse::<f64>().unwrap());
        // a value that is not an object where a path continues is still refused
        let e = decode_row(
            &plan,
            br#"{"timestamp": 1767607200000, "sessionId": "s", "device": 5}"#,
            &origin(4),
            &mut rows,
            &mut scratch,
        )
        .unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
    }

    #[test]
    fn the_shops_events_keep_their_layout_and_unnamed_keys() {
        let plan = TablePlan::compile(Table::builtin("events"));
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let mut scratch = Scratch::default();
        let doc = br#"{"eventType":"PURCHASE","userId":"u1","timestamp":1767607200000,
            "properties":{"productId":"p\u00e9","amount":99.99,"currency":"USD","coupon":"X"},
            "sessionId":"s"}"#;
        decode_row(&plan, doc, &origin(1), &mut rows, &mut scratch).unwrap();
        let batch = rows.finish().unwrap();
        assert_eq!(cell(&batch, "eventtype", 0), "PURCHASE");
        assert_eq!(cell(&batch, "userid", 0), "u1");
        assert_eq!(cell(&batch, "timestamp", 0), "1767607200000");
        assert_eq!(
            cell(&batch, "properties", 0),
            "{page: , referrer: , productid: pé, amount: 99.99, currency: USD}"
        );
        // as the shop's decoder wrote them: sorted keys, a declared struct's under its name
        assert_eq!(
            cell(&batch, "extra", 0),
            r#"{"properties":{"coupon":"X"},"sessionId":"s"}"#
        );
    }

    #[test]
    fn members_no_column_reads_are_skipped_within_the_depth_limit() {
        // no rest column: unknown members, ignored ones and a struct's unknown fields are
        // skipped, not kept, and still refused past serde_json's 128 levels
        let schema = Schema::parse(
            r#"
version = 1
[[tables]]
name = "t"
source = "json"
time = "ts"
ignore = ["skipped"]
columns = [
  { name = "ts", type = "timestamp", unit = "seconds" },
  { name = "s", type = "struct<a:string>" },
]
"#,
            "test",
        )
        .unwrap()
        .leak();
        let plan = TablePlan::compile(schema.get("t").unwrap());
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for member in [
            r#""other":DEEP"#,
            r#""skipped":DEEP"#,
            r#""s":{"a":"x","b":DEEP}"#,
        ] {
            let doc = |depth| {
                format!(
                    r#"{{"ts":1767607200,{}}}"#,
                    member.replace("DEEP", &nested(depth))
                )
            };
            let mut rows = Rows::new(plan.schema.clone()).unwrap();
            let mut scratch = Scratch::default();
            decode_row(
                &plan,
                doc(100).as_bytes(),
                &origin(1),
                &mut rows,
                &mut scratch,
            )
            .unwrap_or_else(|e| panic!("{member}, 100 deep: {e}"));
            let e = decode_row(
                &plan,
                doc(5_000).as_bytes(),
                &origin(2),
                &mut rows,
                &mut scratch,
            )
            .unwrap_err();
            assert!(e.contains("recursion limit exceeded"), "{member}: {e}");
            assert_eq!(rows.finish().unwrap().num_rows(), 1, "{member}");
        }
    }
}
