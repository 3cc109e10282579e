//! The schema file: TOML, with Athena's type spellings. Every mistake is reported with its
//! line and a reason, all of them at once, before anything runs.
//!
//! ```toml
//! version = 1
//!
//! [[tables]]
//! name = "ticket_changes"
//! source = "dynamodb"
//! match = [{ attribute = "SK", begins_with = "TICKET#" }]
//! time = "updated_at"
//! state = { name = "tickets", key = ["customer_id", "ticket_id"] }
//! rest = "extra"
//! columns = [
//!   { name = "customer_id", type = "string", from = "PK", strip_prefix = "CUSTOMER#" },
//!   { name = "priority", type = "int" },
//!   { name = "updated_at", type = "timestamp", unit = "seconds" },
//! ]
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{
    ColumnDef, ColumnType, Condition, EpochUnit, INGEST_COLUMNS, PARTITION_COLUMNS, RAW_TABLES,
    STATE_COLUMNS, Schema, SourceKind, StateDef, TableDef, Test, Unmatched,
};

/// One mistake in a schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file, or "built-in schema".
    pub origin: String,
    /// 1-based; `None` when the mistake has no place (an unreadable file).
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Every mistake found in one schema file, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl SchemaErrors {
    pub(crate) fn single(origin: &str, line: Option<usize>, message: String) -> Self {
        Self(vec![SchemaError {
            origin: origin.to_string(),
            line,
            message,
        }])
    }
}

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<i64>,
    unmatched: Option<Spanned<String>>,
    #[serde(default)]
    tables: Vec<Spanned<RawTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Spanned<String>,
    source: Spanned<String>,
    #[serde(default, rename = "match")]
    conditions: Vec<Spanned<RawCondition>>,
    time: Option<Spanned<String>>,
    state: Option<Spanned<RawState>>,
    rest: Option<Spanned<String>>,
    #[serde(default)]
    sort: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    columns: Vec<Spanned<RawColumn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    attribute: Option<String>,
    field: Option<String>,
    begins_with: Option<String>,
    equals: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    name: Spanned<String>,
    key: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    #[serde(rename = "type")]
    data_type: Spanned<String>,
    from: Option<Spanned<String>>,
    strip_prefix: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
    #[serde(default)]
    required: bool,
}

/// Collects mistakes with their lines.
struct Report<'a> {
    text: &'a str,
    origin: &'a str,
    errors: Vec<SchemaError>,
}

impl Report<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }

    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line_of(span.start);
        self.errors.push(SchemaError {
            origin: self.origin.to_string(),
            line: Some(line),
            message: message.into(),
        });
    }
}

/// Names Tributary gives to its own columns; a declared column cannot take them.
fn reserved(source: SourceKind, with_state: bool) -> BTreeSet<&'static str> {
    let mut names: BTreeSet<&'static str> = INGEST_COLUMNS.into_iter().collect();
    names.extend(PARTITION_COLUMNS);
    if source == SourceKind::Dynamodb {
        names.extend(["operation", "sequence_number", "change_time", "event_id"]);
    }
    if with_state {
        names.extend(STATE_COLUMNS);
    }
    names
}

/// A name Athena, DataFusion and a directory all take as is: lower-case ASCII letters, digits
/// and `_`, starting with a letter or `_`.
fn name_problem(name: &str, column: bool) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        let hint = if column {
            format!(" (and `from = \"{name}\"` if the records spell it so)")
        } else {
            String::new()
        };
        return Some(format!(
            "`{name}`: Athena keeps names in lower case; write `{}`{hint}",
            name.to_ascii_lowercase()
        ));
    }
    let mut chars = name.chars();
    let first = chars.next().expect("not empty");
    if !(first.is_ascii_lowercase() || first == '_')
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Some(format!(
            "`{name}`: a name is lower-case letters, digits and `_`, starting with a letter"
        ));
    }
    None
}

fn path_of(text: &str) -> Vec<String> {
    text.split('.').map(str::to_string).collect()
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Schema, SchemaErrors> {
    let mut report = Report {
        text,
        origin,
        errors: Vec::new(),
    };
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| report.line_of(s.start));
            return Err(SchemaErrors::single(
                origin,
                line,
                e.message().trim_end().to_string(),
            ));
        }
    };
    if *raw.version.get_ref() != 1 {
        report.at(
            raw.version.span(),
            format!(
                "version {} is not known; this Tributary reads version 1",
                raw.version.get_ref()
            ),
        );
    }
    let unmatched = match raw
        .unmatched
        .as_ref()
        .map(|u| (u.get_ref().as_str(), u.span()))
    {
        None | Some(("dead-letter", _)) => Unmatched::DeadLetter,
        Some(("raw", _)) => Unmatched::Raw,
        Some((other, span)) => {
            report.at(
                span,
                format!("unmatched {other:?} is not known; write \"dead-letter\" (records no table takes are dead letters, the default) or \"raw\" (they land in the source's raw table, dynamodb_raw or json_raw)"),
            );
            Unmatched::DeadLetter
        }
    };
    let mut tables: Vec<(TableDef, Range<usize>)> = Vec::new();
    let mut names: Vec<(String, Range<usize>)> = Vec::new();
    for table in raw.tables {
        let span = table.span();
        if let Some(def) = table_def(&mut report, table.into_inner(), &mut names) {
            tables.push((def, span));
        }
    }
    check_overlaps(&mut report, &tables);
    report.errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
    if report.errors.is_empty() {
        Ok(Schema::new(
            tables.into_iter().map(|(t, _)| t).collect(),
            unmatched,
        ))
    } else {
        Err(SchemaErrors(report.errors))
    }
}

fn table_def(
    report: &mut Report,
    raw: RawTable,
    names: &mut Vec<(String, Range<usize>)>,
) -> Option<TableDef> {
    let errors_before = report.errors.len();
    let name = raw.name.get_ref().clone();
    let mut claim = |report: &mut Report, name: &str, span: Range<usize>| {
        if let Some(problem) = name_problem(name, false) {
            report.at(span, format!("table {problem}"));
        } else if ["dead_letters", "_tributary"].contains(&name) {
            report.at(
                span,
                format!("table `{name}`: the name is Tributary's own directory"),
            );
        } else if RAW_TABLES.contains(&name) {
            report.at(
                span,
                format!("table `{name}`: the name is a raw table's, which Tributary fills with the records no declared table takes"),
            );
        } else if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
            let line = report.line_of(first.start);
            report.at(
                span,
                format!("table `{name}` is declared twice (first on line {line})"),
            );
        } else {
            names.push((name.to_string(), span));
        }
    };
    claim(report, &name, raw.name.span());
    let source = match raw.source.get_ref().as_str() {
        "json" => SourceKind::Json,
        "dynamodb" => SourceKind::Dynamodb,
        other => {
            report.at(
                raw.source.span(),
                format!("table `{name}`: source {other:?} is not known; write \"json\" (JSON documents) or \"dynamodb\" (DynamoDB items)"),
            );
            SourceKind::Json
        }
    };
    let conditions: Vec<Condition> = raw
        .conditions
        .into_iter()
        .filter_map(|c| condition(report, &name, c))
        .collect();

    let state = raw.state.map(|s| {
        let span = s.span();
        let s = s.into_inner();
        if source != SourceKind::Dynamodb {
            report.at(
                span,
                format!(
                    "table `{name}`: a state table follows DynamoDB items; a json table has none"
                ),
            );
        }
        claim(report, s.name.get_ref(), s.name.span());
        if s.key.is_empty() {
            report.at(
                s.name.span(),
                format!("table `{name}`: the state table needs a key (key = [\"…\"])"),
            );
        }
        (s.name.into_inner(), s.key)
    });

    let reserved = reserved(source, state.is_some());
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut declared: Vec<String> = Vec::new();
    if raw.columns.is_empty() {
        report.at(
            raw.name.span(),
            format!("table `{name}`: no columns (columns = [{{ name = \"…\", type = \"…\" }}, …])"),
        );
    }
    for column in raw.columns {
        let column = column.into_inner();
        let column_name = column.name.get_ref().clone();
        if let Some(def) = column_def(report, &name, column, &reserved, &declared) {
            columns.push(def);
        }
        declared.push(column_name);
    }
    let rest = raw.rest.map(|rest| {
        let r = rest.get_ref();
        if let Some(problem) = name_problem(r, false) {
            report.at(
                rest.span(),
                format!("table `{name}`: rest column {problem}"),
            );
        } else if reserved.contains(r.as_str()) || columns.iter().any(|c| &c.name == r) {
            report.at(
                rest.span(),
                format!("table `{name}`: rest column `{r}` is already a column"),
            );
        }
        rest.into_inner()
    });

    let time = match raw.time {
        None => {
            report.at(
                raw.name.span(),
                format!("table `{name}`: no time column: say which column's day partitions the rows (time = \"…\")"),
            );
            String::new()
        }
        Some(time) => {
            let t = time.get_ref();
            match columns.iter_mut().find(|c| &c.name == t) {
                // a declared column with a mistake of its own: reported once, there
                None if declared.contains(t) => {}
                None => report.at(
                    time.span(),
                    format!("table `{name}`: time column `{t}` is not a declared column"),
                ),
                Some(c) => {
                    let fits = match &c.data_type {
                        ColumnType::Timestamp | ColumnType::Date => true,
                        ColumnType::BigInt => c.unit.is_some(),
                        _ => false,
                    };
                    if !fits {
                        report.at(
                            time.span(),
                            format!("table `{name}`: time column `{t}` is {}; it must be a timestamp, a date, or a bigint with a unit (epoch seconds, milliseconds or microseconds)", c.data_type),
                        );
                    }
                    c.required = true;
                }
            }
            time.into_inner()
        }
    };

    let state = state.map(|(state_name, key)| {
        let mut names = Vec::new();
        for k in key {
            match columns.iter_mut().find(|c| c.name == *k.get_ref()) {
                None if declared.contains(k.get_ref()) => {}
                None => report.at(
                    k.span(),
                    format!(
                        "table `{name}`: key column `{}` is not a declared column",
                        k.get_ref()
                    ),
                ),
                Some(c) if c.data_type.is_nested() => report.at(
                    k.span(),
                    format!(
                        "table `{name}`: key column `{}` is {}; a key is a primitive value",
                        c.name, c.data_type
                    ),
                ),
                Some(c) => c.required = true,
            }
            names.push(k.into_inner());
        }
        StateDef {
            name: state_name,
            key: names,
        }
    });

    let mut sort = Vec::new();
    for s in raw.sort {
        let known = declared.contains(s.get_ref())
            || reserved.contains(s.get_ref().as_str())
                && !PARTITION_COLUMNS.contains(&s.get_ref().as_str());
        if !known {
            report.at(
                s.span(),
                format!(
                    "table `{name}`: sort column `{}` is not a column of the table",
                    s.get_ref()
                ),
            );
        }
        sort.push(s.into_inner());
    }

    (report.errors.len() == errors_before).then_some(TableDef {
        name,
        source,
        conditions,
        columns,
        time,
        state,
        rest,
        sort,
        ignore: raw.ignore,
        raw: false,
        derived: Default::default(),
    })
}

fn condition(report: &mut Report, table: &str, raw: Spanned<RawCondition>) -> Option<Condition> {
    let span = raw.span();
    let raw = raw.into_inner();
    let path = match (raw.attribute, raw.field) {
        (Some(p), None) | (None, Some(p)) => p,
        _ => {
            report.at(
                span,
                format!("table `{table}`: a match condition names one `attribute` (or `field`)"),
            );
            return None;
        }
    };
    let test = match (raw.begins_with, raw.equals) {
        (Some(prefix), None) => Test::BeginsWith(prefix),
        (None, Some(value)) => Test::Equals(value),
        _ => {
            report.at(
                span,
                format!("table `{table}`: a match condition on `{path}` has one test: begins_with = \"…\" or equals = \"…\""),
            );
            return None;
        }
    };
    if path.is_empty() || path.split('.').any(str::is_empty) {
        report.at(span, format!("table `{table}`: `{path}` is not a path"));
        return None;
    }
    Some(Condition {
        path: path_of(&path),
        test,
    })
}

fn column_def(
    report: &mut Report,
    table: &str,
    raw: RawColumn,
    reserved: &BTreeSet<&str>,
    earlier: &[String],
) -> Option<ColumnDef> {
    let errors_before = report.errors.len();
    let name = raw.name.get_ref().clone();
    if let Some(problem) = name_problem(&name, true) {
        report.at(
            raw.name.span(),
            format!("table `{table}`: column {problem}"),
        );
    } else if reserved.contains(name.as_str()) {
        report.at(
            raw.name.span(),
            format!("table `{table}`: column `{name}` is one Tributary writes itself; choose another name"),
        );
    } else if earlier.contains(&name) {
        report.at(
            raw.name.span(),
            format!("table `{table}`: column `{name}` is declared twice"),
        );
    }
    let data_type = match ColumnType::parse(raw.data_type.get_ref()) {
        Ok(t) => Some(t),
        Err(e) => {
            report.at(
                raw.data_type.span(),
                format!("table `{table}`: column `{name}`: {e}"),
            );
            None
        }
    };
    let from = raw.from.map(|from| {
        let f = from.get_ref();
        if f.is_empty() || f.split('.').any(str::is_empty) {
            report.at(
                from.span(),
                format!("table `{table}`: column `{name}`: from = {f:?} is not a path (names separated by dots)"),
            );
        }
        path_of(f)
    });
    let strip_prefix = raw.strip_prefix.map(|prefix| {
        if data_type.as_ref().is_some_and(|t| *t != ColumnType::String) {
            report.at(
                prefix.span(),
                format!("table `{table}`: column `{name}`: strip_prefix needs a string column"),
            );
        }
        if prefix.get_ref().is_empty() {
            report.at(
                prefix.span(),
                format!("table `{table}`: column `{name}`: strip_prefix is empty"),
            );
        }
        prefix.into_inner()
    });
    let unit = raw.unit.and_then(|unit| {
        let parsed = match unit.get_ref().as_str() {
            "seconds" | "s" => Some(EpochUnit::Seconds),
            "milliseconds" | "ms" => Some(EpochUnit::Milliseconds),
            "microseconds" | "us" => Some(EpochUnit::Microseconds),
            other => {
                report.at(
                    unit.span(),
                    format!("table `{table}`: column `{name}`: unit {other:?} is not known; write \"seconds\", \"milliseconds\" or \"microseconds\""),
                );
                None
            }
        };
        if let Some(t) = &data_type
            && !matches!(t, ColumnType::Timestamp | ColumnType::BigInt)
        {
            report.at(
                unit.span(),
                format!("table `{table}`: column `{name}`: a unit is for epoch numbers in a timestamp or bigint column, not {t}"),
            );
        }
        parsed
    });
    let required = raw.required || strip_prefix.is_some();
    (report.errors.len() == errors_before).then(|| ColumnDef {
        name,
        data_type: data_type.expect("no errors"),
        from,
        strip_prefix,
        unit,
        required,
    })
}

/// Whether one value could pass both tests.
fn compatible(a: &Test, b: &Test) -> bool {
    match (a, b) {
        (Test::Equals(x), Test::Equals(y)) => x == y,
        (Test::Equals(x), Test::BeginsWith(p)) | (Test::BeginsWith(p), Test::Equals(x)) => {
            x.starts_with(p.as_str())
        }
        (Test::BeginsWith(p), Test::BeginsWith(q)) => {
            p.starts_with(q.as_str()) || q.starts_with(p.as_str())
        }
    }
}

/// Two tables of one source kind that one record could match: a mistake, because the record
/// would have to be in both. Tables are apart when, on some path, every condition of one
/// excludes every condition of the other.
fn check_overlaps(report: &mut Report, tables: &[(TableDef, Range<usize>)]) {
    for (i, (a, _)) in tables.iter().enumerate() {
        for (b, span) in &tables[i + 1..] {
            if a.source != b.source {
                continue;
            }
            let apart = a.conditions.iter().any(|ca| {
                b.conditions
                    .iter()
                    .any(|cb| ca.path == cb.path && !compatible(&ca.test, &cb.test))
            });
            if !apart {
                let hint = if a.conditions.is_empty() || b.conditions.is_empty() {
                    "a table without `match` takes every record of its source"
                } else {
                    "give them conditions that exclude each other, on the same attribute"
                };
                report.at(
                    span.clone(),
                    format!(
                        "tables `{}` and `{}` can both match one {} record: {hint}",
                        a.name,
                        b.name,
                        a.source.name()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match Schema::parse(text, "t.toml") {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    const GOOD: &str = r#"version = 1

[[tables]]
name = "ticket_changes"
source = "dynamodb"
match = [{ attribute = "SK", begins_with = "TICKET#" }]
time = "updated_at"
state = { name = "tickets", key = ["customer_id", "ticket_id"] }
rest = "extra"
columns = [
  { name = "customer_id", type = "string", from = "PK", strip_prefix = "CUSTOMER#" },
  { name = "ticket_id", type = "string", from = "SK", strip_prefix = "TICKET#" },
  { name = "priority", type = "int" },
  { name = "tags", type = "array<string>" },
  { name = "updated_at", type = "timestamp", unit = "seconds" },
]

[[tables]]
name = "telemetry"
source = "json"
time = "ts"
columns = [
  { name = "ts", type = "timestamp", from = "timestamp", unit = "milliseconds" },
  { name = "device_os", type = "string", from = "device.os.name" },
]
"#;

    #[test]
    fn reads_a_schema() {
        let schema = Schema::parse(GOOD, "t.toml").unwrap();
        let tickets = schema.table("ticket_changes").unwrap();
        assert_eq!(tickets.source, SourceKind::Dynamodb);
        assert_eq!(
            tickets.conditions,
            [Condition {
                path: vec!["SK".into()],
                test: Test::BeginsWith("TICKET#".into())
            }]
        );
        let customer = tickets.column("customer_id").unwrap();
        assert!(customer.required);
        assert_eq!(customer.strip_prefix.as_deref(), Some("CUSTOMER#"));
        assert!(
            tickets.column("updated_at").unwrap().required,
            "the time column"
        );
        assert!(!tickets.column("priority").unwrap().required);
        assert_eq!(
            tickets.sort_key(),
            ["customer_id", "ticket_id", "change_time", "sequence_number"]
        );
        let schema = tickets.arrow_schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names[..9],
            [
                "operation",
                "sequence_number",
                "change_time",
                "event_id",
                "customer_id",
                "ticket_id",
                "priority",
                "tags",
                "updated_at"
            ]
        );
        assert_eq!(names[9], "extra");
        let telemetry = Schema::parse(GOOD, "t.toml").unwrap();
        let telemetry = telemetry.table("telemetry").unwrap();
        assert_eq!(
            telemetry.column("device_os").unwrap().from.as_deref(),
            Some(&["device".to_string(), "os".into(), "name".into()][..])
        );
    }

    #[test]
    fn every_mistake_has_its_line_and_reason() {
        let bad = r#"version = 1

[[tables]]
name = "Tickets"
source = "dynamo"
time = "when"
columns = [
  { name = "priority", type = "integr" },
  { name = "priority", type = "int" },
  { name = "operation", type = "string" },
  { name = "amount", type = "decimal(40,2)" },
  { name = "at", type = "string", unit = "seconds" },
]
"#;
        let found = errors(bad);
        let expected = [
            "t.toml:4: table `Tickets`: Athena keeps names in lower case",
            "t.toml:5: table `Tickets`: source \"dynamo\" is not known",
            "t.toml:8: table `Tickets`: column `priority`: unknown type `integr`",
            "t.toml:9: table `Tickets`: column `priority` is declared twice",
            "t.toml:11: table `Tickets`: column `amount`: decimal(40,2): the precision must be 1 to 38",
            "t.toml:12: table `Tickets`: column `at`: a unit is for epoch numbers",
            "t.toml:6: table `Tickets`: time column `when` is not a declared column",
        ];
        for e in expected {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "{e:?} not in {found:#?}"
            );
        }
        // `operation` is a json table's column, and only a dynamodb table's change column:
        // the unknown source fell back to json, so it is not reported
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_have_lines() {
        let found = errors("version = 1\n[[tables]]\nname = \"a\"\nsourse = \"json\"\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("t.toml:4: unknown field `sourse`"),
            "{found:?}"
        );
        let found = errors("version = 1\n[[tables]\n");
        assert!(found[0].starts_with("t.toml:2:"), "{found:?}");
        let found = errors("version = 2\n");
        assert!(found[0].contains("version 2 is not known"), "{found:?}");
        assert_eq!(
            found.len(),
            1,
            "a schema without tables is valid: {found:?}"
        );
        let found = errors("version = 1\nunmatched = \"drop\"\n");
        assert!(
            found[0].starts_with("t.toml:2: unmatched \"drop\" is not known"),
            "{found:?}"
        );
    }

    #[test]
    fn overlapping_tables_are_refused() {
        let two = |a: &str, b: &str| {
            format!(
                "version = 1\n[[tables]]\nname = \"a\"\nsource = \"dynamodb\"\n{a}\ntime = \"t\"\ncolumns = [{{ name = \"t\", type = \"timestamp\" }}]\n\
                 [[tables]]\nname = \"b\"\nsource = \"dynamodb\"\n{b}\ntime = \"t\"\ncolumns = [{{ name = \"t\", type = \"timestamp\" }}]\n"
            )
        };
        let sk = |test: &str| format!("match = [{{ attribute = \"SK\", {test} }}]");
        assert!(
            errors(&two(
                &sk("begins_with = \"ORDER#\""),
                &sk("equals = \"PROFILE\"")
            ))
            .is_empty()
        );
        assert!(
            errors(&two(
                &sk("begins_with = \"A#\""),
                &sk("begins_with = \"B#\"")
            ))
            .is_empty()
        );
        for (a, b) in [
            (
                sk("begins_with = \"ORDER#\""),
                sk("begins_with = \"ORDER#X\""),
            ),
            (sk("begins_with = \"ORDER#\""), sk("equals = \"ORDER#1\"")),
            (sk("begins_with = \"ORDER#\""), String::new()),
            (
                sk("begins_with = \"ORDER#\""),
                "match = [{ attribute = \"PK\", begins_with = \"USER#\" }]".to_string(),
            ),
        ] {
            let found = errors(&two(&a, &b));
            assert_eq!(found.len(), 1, "{a} / {b}: {found:?}");
            assert!(
                found[0].contains("can both match one dynamodb record"),
                "{found:?}"
            );
        }
    }

    #[test]
    fn key_time_and_state_rules() {
        let table = |extra: &str, columns: &str| {
            format!(
                "version = 1\n[[tables]]\nname = \"a\"\nsource = \"json\"\n{extra}\ncolumns = [{columns}]\n"
            )
        };
        let found = errors(&table(
            "time = \"n\"",
            "{ name = \"n\", type = \"bigint\" }",
        ));
        assert!(found[0].contains("a bigint with a unit"), "{found:?}");
        assert!(
            errors(&table(
                "time = \"n\"",
                "{ name = \"n\", type = \"bigint\", unit = \"ms\" }"
            ))
            .is_empty()
        );
        let found = errors(&table(
            "time = \"t\"\nstate = { name = \"s\", key = [\"t\"] }",
            "{ name = \"t\", type = \"timestamp\" }",
        ));
        assert!(found[0].contains("a json table has none"), "{found:?}");
        let found = errors(&table(
            "time = \"t\"\nrest = \"t\"",
            "{ name = \"t\", type = \"timestamp\" }",
        ));
        assert!(found[0].contains("already a column"), "{found:?}");
        let found = errors(&table(
            "time = \"t\"",
            "{ name = \"t\", type = \"timestamp\" }, { name = \"k\", type = \"int\", strip_prefix = \"X#\" }",
        ));
        assert!(
            found[0].contains("strip_prefix needs a string column"),
            "{found:?}"
        );
    }
}
