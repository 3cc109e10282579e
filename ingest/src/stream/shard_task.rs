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
use super::records::{DecodedRange, decode_off_thread};
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
        let result = self.read_shard(&mut lease, &cancel).await;
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
        tokio::select! {
            result = self.flush.take_over(lease, &self.client) => result?,
            _ = cancel.cancelled() => {
                // the intent stays in the checkpoint: whoever claims the shard completes it
                self.flush.release(lease).await?;
                return Ok(ShardExit::Released);
            }
        }
        let position = match (lease.state.checkpoint.clone(), lease.state.start) {
            (Some(seq), _) => Position::AfterSequence(seq),
            (None, StartPosition::TrimHorizon) => Position::TrimHorizon,
            (None, StartPosition::AtTimestamp(millis)) => Position::AtTimestamp { millis },
            (None, StartPosition::Latest) => Position::Latest,
        };
        info!(%shard, ?position, epoch = lease.state.lease_epoch, "reading shard");
        let mut reader = ShardReader::new(self.client.clone(), shard.clone(), position);
        let shard_name: Arc<str> = Arc::from(shard.as_str());
        let kind = self.client.kind();
        let mut buffer = FlushBuffer::default();
        let mut next_read = Instant::now();
        let renew_every = self.flush.lease_duration / 3;
        let mut last_write = Instant::now();
        loop {
            let flush_due = buffer
                .since()
                .map(|t| Instant::from_std(t) + self.flush_interval);
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
                    last_write = Instant::now();
                }
                _ = sleep_until(last_write + renew_every) => {
                    self.flush.renew(lease).await?;
                    last_write = Instant::now();
                }
                read = async { sleep_until(next_read).await; reader.read().await } => match read {
                    Read::Records { records, behind_ms } => {
                        let caught_up = records.is_empty() && behind_ms.unwrap_or(0) == 0;
                        next_read = Instant::now() + if caught_up { self.poll_interval } else { MIN_READ_GAP };
                        if let Some(behind) = behind_ms {
                            metrics.shard_behind(source, shard, behind);
                        }
                        let decoded = decode_off_thread(self.flush.decoder.clone(), kind, shard_name.clone(), records)
                            .await
                            .map_err(|source| FlushError::Build { shard: shard.clone(), source })?;
                        let Some(DecodedRange { chunk, first, last }) = decoded else {
                            if buffer.is_empty() {
                                metrics.shard_checkpointed(source, shard);
                            }
                            metrics.shard_read(source, shard, caught_up && buffer.is_empty());
                            continue;
                        };
                        metrics.shard_read(source, shard, false);
                        let labels = Metrics::source(source);
                        metrics.records_read.get_or_create(&labels).inc_by(chunk.stream_records);
                        metrics.bytes_read.get_or_create(&labels).inc_by(chunk.bytes);
                        let bytes = chunk.memory_bytes();
                        let budget = &self.flush.budget;
                        let permit = match budget.try_reserve(bytes) {
                            Some(permit) => permit,
                            None => {
                                // the budget is used up: free what this shard holds, then wait
                                // for the others (each does the same, so none waits forever)
                                debug!(%shard, held = buffer.bytes(), "buffer budget used up; flushing early");
                                self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                                last_write = Instant::now();
                                tokio::select! {
                                    permit = self.flush.renewing(lease, budget.reserve(bytes)) => permit?,
                                    _ = cancel.cancelled() => {
                                        // these records are not in the buffer: the next owner re-reads them
                                        self.flush.release(lease).await?;
                                        return Ok(ShardExit::Released);
                                    }
                                }
                            }
                        };
                        buffer.add(chunk, &first, &last, Some(permit));
                        if buffer.bytes() >= self.flush_bytes {
                            self.flush.flush(lease, std::mem::take(&mut buffer), false).await?;
                            last_write = Instant::now();
                        }
                    }
                    Read::End => {
                        self.flush.flush(lease, std::mem::take(&mut buffer), true).await?;
                        return Ok(ShardExit::Finished);
                    }
                    Read::Retry(error) => {
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

#[cfg(test)]
mod tests {
    use tributary_transform::Warehouse;

    use super::*;
    use crate::stream::budget::Budget;
    use crate::stream::checkpoint::{CheckpointStore, ShardState};
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
    async fn read_under_a_small_budget(stream: Arc<MemoryStream>) -> (String, ShardState) {
        let dir = tempfile::tempdir().unwrap();
        let budget = Budget::new(2 << 20);
        let (task, lease, store, metrics) =
            budget_bound_task(dir.path(), stream, budget.clone()).await;
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
        let (text, state) = read_under_a_small_budget(stream).await;
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
        let (text, state) = read_under_a_small_budget(stream).await;
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
}
