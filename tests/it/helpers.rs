//! Test helpers: running the CLI, fixtures, unique S3 buckets, the Python reader.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tributary_fixtures::expected::Expected;
use tributary_fixtures::{FixtureConfig, FixtureSummary};

/// The fixture size the tests use: big enough for every code path, small for a debug build.
pub fn fixture_config() -> FixtureConfig {
    FixtureConfig {
        events: 12_000,
        users: 150,
        orders: 900,
        days: 12,
        ..Default::default()
    }
}

/// Fixtures generated once per test binary, shared read-only.
pub fn fixtures() -> &'static (tempfile::TempDir, FixtureSummary) {
    static FIXTURES: OnceLock<(tempfile::TempDir, FixtureSummary)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary =
            tributary_fixtures::generate(&fixture_config(), dir.path()).expect("fixtures");
        (dir, summary)
    })
}

pub fn expected() -> &'static Expected {
    &fixtures().1.expected
}

/// Runs `tributary` with `args`.
pub fn tributary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .output()
        .expect("the tributary binary runs")
}

/// Runs `tributary`, asserting success; returns standard output.
pub fn tributary_ok(args: &[&str]) -> String {
    let out = tributary(args);
    assert!(
        out.status.success(),
        "tributary {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `tributary backfill ... --json`, returning the summary.
pub fn backfill(source: &str, format: &str, warehouse: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "backfill",
        "--source",
        source,
        "--format",
        format,
        "--warehouse",
        warehouse,
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&tributary_ok(&args)).expect("JSON summary")
}

/// Runs a named query with `--format json`.
pub fn query(name: &str, warehouse: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["query", name, "--warehouse", warehouse, "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&tributary_ok(&args)).expect("JSON rows")
}

/// Runs SQL with `--format json`.
pub fn sql(warehouse: &str, sql: &str) -> Vec<Value> {
    sql_with(None, warehouse, sql)
}

/// Runs SQL with `--format json` on the tables of `schema` (a schema file; the built-in one
/// without).
pub fn sql_with(schema: Option<&str>, warehouse: &str, sql: &str) -> Vec<Value> {
    let mut args = Vec::new();
    if let Some(schema) = schema {
        args.extend(["--schema", schema]);
    }
    args.extend([
        "sql",
        "--warehouse",
        warehouse,
        "--format",
        "json",
        "-c",
        sql,
    ]);
    serde_json::from_str(&tributary_ok(&args)).expect("JSON rows")
}

pub fn count(warehouse: &str, table: &str) -> u64 {
    sql(warehouse, &format!("SELECT COUNT(*) AS n FROM {table}"))[0]["n"]
        .as_u64()
        .expect("a count")
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}

/// The emulator's endpoint; integration tests need it and fail without it.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the integration tests through scripts/test.sh, which starts LocalStack",
    )
}

pub async fn s3_client() -> aws_sdk_s3::Client {
    let endpoint = endpoint();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A fresh bucket on LocalStack.
pub async fn create_bucket(client: &aws_sdk_s3::Client, prefix: &str) -> String {
    let bucket = unique(prefix).to_lowercase();
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    bucket
}

/// Uploads every file under `dir` to `s3://bucket/prefix/<relative path>`.
pub async fn upload_dir(
    client: &aws_sdk_s3::Client,
    dir: &Path,
    bucket: &str,
    prefix: &str,
) -> usize {
    let mut stack = vec![dir.to_path_buf()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let key = format!(
                "{prefix}/{}",
                p.strip_prefix(dir).expect("below dir").to_string_lossy()
            );
            let body =
                aws_sdk_s3::primitives::ByteStream::from(std::fs::read(&p).expect("read file"));
            client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .expect("put object");
            n += 1;
        }
    }
    n
}

/// Every key under `prefix`, via ListObjectsV2 with paging.
pub async fn list_keys(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.expect("list page").contents() {
            keys.push(object.key().expect("key").to_string());
        }
    }
    keys.sort();
    keys
}

/// The Python with duckdb and pyarrow; integration tests need it and fail without it.
pub fn python() -> PathBuf {
    PathBuf::from(std::env::var("TRIBUTARY_PYTHON").expect(
        "TRIBUTARY_PYTHON is not set: run the integration tests through scripts/test.sh, which installs duckdb and pyarrow",
    ))
}

/// Runs a Python script (with `args`) and parses its JSON output.
pub fn python_json(script: &str, args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

/// Every dead letter read from a Kinesis stream names its origin: the shard, the record's
/// sequence number and a reason.
pub fn assert_dead_letters_name_their_kinesis_origin(letters: &[Value]) {
    for letter in letters {
        assert!(
            letter["shard"].as_str().unwrap().starts_with("shardId-"),
            "{letter}"
        );
        assert!(
            !letter["sequence_number"].as_str().unwrap().is_empty(),
            "{letter}"
        );
        assert!(!letter["reason"].as_str().unwrap().is_empty(), "{letter}");
    }
}
