//! The differing-rows subset: how tier 3 stays small when the inputs are large.
//!
//! When the rows do not fit in memory, the fingerprint pass keeps, per side, only a compact
//! index with one 16-byte entry a row: the low 64 bits of its key hash (of its row hash without
//! a key), with a key 32 more bits of its row hash, and its row number in arrival order; plus a
//! short table of batches that maps a row's number back to its file and position. Entries are
//! split into 256 groups by eight bits of their hash as they arrive; when the groups in memory
//! outgrow the index's share of the budget they are appended to a file in the run's temporary
//! folder, so the index holds any number of rows (up to 2^31 a side) at a bounded memory.
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
//! The entries are shorter than the 128-bit hashes, so a changed row could in principle keep
//! the same entry and be left out. The engine checks the subset against the fingerprints: the
//! rows left out pair up exactly, so the kept rows' hash sums must differ exactly as the whole
//! sides' do; when they do not, every row is read again instead.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, BooleanArray};
use arrow_buffer::BooleanBuffer;

use crate::error::{Error, Result};
use crate::fingerprint::logical::{halves, RowHashes};

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
        let g = group_of(e.hash);
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
}

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
        }
    }

    /// Whether the index could not hold every row (more rows or positions than its 31- and
    /// 32-bit numbers hold, or past its cap without a folder to spill to), and was dropped.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Bytes of entries written to disk.
    pub fn spilled_bytes(&self) -> u64 {
        self.spill
            .as_ref()
            .map_or(0, |s| s.lock().expect("index spill lock").written)
    }

    /// Distinct duplicated keys and null-key rows, from this index alone.
    pub fn key_counts(&mut self) -> Result<(u64, u64)> {
        self.staging.flush(&mut self.groups);
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
        if self.overflow {
            return Ok(());
        }
        let n = hashes.row.len();
        let first = self.next_row;
        let numbered = u64::from(first) + n as u64 <= u64::from(NULL_FLAG)
            && position + n as u64 <= u64::from(u32::MAX);
        if !numbered {
            self.give_up();
            return Ok(());
        }
        if (self.held + n) * ENTRY_BYTES > self.cap {
            if self.spill_dir.is_none() {
                self.give_up();
                return Ok(());
            }
            self.spill_groups()?;
        }
        self.runs.push((first, file as u32, position as u32));
        self.next_row += n as u32;
        self.held += n;
        let (groups, staging) = (&mut self.groups, &mut self.staging);
        if keyed {
            for (i, (k, r)) in halves(&hashes.key).zip(halves(&hashes.row)).enumerate() {
                let row = first + i as u32;
                let null = hashes.null_key.value(i);
                self.null_rows += u64::from(null);
                let flag = if null { NULL_FLAG } else { 0 };
                staging.push(
                    groups,
                    Entry {
                        hash: k.0,
                        check: r.1 as u32,
                        row: row | flag,
                    },
                );
            }
        } else {
            for (i, (h, _)) in halves(&hashes.row).enumerate() {
                let row = first + i as u32;
                staging.push(
                    groups,
                    Entry {
                        hash: h,
                        check: 0,
                        row,
                    },
                );
            }
        }
        fence_streamed();
        Ok(())
    }

    fn give_up(&mut self) {
        self.overflow = true;
        self.groups = vec![Group::default(); GROUPS];
        self.runs = Vec::new();
        self.spill = None;
        self.held = 0;
    }

    /// Write the groups in memory to the spill file.
    fn spill_groups(&mut self) -> Result<()> {
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
}

/// What one thread found in its share of the groups.
struct Found {
    left: Bits,
    right: Bits,
    dup_left: u64,
    dup_right: u64,
    left_dups: HashSet64,
    right_dups: HashSet64,
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

/// The hash tables and buffers of one subtraction, kept between groups so their memory is
/// reused.
#[derive(Default)]
struct Scratch {
    copies: HashMap<(u64, u32), Copies, BuildHasherDefault<Unhashed>>,
    /// Pairs with surplus copies that are not the first of their side: how many are left to take.
    repeated_left: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    repeated_right: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    seen: HashSet64,
    left: Vec<Entry>,
    right: Vec<Entry>,
}

/// Entries (both sides) a group's tables hold at most at once. A larger group, as the index of
/// a hundred million rows a side makes, is split by more of its hash bits into runs subtracted
/// one after another, so the tables stay in the cache however many rows the sides have (at
/// 100M rows a side, the subtraction took 5.1 s, 2.2 times the 10M cost a row).
const SUB_ENTRIES: usize = 64 * 1024;

/// The run of a group an entry's hash falls in, among `subs` (a power of two): bits above those
/// that choose the group.
#[inline]
fn sub_of(hash: u64, subs: usize) -> usize {
    (hash >> 32) as usize & (subs - 1)
}

/// Subtract the two sides' entries of one group (see [`subtract_entries`]), a run of at most
/// about [`SUB_ENTRIES`] entries at a time. Equal hashes fall in the same run, and each run
/// keeps the entries' order.
fn subtract_group(keyed: bool, scratch: &mut Scratch, found: &mut Found) {
    let total = scratch.left.len() + scratch.right.len();
    if total <= SUB_ENTRIES {
        subtract_entries(keyed, scratch, found);
        return;
    }
    let subs = total.div_ceil(SUB_ENTRIES).next_power_of_two();
    let split = |entries: &[Entry]| -> Vec<Vec<Entry>> {
        let mut out = vec![Vec::with_capacity(entries.len() / subs + 16); subs];
        for e in entries {
            out[sub_of(e.hash, subs)].push(*e);
        }
        out
    };
    let (left, right) = (split(&scratch.left), split(&scratch.right));
    for (l, r) in left.into_iter().zip(right) {
        (scratch.left, scratch.right) = (l, r);
        subtract_entries(keyed, scratch, found);
    }
}

/// Subtract the two sides' entries (`scratch.left`, `scratch.right`) as multisets, marking the
/// row numbers of the surplus copies (earliest rows first), and find their duplicated keys.
///
/// One pass per side counts the copies and notes each side's first row; the surplus of a pair
/// held once on its side (nearly all of them) is that row. Only pairs repeated on a side are
/// looked for again, in a walk that takes their earliest rows.
fn subtract_entries(keyed: bool, scratch: &mut Scratch, found: &mut Found) {
    let Scratch {
        copies,
        repeated_left,
        repeated_right,
        seen,
        left: l,
        right: r,
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
    for (g, repeated, out) in [
        (&*l, repeated_left, &mut found.left),
        (&*r, repeated_right, &mut found.right),
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
    if keyed {
        found.dup_left += duplicated_in(l, seen, &mut found.left_dups);
        found.dup_right += duplicated_in(r, seen, &mut found.right_dups);
    }
}

/// Subtract the two row multisets, locate the differing rows and find the duplicated keys, one
/// group at a time on two threads (a spilled group is read back from its file).
pub fn differences(mut left: HashIndex, mut right: HashIndex, keyed: bool) -> Result<Differences> {
    left.staging.flush(&mut left.groups);
    right.staging.flush(&mut right.groups);
    let share = |first: usize| -> Result<Found> {
        let mut found = Found {
            left: Bits::new(left.next_row),
            right: Bits::new(right.next_row),
            dup_left: 0,
            dup_right: 0,
            left_dups: HashSet64::default(),
            right_dups: HashSet64::default(),
        };
        let mut scratch = Scratch::default();
        for g in (first..GROUPS).step_by(2) {
            left.load(g, &mut scratch.left)?;
            right.load(g, &mut scratch.right)?;
            subtract_group(keyed, &mut scratch, &mut found);
        }
        Ok(found)
    };
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| share(1));
        (share(0), other.join().expect("index thread"))
    });
    let (mut a, b) = (a?, b?);
    a.left.or(&b.left);
    a.right.or(&b.right);
    a.left_dups.extend(b.left_dups);
    a.left_dups.extend(a.right_dups);
    a.left_dups.extend(b.right_dups);
    tracing::debug!(
        "{} left and {} right rows differ",
        a.left.count(),
        a.right.count()
    );
    Ok(Differences {
        left: left.locate(&a.left),
        right: right.locate(&a.right),
        duplicate_keys: a.left_dups,
        dup_left: a.dup_left + b.dup_left,
        dup_right: a.dup_right + b.dup_right,
        null_left: left.null_rows,
        null_right: right.null_rows,
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
        assert!(left.len() + right.len() > SUB_ENTRIES);
        let run = |whole: bool| {
            let mut scratch = Scratch {
                left: left.clone(),
                right: right.clone(),
                ..Default::default()
            };
            let mut found = Found {
                left: Bits::new(200_000),
                right: Bits::new(200_000),
                dup_left: 0,
                dup_right: 0,
                left_dups: HashSet64::default(),
                right_dups: HashSet64::default(),
            };
            if whole {
                subtract_entries(true, &mut scratch, &mut found);
            } else {
                subtract_group(true, &mut scratch, &mut found);
            }
            found
        };
        let (one, runs) = (run(true), run(false));
        assert_eq!(one.left.0, runs.left.0);
        assert_eq!(one.right.0, runs.right.0);
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
        )
        .unwrap();
        // Left has three 1s and right one: two left copies (the first two) are surplus.
        assert_eq!(positions(&d.left), vec![vec![0, 1], vec![2]]);
        assert_eq!(positions(&d.right), vec![vec![1, 3]]);
        assert_eq!((d.dup_left, d.dup_right), (0, 0));
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
        let d = differences(left, right, true).unwrap();
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
        let d = differences(left, right, false).unwrap();
        assert_eq!(positions(&d.left), vec![vec![], vec![23_456]]);
        assert_eq!(positions(&d.right), vec![vec![199_999]]);
    }

    #[test]
    fn every_entry_lands_in_its_group_in_arrival_order() {
        // Enough rows that every group fills more than one chunk, in batches of sizes that mix
        // whole staged lines with partial ones.
        let values: Vec<u128> = (0..1_200_000u64)
            .map(|i| u128::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let mut idx = HashIndex::new(1, usize::MAX, None, "g");
        let mut at = 0;
        for size in [1usize, 7, 8, 9, 4095, 65_536].iter().cycle() {
            if at == values.len() {
                break;
            }
            let n = (*size).min(values.len() - at);
            let batch: Vec<_> = values[at..at + n].iter().map(|&h| (h, h, false)).collect();
            idx.add(0, at as u64, &hashes(&batch), false).unwrap();
            at += n;
        }
        idx.staging.flush(&mut idx.groups);
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
        assert_eq!(got, want);
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
        let a = differences(spilled.0, spilled.1, true).unwrap();
        let b = differences(whole.0, whole.1, true).unwrap();
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
