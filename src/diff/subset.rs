//! The differing-rows subset: how tier 3 stays small when the inputs are large.
//!
//! When the rows do not fit in memory, the fingerprint pass keeps, per side, only a compact
//! index with one 16-byte entry a row: the low 64 bits of its key hash (of its row hash without
//! a key), with a key 32 more bits of its row hash, and its row number in arrival order; plus a
//! short table of batches that maps a row's number back to its file and position. Entries are
//! split into 256 groups by eight bits of their hash as they arrive; when the groups in memory
//! outgrow the index's share of the budget they are appended to a file in the run's temporary
//! folder, so the index holds any number of rows (up to 2^31 a side) at a bounded memory.
//! Without a key, the row hashes are only logged in arrival order during the pass and split
//! into their groups when the index is first used or spills: equivalent sides skip that work.
//!
//! If the fingerprints differ, the two sides are subtracted as multisets one group at a time
//! (a spilled group is read back; each group's hash tables stay near cache size, on two
//! threads): what is left is the rows that differ (rows only on one side, and both versions of
//! every changed or within-tolerance row), marked in a bitmap of each file's row positions (an
//! eighth of a byte a row, however many differ). The second pass reads only the files that hold
//! such rows (and of a Parquet file, only the runs of row groups that do), keeps only those
//! rows, and hashes nothing else, so tier 3 works on the differences instead of the whole table.
//!
//! Duplicate keys are counted from the same groups (every duplicated key, including ones whose
//! rows are identical on both sides; null keys aside), and the set of duplicated keys goes to
//! tier 3 so a duplicated key is matched as a multiset exactly as it would be on the whole
//! table. An index whose rows outnumber its row numbers is dropped and the engine falls back to
//! spilling whole rows by key-hash partition.
//!
//! When many rows differ, most in one column alone (a load timestamp not yet ignored), the
//! index may hold that column apart ([`HashIndex::holding_apart`]): a row's entry then matches
//! on its key and a hash of its other cells, and the column's 64-bit cell hash is kept beside
//! it, in the same group and order (8 bytes a row more). The subtraction counts the pairs that
//! differ only there instead of marking them to be read again, but for the pairs among the
//! smallest keys, which are read so that the samples are those of a full diff.
//!
//! The entries are shorter than the 128-bit hashes, so a changed row could in principle keep
//! the same entry and be left out. The engine checks the subset against the fingerprints: the
//! rows left out pair up exactly, so the kept rows' hash sums must differ exactly as the whole
//! sides' do (with a column held apart, every column's sums must, that column's once the counted
//! pairs' terms are added); when they do not, every row is read again instead.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, BooleanArray, FixedSizeBinaryArray};
use arrow_buffer::BooleanBuffer;

use crate::error::{Error, Result};
use crate::fingerprint::logical::{column_term, halves, RowHashes};

/// The values hashed here are already uniform 64-bit hashes: use them as they are.
#[derive(Default)]
pub struct Unhashed(u64);

impl Hasher for Unhashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    /// A 32-bit word after a 64-bit hash (a `(hash, check)` pair) folds into the high half.
    fn write_u32(&mut self, v: u32) {
        self.0 ^= u64::from(v) << 32;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by a 64-bit hash.
pub type HashMap64<V> = HashMap<u64, V, BuildHasherDefault<Unhashed>>;
/// A set of 64-bit hashes.
pub type HashSet64 = HashSet<u64, BuildHasherDefault<Unhashed>>;

/// Where the bits that split hashes into groups start. Not the top bits (the hash tables'
/// control bytes) nor the low ones (their slot numbers), so tables built over one group are as
/// uniform as tables over all.
const GROUP_SHIFT: u32 = 24;

/// 64-bit hashes split into 256 groups by eight of their bits as they arrive, so that
/// finding repeated values works one cache-sized group at a time instead of sorting tens of
/// millions.
#[derive(Debug)]
pub struct HashGroups {
    groups: Vec<Vec<u64>>,
}

impl Default for HashGroups {
    fn default() -> Self {
        HashGroups {
            groups: vec![Vec::new(); GROUPS],
        }
    }
}

impl HashGroups {
    /// Add one hash.
    #[inline]
    pub fn push(&mut self, h: u64) {
        self.groups[group_of(h)].push(h);
    }

    /// Count the distinct values that occur more than once, adding them to `into`.
    pub fn duplicated(&self, into: &mut HashSet64) -> u64 {
        let mut seen = HashSet64::default();
        self.groups
            .iter()
            .map(|g| repeated(g.iter().copied(), &mut seen, into))
            .sum()
    }
}

/// Count the distinct values of one group that occur more than once, adding them to `into`.
/// `seen` is scratch space, cleared here.
fn repeated(values: impl Iterator<Item = u64>, seen: &mut HashSet64, into: &mut HashSet64) -> u64 {
    seen.clear();
    let mut count = 0;
    for h in values {
        // The second sighting of a value counts it; later ones find it counted.
        if !seen.insert(h) && into.insert(h) {
            count += 1;
        }
    }
    count
}

/// How many groups the index splits its entries into, by eight bits of their hash.
const GROUPS: usize = 256;

/// Flag in an entry's row number: the row has a null key component.
const NULL_FLAG: u32 = 1 << 31;

/// Values in chunks of `CAP`: growing never copies, and at most one chunk is partly empty
/// (a doubling `Vec` per group would leave up to half of each allocation unused and copy
/// everything at every doubling).
#[derive(Debug, Clone)]
struct Chunked<T, const CAP: usize> {
    chunks: Vec<Vec<T>>,
}

/// Entries a group's chunk holds: 32 KiB.
const GROUP_CHUNK: usize = 2048;

impl<T, const CAP: usize> Default for Chunked<T, CAP> {
    fn default() -> Self {
        Chunked { chunks: Vec::new() }
    }
}

impl<T: Copy, const CAP: usize> Chunked<T, CAP> {
    fn extend_from_slice(&mut self, mut values: &[T]) {
        while !values.is_empty() {
            match self.chunks.last_mut() {
                Some(c) if c.len() < CAP => {
                    let n = (CAP - c.len()).min(values.len());
                    c.extend_from_slice(&values[..n]);
                    values = &values[n..];
                }
                _ => self.chunks.push(Vec::with_capacity(CAP)),
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.chunks.iter().flatten().copied()
    }
}

/// One row's entry: the low 64 bits of its key hash (of its row hash without a key), with a key
/// 32 more bits of its row hash (else 0), and its row number on its side in arrival order with
/// [`NULL_FLAG`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
struct Entry {
    hash: u64,
    check: u32,
    row: u32,
}

/// Bytes an entry takes in memory and in the spill file.
const ENTRY_BYTES: usize = 16;

impl Entry {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.check.to_le_bytes());
        out.extend_from_slice(&self.row.to_le_bytes());
    }

    fn read(b: &[u8]) -> Entry {
        let word = |r: std::ops::Range<usize>| -> [u8; 4] { b[r].try_into().expect("4 bytes") };
        Entry {
            hash: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            check: u32::from_le_bytes(word(8..12)),
            row: u32::from_le_bytes(word(12..16)),
        }
    }

    /// The (hash, check) pair rows are matched on.
    fn pair(&self) -> (u64, u32) {
        (self.hash, self.check)
    }
}

/// The entries of one group held in memory.
type Group = Chunked<Entry, GROUP_CHUNK>;

impl Group {
    /// Append a full line of staged entries. A group's entries are not read again during the
    /// pass, so they are streamed to memory: a plain store would first fetch every line it
    /// writes, for nothing.
    fn push_line(&mut self, line: &[Entry; STAGED]) {
        match self.chunks.last_mut() {
            Some(c) if GROUP_CHUNK - c.len() >= STAGED => stream_line(c, line),
            Some(c) if c.len() < GROUP_CHUNK => self.extend_from_slice(line),
            _ => {
                let mut c = Vec::with_capacity(GROUP_CHUNK);
                stream_line(&mut c, line);
                self.chunks.push(c);
            }
        }
    }
}

/// Append `line` to `chunk`, which has room for it, with non-temporal stores on x86-64.
#[cfg(target_arch = "x86_64")]
fn stream_line(chunk: &mut Vec<Entry>, line: &[Entry; STAGED]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
    assert!(chunk.capacity() - chunk.len() >= STAGED, "room for a line");
    // SAFETY: the chunk has room for the line (asserted); an `Entry` is 16 bytes aligned to 16,
    // so each slot past the length is an aligned 16-byte store target and each source a
    // readable 16-byte value; SSE2 is part of every x86-64 CPU. The length covers the new
    // entries only once they are written. `HashIndex::add` fences the stores before the index
    // can be read on another thread.
    unsafe {
        let out = chunk.as_mut_ptr().add(chunk.len()).cast::<__m128i>();
        for (i, e) in line.iter().enumerate() {
            _mm_stream_si128(out.add(i), _mm_loadu_si128((e as *const Entry).cast()));
        }
        chunk.set_len(chunk.len() + STAGED);
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn stream_line(chunk: &mut Vec<Entry>, line: &[Entry; STAGED]) {
    chunk.extend_from_slice(line);
}

/// Order the streamed stores before any later store (the unlock that hands the index on).
fn fence_streamed() {
    // SAFETY: SSE is part of every x86-64 CPU; the fence has no operands.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// Entries staged per group before they are copied into their group a few at a time: writing
/// each entry straight to one of 256 far-apart places misses the cache and the TLB nearly
/// every time; the staging area (32 KiB) stays in the cache, and the copies are whole lines.
#[derive(Clone)]
struct Staging {
    slots: Vec<[Entry; STAGED]>,
    len: [u8; GROUPS],
}

/// Entries staged per group.
const STAGED: usize = 8;

impl Staging {
    fn new() -> Self {
        Staging {
            slots: vec![[Entry::default(); STAGED]; GROUPS],
            len: [0; GROUPS],
        }
    }

    #[inline]
    fn push(&mut self, groups: &mut [Group], e: Entry) {
        self.push_to(groups, group_of(e.hash), e);
    }

    /// Stage an entry for group `g`.
    #[inline]
    fn push_to(&mut self, groups: &mut [Group], g: usize, e: Entry) {
        let n = usize::from(self.len[g]);
        self.slots[g][n] = e;
        if n + 1 == STAGED {
            groups[g].push_line(&self.slots[g]);
            self.len[g] = 0;
        } else {
            self.len[g] = (n + 1) as u8;
        }
    }

    fn flush(&mut self, groups: &mut [Group]) {
        for (g, group) in groups.iter_mut().enumerate() {
            let n = usize::from(self.len[g]);
            group.extend_from_slice(&self.slots[g][..n]);
            self.len[g] = 0;
        }
    }
}

/// Groups written to disk when the index outgrew its memory: one file, appended a spill at a
/// time, each spill writing the groups one after another.
#[derive(Debug)]
struct IndexSpill {
    path: PathBuf,
    file: File,
    /// Per group, where its entries are: (offset, entries), one per spill that had some.
    segments: Vec<Vec<(u64, u32)>>,
    /// Bytes written so far (the next offset).
    written: u64,
}

impl IndexSpill {
    fn create(dir: &Path, name: &str) -> Result<IndexSpill> {
        let path = dir.join(format!("{name}-index.bin"));
        let file = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::spill(path.display(), e))?;
        Ok(IndexSpill {
            path,
            file,
            segments: vec![Vec::new(); GROUPS],
            written: 0,
        })
    }

    /// Append every group's entries, emptying the groups.
    fn append(&mut self, groups: &mut [Group]) -> Result<()> {
        let mut buf = Vec::new();
        for (g, group) in groups.iter_mut().enumerate() {
            let entries = std::mem::take(group);
            buf.clear();
            let mut n = 0u32;
            for e in entries.iter() {
                e.write(&mut buf);
                n += 1;
            }
            if n == 0 {
                continue;
            }
            self.file
                .write_all_at(&buf, self.written)
                .map_err(|e| Error::spill(self.path.display(), e))?;
            self.segments[g].push((self.written, n));
            self.written += buf.len() as u64;
        }
        Ok(())
    }

    /// The entries of group `g`, in the order they were written.
    fn read(&self, g: usize, out: &mut Vec<Entry>) -> Result<()> {
        let mut buf = Vec::new();
        for &(offset, n) in &self.segments[g] {
            buf.resize(n as usize * ENTRY_BYTES, 0);
            self.file
                .read_exact_at(&mut buf, offset)
                .map_err(|e| Error::io(self.path.display(), e))?;
            out.extend(buf.chunks_exact(ENTRY_BYTES).map(Entry::read));
        }
        Ok(())
    }
}

impl Drop for IndexSpill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One side's compact row index from the fingerprint pass: 16 bytes a row, split into
/// [`GROUPS`] groups by eight bits of the hash as the rows arrive, and written to a file in
/// the run's temporary folder whenever the groups in memory outgrow their cap, so the index
/// has no size limit but the disk's.
#[derive(Debug, Clone)]
pub struct HashIndex {
    cap: usize,
    groups: Vec<Group>,
    staging: Staging,
    /// Entries in memory (groups and staging).
    held: usize,
    spill_dir: Option<PathBuf>,
    name: String,
    spill: Option<Arc<Mutex<IndexSpill>>>,
    /// Rows with a null key component.
    null_rows: u64,
    /// Where each batch's rows are: (first row number, file, first position in the file).
    runs: Vec<(u32, u32, u32)>,
    /// How many files the side has.
    files: usize,
    /// The next row's number.
    next_row: u32,
    overflow: bool,
    /// The cell hashes of a column held apart ([`HashIndex::holding_apart`]).
    apart: Option<Box<HeldCells>>,
    /// Without a key, the row hashes (low 64 bits) of the rows from number `logged_from` on,
    /// in arrival order: staged into their groups only when the index is used or spills, so
    /// two sides that turn out equivalent never pay for it.
    log: Chunked<u64, LOG_CHUNK>,
    logged_from: u32,
}

/// Row hashes a chunk of the log of an index without a key holds: 64 KiB.
const LOG_CHUNK: usize = 8192;

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Staging")
    }
}

impl HashIndex {
    /// An index of `files` files that holds up to `cap` bytes of entries in memory; past that
    /// it writes them to a file in `spill_dir` (named after `name`), or gives up without one.
    pub fn new(files: usize, cap: usize, spill_dir: Option<&Path>, name: &str) -> Self {
        HashIndex {
            cap,
            groups: vec![Group::default(); GROUPS],
            staging: Staging::new(),
            held: 0,
            spill_dir: spill_dir.map(Path::to_path_buf),
            name: name.to_string(),
            spill: None,
            null_rows: 0,
            runs: Vec::new(),
            files,
            next_row: 0,
            overflow: false,
            apart: None,
            log: Chunked::default(),
            logged_from: 0,
        }
    }

    /// The index of a keyed side that holds one column's cell hashes apart: rows are matched
    /// on their key and a hash of their other cells ([`HashIndex::add_apart`]), so the
    /// subtraction can count the pairs that differ only in that column without reading them
    /// again. The entries get two thirds of the cap, the cells (half their size) one third.
    pub fn holding_apart(mut self) -> Self {
        self.cap /= 3;
        let name = format!("{}-apart", self.name);
        let cells = HeldCells::new(self.files, self.cap, self.spill_dir.as_deref(), &name);
        self.apart = Some(Box::new(cells));
        self.cap *= 2;
        self
    }

    /// Whether the index could not hold every row (more rows or positions than its 31- and
    /// 32-bit numbers hold, or past its cap without a folder to spill to), and was dropped.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Bytes of entries written to disk.
    pub fn spilled_bytes(&self) -> u64 {
        let own = self
            .spill
            .as_ref()
            .map_or(0, |s| s.lock().expect("index spill lock").written);
        own + self.apart.as_ref().map_or(0, |a| a.entries.spilled_bytes())
    }

    /// Distinct duplicated keys and null-key rows, from this index alone.
    pub fn key_counts(&mut self) -> Result<(u64, u64)> {
        self.flush();
        let (mut seen, mut into) = (HashSet64::default(), HashSet64::default());
        let mut entries = Vec::new();
        let mut dups = 0;
        for g in 0..GROUPS {
            self.load(g, &mut entries)?;
            dups += duplicated_in(&entries, &mut seen, &mut into);
            into.clear();
        }
        Ok((dups, self.null_rows))
    }

    /// Add the hashes of a batch of file `file` whose first row is at `position` in the file.
    /// Batches may arrive in any order, from any file.
    pub fn add(
        &mut self,
        file: usize,
        position: u64,
        hashes: &RowHashes,
        keyed: bool,
    ) -> Result<()> {
        let Some(first) = self.number(file, position, hashes.row.len())? else {
            return Ok(());
        };
        if keyed {
            self.null_rows += hashes.null_key.true_count() as u64;
            let checks = halves(&hashes.row).map(|(_, high)| high as u32);
            self.stage(keyed_entries(hashes, first, checks));
        } else {
            if self.log.chunks.is_empty() {
                self.logged_from = first;
            }
            for chunk in hashes.row.value_data().chunks(16 * LOG_CHUNK) {
                let lows: Vec<u64> = chunk
                    .chunks_exact(16)
                    .map(|h| u64::from_le_bytes(h[..8].try_into().expect("8 bytes")))
                    .collect();
                self.log.extend_from_slice(&lows);
            }
        }
        Ok(())
    }

    /// Stage the logged row hashes of an index without a key into their groups.
    fn stage_log(&mut self) {
        let log = std::mem::take(&mut self.log);
        let first = self.logged_from;
        let (groups, staging) = (&mut self.groups, &mut self.staging);
        let mut row = first;
        for chunk in log.chunks {
            for h in chunk {
                staging.push(
                    groups,
                    Entry {
                        hash: h,
                        check: 0,
                        row,
                    },
                );
                row += 1;
            }
        }
        fence_streamed();
        self.logged_from = row;
    }

    /// Add a keyed batch to an index [`holding_apart`](HashIndex::holding_apart) a column:
    /// each row matched on `rest` (32 bits of the hash of its cells but that column's), and
    /// that column's cell hash (`cells`) held apart. Returns false once the index has given up.
    pub fn add_apart(
        &mut self,
        file: usize,
        position: u64,
        hashes: &RowHashes,
        rest: &[u32],
        cells: &[u64],
    ) -> Result<bool> {
        let n = hashes.row.len();
        assert!(rest.len() == n && cells.len() == n, "a hash for every row");
        let Some(first) = self.number(file, position, n)? else {
            return Ok(false);
        };
        self.null_rows += hashes.null_key.true_count() as u64;
        self.stage(keyed_entries(hashes, first, rest.iter().copied()));
        let apart = self
            .apart
            .as_mut()
            .expect("an index holding a column apart");
        if !apart.add(file, position, &hashes.key, cells)? {
            self.give_up();
            return Ok(false);
        }
        Ok(true)
    }

    /// Number the next `n` rows, from `position` in file `file`, making room for their entries:
    /// the first one's number, or `None` when the index cannot hold them and gives up.
    fn number(&mut self, file: usize, position: u64, n: usize) -> Result<Option<u32>> {
        if self.overflow {
            return Ok(None);
        }
        let first = self.next_row;
        let numbered = u64::from(first) + n as u64 <= u64::from(NULL_FLAG)
            && position + n as u64 <= u64::from(u32::MAX);
        if !numbered {
            self.give_up();
            return Ok(None);
        }
        if (self.held + n) * ENTRY_BYTES > self.cap {
            if self.spill_dir.is_none() {
                self.give_up();
                return Ok(None);
            }
            self.spill_groups()?;
        }
        self.runs.push((first, file as u32, position as u32));
        self.next_row += n as u32;
        self.held += n;
        Ok(Some(first))
    }

    /// Stage entries into their groups.
    fn stage(&mut self, entries: impl Iterator<Item = Entry>) {
        let (groups, staging) = (&mut self.groups, &mut self.staging);
        for e in entries {
            staging.push(groups, e);
        }
        fence_streamed();
    }

    /// Move every staged entry into its group (this index's and the one held apart).
    fn flush(&mut self) {
        self.stage_log();
        self.staging.flush(&mut self.groups);
        if let Some(a) = &mut self.apart {
            a.entries.flush();
        }
    }

    fn give_up(&mut self) {
        if let Some(a) = &mut self.apart {
            a.entries.give_up();
            a.waiting.fill(None);
        }
        self.overflow = true;
        self.log = Chunked::default();
        self.groups = vec![Group::default(); GROUPS];
        self.runs = Vec::new();
        self.spill = None;
        self.held = 0;
    }

    /// Write the groups in memory to the spill file.
    fn spill_groups(&mut self) -> Result<()> {
        self.stage_log();
        self.staging.flush(&mut self.groups);
        let spill = match &self.spill {
            Some(s) => s.clone(),
            None => {
                let dir = self.spill_dir.as_deref().expect("a spill folder");
                let s = Arc::new(Mutex::new(IndexSpill::create(dir, &self.name)?));
                self.spill = Some(s.clone());
                s
            }
        };
        spill
            .lock()
            .expect("index spill lock")
            .append(&mut self.groups)?;
        self.held = 0;
        Ok(())
    }

    /// Every entry of group `g`: those spilled, then those in memory (flush the staging first).
    fn load(&self, g: usize, out: &mut Vec<Entry>) -> Result<()> {
        out.clear();
        if let Some(spill) = &self.spill {
            spill.lock().expect("index spill lock").read(g, out)?;
        }
        out.extend(self.groups[g].iter());
        Ok(())
    }

    /// How many rows each file has, from the runs.
    fn file_rows(&self) -> Vec<u64> {
        let mut rows = vec![0u64; self.files];
        for (i, &(first, file, pos)) in self.runs.iter().enumerate() {
            let end = self.runs.get(i + 1).map_or(self.next_row, |r| r.0);
            let f = &mut rows[file as usize];
            *f = (*f).max(u64::from(pos) + u64::from(end - first));
        }
        rows
    }

    /// The file and position of each row number set in `rows`, as a selection.
    fn locate(&self, rows: &Bits) -> Selection {
        let mut builders: Vec<Option<Vec<u64>>> = vec![None; self.files];
        let file_rows = self.file_rows();
        for (i, &(first, file, pos)) in self.runs.iter().enumerate() {
            let end = self.runs.get(i + 1).map_or(self.next_row, |r| r.0);
            for row in rows.ones(first as usize, end as usize) {
                let words = builders[file as usize].get_or_insert_with(|| {
                    vec![0u64; (file_rows[file as usize] as usize).div_ceil(64)]
                });
                let at = pos as usize + (row - first as usize);
                words[at / 64] |= 1 << (at % 64);
            }
        }
        Selection {
            files: builders
                .into_iter()
                .zip(file_rows)
                .map(|(words, n)| {
                    words.map(|w| {
                        BooleanBuffer::new(arrow_buffer::Buffer::from_vec(w), 0, n as usize)
                    })
                })
                .collect(),
        }
    }
}

/// The cell hashes of a column held apart, one a row, in the same group and order as the rows'
/// own entries: two cells to an entry (the first in the hash and the second in the check and
/// row number), a group's odd cell waiting for its next.
#[derive(Debug, Clone)]
struct HeldCells {
    entries: HashIndex,
    /// Per group, a cell waiting for the next of its group to fill an entry.
    waiting: Vec<Option<u64>>,
}

impl HeldCells {
    /// Cells of `files` files, up to `cap` bytes in memory before they spill to `spill_dir`.
    fn new(files: usize, cap: usize, spill_dir: Option<&Path>, name: &str) -> Self {
        // The entries' index counts a full entry for every cell numbered; each takes half one.
        let cap = cap.saturating_mul(2);
        HeldCells {
            entries: HashIndex::new(files, cap, spill_dir, name),
            waiting: vec![None; GROUPS],
        }
    }

    /// Add the cells of a batch, each to the group of its row's key; false once the index has
    /// given up.
    fn add(
        &mut self,
        file: usize,
        position: u64,
        keys: &FixedSizeBinaryArray,
        cells: &[u64],
    ) -> Result<bool> {
        if self.entries.number(file, position, cells.len())?.is_none() {
            return Ok(false);
        }
        let HashIndex {
            groups, staging, ..
        } = &mut self.entries;
        for ((key, _), &cell) in halves(keys).zip(cells) {
            let g = group_of(key);
            match self.waiting[g].take() {
                None => self.waiting[g] = Some(cell),
                Some(first) => {
                    let e = Entry {
                        hash: first,
                        check: cell as u32,
                        row: (cell >> 32) as u32,
                    };
                    staging.push_to(groups, g, e);
                }
            }
        }
        fence_streamed();
        Ok(true)
    }

    /// Every cell of group `g`, in order (the staging flushed first).
    fn load(&self, g: usize, out: &mut Vec<u64>) -> Result<()> {
        let mut entries = Vec::new();
        self.entries.load(g, &mut entries)?;
        out.clear();
        out.reserve(entries.len() * 2 + 1);
        for e in &entries {
            out.push(e.hash);
            out.push(u64::from(e.check) | u64::from(e.row) << 32);
        }
        out.extend(self.waiting[g]);
        Ok(())
    }
}

/// A bitmap over a side's row numbers.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: u32) -> Bits {
        Bits(vec![0; (n as usize).div_ceil(64)])
    }

    #[inline]
    fn set(&mut self, i: u32) {
        self.0[i as usize / 64] |= 1 << (i % 64);
    }

    fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    /// The set positions in `from..to`, ascending.
    fn ones(&self, from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
        (from / 64..to.div_ceil(64)).flat_map(move |w| {
            let mut word = self.0[w];
            std::iter::from_fn(move || {
                while word != 0 {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    let at = w * 64 + bit;
                    if (from..to).contains(&at) {
                        return Some(at);
                    }
                }
                None
            })
        })
    }

    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[inline]
fn group_of(h: u64) -> usize {
    ((h >> GROUP_SHIFT) as usize) % GROUPS
}

/// The entries of a keyed batch whose first row is numbered `first`: each row's key hash, its
/// check from `checks`, its number and whether its key has a null.
fn keyed_entries<'a>(
    hashes: &'a RowHashes,
    first: u32,
    checks: impl Iterator<Item = u32> + 'a,
) -> impl Iterator<Item = Entry> + 'a {
    halves(&hashes.key)
        .zip(checks)
        .enumerate()
        .map(move |(i, (k, check))| {
            let flag = if hashes.null_key.value(i) {
                NULL_FLAG
            } else {
                0
            };
            Entry {
                hash: k.0,
                check,
                row: (first + i as u32) | flag,
            }
        })
}

/// Count the distinct keys of one group seen more than once (null keys aside), adding them to
/// `into`.
fn duplicated_in(entries: &[Entry], seen: &mut HashSet64, into: &mut HashSet64) -> u64 {
    let keys = entries
        .iter()
        .filter(|e| e.row & NULL_FLAG == 0)
        .map(|e| e.hash);
    repeated(keys, seen, into)
}

/// The rows of a side to read again: per file, a bitmap of its row positions (`None` for a file
/// with none).
#[derive(Debug, Clone)]
pub struct Selection {
    files: Vec<Option<BooleanBuffer>>,
}

impl Selection {
    /// Whether file `file` holds a selected row.
    pub fn has_rows(&self, file: usize) -> bool {
        self.files[file].is_some()
    }

    /// Selected rows in all files.
    pub fn count(&self) -> usize {
        self.files
            .iter()
            .flatten()
            .map(BooleanBuffer::count_set_bits)
            .sum()
    }

    /// The selected positions of file `file`, ascending.
    pub fn positions(&self, file: usize) -> Vec<u32> {
        self.files[file]
            .as_ref()
            .map_or_else(Vec::new, |b| b.set_indices().map(|i| i as u32).collect())
    }

    /// Whether file `file` holds a selected row among `rows` rows from `first_row`.
    pub fn selects(&self, file: usize, first_row: u64, rows: u64) -> bool {
        let Some(bits) = &self.files[file] else {
            return false;
        };
        let from = (first_row as usize).min(bits.len());
        let len = (rows as usize).min(bits.len() - from);
        len > 0 && bits.slice(from, len).count_set_bits() > 0
    }
}

/// What the two indexes say differs.
#[derive(Debug)]
pub struct Differences {
    /// Left rows to read again.
    pub left: Selection,
    /// Right rows to read again.
    pub right: Selection,
    /// Keys (low 64 bits of the key hash) that occur more than once on either side.
    pub duplicate_keys: HashSet64,
    /// Distinct duplicated keys on the left.
    pub dup_left: u64,
    /// Distinct duplicated keys on the right.
    pub dup_right: u64,
    /// Null-key rows on the left.
    pub null_left: u64,
    /// Null-key rows on the right.
    pub null_right: u64,
    /// The pairs counted as differing only in the column held apart, not read again.
    pub apart: Option<ApartCount>,
}

/// What the subtraction of two indexes holding a column apart needs besides them.
#[derive(Debug, Clone)]
pub struct Apart {
    /// The column held apart (its place in the plan).
    pub column: usize,
    /// The keys (low 64 bits of their hashes) of the left rows with the smallest keys: a pair
    /// among them is read again, so that the samples, the pairs with the smallest keys, are
    /// the ones a full diff shows.
    pub candidates: HashSet64,
    /// Samples of changed rows wanted: at least that many pairs differing only in the column
    /// must be among the candidates for the pairs not read again to be left out of them.
    pub samples: usize,
}

/// The pairs that differ only in the column held apart and are counted without being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApartCount {
    /// The column (its place in the plan).
    pub column: usize,
    /// How many pairs.
    pub pairs: u64,
    /// The wrapping sum of their column terms ([`column_term`]), left minus right: what the
    /// column's fingerprints differ by besides the rows read again.
    pub sum: u128,
}

/// How a subtraction treats a column held apart: the pairs that differ only there are counted
/// (but for the sample candidates), or all read again.
#[derive(Clone, Copy)]
struct Holding<'a> {
    apart: &'a Apart,
    read_all: bool,
}

/// What one thread found in its share of the groups.
struct Found {
    left: Bits,
    right: Bits,
    dup_left: u64,
    dup_right: u64,
    left_dups: HashSet64,
    right_dups: HashSet64,
    /// Pairs that differ only in the column held apart, not marked to be read: how many, and
    /// the sum of their terms.
    apart_pairs: u64,
    apart_sum: u128,
    /// Pairs that differ only in the column held apart among the sample candidates.
    apart_hits: u64,
}

impl Found {
    /// Nothing found yet, with room for `left` and `right` rows.
    fn new(left: u32, right: u32) -> Found {
        Found {
            left: Bits::new(left),
            right: Bits::new(right),
            dup_left: 0,
            dup_right: 0,
            left_dups: HashSet64::default(),
            right_dups: HashSet64::default(),
            apart_pairs: 0,
            apart_sum: 0,
            apart_hits: 0,
        }
    }

    /// Take in what another thread found.
    fn absorb(&mut self, other: Found) {
        self.left.or(&other.left);
        self.right.or(&other.right);
        self.dup_left += other.dup_left;
        self.dup_right += other.dup_right;
        self.left_dups.extend(other.left_dups);
        self.right_dups.extend(other.right_dups);
        self.apart_pairs += other.apart_pairs;
        self.apart_sum = self.apart_sum.wrapping_add(other.apart_sum);
        self.apart_hits += other.apart_hits;
    }
}

/// One (hash, check) pair's copies in a group: how many on each side, and the row of the first
/// copy on each side.
#[derive(Clone, Copy, Default)]
struct Copies {
    left: u32,
    right: u32,
    first_left: u32,
    first_right: u32,
}

/// [`Copies`] of a pair whose rows hold a column apart: the first copies' rows keep their
/// null-key flag, and their cells of that column are beside them.
#[derive(Clone, Copy, Default)]
struct ApartCopies {
    copies: Copies,
    cell_left: u64,
    cell_right: u64,
}

/// The hash tables and buffers of one subtraction, kept between groups so their memory is
/// reused.
#[derive(Default)]
struct Scratch {
    copies: HashMap<(u64, u32), Copies, BuildHasherDefault<Unhashed>>,
    apart_copies: HashMap<(u64, u32), ApartCopies, BuildHasherDefault<Unhashed>>,
    /// Pairs with surplus copies that are not the first of their side: how many are left to take.
    repeated_left: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    repeated_right: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    seen: HashSet64,
    left: Vec<Entry>,
    right: Vec<Entry>,
    /// The entries of the column held apart, in the same order (empty when none is).
    left_cells: Vec<u64>,
    right_cells: Vec<u64>,
}

/// Entries (both sides) a group's tables hold at most at once. A larger group, as the index of
/// a hundred million rows a side makes, is split by more of its hash bits into runs subtracted
/// one after another, so the tables stay in the cache however many rows the sides have (at
/// 100M rows a side, the subtraction took 5.1 s in one run a group, 2.2 times the 10M cost a
/// row). At 128K the 10M bench pair's groups (about 78K entries) need no split: its
/// subtraction took 0.19-0.20 s against 0.21-0.25 s at 64K (0.28-0.29 s against 0.33-0.35 s
/// with a column held apart), and the 100M pair's 4.03-4.18 s against 4.27-4.29 s.
const SUB_ENTRIES: usize = 128 * 1024;

/// The run of a group an entry's hash falls in, among `subs` (a power of two): bits above those
/// that choose the group.
#[inline]
fn sub_of(hash: u64, subs: usize) -> usize {
    (hash >> 32) as usize & (subs - 1)
}

/// Subtract the two sides' entries of one group (see [`subtract_entries`]), a run of at most
/// about [`SUB_ENTRIES`] entries at a time. Equal hashes fall in the same run, and each run
/// keeps the entries' order (and the entries of a column held apart stay beside theirs).
fn subtract_group(keyed: bool, holding: Option<Holding>, scratch: &mut Scratch, found: &mut Found) {
    let total = scratch.left.len() + scratch.right.len();
    if total <= SUB_ENTRIES {
        subtract_entries(keyed, holding, scratch, found);
        return;
    }
    let subs = total.div_ceil(SUB_ENTRIES).next_power_of_two();
    let (left, right) = (
        split_runs(&scratch.left, &scratch.left, subs),
        split_runs(&scratch.right, &scratch.right, subs),
    );
    let (left_cells, right_cells) = (
        split_runs(&scratch.left_cells, &scratch.left, subs),
        split_runs(&scratch.right_cells, &scratch.right, subs),
    );
    let runs = left.into_iter().zip(right);
    let cells = left_cells.into_iter().zip(right_cells);
    for ((l, r), (lc, rc)) in runs.zip(cells) {
        (scratch.left, scratch.right) = (l, r);
        (scratch.left_cells, scratch.right_cells) = (lc, rc);
        subtract_entries(keyed, holding, scratch, found);
    }
}

/// `values` (each beside the entry of `by` at its place) split into `subs` runs by their
/// entries' hashes, in order.
fn split_runs<T: Copy>(values: &[T], by: &[Entry], subs: usize) -> Vec<Vec<T>> {
    let mut out = vec![Vec::with_capacity(values.len() / subs + 16); subs];
    for (v, b) in values.iter().zip(by) {
        out[sub_of(b.hash, subs)].push(*v);
    }
    out
}

/// Subtract the two sides' entries (`scratch.left`, `scratch.right`) as multisets, marking the
/// row numbers of the surplus copies (earliest rows first), and find their duplicated keys.
///
/// One pass per side counts the copies and notes each side's first row; the surplus of a pair
/// held once on its side (nearly all of them) is that row. Only pairs repeated on a side are
/// looked for again, in a walk that takes their earliest rows. With a column held apart, see
/// [`subtract_apart`].
fn subtract_entries(
    keyed: bool,
    holding: Option<Holding>,
    scratch: &mut Scratch,
    found: &mut Found,
) {
    if keyed {
        found.dup_left += duplicated_in(&scratch.left, &mut scratch.seen, &mut found.left_dups);
        found.dup_right += duplicated_in(&scratch.right, &mut scratch.seen, &mut found.right_dups);
    }
    if let Some(holding) = holding {
        subtract_apart(holding, scratch, found);
        return;
    }
    let Scratch {
        copies,
        repeated_left,
        repeated_right,
        left: l,
        right: r,
        ..
    } = scratch;
    copies.clear();
    copies.reserve(l.len().max(r.len()));
    for e in l.iter() {
        let c = copies.entry(e.pair()).or_default();
        if c.left == 0 {
            c.first_left = e.row & !NULL_FLAG;
        }
        c.left += 1;
    }
    for e in r.iter() {
        let c = copies.entry(e.pair()).or_default();
        if c.right == 0 {
            c.first_right = e.row & !NULL_FLAG;
        }
        c.right += 1;
    }
    repeated_left.clear();
    repeated_right.clear();
    for (&pair, c) in copies.iter() {
        if c.left > c.right {
            if c.left == 1 {
                found.left.set(c.first_left);
            } else {
                repeated_left.insert(pair, c.left - c.right);
            }
        } else if c.right > c.left {
            if c.right == 1 {
                found.right.set(c.first_right);
            } else {
                repeated_right.insert(pair, c.right - c.left);
            }
        }
    }
    mark_repeated(scratch, found);
}

/// Mark the earliest copies of each pair in `repeated_left` and `repeated_right`, as many as
/// each says.
fn mark_repeated(scratch: &mut Scratch, found: &mut Found) {
    for (g, repeated, out) in [
        (&scratch.left, &mut scratch.repeated_left, &mut found.left),
        (
            &scratch.right,
            &mut scratch.repeated_right,
            &mut found.right,
        ),
    ] {
        if repeated.is_empty() {
            continue;
        }
        for e in g {
            if let Some(n) = repeated.get_mut(&e.pair()).filter(|n| **n > 0) {
                *n -= 1;
                out.set(e.row & !NULL_FLAG);
            }
        }
    }
}

/// [`subtract_entries`] of rows that hold a column apart, matched on their key and the hash of
/// their other cells. A pair held once on each side is settled by its cells of that column
/// ([`settle_apart`]); a row whose pair is on one side only is marked; so is every copy of a
/// pair repeated on a side (tier 3 then matches them as a multiset).
fn subtract_apart(holding: Holding, scratch: &mut Scratch, found: &mut Found) {
    let Scratch {
        apart_copies: copies,
        repeated_left,
        repeated_right,
        left: l,
        right: r,
        left_cells,
        right_cells,
        ..
    } = scratch;
    copies.clear();
    copies.reserve(l.len().max(r.len()));
    for (e, &cell) in l.iter().zip(left_cells.iter()) {
        let c = copies.entry(e.pair()).or_default();
        if c.copies.left == 0 {
            c.copies.first_left = e.row;
            c.cell_left = cell;
        }
        c.copies.left += 1;
    }
    for (e, &cell) in r.iter().zip(right_cells.iter()) {
        let c = copies.entry(e.pair()).or_default();
        if c.copies.right == 0 {
            c.copies.first_right = e.row;
            c.cell_right = cell;
        }
        c.copies.right += 1;
    }
    repeated_left.clear();
    repeated_right.clear();
    for (&pair, c) in copies.iter() {
        match (c.copies.left, c.copies.right) {
            (1, 1) => settle_apart(holding, pair.0, c, found),
            (1, 0) => found.left.set(c.copies.first_left & !NULL_FLAG),
            (0, 1) => found.right.set(c.copies.first_right & !NULL_FLAG),
            (left, right) => {
                if left > 0 {
                    repeated_left.insert(pair, left);
                }
                if right > 0 {
                    repeated_right.insert(pair, right);
                }
            }
        }
    }
    mark_repeated(scratch, found);
}

/// A pair of rows with the same key and the same other cells, one on each side, settled by
/// their cells of the column held apart: equal, nothing to do; different, counted as a pair
/// that differs only there, unless its key has a null or is duplicated, it is among the sample
/// candidates, or every such pair is to be read: then both rows are marked.
fn settle_apart(holding: Holding, key: u64, c: &ApartCopies, found: &mut Found) {
    if c.cell_left == c.cell_right {
        return;
    }
    let (left, right) = (c.copies.first_left, c.copies.first_right);
    let null = (left | right) & NULL_FLAG != 0;
    let duplicated = found.left_dups.contains(&key) || found.right_dups.contains(&key);
    let candidate = !null && !duplicated && holding.apart.candidates.contains(&key);
    found.apart_hits += u64::from(candidate);
    if null || duplicated || candidate || holding.read_all {
        found.left.set(left & !NULL_FLAG);
        found.right.set(right & !NULL_FLAG);
        return;
    }
    found.apart_pairs += 1;
    found.apart_sum = found
        .apart_sum
        .wrapping_add(u128::from(column_term(key, c.cell_left)))
        .wrapping_sub(u128::from(column_term(key, c.cell_right)));
}

/// The two sides' indexes (staging flushed), with the cells of a column held apart.
struct Indexes<'a> {
    left: &'a HashIndex,
    right: &'a HashIndex,
    cells: Option<(&'a HeldCells, &'a HeldCells)>,
    keyed: bool,
}

impl Indexes<'_> {
    /// Subtract every group, half of them on each of two threads.
    fn subtract(&self, holding: Option<Holding>) -> Result<Found> {
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| self.subtract_share(1, holding));
            (
                self.subtract_share(0, holding),
                other.join().expect("index thread"),
            )
        });
        let mut found = a?;
        found.absorb(b?);
        Ok(found)
    }

    /// Subtract every other group from `first` on (a spilled group is read back from its file).
    fn subtract_share(&self, first: usize, holding: Option<Holding>) -> Result<Found> {
        let mut found = Found::new(self.left.next_row, self.right.next_row);
        let mut scratch = Scratch::default();
        for g in (first..GROUPS).step_by(2) {
            self.left.load(g, &mut scratch.left)?;
            self.right.load(g, &mut scratch.right)?;
            if let Some((lc, rc)) = self.cells {
                lc.load(g, &mut scratch.left_cells)?;
                rc.load(g, &mut scratch.right_cells)?;
                let aligned = scratch.left_cells.len() == scratch.left.len()
                    && scratch.right_cells.len() == scratch.right.len();
                if !aligned {
                    return Err(Error::Internal(format!(
                        "group {g} holds other counts of rows and of cells held apart"
                    )));
                }
            }
            subtract_group(self.keyed, holding, &mut scratch, &mut found);
        }
        Ok(found)
    }

    /// The pairs that differ only in the column held apart and go uncounted by tier 3: all of
    /// them when at least as many as the samples were among the candidates (every pair left
    /// unread then has a larger key than as many changed pairs that were read), else none,
    /// the indexes subtracted again with every such pair marked to be read.
    fn count_apart(&self, apart: &Apart, found: &mut Found) -> Result<ApartCount> {
        let (pairs, hits) = (found.apart_pairs, found.apart_hits);
        let sure = pairs == 0 || hits >= apart.samples as u64;
        tracing::debug!(
            "{} pairs differ only in column {}, {hits} of them among the smallest keys{}",
            pairs + hits,
            apart.column,
            if sure { "" } else { ": reading them all" }
        );
        if !sure {
            *found = self.subtract(Some(Holding {
                apart,
                read_all: true,
            }))?;
        }
        Ok(ApartCount {
            column: apart.column,
            pairs: found.apart_pairs,
            sum: found.apart_sum,
        })
    }
}

/// Subtract the two row multisets, locate the differing rows and find the duplicated keys, one
/// group at a time on two threads (a spilled group is read back from its file). With `apart`
/// (both indexes [holding a column apart](HashIndex::holding_apart)), the pairs that differ only
/// in that column are counted instead of read again, when enough of the smallest keys are among
/// them for the samples to be sure; else the indexes are subtracted again with every such pair
/// marked to be read.
pub fn differences(
    mut left: HashIndex,
    mut right: HashIndex,
    keyed: bool,
    apart: Option<&Apart>,
) -> Result<Differences> {
    std::thread::scope(|scope| {
        scope.spawn(|| left.flush());
        right.flush();
    });
    let cells = match apart {
        None => None,
        Some(_) => match (left.apart.as_deref(), right.apart.as_deref()) {
            (Some(l), Some(r)) => Some((l, r)),
            _ => {
                return Err(Error::Internal(
                    "a column held apart needs both indexes to hold it".into(),
                ))
            }
        },
    };
    let indexes = Indexes {
        left: &left,
        right: &right,
        cells,
        keyed,
    };
    let counting = apart.map(|apart| Holding {
        apart,
        read_all: false,
    });
    let mut found = indexes.subtract(counting)?;
    let apart = match apart {
        None => None,
        Some(apart) => Some(indexes.count_apart(apart, &mut found)?),
    };
    tracing::debug!(
        "{} left and {} right rows differ",
        found.left.count(),
        found.right.count()
    );
    let mut duplicate_keys = found.left_dups;
    duplicate_keys.extend(found.right_dups);
    Ok(Differences {
        left: left.locate(&found.left),
        right: right.locate(&found.right),
        duplicate_keys,
        dup_left: found.dup_left,
        dup_right: found.dup_right,
        null_left: left.null_rows,
        null_right: right.null_rows,
        apart,
    })
}

/// Which rows of a batch a [`RowPicker`] keeps.
#[derive(Debug)]
pub enum Picked {
    /// None of them.
    Nothing,
    /// All of them.
    Everything,
    /// Those set in the mask.
    Some(BooleanArray),
}

/// Keeps the selected rows of one run of a file's rows as its batches go by, in order.
#[derive(Debug)]
pub struct RowPicker {
    selection: Arc<Selection>,
    file: usize,
    /// The file position of the next batch's first row.
    offset: u64,
}

impl RowPicker {
    /// A picker for file `file`'s selected positions, for batches that start at `first_row`.
    pub fn new(selection: Arc<Selection>, file: usize, first_row: u64) -> Self {
        RowPicker {
            selection,
            file,
            offset: first_row,
        }
    }

    /// Which rows of the next batch of `len` rows are selected.
    pub fn pick(&mut self, len: usize) -> Picked {
        let from = self.offset as usize;
        self.offset += len as u64;
        let Some(bits) = &self.selection.files[self.file] else {
            return Picked::Nothing;
        };
        let start = from.min(bits.len());
        let mask = bits.slice(start, len.min(bits.len() - start));
        match mask.count_set_bits() {
            0 => Picked::Nothing,
            n if n == len => Picked::Everything,
            _ if mask.len() < len => {
                // Rows past the end of the bitmap are not selected.
                let mut full = arrow_buffer::BooleanBufferBuilder::new(len);
                full.append_buffer(&mask);
                full.append_n(len - mask.len(), false);
                Picked::Some(BooleanArray::new(full.finish(), None))
            }
            _ => Picked::Some(BooleanArray::new(mask, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keyed entries of `scratch` (sides of up to `rows` rows, too many for one run)
    /// subtracted in one go and a run at a time; the rows marked must be the same.
    fn in_one_go_and_in_runs(
        scratch: &Scratch,
        holding: Option<Holding>,
        rows: u32,
    ) -> (Found, Found) {
        assert!(scratch.left.len() + scratch.right.len() > SUB_ENTRIES);
        let run = |whole: bool| {
            let mut s = Scratch {
                left: scratch.left.clone(),
                right: scratch.right.clone(),
                left_cells: scratch.left_cells.clone(),
                right_cells: scratch.right_cells.clone(),
                ..Default::default()
            };
            let mut found = Found::new(rows, rows);
            if whole {
                subtract_entries(true, holding, &mut s, &mut found);
            } else {
                subtract_group(true, holding, &mut s, &mut found);
            }
            found
        };
        let (one, runs) = (run(true), run(false));
        assert_eq!(one.left.0, runs.left.0);
        assert_eq!(one.right.0, runs.right.0);
        (one, runs)
    }

    /// A group too large for one run is subtracted a run at a time, with the answer of one
    /// go: the same surplus rows (earliest copies first) and duplicated keys on each side.
    #[test]
    fn a_large_group_subtracts_in_runs_as_in_one_go() {
        let mix = |i: u64| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 40)) | 1;
        let entry = |i: u64, check: u32, row: u32| Entry {
            hash: mix(i),
            check,
            row,
        };
        // Left: 150,000 keys, the first 1,000 twice (another row each). Right: the same keys,
        // one in seven with another row hash, one in eleven twice, and 500 keys of its own.
        let mut left: Vec<Entry> = (0..150_000).map(|i| entry(i, 1, i as u32)).collect();
        left.extend((0..1_000).map(|i| entry(i, 2, 150_000 + i as u32)));
        let mut right = Vec::new();
        let mut row = 0u32;
        for i in 0..150_000u64 {
            let copies = if i % 11 == 0 { 2 } else { 1 };
            for _ in 0..copies {
                right.push(entry(i, if i % 7 == 0 { 9 } else { 1 }, row));
                row += 1;
            }
        }
        right.extend((0..500).map(|i| {
            row += 1;
            entry(1_000_000 + i, 1, row)
        }));
        let scratch = Scratch {
            left,
            right,
            ..Default::default()
        };
        let (one, runs) = in_one_go_and_in_runs(&scratch, None, 200_000);
        assert_eq!(
            (one.dup_left, one.dup_right),
            (runs.dup_left, runs.dup_right)
        );
        assert_eq!(
            (one.left_dups, one.right_dups),
            (runs.left_dups, runs.right_dups)
        );
        // Left: the 150,000/7 keys whose right copy differs, plus the 1,000 second copies.
        let differing = (0..150_000).filter(|i| i % 7 == 0).count();
        assert_eq!(runs.left.count(), differing + 1_000);
        // Right: the changed keys' copies, the second copy of every other key in eleven, and
        // its own 500 keys.
        let doubled = (0..150_000).filter(|i| i % 11 == 0).count();
        let doubled_changed = (0..150_000).filter(|i| i % 77 == 0).count();
        assert_eq!(
            runs.right.count(),
            differing + doubled_changed + (doubled - doubled_changed) + 500
        );
        assert_eq!((runs.dup_left, runs.dup_right), (1_000, doubled as u64));
    }

    /// With a column held apart, a group too large for one run keeps each entry's cell beside
    /// it: the runs settle the same pairs, count the same ones and sum the same terms as one go.
    #[test]
    fn a_large_group_held_apart_subtracts_in_runs_as_in_one_go() {
        let mix = |i: u64| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 40)) | 1;
        let entry = |i: u64, check: u32, row: u32| Entry {
            hash: mix(i),
            check,
            row,
        };
        // 100,000 keys a side. The cell held apart differs in every third pair, the rest in
        // every seventh; the left's key 5 is also a candidate.
        let keys = 0..100_000u64;
        let left: Vec<Entry> = keys.clone().map(|i| entry(i, 1, i as u32)).collect();
        let right: Vec<Entry> = keys
            .clone()
            .map(|i| entry(i, if i % 7 == 0 { 2 } else { 1 }, i as u32))
            .collect();
        let left_cells: Vec<u64> = keys.clone().map(|i| i << 20).collect();
        let right_cells: Vec<u64> = keys
            .clone()
            .map(|i| if i % 3 == 0 { (i << 20) + 1 } else { i << 20 })
            .collect();
        let apart = Apart {
            column: 0,
            candidates: HashSet64::from_iter([mix(3)]),
            samples: 1,
        };
        let holding = Some(Holding {
            apart: &apart,
            read_all: false,
        });
        let scratch = Scratch {
            left,
            right,
            left_cells,
            right_cells,
            ..Default::default()
        };
        let (one, runs) = in_one_go_and_in_runs(&scratch, holding, 100_000);
        assert_eq!(
            (one.apart_pairs, one.apart_sum, one.apart_hits),
            (runs.apart_pairs, runs.apart_sum, runs.apart_hits)
        );
        // Read: every seventh pair, and the candidate 3. Counted: every third but those.
        let sevenths = keys.clone().filter(|i| i % 7 == 0).count();
        assert_eq!(runs.left.count(), sevenths + 1);
        let counted = keys.filter(|i| i % 3 == 0 && i % 7 != 0 && *i != 3).count();
        assert_eq!(runs.apart_pairs, counted as u64);
        assert_eq!(runs.apart_hits, 1);
    }

    /// Cells held apart go two to an entry; a group's odd cell waits for its next. Across
    /// batches of odd sizes and spills in between, each group gives back its cells in order.
    #[test]
    fn held_cells_come_back_in_order_through_spills() {
        let dir = tempfile::tempdir().unwrap();
        // Room for 12 cells in memory: a spill every two or three batches.
        let mut cells = HeldCells::new(1, 12 * 8, Some(dir.path()), "t");
        let key = |i: u64| (i % 3) << GROUP_SHIFT | i;
        let mut expected: Vec<Vec<u64>> = vec![Vec::new(); 3];
        let mut next = 0u64;
        for size in [5u64, 3, 7, 1, 5, 9, 2] {
            let rows: Vec<u64> = (next..next + size).collect();
            next += size;
            let keys = arrow::array::FixedSizeBinaryArray::try_from_iter(
                rows.iter().map(|&i| u128::from(key(i)).to_le_bytes()),
            )
            .unwrap();
            let values: Vec<u64> = rows.iter().map(|&i| i * 7 + 1).collect();
            assert!(cells.add(0, 0, &keys, &values).unwrap());
            for &i in &rows {
                expected[(i % 3) as usize].push(i * 7 + 1);
            }
        }
        assert!(cells.entries.spilled_bytes() > 0);
        cells.entries.flush();
        let mut out = Vec::new();
        for (g, want) in expected.iter().enumerate() {
            cells.load(g, &mut out).unwrap();
            assert_eq!(&out, want, "group {g}");
        }
        cells.load(3, &mut out).unwrap();
        assert!(out.is_empty());
    }

    /// The hashes of a batch: (key hash, row hash, null key) per row.
    fn hashes(rows: &[(u128, u128, bool)]) -> RowHashes {
        let fixed = |v: Vec<[u8; 16]>| {
            arrow::array::FixedSizeBinaryArray::try_from_iter(v.into_iter()).unwrap()
        };
        RowHashes {
            row: fixed(rows.iter().map(|r| r.1.to_le_bytes()).collect()),
            key: fixed(rows.iter().map(|r| r.0.to_le_bytes()).collect()),
            null_key: arrow::array::BooleanArray::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
        }
    }

    /// An unkeyed index of whole-row hashes, one batch per file.
    fn rows_index(files: &[Vec<u128>]) -> HashIndex {
        let mut idx = HashIndex::new(files.len(), usize::MAX, None, "t");
        for (f, rows) in files.iter().enumerate() {
            let batch: Vec<_> = rows.iter().map(|&h| (h, h, false)).collect();
            idx.add(f, 0, &hashes(&batch), false).unwrap();
        }
        idx
    }

    #[test]
    fn multiset_subtraction_keeps_multiplicities_and_positions() {
        let d = differences(
            rows_index(&[vec![1, 1], vec![1, 2, 5]]),
            rows_index(&[vec![1, 2, 2, 7]]),
            false,
            None,
        )
        .unwrap();
        // Left has three 1s and right one: two left copies (the first two) are surplus.
        assert_eq!(positions(&d.left), vec![vec![0, 1], vec![2]]);
        assert_eq!(positions(&d.right), vec![vec![1, 3]]);
        assert_eq!((d.dup_left, d.dup_right), (0, 0));
    }

    /// A keyed index holding a column apart, from rows of (key, hash of the other cells, cell
    /// of the column held apart, null key).
    fn apart_index(rows: &[(u128, u32, u64, bool)]) -> HashIndex {
        let mut idx = HashIndex::new(1, usize::MAX, None, "a").holding_apart();
        let batch: Vec<_> = rows.iter().map(|r| (r.0, 0, r.3)).collect();
        let rest: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let cells: Vec<u64> = rows.iter().map(|r| r.2).collect();
        assert!(idx.add_apart(0, 0, &hashes(&batch), &rest, &cells).unwrap());
        idx
    }

    #[test]
    fn a_column_held_apart_counts_the_pairs_that_differ_only_there() {
        // The cell held apart is the third value; the rest of the row the second.
        let left = [
            (10, 1, 100, false), // equal
            (11, 1, 100, false), // differs only apart: counted
            (12, 1, 100, false), // differs elsewhere too
            (13, 1, 100, false), // key twice on the left
            (13, 1, 100, false),
            (99, 1, 100, true),  // null key
            (14, 1, 100, false), // differs only apart, but a sample candidate
            (15, 1, 100, false), // only on the left
            (16, 1, 100, false), // its key twice on the right
        ];
        let right = [
            (10, 1, 100, false),
            (11, 1, 1 << 40, false),
            (12, 2, 101, false),
            (13, 1, 101, false),
            (99, 1, 101, true),
            (14, 1, 102, false),
            (16, 1, 101, false),
            (16, 3, 100, false),
        ];
        let apart = |samples| Apart {
            column: 3,
            candidates: HashSet64::from_iter([14]),
            samples,
        };
        let d = differences(
            apart_index(&left),
            apart_index(&right),
            true,
            Some(&apart(1)),
        )
        .unwrap();
        assert_eq!(positions(&d.left), vec![vec![2, 3, 4, 5, 6, 7, 8]]);
        assert_eq!(positions(&d.right), vec![vec![2, 3, 4, 5, 6, 7]]);
        let term = |cell| u128::from(column_term(11, cell));
        let sum = term(100).wrapping_sub(term(1 << 40));
        assert_eq!(
            d.apart,
            Some(ApartCount {
                column: 3,
                pairs: 1,
                sum
            })
        );
        assert_eq!((d.dup_left, d.dup_right), (1, 1));
        // Two samples wanted, one candidate differs only apart: the counted pair could be a
        // sample, so it is read again with the others.
        let d = differences(
            apart_index(&left),
            apart_index(&right),
            true,
            Some(&apart(2)),
        )
        .unwrap();
        assert_eq!(positions(&d.left), vec![vec![1, 2, 3, 4, 5, 6, 7, 8]]);
        assert_eq!(positions(&d.right), vec![vec![1, 2, 3, 4, 5, 6, 7]]);
        assert_eq!(d.apart.map(|a| (a.pairs, a.sum)), Some((0, 0)));
    }

    #[test]
    fn keyed_entries_find_changed_rows_and_duplicated_keys() {
        // Key 10 twice on the left; key 11's row changed in its high half only (the check
        // bits); key 12 twice on the right; a null-key row identical on both sides twice.
        let changed = 7u128 | (1u128 << 64);
        let null_row = (99, 5, true);
        let mut left = HashIndex::new(1, usize::MAX, None, "l");
        left.add(
            0,
            0,
            &hashes(&[
                (10, 1, false),
                (10, 2, false),
                (11, 7, false),
                null_row,
                null_row,
            ]),
            true,
        )
        .unwrap();
        let mut right = HashIndex::new(1, usize::MAX, None, "r");
        right
            .add(
                0,
                0,
                &hashes(&[
                    null_row,
                    (11, changed, false),
                    (12, 3, false),
                    (12, 4, false),
                    null_row,
                ]),
                true,
            )
            .unwrap();
        assert_eq!(left.key_counts().unwrap(), (1, 2));
        let d = differences(left, right, true, None).unwrap();
        assert_eq!(positions(&d.left), vec![vec![0, 1, 2]]);
        assert_eq!(positions(&d.right), vec![vec![1, 2, 3]]);
        assert_eq!((d.dup_left, d.dup_right), (1, 1));
        assert_eq!((d.null_left, d.null_right), (2, 2));
        assert_eq!(d.duplicate_keys, HashSet64::from_iter([10, 12]));
    }

    #[test]
    fn positions_survive_interleaved_files_and_every_group() {
        // Values spread over all groups, two files whose batches arrive interleaved: every
        // value once on each side except one dropped and one added.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u128::from(x)
        };
        let common: Vec<u128> = (0..200_000).map(|_| next()).collect();
        let (gone, added) = (common[123_456], next());
        let add = |idx: &mut HashIndex, rows: &[u128], file: usize, position: usize| {
            let batch: Vec<_> = rows.iter().map(|&h| (h, h, false)).collect();
            idx.add(file, position as u64, &hashes(&batch), false)
                .unwrap();
        };
        // File 1's batches arrive last first, as parts of one file decoded on several
        // threads may.
        let mut left = HashIndex::new(2, usize::MAX, None, "l");
        let file0: Vec<_> = common[..100_000].chunks(8192).enumerate().collect();
        let file1: Vec<_> = common[100_000..].chunks(8192).enumerate().rev().collect();
        for ((i, a), (j, b)) in file0.into_iter().zip(file1) {
            add(&mut left, a, 0, i * 8192);
            add(&mut left, b, 1, j * 8192);
        }
        let mut right_rows: Vec<u128> = common.iter().copied().filter(|h| *h != gone).collect();
        right_rows.push(added);
        let mut right = HashIndex::new(1, usize::MAX, None, "r");
        for (i, chunk) in right_rows.chunks(8192).enumerate() {
            add(&mut right, chunk, 0, i * 8192);
        }
        let d = differences(left, right, false, None).unwrap();
        assert_eq!(positions(&d.left), vec![vec![], vec![23_456]]);
        assert_eq!(positions(&d.right), vec![vec![199_999]]);
    }

    #[test]
    fn every_entry_lands_in_its_group_in_arrival_order() {
        // Enough rows that every group fills more than one chunk, in batches of sizes that mix
        // whole staged lines with partial ones; staged as they come (with a key) or from the
        // log of row hashes (without), flushed once midway.
        let values: Vec<u128> = (0..1_200_000u64)
            .map(|i| u128::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        for keyed in [true, false] {
            let mut idx = HashIndex::new(1, usize::MAX, None, "g");
            let mut at = 0;
            for size in [1usize, 7, 8, 9, 4095, 65_536].iter().cycle() {
                if at == values.len() {
                    break;
                }
                let n = (*size).min(values.len() - at);
                let batch: Vec<_> = values[at..at + n].iter().map(|&h| (h, h, false)).collect();
                idx.add(0, at as u64, &hashes(&batch), keyed).unwrap();
                at += n;
                if (600_000..600_000 + n).contains(&at) {
                    idx.flush();
                }
            }
            idx.flush();
            let mut want = vec![Vec::new(); GROUPS];
            for (row, &h) in values.iter().enumerate() {
                want[group_of(h as u64)].push((h as u64, row as u32));
            }
            assert!(want.iter().all(|w| w.len() > 2 * GROUP_CHUNK));
            let got: Vec<Vec<(u64, u32)>> = idx
                .groups
                .iter()
                .map(|g| g.iter().map(|e| (e.hash, e.row)).collect())
                .collect();
            assert_eq!(got, want, "keyed {keyed}");
        }
    }

    /// A selection from positions per file, through an index of one batch per file.
    fn select(files: &[(u32, Vec<u32>)]) -> Selection {
        let mut idx = HashIndex::new(files.len(), usize::MAX, None, "s");
        let mut bits = Bits::new(files.iter().map(|f| f.0).sum());
        for (f, (rows, picked)) in files.iter().enumerate() {
            let first = idx.next_row;
            let batch: Vec<_> = (0..*rows).map(|i| (u128::from(i), 0, false)).collect();
            idx.add(f, 0, &hashes(&batch), false).unwrap();
            for &p in picked {
                bits.set(first + p);
            }
        }
        idx.locate(&bits)
    }

    fn positions(sel: &Selection) -> Vec<Vec<u32>> {
        (0..sel.files.len()).map(|f| sel.positions(f)).collect()
    }

    fn picked(p: Picked) -> Vec<u32> {
        match p {
            Picked::Nothing => Vec::new(),
            Picked::Everything => vec![u32::MAX],
            Picked::Some(mask) => (0..mask.len())
                .filter(|&i| mask.value(i))
                .map(|i| i as u32)
                .collect(),
        }
    }

    #[test]
    fn the_picker_maps_positions_into_batches() {
        let selection = Arc::new(select(&[(8, vec![7]), (20, vec![0, 3, 4, 9])]));
        let mut p = RowPicker::new(selection.clone(), 1, 0);
        assert_eq!(picked(p.pick(4)), vec![0, 3]);
        assert_eq!(picked(p.pick(4)), vec![0]);
        assert_eq!(picked(p.pick(10)), vec![1]);
        assert_eq!(picked(p.pick(10)), Vec::<u32>::new());
        // A run of the file that starts at row 4.
        let mut p = RowPicker::new(selection.clone(), 1, 4);
        assert_eq!(picked(p.pick(2)), vec![0]);
        assert_eq!(picked(p.pick(4)), vec![3]);
        assert_eq!(picked(p.pick(4)), Vec::<u32>::new());
        assert!(selection.selects(1, 4, 1));
        assert!(!selection.selects(1, 5, 4));
        assert!(selection.selects(1, 5, 5));
        assert!(!selection.selects(0, 0, 7));
        assert!(selection.selects(0, 0, 8));
        // Every row of a batch selected: no mask at all.
        let all = Arc::new(select(&[(3, vec![0, 1, 2])]));
        assert!(matches!(
            RowPicker::new(all, 0, 0).pick(3),
            Picked::Everything
        ));
    }

    #[test]
    fn a_spilled_index_subtracts_as_one_in_memory() {
        // Rows spread over every group, past a cap of a few thousand entries: the index spills
        // several times, and the differences and key counts are those of an unspilled index.
        let dir = tempfile::tempdir().unwrap();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u128::from(x)
        };
        let rows: Vec<(u128, u128, bool)> = (0..50_000)
            .map(|i| {
                let k = next();
                (k, k ^ 1, i % 1000 == 0)
            })
            .collect();
        let mut right_rows = rows.clone();
        right_rows[777].1 ^= 1 << 70; // a changed row (its check bits)
        right_rows[900].0 = rows[901].0; // a duplicated key on the right
        right_rows.truncate(49_990); // ten rows only on the left
        let build = |rows: &[(u128, u128, bool)], cap: usize, dir: Option<&Path>, name: &str| {
            let mut idx = HashIndex::new(1, cap, dir, name);
            for (i, chunk) in rows.chunks(1000).enumerate() {
                idx.add(0, (i * 1000) as u64, &hashes(chunk), true).unwrap();
            }
            idx
        };
        let small = 4096 * ENTRY_BYTES;
        let spilled = (
            build(&rows, small, Some(dir.path()), "left"),
            build(&right_rows, small, Some(dir.path()), "right"),
        );
        assert!(spilled.0.spilled_bytes() > 0 && spilled.1.spilled_bytes() > 0);
        let mut whole = (
            build(&rows, usize::MAX, None, "l"),
            build(&right_rows, usize::MAX, None, "r"),
        );
        assert_eq!(whole.0.spilled_bytes(), 0);
        let mut spilled_left = spilled.0.clone();
        assert_eq!(
            spilled_left.key_counts().unwrap(),
            whole.0.key_counts().unwrap()
        );
        let a = differences(spilled.0, spilled.1, true, None).unwrap();
        let b = differences(whole.0, whole.1, true, None).unwrap();
        assert_eq!(positions(&a.left), positions(&b.left));
        assert_eq!(positions(&a.right), positions(&b.right));
        // 10 only on the left, the changed row and both rows of the duplicated key...
        assert_eq!(a.left.count(), 12);
        assert_eq!(a.right.count(), 2);
        assert_eq!((a.dup_left, a.dup_right), (0, 1));
        assert_eq!((a.null_left, a.null_right), (50, 50));
        // Without a folder, an index past its cap gives up.
        assert!(build(&rows, small, None, "x").overflowed());
    }

    #[test]
    fn an_index_past_its_cap_gives_up() {
        let mut idx = HashIndex::new(1, 23, None, "t");
        let hashes = RowHashes {
            row: arrow::array::FixedSizeBinaryArray::try_from_iter(
                vec![[0u8; 16], [1u8; 16]].into_iter(),
            )
            .unwrap(),
            key: arrow::array::FixedSizeBinaryArray::try_from_iter(
                vec![[0u8; 16], [1u8; 16]].into_iter(),
            )
            .unwrap(),
            null_key: arrow::array::BooleanArray::from(vec![false, false]),
        };
        idx.add(0, 0, &hashes, true).unwrap();
        assert!(idx.overflowed());
    }
}
