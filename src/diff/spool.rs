//! A side's hashed rows, kept within a memory budget.
//!
//! Batches arrive projected and hashed (three extra columns: row hash, key hash, null-key
//! flag). While they fit in the side's share of `--memory-limit` they stay in memory. When they
//! do not, the spool switches to disk: every batch is split by key hash into a fixed number of
//! partitions and appended to one Arrow IPC file per partition in a temporary folder. Tier 3
//! then diffs partition by partition, so only one partition of each side is in memory at once.
//! Both sides use the same partition count and the same hash bits, so equal keys always land in
//! the same partition.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, FixedSizeBinaryArray};
use arrow::buffer::Buffer;
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::FileWriter;
use arrow::record_batch::RecordBatch;

use super::gather;
use crate::error::{Error, Result};
use crate::fingerprint::logical::{hash_at, KeyHashes, RowHashes};

/// Column holding the 16-byte row hash.
pub const ROW_HASH: &str = "__parity_row_hash";
/// Column holding the 16-byte key hash.
pub const KEY_HASH: &str = "__parity_key_hash";
/// Column flagging rows with a null key component.
pub const NULL_KEY: &str = "__parity_null_key";

/// The schema of spooled batches: the projected columns and the three hash columns.
pub fn spooled_schema(projected: &SchemaRef) -> SchemaRef {
    with_fields(projected, &hash_fields())
}

/// Schema metadata naming the layout of spooled batches whose rows are not hashed yet.
const LAYOUT: &str = "parity.spool";
const KEYED: &str = "keyed";

/// The schema of spooled batches whose rows are not hashed yet: the projected columns, the key
/// hash and the null-key flag (tier 3 makes the row hashes, see [`row_hashes`]), marked so in
/// its metadata, which spill files keep.
pub fn keyed_schema(projected: &SchemaRef) -> SchemaRef {
    let [_, key, null] = hash_fields();
    let schema = with_fields(projected, &[key, null]);
    let metadata: std::collections::HashMap<String, String> =
        [(LAYOUT.to_string(), KEYED.to_string())]
            .into_iter()
            .collect();
    let marked = schema.as_ref().clone().with_metadata(metadata);
    Arc::new(marked)
}

fn with_fields(projected: &SchemaRef, more: &[Field]) -> SchemaRef {
    let mut fields: Vec<Field> = projected
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend_from_slice(more);
    Arc::new(Schema::new(fields))
}

/// The three hash columns that follow the projected ones.
fn hash_fields() -> [Field; 3] {
    [
        Field::new(ROW_HASH, DataType::FixedSizeBinary(16), false),
        Field::new(KEY_HASH, DataType::FixedSizeBinary(16), false),
        Field::new(NULL_KEY, DataType::Boolean, false),
    ]
}

/// Attach row hashes to a projected batch, its columns kept in the spooled layout: what tier 3
/// holds in memory.
pub fn attach(schema: &SchemaRef, batch: &RecordBatch, hashes: RowHashes) -> Result<RecordBatch> {
    compact(schema, &hashed(batch, hashes)?)
}

/// A projected batch with its row hashes attached, its columns as decoded: strings may still be
/// views on their pages. A [`Spool`] copies them out: all at once when it keeps the batch in
/// memory, row by row into their partitions when it spills.
pub fn hashed(batch: &RecordBatch, hashes: RowHashes) -> Result<RecordBatch> {
    let mut cols = batch.columns().to_vec();
    cols.push(Arc::new(hashes.row));
    cols.push(Arc::new(hashes.key));
    cols.push(Arc::new(hashes.null_key));
    RecordBatch::try_new(spooled_schema(&batch.schema()), cols)
        .map_err(|e| Error::Internal(format!("attaching hashes: {e}")))
}

/// A projected batch with its key hashes attached (no row hashes: see [`keyed_schema`]), its
/// columns as decoded.
pub fn keyed(batch: &RecordBatch, keys: KeyHashes) -> Result<RecordBatch> {
    let schema = keyed_schema(&batch.schema());
    let mut cols = batch.columns().to_vec();
    cols.push(Arc::new(keys.key));
    cols.push(Arc::new(keys.null_key));
    RecordBatch::try_new(schema, cols)
        .map_err(|e| Error::Internal(format!("attaching key hashes: {e}")))
}

/// A batch made by [`hashed`] in the spooled layout. Strings read as views are copied out (or compacted,
/// when views are the spooled layout), so a kept row never holds its whole page alive.
pub fn compact(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let cols = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(match c.data_type() {
                    DataType::Utf8View => Arc::new(c.as_string_view().gc()) as ArrayRef,
                    DataType::BinaryView => Arc::new(c.as_binary_view().gc()) as ArrayRef,
                    _ => c.clone(),
                })
            } else {
                gather::cast_to(c, f)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| Error::Internal(format!("attaching hashes: {e}")))
}

/// The partition of a key hash (high 64 bits, so tier 3's in-memory grouping, which uses the
/// low bits, stays independent of it).
#[inline]
pub fn partition_of(key_hash: u128, partitions: usize) -> usize {
    ((key_hash >> 64) as u64 % partitions as u64) as usize
}

/// The key-hash column of a spooled batch.
pub fn key_hashes(batch: &RecordBatch) -> &FixedSizeBinaryArray {
    batch.column(batch.num_columns() - 2).as_fixed_size_binary()
}

/// The row-hash column of a spooled batch; `None` for a batch whose rows were spooled by key
/// only ([`keyed_schema`]), whose row hashes tier 3 makes from its cells. The layout is read
/// from the schema's metadata, never from column names, which a table may share.
pub fn row_hashes(batch: &RecordBatch) -> Option<&FixedSizeBinaryArray> {
    let keyed = batch
        .schema_ref()
        .metadata()
        .get(LAYOUT)
        .map(String::as_str)
        == Some(KEYED);
    (!keyed).then(|| batch.column(batch.num_columns() - 3).as_fixed_size_binary())
}

/// The null-key column of a spooled batch.
pub fn null_keys(batch: &RecordBatch) -> &arrow::array::BooleanArray {
    batch.column(batch.num_columns() - 1).as_boolean()
}

/// Split batches held in memory (in the spooled layout) by partition, [`STAGE_ROWS`] rows at a
/// time: each run of batches is gathered in partition order and dropped before the next, so
/// the split holds the rows once (and one run twice), not all of them twice.
pub fn split(batches: Vec<RecordBatch>, partitions: usize) -> Result<Vec<Vec<RecordBatch>>> {
    let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    let mut run: Vec<RecordBatch> = Vec::new();
    let mut rows = 0;
    let mut batches = batches.into_iter().peekable();
    while let Some(batch) = batches.next() {
        rows += batch.num_rows();
        run.push(batch);
        if rows < STAGE_ROWS && batches.peek().is_some() {
            continue;
        }
        for (p, part) in split_sorted(&run[0].schema(), &run, partitions)? {
            out[p].push(part);
        }
        (run, rows) = (Vec::new(), 0);
    }
    Ok(out)
}

/// Batches' rows by partition, in the spooled layout `schema`: one gather puts the rows of all
/// of them in partition order, and each partition's rows are a slice of that. With a slice per
/// partition rather than a `take` each, rows spread over hundreds of partitions cost one copy,
/// not hundreds of tiny arrays.
fn split_sorted(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    partitions: usize,
) -> Result<Vec<(usize, RecordBatch)>> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        return Ok(Vec::new());
    }
    let mut of: Vec<(u32, u32, u32)> = Vec::with_capacity(rows);
    let mut starts = vec![0usize; partitions + 1];
    for (b, batch) in batches.iter().enumerate() {
        let keys = key_hashes(batch);
        for row in 0..batch.num_rows() {
            let p = partition_of(hash_at(keys, row), partitions);
            starts[p + 1] += 1;
            of.push((p as u32, b as u32, row as u32));
        }
    }
    if let [batch] = batches {
        if let Some(p) = (0..partitions).find(|&p| starts[p + 1] == rows) {
            return Ok(vec![(p, compact(schema, batch)?)]);
        }
    }
    for p in 0..partitions {
        starts[p + 1] += starts[p];
    }
    let mut next = starts.clone();
    let mut order = vec![(0usize, 0usize); rows];
    for &(p, b, row) in &of {
        order[next[p as usize]] = (b as usize, row as usize);
        next[p as usize] += 1;
    }
    let sorted = gather(schema, batches, &order)?;
    Ok((0..partitions)
        .filter(|&p| starts[p + 1] > starts[p])
        .map(|p| (p, sorted.slice(starts[p], starts[p + 1] - starts[p])))
        .collect())
}

/// The rows `order` names, (batch, row), as one batch of `schema`'s types. Hash columns and
/// strings still held as views are copied straight to where they go: one copy a value.
fn gather(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    order: &[(usize, usize)],
) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| {
            let sources: Vec<&ArrayRef> = batches.iter().map(|b| b.column(c)).collect();
            gather::column(&sources, order, field)
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(format!("partitioning: {e}")))
}

/// Rows gathered before a spilled batch is split by partition: splitting a few hundred rows
/// over hundreds of partitions would write a few rows to each.
const STAGE_ROWS: usize = 64 * 1024;

/// Rows a partition's slice needs on average to be written as it is, not concatenated first.
const WRITTEN_ROWS: usize = 4096;

/// The bytes a slice of a batch stands for: its share of the whole batch's buffers (a slice
/// reports the size of the buffers it shares).
fn slice_bytes(whole: usize, rows: usize, of: usize) -> usize {
    if of == 0 {
        0
    } else {
        (whole as u128 * rows as u128 / of as u128) as usize
    }
}

struct PartFile {
    path: PathBuf,
    writer: Option<FileWriter<BufWriter<File>>>,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
}

/// A side's rows, in memory or spilled to partition files.
pub struct Spool {
    schema: SchemaRef,
    budget: usize,
    used: usize,
    partitions: usize,
    dir: PathBuf,
    name: &'static str,
    memory: Vec<RecordBatch>,
    parts: Option<Vec<PartFile>>,
    staged: Vec<RecordBatch>,
    staged_rows: usize,
    spilled_bytes: u64,
    /// How many rows will come, when the caller knows: rows that will not fit are spilled
    /// from the start rather than held until the budget is full.
    expected_rows: Option<u64>,
    rows: u64,
}

/// What a finished spool holds.
pub enum Spooled {
    /// Everything fitted in memory.
    Memory(Vec<RecordBatch>),
    /// One IPC file per partition (absent when the partition is empty).
    Disk {
        /// The schema of the files.
        schema: SchemaRef,
        /// Per partition, its file.
        files: Vec<Option<PathBuf>>,
    },
}

impl Spool {
    /// A spool for one side. `dir` is the run's private temporary folder.
    pub fn new(
        schema: SchemaRef,
        budget: usize,
        partitions: usize,
        dir: &Path,
        name: &'static str,
    ) -> Self {
        Spool {
            schema,
            budget,
            used: 0,
            partitions,
            dir: dir.to_path_buf(),
            name,
            memory: Vec::new(),
            parts: None,
            staged: Vec::new(),
            staged_rows: 0,
            spilled_bytes: 0,
            expected_rows: None,
            rows: 0,
        }
    }

    /// The spool of a read that knows how many rows it keeps (the differing rows).
    pub fn expecting(mut self, rows: u64) -> Self {
        self.expected_rows = Some(rows);
        self
    }

    /// Whether the rows expected would pass the budget, at the size a row has had so far.
    fn will_overflow(&self) -> bool {
        match self.expected_rows {
            Some(expected) if self.rows > 0 => {
                self.used as u128 * u128::from(expected) / u128::from(self.rows)
                    > self.budget as u128
            }
            _ => false,
        }
    }

    /// Bytes written to disk so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    /// Whether batches now go to the partition files.
    pub fn spilling(&self) -> bool {
        self.parts.is_some()
    }

    /// Add a batch made by [`hashed`]: kept in the spooled layout, or staged as it is to be
    /// copied out into its partitions.
    #[cfg(test)]
    fn push_hashed(&mut self, batch: RecordBatch) -> Result<()> {
        if self.spilling() {
            self.spill(batch)
        } else {
            self.push(compact(&self.schema, &batch)?)
        }
    }

    /// Add a batch in the spooled layout (see [`attach`]), or, once the spool is spilling, one
    /// as made by [`hashed`]: its rows are copied into their partitions either way.
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if self.parts.is_none() {
            let size = batch.get_array_memory_size();
            if self.used + size <= self.budget {
                self.used += size;
                self.rows += batch.num_rows() as u64;
                self.memory.push(batch);
                if !self.will_overflow() {
                    return Ok(());
                }
                return self.start_spilling();
            }
            self.start_spilling()?;
        }
        self.spill(batch)
    }

    fn start_spilling(&mut self) -> Result<()> {
        let parts = (0..self.partitions)
            .map(|p| PartFile {
                path: self.dir.join(format!("{}-{p:04}.arrow", self.name)),
                writer: None,
                pending: Vec::new(),
                pending_bytes: 0,
            })
            .collect();
        self.parts = Some(parts);
        for batch in std::mem::take(&mut self.memory) {
            self.spill(batch)?;
        }
        self.used = 0;
        Ok(())
    }

    fn spill(&mut self, batch: RecordBatch) -> Result<()> {
        self.staged_rows += batch.num_rows();
        self.staged.push(batch);
        if self.staged_rows >= STAGE_ROWS {
            self.split_staged()?;
        }
        Ok(())
    }

    /// Split the staged rows by partition into the partitions' buffers, writing those that are
    /// full.
    fn split_staged(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let staged = std::mem::take(&mut self.staged);
        let rows = std::mem::take(&mut self.staged_rows);
        // Each partition buffers a little before writing, so the IPC files are not made of
        // tiny batches; the buffers together stay within a quarter of the budget.
        let flush_at = (self.budget / 4 / self.partitions).max(64 << 10);
        let parts = split_sorted(&self.schema, &staged, self.partitions)?;
        drop(staged);
        let whole: usize = parts.first().map_or(0, |(_, b)| b.get_array_memory_size());
        for (p, part) in parts {
            let size = slice_bytes(whole, part.num_rows(), rows);
            let file = &mut self.parts.as_mut().expect("spilling")[p];
            file.pending.push(part);
            file.pending_bytes += size;
            if file.pending_bytes >= flush_at {
                self.spilled_bytes += flush(&self.schema, file)?;
            }
        }
        Ok(())
    }

    /// Finish: flush and close every partition file.
    pub fn finish(mut self) -> Result<Spooled> {
        match &self.parts {
            None => Ok(Spooled::Memory(self.memory)),
            Some(_) => {
                self.split_staged()?;
                let mut parts = self.parts.take().expect("spilling");
                let mut files = Vec::with_capacity(parts.len());
                for part in parts.iter_mut() {
                    self.spilled_bytes += flush(&self.schema, part)?;
                    match part.writer.take() {
                        Some(mut w) => {
                            w.finish()
                                .map_err(|e| Error::spill(part.path.display(), e))?;
                            files.push(Some(part.path.clone()));
                        }
                        None => files.push(None),
                    }
                }
                Ok(Spooled::Disk {
                    schema: self.schema.clone(),
                    files,
                })
            }
        }
    }
}

fn flush(schema: &SchemaRef, file: &mut PartFile) -> Result<u64> {
    if file.pending.is_empty() {
        return Ok(0);
    }
    // Slices of a few thousand rows are written as they are; smaller ones are put together
    // first, so that a partition file is not made of tiny batches.
    let rows: usize = file.pending.iter().map(RecordBatch::num_rows).sum();
    let batches = if rows / file.pending.len() >= WRITTEN_ROWS {
        std::mem::take(&mut file.pending)
    } else {
        let whole = concat_batches(schema, &file.pending)
            .map_err(|e| Error::Internal(format!("spilling: {e}")))?;
        file.pending.clear();
        vec![whole]
    };
    let bytes = file.pending_bytes as u64;
    file.pending_bytes = 0;
    let io = |e: arrow::error::ArrowError| Error::spill(file.path.display(), e);
    if file.writer.is_none() {
        let f = File::create(&file.path).map_err(|e| Error::spill(file.path.display(), e))?;
        file.writer = Some(FileWriter::try_new(BufWriter::new(f), schema).map_err(io)?);
    }
    let writer = file.writer.as_mut().expect("writer");
    for batch in &batches {
        // A slice of view columns shares its data buffers with the other partitions' slices:
        // written as it is, each partition file would hold all of them.
        writer.write(&compact(schema, batch)?).map_err(io)?;
    }
    Ok(bytes)
}

/// Read one spilled partition file back, each batch read in one piece and decoded in place
/// (its arrays are slices of what was read, not copies).
pub fn read_partition(path: &Path) -> Result<Vec<RecordBatch>> {
    // Spill files are parity's own, but the disk under them may not be: a decoder panic on a
    // damaged one is an error naming it.
    crate::panics::guarded(&path.display().to_string(), || {
        let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
        decode_file(&file).map_err(|e| Error::io(path.display(), std::io::Error::other(e)))
    })
}

/// The record batches of an Arrow IPC file.
fn decode_file(file: &File) -> std::result::Result<Vec<RecordBatch>, String> {
    use arrow::ipc::convert::try_fb_to_schema;
    use arrow::ipc::reader::{read_footer_length, FileDecoder};
    let damaged = |what: &str| format!("not a whole Arrow IPC file ({what})");
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let trailer = size.checked_sub(10).ok_or_else(|| damaged("too short"))?;
    let trailer_bytes: [u8; 10] = read_at(file, trailer, 10)?
        .as_slice()
        .try_into()
        .map_err(|_| damaged("trailer"))?;
    let footer_len = read_footer_length(trailer_bytes).map_err(|e| e.to_string())?;
    let footer_start = trailer
        .checked_sub(footer_len as u64)
        .ok_or_else(|| damaged("footer length"))?;
    let footer_bytes = read_at(file, footer_start, footer_len)?;
    let footer = arrow::ipc::root_as_footer(&footer_bytes).map_err(|e| e.to_string())?;
    let schema = try_fb_to_schema(footer.schema().ok_or_else(|| damaged("no schema"))?)
        .map_err(|e| e.to_string())?;
    let mut decoder = FileDecoder::new(Arc::new(schema), footer.version());
    let block_of = |block: &arrow::ipc::Block| -> std::result::Result<Buffer, String> {
        let start = u64::try_from(block.offset()).map_err(|_| damaged("block offset"))?;
        // A message starts with at least its marker and length (8 bytes).
        let len = usize::try_from(block.metaDataLength())
            .ok()
            .filter(|&m| m >= 8)
            .zip(usize::try_from(block.bodyLength()).ok())
            .and_then(|(m, b)| m.checked_add(b))
            .ok_or_else(|| damaged("block length"))?;
        if start
            .checked_add(len as u64)
            .is_none_or(|end| end > footer_start)
        {
            return Err(damaged("block past the end"));
        }
        Ok(Buffer::from_vec(read_at(file, start, len)?))
    };
    for block in footer.dictionaries().iter().flatten() {
        decoder
            .read_dictionary(block, &block_of(block)?)
            .map_err(|e| e.to_string())?;
    }
    let mut batches = Vec::new();
    for block in footer.recordBatches().iter().flatten() {
        let batch = decoder
            .read_record_batch(block, &block_of(block)?)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| damaged("a block without its rows"))?;
        batches.push(batch);
    }
    Ok(batches)
}

/// `len` bytes of `file` from `offset`, read into fresh memory (never zeroed first).
fn read_at(file: &File, offset: u64, len: usize) -> std::result::Result<Vec<u8>, String> {
    let out = crate::source::parts::pread_fresh(file, offset, len).map_err(|e| e.to_string())?;
    if out.len() != len {
        return Err(format!(
            "not a whole Arrow IPC file (ends within the {len} bytes at {offset})"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray, StringViewArray, UInt32Array};

    /// Two kept rows out of many long strings, as a view column still pointing at all of them.
    fn kept_views() -> RecordBatch {
        let long: Vec<String> = (0..1000).map(|i| format!("{i:0>40}")).collect();
        let all = StringViewArray::from_iter_values(long.iter());
        let kept = arrow::compute::take(&all, &UInt32Array::from(vec![3, 998]), None).unwrap();
        RecordBatch::try_from_iter([("s", kept)]).unwrap()
    }

    fn hashes(n: usize) -> RowHashes {
        let fixed =
            || FixedSizeBinaryArray::try_from_iter(std::iter::repeat_n([7u8; 16], n)).unwrap();
        RowHashes {
            row: fixed(),
            key: fixed(),
            null_key: arrow::array::BooleanArray::from(vec![false; n]),
        }
    }

    #[test]
    fn kept_views_are_copied_out_and_never_hold_their_pages() {
        let batch = kept_views();
        let held: usize = batch
            .column(0)
            .as_string_view()
            .data_buffers()
            .iter()
            .map(|b| b.len())
            .sum();
        assert_eq!(held, 40_000, "the taken views still point at every value");
        let want = StringArray::from(vec![format!("{:0>40}", 3), format!("{:0>40}", 998)]);

        // Spooled as plain strings: cast.
        let plain = spooled_schema(&Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8,
            true,
        )])));
        let spooled = attach(&plain, &batch, hashes(2)).unwrap();
        assert_eq!(spooled.column(0).as_string::<i32>(), &want);

        // Spooled as views: compacted to the two values kept.
        let views = spooled_schema(&Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8View,
            true,
        )])));
        let spooled = attach(&views, &batch, hashes(2)).unwrap();
        let column = spooled.column(0).as_string_view();
        let held: usize = column.data_buffers().iter().map(|b| b.len()).sum();
        assert_eq!(held, 80);
        assert_eq!(
            column.iter().map(Option::unwrap).collect::<Vec<_>>(),
            want.iter().map(Option::unwrap).collect::<Vec<_>>()
        );
    }

    /// A spooled batch of `n` rows: column `v` is the row number, key hashes spread out.
    fn numbered(n: u32) -> RecordBatch {
        let schema = spooled_schema(&Arc::new(Schema::new(vec![Field::new(
            "v",
            DataType::UInt32,
            false,
        )])));
        let keys = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            (0..n).map(|i| {
                let h = (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
                Some(h.to_le_bytes())
            }),
            16,
        )
        .unwrap();
        let hashes = RowHashes {
            row: keys.clone(),
            key: keys,
            null_key: arrow::array::BooleanArray::from(vec![false; n as usize]),
        };
        let batch = RecordBatch::try_from_iter([(
            "v",
            Arc::new(UInt32Array::from_iter_values(0..n)) as ArrayRef,
        )])
        .unwrap();
        attach(&schema, &batch, hashes).unwrap()
    }

    /// The values of a [`numbered`] batch, every row checked to lie in partition `p` of
    /// `partitions`.
    fn values_in_partition(batch: &RecordBatch, p: usize, partitions: usize) -> Vec<u32> {
        let keys = key_hashes(batch);
        for row in 0..batch.num_rows() {
            assert_eq!(partition_of(hash_at(keys, row), partitions), p);
        }
        let values = batch
            .column(0)
            .as_primitive::<arrow::datatypes::UInt32Type>();
        values.values().to_vec()
    }

    #[test]
    fn a_split_puts_every_row_in_its_partition_once_in_order() {
        let batch = numbered(1000);
        let parts = split_sorted(&batch.schema(), std::slice::from_ref(&batch), 7).unwrap();
        let mut seen = Vec::new();
        for (p, part) in &parts {
            let values = part
                .column(0)
                .as_primitive::<arrow::datatypes::UInt32Type>();
            let keys = key_hashes(part);
            for row in 0..part.num_rows() {
                assert_eq!(partition_of(hash_at(keys, row), 7), *p);
            }
            let v: Vec<u32> = values.values().to_vec();
            assert!(
                v.windows(2).all(|w| w[0] < w[1]),
                "partition {p} keeps row order"
            );
            seen.extend(v);
        }
        assert_eq!(parts.len(), 7);
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<u32>>());
        assert!(split_sorted(&numbered(0).schema(), &[numbered(0)], 7)
            .unwrap()
            .is_empty());
        let one = split_sorted(&numbered(1).schema(), &[numbered(1)], 7).unwrap();
        assert_eq!((one.len(), one[0].1.num_rows()), (1, 1));
    }

    #[test]
    fn rows_held_in_memory_split_into_partitions_a_run_of_batches_at_a_time() {
        // 200,000 rows in batches of 30,000 (the last one shorter): runs of at least
        // STAGE_ROWS rows are split one after another.
        let all = numbered(200_000);
        let batches: Vec<RecordBatch> = (0..200_000)
            .step_by(30_000)
            .map(|at| all.slice(at, 30_000.min(200_000 - at)))
            .collect();
        let parts = split(batches, 5).unwrap();
        assert_eq!(parts.len(), 5);
        let mut seen = Vec::new();
        for (p, part) in parts.iter().enumerate() {
            // Three runs (90,000, 90,000 and 20,000 rows), each giving every partition a slice.
            assert_eq!(part.len(), 3, "partition {p}");
            let mut values = Vec::new();
            for batch in part {
                values.extend(values_in_partition(batch, p, 5));
            }
            assert!(
                values.windows(2).all(|w| w[0] < w[1]),
                "partition {p} keeps row order"
            );
            seen.extend(values);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..200_000).collect::<Vec<u32>>());
    }

    #[test]
    fn a_spilled_spool_holds_every_row_once_whatever_the_batch_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let schema = numbered(0).schema();
        let mut spool = Spool::new(schema, 1 << 10, 16, dir.path(), "left");
        let whole = numbered(200_000);
        let mut at = 0;
        for size in [1usize, 5, 300, 70_000, 8192, 100_000].iter().cycle() {
            if at >= whole.num_rows() {
                break;
            }
            let take = (*size).min(whole.num_rows() - at);
            spool.push(whole.slice(at, take)).unwrap();
            at += take;
        }
        let Spooled::Disk { files, .. } = spool.finish().unwrap() else {
            panic!("a 1 KiB budget spills");
        };
        let mut seen: Vec<u32> = Vec::new();
        for (p, file) in files.iter().enumerate() {
            for batch in read_partition(file.as_ref().unwrap()).unwrap() {
                seen.extend(values_in_partition(&batch, p, 16));
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..200_000).collect::<Vec<u32>>());
    }

    #[test]
    fn a_spool_that_expects_more_rows_than_fit_spills_from_its_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let batch = numbered(1000);
        let size = batch.get_array_memory_size();
        let schema = batch.schema();
        // Room for two such batches; ten are coming.
        let mut spool =
            Spool::new(schema.clone(), 2 * size + 1, 4, dir.path(), "left").expecting(10_000);
        spool.push(batch.clone()).unwrap();
        assert!(spool.parts.is_some(), "spilled at the first batch");
        assert!(spool.memory.is_empty());
        // Expecting no more than fits, the rows stay in memory.
        let mut spool = Spool::new(schema, 2 * size + 1, 4, dir.path(), "right").expecting(2_000);
        spool.push(batch.clone()).unwrap();
        spool.push(batch).unwrap();
        assert!(matches!(spool.finish().unwrap(), Spooled::Memory(b) if b.len() == 2));
    }

    /// Row hashes spread over partitions, for rows numbered from `first`.
    fn spread(first: u32, n: u32) -> RowHashes {
        let keys = FixedSizeBinaryArray::try_from_iter((first..first + n).map(|i| {
            (i as u128)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
                .to_le_bytes()
        }))
        .unwrap();
        RowHashes {
            row: keys.clone(),
            key: keys,
            null_key: arrow::array::BooleanArray::from(vec![false; n as usize]),
        }
    }

    /// Row `i`'s values: a number, a string (null every 7th, long every 3rd), 16 bytes (null
    /// every 5th).
    fn row_values(i: u32) -> (u32, Option<String>, Option<[u8; 16]>) {
        let text = match i % 7 {
            0 => None,
            _ if i % 3 == 0 => Some(format!("a value longer than twelve bytes, row {i}")),
            _ => Some(format!("r{i}")),
        };
        let bytes = (i % 5 != 0).then_some([(i % 251) as u8; 16]);
        (i, text, bytes)
    }

    /// Rows `first..first + n` as decoded: strings as views on a page holding other rows too.
    fn decoded(first: u32, n: u32) -> RecordBatch {
        let rows: Vec<_> = (first..first + n + 10).map(row_values).collect();
        let page = StringViewArray::from_iter(rows.iter().map(|r| r.1.clone()));
        let batch = RecordBatch::try_from_iter([
            (
                "v",
                Arc::new(UInt32Array::from_iter_values(first..first + n + 10)) as ArrayRef,
            ),
            ("s", Arc::new(page) as ArrayRef),
            (
                "b",
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        rows.iter().map(|r| r.2),
                        16,
                    )
                    .unwrap(),
                ) as ArrayRef,
            ),
        ])
        .unwrap();
        hashed(&batch.slice(0, n as usize), spread(first, n)).unwrap()
    }

    /// Every row read back from a finished spool, by number.
    fn read_back(spooled: Spooled) -> Vec<(u32, Option<String>, Option<[u8; 16]>)> {
        let batches = match spooled {
            Spooled::Memory(b) => b,
            Spooled::Disk { files, .. } => files
                .iter()
                .flatten()
                .flat_map(|f| read_partition(f).unwrap())
                .collect(),
        };
        let mut rows = Vec::new();
        for b in &batches {
            let v = b.column(0).as_primitive::<arrow::datatypes::UInt32Type>();
            let s = b.column(1);
            let f = b.column(2).as_fixed_size_binary();
            for i in 0..b.num_rows() {
                let text = match s.data_type() {
                    DataType::Utf8 => s.as_string::<i32>(),
                    other => panic!("spooled strings are {other}"),
                };
                rows.push((
                    v.value(i),
                    text.is_valid(i).then(|| text.value(i).to_string()),
                    f.is_valid(i).then(|| f.value(i).try_into().unwrap()),
                ));
            }
        }
        rows.sort_by_key(|r| r.0);
        rows
    }

    #[test]
    fn decoded_rows_spill_and_come_back_with_their_values_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let projected = Arc::new(Schema::new(vec![
            Field::new("v", DataType::UInt32, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::FixedSizeBinary(16), true),
        ]));
        let schema = spooled_schema(&projected);
        // The first batches fit and are kept in the spooled layout; the spool then spills, and
        // its first split holds those beside batches still as decoded.
        let first = decoded(0, 300);
        let budget = 2 * compact(&schema, &first).unwrap().get_array_memory_size();
        let mut spool = Spool::new(schema, budget, 8, dir.path(), "left");
        spool.push_hashed(first).unwrap();
        assert!(!spool.spilling(), "the first batch fits");
        let mut at = 300;
        for n in [1u32, 2000, 77, 70_000, 4096, 17] {
            spool.push_hashed(decoded(at, n)).unwrap();
            at += n;
        }
        assert!(spool.spilling());
        let spooled = spool.finish().unwrap();
        assert!(matches!(spooled, Spooled::Disk { .. }));
        let want: Vec<_> = (0..at).map(row_values).collect();
        assert_eq!(read_back(spooled), want);
    }

    #[test]
    fn a_damaged_spill_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(numbered(0).schema(), 1, 2, dir.path(), "right");
        spool.push(numbered(5000)).unwrap();
        let Spooled::Disk { files, .. } = spool.finish().unwrap() else {
            panic!("a budget of one byte spills");
        };
        let path = files[0].clone().unwrap();
        let keys = numbered(5000);
        let keys = key_hashes(&keys);
        let in_first = (0..5000)
            .filter(|&i| partition_of(hash_at(keys, i), 2) == 0)
            .count();
        let rows = |batches: Vec<RecordBatch>| batches.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(rows(read_partition(&path).unwrap()), in_first);
        let whole = std::fs::read(&path).unwrap();
        for cut in [whole.len() - 3, whole.len() / 2, 4, 0] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let err = read_partition(&path).unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()), "{cut}: {err}");
        }
        // The footer's length (before the closing magic) past the file, then too short.
        for footer_len in [i32::MAX, 8] {
            let mut damaged = whole.clone();
            let n = damaged.len();
            damaged[n - 10..n - 6].copy_from_slice(&footer_len.to_le_bytes());
            std::fs::write(&path, &damaged).unwrap();
            let err = read_partition(&path).unwrap_err().to_string();
            assert!(
                err.contains(&path.display().to_string()),
                "{footer_len}: {err}"
            );
        }
    }

    #[test]
    fn spilled_views_take_only_their_own_strings() {
        // Strings kept as views: each partition's slice shares the gathered batch's data
        // buffer, and must be written with its own strings only.
        let dir = tempfile::tempdir().unwrap();
        let projected = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        let mut spool = Spool::new(spooled_schema(&projected), 1, 8, dir.path(), "left");
        let n = 100_000u32;
        let text: Vec<String> = (0..n).map(|i| format!("{i:0>40}")).collect();
        for (k, chunk) in text.chunks(10_000).enumerate() {
            let column = StringViewArray::from_iter_values(chunk.iter());
            let batch = RecordBatch::try_from_iter([("s", Arc::new(column) as ArrayRef)]).unwrap();
            let first = (k * 10_000) as u32;
            let hashed = hashed(&batch, spread(first, chunk.len() as u32)).unwrap();
            spool.push_hashed(hashed).unwrap();
        }
        let Spooled::Disk { files, .. } = spool.finish().unwrap() else {
            panic!("a budget of one byte spills");
        };
        let bytes: u64 = files
            .iter()
            .flatten()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        // A row is 40 bytes of string, a 16-byte view, 32 bytes of hashes and a flag.
        assert!(bytes < 2 * 90 * u64::from(n), "{bytes} bytes spilled");
        let mut back: Vec<String> = files
            .iter()
            .flatten()
            .flat_map(|f| read_partition(f).unwrap())
            .flat_map(|b| {
                let column = b.column(0).as_string_view().clone();
                column
                    .iter()
                    .map(|v| v.unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        back.sort();
        assert_eq!(back, text);
    }
}
