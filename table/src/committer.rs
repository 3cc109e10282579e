//! Group commit: the flushes of many writers (a worker's shards) to one table, in one Delta
//! commit with one `txn` per writer.
//!
//! ```text
//! shard tasks ──Contribution──▶ one queue per table ──▶ one commit task per table ──▶ _delta_log
//!      ◀──────────────── the table version (or the error) ─────────┘
//! ```
//! Each table's task waits for a request, then takes every request queued behind it (up to
//! [`MAX_GROUP`], and never two of one writer) into the same commit. While a commit is in
//! flight, new requests queue up, so the number of commits per table follows the commit
//! latency, not the number of shards: a worker with 200 shards flushing every second makes
//! about as many commits as one with 2. The same task answers which flush of a writer the
//! table holds ([`Committer::held`]), from the handle it keeps, brought to the newest entry.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc, oneshot};
use tracing::debug;

use crate::append::Appender;
use crate::delta::{CommitReport, Contribution, TableError};
use crate::layout::Table;
use crate::warehouse::Warehouse;

/// Contributions in one commit at most (each one is a `txn` action plus its files).
pub const MAX_GROUP: usize = 64;

/// A failed group commit, shared by every writer of the group.
#[derive(Debug, Clone, thiserror::Error)]
#[error("committing to {table}: {source}")]
pub struct CommitError {
    pub table: &'static str,
    pub source: Arc<TableError>,
}

/// What a writer learns of its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The table version that holds the contribution now (`None`: the table held it already,
    /// and the group had nothing else to commit).
    pub version: Option<u64>,
    /// Writers whose contributions went into the same commit.
    pub group: usize,
    /// `Some(v)`: the table held this contribution's `txn` already, at version `v` (at least
    /// the contribution's), so its files were not added.
    pub held: Option<i64>,
}

struct Request {
    contribution: Contribution,
    reply: oneshot::Sender<Result<Committed, CommitError>>,
}

/// What a table's commit task is asked.
enum Ask {
    Commit(Request),
    /// The latest `txn` version of a writer (the app id) that the table holds.
    Held {
        app_id: String,
        reply: oneshot::Sender<Result<Option<i64>, CommitError>>,
    },
}

/// Commits to the tables of one warehouse; cheap to clone, shared by all shard tasks.
#[derive(Clone)]
pub struct Committer {
    warehouse: Warehouse,
    queues: Arc<Mutex<HashMap<Table, mpsc::UnboundedSender<Ask>>>>,
    committed: Arc<Notify>,
}

impl Committer {
    pub fn new(warehouse: Warehouse) -> Self {
        Self {
            warehouse,
            queues: Arc::default(),
            committed: Arc::default(),
        }
    }

    /// Woken after every commit that added files to a change table (one wake-up stands for
    /// any number of commits since the last wait): what the current-state refresher waits for.
    pub fn committed(&self) -> Arc<Notify> {
        self.committed.clone()
    }

    /// Commits `contribution` to `table`, together with whatever other writers are committing
    /// to it at the same time. `Ok` means the table holds it (now or before).
    pub async fn commit(
        &self,
        table: Table,
        contribution: Contribution,
    ) -> Result<Committed, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.ask(
            table,
            Ask::Commit(Request {
                contribution,
                reply,
            }),
        );
        answer
            .await
            .unwrap_or_else(|_| unreachable!("a table's commit task answers every request"))
    }

    /// The latest `txn` version of writer `app_id` that `table` holds, as of its newest log
    /// entry (`None`: none, or the table has no log; none is created). Asked in line with the
    /// table's commits, from the handle they keep.
    pub async fn held(&self, table: Table, app_id: &str) -> Result<Option<i64>, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.ask(
            table,
            Ask::Held {
                app_id: app_id.to_string(),
                reply,
            },
        );
        answer
            .await
            .unwrap_or_else(|_| unreachable!("a table's commit task answers every request"))
    }

    fn ask(&self, table: Table, ask: Ask) {
        let queue = {
            let mut queues = self.queues.lock().expect("the queue map is never poisoned");
            queues
                .entry(table)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(commit_loop(
                        self.warehouse.clone(),
                        table,
                        rx,
                        self.committed.clone(),
                    ));
                    tx
                })
                .clone()
        };
        queue
            .send(ask)
            .unwrap_or_else(|_| unreachable!("a table's commit task runs while its queue lives"));
    }
}

/// One table's commits, one group at a time, through one [`Appender`] kept between them (the
/// table's version and its writers' `txn` versions).
async fn commit_loop(
    warehouse: Warehouse,
    table: Table,
    mut queue: mpsc::UnboundedReceiver<Ask>,
    committed: Arc<Notify>,
) {
    let mut appender: Option<Appender> = None;
    let mut waiting: VecDeque<Ask> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(ask) => waiting.push_back(ask),
                None => return,
            }
        }
        while let Ok(ask) = queue.try_recv() {
            waiting.push_back(ask);
        }
        if let Some(Ask::Held { .. }) = waiting.front() {
            let Some(Ask::Held { app_id, reply }) = waiting.pop_front() else {
                unreachable!("the front was a question")
            };
            let answer = held(&warehouse, table, &mut appender, &app_id)
                .await
                .map_err(|e| {
                    appender = None;
                    CommitError {
                        table: table.name(),
                        source: Arc::new(e),
                    }
                });
            let _ = reply.send(answer);
            continue;
        }
        let group = take_group(&mut waiting);
        let contributions: Vec<Contribution> =
            group.iter().map(|r| r.contribution.clone()).collect();
        let result = commit_group(&warehouse, table, &mut appender, contributions)
            .await
            .map_err(Arc::new);
        let size = group.len();
        let answer = |request: &Request| match &result {
            Ok(report) => Ok(Committed {
                version: report.version,
                group: size,
                held: request
                    .contribution
                    .txn
                    .as_ref()
                    .and_then(|t| report.held.get(&t.app_id).copied()),
            }),
            Err(e) => Err(CommitError {
                table: table.name(),
                source: e.clone(),
            }),
        };
        match &result {
            Ok(report) => {
                // what the current-state tables follow: new change rows
                if report.version.is_some() && table.state().is_some() {
                    committed.notify_one();
                }
                debug!(table = table.name(), version = ?report.version, group = size, files = report.files, "group commit");
            }
            // the next group starts from a fresh snapshot
            Err(_) => appender = None,
        }
        for request in group {
            // a writer that stopped waiting (shutdown) does not need the answer
            let reply = answer(&request);
            let _ = request.reply.send(reply);
        }
    }
}

/// The longest run of waiting requests from distinct writers, at most [`MAX_GROUP`].
fn take_group(waiting: &mut VecDeque<Ask>) -> Vec<Request> {
    let mut writers = HashSet::new();
    let mut group = Vec::new();
    while let Some(Ask::Commit(next)) = waiting.front() {
        let writer = next.contribution.txn.as_ref().map(|t| t.app_id.clone());
        if group.len() >= MAX_GROUP || writer.as_ref().is_some_and(|w| writers.contains(w)) {
            break;
        }
        writers.extend(writer);
        if let Some(Ask::Commit(request)) = waiting.pop_front() {
            group.push(request);
        }
    }
    group
}

async fn commit_group(
    warehouse: &Warehouse,
    table: Table,
    cached: &mut Option<Appender>,
    contributions: Vec<Contribution>,
) -> Result<CommitReport, TableError> {
    let appender = match cached {
        Some(appender) => appender,
        None => cached.insert(Appender::open(warehouse, table).await?),
    };
    appender.commit(contributions).await
}

/// A writer's `txn` version in `table`, from the kept handle (opened if the table has a log).
async fn held(
    warehouse: &Warehouse,
    table: Table,
    cached: &mut Option<Appender>,
    app_id: &str,
) -> Result<Option<i64>, TableError> {
    if cached.is_none() {
        *cached = Appender::open_existing(warehouse, table).await?;
    }
    match cached {
        Some(appender) => appender.held(app_id).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{self, DataFile, Txn};
    use crate::layout::Partition;

    fn contribution(writer: &str, version: i64) -> Contribution {
        Contribution {
            txn: Some(Txn {
                app_id: writer.into(),
                version,
            }),
            files: vec![DataFile {
                path: format!("year=2026/month=1/day=1/{writer}-{version}.parquet"),
                partition: Partition {
                    year: 2026,
                    month: 1,
                    day: 1,
                },
                bytes: 1,
                rows: 1,
                stats: None,
            }],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_writers_share_few_commits_and_a_repeat_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let committer = Committer::new(warehouse.clone());
        let writers: usize = 40;
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..writers {
            let committer = committer.clone();
            tasks.spawn(async move {
                committer
                    .commit(Table::builtin("events"), contribution(&format!("s/{w}"), 1))
                    .await
            });
        }
        let mut groups = 0;
        while let Some(done) = tasks.join_next().await {
            groups = groups.max(done.unwrap().unwrap().group);
        }
        let mut delta = delta::open(&warehouse, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        let version = delta.version().unwrap() as usize;
        assert!(
            version < writers,
            "{writers} writers made {version} commits (after the table's creation)"
        );
        assert!(groups > 1, "no two writers shared a commit");
        assert_eq!(delta.get_file_uris().unwrap().count(), writers);
        // a recovered flush asks again: nothing is added
        let again = committer
            .commit(Table::builtin("events"), contribution("s/3", 1))
            .await
            .unwrap();
        assert_eq!(again.version, None);
        delta.update_state().await.unwrap();
        assert_eq!(delta.get_file_uris().unwrap().count(), writers);
    }

    #[test]
    fn a_group_never_holds_two_flushes_of_one_writer() {
        let mut waiting: VecDeque<Ask> = VecDeque::new();
        for (w, v) in [("a", 1), ("b", 1), ("a", 2), ("c", 1)] {
            let (reply, _) = oneshot::channel();
            waiting.push_back(Ask::Commit(Request {
                contribution: contribution(w, v),
                reply,
            }));
        }
        let group = take_group(&mut waiting);
        assert_eq!(group.len(), 2);
        assert_eq!(waiting.len(), 2);
    }
}
