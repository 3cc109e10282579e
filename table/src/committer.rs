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
//! about as many commits as one with 2.

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
}

struct Request {
    contribution: Contribution,
    reply: oneshot::Sender<Result<Committed, CommitError>>,
}

/// Commits to the tables of one warehouse; cheap to clone, shared by all shard tasks.
#[derive(Clone)]
pub struct Committer {
    warehouse: Warehouse,
    queues: Arc<Mutex<HashMap<Table, mpsc::UnboundedSender<Request>>>>,
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
        let request = Request {
            contribution,
            reply,
        };
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
            .send(request)
            .unwrap_or_else(|_| unreachable!("a table's commit task runs while its queue lives"));
        answer
            .await
            .unwrap_or_else(|_| unreachable!("a table's commit task answers every request"))
    }
}

/// One table's commits, one group at a time, through one [`Appender`] kept between them (the
/// table's version and its writers' `txn` versions).
async fn commit_loop(
    warehouse: Warehouse,
    table: Table,
    mut queue: mpsc::UnboundedReceiver<Request>,
    committed: Arc<Notify>,
) {
    let mut appender: Option<Appender> = None;
    let mut waiting: VecDeque<Request> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(request) => waiting.push_back(request),
                None => return,
            }
        }
        while let Ok(request) = queue.try_recv() {
            waiting.push_back(request);
        }
        let group = take_group(&mut waiting);
        let contributions: Vec<Contribution> =
            group.iter().map(|r| r.contribution.clone()).collect();
        let result = commit_group(&warehouse, table, &mut appender, contributions).await;
        let size = group.len();
        let answer = match result {
            Ok(report) => {
                // what the current-state tables follow: new change rows
                if report.version.is_some() && table != Table::Events {
                    committed.notify_one();
                }
                debug!(table = table.name(), version = ?report.version, group = size, files = report.files, "group commit");
                Ok(Committed {
                    version: report.version,
                    group: size,
                })
            }
            Err(e) => {
                // the next group starts from a fresh snapshot
                appender = None;
                Err(CommitError {
                    table: table.name(),
                    source: Arc::new(e),
                })
            }
        };
        for request in group {
            // a writer that stopped waiting (shutdown) does not need the answer
            let _ = request.reply.send(answer.clone());
        }
    }
}

/// The longest run of waiting requests from distinct writers, at most [`MAX_GROUP`].
fn take_group(waiting: &mut VecDeque<Request>) -> Vec<Request> {
    let mut writers = HashSet::new();
    let mut group = Vec::new();
    while let Some(next) = waiting.front() {
        let writer = next.contribution.txn.as_ref().map(|t| t.app_id.clone());
        if group.len() >= MAX_GROUP || writer.as_ref().is_some_and(|w| writers.contains(w)) {
            break;
        }
        writers.extend(writer);
        group.extend(waiting.pop_front());
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
                    .commit(Table::Events, contribution(&format!("s/{w}"), 1))
                    .await
            });
        }
        let mut groups = 0;
        while let Some(done) = tasks.join_next().await {
            groups = groups.max(done.unwrap().unwrap().group);
        }
        let mut delta = delta::open(&warehouse, Table::Events)
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
            .commit(Table::Events, contribution("s/3", 1))
            .await
            .unwrap();
        assert_eq!(again.version, None);
        delta.update_state().await.unwrap();
        assert_eq!(delta.get_file_uris().unwrap().count(), writers);
    }

    #[test]
    fn a_group_never_holds_two_flushes_of_one_writer() {
        let mut waiting: VecDeque<Request> = VecDeque::new();
        for (w, v) in [("a", 1), ("b", 1), ("a", 2), ("c", 1)] {
            let (reply, _) = oneshot::channel();
            waiting.push_back(Request {
                contribution: contribution(w, v),
                reply,
            });
        }
        let group = take_group(&mut waiting);
        assert_eq!(group.len(), 2);
        assert_eq!(waiting.len(), 2);
    }
}
