//! A Kinesis stream deleted and created again under its name, on LocalStack: the worker that
//! reads it is stopped with what it read committed, and the next one reads the new stream in a
//! namespace of its own instead of skipping its records by the old checkpoints.

use std::time::Duration;

use serde_json::json;

use crate::emulator::*;
use crate::helpers::*;

/// `n` page views tagged `tag`, keyed by user.
fn page_views(n: usize, tag: &str) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let user = format!("user-{}", i % 7);
            let event = json!({"eventType": "PAGE_VIEW", "userId": user,
                               "timestamp": 1_767_225_600_000i64 + i as i64,
                               "properties": {"page": format!("/{tag}/{i}")}});
            (user, serde_json::to_vec(&event).unwrap())
        })
        .collect()
}

async fn delete_stream(k: &aws_sdk_kinesis::Client, name: &str) {
    k.delete_stream()
        .stream_name(name)
        .enforce_consumer_deletion(true)
        .send()
        .await
        .expect("DeleteStream");
    wait_for("the stream to be gone", Duration::from_secs(60), || async {
        k.describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_recreated_under_its_name_is_read_fresh_beside_the_old_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "recreated", 1).await;
    let bucket = create_bucket(&s3, "recreated-wh").await;
    let wh = format!("s3://{bucket}/wh");
    put_records(&k, &stream, &page_views(30, "old")).await;
    let sources = [format!("kinesis:{stream}")];
    let start = ["--start", "trim-horizon"];
    let worker = Worker::start(&sources, &wh, dir.path(), "first", &start, &[]);
    wait_for_rows_explained(
        &wh,
        "events",
        30,
        Duration::from_secs(90),
        Some(&worker.log),
    )
    .await;

    // re-created under the running worker: it stops, saying why, with an error status
    delete_stream(&k, &stream).await;
    k.create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .expect("CreateStream again");
    wait_stream_active(&k, &stream).await;
    let mut first = worker;
    let log = first.log.clone();
    let status = wait_for_explained(
        "the first worker to stop once its stream changed",
        Duration::from_secs(90),
        Some(&log),
        || {
            let exited = first.child.try_wait().unwrap();
            async move { exited }
        },
    )
    .await;
    assert_eq!(status.code(), Some(1), "{}", first.log_text());
    assert!(
        first
            .log_text()
            .contains("the stream changed under the worker"),
        "{}",
        first.log_text()
    );

    // the new stream's records, whose sequence numbers the old checkpoint could shadow
    put_records(&k, &stream, &page_views(20, "new")).await;
    let second = Worker::start(&sources, &wh, dir.path(), "second", &start, &[]);
    wait_for_rows_explained(
        &wh,
        "events",
        50,
        Duration::from_secs(90),
        Some(&second.log),
    )
    .await;
    let new_pages = count_where(&wh, "properties.page LIKE '/new/%'");
    assert_eq!(new_pages, 20, "{}", second.log_text());
    assert!(
        second
            .log_text()
            .contains("starts fresh in its own namespace"),
        "{}",
        second.log_text()
    );
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("wh/_tributary/streams/")
        .send()
        .await
        .unwrap();
    let identities: Vec<&str> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter(|key| key.ends_with("/stream.json"))
        .collect();
    assert_eq!(identities.len(), 2, "{identities:?}");
    assert!(
        identities
            .iter()
            .any(|key| key.contains(&format!("kinesis-{stream}.created-"))),
        "{identities:?}"
    );
    assert!(second.terminate(Duration::from_secs(60)).success());
    assert_eq!(duplicate_rows(&wh, "events"), 0);
}

/// Rows of `events` in `warehouse` matching `predicate`, counted by the binary's SQL.
fn count_where(warehouse: &str, predicate: &str) -> u64 {
    let out = tributary_ok(&[
        "sql",
        "--warehouse",
        warehouse,
        "--format",
        "csv",
        "-c",
        &format!("SELECT COUNT(*) AS n FROM events WHERE {predicate}"),
    ]);
    out.lines()
        .nth(1)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a count: {out}"))
}
