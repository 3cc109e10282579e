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
