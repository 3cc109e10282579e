//! Partition buffers: one Arrow builder per (table, day), bounded in memory.
//!
//! A buffer is flushed when it reaches the target file size, and when all buffers together pass
//! the memory budget the largest one is flushed first. Choices depend only on the records and the
//! limits (never on the clock), so the same input always cuts the same files.

use std::collections::HashMap;

use datafusion::arrow::array::RecordBatch;

use crate::batch::PartitionBatch;
use tributary_table::layout::{Partition, Table};

/// Limits on what the buffers hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// Flush one partition's buffer when its estimated Arrow size reaches this (≈ file size × 4-10).
    pub max_file_bytes: usize,
    /// Flush the largest buffer when all of them together pass this.
    pub max_buffer_bytes: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 128 << 20,
            max_buffer_bytes: 128 << 20,
        }
    }
}

/// A table partition: the unit of buffering and of files.
pub type BufferKey = (Table, Partition);

#[derive(Default)]
struct Buffer {
    batches: Vec<RecordBatch>,
    bytes: usize,
}

/// The buffers of all open partitions.
pub struct Buffers {
    limits: BufferLimits,
    open: HashMap<BufferKey, Buffer>,
    bytes: usize,
}

impl Buffers {
    pub fn new(limits: BufferLimits) -> Self {
        Self {
            limits,
            open: HashMap::new(),
            bytes: 0,
        }
    }

    /// Estimated bytes held by all buffers.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Adds a partition's batch; returns the partition that should be flushed now, if any.
    pub fn push(&mut self, batch: PartitionBatch) -> Option<BufferKey> {
        let key = (batch.table, batch.partition);
        let buffer = self.open.entry(key).or_default();
        buffer.batches.push(batch.batch);
        buffer.bytes += batch.bytes;
        self.bytes += batch.bytes;
        if buffer.bytes >= self.limits.max_file_bytes {
            return Some(key);
        }
        if self.bytes >= self.limits.max_buffer_bytes {
            // the largest buffer frees the most memory and makes the best file; ties by key
            return self
                .open
                .iter()
                .max_by_key(|(k, b)| (b.bytes, std::cmp::Reverse(**k)))
                .map(|(k, _)| *k);
        }
        None
    }

    /// Takes the batches of one partition out of the buffers.
    pub fn take(&mut self, key: BufferKey) -> Vec<RecordBatch> {
        let Some(buffer) = self.open.remove(&key) else {
            return Vec::new();
        };
        self.bytes -= buffer.bytes;
        buffer.batches
    }

    /// The keys of every open buffer, in a fixed order.
    pub fn keys(&self) -> Vec<BufferKey> {
        let mut keys: Vec<_> = self.open.keys().copied().collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::order;

    fn one(i: u64, d: u32) -> PartitionBatch {
        order(i, d)
    }

    fn day(d: u32) -> Partition {
        Partition {
            year: 2026,
            month: 1,
            day: d,
        }
    }

    #[test]
    fn flushes_a_partition_at_the_file_size() {
        let row = one(0, 1).bytes;
        let mut buffers = Buffers::new(BufferLimits {
            max_file_bytes: 5 * row,
            max_buffer_bytes: 1 << 30,
        });
        let mut flushed = None;
        for i in 0..100 {
            if let Some(key) = buffers.push(one(i, 1)) {
                flushed = Some((i, key));
                break;
            }
        }
        let (i, key) = flushed.expect("a flush before 100 rows");
        assert!(i > 1);
        let batches = buffers.take(key);
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>() as u64,
            i + 1
        );
        assert_eq!(buffers.bytes(), 0);
        assert!(buffers.is_empty());
    }

    #[test]
    fn over_budget_flushes_the_largest_buffer() {
        let row = one(0, 1).bytes;
        let mut buffers = Buffers::new(BufferLimits {
            max_file_bytes: 1 << 30,
            max_buffer_bytes: 10 * row,
        });
        let mut i = 0;
        let key = loop {
            // day 2 gets two rows for every row of day 1
            let d = if i % 3 == 0 { 1 } else { 2 };
            if let Some(key) = buffers.push(one(i, d)) {
                break key;
            }
            i += 1;
        };
        assert_eq!(key, (Table::builtin("order_changes"), day(2)));
        let before = buffers.bytes();
        buffers.take(key);
        assert!(buffers.bytes() < before);
        assert_eq!(
            buffers.keys(),
            vec![(Table::builtin("order_changes"), day(1))]
        );
    }
}
