//! `tributary schema`: the built-in schema reads back as a valid schema file, and a file with
//! mistakes is refused with each mistake's line and reason, before anything runs.

use crate::helpers::{path_str, tributary, tributary_ok};

#[test]
fn the_builtin_schema_is_a_valid_schema_file() {
    let shown = tributary_ok(&["schema", "show"]);
    assert!(shown.contains("name = \"order_changes\""), "{shown}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.toml");
    std::fs::write(&file, &shown).unwrap();
    let checked = tributary_ok(&["schema", "check", path_str(&file)]);
    for table in ["events", "order_changes", "user_changes"] {
        assert!(checked.contains(&format!("  {table} (")), "{checked}");
    }
    assert!(
        checked.contains("current state in `orders` by (order_id)"),
        "{checked}"
    );
}

#[test]
fn schema_mistakes_are_reported_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("helpdesk.toml");
    std::fs::write(
        &file,
        r#"version = 1

[[tables]]
name = "ticket_changes"
source = "dynamodb"
match = [{ attribute = "SK", begins_with = "TICKET#" }]
time = "updated_at"
state = { name = "tickets", key = ["ticket_id"] }
columns = [
  { name = "ticket_id", type = "string", from = "SK", strip_prefix = "TICKET#" },
  { name = "priority", type = "integer32" },
  { name = "updated_at", type = "timestamp", unit = "hours" },
]
"#,
    )
    .unwrap();
    let out = tributary(&["schema", "check", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = |line: u32| format!("{}:{line}: table `ticket_changes`: column", file.display());
    assert!(
        stderr.contains(&format!("{} `priority`: unknown type `integer32`", at(11))),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{} `updated_at`: unit \"hours\" is not known",
            at(12)
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 mistakes in"), "{stderr}");
}

/// A schema file in `dir`.
fn schema_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    path_str(&file).to_string()
}

fn sql_with(schema: &str, warehouse: &str, sql: &str) -> Vec<serde_json::Value> {
    crate::helpers::sql_with(Some(schema), warehouse, sql)
}

#[test]
fn records_of_a_source_the_schema_does_not_describe_land_in_its_raw_table() {
    let dir = tempfile::tempdir().unwrap();
    // no tables at all: every record is kept in its source kind's raw table
    let schema = schema_file(dir.path(), "explore.toml", "version = 1\n");
    let changes = dir.path().join("changes.jsonl");
    let change = |id: &str, name: &str, status: &str| {
        format!(
            r#"{{"eventID":"{id}","eventName":"{name}","dynamodb":{{"ApproximateCreationDateTime":1767607200,"Keys":{{"PK":{{"S":"CUSTOMER#c1"}},"SK":{{"S":"TICKET#{id}"}}}},"NewImage":{{"PK":{{"S":"CUSTOMER#c1"}},"SK":{{"S":"TICKET#{id}"}},"status":{{"S":"{status}"}},"priority":{{"N":"12345678901234567890.5"}},"tags":{{"SS":["a"]}}}},"SequenceNumber":"1{id}","StreamViewType":"NEW_AND_OLD_IMAGES"}}}}"#
        )
    };
    let lines = [
        change("1", "INSERT", "open"),
        change("2", "MODIFY", "closed"),
        "not json".to_string(),
    ];
    std::fs::write(&changes, lines.join("\n")).unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"sessionId\":\"s1\",\"n\":1.50}\n[1,2]\n{\"sessionId\":\n",
    )
    .unwrap();
    let wh = dir.path().join("wh");
    let wh = path_str(&wh);
    let backfill = |source: &std::path::Path, format: &str| {
        let args = [
            "--schema",
            &schema,
            "backfill",
            "--source",
            path_str(source),
            "--format",
            format,
            "--warehouse",
            wh,
            "--json",
        ];
        serde_json::from_str::<serde_json::Value>(&tributary_ok(&args)).unwrap()
    };
    let summary = backfill(&changes, "dynamodb-stream");
    assert_eq!(summary["rows"]["dynamodb_raw"], 2, "{summary}");
    assert_eq!(
        summary["dead_letters"], 1,
        "only what is not JSON: {summary}"
    );
    let summary = backfill(&events, "events");
    assert_eq!(summary["rows"]["json_raw"], 2, "{summary}");
    assert_eq!(summary["dead_letters"], 1, "{summary}");

    let rows = sql_with(
        &schema,
        wh,
        "SELECT operation, json_extract_scalar(keys, '$.SK') AS sk, \
         json_extract_scalar(new_image, '$.status') AS status, \
         json_extract_scalar(new_image, '$.priority') AS priority, \
         json_extract_scalar(new_image, '$.tags[0]') AS tag, day \
         FROM dynamodb_raw ORDER BY sequence_number",
    );
    assert_eq!(
        rows,
        [
            serde_json::json!({"operation": "INSERT", "sk": "TICKET#1", "status": "open",
                "priority": "12345678901234567890.5", "tag": "a", "day": 5}),
            serde_json::json!({"operation": "MODIFY", "sk": "TICKET#2", "status": "closed",
                "priority": "12345678901234567890.5", "tag": "a", "day": 5}),
        ]
    );
    let rows = sql_with(
        &schema,
        wh,
        "SELECT json_extract_scalar(document, '$.sessionId') AS s, document FROM json_raw ORDER BY document DESC",
    );
    assert_eq!(rows[0]["s"], "s1");
    assert_eq!(rows[0]["document"], "{\"sessionId\":\"s1\",\"n\":1.50}");
    assert_eq!(rows[1]["document"], "[1,2]");
    let ddl = tributary_ok(&["--schema", &schema, "ddl", "--warehouse", wh]);
    assert!(
        ddl.contains("dynamodb_raw") && ddl.contains("json_raw"),
        "{ddl}"
    );
}

#[test]
fn a_new_column_reads_null_in_older_files_and_a_type_change_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = |columns: &str| {
        format!(
            "version = 1\n[[tables]]\nname = \"telemetry\"\nsource = \"json\"\ntime = \"ts\"\n\
             columns = [\n  {{ name = \"ts\", type = \"timestamp\", unit = \"milliseconds\" }},\n{columns}]\n"
        )
    };
    let v1 = schema_file(
        dir.path(),
        "v1.toml",
        &table("  { name = \"session_id\", type = \"string\" },\n"),
    );
    let v2 = schema_file(
        dir.path(),
        "v2.toml",
        &table(
            "  { name = \"session_id\", type = \"string\" },\n  { name = \"latency_ms\", type = \"double\" },\n",
        ),
    );
    let v3 = schema_file(
        dir.path(),
        "v3.toml",
        &table(
            "  { name = \"session_id\", type = \"bigint\" },\n  { name = \"latency_ms\", type = \"double\" },\n",
        ),
    );
    let wh = dir.path().join("wh");
    let wh = path_str(&wh);
    let input = |name: &str, lines: &[&str]| {
        let file = dir.path().join(name);
        std::fs::write(&file, lines.join("\n")).unwrap();
        file
    };
    let old = input(
        "old.jsonl",
        &[r#"{"ts":1767607200000,"sessionId":"a","latencyMs":1.5}"#],
    );
    let new = input(
        "new.jsonl",
        &[r#"{"ts":1767607200001,"sessionId":"b","latencyMs":2.5}"#],
    );
    let backfill = |schema: &str, source: &std::path::Path| {
        let args = [
            "--schema",
            schema,
            "backfill",
            "--source",
            path_str(source),
            "--format",
            "events",
            "--warehouse",
            wh,
            "--json",
        ];
        tributary(&args)
    };
    assert!(backfill(&v1, &old).status.success());
    let out = backfill(&v2, &new);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = sql_with(
        &v2,
        wh,
        "SELECT session_id, latency_ms FROM telemetry ORDER BY session_id",
    );
    assert_eq!(
        rows,
        [
            serde_json::json!({"session_id": "a"}),
            serde_json::json!({"session_id": "b", "latency_ms": 2.5}),
        ],
        "the older file reads NULL in the new column"
    );
    // an independent reader agrees: DuckDB's delta extension reads NULL in the older file
    let script = r#"
import duckdb, duckdb_extension_delta, json, os, sys
ext = os.path.join(duckdb_extension_delta.__path__[0], "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
rows = con.execute(f"SELECT session_id, latency_ms FROM delta_scan('{sys.argv[1]}/telemetry') ORDER BY session_id").fetchall()
print(json.dumps([list(r) for r in rows]))
"#;
    assert_eq!(
        crate::helpers::python_json(script, &[wh]),
        serde_json::json!([["a", null], ["b", 2.5]])
    );
    // the older schema still reads the table (its columns are all there)
    let rows = sql_with(&v1, wh, "SELECT COUNT(*) AS n FROM telemetry");
    assert_eq!(rows[0]["n"], 2);
    let out = backfill(&v3, &new);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "table telemetry: column session_id is string in the warehouse and long in the schema"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("a column's type cannot change"), "{stderr}");
}
