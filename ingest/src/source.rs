//! Batch sources: one file, a directory, or an S3 prefix of JSON Lines files (gzipped or not).
//!
//! Inputs are listed in path order so that a backfill is deterministic. A directory or prefix
//! yields the files ending in `.json`, `.jsonl` or `.ndjson` (optionally `.gz`); a file named
//! directly is always read. For a DynamoDB export, the `data/` files are read and the export
//! time comes from `manifest-summary.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tributary_table::warehouse::{Location, s3_store};

use crate::decode::Format;
use crate::decode::row::parse_time;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {0} does not exist")]
    Missing(String),
    #[error("no input files under {location} (looked for {wanted})")]
    Empty {
        location: String,
        wanted: &'static str,
    },
    #[error("reading source {location}: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
    #[error("listing source {location}: {source}")]
    Store {
        location: String,
        source: object_store::Error,
    },
    #[error("invalid source location: {0}")]
    Location(String),
    #[error("DynamoDB export {location}: {reason}")]
    Export { location: String, reason: String },
}

/// Where one input file is.
#[derive(Clone, Debug)]
pub enum InputLocation {
    Local(PathBuf),
    Object {
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
    },
}

/// One input file.
#[derive(Clone, Debug)]
pub struct InputFile {
    /// `file:///abs/path` or `s3://bucket/key`: names the file in dead letters and file names.
    pub uri: String,
    pub size: u64,
    pub location: InputLocation,
    /// For a DynamoDB export's data file: the export time (epoch ms) from its manifest.
    pub export_time_ms: Option<i64>,
}

/// The files of a source.
#[derive(Debug)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    /// Files seen but not taken (wrong extension, manifests).
    pub skipped: usize,
}

fn wanted(format: Format) -> &'static str {
    match format {
        Format::DynamodbExport => "data/*.json[.gz] next to manifest-summary.json",
        _ => "*.json, *.jsonl, *.ndjson, optionally .gz",
    }
}

/// Whether a file found while walking a directory or prefix is an input of `format`.
fn is_input(format: Format, path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.starts_with('.') || name.starts_with('_') {
        return false;
    }
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    let json = [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| stem.ends_with(ext));
    match format {
        Format::DynamodbExport => json && path.rsplit('/').nth(1) == Some("data"),
        _ => json,
    }
}

/// Lists the inputs of `source` (a path or `s3://bucket/prefix`).
pub async fn list_inputs(source: &str, format: Format) -> Result<Inputs, SourceError> {
    match Location::parse(source).map_err(|e| SourceError::Location(e.to_string()))? {
        Location::Local(path) => list_local(&path, format),
        Location::S3 { bucket, prefix } => list_s3(&bucket, &prefix, format).await,
    }
}

fn list_local(path: &Path, format: Format) -> Result<Inputs, SourceError> {
    let io = |source| SourceError::Io {
        location: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing(path.display().to_string()),
        _ => io(e),
    })?;
    let abs = std::fs::canonicalize(path).map_err(io)?;
    let mut files = Vec::new();
    let mut skipped = 0;
    if meta.is_file() {
        files.push(local_file(&abs, meta.len()));
    } else {
        let mut stack = vec![abs.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                let p = entry.path();
                let kind = entry.file_type().map_err(io)?;
                if kind.is_dir() {
                    stack.push(p);
                } else if is_input(format, &p.to_string_lossy()) {
                    files.push(local_file(&p, entry.metadata().map_err(io)?.len()));
                } else {
                    skipped += 1;
                }
            }
        }
        files.sort_by(|a, b| a.uri.cmp(&b.uri));
    }
    if files.is_empty() {
        return Err(SourceError::Empty {
            location: path.display().to_string(),
            wanted: wanted(format),
        });
    }
    if format == Format::DynamodbExport {
        let mut times = BTreeMap::new();
        for file in &mut files {
            let InputLocation::Local(path) = &file.location else {
                continue;
            };
            let dir = export_dir(&path.to_string_lossy()).to_string();
            let time = match times.get(&dir) {
                Some(t) => *t,
                None => {
                    let t = local_export_time(Path::new(&dir))?;
                    times.insert(dir, t);
                    t
                }
            };
            file.export_time_ms = Some(time);
        }
    }
    Ok(Inputs { files, skipped })
}

fn local_file(path: &Path, size: u64) -> InputFile {
    InputFile {
        uri: format!("file://{}", path.display()),
        size,
        location: InputLocation::Local(path.to_path_buf()),
        export_time_ms: None,
    }
}

/// The export folder of a data file: the parent of its `data/` folder (`AWSDynamoDB/<export-id>`).
fn export_dir(data_file: &str) -> &str {
    let dir = data_file.rsplit_once('/').map_or("", |(d, _)| d);
    dir.strip_suffix("/data")
        .or_else(|| (dir == "data").then_some(""))
        .unwrap_or(dir)
}

fn missing_manifest(location: &str) -> SourceError {
    SourceError::Export {
        location: location.to_string(),
        reason: "no manifest-summary.json next to the data/ folder: an export is read from its folder (AWSDynamoDB/<export-id>/) or any prefix above it".into(),
    }
}

/// The export time from `<dir>/manifest-summary.json`.
fn local_export_time(dir: &Path) -> Result<i64, SourceError> {
    let manifest = dir.join("manifest-summary.json");
    match std::fs::read(&manifest) {
        Ok(text) => export_time(&manifest.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(missing_manifest(&dir.display().to_string()))
        }
        Err(source) => Err(SourceError::Io {
            location: manifest.display().to_string(),
            source,
        }),
    }
}

/// The `exportTime` of a manifest summary, epoch ms.
pub fn export_time(location: &str, manifest: &[u8]) -> Result<i64, SourceError> {
    let bad = |reason: String| SourceError::Export {
        location: location.to_string(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(manifest)
        .map_err(|e| bad(format!("manifest-summary.json is not JSON: {e}")))?;
    let text = value
        .get("exportTime")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("manifest-summary.json has no exportTime".into()))?;
    parse_time(text).ok_or_else(|| bad(format!("exportTime {text:?} is not ISO-8601")))
}

async fn list_s3(bucket: &str, prefix: &str, format: Format) -> Result<Inputs, SourceError> {
    use futures::TryStreamExt;
    let location = format!("s3://{bucket}/{prefix}");
    let store_err = |source| SourceError::Store {
        location: location.clone(),
        source,
    };
    let store = s3_store(bucket).await.map_err(store_err)?;
    let object = ObjectPath::from(prefix);
    // a key named exactly is one file; otherwise a prefix
    let mut files = Vec::new();
    let mut skipped = 0;
    let mut listed: Vec<object_store::ObjectMeta> = Vec::new();
    match store.head(&object).await {
        Ok(meta) if !prefix.is_empty() => files.push(s3_file(bucket, &store, meta)),
        Ok(_) | Err(object_store::Error::NotFound { .. }) => {
            listed = store
                .list(Some(&object))
                .try_collect()
                .await
                .map_err(store_err)?;
            listed.sort_by(|a, b| a.location.cmp(&b.location));
            for meta in &listed {
                if is_input(format, meta.location.as_ref()) {
                    files.push(s3_file(bucket, &store, meta.clone()));
                } else {
                    skipped += 1;
                }
            }
        }
        Err(e) => return Err(store_err(e)),
    }
    if files.is_empty() {
        return Err(if listed.is_empty() {
            SourceError::Missing(location)
        } else {
            SourceError::Empty {
                location,
                wanted: wanted(format),
            }
        });
    }
    if format == Format::DynamodbExport {
        let mut times = BTreeMap::new();
        for file in &mut files {
            let InputLocation::Object { path, .. } = &file.location else {
                continue;
            };
            let dir = export_dir(path.as_ref()).to_string();
            let time = match times.get(&dir) {
                Some(t) => *t,
                None => {
                    let t = s3_export_time(&store, bucket, &dir).await?;
                    times.insert(dir, t);
                    t
                }
            };
            file.export_time_ms = Some(time);
        }
    }
    Ok(Inputs { files, skipped })
}

fn s3_file(
    bucket: &str,
    store: &Arc<dyn ObjectStore>,
    meta: object_store::ObjectMeta,
) -> InputFile {
    InputFile {
        uri: format!("s3://{bucket}/{}", meta.location),
        size: meta.size,
        location: InputLocation::Object {
            store: store.clone(),
            path: meta.location,
        },
        export_time_ms: None,
    }
}

async fn s3_export_time(
    store: &Arc<dyn ObjectStore>,
    bucket: &str,
    dir: &str,
) -> Result<i64, SourceError> {
    let location = format!("s3://{bucket}/{dir}");
    let manifest = ObjectPath::from(format!("{dir}/manifest-summary.json"));
    match store.get(&manifest).await {
        Ok(result) => {
            let bytes = result.bytes().await.map_err(|source| SourceError::Store {
                location: location.clone(),
                source,
            })?;
            export_time(&format!("{location}/manifest-summary.json"), &bytes)
        }
        Err(object_store::Error::NotFound { .. }) => Err(missing_manifest(&location)),
        Err(source) => Err(SourceError::Store { location, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_inputs_by_name() {
        assert!(is_input(Format::Events, "/a/events-0001.jsonl.gz"));
        assert!(is_input(Format::Events, "/a/b.json"));
        assert!(!is_input(Format::Events, "/a/.hidden.json"));
        assert!(!is_input(Format::Events, "/a/readme.txt"));
        assert!(is_input(Format::DynamodbExport, "/x/data/abc.json.gz"));
        assert!(!is_input(Format::DynamodbExport, "/x/manifest-files.json"));
    }

    #[tokio::test]
    async fn lists_a_directory_in_order_and_reports_missing_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.jsonl", "a.jsonl.gz", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let inputs = list_inputs(dir.path().to_str().unwrap(), Format::Events)
            .await
            .unwrap();
        let names: Vec<_> = inputs
            .files
            .iter()
            .map(|f| f.uri.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.jsonl.gz", "b.jsonl"]);
        assert_eq!(inputs.skipped, 1);
        let missing = list_inputs(dir.path().join("nope").to_str().unwrap(), Format::Events)
            .await
            .unwrap_err();
        assert!(matches!(missing, SourceError::Missing(_)), "{missing}");
        let empty = tempfile::tempdir().unwrap();
        let err = list_inputs(empty.path().to_str().unwrap(), Format::Events)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no input files"), "{err}");
        let err = list_inputs(dir.path().to_str().unwrap(), Format::DynamodbExport)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no input files"), "{err}");
    }

    #[test]
    fn finds_the_export_folder_of_a_data_file() {
        assert_eq!(
            export_dir("/x/AWSDynamoDB/01-ab/data/f.json.gz"),
            "/x/AWSDynamoDB/01-ab"
        );
        assert_eq!(
            export_dir("exports/AWSDynamoDB/01-ab/data/f.json.gz"),
            "exports/AWSDynamoDB/01-ab"
        );
        assert_eq!(export_dir("data/f.json.gz"), "");
    }

    #[test]
    fn reads_the_export_time() {
        assert_eq!(
            export_time("m", br#"{"exportTime":"2026-01-05T10:00:00.000Z"}"#).unwrap(),
            1_767_607_200_000
        );
        assert!(
            export_time("m", b"{}")
                .unwrap_err()
                .to_string()
                .contains("no exportTime")
        );
    }
}
