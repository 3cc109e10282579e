//! What a new user meets first on the command line: a wrong warehouse path is an error, not
//! `(0 rows)`; an error says each cause once; CSV prints nested values as Athena does; a
//! closed pipe ends the program quietly.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::helpers::*;

/// A warehouse with the fixture events in it.
fn events_warehouse() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(&dir.path().join("wh")).to_string();
    backfill(path_str(&fixtures().1.events_dir), "events", &wh, &[]);
    (dir, wh)
}

#[test]
fn a_warehouse_without_tables_is_an_error_not_an_empty_answer() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no").join("such").join("dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (warehouse, reason) in [
        (&missing, "does not exist"),
        (
            &empty,
            "has none of the tables events, order_changes, user_changes",
        ),
    ] {
        for args in [
            vec!["query", "funnel", "--warehouse", path_str(warehouse)],
            vec![
                "sql",
                "--warehouse",
                path_str(warehouse),
                "-c",
                "SELECT COUNT(*) FROM events",
            ],
        ] {
            let out = tributary(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stdout.contains("0 rows"), "{stdout}");
            assert!(stderr.contains(reason), "{args:?}: {stderr}");
        }
    }
    assert!(
        !missing.exists(),
        "a reader created the directory it was given"
    );
    // SQL that reads no table of the warehouse still runs over an empty one
    let out = tributary_ok(&[
        "sql",
        "--warehouse",
        path_str(&empty),
        "-c",
        "SELECT 1 AS one",
    ]);
    assert!(out.contains('1'), "{out}");
}

#[test]
fn an_error_says_each_cause_once() {
    let (_dir, wh) = events_warehouse();
    let out = tributary(&["sql", "--warehouse", &wh, "-c", "SELECT * FROM nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("not found").count(), 1, "{stderr}");
    assert!(stderr.contains("nosuch"), "{stderr}");
}

#[test]
fn csv_prints_nested_values_as_athena_does_and_a_closed_pipe_ends_quietly() {
    let (_dir, wh) = events_warehouse();
    let csv = tributary_ok(&[
        "sql",
        "--warehouse",
        &wh,
        "--format",
        "csv",
        "-c",
        "SELECT properties, ARRAY[1, 2] AS a FROM events WHERE properties.page IS NOT NULL LIMIT 1",
    ]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("properties,a"));
    let row = lines.next().expect("a row");
    assert!(row.starts_with("\"{page=/"), "{row}");
    assert!(row.ends_with(",\"[1, 2]\""), "{row}");

    // far more than a pipe holds; the reader goes away after a few bytes
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "sql",
            "--warehouse",
            &wh,
            "--format",
            "csv",
            "-c",
            "SELECT * FROM events",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "a closed pipe printed: {stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}",
        out.status
    );
}
