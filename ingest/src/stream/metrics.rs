//! The worker's metrics, in Prometheus text format (`/metrics`), and its health (`/healthz`).
//!
//! Counters are labelled by source (the stream's slug) and, for what is written, by table.
//! Per-shard values (how far behind, when last checkpointed) are kept here and folded into
//! per-source gauges when scraped, so the label set stays small however many shards there are.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use super::shard::ShardId;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub source: String,
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub source: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoppedLabels {
    pub source: String,
    pub reason: String,
}

/// One source's shards folded into its gauges: the worst of each, and counts.
#[derive(Default)]
struct SourceFold {
    behind_ms: i64,
    checkpoint_age: f64,
    owned: i64,
    caught_up: i64,
    progress_age: f64,
}

/// Why a shard was stopped: the `reason` label and the error's message.
type Stopped = (&'static str, String);

#[derive(Debug, Clone, Copy)]
struct ShardGauges {
    behind_ms: i64,
    last_checkpoint: Instant,
    /// The last read found nothing new and nothing of this shard waits to be written.
    caught_up: bool,
    /// The last successful read or commit: renewing the lease is not progress.
    progress: Instant,
}

/// Every metric the worker exports.
pub struct Metrics {
    registry: Registry,
    pub records_read: Family<SourceLabels, Counter>,
    pub bytes_read: Family<SourceLabels, Counter>,
    pub records_written: Family<TableLabels, Counter>,
    pub bytes_written: Family<TableLabels, Counter>,
    pub files_written: Family<TableLabels, Counter>,
    pub files_compacted: Family<TableLabels, Counter>,
    pub dead_letters: Family<SourceLabels, Counter>,
    pub flush_seconds: Family<SourceLabels, Histogram>,
    pub errors: Family<ErrorLabels, Counter>,
    millis_behind: Family<SourceLabels, Gauge>,
    checkpoint_age: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    shards_owned: Family<SourceLabels, Gauge>,
    shards_caught_up: Family<SourceLabels, Gauge>,
    shards_readable: Family<SourceLabels, Gauge>,
    shards_stopped: Family<StoppedLabels, Gauge>,
    progress_age: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    retention_gaps: Family<SourceLabels, Counter>,
    /// Shards stopped by an error that asking again cannot fix: (reason label, message).
    stopped: Mutex<BTreeMap<(String, ShardId), Stopped>>,
    shards: Mutex<HashMap<(String, ShardId), ShardGauges>>,
    heartbeat: Mutex<Option<Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tributary");
        let records_read = Family::default();
        let bytes_read = Family::default();
        let records_written = Family::default();
        let bytes_written = Family::default();
        let files_written = Family::default();
        let files_compacted = Family::default();
        let dead_letters = Family::default();
        let flush_seconds = Family::<SourceLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        let errors = Family::default();
        let millis_behind = Family::default();
        let checkpoint_age = Family::default();
        let shards_owned = Family::default();
        let shards_caught_up = Family::default();
        let shards_readable = Family::default();
        let shards_stopped = Family::default();
        let retention_gaps = Family::default();
        let progress_age = Family::default();
        registry.register(
            "records_read",
            "Stream records read (Kinesis records before KPL de-aggregation)",
            records_read.clone(),
        );
        registry.register(
            "read_bytes",
            "Bytes of stream records read",
            bytes_read.clone(),
        );
        registry.register(
            "records_written",
            "Rows written to Parquet and checkpointed",
            records_written.clone(),
        );
        registry.register(
            "written_bytes",
            "Bytes of Parquet written",
            bytes_written.clone(),
        );
        registry.register(
            "files_written",
            "Parquet files written",
            files_written.clone(),
        );
        registry.register(
            "files_compacted",
            "Data files that compaction merged into larger ones",
            files_compacted.clone(),
        );
        registry.register(
            "dead_letters",
            "Records that could not be decoded, written to dead_letters/",
            dead_letters.clone(),
        );
        registry.register(
            "flush_duration_seconds",
            "Time to write a flush's files and checkpoint it",
            flush_seconds.clone(),
        );
        registry.register(
            "errors",
            "Throttling, expired iterators, failed calls and lost leases, by kind",
            errors.clone(),
        );
        registry.register(
            "millis_behind_latest",
            "Largest MillisBehindLatest across the shards this worker reads",
            millis_behind.clone(),
        );
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the least recently checkpointed shard of this worker was checkpointed (or found caught up)",
            checkpoint_age.clone(),
        );
        registry.register(
            "shards_owned",
            "Shards this worker holds a lease on",
            shards_owned.clone(),
        );
        registry.register(
            "shards_caught_up",
            "Shards this worker holds whose last read found nothing new, with nothing left to write",
            shards_caught_up.clone(),
        );
        registry.register(
            "shards_readable",
            "Shards of the source readable at the last discovery round (not finished, parents finished), whoever holds them",
            shards_readable.clone(),
        );
        registry.register(
            "shards_stopped",
            "Shards this worker stopped reading after an error that retrying cannot fix (see the error log; /healthz is 503 meanwhile), by reason",
            shards_stopped.clone(),
        );
        registry.register(
            "progress_age_seconds",
            "Seconds since the shard of this worker that progressed least recently last read or committed anything (renewals do not count); /healthz is 503 past --stall-timeout",
            progress_age.clone(),
        );
        registry.register(
            "retention_gaps",
            "Times a shard's next records had passed the stream's retention before they were read: the records in between were lost",
            retention_gaps.clone(),
        );
        Self {
            registry,
            records_read,
            bytes_read,
            records_written,
            bytes_written,
            files_written,
            files_compacted,
            dead_letters,
            flush_seconds,
            errors,
            millis_behind,
            checkpoint_age,
            shards_owned,
            shards_caught_up,
            shards_readable,
            shards_stopped,
            retention_gaps,
            progress_age,
            stopped: Mutex::new(BTreeMap::new()),
            shards: Mutex::new(HashMap::new()),
            heartbeat: Mutex::new(None),
        }
    }

    pub fn source(source: &str) -> SourceLabels {
        SourceLabels {
            source: source.to_string(),
        }
    }

    pub fn table(source: &str, table: &str) -> TableLabels {
        TableLabels {
            source: source.to_string(),
            table: table.to_string(),
        }
    }

    /// `files` of `table` merged by the worker's compaction.
    pub fn files_compacted(&self, table: &str, files: u64) {
        self.files_compacted
            .get_or_create(&Self::table("compaction", table))
            .inc_by(files);
    }

    pub fn error(&self, source: &str, kind: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                source: source.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// A shard reader started (its checkpoint counts as fresh).
    pub fn shard_started(&self, source: &str, shard: &ShardId) {
        let gauges = ShardGauges {
            behind_ms: 0,
            last_checkpoint: Instant::now(),
            caught_up: false,
            progress: Instant::now(),
        };
        self.shards
            .lock()
            .unwrap()
            .insert((source.to_string(), shard.clone()), gauges);
    }

    pub fn shard_stopped(&self, source: &str, shard: &ShardId) {
        self.shards
            .lock()
            .unwrap()
            .remove(&(source.to_string(), shard.clone()));
    }

    pub fn shard_behind(&self, source: &str, shard: &ShardId, behind_ms: i64) {
        self.with_shard(source, shard, |g| g.behind_ms = behind_ms);
    }

    /// The shard's checkpoint moved (a flush was committed), or it holds nothing uncommitted.
    pub fn shard_checkpointed(&self, source: &str, shard: &ShardId) {
        self.with_shard(source, shard, |g| {
            g.last_checkpoint = Instant::now();
            g.progress = g.last_checkpoint;
        });
    }

    /// A read of the shard succeeded: `caught_up` when it found nothing new and the shard
    /// holds nothing unwritten.
    pub fn shard_read(&self, source: &str, shard: &ShardId, caught_up: bool) {
        self.with_shard(source, shard, |g| {
            g.caught_up = caught_up;
            g.progress = Instant::now();
        });
    }

    /// The shards of `source` readable at this discovery round, whoever holds them.
    pub fn shards_readable(&self, source: &str, readable: usize) {
        self.shards_readable
            .get_or_create(&Self::source(source))
            .set(readable as i64);
    }

    fn with_shard(&self, source: &str, shard: &ShardId, change: impl FnOnce(&mut ShardGauges)) {
        if let Some(g) = self
            .shards
            .lock()
            .unwrap()
            .get_mut(&(source.to_string(), shard.clone()))
        {
            change(g);
        }
    }

    /// A shard was stopped by an error that asking again cannot fix; the others go on.
    pub fn shard_failed(
        &self,
        source: &str,
        shard: &ShardId,
        reason: &'static str,
        message: String,
    ) {
        self.stopped
            .lock()
            .unwrap()
            .insert((source.to_string(), shard.clone()), (reason, message));
    }

    /// Records of `source` passed the stream's retention before they were read.
    pub fn retention_gap(&self, source: &str) {
        self.retention_gaps
            .get_or_create(&Self::source(source))
            .inc();
    }

    /// The coordinator is alive (called on every discovery round).
    pub fn heartbeat(&self) {
        *self.heartbeat.lock().unwrap() = Some(Instant::now());
    }

    /// Healthy when the coordinator ran within `within`, no shard is stopped and every shard
    /// read or committed something within `stall_after`; otherwise what is wrong, one line each.
    pub fn health(&self, within: Duration, stall_after: Duration) -> Result<(), String> {
        let mut problems = Vec::new();
        if !self
            .heartbeat
            .lock()
            .unwrap()
            .is_some_and(|t| t.elapsed() <= within)
        {
            problems.push("shard discovery has not succeeded recently".to_string());
        }
        let mut stalled: Vec<String> = self
            .shards
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, g)| g.progress.elapsed() > stall_after)
            .map(|((source, shard), g)| {
                format!(
                    "shard {shard} of {source} has neither read nor committed anything for {}s \
                     (its reads or writes keep failing, or it waits for memory: see the log and \
                     tributary_errors_total)",
                    g.progress.elapsed().as_secs()
                )
            })
            .collect();
        stalled.sort();
        problems.extend(stalled);
        for ((source, shard), (reason, message)) in self.stopped.lock().unwrap().iter() {
            problems.push(format!(
                "shard {shard} of {source} is stopped ({reason}): {message}"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The metrics in Prometheus text exposition format.
    pub fn encode(&self) -> String {
        {
            let shards = self.shards.lock().unwrap();
            let mut per_source: HashMap<&str, SourceFold> = HashMap::new();
            for ((source, _), g) in shards.iter() {
                let fold = per_source.entry(source.as_str()).or_default();
                fold.behind_ms = fold.behind_ms.max(g.behind_ms);
                fold.checkpoint_age = fold
                    .checkpoint_age
                    .max(g.last_checkpoint.elapsed().as_secs_f64());
                fold.owned += 1;
                fold.caught_up += i64::from(g.caught_up);
                fold.progress_age = fold.progress_age.max(g.progress.elapsed().as_secs_f64());
            }
            self.millis_behind.clear();
            self.checkpoint_age.clear();
            self.shards_owned.clear();
            self.shards_caught_up.clear();
            self.progress_age.clear();
            for (source, fold) in per_source {
                let labels = Self::source(source);
                self.millis_behind
                    .get_or_create(&labels)
                    .set(fold.behind_ms);
                self.checkpoint_age
                    .get_or_create(&labels)
                    .set(fold.checkpoint_age);
                self.shards_owned.get_or_create(&labels).set(fold.owned);
                self.shards_caught_up
                    .get_or_create(&labels)
                    .set(fold.caught_up);
                self.progress_age
                    .get_or_create(&labels)
                    .set(fold.progress_age);
            }
            self.shards_stopped.clear();
            let stopped = self.stopped.lock().unwrap();
            for ((source, _), (reason, _)) in stopped.iter() {
                self.shards_stopped
                    .get_or_create(&StoppedLabels {
                        source: source.clone(),
                        reason: reason.to_string(),
                    })
                    .inc();
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_counters_and_per_source_gauges() {
        let m = Metrics::new();
        m.records_read
            .get_or_create(&Metrics::source("kinesis-clicks"))
            .inc_by(3);
        m.records_written
            .get_or_create(&Metrics::table("kinesis-clicks", "events"))
            .inc_by(2);
        m.shard_started("kinesis-clicks", &ShardId("a".into()));
        m.shard_started("kinesis-clicks", &ShardId("b".into()));
        m.shard_behind("kinesis-clicks", &ShardId("b".into()), 1500);
        m.shard_read("kinesis-clicks", &ShardId("a".into()), true);
        m.shards_readable("kinesis-clicks", 3);
        let text = m.encode();
        assert!(
            text.contains("tributary_records_read_total{source=\"kinesis-clicks\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "tributary_records_written_total{source=\"kinesis-clicks\",table=\"events\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("tributary_millis_behind_latest{source=\"kinesis-clicks\"} 1500"),
            "{text}"
        );
        assert!(
            text.contains("tributary_shards_owned{source=\"kinesis-clicks\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("tributary_shards_caught_up{source=\"kinesis-clicks\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tributary_shards_readable{source=\"kinesis-clicks\"} 3"),
            "{text}"
        );
        let minute = Duration::from_secs(60);
        assert!(m.health(Duration::from_secs(1), minute).is_err());
        m.heartbeat();
        assert_eq!(m.health(Duration::from_secs(1), minute), Ok(()));
        // a shard that neither reads nor commits is stalled; a read is progress again
        std::thread::sleep(Duration::from_millis(30));
        let stalled = m
            .health(Duration::from_secs(1), Duration::from_millis(20))
            .unwrap_err();
        assert!(
            stalled.contains("shard a of kinesis-clicks has neither read nor committed")
                && stalled.contains("shard b of kinesis-clicks"),
            "{stalled}"
        );
        m.shard_read("kinesis-clicks", &ShardId("b".into()), false);
        let stalled = m
            .health(Duration::from_secs(1), Duration::from_millis(20))
            .unwrap_err();
        assert!(!stalled.contains("shard b"), "{stalled}");
        assert!(
            m.encode()
                .contains("tributary_progress_age_seconds{source=\"kinesis-clicks\"}")
        );
        m.shard_failed(
            "kinesis-clicks",
            &ShardId("b".into()),
            "corrupt_checkpoint",
            "checkpoint b is unreadable".into(),
        );
        m.retention_gap("kinesis-clicks");
        let text = m.encode();
        assert!(
            text.contains(
                "tributary_shards_stopped{source=\"kinesis-clicks\",reason=\"corrupt_checkpoint\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("tributary_retention_gaps_total{source=\"kinesis-clicks\"} 1"),
            "{text}"
        );
        let unhealthy = m.health(Duration::from_secs(1), minute).unwrap_err();
        assert!(
            unhealthy.contains("shard b of kinesis-clicks is stopped (corrupt_checkpoint)"),
            "{unhealthy}"
        );
    }
}
