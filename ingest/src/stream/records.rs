//! One GetRecords answer → Arrow batches per table partition, plus dead letters. Runs on a
//! blocking thread; depends only on the records, so a replay of the same range builds the
//! same rows.

use std::sync::Arc;

use tributary_transform::batch::{PartitionError, split_by_partition};
use tributary_transform::model::{DeadLetter, Origin};
use tributary_transform::{PartitionBatch, SequenceNumber};

use super::client::{RawRecord, StreamKind};
use crate::decode::{self, Format, SchemaDecoder};

/// What a chunk of stream records became.
#[derive(Debug, Default)]
pub struct DecodedChunk {
    pub batches: Vec<PartitionBatch>,
    pub dead_letters: Vec<DeadLetter>,
    /// Stream records in the chunk (a KPL aggregate counts once).
    pub stream_records: u64,
    /// Bytes of the stream records.
    pub bytes: u64,
}

impl DecodedChunk {
    /// Memory the chunk takes in a buffer: its Arrow batches, and its dead letters as the JSON
    /// lines they become (the raw bytes in base64 at worst, the reason, the origin).
    pub fn memory_bytes(&self) -> usize {
        let batches: usize = self.batches.iter().map(|b| b.bytes).sum();
        let dead: usize = self
            .dead_letters
            .iter()
            .map(|d| d.raw.len().div_ceil(3) * 4 + d.reason.len() + DEAD_LETTER_OVERHEAD)
            .sum();
        batches + dead
    }
}

/// A dead letter's line besides its raw bytes and reason: field names, source, shard, sequence
/// number and times.
const DEAD_LETTER_OVERHEAD: usize = 256;

/// Decodes `records` of `shard` into the tables of `decoder`'s schema; a record that cannot be
/// decoded or dated becomes a dead letter.
pub fn decode_chunk(
    decoder: &SchemaDecoder,
    kind: StreamKind,
    shard: &Arc<str>,
    records: &[RawRecord],
) -> Result<DecodedChunk, PartitionError> {
    let source: Arc<str> = Arc::from(kind.name());
    let mut rows = decoder.rows();
    let mut dead_letters = Vec::new();
    let mut bytes = 0u64;
    for raw in records {
        bytes += raw.data.len() as u64;
        let origin = Origin {
            source: source.clone(),
            shard: shard.clone(),
            sequence: raw.sequence.clone(),
            arrival_time_ms: raw.arrival_ms,
        };
        let mut take = |data: &[u8], format: Result<Format, String>| {
            let (format, result) = match format {
                Ok(format) => (format, rows.push(format, data, &origin, 0)),
                Err(reason) => (Format::Events, Err(reason)),
            };
            if let Err(reason) = result {
                dead_letters.push(DeadLetter {
                    origin: origin.clone(),
                    format: format.name(),
                    reason,
                    raw: data.to_vec(),
                });
            }
        };
        match kind {
            StreamKind::Kinesis => decode::kinesis::user_records(&raw.data, take),
            StreamKind::DynamodbStream => take(&raw.data, Ok(Format::DynamodbStream)),
        }
    }
    let mut batches = Vec::new();
    for table in rows.finish().map_err(|source| PartitionError::Arrow {
        table: "(a chunk)",
        source,
    })? {
        let name = table.table.name();
        batches.extend(
            split_by_partition(table.table, table.batch, &table.partitions).map_err(|source| {
                PartitionError::Arrow {
                    table: name,
                    source,
                }
            })?,
        );
    }
    Ok(DecodedChunk {
        batches,
        dead_letters,
        stream_records: records.len() as u64,
        bytes,
    })
}

/// A decoded chunk with the sequence numbers of its first and last stream record.
pub struct DecodedRange {
    pub chunk: DecodedChunk,
    pub first: SequenceNumber,
    pub last: SequenceNumber,
}

/// Raw bytes of the stream records decoded at a time: one GetRecords answer (up to 10 MB) is
/// decoded [`pieces`] by piece, each reserved in the buffer budget before the next is decoded,
/// so the budget is never passed by more than one piece's decoded size (a 1 MiB KPL aggregate
/// of ~175k empty user records is the worst: ~175k dead letters).
pub const PIECE_BYTES: usize = 1 << 20;

/// `records` in order, in pieces of at least one record and at most [`PIECE_BYTES`] of data
/// (a record larger than that alone).
pub fn pieces(records: Vec<RawRecord>) -> Vec<Vec<RawRecord>> {
    let mut pieces = Vec::new();
    let (mut piece, mut bytes) = (Vec::new(), 0);
    for record in records {
        if !piece.is_empty() && bytes + record.data.len() > PIECE_BYTES {
            pieces.push(std::mem::take(&mut piece));
            bytes = 0;
        }
        bytes += record.data.len();
        piece.push(record);
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// [`decode_chunk`] on a blocking thread (decoding is CPU work); `None` for no records.
pub async fn decode_off_thread(
    decoder: SchemaDecoder,
    kind: StreamKind,
    shard: Arc<str>,
    records: Vec<RawRecord>,
) -> Result<Option<DecodedRange>, PartitionError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(None);
    };
    let (first, last) = (first.sequence.clone(), last.sequence.clone());
    let chunk = tokio::task::spawn_blocking(move || decode_chunk(&decoder, kind, &shard, &records))
        .await
        .expect("decoding does not panic")?;
    Ok(Some(DecodedRange { chunk, first, last }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_transform::Table;

    #[test]
    fn an_answer_is_cut_into_pieces_of_bounded_bytes_in_order() {
        let raw = |seq: u64, len: usize| RawRecord {
            sequence: SequenceNumber::from_u64(seq),
            arrival_ms: None,
            data: vec![b'x'; len],
        };
        let sizes = [600 << 10, 300 << 10, 200 << 10, 3 << 20, 10, 1 << 20, 1];
        let records: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| raw(i as u64, n))
            .collect();
        let pieces = pieces(records);
        let shape: Vec<Vec<u64>> = pieces
            .iter()
            .map(|p| {
                p.iter()
                    .map(|r| r.sequence.as_str().parse().unwrap())
                    .collect()
            })
            .collect();
        // 600 + 300 KiB fit, 200 more do not; a 3 MiB record is alone; 1 MiB + 1 byte does not fit
        assert_eq!(
            shape,
            [vec![0, 1], vec![2], vec![3], vec![4], vec![5], vec![6]]
        );
        for piece in &pieces {
            let bytes: usize = piece.iter().map(|r| r.data.len()).sum();
            assert!(piece.len() == 1 || bytes <= PIECE_BYTES, "{bytes}");
        }
        assert!(super::pieces(Vec::new()).is_empty());
    }

    #[test]
    fn splits_good_records_from_dead_letters() {
        let raw = |seq: u64, data: &[u8]| RawRecord {
            sequence: SequenceNumber::from_u64(seq),
            arrival_ms: Some(1),
            data: data.to_vec(),
        };
        let records = vec![
            raw(
                1,
                br#"{"eventType":"PAGE_VIEW","userId":"u1","timestamp":1767607200000}"#,
            ),
            raw(2, b"{oops"),
            raw(
                3,
                br#"{"eventType":"PAGE_VIEW","userId":"u1","timestamp":1767693600000}"#,
            ),
        ];
        let decoder = SchemaDecoder::new(tributary_table::schema::Schema::builtin());
        let chunk = decode_chunk(
            &decoder,
            StreamKind::Kinesis,
            &Arc::from("shardId-1"),
            &records,
        )
        .unwrap();
        assert_eq!(chunk.stream_records, 3);
        assert_eq!(chunk.batches.len(), 2, "two event days");
        assert!(
            chunk
                .batches
                .iter()
                .all(|b| b.table == Table::builtin("events"))
        );
        assert_eq!(chunk.dead_letters.len(), 1);
        assert_eq!(chunk.dead_letters[0].origin.sequence.as_str(), "2");
        assert_eq!(chunk.dead_letters[0].origin.shard.as_ref(), "shardId-1");
    }
}
