//! Column types of text datasets (CSV and JSON lines), which carry none of their own, and of
//! Parquet datasets whose first file says nothing about a column (type Null).
//!
//! A side's types come first from the head of its first file with a row ([`from_head`]):
//! quick, and right for most data. The reader then holds every value to those types and
//! refuses, as an [`Error::Misfit`], one they cannot hold exactly (a float in an integer
//! column, a number in a text column, a value in a column whose head had none, a JSON field
//! the head never named). The engine answers a misfit by taking the side's types from every
//! row of every file ([`from_every_row`]) and reading again, so a column's type never depends
//! on how the rows are split into files or ordered: only on the values.
//!
//! The types are arrow's inference (arrow-csv's and arrow-json's rules, which the whole-data
//! pass follows across files too), narrowed by what a value must look like to keep its type
//! (`canonical_*`, `float_holds`): `007` is text, not the integer 7. A column with no value
//! is Null and marked [`is_untyped`]; a JSON float column whose numbers a 64-bit float cannot
//! hold as written is read as the text of its numbers ([`is_number_text`]).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use arrow::array::{Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use tokio::runtime::Handle;

use super::format::{Compression, FileFormat};
use super::listing::{DataFile, Dataset};
use super::quoted_empty::{QuotedEmpty, MARK};
use super::reader::{self, BATCH_SIZE};
use super::store::Location;
use crate::error::{Error, Result};

/// The types of a text dataset from the head of its first file with a row. Looked for among
/// the first `INFER_FILES` files with bytes (a header-only CSV file, an empty partition's
/// output, says nothing about the types); failing that, the first file's columns are untyped.
/// A head holding no whole line (a line longer than `INFER_BYTES`) sends the inference to
/// every row ([`from_every_row`]).
pub async fn from_head(dataset: &Dataset) -> Result<SchemaRef> {
    let loc = &dataset.location;
    let mut first = None;
    for file in dataset
        .files
        .iter()
        .filter(|f| f.size > 0)
        .take(INFER_FILES)
    {
        // A line longer than the head: only the whole data can say.
        let Some((schema, rows)) = infer_text_file(loc, file).await? else {
            return from_every_row(dataset).await;
        };
        if rows > 0 {
            return Ok(schema);
        }
        if !schema.fields().is_empty() {
            first.get_or_insert(schema);
        }
    }
    match first {
        Some(schema) => Ok(schema),
        None => match infer_text_file(loc, &dataset.files[0]).await? {
            Some((schema, _)) => Ok(schema),
            None => from_every_row(dataset).await,
        },
    }
}

/// The types of a dataset from all of its data, when a value did not fit the types taken from
/// its head ([`from_head`], or a Parquet dataset's first footer). A text dataset's files are
/// read twice, once for arrow's inference and once for the checks on how values are written; a
/// Parquet dataset's footers are read until every column has a type.
pub async fn from_every_row(dataset: &Dataset) -> Result<SchemaRef> {
    if dataset.format().format == FileFormat::Parquet {
        return parquet_every_file(dataset).await;
    }
    let files: Vec<DataFile> = dataset
        .files
        .iter()
        .filter(|f| f.size > 0)
        .cloned()
        .collect();
    let Some(first) = files.first() else {
        let url = dataset.files.first().map_or("", |f| f.url.as_str());
        return Err(Error::format(
            url,
            "the file is empty: no header and no rows",
        ));
    };
    let format = first.format.format;
    let loc = dataset.location.clone();
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || match format {
        FileFormat::Csv => csv_every_row(&handle, &loc, &files),
        FileFormat::JsonLines => json_every_row(&handle, &loc, &files),
        FileFormat::Parquet => unreachable!("Parquet datasets return above"),
    })
    .await
    .map_err(crate::panics::joined)?
    .map(Arc::new)
}

/// The types of a Parquet dataset from every file's footer: the first file's, except that a
/// column of nulls only there (type Null, as pandas writes a column of `None`) takes the type
/// of the first later file that has values in it.
async fn parquet_every_file(dataset: &Dataset) -> Result<SchemaRef> {
    let loc = &dataset.location;
    let mut schemas = futures::stream::iter(&dataset.files)
        .map(|f| reader::parquet_schema(loc, f))
        .buffered(8);
    let Some(first) = schemas.next().await else {
        return Err(Error::Internal("a dataset without files".into()));
    };
    let mut fields: Vec<Field> = first?.fields().iter().map(|f| f.as_ref().clone()).collect();
    while fields.iter().any(|f| f.data_type() == &DataType::Null) {
        let Some(schema) = schemas.next().await else {
            break;
        };
        let schema = schema?;
        for field in fields
            .iter_mut()
            .filter(|f| f.data_type() == &DataType::Null)
        {
            if let Ok(typed) = schema.field_with_name(field.name()) {
                *field = typed.clone();
            }
        }
    }
    let schema = Schema::new(fields);
    Ok(Arc::new(
        int96_units_from_every_file(dataset, schema).await?,
    ))
}

/// A Parquet dataset's INT96 timestamp columns in the unit every file's values need: read as
/// nanoseconds where some file has digits below the microsecond, microseconds otherwise (see
/// [`super::int96`]). Only the files' INT96 column chunks are read, and only when the dataset has
/// INT96 columns.
async fn int96_units_from_every_file(dataset: &Dataset, schema: Schema) -> Result<Schema> {
    let loc = &dataset.location;
    let first = reader::parquet_footer(loc, &dataset.files[0]).await?;
    if super::int96::int96_leaves(&first).is_empty() {
        return Ok(schema);
    }
    let extents: Vec<Vec<super::int96::LeafExtent>> = futures::stream::iter(&dataset.files)
        .map(|f| reader::parquet_int96_extents(loc, f))
        .buffered(4)
        .try_collect()
        .await?;
    Ok(super::int96::with_nanoseconds_where_needed(
        &schema,
        &extents.concat(),
    ))
}

/// arrow-csv's inference as a set of flags (its `InferredDataType`): a column's type is the
/// union of its values' flags, so types inferred file by file join into the type the same
/// values would get in one file.
fn csv_flags(t: &DataType) -> u16 {
    match t {
        DataType::Null => 0,
        DataType::Boolean => 1,
        DataType::Int64 => 1 << 1,
        DataType::Float64 => 1 << 2,
        DataType::Date32 => 1 << 3,
        DataType::Timestamp(TimeUnit::Second, _) => 1 << 4,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1 << 5,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1 << 6,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1 << 7,
        _ => 1 << 8,
    }
}

/// The type of a set of [`csv_flags`], as arrow-csv decides it.
fn csv_type(flags: u16) -> DataType {
    match flags {
        0 => DataType::Null,
        1 => DataType::Boolean,
        2 => DataType::Int64,
        4 | 6 => DataType::Float64,
        f if f & !0b1111_1000 == 0 => match f.leading_zeros() {
            8 => DataType::Timestamp(TimeUnit::Nanosecond, None),
            9 => DataType::Timestamp(TimeUnit::Microsecond, None),
            10 => DataType::Timestamp(TimeUnit::Millisecond, None),
            11 => DataType::Timestamp(TimeUnit::Second, None),
            _ => DataType::Date32,
        },
        _ => DataType::Utf8,
    }
}

/// The [`csv_flags`] of one CSV value as arrow-csv's inference classifies it (its patterns, in
/// its order: boolean, integer, decimal, date, then timestamps by the digits of their
/// fraction), so a value can be held to a column type exactly as inference would have typed
/// it. Digits are ASCII digits.
pub(super) fn csv_value_flags(v: &str) -> u16 {
    const TEXT: u16 = 1 << 8;
    let digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    let b = v.as_bytes();
    if b.first() == Some(&b'"') {
        return TEXT;
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return 1;
    }
    let unsigned = match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    };
    if digits(unsigned) {
        // arrow falls back to text for integers beyond 64 bits.
        return if b.len() >= 19 && v.parse::<i64>().is_err() {
            TEXT
        } else {
            1 << 1
        };
    }
    if decimal_pattern(unsigned) || matches!(v, "NaN" | "nan" | "inf" | "-inf") {
        return 1 << 2;
    }
    // `YYYY-MM-DD`, then `[T ]hh:mm:ss` and what may follow.
    let date = |b: &[u8]| {
        b.len() >= 10
            && digits(&b[..4])
            && b[4] == b'-'
            && digits(&b[5..7])
            && b[7] == b'-'
            && digits(&b[8..10])
    };
    if !date(b) {
        return TEXT;
    }
    if b.len() == 10 {
        return 1 << 3;
    }
    let time = b.len() >= 19
        && matches!(b[10], b'T' | b' ')
        && digits(&b[11..13])
        && b[13] == b':'
        && digits(&b[14..16])
        && b[16] == b':'
        && digits(&b[17..19]);
    if !time {
        return TEXT;
    }
    // What follows a pattern's digits: anything on one line, after a first character that is
    // no digit (nor, for whole seconds, a point).
    let tail_ok = |t: &[u8]| t.get(1..).is_none_or(|rest| !rest.contains(&b'\n'));
    let rest = &b[19..];
    match rest.first() {
        None => 1 << 4,
        Some(b'.') => {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !tail_ok(&rest[1 + n..]) {
                return TEXT;
            }
            match n {
                1..=3 => 1 << 5,
                4..=6 => 1 << 6,
                7..=9 => 1 << 7,
                _ => TEXT,
            }
        }
        Some(c) if !c.is_ascii_digit() && tail_ok(rest) => 1 << 4,
        Some(_) => TEXT,
    }
}

/// arrow-csv's decimal pattern after the sign: `\d*\.\d+` or `\d+\.\d*`, with an optional
/// exponent, or digits with an exponent.
fn decimal_pattern(b: &[u8]) -> bool {
    let mantissa_end = b
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(b.len());
    let (mantissa, exponent) = b.split_at(mantissa_end);
    let exponent_ok = match exponent {
        [] => true,
        [_, rest @ ..] => {
            let rest = match rest.first() {
                Some(b'+' | b'-') => &rest[1..],
                _ => rest,
            };
            !rest.is_empty() && rest.iter().all(u8::is_ascii_digit)
        }
    };
    if !exponent_ok {
        return false;
    }
    match mantissa.iter().position(|&c| c == b'.') {
        Some(at) => {
            let (int, frac) = (&mantissa[..at], &mantissa[at + 1..]);
            let all = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
            all(int) && all(frac) && (!int.is_empty() || !frac.is_empty())
        }
        // Digits alone are an integer; with an exponent they are a decimal.
        None => {
            !exponent.is_empty() && !mantissa.is_empty() && mantissa.iter().all(u8::is_ascii_digit)
        }
    }
}

/// Whether a CSV value fits a column of type `t` as arrow-csv's inference would have typed the
/// column with it among its values: joining the value's type does not change the column's.
pub(super) fn csv_value_fits(t: &DataType, v: &str) -> bool {
    let flags = csv_flags(t);
    flags == 1 << 8 || csv_flags(&csv_type(flags | csv_value_flags(v))) == flags
}

fn csv_every_row(handle: &Handle, loc: &Location, files: &[DataFile]) -> Result<Schema> {
    // Column names in the order first seen, with the union of their types' flags.
    let mut columns: Vec<(String, u16)> = Vec::new();
    for file in files {
        // Inference decodes the file: guarded, so a decoder's panic names it.
        let schema = crate::panics::guarded(&file.url, || {
            let mut input = BufReader::new(reader::open_blocking(handle, loc, file)?);
            // The header as the reader finds it (after blank lines), then the records.
            let header = reader::read_csv_header(&mut input)
                .map_err(|e| Error::format(&file.url, format!("cannot read: {e}")))?;
            let (schema, _) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(header.as_slice().chain(input), None)
                .map_err(|e| Error::format(&file.url, e))?;
            Ok(schema)
        })?;
        for f in schema.fields() {
            let flags = csv_flags(f.data_type());
            match columns.iter_mut().find(|(name, _)| name == f.name()) {
                Some((_, seen)) => *seen |= flags,
                None => columns.push((f.name().clone(), flags)),
            }
        }
    }
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, flags)| Field::new(name, csv_type(*flags), true))
            .collect::<Vec<_>>(),
    );
    let mut text_columns = HashSet::new();
    for file in files {
        let input = reader::open_blocking(handle, loc, file)?;
        text_columns.extend(crate::panics::guarded(&file.url, || {
            csv_text_columns(&file.url, &schema, input, None)
        })?);
    }
    Ok(untyped(text_typed(&schema, |_, f| {
        text_columns.contains(f.name())
    })))
}

fn json_every_row(handle: &Handle, loc: &Location, files: &[DataFile]) -> Result<Schema> {
    let mut values = JsonValues {
        handle,
        loc,
        files,
        next_file: 0,
        input: None,
        line: Vec::new(),
        line_number: 0,
        failure: None,
        inexact: HashSet::new(),
    };
    // Inference decodes every file in turn: guarded, and a panic names the file it was in.
    let reading = std::cell::Cell::new(0usize);
    let inferred = crate::panics::guarded_named(
        || {
            Ok(arrow::json::reader::infer_json_schema_from_iterator(
                std::iter::from_fn(|| {
                    let line = values.next();
                    reading.set(values.next_file);
                    line
                }),
            ))
        },
        || {
            files
                .get(reading.get().saturating_sub(1))
                .map_or_else(String::new, |f| f.url.clone())
        },
    )?;
    if let Some(e) = values.failure {
        return Err(e);
    }
    let url = || {
        files
            .get(values.next_file.saturating_sub(1))
            .map_or("", |f| f.url.as_str())
    };
    let schema = inferred.map_err(|e| Error::format(url(), e))?;
    Ok(json_lines(untyped(float_columns_as_number_text(
        schema,
        &values.inexact,
    ))))
}

/// Every JSON line of a dataset's files, in order, as values for arrow's inference. On the
/// way, the top-level fields holding a number that a 64-bit float cannot hold as written are
/// noted in `inexact`. A failure (unreadable file, a line that is not a JSON object) is kept in
/// `failure` and stops the iteration.
struct JsonValues<'a> {
    handle: &'a Handle,
    loc: &'a Location,
    files: &'a [DataFile],
    next_file: usize,
    input: Option<BufReader<Box<dyn Read + Send>>>,
    line: Vec<u8>,
    line_number: u64,
    failure: Option<Error>,
    inexact: HashSet<String>,
}

impl JsonValues<'_> {
    fn fail(
        &mut self,
        e: Error,
    ) -> Option<std::result::Result<serde_json::Value, arrow::error::ArrowError>> {
        self.failure = Some(e);
        Some(Err(arrow::error::ArrowError::JsonError("stopped".into())))
    }
}

impl Iterator for JsonValues<'_> {
    type Item = std::result::Result<serde_json::Value, arrow::error::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(input) = self.input.as_mut() else {
                let file = self.files.get(self.next_file)?;
                match reader::open_blocking(self.handle, self.loc, file) {
                    Ok(r) => self.input = Some(BufReader::with_capacity(1 << 20, r)),
                    Err(e) => return self.fail(e),
                }
                self.next_file += 1;
                self.line_number = 0;
                continue;
            };
            let url = &self.files[self.next_file - 1].url;
            self.line.clear();
            match input.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    self.input = None;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    let e = Error::format(url, format!("cannot read: {e}"));
                    return self.fail(e);
                }
            }
            self.line_number += 1;
            if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let not_an_object = |e: String| {
                Error::format(
                    url,
                    format!("line {}: not a JSON object: {e}", self.line_number),
                )
            };
            if let Err(e) = note_inexact(&self.line, &mut self.inexact) {
                let e = not_an_object(e.to_string());
                return self.fail(e);
            }
            return match serde_json::from_slice::<serde_json::Value>(&self.line) {
                Ok(value) => Some(Ok(value)),
                Err(e) => {
                    let e = not_an_object(e.to_string());
                    self.fail(e)
                }
            };
        }
    }
}

/// How many rows of the first text file decide the column types.
pub const INFER_ROWS: usize = 10_000;

/// How many bytes of the first text file are read to infer its column types.
const INFER_BYTES: u64 = 4 << 20;

/// Files of a text dataset looked at for one with a row to infer the types from.
const INFER_FILES: usize = 64;

/// The schema inferred from a text file's head, and how many rows that head held; `None` when
/// the head holds no whole line (a first line longer than the window).
async fn infer_text_file(loc: &Location, file: &DataFile) -> Result<Option<(SchemaRef, usize)>> {
    let end = file.size.min(INFER_BYTES);
    // A side that keeps local copies fetches the whole file now, once, rather than its head
    // now and all of it again when its rows are read.
    let copy = if end == 0 {
        None
    } else {
        reader::ensure_copy(loc, file).await?
    };
    let head = match copy {
        _ if end == 0 => Bytes::new(),
        Some(path) => tokio::task::spawn_blocking(move || -> std::io::Result<Bytes> {
            let mut head = vec![0u8; end as usize];
            std::fs::File::open(&path)?.read_exact(&mut head)?;
            Ok(Bytes::from(head))
        })
        .await
        .map_err(crate::panics::joined)?
        .map_err(|e| Error::format(&file.url, format!("cannot read its local copy: {e}")))?,
        None => loc
            .store
            .get_range(&file.path, 0..end)
            .await
            .map_err(|e| Error::store(&file.url, "get", &e))?,
    };
    let truncated = end < file.size;
    let url = file.url.clone();
    let format = file.format;
    tokio::task::spawn_blocking(move || {
        crate::panics::guarded(&url, || {
            infer_text_schema(&url, format.format, format.compression, head, truncated)
        })
    })
    .await
    .map_err(crate::panics::joined)?
}

/// Decompress as much of a file's head as is there (the range may cut a compressed frame), cut
/// after its last whole line; `None` when the head holds no whole line.
fn decompress_head(
    url: &str,
    compression: Compression,
    head: Bytes,
    truncated: bool,
) -> Result<Option<Vec<u8>>> {
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
        match out.iter().rposition(|b| *b == b'\n' || *b == b'\r') {
            Some(pos) => out.truncate(pos + 1),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

fn infer_text_schema(
    url: &str,
    format: FileFormat,
    compression: Compression,
    head: Bytes,
    truncated: bool,
) -> Result<Option<(SchemaRef, usize)>> {
    let Some(text) = decompress_head(url, compression, head, truncated)? else {
        return Ok(None);
    };
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        // A JSON-lines file of no lines is a file of no rows (an empty task's output, often
        // an empty gzip); a CSV file needs its header.
        if format == FileFormat::JsonLines {
            return Ok(Some((Arc::new(Schema::empty()), 0)));
        }
        return Err(Error::format(
            url,
            "the file is empty: no header and no rows",
        ));
    }
    let (schema, rows) = match format {
        FileFormat::Csv => {
            // Blank lines before the header are skipped, as the reader skips them.
            let start = text
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(text.len());
            let text = &text[start..];
            let (schema, rows) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(text, Some(INFER_ROWS))
                .map_err(|e| Error::format(url, e))?;
            let text_columns = csv_text_columns(url, &schema, text, Some(INFER_ROWS))?;
            let typed = text_typed(&schema, |_, f| text_columns.contains(f.name()));
            // Text now, another type where inferred: remember which, so a later value that
            // would have changed it is a misfit.
            let fields: Vec<Field> = typed
                .fields()
                .iter()
                .zip(schema.fields())
                .map(|(f, inferred)| {
                    let f = f.as_ref().clone();
                    if inferred.data_type() != &DataType::Utf8 && f.data_type() == &DataType::Utf8 {
                        let mut metadata = f.metadata().clone();
                        metadata.insert(
                            INFERRED.to_string(),
                            csv_flags(inferred.data_type()).to_string(),
                        );
                        f.with_metadata(metadata)
                    } else {
                        f
                    }
                })
                .collect();
            (
                Schema::new_with_metadata(fields, typed.metadata().clone()),
                rows,
            )
        }
        FileFormat::JsonLines => {
            let (schema, rows) =
                arrow::json::reader::infer_json_schema(BufReader::new(&text[..]), Some(INFER_ROWS))
                    .map_err(|e| {
                        bad_json_line(url, &text).unwrap_or_else(|| Error::format(url, e))
                    })?;
            (
                json_lines(inexact_numbers_as_text(url, schema, &text)?),
                rows,
            )
        }
        FileFormat::Parquet => {
            return Err(Error::Internal(format!(
                "{url}: a Parquet schema comes from its footer, not from inference"
            )))
        }
    };
    Ok(Some((Arc::new(untyped(schema)), rows)))
}

/// The first line of a JSON-lines head that is not a JSON object, as an error naming it (arrow's
/// inference says only "line 1", and may quote the whole value).
fn bad_json_line(url: &str, text: &[u8]) -> Option<Error> {
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(|b| b.is_ascii_whitespace()))
        .find_map(|(i, line)| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line)
                .err()
                .map(|e| Error::format(url, format!("line {}: not a JSON object: {e}", i + 1)))
        })
}

/// `schema` with the fields `to_text` picks read as strings instead.
pub(super) fn text_typed(schema: &Schema, to_text: impl Fn(usize, &Field) -> bool) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if to_text(i, f) {
                    f.as_ref().clone().with_data_type(DataType::Utf8)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    )
}

/// An integer written the one way it prints: no leading zeros, no plus sign, no `-0`.
pub(super) fn canonical_integer(v: &str) -> bool {
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
pub(super) fn canonical_float(v: &str) -> bool {
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
pub(super) fn float_holds(v: &str) -> bool {
    plainly_held(v) || printed_back(v)
}

/// `float_holds` the long way: the float's shortest printed form has the value written.
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
/// `float_holds` need not print the float to check. Checked without allocating, since it runs
/// on every value of every float column.
pub(super) fn plainly_held(v: &str) -> bool {
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
pub(super) fn canonical_boolean(v: &str) -> bool {
    v == "true" || v == "false"
}

/// The CSV columns to read as text instead of their inferred type (`schema`, by name): those
/// inferred as integers, floats or booleans holding a value that would not survive the parse
/// (`02134`, `+5`, `True`: parsed, `02134` and `2134` would compare equal), and those inferred
/// as Null (no value) holding a quoted empty string `""`, which is a value. `text` is a whole
/// file, header first; `limit` stops after that many rows (the rows the types came from).
fn csv_text_columns(
    url: &str,
    schema: &Schema,
    text: impl Read,
    limit: Option<usize>,
) -> Result<Vec<String>> {
    let mut input = BufReader::new(text);
    let header = reader::read_csv_header(&mut input)
        .map_err(|e| Error::format(url, format!("cannot read: {e}")))?;
    if header.is_empty() {
        return Ok(Vec::new());
    }
    let (names, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&header[..], Some(0))
        .map_err(|e| Error::format(url, e))?;
    let types: Vec<Option<&DataType>> = names
        .fields()
        .iter()
        .map(|f| schema.field_with_name(f.name()).ok().map(|f| f.data_type()))
        .collect();
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(text_typed(&names, |_, _| true)))
        .with_header(false)
        .with_batch_size(limit.unwrap_or(BATCH_SIZE))
        .build(if limit.is_some() {
            QuotedEmpty::sample(input)
        } else {
            QuotedEmpty::new(input)
        })
        .map_err(|e| Error::format(url, e))?;
    let mut text_columns = vec![false; types.len()];
    for batch in reader.take(if limit.is_some() { 1 } else { usize::MAX }) {
        let batch = batch.map_err(|e| Error::format(url, e))?;
        for (i, t) in types.iter().enumerate() {
            // Dates and times whose text matches the pattern but names no instant
            // (`2024-02-30`, `25:00:00`): the column is text, as for any other word.
            if let Some(t @ (DataType::Date32 | DataType::Timestamp(..))) = t {
                if !text_columns[i] && !casts_exactly(batch.column(i), t) {
                    text_columns[i] = true;
                }
                continue;
            }
            let check: fn(&str) -> bool = match t {
                Some(DataType::Int64) => canonical_integer,
                Some(DataType::Float64) => csv_float,
                Some(DataType::Boolean) => canonical_boolean,
                // Any value at all, `""` included, is text in a column with none inferred.
                Some(DataType::Null) => |_| false,
                _ => continue,
            };
            let Some(values) = batch.column(i).as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            // Outside the Null columns a quoted empty field is a null, like an empty one.
            let null_column = t == &Some(&DataType::Null);
            if values
                .iter()
                .flatten()
                .any(|v| (null_column || v != MARK) && !check(v))
            {
                text_columns[i] = true;
            }
        }
    }
    Ok(names
        .fields()
        .iter()
        .zip(text_columns)
        .filter(|(_, text)| *text)
        .map(|(f, _)| f.name().clone())
        .collect())
}

/// A CSV float as parity takes one: in its plain form ([`canonical_float`]), written as
/// inference reads a float (ASCII digits; `NaN`, `nan`, `inf`, `-inf`, not `Infinity`).
pub(super) fn csv_float(v: &str) -> bool {
    // A plain number (the common case) fits without the classifier.
    canonical_float(v) && (plainly_held(v) || csv_value_fits(&DataType::Float64, v))
}

/// Whether a column of CSV text (quoted empty fields marked) casts to `t` without an error, the
/// marks as nulls.
fn casts_exactly(column: &arrow::array::ArrayRef, t: &DataType) -> bool {
    let Some(text) = column.as_any().downcast_ref::<StringArray>() else {
        return true;
    };
    let values: StringArray = text.iter().map(|v| v.filter(|v| *v != MARK)).collect();
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    values.iter().flatten().all(clock_in_range)
        && arrow::compute::cast_with_options(&values, t, &options).is_ok()
}

/// Whether a date-time's clock (`hh:mm:ss` after `YYYY-MM-DD` and `T` or a space) is a time of
/// day: arrow's parse takes second 60 (a leap second on any day) as the second before or the
/// minute after, so `12:30:60` would equal `12:30:59`. Values without a clock pass.
pub(super) fn clock_in_range(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b' ') {
        return true;
    }
    let two = |at: usize| {
        b[at..at + 2]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| (b[at] - b'0') * 10 + (b[at + 1] - b'0'))
    };
    matches!((two(11), two(14), two(17)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60)
}

/// Field metadata that marks a JSON column read as the text of its numbers (see
/// [`inexact_numbers_as_text`]): its values must be numbers, never strings, so `5` and `"5"`
/// cannot meet as the same text.
const NUMBER_TEXT: &str = "parity.number_text";

/// Whether a field is a JSON column read as the text of its numbers.
pub fn is_number_text(field: &Field) -> bool {
    field.metadata().contains_key(NUMBER_TEXT)
}

/// JSON float64 columns whose sampled values a 64-bit float cannot hold as written are read as
/// the text of their numbers: an integer beyond 64 bits (as floats, 18446744073709551615 and
/// 18446744073709551614 would be the same number) or a decimal with more digits than a float
/// holds (`1234567890123.4567`). Such columns are marked [`NUMBER_TEXT`]. The sample's first
/// `INFER_ROWS` objects are looked at, the ones the types came from.
fn inexact_numbers_as_text(url: &str, schema: Schema, sample: &[u8]) -> Result<Schema> {
    let mut inexact = HashSet::new();
    let lines = sample
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(|b| b.is_ascii_whitespace()))
        .take(INFER_ROWS);
    for (i, line) in lines {
        note_inexact(line, &mut inexact)
            .map_err(|e| Error::format(url, format!("line {}: not a JSON object: {e}", i + 1)))?;
    }
    Ok(float_columns_as_number_text(schema, &inexact))
}

/// Note in `into` the top-level members of one JSON line that hold a number a 64-bit float
/// does not hold as written.
fn note_inexact(line: &[u8], into: &mut HashSet<String>) -> serde_json::Result<()> {
    let members: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(line)?;
    for (name, raw) in members {
        let raw = raw.get();
        if raw.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
            && !float_holds(raw)
        {
            into.insert(name);
        }
    }
    Ok(())
}

/// `schema` with its float columns named in `inexact` read as number text.
fn float_columns_as_number_text(schema: Schema, inexact: &HashSet<String>) -> Schema {
    number_text(schema, |_, f| {
        f.data_type() == &DataType::Float64 && inexact.contains(f.name())
    })
}

/// `schema` with the fields `pick` chooses read as the text of their numbers ([`NUMBER_TEXT`]).
fn number_text(schema: Schema, pick: impl Fn(usize, &Field) -> bool) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if pick(i, &f) {
                let mut metadata = f.metadata().clone();
                metadata.insert(NUMBER_TEXT.to_string(), "true".to_string());
                f.with_data_type(DataType::Utf8).with_metadata(metadata)
            } else {
                f
            }
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Field metadata of a CSV column the head made text although inference typed it otherwise
/// (only `""` where it saw Null; `-0` or `007` where it saw integers): the [`csv_flags`] of the
/// inferred type. A later value that would have changed that type could change the verdict on
/// the column (`-0` is text among integers but a float among floats), so the reader refuses it
/// ([`Error::Misfit`]) and the whole data decides.
const INFERRED: &str = "parity.inferred";

/// The type inference gave a CSV column that the head then made text ([`INFERRED`]).
pub fn inferred_before_text(field: &Field) -> Option<DataType> {
    field
        .metadata()
        .get(INFERRED)
        .and_then(|flags| flags.parse().ok())
        .map(csv_type)
}

/// Schema metadata of a JSON-lines side: a field an object leaves out is null, so a column
/// with no value on the other side (untyped) is no column missing here.
const ABSENT_IS_NULL: &str = "parity.absent_is_null";

/// Whether a side's schema reads a missing field as null (JSON lines).
pub fn absent_is_null(schema: &Schema) -> bool {
    schema.metadata().contains_key(ABSENT_IS_NULL)
}

/// A JSON-lines side's schema, marked [`ABSENT_IS_NULL`], with the fields inside its objects
/// that held no value left out ([`without_null_members`]).
fn json_lines(schema: Schema) -> Schema {
    let mut metadata = schema.metadata().clone();
    metadata.insert(ABSENT_IS_NULL.to_string(), "true".to_string());
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            f.as_ref()
                .clone()
                .with_data_type(without_null_members(f.data_type()))
        })
        .collect();
    Schema::new_with_metadata(fields, metadata)
}

/// `dt` without the struct fields of type Null, at any depth: in JSON a member written `null`
/// and a member left out are the same (Spark leaves null members out), so a member that never
/// held a value is no field of the type. The reader lets such a member through only while it is
/// null.
fn without_null_members(dt: &DataType) -> DataType {
    let member = |f: &arrow::datatypes::FieldRef| {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(without_null_members(f.data_type())),
        )
    };
    match dt {
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .filter(|f| f.data_type() != &DataType::Null)
                .map(member)
                .collect::<Vec<_>>()
                .into(),
        ),
        DataType::List(f) => DataType::List(member(f)),
        DataType::LargeList(f) => DataType::LargeList(member(f)),
        other => other.clone(),
    }
}

/// Field metadata that marks a text column in which no value was seen: its type is Null, so
/// it compares with a column of any type on the other side (every cell is null) and reports no
/// type change, and the reader refuses a value in it ([`Error::Misfit`]) rather than turning
/// the value into a null.
const UNTYPED: &str = "parity.untyped";

/// Whether a field is a text column in which no value was seen.
pub fn is_untyped(field: &Field) -> bool {
    field.metadata().contains_key(UNTYPED)
}

/// `schema` with its Null fields marked [`UNTYPED`].
fn untyped(schema: Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if f.data_type() == &DataType::Null {
                let mut metadata = f.metadata().clone();
                metadata.insert(UNTYPED.to_string(), "true".to_string());
                f.with_metadata(metadata)
            } else {
                f
            }
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

#[cfg(test)]
mod tests {
    use super::{canonical_float, decimal_value, plainly_held, printed_back};

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

#[cfg(test)]
mod joins {
    use super::{csv_flags, csv_type, csv_value_fits, csv_value_flags};
    use arrow::datatypes::DataType;

    fn inferred(values: &[&str]) -> DataType {
        let quoted = |v: &str| {
            if v.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_string()
            }
        };
        let text: String = std::iter::once("id,c\n".to_string())
            .chain(values.iter().map(|v| format!("1,{}\n", quoted(v))))
            .collect();
        let (schema, _) = arrow::csv::reader::Format::default()
            .with_header(true)
            .infer_schema(text.as_bytes(), None)
            .unwrap();
        schema.field(1).data_type().clone()
    }

    #[test]
    fn csv_types_joined_across_files_are_the_types_of_one_file() {
        let values = [
            "",
            "1",
            "-2",
            "1.5",
            "true",
            "False",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.123",
            "2024-01-01T00:00:00.123456",
            "2024-01-01 00:00:00.123456789",
            "abc",
            "NaN",
            "99999999999999999999",
        ];
        for a in values {
            for b in values {
                for c in values {
                    let whole = inferred(&[a, b, c]);
                    let joined =
                        csv_type(csv_flags(&inferred(&[a])) | csv_flags(&inferred(&[b, c])));
                    assert_eq!(whole, joined, "{a:?} | {b:?}, {c:?}");
                }
            }
        }
    }

    #[test]
    fn one_value_is_classified_as_arrow_infers_it() {
        let values = [
            "1",
            "-0",
            "+0",
            "007",
            "+5",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "1234567890123456789012",
            "1.5",
            "1.",
            ".5",
            "+.5e-3",
            "1e5",
            "1E+5",
            "1e",
            "e5",
            ".",
            "1.5.5",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "INF",
            "NAN",
            "true",
            "FALSE",
            "tRuE",
            "yes",
            "2024-01-01",
            "2024-1-9",
            " 2024-01-10",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00+05:00",
            "2024-01-01T00:00:00.",
            "2024-01-01T00:00:00.1",
            "2024-01-01T00:00:00.123",
            "2024-01-01T00:00:00.1234",
            "2024-01-01T00:00:00.123456",
            "2024-01-01T00:00:00.1234567",
            "2024-01-01T00:00:00.123456789",
            "2024-01-01T00:00:00.1234567890",
            "2024-01-01T00:00:00.123Z",
            "2024-01-01T00:00:00 x\ny",
            "2024-01-01T00:00:00.5 x\ny",
            "2024-01-01T00:00:001",
            "2024-01-01X00:00:00",
            "2024-01-01T0:00:00",
            "\"quoted\"",
            "a\"b",
            "abc",
            "1,5",
        ];
        for v in values {
            assert_eq!(csv_type(csv_value_flags(v)), inferred(&[v]), "{v:?}");
        }
        // Held to a column's type as inference would have typed it with the value among its own.
        for (t, v, fits) in [
            (DataType::Date32, "2024-01-01T01:00:00", false),
            (DataType::Date32, "2024-1-9", false),
            (DataType::Float64, "Infinity", false),
            (DataType::Float64, "7", true),
            (DataType::Float64, "inf", true),
            (DataType::Int64, "7.5", false),
            (
                DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None),
                "2024-01-01T00:00:00.123456",
                false,
            ),
            (
                DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None),
                "2024-01-01",
                true,
            ),
            (DataType::Utf8, "anything", true),
        ] {
            assert_eq!(csv_value_fits(&t, v), fits, "{t} {v:?}");
        }
    }
}
