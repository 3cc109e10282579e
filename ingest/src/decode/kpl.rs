//! Records aggregated by the Kinesis Producer Library (KPL): one Kinesis record that carries
//! many user records.
//!
//! Wire format (see the KPL's `aggregation-format.md`):
//! ```text
//! F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf), 16 bytes
//! ```
//! A record without the magic prefix is an ordinary record. A record with the prefix whose
//! checksum or protobuf is wrong, that holds no user records, or whose user records name a
//! partition key or explicit hash key the aggregate does not have (or a hash key outside the
//! 128-bit hash key space), is reported as an error (it becomes a dead letter with the
//! reason), never passed on as if it were one user record.

use md5::{Digest, Md5};
use prost::Message;

/// The four bytes every aggregated record starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// `AggregatedRecord` of the KPL's protobuf schema.
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<UserRecord>,
}

/// One user record inside an aggregate (`Record` in the KPL's schema).
#[derive(Clone, PartialEq, Message)]
pub struct UserRecord {
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// Whether `data` starts like a KPL aggregate.
pub fn is_aggregated(data: &[u8]) -> bool {
    data.len() >= MAGIC.len() && data[..MAGIC.len()] == MAGIC
}

/// The user records of an aggregate, in order; `Err` says why the aggregate is unreadable.
///
/// A user record that names a key the aggregate lacks makes the whole aggregate a dead letter:
/// no KPL writes such an aggregate, so none of its records is trusted.
pub fn deaggregate(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !is_aggregated(data) {
        return Err("not a KPL aggregate: the record does not start with the KPL's magic".into());
    }
    if data.len() < MAGIC.len() + DIGEST_LEN {
        return Err(format!(
            "KPL aggregate of {} bytes is shorter than its header and checksum",
            data.len()
        ));
    }
    let body = &data[MAGIC.len()..data.len() - DIGEST_LEN];
    let digest = &data[data.len() - DIGEST_LEN..];
    if Md5::digest(body).as_slice() != digest {
        return Err("KPL aggregate checksum (MD5) does not match its body".into());
    }
    let aggregate = AggregatedRecord::decode(body)
        .map_err(|e| format!("KPL aggregate protobuf is invalid: {e}"))?;
    // the KPL never sends an empty aggregate: passing one on would drop the Kinesis record
    // without a row or a dead letter
    if aggregate.records.is_empty() {
        return Err("KPL aggregate holds no user records".into());
    }
    for (i, key) in aggregate.explicit_hash_key_table.iter().enumerate() {
        if !is_hash_key(key) {
            return Err(format!(
                "KPL explicit hash key {i} ({:?}) is not a decimal integer below 2^128",
                super::row::shown(key)
            ));
        }
    }
    let keys = aggregate.partition_key_table.len() as u64;
    let hash_keys = aggregate.explicit_hash_key_table.len() as u64;
    aggregate
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if r.partition_key_index >= keys {
                return Err(format!(
                    "KPL user record {i} names partition key {} of {keys}",
                    r.partition_key_index
                ));
            }
            match r.explicit_hash_key_index {
                Some(index) if index >= hash_keys => Err(format!(
                    "KPL user record {i} names explicit hash key {index} of {hash_keys}"
                )),
                _ => Ok(r.data),
            }
        })
        .collect()
}

/// Whether `key` is an explicit hash key: a point of Kinesis's 128-bit hash key space, written
/// in decimal as the KPL writes it (`PutRecord`'s `ExplicitHashKey`,
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html>). Digits only,
/// since `u128`'s parser alone would also take a leading `+`.
fn is_hash_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && key.parse::<u128>().is_ok()
}

/// The Kinesis record data of an aggregate: the magic, the protobuf, its MD5 (the inverse of
/// [`deaggregate`]).
pub fn encode(aggregate: &AggregatedRecord) -> Vec<u8> {
    let body = aggregate.encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body);
    out.extend_from_slice(Md5::digest(&body).as_slice());
    out
}

/// Builds an aggregate of `(partition key, data)` records; tests and benchmarks use it.
pub fn aggregate(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut keys: Vec<String> = Vec::new();
    let mut user_records = Vec::with_capacity(records.len());
    for (key, data) in records {
        let index = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(key.to_string());
            keys.len() - 1
        });
        user_records.push(UserRecord {
            partition_key_index: index as u64,
            explicit_hash_key_index: None,
            data: data.to_vec(),
            tags: Vec::new(),
        });
    }
    encode(&AggregatedRecord {
        partition_key_table: keys,
        explicit_hash_key_table: Vec::new(),
        records: user_records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_user_records_in_order() {
        let data = aggregate(&[
            ("u1", b"{\"a\":1}"),
            ("u2", b"{\"a\":2}"),
            ("u1", b"{\"a\":3}"),
        ]);
        assert!(is_aggregated(&data));
        let records = deaggregate(&data).unwrap();
        assert_eq!(
            records,
            vec![
                b"{\"a\":1}".to_vec(),
                b"{\"a\":2}".to_vec(),
                b"{\"a\":3}".to_vec()
            ]
        );
        assert!(!is_aggregated(b"{\"a\":1}"));
    }

    #[test]
    fn refuses_corrupt_aggregates_with_a_reason() {
        let mut data = aggregate(&[("u1", b"x")]);
        let n = data.len();
        data[n - 20] ^= 0xff;
        assert!(deaggregate(&data).unwrap_err().contains("checksum"));
        assert!(deaggregate(&MAGIC).unwrap_err().contains("shorter"));
        // a valid checksum over a body that is not protobuf
        let body = b"\xff\xff\xff";
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(body);
        bad.extend_from_slice(Md5::digest(body).as_slice());
        assert!(deaggregate(&bad).unwrap_err().contains("protobuf"));
    }

    #[test]
    fn refuses_empty_aggregates_and_records_without_the_magic() {
        let empty = aggregate(&[]);
        assert_eq!(
            deaggregate(&empty).unwrap_err(),
            "KPL aggregate holds no user records"
        );
        let mut unmarked = aggregate(&[("u1", b"x")]);
        unmarked[0] ^= 1;
        assert!(deaggregate(&unmarked).unwrap_err().contains("magic"));
    }

    /// An aggregate of one record per `(partition key index, explicit hash key index)`, with
    /// these tables.
    fn with_hash_keys(
        partition_keys: &[&str],
        hash_keys: &[&str],
        records: &[(u64, Option<u64>)],
    ) -> Vec<u8> {
        encode(&AggregatedRecord {
            partition_key_table: partition_keys.iter().map(|k| k.to_string()).collect(),
            explicit_hash_key_table: hash_keys.iter().map(|k| k.to_string()).collect(),
            records: records
                .iter()
                .enumerate()
                .map(|(i, &(key, hash_key))| UserRecord {
                    partition_key_index: key,
                    explicit_hash_key_index: hash_key,
                    data: vec![b'a' + i as u8],
                    tags: Vec::new(),
                })
                .collect(),
        })
    }

    #[test]
    fn explicit_hash_keys_in_the_hash_key_space_pass() {
        let max = u128::MAX.to_string();
        let data = with_hash_keys(
            &["p"],
            &["0", &max, "000170141183460469231731687303715884105728"],
            &[(0, Some(0)), (0, None), (0, Some(1)), (0, Some(2))],
        );
        assert_eq!(
            deaggregate(&data).unwrap(),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn explicit_hash_keys_outside_the_hash_key_space_are_refused() {
        // 2^128, the first key past the space
        let past = "340282366920938463463374607431768211456";
        for bad in [past, "-1", "+1", "", "0x10", "1.5", " 1", "1e3", "١"] {
            let data = with_hash_keys(&["p"], &["1", bad], &[(0, Some(0))]);
            let e = deaggregate(&data).unwrap_err();
            assert!(
                e.starts_with("KPL explicit hash key 1 (") && e.contains("below 2^128"),
                "{bad:?}: {e}"
            );
        }
        // a bad key no record names still marks the aggregate as not the KPL's
        let data = with_hash_keys(&["p"], &[past], &[(0, None)]);
        assert!(deaggregate(&data).unwrap_err().contains("below 2^128"));
    }

    #[test]
    fn explicit_hash_key_indices_past_the_table_are_refused() {
        let data = with_hash_keys(&["p"], &["7"], &[(0, Some(0)), (0, Some(1))]);
        assert_eq!(
            deaggregate(&data).unwrap_err(),
            "KPL user record 1 names explicit hash key 1 of 1"
        );
        let data = with_hash_keys(&["p"], &[], &[(0, Some(u64::MAX))]);
        assert_eq!(
            deaggregate(&data).unwrap_err(),
            format!(
                "KPL user record 0 names explicit hash key {} of 0",
                u64::MAX
            )
        );
        // handed on whole, as one dead letter
        let mut handed = Vec::new();
        super::super::kinesis::user_records(&data, |raw, format| {
            handed.push((raw.to_vec(), format))
        });
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].0, data);
        assert!(
            handed[0]
                .1
                .as_ref()
                .unwrap_err()
                .contains("explicit hash key")
        );
    }
}
