//! Compaction: a partition's small files rewritten as fewer, larger files, sorted by a key that
//! helps the named queries, in one Delta commit per table (`remove` + `add`, `dataChange:
//! false`: readers see the old files or the new ones, never both or neither).
//!
//! Two policies choose what to merge in each partition:
//! - [`Policy::Full`] (`tributary compact`): every file below half the target size, bin-packed
//!   into files of about the target size.
//! - [`Policy::Tiered`] (the stream worker, on an interval): files of similar size only, once
//!   `fan_in` of them are there (size tiers by powers of `fan_in` above 1 MiB), so each row
//!   is rewritten about log_fan_in(target / 1 MiB) times (2-3 times at a fan-in of 8 and a
//!   128 MiB target) instead of once per run: a merged file joins the next tier and waits for
//!   its peers, it is not rewritten with every new small file of the day.
//!
//! A merge reads its files, sorts the rows by [`WarehouseTable::sort_key`] and writes one file.
//! The commit ([`commit_rewrite`]) builds on the newest version and lands only if every file it
//! removes is still live there: a concurrent append does not stop it, a concurrent compaction
//! or MERGE that already replaced one of the same files does, and then the loser's new files
//! stay unreferenced until vacuum removes them. delta-rs's own conflict check cannot be left to
//! decide: it ignores removes with `dataChange: false`, so two compactions of the same files
//! would both commit and every row they rewrote would be live twice.

use std::collections::{BTreeMap, HashSet};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, ident};
use deltalake_core::DeltaTable;
use deltalake_core::kernel::{Action, Add, Remove};
use deltalake_core::protocol::DeltaOperation;
use tracing::debug;

use crate::catalog::WarehouseTable;
use crate::delta::{self, DataFile, TableError};
use crate::layout::Partition;
use crate::warehouse::Warehouse;

/// Files at or below this size share the lowest tier.
const TIER_BASE_BYTES: u64 = 1 << 20;

/// What to merge in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Every file below half of `target_bytes`, bin-packed into files near it.
    Full { target_bytes: u64 },
    /// At least `fan_in` files of one size tier at a time, up to `target_bytes` per file.
    Tiered { target_bytes: u64, fan_in: usize },
}

impl Policy {
    fn target(self) -> u64 {
        match self {
            Policy::Full { target_bytes } | Policy::Tiered { target_bytes, .. } => target_bytes,
        }
    }
}

/// What one table's compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactReport {
    pub table: &'static str,
    pub files_removed: u64,
    pub files_added: u64,
    pub partitions: u64,
    pub bytes_rewritten: u64,
}

#[derive(Debug, Clone)]
struct Candidate {
    path: String,
    size: u64,
}

/// Compacts `table` by `policy`; `None` when it is not a Delta table.
pub async fn compact(
    warehouse: &Warehouse,
    table: WarehouseTable,
    policy: Policy,
    writer: WriterProperties,
) -> Result<Option<CompactReport>, TableError> {
    let Some(mut delta) = delta::open_named(warehouse, table.name()).await? else {
        return Ok(None);
    };
    let rewrite = plan(warehouse, table, policy, &writer, &delta).await?;
    if !rewrite.actions.is_empty() {
        let version = commit_rewrite(&mut delta, &rewrite).await?;
        debug!(table = table.name(), version, report = ?rewrite.report, "compacted");
    }
    Ok(Some(rewrite.report))
}

/// A compaction merged and written, not yet committed.
struct Rewrite {
    report: CompactReport,
    /// The paths of the files it replaces.
    removes: Vec<String>,
    actions: Vec<Action>,
    target_bytes: u64,
}

/// Chooses the groups of `delta`'s current snapshot, merges each into a new file, and returns
/// the actions that would replace them.
async fn plan(
    warehouse: &Warehouse,
    table: WarehouseTable,
    policy: Policy,
    writer: &WriterProperties,
    delta: &DeltaTable,
) -> Result<Rewrite, TableError> {
    let url = delta.table_url().clone();
    let snapshot = delta.snapshot().map_err(|e| delta::delta_error(&url, e))?;
    let mut partitions: BTreeMap<Partition, Vec<Candidate>> = BTreeMap::new();
    for file in snapshot.log_data().iter() {
        let path = file.path().to_string();
        if let Some(partition) = Partition::of_path(&path) {
            partitions.entry(partition).or_default().push(Candidate {
                path,
                size: file.size().max(0) as u64,
            });
        }
    }
    let mut rewrite = Rewrite {
        report: CompactReport {
            table: table.name(),
            ..CompactReport::default()
        },
        removes: Vec::new(),
        actions: Vec::new(),
        target_bytes: policy.target(),
    };
    let report = &mut rewrite.report;
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (partition, files) in partitions {
        let groups = choose(files, policy);
        if groups.is_empty() {
            continue;
        }
        report.partitions += 1;
        for (n, group) in groups.into_iter().enumerate() {
            let written = merge(warehouse, table, partition, &group, n, writer).await?;
            report.files_removed += group.len() as u64;
            report.files_added += 1;
            report.bytes_rewritten += group.iter().map(|f| f.size).sum::<u64>();
            for old in &group {
                rewrite.removes.push(old.path.clone());
                rewrite.actions.push(Action::Remove(Remove {
                    path: old.path.clone(),
                    data_change: false,
                    deletion_timestamp: Some(now_ms),
                    extended_file_metadata: Some(true),
                    partition_values: Some(delta::partition_values(&partition)),
                    size: Some(old.size as i64),
                    tags: None,
                    deletion_vector: None,
                    base_row_id: None,
                    default_row_commit_version: None,
                }));
            }
            rewrite.actions.push(Action::Add(Add {
                path: written.path,
                partition_values: delta::partition_values(&partition),
                size: written.bytes as i64,
                modification_time: now_ms,
                data_change: false,
                stats: written.stats,
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            }));
        }
    }
    Ok(rewrite)
}

/// Commits `rewrite` and returns the version: only if every file it removes is still live at
/// the version it writes ([`delta::commit_if`]); a removed file that is no longer live ends the
/// compaction with [`TableError::Superseded`].
async fn commit_rewrite(delta: &mut DeltaTable, rewrite: &Rewrite) -> Result<u64, TableError> {
    let operation = DeltaOperation::Optimize {
        predicate: None,
        target_size: rewrite.target_bytes as i64,
    };
    let all_live = |delta: &DeltaTable| {
        let url = delta.table_url();
        let snapshot = delta.snapshot().map_err(|e| delta::delta_error(url, e))?;
        let live: HashSet<String> = snapshot
            .log_data()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        match rewrite.removes.iter().find(|p| !live.contains(*p)) {
            None => Ok(()),
            Some(gone) => Err(TableError::Superseded {
                url: url.to_string(),
                what: format!("{gone} was replaced by another writer while this compaction ran"),
                version: snapshot.version(),
            }),
        }
    };
    let version = delta::commit_if(delta, rewrite.actions.clone(), operation, all_live).await?;
    // a checkpoint of the compacted table at once: otherwise every reader replays the last
    // checkpoint, which lists each small file, and then this commit's removal of each of them,
    // until the next checkpoint interval
    // (unless the post-commit hook just wrote one, at 99, 199, ...)
    if !(version + 1).is_multiple_of(delta::checkpoint_interval(delta)?) {
        delta::write_checkpoint(delta).await;
    }
    Ok(version)
}

/// The groups of files to merge in one partition.
fn choose(mut files: Vec<Candidate>, policy: Policy) -> Vec<Vec<Candidate>> {
    let target = policy.target();
    files.retain(|f| f.size < target / 2);
    files.sort_by_key(|f| f.size);
    match policy {
        Policy::Full { .. } => pack(files, target, 2),
        Policy::Tiered { fan_in, .. } => {
            let fan_in = fan_in.max(2);
            let mut tiers: BTreeMap<u32, Vec<Candidate>> = BTreeMap::new();
            for file in files {
                tiers.entry(tier(file.size, fan_in)).or_default().push(file);
            }
            tiers
                .into_values()
                .filter(|t| t.len() >= fan_in)
                .flat_map(|t| pack(t, target, fan_in))
                .collect()
        }
    }
}

/// The size tier of a file: 0 up to [`TIER_BASE_BYTES`], then one more per factor `fan_in`.
fn tier(size: u64, fan_in: usize) -> u32 {
    let mut tier = 0;
    let mut bound = TIER_BASE_BYTES;
    while size > bound {
        tier += 1;
        bound = bound.saturating_mul(fan_in as u64);
    }
    tier
}

/// Consecutive runs of `files` (sorted by size) of at most `target` bytes together, keeping
/// only runs of at least `min_files`.
fn pack(files: Vec<Candidate>, target: u64, min_files: usize) -> Vec<Vec<Candidate>> {
    let mut groups = Vec::new();
    let mut current: Vec<Candidate> = Vec::new();
    let mut bytes = 0;
    for file in files {
        if !current.is_empty() && bytes + file.size > target {
            groups.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += file.size;
        current.push(file);
    }
    groups.push(current);
    groups.retain(|g| g.len() >= min_files.max(2));
    groups
}

/// Reads `group`, sorts its rows by the table's key and writes them as one file.
async fn merge(
    warehouse: &Warehouse,
    table: WarehouseTable,
    partition: Partition,
    group: &[Candidate],
    n: usize,
    writer: &WriterProperties,
) -> Result<DataFile, TableError> {
    let root = warehouse.table_url(table.name());
    let root = root.trim_end_matches('/');
    let failed = |reason: String| TableError::File {
        path: format!("{}/{}", table.name(), partition.path()),
        reason,
    };
    let ctx = crate::files::context(warehouse).map_err(|e| failed(e.to_string()))?;
    let urls: Vec<String> = group.iter().map(|f| format!("{root}/{}", f.path)).collect();
    let schema = table.file_schema();
    let frame = ctx
        .read_parquet(urls, ParquetReadOptions::default().schema(&schema))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let order = table
        .sort_key()
        .iter()
        .map(|c| ident(c.as_str()).sort(true, false))
        .collect();
    let batches: Vec<RecordBatch> = frame
        .sort(order)
        .map_err(|e| failed(e.to_string()))?
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let name = format!("compacted-{}-{n}.parquet", uuid_like(&group[0].path));
    crate::files::write(
        warehouse,
        table.name(),
        partition,
        &name,
        schema,
        batches,
        writer,
    )
    .await
}

/// A name part unique to this merge: the time and a hash of its first input.
fn uuid_like(first: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    first.hash(&mut hasher);
    format!(
        "{}-{:016x}",
        chrono::Utc::now().timestamp_micros(),
        hasher.finish()
    )
}

/// Compacts every Delta table of the warehouse, one after the other. A table whose compaction
/// fails (a race lost to a writer that rewrote the same files, or a store error) does not stop
/// the others: each table's outcome is in the list.
pub async fn compact_all(
    warehouse: &Warehouse,
    policy: Policy,
    writer: &WriterProperties,
) -> Vec<(WarehouseTable, Result<Option<CompactReport>, TableError>)> {
    let mut done = Vec::new();
    for table in WarehouseTable::all(warehouse.schema()) {
        done.push((
            table,
            compact(warehouse, table, policy, writer.clone()).await,
        ));
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::layout::Table;
    use crate::testing::{append, file};

    /// The live files of the table and their rows, read back from the files themselves.
    async fn live_rows(wh: &Warehouse) -> (usize, u64) {
        let delta = delta::open(wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        let paths: Vec<String> = delta
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        let mut rows = 0;
        for path in &paths {
            rows += delta::describe_file(wh, Table::builtin("events"), path)
                .await
                .unwrap()
                .rows;
        }
        (paths.len(), rows)
    }

    #[tokio::test]
    async fn of_two_compactions_of_the_same_files_only_the_first_commits() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).await.unwrap();
        let mut files = Vec::new();
        for n in 0..4 {
            files.push(file(&wh, Table::builtin("events"), &format!("small-{n}"), 10 + n).await);
        }
        append(&wh, Table::builtin("events"), files).await;
        assert_eq!(live_rows(&wh).await, (4, 46));
        let mut delta = delta::open(&wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();

        // two compactions read the same version and merge the same four files
        let table = WarehouseTable::Append(Table::builtin("events"));
        let policy = Policy::Full {
            target_bytes: 64 << 20,
        };
        let writer = WriterProperties::default();
        let mut other = delta::open(&wh, Table::builtin("events"))
            .await
            .unwrap()
            .unwrap();
        let first = plan(&wh, table, policy, &writer, &delta).await.unwrap();
        let second = plan(&wh, table, policy, &writer, &other).await.unwrap();
        assert_eq!(first.removes.len(), 4);
        assert_eq!(second.removes, first.removes);

        // an append lands before either commits: it does not stop the first compaction
        let late = file(&wh, Table::builtin("events"), "late", 5).await;
        append(&wh, Table::builtin("events"), vec![late]).await;
        commit_rewrite(&mut delta, &first).await.unwrap();
        assert_eq!(live_rows(&wh).await, (2, 51));

        let err = commit_rewrite(&mut other, &second).await.unwrap_err();
        assert!(
            matches!(err, TableError::Superseded { .. }) && err.is_conflict(),
            "{err}"
        );
        assert_eq!(live_rows(&wh).await, (2, 51), "no row twice, none lost");
    }

    fn files(sizes: &[u64]) -> Vec<Candidate> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, s)| Candidate {
                path: format!("f{i}"),
                size: *s,
            })
            .collect()
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn full_packs_every_small_file_near_the_target() {
        let groups = choose(
            files(&[10 * MIB, 20 * MIB, 30 * MIB, 40 * MIB, 100 * MIB]),
            Policy::Full {
                target_bytes: 64 * MIB,
            },
        );
        // 100 MiB is past half the target: left alone
        let sizes: Vec<u64> = groups
            .iter()
            .map(|g| g.iter().map(|f| f.size).sum())
            .collect();
        assert_eq!(sizes, vec![60 * MIB]);
        assert!(
            choose(
                files(&[MIB]),
                Policy::Full {
                    target_bytes: 64 * MIB
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn tiered_merges_only_enough_files_of_one_size() {
        let policy = Policy::Tiered {
            target_bytes: 128 * MIB,
            fan_in: 4,
        };
        // three small files: not yet
        assert!(choose(files(&[1000, 2000, 3000]), policy).is_empty());
        // four small ones merge; the large one (tier 2) waits for its peers
        let groups = choose(files(&[1000, 2000, 3000, 4000, 10 * MIB]), policy);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].len(), 4);
        assert_eq!(tier(MIB, 4), 0);
        assert_eq!(tier(MIB + 1, 4), 1);
        assert_eq!(tier(10 * MIB, 4), 2);
    }
}
