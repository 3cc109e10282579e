//! Reading an input file as chunks of whole lines, on a blocking thread.
//!
//! Gzip is recognised by its magic bytes (not the file name), concatenated gzip members are
//! read through, and bytes are counted before decompression so progress matches file sizes.
//! A UTF-8 byte-order mark at the start of a file (as Windows tools write) is skipped.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use tokio::sync::mpsc;

use crate::source::{InputFile, InputLocation};

/// Target size of a chunk handed to a decoder: large enough to amortise the hand-off, small
/// enough that a few in flight stay far below the memory budget.
pub const CHUNK_BYTES: usize = 4 << 20;

/// Whole lines of one input file.
#[derive(Debug)]
pub struct Chunk {
    /// The 1-based line number of the chunk's first line.
    pub first_line: u64,
    pub bytes: Vec<u8>,
}

impl Chunk {
    /// The chunk's lines with their numbers; `\r\n` endings are trimmed, blank lines skipped.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter_map(|(i, line)| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                (!line.iter().all(u8::is_ascii_whitespace))
                    .then_some((self.first_line + i as u64, line))
            })
    }
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open(
    input: &InputFile,
    runtime: tokio::runtime::Handle,
) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(match &input.location {
        InputLocation::Local(path) => Box::new(std::fs::File::open(path)?),
        InputLocation::Object { store, path } => {
            let result = runtime
                .block_on(store.get(path))
                .map_err(std::io::Error::other)?;
            let stream = result.into_stream().map_err(std::io::Error::other);
            let reader = tokio_util::io::StreamReader::new(stream);
            Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                reader, runtime,
            ))
        }
    })
}

/// Reads `input` on a blocking thread, sending chunks of whole lines; `bytes_read` counts the
/// bytes as stored. The returned handle yields the read error, if any.
pub fn spawn_reader(
    input: InputFile,
    bytes_read: Arc<AtomicU64>,
    chunks: mpsc::Sender<Chunk>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let raw = Counting {
            inner: open(&input, runtime)?,
            read: bytes_read,
        };
        let mut buffered = BufReader::with_capacity(1 << 16, raw);
        let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        send_chunks(reader, &chunks)
    })
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn send_chunks(mut reader: Box<dyn Read>, chunks: &mpsc::Sender<Chunk>) -> std::io::Result<()> {
    let mut line = 1u64;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let mut first = true;
    loop {
        // fill up to the chunk size (or more, while no line has ended: one long line)
        let start = buf.len();
        let want = if buf.len() < CHUNK_BYTES {
            CHUNK_BYTES
        } else {
            buf.len() * 2
        };
        buf.resize(want, 0);
        let mut filled = start;
        let mut eof = false;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..])? {
                0 => {
                    eof = true;
                    break;
                }
                n => filled += n,
            }
        }
        buf.truncate(filled);
        // the first fill holds the file's first bytes (a whole chunk, or the whole file)
        if std::mem::take(&mut first) && buf.starts_with(BOM) {
            buf.drain(..BOM.len());
        }
        let cut = if eof {
            Some(buf.len())
        } else {
            buf.iter().rposition(|b| *b == b'\n').map(|i| i + 1)
        };
        if let Some(cut) = cut.filter(|c| *c > 0) {
            let rest = buf.split_off(cut);
            let lines = bytecount_newlines(&buf);
            let chunk = Chunk {
                first_line: line,
                bytes: std::mem::replace(&mut buf, rest),
            };
            line += lines;
            if chunks.blocking_send(chunk).is_err() {
                return Ok(()); // the consumer stopped (an error downstream): nothing more to do
            }
        }
        if eof {
            return Ok(());
        }
    }
}

fn bytecount_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    async fn read_all(path: &std::path::Path) -> std::io::Result<Vec<(u64, String)>> {
        let input = InputFile {
            uri: "f".into(),
            size: 0,
            location: InputLocation::Local(path.to_path_buf()),
            export_time_ms: None,
        };
        let (tx, mut rx) = mpsc::channel(2);
        let reader = spawn_reader(input, Arc::default(), tx);
        let mut lines = Vec::new();
        while let Some(chunk) = rx.recv().await {
            lines.extend(
                chunk
                    .lines()
                    .map(|(n, l)| (n, String::from_utf8_lossy(l).into_owned())),
            );
        }
        reader.await.unwrap()?;
        Ok(lines)
    }

    #[tokio::test]
    async fn numbers_lines_across_chunks_and_reads_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=300_000)
            .map(|i| format!("{{\"n\":{i}}}\r\n"))
            .collect::<String>()
            + "\n  \nlast";
        std::fs::write(dir.path().join("plain.jsonl"), &text).unwrap();
        let gz = dir.path().join("a.jsonl.gz");
        // two gzip members, as concatenated files are
        let mut out = Vec::new();
        for part in [&text[..100], &text[100..]] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).unwrap();
            out.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, out).unwrap();
        for path in [dir.path().join("plain.jsonl"), gz] {
            let lines = read_all(&path).await.unwrap();
            assert_eq!(lines.len(), 300_001);
            assert_eq!(lines[0], (1, "{\"n\":1}".to_string()));
            assert_eq!(lines[299_999], (300_000, "{\"n\":300000}".to_string()));
            assert_eq!(lines[300_000], (300_003, "last".to_string()));
        }
    }

    #[tokio::test]
    async fn a_byte_order_mark_at_the_start_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.jsonl");
        std::fs::write(&path, b"\xEF\xBB\xBF{\"n\":1}\n\xEF\xBB\xBF{\"n\":2}\n").unwrap();
        let lines = read_all(&path).await.unwrap();
        assert_eq!(lines[0], (1, "{\"n\":1}".to_string()));
        // only the file's first bytes: a mark inside is data (and a dead letter)
        assert_eq!(lines[1], (2, "\u{feff}{\"n\":2}".to_string()));
        let gz = dir.path().join("bom.jsonl.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"\xEF\xBB\xBF{\"n\":1}\n").unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        assert_eq!(read_all(&gz).await.unwrap(), [(1, "{\"n\":1}".to_string())]);
    }

    #[tokio::test]
    async fn an_empty_file_has_no_lines_and_corrupt_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty.jsonl"), b"").unwrap();
        assert!(
            read_all(&dir.path().join("empty.jsonl"))
                .await
                .unwrap()
                .is_empty()
        );
        std::fs::write(
            dir.path().join("bad.gz"),
            [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3],
        )
        .unwrap();
        assert!(read_all(&dir.path().join("bad.gz")).await.is_err());
    }
}
