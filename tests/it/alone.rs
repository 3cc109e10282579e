//! Tests that need the emulator to themselves. `scripts/test.sh` runs them after the others,
//! one at a time: 7.5 MB of hostile records load the emulator's Kinesis (one Node process on
//! this two-core machine), and in CI of stop 38 the test beside them timed out waiting for rows
//! (the kill -9 compaction test, 120 s). The dropped reads that made this worse are mended; the
//! emulator stays a shared, slow part, so the heaviest test keeps it to itself.

use std::time::Duration;

use serde_json::Value;

use crate::emulator::*;
use crate::helpers::*;

/// Issue 15, hostile input through the worker: 10,000 Kinesis records of every hostile kind
/// that fits in a Kinesis record (events, DynamoDB changes, KPL aggregates of both) give exactly
/// the valid rows, read back by DuckDB, and exactly one dead letter per hostile record, each with
/// its reason. Under them the worker once stalled: a flush or a lease renewal that came due
/// during a slow GetRecords dropped the read and asked again, so on a loaded emulator no read
/// finished (`shard_task::tests::a_slow_read_outlives_the_flushes_and_renewals_due_during_it`).
/// `TRIBUTARY_HOSTILE_WORKER_RECORDS` runs another number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_kinesis_records_through_the_worker_give_exact_rows_and_dead_letters() {
    use tributary_fixtures::hostile::{self, Target};
    let n = std::env::var("TRIBUTARY_HOSTILE_WORKER_RECORDS")
        .ok()
        .map_or(10_000, |n| {
            n.parse()
                .expect("TRIBUTARY_HOSTILE_WORKER_RECORDS is a number")
        });
    let hostile = hostile::records(Target::Kinesis, 15, n, false);
    let e = &hostile.expected;
    let bytes: usize = hostile.records.iter().map(|r| r.data.len()).sum();
    eprintln!("{} Kinesis records, {bytes} bytes", hostile.records.len());
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "hostile", 8).await;
    let bucket = create_bucket(&s3, "hostile-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let records: Vec<(String, Vec<u8>)> = hostile
        .records
        .iter()
        .map(|r| (r.partition_key.clone(), r.data.clone()))
        .collect();
    // put first (the emulator's Kinesis puts ten times slower while a reader polls it), over
    // eight shards (so that no GetRecords answer is a large part of the 10,000 records)
    put_records(&k, &stream, &records).await;
    let worker = Worker::start(
        &[format!("kinesis:{stream}")],
        &wh,
        dir.path(),
        "worker",
        &[],
        &[],
    );

    let timeout = Duration::from_secs(180);
    for (table, rows) in &e.tables {
        wait_for_rows_explained(&wh, table, rows.rows, timeout, Some(&worker.log)).await;
    }
    for (changes, state) in [("order_changes", "orders"), ("user_changes", "users")] {
        wait_for_rows_explained(
            &wh,
            state,
            e.tables[changes].rows,
            timeout,
            Some(&worker.log),
        )
        .await;
    }
    let expected_dead = e.dead_letter_count();
    let source = format!("kinesis-{stream}");
    let written = wait_for_explained(
        &format!("{expected_dead} dead letters written"),
        timeout,
        Some(&worker.log),
        || async {
            let n = worker
                .metric("tributary_dead_letters_total", &source)
                .await? as u64;
            (n >= expected_dead).then_some(n)
        },
    )
    .await;
    assert_eq!(written, expected_dead, "dead letters counted by the worker");
    let read = worker
        .metric("tributary_records_read_total", &source)
        .await
        .expect("records read");
    assert_eq!(read as u64, e.records, "every Kinesis record read once");
    let (status, body) = worker.http_get("/healthz").await.expect("healthz answers");
    assert_eq!(status, 200, "no shard stalled or stopped: {body}");
    assert!(worker.terminate(Duration::from_secs(60)).success());

    // the dead letters as written: one per hostile record, each with its reason
    let mut letters = Vec::new();
    for key in list_keys(&s3, &bucket, "wh/dead_letters/").await {
        let body = get_object_bytes(&s3, &bucket, &key).await;
        letters.extend(
            String::from_utf8(body)
                .expect("dead letters are JSON lines")
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("a dead letter line")),
        );
    }
    assert_eq!(letters.len() as u64, expected_dead);
    assert_eq!(
        crate::bad_input::hostile_dead_letter_kinds(&letters, e),
        e.dead_letters,
        "dead letters by kind"
    );
    assert_dead_letters_name_their_kinesis_origin(&letters);
    // the rows as an independent reader sees the committed tables
    let local = dir.path().join("wh");
    download(&s3, &bucket, "wh/", &local).await;
    crate::bad_input::assert_hostile_rows_read_by_duckdb(path_str(&local), e);
    for table in e.tables.keys() {
        assert_eq!(duplicate_rows(&wh, table), 0, "{table}");
    }
}
