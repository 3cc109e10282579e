//! DynamoDB items (`{"PK": {"S": "CUSTOMER#42"}, "priority": {"N": "2"}, ...}`) decoded
//! straight into a table's columns: one pass over the image, each named attribute converted
//! from its DynamoDB type into the column's type. `N` becomes a decimal or an integer exactly,
//! never through a float; `L` and the sets `SS`/`NS`/`BS` become arrays; `M` a struct or a
//! map; `B` binary (base64 in the JSON); `NULL` a null. Attributes that no column names are
//! kept, as plain JSON, in the rest column.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tributary_transform::columns::{ColumnBuilder, Rows};

use super::attribute::{parse_decimal, plain_json_of};
use super::key::{Key, Skip};
use super::plan::{ColumnPlan, Conversion, Members, TablePlan};
use super::row::{epoch_millis, epoch_millis_f64, parse_date, parse_time, shown};

/// Reads the attributes of `image` into the current row of `rows` (the table of `plan`);
/// attributes no column names go to `rest` (as plain JSON) when the table keeps them.
pub fn decode_image(
    plan: &TablePlan,
    image: &RawValue,
    rows: &mut Rows,
    rest: &mut Map<String, Value>,
) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_str(image.get());
    Attributes {
        plan,
        members: &plan.members,
        rows,
        rest,
        keep_rest: plan.rest.is_some(),
    }
    .deserialize(&mut de)
    .map_err(super::row::reason)
}

/// An item, or the `M` of a nested path: attribute name → typed value.
struct Attributes<'a> {
    plan: &'a TablePlan,
    members: &'a Members,
    rows: &'a mut Rows,
    rest: &'a mut Map<String, Value>,
    keep_rest: bool,
}

impl<'de> DeserializeSeed<'de> for Attributes<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Attributes<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item: an object of typed attribute values")
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
                    let raw: &RawValue = map.next_value()?;
                    let value = plain_json_of(raw).map_err(de::Error::custom)?;
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
                    map.next_value_seed(Typed {
                        column,
                        conversion: &column.conversion,
                        out: self.rows.column(i),
                        strip_prefix: column.strip_prefix.as_deref(),
                        unclaimed: self.keep_rest.then_some(&mut unclaimed),
                    })?;
                    if !unclaimed.is_empty() {
                        self.rest.insert(name.to_string(), Value::Object(unclaimed));
                    }
                }
                (None, Some(nested)) => {
                    let mut below = Map::new();
                    map.next_value_seed(NestedM(Attributes {
                        plan: self.plan,
                        members: nested,
                        rows: &mut *self.rows,
                        rest: &mut below,
                        keep_rest: self.keep_rest,
                    }))?;
                    if !below.is_empty() {
                        self.rest.insert(name.to_string(), Value::Object(below));
                    }
                }
                (Some(i), Some(nested)) => {
                    // a column and the path of others: read the value twice
                    let raw: &RawValue = map.next_value()?;
                    let column = self.plan.column(i);
                    Typed {
                        column,
                        conversion: &column.conversion,
                        out: self.rows.column(i),
                        strip_prefix: column.strip_prefix.as_deref(),
                        unclaimed: None,
                    }
                    .deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
                    .map_err(de::Error::custom)?;
                    NestedM(Attributes {
                        plan: self.plan,
                        members: nested,
                        rows: &mut *self.rows,
                        rest: &mut Map::new(),
                        keep_rest: false,
                    })
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

/// `{"M": {...}}` whose attributes feed the columns of a nested path (`NULL`: none).
struct NestedM<'a>(Attributes<'a>);

impl<'de> DeserializeSeed<'de> for NestedM<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NestedM<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a typed M value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(tag) = map.next_key::<Key<'de>>()? else {
            return Err(de::Error::custom("an empty typed value"));
        };
        match tag.as_str() {
            "M" => map.next_value_seed(self.0)?,
            "NULL" => {
                map.next_value::<Skip>()?;
            }
            other => {
                return Err(de::Error::custom(format_args!("expected M, found {other}")));
            }
        }
        one_type_only(&mut map)
    }
}

fn one_type_only<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    match map.next_key::<IgnoredAny>()? {
        Some(_) => Err(de::Error::custom(
            "not a DynamoDB typed value: more than one type",
        )),
        None => Ok(()),
    }
}

/// One typed value of a column (or of an element, a map value or a struct field inside one).
struct Typed<'a> {
    column: &'a ColumnPlan,
    conversion: &'a Conversion,
    out: &'a mut ColumnBuilder,
    /// For a key attribute such as `PK = CUSTOMER#42`: the prefix its value must have.
    strip_prefix: Option<&'a str>,
    /// Attributes of an `M` value that name no field of the struct.
    unclaimed: Option<&'a mut Map<String, Value>>,
}

/// The DynamoDB types a conversion takes, for messages.
fn expected(conversion: &Conversion) -> &'static str {
    match conversion {
        Conversion::String | Conversion::Date => "S",
        Conversion::Timestamp { unit: None } => "S (ISO-8601)",
        Conversion::Timestamp { unit: Some(_) } => "N or S",
        Conversion::Boolean => "BOOL",
        Conversion::Integer | Conversion::Float | Conversion::Decimal { .. } => "N",
        Conversion::Binary => "B",
        Conversion::Array(_) => "L, SS, NS or BS",
        Conversion::Map(..) | Conversion::Struct(_) => "M",
    }
}

fn fail<E: de::Error>(column: &ColumnPlan, reason: impl fmt::Display) -> E {
    E::custom(format_args!(
        "column {} (from {}): {reason}",
        column.name, column.source
    ))
}

fn mismatch<E: de::Error>(column: &ColumnPlan, conversion: &Conversion, found: &str) -> E {
    fail(
        column,
        format_args!("expected {}, found {found}", expected(conversion)),
    )
}

/// A scalar's text (`S`, `N`, `B`) into `out`.
fn scalar<E: de::Error>(
    column: &ColumnPlan,
    conversion: &Conversion,
    out: &mut ColumnBuilder,
    strip_prefix: Option<&str>,
    tag: &str,
    text: &str,
) -> Result<(), E> {
    let failed = |reason: String| fail::<E>(column, reason);
    match (tag, conversion) {
        ("S", Conversion::String) => {
            let value = match strip_prefix {
                Some(prefix) => text
                    .strip_prefix(prefix)
                    .filter(|rest| !rest.is_empty())
                    .ok_or_else(|| {
                        failed(format!(
                            "{:?} does not start with {prefix}<id>",
                            shown(text)
                        ))
                    })?,
                None => text,
            };
            out.append_str(value).map_err(|e| failed(e.to_string()))
        }
        ("S", Conversion::Timestamp { .. }) => {
            let ms = parse_time(text)
                .ok_or_else(|| failed(format!("{:?} is not an ISO-8601 date-time", shown(text))))?;
            out.append_int(ms).map_err(|e| failed(e.to_string()))
        }
        ("S", Conversion::Date) => {
            let days = parse_date(text)
                .ok_or_else(|| failed(format!("{:?} is not a date", shown(text))))?;
            out.append_int(days).map_err(|e| failed(e.to_string()))
        }
        ("N", Conversion::Integer) => {
            let value = parse_decimal(text, 0, 38)
                .ok()
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| {
                    failed(format!("{:?} is not a whole number in range", shown(text)))
                })?;
            out.append_int(value).map_err(|e| failed(e.to_string()))
        }
        ("N", Conversion::Float) => {
            let value = text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| failed(format!("{:?} is out of range for double", shown(text))))?;
            out.append_float(value).map_err(|e| failed(e.to_string()))
        }
        ("N", Conversion::Decimal { precision, scale }) => {
            let unscaled =
                parse_decimal(text, *scale as u32, u32::from(*precision)).map_err(failed)?;
            out.append_decimal(unscaled);
            Ok(())
        }
        ("N", Conversion::Timestamp { unit: Some(unit) }) => {
            let ms = match parse_decimal(text, 0, 38)
                .ok()
                .and_then(|v| i64::try_from(v).ok())
            {
                Some(whole) => epoch_millis(whole, *unit),
                None => text
                    .parse::<f64>()
                    .ok()
                    .and_then(|v| epoch_millis_f64(v, *unit)),
            }
            .ok_or_else(|| failed(format!("{:?} {} is out of range", shown(text), unit.name())))?;
            out.append_int(ms).map_err(|e| failed(e.to_string()))
        }
        ("N", Conversion::Timestamp { unit: None }) => Err(failed(format!(
            "{:?} is a number, and the column declares no epoch unit (seconds, milliseconds \
             or microseconds)",
            shown(text)
        ))),
        ("B", Conversion::Binary) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| failed(format!("B is not base64: {e}")))?;
            out.append_binary(&bytes).map_err(|e| failed(e.to_string()))
        }
        (tag, conversion) => Err(mismatch(column, conversion, tag)),
    }
}

impl<'de> DeserializeSeed<'de> for Typed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Typed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a typed value ({})", expected(self.conversion))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(tag) = map.next_key::<Key<'de>>()? else {
            return Err(fail(self.column, "an empty typed value"));
        };
        let Typed {
            column,
            conversion,
            out,
            strip_prefix,
            unclaimed,
        } = self;
        match tag.as_str() {
            "NULL" => {
                map.next_value::<Skip>()?;
                out.append_null();
            }
            tag @ ("S" | "N" | "B") => {
                let text = map.next_value::<Key<'de>>()?;
                scalar(column, conversion, out, strip_prefix, tag, text.as_str())?;
            }
            "BOOL" => match conversion {
                Conversion::Boolean => {
                    let value: bool = map.next_value()?;
                    out.append_bool(value);
                }
                _ => return Err(mismatch(column, conversion, "BOOL")),
            },
            "L" => {
                let Conversion::Array(item) = conversion else {
                    return Err(mismatch(column, conversion, "L"));
                };
                map.next_value_seed(List {
                    column,
                    item,
                    out: &mut *out,
                    set: None,
                })?;
                out.close_list().map_err(|e| fail::<A::Error>(column, e))?;
            }
            tag @ ("SS" | "NS" | "BS") => {
                let Conversion::Array(item) = conversion else {
                    return Err(mismatch(column, conversion, tag));
                };
                map.next_value_seed(List {
                    column,
                    item,
                    out: &mut *out,
                    set: Some(&tag[..1]),
                })?;
                out.close_list().map_err(|e| fail::<A::Error>(column, e))?;
            }
            "M" => match conversion {
                Conversion::Struct(_) | Conversion::Map(..) => {
                    map.next_value_seed(MapValue {
                        column,
                        conversion,
                        out,
                        unclaimed,
                    })?;
                }
                _ => return Err(mismatch(column, conversion, "M")),
            },
            other => {
                return Err(fail(
                    column,
                    format_args!("unknown DynamoDB type {:?}", shown(other)),
                ));
            }
        }
        one_type_only(&mut map)
    }
}

/// The elements of an `L` (typed) or of a set (plain strings of the set's type).
struct List<'a> {
    column: &'a ColumnPlan,
    item: &'a Conversion,
    out: &'a mut ColumnBuilder,
    /// `S`, `N` or `B` for a set.
    set: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for List<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let items = self.out.list_items();
        match self.set {
            Some(tag) => {
                while let Some(text) = seq.next_element::<Key<'de>>()? {
                    scalar(self.column, self.item, items, None, tag, text.as_str())?;
                }
            }
            None => {
                while seq
                    .next_element_seed(Typed {
                        column: self.column,
                        conversion: self.item,
                        out: &mut *items,
                        strip_prefix: None,
                        unclaimed: None,
                    })?
                    .is_some()
                {}
            }
        }
        Ok(())
    }
}

/// The attributes of an `M`, as a struct's fields or a map's entries.
struct MapValue<'a> {
    column: &'a ColumnPlan,
    conversion: &'a Conversion,
    out: &'a mut ColumnBuilder,
    unclaimed: Option<&'a mut Map<String, Value>>,
}

impl<'de> DeserializeSeed<'de> for MapValue<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapValue<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of typed values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let MapValue {
            column,
            conversion,
            out,
            mut unclaimed,
        } = self;
        match conversion {
            Conversion::Struct(plan) => {
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match plan.lookup.find(key.as_str()) {
                        Some(i) => {
                            let mut below = Map::new();
                            let keep = unclaimed.is_some();
                            map.next_value_seed(Typed {
                                column,
                                conversion: &plan.fields[i].1,
                                out: out.struct_field(i),
                                strip_prefix: None,
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
                                let raw: &RawValue = map.next_value()?;
                                let value = plain_json_of(raw).map_err(de::Error::custom)?;
                                rest.insert(key.as_str().to_string(), value);
                            }
                            None => {
                                map.next_value::<Skip>()?;
                            }
                        },
                    }
                }
                out.close_struct();
                Ok(())
            }
            Conversion::Map(key_conversion, value_conversion) => {
                if !matches!(**key_conversion, Conversion::String) {
                    return Err(fail(
                        column,
                        "map keys other than strings are not supported",
                    ));
                }
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let (keys, values) = out.map_entries();
                    keys.append_str(key.as_str())
                        .map_err(|e| fail::<A::Error>(column, e))?;
                    map.next_value_seed(Typed {
                        column,
                        conversion: value_conversion,
                        out: values,
                        strip_prefix: None,
                        unclaimed: None,
                    })?;
                }
                out.close_map().map_err(|e| fail::<A::Error>(column, e))
            }
            _ => Err(mismatch(column, conversion, "M")),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, RecordBatch};
    use datafusion::arrow::util::display::array_value_to_string;
    use tributary_table::Table;
    use tributary_table::schema::Schema;

    use super::*;

    fn cell(batch: &RecordBatch, column: &str, row: usize) -> String {
        let array = batch.column_by_name(column).unwrap();
        if array.is_null(row) {
            return "NULL".into();
        }
        array_value_to_string(array, row).unwrap()
    }

    const HELPDESK: &str = r#"
version = 1

[[tables]]
name = "ticket_changes"
source = "dynamodb"
match = [{ attribute = "SK", begins_with = "TICKET#" }]
time = "opened_at"
state = { name = "tickets", key = ["customer_id", "ticket_id"] }
rest = "extra"
columns = [
  { name = "customer_id", type = "string", from = "PK", strip_prefix = "CUSTOMER#" },
  { name = "ticket_id", type = "string", from = "SK", strip_prefix = "TICKET#" },
  { name = "priority", type = "int" },
  { name = "tags", type = "array<string>" },
  { name = "amount", type = "decimal(12,2)" },
  { name = "opened_at", type = "timestamp", unit = "seconds" },
  { name = "score", type = "double" },
  { name = "agent", type = "struct<name:string,level:tinyint>" },
  { name = "counts", type = "map<string,bigint>" },
  { name = "open", type = "boolean" },
  { name = "city", type = "string", from = "address.city" },
]
"#;

    /// Decodes images into the columns of `ticket_changes`, as whole rows would be.
    fn decode(images: &[&str]) -> (Vec<Result<(), String>>, RecordBatch) {
        let schema = Schema::parse(HELPDESK, "test").unwrap().leak();
        let plan = TablePlan::compile(schema.get("ticket_changes").unwrap());
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let mut results = Vec::new();
        for image in images {
            let raw: &RawValue = serde_json::from_str(image).unwrap();
            let mut rest = Map::new();
            let result = decode_image(&plan, raw, &mut rows, &mut rest);
            match &result {
                Ok(()) => {
                    if !rest.is_empty() {
                        let i = plan.rest.unwrap();
                        rows.column(i)
                            .append_str(&Value::Object(rest).to_string())
                            .unwrap();
                    }
                    // the change columns, as the stream decoder writes them
                    rows.column(0).append_str("INSERT").unwrap();
                    rows.column(2).append_int(0).unwrap();
                    rows.finish_row()
                }
                Err(_) => rows.rollback(),
            }
            results.push(result);
        }
        (results, rows.finish().unwrap())
    }

    #[test]
    fn an_item_fills_its_columns_from_every_dynamodb_type() {
        let (results, batch) = decode(&[r#"{
            "PK": {"S": "CUSTOMER#42"}, "SK": {"S": "TICKET#7"}, "priority": {"N": "2"},
            "tags": {"SS": ["billing", "vip"]}, "amount": {"N": "1e1"},
            "openedAt": {"N": "1767607200"}, "score": {"N": "0.5"},
            "agent": {"M": {"name": {"S": "ann"}, "level": {"N": "3"}, "desk": {"S": "b2"}}},
            "counts": {"M": {"calls": {"N": "4"}}}, "open": {"BOOL": true},
            "address": {"M": {"city": {"S": "Lyon"}, "zip": {"S": "69001"}}},
            "note": {"L": [{"S": "x"}, {"NULL": true}]}, "blob": {"B": "AAE="}
        }"#]);
        assert_eq!(results, [Ok(())]);
        assert_eq!(cell(&batch, "customer_id", 0), "42");
        assert_eq!(cell(&batch, "ticket_id", 0), "7");
        assert_eq!(cell(&batch, "priority", 0), "2");
        assert_eq!(cell(&batch, "tags", 0), "[billing, vip]");
        assert_eq!(cell(&batch, "amount", 0), "10.00");
        assert_eq!(cell(&batch, "opened_at", 0), "2026-01-05T10:00:00");
        assert_eq!(cell(&batch, "score", 0), "0.5");
        assert_eq!(cell(&batch, "agent", 0), "{name: ann, level: 3}");
        assert_eq!(cell(&batch, "counts", 0), "{calls: 4}");
        assert_eq!(cell(&batch, "open", 0), "true");
        assert_eq!(cell(&batch, "city", 0), "Lyon");
        assert_eq!(
            cell(&batch, "extra", 0),
            r#"{"address":{"zip":"69001"},"agent":{"desk":"b2"},"blob":"AAE=","note":["x",null]}"#
        );
    }

    #[test]
    fn mismatches_name_the_column_and_huge_numbers_cost_nothing() {
        let base = r#""PK": {"S": "CUSTOMER#1"}, "SK": {"S": "TICKET#1"}, "openedAt": {"N": "1767607200"}"#;
        let cases = [
            (
                r#""priority": {"S": "high"}"#,
                "column priority (from priority, any case): expected N, found S",
            ),
            (r#""priority": {"N": "1.5"}"#, "is not a whole number"),
            (
                r#""priority": {"N": "3000000000"}"#,
                "3000000000 is out of range for int",
            ),
            (
                r#""amount": {"N": "1e2147483647"}"#,
                "column amount (from amount, any case): ",
            ),
            (
                r#""score": {"N": "1e2147483647"}"#,
                "out of range for double",
            ),
            (
                r#""agent": {"M": {"level": {"N": "300"}}}"#,
                "column agent (from agent, any case): 300 is out of range for tinyint",
            ),
            (r#""tags": {"NS": ["1"]}"#, "expected S, found N"),
            (r#""open": {"S": "yes"}"#, "expected BOOL, found S"),
            (r#""priority": {"Q": "1"}"#, "unknown DynamoDB type"),
            (r#""priority": {"N": "1", "S": "1"}"#, "more than one type"),
        ];
        let images: Vec<String> = cases
            .iter()
            .map(|(a, _)| format!("{{{base}, {a}}}"))
            .collect();
        let mut all: Vec<&str> = images.iter().map(String::as_str).collect();
        let wrong_prefix =
            r#"{"PK": {"S": "USER#1"}, "SK": {"S": "TICKET#1"}, "openedAt": {"N": "1"}}"#;
        all.push(wrong_prefix);
        let good = format!("{{{base}}}");
        all.push(&good);
        let (results, batch) = decode(&all);
        for ((_, reason), result) in cases.iter().zip(&results) {
            let e = result.as_ref().unwrap_err();
            assert!(e.contains(reason), "{e}\nshould say: {reason}");
        }
        assert!(
            results[cases.len()]
                .as_ref()
                .unwrap_err()
                .contains("\"USER#1\" does not start with CUSTOMER#<id>")
        );
        assert_eq!(results[cases.len() + 1], Ok(()));
        assert_eq!(batch.num_rows(), 1, "only the good item is a row");
        assert_eq!(cell(&batch, "agent", 0), "NULL");
    }

    #[test]
    fn the_shops_orders_decode_as_the_shop_decoder_does() {
        let plan = TablePlan::compile(Table::builtin("order_changes"));
        let mut rows = Rows::new(plan.schema.clone()).unwrap();
        let image = r#"{"PK": {"S": "USER#u1"}, "SK": {"S": "ORDER#o1"}, "orderId": {"S": "o1"},
            "status": {"S": "PAID"}, "totalAmount": {"N": "10.5"}, "createdAt": {"S": "2026-01-05T10:00:00Z"},
            "giftWrap": {"BOOL": true},
            "items": {"L": [{"M": {"productId": {"S": "p"}, "quantity": {"N": "2"}, "price": {"N": "5.25"}}}]}}"#;
        let raw: &RawValue = serde_json::from_str(image).unwrap();
        let mut rest = Map::new();
        decode_image(&plan, raw, &mut rows, &mut rest).unwrap();
        assert_eq!(Value::Object(rest).to_string(), r#"{"giftWrap":true}"#);
        rows.column(0).append_str("INSERT").unwrap();
        rows.column(2).append_int(0).unwrap();
        rows.finish_row();
        let batch = rows.finish().unwrap();
        assert_eq!(cell(&batch, "order_id", 0), "o1");
        assert_eq!(cell(&batch, "user_id", 0), "u1");
        assert_eq!(cell(&batch, "total_amount", 0), "10.5000");
        assert_eq!(cell(&batch, "created_at", 0), "2026-01-05T10:00:00");
        assert_eq!(
            cell(&batch, "items", 0),
            "[{product_id: p, quantity: 2, price: 5.2500}]"
        );
    }
}
