//! Reading one file: its bytes stream once through blake3 and, when rows are needed, into a
//! decoder on a blocking thread.
//!
//! * [`hash_file`] is tier 1: the bytes are hashed and nothing is parsed.
//! * [`read_text_file`] streams a CSV or JSON-lines file's bytes, hashes them as they pass and
//!   decodes them (through gzip/zstd when compressed) into `RecordBatch`es that go to a sink; a
//!   remote file's bytes are fetched once. A Parquet file needs random access to its footer:
//!   it is read as the jobs of [`super::parts`], which the engine spreads over threads.
//! * [`discover_schema`] reads the schema a side will be decoded with: the Parquet footer (two
//!   range reads from the known size, never a suffix range, which Azure rejects) or the types
//!   inferred from the first rows of the first text file.

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::async_reader::MetadataFetch;
use parquet::file::metadata::ParquetMetaDataReader;
use serde::Serialize;
use tokio::sync::mpsc;

use super::format::{Compression, FileFormat};
use super::listing::{DataFile, Dataset};
use super::quoted_empty::{self, QuotedEmpty};
use super::store::{Location, StoreKind};
use crate::error::{Error, Result};

/// Rows per decoded batch.
pub const BATCH_SIZE: usize = 8192;

/// How many rows of the first text file decide the column types.
pub const INFER_ROWS: usize = 10_000;

/// How many bytes of the first text file are read to infer its column types.
const INFER_BYTES: u64 = 4 << 20;

/// What was read of one input file: enough to prove later which bytes a verdict rests on.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileDigest {
    /// Path relative to the side's prefix.
    pub path: String,
    /// Full URL.
    pub url: String,
    /// Bytes read.
    pub size: u64,
    /// ETag, where the store has one.
    pub e_tag: Option<String>,
    /// Object version, where the store keeps versions.
    pub version: Option<String>,
    /// blake3 of the bytes, hex.
    pub blake3: String,
    /// Rows decoded (absent when the file was only hashed).
    pub rows: Option<u64>,
}

/// Called with the number of bytes each time a chunk arrives.
pub type ByteCounter = Arc<dyn Fn(u64) + Send + Sync>;

/// Receives the decoded batches of one file, on a blocking thread.
pub type BatchSink = Box<dyn FnMut(RecordBatch) -> Result<()> + Send>;

pub(super) fn digest(
    file: &DataFile,
    size: u64,
    hash: blake3::Hash,
    rows: Option<u64>,
) -> FileDigest {
    FileDigest {
        path: file.relative.clone(),
        url: file.url.clone(),
        size,
        e_tag: file.e_tag.clone(),
        version: file.version.clone(),
        blake3: hash.to_hex().to_string(),
        rows,
    }
}

/// The bytes of a file from its store, as a stream of chunks.
async fn byte_stream(
    loc: &Location,
    file: &DataFile,
) -> Result<futures::stream::BoxStream<'static, object_store::Result<Bytes>>> {
    let result = loc
        .store
        .get(&file.path)
        .await
        .map_err(|e| Error::store(&file.url, "get", &e))?;
    Ok(result.into_stream())
}

/// Tier 1: stream a file through blake3 without parsing it.
pub async fn hash_file(
    loc: &Location,
    file: &DataFile,
    on_bytes: &ByteCounter,
) -> Result<FileDigest> {
    if let Some(path) = local_path(loc, file) {
        // Local disk: hash straight from the file with every core, as b3sum does.
        let url = file.url.clone();
        let (size, hash) = tokio::task::spawn_blocking(move || -> Result<(u64, blake3::Hash)> {
            let mut hasher = blake3::Hasher::new();
            hasher
                .update_mmap_rayon(&path)
                .map_err(|e| Error::format(&url, format!("cannot read: {e}")))?;
            Ok((hasher.count(), hasher.finalize()))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        on_bytes(size);
        check_size(file, size)?;
        return Ok(digest(file, size, hash, None));
    }
    let (size, hash) = fetch_hashed(loc, file, on_bytes, |_| Ok(())).await?;
    Ok(digest(file, size, hash, None))
}

/// Fetch a file from its store once: each chunk is counted, hashed and handed to `each`. The
/// byte count is checked against the listing; returns it with the blake3 hash.
pub(super) async fn fetch_hashed(
    loc: &Location,
    file: &DataFile,
    on_bytes: &ByteCounter,
    mut each: impl FnMut(&Bytes) -> Result<()>,
) -> Result<(u64, blake3::Hash)> {
    let mut stream = byte_stream(loc, file).await?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::store(&file.url, "get", &e))?;
        size += chunk.len() as u64;
        on_bytes(chunk.len() as u64);
        hasher.update(&chunk);
        each(&chunk)?;
    }
    check_size(file, size)?;
    Ok((size, hasher.finalize()))
}

pub(super) fn check_size(file: &DataFile, size: u64) -> Result<()> {
    if size != file.size {
        return Err(Error::format(
            &file.url,
            format!(
                "read {size} bytes but the listing said {}; the file changed while it was read",
                file.size
            ),
        ));
    }
    Ok(())
}

/// The file-system path of a file on local disk (read without going through the store's
/// chunked stream).
pub(super) fn local_path(loc: &Location, file: &DataFile) -> Option<std::path::PathBuf> {
    if loc.kind != StoreKind::Local {
        return None;
    }
    object_store::local::LocalFileSystem::new()
        .path_to_filesystem(&file.path)
        .ok()
}

/// A `Read` that hashes every byte it passes on.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    count: ByteCounter,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        (self.count)(n as u64);
        Ok(n)
    }
}

/// Fetches byte ranges of one object for the Parquet metadata reader.
struct RangeFetch {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
}

impl MetadataFetch for RangeFetch {
    fn fetch(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let store = self.store.clone();
        let path = self.path.clone();
        async move {
            store
                .get_range(&path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }
}

/// The schema a side's files decode to, from its first non-empty file.
pub async fn discover_schema(dataset: &Dataset) -> Result<SchemaRef> {
    // An empty JSON-lines file is a valid file of no rows: types come from the first file that
    // has bytes.
    let file = dataset
        .files
        .iter()
        .find(|f| f.size > 0)
        .unwrap_or(&dataset.files[0]);
    let loc = &dataset.location;
    match file.format.format {
        FileFormat::Parquet => {
            let fetch = RangeFetch {
                store: loc.store.clone(),
                path: file.path.clone(),
            };
            let meta = ParquetMetaDataReader::new()
                .load_and_finish(fetch, file.size)
                .await
                .map_err(|e| {
                    Error::format(&file.url, format!("not a readable Parquet file: {e}"))
                })?;
            let schema = parquet::arrow::parquet_to_arrow_schema(
                meta.file_metadata().schema_descr(),
                meta.file_metadata().key_value_metadata(),
            )
            .map_err(|e| Error::format(&file.url, e))?;
            Ok(Arc::new(strip_metadata(schema)))
        }
        FileFormat::Csv | FileFormat::JsonLines => {
            // Types come from the first file with a row: a header-only CSV file (an empty
            // partition's output) says nothing about them. Looked for among the first
            // `INFER_FILES` files with bytes; failing that, the first file's columns are text.
            let mut first = None;
            let candidates = dataset.files.iter().filter(|f| f.size > 0);
            for file in candidates.take(INFER_FILES) {
                let (schema, rows) = infer_text_file(loc, file).await?;
                if rows > 0 {
                    return Ok(schema);
                }
                first.get_or_insert(schema);
            }
            match first {
                Some(schema) => Ok(schema),
                None => Ok(infer_text_file(loc, file).await?.0),
            }
        }
    }
}

/// Files of a text dataset looked at for one with a row to infer the types from.
const INFER_FILES: usize = 64;

/// The schema inferred from a text file's head, and how many rows that head held.
async fn infer_text_file(loc: &Location, file: &DataFile) -> Result<(SchemaRef, usize)> {
    let end = file.size.min(INFER_BYTES);
    let head = if end == 0 {
        Bytes::new()
    } else {
        loc.store
            .get_range(&file.path, 0..end)
            .await
            .map_err(|e| Error::store(&file.url, "get", &e))?
    };
    let truncated = end < file.size;
    let url = file.url.clone();
    let format = file.format;
    tokio::task::spawn_blocking(move || {
        infer_text_schema(&url, format.format, format.compression, head, truncated)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

fn strip_metadata(schema: arrow::datatypes::Schema) -> arrow::datatypes::Schema {
    arrow::datatypes::Schema::new(schema.fields().clone())
}

/// Decompress as much of a file's head as is there (the range may cut a compressed frame).
fn decompress_head(
    url: &str,
    compression: Compression,
    head: Bytes,
    truncated: bool,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let result = match compression {
        Compression::None => {
            out.extend_from_slice(&head);
            Ok(0)
        }
        Compression::Gzip => flate2::read::MultiGzDecoder::new(&head[..]).read_to_end(&mut out),
        Compression::Zstd => match zstd::stream::read::Decoder::new(&head[..]) {
            Ok(mut d) => d.read_to_end(&mut out),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(_) => {}
        // A range that cuts a compressed stream ends early: keep what decoded.
        Err(_) if truncated && !out.is_empty() => {}
        Err(e) => return Err(Error::format(url, format!("cannot decompress: {e}"))),
    }
    if truncated {
        // Keep whole lines only.
        match out.iter().rposition(|b| *b == b'\n') {
            Some(pos) => out.truncate(pos + 1),
            None => {
                return Err(Error::format(
                    url,
                    "the first line is longer than the inference window; the file does not look like CSV or JSON lines",
                ))
            }
        }
    }
    Ok(out)
}

fn infer_text_schema(
    url: &str,
    format: FileFormat,
    compression: Compression,
    head: Bytes,
    truncated: bool,
) -> Result<(SchemaRef, usize)> {
    let text = decompress_head(url, compression, head, truncated)?;
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::format(
            url,
            "the file is empty: no header and no rows",
        ));
    }
    let (schema, rows) = match format {
        FileFormat::Csv => {
            let (schema, rows) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(&text[..], Some(INFER_ROWS))
                .map_err(|e| Error::format(url, e))?;
            (keep_non_canonical_as_text(url, schema, &text)?, rows)
        }
        FileFormat::JsonLines => {
            let (schema, rows) =
                arrow::json::reader::infer_json_schema(BufReader::new(&text[..]), Some(INFER_ROWS))
                    .map_err(|e| Error::format(url, e))?;
            (inexact_numbers_as_text(url, schema, &text)?, rows)
        }
        FileFormat::Parquet => {
            return Err(Error::Internal(format!(
                "{url}: a Parquet schema comes from its footer, not from inference"
            )))
        }
    };
    Ok((Arc::new(untyped_as_text(schema)), rows))
}

/// `schema` with the fields `to_text` picks read as strings instead.
fn text_typed(
    schema: &arrow::datatypes::Schema,
    to_text: impl Fn(usize, &arrow::datatypes::Field) -> bool,
) -> arrow::datatypes::Schema {
    arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if to_text(i, f) {
                    f.as_ref()
                        .clone()
                        .with_data_type(arrow::datatypes::DataType::Utf8)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    )
}

/// An integer written the one way it prints: no leading zeros, no plus sign, no `-0`.
fn canonical_integer(v: &str) -> bool {
    let (negative, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && !negative || !digits.starts_with('0'))
}

/// A float without a plus sign or leading zeros (`007.5`) whose value a 64-bit float holds
/// exactly as written: `1234567890123.4567` and `1234567890123.4568` parse to the same float, so
/// parsed they would compare equal. (`1.50` is fine: it is the value of `1.5`.)
fn canonical_float(v: &str) -> bool {
    let body = v.strip_prefix('-').unwrap_or(v);
    let leading_zero =
        body.len() > 1 && body.starts_with('0') && body.as_bytes()[1].is_ascii_digit();
    if body.starts_with('+') || leading_zero {
        return false;
    }
    float_holds(v)
}

/// Whether a 64-bit float holds the value of the number `v` exactly as written (words such as
/// `inf` and `NaN`, and what is not a number, are left to the parse).
fn float_holds(v: &str) -> bool {
    plainly_held(v) || printed_back(v)
}

/// [`float_holds`] the long way: the float's shortest printed form has the value written.
fn printed_back(v: &str) -> bool {
    match (v.parse::<f64>(), decimal_value(v)) {
        // Digits: the float must hold their value (not infinity for `1e400`, not 0 for
        // `1e-400`).
        (Ok(f), Some(value)) => {
            f.is_finite() && decimal_value(&format!("{f:e}")).is_some_and(|f| f == value)
        }
        // `inf`, `NaN` and their spellings are words, left to the parse; what does not parse
        // is refused there.
        _ => true,
    }
}

/// Whether `v` is a plain decimal number (sign, digits, point, exponent) with at most 15
/// significant digits and a magnitude well inside the normal floats: such a number always
/// survives a 64-bit float unchanged (every 15-digit decimal maps to its own float), so
/// [`float_holds`] need not print the float to check. Checked without allocating, since it runs
/// on every value of every float column.
fn plainly_held(v: &str) -> bool {
    let bytes = v.strip_prefix('-').unwrap_or(v).as_bytes();
    let mantissa_end = bytes
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .unwrap_or(bytes.len());
    let exponent: i64 = match bytes.get(mantissa_end + 1..) {
        None | Some([]) if mantissa_end == bytes.len() => 0,
        Some(e) if !e.is_empty() && e.len() <= 4 => {
            match std::str::from_utf8(e).ok().and_then(|e| e.parse().ok()) {
                Some(e) => e,
                None => return false,
            }
        }
        _ => return false,
    };
    let mut significant = 0usize;
    let mut pending_zeros = 0usize;
    let mut first_at: Option<i64> = None;
    let mut point: Option<usize> = None;
    let mut digits = 0usize;
    for (i, &b) in bytes[..mantissa_end].iter().enumerate() {
        match b {
            b'.' if point.is_none() => point = Some(i),
            b'0' if first_at.is_none() => digits += 1,
            b'0' => {
                pending_zeros += 1;
                digits += 1;
            }
            b'1'..=b'9' => {
                if first_at.is_none() {
                    first_at = Some(digits as i64);
                }
                significant += pending_zeros + 1;
                pending_zeros = 0;
                digits += 1;
            }
            _ => return false,
        }
    }
    if digits == 0 {
        return false;
    }
    let Some(first) = first_at else {
        return true; // zero
    };
    // The power of ten of the first significant digit.
    let int_digits = point.unwrap_or(mantissa_end) as i64;
    let magnitude = int_digits - 1 - first + exponent;
    significant <= 15 && (-290..=290).contains(&magnitude)
}

/// A decimal number's value as (negative, significant digits without leading or trailing
/// zeros, exponent of the last digit); `None` when `v` is not plain digits with an optional
/// sign, point and exponent. Zero is `(false, "", 0)` whatever its sign.
fn decimal_value(v: &str) -> Option<(bool, String, i64)> {
    let (negative, v) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(at) => (&v[..at], v[at + 1..].parse::<i64>().ok()?),
        None => (v, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Some((false, String::new(), 0));
    }
    let zeros = (significant.len() - trimmed.len()) as i64;
    let last = exponent
        .checked_sub(frac.len() as i64)?
        .checked_add(zeros)?;
    Some((negative, trimmed.to_string(), last))
}

/// `true` or `false`, lower case.
fn canonical_boolean(v: &str) -> bool {
    v == "true" || v == "false"
}

/// CSV columns inferred as integers, floats or booleans whose sample holds a value that would
/// not survive the parse (`02134`, `+5`, `True`) are read as text instead: parsed, `02134` and
/// `2134` would compare equal.
fn keep_non_canonical_as_text(
    url: &str,
    schema: arrow::datatypes::Schema,
    sample: &[u8],
) -> Result<arrow::datatypes::Schema> {
    use arrow::datatypes::DataType;
    let as_text = Arc::new(text_typed(&schema, |_, _| true));
    let reader = arrow::csv::ReaderBuilder::new(as_text)
        .with_header(true)
        .with_batch_size(INFER_ROWS)
        .build(sample)
        .map_err(|e| Error::format(url, e))?;
    let mut text_columns = vec![false; schema.fields().len()];
    // The same rows the types were inferred from.
    for batch in reader.take(1) {
        let batch = batch.map_err(|e| Error::format(url, e))?;
        for (i, f) in schema.fields().iter().enumerate() {
            let check: fn(&str) -> bool = match f.data_type() {
                DataType::Int64 => canonical_integer,
                DataType::Float64 => canonical_float,
                DataType::Boolean => canonical_boolean,
                _ => continue,
            };
            let values = batch
                .column(i)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>();
            if let Some(values) = values {
                if values.iter().flatten().any(|v| !check(v)) {
                    text_columns[i] = true;
                }
            }
        }
    }
    Ok(text_typed(&schema, |i, _| text_columns[i]))
}

/// Field metadata that marks a JSON column read as the text of its numbers (see
/// [`inexact_numbers_as_text`]): its values must be numbers, never strings, so `5` and `"5"`
/// cannot meet as the same text.
const NUMBER_TEXT: &str = "parity.number_text";

/// Whether a field is a JSON column read as the text of its numbers.
pub fn is_number_text(field: &arrow::datatypes::Field) -> bool {
    field.metadata().contains_key(NUMBER_TEXT)
}

/// JSON float64 columns whose sampled values a 64-bit float cannot hold as written are read as
/// the text of their numbers: an integer beyond 64 bits (as floats, 18446744073709551615 and
/// 18446744073709551614 would be the same number) or a decimal with more digits than a float
/// holds (`1234567890123.4567`). Such columns are marked [`NUMBER_TEXT`].
fn inexact_numbers_as_text(
    url: &str,
    schema: arrow::datatypes::Schema,
    sample: &[u8],
) -> Result<arrow::datatypes::Schema> {
    use arrow::datatypes::DataType;
    let floats: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.data_type() == &DataType::Float64)
        .map(|(i, _)| i)
        .collect();
    if floats.is_empty() {
        return Ok(schema);
    }
    let floats_as_text = Arc::new(text_typed(&schema, |i, _| floats.contains(&i)));
    let reader = arrow::json::ReaderBuilder::new(floats_as_text)
        .with_coerce_primitive(true)
        .with_batch_size(INFER_ROWS)
        .build(BufReader::new(sample))
        .map_err(|e| Error::format(url, e))?;
    let mut as_text = vec![false; schema.fields().len()];
    for batch in reader.take(1) {
        let batch = batch.map_err(|e| Error::format(url, e))?;
        for &i in &floats {
            if let Some(values) = batch
                .column(i)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
            {
                as_text[i] = values.iter().flatten().any(|v| !float_holds(v));
            }
        }
    }
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if as_text[i] {
                let mut metadata = f.metadata().clone();
                metadata.insert(NUMBER_TEXT.to_string(), "true".to_string());
                f.with_data_type(DataType::Utf8).with_metadata(metadata)
            } else {
                f
            }
        })
        .collect();
    Ok(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// Columns whose inferred type is Null (no value in the inference window, or a header-only
/// first file) are read as strings: a Null column would turn every later value into a null.
fn untyped_as_text(schema: arrow::datatypes::Schema) -> arrow::datatypes::Schema {
    text_typed(&schema, |_, f| {
        f.data_type() == &arrow::datatypes::DataType::Null
    })
}

/// A blocking `Read` over the chunks the async side sends.
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Stream a text file once: hash its bytes and decode its rows into `sink`, with `schema`, the
/// side's schema (from [`discover_schema`]). A Parquet file is an error here: it is read in
/// parts ([`super::parts`]).
pub async fn read_text_file(
    loc: &Location,
    file: &DataFile,
    schema: SchemaRef,
    on_bytes: &ByteCounter,
    sink: BatchSink,
) -> Result<FileDigest> {
    if file.format.format == FileFormat::Parquet {
        return Err(Error::Internal(format!(
            "{} is a Parquet file: it is read in parts, not as text",
            file.url
        )));
    }
    if let Some(path) = local_path(loc, file) {
        return read_local_text(file, path, schema, on_bytes, sink).await;
    }
    let mut stream = byte_stream(loc, file).await?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;

    // A text file from an object store: decoded from the stream as it arrives.
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let url = file.url.clone();
    let format = file.format;
    let decoder = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            current: Bytes::new(),
        };
        decode_text(
            &url,
            format.format,
            format.compression,
            reader,
            schema,
            sink,
        )
    });
    let mut store_error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                size += chunk.len() as u64;
                on_bytes(chunk.len() as u64);
                hasher.update(&chunk);
                if tx.send(chunk).await.is_err() {
                    // The decoder stopped (bad input); its error is the one to report.
                    break;
                }
            }
            Err(e) => {
                store_error = Some(Error::store(&file.url, "get", &e));
                break;
            }
        }
    }
    drop(tx);
    let decoded = decoder.await.map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(e) = store_error {
        return Err(e);
    }
    let rows = decoded?;
    check_size(file, size)?;
    Ok(digest(file, size, hasher.finalize(), Some(rows)))
}

/// What a file written while it was being read is told.
pub(super) const CHANGED_WHILE_READ: &str =
    "the file changed while it was being read; run the check again once its writer has finished";

/// Whether two looks at one open file saw the same contents: same length and modification time.
pub(super) fn same_contents(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// A text file on local disk, hashed as it is read and decoded from the same read.
async fn read_local_text(
    file: &DataFile,
    path: std::path::PathBuf,
    schema: SchemaRef,
    on_bytes: &ByteCounter,
    sink: BatchSink,
) -> Result<FileDigest> {
    let url = file.url.clone();
    let format = file.format;
    let count = on_bytes.clone();
    let (size, hash, rows) =
        tokio::task::spawn_blocking(move || -> Result<(u64, blake3::Hash, u64)> {
            let f = std::fs::File::open(&path)
                .map_err(|e| Error::format(&url, format!("cannot read: {e}")))?;
            let mut reader = HashingReader {
                inner: f,
                hasher: blake3::Hasher::new(),
                count,
            };
            let rows = decode_text(
                &url,
                format.format,
                format.compression,
                &mut reader,
                schema,
                sink,
            )?;
            // Hash whatever the decoder did not need to read (trailing bytes).
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| Error::format(&url, format!("cannot read: {e}")))?;
            Ok((reader.hasher.count(), reader.hasher.finalize(), rows))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    check_size(file, size)?;
    Ok(digest(file, size, hash, Some(rows)))
}

/// The schema to read one CSV file with: the dataset's types, in the order of this file's
/// header. A header naming other columns is an error.
fn csv_file_schema(url: &str, header: &[u8], dataset: &SchemaRef) -> Result<SchemaRef> {
    if header.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::format(url, "the file is empty: no header"));
    }
    let (names, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(header, Some(0))
        .map_err(|e| Error::format(url, e))?;
    let mut fields = Vec::with_capacity(names.fields().len());
    for f in names.fields() {
        match dataset.field_with_name(f.name()) {
            Ok(field) if !fields.iter().any(|x: &arrow::datatypes::Field| x.name() == f.name()) => fields.push(field.clone()),
            _ => {
                return Err(Error::format(
                    url,
                    format!("its header has column `{}`, which is not in the dataset's first file (or appears twice)", f.name()),
                ))
            }
        }
    }
    if fields.len() != dataset.fields().len() {
        let missing: Vec<&str> = dataset
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| !fields.iter().any(|x| x.name() == n))
            .collect();
        return Err(Error::format(
            url,
            format!("its header lacks column(s) {}", missing.join(", ")),
        ));
    }
    Ok(Arc::new(arrow::datatypes::Schema::new(fields)))
}

/// Parse a CSV batch's columns (all read as text): integers, floats and booleans in their
/// canonical forms only, other types as arrow's CSV reader would.
fn parse_exactly(url: &str, schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;
    let mut columns = batch.columns().to_vec();
    for (i, f) in schema.fields().iter().enumerate() {
        let column = columns[i].clone();
        let Some(text) = column.as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let refuse = || {
            Error::format(
                url,
                format!(
                    "column `{}` holds a value that is not a plain {} (its type was inferred from the first {INFER_ROWS} rows); values written another way, or with more digits than the type holds, would compare equal to their plain form",
                    f.name(),
                    f.data_type()
                ),
            )
        };
        // Each value must be in its canonical form and parse; nulls stay nulls.
        fn parse<T>(
            text: &StringArray,
            canonical: fn(&str) -> bool,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Option<Vec<Option<T>>> {
            text.iter()
                .map(|v| match v {
                    None => Some(None),
                    Some(v) if canonical(v) => parse(v).map(Some),
                    Some(_) => None,
                })
                .collect()
        }
        columns[i] = match f.data_type() {
            DataType::Int64 => Arc::new(Int64Array::from(
                parse(text, canonical_integer, |v| v.parse().ok()).ok_or_else(refuse)?,
            )),
            DataType::Float64 => Arc::new(Float64Array::from(
                parse(text, canonical_float, |v| v.parse().ok()).ok_or_else(refuse)?,
            )),
            DataType::Boolean => Arc::new(BooleanArray::from(
                parse(text, canonical_boolean, |v| Some(v == "true")).ok_or_else(refuse)?,
            )),
            DataType::Utf8 => continue,
            // Dates and times as arrow's CSV reader parses them; a value that does not parse is
            // an error, never a null.
            other => {
                let options = arrow::compute::CastOptions {
                    safe: false,
                    ..Default::default()
                };
                arrow::compute::cast_with_options(&column, other, &options)
                    .map_err(|e| Error::format(url, format!("column `{}`: {e}", f.name())))?
            }
        };
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::format(url, e))
}

/// Check one JSON line's top-level values against the column types: numbers only in number
/// columns, strings only in string columns (integer literals also in the text columns that hold
/// integers beyond 64 bits), booleans only in boolean columns. Nested values are left to the
/// decoder.
fn check_json_types(url: &str, line_number: u64, line: &[u8], schema: &SchemaRef) -> Result<()> {
    use serde_json::value::RawValue;
    use serde_json::Value;
    let not_an_object = |e: serde_json::Error| {
        Error::format(url, format!("line {line_number}: not a JSON object: {e}"))
    };
    let object: std::collections::BTreeMap<String, &RawValue> =
        serde_json::from_slice(line).map_err(not_an_object)?;
    for (key, raw) in &object {
        let Ok(field) = schema.field_with_name(key) else {
            continue; // the decoder's strict mode reports it
        };
        let value: Value = serde_json::from_str(raw.get()).map_err(not_an_object)?;
        let misfit =
            json_misfit(field.data_type(), &value, Some(is_number_text(field))).or_else(|| {
                // A float column's numbers must be held as written.
                (matches!(field.data_type(), arrow::datatypes::DataType::Float64)
                    && value.is_number()
                    && !float_holds(raw.get()))
                .then(|| "a number with more digits than a 64-bit float holds".to_string())
            });
        if let Some(kind) = misfit {
            return Err(Error::format(
                url,
                format!(
                    "line {line_number}: field `{key}` holds {kind}, but the column is {}{}",
                    field.data_type(),
                    if is_number_text(field) {
                        " of numbers"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// Why a JSON value does not fit a column type (`None` when it fits), looking inside lists and
/// structs so a float nested in an integer field is caught too. `number_text` is set for a
/// top-level column (`Some`), and says whether it is a column of number text (numbers fit a
/// text column then, and strings do not); nested fields have `None`.
fn json_misfit(
    dt: &arrow::datatypes::DataType,
    value: &serde_json::Value,
    number_text: Option<bool>,
) -> Option<String> {
    use arrow::datatypes::DataType::*;
    use serde_json::Value;
    let kind = |v: &Value| match v {
        Value::Bool(_) => "a boolean",
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => "a number that is not a 64-bit integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Null => "null",
    };
    let integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
    let fits = match (dt, value) {
        (_, Value::Null) => true,
        (Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64, Value::Number(n)) => {
            integer(n)
        }
        (Float16 | Float32 | Float64, Value::Number(_)) => true,
        (Utf8 | LargeUtf8 | Utf8View, Value::String(_)) => number_text != Some(true),
        (Utf8 | LargeUtf8 | Utf8View, Value::Number(_)) => number_text == Some(true),
        (Boolean, Value::Bool(_)) => true,
        (List(f) | LargeList(f) | FixedSizeList(f, _), Value::Array(items)) => {
            return items
                .iter()
                .find_map(|v| json_misfit(f.data_type(), v, None));
        }
        (Struct(fields), Value::Object(map)) => {
            return fields.iter().find_map(|f| {
                map.get(f.name())
                    .and_then(|v| json_misfit(f.data_type(), v, None))
            });
        }
        (
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32
            | Float64,
            _,
        ) => false,
        (
            Utf8 | LargeUtf8 | Utf8View | Boolean | List(_) | LargeList(_) | FixedSizeList(..)
            | Struct(_),
            _,
        ) => false,
        _ => true,
    };
    (!fits).then(|| kind(value).to_string())
}

fn decode_text(
    url: &str,
    format: FileFormat,
    compression: Compression,
    reader: impl Read + Send,
    schema: SchemaRef,
    mut sink: BatchSink,
) -> Result<u64> {
    let input: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(reader))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(reader)
                .map_err(|e| Error::format(url, format!("cannot decompress: {e}")))?,
        ),
    };
    let input = BufReader::with_capacity(1 << 20, input);
    let mut rows = 0u64;
    let bad = |e: arrow::error::ArrowError| Error::format(url, e);
    match format {
        FileFormat::Csv => {
            // Every file's header is read and matched by name: a later file with its columns
            // in another order (or other columns) must not be read by position.
            let mut input = input;
            let mut header = Vec::new();
            input
                .read_until(b'\n', &mut header)
                .map_err(|e| Error::format(url, e))?;
            let file_schema = csv_file_schema(url, &header, &schema)?;
            // Every column is read as text and parsed here, after the quoted empty fields are
            // restored (null outside text columns). Integers, floats and booleans must be
            // written in their plain form, every row: a value written another way (`02134`,
            // `+5`, `True`) is an error, never silently equal to its plain form.
            let exact = Arc::new(text_typed(&file_schema, |_, _| true));
            let reader = arrow::csv::ReaderBuilder::new(exact)
                .with_header(false)
                .with_batch_size(BATCH_SIZE)
                .build(QuotedEmpty::new(input))
                .map_err(bad)?;
            for batch in reader {
                let batch =
                    quoted_empty::restore(batch.map_err(bad)?, &file_schema).map_err(bad)?;
                let batch = parse_exactly(url, &file_schema, batch)?;
                rows += batch.num_rows() as u64;
                sink(batch)?;
            }
        }
        FileFormat::JsonLines => {
            // Strict: a field that is not in the dataset's first file is an error, not dropped.
            // Coercion lets the text columns that hold integers beyond 64 bits take numbers;
            // `check_json_types` below keeps every other value to its column's type.
            let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
                .with_strict_mode(true)
                .with_coerce_primitive(true)
                .with_batch_size(BATCH_SIZE)
                .build_decoder()
                .map_err(bad)?;
            // Every line is checked against the column types first: arrow's reader would take
            // the string "6" for the number 6 (and, with coercion, a number for a string).
            let mut input = input;
            let mut line = Vec::new();
            let mut line_number = 0u64;
            let mut flush =
                |decoder: &mut arrow::json::reader::Decoder, rows: &mut u64| -> Result<()> {
                    if let Some(batch) = decoder.flush().map_err(bad)? {
                        *rows += batch.num_rows() as u64;
                        sink(batch)?;
                    }
                    Ok(())
                };
            loop {
                line.clear();
                if input
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::format(url, e))?
                    == 0
                {
                    break;
                }
                line_number += 1;
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                check_json_types(url, line_number, &line, &schema)?;
                let mut offset = 0;
                while offset < line.len() {
                    let used = decoder.decode(&line[offset..]).map_err(bad)?;
                    if used == 0 {
                        flush(&mut decoder, &mut rows)?;
                    }
                    offset += used;
                }
                if decoder.len() >= BATCH_SIZE {
                    flush(&mut decoder, &mut rows)?;
                }
            }
            flush(&mut decoder, &mut rows)?;
        }
        FileFormat::Parquet => unreachable!("Parquet files are decoded in parts"),
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{canonical_float, decimal_value, plainly_held, printed_back, same_contents};
    use std::io::Write;

    #[test]
    fn a_file_written_in_place_is_seen_as_changed() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"PAR1 first").unwrap();
        let before = f.metadata().unwrap();
        assert!(same_contents(&before, &f.metadata().unwrap()));
        // The same length, a newer time: rewritten in place.
        f.set_modified(before.modified().unwrap() + std::time::Duration::from_secs(5))
            .unwrap();
        assert!(!same_contents(&before, &f.metadata().unwrap()));
        // A longer file with the old time.
        f.write_all(b" and more").unwrap();
        f.set_modified(before.modified().unwrap()).unwrap();
        assert!(!same_contents(&before, &f.metadata().unwrap()));
    }

    #[test]
    fn decimal_values() {
        let v = |s: &str| decimal_value(s);
        assert_eq!(v("1.50"), Some((false, "15".into(), -1)));
        assert_eq!(v("1.50"), v("1.5e0"));
        assert_eq!(v("-2500"), v("-2.5e3"));
        assert_eq!(v("0.000"), Some((false, String::new(), 0)));
        assert_eq!(v("-0.0"), v("0"));
        assert_eq!(v(".5"), v("5e-1"));
        assert_eq!(v("5."), v("5"));
        assert_eq!(v("inf"), None);
        assert_eq!(v("1e"), None);
        assert_eq!(v("."), None);
    }

    #[test]
    fn floats_must_hold_their_text() {
        for ok in [
            "0.1",
            "1.50",
            "-2.5e3",
            "1e300",
            "-0.0",
            "123456789012.25",
            "inf",
            "NaN",
        ] {
            assert!(canonical_float(ok), "{ok}");
        }
        for refused in [
            "1234567890123.4567",
            "0.30000000000000001",
            "9007199254740993",
            "1e400",
            "1e-400",
            "+1.5",
            "007.5",
        ] {
            assert!(!canonical_float(refused), "{refused}");
        }
    }

    #[test]
    fn the_quick_float_check_agrees_with_printing_back() {
        // Pseudo-random decimals of 1 to 17 digits, with and without a point and an exponent.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut quick = 0;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 17 + 1) as usize;
            let digits: String = (0..len)
                .map(|i| char::from(b'0' + ((x >> (i * 3 % 60)) % 10) as u8))
                .collect();
            let point = (x >> 20) as usize % (len + 2);
            let mut v = if point <= len {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                digits
            };
            if x & (1 << 40) != 0 {
                v = format!("-{v}");
            }
            if x & (1 << 41) != 0 {
                v = format!("{v}e{}", (x >> 42) as i64 % 600 - 300);
            }
            if plainly_held(&v) {
                quick += 1;
                assert!(printed_back(&v), "{v}");
            }
        }
        assert!(quick > 100_000, "{quick} of 200000 took the quick check");
        for slow in [
            "1234567890123.4567",
            "1.00000000000000001",
            "1e-300",
            "1e300",
        ] {
            assert!(!plainly_held(slow), "{slow}");
        }
        for held in ["1.5", "-0.001", "123456789012345", "1.50000", "0e0", "1E+5"] {
            assert!(plainly_held(held), "{held}");
        }
    }
}
