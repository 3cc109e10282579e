//! Benchmark of the stream worker's in-process path on one core: records in memory (as
//! GetRecords returns them) → decode → Arrow batches per partition → Parquet bytes, exactly the
//! functions `tributary run` calls, without the network. Used by `bench/stream.sh`.
//!
//!   stream_path <events dir> <dynamodb-stream dir>
//!
//! Prints one JSON object per workload: records, seconds, records/s, CPU seconds, CPU per 100k
//! records, Parquet bytes, and the process's peak RSS so far.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tributary_ingest::decode::kpl;
use tributary_ingest::stream::client::{RawRecord, StreamKind};
use tributary_ingest::stream::records::decode_chunk;
use tributary_transform::{Codec, SequenceNumber};

#[path = "common/proc_stats.rs"]
mod proc_stats;
use proc_stats::memory_mib;

fn cpu_seconds() -> f64 {
    proc_stats::cpu_seconds("self")
}

/// What `--flush-bytes` defaults to: buffers are encoded when they reach it.
const FLUSH_BYTES: usize = 128 << 20;

fn lines(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("input dir")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).expect("read input");
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut s)
                .expect("gunzip");
            s
        } else {
            bytes
        };
        out.extend(
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    out
}

fn records(data: Vec<Vec<u8>>) -> Vec<RawRecord> {
    data.into_iter()
        .enumerate()
        .map(|(i, data)| RawRecord {
            sequence: SequenceNumber::from_u64(49_000_000_000 + i as u64),
            arrival_ms: Some(0),
            data,
        })
        .collect()
}

/// Runs the path over `records` in pages of `page` records, as one shard would see them.
fn run(name: &str, kind: StreamKind, records: &[RawRecord], page: usize, user_records: usize) {
    let shard: Arc<str> = Arc::from("shardId-000000000000");
    // the inputs are already in memory: what the path itself adds is the peak above this
    let rss_before = memory_mib("self", "VmRSS:");
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let mut buffers: BTreeMap<_, Vec<_>> = BTreeMap::new();
    let mut held = 0usize;
    let mut parquet_bytes = 0usize;
    let mut rows = 0usize;
    let mut dead = 0usize;
    let mut flush = |buffers: &mut BTreeMap<_, Vec<_>>| {
        for (_, batches) in std::mem::take(buffers) {
            parquet_bytes += tributary_transform::parquet::encode(&batches, Codec::Zstd)
                .expect("encode")
                .len();
        }
    };
    let decoder =
        tributary_ingest::decode::SchemaDecoder::new(tributary_table::schema::Schema::builtin());
    for chunk in records.chunks(page) {
        let decoded = decode_chunk(&decoder, kind, &shard, chunk).expect("decode");
        dead += decoded.dead_letters.len();
        for batch in decoded.batches {
            rows += batch.batch.num_rows();
            held += batch.bytes;
            buffers
                .entry((batch.table, batch.partition))
                .or_default()
                .push(batch.batch);
        }
        if held >= FLUSH_BYTES {
            flush(&mut buffers);
            held = 0;
        }
    }
    flush(&mut buffers);
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    assert_eq!(dead, 0, "{name}: the benchmark input must decode cleanly");
    assert_eq!(
        rows, user_records,
        "{name}: every user record becomes a row"
    );
    println!(
        "{}",
        serde_json::json!({
            "workload": name,
            "stream_records": records.len(),
            "rows": rows,
            "seconds": seconds,
            "rows_per_second": rows as f64 / seconds,
            "cpu_seconds": cpu,
            "cpu_seconds_per_100k_rows": cpu / rows as f64 * 100_000.0,
            "parquet_bytes": parquet_bytes,
            "peak_rss_mib": memory_mib("self", "VmHWM:"),
            "rss_with_inputs_loaded_mib": rss_before,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, events_dir, stream_dir] = &args[..] else {
        eprintln!("usage: stream_path <events dir> <dynamodb-stream dir>");
        std::process::exit(2);
    };
    let events = lines(Path::new(events_dir));
    let n = events.len();
    // Kinesis GetRecords pages hold up to 10,000 records; DynamoDB Streams pages up to 1,000
    run(
        "kinesis events",
        StreamKind::Kinesis,
        &records(events.clone()),
        10_000,
        n,
    );
    // the same events aggregated by the KPL, 100 user records per Kinesis record
    let aggregated: Vec<Vec<u8>> = events
        .chunks(100)
        .map(|c| kpl::aggregate(&c.iter().map(|d| ("user", d.as_slice())).collect::<Vec<_>>()))
        .collect();
    drop(events);
    run(
        "kinesis events, KPL-aggregated x100",
        StreamKind::Kinesis,
        &records(aggregated),
        100,
        n,
    );
    // DynamoDB Streams records (redeliveries included: each is a distinct stream record here)
    let changes = lines(Path::new(stream_dir));
    let m = changes.len();
    run(
        "dynamodb stream records",
        StreamKind::DynamodbStream,
        &records(changes),
        1_000,
        m,
    );
}
