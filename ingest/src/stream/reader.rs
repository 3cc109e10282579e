//! Reads one shard: keeps its iterator, backs off when throttled, takes a new iterator after
//! the last record read when the old one expires, and says when a closed shard has ended.
//!
//! A position past the retention: DynamoDB Streams says so (`TrimmedDataAccessException`).
//! Kinesis does not: an iterator after a trimmed record answers empty pages, each at least the
//! retention behind the tip, for as long as one asks. So an empty page that far behind, at a
//! sequence position, sends the reader to the trim horizon. There, the first record tells
//! whether the position had really been trimmed: one at or before it means it had not (what
//! was read already is dropped, nothing repeats); one after it means the records in between
//! passed the retention unread, which is reported as [`ClientError::Trimmed`] before the records
//! that follow.

use std::time::Duration;

use rand::Rng;
use tracing::{error, info, warn};

use super::client::{ClientError, RawRecord, SharedClient};
use super::shard::{Position, ShardId};
use tributary_transform::SequenceNumber;

/// Backoff after throttling or a failed call: doubles from the first to the last value, with
/// jitter so that many shard readers do not retry in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            next: min,
            min,
            max,
        }
    }

    /// The next wait (between half of it and all of it) and doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = rand::rng().random_range(0.5..=1.0);
        base.mul_f64(jitter)
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// What one read gave.
#[derive(Debug)]
pub enum Read {
    /// Records, possibly none; `behind_ms` is how far behind the tip the reader is.
    Records {
        records: Vec<RawRecord>,
        behind_ms: Option<i64>,
    },
    /// The shard is closed and every record was returned.
    End,
    /// A transient problem (throttling, a failed call); the reader waited before returning.
    /// [`ClientError::Trimmed`] says records were lost: the reader goes on at the trim horizon.
    Retry(ClientError),
    /// The service refuses this shard's position for good ([`ClientError::Refused`]): reading
    /// cannot go on.
    Failed(ClientError),
}

/// A reader positioned on one shard.
pub struct ShardReader {
    client: SharedClient,
    shard: ShardId,
    iterator: Option<String>,
    /// Where to take a new iterator: the start, then after the last record returned.
    resume: Position,
    /// DynamoDB Streams has no AT_TIMESTAMP: records created before this are skipped.
    skip_before_ms: Option<i64>,
    ended: bool,
    backoff: Backoff,
    /// After a jump to the trim horizon: where the reader was.
    jump: Option<Jump>,
    /// Records to return after the gap reported before them.
    held: Option<Read>,
}

/// A jump to the trim horizon from a position that looked trimmed.
#[derive(Debug)]
struct Jump {
    /// The position's sequence number.
    bound: SequenceNumber,
    /// Whether the record at `bound` was read already (`AFTER_SEQUENCE_NUMBER`), or is wanted
    /// (`AT_SEQUENCE_NUMBER`, a replay's first record).
    read: bool,
}

impl ShardReader {
    pub fn new(client: SharedClient, shard: ShardId, start: Position) -> Self {
        let skip_before_ms = match (&start, client.kind()) {
            (Position::AtTimestamp { millis }, super::client::StreamKind::DynamodbStream) => {
                Some(*millis)
            }
            _ => None,
        };
        Self {
            client,
            shard,
            iterator: None,
            resume: start,
            skip_before_ms,
            ended: false,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(10)),
            jump: None,
            held: None,
        }
    }

    /// Whether an empty answer `behind_ms` behind the tip says the position was trimmed.
    fn looks_trimmed(&self, behind_ms: Option<i64>) -> Option<Jump> {
        let retention = self.client.retention()?;
        let behind = u128::try_from(behind_ms?).ok()?;
        if self.jump.is_some() || behind < retention.as_millis() {
            return None;
        }
        match &self.resume {
            Position::AfterSequence(s) => Some(Jump {
                bound: s.clone(),
                read: true,
            }),
            Position::AtSequence(s) => Some(Jump {
                bound: s.clone(),
                read: false,
            }),
            _ => None,
        }
    }

    /// Reads the next records. Cancel-safe: the position moves only when records are returned.
    pub async fn read(&mut self) -> Read {
        if let Some(held) = self.held.take() {
            return held;
        }
        if self.ended {
            return Read::End;
        }
        let iterator = match &self.iterator {
            Some(it) => it.clone(),
            None => match self.client.iterator(&self.shard, &self.resume).await {
                Ok(it) => {
                    self.iterator = Some(it.clone());
                    it
                }
                Err(ClientError::Trimmed { message, .. }) => {
                    // the checkpoint is older than the stream's retention: those records are
                    // gone from the stream; say so loudly and go on from the oldest one left
                    error!(shard = %self.shard, position = ?self.resume, %message,
                        "records lost: they passed the stream's retention before they were read; continuing at the trim horizon");
                    self.resume = Position::TrimHorizon;
                    return Read::Retry(ClientError::Trimmed {
                        shard: self.shard.to_string(),
                        position: "checkpoint".into(),
                        message,
                    });
                }
                Err(e @ ClientError::Refused { .. }) => return Read::Failed(e),
                Err(e) => return self.wait(e).await,
            },
        };
        match self.client.get_records(&self.shard, &iterator).await {
            Ok(fetched) => {
                self.backoff.reset();
                let mut records = fetched.records;
                if records.is_empty()
                    && fetched.next_iterator.is_some()
                    && let Some(jump) = self.looks_trimmed(fetched.millis_behind_latest)
                {
                    warn!(shard = %self.shard, position = ?self.resume, behind_ms = ?fetched.millis_behind_latest,
                        "an empty answer a whole retention behind the tip: the position looks trimmed; reading from the trim horizon");
                    self.jump = Some(jump);
                    self.resume = Position::TrimHorizon;
                    self.iterator = None;
                    return Read::Records {
                        records,
                        behind_ms: fetched.millis_behind_latest,
                    };
                }
                if records.is_empty()
                    && fetched.millis_behind_latest == Some(0)
                    && let Some(jump) = self.jump.take()
                {
                    // the shard keeps no record at all: whatever came after the position, if
                    // anything did, passed the retention; nothing tells whether it did
                    warn!(shard = %self.shard, position = %jump.bound,
                        "the position was trimmed and the shard keeps no records: any records after it passed the stream's retention");
                }
                if let Some(last) = records.last() {
                    self.resume = Position::AfterSequence(last.sequence.clone());
                }
                let mut gap = None;
                if let Some(first) = records.first()
                    && let Some(jump) = self.jump.take()
                {
                    if first.sequence > jump.bound {
                        error!(shard = %self.shard, position = %jump.bound, first = %first.sequence,
                            "records lost: the position passed the stream's retention before the records after it were read; continuing at the trim horizon");
                        gap = Some(ClientError::Trimmed {
                            shard: self.shard.to_string(),
                            position: jump.bound.to_string(),
                            message: format!(
                                "Kinesis kept nothing from {} on; its trim horizon begins at {}",
                                jump.bound, first.sequence
                            ),
                        });
                    }
                    records.retain(|r| {
                        r.sequence > jump.bound || (!jump.read && r.sequence == jump.bound)
                    });
                }
                if let Some(before) = self.skip_before_ms {
                    // skip up to the first record at or after the start, then keep everything:
                    // a replay from that record (which cannot know where this answer began)
                    // re-reads exactly the same records
                    let start = records
                        .iter()
                        .position(|r| r.arrival_ms.is_none_or(|t| t >= before))
                        .unwrap_or(records.len());
                    records.drain(..start);
                    if !records.is_empty() {
                        self.skip_before_ms = None;
                    }
                }
                match fetched.next_iterator {
                    Some(next) => self.iterator = Some(next),
                    None => {
                        info!(shard = %self.shard, "shard closed and fully read");
                        self.ended = true;
                        self.iterator = None;
                    }
                }
                let read = Read::Records {
                    records,
                    behind_ms: fetched.millis_behind_latest,
                };
                match gap {
                    Some(gap) => {
                        self.held = Some(read);
                        Read::Retry(gap)
                    }
                    None => read,
                }
            }
            Err(ClientError::ExpiredIterator { .. }) => {
                info!(shard = %self.shard, resume = ?self.resume, "shard iterator expired; taking a new one after the last record read");
                self.iterator = None;
                Read::Retry(ClientError::ExpiredIterator {
                    shard: self.shard.to_string(),
                })
            }
            Err(ClientError::Trimmed { message, .. }) => {
                error!(shard = %self.shard, %message, "records lost: the iterator passed the stream's retention before they were read; continuing at the trim horizon");
                self.iterator = None;
                self.resume = Position::TrimHorizon;
                Read::Retry(ClientError::Trimmed {
                    shard: self.shard.to_string(),
                    position: "iterator".into(),
                    message,
                })
            }
            Err(e @ ClientError::Refused { .. }) => Read::Failed(e),
            Err(e) => self.wait(e).await,
        }
    }

    async fn wait(&mut self, error: ClientError) -> Read {
        let delay = self.backoff.next_delay();
        match &error {
            ClientError::Throttled { .. } => {
                info!(shard = %self.shard, ?delay, %error, "throttled; backing off")
            }
            _ => warn!(shard = %self.shard, ?delay, %error, "read failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        Read::Retry(error)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use tributary_transform::SequenceNumber;

    use super::*;
    use crate::stream::client::{Fetched, ShardClient, StreamKind};
    use crate::stream::shard::Shard;

    /// A scripted stream: answers GetRecords from a queue and records the iterators asked for.
    pub struct Scripted {
        pub answers: Mutex<VecDeque<Result<Fetched, ClientError>>>,
        pub positions: Mutex<Vec<Position>>,
        pub kind: StreamKind,
        pub retention: Option<Duration>,
    }

    #[async_trait]
    impl ShardClient for Scripted {
        fn kind(&self) -> StreamKind {
            self.kind
        }
        fn slug(&self) -> &str {
            "kinesis-test"
        }
        async fn describe(&self) -> Result<crate::stream::identity::StreamInfo, ClientError> {
            unreachable!("the reader never describes its stream")
        }
        fn retention(&self) -> Option<Duration> {
            self.retention
        }
        async fn list_shards(&self) -> Result<Vec<Shard>, ClientError> {
            Ok(vec![])
        }
        async fn iterator(&self, _: &ShardId, position: &Position) -> Result<String, ClientError> {
            self.positions.lock().unwrap().push(position.clone());
            Ok("it".into())
        }
        async fn get_records(&self, _: &ShardId, _: &str) -> Result<Fetched, ClientError> {
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("a scripted answer")
        }
    }

    fn record(seq: u64) -> RawRecord {
        RawRecord {
            sequence: SequenceNumber::from_u64(seq),
            arrival_ms: None,
            data: b"{}".to_vec(),
        }
    }

    #[tokio::test]
    async fn resumes_after_the_last_record_when_the_iterator_expires_and_ends_on_a_closed_shard() {
        let answers = VecDeque::from(vec![
            Ok(Fetched {
                records: vec![record(5), record(9)],
                next_iterator: Some("n".into()),
                millis_behind_latest: Some(0),
            }),
            Err(ClientError::ExpiredIterator { shard: "s".into() }),
            Err(ClientError::Throttled {
                operation: "GetRecords",
                shard: "s".into(),
                message: "slow down".into(),
            }),
            Ok(Fetched {
                records: vec![record(12)],
                next_iterator: None,
                millis_behind_latest: None,
            }),
        ]);
        let client = Arc::new(Scripted {
            answers: Mutex::new(answers),
            positions: Mutex::new(vec![]),
            kind: StreamKind::Kinesis,
            retention: None,
        });
        let mut reader =
            ShardReader::new(client.clone(), ShardId("s".into()), Position::TrimHorizon);
        assert!(
            matches!(reader.read().await, Read::Records { ref records, .. } if records.len() == 2)
        );
        assert!(matches!(
            reader.read().await,
            Read::Retry(ClientError::ExpiredIterator { .. })
        ));
        assert!(matches!(
            reader.read().await,
            Read::Retry(ClientError::Throttled { .. })
        ));
        assert!(
            matches!(reader.read().await, Read::Records { ref records, .. } if records.len() == 1)
        );
        assert!(matches!(reader.read().await, Read::End));
        let positions = client.positions.lock().unwrap().clone();
        assert_eq!(
            positions,
            vec![
                Position::TrimHorizon,
                Position::AfterSequence(SequenceNumber::from_u64(9))
            ]
        );
    }

    /// A Kinesis reader whose stream keeps records for `retention`, answering `answers`.
    fn kinesis(answers: Vec<Result<Fetched, ClientError>>, retention: Duration) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into()),
            positions: Mutex::new(vec![]),
            kind: StreamKind::Kinesis,
            retention: Some(retention),
        })
    }

    fn page(records: Vec<RawRecord>, behind_ms: i64) -> Result<Fetched, ClientError> {
        Ok(Fetched {
            records,
            next_iterator: Some("n".into()),
            millis_behind_latest: Some(behind_ms),
        })
    }

    fn sequences(read: Read) -> Vec<u64> {
        match read {
            Read::Records { records, .. } => records
                .iter()
                .map(|r| r.sequence.as_str().parse().unwrap())
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_kinesis_position_that_looks_trimmed_but_is_not_repeats_nothing_and_loses_nothing() {
        let day = Duration::from_secs(24 * 3600);
        let day_ms = day.as_millis() as i64;
        let client = kinesis(
            vec![
                // a long empty stretch, each page a whole retention behind
                page(vec![], day_ms),
                // the trim horizon still holds the position: 10 and before were read already
                page(vec![record(8), record(10), record(11)], 5_000),
                page(vec![record(12)], 0),
            ],
            day,
        );
        let position = Position::AfterSequence(SequenceNumber::from_u64(10));
        let mut reader = ShardReader::new(client.clone(), ShardId("s".into()), position.clone());
        assert!(sequences(reader.read().await).is_empty());
        assert_eq!(sequences(reader.read().await), [11]);
        assert_eq!(sequences(reader.read().await), [12]);
        assert_eq!(
            *client.positions.lock().unwrap(),
            [position, Position::TrimHorizon]
        );
    }

    #[tokio::test]
    async fn a_kinesis_position_past_the_retention_is_a_gap_reported_before_the_records_after_it() {
        let day = Duration::from_secs(24 * 3600);
        let day_ms = day.as_millis() as i64;
        let client = kinesis(
            vec![
                page(vec![], day_ms + 1),
                // the horizon begins after the position: 11..=19 are gone
                page(vec![record(20), record(21)], 1_000),
                page(vec![record(22)], 0),
            ],
            day,
        );
        let mut reader = ShardReader::new(
            client.clone(),
            ShardId("s".into()),
            Position::AfterSequence(SequenceNumber::from_u64(10)),
        );
        assert!(sequences(reader.read().await).is_empty());
        match reader.read().await {
            Read::Retry(ClientError::Trimmed { position, .. }) => assert_eq!(position, "10"),
            other => panic!("expected the gap first: {other:?}"),
        }
        assert_eq!(sequences(reader.read().await), [20, 21]);
        assert_eq!(sequences(reader.read().await), [22]);
        // a replay's first record (AT_SEQUENCE_NUMBER) past the retention is a gap too
        let client = kinesis(vec![page(vec![], day_ms), page(vec![record(20)], 0)], day);
        let mut reader = ShardReader::new(
            client,
            ShardId("s".into()),
            Position::AtSequence(SequenceNumber::from_u64(15)),
        );
        assert!(sequences(reader.read().await).is_empty());
        assert!(matches!(
            reader.read().await,
            Read::Retry(ClientError::Trimmed { .. })
        ));
        // an empty page behind by less than the retention is only an empty page
        let client = kinesis(
            vec![page(vec![], day_ms - 1), page(vec![record(11)], 0)],
            day,
        );
        let mut reader = ShardReader::new(
            client.clone(),
            ShardId("s".into()),
            Position::AfterSequence(SequenceNumber::from_u64(10)),
        );
        assert!(sequences(reader.read().await).is_empty());
        assert_eq!(sequences(reader.read().await), [11]);
        assert_eq!(client.positions.lock().unwrap().len(), 1, "no jump");
    }

    #[tokio::test]
    async fn a_dynamodb_start_time_skips_only_what_comes_before_the_first_record_after_it() {
        let at = |seq: u64, ms: i64| RawRecord {
            arrival_ms: Some(ms),
            ..record(seq)
        };
        let answers = VecDeque::from(vec![
            Ok(Fetched {
                records: vec![
                    at(1, 100),
                    at(2, 900),
                    at(3, 1_000),
                    at(4, 950),
                    at(5, 1_200),
                ],
                next_iterator: Some("n".into()),
                millis_behind_latest: None,
            }),
            Ok(Fetched {
                records: vec![at(6, 990)],
                next_iterator: None,
                millis_behind_latest: None,
            }),
        ]);
        let client = Arc::new(Scripted {
            answers: Mutex::new(answers),
            positions: Mutex::new(vec![]),
            kind: StreamKind::DynamodbStream,
            retention: None,
        });
        let mut reader = ShardReader::new(
            client,
            ShardId("s".into()),
            Position::AtTimestamp { millis: 1_000 },
        );
        let sequences = |read: Read| match read {
            Read::Records { records, .. } => records
                .iter()
                .map(|r| r.sequence.as_str().to_string())
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        // 4 and 6 are older than the start by their approximate times, but come after 3: a
        // replay from 3 reads them too, so the live read keeps them
        assert_eq!(sequences(reader.read().await), ["3", "4", "5"]);
        assert_eq!(sequences(reader.read().await), ["6"]);
    }
}
