//! The stream's commits: blind appends written as the next log entry, without the table's file
//! list.
//!
//! ```text
//! contributions ──drop the flushes the table holds (txn versions)──▶ commitInfo + add + txn
//!      ──PutMode::Create of _delta_log/<version+1>.json──▶ won: done (a checkpoint every 100)
//!                                                      └─▶ lost: read that entry, learn it, next
//! ```
//! A stream commit only adds new files, so under the protocol's conflict rules it conflicts
//! with nothing another writer commits except a change of the table's schema or protocol, or a
//! `txn` of one of its own writers. Both show in the entry that won the race, so this writer
//! needs no snapshot of the table's files to commit: it reads the entries that others wrote
//! in between, one by one, and writes the next one. delta-rs brings its snapshot to each new
//! version by re-reading the statistics of every live file of the table (O(files) per commit,
//! docs/benchmarks.md); this path costs one PUT per commit, plus one GET per entry another
//! writer made.
//!
//! The handle keeps a snapshot of the table (`base`, with its files) for what needs one: the
//! `txn` version of a writer it has not seen since, the protocol check, and the checkpoint that
//! it writes every `delta.checkpointInterval` versions (when `base` moves to that version). Any
//! entry that changes the schema or protocol, or that cannot be read, makes the handle load the
//! table again. A table whose protocol needs writer features beyond appendOnly and invariants
//! is committed through delta-rs instead, which knows them.
//!
//! A blind append trusts that the entry after the last one this handle knows is the next free
//! version. That holds only while the log is not cleaned up past it: cleanup deletes entries
//! below a checkpoint once they are older than the table's log retention, so a handle that
//! has not written or read an entry for that long could write its entry into the gap it left
//! below the newest checkpoint, where no reader looks (and its flush would be lost). Every
//! entry after the one a handle knows was written after it, so none of them is older than the
//! handle's last contact with the log: a handle idle for half the log retention loads the
//! table again before it writes or answers.

use std::time::Duration;

use bytes::Bytes;
use deltalake_core::kernel::transaction::{PROTOCOL, TransactionError};
use deltalake_core::kernel::{Action, CommitInfo, Transaction};
use deltalake_core::logstore::CommitOrBytes;
use deltalake_core::protocol::DeltaOperation;
use tracing::debug;

use crate::delta::{
    self, CommitKind, CommitReport, Contribution, DeltaTable, TableError, TxnVersions,
};
use crate::layout::Table;
use crate::warehouse::Warehouse;

/// Lost races in a row after which the handle loads the table again instead of reading the
/// winners' entries one by one.
const MAX_ENTRIES_BEHIND: usize = 100;

/// One table's stream commits, kept between groups.
pub struct Appender {
    /// The table at some version `<= version`, with its files; every entry after it has been
    /// read (or written) by this handle.
    base: DeltaTable,
    /// The latest version this handle has read or written.
    version: u64,
    /// Each writer's `txn` version as of `version`.
    txns: TxnVersions,
    /// Whether blind appends may be written to this table's protocol (else delta-rs commits).
    blind: bool,
    /// The table's `delta.checkpointInterval`.
    checkpoint_interval: u64,
    /// When this handle last learned the latest version (loaded the table, wrote an entry or
    /// read a new one), by this machine's clock, in Unix milliseconds.
    contact_ms: i64,
    /// How long the handle may be idle before it loads the table again: half the table's
    /// `delta.logRetentionDuration`.
    reload_after: Duration,
}

/// Where reading the entry after the handle's version left it.
enum Next {
    /// Read and learned: the handle is at that version now.
    Learned,
    /// There is no such entry (yet).
    Missing,
    /// The entry changes the table or cannot be read: load the table again.
    Reload,
}

impl Appender {
    /// Opens `table` (creating it if it has no log) for stream commits.
    pub async fn open(warehouse: &Warehouse, table: Table) -> Result<Self, TableError> {
        Self::of(delta::open_or_create(warehouse, table).await?)
    }

    /// Opens `table` for stream commits if it has a log (`None` if not: nothing is created).
    pub async fn open_existing(
        warehouse: &Warehouse,
        table: Table,
    ) -> Result<Option<Self>, TableError> {
        delta::open_if_logged(warehouse, table)
            .await?
            .map(Self::of)
            .transpose()
    }

    fn of(base: DeltaTable) -> Result<Self, TableError> {
        use deltalake_core::table::config::TablePropertiesExt as _;
        let version = base
            .version()
            .expect("a loaded or created table has a version");
        let blind = appends_are_blind(&base)?;
        let checkpoint_interval = delta::checkpoint_interval(&base)?;
        let retention = base
            .snapshot()
            .map_err(|e| delta::delta_error(base.table_url(), e))?
            .table_config()
            .log_retention_duration();
        Ok(Self {
            base,
            version,
            txns: TxnVersions::default(),
            blind,
            checkpoint_interval,
            contact_ms: now_ms(),
            reload_after: retention / 2,
        })
    }

    /// Whether the handle has been idle too long to trust that the log has no gap after its
    /// version (a clock that went back counts as idle too).
    fn idle(&self) -> bool {
        let idle_ms = now_ms() - self.contact_ms;
        idle_ms < 0 || idle_ms as u128 > self.reload_after.as_millis()
    }

    /// The latest `txn` version of `app_id` that the table holds, as of its newest entry.
    pub async fn held(&mut self, app_id: &str) -> Result<Option<i64>, TableError> {
        if !self.blind {
            self.base.update_state().await.map_err(|e| self.error(e))?;
            self.version = self.base.version().unwrap_or(self.version);
            return self.txns.get(&self.base, app_id).await;
        }
        self.catch_up().await?;
        self.txns.get_after(&self.base, app_id).await
    }

    /// Reads the entries after the handle's version up to the newest one (one GET each, and
    /// one that finds nothing), or loads the table again if it is idle or far behind.
    async fn catch_up(&mut self) -> Result<(), TableError> {
        if self.idle() {
            return self.reload().await;
        }
        for _ in 0..MAX_ENTRIES_BEHIND {
            match self.read_entry(self.version + 1).await? {
                Next::Learned => {}
                Next::Missing => return Ok(()),
                Next::Reload => break,
            }
        }
        self.reload().await
    }

    /// Commits the files of every contribution whose `txn` the table does not hold yet, in one
    /// log entry with one `txn` action per contribution (see [`delta::commit`] for the
    /// contract, which this keeps).
    pub async fn commit(
        &mut self,
        contributions: Vec<Contribution>,
    ) -> Result<CommitReport, TableError> {
        if !self.blind {
            let report = delta::commit(
                &mut self.base,
                &mut self.txns,
                contributions,
                CommitKind::Stream,
            )
            .await?;
            self.version = self.base.version().unwrap_or(self.version);
            return Ok(report);
        }
        if self.idle() {
            debug!(url = %self.base.table_url(), "idle for half the log retention: loading the table again");
            self.reload().await?;
        }
        let mut behind = 0;
        loop {
            let (report, actions, txns) = self.actions(&contributions).await?;
            if actions.is_empty() {
                return Ok(report);
            }
            let next = self.version + 1;
            let entry = entry(&actions)?;
            let written = self
                .base
                .log_store()
                .write_commit_entry(next, CommitOrBytes::LogBytes(entry), uuid::Uuid::new_v4())
                .await;
            match written {
                Ok(()) => {
                    self.version = next;
                    self.contact_ms = now_ms();
                    for txn in txns {
                        self.txns.record(&txn.app_id, txn.version);
                    }
                    // the versions delta-rs checkpoints at: 99, 199, ...
                    if (next + 1).is_multiple_of(self.checkpoint_interval) {
                        self.checkpoint(next).await;
                    }
                    return Ok(CommitReport {
                        version: Some(next),
                        ..report
                    });
                }
                Err(TransactionError::VersionAlreadyExists(_)) => {
                    behind += 1;
                    debug!(url = %self.base.table_url(), version = next, "another writer took the version; reading its entry");
                    let learned = matches!(self.read_entry(next).await?, Next::Learned);
                    if behind >= MAX_ENTRIES_BEHIND || !learned {
                        self.reload().await?;
                        behind = 0;
                    }
                }
                Err(e) => return Err(self.error(e.into())),
            }
        }
    }

    /// The actions of one attempt: the contributions the table does not hold yet. (The
    /// protocol was checked when `base` was loaded; adds alone ask nothing more of it.)
    async fn actions(
        &mut self,
        contributions: &[Contribution],
    ) -> Result<(CommitReport, Vec<Action>, Vec<Transaction>), TableError> {
        let now_ms = now_ms();
        let held = delta::Held::After(&self.base);
        let selected = delta::select(contributions, now_ms, &mut self.txns, held).await?;
        if selected.is_empty() {
            return Ok((selected.report, Vec::new(), Vec::new()));
        }
        let operation = delta::operation(CommitKind::Stream, now_ms);
        let mut actions = Vec::with_capacity(selected.adds.len() + selected.txns.len() + 1);
        actions.push(Action::CommitInfo(commit_info(
            &operation,
            now_ms,
            self.version,
        )));
        actions.extend(selected.adds);
        actions.extend(selected.txns.iter().cloned().map(Action::Txn));
        Ok((selected.report, actions, selected.txns))
    }

    /// Learns the entry another writer wrote at `version` (the one after the handle's).
    async fn read_entry(&mut self, version: u64) -> Result<Next, TableError> {
        let entry = self
            .base
            .log_store()
            .read_commit_entry(version)
            .await
            .map_err(|e| self.error(e))?;
        let Some(entry) = entry else {
            return Ok(Next::Missing);
        };
        if changes_table(&entry) || !self.txns.learn(&entry) {
            return Ok(Next::Reload);
        }
        self.version = version;
        self.contact_ms = now_ms();
        Ok(Next::Learned)
    }

    /// Loads the table's latest snapshot as the new base.
    async fn reload(&mut self) -> Result<(), TableError> {
        self.base.update_state().await.map_err(|e| self.error(e))?;
        let empty = DeltaTable::new(self.base.log_store());
        let base = std::mem::replace(&mut self.base, empty);
        *self = Self::of(base)?;
        Ok(())
    }

    /// Writes the checkpoint of `version` (which this handle just committed), moving `base`
    /// there; then the protocol's log cleanup. The commit stands whatever happens here: a
    /// failure is logged, readers replay more entries, and the next interval tries again.
    async fn checkpoint(&mut self, version: u64) {
        let started = std::time::Instant::now();
        if let Err(e) = self.base.update_incremental(Some(version)).await {
            tracing::warn!(url = %self.base.table_url(), version, error = %e, "loading the snapshot to checkpoint failed; the next interval tries again");
            return;
        }
        if delta::write_checkpoint(&self.base).await {
            delta::clean_up_log(&self.base, version).await;
            debug!(url = %self.base.table_url(), version, elapsed = ?started.elapsed(), "checkpoint written");
        }
    }

    fn error(&self, e: deltalake_core::DeltaTableError) -> TableError {
        delta::delta_error(self.base.table_url(), e)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The commit's `commitInfo`, first in the entry as the protocol asks.
fn commit_info(operation: &DeltaOperation, now_ms: i64, read_version: u64) -> CommitInfo {
    let mut info = operation.get_commit_info();
    info.timestamp = Some(now_ms);
    info.read_version = Some(read_version);
    info.is_blind_append = Some(true);
    info.engine_info = Some(format!("tributary/{}", env!("CARGO_PKG_VERSION")));
    info
}

/// A log entry: one JSON action per line.
fn entry(actions: &[Action]) -> Result<Bytes, TableError> {
    let lines = actions
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TableError::Entry {
            reason: e.to_string(),
        })?;
    Ok(Bytes::from(lines.join("\n")))
}

/// Whether an entry changes the table's schema, properties or protocol (a `metaData` or
/// `protocol` action, at the top level of one of its lines).
fn changes_table(entry: &[u8]) -> bool {
    entry.split(|b| *b == b'\n').any(|line| {
        let line = line.trim_ascii_start();
        line.starts_with(br#"{"metaData""#) || line.starts_with(br#"{"protocol""#)
    })
}

/// Whether this module may write the table's entries itself: delta-rs can write to the table,
/// and its protocol asks nothing of a writer beyond what a blind append of new files honours
/// (the writer versions up to 2, or table features appendOnly and invariants).
fn appends_are_blind(base: &DeltaTable) -> Result<bool, TableError> {
    let snapshot = base
        .snapshot()
        .map_err(|e| delta::delta_error(base.table_url(), e))?;
    PROTOCOL
        .can_write_to(snapshot)
        .map_err(|e| delta::delta_error(base.table_url(), e.into()))?;
    let protocol = serde_json::to_value(snapshot.protocol()).unwrap_or_default();
    Ok(writer_asks_nothing_more(&protocol))
}

fn writer_asks_nothing_more(protocol: &serde_json::Value) -> bool {
    let version = protocol["minWriterVersion"].as_i64().unwrap_or(i64::MAX);
    let features = protocol["writerFeatures"].as_array();
    match (version, features) {
        (..=2, _) => true,
        (7, Some(features)) => features
            .iter()
            .all(|f| matches!(f.as_str(), Some("appendOnly" | "invariants"))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::CHECKPOINT_INTERVAL;
    use crate::delta::tests::{contribution, files};
    use serde_json::json;

    async fn warehouse(dir: &tempfile::TempDir) -> Warehouse {
        Warehouse::open(dir.path().to_str().unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn blind_appends_are_a_table_that_delta_rs_reads_with_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(&dir).await;
        let mut appender = Appender::open(&wh, Table::builtin("events")).await.unwrap();
        assert!(appender.blind);
        let commits = CHECKPOINT_INTERVAL + 5;
        for v in 1..=commits as i64 {
            let names = [format!("a{v}"), format!("b{v}")];
            let report = appender
                .commit(vec![
                    contribution("s/1", v, &[&names[0]]),
                    contribution("s/2", v, &[&names[1]]),
                ])
                .await
                .unwrap();
            assert_eq!((report.version, report.files), (Some(v as u64), 2));
        }
        // a recovered flush of each writer: nothing new
        let again = appender
            .commit(vec![
                contribution("s/1", commits as i64, &["x"]),
                contribution("s/2", 3, &["y"]),
            ])
            .await
            .unwrap();
        assert_eq!((again.version, again.already_committed), (None, 2));
        let table = delta::open(&wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(table.version(), Some(commits));
        assert_eq!(files(&table).await.len(), 2 * commits as usize);
        assert_eq!(
            delta::txn_version(&table, "s/2").await.unwrap(),
            Some(commits as i64)
        );
        let log = dir.path().join("events/_delta_log");
        let checkpoint = format!("{:020}.checkpoint.parquet", CHECKPOINT_INTERVAL - 1);
        assert!(log.join(&checkpoint).exists(), "no {checkpoint}");
        assert!(log.join("_last_checkpoint").exists());
    }

    #[tokio::test]
    async fn a_lost_race_is_read_back_and_the_other_writers_flush_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(&dir).await;
        let mut appender = Appender::open(&wh, Table::builtin("order_changes"))
            .await
            .unwrap();
        appender
            .commit(vec![contribution("s/1", 1, &["a"])])
            .await
            .unwrap();
        // another worker (a takeover, through delta-rs) commits s/1's next flush and s/9's
        let mut other = delta::open(&wh, Table::builtin("order_changes"))
            .await
            .unwrap()
            .unwrap();
        delta::commit(
            &mut other,
            &mut TxnVersions::default(),
            vec![
                contribution("s/1", 2, &["b"]),
                contribution("s/9", 1, &["z"]),
            ],
            CommitKind::Stream,
        )
        .await
        .unwrap();
        // this handle still thinks version 1 is the latest: it loses version 2, reads it, and
        // drops the flush that the other writer committed
        let report = appender
            .commit(vec![
                contribution("s/1", 2, &["b-again"]),
                contribution("s/2", 1, &["c"]),
            ])
            .await
            .unwrap();
        assert_eq!(
            (report.version, report.files, report.already_committed),
            (Some(3), 1, 1)
        );
        other.update_state().await.unwrap();
        assert_eq!(
            files(&other).await,
            ["a", "b", "c", "z"].map(|f| format!("{f}.parquet"))
        );
    }

    #[tokio::test]
    async fn racing_appenders_all_land_once() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(&dir).await;
        Appender::open(&wh, Table::builtin("user_changes"))
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..6 {
            let wh = wh.clone();
            tasks.spawn(async move {
                let mut appender = Appender::open(&wh, Table::builtin("user_changes"))
                    .await
                    .unwrap();
                // writers 4 and 5 commit writer 0's flushes
                let app = if i >= 4 { 0 } else { i };
                for v in 1..=5 {
                    let name = format!("w{app}-{v}");
                    appender
                        .commit(vec![contribution(&format!("w{app}"), v, &[&name])])
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let table = delta::open(&wh, Table::builtin("user_changes"))
            .await
            .unwrap()
            .unwrap();
        let mut expected: Vec<String> = (0..4)
            .flat_map(|w| (1..=5).map(move |v| format!("w{w}-{v}.parquet")))
            .collect();
        expected.sort();
        assert_eq!(files(&table).await, expected);
    }

    #[tokio::test]
    async fn a_handle_idle_past_the_log_retention_commits_after_the_newest_version() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(&dir).await;
        let mut idle = Appender::open(&wh, Table::builtin("events")).await.unwrap();
        // others commit past a checkpoint, and the log's cleanup (here by hand, as if the
        // entries were older than the retention) removes every entry below it
        let mut busy = Appender::open(&wh, Table::builtin("events")).await.unwrap();
        let commits = CHECKPOINT_INTERVAL + 1;
        for v in 1..=commits as i64 {
            busy.commit(vec![contribution("s/1", v, &[&format!("a{v}")])])
                .await
                .unwrap();
        }
        let log = dir.path().join("events/_delta_log");
        for version in 0..CHECKPOINT_INTERVAL - 1 {
            std::fs::remove_file(log.join(format!("{version:020}.json"))).unwrap();
        }
        // the idle handle knows version 0; version 1 is free again, below the checkpoint
        idle.reload_after = Duration::ZERO;
        let report = idle
            .commit(vec![contribution("s/2", 1, &["late"])])
            .await
            .unwrap();
        assert_eq!(report.version, Some(commits + 1));
        let table = delta::open(&wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            files(&table).await.contains(&"late.parquet".to_string()),
            "the idle handle's flush is not in the table"
        );
        assert_eq!(delta::txn_version(&table, "s/2").await.unwrap(), Some(1));
    }

    #[tokio::test]
    async fn held_answers_from_the_newest_entry_without_creating_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let wh = warehouse(&dir).await;
        assert!(
            Appender::open_existing(&wh, Table::builtin("events"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(!dir.path().join("events").exists());
        let mut reader = Appender::open(&wh, Table::builtin("events")).await.unwrap();
        let mut writer = Appender::open(&wh, Table::builtin("events")).await.unwrap();
        assert_eq!(reader.held("s/1").await.unwrap(), None);
        for v in 1..=3 {
            writer
                .commit(vec![contribution("s/1", v, &[&format!("a{v}")])])
                .await
                .unwrap();
        }
        // the reader learns the other handle's entries
        assert_eq!(reader.held("s/1").await.unwrap(), Some(3));
        assert_eq!(reader.held("s/9").await.unwrap(), None);
        assert_eq!(reader.version, 3);
    }

    #[test]
    fn only_top_level_metadata_and_protocol_change_the_table() {
        assert!(changes_table(
            b"{\"commitInfo\":{}}\n{\"metaData\":{\"id\":\"x\"}}"
        ));
        assert!(changes_table(
            br#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#
        ));
        assert!(!changes_table(
            br#"{"add":{"path":"a","stats":"{\"metaData\":1}"}}
{"txn":{"appId":"protocol","version":1}}"#
        ));
    }

    #[test]
    fn blind_appends_need_a_protocol_that_asks_nothing_more() {
        assert!(writer_asks_nothing_more(
            &json!({"minReaderVersion": 1, "minWriterVersion": 2})
        ));
        assert!(writer_asks_nothing_more(
            &json!({"minReaderVersion": 3, "minWriterVersion": 7, "writerFeatures": ["appendOnly"]})
        ));
        assert!(!writer_asks_nothing_more(
            &json!({"minReaderVersion": 3, "minWriterVersion": 7, "writerFeatures": ["inCommitTimestamp"]})
        ));
        assert!(!writer_asks_nothing_more(
            &json!({"minReaderVersion": 1, "minWriterVersion": 4})
        ));
        assert!(!writer_asks_nothing_more(&json!({})));
    }
}
