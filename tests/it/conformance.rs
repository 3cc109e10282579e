//! The Trino conformance suite (`tests/conformance/*.toml`), run through `tributary sql
//! --format trino`: each case's output must equal what Trino's documentation gives.

use serde_json::Value;

use crate::helpers::*;

#[test]
fn trino_cases_give_trinos_answers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let warehouse = tempfile::tempdir().unwrap();
    let mut cases = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file: Value = toml::from_str::<toml::Value>(&std::fs::read_to_string(&path).unwrap())
            .map(|v| serde_json::to_value(v).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file["case"].as_array().expect("[[case]] entries") {
            let (sql, expected, doc) = (
                case["sql"].as_str().unwrap(),
                case["expected"].as_str().unwrap(),
                case["doc"].as_str().unwrap(),
            );
            assert!(
                doc.starts_with("https://trino.io/docs/"),
                "every case cites Trino's documentation: {sql}"
            );
            cases += 1;
            let out = tributary(&[
                "sql",
                "--warehouse",
                path_str(warehouse.path()),
                "--format",
                "trino",
                "-c",
                sql,
            ]);
            let got = String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string();
            if !out.status.success() || got != expected {
                failures.push(format!(
                    "{sql}\n  expected {expected:?}\n  got      {got:?} {}\n  ({doc})",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    assert!(cases > 0, "no cases found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ from Trino:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
