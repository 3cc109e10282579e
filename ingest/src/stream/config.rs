//! The stream worker's configuration, validated; the CLI builds it from flags, environment
//! variables and the config file.

use std::time::Duration;

use tributary_table::schema::Schema;
use tributary_transform::Codec;

use super::shard::StartPosition;

/// One `--source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `kinesis:<stream name or ARN>`
    Kinesis(String),
    /// `dynamodb:<table name>`: the table's latest stream.
    DynamodbTable(String),
    /// `dynamodb-stream:<stream ARN>`
    DynamodbStream(String),
}

impl std::str::FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            format!("invalid source {s:?}: expected kinesis:<stream>, dynamodb:<table> or dynamodb-stream:<stream ARN>")
        })?;
        if name.is_empty() {
            return Err(format!("invalid source {s:?}: nothing after {kind}:"));
        }
        match kind {
            "kinesis" => Ok(SourceSpec::Kinesis(name.to_string())),
            "dynamodb" => Ok(SourceSpec::DynamodbTable(name.to_string())),
            "dynamodb-stream" if name.starts_with("arn:") && name.contains("/stream/") => {
                Ok(SourceSpec::DynamodbStream(name.to_string()))
            }
            "dynamodb-stream" => Err(format!(
                "invalid source {s:?}: dynamodb-stream: needs a stream ARN (…:table/<table>/stream/<label>)"
            )),
            other => Err(format!(
                "unknown source kind {other:?} in {s:?} (expected kinesis, dynamodb or dynamodb-stream)"
            )),
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Kinesis(s) => write!(f, "kinesis:{s}"),
            SourceSpec::DynamodbTable(s) => write!(f, "dynamodb:{s}"),
            SourceSpec::DynamodbStream(s) => write!(f, "dynamodb-stream:{s}"),
        }
    }
}

/// Everything the worker needs, already checked.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub sources: Vec<SourceSpec>,
    /// A local directory or `s3://bucket/prefix`.
    pub warehouse: String,
    /// Where shards without a checkpoint start.
    pub start: StartPosition,
    /// Flush a shard's buffer at the latest this long after its first record arrived.
    pub flush_interval: Duration,
    /// Flush a shard's buffer when its in-memory (Arrow) size reaches this.
    pub flush_bytes: usize,
    /// Memory all shard buffers together may hold; readers wait when it is used up.
    pub max_buffer_bytes: usize,
    pub codec: Codec,
    /// Names this worker in leases; stable across restarts so a restarted worker takes its own
    /// shards back at once.
    pub worker_id: String,
    /// A lease not renewed for this long may be taken by another worker.
    pub lease_duration: Duration,
    /// How often shards are listed (new shards after a split, merge or rollover).
    pub discovery_interval: Duration,
    /// Wait between GetRecords calls on a shard that is caught up.
    pub poll_interval: Duration,
    /// For crash tests only: a pause after each step of a flush (zero in production).
    pub flush_step_delay: Duration,
    /// How often the worker compacts the tables' small files; `None`: never.
    pub compact_interval: Option<Duration>,
    /// The file size compaction aims at.
    pub compact_target_bytes: u64,
    /// Files of one size tier merged at once (at least 2).
    pub compact_fan_in: usize,
    /// The tables written.
    pub schema: &'static Schema,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("no --source given")]
    NoSource,
    #[error("{name} must be more than zero")]
    Zero { name: &'static str },
    #[error(
        "--compact-fan-in must be at least 2 (merging one file with itself does nothing), not {0}"
    )]
    FanIn(usize),
    #[error(
        "{name} ({bytes}) is larger than one object may be ({MAX_OBJECT_BYTES} bytes: one S3 \
         PUT carries 5 GiB, and a file is written in one PUT)"
    )]
    TooLarge { name: &'static str, bytes: u64 },
    #[error("--max-buffer-bytes ({max}) must be at least --flush-bytes ({flush})")]
    BufferBelowFlush { max: usize, flush: usize },
    #[error(
        "the lease duration ({lease:?}) must be at least three times the poll interval ({poll:?})"
    )]
    LeaseTooShort { lease: Duration, poll: Duration },
}

/// The largest file a flush or a compaction may aim at: a file is one PUT, which S3 caps at
/// 5 GiB, and Parquet with its footer can come out a little larger than the rows it holds.
pub const MAX_OBJECT_BYTES: u64 = 4 << 30;

impl WorkerConfig {
    /// Checks the values that would otherwise fail late or never flush.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sources.is_empty() {
            return Err(ConfigError::NoSource);
        }
        for (name, zero) in [
            ("--flush-interval", self.flush_interval.is_zero()),
            ("--flush-bytes", self.flush_bytes == 0),
            ("--lease-duration", self.lease_duration.is_zero()),
            ("--discovery-interval", self.discovery_interval.is_zero()),
        ] {
            if zero {
                return Err(ConfigError::Zero { name });
            }
        }
        for (name, bytes) in [
            ("--flush-bytes", self.flush_bytes as u64),
            ("--compact-target-bytes", self.compact_target_bytes),
        ] {
            if bytes > MAX_OBJECT_BYTES {
                return Err(ConfigError::TooLarge { name, bytes });
            }
        }
        if self.compact_fan_in < 2 {
            return Err(ConfigError::FanIn(self.compact_fan_in));
        }
        if self.max_buffer_bytes < self.flush_bytes {
            return Err(ConfigError::BufferBelowFlush {
                max: self.max_buffer_bytes,
                flush: self.flush_bytes,
            });
        }
        if self.lease_duration < self.poll_interval * 3 {
            return Err(ConfigError::LeaseTooShort {
                lease: self.lease_duration,
                poll: self.poll_interval,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert_eq!(
            "kinesis:clicks".parse::<SourceSpec>().unwrap(),
            SourceSpec::Kinesis("clicks".into())
        );
        assert_eq!(
            "dynamodb:shop".parse::<SourceSpec>().unwrap(),
            SourceSpec::DynamodbTable("shop".into())
        );
        let arn =
            "arn:aws:dynamodb:us-east-1:000000000000:table/shop/stream/2026-11-22T07:00:00.000";
        assert_eq!(
            format!("dynamodb-stream:{arn}")
                .parse::<SourceSpec>()
                .unwrap(),
            SourceSpec::DynamodbStream(arn.into())
        );
        assert!(
            "dynamodb-stream:shop"
                .parse::<SourceSpec>()
                .unwrap_err()
                .contains("stream ARN")
        );
        assert!(
            "kafka:topic"
                .parse::<SourceSpec>()
                .unwrap_err()
                .contains("unknown source kind")
        );
        assert!(
            "clicks"
                .parse::<SourceSpec>()
                .unwrap_err()
                .contains("expected kinesis:")
        );
    }
}
