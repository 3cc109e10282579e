//! Which flush of each writer a table holds: the `txn` versions of its log, kept current as
//! the writer's snapshot advances instead of replayed from the log for every lookup.
//!
//! The Delta kernel answers "the latest `txn` of app id A" by replaying the log segment (the
//! last checkpoint and every JSON entry after it). A group commit asks once per contribution,
//! so a worker committing every second replayed up to a hundred entries and a checkpoint of
//! every file several times a second. A `txn` version only grows, so the answers stay true as
//! the table moves on, except where a newer entry carries a newer `txn`: [`TxnVersions`] reads
//! just the entries between the version it knows and the snapshot's (usually the one commit
//! it made itself) and asks the kernel only for an app id it has not seen.

use std::collections::HashMap;

use deltalake_core::DeltaTable;
use serde::Deserialize;

use crate::delta::{TableError, delta_error};

/// The `txn` versions of one table as of one table version.
#[derive(Debug, Default)]
pub struct TxnVersions {
    /// The table version the answers below hold for.
    at: Option<u64>,
    /// Each app id looked up or seen in a log entry since: its latest version (`None`: none).
    known: HashMap<String, Option<i64>>,
}

/// One line of a commit entry; only its `txn` action matters here.
#[derive(Deserialize)]
struct Line {
    txn: Option<TxnAction>,
}

#[derive(Deserialize)]
struct TxnAction {
    #[serde(rename = "appId")]
    app_id: String,
    version: i64,
}

impl TxnVersions {
    /// The latest version of `app_id` that `delta`'s snapshot holds.
    pub async fn get(
        &mut self,
        delta: &DeltaTable,
        app_id: &str,
    ) -> Result<Option<i64>, TableError> {
        self.catch_up(delta).await?;
        if let Some(known) = self.known.get(app_id) {
            return Ok(*known);
        }
        let held = crate::delta::txn_version(delta, app_id).await?;
        self.known.insert(app_id.to_string(), held);
        Ok(held)
    }

    /// Brings the answers to the snapshot's version by reading the entries in between; if one
    /// is gone (log cleanup) or the snapshot went back, everything is asked again.
    async fn catch_up(&mut self, delta: &DeltaTable) -> Result<(), TableError> {
        let Some(now) = delta.version() else {
            self.forget(None);
            return Ok(());
        };
        match self.at {
            Some(at) if at == now => return Ok(()),
            Some(at) if at < now && now - at <= MAX_ENTRIES_READ => {
                for version in at + 1..=now {
                    let entry = delta
                        .log_store()
                        .read_commit_entry(version)
                        .await
                        .map_err(|e| delta_error(delta.table_url(), e))?;
                    let learned = entry.is_some_and(|entry| self.learn(&entry));
                    if !learned {
                        self.forget(Some(now));
                        return Ok(());
                    }
                }
                self.at = Some(now);
            }
            _ => self.forget(Some(now)),
        }
        Ok(())
    }

    /// The latest version of `app_id` as of the entries this has learned, for a handle that
    /// learns every entry after `base` ([`crate::append::Appender`]): an app id not seen in
    /// them is asked of `base`.
    pub(crate) async fn get_after(
        &mut self,
        base: &DeltaTable,
        app_id: &str,
    ) -> Result<Option<i64>, TableError> {
        if let Some(known) = self.known.get(app_id) {
            return Ok(*known);
        }
        let held = crate::delta::txn_version(base, app_id).await?;
        self.known.insert(app_id.to_string(), held);
        Ok(held)
    }

    /// Records a `txn` this handle committed itself.
    pub(crate) fn record(&mut self, app_id: &str, version: i64) {
        let known = self.known.entry(app_id.to_string()).or_insert(None);
        *known = (*known).max(Some(version));
    }

    fn forget(&mut self, at: Option<u64>) {
        self.known.clear();
        self.at = at;
    }

    /// Takes the `txn` actions of one commit entry (JSON Lines, one action per line); `false`
    /// if a line that names a `txn` cannot be read (the kernel is asked instead).
    pub(crate) fn learn(&mut self, entry: &[u8]) -> bool {
        for line in entry.split(|b| *b == b'\n') {
            // most lines are `add` actions with statistics: skip them unparsed (inside the
            // statistics' JSON text a quote is escaped, so `"txn":` cannot match there)
            if !contains(line, br#""txn":"#) {
                continue;
            }
            match serde_json::from_slice::<Line>(line) {
                Ok(Line { txn: Some(txn) }) => self.record(&txn.app_id, txn.version),
                Ok(Line { txn: None }) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// More entries than this since the last answer: ask the kernel again instead (it replays from
/// the last checkpoint, at most [`crate::delta::CHECKPOINT_INTERVAL`] entries).
const MAX_ENTRIES_READ: u64 = crate::delta::CHECKPOINT_INTERVAL;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_txn_lines_count_and_versions_only_grow() {
        let mut txns = TxnVersions::default();
        assert!(txns.learn(
            br#"{"commitInfo":{"timestamp":1}}
{"add":{"path":"a.parquet","stats":"{\"numRecords\":1}"}}
{"txn":{"appId":"s/1","version":4,"lastUpdated":1}}
{"txn":{"appId":"s/2","version":2}}"#,
        ));
        assert!(txns.learn(br#"{"txn":{"appId":"s/1","version":3}}"#));
        assert!(!txns.learn(br#"{"txn":{"appId":"s/3","version":"x"}}"#));
        assert_eq!(txns.known["s/1"], Some(4));
        assert_eq!(txns.known["s/2"], Some(2));
        assert!(!txns.known.contains_key("a.parquet"));
    }
}
