//! Benchmark helper (used by `bench/month.sh`): a month of streaming, compressed. The rows of a
//! warehouse backfilled in one run are committed again to a second warehouse as a stream
//! worker commits them: `--flushes` flushes of `--shards` shards, in time order, each shard
//! writing one file per partition it touches (the worker's `write_parquet`), each table
//! committed by the worker's group committer with one `txn` per shard and flush. The
//! current-state tables are refreshed every `--refresh-every` flushes (a worker refreshes
//! after each commit of change rows; that is 20,000 MERGEs here, which would measure MERGE,
//! not the small files).
//!
//!   month_of_flushes --from <warehouse> --to <warehouse> [--flushes 20000] [--shards 2]
//!                    [--refresh-every 200]

use std::collections::BTreeMap;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use tributary_table::committer::Committer;
use tributary_table::{Contribution, DataFile, Partition, Table, Txn, Warehouse, delta, state};
use tributary_transform::{Codec, FileTarget, write_parquet};

/// Command-line options (`--name value` pairs; this is a benchmark helper, not a user tool).
struct Options {
    from: String,
    to: String,
    flushes: usize,
    shards: usize,
    refresh_every: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: usize| {
        value(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
        })
    };
    Options {
        from: value("--from").expect("--from <warehouse backfilled in one run>"),
        to: value("--to").expect("--to <new warehouse>"),
        flushes: number("--flushes", 20_000).max(1),
        shards: number("--shards", 2).max(1),
        refresh_every: number("--refresh-every", 200).max(1),
    }
}

/// Every row of `table` in `warehouse`, partition by partition in day order.
async fn rows_by_day(warehouse: &Warehouse, table: Table) -> Vec<(Partition, RecordBatch)> {
    let Some(delta) = delta::open(warehouse, table).await.expect("open the table") else {
        return Vec::new();
    };
    let snapshot = delta.snapshot().expect("a snapshot");
    let mut files: BTreeMap<Partition, Vec<String>> = BTreeMap::new();
    let root = warehouse.table_url(table.name());
    for file in snapshot.log_data().iter() {
        let path = file.path().to_string();
        let partition = Partition::of_path(&path).expect("a partitioned path");
        files
            .entry(partition)
            .or_default()
            .push(format!("{}/{path}", root.trim_end_matches('/')));
    }
    let ctx = SessionContext::new();
    let store_url =
        datafusion::execution::object_store::ObjectStoreUrl::parse(warehouse.store_url()).unwrap();
    ctx.register_object_store(store_url.as_ref(), warehouse.store().clone());
    let schema = delta::file_schema(table);
    let mut out = Vec::new();
    for (partition, urls) in files {
        let batches = ctx
            .read_parquet(urls, ParquetReadOptions::default().schema(&schema))
            .await
            .expect("read the partition")
            .collect()
            .await
            .expect("collect the partition");
        out.extend(batches.into_iter().map(|b| (partition, b)));
    }
    out
}

/// Takes the next `n` rows of `rows` (from `at`), grouped by partition.
fn take(
    rows: &[(Partition, RecordBatch)],
    at: &mut (usize, usize),
    mut n: usize,
) -> BTreeMap<Partition, Vec<RecordBatch>> {
    let mut out: BTreeMap<Partition, Vec<RecordBatch>> = BTreeMap::new();
    while n > 0 && at.0 < rows.len() {
        let (partition, batch) = &rows[at.0];
        let len = (batch.num_rows() - at.1).min(n);
        out.entry(*partition)
            .or_default()
            .push(batch.slice(at.1, len));
        n -= len;
        at.1 += len;
        if at.1 == batch.num_rows() {
            *at = (at.0 + 1, 0);
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let o = options();
    let from = Warehouse::open(&o.from).await.expect("open --from");
    let to = Warehouse::open(&o.to).await.expect("open --to");
    for table in to.schema().handles() {
        delta::open_or_create(&to, table)
            .await
            .expect("create the table");
    }
    let mut sources = Vec::new();
    for table in to.schema().handles() {
        let rows = rows_by_day(&from, table).await;
        let total: usize = rows.iter().map(|(_, b)| b.num_rows()).sum();
        sources.push((table, rows, total.div_ceil(o.flushes), (0usize, 0usize)));
    }
    let committer = Committer::new(to.clone());
    let started = Instant::now();
    let (mut files, mut commits, mut rows_written) = (0u64, 0u64, 0u64);
    for flush in 0..o.flushes {
        let mut writes = Vec::new();
        for (table, rows, per_flush, at) in &mut sources {
            for (partition, batches) in take(rows, at, *per_flush) {
                let all =
                    datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches)
                        .expect("one schema");
                let per_shard = all.num_rows().div_ceil(o.shards);
                for shard in 0..o.shards {
                    let start = shard * per_shard;
                    if start >= all.num_rows() {
                        break;
                    }
                    let part = all.slice(start, per_shard.min(all.num_rows() - start));
                    let relative = format!(
                        "{}/{}/s{shard}-f{flush:06}.parquet",
                        table.name(),
                        partition.path()
                    );
                    let target = FileTarget {
                        table: *table,
                        partition,
                    };
                    writes.push((
                        *table,
                        shard,
                        write_parquet(to.clone(), relative, target, vec![part], Codec::Zstd),
                    ));
                }
            }
        }
        // each shard's flush: its files of each table, committed under its txn
        let mut contributions: BTreeMap<(Table, usize), Vec<DataFile>> = BTreeMap::new();
        let (keys, pending): (Vec<_>, Vec<_>) =
            writes.into_iter().map(|(t, s, w)| ((t, s), w)).unzip();
        for (key, written) in keys
            .into_iter()
            .zip(futures::future::join_all(pending).await)
        {
            let written = written.expect("write a flush file");
            let (_, file) = written.data.expect("a table file");
            rows_written += file.rows;
            files += 1;
            contributions.entry(key).or_default().push(file);
        }
        let committing = contributions.into_iter().map(|((table, shard), files)| {
            let committer = committer.clone();
            async move {
                let contribution = Contribution {
                    txn: Some(Txn {
                        app_id: format!("month/shard-{shard}"),
                        version: flush as i64 + 1,
                    }),
                    files,
                };
                (table, committer.commit(table, contribution).await)
            }
        });
        let mut versions = std::collections::BTreeSet::new();
        for (table, done) in futures::future::join_all(committing).await {
            if let Some(v) = done.expect("commit a flush").version {
                versions.insert((table, v));
            }
        }
        commits += versions.len() as u64;
        if (flush + 1) % o.refresh_every == 0 || flush + 1 == o.flushes {
            state::refresh_all(
                &to,
                &tributary_transform::parquet::writer_properties(Codec::Zstd),
            )
            .await
            .expect("refresh the state tables");
        }
        if (flush + 1) % 1000 == 0 {
            eprintln!(
                "{} flushes, {files} files, {:.0} s",
                flush + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "flushes": o.flushes,
            "shards": o.shards,
            "files": files,
            "rows": rows_written,
            "seconds": seconds,
            "commits_at_least": commits,
        })
    );
}
