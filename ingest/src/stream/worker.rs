//! The worker: for each source, list shards periodically, claim the ones that are free and
//! whose parents are finished, and run one [`ShardTask`] per claimed shard until shutdown.
//!
//! Sharing: each worker holds at most its fair share of the readable shards
//! ([`super::membership`]); one over its share gives shards back, cleanly, for others to claim.
//!
//! Lineage: a child shard (after a split, a merge, or DynamoDB Streams' rollover) is claimed
//! only once every parent it still lists is finished (closed and fully committed), so the
//! changes of one key are written in order. A parent that the service no longer lists has
//! aged out of the stream's retention and counts as finished.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tributary_table::aws::load_sdk_config;
use tributary_table::committer::Committer;
use tributary_table::{Warehouse, WarehouseError};

use super::budget::Budget;
use super::checkpoint::{CheckpointError, CheckpointStore};
use super::client::{ClientError, SharedClient};
use super::config::{ConfigError, SourceSpec, WorkerConfig};
use super::dynamodb_streams::{DynamodbStream, ResolveError, latest_stream_arn};
use super::flush::{FlushContext, FlushError};
use super::identity::{IdentityError, StreamIdentity, StreamInfo};
use super::kinesis::KinesisStream;
use super::lease::{Claim, Observer, try_claim};
use super::membership::{Membership, fair_share};
use super::metrics::Metrics;
use super::shard::{ShardId, StartPosition};
use super::shard_task::{ShardExit, ShardTask};
use super::{compactor, current_state};
use crate::decode::SchemaDecoder;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Table(#[from] tributary_table::TableError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Store(#[from] tributary_table::store_probe::ProbeError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("the source {0} is given twice")]
    DuplicateSource(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("source {source_name}: cannot describe the stream: {error}")]
    Describe {
        source_name: String,
        error: ClientError,
    },
    #[error(
        "source {source_name}: the stream changed under the worker (it was {was}, it is now \
         {now}): what was read is committed; start the worker again to read the new stream \
         in a namespace of its own"
    )]
    StreamChanged {
        source_name: String,
        was: Box<StreamIdentity>,
        now: Box<StreamIdentity>,
    },
    #[error("source {source_name}: {error}")]
    Shard {
        source_name: String,
        error: Box<FlushError>,
    },
}

/// Builds the client of one `--source`.
pub async fn connect(
    spec: &SourceSpec,
    sdk: &aws_config::SdkConfig,
) -> Result<SharedClient, ResolveError> {
    Ok(match spec {
        SourceSpec::Kinesis(stream) => Arc::new(KinesisStream::new(sdk, stream)),
        SourceSpec::DynamodbTable(table) => Arc::new(DynamodbStream::new(
            sdk,
            &latest_stream_arn(sdk, table).await?,
        )),
        SourceSpec::DynamodbStream(arn) => Arc::new(DynamodbStream::new(sdk, arn)),
    })
}

/// Runs until `shutdown` is cancelled, then flushes, checkpoints and releases every shard.
pub async fn run(
    config: WorkerConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    config.validate()?;
    let sdk = load_sdk_config().await;
    let warehouse = Warehouse::open(&config.warehouse)
        .await?
        .with_schema(config.schema);
    warehouse.verify_conditional_writes().await?;
    tributary_table::delta::refuse_plain_layout(&warehouse).await?;
    // every table exists from the start: readers find empty tables, not missing ones
    for table in warehouse.schema().handles() {
        tributary_table::delta::open_or_create(&warehouse, table).await?;
    }
    let decoder = SchemaDecoder::new(warehouse.schema());
    // one committer for every source and shard: their flushes to a table share commits
    let committer = Committer::new(warehouse.clone());
    // the current-state tables follow the commits; the first refresh catches up with whatever
    // an earlier worker committed and did not fold in
    let committed = committer.committed();
    committed.notify_one();
    let state_stop = CancellationToken::new();
    let compactor = config.compact_interval.map(|interval| {
        info!(
            ?interval,
            target_bytes = config.compact_target_bytes,
            fan_in = config.compact_fan_in,
            "compaction on"
        );
        tokio::spawn(compactor::compact_periodically(
            warehouse.clone(),
            interval,
            config.compact_target_bytes,
            config.compact_fan_in,
            config.codec,
            metrics.clone(),
            state_stop.clone(),
        ))
    });
    let state_task = tokio::spawn(current_state::keep_current(
        warehouse.clone(),
        config.codec,
        committed,
        metrics.clone(),
        state_stop.clone(),
    ));
    let mut clients = Vec::new();
    let mut slugs = HashSet::new();
    for spec in &config.sources {
        let client = connect(spec, &sdk).await?;
        if !slugs.insert(client.slug().to_string()) {
            return Err(WorkerError::DuplicateSource(spec.to_string()));
        }
        let info = describe_at_start(&client).await?;
        let namespace = super::identity::resolve(&warehouse, client.slug(), &info.identity).await?;
        if namespace != client.slug() {
            warn!(
                source = %spec,
                stream = %info.identity,
                namespace,
                old = client.slug(),
                "the checkpoints under the source's name belong to another stream (re-created, \
                 or of another account or region): this one starts fresh in its own namespace"
            );
        }
        info!(source = %spec, slug = namespace, stream = %info.identity, "source ready");
        clients.push((client, namespace, info.identity));
    }
    let budget = Budget::new(config.max_buffer_bytes);
    let config = Arc::new(config);
    let mut sources = JoinSet::new();
    for (client, slug, identity) in clients {
        let source = SourceLoop {
            store: CheckpointStore::new(warehouse.clone(), &slug),
            client,
            slug,
            identity,
            config: config.clone(),
            warehouse: warehouse.clone(),
            committer: committer.clone(),
            metrics: metrics.clone(),
            budget: budget.clone(),
            decoder: decoder.clone(),
        };
        sources.spawn(source.run(shutdown.clone()));
    }
    let mut first_error = None;
    while let Some(result) = sources.join_next().await {
        let result = result.unwrap_or_else(|e| panic!("a source loop panicked: {e}"));
        if let Err(e) = result {
            error!(error = %e, "source stopped; shutting the worker down");
            shutdown.cancel();
            first_error.get_or_insert(e);
        }
    }
    state_stop.cancel();
    let _ = state_task.await;
    if let Some(compactor) = compactor {
        let _ = compactor.await;
    }
    current_state::refresh_at_exit(&warehouse, config.codec).await;
    first_error.map_or(Ok(()), Err)
}

struct SourceLoop {
    client: SharedClient,
    /// The namespace of this source's state, file names and `txn` ids: the client's slug, or
    /// a re-created stream's own ([`super::identity`]).
    slug: String,
    /// The stream the namespace belongs to; a different one found later ends the worker.
    identity: StreamIdentity,
    store: CheckpointStore,
    config: Arc<WorkerConfig>,
    warehouse: Warehouse,
    committer: Committer,
    metrics: Arc<Metrics>,
    /// The buffer budget every shard of every source shares.
    budget: Budget,
    /// The schema's decoder, compiled once for every shard.
    decoder: SchemaDecoder,
}

/// What the source loop knows between discovery rounds.
struct Known {
    /// Shards with a task, and the token that stops that task alone.
    running: HashMap<ShardId, CancellationToken>,
    finished: HashSet<ShardId>,
    /// Shards stopped by an error that retrying cannot fix (a corrupt checkpoint, a refused
    /// position, a flush that cannot be replayed): never claimed again by this process, so
    /// that the other shards go on. The metrics and `/healthz` name them.
    stopped: HashSet<ShardId>,
    /// Where each shard seen so far started: a child starts where its parents did.
    starts: HashMap<ShardId, StartPosition>,
    observer: Observer,
    membership: Membership,
}

impl SourceLoop {
    async fn run(self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        let slug = self.slug.clone();
        let membership = Membership::new(
            self.warehouse.clone(),
            &slug,
            &self.config.worker_id,
            self.config.lease_duration,
        );
        let mut known = Known {
            running: HashMap::new(),
            finished: HashSet::new(),
            stopped: HashSet::new(),
            starts: HashMap::new(),
            observer: Observer::default(),
            membership,
        };
        let mut tasks: JoinSet<(ShardId, Result<ShardExit, FlushError>)> = JoinSet::new();
        let mut tick = tokio::time::interval(self.config.discovery_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut fatal = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(changed) = self.same_stream().await {
                        error!(source = %slug, error = %changed, "the stream changed; flushing and stopping");
                        fatal = Some(changed);
                        break;
                    }
                    if let Err(e) = self.discover(&mut known, &mut tasks, &shutdown).await {
                        self.metrics.error(&slug, "discovery");
                        warn!(source = %slug, error = %e, "shard discovery failed; trying again next round");
                    } else {
                        self.metrics.heartbeat();
                    }
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    let (shard, exit) = done.unwrap_or_else(|e| panic!("a shard task panicked: {e}"));
                    known.running.remove(&shard);
                    match exit {
                        Ok(ShardExit::Finished) => {
                            info!(source = %slug, %shard, "shard finished; its children may start");
                            known.finished.insert(shard);
                            tick.reset_immediately();
                        }
                        Ok(ShardExit::LeaseLost) => known.observer.forget(&shard),
                        Ok(ShardExit::Released) => {}
                        Err(error) => self.stop_shard(&mut known, shard, error.reason(), &error),
                    }
                }
            }
        }
        // shutdown: every shard task sees the same token, flushes, checkpoints and releases
        for token in known.running.values() {
            token.cancel();
        }
        while let Some(done) = tasks.join_next().await {
            let (shard, exit) = done.unwrap_or_else(|e| panic!("a shard task panicked: {e}"));
            if let Err(error) = exit {
                error!(source = %slug, %shard, %error, "shard could not be flushed at shutdown");
                fatal.get_or_insert(WorkerError::Shard {
                    source_name: slug.clone(),
                    error: Box::new(error),
                });
            }
        }
        if let Err(e) = known.membership.leave().await {
            warn!(source = %slug, error = %e, "could not remove this worker's heartbeat; others take over after a lease duration");
        }
        fatal.map_or(Ok(()), Err)
    }

    /// Whether the stream is still the one this source's namespace belongs to. A describe that
    /// fails says nothing: the round goes on, and the next one asks again.
    async fn same_stream(&self) -> Result<(), WorkerError> {
        match self.client.describe().await {
            Ok(info) if info.identity != self.identity => Err(WorkerError::StreamChanged {
                source_name: self.slug.clone(),
                was: Box::new(self.identity.clone()),
                now: Box::new(info.identity),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                self.metrics.error(&self.slug, e.kind());
                warn!(source = %self.slug, error = %e, "could not describe the stream; trying again next round");
                Ok(())
            }
        }
    }

    /// One round: list shards, claim the ready ones, start their tasks.
    async fn discover(
        &self,
        known: &mut Known,
        tasks: &mut JoinSet<(ShardId, Result<ShardExit, FlushError>)>,
        shutdown: &CancellationToken,
    ) -> Result<(), DiscoveryError> {
        let mut shards = self.client.list_shards().await?;
        shards.sort_by(|a, b| a.id.cmp(&b.id));
        let listed: HashSet<ShardId> = shards.iter().map(|s| s.id.clone()).collect();
        // 1. the state of every shard this worker neither runs nor knows to be finished
        let mut states: HashMap<ShardId, Option<super::checkpoint::Versioned>> = HashMap::new();
        for shard in &shards {
            if known.running.contains_key(&shard.id) || known.finished.contains(&shard.id) {
                continue;
            }
            if known.stopped.contains(&shard.id) {
                continue;
            }
            let current = match self.store.load(&shard.id).await {
                Ok(current) => current,
                Err(e @ CheckpointError::Corrupt { .. }) => {
                    self.stop_shard(known, shard.id.clone(), "corrupt_checkpoint", &e);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(v) = &current {
                known.starts.insert(shard.id.clone(), v.state.start);
                if v.state.finished {
                    known.finished.insert(shard.id.clone());
                    continue;
                }
            }
            states.insert(shard.id.clone(), current);
        }
        // 2. this worker's share of the shards readable now (not finished, parents finished)
        let parents_finished = |shard: &super::shard::Shard, finished: &HashSet<ShardId>| {
            shard
                .parents
                .iter()
                .all(|p| !listed.contains(p) || finished.contains(p))
        };
        let readable = shards
            .iter()
            .filter(|s| !known.finished.contains(&s.id) && parents_finished(s, &known.finished))
            .count();
        self.metrics.shards_readable(&self.slug, readable);
        let workers = known.membership.heartbeat().await?;
        let share = fair_share(readable, workers);
        if known.running.len() > share {
            // over our share (another worker joined): give the surplus back, flushed and checkpointed
            let mut mine: Vec<&ShardId> = known.running.keys().collect();
            mine.sort();
            for shard in mine.into_iter().skip(share) {
                let token = &known.running[shard];
                if !token.is_cancelled() {
                    info!(%shard, workers, share, "handing the shard to another worker");
                    token.cancel();
                }
            }
        }
        // 3. claim readable shards up to the share
        for shard in &shards {
            let Some(current) = states.remove(&shard.id) else {
                continue;
            };
            if !parents_finished(shard, &known.finished) || known.running.len() >= share {
                continue;
            }
            // a child continues where its parents started (AT_TIMESTAMP is right for both);
            // a shard with no known parent starts where --start says
            let start = shard
                .parents
                .iter()
                .filter_map(|p| known.starts.get(p).copied())
                .min_by_key(|s| match s {
                    StartPosition::TrimHorizon => i64::MIN,
                    StartPosition::AtTimestamp(t) => *t,
                    StartPosition::Latest => i64::MAX,
                })
                .unwrap_or(self.config.start);
            let claim = match try_claim(
                &self.store,
                &mut known.observer,
                &shard.id,
                current,
                start,
                &self.config.worker_id,
                self.config.lease_duration,
            )
            .await
            {
                Ok(claim) => claim,
                // another worker claimed it between our read and our write
                Err(CheckpointError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            match claim {
                Claim::Claimed(lease) => {
                    known.starts.insert(shard.id.clone(), lease.state.start);
                    let task = self.shard_task(shard.id.clone());
                    let id = shard.id.clone();
                    let token = shutdown.child_token();
                    known.running.insert(id.clone(), token.clone());
                    tasks.spawn(async move { (id, task.run(*lease, token).await) });
                }
                Claim::Held { owner } => {
                    tracing::debug!(shard = %shard.id, %owner, "held by another worker");
                }
                Claim::Finished => {
                    known.finished.insert(shard.id.clone());
                }
            }
        }
        Ok(())
    }

    /// Stops one shard for good (until the worker restarts): an error line, the metric, and
    /// `/healthz` say which and why; the other shards go on.
    fn stop_shard(
        &self,
        known: &mut Known,
        shard: ShardId,
        reason: &'static str,
        error: &dyn std::error::Error,
    ) {
        let slug = &self.slug;
        error!(source = %slug, %shard, reason, %error, "shard stopped; the other shards go on (restart the worker once it is mended)");
        self.metrics
            .shard_failed(slug, &shard, reason, error.to_string());
        known.stopped.insert(shard);
    }

    fn shard_task(&self, shard: ShardId) -> ShardTask {
        ShardTask {
            flush: FlushContext {
                warehouse: self.warehouse.clone(),
                store: self.store.clone(),
                committer: self.committer.clone(),
                codec: self.config.codec,
                lease_duration: self.config.lease_duration,
                metrics: self.metrics.clone(),
                source: self.slug.clone(),
                shard,
                step_delay: self.config.flush_step_delay,
                decoder: self.decoder.clone(),
                budget: self.budget.clone(),
            },
            client: self.client.clone(),
            flush_interval: self.config.flush_interval,
            flush_bytes: self.config.flush_bytes,
            poll_interval: self.config.poll_interval,
        }
    }
}

/// What the stream is, asked at start: a few tries over throttling or a slow network, then the
/// worker stops with the service's answer (a stream that does not exist, missing permissions).
async fn describe_at_start(client: &SharedClient) -> Result<StreamInfo, WorkerError> {
    const TRIES: u32 = 5;
    let mut pause = std::time::Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match client.describe().await {
            Ok(info) => return Ok(info),
            Err(error) if attempt >= TRIES => {
                return Err(WorkerError::Describe {
                    source_name: client.slug().to_string(),
                    error,
                });
            }
            Err(error) => {
                warn!(source = client.slug(), %error, attempt, "describing the stream failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum DiscoveryError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Membership(#[from] WarehouseError),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stream::checkpoint::ShardState;
    use crate::stream::memory::MemoryStream;
    use tributary_table::SequenceNumber;

    fn event(i: usize) -> Vec<u8> {
        format!(r#"{{"eventType":"PAGE_VIEW","userId":"u{i}","timestamp":1767225600000}}"#)
            .into_bytes()
    }

    fn test_config(dir: &std::path::Path) -> WorkerConfig {
        WorkerConfig {
            sources: vec![SourceSpec::Kinesis("memory".into())],
            warehouse: dir.to_str().unwrap().into(),
            start: StartPosition::Latest,
            flush_interval: Duration::from_millis(100),
            flush_bytes: 1 << 20,
            max_buffer_bytes: 8 << 20,
            codec: tributary_transform::Codec::Snappy,
            worker_id: "w".into(),
            lease_duration: Duration::from_secs(3),
            discovery_interval: Duration::from_millis(100),
            poll_interval: Duration::from_millis(10),
            flush_step_delay: Duration::ZERO,
            compact_interval: None,
            compact_target_bytes: 128 << 20,
            compact_fan_in: 8,
            schema: tributary_table::schema::Schema::builtin(),
        }
    }

    /// The source loop of `stream` over `warehouse`, starting new shards at `start`.
    fn source_loop(
        warehouse: Warehouse,
        stream: Arc<MemoryStream>,
        start: StartPosition,
        metrics: Arc<Metrics>,
    ) -> SourceLoop {
        let dir = warehouse.url().to_file_path().unwrap();
        let identity = stream.info.lock().unwrap().identity.clone();
        SourceLoop {
            client: stream,
            slug: "kinesis-memory".into(),
            identity,
            store: CheckpointStore::new(warehouse.clone(), "kinesis-memory"),
            config: Arc::new(WorkerConfig {
                start,
                ..test_config(&dir)
            }),
            committer: Committer::new(warehouse.clone()),
            decoder: SchemaDecoder::new(warehouse.schema()),
            warehouse,
            metrics,
            budget: Budget::new(8 << 20),
        }
    }

    #[test]
    fn a_flush_or_compaction_larger_than_one_put_is_refused() {
        let dir = std::path::Path::new("/tmp/wh");
        let err = WorkerConfig {
            flush_bytes: 5 << 30,
            max_buffer_bytes: 6 << 30,
            ..test_config(dir)
        }
        .validate()
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("--flush-bytes (5368709120) is larger"),
            "{err}"
        );
        let err = WorkerConfig {
            compact_target_bytes: 5 << 30,
            ..test_config(dir)
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("--compact-target-bytes"), "{err}");
        assert!(test_config(dir).validate().is_ok());
    }

    #[tokio::test]
    async fn children_wait_for_their_parents_and_start_where_they_started() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let stream = Arc::new(MemoryStream::new(100));
        stream.add_shard("shardId-0", &[]);
        stream.put("shardId-0", (0..30).map(event));
        stream.close("shardId-0");
        stream.add_shard("shardId-1", &["shardId-0"]);
        stream.add_shard("shardId-2", &["shardId-0"]);
        stream.put("shardId-1", (0..20).map(event));
        stream.put("shardId-2", (0..10).map(event));
        let store = CheckpointStore::new(warehouse.clone(), "kinesis-memory");
        let source = source_loop(
            warehouse,
            stream.clone(),
            StartPosition::Latest,
            Arc::new(Metrics::new()),
        );
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(source.run(shutdown.clone()));
        let state = |id: &str| {
            let store = store.clone();
            let id = ShardId(id.into());
            async move { store.load(&id).await.unwrap().map(|v| v.state) }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let done = match (state("shardId-1").await, state("shardId-2").await) {
                (Some(a), Some(b)) => a.records_committed == 20 && b.records_committed == 10,
                _ => false,
            };
            if done {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "children not read");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        running.await.unwrap().unwrap();
        let parent = state("shardId-0").await.unwrap();
        assert!(parent.finished && parent.records_committed == 30);
        let StartPosition::AtTimestamp(t) = parent.start else {
            panic!("latest is fixed as a time at the first claim")
        };
        for child in ["shardId-1", "shardId-2"] {
            let child = state(child).await.unwrap();
            assert_eq!(
                child.start,
                StartPosition::AtTimestamp(t),
                "a child starts where its parent did"
            );
            assert!(
                child.updated_ms >= parent.updated_ms,
                "a child is committed after its parent finished"
            );
            assert_eq!(child.owner, None, "released at shutdown");
        }
    }

    #[tokio::test]
    async fn a_corrupt_checkpoint_or_a_refused_position_stops_that_shard_only() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let stream = Arc::new(MemoryStream::new(100));
        for shard in ["shardId-a", "shardId-b", "shardId-c"] {
            stream.add_shard(shard, &[]);
        }
        stream.put("shardId-a", (0..5).map(event));
        stream.put("shardId-b", (0..25).map(event));
        stream.put("shardId-c", (0..5).map(event));
        let store = CheckpointStore::new(warehouse.clone(), "kinesis-memory");
        // a: its checkpoint names a record of another shard, which the service refuses
        let mut a = ShardState::new(ShardId("shardId-a".into()), StartPosition::TrimHorizon);
        a.checkpoint = Some(SequenceNumber::from_u64(110));
        store.swap(&a, None).await.unwrap();
        // c: its checkpoint object is not JSON
        let c = dir
            .path()
            .join("_tributary/streams/kinesis-memory/shardId-c.json");
        std::fs::write(&c, b"{ not json").unwrap();
        let metrics = Arc::new(Metrics::new());
        let source = source_loop(
            warehouse,
            stream.clone(),
            StartPosition::TrimHorizon,
            metrics.clone(),
        );
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(source.run(shutdown.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let b = store.load(&ShardId("shardId-b".into())).await.unwrap();
            let stopped = metrics
                .encode()
                .matches("tributary_shards_stopped{")
                .count();
            if b.is_some_and(|b| b.state.records_committed == 25) && stopped == 2 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "b not read or a and c not stopped:\n{}",
                metrics.encode()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = metrics.encode();
        for reason in ["position_refused", "corrupt_checkpoint"] {
            assert!(
                text.contains(&format!(
                    "tributary_shards_stopped{{source=\"kinesis-memory\",reason=\"{reason}\"}} 1"
                )),
                "{text}"
            );
        }
        let health = metrics
            .health(Duration::from_secs(60), Duration::from_secs(60))
            .unwrap_err();
        assert!(
            health.contains("shard shardId-a of kinesis-memory is stopped (position_refused)")
                && health.contains("110 is not a sequence number of shardId-a")
                && health
                    .contains("shard shardId-c of kinesis-memory is stopped (corrupt_checkpoint)"),
            "{health}"
        );
        assert!(!running.is_finished(), "the worker goes on");
        shutdown.cancel();
        running.await.unwrap().unwrap();
        // nothing of a was read past its checkpoint, and c's object is left for an operator
        let a = store
            .load(&ShardId("shardId-a".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.state.records_committed, 0);
        assert_eq!(std::fs::read(&c).unwrap(), b"{ not json");
    }

    #[tokio::test]
    async fn a_stream_recreated_under_a_running_worker_stops_it_with_what_was_read_committed() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let stream = Arc::new(MemoryStream::new(100));
        stream.add_shard("shardId-0", &[]);
        stream.put("shardId-0", (0..40).map(event));
        let metrics = Arc::new(Metrics::new());
        let mut source = source_loop(
            warehouse.clone(),
            stream.clone(),
            StartPosition::TrimHorizon,
            metrics.clone(),
        );
        // records stay in the buffer until the worker stops
        source.config = Arc::new(WorkerConfig {
            flush_interval: Duration::from_secs(600),
            start: StartPosition::TrimHorizon,
            ..test_config(dir.path())
        });
        let running = tokio::spawn(source.run(CancellationToken::new()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !metrics
            .encode()
            .contains("tributary_records_read_total{source=\"kinesis-memory\"} 40")
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}",
                metrics.encode()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stream.info.lock().unwrap().identity.created_ms = 2_000;
        let ended = tokio::time::timeout(Duration::from_secs(20), running)
            .await
            .expect("the worker stops when its stream changes")
            .unwrap();
        let err = ended.unwrap_err();
        assert!(matches!(err, WorkerError::StreamChanged { .. }), "{err}");
        assert!(err.to_string().contains("start the worker again"), "{err}");
        let store = CheckpointStore::new(warehouse, "kinesis-memory");
        let state = store
            .load(&ShardId("shardId-0".into()))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(state.records_committed, 40, "what was read is committed");
    }

    #[tokio::test]
    async fn a_shard_whose_reads_keep_failing_is_reported_stalled_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let stream = Arc::new(MemoryStream::new(100));
        stream.add_shard("shardId-0", &[]);
        stream.put("shardId-0", (0..5).map(event));
        stream
            .failing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let metrics = Arc::new(Metrics::new());
        let source = source_loop(
            warehouse,
            stream.clone(),
            StartPosition::TrimHorizon,
            metrics.clone(),
        );
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(source.run(shutdown.clone()));
        let (discovery, stall) = (Duration::from_secs(60), Duration::from_millis(600));
        let health_until = |want_ok: bool| {
            let metrics = metrics.clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                loop {
                    let health = metrics.health(discovery, stall);
                    if health.is_ok() == want_ok
                        && metrics.encode().contains("tributary_shards_owned")
                    {
                        return health;
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "health stayed {health:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let stalled = health_until(false).await.unwrap_err();
        assert!(
            stalled.contains("shard shardId-0 of kinesis-memory has neither read nor committed"),
            "{stalled}"
        );
        assert!(
            metrics
                .encode()
                .contains("tributary_errors_total{source=\"kinesis-memory\",kind=\"read_failed\"}")
        );
        stream
            .failing
            .store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(health_until(true).await, Ok(()));
        shutdown.cancel();
        running.await.unwrap().unwrap();
    }
}
