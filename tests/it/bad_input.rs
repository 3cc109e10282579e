//! Bad input: dead letters with exact counts and reasons, or a clear error; never a panic.

use std::io::Write;

use tributary_fixtures::hostile;

use crate::helpers::*;

const GOOD_EVENT: &str = r#"{"eventType":"PAGE_VIEW","userId":"user-1","timestamp":1767607200000,"properties":{"page":"/products/p1"}}"#;

fn dead_letters(warehouse: &std::path::Path, format: &str) -> Vec<serde_json::Value> {
    let dir = warehouse.join("dead_letters").join(format);
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
        );
    }
    lines.sort_by_key(|l| {
        l["sequence_number"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    });
    lines
}

#[test]
fn bad_events_become_dead_letters_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let lines = [
        GOOD_EVENT,
        r#"{"eventType":"PAGE_VIEW","userId":"user-2","timest"#, // 2: truncated
        r#"{"eventType":"PURCHASE","userId":"user-3","timestamp":"yesterday"}"#, // 3: wrong type
        "",                                                      // 4: blank, skipped
        r#"[1, 2, 3]"#,                                          // 5: not an object
        r#"{"eventType":"ADD_TO_CART","timestamp":1767607200000}"#, // 6: no userId
        GOOD_EVENT,
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let wh = dir.path().join("wh");
    let summary = backfill(path_str(&input), "events", path_str(&wh), &[]);
    assert_eq!(summary["records_read"], 6);
    assert_eq!(summary["rows"]["events"], 2);
    assert_eq!(summary["dead_letters"], 4);
    let letters = dead_letters(&wh, "events");
    let seqs: Vec<_> = letters
        .iter()
        .map(|l| l["sequence_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        seqs,
        ["2", "3", "5", "6"],
        "line numbers point at the bad lines"
    );
    assert_eq!(letters[0]["raw"], lines[1]);
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("EOF"),
        "{}",
        letters[0]
    );
    assert!(
        letters[1]["reason"].as_str().unwrap().contains("timestamp"),
        "{}",
        letters[1]
    );
    assert_eq!(
        letters[3]["reason"].as_str().unwrap(),
        "column userid (from userid, any case) is missing",
        "{}",
        letters[3]
    );
    assert!(
        letters
            .iter()
            .all(|l| l["shard"].as_str().unwrap().ends_with("events.jsonl")
                && l["format"] == "events")
    );
    assert_eq!(count(path_str(&wh), "events"), 2);
}

fn stream_record(event_id: &str, sk: &str, image: serde_json::Value) -> String {
    serde_json::json!({
        "eventID": event_id, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "dynamodb": {"ApproximateCreationDateTime": 1767607200.0, "Keys": {"PK": {"S": "USER#u1"}, "SK": {"S": sk}},
                     "NewImage": image, "SequenceNumber": "100", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    })
    .to_string()
}

#[test]
fn bad_stream_records_become_dead_letters_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::json!({"createdAt": {"S": "2026-01-05T10:00:00Z"}, "status": {"S": "PENDING"}, "totalAmount": {"N": "10"}});
    let wrong_type = serde_json::json!({"createdAt": {"S": "2026-01-05T10:00:00Z"}, "totalAmount": {"S": "ten dollars"}});
    let lines = [
        stream_record("e1", "ORDER#o1", good.clone()),
        stream_record("e2", "ORDER#o2", wrong_type),
        stream_record("e3", "CART#c1", good.clone()),
        stream_record(
            "e4",
            "ORDER#o4",
            serde_json::json!({"status": {"S": "PAID"}}),
        ),
        r#"{"eventID":"e5","eventName":"INSERT","dynamodb":{"#.to_string(),
        stream_record("e1", "ORDER#o1", good), // redelivered
    ];
    let input = dir.path().join("changes.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.join("\n").as_bytes()).unwrap();
    std::fs::write(&input, gz.finish().unwrap()).unwrap();
    let wh = dir.path().join("wh");
    let summary = backfill(path_str(&input), "dynamodb-stream", path_str(&wh), &[]);
    assert_eq!(summary["rows"]["order_changes"], 1);
    assert_eq!(summary["duplicates_skipped"], 1);
    assert_eq!(summary["dead_letters"], 4);
    let reasons: Vec<String> = dead_letters(&wh, "dynamodb-stream")
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reasons[0],
        "column total_amount (from total_amount or totalAmount, any case): expected N, found S"
    );
    assert_eq!(
        reasons[1],
        "matches no table of the schema (PK \"USER#u1\", SK \"CART#c1\")"
    );
    assert_eq!(
        reasons[2],
        "column created_at (from created_at or createdAt, any case) is missing"
    );
    assert!(reasons[3].starts_with("invalid JSON"), "{reasons:?}");
}

#[test]
fn numbers_with_huge_exponents_are_refused_or_zero_at_once() {
    // each of these once cost 13 s and 4.2 GB of RSS: a 2 GiB string of zeros per value
    let dir = tempfile::tempdir().unwrap();
    let image = |total: &str, price: &str| {
        serde_json::json!({"createdAt": {"S": "2026-01-05T10:00:00Z"}, "totalAmount": {"N": total},
            "items": {"L": (0..20).map(|_| serde_json::json!({"M": {"productId": {"S": "p"}, "price": {"N": price}}})).collect::<Vec<_>>()}})
    };
    let lines = [
        stream_record("e1", "ORDER#o1", image("1e2147483647", "1")),
        stream_record("e2", "ORDER#o2", image("0e2147483647", "0e2147483647")),
        stream_record("e3", "ORDER#o3", image("1", "1e2147483647")),
        stream_record("e4", "ORDER#o4", image("1e-2147483648", "1")),
    ];
    let input = dir.path().join("changes.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let wh = dir.path().join("wh");
    let summary = backfill(path_str(&input), "dynamodb-stream", path_str(&wh), &[]);
    assert_eq!(summary["rows"]["order_changes"], 1, "{summary}");
    assert_eq!(summary["dead_letters"], 3, "{summary}");
    let reasons: Vec<String> = dead_letters(&wh, "dynamodb-stream")
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    let total = "column total_amount (from total_amount or totalAmount, any case)";
    assert_eq!(
        reasons[0],
        format!("{total}: 1e2147483647 does not fit DECIMAL(18,4)")
    );
    assert_eq!(
        reasons[1],
        "column items (from items, any case): 1e2147483647 does not fit DECIMAL(18,4)"
    );
    assert_eq!(
        reasons[2],
        format!("{total}: 1e-2147483648 has more than 4 decimal places")
    );
    let zero = sql(
        path_str(&wh),
        "SELECT order_id, total_amount = 0 AS t, items[1].price = 0 AS p, cardinality(items) AS n FROM order_changes",
    );
    assert_eq!(zero[0]["order_id"], "o2", "{zero:?}");
    assert_eq!(zero[0]["t"], true, "{zero:?}");
    assert_eq!(zero[0]["p"], true, "{zero:?}");
    assert_eq!(zero[0]["n"], 20, "{zero:?}");
}

#[test]
fn an_empty_file_writes_nothing_and_fails_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.jsonl");
    std::fs::write(&input, b"").unwrap();
    let summary = backfill(
        path_str(&input),
        "events",
        path_str(&dir.path().join("wh")),
        &[],
    );
    assert_eq!(summary["records_read"], 0);
    assert_eq!(summary["files_written"], 0);
}

/// Runs a failing command: exit code 1 (an error, not a panic's 101) and the message.
fn fails_with(args: &[&str], message: &str) {
    let out = tributary(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_or_corrupt_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let missing = dir.path().join("nope.jsonl");
    fails_with(
        &[
            "backfill",
            "--source",
            path_str(&missing),
            "--format",
            "events",
            "--warehouse",
            path_str(&wh),
        ],
        "does not exist",
    );
    let corrupt = dir.path().join("bad.jsonl.gz");
    std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 7, 7, 7, 7]).unwrap();
    fails_with(
        &[
            "backfill",
            "--source",
            path_str(&corrupt),
            "--format",
            "events",
            "--warehouse",
            path_str(&wh),
        ],
        "reading file://",
    );
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    fails_with(
        &[
            "backfill",
            "--source",
            path_str(&empty_dir),
            "--format",
            "events",
            "--warehouse",
            path_str(&wh),
        ],
        "no input files",
    );
    fails_with(
        &[
            "backfill",
            "--source",
            path_str(&empty_dir),
            "--format",
            "events",
            "--warehouse",
            "gs://b/x",
        ],
        "only local paths and s3://",
    );
    // an export without its manifest cannot be dated
    let data = dir.path().join("export").join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.json"), b"{}\n").unwrap();
    fails_with(
        &[
            "backfill",
            "--source",
            path_str(&data),
            "--format",
            "dynamodb-export",
            "--warehouse",
            path_str(&wh),
        ],
        "manifest-summary.json",
    );
    fails_with(
        &["sql", "--warehouse", path_str(&wh), "-c", "SELEC 1"],
        "SQL syntax error",
    );
    fails_with(
        &[
            "sql",
            "--warehouse",
            path_str(&wh),
            "-c",
            "SELECT nope FROM events",
        ],
        "nope",
    );
    // a bad flag is clap's usage error (exit 2), not a panic
    let out = tributary(&[
        "backfill",
        "--source",
        "x",
        "--format",
        "csv",
        "--warehouse",
        "w",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// A child's exit code (`None`: killed by a signal), output and peak resident memory.
struct Measured {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    max_rss_bytes: u64,
}

/// Runs `tributary` with `args` and reaps it with `wait4`, whose resource usage is this child's
/// alone (`getrusage(RUSAGE_CHILDREN)` would mix in every other test's children).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which std's Child::wait does not call"
)]
fn tributary_measured(args: &[&str]) -> Measured {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tributary binary runs");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            pipe.read_to_end(&mut out)
                .expect("reading a child's output");
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: rusage is plain old data, and all-zero is a valid value of it
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (`child` is never waited on), and both
    // pointers are to live locals
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().expect("the reading thread"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("the reading thread")).into_owned(),
        // kilobytes on Linux
        max_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    }
}

/// DuckDB over each table's Delta log (committed files only): rows, distinct ids, the sum of
/// the ids' numbers and of the amounts in cents. argv: the warehouse, then JSON
/// `{table: [id column, amount column or null]}`.
const HOSTILE_ROWS_SCRIPT: &str = r#"
import duckdb, duckdb_extension_delta, json, os, sys
wh = sys.argv[1]
ext = os.path.join(duckdb_extension_delta.__path__[0], "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
out = {}
for name, (id_column, amount) in json.loads(sys.argv[2]).items():
    cents = f"CAST(COALESCE(SUM({amount}), 0) * 100 AS BIGINT)" if amount else "0"
    r = con.execute(f"""SELECT COUNT(*), COUNT(DISTINCT {id_column}),
        COALESCE(SUM(CAST(substr({id_column}, 3) AS BIGINT)), 0), {cents}
        FROM delta_scan('{wh}/{name}')""").fetchone()
    out[name] = {"rows": r[0], "distinct": r[1], "id_sum": int(r[2]), "amount_cents": int(r[3])}
print(json.dumps(out))
"#;

/// The rows of a hostile run, read by DuckDB, are exactly the valid records: per change table
/// its row count, ids (each once) and amounts; per current-state table one row per id.
pub fn assert_hostile_rows_read_by_duckdb(wh: &str, expected: &hostile::Outcome) {
    let mut tables = serde_json::Map::new();
    for table in expected.tables.keys() {
        let (id, amount) = match *table {
            "events" => ("userid", Some("properties.amount")),
            "order_changes" => ("order_id", Some("total_amount")),
            "user_changes" => ("user_id", None),
            other => panic!("no ids known for {other}"),
        };
        tables.insert(table.to_string(), serde_json::json!([id, amount]));
    }
    let state = [
        ("order_changes", "orders", "order_id"),
        ("user_changes", "users", "user_id"),
    ];
    for (changes, state, id) in state {
        if expected.tables.contains_key(changes) {
            tables.insert(state.to_string(), serde_json::json!([id, null]));
        }
    }
    let spec = serde_json::Value::Object(tables).to_string();
    let duck = python_json(HOSTILE_ROWS_SCRIPT, &[wh, &spec]);
    for (table, rows) in &expected.tables {
        let theirs = &duck[*table];
        assert_eq!(theirs["rows"], rows.rows, "{table} rows, by DuckDB: {duck}");
        assert_eq!(
            theirs["distinct"], rows.rows,
            "{table}: each id once: {duck}"
        );
        assert_eq!(theirs["id_sum"], rows.id_sum, "{table} ids: {duck}");
        assert_eq!(
            theirs["amount_cents"], rows.amount_cents,
            "{table} amounts: {duck}"
        );
        let state = match *table {
            "order_changes" => Some("orders"),
            "user_changes" => Some("users"),
            _ => None,
        };
        if let Some(state) = state {
            // every id is its own item: one current-state row per change row
            assert_eq!(duck[state]["rows"], rows.rows, "{state}: {duck}");
            assert_eq!(duck[state]["id_sum"], rows.id_sum, "{state}: {duck}");
        }
    }
}

/// Dead letters, each with a reason, counted by the kind of record they hold; the reasons the
/// kinds must give where they have one to give.
pub fn hostile_dead_letter_kinds(
    letters: &[serde_json::Value],
    expected: &hostile::Outcome,
) -> std::collections::BTreeMap<hostile::Kind, u64> {
    use hostile::Kind;
    let mut kinds = std::collections::BTreeMap::new();
    for letter in letters {
        let reason = letter["reason"].as_str().unwrap_or_default();
        let shown = || {
            let mut s = letter.to_string();
            s.truncate(600);
            s
        };
        assert!(
            !reason.is_empty(),
            "a dead letter without a reason: {}",
            shown()
        );
        let kind = expected
            .kind_of_dead_letter(letter)
            .unwrap_or_else(|| panic!("a dead letter of no hostile record: {}", shown()));
        let must_say = match kind {
            Kind::Deep => Some("recursion limit exceeded"),
            Kind::KplBadChecksum => Some("checksum"),
            Kind::KplTruncated | Kind::KplBadKey => Some("KPL"),
            _ => None,
        };
        if let Some(text) = must_say {
            assert!(reason.contains(text), "{kind:?}: {reason}");
        }
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

#[test]
fn ten_thousand_hostile_records_per_format_are_dead_letters_and_the_valid_ones_rows() {
    use hostile::Target;
    // a generous bound, far above what the run needs (about 30 MB of 10 MB records each), far
    // below what a value that grows with its nesting or a 10 MB record copied per level costs
    const MAX_RSS: u64 = 2 << 30;
    for target in [Target::EventsFile, Target::StreamFile, Target::ExportFile] {
        let format = target.format().expect("a file format");
        let dir = tempfile::tempdir().unwrap();
        let hostile = hostile::records(target, 15, 10_000, true);
        let source = hostile.write(&dir.path().join("in")).unwrap();
        let wh = dir.path().join("wh");
        let run = tributary_measured(&[
            "backfill",
            "--source",
            path_str(&source),
            "--format",
            format,
            "--warehouse",
            path_str(&wh),
            "--json",
        ]);
        // bad records are values, not errors: the backfill succeeds (exit 0) and says how many
        assert_eq!(run.code, Some(0), "{format}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{format}: {}", run.stderr);
        assert!(
            run.max_rss_bytes < MAX_RSS,
            "{format}: the backfill peaked at {} MiB",
            run.max_rss_bytes >> 20
        );
        let summary: serde_json::Value = serde_json::from_slice(&run.stdout)
            .unwrap_or_else(|e| panic!("{format}: {e}: {}", String::from_utf8_lossy(&run.stdout)));
        let e = &hostile.expected;
        assert_eq!(summary["records_read"], e.records, "{format}: {summary}");
        for (table, rows) in &e.tables {
            assert_eq!(
                summary["rows"][*table].as_u64().unwrap_or(0),
                rows.rows,
                "{format}: {table}: {summary}"
            );
        }
        assert_eq!(
            summary["dead_letters"],
            e.dead_letter_count(),
            "{format}: {summary}"
        );
        assert_eq!(summary["duplicates_skipped"], 0, "{format}: {summary}");

        let letters = dead_letters(&wh, format);
        assert_eq!(letters.len() as u64, e.dead_letter_count(), "{format}");
        assert_eq!(
            hostile_dead_letter_kinds(&letters, e),
            e.dead_letters,
            "{format}: dead letters by kind"
        );
        for letter in &letters {
            assert_eq!(letter["format"], format);
            let raw_len = letter["raw"]
                .as_str()
                .or(letter["raw_base64"].as_str())
                .map_or(0, str::len);
            if e.kind_of_dead_letter(letter) == Some(hostile::Kind::Huge) {
                assert!(
                    raw_len >= hostile::HUGE_BYTES,
                    "a 10 MB record is kept whole"
                );
            }
        }
        assert_hostile_rows_read_by_duckdb(path_str(&wh), e);
        eprintln!(
            "{format}: {} records, {} dead letters, peak RSS {} MiB",
            e.records,
            e.dead_letter_count(),
            run.max_rss_bytes >> 20
        );
    }
}
