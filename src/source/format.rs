//! File formats and compression, from the extension or an override.
//!
//! A dataset is one format: mixing Parquet and CSV under one prefix is an error, because the
//! two decoders would disagree on types and the verdict would mean nothing.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How a file's rows are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header row.
    Csv,
    /// JSON lines (one object per line).
    JsonLines,
}

/// A byte-level compression wrapped around a text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
}

/// A file's format and its outer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DataFormat {
    /// The row format.
    pub format: FileFormat,
    /// The outer compression (always `None` for Parquet, which compresses inside).
    pub compression: Compression,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::JsonLines => "jsonl",
        })
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.compression {
            Compression::None => write!(f, "{}", self.format),
            Compression::Gzip => write!(f, "{}.gz", self.format),
            Compression::Zstd => write!(f, "{}.zst", self.format),
        }
    }
}

impl FromStr for FileFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            "json" | "jsonl" | "ndjson" => Ok(FileFormat::JsonLines),
            other => Err(format!(
                "unknown input format `{other}` (expected parquet, csv or jsonl)"
            )),
        }
    }
}

fn compression_of(ext: &str) -> Option<Compression> {
    match ext {
        "gz" | "gzip" => Some(Compression::Gzip),
        "zst" | "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

fn format_of(ext: &str) -> Option<FileFormat> {
    match ext {
        "parquet" | "pq" | "parq" => Some(FileFormat::Parquet),
        "csv" => Some(FileFormat::Csv),
        "json" | "jsonl" | "ndjson" => Some(FileFormat::JsonLines),
        _ => None,
    }
}

/// Detect a file's format from its name; `override_format` wins over the extension for the row
/// format, while a `.gz`/`.zst` suffix still says how the bytes are compressed.
pub fn detect(name: &str, override_format: Option<FileFormat>) -> Option<DataFormat> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.rsplit('.');
    let last = parts.next().unwrap_or_default();
    let (compression, inner) = match compression_of(last) {
        Some(c) => (c, parts.next().unwrap_or_default()),
        None => (Compression::None, last),
    };
    let format = match override_format {
        Some(f) => f,
        None => format_of(inner)?,
    };
    if format == FileFormat::Parquet && compression != Compression::None {
        return None;
    }
    Some(DataFormat {
        format,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        let d = detect("part-0.csv.gz", None).unwrap();
        assert_eq!(
            (d.format, d.compression),
            (FileFormat::Csv, Compression::Gzip)
        );
        let d = detect("x.JSONL.zst", None).unwrap();
        assert_eq!(
            (d.format, d.compression),
            (FileFormat::JsonLines, Compression::Zstd)
        );
        let d = detect("a.snappy.parquet", None).unwrap();
        assert_eq!(
            (d.format, d.compression),
            (FileFormat::Parquet, Compression::None)
        );
        assert_eq!(detect("README", None), None);
        assert_eq!(detect("x.parquet.gz", None), None);
        let d = detect("data.txt", Some(FileFormat::Csv)).unwrap();
        assert_eq!(d.format, FileFormat::Csv);
        let d = detect("data.gz", Some(FileFormat::JsonLines)).unwrap();
        assert_eq!(d.compression, Compression::Gzip);
    }
}
