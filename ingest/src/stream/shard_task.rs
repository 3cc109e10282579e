//! One shard, read to the end (or until shutdown): check the tables against the checkpoint and
//! complete a pending flush, then read →
//! decode → buffer → flush by size or time, renewing the lease in between.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::client::{ClientError, SharedClient};
use super::flush::{FlushBuffer, FlushContext, FlushError};
use super::lease::Lease;
use super::metrics::Metrics;
use super::reader::{Read, ShardReader};
use super::records::{DecodedRange, decode_off_thread, pieces};
use super::shard::{Position, StartPosition};

/// Kinesis allows 5 GetRecords per second per shard; a reader that got records asks again
/// after this gap. <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>
const MIN_READ_GAP: Duration = Duration::from_millis(200);

/// How a shard task ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ShardExit {
    /// The shard is closed and all of it is committed: its children may start.
    Finished,
    /// Shutdown: everything read was flushed and the lease given up.
    Released,
    /// Another worker took the shard; nothing of ours was committed after that.
    LeaseLost,
}

/// What a shard task needs.
#[derive(Clone)]
pub struct ShardTask {
    pub flush: FlushContext,
    pub client: SharedClient,
    pub flush_interval: Duration,
    pub flush_bytes: usize,
    pub poll_interval: Duration,
}

impl ShardTask {
    pub async fn run(
        self,
        mut lease: Lease,
        cancel: CancellationToken,
    ) -> Result<ShardExit, FlushError> {
        let metrics = self.flush.metrics.clone();
        let source = self.flush.source.clone();
        let shard = self.flush.shard.clone();
        metrics.shard_started(&source, &shard);
        let result = match self.read_shard(&mut lease, &cancel).await {
            // shutdown dropped a wait or a recovery's step, never a checkpoint write: the lease
            // is as last written, and giving it up lets another worker take the shard at once
            // (a pending intent stays for it to complete)
            Err(FlushError::Cancelled { .. }) => self.flush.release(&mut lease).await.map(|()| {
                info!(%shard, "released for shutdown");
                ShardExit::Released
            }),
            other => other,
        };
        metrics.shard_stopped(&source, &shard);
        match result {
            Err(FlushError::LeaseLost(_)) => {
                info!(%shard, "lease lost to another worker; stopping this shard");
                Ok(ShardExit::LeaseLost)
            }
            other => other,
        }
    }

    async fn read_shard(
        &self,
        lease: &mut Lease,
        cancel: &CancellationToken,
    ) -> Result<ShardExit, FlushError> {
        let shard = &self.flush.shard;
        let source = &self.flush.source;
        let metrics = &self.flush.metrics;
        self.flush
            .take_over(lease, &self.client, Some(cancel))
            .await?;
        let position = match (lease.state.checkpoint.clone(), lease.state.start) {
            (Some(seq), _) => Position::AfterSequence(seq),
            (None, StartPosition::TrimHorizon) => Position::TrimHorizon,
            (None, StartPosition::AtTimestamp(millis)) => Position::AtTimestamp { millis },
            (None, StartPosition::Latest) => Position::Latest,
        };
        info!(%shard, ?position, epoch = lease.state.lease_epoch, "reading shard");
        let reader = ShardReader::new(self.client.clone(), shard.clone(), position);
        let shard_name: Arc<str> = Arc::from(shard.as_str());
        let kind = self.client.kind();
        let mut buffer = FlushBuffer::default();
        // the read in flight outlives the other branches: a flush or a renewal that comes due
        // during a slow GetRecords runs beside it, and never drops it to ask again (a dropped
        // read costs a call of the shard's 5 per second, and its iterator; on a slow endpoint
        // reads cut every second never finish)
        let mut read = std::pin::pin!(read_after(reader, Instant::now()));
        // every write of the checkpoint renews the lease (`Lease::written`); this renews it
        // when none came for a third of its duration
        let renew_every = self.flush.lease_duration / 3;
        loop {
            let flush_due = buffer
                .since()
                .map(|t| Instant::from_std(t) + self.flush_interval);
            let renew_due = Instant::from_std(lease.written) + renew_every;
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                    self.flush.release(lease).await?;
                    info!(%shard, "flushed and released for shutdown");
                    return Ok(ShardExit::Released);
                }
                _ = sleep_until(flush_due.unwrap_or_else(Instant::now)), if flush_due.is_some() => {
                    self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                }
                _ = sleep_until(renew_due) => self.flush.renew(lease).await?,
                (reader, result) = &mut read => match result {
                    Read::Records { records, behind_ms } => {
                        let caught_up = records.is_empty() && behind_ms.unwrap_or(0) == 0;
                        let gap = if caught_up { self.poll_interval } else { MIN_READ_GAP };
                        read.set(read_after(reader, Instant::now() + gap));
                        if let Some(behind) = behind_ms {
                            metrics.shard_behind(source, shard, behind);
                        }
                        if records.is_empty() {
                            if buffer.is_empty() {
                                metrics.shard_checkpointed(source, shard);
                            }
                            metrics.shard_read(source, shard, caught_up && buffer.is_empty());
                            continue;
                        }
                        metrics.shard_read(source, shard, false);
                        // a piece at a time, each reserved before the next is decoded
                        for piece in pieces(records) {
                            let decoded = decode_off_thread(self.flush.decoder.clone(), kind, shard_name.clone(), piece)
                                .await
                                .map_err(|source| FlushError::Build { shard: shard.clone(), source })?;
                            let Some(DecodedRange { chunk, first, last }) = decoded else {
                                continue;
                            };
                            let labels = Metrics::source(source);
                            metrics.records_read.get_or_create(&labels).inc_by(chunk.stream_records);
                            metrics.bytes_read.get_or_create(&labels).inc_by(chunk.bytes);
                            let bytes = chunk.memory_bytes();
                            let budget = &self.flush.budget;
                            let permit = match budget.try_reserve(bytes) {
                                Some(permit) => permit,
                                None => {
                                    // the budget is used up: free what this shard holds, then
                                    // wait for the others (each does the same, so none waits
                                    // forever)
                                    debug!(%shard, held = buffer.bytes(), "buffer budget used up; flushing early");
                                    self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                                    // shutdown ends the wait (not a renewal in flight), and the
                                    // lease is released: these records are not in the buffer,
                                    // the next owner reads them again
                                    self.flush.renewing_unless(lease, budget.reserve(bytes), Some(cancel)).await?
                                }
                            };
                            buffer.add(chunk, &first, &last, Some(permit));
                            if buffer.bytes() >= self.flush_bytes {
                                self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                            }
                        }
                    }
                    Read::End => {
                        self.flush.flush(lease, std::mem::take(&mut buffer), true).await?;
                        return Ok(ShardExit::Finished);
                    }
                    Read::Retry(error) => {
                        // the reader waits out its own backoff
                        read.set(read_after(reader, Instant::now()));
                        if matches!(error, ClientError::Trimmed { .. }) {
                            metrics.retention_gap(source);
                        }
                        metrics.error(source, error.kind());
                    }
                    Read::Failed(error) => {
                        metrics.error(source, error.kind());
                        // what was read before is still worth keeping
                        self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                        return Err(FlushError::Unreadable { shard: shard.clone(), source: error });
                    }
                },
            }
        }
    }
}

/// `reader`'s next read, no sooner than `at`; the reader comes back with it, so that one read
/// at a time is in flight and none is dropped for another branch of the shard's loop.
async fn read_after(mut reader: ShardReader, at: Instant) -> (ShardReader, Read) {
    sleep_until(at).await;
    let read = reader.read().await;
    (reader, read)
}

#[cfg(test)]
mod tests {
    use tributary_transform::Warehouse;

    use super::*;
    use crate::stream::budget::Budget;
    use crate::stream::checkpoint::{CheckpointStore, Intent, ShardState};
    use crate::stream::lease::{Claim, Observer, try_claim};
    use crate::stream::memory::MemoryStream;
    use crate::stream::shard::ShardId;

    /// A task reading `stream`'s shardId-0 under `budget`, with a flush size and interval far
    /// larger than the budget, so that only the budget can cut flushes.
    async fn budget_bound_task(
        dir: &std::path::Path,
        stream: Arc<MemoryStream>,
        budget: Budget,
    ) -> (ShardTask, Lease, CheckpointStore, Arc<Metrics>) {
        let warehouse = Warehouse::open(dir.to_str().unwrap()).await.unwrap();
        let store = CheckpointStore::new(warehouse.clone(), "kinesis-memory");
        let shard = ShardId("shardId-0".into());
        let metrics = Arc::new(Metrics::new());
        let task = ShardTask {
            flush: FlushContext {
                warehouse: warehouse.clone(),
                store: store.clone(),
                committer: tributary_table::committer::Committer::new(warehouse.clone()),
                codec: tributary_transform::Codec::Snappy,
                lease_duration: Duration::from_secs(30),
                metrics: metrics.clone(),
                source: "kinesis-memory".into(),
                shard: shard.clone(),
                step_delay: Duration::ZERO,
                decoder: crate::decode::SchemaDecoder::new(warehouse.schema()),
                budget,
            },
            client: stream,
            flush_interval: Duration::from_secs(3600),
            flush_bytes: 64 << 20,
            poll_interval: Duration::from_millis(10),
        };
        let Claim::Claimed(lease) = try_claim(
            &store,
            &mut Observer::default(),
            &shard,
            None,
            StartPosition::TrimHorizon,
            "w",
            Duration::from_secs(30),
        )
        .await
        .unwrap() else {
            panic!("a new shard is free")
        };
        (task, *lease, store, metrics)
    }

    fn flushes(text: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with("tributary_flush_duration_seconds_count"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap()
    }

    /// Reads all of `stream`'s closed shardId-0 under a 2 MiB budget, far less than its
    /// backlog; checks the shard finished and every reservation was given back. Returns the
    /// metrics text and the shard's state.
    async fn read_under_a_small_budget(
        dir: &std::path::Path,
        stream: Arc<MemoryStream>,
    ) -> (String, ShardState) {
        let budget = Budget::new(2 << 20);
        let (task, lease, store, metrics) = budget_bound_task(dir, stream, budget.clone()).await;
        let exit = task.run(lease, CancellationToken::new()).await.unwrap();
        assert_eq!(exit, ShardExit::Finished);
        assert_eq!(
            budget.available_kib(),
            2048,
            "every reservation was given back"
        );
        let state = store
            .load(&ShardId("shardId-0".into()))
            .await
            .unwrap()
            .unwrap();
        (metrics.encode(), state.state)
    }

    #[tokio::test]
    async fn a_large_backlog_over_many_partitions_stays_within_the_buffer_budget() {
        let stream = Arc::new(MemoryStream::new(2_500));
        stream.add_shard("shardId-0", &[]);
        // 20,000 late and early events over 400 days: many small partitions at once
        stream.put(
            "shardId-0",
            (0..20_000).map(|i| {
                let ts = 1_735_689_600_000i64 + (i % 400) * 86_400_000;
                format!(r#"{{"eventType":"PAGE_VIEW","userId":"u{i}","timestamp":{ts},"properties":{{"page":"/p/{i}"}}}}"#).into_bytes()
            }),
        );
        stream.close("shardId-0");
        let dir = tempfile::tempdir().unwrap();
        let (text, state) = read_under_a_small_budget(dir.path(), stream).await;
        // the budget, not the (huge) flush size or the hour-long interval, cut the flushes
        assert!(
            flushes(&text) > 3.0,
            "expected early flushes under a 2 MiB budget\n{text}"
        );
        assert!(
            text.contains(
                "tributary_records_written_total{source=\"kinesis-memory\",table=\"events\"} 20000"
            ),
            "{text}"
        );
        assert!(state.finished && state.pending.is_none());
        assert_eq!(state.records_committed, 20_000);
    }

    #[tokio::test]
    async fn dead_letters_count_against_the_buffer_budget() {
        let stream = Arc::new(MemoryStream::new(2_500));
        stream.add_shard("shardId-0", &[]);
        // 20,000 payloads that are not JSON, 1 KiB each: only dead letters
        stream.put(
            "shardId-0",
            (0..20_000).map(|i| format!("not json {i} {}", "x".repeat(1000)).into_bytes()),
        );
        stream.close("shardId-0");
        let dir = tempfile::tempdir().unwrap();
        let (text, state) = read_under_a_small_budget(dir.path(), stream).await;
        assert!(
            flushes(&text) > 3.0,
            "dead letters held without limit: no early flush under a 2 MiB budget\n{text}"
        );
        assert!(
            text.contains("tributary_dead_letters_total{source=\"kinesis-memory\"} 20000"),
            "{text}"
        );
        assert_eq!(state.records_committed, 20_000);
    }

    /// One GetRecords answer five times the budget (2,500 payloads of 4 KiB that are not
    /// JSON: ~13 MiB of dead letters, against 2 MiB) is decoded and reserved a piece at a
    /// time: no flush holds more than the budget and one piece. Decoded whole, the answer
    /// overshot the budget by its own size, and each flush wrote it in one file.
    #[tokio::test]
    async fn an_answer_larger_than_the_budget_is_held_a_piece_at_a_time() {
        let stream = Arc::new(MemoryStream::new(2_500));
        stream.add_shard("shardId-0", &[]);
        stream.put(
            "shardId-0",
            (0..5_000).map(|i| format!("not json {i} {}", "x".repeat(4096)).into_bytes()),
        );
        stream.close("shardId-0");
        let dir = tempfile::tempdir().unwrap();
        let (text, state) = read_under_a_small_budget(dir.path(), stream).await;
        assert_eq!(state.records_committed, 5_000);
        assert!(
            text.contains("tributary_dead_letters_total{source=\"kinesis-memory\"} 5000"),
            "{text}"
        );
        let mut sizes = Vec::new();
        let mut dirs = vec![dir.path().join(tributary_table::layout::DEAD_LETTER_PREFIX)];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let entry = entry.unwrap();
                match entry.file_type().unwrap().is_dir() {
                    true => dirs.push(entry.path()),
                    false => sizes.push(entry.metadata().unwrap().len()),
                }
            }
        }
        // a piece of 1 MiB of payloads is ~1.4 MiB of dead letters
        let bound = (2 << 20) + (3 << 19);
        assert!(sizes.len() > 4, "{sizes:?}");
        assert!(
            sizes.iter().all(|&n| n <= bound),
            "a flush held more than the budget and a piece: {sizes:?}"
        );
    }

    /// A GetRecords slower than the flush interval and the renewal interval is waited for,
    /// not dropped and asked again: the timers' branches run beside it. Before, every flush
    /// or renewal due during a read dropped it, so reads slower than a third of the lease
    /// (a loaded endpoint) never finished, and each retry took a new iterator.
    #[tokio::test]
    async fn a_slow_read_outlives_the_flushes_and_renewals_due_during_it() {
        let stream = Arc::new(MemoryStream::new(100));
        stream.add_shard("shardId-0", &[]);
        stream.put(
            "shardId-0",
            (0..1_000).map(|i| {
                format!(r#"{{"eventType":"PAGE_VIEW","userId":"u{i}","timestamp":1767607200000}}"#)
                    .into_bytes()
            }),
        );
        stream.close("shardId-0");
        *stream.read_delay.lock().unwrap() = Duration::from_millis(300);
        let dir = tempfile::tempdir().unwrap();
        let (mut task, lease, store, _) =
            budget_bound_task(dir.path(), stream.clone(), Budget::new(64 << 20)).await;
        // a flush and a renewal come due several times during every read
        task.flush_interval = Duration::from_millis(50);
        task.flush.lease_duration = Duration::from_millis(150);
        let exit = tokio::time::timeout(
            Duration::from_secs(60),
            task.run(lease, CancellationToken::new()),
        )
        .await
        .expect("the shard is read to its end")
        .unwrap();
        assert_eq!(exit, ShardExit::Finished);
        // ten pages, each asked once, from one iterator
        assert_eq!(*stream.calls.lock().unwrap(), (1, 10));
        let state = store
            .load(&ShardId("shardId-0".into()))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert!(state.finished);
        assert_eq!(state.records_committed, 1_000);
    }

    /// Waits until a write waits for the lock `file` of a local checkpoint: Linux lists such
    /// waiters in /proc/locks (`-> FLOCK ...`).
    #[cfg(target_os = "linux")]
    async fn until_a_write_waits_for(file: &std::path::Path, _lease: Duration, deadline: Instant) {
        use std::os::unix::fs::MetadataExt;
        let inode = format!(":{} ", std::fs::metadata(file).unwrap().ino());
        loop {
            let locks = std::fs::read_to_string("/proc/locks").unwrap();
            if locks
                .lines()
                .any(|l| l.contains("->") && l.contains(&inode))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no write waited for the lock:\n{locks}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Elsewhere: half a lease, by when the next renewal (due a third of a lease after the
    /// last write) has started.
    #[cfg(not(target_os = "linux"))]
    async fn until_a_write_waits_for(_file: &std::path::Path, lease: Duration, _deadline: Instant) {
        tokio::time::sleep(lease / 2).await;
    }

    #[tokio::test]
    async fn shutdown_while_a_replay_waits_drops_the_wait_and_the_release_still_fits() {
        let dir = tempfile::tempdir().unwrap();
        let stream = Arc::new(MemoryStream::new(7));
        stream.add_shard("shardId-0", &[]);
        stream.put(
            "shardId-0",
            (0..30).map(|i| {
                format!(r#"{{"eventType":"PAGE_VIEW","userId":"u{i}","timestamp":1767225600000}}"#)
                    .into_bytes()
            }),
        );
        let budget = Budget::new(64 << 20);
        let (mut task, mut lease, store, _) =
            budget_bound_task(dir.path(), stream, budget.clone()).await;
        let lease_duration = Duration::from_millis(300);
        task.flush.lease_duration = lease_duration;
        let shard = ShardId("shardId-0".into());
        // an earlier owner recorded a flush and wrote none of its files: it must be re-read
        let intent = Intent {
            first: tributary_table::SequenceNumber::from_u64(101),
            last: tributary_table::SequenceNumber::from_u64(130),
            records: 30,
            version: 1,
            files: vec![
                "events/year=2026/month=01/day=01/kinesis-memory-shardId-0-101-0000000000000000.parquet"
                    .into(),
            ],
        };
        lease
            .write(&store, lease_duration, |s| s.pending = Some(intent.clone()))
            .await
            .unwrap();
        let recorded = store.load(&shard).await.unwrap().unwrap().state;
        // other shards hold the whole budget: the replay waits for memory, renewing its lease
        let others = budget.reserve(usize::MAX).await;
        let cancel = CancellationToken::new();
        let run = tokio::spawn(task.run(lease, cancel.clone()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.load(&shard).await.unwrap().unwrap().state.updated_ms <= recorded.updated_ms {
            assert!(
                Instant::now() < deadline,
                "no renewal while the replay waited"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // shutdown comes while a renewal is in flight: it waits for the checkpoint's lock,
        // which the test holds
        let lock_file = dir
            .path()
            .join("_tributary/streams/kinesis-memory/shardId-0.json.lock");
        let lock = std::fs::File::options()
            .write(true)
            .open(&lock_file)
            .unwrap();
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .unwrap()
            .unwrap();
        until_a_write_waits_for(&lock_file, lease_duration, deadline).await;
        cancel.cancel();
        drop(lock);
        let exit = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .expect("shutdown ends the replay's wait")
            .unwrap()
            .unwrap();
        // a renewal cut after its write reached the store would make the release conflict,
        // and the task would end as LeaseLost with the lease held until it expired
        assert_eq!(exit, ShardExit::Released);
        let after = store.load(&shard).await.unwrap().unwrap().state;
        assert_eq!(
            (after.owner, after.lease_epoch, after.pending),
            (None, recorded.lease_epoch, Some(intent)),
            "given up, the intent kept for the next owner"
        );
        drop(others);
        assert_eq!(
            budget.available_kib(),
            budget.total_kib() as usize,
            "the replay gave its reservations back"
        );
        // and the next owner takes the shard at once, with no lease to wait out
        let claim = try_claim(
            &store,
            &mut Observer::default(),
            &shard,
            store.load(&shard).await.unwrap(),
            StartPosition::TrimHorizon,
            "next",
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert!(matches!(claim, Claim::Claimed(_)), "{claim:?}");
    }
}
