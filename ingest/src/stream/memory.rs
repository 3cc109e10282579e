//! An in-memory stream for unit tests: shards with records, closed or open, answering
//! GetShardIterator and GetRecords like the services do (iterators are `<shard>@<index>`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use tributary_transform::SequenceNumber;

use super::client::{ClientError, Fetched, RawRecord, ShardClient, StreamKind};
use super::identity::{StreamIdentity, StreamInfo};
use super::shard::{Position, Shard, ShardId};

#[derive(Default)]
struct MemoryShard {
    parents: Vec<ShardId>,
    records: Vec<RawRecord>,
    closed: bool,
}

/// A Kinesis-like stream held in memory.
pub struct MemoryStream {
    shards: Mutex<BTreeMap<ShardId, MemoryShard>>,
    /// Records per GetRecords answer.
    pub page: usize,
    /// While set, every GetRecords fails as an unreachable service does.
    pub failing: std::sync::atomic::AtomicBool,
    /// What DescribeStreamSummary answers; a test re-creates the stream by changing it.
    pub info: Mutex<StreamInfo>,
    /// How long each GetRecords takes to answer.
    pub read_delay: Mutex<std::time::Duration>,
    /// GetShardIterator and GetRecords calls begun.
    pub calls: Mutex<(usize, usize)>,
}

impl MemoryStream {
    pub fn new(page: usize) -> Self {
        Self {
            shards: Mutex::new(BTreeMap::new()),
            page,
            failing: Default::default(),
            read_delay: Default::default(),
            calls: Default::default(),
            info: Mutex::new(StreamInfo {
                identity: StreamIdentity {
                    arn: "arn:aws:kinesis:memory:0:stream/memory".into(),
                    created_ms: 1_000,
                },
                retention: Some(std::time::Duration::from_secs(24 * 3600)),
            }),
        }
    }

    pub fn add_shard(&self, id: &str, parents: &[&str]) {
        let parents = parents.iter().map(|p| ShardId(p.to_string())).collect();
        self.shards.lock().unwrap().insert(
            ShardId(id.into()),
            MemoryShard {
                parents,
                ..Default::default()
            },
        );
    }

    /// Appends records with increasing sequence numbers (shared across shards, like Kinesis).
    pub fn put(&self, shard: &str, data: impl IntoIterator<Item = Vec<u8>>) {
        let mut shards = self.shards.lock().unwrap();
        let next = shards
            .values()
            .flat_map(|s| s.records.last())
            .map(|r| r.sequence.as_str().parse::<u64>().unwrap())
            .max()
            .unwrap_or(100)
            + 1;
        let shard = shards
            .get_mut(&ShardId(shard.into()))
            .expect("a known shard");
        for (sequence, d) in (next..).zip(data) {
            shard.records.push(RawRecord {
                sequence: SequenceNumber::from_u64(sequence),
                arrival_ms: Some(0),
                data: d,
            });
        }
    }

    pub fn close(&self, shard: &str) {
        self.shards
            .lock()
            .unwrap()
            .get_mut(&ShardId(shard.into()))
            .unwrap()
            .closed = true;
    }
}

#[async_trait]
impl ShardClient for MemoryStream {
    fn kind(&self) -> StreamKind {
        StreamKind::Kinesis
    }

    fn slug(&self) -> &str {
        "kinesis-memory"
    }

    async fn describe(&self) -> Result<StreamInfo, ClientError> {
        Ok(self.info.lock().unwrap().clone())
    }

    fn retention(&self) -> Option<std::time::Duration> {
        self.info.lock().unwrap().retention
    }

    async fn list_shards(&self) -> Result<Vec<Shard>, ClientError> {
        let shards = self.shards.lock().unwrap();
        Ok(shards
            .iter()
            .map(|(id, s)| Shard {
                id: id.clone(),
                parents: s.parents.clone(),
            })
            .collect())
    }

    async fn iterator(&self, shard: &ShardId, position: &Position) -> Result<String, ClientError> {
        self.calls.lock().unwrap().0 += 1;
        let shards = self.shards.lock().unwrap();
        let records = &shards[shard].records;
        // as Kinesis does, a sequence number that is not of this shard is refused
        if let Position::AtSequence(s) | Position::AfterSequence(s) = position
            && !records.iter().any(|r| &r.sequence == s)
        {
            return Err(ClientError::refused(
                "GetShardIterator",
                shard,
                format!("InvalidArgumentException: {s} is not a sequence number of {shard}"),
            ));
        }
        let index = match position {
            Position::TrimHorizon | Position::AtTimestamp { .. } => 0,
            Position::Latest => records.len(),
            Position::AtSequence(s) => records
                .iter()
                .position(|r| &r.sequence >= s)
                .unwrap_or(records.len()),
            Position::AfterSequence(s) => records
                .iter()
                .position(|r| &r.sequence > s)
                .unwrap_or(records.len()),
        };
        Ok(format!("{shard}@{index}"))
    }

    async fn get_records(&self, shard: &ShardId, iterator: &str) -> Result<Fetched, ClientError> {
        self.calls.lock().unwrap().1 += 1;
        let delay = *self.read_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ClientError::Service {
                operation: "GetRecords",
                resource: shard.to_string(),
                message: "connection refused".into(),
            });
        }
        let index: usize = iterator.rsplit_once('@').unwrap().1.parse().unwrap();
        let shards = self.shards.lock().unwrap();
        let s = &shards[shard];
        let end = (index + self.page).min(s.records.len());
        let records = s.records[index..end].to_vec();
        let next_iterator = if s.closed && end == s.records.len() {
            None
        } else {
            Some(format!("{shard}@{end}"))
        };
        Ok(Fetched {
            records,
            next_iterator,
            millis_behind_latest: Some(0),
        })
    }
}
