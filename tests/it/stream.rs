//! The stream worker against LocalStack: Kinesis (PutRecords), DynamoDB with Streams
//! (PutItem/DeleteItem, so the emulator writes the change records), S3 as the warehouse.

use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tributary_fixtures::FixtureConfig;
use tributary_fixtures::expected::compare_rows;

use crate::emulator::*;
use crate::helpers::*;

/// A small shop: every code path, at a size the emulator writes in seconds.
fn small_shop(dir: &std::path::Path, seed: u64) -> tributary_fixtures::FixtureSummary {
    let config = FixtureConfig {
        seed,
        events: 2_000,
        users: 40,
        orders: 120,
        days: 4,
        ..Default::default()
    };
    tributary_fixtures::generate(&config, dir).expect("fixtures")
}

/// `n` clickstream events spread over a few users and days, as JSON bytes.
fn events(n: usize, tag: &str) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let user = format!("user-{}", i % 37);
            let ts = 1_767_225_600_000i64 + (i as i64 % 5) * 86_400_000 + i as i64;
            let event = json!({"eventType": "PAGE_VIEW", "userId": user, "timestamp": ts,
                               "properties": {"page": format!("/{tag}/{i}")}});
            (user, serde_json::to_vec(&event).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_delivers_kinesis_events_and_dynamodb_changes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let shop = small_shop(&dir.path().join("fixtures"), 7);
    let (k, d, s3) = (kinesis().await, dynamodb().await, s3_client().await);
    let stream = create_stream(&k, "clicks", 3).await;
    let table = create_table(&d, "shop").await;
    let bucket = create_bucket(&s3, "stream-wh").await;
    let wh = format!("s3://{bucket}/warehouse");
    let sources = [format!("kinesis:{stream}"), format!("dynamodb:{table}")];
    let worker = Worker::start(&sources, &wh, dir.path(), "worker", &[], &[]);

    // produce while the worker runs
    let events = event_records(&shop.events_dir);
    let changes = unique_changes(&shop.stream_dir);
    let e = &shop.expected;
    assert_eq!(events.len() as u64, e.counts.events);
    assert_eq!(
        changes.len() as u64,
        e.counts.order_changes + e.counts.user_changes
    );
    let (k2, stream2) = (k.clone(), stream.clone());
    let producer = tokio::spawn(async move { put_records(&k2, &stream2, &events).await });
    apply_changes(&d, &table, &changes).await;
    producer.await.unwrap();

    let minute = Duration::from_secs(120);
    wait_for_rows(&wh, "events", e.counts.events, minute).await;
    wait_for_rows(&wh, "order_changes", e.counts.order_changes, minute).await;
    wait_for_rows(&wh, "user_changes", e.counts.user_changes, minute).await;
    // the current-state tables follow while the worker runs (no restart, no view)
    wait_for("orders to hold the latest state", minute, || async {
        let rows = query("daily-orders", &wh, &[]);
        compare_rows("daily-orders", &rows, &e.stream.daily_orders)
            .is_ok()
            .then_some(())
    })
    .await;

    // observability while running
    let (status, body) = worker.http_get("/healthz").await.expect("healthz answers");
    assert_eq!(status, 200, "{body}");
    let read = worker
        .metric("tributary_records_read_total", &format!("kinesis-{stream}"))
        .await
        .unwrap();
    assert_eq!(read as u64, e.counts.events);
    let written = worker
        .metric("tributary_records_written_total", "table=\"order_changes\"")
        .await
        .unwrap();
    assert_eq!(written as u64, e.counts.order_changes);
    assert!(
        worker
            .metric("tributary_flush_duration_seconds_count", "")
            .await
            .unwrap()
            > 0.0
    );
    assert!(
        worker
            .metric("tributary_checkpoint_age_seconds", "")
            .await
            .is_some()
    );
    assert!(
        worker
            .metric("tributary_millis_behind_latest", "kinesis")
            .await
            .is_some()
    );

    let status = worker.terminate(Duration::from_secs(30));
    assert!(status.success(), "SIGTERM must end in exit 0, got {status}");

    // the same answers as the generator computed, through the named queries
    compare_rows(
        "daily-orders",
        &query("daily-orders", &wh, &[]),
        &e.stream.daily_orders,
    )
    .unwrap();
    compare_rows(
        "top-users",
        &query("top-users", &wh, &[]),
        &e.stream.top_users[..10],
    )
    .unwrap();
    compare_rows("funnel", &query("funnel", &wh, &[]), &e.funnel).unwrap();
    assert_eq!(duplicate_rows(&wh, "events"), 0);
    assert_eq!(duplicate_rows(&wh, "order_changes"), 0);
    crate::backfill::assert_state_tables_match_the_change_log(&wh);
    crate::backfill::assert_user_changes_equal_the_records(&wh, &changes);
    // a clean stop checkpointed everything: a restart reads every shard to its end, says it is
    // caught up, and commits nothing to any table
    let delta_logs = || async {
        let mut keys = list_keys(&s3, &bucket, "warehouse/").await;
        keys.retain(|k| k.contains("/_delta_log/"));
        keys
    };
    let logs_before = delta_logs().await;
    assert!(!logs_before.is_empty());
    let again = Worker::start(&sources, &wh, dir.path(), "again", &[], &[]);
    wait_for_explained(
        "the restarted worker to read every shard to its end",
        minute,
        Some(&again.log),
        || async { again.caught_up(sources.len()).await.then_some(()) },
    )
    .await;
    assert!(again.terminate(Duration::from_secs(30)).success());
    assert_eq!(
        delta_logs().await,
        logs_before,
        "a restart committed something"
    );
    assert_eq!(count_rows(&wh, "events"), e.counts.events);
    assert_eq!(count_rows(&wh, "order_changes"), e.counts.order_changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_inside_flushes_and_at_random_moments_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "kill", 2).await;
    let bucket = create_bucket(&s3, "kill-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}")];
    let log = dir.path().join("worker.log");
    let occurrences = |what: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(what)
            .count()
    };
    // a pause after each flush step lets the test kill the worker inside a flush for certain
    let crashy = [
        "--flush-bytes",
        "64KiB",
        "--test-flush-step-delay",
        "1s",
        "--log",
        "info,tributary_ingest::stream::flush=debug",
    ];
    let batches: Vec<Vec<(String, Vec<u8>)>> =
        (0..6).map(|b| events(500, &format!("b{b}"))).collect();
    let total: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let mut rng = rand::rng();
    for (i, batch) in batches.iter().enumerate() {
        let worker = Worker::start(&sources, &wh, dir.path(), "worker", &crashy, &[]);
        put_records(&k, &stream, batch).await;
        // kill after the intent (files not written), after the files (not committed), after the
        // table commits (not checkpointed), or anywhere
        let step = [
            "flush intent recorded",
            "flush files written",
            "flush committed to its tables",
            "",
        ][i % 4];
        if !step.is_empty() {
            let before = occurrences(step);
            wait_for_explained(step, Duration::from_secs(60), Some(&log), || async {
                (occurrences(step) > before).then_some(())
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        assert!(
            count_rows(&wh, "events") <= (i as u64 + 1) * 500,
            "more rows than produced"
        );
        worker.kill9();
    }
    // a last run recovers and catches up
    let worker = Worker::start(&sources, &wh, dir.path(), "worker", &[], &[]);
    wait_for_rows_explained(&wh, "events", total, Duration::from_secs(120), Some(&log)).await;
    assert!(worker.terminate(Duration::from_secs(30)).success());
    assert_eq!(count_rows(&wh, "events"), total);
    assert_eq!(duplicate_rows(&wh, "events"), 0);
    // the kills inside flushes left intents that the next start completed, all three ways
    let replays = occurrences("replaying a pending flush");
    let commits = occurrences("pending flush was fully written");
    let checkpoints = occurrences("pending flush is in every table already");
    println!(
        "recoveries after SIGKILL: {replays} replays, {commits} commits of fully written \
         flushes, {checkpoints} checkpoints of committed flushes"
    );
    assert!(
        replays >= 1 && commits >= 1 && checkpoints >= 1,
        "replays {replays}, commits {commits}, checkpoints {checkpoints}"
    );
    // every batch's pages are there exactly once
    let per_batch = sql(
        &wh,
        "SELECT split_part(properties.page, '/', 2) AS b, COUNT(*) AS n FROM events GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(per_batch.len(), 6, "{per_batch:?}");
    assert!(
        per_batch.iter().all(|r| r["n"].as_u64() == Some(500)),
        "{per_batch:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_and_vacuum_while_streaming_through_kill9s_keep_every_answer_exact() {
    let dir = tempfile::Builder::new()
        .disable_cleanup(true)
        .tempdir()
        .unwrap();
    eprintln!("DEBUGDIR {}", dir.path().display());
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "compact", 2).await;
    let bucket = create_bucket(&s3, "compact-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}")];
    let log = dir.path().join("worker.log");
    let compactions = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"compacted\""))
            .count()
    };
    // small flushes (FAST: every second or so), compaction every 2 seconds of every 2 files
    // of a tier: they overlap
    let args = ["--compact-interval", "2s", "--compact-fan-in", "2"];
    let batches: Vec<Vec<(String, Vec<u8>)>> =
        (0..8).map(|b| events(400, &format!("c{b}"))).collect();
    let total: u64 = batches.iter().map(|b| b.len() as u64).sum();
    // what readers see while flushes and compactions commit: never a duplicate, never fewer
    // rows than before, never more than produced
    let mut seen = 0;
    let mut check = |produced: u64| {
        let row = &sql(
            &wh,
            "SELECT COUNT(*) AS n, COUNT(DISTINCT properties.page) AS pages FROM events",
        )[0];
        let (n, pages) = (row["n"].as_u64().unwrap(), row["pages"].as_u64().unwrap());
        assert_eq!(n, pages, "a row is there twice");
        assert!(n >= seen, "{n} rows after {seen}: rows went missing");
        assert!(n <= produced, "{n} rows of {produced} produced");
        seen = n;
    };
    let mut rng = rand::rng();
    let (mut queries, mut vacuumed) = (0, 0);
    for (i, batch) in batches.iter().enumerate() {
        let worker = Worker::start(&sources, &wh, dir.path(), "worker", &args, &[]);
        put_records(&k, &stream, batch).await;
        let produced = (i as u64 + 1) * 400;
        let until =
            tokio::time::Instant::now() + Duration::from_millis(rng.random_range(2500..6000));
        while tokio::time::Instant::now() < until {
            check(produced);
            queries += 1;
            // vacuum too, while the worker writes and compacts: it deletes the files that
            // compaction replaced more than 20 s ago, never a file of a snapshot or a flush
            if queries % 5 == 0 {
                let out = tributary(&[
                    "vacuum",
                    "--warehouse",
                    &wh,
                    "--retain",
                    "20s",
                    "--allow-short-retention",
                ]);
                let (stdout, stderr) = (
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                );
                // before the first worker created the tables there is nothing to vacuum
                assert!(
                    out.status.success() || stderr.contains("no Delta tables"),
                    "vacuum failed: {stderr}"
                );
                vacuumed += stdout
                    .lines()
                    .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
                    .sum::<u64>();
            }
        }
        worker.kill9();
    }
    let worker = Worker::start(&sources, &wh, dir.path(), "worker", &args, &[]);
    wait_for_rows_explained(&wh, "events", total, Duration::from_secs(120), Some(&log)).await;
    check(total);
    assert!(worker.terminate(Duration::from_secs(30)).success());
    println!(
        "{queries} queries during the run, {} compactions, {vacuumed} files vacuumed",
        compactions()
    );
    assert!(compactions() >= 1, "compaction ran while streaming");
    assert_eq!(count_rows(&wh, "events"), total);
    assert_eq!(duplicate_rows(&wh, "events"), 0);
    let per_batch = sql(
        &wh,
        "SELECT split_part(properties.page, '/', 2) AS b, COUNT(*) AS n FROM events GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(per_batch.len(), 8, "{per_batch:?}");
    assert!(
        per_batch.iter().all(|r| r["n"].as_u64() == Some(400)),
        "{per_batch:?}"
    );
}

/// Two writers at once, from outside: two workers on one stream, one of them so slow inside
/// its flushes (a pause of twice the lease after each step) that the other takes its shards
/// over mid-flush and replays them while the slow one's late writes and commits still land;
/// both compact every 2 s, and `tributary compact` runs beside them. Every row is there once,
/// and every file the log names reads (a file replaced under its committed size would not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_compact_at_once_with_stolen_flushes_keep_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "two-writers", 4).await;
    let bucket = create_bucket(&s3, "two-writers-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}")];
    let compacting = ["--compact-interval", "2s", "--compact-fan-in", "2"];
    let slow_args = [
        &compacting[..],
        &[
            "--worker-id",
            "slow",
            "--test-flush-step-delay",
            "6s",
            "--log",
            "info,tributary_ingest::stream::flush=debug",
        ],
    ]
    .concat();
    let fast_args = [&compacting[..], &["--worker-id", "fast"]].concat();
    let batches: Vec<Vec<(String, Vec<u8>)>> =
        (0..6).map(|b| events(300, &format!("t{b}"))).collect();
    // the slow worker holds every shard and is inside a flush (paused after its intent) when
    // the fast one starts: the fast one sees those leases unrenewed and takes them
    let slow = Worker::start(&sources, &wh, dir.path(), "slow", &slow_args, &[]);
    wait_for(
        "slow to hold all 4 shards",
        Duration::from_secs(30),
        || async {
            let owned = slow.metric("tributary_shards_owned", "").await;
            (owned == Some(4.0)).then_some(())
        },
    )
    .await;
    put_records(&k, &stream, &batches[0]).await;
    wait_for(
        "slow to record a flush intent",
        Duration::from_secs(30),
        || async {
            let log = std::fs::read_to_string(&slow.log).unwrap_or_default();
            log.contains("flush intent recorded").then_some(())
        },
    )
    .await;
    let fast = Worker::start(&sources, &wh, dir.path(), "fast", &fast_args, &[]);
    let total: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let mut seen = 0;
    let mut check = |produced: u64| {
        let row = &sql(
            &wh,
            "SELECT COUNT(*) AS n, COUNT(DISTINCT properties.page) AS pages FROM events",
        )[0];
        let (n, pages) = (row["n"].as_u64().unwrap(), row["pages"].as_u64().unwrap());
        assert_eq!(n, pages, "a row is there twice");
        assert!(n >= seen, "{n} rows after {seen}: rows went missing");
        assert!(n <= produced, "{n} rows of {produced} produced");
        seen = n;
    };
    let mut compactions = 0;
    for (i, batch) in batches.iter().enumerate() {
        if i > 0 {
            put_records(&k, &stream, batch).await;
        }
        let produced = (i as u64 + 1) * 300;
        let until = tokio::time::Instant::now() + Duration::from_secs(4);
        while tokio::time::Instant::now() < until {
            check(produced);
            let out = tributary(&[
                "compact",
                "--warehouse",
                &wh,
                "--table",
                "events",
                "--target-file-bytes",
                "1MiB",
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            // before a worker created the table there is nothing to compact
            assert!(
                out.status.success() || stderr.contains("no Delta tables"),
                "compact failed: {stderr}"
            );
            compactions += u32::from(out.status.success());
        }
    }
    wait_for_rows_explained(
        &wh,
        "events",
        total,
        Duration::from_secs(180),
        Some(&fast.log),
    )
    .await;
    check(total);
    let log_of = |w: &Worker| std::fs::read_to_string(&w.log).unwrap_or_default();
    let (slow_log, fast_log) = (log_of(&slow), log_of(&fast));
    let stolen = slow_log.matches("lease lost to another worker").count();
    let count = |what: &str| {
        [&slow_log, &fast_log]
            .iter()
            .map(|l| l.matches(what).count())
            .sum::<usize>()
    };
    // which step the steal interrupted is up to timing: after the intent (a replay), after
    // the files (a commit of them), after the commits (a checkpoint only)
    let taken_over = [
        count("replaying a pending flush"),
        count("pending flush was fully written"),
        count("pending flush is in every table already"),
    ];
    println!(
        "{compactions} runs of compact, {stolen} shards stolen mid-flush, pending flushes taken \
         over (replayed, committed, checkpointed): {taken_over:?}"
    );
    assert!(
        stolen >= 1,
        "the slow worker never lost a shard inside a flush"
    );
    assert!(
        taken_over.iter().sum::<usize>() >= 1,
        "no pending flush was taken over"
    );
    assert!(compactions >= 1, "compact never ran beside the workers");
    assert!(fast.terminate(Duration::from_secs(60)).success());
    assert!(slow.terminate(Duration::from_secs(60)).success());
    assert_eq!(count_rows(&wh, "events"), total);
    assert_eq!(duplicate_rows(&wh, "events"), 0);
    let per_batch = sql(
        &wh,
        "SELECT split_part(properties.page, '/', 2) AS b, COUNT(*) AS n FROM events GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(per_batch.len(), 6, "{per_batch:?}");
    assert!(
        per_batch.iter().all(|r| r["n"].as_u64() == Some(300)),
        "{per_batch:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_and_merge_while_running_lose_nothing_and_read_parents_first() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "reshard", 2).await;
    let bucket = create_bucket(&s3, "reshard-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let worker = Worker::start(
        &[format!("kinesis:{stream}")],
        &wh,
        dir.path(),
        "worker",
        &[],
        &[],
    );
    put_records(&k, &stream, &events(500, "before")).await;
    // split shard 0 in the middle of its hash range
    let shards = k
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap();
    let s0 = &shards[0];
    let range = s0.hash_key_range().unwrap();
    let (lo, hi): (u128, u128) = (
        range.starting_hash_key().parse().unwrap(),
        range.ending_hash_key().parse().unwrap(),
    );
    k.split_shard()
        .stream_name(&stream)
        .shard_to_split(s0.shard_id())
        .new_starting_hash_key(((lo + hi) / 2).to_string())
        .send()
        .await
        .expect("SplitShard");
    wait_stream_active(&k, &stream).await;
    put_records(&k, &stream, &events(500, "split")).await;
    // merge the upper child of shard 0 with shard 1 (adjacent hash ranges)
    let shards = k
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap();
    let open: Vec<_> = shards
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .unwrap()
                .ending_sequence_number()
                .is_none()
        })
        .collect();
    let upper_child = open
        .iter()
        .filter(|s| s.parent_shard_id() == Some(s0.shard_id()))
        .max_by_key(|s| {
            s.hash_key_range()
                .unwrap()
                .starting_hash_key()
                .parse::<u128>()
                .unwrap()
        })
        .unwrap();
    let s1 = open
        .iter()
        .find(|s| s.shard_id() == shards[1].shard_id())
        .unwrap();
    k.merge_shards()
        .stream_name(&stream)
        .shard_to_merge(upper_child.shard_id())
        .adjacent_shard_to_merge(s1.shard_id())
        .send()
        .await
        .expect("MergeShards");
    wait_stream_active(&k, &stream).await;
    put_records(&k, &stream, &events(500, "merged")).await;

    wait_for_rows(&wh, "events", 1_500, Duration::from_secs(120)).await;
    let all = k
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap();
    assert_eq!(all.len(), 5, "2 shards, 2 split children, 1 merged child");
    assert!(worker.terminate(Duration::from_secs(30)).success());
    assert_eq!(duplicate_rows(&wh, "events"), 0);

    // the log shows every child starting only after all of its parents finished
    let lines = worker_log(dir.path(), "worker");
    let position = |message: &str, shard: &str| {
        lines.iter().position(|l| {
            l["fields"]["message"] == message && l["span"].is_null() && field(l, "shard") == shard
        })
    };
    for shard in &all {
        let parents: Vec<&str> = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
            .into_iter()
            .flatten()
            .collect();
        if parents.is_empty() {
            continue;
        }
        let started = position("reading shard", shard.shard_id())
            .unwrap_or_else(|| panic!("{} never read", shard.shard_id()));
        for parent in parents {
            let finished = position("shard finished; its children may start", parent)
                .unwrap_or_else(|| panic!("parent {parent} never finished"));
            assert!(
                finished < started,
                "child {} started before parent {parent} finished",
                shard.shard_id()
            );
        }
    }
}

fn worker_log(dir: &std::path::Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn field(line: &Value, name: &str) -> String {
    line["fields"][name]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_end_in_dead_letters_and_kpl_aggregates_are_split() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "mixed", 2).await;
    let bucket = create_bucket(&s3, "mixed-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let worker = Worker::start(
        &[format!("kinesis:{stream}")],
        &wh,
        dir.path(),
        "worker",
        &[],
        &[],
    );

    let good = events(300, "plain");
    // KPL aggregates, built here from the KPL's protobuf schema: 20 aggregates of 10 events
    let aggregated: Vec<(String, Vec<u8>)> = events(200, "kpl")
        .chunks(10)
        .map(|c| (c[0].0.clone(), kpl::aggregate(c)))
        .collect();
    // DynamoDB changes as Kinesis Data Streams for DynamoDB delivers them (ms timestamps)
    let changes: Vec<(String, Vec<u8>)> = (0..25)
        .map(|i| {
            let change = json!({"awsRegion": "us-east-1", "eventID": format!("ev-{i}"), "eventName": "INSERT",
                "tableName": "shop", "recordFormat": "application/json", "eventSource": "aws:dynamodb",
                "dynamodb": {"ApproximateCreationDateTime": 1767607200123i64 + i,
                    "Keys": {"PK": {"S": format!("USER#u{i}")}, "SK": {"S": format!("ORDER#o{i}")}},
                    "NewImage": {"PK": {"S": format!("USER#u{i}")}, "SK": {"S": format!("ORDER#o{i}")},
                        "status": {"S": "PLACED"}, "totalAmount": {"N": "10.5"}, "currency": {"S": "EUR"},
                        "createdAt": {"S": "2026-01-05T10:00:00Z"}}, "SizeBytes": 100}});
            (format!("u{i}"), serde_json::to_vec(&change).unwrap())
        })
        .collect();
    let mut bad: Vec<(String, Vec<u8>)> = vec![
        ("x".into(), b"{\"eventType\": \"PAGE_VIEW\", \"userId\":".to_vec()),
        ("x".into(), b"not json at all".to_vec()),
        ("x".into(), br#"{"eventType":"PAGE_VIEW","timestamp":1767607200000}"#.to_vec()),
        ("x".into(), br#"{"eventType":"PAGE_VIEW","userId":"u","timestamp":"yesterday"}"#.to_vec()),
        ("x".into(), br#"{"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1767607200000,"Keys":{"PK":{"S":"SHOP#1"},"SK":{"S":"X"}},"NewImage":{}}}"#.to_vec()),
    ];
    let mut corrupt = kpl::aggregate(&events(3, "corrupt"));
    let n = corrupt.len();
    corrupt[n - 1] ^= 0xff; // checksum no longer matches
    bad.push(("x".into(), corrupt));
    let mut all = Vec::new();
    all.extend(good.iter().cloned());
    all.extend(aggregated);
    all.extend(changes);
    all.extend(bad.iter().cloned());
    put_records(&k, &stream, &all).await;

    wait_for_rows(&wh, "events", 500, Duration::from_secs(90)).await;
    wait_for_rows(&wh, "order_changes", 25, Duration::from_secs(30)).await;
    let bad_count = bad.len();
    let dead = wait_for("dead letters", Duration::from_secs(30), || {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let mut lines = Vec::new();
            for key in list_keys(&s3, &bucket, "wh/dead_letters/").await {
                let body = s3
                    .get_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
                    .unwrap()
                    .body
                    .collect()
                    .await
                    .unwrap();
                lines.extend(
                    String::from_utf8(body.to_vec())
                        .unwrap()
                        .lines()
                        .map(|l| serde_json::from_str::<Value>(l).unwrap()),
                );
            }
            (lines.len() >= bad_count).then_some(lines)
        }
    })
    .await;
    assert!(worker.terminate(Duration::from_secs(30)).success());
    assert_eq!(
        dead.len(),
        bad_count,
        "one dead letter per malformed record: {dead:#?}"
    );
    assert_dead_letters_name_their_kinesis_origin(&dead);
    let reasons: Vec<&str> = dead.iter().map(|l| l["reason"].as_str().unwrap()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("KPL aggregate checksum")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("matches no table of the schema")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("column userid (from userid, any case) is missing")),
        "{reasons:?}"
    );
    let kpl_rows = sql(
        &wh,
        "SELECT COUNT(*) AS n FROM events WHERE properties.page LIKE '/kpl/%'",
    );
    assert_eq!(kpl_rows[0]["n"].as_u64(), Some(200));
    let revenue = sql(
        &wh,
        "SELECT CAST(SUM(total_amount) AS VARCHAR) AS r FROM order_changes",
    );
    assert_eq!(
        revenue[0]["r"].as_str().unwrap().trim_end_matches('0'),
        "262.5"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_is_waited_out_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "outage", 1).await;
    let bucket = create_bucket(&s3, "outage-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let proxy = proxy::Proxy::start(&endpoint()).await;
    let env = [("AWS_ENDPOINT_URL_S3", proxy.url())];
    let worker = Worker::start(
        &[format!("kinesis:{stream}")],
        &wh,
        dir.path(),
        "worker",
        &[],
        &env,
    );
    put_records(&k, &stream, &events(300, "first")).await;
    wait_for_rows(&wh, "events", 300, Duration::from_secs(60)).await;

    proxy.set_down(true);
    put_records(&k, &stream, &events(300, "second")).await;
    // the worker notices: failed writes are counted and the rows wait
    wait_for(
        "failed warehouse calls",
        Duration::from_secs(60),
        || async {
            let failed = worker
                .metric("tributary_errors_total", "")
                .await
                .unwrap_or(0.0);
            (failed > 0.0).then_some(())
        },
    )
    .await;
    assert_eq!(
        count_rows(&wh, "events"),
        300,
        "nothing new can be written while S3 is down"
    );
    proxy.set_down(false);
    wait_for_rows(&wh, "events", 600, Duration::from_secs(120)).await;
    assert!(worker.terminate(Duration::from_secs(30)).success());
    assert_eq!(duplicate_rows(&wh, "events"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_the_shards_and_one_takes_over_when_the_other_dies() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "share", 4).await;
    let bucket = create_bucket(&s3, "share-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}")];
    let owned = |w: &Worker| {
        let port = w.metrics_port;
        async move {
            let probe = Worker::probe(port);
            probe
                .metric("tributary_shards_owned", "")
                .await
                .unwrap_or(0.0) as u64
        }
    };
    let a = Worker::start(&sources, &wh, dir.path(), "a", &["--worker-id", "a"], &[]);
    wait_for(
        "a to hold all 4 shards",
        Duration::from_secs(30),
        || async { (owned(&a).await == 4).then_some(()) },
    )
    .await;
    // b joins: a hands over half, and no shard is ever held by both
    let b = Worker::start(&sources, &wh, dir.path(), "b", &["--worker-id", "b"], &[]);
    wait_for(
        "a and b to hold 2 shards each",
        Duration::from_secs(45),
        || async {
            let (na, nb) = (owned(&a).await, owned(&b).await);
            assert!(na + nb <= 4, "a holds {na} and b {nb} of 4 shards");
            (na == 2 && nb == 2).then_some(())
        },
    )
    .await;
    put_records(&k, &stream, &events(400, "one")).await;
    wait_for_rows(&wh, "events", 400, Duration::from_secs(60)).await;
    assert!(
        b.metric("tributary_records_written_total", "")
            .await
            .unwrap_or(0.0)
            > 0.0,
        "b writes its share"
    );
    a.kill9();
    put_records(&k, &stream, &events(400, "two")).await;
    // b takes a's shards once their leases expire (3 s without renewal)
    wait_for_rows(&wh, "events", 800, Duration::from_secs(90)).await;
    assert_eq!(owned(&b).await, 4);
    assert!(b.terminate(Duration::from_secs(30)).success());
    assert_eq!(duplicate_rows(&wh, "events"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_latest_skips_what_came_before_the_first_start_only() {
    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "latest", 1).await;
    let bucket = create_bucket(&s3, "latest-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}")];
    put_records(&k, &stream, &events(100, "old")).await;
    // kinesis-mock compares AT_TIMESTAMP at whole seconds: keep the old records a second clear
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let latest = ["--start", "latest"];
    let worker = Worker::start(&sources, &wh, dir.path(), "w", &latest, &[]);
    wait_for(
        "the shard to be claimed",
        Duration::from_secs(30),
        || async { (worker.metric("tributary_shards_owned", "").await? >= 1.0).then_some(()) },
    )
    .await;
    put_records(&k, &stream, &events(50, "new")).await;
    wait_for_rows(&wh, "events", 50, Duration::from_secs(60)).await;
    assert!(worker.terminate(Duration::from_secs(30)).success());
    // records put while the worker is down are read on restart: --start applies to new shards only
    put_records(&k, &stream, &events(30, "later")).await;
    let worker = Worker::start(&sources, &wh, dir.path(), "w", &latest, &[]);
    wait_for_rows(&wh, "events", 80, Duration::from_secs(60)).await;
    // Ctrl-C (SIGINT) stops as cleanly as SIGTERM
    assert!(worker.stop("-INT", Duration::from_secs(30)).success());
    let old = sql(
        &wh,
        "SELECT COUNT(*) AS n FROM events WHERE properties.page LIKE '/old/%'",
    );
    assert_eq!(old[0]["n"].as_u64(), Some(0));
}

/// KPL aggregation, written from the KPL's published protobuf schema (independent of the
/// worker's decoder).
mod kpl {
    use md5::{Digest, Md5};
    use prost::Message;

    #[derive(Clone, PartialEq, Message)]
    struct AggregatedRecord {
        #[prost(string, repeated, tag = "1")]
        partition_key_table: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        explicit_hash_key_table: Vec<String>,
        #[prost(message, repeated, tag = "3")]
        records: Vec<Record>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Record {
        #[prost(uint64, required, tag = "1")]
        partition_key_index: u64,
        #[prost(uint64, optional, tag = "2")]
        explicit_hash_key_index: Option<u64>,
        #[prost(bytes = "vec", required, tag = "3")]
        data: Vec<u8>,
    }

    pub fn aggregate(records: &[(String, Vec<u8>)]) -> Vec<u8> {
        let keys: Vec<String> = records.iter().map(|(k, _)| k.clone()).collect();
        let body = AggregatedRecord {
            partition_key_table: keys,
            explicit_hash_key_table: vec![],
            records: records
                .iter()
                .enumerate()
                .map(|(i, (_, data))| Record {
                    partition_key_index: i as u64,
                    explicit_hash_key_index: None,
                    data: data.clone(),
                })
                .collect(),
        }
        .encode_to_vec();
        let mut out = vec![0xF3, 0x89, 0x9A, 0xC2];
        out.extend_from_slice(&body);
        out.extend_from_slice(&Md5::digest(&body));
        out
    }
}

/// A TCP proxy in front of the emulator that can refuse service, to stand in for an S3 outage.
pub(crate) mod proxy {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::net::{TcpListener, TcpStream};

    pub struct Proxy {
        port: u16,
        down: Arc<AtomicBool>,
    }

    impl Proxy {
        pub async fn start(upstream: &str) -> Proxy {
            let upstream = upstream
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let down = Arc::new(AtomicBool::new(false));
            let flag = down.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if flag.load(Ordering::SeqCst) {
                        drop(client); // accepted and closed at once: the request fails
                        continue;
                    }
                    let upstream = upstream.clone();
                    let flag = flag.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        // connections opened before the outage are cut when it starts
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = async { while !flag.load(Ordering::SeqCst) { tokio::time::sleep(std::time::Duration::from_millis(50)).await } } => {}
                        }
                    });
                }
            });
            Proxy { port, down }
        }

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        pub fn set_down(&self, down: bool) {
            self.down.store(down, Ordering::SeqCst);
        }
    }
}

/// One shard's checkpoint object is not JSON, another's names a record of a third shard (which
/// Kinesis refuses): those two shards stop, each with its reason in the metrics and in
/// `/healthz`, and the third is read to its end by the same worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_checkpoint_or_a_refused_position_stops_that_shard_and_the_others_go_on() {
    use aws_sdk_kinesis::primitives::Blob;
    use tributary_ingest::stream::checkpoint::{CheckpointStore, ShardState};
    use tributary_ingest::stream::shard::{ShardId, StartPosition};
    use tributary_table::{SequenceNumber, Warehouse};

    let dir = tempfile::tempdir().unwrap();
    let (k, s3) = (kinesis().await, s3_client().await);
    let stream = create_stream(&k, "stops", 3).await;
    let bucket = create_bucket(&s3, "stops-wh").await;
    let wh = format!("s3://{bucket}/wh");
    // one by one, so that each record's shard and sequence number are known
    let mut per_shard: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (i, (_, data)) in events(60, "stops").into_iter().enumerate() {
        let out = k
            .put_record()
            .stream_name(&stream)
            .partition_key(format!("key-{i}"))
            .data(Blob::new(data))
            .send()
            .await
            .expect("PutRecord");
        per_shard
            .entry(out.shard_id)
            .or_default()
            .push(out.sequence_number);
    }
    let shards: Vec<&String> = per_shard.keys().collect();
    assert_eq!(shards.len(), 3, "every shard got records: {per_shard:?}");
    let (corrupt, refused, healthy) = (shards[0].clone(), shards[1].clone(), shards[2].clone());
    let slug = format!("kinesis-{stream}");
    s3.put_object()
        .bucket(&bucket)
        .key(format!("wh/_tributary/streams/{slug}/{corrupt}.json"))
        .body(b"{ not json".to_vec().into())
        .send()
        .await
        .unwrap();
    let store = CheckpointStore::new(Warehouse::open(&wh).await.unwrap(), &slug);
    let mut state = ShardState::new(ShardId(refused.clone()), StartPosition::TrimHorizon);
    state.checkpoint = Some(SequenceNumber::parse(&per_shard[&healthy][0]).unwrap());
    store.swap(&state, None).await.unwrap();

    let sources = [format!("kinesis:{stream}")];
    let worker = Worker::start(
        &sources,
        &wh,
        dir.path(),
        "worker",
        &["--start", "trim-horizon"],
        &[],
    );
    let want = per_shard[&healthy].len() as u64;
    wait_for_rows_explained(
        &wh,
        "events",
        want,
        Duration::from_secs(60),
        Some(&worker.log),
    )
    .await;
    let stopped = |reason: &str| format!("reason=\"{reason}\"");
    wait_for_explained(
        "both bad shards to be reported stopped",
        Duration::from_secs(60),
        Some(&worker.log),
        || async {
            let corrupt = worker
                .metric("tributary_shards_stopped", &stopped("corrupt_checkpoint"))
                .await;
            let refused = worker
                .metric("tributary_shards_stopped", &stopped("position_refused"))
                .await;
            (corrupt == Some(1.0) && refused == Some(1.0)).then_some(())
        },
    )
    .await;
    let (status, body) = worker.http_get("/healthz").await.expect("healthz answers");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&format!(
            "shard {corrupt} of {slug} is stopped (corrupt_checkpoint)"
        )) && body.contains(&format!(
            "shard {refused} of {slug} is stopped (position_refused)"
        )),
        "{body}"
    );
    // the healthy shard is read to its end and nothing of the others was read
    wait_for_explained(
        "the healthy shard to be caught up",
        Duration::from_secs(60),
        Some(&worker.log),
        || async {
            let caught_up = worker.metric("tributary_shards_caught_up", "").await;
            (caught_up == Some(1.0)).then_some(())
        },
    )
    .await;
    assert!(worker.terminate(Duration::from_secs(30)).success());
    assert_eq!(count_rows(&wh, "events"), want);
    assert_eq!(duplicate_rows(&wh, "events"), 0);
}
