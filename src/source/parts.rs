//! Parquet files decoded in parts: runs of row groups that several threads decode at once.
//!
//! A whole file as one unit of work leaves a side whose last file is large with one core
//! decoding it while the other waits. Here a Parquet file's footer is read and its row groups
//! grouped into [`Part`]s of at least [`PART_ROWS`] rows. The file becomes a list of [`Job`]s:
//! one per part to decode, and the [`Job::Hash`] that proves which bytes were read. They may
//! run on any threads in any order; the job that finishes last returns the file's
//! [`FileDigest`].
//!
//! * A file on local disk is opened once and shared by its jobs through positioned reads
//!   (`pread`: no shared seek offset). Its hash job streams every byte through blake3, and the
//!   last job checks that the file did not change while it was read (same length and
//!   modification time on the same open file, and the byte count the listing gave).
//! * A file in an object store is fetched once, hashed as it arrives and gathered in memory (or
//!   in a temporary file when large) while it is opened; its jobs decode from there, and its
//!   hash job has nothing left to do.
//!
//! Strings are decoded as views and dictionary-encoded columns straight into their values
//! (`reading_metadata`): the engine hashes views as it hashes strings, and compares
//! dictionaries as values.
//!
//! A caller that needs only some rows (the second pass of the differing-rows subset) names the
//! parts it wants; the others are not decoded. A local file kept open from the first pass is
//! read again through the same open file ([`ParquetFile::jobs_again`]): its bytes are not hashed
//! again, and the last job's check of length and modification time covers the time since it
//! was opened. A file opened anew (fetched again, or a side with too many files to keep open)
//! is hashed again, and the engine compares the two hashes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use super::format::FileFormat;
use super::listing::DataFile;
use super::pages;
use super::reader::{
    check_size, digest, fetch_hashed, local_path, same_contents, ByteCounter, FileDigest,
    BATCH_SIZE, CHANGED_WHILE_READ,
};
use super::store::Location;
use crate::error::{Error, Result};
use crate::panics::guarded;

/// Consecutive row groups are joined into parts of at least this many rows, so a file of many
/// small groups does not build a reader per group.
pub const PART_ROWS: u64 = 128 * 1024;

/// Bytes read at a time by the hash job.
const HASH_CHUNK: usize = 1 << 20;

/// One open file shared by the jobs, read with `pread` so that readers on several threads never
/// move each other's position. Its length is the one seen when it was opened.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    len: u64,
}

/// A sequential reader over a [`SharedFile`] from a given offset.
struct PositionedRead {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for PositionedRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Up to `length` bytes of `file` from `start` (fewer at its end), read with positioned reads
/// into fresh memory that is never zeroed first (`read_to_end` on a reader without its own
/// `read_buf` zeroes every buffer before reading into it): column chunks, and spill files read
/// back.
pub(crate) fn pread_fresh(file: &File, start: u64, length: usize) -> std::io::Result<Vec<u8>> {
    use std::os::unix::io::AsRawFd;
    let mut buf: Vec<u8> = Vec::with_capacity(length);
    while buf.len() < length {
        let at = start
            .checked_add(buf.len() as u64)
            .and_then(|at| libc::off_t::try_from(at).ok())
            .ok_or_else(|| std::io::Error::other("a read past the largest file offset"))?;
        let want = length - buf.len();
        let spare = &mut buf.spare_capacity_mut()[..want];
        // SAFETY: pread(2) writes at most `spare.len()` bytes into the spare capacity it is
        // given, which `buf` owns for the whole call; only the bytes it says it wrote become
        // part of `buf` below.
        let n =
            unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len(), at) };
        match n {
            0 => break,
            n if n > 0 => {
                // SAFETY: the `n` bytes after `buf.len()` were just written by pread(2), and
                // `n` is at most the spare capacity's length.
                unsafe { buf.set_len(buf.len() + n as usize) };
            }
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(buf)
}

impl Length for SharedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for SharedFile {
    type T = BufReader<PositionedRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::new(PositionedRead {
            file: self.file.clone(),
            pos: start,
            end: self.len,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start.checked_add(length as u64).filter(|&e| e <= self.len);
        if end.is_none() {
            return Err(ParquetError::EOF(format!(
                "asked for {length} bytes at offset {start} of a {}-byte file",
                self.len
            )));
        }
        let buf = pread_fresh(&self.file, start, length)?;
        if buf.len() != length {
            return Err(ParquetError::EOF(format!(
                "read {} of {length} bytes at offset {start}: the file is shorter than it was",
                buf.len()
            )));
        }
        Ok(buf.into())
    }
}

/// Where a file's jobs read its bytes: the file itself, a temporary copy, or memory.
#[derive(Clone)]
enum Source {
    File(SharedFile),
    Memory(Bytes),
}

/// A sequential reader over a [`Source`].
enum SourceRead {
    File(BufReader<PositionedRead>),
    Memory(bytes::buf::Reader<Bytes>),
}

impl Read for SourceRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            SourceRead::File(r) => r.read(buf),
            SourceRead::Memory(r) => r.read(buf),
        }
    }
}

impl Length for Source {
    fn len(&self) -> u64 {
        match self {
            Source::File(f) => f.len,
            Source::Memory(b) => b.len() as u64,
        }
    }
}

impl ChunkReader for Source {
    type T = SourceRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            Source::File(f) => f.get_read(start).map(SourceRead::File),
            Source::Memory(b) => b.get_read(start).map(SourceRead::Memory),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Source::File(f) => f.get_bytes(start, length),
            Source::Memory(b) => b.get_bytes(start, length),
        }
    }
}

/// A run of row groups of one file, decoded as one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The row groups, by number.
    pub row_groups: Range<usize>,
    /// The file position of the part's first row.
    pub first_row: u64,
    /// How many rows the footer says the part holds.
    pub rows: u64,
}

/// One unit of work on a [`ParquetFile`].
#[derive(Debug, Clone)]
pub enum Job {
    /// Stream every byte of a local file through blake3. A gathered file was hashed as it
    /// arrived, and a local file read again in a later pass was hashed in the first: then the
    /// job only counts as done.
    Hash,
    /// Decode one part.
    Decode(Part),
}

/// A Parquet file opened for its [`Job`]s.
pub struct ParquetFile {
    file: DataFile,
    source: Source,
    /// A local file's metadata when it was opened, to tell a file changed while it was read.
    before: Option<std::fs::Metadata>,
    metadata: ArrowReaderMetadata,
    /// The row groups in parts, from the footer.
    parts: Vec<Part>,
    /// The hash job's result: bytes read and their blake3.
    hashed: Mutex<Option<(u64, blake3::Hash)>>,
    /// Jobs not yet finished.
    remaining: AtomicUsize,
}

/// Group row groups (given by their row counts) into parts of at least `min_rows` rows.
fn group_parts(row_counts: &[u64], min_rows: u64) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut first_row = 0;
    for (g, &rows) in row_counts.iter().enumerate() {
        match parts.last_mut() {
            Some(p) if p.rows < min_rows => {
                p.row_groups.end = g + 1;
                p.rows += rows;
            }
            _ => parts.push(Part {
                row_groups: g..g + 1,
                first_row,
                rows,
            }),
        }
        first_row += rows;
    }
    parts
}

/// The type a top-level column is decoded as: strings as views (plain-encoded values are then
/// not copied out of their pages) and dictionaries as their values (the engine compares and
/// spills a dictionary column as its values anyway, see `schema::decoded_type`, and decoding the
/// pages straight into values costs less than a dictionary array cast afterwards).
fn reading_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
        DataType::Dictionary(_, value) => reading_type(value),
        other => other.clone(),
    }
}

/// The reader metadata with every top-level column read as [`reading_type`] says, from the file's
/// schema `decoded` (its INT96 timestamps in the units [`super::int96::check_file`] chose). Where
/// the Parquet reader cannot read strings and dictionaries that way, INT96 units and timezones
/// are still applied.
pub(super) fn reading_metadata(
    metadata: ArrowReaderMetadata,
    decoded: &Schema,
) -> Result<ArrowReaderMetadata> {
    let schema = super::reader::with_declared_timezones(
        decoded,
        metadata.metadata().file_metadata().key_value_metadata(),
    );
    if schema
        .fields()
        .iter()
        .all(|f| reading_type(f.data_type()) == *f.data_type())
        && schema == *metadata.schema().as_ref()
    {
        return Ok(metadata);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            f.as_ref()
                .clone()
                .with_data_type(reading_type(f.data_type()))
        })
        .collect();
    let hinted = |fields: Vec<Field>| {
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        )));
        ArrowReaderMetadata::try_new(metadata.metadata().clone(), options)
    };
    if let Ok(m) = hinted(fields) {
        return Ok(m);
    }
    // Without the views and dictionaries: INT96 units must hold whatever else does not.
    if schema == *metadata.schema().as_ref() {
        return Ok(metadata);
    }
    hinted(schema.fields().iter().map(|f| f.as_ref().clone()).collect()).map_err(|e| {
        Error::Internal(format!(
            "reading INT96 timestamps in the units checked: {e}"
        ))
    })
}

/// Where a file from an object store is gathered while it is fetched and hashed.
#[derive(Clone, Copy)]
pub struct Gathering<'a> {
    /// Files larger than this go to a temporary file instead of memory.
    pub spill_over: u64,
    /// The folder of those temporary files.
    pub tmp_dir: &'a std::path::Path,
}

/// Open a Parquet file and read its footer; `None` for a file of another format. A local file
/// (or a remote file's local copy) is opened in place; a file in an object store is fetched
/// (counted by `on_bytes` and hashed as it arrives) and gathered as `gathering` says. `wanted`
/// says, from a part's first row and row count, whether it is to be decoded. The jobs returned
/// are the hash job and a decode job per wanted part. `dataset` is the side's column types,
/// which say the unit its INT96 timestamps are read in (see [`super::int96`]).
pub async fn open_parquet(
    loc: &Location,
    file: &DataFile,
    gathering: Gathering<'_>,
    on_bytes: &ByteCounter,
    wanted: impl Fn(u64, u64) -> bool,
    dataset: Option<Arc<Schema>>,
) -> Result<Option<(Arc<ParquetFile>, Vec<Job>)>> {
    if file.format.format != FileFormat::Parquet {
        return Ok(None);
    }
    let data_file = file.clone();
    let opened = match local_path(loc, file) {
        Some(path) => tokio::task::spawn_blocking(move || -> Result<ParquetFile> {
            let url = data_file.url.clone();
            let cannot_read = |e: std::io::Error| Error::format(&url, format!("cannot read: {e}"));
            let f = File::open(&path).map_err(cannot_read)?;
            let before = f.metadata().map_err(cannot_read)?;
            let source = Source::File(SharedFile {
                file: Arc::new(f),
                len: before.len(),
            });
            ParquetFile::new(data_file, source, Some(before), None, dataset.as_deref())
        })
        .await
        .map_err(crate::panics::joined)??,
        None => {
            let (source, hashed) = gather(loc, file, gathering, on_bytes).await?;
            tokio::task::spawn_blocking(move || {
                ParquetFile::new(data_file, source, None, Some(hashed), dataset.as_deref())
            })
            .await
            .map_err(crate::panics::joined)??
        }
    };
    let jobs = opened.schedule(wanted);
    Ok(Some((Arc::new(opened), jobs)))
}

/// Fetch a file from its store once, hashing it as it arrives, into memory or (past
/// `spill_over` bytes) a temporary file. When the location keeps local copies, the fetch writes
/// one, and the file is read from it.
async fn gather(
    loc: &Location,
    file: &DataFile,
    gathering: Gathering<'_>,
    on_bytes: &ByteCounter,
) -> Result<(Source, (u64, blake3::Hash))> {
    enum Into {
        Nowhere,
        Memory(BytesMut),
        Disk(File),
    }
    let dir = gathering.tmp_dir;
    let mut into = if loc.copies.is_some() {
        Into::Nowhere
    } else if file.size > gathering.spill_over {
        Into::Disk(tempfile::tempfile_in(dir).map_err(|e| Error::io(dir.display(), e))?)
    } else {
        Into::Memory(BytesMut::with_capacity(file.size as usize))
    };
    let (size, hash, copied) = fetch_hashed(loc, file, on_bytes, |chunk| {
        match &mut into {
            Into::Nowhere => {}
            Into::Memory(buf) => buf.extend_from_slice(chunk),
            Into::Disk(f) => {
                std::io::Write::write_all(f, chunk).map_err(|e| Error::io(dir.display(), e))?
            }
        }
        Ok(())
    })
    .await?;
    let on_disk = |file: File| {
        Source::File(SharedFile {
            file: Arc::new(file),
            len: size,
        })
    };
    let source = match (into, copied) {
        (_, Some((copy, _))) => on_disk(copy),
        (Into::Memory(buf), None) => Source::Memory(buf.freeze()),
        (Into::Disk(f), None) => on_disk(f),
        (Into::Nowhere, None) => {
            return Err(Error::Internal(format!(
                "{}: fetched into nowhere",
                file.url
            )))
        }
    };
    Ok((source, (size, hash)))
}

impl ParquetFile {
    /// Read the footer from `source`. `hashed` is the bytes and hash of a gathered file.
    fn new(
        file: DataFile,
        source: Source,
        before: Option<std::fs::Metadata>,
        hashed: Option<(u64, blake3::Hash)>,
        dataset: Option<&Schema>,
    ) -> Result<ParquetFile> {
        let metadata = guarded(&file.url, || {
            let metadata = super::legacy::load(&source).map_err(|e| {
                Error::format(&file.url, format!("not a readable Parquet file: {e}"))
            })?;
            let decoded = super::int96::check_file(
                &file.url,
                &Arc::new(source.clone()),
                metadata.metadata(),
                metadata.schema(),
                dataset,
            )?;
            reading_metadata(metadata, &decoded)
        })?;
        let counts: Vec<u64> = metadata
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows().max(0) as u64)
            .collect();
        Ok(ParquetFile {
            file,
            source,
            before,
            metadata,
            parts: group_parts(&counts, PART_ROWS),
            hashed: Mutex::new(hashed),
            remaining: AtomicUsize::new(0),
        })
    }

    /// The jobs of a pass: the hash job and a decode job per wanted part.
    fn schedule(&self, wanted: impl Fn(u64, u64) -> bool) -> Vec<Job> {
        let jobs: Vec<Job> = std::iter::once(Job::Hash)
            .chain(
                self.parts
                    .iter()
                    .filter(|p| wanted(p.first_row, p.rows))
                    .cloned()
                    .map(Job::Decode),
            )
            .collect();
        self.remaining.store(jobs.len(), Ordering::SeqCst);
        jobs
    }

    /// Whether this is a file on local disk, opened in place.
    pub fn is_local(&self) -> bool {
        self.before.is_some()
    }

    /// Whether the file's bytes are on local disk (the file itself, a local copy or a temporary
    /// file), not held in memory: then it may stay open for another pass.
    pub fn on_disk(&self) -> bool {
        matches!(self.source, Source::File(_))
    }

    /// The jobs of another pass over a local file, on the file opened for the first pass (call
    /// it only once every job of that pass has finished). The bytes are not hashed again: the
    /// last job checks, as within a pass, that the open file kept its length and modification
    /// time since it was opened, so the rows decoded now come from the bytes hashed then.
    pub fn jobs_again(&self, wanted: impl Fn(u64, u64) -> bool) -> Vec<Job> {
        self.schedule(wanted)
    }

    /// The rows the footer gives the file.
    fn total_rows(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.first_row + p.rows)
    }

    /// Run one job on this thread (a blocking one), passing decoded batches to `sink`. The job
    /// that completes the file returns its digest; the others return `None`.
    pub fn run(
        &self,
        job: &Job,
        on_bytes: &ByteCounter,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<Option<FileDigest>> {
        match job {
            // A local file's bytes, the first time. A gathered file was hashed as it arrived;
            // a local file read again was hashed in the first pass.
            Job::Hash => {
                let pending = self.hashed.lock().expect("hash lock").is_none();
                if let (true, Source::File(f)) = (pending, &self.source) {
                    let hashed = self.hash(f, on_bytes)?;
                    *self.hashed.lock().expect("hash lock") = Some(hashed);
                }
            }
            Job::Decode(part) => self.decode(part, sink)?,
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return Ok(None);
        }
        self.finish().map(Some)
    }

    fn hash(&self, local: &SharedFile, on_bytes: &ByteCounter) -> Result<(u64, blake3::Hash)> {
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; HASH_CHUNK];
        let mut pos = 0u64;
        loop {
            let n = local
                .file
                .read_at(&mut buf, pos)
                .map_err(|e| Error::format(&self.file.url, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        on_bytes(pos);
        Ok((pos, hasher.finalize()))
    }

    fn decode(&self, part: &Part, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        let url = &self.file.url;
        // The decoders run guarded: a panic on crafted bytes is this file's error.
        let mut reader = guarded(url, || {
            ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.source.clone(),
                self.metadata.clone(),
            )
            .with_row_groups(part.row_groups.clone().collect())
            .with_batch_size(BATCH_SIZE)
            .build()
            .map_err(|e| self.unreadable(part, &e))
        })?;
        let mut rows = 0u64;
        while let Some(batch) = guarded(url, || {
            reader
                .next()
                .transpose()
                .map_err(|e| self.unreadable(part, &e))
        })? {
            rows += batch.num_rows() as u64;
            sink(batch)?;
        }
        if rows != part.rows {
            return Err(Error::format(
                url,
                format!(
                    "not a readable Parquet file: its footer gives row groups {}..{} {} rows but {rows} were decoded",
                    part.row_groups.start, part.row_groups.end, part.rows
                ),
            ));
        }
        Ok(())
    }

    /// Up to `rows` rows from the start of the file's first row group, decoded as a pass
    /// decodes them (a look before a pass; nothing counted, nothing finished).
    pub fn first_rows(&self, rows: usize) -> Result<Vec<RecordBatch>> {
        let Some(part) = self.parts.first() else {
            return Ok(Vec::new());
        };
        let url = &self.file.url;
        let reader = guarded(url, || {
            ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.source.clone(),
                self.metadata.clone(),
            )
            .with_row_groups(vec![part.row_groups.start])
            .with_batch_size(BATCH_SIZE)
            .with_limit(rows)
            .build()
            .map_err(|e| self.unreadable(part, &e))
        })?;
        guarded(url, || {
            reader
                .map(|b| b.map_err(|e| self.unreadable(part, &e)))
                .collect()
        })
    }

    /// The error for a part the reader refused, naming the row group and the column whose
    /// pages failed where the page headers show it (the reader's message names neither).
    fn unreadable(&self, part: &Part, err: &dyn std::fmt::Display) -> Error {
        let url = &self.file.url;
        let found = guarded(url, || {
            Ok(pages::locate(
                Arc::new(self.source.clone()),
                self.metadata.metadata(),
                part.row_groups.clone(),
            ))
        });
        match found {
            Ok(Some(at)) if pages::is_checksum_mismatch(&err.to_string()) => Error::format(
                url,
                format!(
                    "corrupt: in row group {}, column `{}`, {}",
                    at.row_group, at.column, at.reason
                ),
            ),
            Ok(Some(at)) => Error::format(
                url,
                format!(
                    "not a readable Parquet file: in row group {}, column `{}`, {}",
                    at.row_group, at.column, at.reason
                ),
            ),
            _ => Error::format(url, format!("not a readable Parquet file: {err}")),
        }
    }

    /// After the last job: a local file must be the one that was opened, unchanged.
    fn finish(&self) -> Result<FileDigest> {
        let url = &self.file.url;
        let (size, hash) = self
            .hashed
            .lock()
            .expect("hash lock")
            .ok_or_else(|| Error::Internal(format!("{url}: finished before it was hashed")))?;
        if let (Source::File(local), Some(before)) = (&self.source, &self.before) {
            let after = local
                .file
                .metadata()
                .map_err(|e| Error::format(url, format!("cannot read: {e}")))?;
            if !same_contents(before, &after) || after.len() != size {
                return Err(Error::format(url, CHANGED_WHILE_READ));
            }
        }
        check_size(&self.file, size)?;
        Ok(digest(&self.file, size, hash, Some(self.total_rows())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};

    /// A Parquet file of `rows` ids in row groups of `group` rows, listed as a one-file side.
    async fn parquet_side(dir: &std::path::Path, rows: i64, group: usize) -> (Location, DataFile) {
        let path = dir.join("data.parquet");
        let ids = Int64Array::from_iter_values(0..rows);
        let batch = RecordBatch::try_from_iter([("id", Arc::new(ids) as _)]).unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            File::create(&path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let loc = crate::source::open(path.to_str().unwrap()).unwrap();
        let ds = crate::source::list(&loc, None).await.unwrap();
        (loc, ds.files[0].clone())
    }

    /// What a writer rewriting a file in place leaves: the same file, a later modification time.
    fn touch_in_place(path: &std::path::Path) {
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
    }

    fn no_count() -> ByteCounter {
        Arc::new(|_| {})
    }

    fn gathering(tmp_dir: &std::path::Path) -> Gathering<'_> {
        Gathering {
            spill_over: u64::MAX,
            tmp_dir,
        }
    }

    /// The same file as a side of an in-process object store (fetched, not opened in place).
    async fn stored_side(bytes: Vec<u8>) -> (Location, DataFile) {
        use object_store::ObjectStoreExt;
        let store = Arc::new(object_store::memory::InMemory::new());
        let path = object_store::path::Path::from("side/data.parquet");
        store.put(&path, bytes.into()).await.unwrap();
        let loc = Location {
            url: "memory:///side".into(),
            store,
            prefix: object_store::path::Path::from("side"),
            kind: crate::source::StoreKind::Memory,
            credentials: crate::source::CredentialSource::None,
            copies: None,
        };
        let ds = crate::source::list(&loc, None).await.unwrap();
        (loc, ds.files[0].clone())
    }

    /// Open the file, run its jobs last part first and the hash last of all, and check that
    /// every id arrives once at its position and that only the last job gives the digest, of
    /// `bytes`.
    async fn run_backwards(
        loc: &Location,
        file: &DataFile,
        gathering: Gathering<'_>,
        bytes: &[u8],
    ) {
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let count: ByteCounter = {
            let counted = counted.clone();
            Arc::new(move |n| {
                counted.fetch_add(n, Ordering::Relaxed);
            })
        };
        let (parquet, jobs) = open_parquet(loc, file, gathering, &count, |_, _| true, None)
            .await
            .unwrap()
            .unwrap();
        // 300,000 rows in groups of 50,000 join into parts of at least PART_ROWS (131,072)
        // rows: groups 0..3 and 3..6.
        let parts: Vec<(Range<usize>, u64)> = parquet
            .parts
            .iter()
            .map(|p| (p.row_groups.clone(), p.first_row))
            .collect();
        assert_eq!(parts, vec![(0..3, 0), (3..6, 150_000)]);
        assert_eq!(jobs.len(), 3);
        let mut seen = vec![0u8; 300_000];
        let mut digests = Vec::new();
        for job in jobs.iter().rev() {
            let first = match job {
                Job::Decode(p) => p.first_row as i64,
                Job::Hash => 0,
            };
            let mut position = first;
            let mut sink = |b: RecordBatch| -> Result<()> {
                let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                for (i, id) in ids.values().iter().enumerate() {
                    assert_eq!(*id, position + i as i64, "a row out of place");
                    seen[*id as usize] += 1;
                }
                position += ids.len() as i64;
                Ok(())
            };
            digests.push(parquet.run(job, &count, &mut sink).unwrap());
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert!(digests[..2].iter().all(Option::is_none));
        let digest = digests[2].clone().expect("the last job gives the digest");
        assert_eq!(digest.blake3, blake3::hash(bytes).to_hex().to_string());
        assert_eq!(
            (digest.size, digest.rows),
            (bytes.len() as u64, Some(300_000))
        );
        assert_eq!(counted.load(Ordering::Relaxed), bytes.len() as u64);
    }

    #[tokio::test]
    async fn jobs_in_any_order_decode_every_row_once_and_the_last_gives_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let (loc, file) = parquet_side(dir.path(), 300_000, 50_000).await;
        let bytes = std::fs::read(dir.path().join("data.parquet")).unwrap();
        run_backwards(&loc, &file, gathering(dir.path()), &bytes).await;
        // Fetched from a store: gathered in memory, or in a temporary file past `spill_over`.
        let (stored, stored_file) = stored_side(bytes.clone()).await;
        run_backwards(&stored, &stored_file, gathering(dir.path()), &bytes).await;
        let to_disk = Gathering {
            spill_over: 0,
            tmp_dir: dir.path(),
        };
        run_backwards(&stored, &stored_file, to_disk, &bytes).await;
    }

    #[tokio::test]
    async fn only_wanted_parts_are_decoded_but_the_file_is_still_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (loc, file) = parquet_side(dir.path(), 300_000, 50_000).await;
        let (parquet, jobs) = open_parquet(
            &loc,
            &file,
            gathering(dir.path()),
            &no_count(),
            |first, rows| (first..first + rows).contains(&200_000),
            None,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(jobs.len(), 2);
        let mut decoded = 0usize;
        let mut last = None;
        for job in &jobs {
            let mut sink = |b: RecordBatch| -> Result<()> {
                decoded += b.num_rows();
                Ok(())
            };
            last = parquet.run(job, &no_count(), &mut sink).unwrap();
        }
        assert_eq!(decoded, 150_000);
        assert_eq!(last.unwrap().rows, Some(300_000));
    }

    #[test]
    fn strings_decode_as_views_and_dictionaries_as_their_values() {
        use arrow::array::{DictionaryArray, StringArray, StringViewArray};
        use arrow::datatypes::Int32Type;
        let names: DictionaryArray<Int32Type> =
            vec![Some("paid"), None, Some("open"), Some("paid")]
                .into_iter()
                .collect();
        let amounts = DictionaryArray::<Int32Type>::new(
            arrow::array::Int32Array::from(vec![1, 0, 1, 1]),
            Arc::new(Int64Array::from(vec![-5, 70])),
        );
        let notes = StringArray::from(vec![
            Some("a note longer than twelve bytes"),
            Some(""),
            None,
            Some("x"),
        ]);
        let batch = RecordBatch::try_from_iter([
            ("status", Arc::new(names) as _),
            ("amount", Arc::new(amounts) as _),
            ("note", Arc::new(notes) as _),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let bytes = Bytes::from(buf);
        let metadata = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).unwrap();
        assert!(matches!(
            metadata.schema().field(0).data_type(),
            DataType::Dictionary(_, _)
        ));
        let schema = metadata.schema().as_ref().clone();
        let metadata = reading_metadata(metadata, &schema).unwrap();
        let types: Vec<DataType> = metadata
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            vec![DataType::Utf8View, DataType::Int64, DataType::Utf8View]
        );
        let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, metadata)
            .build()
            .unwrap();
        let got = reader.next().unwrap().unwrap();
        assert_eq!(
            got.column(0)
                .as_any()
                .downcast_ref::<StringViewArray>()
                .unwrap(),
            &StringViewArray::from(vec![Some("paid"), None, Some("open"), Some("paid")])
        );
        assert_eq!(
            got.column(1).as_any().downcast_ref::<Int64Array>().unwrap(),
            &Int64Array::from(vec![70, -5, 70, 70])
        );
        assert_eq!(
            got.column(2)
                .as_any()
                .downcast_ref::<StringViewArray>()
                .unwrap(),
            &StringViewArray::from(vec![
                Some("a note longer than twelve bytes"),
                Some(""),
                None,
                Some("x")
            ])
        );
    }

    #[tokio::test]
    async fn a_second_pass_reads_the_open_file_without_hashing_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let (loc, file) = parquet_side(dir.path(), 300_000, 50_000).await;
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let count: ByteCounter = {
            let counted = counted.clone();
            Arc::new(move |n| {
                counted.fetch_add(n, Ordering::Relaxed);
            })
        };
        let rows = std::sync::atomic::AtomicUsize::new(0);
        let mut sink = |b: RecordBatch| -> Result<()> {
            rows.fetch_add(b.num_rows(), Ordering::Relaxed);
            Ok(())
        };
        let (parquet, jobs) = open_parquet(
            &loc,
            &file,
            gathering(dir.path()),
            &count,
            |_, _| true,
            None,
        )
        .await
        .unwrap()
        .unwrap();
        let mut first = None;
        for job in &jobs {
            first = parquet.run(job, &count, &mut sink).unwrap();
        }
        let first = first.unwrap();
        assert!(parquet.is_local());
        assert_eq!(counted.load(Ordering::Relaxed), first.size);

        // Only the second part, on the same open file: the same digest, no byte hashed again.
        let again = parquet.jobs_again(|first_row, _| first_row > 0);
        assert_eq!(again.len(), 2);
        let mut second = None;
        for job in &again {
            second = parquet.run(job, &count, &mut sink).unwrap();
        }
        assert_eq!(second.unwrap(), first);
        assert_eq!(counted.load(Ordering::Relaxed), first.size);
        assert_eq!(rows.load(Ordering::Relaxed), 300_000 + 150_000);

        // Written in place since: the next pass refuses it.
        touch_in_place(&dir.path().join("data.parquet"));
        let again = parquet.jobs_again(|_, _| true);
        let results: Vec<_> = again
            .iter()
            .map(|job| parquet.run(job, &count, &mut sink))
            .collect();
        let err = results.into_iter().last().unwrap().unwrap_err();
        assert!(
            err.to_string().contains("changed while it was being read"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_file_rewritten_between_jobs_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (loc, file) = parquet_side(dir.path(), 1000, 100).await;
        let (parquet, jobs) = open_parquet(
            &loc,
            &file,
            gathering(dir.path()),
            &no_count(),
            |_, _| true,
            None,
        )
        .await
        .unwrap()
        .unwrap();
        let mut sink = |_: RecordBatch| -> Result<()> { Ok(()) };
        parquet.run(&jobs[0], &no_count(), &mut sink).unwrap();
        // Written in place: the modification time moves on.
        touch_in_place(&dir.path().join("data.parquet"));
        let err = parquet.run(&jobs[1], &no_count(), &mut sink).unwrap_err();
        assert!(
            err.to_string().contains("changed while it was being read"),
            "{err}"
        );
    }

    #[test]
    fn row_groups_join_into_parts_of_the_minimum_size() {
        let parts = group_parts(&[100, 50, 10, 200, 5, 5], 150);
        let summary: Vec<(Range<usize>, u64, u64)> = parts
            .into_iter()
            .map(|p| (p.row_groups, p.first_row, p.rows))
            .collect();
        assert_eq!(
            summary,
            vec![(0..2, 0, 150), (2..4, 150, 210), (4..6, 360, 10)]
        );
        assert!(group_parts(&[], 150).is_empty());
        assert_eq!(group_parts(&[7, 7], 1).len(), 2);
    }
}
