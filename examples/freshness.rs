//! End-to-end benchmark on LocalStack (used by `bench/stream.sh`): how many seconds pass from
//! PutRecords until `tributary sql` sees the record, at a given flush interval; and, for a burst
//! of records, whether the worker keeps up with the emulator and how much CPU it spends.
//!
//!   freshness [flush interval ...]      (default: 1s 5s; needs AWS_ENDPOINT_URL)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use serde_json::json;

#[path = "common/proc_stats.rs"]
mod proc_stats;

const SAMPLES: usize = 8;
const BURST: usize = 20_000;

fn tributary_bin() -> std::path::PathBuf {
    std::env::var_os("TRIBUTARY_BIN")
        .map(Into::into)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(|p| p.parent())
                .expect("target/release")
                .join("tributary")
        })
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}

fn count(warehouse: &str, filter: &str) -> u64 {
    let out = Command::new(tributary_bin())
        .args(["sql", "--warehouse", warehouse, "--format", "json", "-c"])
        .arg(format!("SELECT COUNT(*) AS n FROM events WHERE {filter}"))
        .output()
        .expect("tributary sql runs");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.first().and_then(|r| r["n"].as_u64()).unwrap_or(0)
}

fn event(page: &str, i: usize) -> Vec<u8> {
    let ts = 1_767_225_600_000i64 + (i as i64 % 3) * 86_400_000;
    serde_json::to_vec(
        &json!({"eventType": "PAGE_VIEW", "userId": format!("u{}", i % 97), "timestamp": ts,
                               "properties": {"page": page}}),
    )
    .unwrap()
}

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, records: Vec<Vec<u8>>) {
    for chunk in records.chunks(500) {
        let mut pending: Vec<Vec<u8>> = chunk.to_vec();
        while !pending.is_empty() {
            let entries = pending
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(format!("k{i}"))
                        .data(Blob::new(d.clone()))
                        .build()
                        .unwrap()
                })
                .collect::<Vec<_>>();
            let Ok(out) = client
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send()
                .await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            pending = pending
                .into_iter()
                .zip(out.records())
                .filter(|(_, r)| r.error_code().is_some())
                .map(|(d, _)| d)
                .collect();
        }
    }
}

fn start_worker(stream: &str, warehouse: &str, flush_interval: &str) -> Child {
    Command::new(tributary_bin())
        .args([
            "run",
            "--source",
            &format!("kinesis:{stream}"),
            "--warehouse",
            warehouse,
            "--flush-interval",
            flush_interval,
        ])
        .args(["--metrics-addr", "127.0.0.1:0", "--log", "warn"])
        .stdout(Stdio::null())
        .spawn()
        .expect("tributary run starts")
}

#[tokio::main]
async fn main() {
    let intervals: Vec<String> = {
        let given: Vec<String> = std::env::args().skip(1).collect();
        if given.is_empty() {
            vec!["1s".into(), "5s".into()]
        } else {
            given
        }
    };
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must point at LocalStack (source scripts/localstack.sh)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    for interval in intervals {
        let stream = unique("fresh");
        let bucket = unique("fresh-wh").to_lowercase();
        kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(2)
            .send()
            .await
            .expect("create stream");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        loop {
            let d = kinesis
                .describe_stream_summary()
                .stream_name(&stream)
                .send()
                .await
                .unwrap();
            if d.stream_description_summary()
                .unwrap()
                .stream_status()
                .as_str()
                == "ACTIVE"
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let warehouse = format!("s3://{bucket}/wh");
        let mut worker = start_worker(&stream, &warehouse, &interval);
        tokio::time::sleep(Duration::from_secs(2)).await;

        // freshness: one marker at a time, timed from PutRecords to the first query that sees it
        let mut latencies = Vec::new();
        for i in 0..SAMPLES {
            let marker = format!("/marker/{i}");
            let sent = Instant::now();
            put(&kinesis, &stream, vec![event(&marker, i)]).await;
            while count(&warehouse, &format!("properties.page = '{marker}'")) == 0 {
                assert!(
                    sent.elapsed() < Duration::from_secs(120),
                    "marker {i} never arrived"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            latencies.push(sent.elapsed().as_secs_f64());
        }
        latencies.sort_by(f64::total_cmp);

        // burst: the emulator's PutRecords rate against the worker's catch-up, and worker CPU
        let cpu0 = proc_stats::cpu_seconds(&worker.id().to_string());
        let burst: Vec<Vec<u8>> = (0..BURST).map(|i| event("/burst", i)).collect();
        let started = Instant::now();
        put(&kinesis, &stream, burst).await;
        let produced = started.elapsed().as_secs_f64();
        while count(&warehouse, "properties.page = '/burst'") < BURST as u64 {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the burst never arrived"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let visible = started.elapsed().as_secs_f64();
        let cpu = proc_stats::cpu_seconds(&worker.id().to_string()) - cpu0;
        let peak = proc_stats::memory_mib(&worker.id().to_string(), "VmHWM:");
        let _ = Command::new("kill")
            .args(["-TERM", &worker.id().to_string()])
            .status();
        let status = worker.wait().unwrap();
        println!(
            "{}",
            json!({
                "flush_interval": interval,
                "freshness_seconds": {"min": latencies[0], "median": latencies[SAMPLES / 2], "max": latencies[SAMPLES - 1]},
                "burst_records": BURST,
                "emulator_put_seconds": produced,
                "emulator_put_records_per_second": BURST as f64 / produced,
                "all_visible_after_seconds": visible,
                "worker_lag_after_last_put_seconds": visible - produced,
                "worker_cpu_seconds": cpu,
                "worker_cpu_seconds_per_100k_records": cpu / BURST as f64 * 100_000.0,
                "worker_peak_rss_mib": peak,
                "clean_exit": status.success(),
            })
        );
    }
}
