//! The warehouse on S3 (LocalStack, through the AWS SDK over HTTP): sources and warehouse on
//! S3 work wherever a directory does.

use tributary_fixtures::expected::compare_rows;
use tributary_ingest::stream::checkpoint::{CheckpointError, CheckpointStore, ShardState};
use tributary_ingest::stream::shard::{ShardId, StartPosition};
use tributary_table::{SequenceNumber, Warehouse};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn backfill_from_s3_into_s3_and_query_it() {
    let client = s3_client().await;
    let bucket = create_bucket(&client, "tributary-it").await;
    let (_, f) = fixtures();
    let e = expected();
    assert_eq!(
        upload_dir(&client, &f.events_dir, &bucket, "input/events").await,
        2
    );
    upload_dir(&client, &f.stream_dir, &bucket, "input/stream").await;
    upload_dir(
        &client,
        f.export_dir.parent().unwrap().parent().unwrap(),
        &bucket,
        "input/export",
    )
    .await;
    let wh = format!("s3://{bucket}/warehouse");

    let events = backfill(&format!("s3://{bucket}/input/events"), "events", &wh, &[]);
    assert_eq!(events["rows"]["events"], e.counts.events);
    let stream = backfill(
        &format!("s3://{bucket}/input/stream/"),
        "dynamodb-stream",
        &wh,
        &[],
    );
    assert_eq!(stream["rows"]["order_changes"], e.counts.order_changes);
    assert_eq!(stream["duplicates_skipped"], e.counts.stream_duplicates);

    // the layout, as S3 lists it
    // the change tables' data files (the logs and the current-state tables aside)
    let all = list_keys(&client, &bucket, "warehouse/").await;
    let state =
        |k: &String| k.starts_with("warehouse/orders/") || k.starts_with("warehouse/users/");
    assert!(all.iter().any(|k| state(k) && k.ends_with(".parquet")));
    let keys: Vec<String> = all
        .iter()
        .filter(|k| !k.contains("/_delta_log/") && !state(k))
        .cloned()
        .collect();
    assert_eq!(
        keys.len() as u64,
        events["files_written"].as_u64().unwrap() + stream["files_written"].as_u64().unwrap()
    );
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert!(
            ["events", "order_changes", "user_changes"].contains(&parts[1]),
            "{key}"
        );
        assert!(
            parts[2].starts_with("year=") && parts[2].len() == 9,
            "{key}"
        );
        assert!(
            parts[3].starts_with("month=") && parts[3].len() == 8,
            "{key}"
        );
        assert!(parts[4].starts_with("day=") && parts[4].len() == 6, "{key}");
        assert!(
            parts[5].starts_with("bf-") && parts[5].ends_with(".parquet"),
            "{key}"
        );
    }

    compare_rows(
        "daily-orders on S3",
        &query("daily-orders", &wh, &[]),
        &e.stream.daily_orders,
    )
    .unwrap();
    compare_rows(
        "top-users on S3",
        &query("top-users", &wh, &[]),
        &e.stream.top_users[..10],
    )
    .unwrap();
    compare_rows("funnel on S3", &query("funnel", &wh, &[]), &e.funnel).unwrap();

    // again: nothing written or committed, the same counts
    let again = backfill(&format!("s3://{bucket}/input/events"), "events", &wh, &[]);
    assert_eq!(again["already_committed"], again["input_files"]);
    assert_eq!(list_keys(&client, &bucket, "warehouse/").await, all);
    assert_eq!(count(&wh, "events"), e.counts.events);

    // an export on S3, found through its manifest
    let export_prefix = format!("s3://{bucket}/input/export/AWSDynamoDB/");
    let export_wh = format!("s3://{bucket}/export-warehouse");
    let export = backfill(&export_prefix, "dynamodb-export", &export_wh, &[]);
    assert_eq!(export["rows"]["order_changes"], e.counts.export_orders);
    compare_rows(
        "daily-orders export on S3",
        &query("daily-orders", &export_wh, &[]),
        &e.export.daily_orders,
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_or_prefix_is_a_clear_error() {
    let client = s3_client().await;
    let bucket = create_bucket(&client, "tributary-empty").await;
    let out = tributary(&[
        "backfill",
        "--source",
        &format!("s3://{bucket}/nothing-here"),
        "--format",
        "events",
        "--warehouse",
        &format!("s3://{bucket}/wh"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fencing on real S3 semantics: LocalStack refuses a checkpoint write that names an earlier
/// (real) ETag, so a worker whose lease was taken over cannot checkpoint; and the start-up probe
/// that checks this passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_checkpoint_write_fails_on_s3() {
    let client = s3_client().await;
    let bucket = create_bucket(&client, "fencing").await;
    let wh = Warehouse::open(&format!("s3://{bucket}/wh")).await.unwrap();
    wh.verify_conditional_writes()
        .await
        .expect("LocalStack's S3 enforces If-None-Match and If-Match");
    let store = CheckpointStore::new(wh.clone(), "kinesis-fencing");
    let shard = ShardId("shardId-000000000000".into());
    let mut a = ShardState::new(shard.clone(), StartPosition::TrimHorizon);
    a.owner = Some("a".into());
    let v1 = store.swap(&a, None).await.unwrap();
    assert!(
        matches!(
            store.swap(&a, None).await,
            Err(CheckpointError::Conflict { .. })
        ),
        "a second first claim must fail"
    );
    // b takes the shard over from v1
    let mut b = store.load(&shard).await.unwrap().unwrap();
    assert_eq!(b.version, v1);
    b.state.owner = Some("b".into());
    b.state.lease_epoch += 1;
    let v2 = store.swap(&b.state, Some(&v1)).await.unwrap();
    assert_ne!(v1, v2, "a new ETag");
    // a, still holding v1, checkpoints: 412 from S3, a conflict here, nothing changed
    a.checkpoint = Some(SequenceNumber::from_u64(42));
    let err = store.swap(&a, Some(&v1)).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Conflict { .. }), "{err}");
    let now = store.load(&shard).await.unwrap().unwrap();
    assert_eq!(now.version, v2);
    assert_eq!(now.state.owner.as_deref(), Some("b"));
    assert_eq!(now.state.checkpoint, None);
    // the probe left nothing behind
    let keys = list_keys(&client, &bucket, "wh/_tributary/probe").await;
    assert!(keys.is_empty(), "{keys:?}");
}
