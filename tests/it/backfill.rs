//! Backfill into a local warehouse: answers, counts, idempotence, partitions.

use serde_json::Value;
use tributary_fixtures::expected::compare_rows;

use crate::emulator::unique_changes;
use crate::helpers::*;

pub fn load_events_and_stream(warehouse: &str) -> (serde_json::Value, serde_json::Value) {
    let (_, f) = fixtures();
    let events = backfill(path_str(&f.events_dir), "events", warehouse, &[]);
    let stream = backfill(path_str(&f.stream_dir), "dynamodb-stream", warehouse, &[]);
    (events, stream)
}

/// The three named queries over `wh` give the generator's answers for the whole fixture.
pub fn assert_named_queries_answer(wh: &str) {
    let e = expected();
    compare_rows(
        "daily-orders",
        &query("daily-orders", wh, &[]),
        &e.stream.daily_orders,
    )
    .unwrap();
    compare_rows(
        "top-users",
        &query("top-users", wh, &[]),
        &e.stream.top_users[..10],
    )
    .unwrap();
    compare_rows("funnel", &query("funnel", wh, &[]), &e.funnel).unwrap();
    assert_state_tables_match_the_change_log(wh);
}

/// `orders` and `users` are Delta tables holding, row for row, the latest change of each key
/// as ranked over the whole change table.
pub fn assert_state_tables_match_the_change_log(wh: &str) {
    for (state, changes, key, columns) in [
        (
            "orders",
            "order_changes",
            "order_id",
            "order_id, user_id, status, total_amount, currency, created_at, items",
        ),
        (
            "users",
            "user_changes",
            "user_id",
            "user_id, email, name, country, created_at",
        ),
    ] {
        let ranked = format!(
            "SELECT {columns}, operation = 'REMOVE' AS deleted, change_time AS last_change_time, \
             sequence_number, year, month, day FROM (SELECT *, row_number() OVER (PARTITION BY {key} \
             ORDER BY change_time DESC, sequence_number DESC NULLS LAST) AS rn FROM {changes}) WHERE rn = 1"
        );
        let stored = format!(
            "SELECT {columns}, deleted, last_change_time, sequence_number, year, month, day FROM {state}"
        );
        let n = |sql_text: &str| sql(wh, sql_text)[0]["n"].as_u64().unwrap();
        let keys = n(&format!("SELECT COUNT(DISTINCT {key}) AS n FROM {changes}"));
        assert!(keys > 0, "{changes} is empty");
        assert_eq!(
            n(&format!("SELECT COUNT(*) AS n FROM {state}")),
            keys,
            "{state}: one row per key"
        );
        let diff = format!(
            "SELECT COUNT(*) AS n FROM (({stored}) EXCEPT ({ranked}) UNION ALL (({ranked}) EXCEPT ({stored})))"
        );
        assert_eq!(n(&diff), 0, "{state} differs from the latest changes");
        // a real table, not the view
        let described = sql(
            wh,
            &format!(
                "SELECT table_type FROM information_schema.tables WHERE table_name = '{state}'"
            ),
        );
        assert_eq!(described[0]["table_type"], "BASE TABLE", "{described:?}");
    }
}

/// `user_changes`, column by column, equals the change records it came from (read here with
/// serde_json, not by the decoder under test): two swapped text columns, a wrong image or a
/// shifted timestamp fail. A REMOVE carries the old image.
pub fn assert_user_changes_equal_the_records(wh: &str, changes: &[Value]) {
    let text = |image: &Value, key: &str| image[key]["S"].as_str().map(str::to_string);
    let micros = |image: &Value, key: &str| {
        let iso = text(image, key)?;
        let t = chrono::DateTime::parse_from_rfc3339(&iso).expect("fixture ISO-8601 time");
        Some(Value::from(t.timestamp_micros()))
    };
    let mut want: Vec<Vec<Value>> = changes
        .iter()
        .filter(|c| c["dynamodb"]["Keys"]["SK"]["S"] == "PROFILE")
        .map(|c| {
            let operation = c["eventName"].as_str().unwrap();
            let image = &c["dynamodb"][if operation == "REMOVE" {
                "OldImage"
            } else {
                "NewImage"
            }];
            let user = c["dynamodb"]["Keys"]["PK"]["S"].as_str().unwrap();
            vec![
                Value::from(user.strip_prefix("USER#").unwrap()),
                Value::from(operation),
                text(image, "email").into(),
                text(image, "name").into(),
                text(image, "country").into(),
                micros(image, "createdAt").into(),
                micros(image, "updatedAt").into(),
            ]
        })
        .collect();
    let rows = sql(
        wh,
        "SELECT user_id, operation, email, name, country, CAST(created_at AS BIGINT) AS created, \
         CAST(updated_at AS BIGINT) AS updated FROM user_changes",
    );
    let columns = [
        "user_id",
        "operation",
        "email",
        "name",
        "country",
        "created",
        "updated",
    ];
    let mut got: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| r[*c].clone()).collect())
        .collect();
    assert!(!want.is_empty(), "the records hold user changes");
    let key = |r: &Vec<Value>| serde_json::to_string(r).unwrap();
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got.len(), want.len(), "user_changes rows");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "user_changes ({columns:?})");
    }
}

#[test]
fn named_queries_equal_the_generators_answers() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (events, stream) = load_events_and_stream(wh);
    let e = expected();
    assert_eq!(events["rows"]["events"], e.counts.events);
    assert_eq!(events["dead_letters"], 0);
    assert_eq!(events["input_files"], 2, "a plain and a gzipped file");
    assert_eq!(stream["records_read"], e.counts.stream_records);
    assert_eq!(stream["duplicates_skipped"], e.counts.stream_duplicates);
    assert!(
        e.counts.stream_duplicates > 0,
        "the fixtures redeliver some records"
    );
    assert_eq!(stream["rows"]["order_changes"], e.counts.order_changes);
    assert_eq!(stream["rows"]["user_changes"], e.counts.user_changes);
    let (_, f) = fixtures();
    assert_user_changes_equal_the_records(wh, &unique_changes(&f.stream_dir));

    assert_named_queries_answer(wh);
    compare_rows(
        "top-users --limit 3",
        &query("top-users", wh, &["--limit", "3"]),
        &e.stream.top_users[..3],
    )
    .unwrap();

    // a date range reads only its partitions and gives the same rows for those days
    let (from, to) = ("2026-01-03", "2026-01-05");
    let in_range = |d: &str| d >= from && d <= to;
    let want: Vec<_> = e
        .stream
        .daily_orders
        .iter()
        .filter(|r| in_range(&r.order_date))
        .cloned()
        .collect();
    assert_eq!(want.len(), 3);
    compare_rows(
        "daily-orders range",
        &query("daily-orders", wh, &["--from", from, "--to", to]),
        &want,
    )
    .unwrap();
    let want: Vec<_> = e
        .funnel
        .iter()
        .filter(|r| in_range(&r.day))
        .cloned()
        .collect();
    compare_rows(
        "funnel range",
        &query("funnel", wh, &["--from", from, "--to", to]),
        &want,
    )
    .unwrap();

    // the latest-state views
    let created: u64 = e.stream.daily_orders.iter().map(|d| d.orders).sum();
    assert_eq!(count(wh, "orders"), created);
    let deleted = sql(wh, "SELECT COUNT(*) AS n FROM orders WHERE deleted")[0]["n"]
        .as_u64()
        .unwrap();
    assert_eq!(deleted, created - e.counts.export_orders);
    assert_eq!(count(wh, "users"), e.counts.export_users);
}

#[test]
fn identifiers_are_case_insensitive_and_partition_filters_prune() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    load_events_and_stream(wh);
    let rows = sql(
        wh,
        "SELECT eventType, userId, properties.productId AS product FROM events \
         WHERE eventType = 'ADD_TO_CART' AND properties.productId IS NOT NULL LIMIT 1",
    );
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["product"].as_str().unwrap().starts_with("prod-"));
    // only the day=05 directory is in the plan
    let plan = tributary_ok(&[
        "sql",
        "--warehouse",
        wh,
        "--format",
        "csv",
        "-c",
        "EXPLAIN SELECT userId FROM events WHERE year = 2026 AND month = 1 AND day = 5",
    ]);
    assert!(plan.contains("day=05"), "{plan}");
    assert!(
        !plan.contains("day=04") && !plan.contains("day=06"),
        "partitions not pruned:\n{plan}"
    );
    // and the count matches the partition's rows
    let day5 = sql(
        wh,
        "SELECT COUNT(*) AS n FROM events WHERE year = 2026 AND month = 1 AND day = 5",
    )[0]["n"]
        .as_u64()
        .unwrap();
    let by_time = sql(
        wh,
        "SELECT COUNT(*) AS n FROM events WHERE timestamp >= 1767571200000 AND timestamp < 1767657600000",
    )[0]["n"]
        .as_u64()
        .unwrap();
    assert_eq!(day5, by_time);
    assert!(day5 > 0);
}

#[test]
fn tables_are_reachable_by_database_name_as_on_athena() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    load_events_and_stream(wh);
    let all = count(wh, "events");
    assert!(all > 0);
    for name in [
        "analytics.events",
        "ANALYTICS.EVENTS",
        "awsdatacatalog.analytics.events",
    ] {
        assert_eq!(count(wh, name), all, "{name}");
    }
    assert_eq!(
        count(wh, "analytics.orders"),
        count(wh, "orders"),
        "views too"
    );
    // the original design's Athena idiom for the event day gives the partition's day
    let by_date = sql(
        wh,
        "SELECT CAST(date(from_unixtime(timestamp / 1000)) AS VARCHAR) AS d, COUNT(*) AS n \
         FROM analytics.events GROUP BY 1 ORDER BY 1",
    );
    let by_partition = sql(
        wh,
        "SELECT format('%04d-%02d-%02d', year, month, day) AS d, COUNT(*) AS n FROM analytics.events GROUP BY 1 ORDER BY 1",
    );
    assert!(by_date.len() > 1);
    assert_eq!(by_date, by_partition);
    athena_funnel_query_gives_trinos_answer(wh);
    athena_unnest_queries_agree_with_duckdb(wh);
    // another database name, from the flag or TRIBUTARY_DATABASE
    let rows = tributary_ok(&[
        "sql",
        "--warehouse",
        wh,
        "--database",
        "shop",
        "--format",
        "json",
        "-c",
        "SELECT COUNT(*) AS n FROM shop.events",
    ]);
    assert!(rows.contains(&format!("\"n\":{all}")), "{rows}");
    let out = tributary(&[
        "sql",
        "--warehouse",
        wh,
        "--database",
        "shop",
        "-c",
        "SELECT COUNT(*) FROM analytics.events",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("analytics.events"),
        "the error names the table"
    );
    let out = tributary(&[
        "sql",
        "--warehouse",
        wh,
        "--database",
        "my-db",
        "-c",
        "SELECT 1",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid database name"));
}

/// A conversion query as written for Athena on the original design's table: camelCase names,
/// partition filters, `properties.page LIKE`, `count_if` and `ROUND(100.0 * … / NULLIF(…, 0), 2)`,
/// run unchanged. Trino's answer follows from the counts by its decimal rules: `100.0 * n` is a
/// `decimal(14,1)`, the division rounds half up to one fraction digit, and `ROUND(…, 2)` keeps
/// that type, so the rate prints with one fraction digit.
fn athena_funnel_query_gives_trinos_answer(wh: &str) {
    let query = "SELECT date(from_unixtime(timestamp / 1000)) AS day, \
            count_if(eventType = 'PAGE_VIEW' AND properties.page LIKE '/products/%') AS views, \
            count_if(eventType = 'ADD_TO_CART') AS carts, \
            ROUND(100.0 * count_if(eventType = 'ADD_TO_CART') / NULLIF(count_if(eventType = 'PAGE_VIEW' AND properties.page LIKE '/products/%'), 0), 2) AS cart_rate \
         FROM analytics.events \
         WHERE year = 2026 OR year <> 2026 \
         GROUP BY 1 ORDER BY 1";
    let out = tributary_ok(&["sql", "--warehouse", wh, "--format", "trino", "-c", query]);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert!(rows.len() > 1, "{out}");
    let mut checked = 0;
    for row in &rows {
        let (views, carts): (u64, u64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        let expected = if views == 0 {
            "NULL".to_string()
        } else {
            // tenths of a percent, half up: (1000·carts / views) rounded
            let tenths = (2000 * carts + views) / (2 * views);
            format!("{}.{}", tenths / 10, tenths % 10)
        };
        assert_eq!(
            row[3], expected,
            "day {}: {carts} carts / {views} views",
            row[0]
        );
        checked += usize::from(views > 0);
    }
    assert!(checked > 0, "some day has product views: {out}");
    // the same counts as plain SQL gives them
    let plain = sql(
        wh,
        "SELECT COUNT(*) AS n FROM events WHERE eventtype = 'ADD_TO_CART'",
    );
    let carts: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert_eq!(plain[0]["n"].as_u64(), Some(carts));
}

/// Athena's ways into arrays of rows, run unchanged — `CROSS JOIN UNNEST(o.items) AS t(item)`
/// with `t.item.price`, and `items[1].price` — against DuckDB on the same Parquet files.
fn athena_unnest_queries_agree_with_duckdb(wh: &str) {
    let ours = tributary_ok(&[
        "sql",
        "--warehouse",
        wh,
        "--format",
        "trino",
        "-c",
        "SELECT COUNT(*), SUM(t.item.price * t.item.quantity) FROM analytics.order_changes AS o CROSS JOIN UNNEST(o.items) AS t(item); \
         SELECT SUM(items[1].price), COUNT(items[1].product_id) FROM analytics.order_changes",
    ]);
    let duckdb = python_json(
        r#"
import duckdb, json, sys
files = sys.argv[1] + "/order_changes/**/*.parquet"
con = duckdb.connect()
a = con.execute(f"SELECT COUNT(*), CAST(SUM(i.price * i.quantity) AS VARCHAR) FROM (SELECT unnest(items) AS i FROM read_parquet('{files}'))").fetchone()
b = con.execute(f"SELECT CAST(SUM(items[1].price) AS VARCHAR), COUNT(items[1].product_id) FROM read_parquet('{files}')").fetchone()
print(json.dumps([[a[0], a[1]], [b[0], b[1]]]))
"#,
        &[wh],
    );
    let lines: Vec<Vec<&str>> = ours.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{ours}");
    let decimal = |text: &str| {
        text.parse::<f64>()
            .unwrap_or_else(|_| panic!("a number: {text}"))
    };
    assert_eq!(
        lines[0][0],
        duckdb[0][0].to_string(),
        "unnested items: {ours}"
    );
    assert!(lines[0][0] != "0");
    assert_eq!(
        decimal(lines[0][1]),
        decimal(duckdb[0][1].as_str().unwrap()),
        "revenue of the items: {ours}"
    );
    assert_eq!(
        decimal(lines[1][0]),
        decimal(duckdb[1][0].as_str().unwrap()),
        "first items' prices: {ours}"
    );
    assert_eq!(lines[1][1], duckdb[1][1].to_string());
}

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn backfilling_again_leaves_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    let events = path_str(&f.events_dir);
    let first = backfill(events, "events", wh, &[]);
    let first_files = files(dir.path());
    let second = backfill(events, "events", wh, &[]);
    assert_eq!(
        files(dir.path()),
        first_files,
        "a re-run writes and commits nothing"
    );
    assert_eq!(second["already_committed"], first["input_files"]);
    assert_eq!(second["rows"], serde_json::json!({}));
    assert_eq!(count(wh, "events"), expected().counts.events);

    // other buffer limits would cut other files, but the inputs are in the table already
    let small = backfill(events, "events", wh, &["--max-file-bytes", "64KiB"]);
    assert_eq!(small["already_committed"], first["input_files"]);
    assert_eq!(files(dir.path()), first_files);
    assert_eq!(count(wh, "events"), expected().counts.events);
    compare_rows("funnel", &query("funnel", wh, &[]), &expected().funnel).unwrap();

    // the stream: redelivered records are not written twice, run after run
    let stream = path_str(&f.stream_dir);
    backfill(stream, "dynamodb-stream", wh, &[]);
    backfill(stream, "dynamodb-stream", wh, &[]);
    assert_eq!(count(wh, "order_changes"), expected().counts.order_changes);
    let dupes = sql(
        wh,
        "SELECT COUNT(*) AS n FROM (SELECT event_id FROM order_changes GROUP BY event_id HAVING COUNT(*) > 1)",
    );
    assert_eq!(dupes[0]["n"], 0);
}

#[test]
fn a_dynamodb_export_loads_as_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    let e = expected();
    let summary = backfill(path_str(&f.export_dir), "dynamodb-export", wh, &[]);
    assert_eq!(summary["input_files"], 2);
    assert_eq!(summary["rows"]["order_changes"], e.counts.export_orders);
    assert_eq!(summary["rows"]["user_changes"], e.counts.export_users);
    assert_eq!(summary["dead_letters"], 0);
    compare_rows(
        "daily-orders (export)",
        &query("daily-orders", wh, &[]),
        &e.export.daily_orders,
    )
    .unwrap();
    compare_rows(
        "top-users (export)",
        &query("top-users", wh, &[]),
        &e.export.top_users[..10],
    )
    .unwrap();
    let ops = sql(wh, "SELECT DISTINCT operation FROM order_changes");
    assert_eq!(ops, vec![serde_json::json!({"operation": "SNAPSHOT"})]);
    // the export and the stream together: the stream's later changes win
    backfill(path_str(&f.stream_dir), "dynamodb-stream", wh, &[]);
    compare_rows(
        "top-users (export + stream)",
        &query("top-users", wh, &[]),
        &e.stream.top_users[..10],
    )
    .unwrap();
}

#[test]
fn print_sql_shows_the_query_without_a_warehouse() {
    let sql = tributary_ok(&[
        "query",
        "daily-orders",
        "--print-sql",
        "--from",
        "2026-01-02",
    ]);
    assert!(
        sql.contains("FROM orders") && sql.contains(">= '2026-01-02'"),
        "{sql}"
    );
    let out = tributary(&[
        "query",
        "funnel",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-01",
        "--warehouse",
        "/tmp",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is after --to"));
}

#[test]
fn the_repl_runs_statements_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "sql",
            "--warehouse",
            path_str(dir.path()),
            "--format",
            "csv",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT 40 + 2 AS answer;\nSELECT nope;\nSELECT COUNT(*) AS n\nFROM events;\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout, "answer\n42\nn\n0\n",
        "a mistake is reported and the session goes on"
    );
    assert!(stderr.contains("nope"), "{stderr}");
    // a script's mistake reaches its exit status
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 statement(s) failed"), "{stderr}");
}
