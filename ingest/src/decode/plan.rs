//! A table's decoding plan, compiled once from its declaration: which member of a record feeds
//! which column, how each value converts to the column's type, and what a record must have.
//!
//! ```text
//! TableDef ──compile──▶ TablePlan { columns: [ColumnPlan], members: Members, time, rest, ... }
//!                         members: "eventType" ─▶ column 0      (names as declared, exact)
//!                                  "eventtype" ─▶ column 0      (folded: case ignored)
//!                                  "device"    ─▶ path { "os" ─▶ path { "name" ─▶ column 3 } }
//! ```
//! A column without `from` is found by its own name, ignoring case, and then by the camelCase
//! of a snake_case name (`opened_at` finds `openedAt`). A `from` path is matched exactly at
//! each level (DynamoDB attribute names are case-sensitive).

use std::collections::HashMap;

use datafusion::arrow::datatypes::SchemaRef;
use tributary_table::Table;
use tributary_table::schema::{ColumnType, EpochUnit, SourceKind, StructField, TableDef};

/// How one value becomes a column's value.
#[derive(Debug)]
pub enum Conversion {
    String,
    Boolean,
    /// `tinyint` to `bigint` (the builder checks the width).
    Integer,
    Float,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Date,
    /// Epoch milliseconds: ISO-8601 text, or a number in `unit`.
    Timestamp {
        unit: Option<EpochUnit>,
    },
    Binary,
    Array(Box<Conversion>),
    Map(Box<Conversion>, Box<Conversion>),
    Struct(StructPlan),
}

/// The fields of a struct, found by name as columns are.
#[derive(Debug)]
pub struct StructPlan {
    pub fields: Vec<(String, Conversion)>,
    pub lookup: Lookup,
}

/// Finds a member's slot by name: the exact spellings first, then ignoring case.
#[derive(Debug, Default)]
pub struct Lookup {
    exact: Names,
    /// Lower-case spellings, compared ignoring ASCII case.
    folded: Names,
}

/// Names and their slots. A record's level usually has a handful of members, so they are
/// compared one by one (length first) until there are more than [`Names::FEW`]: that beats
/// hashing every member name of every record (a profile of the events backfill had the
/// hash lookups at 11% of its time).
#[derive(Debug)]
enum Names {
    Few(Vec<(Box<str>, usize)>),
    Many(HashMap<Box<str>, usize>),
}

impl Default for Names {
    fn default() -> Self {
        Names::Few(Vec::new())
    }
}

impl Names {
    const FEW: usize = 16;

    /// Adds `name` unless it is there already (the first slot given a name keeps it).
    fn insert(&mut self, name: &str, slot: usize) {
        if self.get(name, false).is_some() {
            return;
        }
        match self {
            Names::Few(few) if few.len() < Self::FEW => few.push((name.into(), slot)),
            Names::Few(few) => {
                let mut many: HashMap<Box<str>, usize> = few.drain(..).collect();
                many.insert(name.into(), slot);
                *self = Names::Many(many);
            }
            Names::Many(many) => {
                many.insert(name.into(), slot);
            }
        }
    }

    /// The slot of `name`; `fold`: ignoring ASCII case (the names are stored lower case).
    fn get(&self, name: &str, fold: bool) -> Option<usize> {
        match self {
            Names::Few(few) => few
                .iter()
                .find(|(n, _)| {
                    n.len() == name.len()
                        && if fold {
                            n.eq_ignore_ascii_case(name)
                        } else {
                            **n == *name
                        }
                })
                .map(|(_, slot)| *slot),
            Names::Many(many) if !fold => many.get(name).copied(),
            Names::Many(many) => many.get(name.to_ascii_lowercase().as_str()).copied(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Names::Few(few) => few.is_empty(),
            Names::Many(many) => many.is_empty(),
        }
    }
}

impl Lookup {
    /// `name` finds `slot` exactly; `fold`: ignoring case too.
    fn insert(&mut self, name: &str, slot: usize, fold: bool) {
        self.exact.insert(name, slot);
        if fold {
            self.folded.insert(&name.to_ascii_lowercase(), slot);
        }
    }

    /// The slot of member `name` spelled exactly as given.
    fn exact(&self, name: &str) -> Option<usize> {
        self.exact.get(name, false)
    }

    /// The slot of member `name`: spelled exactly, else ignoring case.
    pub fn find(&self, name: &str) -> Option<usize> {
        if let Some(slot) = self.exact.get(name, false) {
            return Some(slot);
        }
        if self.folded.is_empty() {
            return None;
        }
        self.folded.get(name, true)
    }
}

/// `opened_at` → `openedAt`.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn struct_plan(fields: &[StructField]) -> StructPlan {
    let mut lookup = Lookup::default();
    for (i, field) in fields.iter().enumerate() {
        lookup.insert(&field.name, i, true);
        lookup.insert(&camel_case(&field.name), i, true);
    }
    StructPlan {
        fields: fields
            .iter()
            .map(|f| (f.name.clone(), conversion(&f.data_type, None)))
            .collect(),
        lookup,
    }
}

fn conversion(data_type: &ColumnType, unit: Option<EpochUnit>) -> Conversion {
    match data_type {
        ColumnType::String => Conversion::String,
        ColumnType::Boolean => Conversion::Boolean,
        ColumnType::TinyInt | ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt => {
            Conversion::Integer
        }
        ColumnType::Float | ColumnType::Double => Conversion::Float,
        ColumnType::Decimal { precision, scale } => Conversion::Decimal {
            precision: *precision,
            scale: *scale,
        },
        ColumnType::Date => Conversion::Date,
        ColumnType::Timestamp => Conversion::Timestamp { unit },
        ColumnType::Binary => Conversion::Binary,
        ColumnType::Array(item) => Conversion::Array(Box::new(conversion(item, unit))),
        ColumnType::Map(key, value) => Conversion::Map(
            Box::new(conversion(key, None)),
            Box::new(conversion(value, unit)),
        ),
        ColumnType::Struct(fields) => Conversion::Struct(struct_plan(fields)),
    }
}

/// One declared column.
#[derive(Debug)]
pub struct ColumnPlan {
    pub name: String,
    /// Where the value comes from, for messages (`PK`, `device.os.name`, `priority`).
    pub source: String,
    pub conversion: Conversion,
    pub strip_prefix: Option<String>,
    pub required: bool,
}

/// What a member of a record feeds.
#[derive(Debug, Default)]
pub struct Slot {
    /// The column (its index in the table's schema).
    pub column: Option<usize>,
    /// The members below it that feed columns (`from = "device.os.name"`).
    pub nested: Option<Box<Members>>,
    /// Neither read nor kept (`ignore`).
    pub ignored: bool,
}

/// The members of one object level and what each feeds.
#[derive(Debug, Default)]
pub struct Members {
    pub lookup: Lookup,
    pub slots: Vec<Slot>,
}

impl Members {
    /// The slot for `path`, made if new; `fold`: also found ignoring case.
    fn slot(&mut self, path: &[String], fold: bool) -> &mut Slot {
        let (first, rest) = path.split_first().expect("a path has a first member");
        let index = match self.lookup.exact(first) {
            Some(i) => i,
            None => {
                let i = self.slots.len();
                self.slots.push(Slot::default());
                self.lookup.insert(first, i, fold);
                i
            }
        };
        let slot = &mut self.slots[index];
        if rest.is_empty() {
            return slot;
        }
        slot.nested
            .get_or_insert_with(Default::default)
            .slot(rest, false)
    }
}

/// A table's plan.
#[derive(Debug)]
pub struct TablePlan {
    pub table: Table,
    pub schema: SchemaRef,
    pub source: SourceKind,
    /// By column index in [`TablePlan::schema`]; `None` for the columns the decoder fills
    /// itself (change metadata, rest, ingest).
    pub columns: Vec<Option<ColumnPlan>>,
    pub members: Members,
    /// The column whose UTC day is the partition, and the unit of a whole-number one.
    pub time: usize,
    pub time_unit: Option<EpochUnit>,
    pub rest: Option<usize>,
    /// The first of the four `ingest_*` columns.
    pub ingest: usize,
    /// The first of the four change columns (DynamoDB tables).
    pub change: Option<usize>,
    /// Declared columns a record must have.
    pub required: Vec<usize>,
}

impl TablePlan {
    pub fn compile(table: Table) -> TablePlan {
        let def: &TableDef = table.def();
        let schema = table.schema();
        let index = |name: &str| {
            schema
                .index_of(name)
                .expect("every declared column is a field of the table's schema")
        };
        let mut columns: Vec<Option<ColumnPlan>> =
            (0..schema.fields().len()).map(|_| None).collect();
        let mut members = Members::default();
        let mut required = Vec::new();
        for column in &def.columns {
            let at = index(&column.name);
            match &column.from {
                Some(path) => members.slot(path, false).column = Some(at),
                None => {
                    let slot = members.slot(std::slice::from_ref(&column.name), true);
                    slot.column = Some(at);
                    let camel = camel_case(&column.name);
                    if camel != column.name {
                        let i = members
                            .lookup
                            .exact(&column.name)
                            .expect("the column's own name was just inserted");
                        members.lookup.insert(&camel, i, true);
                    }
                }
            }
            let required_here = column.required
                || column.strip_prefix.is_some()
                || column.name == def.time
                || def
                    .state
                    .as_ref()
                    .is_some_and(|s| s.key.contains(&column.name));
            if required_here {
                required.push(at);
            }
            let source = match &column.from {
                Some(path) => path.join("."),
                None => {
                    let camel = camel_case(&column.name);
                    if camel == column.name {
                        format!("{}, any case", column.name)
                    } else {
                        format!("{} or {camel}, any case", column.name)
                    }
                }
            };
            columns[at] = Some(ColumnPlan {
                name: column.name.clone(),
                source,
                conversion: conversion(&column.data_type, column.unit),
                strip_prefix: column.strip_prefix.clone(),
                required: required_here,
            });
        }
        for ignored in &def.ignore {
            let path: Vec<String> = ignored.split('.').map(str::to_string).collect();
            let slot = members.slot(&path, false);
            if slot.column.is_none() {
                slot.ignored = true;
            }
        }
        let time = index(&def.time);
        let time_unit = def.column(&def.time).and_then(|c| c.unit);
        TablePlan {
            table,
            source: def.source,
            columns,
            members,
            time,
            time_unit,
            rest: def.rest.as_deref().map(index),
            ingest: index(tributary_table::schema::INGEST_COLUMNS[0]),
            change: (def.source == SourceKind::Dynamodb).then(|| index("operation")),
            required,
            schema,
        }
    }

    /// The declared column at `index`.
    pub fn column(&self, index: usize) -> &ColumnPlan {
        self.columns[index]
            .as_ref()
            .expect("a slot names a declared column")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_names_are_found_as_few_are() {
        for n in [3, Names::FEW, Names::FEW + 5] {
            let mut lookup = Lookup::default();
            for i in 0..n {
                lookup.insert(&format!("Member{i}"), i, i % 2 == 0);
            }
            lookup.insert("Member0", 99, true); // the first slot given a name keeps it
            for i in 0..n {
                assert_eq!(
                    lookup.find(&format!("Member{i}")),
                    Some(i),
                    "{n}: exact {i}"
                );
                let folded = lookup.find(&format!("MEMBER{i}"));
                assert_eq!(folded, (i % 2 == 0).then_some(i), "{n}: folded {i}");
            }
            assert_eq!(lookup.find("Member"), None);
        }
    }

    #[test]
    fn camel_case_of_snake_names() {
        assert_eq!(camel_case("opened_at"), "openedAt");
        assert_eq!(camel_case("a_b_c"), "aBC");
        assert_eq!(camel_case("plain"), "plain");
        assert_eq!(camel_case("_lead"), "lead");
    }

    #[test]
    fn the_shop_compiles_to_plans_that_find_members_by_any_spelling() {
        let events = TablePlan::compile(Table::builtin("events"));
        let slot = |name: &str| {
            events
                .members
                .lookup
                .find(name)
                .and_then(|i| events.members.slots[i].column)
        };
        assert_eq!(slot("eventType"), Some(0));
        assert_eq!(slot("EVENTTYPE"), Some(0));
        assert_eq!(slot("nope"), None);
        assert_eq!(events.required, [0, 1, 2]);
        assert_eq!(events.time, 2);
        assert_eq!(events.time_unit, Some(EpochUnit::Milliseconds));
        let orders = TablePlan::compile(Table::builtin("order_changes"));
        let created = orders.schema.index_of("created_at").unwrap();
        assert_eq!(
            orders
                .members
                .lookup
                .find("createdAt")
                .and_then(|i| orders.members.slots[i].column),
            Some(created)
        );
        assert_eq!(orders.change, Some(0));
        // PK feeds user_id exactly, and nothing else spelled like it
        assert!(orders.members.lookup.find("pk").is_none());
        let ignored = orders.members.lookup.find("orderId").unwrap();
        assert!(orders.members.slots[ignored].ignored);
    }
}
