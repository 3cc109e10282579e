//! Records aggregated by the Kinesis Producer Library (KPL): one Kinesis record that carries
//! many user records.
//!
//! Wire format (see the KPL's `aggregation-format.md`):
//! ```text
//! F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf), 16 bytes
//! ```
//! A record without the magic prefix is an ordinary record. A record with the prefix whose
//! checksum or protobuf is wrong is reported as an error (it becomes a dead letter with the
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
pub fn deaggregate(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
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
    let keys = aggregate.partition_key_table.len() as u64;
    aggregate
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if r.partition_key_index >= keys {
                Err(format!(
                    "KPL user record {i} names partition key {} of {keys}",
                    r.partition_key_index
                ))
            } else {
                Ok(r.data)
            }
        })
        .collect()
}

/// Builds an aggregate (the inverse of [`deaggregate`]); tests and benchmarks use it.
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
    let body = AggregatedRecord {
        partition_key_table: keys,
        explicit_hash_key_table: Vec::new(),
        records: user_records,
    }
    .encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body);
    out.extend_from_slice(Md5::digest(&body).as_slice());
    out
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
}
