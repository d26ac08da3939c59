//! A bounded look at a dataset's first rows: which columns hold no null and no repeated value.
//!
//! This is what `parity inventory discover` reads to suggest a key, and it reads little, on
//! purpose:
//!
//! * **Parquet**: the footer of the dataset's first file (by sorted path), with its page index
//!   when the file has one; the per-column null counts of that file's statistics; and the first
//!   `rows` rows of the columns that could be a key (integers, strings, dates, timestamps,
//!   decimals, binary), read through the page index when there is one. Without a page index
//!   the first row groups' column chunks for those columns are read only when they total at
//!   most `bytes`; otherwise no row is read and the sample says so.
//! * **CSV and JSON lines**: the files in sorted order, through their decompressor, until
//!   `rows` rows or `bytes` decompressed bytes have been read. A row cut short by that bound is
//!   dropped.
//!
//! Nothing here decides types as the comparison does ([`super::typing`]): values are compared
//! as written, and a column is only called unique when no two values read are equal.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, RowSelection};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use serde::Serialize;
use tokio::runtime::Handle;

use super::format::FileFormat;
use super::listing::{DataFile, Dataset};
use super::reader;
use super::store::Location;
use crate::error::{Error, Result};

/// What a column's values are, as far as being a key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Whole numbers.
    Integer,
    /// Strings.
    Text,
    /// Dates, timestamps, decimals, binary: possible, but rarely what identifies a row.
    Other,
    /// Floats, booleans, nested values, nulls: never suggested as a key.
    Unsuitable,
}

/// One column as the sample saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSample {
    /// The column's name.
    pub name: String,
    /// What its values are.
    pub kind: KeyKind,
    /// Nulls among the rows read.
    pub nulls: u64,
    /// Distinct non-null values among the rows read.
    pub distinct: u64,
    /// Nulls in the whole first file, from its Parquet statistics (when every row group has
    /// them).
    pub nulls_in_file: Option<u64>,
}

impl ColumnSample {
    /// Non-null and without a repeated value in every row read (and, where the statistics
    /// say, non-null in the whole first file).
    pub fn unique_non_null(&self, rows: u64) -> bool {
        self.kind != KeyKind::Unsuitable
            && self.nulls == 0
            && self.nulls_in_file.unwrap_or(0) == 0
            && self.distinct == rows
    }
}

/// What was read and what it showed.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Files in the dataset.
    pub files_total: usize,
    /// Files whose bytes were read (a Parquet footer counts).
    pub files_read: usize,
    /// Rows read.
    pub rows_read: u64,
    /// Rows in the first file, from its Parquet footer.
    pub rows_in_first_file: Option<u64>,
    /// Every row of the dataset was read.
    pub whole: bool,
    /// Why no row was read, when none was.
    pub skipped: Option<String>,
    /// The columns, in the first file's order.
    pub columns: Vec<ColumnSample>,
}

impl Sample {
    /// What the rows read were, for people: `all 145 rows`, `the first 1000 of 2000000 rows of
    /// the first of 3 files`.
    pub fn describe(&self) -> String {
        let files = |n: usize| if n == 1 { "file" } else { "files" };
        if self.whole {
            return format!(
                "all {} rows ({} {})",
                self.rows_read,
                self.files_total,
                files(self.files_total)
            );
        }
        match self.rows_in_first_file {
            Some(total) => format!(
                "the first {} of the {total} rows of the first of {} {}",
                self.rows_read,
                self.files_total,
                files(self.files_total)
            ),
            None => format!(
                "the first {} rows ({} of {} {} read)",
                self.rows_read,
                self.files_read,
                self.files_total,
                files(self.files_total)
            ),
        }
    }
}

/// How much a sample may read.
#[derive(Debug, Clone, Copy)]
pub struct SampleBounds {
    /// Rows at most.
    pub rows: usize,
    /// Bytes at most: decompressed text, or Parquet column chunks read without a page index.
    pub bytes: u64,
}

impl Default for SampleBounds {
    fn default() -> Self {
        SampleBounds {
            rows: 1000,
            bytes: 8 << 20,
        }
    }
}

/// Read the head of a dataset within `bounds`.
pub async fn head(dataset: &Dataset, bounds: SampleBounds) -> Result<Sample> {
    match dataset.format().format {
        FileFormat::Parquet => parquet_head(dataset, bounds).await,
        FileFormat::Csv | FileFormat::JsonLines => {
            let dataset = dataset.clone();
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || text_head(&handle, &dataset, bounds))
                .await
                .map_err(crate::panics::joined)?
        }
    }
}

/// Distinct values and nulls of one column, over batches.
struct Tally {
    name: String,
    kind: KeyKind,
    converter: Option<RowConverter>,
    seen: HashSet<Vec<u8>>,
    nulls: u64,
    nulls_in_file: Option<u64>,
}

impl Tally {
    fn new(name: &str, data_type: &DataType, nulls_in_file: Option<u64>) -> Tally {
        let kind = kind_of(data_type);
        let converter = (kind != KeyKind::Unsuitable)
            .then(|| RowConverter::new(vec![SortField::new(data_type.clone())]).ok())
            .flatten();
        Tally {
            name: name.to_string(),
            kind: if converter.is_some() {
                kind
            } else {
                KeyKind::Unsuitable
            },
            converter,
            seen: HashSet::new(),
            nulls: 0,
            nulls_in_file,
        }
    }

    fn add(&mut self, array: &ArrayRef) -> Result<()> {
        self.nulls += array.null_count() as u64;
        let Some(converter) = &self.converter else {
            return Ok(());
        };
        let rows = converter
            .convert_columns(std::slice::from_ref(array))
            .map_err(|e| Error::Internal(e.to_string()))?;
        for i in 0..array.len() {
            if array.is_valid(i) {
                self.seen.insert(rows.row(i).as_ref().to_vec());
            }
        }
        Ok(())
    }

    fn finish(self) -> ColumnSample {
        ColumnSample {
            name: self.name,
            kind: self.kind,
            nulls: self.nulls,
            distinct: self.seen.len() as u64,
            nulls_in_file: self.nulls_in_file,
        }
    }
}

fn kind_of(t: &DataType) -> KeyKind {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => KeyKind::Integer,
        Utf8 | LargeUtf8 | Utf8View => KeyKind::Text,
        Date32 | Date64 | Timestamp(..) | Decimal32(..) | Decimal64(..) | Decimal128(..)
        | Decimal256(..) | Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => KeyKind::Other,
        Dictionary(_, value) => kind_of(value),
        _ => KeyKind::Unsuitable,
    }
}

/// Byte ranges of one object, for the Parquet reader, with its footer already read.
struct Ranges {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    metadata: Arc<ParquetMetaData>,
}

impl AsyncFileReader for Ranges {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let metadata = self.metadata.clone();
        async move { Ok(metadata) }.boxed()
    }
}

/// Metadata reads of the footer (and page index).
struct Fetch<'a>(&'a Location, &'a DataFile);

impl parquet::arrow::async_reader::MetadataFetch for Fetch<'_> {
    fn fetch(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let (store, path) = (self.0.store.clone(), self.1.path.clone());
        async move {
            store
                .get_range(&path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }
}

async fn parquet_head(dataset: &Dataset, bounds: SampleBounds) -> Result<Sample> {
    let loc = &dataset.location;
    let file = dataset
        .files
        .iter()
        .find(|f| f.size > 0)
        .unwrap_or(&dataset.files[0]);
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::format(&file.url, format!("not a readable Parquet file: {e}"))
    };
    let metadata = ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .load_and_finish(Fetch(loc, file), file.size)
        .await
        .map_err(|e| unreadable(&e))?;
    let metadata = Arc::new(metadata);
    let arrow = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new())
        .map_err(|e| unreadable(&e))?;
    let total_rows = metadata.file_metadata().num_rows().max(0) as u64;
    let (mut tallies, wanted) = candidates(&arrow);
    let (groups, covered) = first_groups(&metadata, bounds.rows as u64);
    let meta = &metadata;
    let chunk_bytes: u64 = groups
        .iter()
        .flat_map(|&g| {
            wanted.iter().map(move |&(_, leaf)| {
                meta.row_group(g).column(leaf).compressed_size().max(0) as u64
            })
        })
        .sum();
    // Offset indexes read with the footer, for every column chunk to be read.
    let has_offsets = metadata
        .page_index()
        .is_some_and(|p| p.has_offset_indexes())
        && groups.iter().all(|&g| {
            wanted.iter().all(|&(_, leaf)| {
                metadata
                    .row_group(g)
                    .column(leaf)
                    .offset_index_range()
                    .is_some()
            })
        });
    let mut sample = Sample {
        files_total: dataset.files.len(),
        files_read: 1,
        rows_read: 0,
        rows_in_first_file: Some(total_rows),
        whole: false,
        skipped: None,
        columns: Vec::new(),
    };
    if wanted.is_empty() {
        sample.skipped = Some("no column could be a key".into());
    } else if !has_offsets && chunk_bytes > bounds.bytes {
        sample.skipped = Some(format!(
            "the first row group's candidate columns are {chunk_bytes} bytes and the file has no page index"
        ));
    } else {
        let reader = Ranges {
            store: loc.store.clone(),
            path: file.path.clone(),
            metadata: metadata.clone(),
        };
        let descr = metadata.file_metadata().schema_descr();
        let mask = ProjectionMask::roots(descr, wanted.iter().map(|&(i, _)| i));
        let limit = bounds.rows.max(1);
        let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, arrow)
            .with_projection(mask)
            .with_row_groups(groups)
            .with_batch_size(limit)
            .with_limit(limit);
        if has_offsets {
            // Only the pages that hold the first rows are fetched.
            let in_groups = covered.min(usize::MAX as u64) as usize;
            builder = builder.with_row_selection(RowSelection::from_consecutive_ranges(
                std::iter::once(0..limit.min(in_groups)),
                in_groups,
            ));
        }
        let mut stream = builder.build().map_err(|e| unreadable(&e))?;
        while let Some(batch) = stream.try_next().await.map_err(|e| unreadable(&e))? {
            sample.rows_read += batch.num_rows() as u64;
            for (col, &(i, _)) in wanted.iter().enumerate() {
                tallies[i].add(batch.column(col))?;
            }
        }
        sample.whole = dataset.files.len() == 1 && sample.rows_read == total_rows;
    }
    sample.columns = tallies.into_iter().map(Tally::finish).collect();
    Ok(sample)
}

/// A tally per top-level column, with null counts from the statistics of every row group, and
/// the columns worth reading: (column index, its one leaf) of those that could be a key and
/// have no null by the statistics.
fn candidates(arrow: &ArrowReaderMetadata) -> (Vec<Tally>, Vec<(usize, usize)>) {
    let metadata = arrow.metadata();
    let descr = metadata.file_metadata().schema_descr();
    let mut tallies = Vec::new();
    let mut wanted = Vec::new();
    for (i, field) in arrow.schema().fields().iter().enumerate() {
        let leaves: Vec<usize> = (0..descr.num_columns())
            .filter(|&l| descr.get_column_root_idx(l) == i)
            .collect();
        let leaf = match leaves.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let nulls_in_file = leaf.and_then(|l| {
            metadata
                .row_groups()
                .iter()
                .map(|g| g.column(l).statistics().and_then(|s| s.null_count_opt()))
                .sum::<Option<u64>>()
        });
        let mut tally = Tally::new(field.name(), field.data_type(), nulls_in_file);
        match leaf {
            None => {
                tally.kind = KeyKind::Unsuitable;
                tally.converter = None;
            }
            Some(l) if tally.kind != KeyKind::Unsuitable && nulls_in_file.unwrap_or(0) == 0 => {
                wanted.push((i, l));
            }
            Some(_) => {}
        }
        tallies.push(tally);
    }
    (tallies, wanted)
}

/// The first row groups that hold `rows` rows, and how many rows they hold.
fn first_groups(metadata: &ParquetMetaData, rows: u64) -> (Vec<usize>, u64) {
    let mut groups = Vec::new();
    let mut covered = 0u64;
    for (g, group) in metadata.row_groups().iter().enumerate() {
        if covered >= rows {
            break;
        }
        groups.push(g);
        covered += group.num_rows().max(0) as u64;
    }
    (groups, covered)
}

/// Values of one text column, as written.
struct TextTally {
    name: String,
    seen: HashSet<String>,
    nulls: u64,
    integer: bool,
    number: bool,
    boolean: bool,
    string: bool,
    nested: bool,
}

impl TextTally {
    fn new(name: &str) -> TextTally {
        TextTally {
            name: name.to_string(),
            seen: HashSet::new(),
            nulls: 0,
            integer: false,
            number: false,
            boolean: false,
            string: false,
            nested: false,
        }
    }

    fn finish(self) -> ColumnSample {
        let kinds = [
            self.integer || self.number,
            self.boolean,
            self.string,
            self.nested,
        ];
        let kind = if kinds.iter().filter(|k| **k).count() > 1
            || self.number
            || self.boolean
            || self.nested
        {
            KeyKind::Unsuitable
        } else if self.integer {
            KeyKind::Integer
        } else if self.string {
            KeyKind::Text
        } else {
            KeyKind::Unsuitable
        };
        ColumnSample {
            name: self.name,
            kind,
            nulls: self.nulls,
            distinct: self.seen.len() as u64,
            nulls_in_file: None,
        }
    }
}

/// A CSV cell's kind as a key: integers written canonically, other numbers, booleans, text.
fn csv_cell(t: &mut TextTally, v: &str) {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let canonical_integer = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && v.parse::<i64>().is_ok();
    // `007` and `+5` are text to the comparison, not numbers.
    let leading_zero =
        digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
    if canonical_integer {
        t.integer = true;
    } else if !leading_zero && !v.starts_with('+') && v.parse::<f64>().is_ok() {
        t.number = true;
    } else if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        t.boolean = true;
    } else {
        t.string = true;
    }
}

fn json_cell(t: &mut TextTally, v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Null => return None,
        Value::Bool(_) => t.boolean = true,
        Value::Number(n) if n.is_i64() || n.is_u64() => t.integer = true,
        Value::Number(_) => t.number = true,
        Value::String(s) => {
            t.string = true;
            return Some(s.clone());
        }
        Value::Array(_) | Value::Object(_) => t.nested = true,
    }
    Some(v.to_string())
}

/// The head of a text file: whole lines, at most `lines` of them and at most `budget` bytes.
struct Head {
    bytes: Vec<u8>,
    /// The file ended within the head (nothing but blank space after it).
    ended: bool,
}

fn read_head(input: impl Read, url: &str, lines: u64, budget: u64) -> Result<Head> {
    let mut input = BufReader::new(input.take(budget));
    let mut bytes = Vec::new();
    let cannot = |e: std::io::Error| Error::format(url, format!("cannot read: {e}"));
    let mut at_eof = false;
    for _ in 0..lines {
        if input.read_until(b'\n', &mut bytes).map_err(cannot)? == 0 {
            at_eof = true;
            break;
        }
    }
    // The bound reads as an end of file too: a head that filled it was cut.
    let cut = bytes.len() as u64 >= budget;
    if at_eof && !cut {
        return Ok(Head { bytes, ended: true });
    }
    if cut || !bytes.ends_with(b"\n") {
        // Cut by the byte bound: keep whole lines only.
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(keep);
        return Ok(Head {
            bytes,
            ended: false,
        });
    }
    let mut rest = [0u8; 4096];
    loop {
        match input.read(&mut rest).map_err(cannot)? {
            0 => return Ok(Head { bytes, ended: true }),
            n if rest[..n].iter().all(u8::is_ascii_whitespace) => continue,
            _ => {
                return Ok(Head {
                    bytes,
                    ended: false,
                })
            }
        }
    }
}

fn text_head(handle: &Handle, dataset: &Dataset, bounds: SampleBounds) -> Result<Sample> {
    let mut tallies: Vec<TextTally> = Vec::new();
    let mut sample = Sample {
        files_total: dataset.files.len(),
        files_read: 0,
        rows_read: 0,
        rows_in_first_file: None,
        whole: true,
        skipped: None,
        columns: Vec::new(),
    };
    let mut budget = bounds.bytes;
    for file in &dataset.files {
        let rows_left = (bounds.rows as u64).saturating_sub(sample.rows_read);
        if rows_left == 0 || budget == 0 {
            sample.whole = false;
            break;
        }
        sample.files_read += 1;
        let input = reader::open_blocking(handle, &dataset.location, file)?;
        // A header line, the rows wanted, and one more to know whether the file goes on.
        let head = read_head(input, &file.url, rows_left + 2, budget)?;
        budget = budget.saturating_sub(head.bytes.len() as u64);
        let known = tallies.len();
        let mut rows = match file.format.format {
            FileFormat::Csv => csv_rows(&head.bytes, file, &mut tallies)?,
            _ => json_rows(&head.bytes, file, &mut tallies)?,
        };
        // A column first seen in this file was null in every row of the files before.
        for t in &mut tallies[known..] {
            t.nulls += sample.rows_read;
        }
        if !head.ended && file.format.format == FileFormat::Csv {
            // A quoted field may hold a newline: the last record may be cut short.
            rows.pop();
        }
        if !head.ended || rows.len() as u64 > rows_left {
            sample.whole = false;
        }
        rows.truncate(rows_left as usize);
        sample.rows_read += rows.len() as u64;
        for row in rows {
            for (t, v) in tallies.iter_mut().zip(row) {
                match v {
                    Some(v) => {
                        t.seen.insert(v);
                    }
                    None => t.nulls += 1,
                }
            }
        }
        if !sample.whole {
            break;
        }
    }
    sample.columns = tallies.into_iter().map(TextTally::finish).collect();
    Ok(sample)
}

type Rows = Vec<Vec<Option<String>>>;

/// The rows of a CSV head; an empty field is a null, as the comparison reads it.
fn csv_rows(head: &[u8], file: &DataFile, tallies: &mut Vec<TextTally>) -> Result<Rows> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(head);
    let bad = |e: csv::Error| Error::format(&file.url, format!("not readable as CSV: {e}"));
    let headers = rdr.headers().map_err(bad)?.clone();
    let columns: Vec<usize> = headers
        .iter()
        .map(|name| match tallies.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                tallies.push(TextTally::new(name));
                tallies.len() - 1
            }
        })
        .collect();
    let mut rows = Rows::new();
    for record in rdr.records() {
        let record = record.map_err(bad)?;
        let mut row = vec![None; tallies.len()];
        for (&i, v) in columns.iter().zip(record.iter()) {
            if !v.is_empty() {
                csv_cell(&mut tallies[i], v);
                row[i] = Some(v.to_string());
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The rows of a JSON-lines head; a field a line leaves out is a null there.
fn json_rows(head: &[u8], file: &DataFile, tallies: &mut Vec<TextTally>) -> Result<Rows> {
    let mut parsed = Vec::new();
    for (n, line) in head.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| Error::format(&file.url, format!("line {}: not JSON: {e}", n + 1)))?;
        let serde_json::Value::Object(members) = value else {
            return Err(Error::format(
                &file.url,
                format!("line {}: not a JSON object", n + 1),
            ));
        };
        for name in members.keys() {
            if !tallies.iter().any(|t| &t.name == name) {
                tallies.push(TextTally::new(name));
            }
        }
        parsed.push(members);
    }
    Ok(parsed
        .into_iter()
        .map(|members| {
            tallies
                .iter_mut()
                .map(|t| members.get(&t.name).and_then(|v| json_cell(t, v)))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{list, open};

    async fn sample_of(dir: &std::path::Path, rows: usize, bytes: u64) -> Sample {
        let loc = open(dir.to_str().unwrap()).unwrap();
        let dataset = list(&loc, None).await.unwrap();
        head(&dataset, SampleBounds { rows, bytes }).await.unwrap()
    }

    fn column<'a>(s: &'a Sample, name: &str) -> &'a ColumnSample {
        s.columns.iter().find(|c| c.name == name).unwrap()
    }

    #[tokio::test]
    async fn a_csv_head_stops_at_the_byte_bound_and_drops_the_cut_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,v\n");
        for i in 0..100 {
            text.push_str(&format!("{i:03},x\n"));
        }
        std::fs::write(dir.path().join("a.csv"), &text).unwrap();
        // 5 header bytes and 7 whole rows of 6 bytes fit in 50; the last whole one may hold a
        // cut quoted field, so it goes too.
        let s = sample_of(dir.path(), 1000, 50).await;
        assert_eq!((s.rows_read, s.whole, s.files_read), (6, false, 1));
        assert_eq!(column(&s, "id").distinct, 6);
        assert_eq!(column(&s, "id").kind, KeyKind::Text, "001 is text");
        assert!(column(&s, "id").unique_non_null(6));
        assert_eq!(column(&s, "v").distinct, 1);
        assert_eq!(s.describe(), "the first 6 rows (1 of 1 file read)");

        let s = sample_of(dir.path(), 10, 1 << 20).await;
        assert_eq!((s.rows_read, s.whole), (10, false));
        let s = sample_of(dir.path(), 100, 1 << 20).await;
        assert_eq!((s.rows_read, s.whole), (100, true));
        assert_eq!(s.describe(), "all 100 rows (1 file)");
    }

    #[tokio::test]
    async fn json_columns_first_seen_later_were_null_before() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), "{\"k\":1}\n{\"k\":2}\n").unwrap();
        std::fs::write(
            dir.path().join("b.jsonl"),
            "{\"k\":3,\"late\":\"x\",\"f\":1.5,\"b\":true}\n\n",
        )
        .unwrap();
        let s = sample_of(dir.path(), 1000, 1 << 20).await;
        assert_eq!((s.rows_read, s.whole, s.files_read), (3, true, 2));
        let k = column(&s, "k");
        assert_eq!((k.kind, k.nulls, k.distinct), (KeyKind::Integer, 0, 3));
        assert!(k.unique_non_null(3));
        let late = column(&s, "late");
        assert_eq!((late.nulls, late.distinct), (2, 1));
        assert!(!late.unique_non_null(3));
        assert_eq!(column(&s, "f").kind, KeyKind::Unsuitable);
        assert_eq!(column(&s, "b").kind, KeyKind::Unsuitable);
    }

    #[tokio::test]
    async fn a_parquet_head_reads_the_first_rows_and_the_footer_statistics() {
        use arrow::array::{Float64Array, Int64Array, StringArray};
        use arrow::datatypes::{Field, Schema};
        use arrow::record_batch::RecordBatch;
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("grp", DataType::Int64, false),
            Field::new("f", DataType::Float64, false),
            Field::new("late", DataType::Utf8, true),
        ]));
        let n = 3000i64;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 7))),
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))),
                // Unique where present, but null in the last row: the statistics see it.
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i < n - 1).then(|| format!("v{i}"))),
                )),
            ],
        )
        .unwrap();
        let write = |dir: &std::path::Path, page_index: bool| {
            // Page-level statistics would write a column index, and with it an offset index.
            let props = parquet::file::properties::WriterProperties::builder()
                .set_max_row_group_row_count(Some(1000))
                .set_offset_index_disabled(!page_index)
                .set_statistics_enabled(if page_index {
                    parquet::file::properties::EnabledStatistics::Page
                } else {
                    parquet::file::properties::EnabledStatistics::Chunk
                })
                .build();
            let f = std::fs::File::create(dir.join("part-0.parquet")).unwrap();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(f, schema.clone(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
        };
        write(dir.path(), true);

        let s = sample_of(dir.path(), 1000, 1 << 20).await;
        assert_eq!(
            (s.rows_read, s.rows_in_first_file, s.whole),
            (1000, Some(3000), false)
        );
        assert!(column(&s, "id").unique_non_null(1000));
        assert_eq!(column(&s, "id").nulls_in_file, Some(0));
        assert!(!column(&s, "grp").unique_non_null(1000));
        assert_eq!(column(&s, "f").kind, KeyKind::Unsuitable);
        let late = column(&s, "late");
        assert_eq!(late.nulls_in_file, Some(1));
        assert!(!late.unique_non_null(1000));
        assert_eq!(
            s.describe(),
            "the first 1000 of the 3000 rows of the first of 1 file"
        );

        let s = sample_of(dir.path(), 5000, 1 << 20).await;
        assert_eq!((s.rows_read, s.whole), (3000, true));
        // With a page index the first rows are read page by page, whatever the bound.
        let s = sample_of(dir.path(), 1000, 10).await;
        assert_eq!((s.rows_read, s.skipped.as_deref()), (1000, None));

        // Without one, column chunks larger than the bound are not read at all.
        let plain = tempfile::tempdir().unwrap();
        write(plain.path(), false);
        let s = sample_of(plain.path(), 1000, 10).await;
        assert_eq!(s.rows_read, 0);
        assert!(
            s.skipped.as_deref().unwrap().contains("no page index"),
            "{:?}",
            s.skipped
        );
        let s = sample_of(plain.path(), 1000, 1 << 20).await;
        assert_eq!(s.rows_read, 1000);
        assert!(column(&s, "id").unique_non_null(1000));
    }
}
