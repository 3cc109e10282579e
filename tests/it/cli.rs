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

/// Drives the shell through a pseudo-terminal, as a user at a keyboard would, and prints what
/// it saw as JSON: `{"status": exit status or -signal, "screen": everything the shell wrote}`.
const PTY_DRIVER: &str = r#"
import json, os, pty, select, sys, time

binary, warehouse, history, script = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TRIBUTARY_HISTORY"] = history
    os.execv(binary, [binary, "sql", "--warehouse", warehouse])

screen, pos = b"", 0

def fail(why):
    print(json.dumps({"status": None, "screen": screen.decode("utf-8", "replace"), "error": why}))
    sys.exit(0)

def read(deadline):
    """Reads what the shell wrote until `deadline`; False once it has closed its terminal."""
    global screen
    ready, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            return False
        screen += chunk
    return True

def expect(needle, seconds=60, resend=None):
    global pos
    deadline = time.monotonic() + seconds
    while True:
        i = screen.find(needle.encode(), pos)
        if i >= 0:
            pos = i + len(needle)
            return
        if time.monotonic() > deadline:
            fail("waited %ss for %r" % (seconds, needle))
        if resend is not None:
            os.write(fd, resend.encode())
        if not read(min(deadline, time.monotonic() + 0.5)):
            fail("the shell ended while %r was awaited" % needle)

for step in json.loads(script):
    if "send" in step:
        os.write(fd, step["send"].encode())
    else:
        expect(step["expect"], resend=step.get("resend"))

deadline = time.monotonic() + 60
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        fail("the shell did not end after \\q")
    if not read(min(deadline, time.monotonic() + 0.5)):
        time.sleep(0.05)  # the terminal is closed; the process is ending
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"status": code, "screen": screen.decode("utf-8", "replace")}))
"#;

/// Runs the shell under a pseudo-terminal through `steps` (`{"send": keys}` or
/// `{"expect": text}`, optionally `"resend"`: keys sent every half second until the text
/// shows), ending with `\q`; returns the screen after asserting a clean exit.
fn shell_session(wh: &str, history: &std::path::Path, steps: serde_json::Value) -> String {
    let mut steps = steps.as_array().unwrap().clone();
    steps.push(serde_json::json!({ "send": "\\q\r" }));
    let out = python_json(
        PTY_DRIVER,
        &[
            env!("CARGO_BIN_EXE_tributary"),
            wh,
            path_str(history),
            &serde_json::Value::Array(steps).to_string(),
        ],
    );
    let screen = out["screen"].as_str().unwrap().to_string();
    assert!(out.get("error").is_none(), "{}:\n{screen}", out["error"]);
    assert_eq!(out["status"], 0, "the shell's exit status:\n{screen}");
    screen
}

#[test]
fn the_sql_shell_edits_lines_completes_names_cancels_with_ctrl_c_and_keeps_its_history() {
    let (dir, wh) = events_warehouse();
    let history = dir.path().join("history");
    let users = tributary_ok(&[
        "sql",
        "--warehouse",
        &wh,
        "--format",
        "csv",
        "-c",
        "SELECT COUNT(DISTINCT userid) AS n FROM events",
    ]);
    let users = users.lines().nth(1).expect("a count").to_string();
    let endless = "SELECT COUNT(DISTINCT concat(a.userid, b.userid, c.userid)) AS x \
                   FROM events a, events b, events c;\r";
    let screen = shell_session(
        &wh,
        &history,
        serde_json::json!([
            { "expect": "tributary> " },
            { "send": "SELECT 40 + 2 AS answer;\r" },
            { "expect": "42" },
            { "expect": "tributary> " },
            // Up brings the statement back
            { "send": "\u{1b}[A\r" },
            { "expect": "42" },
            { "expect": "tributary> " },
            // a statement over two lines runs at its ';'
            { "send": "SELECT 100\r" },
            { "send": "+ 24 AS total;\r" },
            { "expect": "124" },
            { "expect": "tributary> " },
            // Tab completes a column name
            { "send": "SELECT COUNT(DISTINCT useri\t) AS n FROM events;\r" },
            { "expect": format!("| {users} ") },
            { "expect": "tributary> " },
            // Ctrl-C clears the line being typed
            { "send": "SELECT nonsense\u{3}" },
            { "expect": "tributary> " },
            // Ctrl-C cancels a statement that would run for hours, whenever it comes
            { "send": endless },
            { "expect": "cancelled", "resend": "\u{3}" },
            { "expect": "tributary> " },
            { "send": "SELECT 7 * 6 AS again;\r" },
            { "expect": "42" },
            { "expect": "tributary> " },
        ]),
    );
    assert!(!screen.contains("nonsense\r\nerror"), "{screen}");
    let kept = std::fs::read_to_string(&history).unwrap();
    for statement in [
        "SELECT 40 + 2 AS answer;",
        "+ 24 AS total;",
        "SELECT 7 * 6 AS again;",
    ] {
        assert!(
            kept.contains(statement),
            "history lacks {statement}:\n{kept}"
        );
    }
    // the next session finds the history: Up brings back the last statement
    shell_session(
        &wh,
        &history,
        serde_json::json!([
            { "expect": "tributary> " },
            { "send": "\u{1b}[A\r" },
            { "expect": "42" },
            { "expect": "tributary> " },
        ]),
    );
}
