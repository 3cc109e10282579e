//! Sequence numbers of Kinesis and DynamoDB Streams: decimal strings of varying length
//! (Kinesis: up to 129 digits, typically 56; DynamoDB Streams: ~21-40; files: line numbers).
//! They are compared numerically, never as text: "9" < "10".

use std::cmp::Ordering;
use std::fmt;

/// Width of the zero-padded text stored in Parquet, so that string order equals numeric order
/// in any SQL engine (Athena cannot cast a 56-digit number to DECIMAL(38)).
pub const SEQUENCE_WIDTH: usize = 64;

/// A stream sequence number: a non-empty string of ASCII digits without leading zeros.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SequenceNumber(Box<str>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid sequence number {0:?}: expected decimal digits")]
pub struct InvalidSequenceNumber(pub String);

impl SequenceNumber {
    /// Parses a decimal sequence number; leading zeros are dropped so equal numbers compare equal.
    pub fn parse(text: &str) -> Result<Self, InvalidSequenceNumber> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidSequenceNumber(text.to_string()));
        }
        let trimmed = text.trim_start_matches('0');
        Ok(Self(if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        }))
    }

    pub fn from_u64(n: u64) -> Self {
        Self(n.to_string().into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Zero-padded to [`SEQUENCE_WIDTH`] digits (wider numbers are kept whole), so that
    /// `ORDER BY sequence_number` sorts numerically in Athena, DuckDB and DataFusion alike.
    pub fn padded(&self) -> String {
        let mut out = String::with_capacity(SEQUENCE_WIDTH);
        self.write_padded(&mut out);
        out
    }

    /// Appends the [`padded`](Self::padded) text to `out` (no allocation on the hot path).
    pub fn write_padded(&self, out: &mut String) {
        for _ in self.0.len()..SEQUENCE_WIDTH {
            out.push('0');
        }
        out.push_str(&self.0);
    }
}

impl Ord for SequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        // no leading zeros, so a longer number is a larger one
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SequenceNumber({})", self.0)
    }
}

/// Stored as its decimal text; reading validates it, so a checkpoint holding anything but a
/// sequence number is refused when it is read, not when it is used.
impl serde::Serialize for SequenceNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SequenceNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically_not_as_text() {
        let nine = SequenceNumber::parse("9").unwrap();
        let ten = SequenceNumber::parse("10").unwrap();
        assert!(nine < ten);
        assert!("9" > "10", "text order differs, which is the point");
        let a = SequenceNumber::parse("49680448530316052802157095304055627018144915895105880066")
            .unwrap();
        let b = SequenceNumber::parse("49680448530316052802157095304055627018144915895105880067")
            .unwrap();
        assert!(a < b);
    }

    #[test]
    fn leading_zeros_do_not_change_the_value() {
        let a = SequenceNumber::parse("000000000000000000034").unwrap();
        assert_eq!(a, SequenceNumber::from_u64(34));
        assert_eq!(SequenceNumber::parse("000").unwrap().as_str(), "0");
    }

    #[test]
    fn padded_text_sorts_like_numbers() {
        let mut nums: Vec<_> = ["10", "9", "100000000000000000000000", "0"]
            .iter()
            .map(|s| SequenceNumber::parse(s).unwrap())
            .collect();
        let mut padded: Vec<String> = nums.iter().map(|n| n.padded()).collect();
        nums.sort();
        padded.sort();
        assert_eq!(padded, nums.iter().map(|n| n.padded()).collect::<Vec<_>>());
        assert_eq!(padded[0].len(), SEQUENCE_WIDTH);
    }

    #[test]
    fn stored_as_text_and_validated_when_read() {
        let n = SequenceNumber::parse("0049680448530316052802157095304055627018144915895105880066")
            .unwrap();
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(
            text,
            "\"49680448530316052802157095304055627018144915895105880066\""
        );
        assert_eq!(serde_json::from_str::<SequenceNumber>(&text).unwrap(), n);
        let bad = serde_json::from_str::<SequenceNumber>("\"12a\"").unwrap_err();
        assert!(
            bad.to_string().contains("invalid sequence number \"12a\""),
            "{bad}"
        );
        assert!(
            serde_json::from_str::<SequenceNumber>("12").is_err(),
            "a number is not text"
        );
    }

    #[test]
    fn rejects_non_digits() {
        assert!(SequenceNumber::parse("").is_err());
        assert!(SequenceNumber::parse("12a").is_err());
        assert!(SequenceNumber::parse("-1").is_err());
    }
}
