//! Seeded property tests of every decoder: the clickstream events and the DynamoDB Streams
//! records of the built-in schema, DynamoDB export lines, the schema-driven decoder over a
//! schema with every column type (and the raw tables), and the KPL de-aggregator, each through
//! the entry points the stream and the backfill call ([`ChunkRows::push`],
//! [`kinesis::user_records`], [`kpl::deaggregate`]).
//!
//! For each, valid records are generated with the values they must decode to, and hostile
//! mutations of them: truncation, byte flips, invalid UTF-8, lone surrogate escapes, `NaN` and
//! huge exponents, 5,000 levels of nesting, a wrong JSON type or a missing member (for KPL: bad
//! magic, a bad checksum, truncated protobuf, indices and hash keys out of range). The
//! properties:
//! - nothing panics (a panic is caught and reported with its seed and case);
//! - a record is either a row or an error with a reason, and an error takes back everything
//!   the record wrote: a valid record after it still decodes to exactly its values;
//! - a valid record decodes to exactly the values generated;
//! - what must be a dead letter is one: invalid JSON, a declared member of the wrong type, a
//!   required one missing, a value nested past serde_json's depth limit where it is read.
//!
//! `TRIBUTARY_PROPERTY_CASES` cases per property (default 2000, so CI stays short;
//! `scripts/properties.sh` runs ten million inputs), from `TRIBUTARY_PROPERTY_SEED` (default
//! [`DEFAULT_SEED`]). Case `i` draws from its own generator, seeded by the seed, the
//! property's name and `i`, so a failure names the seed and case that repeat it alone.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimeUnit, TimestampMillisecondType,
};
use prost::Message as _;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use tributary_table::schema::Schema;
use tributary_transform::SequenceNumber;
use tributary_transform::model::Origin;

use super::kpl::{self, AggregatedRecord, Tag, UserRecord};
use super::{ChunkRows, Format, SchemaDecoder, TableBatch, kinesis};

// ---------------------------------------------------------------------------------------------
// The harness

/// The seed when `TRIBUTARY_PROPERTY_SEED` is not set.
const DEFAULT_SEED: u64 = 0x7472_6962_7574_6172; // "tributar"

const DEFAULT_CASES: u64 = 2000;

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
    )
}

/// FNV-1a of the property's name, then SplitMix64 steps: a generator per (seed, property,
/// case), so one case repeats without the cases before it.
fn case_seed(seed: u64, property: &str, case: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in property.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    z
}

/// What a case's input is, for the failure message: the bytes, shown as text.
trait Shown {
    fn shown(&self) -> String;
}

impl Shown for Vec<u8> {
    fn shown(&self) -> String {
        let text = format!("{:?}", String::from_utf8_lossy(self));
        match text.char_indices().nth(3000) {
            Some((at, _)) => format!("{}… ({} bytes)", &text[..at], self.len()),
            None => text,
        }
    }
}

/// How the cases of a property ended, printed after it.
#[derive(Default)]
struct Tally {
    rows: u64,
    dead_letters: u64,
}

/// Runs `property` on `TRIBUTARY_PROPERTY_CASES` inputs drawn by `generate`; the first
/// failure or panic (of either) fails the test with the seed and case that repeat it.
fn check<I: Shown>(
    property: &str,
    generate: impl Fn(&mut ChaCha8Rng) -> I,
    property_holds: impl Fn(&I, &mut Tally) -> Result<(), String>,
) {
    let seed = env_u64("TRIBUTARY_PROPERTY_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env_u64("TRIBUTARY_PROPERTY_CASES").unwrap_or(DEFAULT_CASES);
    let started = Instant::now();
    let mut tally = Tally::default();
    for case in 0..cases {
        let mut rng = ChaCha8Rng::seed_from_u64(case_seed(seed, property, case));
        let input = match catch_unwind(AssertUnwindSafe(|| generate(&mut rng))) {
            Ok(input) => input,
            Err(panic) => fail(
                property,
                seed,
                case,
                "(not generated)",
                &panic_text(&*panic),
            ),
        };
        let failure = match catch_unwind(AssertUnwindSafe(|| property_holds(&input, &mut tally))) {
            Ok(Ok(())) => continue,
            Ok(Err(failure)) => failure,
            Err(panic) => format!("panicked: {}", panic_text(&*panic)),
        };
        fail(property, seed, case, &input.shown(), &failure);
    }
    eprintln!(
        "property {property}: {cases} cases of seed {seed} in {:.2?} ({} rows, {} dead letters)",
        started.elapsed(),
        tally.rows,
        tally.dead_letters
    );
}

fn fail(property: &str, seed: u64, case: u64, input: &str, failure: &str) -> ! {
    panic!(
        "property {property} fails at case {case} of seed {seed}: {failure}\n\
         input: {input}\n\
         repeat: TRIBUTARY_PROPERTY_SEED={seed} TRIBUTARY_PROPERTY_CASES={} cargo test \
         --release --workspace --lib -- decode::properties::{property}",
        case + 1
    )
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

// ---------------------------------------------------------------------------------------------
// JSON as the generators write it

/// A JSON value with, for each member, what it is to the decoder (so a mutation knows what
/// must come of it). Written with random whitespace and escapes by [`J::write`].
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    /// A number, as its text.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<Member>),
    /// Bytes written as they are: hostile text (a lone surrogate, invalid UTF-8, `NaN`, deep
    /// nesting).
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Member {
    key: String,
    value: J,
    role: Role,
}

/// What a member is to the decoder; the members inside a value share its role unless they
/// say otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Without it, or with a value of the wrong type, the record is a dead letter (a required
    /// column, the envelope's eventName).
    Required,
    /// Read into a column: a wrong type makes a dead letter; without it the column is null.
    Read,
    /// Kept in a rest column as JSON, so it must be valid JSON.
    Kept,
    /// Read into a column that takes a number or its text (a decimal, an epoch time): a
    /// value of another type than those makes a dead letter.
    Lenient,
    /// Neither read nor kept.
    Ignored,
}

fn member(key: &str, role: Role, value: J) -> Member {
    Member {
        key: key.to_string(),
        value,
        role,
    }
}

fn num(n: impl ToString) -> J {
    J::Num(n.to_string())
}

/// A typed DynamoDB value: `{"S": ...}` with the role of the attribute.
fn typed(tag: &str, role: Role, value: J) -> J {
    J::Obj(vec![member(tag, role, value)])
}

impl J {
    /// The JSON text, with whitespace and escapes drawn from `rng`, in member names too (an
    /// escaped `"dynamodb"` was once read as an event: a finding reported with issue 15).
    fn write(&self, out: &mut Vec<u8>, rng: &mut impl Rng) {
        match self {
            J::Null => out.extend_from_slice(b"null"),
            J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            J::Num(text) => out.extend_from_slice(text.as_bytes()),
            J::Str(s) => write_str(s, out, rng),
            J::Raw(bytes) => out.extend_from_slice(bytes),
            J::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    space(out, rng);
                    item.write(out, rng);
                    space(out, rng);
                }
                out.push(b']');
            }
            J::Obj(members) => {
                out.push(b'{');
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    space(out, rng);
                    write_str(&m.key, out, rng);
                    space(out, rng);
                    out.push(b':');
                    space(out, rng);
                    m.value.write(out, rng);
                    space(out, rng);
                }
                out.push(b'}');
            }
        }
    }

    fn to_bytes(&self, rng: &mut impl Rng) -> Vec<u8> {
        let mut out = Vec::new();
        space(&mut out, rng);
        self.write(&mut out, rng);
        space(&mut out, rng);
        out
    }

    /// The kind of value, to choose one of another kind.
    fn kind(&self) -> u8 {
        match self {
            J::Null => 0,
            J::Bool(_) => 1,
            J::Num(_) => 2,
            J::Str(_) => 3,
            J::Arr(_) => 4,
            J::Obj(_) => 5,
            J::Raw(_) => 6,
        }
    }
}

fn space(out: &mut Vec<u8>, rng: &mut impl Rng) {
    if rng.random_ratio(1, 4) {
        for _ in 0..rng.random_range(1..4) {
            out.push(*b" \t\n\r".choose(rng).expect("four"));
        }
    }
}

/// A JSON string, some of its characters escaped though they need not be.
fn write_str(s: &str, out: &mut Vec<u8>, rng: &mut impl Rng) {
    out.push(b'"');
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' if rng.random_bool(0.5) => out.extend_from_slice(b"\\n"),
            '\t' if rng.random_bool(0.5) => out.extend_from_slice(b"\\t"),
            '/' if rng.random_bool(0.5) => out.extend_from_slice(b"\\/"),
            c if (c as u32) < 0x20 => escape_unicode(c, out),
            c if rng.random_ratio(1, 8) => escape_unicode(c, out),
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out.push(b'"');
}

/// `\uXXXX`, as a surrogate pair beyond the BMP.
fn escape_unicode(c: char, out: &mut Vec<u8>) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
    }
}

/// A JSON value as [`J`] (numbers as serde_json writes them), its members in `role`.
fn j_of(value: &Value, role: Role) -> J {
    match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => J::Num(n.to_string()),
        Value::String(s) => J::Str(s.clone()),
        Value::Array(items) => J::Arr(items.iter().map(|v| j_of(v, role)).collect()),
        Value::Object(m) => J::Obj(
            m.iter()
                .map(|(k, v)| member(k, role, j_of(v, role)))
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Random values

/// Text of up to `max` characters, from a pool with quotes, backslashes, control characters,
/// non-BMP characters and the characters JSON and JavaScript treat specially.
fn text(rng: &mut impl Rng, max: usize) -> String {
    const POOL: &[char] = &[
        'a',
        'b',
        'z',
        'A',
        'Q',
        '0',
        '7',
        ' ',
        '#',
        '_',
        '-',
        '.',
        ':',
        '"',
        '\\',
        '/',
        '\n',
        '\t',
        '\r',
        '\u{0}',
        '\u{1f}',
        '\u{7f}',
        'é',
        'ß',
        'Ω',
        '中',
        '\u{2028}',
        '\u{feff}',
        '😀',
        '\u{10ffff}',
        '\u{fffd}',
    ];
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| match rng.random_range(0..4) {
            0 => *POOL.choose(rng).expect("a pool"),
            _ => rng.random_range('a'..='z'),
        })
        .collect()
}

fn nonempty_text(rng: &mut impl Rng, max: usize) -> String {
    loop {
        let t = text(rng, max.max(1));
        if !t.is_empty() {
            return t;
        }
    }
}

/// A member name that matches none of `taken` ignoring ASCII case, and is not `avoid`'d.
fn unknown_name(rng: &mut impl Rng, taken: &[&str], used: &[String]) -> String {
    loop {
        let name = match rng.random_range(0..3) {
            0 => format!("x{}", text(rng, 6)),
            1 => text(rng, 10),
            _ => ["note", "sessionId", "tags", "v", "Item", "S", "M", "NULL"]
                .choose(rng)
                .expect("names")
                .to_string(),
        };
        if !taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) && !used.contains(&name) {
            return name;
        }
    }
}

/// `name` in a random ASCII case (the decoders find columns by name ignoring case).
fn any_case(rng: &mut impl Rng, name: &str) -> String {
    match rng.random_range(0..4) {
        0 => name.to_string(),
        1 => name.to_ascii_uppercase(),
        2 => name.to_ascii_lowercase(),
        _ => name
            .chars()
            .map(|c| match rng.random_bool(0.5) {
                true => c.to_ascii_uppercase(),
                false => c.to_ascii_lowercase(),
            })
            .collect(),
    }
}

/// One of `names`, in a random ASCII case.
fn spell(rng: &mut impl Rng, names: &[&str]) -> String {
    let name = *names.choose(rng).expect("names");
    any_case(rng, name)
}

/// Epoch milliseconds of 1000-01-02 and 9999-12-30: partitions are years 1000 to 9999, and a
/// day's margin keeps any offset's local time within them too.
const MIN_MS: i64 = -30_610_137_600_000;
const MAX_MS: i64 = 253_402_041_600_000;

/// A time a partition can hold: mostly around now, sometimes anywhere, sometimes at the ends.
fn time_ms(rng: &mut impl Rng) -> i64 {
    match rng.random_range(0..8) {
        0 => MIN_MS + rng.random_range(0..1000),
        1 => MAX_MS - rng.random_range(0..1000),
        2 | 3 => rng.random_range(MIN_MS..=MAX_MS),
        _ => rng.random_range(1_577_836_800_000..1_893_456_000_000), // 2020 to 2030
    }
}

/// ISO-8601 text of `ms`, as shops write it: with an offset or none (UTC), with or without
/// milliseconds (or microseconds, which the decoders drop), or a bare date at midnight.
fn iso(rng: &mut impl Rng, ms: i64) -> String {
    let utc = DateTime::from_timestamp_millis(ms).expect("a time in range");
    if ms.rem_euclid(86_400_000) == 0 && rng.random_bool(0.5) {
        return utc.format("%Y-%m-%d").to_string();
    }
    let millis = ms.rem_euclid(1000);
    let fraction = match rng.random_range(0..3) {
        0 if millis == 0 => String::new(),
        1 => format!(".{millis:03}{:03}", rng.random_range(0..1000)),
        _ => format!(".{millis:03}"),
    };
    match rng.random_range(0..4) {
        0 => format!("{}{fraction}", utc.format("%Y-%m-%dT%H:%M:%S")),
        1 => format!("{}{fraction}", utc.format("%Y-%m-%d %H:%M:%S")),
        2 => format!("{}{fraction}Z", utc.format("%Y-%m-%dT%H:%M:%S")),
        _ => {
            let minutes = rng.random_range(-(23 * 60 + 59)..=23 * 60 + 59);
            let offset = FixedOffset::east_opt(minutes * 60).expect("within a day");
            let local = utc.with_timezone(&offset);
            format!(
                "{}{fraction}{}",
                local.format("%Y-%m-%dT%H:%M:%S"),
                local.format("%:z")
            )
        }
    }
}

/// A decimal's text from its unscaled value at `scale`, in one of the ways DynamoDB and JSON
/// write numbers (`12.5`, `12.50`, `1.25E+1`, `125e-1`).
fn decimal_text(rng: &mut impl Rng, unscaled: i128, scale: u32) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = unscaled.unsigned_abs().to_string();
    if rng.random_bool(0.3) && unscaled != 0 {
        // significant digits and an exponent
        let trimmed = digits.trim_end_matches('0');
        let zeros = (digits.len() - trimmed.len()) as i64;
        let exponent = zeros - i64::from(scale) + trimmed.len() as i64 - 1;
        let (first, rest) = trimmed.split_at(1);
        let e = if rng.random_bool(0.5) { 'e' } else { 'E' };
        let plus = if exponent >= 0 && rng.random_bool(0.5) {
            "+"
        } else {
            ""
        };
        return match rest.is_empty() {
            true => format!("{sign}{first}{e}{plus}{exponent}"),
            false => format!("{sign}{first}.{rest}{e}{plus}{exponent}"),
        };
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let mut frac = frac.to_string();
    if rng.random_bool(0.5) {
        while frac.ends_with('0') {
            frac.pop();
        }
    } else {
        for _ in 0..rng.random_range(0..3) {
            frac.push('0');
        }
    }
    match frac.is_empty() {
        true => format!("{sign}{int}"),
        false => format!("{sign}{int}.{frac}"),
    }
}

/// An unscaled decimal of at most `precision` digits, often with trailing zeros.
fn unscaled(rng: &mut impl Rng, precision: u32) -> i128 {
    let digits = rng.random_range(0..=precision);
    let limit = 10i128.pow(digits);
    let mut v = rng.random_range(0..limit.max(1));
    if rng.random_bool(0.3) {
        let zeros = rng.random_range(0..=digits);
        v = v / 10i128.pow(zeros) * 10i128.pow(zeros);
    }
    if rng.random_bool(0.4) { -v } else { v }
}

/// A whole number in `min..=max`, often at an end.
fn int_in(rng: &mut impl Rng, min: i64, max: i64) -> i64 {
    match rng.random_range(0..6) {
        0 => min,
        1 => max,
        2 => rng.random_range(-100..=100).clamp(min, max),
        _ => rng.random_range(min..=max),
    }
}

/// A finite double: small, huge, tiny, subnormal, negative zero, or any bit pattern.
fn double(rng: &mut impl Rng) -> f64 {
    loop {
        let v = match rng.random_range(0..6) {
            0 => f64::from(rng.random_range(-1000..1000)) / 8.0,
            1 => rng.random_range(-1e6..1e6),
            2 => *[
                0.0,
                -0.0,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE,
                5e-324,
                1e-7,
                0.1,
            ]
            .choose(rng)
            .expect("values"),
            _ => f64::from_bits(rng.random()),
        };
        if v.is_finite() {
            return v;
        }
    }
}

/// A double's JSON text (serde_json's, so never `NaN`), and what serde_json reads back.
fn double_json(rng: &mut impl Rng) -> (String, f64) {
    let text = match rng.random_range(0..4) {
        0 => rng.random_range(-1_000_000i64..1_000_000).to_string(),
        _ => serde_json::to_string(&double(rng)).expect("a finite double"),
    };
    // the truth is Rust's own correctly rounded parse, not serde_json's: without
    // `float_roundtrip` serde_json read one double in six one ULP off (issue 15)
    let read: f64 = text.parse().expect("a double's text");
    (text, read)
}

fn bytes(rng: &mut impl Rng, max: usize) -> Vec<u8> {
    let len = rng.random_range(0..=max);
    (0..len).map(|_| rng.random()).collect()
}

fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

// ---------------------------------------------------------------------------------------------
// Decoded values

/// One cell of a decoded batch, or the value it must have.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Bool(bool),
    /// Integers of every width, dates (days) and timestamps (epoch milliseconds).
    Int(i64),
    /// A double's bits (a float's, widened): exact, and negative zero is not zero.
    Float(u64),
    Decimal(i128),
    Text(String),
    Bytes(Vec<u8>),
    List(Vec<Cell>),
    Struct(Vec<Cell>),
    Map(Vec<(Cell, Cell)>),
    /// Expected only: a text column holding this JSON (compared as JSON, member order aside).
    Json(Value),
}

fn float(v: f64) -> Cell {
    Cell::Float(v.to_bits())
}

fn float32(v: f64) -> Cell {
    Cell::Float(f64::from(v as f32).to_bits())
}

fn text_cell(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn cell_of(array: &dyn Array, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Int8 => Cell::Int(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Cell::Int(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Cell::Int(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::Date32 => Cell::Int(array.as_primitive::<Date32Type>().value(row).into()),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Cell::Int(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(..) => {
            Cell::Decimal(array.as_primitive::<Decimal128Type>().value(row))
        }
        DataType::Utf8 => text_cell(array.as_string::<i32>().value(row)),
        DataType::Binary => Cell::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            Cell::List((0..items.len()).map(|i| cell_of(&items, i)).collect())
        }
        DataType::Struct(_) => Cell::Struct(
            array
                .as_struct()
                .columns()
                .iter()
                .map(|c| cell_of(c, row))
                .collect(),
        ),
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            Cell::Map(
                (0..entries.len())
                    .map(|i| (cell_of(entries.column(0), i), cell_of(entries.column(1), i)))
                    .collect(),
            )
        }
        other => panic!("no test reading for {other}"),
    }
}

fn same(expected: &Cell, found: &Cell) -> bool {
    match (expected, found) {
        (Cell::Json(want), Cell::Text(text)) => {
            serde_json::from_str::<Value>(text).is_ok_and(|v| v == *want)
        }
        (Cell::List(a), Cell::List(b)) | (Cell::Struct(a), Cell::Struct(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Cell::Map(a), Cell::Map(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (a, b) => a == b,
    }
}

/// A row as it must be: its table, its cells by column name, its partition.
#[derive(Debug, Clone)]
struct Row {
    table: &'static str,
    cells: Vec<(&'static str, Cell)>,
    partition: String,
}

/// Compares row `index` of `table`'s batch in `batches` with `row`.
fn row_is(batches: &[TableBatch], index: usize, row: &Row) -> Result<(), String> {
    let batch = batches
        .iter()
        .find(|b| b.table.name() == row.table)
        .ok_or_else(|| format!("no rows in {} (rows in {:?})", row.table, names(batches)))?;
    if batch.batch.num_rows() <= index {
        return Err(format!(
            "{} has {} rows, not {}",
            row.table,
            batch.batch.num_rows(),
            index + 1
        ));
    }
    for (column, want) in &row.cells {
        let array = batch
            .batch
            .column_by_name(column)
            .ok_or_else(|| format!("{} has no column {column}", row.table))?;
        let found = cell_of(array, index);
        if !same(want, &found) {
            return Err(format!(
                "{}.{column}: expected {want:?}, decoded {found:?}",
                row.table
            ));
        }
    }
    let partition = batch.partitions[index].path();
    if partition != row.partition {
        return Err(format!(
            "{}: partition {partition}, expected {}",
            row.table, row.partition
        ));
    }
    Ok(())
}

fn names(batches: &[TableBatch]) -> Vec<&'static str> {
    batches.iter().map(|b| b.table.name()).collect()
}

fn rows_in(batches: &[TableBatch]) -> usize {
    batches.iter().map(|b| b.batch.num_rows()).sum()
}

fn partition_of(ms: i64) -> String {
    tributary_transform::Partition::of_millis(ms)
        .expect("generated times are in range")
        .path()
}

fn origin(source: &str, sequence: u64, arrival_ms: Option<i64>) -> Origin {
    Origin {
        source: source.into(),
        shard: "shardId-000000000007".into(),
        sequence: SequenceNumber::from_u64(sequence),
        arrival_time_ms: arrival_ms,
    }
}

fn ingest_cells(origin: &Origin) -> [(&'static str, Cell); 4] {
    [
        ("ingest_source", text_cell(&*origin.source)),
        ("ingest_shard", text_cell(&*origin.shard)),
        ("ingest_sequence", text_cell(origin.sequence.padded())),
        (
            "ingest_arrival_time",
            origin.arrival_time_ms.map_or(Cell::Null, Cell::Int),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Cases

/// A valid record and what it must decode to.
#[derive(Debug, Clone)]
struct Valid {
    tree: J,
    raw: Vec<u8>,
    format: Format,
    origin: Origin,
    export_time_ms: i64,
    row: Row,
    /// The event id the row must carry (stream records).
    event_id: Option<String>,
}

impl Shown for Valid {
    fn shown(&self) -> String {
        self.raw.shown()
    }
}

/// A valid record mutated, and what must come of it.
struct Hostile {
    valid: Valid,
    raw: Vec<u8>,
    mutation: String,
    must_be_dead_letter: bool,
}

impl Shown for Hostile {
    fn shown(&self) -> String {
        format!("{} (mutation: {})", self.raw.shown(), self.mutation)
    }
}

/// A valid record's property: it decodes to exactly its row (and, from Kinesis, is handed on
/// whole with its format).
fn decodes_exactly(decoder: &SchemaDecoder, case: &Valid, tally: &mut Tally) -> Result<(), String> {
    let mut rows = decoder.rows();
    rows.push(case.format, &case.raw, &case.origin, case.export_time_ms)
        .map_err(|e| format!("a valid record is a dead letter: {e}"))?;
    let batches = rows
        .finish()
        .map_err(|e| format!("the batch does not build: {e}"))?;
    if rows_in(&batches) != 1 {
        return Err(format!("{} rows from one record", rows_in(&batches)));
    }
    row_is(&batches, 0, &case.row)?;
    event_id_is(&batches, case)?;
    if case.format != Format::DynamodbExport {
        let mut handed = Vec::new();
        kinesis::user_records(&case.raw, |raw, format| handed.push((raw.to_vec(), format)));
        if handed != [(case.raw.clone(), Ok(case.format))] {
            return Err(format!(
                "from Kinesis, handed on as {:?}",
                handed.iter().map(|(_, f)| f).collect::<Vec<_>>()
            ));
        }
    }
    tally.rows += 1;
    Ok(())
}

fn event_id_is(batches: &[TableBatch], case: &Valid) -> Result<(), String> {
    let batch = batches
        .iter()
        .find(|b| b.table.name() == case.row.table)
        .expect("row_is found the table");
    let found: Vec<&str> = batch.event_ids.iter().map(|id| id.as_ref()).collect();
    let row = batch.batch.num_rows() - 1;
    match &case.event_id {
        Some(id) if found.get(row) == Some(&id.as_str()) => Ok(()),
        None if found.is_empty() => Ok(()),
        want => Err(format!("event ids {found:?}, expected {want:?} last")),
    }
}

/// A hostile record's property: a row or a dead letter with a reason (a dead letter when it
/// must be), nothing of it left behind when it is one, and the same from Kinesis.
fn survives(decoder: &SchemaDecoder, case: &Hostile, tally: &mut Tally) -> Result<(), String> {
    let valid = &case.valid;
    let mut rows = decoder.rows();
    let result = rows.push(valid.format, &case.raw, &valid.origin, valid.export_time_ms);
    match &result {
        Err(reason) if reason.trim().is_empty() => {
            return Err("a dead letter without a reason".into());
        }
        Err(_) => tally.dead_letters += 1,
        Ok(()) if case.must_be_dead_letter => {
            return Err(format!(
                "decoded as a row; it must be a dead letter ({})",
                case.mutation
            ));
        }
        Ok(()) => tally.rows += 1,
    }
    after_it_a_valid_record_decodes(rows, result.is_ok(), valid)?;
    if valid.format != Format::DynamodbExport {
        // the stream's path: split (not an aggregate here), classified, decoded
        let mut rows = decoder.rows();
        let mut outcome = Ok(());
        kinesis::user_records(&case.raw, |raw, format| {
            let result = format.and_then(|f| rows.push(f, raw, &valid.origin, 0));
            if let Err(reason) = result
                && reason.trim().is_empty()
            {
                outcome = Err("from Kinesis, a dead letter without a reason".to_string());
            }
        });
        outcome?;
        rows.finish()
            .map_err(|e| format!("from Kinesis, the batch does not build: {e}"))?;
    }
    Ok(())
}

/// Pushes `valid` after a record that was a row or not (`before`), and checks that the batch
/// holds exactly the rows it should, `valid`'s last in its table.
fn after_it_a_valid_record_decodes(
    mut rows: ChunkRows,
    before: bool,
    valid: &Valid,
) -> Result<(), String> {
    rows.push(
        valid.format,
        &valid.raw,
        &valid.origin,
        valid.export_time_ms,
    )
    .map_err(|e| format!("after it, a valid record is a dead letter: {e}"))?;
    let batches = rows
        .finish()
        .map_err(|e| format!("the batch does not build: {e}"))?;
    let expected = usize::from(before) + 1;
    if rows_in(&batches) != expected {
        return Err(format!(
            "{} rows in the batch, expected {expected}",
            rows_in(&batches)
        ));
    }
    let table = batches
        .iter()
        .find(|b| b.table.name() == valid.row.table)
        .ok_or_else(|| format!("after it, no rows in {}", valid.row.table))?;
    row_is(&batches, table.batch.num_rows() - 1, &valid.row)
        .map_err(|e| format!("after it, the valid record decodes otherwise: {e}"))?;
    event_id_is(&batches, valid)
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// A value's path in a record (item and member indices), its role, and whether it is an
/// object's member.
type Place = (Vec<usize>, Role, bool);

/// Every value of `j` below the root, as a [`Place`].
fn values(j: &J, role: Role, path: &mut Vec<usize>, out: &mut Vec<Place>) {
    match j {
        J::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i);
                out.push((path.clone(), role, false));
                values(item, role, path, out);
                path.pop();
            }
        }
        J::Obj(members) => {
            for (i, m) in members.iter().enumerate() {
                path.push(i);
                out.push((path.clone(), m.role, true));
                values(&m.value, m.role, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(j: &'a J, path: &[usize]) -> &'a J {
    let Some((first, rest)) = path.split_first() else {
        return j;
    };
    match j {
        J::Arr(items) => at(&items[*first], rest),
        J::Obj(members) => at(&members[*first].value, rest),
        _ => unreachable!("a path goes through arrays and objects"),
    }
}

/// One of `paths` whose value is of `kind`, with its role.
fn of_kind(tree: &J, paths: &[Place], kind: u8, rng: &mut impl Rng) -> Option<(Vec<usize>, Role)> {
    let found: Vec<&Place> = paths
        .iter()
        .filter(|(p, _, _)| at(tree, p).kind() == kind)
        .collect();
    found.choose(rng).map(|(p, r, _)| (p.clone(), *r))
}

fn at_mut<'a>(j: &'a mut J, path: &[usize]) -> &'a mut J {
    let Some((first, rest)) = path.split_first() else {
        return j;
    };
    match j {
        J::Arr(items) => at_mut(&mut items[*first], rest),
        J::Obj(members) => at_mut(&mut members[*first].value, rest),
        _ => unreachable!("a path goes through arrays and objects"),
    }
}

fn parent_members<'a>(j: &'a mut J, path: &[usize]) -> (&'a mut Vec<Member>, usize) {
    let (last, parent) = path.split_last().expect("a member has a parent");
    match at_mut(j, parent) {
        J::Obj(members) => (members, *last),
        _ => unreachable!("a member's parent is an object"),
    }
}

/// `depth` levels of arrays or objects, the most a record can be given: serde_json refuses
/// past 128 wherever it builds values, and must never overflow the stack.
fn deep(rng: &mut impl Rng, depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 6);
    let kinds: Vec<bool> = (0..depth).map(|_| rng.random_bool(0.5)).collect();
    for &object in &kinds {
        out.extend_from_slice(if object { b"{\"a\":" } else { b"[" });
    }
    out.extend_from_slice(b"1");
    for &object in kinds.iter().rev() {
        out.push(if object { b'}' } else { b']' });
    }
    out
}

/// Invalid UTF-8: a lone continuation byte, an overlong encoding, a surrogate's encoding, a
/// truncated sequence, bytes no UTF-8 has.
const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe4\xb8",
    b"\xff",
    b"\xf8\x88\x80\x80\x80",
    b"\xf4\x90\x80\x80",
];

/// Lone surrogates, as JSON escapes.
const LONE_SURROGATES: &[&str] = &[
    "\"\\ud800\"",
    "\"a\\udc00b\"",
    "\"\\ud800\\u0041\"",
    "\"\\udbff\"",
    "\"x\\ud83d\"",
];

/// Numbers serde_json refuses, reads as infinity, or cannot read into 64 bits.
const HOSTILE_NUMBERS: &[&str] = &[
    "1e2147483647",
    "-1e2147483647",
    "1e-2147483648",
    "0e2147483647",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "-0",
    "1E400",
    "4.9e-325",
];

/// A value of another JSON type than `kind`'s, never null (null is a column's null).
fn other_type(rng: &mut impl Rng, kind: u8, lenient: bool) -> J {
    loop {
        let candidate = match rng.random_range(0..5) {
            0 => J::Bool(rng.random()),
            1 => num(rng.random_range(-5..5)),
            2 => J::Str(
                ["x", "", "not a value"]
                    .choose(rng)
                    .expect("texts")
                    .to_string(),
            ),
            3 => J::Arr(vec![num(1)]),
            _ => J::Obj(vec![member("a", Role::Kept, J::Null)]),
        };
        // a lenient column takes a number or a text alike
        let taken = lenient && matches!(candidate, J::Num(_) | J::Str(_));
        if candidate.kind() != kind && !taken {
            return candidate;
        }
    }
}

/// A hostile mutation of `valid`.
fn mutate(rng: &mut impl Rng, valid: &Valid) -> Hostile {
    let mut raw = valid.raw.clone();
    let mut tree = valid.tree.clone();
    let mut paths = Vec::new();
    values(&tree, Role::Required, &mut Vec::new(), &mut paths);
    let hostile = |raw: Vec<u8>, mutation: String, must: bool| Hostile {
        valid: valid.clone(),
        raw,
        mutation,
        must_be_dead_letter: must,
    };
    // a path of the tree, and how much harm there must make a dead letter
    // (a record without members has the root alone, which a mutation replaces whole)
    let (path, role, is_member) =
        paths
            .choose(rng)
            .cloned()
            .unwrap_or((Vec::new(), Role::Required, false));
    let read = matches!(role, Role::Required | Role::Read | Role::Lenient);
    let kept = read || role == Role::Kept;
    match rng.random_range(0..14) {
        0 | 1 => {
            // the document cut before its last bracket
            let last = raw
                .iter()
                .rposition(|b| !b" \t\n\r".contains(b))
                .expect("a record has text");
            let cut = rng.random_range(0..=last);
            raw.truncate(cut);
            hostile(raw, format!("cut at byte {cut}"), true)
        }
        2 => {
            let mut flipped = Vec::new();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..raw.len());
                raw[at] ^= rng.random_range(1..=255u8);
                flipped.push(at);
            }
            hostile(raw, format!("bytes {flipped:?} flipped"), false)
        }
        3 => {
            let at = rng.random_range(0..=raw.len());
            let bad = INVALID_UTF8.choose(rng).expect("sequences");
            raw.splice(at..at, bad.iter().copied());
            hostile(raw, format!("invalid UTF-8 {bad:?} at byte {at}"), false)
        }
        4 | 5 if is_member => {
            let (members, i) = parent_members(&mut tree, &path);
            let key = members.remove(i).key;
            let raw = tree.to_bytes(rng);
            hostile(
                raw,
                format!("member {key:?} removed"),
                role == Role::Required,
            )
        }
        6 | 7 => {
            let value = at_mut(&mut tree, &path);
            let original = value.kind();
            let replacement = match (role, original) {
                (Role::Required, k) if k != 0 && rng.random_bool(0.2) => J::Null,
                _ => other_type(rng, original, role == Role::Lenient),
            };
            *value = replacement.clone();
            let raw = tree.to_bytes(rng);
            let must = read && original != 0;
            hostile(
                raw,
                format!("{path:?} ({role:?}) is now {replacement:?}"),
                must,
            )
        }
        8 => {
            let surrogate = LONE_SURROGATES.choose(rng).expect("escapes");
            *at_mut(&mut tree, &path) = J::Raw(surrogate.as_bytes().to_vec());
            let raw = tree.to_bytes(rng);
            // whatever reads or keeps the value reads it as a string, and refuses the escape
            hostile(raw, format!("{path:?} ({role:?}) is now {surrogate}"), kept)
        }
        9 => {
            // in a text of the record (any value when it has none)
            let (path, role) = of_kind(&tree, &paths, 3, rng).unwrap_or((path, role));
            let kept = matches!(
                role,
                Role::Required | Role::Read | Role::Lenient | Role::Kept
            );
            let value = at_mut(&mut tree, &path);
            let s = match value {
                J::Str(s) => s.replace(['"', '\\'], ""),
                _ => String::new(),
            };
            let cut = s
                .char_indices()
                .nth(rng.random_range(0..=s.chars().count()))
                .map_or(s.len(), |(i, _)| i);
            let mut bytes = b"\"".to_vec();
            bytes.extend_from_slice(&s.as_bytes()[..cut]);
            bytes.extend_from_slice(INVALID_UTF8.choose(rng).expect("sequences"));
            bytes.extend_from_slice(&s.as_bytes()[cut..]);
            bytes.push(b'"');
            *value = J::Raw(bytes);
            let raw = tree.to_bytes(rng);
            hostile(raw, format!("{path:?} ({role:?}) has invalid UTF-8"), kept)
        }
        10 => {
            // in a number of the record, mostly
            let (path, role) = match rng.random_bool(0.7) {
                true => of_kind(&tree, &paths, 2, rng).unwrap_or((path, role)),
                false => (path, role),
            };
            let (text, must) = match rng.random_range(0..3) {
                // not JSON, wherever it is
                0 => (
                    *["NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "1e"]
                        .choose(rng)
                        .expect("numbers"),
                    true,
                ),
                _ => (*HOSTILE_NUMBERS.choose(rng).expect("numbers"), false),
            };
            *at_mut(&mut tree, &path) = J::Raw(text.as_bytes().to_vec());
            let raw = tree.to_bytes(rng);
            hostile(raw, format!("{path:?} ({role:?}) is now {text}"), must)
        }
        11 => {
            let depth = if rng.random_bool(0.5) {
                5000
            } else {
                rng.random_range(129..600)
            };
            *at_mut(&mut tree, &path) = J::Raw(deep(rng, depth));
            let raw = tree.to_bytes(rng);
            let must = deep_must_fail(valid, &path, role);
            hostile(
                raw,
                format!("{path:?} ({role:?}) nested {depth} deep"),
                must,
            )
        }
        12 if is_member => {
            let (members, i) = parent_members(&mut tree, &path);
            let copy = members[i].clone();
            let at = rng.random_range(0..=members.len());
            members.insert(at, copy);
            let raw = tree.to_bytes(rng);
            hostile(raw, format!("{path:?} ({role:?}) given twice"), false)
        }
        _ => {
            let (record, must) = *[
                ("", true),
                ("null", true),
                ("[]", true),
                ("\"x\"", true),
                ("7", true),
                ("{", true),
                ("{}", false),
                ("{\"\":{}}", false),
            ]
            .choose(rng)
            .expect("records");
            let mutation = format!("the whole record replaced by {record:?}");
            hostile(record.as_bytes().to_vec(), mutation, must)
        }
    }
}

/// Whether a value nested past serde_json's depth limit at `path` must make `valid` a dead
/// letter: wherever it is, read, kept or skipped. (Skipped ones once escaped the limit: a
/// stream record with a 5,000-deep value under an unknown member of `dynamodb` was a row,
/// the known bug of issue 15, which `key::Skip` and the hand-written stream envelope mend.)
fn deep_must_fail(_valid: &Valid, _path: &[usize], _role: Role) -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// Generators: JSON values for rest columns, typed DynamoDB values with their plain JSON

/// A JSON value for a rest column: numbers a double reads exactly, so the kept text compares.
fn json_any(rng: &mut impl Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => Value::from(int_in(rng, i64::MIN, i64::MAX)),
        3 => Value::from(f64::from(rng.random_range(-1_000_000_000..1_000_000_000) | 1) / 4.0),
        4 => Value::String(text(rng, 8)),
        5 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| json_any(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..4))
                .map(|_| (text(rng, 6), json_any(rng, depth - 1)))
                .collect(),
        ),
    }
}

/// A typed attribute value (any type) and the plain JSON a rest column keeps of it.
fn typed_any(rng: &mut impl Rng, role: Role, depth: u32) -> (J, Value) {
    match rng.random_range(0..if depth == 0 { 8 } else { 10 }) {
        0 => {
            let s = text(rng, 8);
            (typed("S", role, J::Str(s.clone())), Value::String(s))
        }
        1 => {
            let n = int_in(rng, i64::MIN, i64::MAX);
            (typed("N", role, J::Str(n.to_string())), Value::from(n))
        }
        2 => {
            // a fraction a double holds exactly: kept as a JSON number
            let f = f64::from(rng.random_range(-1_000_000_000..1_000_000_000) | 1) / 4.0;
            (typed("N", role, J::Str(f.to_string())), Value::from(f))
        }
        3 => {
            let b: bool = rng.random();
            (typed("BOOL", role, J::Bool(b)), Value::Bool(b))
        }
        4 => (typed("NULL", Role::Ignored, J::Bool(true)), Value::Null),
        5 => {
            let b = base64(&bytes(rng, 12));
            (typed("B", role, J::Str(b.clone())), Value::String(b))
        }
        6 => {
            let items: Vec<String> = (0..rng.random_range(1..4)).map(|_| text(rng, 6)).collect();
            (
                typed(
                    "SS",
                    role,
                    J::Arr(items.iter().cloned().map(J::Str).collect()),
                ),
                Value::Array(items.into_iter().map(Value::String).collect()),
            )
        }
        7 => {
            let (js, vs): (Vec<J>, Vec<Value>) = (0..rng.random_range(1..4))
                .map(|_| {
                    let n = int_in(rng, i64::MIN, i64::MAX);
                    (J::Str(n.to_string()), Value::from(n))
                })
                .unzip();
            (typed("NS", role, J::Arr(js)), Value::Array(vs))
        }
        8 => {
            let (js, vs): (Vec<J>, Vec<Value>) = (0..rng.random_range(0..4))
                .map(|_| typed_any(rng, role, depth - 1))
                .unzip();
            (typed("L", role, J::Arr(js)), Value::Array(vs))
        }
        _ => {
            let mut members = Vec::new();
            let mut plain = Map::new();
            for _ in 0..rng.random_range(0..4) {
                let key = text(rng, 6);
                if plain.contains_key(&key) {
                    continue;
                }
                let (j, v) = typed_any(rng, role, depth - 1);
                members.push(member(&key, role, j));
                plain.insert(key, v);
            }
            (typed("M", role, J::Obj(members)), Value::Object(plain))
        }
    }
}

/// The members `typed` gives a typed value: its tag is required wherever the value is read.
fn tag_role(role: Role) -> Role {
    match role {
        Role::Read | Role::Lenient | Role::Required => Role::Required,
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Clickstream events (the built-in schema's `events`)

const EVENT_COLUMNS: &[&str] = &["eventType", "userId", "timestamp", "properties", "dynamodb"];
const PROPERTY_FIELDS: &[&str] = &["page", "referrer", "productId", "amount", "currency"];

fn event(rng: &mut impl Rng) -> Valid {
    let ms = time_ms(rng);
    let event_type = match rng.random_bool(0.5) {
        true => ["PAGE_VIEW", "ADD_TO_CART", "PURCHASE"]
            .choose(rng)
            .expect("types")
            .to_string(),
        false => nonempty_text(rng, 12),
    };
    let user = nonempty_text(rng, 12);
    let timestamp = match rng.random_range(0..6) {
        0 => J::Num(format!("{ms}.0")),
        1 if ms % 1000 == 0 => J::Num(format!("{}e3", ms / 1000)),
        _ => num(ms),
    };
    let mut members = vec![
        member(
            &any_case(rng, "eventType"),
            Role::Required,
            J::Str(event_type.clone()),
        ),
        member(
            &any_case(rng, "userId"),
            Role::Required,
            J::Str(user.clone()),
        ),
        member(&any_case(rng, "timestamp"), Role::Required, timestamp),
    ];
    let mut extra = Map::new();
    let properties = match rng.random_range(0..10) {
        0 => {
            members.push(member(&any_case(rng, "properties"), Role::Read, J::Null));
            Cell::Null
        }
        1 => Cell::Null,
        _ => {
            let mut fields = Vec::new();
            let mut cells = Vec::new();
            for name in PROPERTY_FIELDS {
                let (j, cell) = match rng.random_range(0..5) {
                    0 => {
                        cells.push(Cell::Null);
                        continue;
                    }
                    1 => (J::Null, Cell::Null),
                    _ if *name == "amount" => {
                        let (text, read) = double_json(rng);
                        (J::Num(text), float(read))
                    }
                    _ => {
                        let s = text(rng, 10);
                        (J::Str(s.clone()), text_cell(s))
                    }
                };
                fields.push(member(&any_case(rng, name), Role::Read, j));
                cells.push(cell);
            }
            let mut kept = Map::new();
            for _ in 0..rng.random_range(0..3) {
                let used: Vec<String> = kept.keys().cloned().collect();
                let key = unknown_name(rng, PROPERTY_FIELDS, &used);
                let value = json_any(rng, 2);
                fields.push(member(&key, Role::Kept, j_of(&value, Role::Kept)));
                kept.insert(key, value);
            }
            fields.shuffle(rng);
            let key = any_case(rng, "properties");
            if !kept.is_empty() {
                extra.insert(key.clone(), Value::Object(kept));
            }
            members.push(member(&key, Role::Read, J::Obj(fields)));
            Cell::Struct(cells)
        }
    };
    for _ in 0..rng.random_range(0..4) {
        let used: Vec<String> = extra.keys().cloned().collect();
        let key = unknown_name(rng, EVENT_COLUMNS, &used);
        let value = json_any(rng, 3);
        members.push(member(&key, Role::Kept, j_of(&value, Role::Kept)));
        extra.insert(key, value);
    }
    members.shuffle(rng);
    let origin = origin(
        "kinesis",
        rng.random(),
        rng.random_bool(0.5).then(|| time_ms(rng)),
    );
    let mut cells = vec![
        ("eventtype", text_cell(event_type)),
        ("userid", text_cell(user)),
        ("timestamp", Cell::Int(ms)),
        ("properties", properties),
        (
            "extra",
            match extra.is_empty() {
                true => Cell::Null,
                false => Cell::Json(Value::Object(extra)),
            },
        ),
    ];
    cells.extend(ingest_cells(&origin));
    let tree = J::Obj(members);
    Valid {
        raw: tree.to_bytes(rng),
        tree,
        format: Format::Events,
        origin,
        export_time_ms: 0,
        row: Row {
            table: "events",
            cells,
            partition: partition_of(ms),
        },
        event_id: None,
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB items: the shop's orders and users, and the envelopes they arrive in

/// An item's attributes (and its key attributes, for `Keys`), the row it must become, and
/// its plain JSON (for the raw tables).
struct Item {
    attributes: Vec<Member>,
    keys: Vec<Member>,
    plain: Map<String, Value>,
    keys_plain: Map<String, Value>,
    table: &'static str,
    cells: Vec<(&'static str, Cell)>,
    /// The time column's value; `None` for the raw table, partitioned by the change time.
    time_ms: Option<i64>,
    /// Whether the schema has a raw table: a record that loses what routes it is a row there.
    raw_fallback: bool,
}

/// A key attribute (`S`) in `Keys` and in the image, each with the role its copy has: a
/// copy the other stands in for may go.
fn key_attribute(
    item: &mut Item,
    name: &str,
    value: &str,
    in_keys: bool,
    in_image: bool,
    read: bool,
) {
    let role = |other: bool| match (read, other) {
        (false, _) => Role::Kept,
        (true, true) => Role::Read,
        (true, false) => Role::Required,
    };
    if in_keys {
        item.keys.push(member(
            name,
            role(in_image),
            typed("S", tag_role(role(in_image)), J::Str(value.into())),
        ));
        item.keys_plain
            .insert(name.into(), Value::String(value.into()));
    }
    if in_image {
        item.attributes.push(member(
            name,
            role(in_keys),
            typed("S", tag_role(role(in_keys)), J::Str(value.into())),
        ));
        item.plain.insert(name.into(), Value::String(value.into()));
    }
}

/// Where an item's keys are: in `Keys` (stream records), in the image, or both.
fn key_places(rng: &mut impl Rng, with_keys: bool) -> (bool, bool) {
    match with_keys {
        true => (true, rng.random_bool(0.7)),
        false => (false, true),
    }
}

/// A typed attribute that is a column's value: the value, or sometimes `NULL`.
fn column_attribute(
    rng: &mut impl Rng,
    item: &mut Item,
    name: &str,
    value: J,
    plain: Value,
) -> bool {
    let (value, plain, null) = match rng.random_ratio(1, 8) {
        true => (
            typed("NULL", Role::Ignored, J::Bool(true)),
            Value::Null,
            true,
        ),
        false => (value, plain, false),
    };
    item.attributes.push(member(name, Role::Read, value));
    item.plain.insert(name.into(), plain);
    !null
}

/// Attributes no column names, kept as plain JSON in `extra` (and `plain`).
fn unknown_attributes(
    rng: &mut impl Rng,
    item: &mut Item,
    taken: &[&str],
    extra: &mut Map<String, Value>,
) {
    for _ in 0..rng.random_range(0..4) {
        let used: Vec<String> = item.plain.keys().cloned().collect();
        let name = unknown_name(rng, taken, &used);
        let (j, v) = typed_any(rng, Role::Kept, 2);
        item.attributes.push(member(&name, Role::Kept, j));
        item.plain.insert(name.clone(), v.clone());
        extra.insert(name, v);
    }
}

fn extra_cell(extra: Map<String, Value>) -> Cell {
    match extra.is_empty() {
        true => Cell::Null,
        false => Cell::Json(Value::Object(extra)),
    }
}

const ORDER_NAMES: &[&str] = &[
    "PK",
    "SK",
    "orderId",
    "userId",
    "status",
    "totalAmount",
    "total_amount",
    "currency",
    "createdAt",
    "created_at",
    "updatedAt",
    "updated_at",
    "items",
    "email",
    "name",
    "country",
];

/// An order or a user of the shop.
fn shop_item(rng: &mut impl Rng, with_keys: bool) -> Item {
    let mut item = Item {
        attributes: Vec::new(),
        keys: Vec::new(),
        plain: Map::new(),
        keys_plain: Map::new(),
        table: "",
        cells: Vec::new(),
        time_ms: None,
        raw_fallback: false,
    };
    let user = nonempty_text(rng, 10);
    let (in_keys, in_image) = key_places(rng, with_keys);
    key_attribute(
        &mut item,
        "PK",
        &format!("USER#{user}"),
        in_keys,
        in_image,
        true,
    );
    let mut extra = Map::new();
    let created = time_ms(rng);
    let mut cells = vec![("user_id", text_cell(&user))];
    let order = rng.random_bool(0.6);
    if order {
        let order_id = nonempty_text(rng, 10);
        key_attribute(
            &mut item,
            "SK",
            &format!("ORDER#{order_id}"),
            in_keys,
            in_image,
            true,
        );
        cells.push(("order_id", text_cell(order_id)));
        for copy in ["orderId", "userId"] {
            if rng.random_bool(0.5) {
                let s = text(rng, 6);
                item.attributes.push(member(
                    copy,
                    Role::Ignored,
                    typed("S", Role::Ignored, J::Str(s.clone())),
                ));
                item.plain.insert(copy.into(), Value::String(s));
            }
        }
        for (column, name) in [("status", "status"), ("currency", "currency")] {
            let s = text(rng, 8);
            let spelled = any_case(rng, name);
            let value = typed("S", Role::Required, J::Str(s.clone()));
            let set = column_attribute(rng, &mut item, &spelled, value, Value::String(s.clone()));
            cells.push((column, if set { text_cell(s) } else { Cell::Null }));
        }
        let amount = unscaled(rng, 18);
        let text_amount = decimal_text(rng, amount, 4);
        let name = spell(rng, &["totalAmount", "total_amount"]);
        let plain =
            serde_json::from_str(&text_amount).unwrap_or(Value::String(text_amount.clone()));
        let value = typed("N", Role::Required, J::Str(text_amount));
        let set = column_attribute(rng, &mut item, &name, value, plain);
        cells.push((
            "total_amount",
            if set {
                Cell::Decimal(amount)
            } else {
                Cell::Null
            },
        ));
        let items = match rng.random_range(0..4) {
            0 => Cell::Null,
            _ => {
                let mut elements = Vec::new();
                let mut cells = Vec::new();
                for _ in 0..rng.random_range(0..4) {
                    let mut fields = Vec::new();
                    let mut field_cells = Vec::new();
                    let product = text(rng, 6);
                    let quantity = int_in(rng, i64::MIN, i64::MAX);
                    let price = unscaled(rng, 18);
                    let values = [
                        (
                            "productId",
                            typed("S", Role::Required, J::Str(product.clone())),
                            text_cell(product),
                        ),
                        (
                            "quantity",
                            typed(
                                "N",
                                Role::Required,
                                J::Str(decimal_text(rng, quantity.into(), 0)),
                            ),
                            Cell::Int(quantity),
                        ),
                        (
                            "price",
                            typed("N", Role::Required, J::Str(decimal_text(rng, price, 4))),
                            Cell::Decimal(price),
                        ),
                    ];
                    for (name, j, cell) in values {
                        if rng.random_ratio(1, 6) {
                            field_cells.push(Cell::Null);
                            continue;
                        }
                        let name = match name {
                            "productId" if rng.random_bool(0.3) => "product_id".to_string(),
                            other => any_case(rng, other),
                        };
                        fields.push(member(&name, Role::Read, j));
                        field_cells.push(cell);
                    }
                    fields.shuffle(rng);
                    elements.push(typed("M", Role::Read, J::Obj(fields)));
                    cells.push(Cell::Struct(field_cells));
                }
                item.attributes.push(member(
                    &any_case(rng, "items"),
                    Role::Read,
                    typed("L", Role::Required, J::Arr(elements)),
                ));
                Cell::List(cells)
            }
        };
        cells.push(("items", items));
        item.table = "order_changes";
    } else {
        key_attribute(&mut item, "SK", "PROFILE", in_keys, in_image, false);
        if in_image {
            // not a column of user_changes: kept with the other attributes
            extra.insert("SK".into(), Value::String("PROFILE".into()));
        }
        if rng.random_bool(0.5) {
            item.attributes.push(member(
                "userId",
                Role::Ignored,
                typed("S", Role::Ignored, J::Str(user.clone())),
            ));
        }
        for name in ["email", "name", "country"] {
            let s = text(rng, 8);
            let spelled = any_case(rng, name);
            let value = typed("S", Role::Required, J::Str(s.clone()));
            let set = column_attribute(rng, &mut item, &spelled, value, Value::String(s.clone()));
            cells.push((name, if set { text_cell(s) } else { Cell::Null }));
        }
        item.table = "user_changes";
    }
    let created_text = iso(rng, created);
    let name = spell(rng, &["createdAt", "created_at"]);
    item.attributes.push(member(
        &name,
        Role::Required,
        typed("S", Role::Required, J::Str(created_text.clone())),
    ));
    item.plain.insert(name, Value::String(created_text));
    cells.push(("created_at", Cell::Int(created)));
    let updated = match rng.random_bool(0.5) {
        true => {
            let ms = time_ms(rng);
            let t = iso(rng, ms);
            let name = spell(rng, &["updatedAt", "updated_at"]);
            let value = typed("S", Role::Required, J::Str(t.clone()));
            match column_attribute(rng, &mut item, &name, value, Value::String(t)) {
                true => Cell::Int(ms),
                false => Cell::Null,
            }
        }
        false => Cell::Null,
    };
    cells.push(("updated_at", updated));
    unknown_attributes(rng, &mut item, ORDER_NAMES, &mut extra);
    cells.push(("extra_attributes", extra_cell(extra)));
    item.attributes.shuffle(rng);
    item.cells = cells;
    item.time_ms = Some(created);
    item
}

/// `ms` as DynamoDB Streams (epoch seconds, fractions as exact decimals) or Kinesis (epoch
/// milliseconds or microseconds, with the precision field or by magnitude) send it.
fn creation_time(rng: &mut impl Rng, ms: i64, dynamodb: &mut Vec<Member>) {
    let name = "ApproximateCreationDateTime";
    let seconds_by_magnitude = ms.abs() < 100_000_000_000_000; // seconds below 1e11
    let millis_by_magnitude = (100_000_000_000..100_000_000_000_000).contains(&ms.abs());
    let precision = |dynamodb: &mut Vec<Member>, p: &str| {
        dynamodb.push(member(
            "ApproximateCreationDateTimePrecision",
            Role::Read,
            J::Str(p.into()),
        ))
    };
    match rng.random_range(0..4) {
        0 | 1 if seconds_by_magnitude => {
            let value = match ms % 1000 {
                0 if rng.random_bool(0.5) => num(ms / 1000),
                _ => {
                    let sign = if ms < 0 { "-" } else { "" };
                    let a = ms.unsigned_abs();
                    J::Num(format!("{sign}{}.{:03}", a / 1000, a % 1000))
                }
            };
            dynamodb.push(member(name, Role::Required, value));
        }
        2 if millis_by_magnitude => dynamodb.push(member(name, Role::Required, num(ms))),
        2 => {
            dynamodb.push(member(name, Role::Required, num(ms)));
            precision(dynamodb, "MILLISECOND");
        }
        _ => {
            // under half a millisecond more: rounds to `ms` (the double reading the
            // microseconds errs by at most 32 µs in this range)
            let micros = ms * 1000 + rng.random_range(0..400);
            dynamodb.push(member(name, Role::Required, num(micros)));
            precision(dynamodb, "MICROSECOND");
        }
    }
}

/// The change columns of a stream record's row, at the front as the tables have them.
fn change_cells(
    operation: &str,
    sequence: Option<&SequenceNumber>,
    change_ms: i64,
    event_id: Option<&str>,
) -> Vec<(&'static str, Cell)> {
    vec![
        ("operation", text_cell(operation)),
        (
            "sequence_number",
            sequence.map_or(Cell::Null, |s| text_cell(s.padded())),
        ),
        ("change_time", Cell::Int(change_ms)),
        ("event_id", event_id.map_or(Cell::Null, text_cell)),
    ]
}

/// Makes an item, with its keys in `Keys` (`true`) or in the image only.
type ItemOf = fn(&mut ChaCha8Rng, bool) -> Item;

/// A DynamoDB Streams record of an item `item_of` makes (with `Keys` or not), as GetRecords
/// delivers it or as Kinesis Data Streams for DynamoDB does.
fn stream_record(rng: &mut ChaCha8Rng, item_of: ItemOf) -> Valid {
    let with_keys = rng.random_ratio(7, 8);
    let item = item_of(rng, with_keys);
    let raw_table = item.time_ms.is_none();
    let event_id = nonempty_text(rng, 20);
    let operation = *["INSERT", "MODIFY", "REMOVE"]
        .choose(rng)
        .expect("operations");
    let kinesis = rng.random_bool(0.5);
    let origin = origin(
        if kinesis {
            "kinesis"
        } else {
            "dynamodb-stream"
        },
        rng.random(),
        rng.random_bool(0.7).then(|| time_ms(rng)),
    );
    let mut top = vec![
        member("eventID", Role::Required, J::Str(event_id.clone())),
        member("eventName", Role::Required, J::Str(operation.into())),
        member("eventSource", Role::Ignored, J::Str("aws:dynamodb".into())),
        member("awsRegion", Role::Ignored, J::Str("eu-west-1".into())),
    ];
    let change_ms = time_ms(rng);
    let mut dynamodb = Vec::new();
    creation_time(rng, change_ms, &mut dynamodb);
    let sequence_text = match !kinesis || rng.random_ratio(1, 5) {
        true => {
            let digits: String = (0..rng.random_range(1..=40))
                .map(|_| rng.random_range('0'..='9'))
                .collect();
            Some(digits)
        }
        false => None,
    };
    if kinesis {
        let role = if sequence_text.is_some() {
            Role::Read
        } else {
            Role::Required
        };
        top.push(member("tableName", role, J::Str(nonempty_text(rng, 10))));
        top.push(member(
            "recordFormat",
            Role::Ignored,
            J::Str("application/json".into()),
        ));
        top.push(member("userIdentity", Role::Ignored, J::Null));
    } else {
        top.push(member("eventVersion", Role::Ignored, J::Str("1.1".into())));
    }
    let sequence = match &sequence_text {
        Some(digits) => {
            // Kinesis Data Streams for DynamoDB may leave it out: the tableName says so
            let role = if kinesis { Role::Read } else { Role::Required };
            dynamodb.push(member("SequenceNumber", role, J::Str(digits.clone())));
            SequenceNumber::parse(digits).expect("digits")
        }
        None => origin.sequence.clone(),
    };
    let keys_role = match item.raw_fallback || item.attributes.iter().any(|m| m.key == "PK") {
        true => Role::Read,
        false => Role::Required,
    };
    let image = J::Obj(item.attributes.clone());
    if with_keys {
        dynamodb.push(member("Keys", keys_role, J::Obj(item.keys.clone())));
    }
    let other = if raw_table { Role::Kept } else { Role::Ignored };
    // the plain JSON of the new and the old image, for the raw table
    let (new, old) = match operation {
        "REMOVE" => {
            dynamodb.push(member("OldImage", Role::Required, image));
            (None, Some(item.plain.clone()))
        }
        "MODIFY" if rng.random_bool(0.7) => {
            // the raw table keeps the old image whole: one of its own, so its plain JSON is known
            let old_item = loop {
                let old = item_of(rng, with_keys);
                if !raw_table || old.time_ms.is_none() {
                    break old;
                }
            };
            dynamodb.push(member("NewImage", Role::Required, image));
            let mut old_image = member("OldImage", other, J::Obj(old_item.attributes));
            set_role(&mut old_image, other);
            dynamodb.push(old_image);
            (Some(item.plain.clone()), Some(old_item.plain))
        }
        _ => {
            dynamodb.push(member("NewImage", Role::Required, image));
            (Some(item.plain.clone()), None)
        }
    };
    let view = *["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE"]
        .choose(rng)
        .expect("views");
    dynamodb.push(member("StreamViewType", Role::Read, J::Str(view.into())));
    dynamodb.push(member(
        "SizeBytes",
        Role::Ignored,
        num(rng.random_range(1..400_000)),
    ));
    dynamodb.shuffle(rng);
    top.push(member("dynamodb", Role::Required, J::Obj(dynamodb)));
    top.shuffle(rng);
    let mut cells = change_cells(operation, Some(&sequence), change_ms, Some(&event_id));
    if raw_table {
        let plain =
            |m: Option<Map<String, Value>>| m.map_or(Cell::Null, |m| Cell::Json(Value::Object(m)));
        cells.push((
            "keys",
            match with_keys {
                true => Cell::Json(Value::Object(item.keys_plain.clone())),
                false => Cell::Null,
            },
        ));
        cells.push(("new_image", plain(new)));
        cells.push(("old_image", plain(old)));
    } else {
        cells.extend(item.cells.iter().cloned());
    }
    cells.extend(ingest_cells(&origin));
    let tree = J::Obj(top);
    Valid {
        raw: tree.to_bytes(rng),
        tree,
        format: Format::DynamodbStream,
        origin,
        export_time_ms: 0,
        row: Row {
            table: item.table,
            cells,
            partition: partition_of(item.time_ms.unwrap_or(change_ms)),
        },
        event_id: Some(event_id),
    }
}

/// A line of a DynamoDB export (`{"Item": {...}}`) of an item `item_of` makes.
fn export_line(rng: &mut ChaCha8Rng, item_of: ItemOf) -> Valid {
    let item = item_of(rng, false);
    let export_ms = time_ms(rng);
    let mut top = vec![member("Item", Role::Required, J::Obj(item.attributes))];
    if rng.random_ratio(1, 8) {
        top.push(member(
            "Metadata",
            Role::Ignored,
            j_of(&json_any(rng, 2), Role::Ignored),
        ));
    }
    top.shuffle(rng);
    let origin = origin("file", rng.random_range(1..1_000_000), None);
    let mut cells = change_cells("SNAPSHOT", None, export_ms, None);
    match item.time_ms {
        Some(_) => cells.extend(item.cells),
        None => {
            cells.push(("keys", Cell::Null));
            cells.push(("new_image", Cell::Json(Value::Object(item.plain))));
            cells.push(("old_image", Cell::Null));
        }
    }
    cells.extend(ingest_cells(&origin));
    let tree = J::Obj(top);
    Valid {
        raw: tree.to_bytes(rng),
        tree,
        format: Format::DynamodbExport,
        origin,
        export_time_ms: export_ms,
        row: Row {
            table: item.table,
            cells,
            partition: partition_of(item.time_ms.unwrap_or(export_ms)),
        },
        event_id: None,
    }
}

// ---------------------------------------------------------------------------------------------
// A schema of every column type, for the schema-driven decoder

/// Every column type, in a JSON table and a DynamoDB table; records no rule takes land in
/// the raw tables.
const EVERY_TYPE: &str = r#"
version = 1
unmatched = "raw"

[[tables]]
name = "telemetry"
source = "json"
match = [{ field = "kind", equals = "metric" }]
time = "ts"
rest = "extra"
columns = [
  { name = "kind", type = "string" },
  { name = "ts", type = "timestamp", from = "timestamp", unit = "milliseconds" },
  { name = "session_id", type = "string", required = true },
  { name = "device_os", type = "string", from = "device.os.name" },
  { name = "latency", type = "double", from = "metrics.latencyMs" },
  COLUMNS
]

[[tables]]
name = "things"
source = "dynamodb"
match = [{ attribute = "SK", begins_with = "THING#" }]
time = "opened_at"
rest = "extra"
columns = [
  { name = "owner", type = "string", from = "PK", strip_prefix = "OWNER#" },
  { name = "thing", type = "string", from = "SK", strip_prefix = "THING#" },
  { name = "opened_at", type = "timestamp", unit = "seconds" },
  { name = "city", type = "string", from = "address.city" },
  COLUMNS
]
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Tiny,
    Small,
    Int,
    Big,
    Float,
    Double,
    Dec10,
    Dec38,
    Date,
    Iso,
    Millis,
    Micros,
    Seconds,
    Binary,
    Tags,
    Scores,
    Attrs,
    Agent,
}

/// The columns both tables have: (name, the member it is read from, type).
const COLUMNS: &[(&str, &str, Ty, &str)] = &[
    ("flag", "flag", Ty::Bool, r#"type = "boolean""#),
    ("tiny", "tiny", Ty::Tiny, r#"type = "tinyint""#),
    ("small", "small", Ty::Small, r#"type = "smallint""#),
    ("count", "count", Ty::Int, r#"type = "int""#),
    ("big", "big", Ty::Big, r#"type = "bigint""#),
    ("ratio", "ratio", Ty::Float, r#"type = "float""#),
    ("score", "score", Ty::Double, r#"type = "double""#),
    ("price", "price", Ty::Dec10, r#"type = "decimal(10,2)""#),
    ("wide", "wide", Ty::Dec38, r#"type = "decimal(38,6)""#),
    ("first_day", "firstDay", Ty::Date, r#"type = "date""#),
    ("seen_at", "seenAt", Ty::Iso, r#"type = "timestamp""#),
    (
        "at_ms",
        "atMs",
        Ty::Millis,
        r#"type = "timestamp", unit = "milliseconds""#,
    ),
    (
        "at_us",
        "atUs",
        Ty::Micros,
        r#"type = "timestamp", unit = "microseconds""#,
    ),
    (
        "at_s",
        "atS",
        Ty::Seconds,
        r#"type = "timestamp", unit = "seconds""#,
    ),
    ("blob", "blob", Ty::Binary, r#"type = "binary""#),
    ("tags", "tags", Ty::Tags, r#"type = "array<string>""#),
    ("scores", "scores", Ty::Scores, r#"type = "array<bigint>""#),
    (
        "attrs",
        "attrs",
        Ty::Attrs,
        r#"type = "map<string,bigint>""#,
    ),
    (
        "agent",
        "agent",
        Ty::Agent,
        r#"type = "struct<name:string,level:tinyint,seen:array<date>>""#,
    ),
];

fn every_type_schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<&Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut columns = String::new();
        for (name, _, _, ty) in COLUMNS {
            let _ = writeln!(columns, "  {{ name = \"{name}\", {ty} }},");
        }
        let text = EVERY_TYPE.replace("  COLUMNS\n", &columns);
        Schema::parse(&text, "properties.rs")
            .unwrap_or_else(|e| panic!("the schema of every type: {e}"))
            .leak()
    })
}

/// The names a column of [`COLUMNS`] (and the others) is found by, for unknown members.
fn every_type_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COLUMNS.iter().flat_map(|(n, m, _, _)| [*n, *m]).collect();
    names.extend([
        "kind",
        "timestamp",
        "ts",
        "session_id",
        "sessionId",
        "device",
        "metrics",
        "PK",
        "SK",
        "owner",
        "thing",
        "opened_at",
        "openedAt",
        "address",
        "city",
        "latency",
    ]);
    names
}

/// Days since 1970-01-01 of a date in years 1000 to 9999, and its text.
fn date(rng: &mut impl Rng) -> (i64, String) {
    let days = time_ms(rng).div_euclid(86_400_000);
    let d = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::days(days)))
        .expect("a date in range");
    (days, d.format("%Y-%m-%d").to_string())
}

/// A whole number in `min..=max` as JSON (sometimes as a double's text), and its cell.
fn whole(rng: &mut impl Rng, min: i64, max: i64) -> (J, Cell) {
    let v = int_in(rng, min, max);
    let j = match rng.random_range(0..5) {
        // exact below 2^53 since serde_json reads with `float_roundtrip` (a finding reported
        // with issue 15: -7533255865878697.0 became -7533255865878698)
        0 if v.unsigned_abs() < 1 << 53 => J::Num(format!("{v}.0")),
        1 if v.unsigned_abs() < 1 << 53 => J::Num(format!("{v}e0")),
        _ => num(v),
    };
    (j, Cell::Int(v))
}

/// A whole number in `min..=max` as a typed `N`, and its cell.
fn n_whole(rng: &mut impl Rng, min: i64, max: i64) -> (J, Cell) {
    let v = int_in(rng, min, max);
    let text = decimal_text(rng, v.into(), 0);
    (typed("N", Role::Required, J::Str(text)), Cell::Int(v))
}

/// A JSON value of type `ty`, the cell it must become, its role, and what a rest column keeps
/// of it (the members of a struct no field names).
fn json_value(rng: &mut impl Rng, ty: Ty) -> (J, Cell, Role, Map<String, Value>) {
    let mut kept = Map::new();
    let (j, cell, role) = match ty {
        Ty::Bool => {
            let b: bool = rng.random();
            (J::Bool(b), Cell::Bool(b), Role::Read)
        }
        Ty::Tiny | Ty::Small | Ty::Int | Ty::Big => {
            let (min, max) = match ty {
                Ty::Tiny => (i8::MIN.into(), i8::MAX.into()),
                Ty::Small => (i16::MIN.into(), i16::MAX.into()),
                Ty::Int => (i32::MIN.into(), i32::MAX.into()),
                _ => (i64::MIN, i64::MAX),
            };
            let (j, cell) = whole(rng, min, max);
            (j, cell, Role::Read)
        }
        Ty::Float => loop {
            let (text, read) = double_json(rng);
            if read.abs() < 3e38 {
                break (J::Num(text), float32(read), Role::Read);
            }
        },
        Ty::Double => {
            let (text, read) = double_json(rng);
            (J::Num(text), float(read), Role::Read)
        }
        Ty::Dec10 | Ty::Dec38 => {
            let (precision, scale) = if ty == Ty::Dec10 { (10, 2) } else { (38, 6) };
            let v = unscaled(rng, precision);
            let text = decimal_text(rng, v, scale);
            // as text too, escapes and all (`"1\u002e5"` was refused once: a finding
            // reported with issue 15)
            let j = if rng.random_bool(0.3) {
                J::Str(text)
            } else {
                J::Num(text)
            };
            (j, Cell::Decimal(v), Role::Lenient)
        }
        Ty::Date => match rng.random_bool(0.8) {
            true => {
                let (days, text) = date(rng);
                (J::Str(text), Cell::Int(days), Role::Read)
            }
            false => {
                let ms = time_ms(rng);
                (
                    J::Str(iso(rng, ms)),
                    Cell::Int(ms.div_euclid(86_400_000)),
                    Role::Read,
                )
            }
        },
        Ty::Iso => {
            let ms = time_ms(rng);
            (J::Str(iso(rng, ms)), Cell::Int(ms), Role::Read)
        }
        Ty::Millis | Ty::Micros | Ty::Seconds => {
            let ms = time_ms(rng);
            let j = match (rng.random_range(0..4), ty) {
                (0, _) => J::Str(iso(rng, ms)),
                (_, Ty::Millis) => num(ms),
                (_, Ty::Micros) => num(ms * 1000 + rng.random_range(0..500)),
                (1, _) => {
                    let sign = if ms < 0 { "-" } else { "" };
                    let a = ms.unsigned_abs();
                    J::Num(format!("{sign}{}.{:03}", a / 1000, a % 1000))
                }
                _ => {
                    let s = ms.div_euclid(1000);
                    return (num(s), Cell::Int(s * 1000), Role::Lenient, kept);
                }
            };
            (j, Cell::Int(ms), Role::Lenient)
        }
        Ty::Binary => {
            let b = bytes(rng, 16);
            (J::Str(base64(&b)), Cell::Bytes(b), Role::Read)
        }
        Ty::Tags | Ty::Scores => {
            let (js, cells): (Vec<J>, Vec<Cell>) = (0..rng.random_range(0..5))
                .map(|_| match (rng.random_ratio(1, 8), ty) {
                    (true, _) => (J::Null, Cell::Null),
                    (false, Ty::Tags) => {
                        let s = text(rng, 6);
                        (J::Str(s.clone()), text_cell(s))
                    }
                    (false, _) => whole(rng, i64::MIN, i64::MAX),
                })
                .unzip();
            (J::Arr(js), Cell::List(cells), Role::Read)
        }
        Ty::Attrs => {
            let mut members = Vec::new();
            let mut entries = Vec::new();
            for _ in 0..rng.random_range(0..5) {
                let key = text(rng, 6);
                if members.iter().any(|m: &Member| m.key == key) {
                    continue;
                }
                let (j, cell) = match rng.random_ratio(1, 8) {
                    true => (J::Null, Cell::Null),
                    false => whole(rng, i64::MIN, i64::MAX),
                };
                members.push(member(&key, Role::Read, j));
                entries.push((text_cell(key), cell));
            }
            (J::Obj(members), Cell::Map(entries), Role::Read)
        }
        Ty::Agent => {
            let mut members = Vec::new();
            let name = text(rng, 6);
            let level = int_in(rng, i8::MIN.into(), i8::MAX.into());
            let (seen_js, seen_cells): (Vec<J>, Vec<Cell>) = (0..rng.random_range(0..3))
                .map(|_| {
                    let (days, text) = date(rng);
                    (J::Str(text), Cell::Int(days))
                })
                .unzip();
            let fields = [
                ("name", J::Str(name.clone()), text_cell(name)),
                ("level", num(level), Cell::Int(level)),
                ("seen", J::Arr(seen_js), Cell::List(seen_cells)),
            ];
            let mut cells = Vec::new();
            for (field, j, cell) in fields {
                match rng.random_ratio(1, 5) {
                    true => cells.push(Cell::Null),
                    false => {
                        members.push(member(&any_case(rng, field), Role::Read, j));
                        cells.push(cell);
                    }
                }
            }
            for _ in 0..rng.random_range(0..3) {
                let used: Vec<String> = kept.keys().cloned().collect();
                let key = unknown_name(rng, &["name", "level", "seen"], &used);
                let value = json_any(rng, 1);
                members.push(member(&key, Role::Kept, j_of(&value, Role::Kept)));
                kept.insert(key, value);
            }
            members.shuffle(rng);
            (J::Obj(members), Cell::Struct(cells), Role::Read)
        }
    };
    (j, cell, role, kept)
}

/// A typed value of type `ty` (in a column's attribute), the cell it must become, and what a
/// rest column keeps of it.
fn typed_value(rng: &mut impl Rng, ty: Ty) -> (J, Cell, Map<String, Value>) {
    let r = Role::Required; // a typed value's tag, in a column's attribute
    let mut kept = Map::new();
    let (j, cell) = match ty {
        Ty::Bool => {
            let b: bool = rng.random();
            (typed("BOOL", r, J::Bool(b)), Cell::Bool(b))
        }
        Ty::Tiny => n_whole(rng, i8::MIN.into(), i8::MAX.into()),
        Ty::Small => n_whole(rng, i16::MIN.into(), i16::MAX.into()),
        Ty::Int => n_whole(rng, i32::MIN.into(), i32::MAX.into()),
        Ty::Big => n_whole(rng, i64::MIN, i64::MAX),
        Ty::Float | Ty::Double => {
            let v = loop {
                let v = double(rng);
                if ty == Ty::Double || v.abs() < 3e38 {
                    break v;
                }
            };
            let text = match rng.random_bool(0.5) {
                true => format!("{v}"),
                false => format!("{v:e}"),
            };
            let read: f64 = text.parse().expect("Rust reads its own doubles");
            let cell = if ty == Ty::Float {
                float32(read)
            } else {
                float(read)
            };
            (typed("N", r, J::Str(text)), cell)
        }
        Ty::Dec10 | Ty::Dec38 => {
            let (precision, scale) = if ty == Ty::Dec10 { (10, 2) } else { (38, 6) };
            let v = unscaled(rng, precision);
            (
                typed("N", r, J::Str(decimal_text(rng, v, scale))),
                Cell::Decimal(v),
            )
        }
        Ty::Date => {
            let (days, text) = date(rng);
            (typed("S", r, J::Str(text)), Cell::Int(days))
        }
        Ty::Iso => {
            let ms = time_ms(rng);
            (typed("S", r, J::Str(iso(rng, ms))), Cell::Int(ms))
        }
        Ty::Millis | Ty::Micros | Ty::Seconds => {
            let ms = time_ms(rng);
            let text = match (rng.random_range(0..4), ty) {
                (0, _) => {
                    return (typed("S", r, J::Str(iso(rng, ms))), Cell::Int(ms), kept);
                }
                (_, Ty::Millis) => ms.to_string(),
                (_, Ty::Micros) => (ms * 1000 + rng.random_range(0..500)).to_string(),
                (1, _) => {
                    let sign = if ms < 0 { "-" } else { "" };
                    let a = ms.unsigned_abs();
                    format!("{sign}{}.{:03}", a / 1000, a % 1000)
                }
                _ => {
                    let s = ms.div_euclid(1000);
                    return (
                        typed("N", r, J::Str(s.to_string())),
                        Cell::Int(s * 1000),
                        kept,
                    );
                }
            };
            (typed("N", r, J::Str(text)), Cell::Int(ms))
        }
        Ty::Binary => {
            let b = bytes(rng, 16);
            (typed("B", r, J::Str(base64(&b))), Cell::Bytes(b))
        }
        Ty::Tags | Ty::Scores => {
            let n = rng.random_range(0..5);
            let set = rng.random_bool(0.4);
            let mut js = Vec::new();
            let mut cells = Vec::new();
            for _ in 0..n {
                if !set && rng.random_ratio(1, 8) {
                    js.push(typed("NULL", Role::Ignored, J::Bool(true)));
                    cells.push(Cell::Null);
                    continue;
                }
                let (text, cell) = match ty {
                    Ty::Tags => {
                        let s = text(rng, 6);
                        (s.clone(), text_cell(s))
                    }
                    _ => {
                        let v = int_in(rng, i64::MIN, i64::MAX);
                        (decimal_text(rng, v.into(), 0), Cell::Int(v))
                    }
                };
                let tag = if ty == Ty::Tags { "S" } else { "N" };
                js.push(match set {
                    true => J::Str(text),
                    false => typed(tag, r, J::Str(text)),
                });
                cells.push(cell);
            }
            let tag = match (set, ty) {
                (true, Ty::Tags) => "SS",
                (true, _) => "NS",
                (false, _) => "L",
            };
            (typed(tag, r, J::Arr(js)), Cell::List(cells))
        }
        Ty::Attrs => {
            let mut members = Vec::new();
            let mut entries = Vec::new();
            for _ in 0..rng.random_range(0..5) {
                let key = text(rng, 6);
                if members.iter().any(|m: &Member| m.key == key) {
                    continue;
                }
                let (j, cell) = n_whole(rng, i64::MIN, i64::MAX);
                members.push(member(&key, Role::Read, j));
                entries.push((text_cell(key), cell));
            }
            (typed("M", r, J::Obj(members)), Cell::Map(entries))
        }
        Ty::Agent => {
            let mut members = Vec::new();
            let name = text(rng, 6);
            let level = int_in(rng, i8::MIN.into(), i8::MAX.into());
            let (seen_js, seen_cells): (Vec<J>, Vec<Cell>) = (0..rng.random_range(0..3))
                .map(|_| {
                    let (days, text) = date(rng);
                    (typed("S", r, J::Str(text)), Cell::Int(days))
                })
                .unzip();
            let fields = [
                ("name", typed("S", r, J::Str(name.clone())), text_cell(name)),
                (
                    "level",
                    typed("N", r, J::Str(decimal_text(rng, level.into(), 0))),
                    Cell::Int(level),
                ),
                (
                    "seen",
                    typed("L", r, J::Arr(seen_js)),
                    Cell::List(seen_cells),
                ),
            ];
            let mut cells = Vec::new();
            for (field, j, cell) in fields {
                match rng.random_ratio(1, 5) {
                    true => cells.push(Cell::Null),
                    false => {
                        members.push(member(&any_case(rng, field), Role::Read, j));
                        cells.push(cell);
                    }
                }
            }
            for _ in 0..rng.random_range(0..3) {
                let used: Vec<String> = kept.keys().cloned().collect();
                let key = unknown_name(rng, &["name", "level", "seen"], &used);
                let (j, v) = typed_any(rng, Role::Kept, 1);
                members.push(member(&key, Role::Kept, j));
                kept.insert(key, v);
            }
            members.shuffle(rng);
            (typed("M", r, J::Obj(members)), Cell::Struct(cells))
        }
    };
    (j, cell, kept)
}

/// `role` for a member and everything in its value.
fn set_role(m: &mut Member, role: Role) {
    fn inside(j: &mut J, role: Role) {
        match j {
            J::Arr(items) => items.iter_mut().for_each(|item| inside(item, role)),
            J::Obj(members) => members.iter_mut().for_each(|m| set_role(m, role)),
            _ => {}
        }
    }
    m.role = role;
    inside(&mut m.value, role);
}

/// An item of `things` (or, sometimes, one no rule takes, for `dynamodb_raw`).
fn thing(rng: &mut ChaCha8Rng, with_keys: bool) -> Item {
    let mut item = Item {
        attributes: Vec::new(),
        keys: Vec::new(),
        plain: Map::new(),
        keys_plain: Map::new(),
        table: "things",
        cells: Vec::new(),
        time_ms: None,
        raw_fallback: true,
    };
    let (in_keys, in_image) = key_places(rng, with_keys);
    let owner = nonempty_text(rng, 8);
    key_attribute(
        &mut item,
        "PK",
        &format!("OWNER#{owner}"),
        in_keys,
        in_image,
        true,
    );
    if rng.random_ratio(1, 6) {
        // no table's rule takes it: the raw table keeps every attribute as plain JSON
        item.table = "dynamodb_raw";
        key_attribute(
            &mut item,
            "SK",
            &format!("NOTE#{}", text(rng, 6)),
            in_keys,
            in_image,
            false,
        );
        let mut all = Map::new();
        unknown_attributes(rng, &mut item, &["PK", "SK"], &mut all);
        for m in item.attributes.iter_mut().chain(item.keys.iter_mut()) {
            set_role(m, Role::Kept);
        }
        item.attributes.shuffle(rng);
        return item;
    }
    // the rule reads SK: a broken SK sends the record to the raw table, a row all the same
    let thing = nonempty_text(rng, 8);
    key_attribute(
        &mut item,
        "SK",
        &format!("THING#{thing}"),
        in_keys,
        in_image,
        true,
    );
    for m in item.attributes.iter_mut().chain(item.keys.iter_mut()) {
        if m.key == "SK" {
            set_role(m, Role::Ignored);
        }
    }
    let mut extra = Map::new();
    let opened = time_ms(rng);
    let opened_text = match rng.random_range(0..3) {
        0 => typed("S", Role::Required, J::Str(iso(rng, opened))),
        _ => {
            let sign = if opened < 0 { "-" } else { "" };
            let a = opened.unsigned_abs();
            typed(
                "N",
                Role::Required,
                J::Str(format!("{sign}{}.{:03}", a / 1000, a % 1000)),
            )
        }
    };
    let name = spell(rng, &["openedAt", "opened_at"]);
    item.attributes
        .push(member(&name, Role::Required, opened_text));
    let mut cells = vec![
        ("owner", text_cell(owner)),
        ("thing", text_cell(thing)),
        ("opened_at", Cell::Int(opened)),
    ];
    let city = match rng.random_range(0..4) {
        0 => Cell::Null,
        _ => {
            let mut address = Vec::new();
            let mut kept = Map::new();
            let city = match rng.random_bool(0.8) {
                true => {
                    let c = text(rng, 8);
                    address.push(member(
                        "city",
                        Role::Read,
                        typed("S", Role::Required, J::Str(c.clone())),
                    ));
                    text_cell(c)
                }
                false => Cell::Null,
            };
            if rng.random_bool(0.5) {
                let (j, v) = typed_any(rng, Role::Kept, 1);
                address.push(member("zip", Role::Kept, j));
                kept.insert("zip".into(), v);
            }
            address.shuffle(rng);
            if !kept.is_empty() {
                extra.insert("address".into(), Value::Object(kept));
            }
            item.attributes.push(member(
                "address",
                Role::Read,
                typed("M", Role::Required, J::Obj(address)),
            ));
            city
        }
    };
    cells.push(("city", city));
    for &(column, name, ty, _) in COLUMNS {
        if rng.random_ratio(1, 4) {
            cells.push((column, Cell::Null));
            continue;
        }
        let name = any_case(rng, name);
        let (j, cell) = match rng.random_ratio(1, 8) {
            true => (typed("NULL", Role::Ignored, J::Bool(true)), Cell::Null),
            false => {
                let (j, cell, kept) = typed_value(rng, ty);
                if !kept.is_empty() {
                    extra.insert(name.clone(), Value::Object(kept));
                }
                (j, cell)
            }
        };
        item.attributes.push(member(&name, Role::Read, j));
        cells.push((column, cell));
    }
    unknown_attributes(rng, &mut item, &every_type_names(), &mut extra);
    cells.push(("extra", extra_cell(extra)));
    item.attributes.shuffle(rng);
    item.cells = cells;
    item.time_ms = Some(opened);
    item
}

/// A document of `telemetry` (or, sometimes, one no rule takes, for `json_raw`).
fn telemetry(rng: &mut ChaCha8Rng) -> Valid {
    let origin = origin("kinesis", rng.random(), Some(time_ms(rng)));
    let mut members = Vec::new();
    if rng.random_ratio(1, 6) {
        // no rule takes it: the raw table keeps the text
        if rng.random_bool(0.5) {
            let kind = text(rng, 6).replace("metric", "");
            members.push(member("kind", Role::Ignored, J::Str(kind)));
        }
        for _ in 0..rng.random_range(0..5) {
            let value = json_any(rng, 3);
            // kept as text, checked only to be JSON: nothing in it is read
            let name = unknown_name(rng, &["kind"], &[]);
            members.push(member(&name, Role::Ignored, j_of(&value, Role::Ignored)));
        }
        let tree = J::Obj(members);
        let raw = tree.to_bytes(rng);
        let document = std::str::from_utf8(&raw)
            .expect("written as UTF-8")
            .trim()
            .to_string();
        let mut cells = vec![
            ("document", text_cell(document)),
            (
                "arrival_time",
                Cell::Int(origin.arrival_time_ms.expect("set")),
            ),
        ];
        cells.extend(ingest_cells(&origin));
        return Valid {
            raw,
            tree,
            format: Format::Events,
            row: Row {
                table: "json_raw",
                cells,
                partition: partition_of(origin.arrival_time_ms.expect("set")),
            },
            origin,
            export_time_ms: 0,
            event_id: None,
        };
    }
    let ms = time_ms(rng);
    let session = nonempty_text(rng, 8);
    // the rule reads kind: another kind sends the record to the raw table, a row all the same
    members.push(member("kind", Role::Ignored, J::Str("metric".into())));
    members.push(member("timestamp", Role::Required, num(ms)));
    members.push(member(
        &spell(rng, &["sessionId", "session_id"]),
        Role::Required,
        J::Str(session.clone()),
    ));
    let mut extra = Map::new();
    let mut cells = vec![
        ("kind", text_cell("metric")),
        ("ts", Cell::Int(ms)),
        ("session_id", text_cell(session)),
    ];
    // device.os.name, with members beside it kept under their path
    let device_os = match rng.random_range(0..4) {
        0 => Cell::Null,
        _ => {
            let mut os = Vec::new();
            let mut device = Vec::new();
            let mut kept_os = Map::new();
            let mut kept_device = Map::new();
            let name = match rng.random_bool(0.8) {
                true => {
                    let n = text(rng, 6);
                    os.push(member("name", Role::Read, J::Str(n.clone())));
                    text_cell(n)
                }
                false => Cell::Null,
            };
            if rng.random_bool(0.5) {
                let v = json_any(rng, 1);
                os.push(member("version", Role::Kept, j_of(&v, Role::Kept)));
                kept_os.insert("version".into(), v);
            }
            os.shuffle(rng);
            device.push(member("os", Role::Read, J::Obj(os)));
            if !kept_os.is_empty() {
                kept_device.insert("os".into(), Value::Object(kept_os));
            }
            if rng.random_bool(0.5) {
                let v = json_any(rng, 1);
                device.push(member("model", Role::Kept, j_of(&v, Role::Kept)));
                kept_device.insert("model".into(), v);
            }
            device.shuffle(rng);
            members.push(member("device", Role::Read, J::Obj(device)));
            if !kept_device.is_empty() {
                extra.insert("device".into(), Value::Object(kept_device));
            }
            name
        }
    };
    cells.push(("device_os", device_os));
    let latency = match rng.random_range(0..4) {
        0 => Cell::Null,
        _ => {
            let (text, read) = double_json(rng);
            let m = vec![member("latencyMs", Role::Read, J::Num(text))];
            members.push(member("metrics", Role::Read, J::Obj(m)));
            float(read)
        }
    };
    cells.push(("latency", latency));
    for &(column, name, ty, _) in COLUMNS {
        if rng.random_ratio(1, 4) {
            cells.push((column, Cell::Null));
            continue;
        }
        let (j, cell, role, kept) = json_value(rng, ty);
        let name = any_case(rng, name);
        let (j, cell) = match rng.random_ratio(1, 10) {
            true => (J::Null, Cell::Null),
            false => {
                if !kept.is_empty() {
                    extra.insert(name.clone(), Value::Object(kept));
                }
                (j, cell)
            }
        };
        members.push(member(&name, role, j));
        cells.push((column, cell));
    }
    for _ in 0..rng.random_range(0..3) {
        let used: Vec<String> = extra.keys().cloned().collect();
        let key = unknown_name(rng, &every_type_names(), &used);
        let value = json_any(rng, 2);
        members.push(member(&key, Role::Kept, j_of(&value, Role::Kept)));
        extra.insert(key, value);
    }
    cells.push(("extra", extra_cell(extra)));
    cells.extend(ingest_cells(&origin));
    members.shuffle(rng);
    let tree = J::Obj(members);
    Valid {
        raw: tree.to_bytes(rng),
        tree,
        format: Format::Events,
        row: Row {
            table: "telemetry",
            cells,
            partition: partition_of(ms),
        },
        origin,
        export_time_ms: 0,
        event_id: None,
    }
}

/// `name`'s member of `object` (any ASCII case) replaced by `value`, or added.
fn set_member(object: &mut J, name: &str, role: Role, value: J) {
    let J::Obj(members) = object else {
        unreachable!("records are objects")
    };
    members.retain(|m| !m.key.eq_ignore_ascii_case(name));
    members.push(member(name, role, value));
}

/// One of `options`, written as it is.
fn pick(rng: &mut impl Rng, options: &[&str]) -> J {
    J::Raw(options.choose(rng).expect("values").as_bytes().to_vec())
}

/// A value out of range (or of the wrong type) for a JSON column of `ty`, and whether the
/// reason must name the column (serde_json refuses some numbers before a column sees them).
fn json_out_of_range(rng: &mut impl Rng, ty: Ty) -> (J, bool) {
    match ty {
        Ty::Bool => (pick(rng, &["\"true\"", "1", "[true]"]), true),
        Ty::Tiny => (pick(rng, &["128", "-129", "1.5", "300"]), true),
        Ty::Small => (pick(rng, &["32768", "-32769", "0.5"]), true),
        Ty::Int => (pick(rng, &["2147483648", "-2147483649", "1e10"]), true),
        Ty::Big => (
            pick(
                rng,
                &[
                    "9223372036854775808",
                    "18446744073709551615",
                    "1e16",
                    "-1e19",
                    "2.5",
                ],
            ),
            true,
        ),
        // a float out of a float's range must not become an infinity
        Ty::Float => (pick(rng, &["\"1.5\"", "true"]), true),
        Ty::Double => match rng.random_bool(0.5) {
            true => (pick(rng, &["1e400", "-1e309"]), false),
            false => (pick(rng, &["\"1.5\"", "{}"]), true),
        },
        Ty::Dec10 => (
            pick(
                rng,
                &[
                    "1.234",
                    "12345678901",
                    "\"123456789.001\"",
                    "1e2147483647",
                    "1e-2147483648",
                    "\"abc\"",
                    "\"\"",
                ],
            ),
            true,
        ),
        Ty::Dec38 => (
            pick(
                rng,
                &[
                    "123456789012345678901234567890123",
                    "0.0000001",
                    "\"1e33\"",
                    "true",
                ],
            ),
            true,
        ),
        Ty::Date => (
            pick(
                rng,
                &["\"2026-02-30\"", "\"yesterday\"", "\"\"", "20260105"],
            ),
            true,
        ),
        Ty::Iso => (
            pick(rng, &["\"2026-13-01T00:00:00Z\"", "1767607200", "\"soon\""]),
            true,
        ),
        Ty::Millis | Ty::Micros => (pick(rng, &["1e300", "-1e300", "\"soon\"", "\"\""]), true),
        Ty::Seconds => (
            pick(
                rng,
                &["9223372036854775807", "-9223372036854776", "1e300", "\"x\""],
            ),
            true,
        ),
        Ty::Binary => (pick(rng, &["\"not base64!\"", "\"QQ\"", "12"]), true),
        Ty::Tags => (pick(rng, &["[1]", "[\"a\", true]", "\"a\""]), true),
        Ty::Scores => (
            pick(rng, &["[\"1\"]", "[1.5]", "[9223372036854775808]"]),
            true,
        ),
        Ty::Attrs => (pick(rng, &["{\"k\": \"1\"}", "{\"k\": 1.5}", "[]"]), true),
        Ty::Agent => (
            pick(
                rng,
                &["{\"level\": 300}", "{\"seen\": [\"x\"]}", "{\"name\": 1}"],
            ),
            true,
        ),
    }
}

/// A typed value out of range (or of the wrong type) for a DynamoDB column of `ty`.
fn typed_out_of_range(rng: &mut impl Rng, ty: Ty) -> J {
    let options: &[&str] = match ty {
        Ty::Bool => &[r#"{"S": "true"}"#, r#"{"N": "1"}"#],
        Ty::Tiny => &[r#"{"N": "128"}"#, r#"{"N": "-129"}"#, r#"{"N": "1.5"}"#],
        Ty::Small => &[r#"{"N": "32768"}"#, r#"{"N": "1e5"}"#],
        Ty::Int => &[r#"{"N": "2147483648"}"#, r#"{"N": "0.1"}"#],
        Ty::Big => &[
            r#"{"N": "9223372036854775808"}"#,
            r#"{"N": "1e2147483647"}"#,
            r#"{"S": "1"}"#,
        ],
        Ty::Float => &[r#"{"S": "1.5"}"#, r#"{"N": "abc"}"#, r#"{"N": "NaN"}"#],
        Ty::Double => &[r#"{"N": "1e400"}"#, r#"{"N": "-1e309"}"#, r#"{"N": "inf"}"#],
        Ty::Dec10 => &[
            r#"{"N": "1.234"}"#,
            r#"{"N": "12345678901"}"#,
            r#"{"N": "1e2147483647"}"#,
            r#"{"N": ""}"#,
        ],
        Ty::Dec38 => &[
            r#"{"N": "123456789012345678901234567890123"}"#,
            r#"{"N": "1E-7"}"#,
        ],
        Ty::Date => &[r#"{"S": "2026-02-30"}"#, r#"{"N": "20260105"}"#],
        Ty::Iso => &[r#"{"N": "1767607200"}"#, r#"{"S": "soon"}"#],
        Ty::Millis | Ty::Micros => &[r#"{"N": "1e300"}"#, r#"{"S": "soon"}"#, r#"{"BOOL": true}"#],
        Ty::Seconds => &[r#"{"N": "9223372036854775807"}"#, r#"{"N": "-1e300"}"#],
        Ty::Binary => &[r#"{"B": "not base64!"}"#, r#"{"S": "AAE="}"#],
        Ty::Tags => &[
            r#"{"NS": ["1"]}"#,
            r#"{"L": [{"N": "1"}]}"#,
            r#"{"S": "a"}"#,
        ],
        Ty::Scores => &[
            r#"{"SS": ["1"]}"#,
            r#"{"NS": ["1.5"]}"#,
            r#"{"L": [{"S": "1"}]}"#,
        ],
        Ty::Attrs => &[r#"{"M": {"k": {"S": "1"}}}"#, r#"{"L": []}"#],
        Ty::Agent => &[
            r#"{"M": {"level": {"N": "300"}}}"#,
            r#"{"M": {"seen": {"SS": ["x"]}}}"#,
        ],
    };
    J::Raw(options.choose(rng).expect("values").as_bytes().to_vec())
}

/// A record with one column's value out of range, the column, and whether the reason must
/// name it.
struct OutOfRange {
    valid: Valid,
    raw: Vec<u8>,
    column: &'static str,
    names_column: bool,
}

impl Shown for OutOfRange {
    fn shown(&self) -> String {
        format!("{} (column {})", self.raw.shown(), self.column)
    }
}

fn out_of_range(rng: &mut ChaCha8Rng) -> OutOfRange {
    let (column, name, ty, _) = *COLUMNS.choose(rng).expect("columns");
    match rng.random_bool(0.5) {
        true => {
            let valid = loop {
                let v = telemetry(rng);
                if v.row.table == "telemetry" {
                    break v;
                }
            };
            let mut tree = valid.tree.clone();
            let (value, names_column) = json_out_of_range(rng, ty);
            set_member(&mut tree, name, Role::Read, value);
            let raw = tree.to_bytes(rng);
            OutOfRange {
                valid,
                raw,
                column,
                names_column,
            }
        }
        false => {
            let valid = loop {
                let v = export_line(rng, thing);
                if v.row.table == "things" {
                    break v;
                }
            };
            let mut tree = valid.tree.clone();
            let J::Obj(top) = &mut tree else {
                unreachable!("an export line is an object")
            };
            let item = top
                .iter_mut()
                .find(|m| m.key == "Item")
                .expect("an export line has its Item");
            set_member(
                &mut item.value,
                name,
                Role::Read,
                typed_out_of_range(rng, ty),
            );
            let raw = tree.to_bytes(rng);
            OutOfRange {
                valid,
                raw,
                column,
                names_column: true,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// KPL aggregates

/// An aggregate and what `deaggregate` must make of it.
struct Aggregate {
    data: Vec<u8>,
    what: String,
    expect: Split,
}

#[derive(Debug)]
enum Split {
    /// Exactly these user records.
    Records(Vec<Vec<u8>>),
    /// Refused, for a reason that says this.
    Refused(&'static str),
    /// Refused, or (a protobuf cut where a record ends) a prefix of these records.
    Prefix(Vec<Vec<u8>>),
    /// Not an aggregate: handed on whole, as an ordinary record.
    Ordinary,
}

impl Shown for Aggregate {
    fn shown(&self) -> String {
        let mut hex = String::new();
        for b in self.data.iter().take(400) {
            let _ = write!(hex, "{b:02x}");
        }
        format!("{} bytes {hex}… ({})", self.data.len(), self.what)
    }
}

/// A valid aggregate: partition keys, explicit hash keys (any point of the 128-bit space),
/// tags, and user records whose data is an event, a stream record, or any bytes.
fn valid_aggregate(rng: &mut ChaCha8Rng) -> (AggregatedRecord, Vec<Vec<u8>>) {
    let keys: Vec<String> = (0..rng.random_range(1..4)).map(|_| text(rng, 12)).collect();
    let hash_keys: Vec<String> = (0..rng.random_range(0..4))
        .map(|_| match rng.random_range(0..4) {
            0 => "0".to_string(),
            1 => u128::MAX.to_string(),
            _ => rng.random::<u128>().to_string(),
        })
        .collect();
    let mut records = Vec::new();
    let mut datas = Vec::new();
    for _ in 0..rng.random_range(1..6) {
        let data = match rng.random_range(0..4) {
            0 => event(rng).raw,
            1 => stream_record(rng, shop_item).raw,
            2 => Vec::new(),
            _ => bytes(rng, 64),
        };
        records.push(UserRecord {
            partition_key_index: rng.random_range(0..keys.len() as u64),
            explicit_hash_key_index: match hash_keys.is_empty() || rng.random_bool(0.3) {
                true => None,
                false => Some(rng.random_range(0..hash_keys.len() as u64)),
            },
            data: data.clone(),
            tags: (0..rng.random_range(0..2))
                .map(|_| Tag {
                    key: text(rng, 6),
                    value: rng.random_bool(0.5).then(|| text(rng, 6)),
                })
                .collect(),
        });
        datas.push(data);
    }
    let aggregate = AggregatedRecord {
        partition_key_table: keys,
        explicit_hash_key_table: hash_keys,
        records,
    };
    (aggregate, datas)
}

fn aggregate_case(rng: &mut ChaCha8Rng) -> Aggregate {
    let (aggregate, records) = valid_aggregate(rng);
    if rng.random_bool(0.2) {
        // the helper tests and benchmarks build aggregates with
        let keys: Vec<String> = aggregate
            .records
            .iter()
            .map(|r| aggregate.partition_key_table[r.partition_key_index as usize].clone())
            .collect();
        let pairs: Vec<(&str, &[u8])> = keys
            .iter()
            .map(String::as_str)
            .zip(records.iter().map(Vec::as_slice))
            .collect();
        return Aggregate {
            data: kpl::aggregate(&pairs),
            what: "kpl::aggregate".into(),
            expect: Split::Records(records),
        };
    }
    Aggregate {
        data: kpl::encode(&aggregate),
        what: "valid".into(),
        expect: Split::Records(records),
    }
}

/// `body` framed as an aggregate: the magic, the body, a checksum that matches it.
fn framed(body: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut out = kpl::MAGIC.to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(Md5::digest(body).as_slice());
    out
}

fn hostile_aggregate(rng: &mut ChaCha8Rng) -> Aggregate {
    let (mut aggregate, records) = valid_aggregate(rng);
    let data = kpl::encode(&aggregate);
    let body = aggregate.encode_to_vec();
    let case = |data: Vec<u8>, what: String, expect: Split| Aggregate { data, what, expect };
    match rng.random_range(0..11) {
        0 => {
            let mut data = data;
            let at = rng.random_range(0..4);
            data[at] ^= rng.random_range(1..=255u8);
            case(data, format!("magic byte {at} flipped"), Split::Ordinary)
        }
        1 => {
            let mut data = data;
            let n = data.len();
            let at = n - rng.random_range(1..=16);
            data[at] ^= rng.random_range(1..=255u8);
            case(
                data,
                format!("checksum byte {at} flipped"),
                Split::Refused("checksum"),
            )
        }
        2 => {
            let mut data = data;
            let at = rng.random_range(4..data.len() - 16);
            data[at] ^= rng.random_range(1..=255u8);
            case(
                data,
                format!("body byte {at} flipped"),
                Split::Refused("checksum"),
            )
        }
        3 => {
            let mut data = data;
            let cut = rng.random_range(4..data.len());
            data.truncate(cut);
            case(
                data,
                format!("cut at byte {cut}"),
                Split::Refused("KPL aggregate"),
            )
        }
        4 => {
            let cut = rng.random_range(0..body.len());
            case(
                framed(&body[..cut]),
                format!("protobuf cut at byte {cut}"),
                Split::Prefix(records),
            )
        }
        5 => {
            let mut body = body;
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..body.len());
                body[at] ^= rng.random_range(1..=255u8);
            }
            // any outcome but a panic: the flips may leave a valid aggregate
            case(
                framed(&body),
                "protobuf bytes flipped".into(),
                Split::Prefix(Vec::new()),
            )
        }
        6 => {
            let i = rng.random_range(0..aggregate.records.len());
            let keys = aggregate.partition_key_table.len() as u64;
            aggregate.records[i].partition_key_index = rng.random_range(keys..=u64::MAX);
            case(
                kpl::encode(&aggregate),
                format!("record {i}'s partition key out of range"),
                Split::Refused("partition key"),
            )
        }
        7 => {
            let i = rng.random_range(0..aggregate.records.len());
            let keys = aggregate.explicit_hash_key_table.len() as u64;
            aggregate.records[i].explicit_hash_key_index = Some(rng.random_range(keys..=u64::MAX));
            case(
                kpl::encode(&aggregate),
                format!("record {i}'s explicit hash key out of range"),
                Split::Refused("explicit hash key"),
            )
        }
        8 => {
            let bad = *[
                "340282366920938463463374607431768211456",
                "999999999999999999999999999999999999999999",
                "-1",
                "+1",
                "",
                "0x1f",
                "1e3",
                " 7",
                "7 ",
                "١٢",
            ]
            .choose(rng)
            .expect("keys");
            let at = rng.random_range(0..=aggregate.explicit_hash_key_table.len());
            aggregate.explicit_hash_key_table.insert(at, bad.into());
            case(
                kpl::encode(&aggregate),
                format!("explicit hash key {bad:?}"),
                Split::Refused("explicit hash key"),
            )
        }
        9 => {
            let body = bytes(rng, 80);
            case(
                framed(&body),
                "any bytes, checksummed".into(),
                Split::Prefix(Vec::new()),
            )
        }
        _ => {
            let data = kpl::MAGIC[..rng.random_range(0..=4)]
                .iter()
                .copied()
                .chain(bytes(rng, 15))
                .collect::<Vec<u8>>();
            let expect = match kpl::is_aggregated(&data) {
                true => Split::Refused("shorter"),
                false => Split::Ordinary,
            };
            case(data, "shorter than a header and checksum".into(), expect)
        }
    }
}

/// `deaggregate` and `kinesis::user_records` on one aggregate, against what it must split
/// into; then every user record through the decoders.
fn splits_as_it_must(
    decoder: &SchemaDecoder,
    case: &Aggregate,
    tally: &mut Tally,
) -> Result<(), String> {
    let result = kpl::deaggregate(&case.data);
    match (&case.expect, &result) {
        (_, Err(reason)) if reason.trim().is_empty() => {
            return Err("refused without a reason".into());
        }
        (Split::Records(want), Ok(got)) if got == want => {}
        (Split::Refused(why), Err(reason)) if reason.contains(*why) => {}
        (Split::Prefix(_), Err(_)) | (Split::Ordinary, Err(_)) => {}
        (Split::Prefix(all), Ok(got)) if all.is_empty() || all.starts_with(got) => {
            if got.is_empty() {
                return Err("an aggregate split into no records".into());
            }
        }
        (want, got) => return Err(format!("deaggregate gave {got:?}, expected {want:?}")),
    }
    let mut handed = Vec::new();
    kinesis::user_records(&case.data, |raw, format| {
        handed.push((raw.to_vec(), format))
    });
    let expected: Vec<Vec<u8>> = match (&case.expect, &result) {
        (Split::Ordinary, _) | (_, Err(_)) => vec![case.data.clone()],
        (_, Ok(records)) => records.clone(),
    };
    let records: Vec<Vec<u8>> = handed.iter().map(|(raw, _)| raw.clone()).collect();
    if records != expected {
        return Err(format!(
            "user_records handed on {} records, expected {}",
            records.len(),
            expected.len()
        ));
    }
    match (&case.expect, &result) {
        (Split::Ordinary, _) | (_, Ok(_)) if handed.iter().any(|(_, f)| f.is_err()) => {
            return Err("a record handed on as unreadable".into());
        }
        (Split::Ordinary, _) => {}
        (_, Err(_)) if !matches!(handed[0].1, Err(ref reason) if !reason.is_empty()) => {
            return Err("a refused aggregate handed on without its reason".into());
        }
        _ => {}
    }
    let mut rows = decoder.rows();
    let origin = origin("kinesis", 1, Some(1_767_607_200_000));
    let mut decoded = 0;
    for (raw, format) in &handed {
        match format.clone().and_then(|f| rows.push(f, raw, &origin, 0)) {
            Ok(()) => decoded += 1,
            Err(reason) if reason.trim().is_empty() => {
                return Err("a user record is a dead letter without a reason".into());
            }
            Err(_) => tally.dead_letters += 1,
        }
    }
    let batches = rows
        .finish()
        .map_err(|e| format!("the batch does not build: {e}"))?;
    if rows_in(&batches) != decoded {
        return Err(format!(
            "{decoded} records decoded into {} rows",
            rows_in(&batches)
        ));
    }
    tally.rows += decoded as u64;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The properties

fn shop() -> SchemaDecoder {
    SchemaDecoder::new(Schema::builtin())
}

fn every_type() -> SchemaDecoder {
    SchemaDecoder::new(every_type_schema())
}

#[test]
fn kpl_aggregates_split_into_exactly_their_user_records() {
    let decoder = shop();
    check(
        "kpl_aggregates_split_into_exactly_their_user_records",
        aggregate_case,
        |case, tally| splits_as_it_must(&decoder, case, tally),
    );
}

#[test]
fn hostile_kpl_aggregates_are_refused_with_a_reason() {
    let decoder = shop();
    check(
        "hostile_kpl_aggregates_are_refused_with_a_reason",
        hostile_aggregate,
        |case, tally| splits_as_it_must(&decoder, case, tally),
    );
}

#[test]
fn events_decode_exactly() {
    let decoder = shop();
    check("events_decode_exactly", event, |case, tally| {
        decodes_exactly(&decoder, case, tally)
    });
}

#[test]
fn hostile_events_are_rows_or_dead_letters() {
    let decoder = shop();
    check(
        "hostile_events_are_rows_or_dead_letters",
        |rng| {
            let v = event(rng);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn stream_records_decode_exactly() {
    let decoder = shop();
    check(
        "stream_records_decode_exactly",
        |rng| stream_record(rng, shop_item),
        |case, tally| decodes_exactly(&decoder, case, tally),
    );
}

#[test]
fn hostile_stream_records_are_rows_or_dead_letters() {
    let decoder = shop();
    check(
        "hostile_stream_records_are_rows_or_dead_letters",
        |rng| {
            let v = stream_record(rng, shop_item);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn export_lines_decode_exactly() {
    let decoder = shop();
    check(
        "export_lines_decode_exactly",
        |rng| export_line(rng, shop_item),
        |case, tally| decodes_exactly(&decoder, case, tally),
    );
}

#[test]
fn hostile_export_lines_are_rows_or_dead_letters() {
    let decoder = shop();
    check(
        "hostile_export_lines_are_rows_or_dead_letters",
        |rng| {
            let v = export_line(rng, shop_item);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn every_type_documents_decode_exactly() {
    let decoder = every_type();
    check(
        "every_type_documents_decode_exactly",
        telemetry,
        |case, tally| decodes_exactly(&decoder, case, tally),
    );
}

#[test]
fn hostile_every_type_documents_are_rows_or_dead_letters() {
    let decoder = every_type();
    check(
        "hostile_every_type_documents_are_rows_or_dead_letters",
        |rng| {
            let v = telemetry(rng);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn every_type_stream_records_decode_exactly() {
    let decoder = every_type();
    check(
        "every_type_stream_records_decode_exactly",
        |rng| stream_record(rng, thing),
        |case, tally| decodes_exactly(&decoder, case, tally),
    );
}

#[test]
fn hostile_every_type_stream_records_are_rows_or_dead_letters() {
    let decoder = every_type();
    check(
        "hostile_every_type_stream_records_are_rows_or_dead_letters",
        |rng| {
            let v = stream_record(rng, thing);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn every_type_export_lines_decode_exactly() {
    let decoder = every_type();
    check(
        "every_type_export_lines_decode_exactly",
        |rng| export_line(rng, thing),
        |case, tally| decodes_exactly(&decoder, case, tally),
    );
}

#[test]
fn hostile_every_type_export_lines_are_rows_or_dead_letters() {
    let decoder = every_type();
    check(
        "hostile_every_type_export_lines_are_rows_or_dead_letters",
        |rng| {
            let v = export_line(rng, thing);
            mutate(rng, &v)
        },
        |case, tally| survives(&decoder, case, tally),
    );
}

#[test]
fn values_out_of_range_are_dead_letters_naming_their_column() {
    let decoder = every_type();
    check(
        "values_out_of_range_are_dead_letters_naming_their_column",
        out_of_range,
        |case, tally| {
            let valid = &case.valid;
            let mut rows = decoder.rows();
            match rows.push(valid.format, &case.raw, &valid.origin, valid.export_time_ms) {
                Ok(()) => return Err(format!("column {}: decoded as a row", case.column)),
                Err(reason)
                    if case.names_column
                        && !reason.contains(&format!("column {} (from", case.column)) =>
                {
                    return Err(format!(
                        "the reason does not name column {}: {reason}",
                        case.column
                    ));
                }
                Err(reason) if reason.trim().is_empty() => {
                    return Err("a dead letter without a reason".into());
                }
                Err(_) => tally.dead_letters += 1,
            }
            after_it_a_valid_record_decodes(rows, false, valid)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// DynamoDB numbers and typed values (`attribute.rs`), which every DynamoDB column goes through

/// A number's text, the precision and scale it is read at, and what it must read as (`None`:
/// refused).
struct NumberText {
    text: String,
    precision: u32,
    scale: u32,
    expect: Option<Option<i128>>,
}

impl Shown for NumberText {
    fn shown(&self) -> String {
        format!(
            "{:?} at DECIMAL({},{})",
            self.text, self.precision, self.scale
        )
    }
}

fn number_text(rng: &mut ChaCha8Rng) -> NumberText {
    let precision = rng.random_range(1..=38);
    let scale = rng.random_range(0..=precision.min(12));
    let case = |text: String, expect| NumberText {
        text,
        precision,
        scale,
        expect,
    };
    match rng.random_range(0..6) {
        0..=2 => {
            let v = unscaled(rng, precision);
            case(decimal_text(rng, v, scale), Some(Some(v)))
        }
        3 => {
            // one decimal place too many, never rounded
            let v = unscaled(rng, precision.min(37));
            let digit = rng.random_range(1..10);
            let more = v * 10 + if v < 0 { -digit } else { digit };
            case(decimal_text(rng, more, scale + 1), Some(None))
        }
        4 => {
            // a digit too many before the point
            let digits = (precision - scale + 1) as usize;
            let sign = if rng.random_bool(0.5) { "-" } else { "" };
            case(format!("{sign}{}", "9".repeat(digits)), Some(None))
        }
        _ => {
            let text = match rng.random_range(0..3) {
                0 => text(rng, 12),
                1 => [
                    "1e2147483647",
                    "-1e-2147483648",
                    "0e99999999999999999999",
                    "1e",
                    "--1",
                    "1.2.3",
                    ".",
                    "e5",
                    "+.5",
                    "٣",
                    "1_000",
                    "0x10",
                ]
                .choose(rng)
                .expect("texts")
                .to_string(),
                _ => {
                    let v = unscaled(rng, precision);
                    let mut t = decimal_text(rng, v, scale).into_bytes();
                    let at = rng.random_range(0..t.len());
                    t[at] = *b"0123456789.eE+- x".choose(rng).expect("bytes");
                    String::from_utf8(t).expect("ASCII")
                }
            };
            case(text, None)
        }
    }
}

#[test]
fn dynamodb_numbers_read_exactly_or_are_refused() {
    check(
        "dynamodb_numbers_read_exactly_or_are_refused",
        number_text,
        |case, tally| {
            let read = super::attribute::parse_decimal(&case.text, case.scale, case.precision);
            match (&read, case.expect) {
                (Err(reason), _) if reason.trim().is_empty() => {
                    Err("refused without a reason".into())
                }
                (Ok(v), Some(Some(want))) if *v == want => Ok(()),
                (Err(_), Some(None)) | (_, None) => Ok(()),
                (got, want) => Err(format!("read as {got:?}, expected {want:?}")),
            }?;
            match read {
                Ok(_) => tally.rows += 1,
                Err(_) => tally.dead_letters += 1,
            }
            Ok(())
        },
    );
}

/// A typed value, its text, and its plain JSON.
struct TypedText {
    raw: Vec<u8>,
    plain: Option<Value>,
}

impl Shown for TypedText {
    fn shown(&self) -> String {
        self.raw.shown()
    }
}

#[test]
fn typed_values_read_into_exactly_their_plain_json() {
    check(
        "typed_values_read_into_exactly_their_plain_json",
        |rng| {
            let (j, plain) = typed_any(rng, Role::Kept, 3);
            let raw = j.to_bytes(rng);
            match rng.random_bool(0.7) {
                true => TypedText {
                    raw,
                    plain: Some(plain),
                },
                false => {
                    // any bytes flipped: valid JSON or not, never a panic
                    let mut raw = raw;
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..raw.len());
                        raw[at] ^= rng.random_range(1..=255u8);
                    }
                    TypedText { raw, plain: None }
                }
            }
        },
        |case, tally| {
            let Ok(text) = std::str::from_utf8(&case.raw) else {
                return Ok(());
            };
            let Ok(raw) = serde_json::value::RawValue::from_string(text.to_string()) else {
                return match case.plain {
                    Some(_) => Err("the valid text is not JSON".into()),
                    None => Ok(()),
                };
            };
            let read = super::attribute::plain_json_of(&raw);
            if let Some(want) = &case.plain {
                match &read {
                    Ok(got) if got == want => {}
                    got => return Err(format!("read as {got:?}, expected {want:?}")),
                }
                // the tree conversion gives the same
                let tree: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                let converted = super::attribute::to_plain_json(&tree);
                if converted != *want {
                    return Err(format!("to_plain_json gives {converted:?}"));
                }
            }
            tally.rows += u64::from(read.is_ok());
            Ok(())
        },
    );
}
