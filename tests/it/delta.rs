//! Backfill into Delta Lake tables: the same answers through the Delta log, DuckDB's delta
//! extension reads the same rows, a re-run commits nothing, a plain Hive warehouse of earlier
//! versions is refused, compaction and vacuum.

use tributary_fixtures::expected::compare_rows;

use crate::emulator::{read_lines, sorted_files};
use crate::helpers::*;

/// DuckDB's delta extension (the PyPI build matching the duckdb pin) over each table.
const DUCKDB_DELTA_SCRIPT: &str = r#"
import duckdb, duckdb_extension_delta, json, os, sys
wh = sys.argv[1]
ext = os.path.join(duckdb_extension_delta.__path__[0], "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
t = lambda name: f"delta_scan('{wh}/{name}')"
out = {"counts": {n: con.execute(f"SELECT COUNT(*) FROM {t(n)}").fetchone()[0]
                  for n in ["events", "order_changes", "user_changes"]}}
out["day5"] = con.execute(f"SELECT COUNT(*) FROM {t('events')} WHERE year = 2026 AND month = 1 AND day = 5").fetchone()[0]
out["partition_type"] = con.execute(f"SELECT typeof(year) FROM {t('events')} LIMIT 1").fetchone()[0]
rows = con.execute(f"""
  SELECT event_id, sequence_number, operation, status, CAST(total_amount AS VARCHAR), epoch_ms(created_at),
         len(items), CAST(items[1].price AS VARCHAR), extra_attributes
  FROM {t('order_changes')} ORDER BY event_id
""").fetchall()
out["order_changes"] = [list(r) for r in rows]
# every table, row by row, in the columns of SAME_ROWS (given as JSON: table -> [columns, order])
out["rows"] = {}
for name, (columns, order) in json.loads(sys.argv[2]).items():
    rows = con.execute(f"SELECT {columns} FROM {t(name)} ORDER BY {order}").fetchall()
    out["counts"][name] = len(rows)
    out["rows"][name] = [list(r) for r in rows]
print(json.dumps(out, default=str))
"#;

/// What both readers select from each table, and the order: the same SQL runs in DuckDB (over
/// `delta_scan`) and in ours. Timestamps as epoch milliseconds, decimals as text.
const SAME_ROWS: [(&str, &str, &str); 5] = [
    (
        "events",
        "eventtype, userid, \"timestamp\", properties.page, year, month, day",
        "eventtype, userid, \"timestamp\", properties.page",
    ),
    (
        "user_changes",
        "event_id, operation, user_id, email, country, {ms(change_time)}, year, month, day",
        "event_id",
    ),
    (
        "order_changes",
        "event_id, operation, order_id, status, {ms(change_time)}, year, month, day",
        "event_id",
    ),
    (
        "orders",
        "order_id, user_id, status, CAST(total_amount AS VARCHAR), deleted, {ms(last_change_time)}, \
         sequence_number, {ms(created_at)}, year, month, day",
        "order_id",
    ),
    (
        "users",
        "user_id, email, name, country, deleted, {ms(last_change_time)}, sequence_number, year",
        "user_id",
    ),
];

/// `tables` read by DuckDB's delta extension equal ours, row by row.
fn assert_duckdb_reads_as_we_do(wh: &str, tables: &[&str], duck: &serde_json::Value) {
    for (table, columns, order) in SAME_ROWS.iter().filter(|(t, ..)| tables.contains(t)) {
        let ours_columns: Vec<String> = columns
            .replace("{ms(", "CAST(")
            .replace(")}", " AS BIGINT) / 1000")
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} AS c{i}"))
            .collect();
        let ours = sql(
            wh,
            &format!(
                "SELECT {} FROM {table} ORDER BY {order}",
                ours_columns.join(", ")
            ),
        );
        let theirs = duck["rows"][table].as_array().unwrap();
        assert!(!ours.is_empty(), "{table} has rows");
        assert_eq!(ours.len(), theirs.len(), "{table}: rows");
        for (o, t) in ours.iter().zip(theirs) {
            let o: Vec<&serde_json::Value> = (0..ours_columns.len())
                .map(|i| &o[format!("c{i}")])
                .collect();
            let t: Vec<&serde_json::Value> = t.as_array().unwrap().iter().collect();
            assert_eq!(o, t, "{table}: a row differs");
        }
    }
}

/// The script's second argument: the tables to read row by row.
fn same_rows_argument(tables: &[&str]) -> String {
    let spec: serde_json::Map<String, serde_json::Value> = SAME_ROWS
        .iter()
        .filter(|(t, ..)| tables.contains(t))
        .map(|(table, columns, order)| {
            let duck = columns.replace("{ms(", "epoch_ms(").replace(")}", ")");
            (table.to_string(), serde_json::json!([duck, order]))
        })
        .collect();
    serde_json::Value::Object(spec).to_string()
}

fn delta_log_entries(table_dir: &std::path::Path) -> usize {
    std::fs::read_dir(table_dir.join("_delta_log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count()
}

#[test]
fn a_delta_backfill_answers_as_before_and_duckdb_reads_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    let events = backfill(path_str(&f.events_dir), "events", wh, &[]);
    let stream = backfill(path_str(&f.stream_dir), "dynamodb-stream", wh, &[]);
    let e = expected();
    assert_eq!(events["rows"]["events"], e.counts.events);
    assert_eq!(stream["rows"]["order_changes"], e.counts.order_changes);
    for table in ["events", "order_changes", "user_changes"] {
        assert!(
            dir.path().join(table).join("_delta_log").is_dir(),
            "{table} is a Delta table"
        );
    }

    // the named queries read the tables through the log and give the generator's answers
    crate::backfill::assert_named_queries_answer(wh);
    let want: Vec<_> = e
        .funnel
        .iter()
        .filter(|r| r.day.as_str() >= "2026-01-03" && r.day.as_str() <= "2026-01-05")
        .cloned()
        .collect();
    compare_rows(
        "funnel range",
        &query(
            "funnel",
            wh,
            &["--from", "2026-01-03", "--to", "2026-01-05"],
        ),
        &want,
    )
    .unwrap();

    // partition columns are ints, as the original design declares them
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
    assert!(day5 > 0);
    assert_eq!(day5, by_time);

    // an independent reader of the Delta log sees the same tables, row by row
    let every: Vec<&str> = SAME_ROWS.iter().map(|(t, ..)| *t).collect();
    let duck = python_json(DUCKDB_DELTA_SCRIPT, &[wh, &same_rows_argument(&every)]);
    assert_duckdb_reads_as_we_do(wh, &every, &duck);
    assert_eq!(duck["counts"]["events"], e.counts.events);
    assert_eq!(duck["counts"]["order_changes"], e.counts.order_changes);
    assert_eq!(duck["counts"]["user_changes"], e.counts.user_changes);
    assert_eq!(duck["day5"], day5);
    assert_eq!(duck["partition_type"], "INTEGER");
    // timestamps are microseconds in the Delta tables
    crate::independent_reader::assert_order_changes_equal(
        wh,
        "CAST(created_at AS BIGINT) / 1000",
        &duck["order_changes"],
    );

    // the same inputs again: every (input, table) is committed already, so nothing is written
    let commits = delta_log_entries(&dir.path().join("events"));
    let again = backfill(path_str(&f.events_dir), "events", wh, &[]);
    assert_eq!(again["already_committed"], 2, "{again}");
    assert_eq!(delta_log_entries(&dir.path().join("events")), commits);
    assert_eq!(count(wh, "events"), e.counts.events);
}

#[test]
fn a_warehouse_in_the_plain_layout_of_earlier_versions_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    backfill(path_str(&f.events_dir), "events", wh, &[]);
    // what earlier versions wrote: the same directories of Parquet files, without a log
    std::fs::remove_dir_all(dir.path().join("events").join("_delta_log")).unwrap();
    let refused = |args: &[&str]| {
        let out = tributary(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no Delta log") && stderr.contains("plain Hive layout"),
            "{args:?}: {stderr}"
        );
    };
    let source = path_str(&f.events_dir);
    refused(&[
        "backfill",
        "--source",
        source,
        "--format",
        "events",
        "--warehouse",
        wh,
    ]);
    refused(&["query", "funnel", "--warehouse", wh]);
    refused(&[
        "sql",
        "--warehouse",
        wh,
        "-c",
        "SELECT COUNT(*) FROM events",
    ]);
    refused(&["run", "--source", "kinesis:nowhere", "--warehouse", wh]);
}

/// Data files of a table, committed or not (what is on disk below its directory).
/// The data files below a table's directory (the log's checkpoints are Parquet too: not counted).
fn parquet_files(table_dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, n: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("_delta_log") {
                continue;
            }
            if path.is_dir() {
                walk(&path, n);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(table_dir, &mut n);
    n
}

#[test]
fn compaction_rewrites_small_files_and_vacuum_deletes_the_replaced_ones() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    // the events as 12 input files: each one is committed with its own files, as small
    // flushes would be
    let inputs = tempfile::tempdir().unwrap();
    let lines: Vec<String> = sorted_files(&f.events_dir)
        .iter()
        .flat_map(|p| read_lines(p))
        .collect();
    for (i, part) in lines.chunks(lines.len().div_ceil(12)).enumerate() {
        std::fs::write(
            inputs.path().join(format!("part-{i:02}.jsonl")),
            part.join("\n") + "\n",
        )
        .unwrap();
    }
    backfill(path_str(inputs.path()), "events", wh, &[]);
    let e = expected();
    let events_dir = dir.path().join("events");
    let before = parquet_files(&events_dir);
    let funnel = query("funnel", wh, &[]);
    let partitions = sql(
        wh,
        "SELECT COUNT(DISTINCT year * 10000 + month * 100 + day) AS partitions FROM events",
    )[0]["partitions"]
        .as_u64()
        .unwrap();
    assert!(
        before as u64 > 2 * partitions,
        "small flushes: {before} files in {partitions} partitions"
    );

    let out = tributary_ok(&["compact", "--warehouse", wh, "--table", "events"]);
    // "events: <removed> files rewritten as <added> in <partitions> partitions"
    let numbers: Vec<usize> = out
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [removed, added, compacted] = numbers[..] else {
        panic!("{out}")
    };
    assert!(
        removed > added && added >= compacted && compacted > 0,
        "{out}"
    );
    // the same rows and answers, from fewer files
    assert_eq!(count(wh, "events"), e.counts.events);
    assert_eq!(query("funnel", wh, &[]), funnel);
    compare_rows("funnel after compaction", &funnel, &e.funnel).unwrap();
    let duck = python_json(DUCKDB_DELTA_SCRIPT, &[wh, &same_rows_argument(&["events"])]);
    assert_duckdb_reads_as_we_do(wh, &["events"], &duck);
    assert_eq!(duck["counts"]["events"], e.counts.events);
    // the replaced files stay on disk for readers of older snapshots until vacuum
    assert_eq!(parquet_files(&events_dir), before + added);
    // readers start from a checkpoint of the compacted table, not from the small files
    let last_checkpoint = events_dir.join("_delta_log/_last_checkpoint");
    let hint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&last_checkpoint).unwrap()).unwrap();
    let newest = std::fs::read_dir(events_dir.join("_delta_log"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .max();
    assert_eq!(hint["version"].as_u64(), newest, "{hint}");

    let dry = tributary_ok(&["vacuum", "--warehouse", wh, "--retain", "0s", "--dry-run"]);
    assert!(
        dry.contains(&format!("events: would delete {removed} files")),
        "{dry}"
    );
    assert_eq!(parquet_files(&events_dir), before + added);
    // below the floor: refused, nothing deleted, unless the operator says so
    let refused = tributary(&["vacuum", "--warehouse", wh, "--retain", "0s"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("below the floor of 1day"),
        "{stderr}"
    );
    assert_eq!(parquet_files(&events_dir), before + added);
    let done = tributary_ok(&[
        "vacuum",
        "--warehouse",
        wh,
        "--retain",
        "0s",
        "--allow-short-retention",
    ]);
    assert!(
        done.contains(&format!("events: deleted {removed} files")),
        "{done}"
    );
    assert_eq!(parquet_files(&events_dir), before - removed + added);
    assert_eq!(count(wh, "events"), e.counts.events);
    let duck = python_json(DUCKDB_DELTA_SCRIPT, &[wh, &same_rows_argument(&["events"])]);
    assert_duckdb_reads_as_we_do(wh, &["events"], &duck);
    assert_eq!(duck["counts"]["events"], e.counts.events);

    // a warehouse without Delta tables has nothing to compact: a clear error
    let empty = tempfile::tempdir().unwrap();
    let out = tributary(&["compact", "--warehouse", path_str(empty.path())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Delta tables"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
