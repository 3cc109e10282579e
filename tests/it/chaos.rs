//! The chaos run: minutes of faults at once, against LocalStack. Not part of CI (it is marked
//! ignored there, and says so in every test run); `scripts/chaos.sh` runs it, and
//! docs/benchmarks.md ("Chaos run") records its figures.
//!
//! Two workers share a 4-shard Kinesis stream and a DynamoDB table's stream while a producer
//! writes steadily. At random moments one of them is killed with SIGKILL and started again (20
//! times); meanwhile a shard is split, two are merged, S3 is down for 30 s, and `tributary
//! compact` runs beside the workers' own compactions. Afterwards every table holds each record
//! exactly once, and the named queries equal the generator's answers.

use std::time::{Duration, Instant};

use rand::Rng;
use tributary_fixtures::FixtureConfig;
use tributary_fixtures::expected::compare_rows;

use crate::emulator::*;
use crate::helpers::*;
use crate::stream::proxy::Proxy;

const KILLS: usize = 20;
const OUTAGE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the chaos run takes minutes: scripts/chaos.sh runs it"]
async fn chaos_run_two_workers_kills_reshards_an_outage_and_compact_keep_every_answer_exact() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .disable_cleanup(true)
        .tempdir()
        .unwrap();
    println!("logs and fixtures under {}", dir.path().display());
    let config = FixtureConfig {
        seed: 27,
        events: 12_000,
        users: 120,
        orders: 400,
        days: 6,
        ..Default::default()
    };
    let shop = tributary_fixtures::generate(&config, &dir.path().join("fixtures")).unwrap();
    let (k, d, s3) = (kinesis().await, dynamodb().await, s3_client().await);
    let stream = create_stream(&k, "chaos", 4).await;
    let table = create_table(&d, "chaos").await;
    let bucket = create_bucket(&s3, "chaos-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}"), format!("dynamodb:{table}")];
    // the workers reach S3 through a proxy that can go down; everything else goes direct
    let proxy = Proxy::start(&endpoint()).await;
    let env = [("AWS_ENDPOINT_URL_S3", proxy.url())];
    let start = |name: &str| {
        let args = [
            "--worker-id",
            name,
            "--flush-bytes",
            "256KiB",
            "--compact-interval",
            "5s",
            "--compact-fan-in",
            "4",
            "--log",
            "info,tributary_ingest::stream::flush=debug",
        ];
        Worker::start(&sources, &wh, dir.path(), name, &args, &env)
    };
    let names = ["a", "b"];
    let mut workers = [Some(start(names[0])), Some(start(names[1]))];

    // a steady producer: events and item changes in small chunks, for about a minute
    let events = event_records(&shop.events_dir);
    let changes = unique_changes(&shop.stream_dir);
    let e = &shop.expected;
    assert_eq!(events.len() as u64, e.counts.events);
    let (k2, stream2) = (k.clone(), stream.clone());
    let events_producer = tokio::spawn(async move {
        for chunk in events.chunks(150) {
            put_records(&k2, &stream2, chunk).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let (d2, table2) = (d.clone(), table.clone());
    let changes_producer = tokio::spawn(async move {
        for chunk in changes.chunks(25) {
            apply_changes(&d2, &table2, chunk).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });

    let mut rng = rand::rng();
    let mut outage = None;
    let mut compacts = Vec::new();
    for kill in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1_500..4_500))).await;
        let w = rng.random_range(0..names.len());
        workers[w].take().unwrap().kill9();
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1_000))).await;
        workers[w] = Some(start(names[w]));
        match kill {
            5 => reshard(&k, &stream, Reshard::Split).await,
            8 => {
                proxy.set_down(true);
                outage = Some(Instant::now());
            }
            12 => reshard(&k, &stream, Reshard::Merge).await,
            _ => {}
        }
        if outage.is_some_and(|t| t.elapsed() >= OUTAGE) {
            proxy.set_down(false);
            outage = None;
        }
        // an operator's compaction beside the workers' own (straight to S3)
        compacts.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
                .args(["compact", "--warehouse", &wh])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        println!(
            "{:>5.1}s kill {kill:>2}: worker {}",
            started.elapsed().as_secs_f64(),
            names[w]
        );
    }
    if let Some(t) = outage {
        tokio::time::sleep(OUTAGE.saturating_sub(t.elapsed())).await;
        proxy.set_down(false);
    }
    events_producer.await.unwrap();
    changes_producer.await.unwrap();
    let chaos_ended = started.elapsed();
    let mut compactions = 0;
    for compact in compacts {
        let out = compact.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // the first ones may run before any table exists
        assert!(
            out.status.success() || stderr.contains("no Delta tables"),
            "compact failed: {stderr}"
        );
        compactions += u32::from(out.status.success());
    }

    let timeout = Duration::from_secs(300);
    let log = workers[0].as_ref().unwrap().log.clone();
    wait_for_rows_explained(&wh, "events", e.counts.events, timeout, Some(&log)).await;
    wait_for_rows_explained(
        &wh,
        "order_changes",
        e.counts.order_changes,
        timeout,
        Some(&log),
    )
    .await;
    wait_for_rows_explained(
        &wh,
        "user_changes",
        e.counts.user_changes,
        timeout,
        Some(&log),
    )
    .await;
    wait_for("orders to hold the latest state", timeout, || async {
        let rows = query("daily-orders", &wh, &[]);
        compare_rows("daily-orders", &rows, &e.stream.daily_orders)
            .is_ok()
            .then_some(())
    })
    .await;
    let caught_up = started.elapsed();
    let logs: Vec<String> = workers
        .iter()
        .map(|w| std::fs::read_to_string(&w.as_ref().unwrap().log).unwrap_or_default())
        .collect();
    for w in workers.into_iter().flatten() {
        assert!(w.terminate(Duration::from_secs(60)).success());
    }

    assert_eq!(count_rows(&wh, "events"), e.counts.events);
    assert_eq!(count_rows(&wh, "order_changes"), e.counts.order_changes);
    assert_eq!(count_rows(&wh, "user_changes"), e.counts.user_changes);
    assert_eq!(duplicate_rows(&wh, "events"), 0);
    assert_eq!(duplicate_rows(&wh, "order_changes"), 0);
    crate::backfill::assert_state_tables_match_the_change_log(&wh);
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

    let count = |what: &str| logs.iter().map(|l| l.matches(what).count()).sum::<usize>();
    println!(
        "chaos run: {KILLS} kills, a split, a merge, {} s of S3 outage, {compactions} runs of \
         compact; {} replays, {} commits of written flushes, {} checkpoints of committed ones, \
         {} shards stolen; faults over after {:.0} s, caught up after {:.0} s; {} events, {} \
         order changes, {} user changes, each once",
        OUTAGE.as_secs(),
        count("replaying a pending flush"),
        count("pending flush was fully written"),
        count("pending flush is in every table already"),
        count("lease lost to another worker"),
        chaos_ended.as_secs_f64(),
        caught_up.as_secs_f64(),
        e.counts.events,
        e.counts.order_changes,
        e.counts.user_changes,
    );
}

enum Reshard {
    /// The first open shard, at the middle of its hash range.
    Split,
    /// Two open shards with adjacent hash ranges.
    Merge,
}

async fn reshard(k: &aws_sdk_kinesis::Client, stream: &str, how: Reshard) {
    let shards = k
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap();
    let range = |s: &aws_sdk_kinesis::types::Shard| -> (u128, u128) {
        let r = s.hash_key_range().unwrap();
        (
            r.starting_hash_key().parse().unwrap(),
            r.ending_hash_key().parse().unwrap(),
        )
    };
    let mut open: Vec<_> = shards
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .unwrap()
                .ending_sequence_number()
                .is_none()
        })
        .collect();
    open.sort_by_key(|s| range(s).0);
    match how {
        Reshard::Split => {
            let (lo, hi) = range(open[0]);
            k.split_shard()
                .stream_name(stream)
                .shard_to_split(open[0].shard_id())
                .new_starting_hash_key(((lo + hi) / 2).to_string())
                .send()
                .await
                .expect("SplitShard");
        }
        Reshard::Merge => {
            let pair = open
                .windows(2)
                .find(|p| range(p[0]).1 + 1 == range(p[1]).0)
                .expect("two adjacent open shards");
            k.merge_shards()
                .stream_name(stream)
                .shard_to_merge(pair[0].shard_id())
                .adjacent_shard_to_merge(pair[1].shard_id())
                .send()
                .await
                .expect("MergeShards");
        }
    }
    wait_stream_active(k, stream).await;
}
