//! Helpers for the stream worker tests: Kinesis streams and DynamoDB tables on LocalStack,
//! producers that use the real APIs, and the worker as a child process.

use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};
use serde_json::Value;

use crate::helpers::*;

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .load()
        .await
}

pub async fn kinesis() -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&sdk_config().await)
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

/// Polls `check` until it returns `Some`, or fails with `what` at the deadline.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    wait_for_explained(what, timeout, None, check).await
}

/// [`wait_for`], showing a worker log's problems (see [`logged_problems`]) if it times out.
pub async fn wait_for_explained<T, F, Fut>(
    what: &str,
    timeout: Duration,
    log: Option<&Path>,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            log.map(|l| logged_problems(l, 30)).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A fresh Kinesis stream with `shards` shards, ACTIVE.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, prefix: &str, shards: i32) -> String {
    let name = unique(prefix);
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
    wait_stream_active(client, &name).await;
    name
}

pub async fn wait_stream_active(client: &aws_sdk_kinesis::Client, name: &str) {
    wait_for(
        "the stream to be ACTIVE",
        Duration::from_secs(60),
        || async {
            let out = client
                .describe_stream_summary()
                .stream_name(name)
                .send()
                .await
                .ok()?;
            (out.stream_description_summary()?.stream_status() == &StreamStatus::Active)
                .then_some(())
        },
    )
    .await
}

/// Puts records with PutRecords (500 at a time), retrying the entries the service refused.
pub async fn put_records(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    records: &[(String, Vec<u8>)],
) {
    for chunk in records.chunks(500) {
        let mut pending: Vec<&(String, Vec<u8>)> = chunk.iter().collect();
        let mut attempts = 0;
        while !pending.is_empty() {
            attempts += 1;
            assert!(attempts < 50, "PutRecords kept refusing records");
            let entries = pending
                .iter()
                .map(|(key, data)| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(key)
                        .data(Blob::new(data.clone()))
                        .build()
                        .unwrap()
                })
                .collect::<Vec<_>>();
            let out = match client
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send()
                .await
            {
                Ok(out) => out,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            // entries with an error code were not written: send exactly those again
            pending = pending
                .into_iter()
                .zip(out.records())
                .filter(|(_, r)| r.error_code().is_some())
                .map(|(p, _)| p)
                .collect();
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The event lines of a fixture directory, keyed by user id (the partition key a shop would use).
pub fn event_records(events_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for path in sorted_files(events_dir) {
        for line in read_lines(&path) {
            let v: Value = serde_json::from_str(&line).expect("fixture event JSON");
            out.push((
                v["userId"].as_str().expect("userId").to_string(),
                line.into_bytes(),
            ));
        }
    }
    out
}

pub fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Lines of a fixture file (gzipped or not).
pub fn read_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read fixture");
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    } else {
        String::from_utf8(bytes).expect("utf-8")
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The fixture's DynamoDB Streams records, redeliveries removed, in sequence order: the
/// changes to replay against a real table.
pub fn unique_changes(stream_dir: &Path) -> Vec<Value> {
    let mut seen = HashSet::new();
    let mut changes: Vec<Value> = Vec::new();
    for path in sorted_files(stream_dir) {
        for line in read_lines(&path) {
            let v: Value = serde_json::from_str(&line).expect("fixture stream JSON");
            if seen.insert(v["eventID"].as_str().expect("eventID").to_string()) {
                changes.push(v);
            }
        }
    }
    let seq = |v: &Value| {
        let s = v["dynamodb"]["SequenceNumber"]
            .as_str()
            .unwrap()
            .trim_start_matches('0')
            .to_string();
        (s.len(), s)
    };
    changes.sort_by_key(seq);
    changes
}

/// DynamoDB typed JSON → the SDK's attribute value.
pub fn attribute(v: &Value) -> AttributeValue {
    let (tag, inner) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .expect("a typed attribute");
    let strings = |a: &Value| {
        a.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().to_string()),
        "N" => AttributeValue::N(inner.as_str().unwrap().to_string()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings(inner)),
        "NS" => AttributeValue::Ns(strings(inner)),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(attribute).collect()),
        "M" => AttributeValue::M(item(inner)),
        other => panic!("attribute type {other} is not in the fixtures"),
    }
}

pub fn item(v: &Value) -> std::collections::HashMap<String, AttributeValue> {
    v.as_object()
        .expect("an item")
        .iter()
        .map(|(k, v)| (k.clone(), attribute(v)))
        .collect()
}

/// A fresh single-table-design table with a NEW_AND_OLD_IMAGES stream.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, prefix: &str) -> String {
    let name = unique(prefix);
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&name)
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    name
}

/// Applies changes as PutItem (INSERT, MODIFY) and DeleteItem (REMOVE): DynamoDB writes the
/// stream records itself.
pub async fn apply_changes(client: &aws_sdk_dynamodb::Client, table: &str, changes: &[Value]) {
    for change in changes {
        let ddb = &change["dynamodb"];
        match change["eventName"].as_str().unwrap() {
            "INSERT" | "MODIFY" => {
                client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item(&ddb["NewImage"])))
                    .send()
                    .await
                    .expect("PutItem");
            }
            "REMOVE" => {
                client
                    .delete_item()
                    .table_name(table)
                    .set_key(Some(item(&ddb["Keys"])))
                    .send()
                    .await
                    .expect("DeleteItem");
            }
            other => panic!("unknown eventName {other}"),
        }
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tributary run` as a child process, logging JSON to a file.
pub struct Worker {
    pub child: Child,
    pub log: PathBuf,
    pub metrics_port: u16,
}

/// Options every test worker uses: short intervals, so tests see flushes and takeovers quickly.
pub const FAST: &[&str] = &[
    "--flush-interval",
    "1s",
    "--poll-interval",
    "200ms",
    "--discovery-interval",
    "1s",
    "--lease-duration",
    "3s",
];

impl Worker {
    pub fn start(
        sources: &[String],
        warehouse: &str,
        log_dir: &Path,
        name: &str,
        extra: &[&str],
        env: &[(&str, String)],
    ) -> Worker {
        let metrics_port = free_port();
        let log = log_dir.join(format!("{name}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
        cmd.arg("run");
        for s in sources {
            cmd.args(["--source", s]);
        }
        cmd.args([
            "--warehouse",
            warehouse,
            "--metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
        ])
        .args(["--log-format", "json"])
        .args(if extra.contains(&"--log") {
            &[][..]
        } else {
            &["--log", "info"][..]
        })
        .args(FAST)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap(),
        );
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("tributary run starts");
        Worker {
            child,
            log,
            metrics_port,
        }
    }

    /// A handle on another worker's metrics port (for use inside closures).
    pub fn probe(metrics_port: u16) -> MetricsProbe {
        MetricsProbe { metrics_port }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGTERM, then the exit status, which must come within `timeout`.
    pub fn terminate(self, timeout: Duration) -> std::process::ExitStatus {
        self.stop("-TERM", timeout)
    }

    /// `signal` (`-TERM`, `-INT`), then the exit status, which must come within `timeout`.
    pub fn stop(mut self, signal: &str, timeout: Duration) -> std::process::ExitStatus {
        self.signal(signal);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the worker did not exit within {timeout:?} of {signal}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill9(mut self) {
        self.signal("-KILL");
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn http_get(&self, path: &str) -> Option<(u16, String)> {
        Self::probe(self.metrics_port).http_get(path).await
    }

    pub async fn metric(&self, name: &str, label_filter: &str) -> Option<f64> {
        Self::probe(self.metrics_port)
            .metric(name, label_filter)
            .await
    }

    /// Whether each of `sources` sources has discovered its shards, this worker reads every
    /// readable one, and each of them found nothing new at its last read with nothing left to
    /// write: what the worker reports, not a guess from elapsed time.
    pub async fn caught_up(&self, sources: usize) -> bool {
        Self::probe(self.metrics_port).caught_up(sources).await
    }
}

/// GETs on a worker's metrics port.
pub struct MetricsProbe {
    metrics_port: u16,
}

impl MetricsProbe {
    /// GET `path` on the metrics port: (status, body).
    pub async fn http_get(&self, path: &str) -> Option<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Some((status, body))
    }

    /// The value of one metric sample (`name{labels}`), summed over samples that match.
    /// See [`Worker::caught_up`].
    pub async fn caught_up(&self, sources: usize) -> bool {
        let Some((_, body)) = self.http_get("/metrics").await else {
            return false;
        };
        let per_source = |name: &str| -> HashMap<String, f64> {
            body.lines()
                .filter_map(|l| {
                    let rest = l.strip_prefix(name)?.strip_prefix("{source=\"")?;
                    let (source, value) = rest.split_once("\"} ")?;
                    Some((source.to_string(), value.parse().ok()?))
                })
                .collect()
        };
        let readable = per_source("tributary_shards_readable");
        let owned = per_source("tributary_shards_owned");
        let caught_up = per_source("tributary_shards_caught_up");
        readable.len() == sources
            && readable.iter().all(|(source, n)| {
                *n > 0.0 && owned.get(source) == Some(n) && caught_up.get(source) == Some(n)
            })
    }

    pub async fn metric(&self, name: &str, label_filter: &str) -> Option<f64> {
        let (_, body) = self.http_get("/metrics").await?;
        let values: Vec<f64> = body
            .lines()
            .filter(|l| l.starts_with(name) && l.contains(label_filter))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows of `table` in the warehouse (0 while the warehouse has no tables, or no directory,
/// yet: a worker just started); any other failure fails the test.
pub fn count_rows(warehouse: &str, table: &str) -> u64 {
    count_rows_with(None, warehouse, table)
}

/// [`count_rows`] on the tables of a schema file.
pub fn count_rows_with(schema: Option<&str>, warehouse: &str, table: &str) -> u64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
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
        &sql,
    ]);
    let out = tributary(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(
            stderr.contains("has none of the tables") || stderr.contains("does not exist"),
            "counting {table} failed: {stderr}"
        );
        return 0;
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON rows");
    rows.first()
        .and_then(|r| r["n"].as_u64())
        .unwrap_or_else(|| panic!("no count in {rows:?}"))
}

/// Waits until `table` holds exactly `n` rows; fails at once if it holds more.
pub async fn wait_for_rows(warehouse: &str, table: &str, n: u64, timeout: Duration) {
    wait_for_rows_explained(warehouse, table, n, timeout, None).await
}

/// The warnings and errors a worker logged (JSON lines), the last `max` of them: what a test
/// that timed out shows, so a failure in CI says what the worker was doing.
pub fn logged_problems(log: &Path, max: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .collect();
    // our own lines and object_store's retries, not the Delta kernel's snapshot chatter
    let tail: Vec<&str> = text
        .lines()
        .rev()
        .filter(|l| !l.contains("\"target\":\"buoyant_kernel"))
        .take(40)
        .collect();
    format!(
        "{} warnings and errors in {}, the last {max}:\n{}\nthe last lines:\n{}",
        problems.len(),
        log.display(),
        problems[problems.len().saturating_sub(max)..].join("\n"),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}

/// [`wait_for_rows`], showing the worker log's problems if it times out.
pub async fn wait_for_rows_explained(
    warehouse: &str,
    table: &str,
    n: u64,
    timeout: Duration,
    log: Option<&Path>,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let have = count_rows(warehouse, table);
        assert!(
            have <= n,
            "{table} holds {have} rows, more than the {n} produced: duplicates"
        );
        if have == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {table} holds {have} of {n} rows\n{}",
            log.map(|l| logged_problems(l, 30)).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Rows whose (shard, sequence number) appears more than once: 0 unless something was duplicated.
pub fn duplicate_rows(warehouse: &str, table: &str) -> u64 {
    let rows = sql(
        warehouse,
        &format!(
            "SELECT COALESCE(SUM(n - 1), 0) AS d FROM (SELECT COUNT(*) AS n FROM {table} \
             GROUP BY ingest_shard, ingest_sequence, {}) t",
            if table == "events" {
                "timestamp, userid, eventtype"
            } else {
                "event_id"
            }
        ),
    );
    rows[0]["d"]
        .as_u64()
        .unwrap_or_else(|| rows[0]["d"].as_str().unwrap().parse().unwrap())
}

/// The bytes of one S3 object.
pub async fn get_object_bytes(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e}"))
        .body
        .collect()
        .await
        .expect("the object's body")
        .to_vec()
}

/// Copies every object under `prefix` (ending in `/`) to the same relative path under `dir`, so
/// that a local reader sees the warehouse as it is on S3.
pub async fn download(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str, dir: &Path) {
    for key in list_keys(client, bucket, prefix).await {
        let path = dir.join(key.strip_prefix(prefix).expect("below the prefix"));
        std::fs::create_dir_all(path.parent().expect("a parent")).unwrap();
        std::fs::write(&path, get_object_bytes(client, bucket, &key).await).unwrap();
    }
}
