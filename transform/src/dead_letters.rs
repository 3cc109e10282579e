//! Dead letters: records that could not be decoded or mapped, kept as JSON Lines with the raw
//! record, where it came from and why, under `<root>/dead_letters/<format>/`.

use base64::Engine;
use serde::Serialize;

use crate::model::DeadLetter;

/// One line of a dead-letter file.
#[derive(Serialize)]
struct Line<'a> {
    format: &'a str,
    source: &'a str,
    shard: &'a str,
    sequence_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arrival_time_ms: Option<i64>,
    reason: &'a str,
    /// The record as received, when it is UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    /// The record as received, base64, when it is not UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

/// Appends a dead letter as one JSON line to `out`.
pub fn append_line(out: &mut Vec<u8>, letter: &DeadLetter) {
    let text = std::str::from_utf8(&letter.raw).ok();
    let line = Line {
        format: letter.format,
        source: &letter.origin.source,
        shard: &letter.origin.shard,
        sequence_number: letter.origin.sequence.as_str(),
        arrival_time_ms: letter.origin.arrival_time_ms,
        reason: &letter.reason,
        raw: text,
        raw_base64: text
            .is_none()
            .then(|| base64::engine::general_purpose::STANDARD.encode(&letter.raw)),
    };
    serde_json::to_writer(&mut *out, &line).expect("serializing to a Vec cannot fail");
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::origin;

    #[test]
    fn keeps_text_as_text_and_bytes_as_base64() {
        let mut out = Vec::new();
        let letter = |raw: &[u8]| DeadLetter {
            origin: origin(3),
            format: "events",
            reason: "bad".into(),
            raw: raw.to_vec(),
        };
        append_line(&mut out, &letter(b"{\"truncated"));
        append_line(&mut out, &letter(&[0xff, 0x00]));
        let lines: Vec<serde_json::Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines[0]["raw"], "{\"truncated");
        assert_eq!(lines[0]["sequence_number"], "3");
        assert_eq!(lines[1]["raw_base64"], "/wA=");
        assert!(lines[1].get("raw").is_none());
    }
}
