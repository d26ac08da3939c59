//! Listing a side into a dataset: every data file under the prefix, sorted.
//!
//! Object stores return listings in no guaranteed order, so the listing is sorted by relative
//! path before anything else sees it: reports are repeatable and tier 1 pairs files by name.
//! Files and folders whose name starts with `.` or `_` (`_SUCCESS`, `.crc`, `_delta_log/`) are
//! not data and are skipped. Hive-style `key=value/` folders become partition values.

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};
use serde::Serialize;

use super::format::{detect, DataFormat, FileFormat};
use super::store::Location;
use crate::error::{Error, Result};

/// One data file of a side.
#[derive(Debug, Clone, Serialize)]
pub struct DataFile {
    /// Path in the store.
    #[serde(skip)]
    pub path: Path,
    /// Path relative to the side's prefix (the file name for a single-file side).
    pub relative: String,
    /// The file's full URL.
    pub url: String,
    /// Size in bytes as listed.
    pub size: u64,
    /// ETag, where the store has one.
    pub e_tag: Option<String>,
    /// Object version, where the store keeps versions.
    pub version: Option<String>,
    /// Format and compression.
    #[serde(skip)]
    pub format: DataFormat,
    /// Hive partition values from `key=value/` folders, outermost first, unescaped
    /// (`hive_value`; `None` for Hive's default partition, its null).
    #[serde(skip)]
    pub partition_values: Vec<(String, Option<String>)>,
}

/// All data files of a side, sorted by relative path.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the side lives.
    pub location: Location,
    /// Its files, sorted by relative path; never empty.
    pub files: Vec<DataFile>,
}

impl Dataset {
    /// The common format of the files.
    pub fn format(&self) -> DataFormat {
        self.files[0].format
    }

    /// Total listed bytes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A Hive folder's value as written by Hive and Spark: `%XX` escapes decoded (`a%3Ab` is
/// `a:b`), and `__HIVE_DEFAULT_PARTITION__` a null. A `%` not followed by two hex digits, or
/// escapes that do not decode to UTF-8, are kept as written.
fn hive_value(v: &str) -> Option<String> {
    if v == "__HIVE_DEFAULT_PARTITION__" {
        return None;
    }
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8(out).unwrap_or_else(|_| v.to_string()))
}

/// Not data: `_SUCCESS`, `.crc`, `_delta_log/`, and the `…_$folder$` markers Hadoop and EMR
/// leave in object stores.
pub fn hidden(segment: &str) -> bool {
    segment.starts_with('.') || segment.starts_with('_') || segment.ends_with("_$folder$")
}

/// The first symbolic link under a local folder (outside hidden names) whose target does not
/// exist, looking through real folders (not linked ones, which could loop).
fn broken_link(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_str().is_some_and(hidden) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_symlink() && std::fs::metadata(&path).is_err() => return Some(path),
            Ok(t) if t.is_dir() => {
                if let Some(link) = broken_link(&path) {
                    return Some(link);
                }
            }
            _ => {}
        }
    }
    None
}

/// List a side. A URL that names one object is a one-file dataset; otherwise every file under
/// the prefix belongs to it. Its files are in path order, of one format, in the same partition
/// folders.
pub async fn list(location: &Location, override_format: Option<FileFormat>) -> Result<Dataset> {
    let mut metas = match single_object(location).await? {
        Some(one) => vec![one],
        None => objects_under(location).await?,
    };
    if location.kind == super::store::StoreKind::Local {
        no_broken_link(location).await?;
    }
    metas.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.location.cmp(&b.0.location)));
    if metas.is_empty() {
        return Err(Error::Empty {
            url: location.url.clone(),
        });
    }
    let files = metas
        .into_iter()
        .map(|(meta, relative)| data_file(location, meta, relative, override_format))
        .collect::<Result<Vec<_>>>()?;
    one_layout(&files)?;
    Ok(Dataset {
        location: location.clone(),
        files,
    })
}

/// The object the URL names, with its file name (a "directory" prefix answers not-found on
/// every store).
async fn single_object(location: &Location) -> Result<Option<(ObjectMeta, String)>> {
    if location.prefix.as_ref().is_empty() {
        return Ok(None);
    }
    match location.store.head(&location.prefix).await {
        Ok(meta) => {
            let name = meta.location.filename().unwrap_or_default().to_string();
            Ok(Some((meta, name)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(Error::store(&location.url, "head", &e)),
    }
}

/// Every object under the prefix, with its path below it, hidden files and folders left out.
async fn objects_under(location: &Location) -> Result<Vec<(ObjectMeta, String)>> {
    let prefix = if location.prefix.as_ref().is_empty() {
        None
    } else {
        Some(&location.prefix)
    };
    let listed: Vec<ObjectMeta> = location
        .store
        .list(prefix)
        .try_collect()
        .await
        .map_err(|e| Error::store(&location.url, "list", &e))?;
    let base = location.prefix.as_ref();
    let mut metas = Vec::with_capacity(listed.len());
    for meta in listed {
        let full = meta.location.as_ref();
        let relative = if base.is_empty() {
            full.to_string()
        } else {
            match full.strip_prefix(base) {
                Some(rest) => rest.trim_start_matches('/').to_string(),
                None => continue,
            }
        };
        if relative.is_empty() || relative.split('/').any(hidden) {
            continue;
        }
        metas.push((meta, relative));
    }
    Ok(metas)
}

/// The local store's listing leaves out a symbolic link whose target is gone; such a file is
/// data that cannot be read, never data that is not there.
async fn no_broken_link(location: &Location) -> Result<()> {
    let Ok(root) = object_store::local::LocalFileSystem::new().path_to_filesystem(&location.prefix)
    else {
        return Ok(());
    };
    match tokio::task::spawn_blocking(move || broken_link(&root))
        .await
        .map_err(crate::panics::joined)?
    {
        Some(link) => Err(Error::format(
            format!("file://{}", link.display()),
            "a symbolic link whose target does not exist",
        )),
        None => Ok(()),
    }
}

/// A listed object as a data file: its format, and the values of the Hive folders above it.
fn data_file(
    location: &Location,
    meta: ObjectMeta,
    relative: String,
    override_format: Option<FileFormat>,
) -> Result<DataFile> {
    let url = location.object_url(&meta.location);
    let name = meta.location.filename().unwrap_or_default();
    let format = detect(name, override_format).ok_or_else(|| {
        Error::format(
            &url,
            "unknown file format (expected .parquet, .csv, .jsonl/.ndjson/.json, optionally .gz or .zst); use --input-format to say which",
        )
    })?;
    let partition_values = relative
        .split('/')
        .rev()
        .skip(1)
        .filter_map(|seg| seg.split_once('='))
        .map(|(k, v)| (k.to_string(), hive_value(v)))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Ok(DataFile {
        path: meta.location.clone(),
        relative,
        url,
        size: meta.size,
        e_tag: meta.e_tag.clone(),
        version: meta.version.clone(),
        format,
        partition_values,
    })
}

/// Every file of a dataset has the first one's format and partition folders.
fn one_layout(files: &[DataFile]) -> Result<()> {
    let first = &files[0];
    if let Some(other) = files
        .iter()
        .find(|f| f.format.format != first.format.format)
    {
        return Err(Error::format(
            &other.url,
            format!(
                "mixed formats in one dataset: {} is {} but {} is {}",
                other.relative, other.format, first.relative, first.format
            ),
        ));
    }
    let keys = |f: &DataFile| -> Vec<String> {
        f.partition_values.iter().map(|(k, _)| k.clone()).collect()
    };
    let first_keys = keys(first);
    if let Some(other) = files.iter().find(|f| keys(f) != first_keys) {
        return Err(Error::format(
            &other.url,
            format!(
                "partition folders differ within one dataset: `{}` vs `{}`",
                other.relative, first.relative
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hive_value;

    #[test]
    fn hive_values_are_unescaped() {
        assert_eq!(hive_value("a%3Ab"), Some("a:b".into()));
        assert_eq!(hive_value("100%25"), Some("100%".into()));
        assert_eq!(hive_value("caf%C3%A9"), Some("café".into()));
        assert_eq!(hive_value("__HIVE_DEFAULT_PARTITION__"), None);
        // Kept as written: a `%` without two hex digits, escapes that are not UTF-8.
        assert_eq!(hive_value("100%"), Some("100%".into()));
        assert_eq!(hive_value("%zz%4"), Some("%zz%4".into()));
        assert_eq!(hive_value("%FF"), Some("%FF".into()));
        assert_eq!(hive_value(""), Some(String::new()));
    }
}
