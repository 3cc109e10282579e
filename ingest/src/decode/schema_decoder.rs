//! The schema's decoder: records of any source into the rows of the schema's tables.
//!
//! ```text
//! JSON document ──route (fields of the match rules)──▶ table ──document.rs──▶ its Rows
//! DynamoDB change ──envelope (images kept raw)──▶ route (Keys, then the image) ──▶ table
//!                 ──typed.rs (the image)──▶ its Rows, with the change columns
//! ```
//! Plans are compiled once per run; a chunk of records fills one [`ChunkRows`], whose
//! [`ChunkRows::finish`] gives a batch per table with each row's partition and event id.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Map;
use serde_json::value::RawValue;
use tributary_table::Table;
use tributary_table::schema::{Schema, SourceKind};
use tributary_transform::columns::{Rows, UnsupportedType};
use tributary_transform::model::{Operation, Origin};
use tributary_transform::{Partition, SequenceNumber};

use super::Format;
use super::document::{self, Scratch};
use super::key::{Key, Skip, well_formed};
use super::plan::TablePlan;
use super::row::{finish_columns, in_row};
use super::typed::decode_image;

/// The plans of a schema's tables, compiled once.
#[derive(Debug, Clone)]
pub struct SchemaDecoder {
    plans: Arc<[TablePlan]>,
    /// The top-level fields the JSON tables' match rules read, and the attributes the
    /// DynamoDB tables' rules read: what routing looks up in each record.
    json_rules: Arc<[String]>,
    dynamodb_rules: Arc<[String]>,
    /// The raw tables' plans, when the schema has them: they take what no rule takes.
    raw_json: Option<usize>,
    raw_dynamodb: Option<usize>,
}

impl SchemaDecoder {
    pub fn new(schema: &'static Schema) -> Self {
        let plans: Vec<TablePlan> = schema
            .handles()
            .into_iter()
            .map(TablePlan::compile)
            .collect();
        let raw = |kind| {
            plans
                .iter()
                .position(|p| p.source == kind && p.table.def().raw)
        };
        Self {
            json_rules: rule_names(&plans, SourceKind::Json).into(),
            dynamodb_rules: rule_names(&plans, SourceKind::Dynamodb).into(),
            raw_json: raw(SourceKind::Json),
            raw_dynamodb: raw(SourceKind::Dynamodb),
            plans: plans.into(),
        }
    }

    /// Empty rows for a chunk.
    pub fn rows(&self) -> ChunkRows {
        ChunkRows {
            decoder: self.clone(),
            tables: self
                .plans
                .iter()
                .map(|plan| TableRows {
                    rows: Rows::new(plan.schema.clone()).unwrap_or_else(|e: UnsupportedType| {
                        // every Athena type of the schema format has a builder (a unit test
                        // of `columns` builds each)
                        panic!("table {}: {e}", plan.table.name())
                    }),
                    partitions: Vec::new(),
                    event_ids: Vec::new(),
                })
                .collect(),
            scratch: Scratch::default(),
            text: String::new(),
        }
    }

    /// The table of `source` whose rules hold for `value` (the text of the path each rule
    /// names), else the source's raw table if the schema has one; a record that no table's
    /// rules take (and no raw table), or two tables' rules take, is refused.
    fn route<'v>(
        &self,
        source: SourceKind,
        value: impl Fn(&[String]) -> Option<Cow<'v, str>>,
    ) -> Result<usize, String> {
        let mut found: Option<usize> = None;
        for (i, plan) in self.plans.iter().enumerate() {
            if plan.source != source || plan.table.def().raw {
                continue;
            }
            let holds = plan
                .table
                .def()
                .conditions
                .iter()
                .all(|c| value(&c.path).is_some_and(|v| c.test.holds(&v)));
            if !holds {
                continue;
            }
            if let Some(first) = found {
                return Err(format!(
                    "matches two tables of the schema, {} and {}: their match rules overlap",
                    self.plans[first].table.name(),
                    plan.table.name()
                ));
            }
            found = Some(i);
        }
        let raw = match source {
            SourceKind::Json => self.raw_json,
            SourceKind::Dynamodb => self.raw_dynamodb,
        };
        found.or(raw).ok_or_else(|| self.unmatched(source, value))
    }

    fn unmatched<'v>(
        &self,
        source: SourceKind,
        value: impl Fn(&[String]) -> Option<Cow<'v, str>>,
    ) -> String {
        let mut paths: Vec<&[String]> = Vec::new();
        for plan in self.plans.iter().filter(|p| p.source == source) {
            for c in &plan.table.def().conditions {
                if !paths.contains(&c.path.as_slice()) {
                    paths.push(&c.path);
                }
            }
        }
        let shown: Vec<String> = paths
            .iter()
            .map(|p| match value(p) {
                Some(v) => format!("{} {:?}", p.join("."), super::row::shown(&v)),
                None => format!("no {}", p.join(".")),
            })
            .collect();
        if shown.is_empty() {
            format!(
                "matches no table of the schema (it has no {} table)",
                source.name()
            )
        } else {
            format!("matches no table of the schema ({})", shown.join(", "))
        }
    }
}

/// The top-level attributes or fields the match rules of `source`'s tables read.
fn rule_names(plans: &[TablePlan], source: SourceKind) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for plan in plans.iter().filter(|p| p.source == source) {
        for c in &plan.table.def().conditions {
            if let Some(first) = c.path.first()
                && !names.contains(first)
            {
                names.push(first.clone());
            }
        }
    }
    names
}

/// The rows of one table decoded from a chunk.
#[derive(Debug)]
struct TableRows {
    rows: Rows,
    partitions: Vec<Partition>,
    /// The stream event id of each row (empty for sources without one).
    event_ids: Vec<Box<str>>,
}

/// Rows of every table of the schema, decoded from one chunk of records.
#[derive(Debug)]
pub struct ChunkRows {
    decoder: SchemaDecoder,
    tables: Vec<TableRows>,
    scratch: Scratch,
    text: String,
}

/// One table's rows of a chunk, with each row's partition and event id.
#[derive(Debug)]
pub struct TableBatch {
    pub table: Table,
    pub batch: RecordBatch,
    pub partitions: Vec<Partition>,
    /// One per row for stream changes; empty otherwise.
    pub event_ids: Vec<Box<str>>,
}

/// The envelope of a DynamoDB Streams record, its images left as raw JSON.
struct StreamRecord<'a> {
    event_id: Option<Cow<'a, str>>,
    event_name: Option<Cow<'a, str>>,
    table_name: Option<Cow<'a, str>>,
    dynamodb: Option<StreamData<'a>>,
}

struct StreamData<'a> {
    approximate_creation_date_time: Option<f64>,
    approximate_creation_date_time_precision: Option<Cow<'a, str>>,
    keys: Option<&'a RawValue>,
    new_image: Option<&'a RawValue>,
    old_image: Option<&'a RawValue>,
    sequence_number: Option<&'a RawValue>,
    stream_view_type: Option<Cow<'a, str>>,
}

/// Reads a stream record's envelope, by hand rather than derived, so that nothing in it escapes
/// the depth limit: a derived `Deserialize` skips the members it does not name with
/// `IgnoredAny`, which never counts the depth (a 5,000-deep value under an unknown member of
/// `dynamodb` made a row), and these are skipped with [`Skip`] instead. The image a row does
/// not read is kept raw as before, and measured by [`ChunkRows::push_item`].
struct Envelope;

/// Reads a member's value into `slot` (`null` as absent); a second one is refused, as a derived
/// `Deserialize` refuses it.
fn member<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<Option<T>>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

fn text(slot: Option<Option<Key<'_>>>) -> Option<Cow<'_, str>> {
    slot.flatten().map(Key::into_cow)
}

impl<'de> DeserializeSeed<'de> for Envelope {
    type Value = StreamRecord<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Envelope {
    type Value = StreamRecord<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB Streams record (an object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut event_id, mut event_name, mut table_name) = (None, None, None);
        let mut dynamodb: Option<Option<StreamData<'de>>> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "eventID" => member(&mut map, &mut event_id, "eventID")?,
                "eventName" => member(&mut map, &mut event_name, "eventName")?,
                "tableName" => member(&mut map, &mut table_name, "tableName")?,
                "dynamodb" => {
                    if dynamodb.is_some() {
                        return Err(de::Error::duplicate_field("dynamodb"));
                    }
                    dynamodb = Some(map.next_value_seed(OptionalData)?);
                }
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(StreamRecord {
            event_id: text(event_id),
            event_name: text(event_name),
            table_name: text(table_name),
            dynamodb: dynamodb.flatten(),
        })
    }
}

/// `dynamodb`, or `null` for none.
struct OptionalData;

impl<'de> DeserializeSeed<'de> for OptionalData {
    type Value = Option<StreamData<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalData {
    type Value = Option<StreamData<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the dynamodb object")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(DataVisitor).map(Some)
    }
}

/// The `dynamodb` object.
struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = StreamData<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the dynamodb object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut time, mut precision, mut view) = (None, None, None);
        let (mut keys, mut new_image, mut old_image, mut sequence) = (None, None, None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let name = key.as_str();
            let slot = match name {
                "ApproximateCreationDateTime" => {
                    member(&mut map, &mut time, "ApproximateCreationDateTime")?;
                    continue;
                }
                "ApproximateCreationDateTimePrecision" => {
                    member(
                        &mut map,
                        &mut precision,
                        "ApproximateCreationDateTimePrecision",
                    )?;
                    continue;
                }
                "StreamViewType" => {
                    member(&mut map, &mut view, "StreamViewType")?;
                    continue;
                }
                "Keys" => (&mut keys, "Keys"),
                "NewImage" => (&mut new_image, "NewImage"),
                "OldImage" => (&mut old_image, "OldImage"),
                "SequenceNumber" => (&mut sequence, "SequenceNumber"),
                _ => {
                    map.next_value::<Skip>()?;
                    continue;
                }
            };
            let (slot, name) = slot;
            member(&mut map, slot, name)?;
        }
        Ok(StreamData {
            approximate_creation_date_time: time.flatten(),
            approximate_creation_date_time_precision: text(precision),
            keys: keys.flatten(),
            new_image: new_image.flatten(),
            old_image: old_image.flatten(),
            sequence_number: sequence.flatten(),
            stream_view_type: text(view),
        })
    }
}

/// An export line (`{"Item": {...}}`), by hand for the reason [`Envelope`] gives.
struct ExportLine;

impl<'de> Visitor<'de> for ExportLine {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an export line (an object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "Item" => member(&mut map, &mut item, "Item")?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(item.flatten())
    }
}

/// Reads all of `raw` with `seed`, as `serde_json::from_slice` reads a type.
fn read_all<'de, S: DeserializeSeed<'de>>(raw: &'de [u8], seed: S) -> serde_json::Result<S::Value> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A visitor of maps as a seed.
struct MapSeed<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for MapSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

impl ChunkRows {
    /// Decodes one record of `format` into a row of its table; `export_time_ms` dates the
    /// lines of an export.
    pub fn push(
        &mut self,
        format: Format,
        raw: &[u8],
        origin: &Origin,
        export_time_ms: i64,
    ) -> Result<(), String> {
        match format {
            Format::Events => self.push_document(raw, origin),
            Format::DynamodbStream => self.push_stream_record(raw, origin).map(|_| ()),
            Format::DynamodbExport => self.push_export_item(raw, origin, export_time_ms),
        }
    }

    /// Decodes a JSON document into a row of its table.
    pub fn push_document(&mut self, raw: &[u8], origin: &Origin) -> Result<(), String> {
        let names = &self.decoder.json_rules;
        let index = if names.is_empty() {
            self.decoder.route(SourceKind::Json, |_| None)?
        } else {
            let fields =
                top_level_strings(raw, names).map_err(|e| format!("invalid record: {e}"))?;
            self.decoder
                .route(SourceKind::Json, |path| lookup(&fields, path))?
        };
        let plan = &self.decoder.plans[index];
        let table = &mut self.tables[index];
        let partition = if plan.table.def().raw {
            raw_document(plan, raw, origin, &mut table.rows, &mut self.text)?
        } else {
            document::decode_row(plan, raw, origin, &mut table.rows, &mut self.scratch)?
        };
        table.partitions.push(partition);
        Ok(())
    }

    /// Decodes a DynamoDB Streams record (as GetRecords, Lambda or Kinesis Data Streams for
    /// DynamoDB deliver it) into a row of its item's table; returns its event id.
    pub fn push_stream_record(&mut self, raw: &[u8], origin: &Origin) -> Result<Box<str>, String> {
        let record = read_all(raw, Envelope).map_err(|e| format!("invalid JSON: {e}"))?;
        let event_id = record.event_id.ok_or("eventID is missing")?;
        let operation = match record.event_name.as_deref() {
            Some("INSERT") => Operation::Insert,
            Some("MODIFY") => Operation::Modify,
            Some("REMOVE") => Operation::Remove,
            Some(other) => {
                return Err(format!(
                    "unknown eventName {:?} (expected INSERT, MODIFY or REMOVE)",
                    super::row::shown(other)
                ));
            }
            None => return Err("eventName is missing".into()),
        };
        let ddb = record.dynamodb.ok_or("dynamodb is missing")?;
        // Kinesis Data Streams for DynamoDB leaves SequenceNumber out: the Kinesis record's
        // own sequence number orders the changes of one item instead
        let sequence = match ddb.sequence_number {
            Some(raw) => {
                let text: Cow<str> = serde_json::from_str(raw.get())
                    .map_err(|_| "dynamodb.SequenceNumber is not a string")?;
                SequenceNumber::parse(&text).map_err(|e| format!("dynamodb.SequenceNumber: {e}"))?
            }
            None if record.table_name.is_some() => origin.sequence.clone(),
            None => return Err("dynamodb.SequenceNumber is missing".into()),
        };
        let change_ms = creation_time_ms(
            ddb.approximate_creation_date_time,
            ddb.approximate_creation_date_time_precision.as_deref(),
        )?;
        // REMOVE carries the last state in OldImage; INSERT and MODIFY the new one in NewImage
        let ((image_name, image), unread) = match operation {
            Operation::Remove => (("OldImage", ddb.old_image), ("NewImage", ddb.new_image)),
            _ => (("NewImage", ddb.new_image), ("OldImage", ddb.old_image)),
        };
        let Some(image) = image.filter(|i| i.get().starts_with('{')) else {
            let view = ddb.stream_view_type.as_deref().unwrap_or("unknown");
            return Err(format!(
                "dynamodb.{image_name} is missing (StreamViewType {view}); NEW_AND_OLD_IMAGES or NEW_IMAGE is needed"
            ));
        };
        let change = Change {
            operation,
            sequence: Some(&sequence),
            change_ms,
            event_id: Some(event_id.as_ref()),
        };
        let images = Images {
            keys: ddb.keys,
            new: ddb.new_image,
            old: ddb.old_image,
            unread: unread.1.map(|raw| (unread.0, raw)),
        };
        self.push_item(images, image, change, origin)?;
        Ok(event_id.into())
    }

    /// Decodes a line of a DynamoDB export (`{"Item": {...}}`): the item's state at the
    /// export time.
    pub fn push_export_item(
        &mut self,
        raw: &[u8],
        origin: &Origin,
        export_time_ms: i64,
    ) -> Result<(), String> {
        let item = read_all(raw, MapSeed(ExportLine)).map_err(|e| format!("invalid JSON: {e}"))?;
        let item = item
            .filter(|i| i.get().starts_with('{'))
            .ok_or("not an export line: Item is missing")?;
        let change = Change {
            operation: Operation::Snapshot,
            sequence: None,
            change_ms: export_time_ms,
            event_id: None,
        };
        let images = Images {
            keys: None,
            new: Some(item),
            old: None,
            unread: None,
        };
        self.push_item(images, item, change, origin)
    }

    /// Decodes `image`, the state of the item a change leaves (its keys first), into a row
    /// of its table; a raw table takes every image of the change as JSON instead.
    fn push_item(
        &mut self,
        images: Images,
        image: &RawValue,
        change: Change,
        origin: &Origin,
    ) -> Result<(), String> {
        let keys = images.keys;
        let names = &self.decoder.dynamodb_rules;
        let mut found = match keys {
            Some(keys) => key_texts(keys, names)?,
            None => Vec::new(),
        };
        if names.iter().any(|n| !found.iter().any(|(k, _)| k == n)) {
            for (k, v) in key_texts(image, names)? {
                if !found.iter().any(|(f, _)| *f == k) {
                    found.push((k, v));
                }
            }
        }
        let index = self
            .decoder
            .route(SourceKind::Dynamodb, |path| lookup(&found, path))?;
        let plan = &self.decoder.plans[index];
        let table = &mut self.tables[index];
        let text = &mut self.text;
        let partition = in_row(&mut table.rows, |rows| {
            let mut rest = Map::new();
            if plan.table.def().raw {
                let at = plan.ingest - 3;
                for (i, part) in [images.keys, images.new, images.old]
                    .into_iter()
                    .enumerate()
                {
                    match part {
                        Some(part) => write_plain_json(rows, at + i, part)?,
                        None => rows.column(at + i).append_null(),
                    }
                }
            } else {
                // the key attributes count even when the image leaves them out (REMOVE images
                // and Kinesis records often do); the image's own values come after, and win
                if let Some(keys) = keys {
                    decode_image(plan, keys, rows, &mut Map::new())?;
                }
                decode_image(plan, image, rows, &mut rest)?;
                // the image no column reads, captured raw: held to what a read one is
                if let Some((name, unread)) = images.unread {
                    well_formed(unread.get()).map_err(|e| format!("dynamodb.{name}: {e}"))?;
                }
            }
            let at = plan.change.expect("a DynamoDB table has change columns");
            let failed = |e| format!("change columns: {e}");
            rows.column(at)
                .append_str(change.operation.as_str())
                .map_err(failed)?;
            match change.sequence {
                Some(sequence) => {
                    text.clear();
                    sequence.write_padded(text);
                    rows.column(at + 1).append_str(text).map_err(failed)?;
                }
                None => rows.column(at + 1).append_null(),
            }
            rows.column(at + 2)
                .append_int(change.change_ms)
                .map_err(failed)?;
            match change.event_id {
                Some(id) => rows.column(at + 3).append_str(id).map_err(failed)?,
                None => rows.column(at + 3).append_null(),
            }
            finish_columns(plan, rows, rest, origin, text)
        })?;
        table.partitions.push(partition);
        if let Some(id) = change.event_id {
            table.event_ids.push(id.into());
        }
        Ok(())
    }

    /// Records decoded so far, over every table.
    pub fn len(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A batch per table that has rows.
    pub fn finish(self) -> Result<Vec<TableBatch>, ArrowError> {
        let mut out = Vec::new();
        for (plan, mut table) in self.decoder.plans.iter().zip(self.tables) {
            if table.rows.is_empty() {
                continue;
            }
            out.push(TableBatch {
                table: plan.table,
                batch: table.rows.finish()?,
                partitions: table.partitions,
                event_ids: table.event_ids,
            });
        }
        Ok(out)
    }
}

/// The parts of a change that hold attributes, as they came.
struct Images<'a> {
    keys: Option<&'a RawValue>,
    new: Option<&'a RawValue>,
    old: Option<&'a RawValue>,
    /// The image the row does not read (named for messages).
    unread: Option<(&'static str, &'a RawValue)>,
}

/// A JSON document as a row of `json_raw`: its text, and the time it arrived.
fn raw_document(
    plan: &TablePlan,
    raw: &[u8],
    origin: &Origin,
    rows: &mut Rows,
    text: &mut String,
) -> Result<Partition, String> {
    // valid JSON only: what is not JSON stays a dead letter, with its reason
    serde_json::from_slice::<Skip>(raw).map_err(|e| format!("invalid JSON: {e}"))?;
    let document = std::str::from_utf8(raw)
        .map_err(|e| format!("invalid UTF-8: {e}"))?
        .trim();
    // files have no arrival time: the time Tributary read the record stands in
    let arrival_ms = origin
        .arrival_time_ms
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    in_row(rows, |rows| {
        rows.column(0)
            .append_str(document)
            .map_err(|e| format!("column document: {e}"))?;
        rows.column(1)
            .append_int(arrival_ms)
            .map_err(|e| format!("column arrival_time: {e}"))?;
        finish_columns(plan, rows, Map::new(), origin, text)
    })
}

/// Typed attributes (`{"PK":{"S":"CUSTOMER#1"},"n":{"N":"2"}}`) into column `at` as plain
/// JSON (`{"PK":"CUSTOMER#1","n":2}`), numbers exact.
fn write_plain_json(rows: &mut Rows, at: usize, typed: &RawValue) -> Result<(), String> {
    let name = |rows: &Rows| rows.schema().field(at).name().clone();
    let value: serde_json::Value = serde_json::from_str(typed.get())
        .map_err(|e| format!("column {}: invalid attributes: {e}", name(rows)))?;
    // the attributes as one typed map, so a lone attribute named like a type tag stays one
    let typed = serde_json::Value::Object(Map::from_iter([("M".to_string(), value)]));
    let plain = super::attribute::to_plain_json(&typed);
    rows.column(at)
        .append_with(|out| {
            serde_json::to_writer(out, &plain).expect("a JSON value writes to memory")
        })
        .map_err(|e| format!("column {}: {e}", name(rows)))
}

/// The change columns of a DynamoDB row.
struct Change<'a> {
    operation: Operation,
    sequence: Option<&'a SequenceNumber>,
    change_ms: i64,
    event_id: Option<&'a str>,
}

/// The text of a rule's path among the values found.
fn lookup<'v>(found: &'v [(String, String)], path: &[String]) -> Option<Cow<'v, str>> {
    let [name] = path else {
        return None;
    };
    found
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| Cow::Borrowed(v.as_str()))
}

/// The `S` or `N` text of the attributes `names` among the typed attributes of `item`.
fn key_texts(item: &RawValue, names: &[String]) -> Result<Vec<(String, String)>, String> {
    #[derive(Deserialize)]
    struct Scalar<'a> {
        #[serde(rename = "S", borrow)]
        s: Option<Cow<'a, str>>,
        #[serde(rename = "N", borrow)]
        n: Option<Cow<'a, str>>,
    }
    let attributes: std::collections::HashMap<Cow<str>, &RawValue> =
        serde_json::from_str(item.get()).map_err(|e| format!("invalid item: {e}"))?;
    let mut out = Vec::new();
    for name in names {
        let Some(value) = attributes.get(name.as_str()) else {
            continue;
        };
        if let Ok(scalar) = serde_json::from_str::<Scalar>(value.get())
            && let Some(text) = scalar.s.or(scalar.n)
        {
            out.push((name.to_string(), text.into_owned()));
        }
    }
    Ok(out)
}

/// The string values of the top-level fields `names` of a JSON document.
fn top_level_strings(
    raw: &[u8],
    names: &[String],
) -> Result<Vec<(String, String)>, serde_json::Error> {
    let fields: std::collections::HashMap<Cow<str>, &RawValue> = serde_json::from_slice(raw)?;
    let mut out = Vec::new();
    for name in names {
        if let Some(value) = fields.get(name.as_str())
            && let Ok(text) = serde_json::from_str::<Cow<str>>(value.get())
        {
            out.push((name.to_string(), text.into_owned()));
        }
    }
    Ok(out)
}

/// ApproximateCreationDateTime in epoch milliseconds: epoch seconds from DynamoDB Streams,
/// milliseconds (or microseconds, with the precision field) through Kinesis.
fn creation_time_ms(value: Option<f64>, precision: Option<&str>) -> Result<i64, String> {
    let value = value.ok_or("dynamodb.ApproximateCreationDateTime is missing or not a number")?;
    let ms = match precision {
        Some("MICROSECOND") => value / 1_000.0,
        Some("MILLISECOND") => value,
        // by magnitude: seconds until the year 5138, milliseconds until 5138 after that
        _ if value.abs() < 1e11 => value * 1_000.0,
        _ if value.abs() < 1e14 => value,
        _ => value / 1_000.0,
    };
    if !ms.is_finite() || ms.abs() > 9.0e15 {
        return Err(format!(
            "dynamodb.ApproximateCreationDateTime {value} is out of range"
        ));
    }
    Ok(ms.round() as i64)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;
    use datafusion::arrow::util::display::array_value_to_string;

    use super::*;

    fn origin(n: u64) -> Origin {
        Origin {
            source: "dynamodb-stream".into(),
            shard: "shard-1".into(),
            sequence: SequenceNumber::from_u64(n),
            arrival_time_ms: None,
        }
    }

    fn cell(batch: &RecordBatch, column: &str, row: usize) -> String {
        let array = batch.column_by_name(column).unwrap();
        if array.is_null(row) {
            return "NULL".into();
        }
        array_value_to_string(array, row).unwrap()
    }

    fn record(name: &str, keys: &str, image: &str) -> String {
        format!(
            r#"{{"eventID":"e-{name}","eventName":"{name}","dynamodb":{{"ApproximateCreationDateTime":1767607200,
            "Keys":{keys},"NewImage":{image},"OldImage":{image},"SequenceNumber":"100","StreamViewType":"NEW_AND_OLD_IMAGES"}}}}"#
        )
    }

    #[test]
    fn the_shops_changes_go_to_their_tables_by_the_rules_on_their_keys() {
        let decoder = SchemaDecoder::new(Schema::builtin());
        let mut rows = decoder.rows();
        let order_keys = r#"{"PK":{"S":"USER#u1"},"SK":{"S":"ORDER#o1"}}"#;
        let order = r#"{"PK":{"S":"USER#u1"},"SK":{"S":"ORDER#o1"},"status":{"S":"PAID"},
            "createdAt":{"S":"2026-01-05T10:00:00Z"}}"#;
        let user_keys = r#"{"PK":{"S":"USER#u1"},"SK":{"S":"PROFILE"}}"#;
        let user = r#"{"PK":{"S":"USER#u1"},"SK":{"S":"PROFILE"},"email":{"S":"a@b"},
            "createdAt":{"S":"2026-01-01T00:00:00Z"}}"#;
        let id = rows
            .push_stream_record(record("INSERT", order_keys, order).as_bytes(), &origin(1))
            .unwrap();
        assert_eq!(&*id, "e-INSERT");
        rows.push_stream_record(record("REMOVE", user_keys, user).as_bytes(), &origin(2))
            .unwrap();
        let cart = r#"{"PK":{"S":"USER#u1"},"SK":{"S":"CART#1"}}"#;
        let e = rows
            .push_stream_record(record("INSERT", cart, cart).as_bytes(), &origin(3))
            .unwrap_err();
        assert_eq!(
            e,
            "matches no table of the schema (PK \"USER#u1\", SK \"CART#1\")"
        );
        let e = rows
            .push_stream_record(record("UPSERT", cart, cart).as_bytes(), &origin(4))
            .unwrap_err();
        assert!(e.contains("unknown eventName"), "{e}");
        rows.push_export_item(format!(r#"{{"Item":{user}}}"#).as_bytes(), &origin(5), 42)
            .unwrap();
        let batches = rows.finish().unwrap();
        let names: Vec<&str> = batches.iter().map(|b| b.table.name()).collect();
        assert_eq!(names, ["order_changes", "user_changes"]);
        let orders = &batches[0];
        assert_eq!(cell(&orders.batch, "operation", 0), "INSERT");
        assert_eq!(cell(&orders.batch, "order_id", 0), "o1");
        assert_eq!(cell(&orders.batch, "change_time", 0), "2026-01-05T10:00:00");
        assert_eq!(
            cell(&orders.batch, "sequence_number", 0).trim_start_matches('0'),
            "100"
        );
        assert_eq!(orders.partitions[0].path(), "year=2026/month=01/day=05");
        let users = &batches[1];
        assert_eq!(users.batch.num_rows(), 2);
        assert_eq!(cell(&users.batch, "operation", 0), "REMOVE");
        assert_eq!(cell(&users.batch, "email", 0), "a@b");
        assert_eq!(cell(&users.batch, "operation", 1), "SNAPSHOT");
        assert_eq!(cell(&users.batch, "sequence_number", 1), "NULL");
        assert_eq!(users.event_ids.len(), 1, "an export line has no event id");
    }

    #[test]
    fn a_document_goes_to_the_table_its_field_names_and_no_further() {
        let schema = |second: &str| {
            format!(
                r#"
version = 1
[[tables]]
name = "a"
source = "json"
match = [{{ field = "kind", equals = "x" }}]
time = "ts"
columns = [{{ name = "ts", type = "timestamp", unit = "seconds" }}]
[[tables]]
name = "b"
source = "json"
match = [{second}]
time = "ts"
columns = [{{ name = "ts", type = "timestamp", unit = "seconds" }}]
"#
            )
        };
        // rules that could both hold are refused before anything runs
        let overlapping = Schema::parse(&schema(r#"{ field = "app", equals = "web" }"#), "test");
        assert!(
            overlapping
                .unwrap_err()
                .to_string()
                .contains("can both match"),
            "two tables' rules on different fields"
        );
        let text = schema(r#"{ field = "kind", equals = "y" }"#);
        let decoder = SchemaDecoder::new(Schema::parse(&text, "test").unwrap().leak());
        let mut rows = decoder.rows();
        rows.push_document(br#"{"kind":"y","ts":1767607200}"#, &origin(1))
            .unwrap();
        let e = rows
            .push_document(br#"{"kind":"z","ts":1}"#, &origin(2))
            .unwrap_err();
        assert_eq!(e, "matches no table of the schema (kind \"z\")");
        let e = rows.push_document(br#"{"ts":1}"#, &origin(3)).unwrap_err();
        assert_eq!(e, "matches no table of the schema (no kind)");
        let batches = rows.finish().unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].table.name(), "b");
    }

    #[test]
    fn records_no_table_takes_land_in_the_raw_tables_when_the_schema_says_so() {
        let decoder = SchemaDecoder::new(Schema::parse("version = 1\n", "test").unwrap().leak());
        let mut rows = decoder.rows();
        let keys = r#"{"PK":{"S":"CUSTOMER#1"},"SK":{"S":"TICKET#9"}}"#;
        let image = r#"{"PK":{"S":"CUSTOMER#1"},"SK":{"S":"TICKET#9"},"priority":{"N":"12345678901234567890"},
            "tags":{"SS":["a","b"]},"S":{"BOOL":true}}"#;
        rows.push_stream_record(record("MODIFY", keys, image).as_bytes(), &origin(7))
            .unwrap();
        rows.push_export_item(
            format!(r#"{{"Item":{keys}}}"#).as_bytes(),
            &origin(8),
            1_767_607_200_000,
        )
        .unwrap();
        let arrived = Origin {
            arrival_time_ms: Some(1_767_607_200_000),
            ..origin(9)
        };
        rows.push_document(b" {\"kind\":\"x\",\"n\":1.50}\r", &arrived)
            .unwrap();
        let e = rows.push_document(b"{\"kind\":", &arrived).unwrap_err();
        assert!(e.starts_with("invalid JSON"), "{e}");
        let batches = rows.finish().unwrap();
        let names: Vec<&str> = batches.iter().map(|b| b.table.name()).collect();
        assert_eq!(names, ["dynamodb_raw", "json_raw"]);
        let changes = &batches[0].batch;
        assert_eq!(cell(changes, "operation", 0), "MODIFY");
        assert_eq!(
            cell(changes, "keys", 0),
            r#"{"PK":"CUSTOMER#1","SK":"TICKET#9"}"#
        );
        assert_eq!(
            cell(changes, "new_image", 0),
            r#"{"PK":"CUSTOMER#1","S":true,"SK":"TICKET#9","priority":12345678901234567890,"tags":["a","b"]}"#
        );
        assert_eq!(cell(changes, "old_image", 0), cell(changes, "new_image", 0));
        assert_eq!(batches[0].partitions[0].path(), "year=2026/month=01/day=05");
        assert_eq!(cell(changes, "operation", 1), "SNAPSHOT");
        assert_eq!(cell(changes, "keys", 1), "NULL");
        assert_eq!(cell(changes, "change_time", 1), "2026-01-05T10:00:00");
        let documents = &batches[1].batch;
        assert_eq!(cell(documents, "document", 0), r#"{"kind":"x","n":1.50}"#);
        assert_eq!(cell(documents, "arrival_time", 0), "2026-01-05T10:00:00");
        assert_eq!(
            documents.num_rows(),
            1,
            "the invalid record left nothing behind"
        );
    }

    /// `[[…]]`, `depth` levels.
    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn values_nested_past_the_depth_limit_are_dead_letters_wherever_no_column_reads_them() {
        let order = |extra: &str| {
            format!(
                r#"{{"PK":{{"S":"USER#u1"}},"SK":{{"S":"ORDER#o1"}},"createdAt":{{"S":"2026-01-05T10:00:00Z"}}{extra}}}"#
            )
        };
        let ddb = r#""ApproximateCreationDateTime":1767607200,"SequenceNumber":"1","Keys":{"PK":{"S":"USER#u1"},"SK":{"S":"ORDER#o1"}}"#;
        let o = order("");
        // DEEP stands for the value; every place is one the row never reads
        let streams = [
            (
                "an unknown member of dynamodb",
                format!(
                    r#"{{"eventID":"e","eventName":"INSERT","dynamodb":{{{ddb},"NewImage":{o},"Deep":DEEP}}}}"#
                ),
            ),
            (
                "an unknown member of the record",
                format!(
                    r#"{{"eventID":"e","eventName":"INSERT","awsRegion":DEEP,"dynamodb":{{{ddb},"NewImage":{o}}}}}"#
                ),
            ),
            (
                "the OldImage of an INSERT",
                format!(
                    r#"{{"eventID":"e","eventName":"INSERT","dynamodb":{{{ddb},"NewImage":{o},"OldImage":DEEP}}}}"#
                ),
            ),
            (
                "the OldImage of an INSERT, dynamodb before eventName",
                format!(
                    r#"{{"dynamodb":{{{ddb},"OldImage":DEEP,"NewImage":{o}}},"eventID":"e","eventName":"INSERT"}}"#
                ),
            ),
            (
                "the NewImage of a REMOVE",
                format!(
                    r#"{{"eventID":"e","eventName":"REMOVE","dynamodb":{{{ddb},"NewImage":DEEP,"OldImage":{o}}}}}"#
                ),
            ),
            (
                "an ignored attribute",
                format!(
                    r#"{{"eventID":"e","eventName":"MODIFY","dynamodb":{{{ddb},"NewImage":{}}}}}"#,
                    order(r#","orderId":DEEP"#)
                ),
            ),
            (
                "the value of a NULL",
                format!(
                    r#"{{"eventID":"e","eventName":"INSERT","dynamodb":{{{ddb},"NewImage":{}}}}}"#,
                    order(r#","status":{"NULL":DEEP}"#)
                ),
            ),
        ];
        let shop = SchemaDecoder::new(Schema::builtin());
        let raw = SchemaDecoder::new(Schema::parse("version = 1\n", "test").unwrap().leak());
        let export = format!(r#"{{"Item":{o},"Deep":DEEP}}"#);
        let document = r#"{"kind":"x","deep":DEEP}"#;
        let push = |decoder: &SchemaDecoder, format, template: &str, depth| {
            let mut rows = decoder.rows();
            let record = template.replace("DEEP", &nested(depth));
            let result = rows.push(format, record.as_bytes(), &origin(1), 0);
            (result, rows.len())
        };
        let mut all: Vec<(&str, &SchemaDecoder, Format, &str)> = streams
            .iter()
            .map(|(place, t)| (*place, &shop, Format::DynamodbStream, t.as_str()))
            .collect();
        all.push((
            "an unknown member of an export line",
            &shop,
            Format::DynamodbExport,
            &export,
        ));
        all.push((
            "a document of the raw table",
            &raw,
            Format::Events,
            document,
        ));
        for (place, decoder, format, template) in all {
            // well within the limit it is a row: the depth is the only fault
            let (ok, n) = push(decoder, format, template, 100);
            assert_eq!((ok, n), (Ok(()), 1), "{place}, 100 deep");
            let (e, n) = push(decoder, format, template, 5_000);
            let e = e.unwrap_err();
            assert!(e.contains("recursion limit exceeded"), "{place}: {e}");
            assert_eq!(n, 0, "{place}: nothing of the record stays");
        }
    }
}
