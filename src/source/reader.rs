//! Reading one file: its bytes stream once through blake3 and, when rows are needed, into a
//! decoder on a blocking thread.
//!
//! * [`hash_file`] is tier 1: the bytes are hashed and nothing is parsed.
//! * [`read_text_file`] streams a CSV or JSON-lines file's bytes, hashes them as they pass and
//!   decodes them (through gzip/zstd when compressed) into `RecordBatch`es that go to a sink; a
//!   remote file's bytes are fetched once. Every value is held to its column's type; one that
//!   does not fit is an [`Error::Misfit`] (see [`super::typing`]). A Parquet file needs random
//!   access to its footer: it is read as the jobs of [`super::parts`], which the engine spreads
//!   over threads.
//! * [`discover_schema`] reads the schema a side will be decoded with: the Parquet footer (two
//!   range reads from the known size, never a suffix range, which Azure rejects; timestamps in
//!   the timezone their writer declared) or, for text, [`super::typing::from_head`].

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::Arc;

use arrow::array::ArrayRef;
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
use super::typing::{
    canonical_boolean, canonical_integer, clock_in_range, csv_float, csv_value_fits, float_holds,
    inferred_before_text, is_number_text, text_typed,
};
use crate::error::{Error, Result};

/// Rows per decoded batch.
pub const BATCH_SIZE: usize = 8192;

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
pub(super) async fn byte_stream(
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
        .map_err(crate::panics::joined)??;
        on_bytes(size);
        check_size(file, size)?;
        return Ok(digest(file, size, hash, None));
    }
    let (size, hash, _) = fetch_hashed(loc, file, on_bytes, |_| Ok(())).await?;
    Ok(digest(file, size, hash, None))
}

/// Fetch a file from its store once: each chunk is counted, hashed and handed to `each`, and
/// written to a local copy when the location keeps copies. The byte count is checked against
/// the listing; returns it with the blake3 hash, and the copy (open, and its path) if one was
/// made.
pub(super) async fn fetch_hashed(
    loc: &Location,
    file: &DataFile,
    on_bytes: &ByteCounter,
    mut each: impl FnMut(&Bytes) -> Result<()>,
) -> Result<(
    u64,
    blake3::Hash,
    Option<(std::fs::File, std::path::PathBuf)>,
)> {
    let mut copy = loc.copies.as_ref().map(|c| c.start(file)).transpose()?;
    let mut stream = byte_stream(loc, file).await?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::store(&file.url, "get", &e))?;
        size += chunk.len() as u64;
        on_bytes(chunk.len() as u64);
        hasher.update(&chunk);
        if let Some(c) = copy.as_mut() {
            c.write(&chunk)?;
        }
        each(&chunk)?;
    }
    check_size(file, size)?;
    let copied = match (copy, &loc.copies) {
        (Some(c), Some(copies)) => Some(c.finish(copies)?),
        _ => None,
    };
    Ok((size, hasher.finalize(), copied))
}

/// Make sure a remote file has a local copy (fetching it whole, once) when its location keeps
/// copies; returns the copy's path, or `None` when the location keeps none (or is local).
pub(super) async fn ensure_copy(
    loc: &Location,
    file: &DataFile,
) -> Result<Option<std::path::PathBuf>> {
    if loc.kind == StoreKind::Local || loc.copies.is_none() {
        return Ok(None);
    }
    if let Some(path) = local_path(loc, file) {
        return Ok(Some(path));
    }
    let none: ByteCounter = Arc::new(|_| {});
    let (_, _, copied) = fetch_hashed(loc, file, &none, |_| Ok(())).await?;
    Ok(copied.map(|(_, path)| path))
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

/// A file's decompressed bytes as a blocking `Read`: local files from disk, others fetched
/// from their store as the bytes are wanted.
pub(super) fn open_blocking(
    handle: &tokio::runtime::Handle,
    loc: &Location,
    file: &DataFile,
) -> Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match local_path(loc, file) {
        Some(path) => Box::new(
            std::fs::File::open(&path)
                .map_err(|e| Error::format(&file.url, format!("cannot read: {e}")))?,
        ),
        None => {
            let mut stream = handle.block_on(byte_stream(loc, file))?;
            let (handle, url) = (handle.clone(), file.url.clone());
            Box::new(ChunkRead::new(move || {
                handle.block_on(stream.next()).map(|chunk| {
                    chunk.map_err(|e| {
                        std::io::Error::other(Error::store(&url, "get", &e).to_string())
                    })
                })
            }))
        }
    };
    decompressed(&file.url, file.format.compression, raw)
}

/// The file-system path of a file on local disk, or of a remote file's local copy (see
/// [`super::copies`]): read without going through the store's chunked stream.
pub(super) fn local_path(loc: &Location, file: &DataFile) -> Option<std::path::PathBuf> {
    if loc.kind != StoreKind::Local {
        return loc.copies.as_ref()?.get(file);
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
        FileFormat::Parquet => parquet_schema(loc, file).await.map(Arc::new),
        FileFormat::Csv | FileFormat::JsonLines => super::typing::from_head(dataset).await,
    }
}

/// A Parquet file's footer (two range reads from the known size).
pub(super) async fn parquet_footer(
    loc: &Location,
    file: &DataFile,
) -> Result<parquet::file::metadata::ParquetMetaData> {
    let fetch = RangeFetch {
        store: loc.store.clone(),
        path: file.path.clone(),
    };
    // The footer's decoder runs guarded: crafted bytes that make it panic are this file's error.
    crate::panics::guarded_async(&file.url, async {
        ParquetMetaDataReader::new()
            .load_and_finish(fetch, file.size)
            .await
            .map_err(|e| Error::format(&file.url, format!("not a readable Parquet file: {e}")))
    })
    .await
}

/// The schema a Parquet file's footer gives, as arrow-rs converts it (INT96 leaves still in
/// nanoseconds).
pub(super) fn footer_schema(
    url: &str,
    meta: &parquet::file::metadata::ParquetMetaData,
) -> Result<arrow::datatypes::Schema> {
    let kv = meta.file_metadata().key_value_metadata();
    parquet::arrow::parquet_to_arrow_schema(meta.file_metadata().schema_descr(), kv)
        .map_err(|e| Error::format(url, e))
}

/// The schema a Parquet file decodes to, from its footer: INT96 timestamps in microseconds
/// (see [`super::int96`]), timestamps in the timezone their writer declared.
pub(super) async fn parquet_schema(
    loc: &Location,
    file: &DataFile,
) -> Result<arrow::datatypes::Schema> {
    let meta = parquet_footer(loc, file).await?;
    let schema = super::int96::footer_types(&footer_schema(&file.url, &meta)?, &meta);
    let kv = meta.file_metadata().key_value_metadata();
    Ok(strip_metadata(with_declared_timezones(&schema, kv)))
}

/// What the INT96 values of a Parquet file need (see [`super::int96`]): its INT96 column chunks
/// are fetched (only those) and their values read.
pub(super) async fn parquet_int96_extents(
    loc: &Location,
    file: &DataFile,
) -> Result<Vec<super::int96::LeafExtent>> {
    let meta = parquet_footer(loc, file).await?;
    let ranges = super::int96::chunk_ranges(&meta);
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let schema = footer_schema(&file.url, &meta)?;
    let fetched = loc
        .store
        .get_ranges(&file.path, &ranges)
        .await
        .map_err(|e| Error::store(&file.url, "get", &e))?;
    let chunks = Arc::new(super::int96::Ranges {
        ranges: ranges.iter().map(|r| r.start).zip(fetched).collect(),
        len: file.size,
    });
    let url = file.url.clone();
    tokio::task::spawn_blocking(move || {
        crate::panics::guarded(&url, || {
            super::int96::extents(&url, &chunks, &meta, &schema)
        })
    })
    .await
    .map_err(crate::panics::joined)?
}

/// `schema` (a Parquet file's, as arrow-rs reads it) with each top-level timestamp column in
/// the timezone its writer declared in the embedded Arrow schema. pyarrow stores a
/// `timestamp[s, tz]` column as milliseconds (Parquet has no seconds) and declares the original
/// type; arrow-rs ignores the declaration when the units differ, and the column would read as
/// UTC, hiding a change of timezone from `--strict-types`. The unit stays the stored one, as
/// pyarrow reads it back.
pub(super) fn with_declared_timezones(
    schema: &arrow::datatypes::Schema,
    kv: Option<&Vec<parquet::file::metadata::KeyValue>>,
) -> arrow::datatypes::Schema {
    use arrow::datatypes::DataType;
    let declared = kv
        .and_then(|kv| kv.iter().find(|e| e.key == "ARROW:schema"))
        .and_then(|e| e.value.as_deref())
        .and_then(decode_arrow_schema);
    let Some(declared) = declared else {
        return schema.clone();
    };
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let written = declared.field_with_name(f.name()).map(|d| d.data_type());
            match (f.data_type(), written) {
                (DataType::Timestamp(unit, tz), Ok(DataType::Timestamp(_, Some(declared))))
                    if tz.as_deref() != Some(declared.as_ref()) =>
                {
                    f.as_ref()
                        .clone()
                        .with_data_type(DataType::Timestamp(*unit, Some(declared.clone())))
                }
                _ => f.as_ref().clone(),
            }
        })
        .collect();
    arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The Arrow schema a writer embedded in a Parquet file (`ARROW:schema`: base64 of an IPC
/// schema message, optionally behind an IPC continuation marker and length).
fn decode_arrow_schema(encoded: &str) -> Option<arrow::datatypes::Schema> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let message = match bytes.get(..4) {
        Some([0xff, 0xff, 0xff, 0xff]) => bytes.get(8..)?,
        _ => &bytes[..],
    };
    let message = arrow::ipc::root_as_message(message).ok()?;
    arrow::ipc::convert::try_fb_to_schema(message.header_as_schema()?).ok()
}

fn strip_metadata(schema: arrow::datatypes::Schema) -> arrow::datatypes::Schema {
    arrow::datatypes::Schema::new(schema.fields().clone())
}

/// A blocking `Read` over chunks of bytes that `next` hands out, one at a time (`None` at the
/// end): the chunks an async task sends, or a store's stream read from a blocking thread.
pub(super) struct ChunkRead<F> {
    next: F,
    current: Bytes,
}

impl<F: FnMut() -> Option<std::io::Result<Bytes>>> ChunkRead<F> {
    pub(super) fn new(next: F) -> Self {
        ChunkRead {
            next,
            current: Bytes::new(),
        }
    }
}

impl<F: FnMut() -> Option<std::io::Result<Bytes>>> Read for ChunkRead<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match (self.next)() {
                Some(chunk) => self.current = chunk?,
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
/// parts ([`super::parts`]). A remote file's bytes are also written to a local copy when its
/// location keeps copies, for later reads.
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
    let mut copy = loc.copies.as_ref().map(|c| c.start(file)).transpose()?;
    let mut stream = byte_stream(loc, file).await?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;

    // A text file from an object store: decoded from the stream as it arrives.
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let url = file.url.clone();
    let format = file.format;
    let decoder = tokio::task::spawn_blocking(move || {
        let mut rx = rx;
        let reader = ChunkRead::new(move || rx.blocking_recv().map(Ok));
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
                if let Some(c) = copy.as_mut() {
                    if let Err(e) = c.write(&chunk) {
                        store_error = Some(e);
                        break;
                    }
                }
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
    let decoded = decoder.await.map_err(crate::panics::joined)?;
    if let Some(e) = store_error {
        return Err(e);
    }
    let rows = decoded?;
    check_size(file, size)?;
    if let (Some(c), Some(copies)) = (copy, &loc.copies) {
        c.finish(copies)?;
    }
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
        .map_err(crate::panics::joined)??;
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
    use arrow::array::StringArray;
    let mut columns = batch.columns().to_vec();
    for (i, f) in schema.fields().iter().enumerate() {
        let Some(text) = columns[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        if let Some(typed) = parse_column(url, f, text)? {
            columns[i] = typed;
        }
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::format(url, e))
}

/// One column of CSV text as its inferred field's type, every value held to the spelling
/// inference took it in (`None`: it stays text).
fn parse_column(
    url: &str,
    f: &arrow::datatypes::Field,
    text: &arrow::array::StringArray,
) -> Result<Option<ArrayRef>> {
    use arrow::array::{Array, BooleanArray, Float64Array, Int64Array};
    use arrow::datatypes::DataType;
    let name = f.name();
    let refuse = || {
        Error::misfit(
            url,
            format!(
                "column `{name}` holds a value that is not a plain {}; values written another way, or with more digits than the type holds, would compare equal to their plain form",
                f.data_type()
            ),
        )
    };
    let typed: ArrayRef = match f.data_type() {
        DataType::Int64 => Arc::new(Int64Array::from(
            canonical_values(text, canonical_integer, |v| v.parse().ok()).ok_or_else(refuse)?,
        )),
        // Only the spellings inference takes for floats (`Infinity` is text there).
        DataType::Float64 => Arc::new(Float64Array::from(
            canonical_values(text, csv_float, |v| v.parse().ok()).ok_or_else(refuse)?,
        )),
        DataType::Boolean => Arc::new(BooleanArray::from(
            canonical_values(text, canonical_boolean, |v| Some(v == "true")).ok_or_else(refuse)?,
        )),
        // Text only after the head's checks: a value that would have typed the head
        // otherwise could change them.
        DataType::Utf8
            if inferred_before_text(f).is_some_and(|before| {
                text.iter()
                    .flatten()
                    .any(|v| !v.is_empty() && !csv_value_fits(&before, v))
            }) =>
        {
            return Err(Error::misfit(
                url,
                format!("column `{name}` holds a value that would have given the rows its type came from another type"),
            ))
        }
        DataType::Utf8 => return Ok(None),
        // No value in the rows the types came from: none is taken now either.
        DataType::Null if text.null_count() == text.len() => {
            arrow::array::new_null_array(&DataType::Null, text.len())
        }
        DataType::Null => {
            return Err(Error::misfit(
                url,
                format!("column `{name}` holds a value, but the rows its type came from had none"),
            ))
        }
        other => temporal_column(url, name, other, text)?,
    };
    Ok(Some(typed))
}

/// Each value of `text` in its canonical form, parsed; nulls stay nulls. `None` when a value
/// is written another way or does not parse.
fn canonical_values<T>(
    text: &arrow::array::StringArray,
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

/// Dates and times as arrow's CSV reader parses them; a value that does not parse is a
/// misfit, never a null.
fn temporal_column(
    url: &str,
    name: &str,
    to: &arrow::datatypes::DataType,
    text: &arrow::array::StringArray,
) -> Result<ArrayRef> {
    // Held to the type as inference would have typed it: a date-time in a date column, or a
    // finer fraction in a timestamp column, would be cut by the cast.
    if text
        .iter()
        .flatten()
        .any(|v| !csv_value_fits(to, v) || !clock_in_range(v))
    {
        return Err(Error::misfit(
            url,
            format!(
                "column `{name}` holds a value that is not a plain {to} as inference reads one"
            ),
        ));
    }
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow::compute::cast_with_options(text, to, &options)
        .map_err(|e| Error::misfit(url, format!("column `{name}`: {e}")))
}

/// A JSON object's members as written, in order, a repeated name kept (a map keeps one of
/// them, so `{"a": 1, "a": 2}` would silently read as one value).
struct Members<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl Members<'_> {
    /// A name given twice.
    fn duplicate(&self) -> Option<&str> {
        let names = || self.0.iter().map(|(k, _)| k.as_str());
        if self.0.len() <= 16 {
            // Every line is checked: pairs cost less than a set for a few names.
            return names()
                .enumerate()
                .find(|(i, k)| names().skip(i + 1).any(|other| other == *k))
                .map(|(_, k)| k);
        }
        let mut seen = std::collections::HashSet::new();
        names().find(|k| !seen.insert(*k))
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) =
                    map.next_entry::<String, &'de serde_json::value::RawValue>()?
                {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// Check one JSON line's top-level values against the column types: numbers only in number
/// columns, strings only in string columns (integer literals also in the text columns that hold
/// integers beyond 64 bits), booleans only in boolean columns, each name once; nested values
/// as [`json_misfit`] says.
fn check_json_types(url: &str, line_number: u64, line: &[u8], schema: &SchemaRef) -> Result<()> {
    let not_an_object = |e: serde_json::Error| {
        Error::format(url, format!("line {line_number}: not a JSON object: {e}"))
    };
    let object: Members = serde_json::from_slice(line).map_err(not_an_object)?;
    if let Some(twice) = object.duplicate() {
        return Err(Error::format(
            url,
            format!("line {line_number}: field `{twice}` appears twice in one object; which of its values counts is undefined"),
        ));
    }
    for (key, raw) in &object.0 {
        let Ok(field) = schema.field_with_name(key) else {
            return Err(Error::misfit(
                url,
                format!("line {line_number}: field `{key}` is not among the columns its types came from"),
            ));
        };
        if let Some(kind) = json_misfit(field.data_type(), raw, Some(is_number_text(field))) {
            return Err(Error::misfit(
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

/// What [`json_misfit`] says of a value it cannot read back (never taken as fitting).
const UNREADABLE: &str = "a value that cannot be read back";

/// Why a JSON value (as written) does not fit a column type (`None` when it fits), looking
/// inside arrays and objects so a float nested in an integer field, or a nested number a 64-bit
/// float does not hold as written, is caught too. `number_text` is set for a top-level column
/// (`Some`), and says whether it is a column of number text (numbers fit a text column then,
/// and strings do not); nested fields have `None`.
fn json_misfit(
    dt: &arrow::datatypes::DataType,
    raw: &serde_json::value::RawValue,
    number_text: Option<bool>,
) -> Option<String> {
    let text = raw.get().trim_start();
    match text.as_bytes().first() {
        Some(b'[') => json_array_misfit(dt, text),
        Some(b'{') => json_object_misfit(dt, text),
        _ => json_scalar_misfit(dt, text, number_text),
    }
}

/// Whether JSON inference gives this type, so that a value of another kind is a misfit; of a
/// type it never gives (a date, a map) arrow's reader is the judge.
fn inferred_by_json(dt: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType::*;
    matches!(
        dt,
        Null | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Utf8
            | LargeUtf8
            | Utf8View
            | Boolean
            | List(_)
            | LargeList(_)
            | FixedSizeList(..)
            | Struct(_)
    )
}

/// [`json_misfit`] of an array: a list type's items, each held to the item type.
fn json_array_misfit(dt: &arrow::datatypes::DataType, text: &str) -> Option<String> {
    use arrow::datatypes::DataType::*;
    let (List(f) | LargeList(f) | FixedSizeList(f, _)) = dt else {
        return inferred_by_json(dt).then(|| "an array".to_string());
    };
    let Ok(items) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(text) else {
        return Some(UNREADABLE.into());
    };
    items
        .iter()
        .find_map(|v| json_misfit(f.data_type(), v, None))
}

/// [`json_misfit`] of an object: a struct's members, none twice and none the type lacks, each
/// held to its field's type.
fn json_object_misfit(dt: &arrow::datatypes::DataType, text: &str) -> Option<String> {
    let arrow::datatypes::DataType::Struct(fields) = dt else {
        return inferred_by_json(dt).then(|| "an object".to_string());
    };
    let Ok(members) = serde_json::from_str::<Members>(text) else {
        return Some(UNREADABLE.into());
    };
    if let Some(twice) = members.duplicate() {
        return Some(format!("an object with field `{twice}` twice"));
    }
    // A member the type leaves out may be written `null` (the same as leaving it out).
    if let Some((new, _)) = members
        .0
        .iter()
        .find(|(k, v)| fields.find(k).is_none() && v.get().trim() != "null")
    {
        return Some(format!("an object with field `{new}`"));
    }
    members.0.iter().find_map(|(name, v)| {
        let (_, f) = fields.find(name)?;
        json_misfit(f.data_type(), v, None)
    })
}

/// [`json_misfit`] of a value that is neither an array nor an object.
fn json_scalar_misfit(
    dt: &arrow::datatypes::DataType,
    text: &str,
    number_text: Option<bool>,
) -> Option<String> {
    use arrow::datatypes::DataType::*;
    use serde_json::Value;
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Some(UNREADABLE.into());
    };
    let integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
    let fits = match (dt, &value) {
        (_, Value::Null) => true,
        // A field with no value where its type came from.
        (Null, _) => false,
        // Inference makes Int64 of numbers within i64 only (beyond: floats).
        (Int64, Value::Number(n)) => n.is_i64(),
        (Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32 | UInt64, Value::Number(n)) => integer(n),
        // A float's numbers must be held as written.
        (Float16 | Float32 | Float64, Value::Number(_)) if !float_holds(text) => {
            return Some("a number with more digits than a 64-bit float holds".into())
        }
        (Float16 | Float32 | Float64, Value::Number(_)) => true,
        (Utf8 | LargeUtf8 | Utf8View, Value::String(_)) => number_text != Some(true),
        (Utf8 | LargeUtf8 | Utf8View, Value::Number(_)) => number_text == Some(true),
        (Boolean, Value::Bool(_)) => true,
        _ => !inferred_by_json(dt),
    };
    (!fits).then(|| {
        match &value {
            Value::Bool(_) => "a boolean",
            Value::Number(n) if !integer(n) => "a number that is not a 64-bit integer",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
            Value::Null => "null",
        }
        .to_string()
    })
}

/// Read a CSV file's header: the first record, up to a record end (`\n`, `\r` or `\r\n`, as
/// arrow's reader ends records) outside quotes, the end included. Blank lines before it are
/// skipped; empty at the end of input.
pub(super) fn read_csv_header(input: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut header = Vec::new();
    loop {
        header.clear();
        let mut quoted = false;
        loop {
            let buf = input.fill_buf()?;
            if buf.is_empty() {
                return Ok(header);
            }
            let end = buf.iter().position(|&b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                !quoted && (b == b'\n' || b == b'\r')
            });
            let Some(at) = end else {
                let n = buf.len();
                header.extend_from_slice(buf);
                input.consume(n);
                continue;
            };
            let cr = buf[at] == b'\r';
            header.extend_from_slice(&buf[..=at]);
            input.consume(at + 1);
            if cr && input.fill_buf()?.first() == Some(&b'\n') {
                header.push(b'\n');
                input.consume(1);
            }
            break;
        }
        if !header.iter().all(|&b| b == b'\n' || b == b'\r') {
            return Ok(header);
        }
    }
}

/// A file's bytes through its decompressor (gzip members one after another, zstd frames).
pub(super) fn decompressed<'a>(
    url: &str,
    compression: Compression,
    reader: impl Read + Send + 'a,
) -> Result<Box<dyn Read + Send + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(reader))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(reader)
                .map_err(|e| Error::format(url, format!("cannot decompress: {e}")))?,
        ),
    })
}

/// Decode a text file into `sink`, guarded: a decoder's panic on hostile bytes is an error
/// naming the file (one in parity's own code stays an internal error, see [`crate::panics`]).
fn decode_text(
    url: &str,
    format: FileFormat,
    compression: Compression,
    reader: impl Read + Send,
    schema: SchemaRef,
    sink: BatchSink,
) -> Result<u64> {
    crate::panics::guarded(url, || {
        decode_text_unguarded(url, format, compression, reader, schema, sink)
    })
}

fn decode_text_unguarded(
    url: &str,
    format: FileFormat,
    compression: Compression,
    reader: impl Read + Send,
    schema: SchemaRef,
    mut sink: BatchSink,
) -> Result<u64> {
    let input = BufReader::with_capacity(1 << 20, decompressed(url, compression, reader)?);
    let mut rows = 0u64;
    let bad = |e: arrow::error::ArrowError| Error::format(url, e);
    match format {
        FileFormat::Csv => {
            // Every file's header is read and matched by name: a later file with its columns
            // in another order (or other columns) must not be read by position.
            let mut input = input;
            let header = read_csv_header(&mut input).map_err(|e| Error::format(url, e))?;
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
            // Not strict: every line is checked first (`check_json_types`), and a member the
            // types leave out reaches the decoder only when it is null. Coercion lets the text
            // columns that hold integers beyond 64 bits take numbers;
            // `check_json_types` below keeps every other value to its column's type.
            let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
                .with_strict_mode(false)
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
    use super::same_contents;
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
}
