//! Bad input: dead letters with exact counts and reasons, or a clear error; never a panic.

use std::io::Write;

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
