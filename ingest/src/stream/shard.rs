//! Shards, their lineage, and where to start reading one.

use std::fmt;

use serde::{Deserialize, Serialize};
use tributary_transform::SequenceNumber;

/// A shard id as the service spells it (`shardId-000000000001`,
/// `shardId-00000001795318989684-a0256846`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShardId(pub String);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ShardId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One shard as ListShards / DescribeStream describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: ShardId,
    /// The shard(s) it was split from or merged from (Kinesis: parent and adjacent parent;
    /// DynamoDB Streams: at most one parent).
    pub parents: Vec<ShardId>,
}

/// Where a reader asks for a shard iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    TrimHorizon,
    Latest,
    AtTimestamp { millis: i64 },
    AtSequence(SequenceNumber),
    AfterSequence(SequenceNumber),
}

/// Where reading starts on a shard that has no checkpoint yet (`--start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartPosition {
    /// The oldest record the stream still keeps.
    #[default]
    TrimHorizon,
    /// Records written after the worker first claims the shard.
    Latest,
    /// Records written at or after this instant (epoch milliseconds).
    AtTimestamp(i64),
}

impl std::str::FromStr for StartPosition {
    type Err = String;

    /// `trim-horizon`, `latest` or `at-timestamp:<RFC 3339>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trim-horizon" => Ok(StartPosition::TrimHorizon),
            "latest" => Ok(StartPosition::Latest),
            _ => match s.strip_prefix("at-timestamp:") {
                Some(time) => chrono::DateTime::parse_from_rfc3339(time)
                    .map(|t| StartPosition::AtTimestamp(t.timestamp_millis()))
                    .map_err(|e| format!("invalid time {time:?} in {s:?}: {e} (expected RFC 3339, e.g. 2026-01-05T10:00:00Z)")),
                None => Err(format!("unknown start {s:?} (expected trim-horizon, latest or at-timestamp:<RFC 3339>)")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_positions() {
        assert_eq!(
            "latest".parse::<StartPosition>().unwrap(),
            StartPosition::Latest
        );
        assert_eq!(
            "at-timestamp:2026-01-05T10:00:00Z"
                .parse::<StartPosition>()
                .unwrap(),
            StartPosition::AtTimestamp(1_767_607_200_000)
        );
        assert!(
            "at-timestamp:yesterday"
                .parse::<StartPosition>()
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(
            "earliest"
                .parse::<StartPosition>()
                .unwrap_err()
                .contains("trim-horizon")
        );
    }
}
