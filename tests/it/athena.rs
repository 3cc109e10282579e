//! What we hand to Athena parses as Athena SQL, checked with an independent parser (sqlglot,
//! dialect `athena`): the DDL of `tributary ddl` and the named queries' `--print-sql`.

use crate::helpers::*;

const PARSE: &str = r#"
import json, sys, sqlglot
from sqlglot import exp
out = []
for text in sys.argv[1:]:
    for statement in sqlglot.parse(text, read="athena", error_level=sqlglot.ErrorLevel.RAISE):
        if statement is None:
            continue
        kind = type(statement).__name__
        columns = [c.name for c in statement.find_all(exp.ColumnDef)] if kind == "Create" else []
        out.append({"kind": kind, "columns": columns, "sql": statement.sql(dialect="athena")[:60]})
print(json.dumps(out))
"#;

#[test]
fn ddl_and_named_queries_parse_as_athena_sql() {
    let ddl = tributary_ok(&[
        "ddl",
        "--warehouse",
        "s3://lake/shop",
        "--database",
        "analytics",
        "--as",
        "hive",
    ]);
    let parsed = python_json(PARSE, &[&ddl]);
    let statements = parsed.as_array().unwrap();
    // the database, three tables, two views
    assert_eq!(statements.len(), 6, "{parsed:#}");
    assert!(
        statements.iter().all(|s| s["kind"] == "Create"),
        "{parsed:#}"
    );
    let events = &statements[1]["columns"];
    for column in [
        "eventtype",
        "userid",
        "timestamp",
        "properties",
        "year",
        "month",
        "day",
    ] {
        assert!(
            events.as_array().unwrap().iter().any(|c| c == column),
            "events lacks {column}: {events}"
        );
    }
    // the Delta tables' DDL (the default): no columns (Athena reads them from the log), and the
    // current-state tables as Delta tables too
    let delta = tributary_ok(&["ddl", "--warehouse", "s3://lake/shop", "--as", "delta"]);
    let parsed = python_json(PARSE, &[&delta]);
    let statements = parsed.as_array().unwrap();
    assert_eq!(statements.len(), 6, "{parsed:#}");
    assert!(
        statements
            .iter()
            .all(|s| s["kind"] == "Create" && s["columns"].as_array().unwrap().is_empty()),
        "{parsed:#}"
    );
    assert!(
        delta.contains("TBLPROPERTIES ('table_type'='DELTA')"),
        "{delta}"
    );
    for name in ["daily-orders", "top-users", "funnel"] {
        let sql = tributary_ok(&[
            "query",
            name,
            "--print-sql",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
        ]);
        let parsed = python_json(PARSE, &[&sql]);
        assert_eq!(parsed.as_array().unwrap().len(), 1, "{name}: {parsed:#}");
        assert_eq!(parsed[0]["kind"], "Select", "{name}: {parsed:#}");
    }
}

/// The Hive type of each column of a table's Parquet files, read with pyarrow.
const FILE_TYPES: &str = r#"
import json, sys, glob
import pyarrow as pa, pyarrow.parquet as pq
def hive(t):
    if pa.types.is_string(t) or pa.types.is_large_string(t): return "string"
    if pa.types.is_int64(t): return "bigint"
    if pa.types.is_int32(t): return "int"
    if pa.types.is_float64(t): return "double"
    if pa.types.is_boolean(t): return "boolean"
    if pa.types.is_date32(t): return "date"
    if pa.types.is_timestamp(t): return "timestamp"
    if pa.types.is_decimal(t): return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t): return f"array<{hive(t.value_type)}>"
    if pa.types.is_struct(t): return "struct<" + ",".join(f"{f.name}:{hive(f.type)}" for f in t) + ">"
    return str(t)
out = {}
for table in sys.argv[2:]:
    files = sorted(glob.glob(f"{sys.argv[1]}/{table}/**/*.parquet", recursive=True))
    schemas = {tuple((f.name, hive(f.type)) for f in pq.read_schema(p)) for p in files}
    out[table] = {"files": len(files), "schemas": [list(map(list, s)) for s in schemas]}
print(json.dumps(out))
"#;

/// `tributary ddl` declares the types the Parquet files have: the DDL, read back by our DDL
/// reader, against every file's schema as pyarrow reads it (same columns, same order, same
/// Hive types).
#[test]
fn ddl_declares_the_types_the_parquet_files_have() {
    use tributary_query::athena_ddl::{DdlStatement, parse};
    use tributary_query::ddl::hive_type;

    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    crate::backfill::load_events_and_stream(wh);
    let ddl = tributary_ok(&["ddl", "--warehouse", wh, "--as", "hive"]);
    let tables: Vec<_> = parse(&ddl)
        .unwrap_or_else(|e| panic!("{e}\n{ddl}"))
        .into_iter()
        .filter_map(|s| match s {
            DdlStatement::Table(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tables.len(), 3, "{ddl}");
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut args = vec![wh];
    args.extend(&names);
    let files = python_json(FILE_TYPES, &args);
    for table in &tables {
        let declared: Vec<serde_json::Value> = table
            .columns
            .iter()
            .map(|(name, t)| serde_json::json!([name, hive_type(t)]))
            .collect();
        let found = &files[&table.name];
        assert!(
            found["files"].as_u64().unwrap() > 0,
            "{}: no files",
            table.name
        );
        let schemas = found["schemas"].as_array().unwrap();
        assert_eq!(
            schemas.len(),
            1,
            "{}: every file has the same schema: {schemas:?}",
            table.name
        );
        assert_eq!(
            schemas[0].as_array().unwrap(),
            &declared,
            "{}: the DDL's columns and the files' differ",
            table.name
        );
    }
}

/// `tributary sql --ddl FILE` reads a warehouse through the DDL `tributary ddl` prints, as
/// Athena would: the same rows, the views, partition projection's ranges, and Athena's
/// metadata statements.
#[test]
fn sql_over_athena_ddl_sees_what_athena_sees() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    crate::backfill::load_events_and_stream(wh);
    let ddl_for = |years: &str| {
        let path = dir.path().join(format!("ddl-{years}.sql"));
        std::fs::write(
            &path,
            tributary_ok(&["ddl", "--warehouse", wh, "--years", years, "--as", "hive"]),
        )
        .unwrap();
        path
    };
    let (all_years, before) = (ddl_for("2000-2099"), ddl_for("2000-2025"));
    let over = |ddl: &std::path::Path, sql: &str| {
        tributary_ok(&[
            "sql",
            "--ddl",
            path_str(ddl),
            "--format",
            "trino",
            "-c",
            sql,
        ])
    };
    let warehouse =
        |sql: &str| tributary_ok(&["sql", "--warehouse", wh, "--format", "trino", "-c", sql]);

    // the Hive DDL's partition columns are strings, the Delta tables' ints, and as on Athena
    // (Trino) neither compares with the other's literals: each query in its two spellings
    for (hive, delta) in [
        ("SELECT COUNT(*) FROM analytics.events", None),
        ("SELECT COUNT(*) FROM analytics.orders", None),
        (
            "SELECT eventType, COUNT(*) FROM events GROUP BY 1 ORDER BY 1",
            None,
        ),
        (
            "SELECT COUNT(*) FROM analytics.events WHERE year = '2026' AND month = '01' AND day = '05'",
            Some(
                "SELECT COUNT(*) FROM analytics.events WHERE year = 2026 AND month = 1 AND day = 5",
            ),
        ),
        (
            "SELECT CAST(day AS INTEGER), COUNT(*) FROM analytics.events WHERE year = '2026' AND month = '01' AND day BETWEEN '03' AND '09' GROUP BY 1 ORDER BY 1",
            Some(
                "SELECT day, COUNT(*) FROM analytics.events WHERE year = 2026 AND month = 1 AND day BETWEEN 3 AND 9 GROUP BY 1 ORDER BY 1",
            ),
        ),
    ] {
        let (ddl, direct) = (over(&all_years, hive), warehouse(delta.unwrap_or(hive)));
        assert!(
            !direct.trim().is_empty() && direct.trim() != "0",
            "{hive}: {direct}"
        );
        assert_eq!(ddl, direct, "{hive}");
        if let Some(delta) = delta {
            let refused = tributary(&["sql", "--warehouse", wh, "-c", hive]);
            assert!(
                String::from_utf8_lossy(&refused.stderr)
                    .contains("Cannot apply operator: integer = varchar(4)"),
                "{hive} over the Delta tables"
            );
            let refused = tributary(&["sql", "--ddl", path_str(&all_years), "-c", delta]);
            assert!(
                String::from_utf8_lossy(&refused.stderr)
                    .contains("Cannot apply operator: varchar = integer"),
                "{delta} over the Hive DDL"
            );
        }
    }
    // projected years 2000-2025 leave out the 2026 partitions, as on Athena
    assert_eq!(
        over(&before, "SELECT COUNT(*) FROM analytics.events").trim(),
        "0"
    );

    let tables = over(&all_years, "SHOW TABLES");
    assert_eq!(
        tables.lines().collect::<Vec<_>>(),
        ["events", "order_changes", "orders", "user_changes", "users"]
    );
    let describe = over(&all_years, "DESCRIBE analytics.events");
    assert!(
        describe.lines().any(|l| l.starts_with("eventtype\tstring")),
        "{describe}"
    );
    assert!(describe.contains("# Partition Information"), "{describe}");
    assert!(
        describe.lines().last().unwrap().starts_with("day\tstring"),
        "{describe}"
    );
    let days = warehouse("SELECT COUNT(DISTINCT year * 10000 + month * 100 + day) FROM events");
    let partitions = over(&all_years, "SHOW PARTITIONS analytics.events");
    assert_eq!(partitions.lines().count().to_string(), days.trim());
    assert!(
        partitions
            .lines()
            .all(|p| p.starts_with("year=2026/month=")),
        "{partitions}"
    );
    let repair = over(&all_years, "MSCK REPAIR TABLE analytics.events");
    assert_eq!(repair.lines().count(), partitions.lines().count());
    assert!(
        repair.starts_with("Repair: Added partition to metastore events:year=2026/"),
        "{repair}"
    );
}
