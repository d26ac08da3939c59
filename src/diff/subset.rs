//! The differing-rows subset: how tier 3 stays small when the inputs are large.
//!
//! When the rows do not fit in memory, the fingerprint pass keeps, per side, only a compact
//! index with one entry a row in arrival order: the low 64 bits of its key hash (of its row
//! hash without a key) and, with a key, 32 more bits of its row hash (8 or 12 bytes a row),
//! plus a short table of batches that maps a row's number back to its file and position.
//!
//! If the fingerprints differ, each side's entries are split into 256 groups by eight bits of
//! their hash (releasing the arrival-order copy as they go) and the two sides are subtracted as
//! multisets one group at a time (each group's hash tables stay near cache size, on two
//! threads): what is left is the rows that differ (rows only on one side, and both versions of
//! every changed or within-tolerance row), located as sorted positions per file. The second
//! pass reads only the files that hold such rows (and of a Parquet file, only the runs of row
//! groups that do), keeps only those rows, and hashes nothing else, so tier 3 works on the
//! differences instead of the whole table, without spilling.
//!
//! Duplicate keys are counted from the same groups (every duplicated key, including ones whose
//! rows are identical on both sides; null keys aside), and the set of duplicated keys goes to
//! tier 3 so a duplicated key is matched as a multiset exactly as it would be on the whole
//! table. When the index outgrows its share of the budget it is dropped and the engine falls
//! back to spilling whole rows by key-hash partition.
//!
//! The entries are shorter than the 128-bit hashes, so a changed row could in principle keep
//! the same entry and be left out. The engine checks the subset against the fingerprints: the
//! rows left out pair up exactly, so the kept rows' hash sums must differ exactly as the whole
//! sides' do; when they do not, every row is read again instead.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::Array;

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
struct Chunked<T, const CAP: usize = CHUNK> {
    chunks: Vec<Vec<T>>,
}

/// Values an arrival-order chunk holds: the hashes' and the checks' chunks line up.
const CHUNK: usize = 4096;

/// Entries a group's chunk holds: 32 KiB, the size of an arrival-order chunk of hashes, so the
/// chunks the index frees while it is split into groups are the ones the groups take.
const GROUP_CHUNK: usize = 2048;

impl<T, const CAP: usize> Default for Chunked<T, CAP> {
    fn default() -> Self {
        Chunked { chunks: Vec::new() }
    }
}

impl<T: Copy, const CAP: usize> Chunked<T, CAP> {
    #[inline]
    fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CAP => c.push(v),
            _ => {
                let mut c = Vec::with_capacity(CAP);
                c.push(v);
                self.chunks.push(c);
            }
        }
    }

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

/// One row's entry once grouped: the low 64 bits of its key hash (of its row hash without a
/// key), with a key 32 more bits of its row hash (else 0), and its row number on its side in
/// arrival order with [`NULL_FLAG`].
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    hash: u64,
    check: u32,
    row: u32,
}

/// The entries of one group.
#[derive(Debug, Default, Clone)]
struct Group {
    entries: Chunked<Entry, GROUP_CHUNK>,
}

impl Group {
    /// Each entry as ((hash, check), row number with its flag).
    fn entries(&self) -> impl Iterator<Item = ((u64, u32), u32)> + '_ {
        self.entries.iter().map(|e| ((e.hash, e.check), e.row))
    }
}

/// Entries staged per group before they are copied into their group a few at a time: writing
/// each entry straight to one of 256 far-apart places misses the cache and the TLB nearly
/// every time; the staging area (32 KiB) stays in the cache, and the copies are whole lines.
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
            groups[g].entries.extend_from_slice(&self.slots[g]);
            self.len[g] = 0;
        } else {
            self.len[g] = (n + 1) as u8;
        }
    }

    fn flush(&mut self, groups: &mut [Group]) {
        for (g, group) in groups.iter_mut().enumerate() {
            let n = usize::from(self.len[g]);
            group.entries.extend_from_slice(&self.slots[g][..n]);
            self.len[g] = 0;
        }
    }
}

/// Walks the ascending numbers of the null-key rows alongside the rows in arrival order.
struct NullRows<'a>(std::iter::Peekable<std::slice::Iter<'a, u32>>);

impl<'a> NullRows<'a> {
    fn new(rows: &'a [u32]) -> Self {
        NullRows(rows.iter().peekable())
    }

    /// Whether row `row` (asked in ascending order) has a null key.
    fn next_is(&mut self, row: u32) -> bool {
        self.0.next_if(|&&n| n == row).is_some()
    }
}

/// One side's compact row index from the fingerprint pass: 8 bytes a row without a key, 12
/// with one, in arrival order (a row's number is its place in it).
#[derive(Debug, Clone)]
pub struct HashIndex {
    cap: usize,
    hashes: Chunked<u64>,
    checks: Chunked<u32>,
    /// Numbers of the rows with a null key component, ascending.
    null_rows: Vec<u32>,
    /// Where each batch's rows are: (first row number, file, first position in the file).
    runs: Vec<(u32, u32, u32)>,
    /// How many files the side has.
    files: usize,
    /// The next row's number.
    next_row: u32,
    overflow: bool,
}

impl HashIndex {
    /// An index of `files` files that gives up beyond `cap` bytes.
    pub fn new(files: usize, cap: usize) -> Self {
        HashIndex {
            cap,
            hashes: Chunked::default(),
            checks: Chunked::default(),
            null_rows: Vec::new(),
            runs: Vec::new(),
            files,
            next_row: 0,
            overflow: false,
        }
    }

    /// Whether the index outgrew its cap (and was dropped).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Distinct duplicated keys and null-key rows, from this index alone.
    pub fn key_counts(&self) -> (u64, u64) {
        let mut groups = HashGroups::default();
        let mut nulls = NullRows::new(&self.null_rows);
        for (row, h) in self.hashes.iter().enumerate() {
            if !nulls.next_is(row as u32) {
                groups.push(h);
            }
        }
        (
            groups.duplicated(&mut HashSet64::default()),
            self.null_rows.len() as u64,
        )
    }

    /// Add the hashes of a batch of file `file` whose first row is at `position` in the file.
    /// Batches may arrive in any order, from any file.
    pub fn add(&mut self, file: usize, position: u64, hashes: &RowHashes, keyed: bool) {
        if self.overflow {
            return;
        }
        let n = hashes.row.len();
        let first = self.next_row;
        // Counted at the size the entries take once grouped for the subtraction (16 bytes
        // with or without a key), the index's peak.
        let per_row = std::mem::size_of::<Entry>();
        let fits = (first as usize + n) * per_row <= self.cap
            && u64::from(first) + n as u64 <= u64::from(NULL_FLAG)
            && position + n as u64 <= u64::from(u32::MAX);
        if !fits {
            self.overflow = true;
            self.hashes = Chunked::default();
            self.checks = Chunked::default();
            self.null_rows = Vec::new();
            self.runs = Vec::new();
            return;
        }
        self.runs.push((first, file as u32, position as u32));
        self.next_row += n as u32;
        if keyed {
            for (i, (k, r)) in halves(&hashes.key).zip(halves(&hashes.row)).enumerate() {
                self.hashes.push(k.0);
                self.checks.push(r.1 as u32);
                if hashes.null_key.value(i) {
                    self.null_rows.push(first + i as u32);
                }
            }
        } else {
            for (h, _) in halves(&hashes.row) {
                self.hashes.push(h);
            }
        }
    }

    /// Split the entries into [`GROUPS`] groups, releasing the arrival-order copy a chunk at a
    /// time as it goes (the groups' chunks take their place).
    fn take_groups(&mut self) -> Vec<Group> {
        let mut groups = vec![Group::default(); GROUPS];
        let mut staging = Staging::new();
        let hashes = std::mem::take(&mut self.hashes.chunks);
        let mut checks = std::mem::take(&mut self.checks.chunks).into_iter();
        let mut nulls = NullRows::new(&self.null_rows);
        let mut row = 0u32;
        for chunk in hashes {
            // Without a key there are no check chunks.
            let check_chunk = checks.next();
            for (i, h) in chunk.into_iter().enumerate() {
                let flag = if nulls.next_is(row) { NULL_FLAG } else { 0 };
                let check = check_chunk.as_ref().map_or(0, |c| c[i]);
                staging.push(
                    &mut groups,
                    Entry {
                        hash: h,
                        check,
                        row: row | flag,
                    },
                );
                row += 1;
            }
        }
        staging.flush(&mut groups);
        groups
    }

    /// The file and position of each row number in `rows`, as sorted positions per file.
    fn locate(&self, rows: Vec<u32>) -> Selection {
        let mut out: Selection = vec![Vec::new(); self.files];
        for row in rows {
            let run = self.runs.partition_point(|r| r.0 <= row) - 1;
            let (first, file, pos) = self.runs[run];
            out[file as usize].push(pos + (row - first));
        }
        for positions in &mut out {
            positions.sort_unstable();
        }
        out
    }
}

#[inline]
fn group_of(h: u64) -> usize {
    ((h >> GROUP_SHIFT) as usize) % GROUPS
}

/// Count the distinct keys of one group seen more than once (null keys aside), adding them to
/// `into`.
fn duplicated_in(g: &Group, seen: &mut HashSet64, into: &mut HashSet64) -> u64 {
    let keys = g
        .entries
        .iter()
        .filter(|e| e.row & NULL_FLAG == 0)
        .map(|e| e.hash);
    repeated(keys, seen, into)
}

/// Sorted row positions to keep, per file of a side.
pub type Selection = Vec<Vec<u32>>;

/// What the two indexes say differs.
#[derive(Debug, Default)]
pub struct Differences {
    /// Left rows to read again, per file.
    pub left: Selection,
    /// Right rows to read again, per file.
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
#[derive(Default)]
struct Found {
    left: Vec<u32>,
    right: Vec<u32>,
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

/// The hash tables of one subtraction, kept between groups so their memory is reused.
#[derive(Default)]
struct Scratch {
    copies: HashMap<(u64, u32), Copies, BuildHasherDefault<Unhashed>>,
    /// Pairs with surplus copies that are not the first of their side: how many are left to take.
    repeated_left: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    repeated_right: HashMap<(u64, u32), u32, BuildHasherDefault<Unhashed>>,
    seen: HashSet64,
}

/// Subtract the two sides' entries of one group as multisets, recording the row numbers of the
/// surplus copies (earliest rows first), and find the group's duplicated keys.
///
/// One pass per side counts the copies and notes each side's first row; the surplus of a pair
/// held once on its side (nearly all of them) is that row. Only pairs repeated on a side are
/// looked for again, in a walk that takes their earliest rows.
fn subtract_group(l: &Group, r: &Group, keyed: bool, scratch: &mut Scratch, found: &mut Found) {
    let Scratch {
        copies,
        repeated_left,
        repeated_right,
        seen,
    } = scratch;
    copies.clear();
    for (pair, row) in l.entries() {
        let c = copies.entry(pair).or_default();
        if c.left == 0 {
            c.first_left = row & !NULL_FLAG;
        }
        c.left += 1;
    }
    for (pair, row) in r.entries() {
        let c = copies.entry(pair).or_default();
        if c.right == 0 {
            c.first_right = row & !NULL_FLAG;
        }
        c.right += 1;
    }
    repeated_left.clear();
    repeated_right.clear();
    for (&pair, c) in copies.iter() {
        if c.left > c.right {
            if c.left == 1 {
                found.left.push(c.first_left);
            } else {
                repeated_left.insert(pair, c.left - c.right);
            }
        } else if c.right > c.left {
            if c.right == 1 {
                found.right.push(c.first_right);
            } else {
                repeated_right.insert(pair, c.right - c.left);
            }
        }
    }
    for (g, repeated, out) in [
        (l, repeated_left, &mut found.left),
        (r, repeated_right, &mut found.right),
    ] {
        if repeated.is_empty() {
            continue;
        }
        for (pair, row) in g.entries() {
            if let Some(n) = repeated.get_mut(&pair).filter(|n| **n > 0) {
                *n -= 1;
                out.push(row & !NULL_FLAG);
            }
        }
    }
    if keyed {
        found.dup_left += duplicated_in(l, seen, &mut found.left_dups);
        found.dup_right += duplicated_in(r, seen, &mut found.right_dups);
    }
}

/// Subtract the two row multisets, locate the differing rows and find the duplicated keys, one
/// group at a time on two threads.
pub fn differences(mut left: HashIndex, mut right: HashIndex, keyed: bool) -> Differences {
    let (lg, rg) = std::thread::scope(|scope| {
        let l = scope.spawn(|| left.take_groups());
        let r = right.take_groups();
        (l.join().expect("index thread"), r)
    });
    let share = |first: usize| {
        let mut found = Found::default();
        let mut scratch = Scratch::default();
        for g in (first..GROUPS).step_by(2) {
            subtract_group(&lg[g], &rg[g], keyed, &mut scratch, &mut found);
        }
        found
    };
    let (mut a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| share(1));
        (share(0), other.join().expect("index thread"))
    });
    a.left.extend(b.left);
    a.right.extend(b.right);
    a.left_dups.extend(b.left_dups);
    a.left_dups.extend(a.right_dups);
    a.left_dups.extend(b.right_dups);
    Differences {
        left: left.locate(a.left),
        right: right.locate(a.right),
        duplicate_keys: a.left_dups,
        dup_left: a.dup_left + b.dup_left,
        dup_right: a.dup_right + b.dup_right,
        null_left: left.null_rows.len() as u64,
        null_right: right.null_rows.len() as u64,
    }
}

/// Whether `selection` holds any row of file `file` from `first_row` on, among `rows` rows.
pub fn selects(selection: &Selection, file: usize, first_row: u64, rows: u64) -> bool {
    let positions = &selection[file];
    let at = positions.partition_point(|&p| u64::from(p) < first_row);
    positions
        .get(at)
        .is_some_and(|&p| u64::from(p) < first_row + rows)
}

/// Keeps the selected rows of one run of a file's rows as its batches go by, in order.
#[derive(Debug)]
pub struct RowPicker {
    selection: std::sync::Arc<Selection>,
    file: usize,
    /// The next selected position to look at.
    next: usize,
    /// The file position of the next batch's first row.
    offset: u64,
}

impl RowPicker {
    /// A picker for file `file`'s selected positions, for batches that start at `first_row`.
    pub fn new(selection: std::sync::Arc<Selection>, file: usize, first_row: u64) -> Self {
        let next = selection[file].partition_point(|&p| u64::from(p) < first_row);
        RowPicker {
            selection,
            file,
            next,
            offset: first_row,
        }
    }

    /// The positions within the next batch of `len` rows that are selected.
    pub fn pick(&mut self, len: usize) -> Vec<u32> {
        let end = self.offset + len as u64;
        let positions = &self.selection[self.file];
        let mut out = Vec::new();
        while let Some(&p) = positions.get(self.next) {
            if u64::from(p) >= end {
                break;
            }
            out.push((u64::from(p) - self.offset) as u32);
            self.next += 1;
        }
        self.offset = end;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut idx = HashIndex::new(files.len(), usize::MAX);
        for (f, rows) in files.iter().enumerate() {
            let batch: Vec<_> = rows.iter().map(|&h| (h, h, false)).collect();
            idx.add(f, 0, &hashes(&batch), false);
        }
        idx
    }

    #[test]
    fn multiset_subtraction_keeps_multiplicities_and_positions() {
        let d = differences(
            rows_index(&[vec![1, 1], vec![1, 2, 5]]),
            rows_index(&[vec![1, 2, 2, 7]]),
            false,
        );
        // Left has three 1s and right one: two left copies (the first two) are surplus.
        assert_eq!(d.left, vec![vec![0, 1], vec![2]]);
        assert_eq!(d.right, vec![vec![1, 3]]);
        assert_eq!((d.dup_left, d.dup_right), (0, 0));
    }

    #[test]
    fn keyed_entries_find_changed_rows_and_duplicated_keys() {
        // Key 10 twice on the left; key 11's row changed in its high half only (the check
        // bits); key 12 twice on the right; a null-key row identical on both sides twice.
        let changed = 7u128 | (1u128 << 64);
        let null_row = (99, 5, true);
        let mut left = HashIndex::new(1, usize::MAX);
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
        );
        let mut right = HashIndex::new(1, usize::MAX);
        right.add(
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
        );
        assert_eq!(left.key_counts(), (1, 2));
        let d = differences(left, right, true);
        assert_eq!(d.left, vec![vec![0, 1, 2]]);
        assert_eq!(d.right, vec![vec![1, 2, 3]]);
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
            idx.add(file, position as u64, &hashes(&batch), false);
        };
        // File 1's batches arrive last first, as parts of one file decoded on several
        // threads may.
        let mut left = HashIndex::new(2, usize::MAX);
        let file0: Vec<_> = common[..100_000].chunks(8192).enumerate().collect();
        let file1: Vec<_> = common[100_000..].chunks(8192).enumerate().rev().collect();
        for ((i, a), (j, b)) in file0.into_iter().zip(file1) {
            add(&mut left, a, 0, i * 8192);
            add(&mut left, b, 1, j * 8192);
        }
        let mut right_rows: Vec<u128> = common.iter().copied().filter(|h| *h != gone).collect();
        right_rows.push(added);
        let mut right = HashIndex::new(1, usize::MAX);
        for (i, chunk) in right_rows.chunks(8192).enumerate() {
            add(&mut right, chunk, 0, i * 8192);
        }
        let d = differences(left, right, false);
        assert_eq!(d.left, vec![vec![], vec![23_456]]);
        assert_eq!(d.right, vec![vec![199_999]]);
    }

    #[test]
    fn the_picker_maps_positions_into_batches() {
        let selection = std::sync::Arc::new(vec![vec![7], vec![0, 3, 4, 9]]);
        let mut p = RowPicker::new(selection.clone(), 1, 0);
        assert_eq!(p.pick(4), vec![0, 3]);
        assert_eq!(p.pick(4), vec![0]);
        assert_eq!(p.pick(10), vec![1]);
        assert_eq!(p.pick(10), Vec::<u32>::new());
        // A run of the file that starts at row 4.
        let mut p = RowPicker::new(selection.clone(), 1, 4);
        assert_eq!(p.pick(2), vec![0]);
        assert_eq!(p.pick(4), vec![3]);
        assert_eq!(p.pick(4), Vec::<u32>::new());
        assert!(selects(&selection, 1, 4, 1));
        assert!(!selects(&selection, 1, 5, 4));
        assert!(selects(&selection, 1, 5, 5));
        assert!(!selects(&selection, 0, 0, 7));
        assert!(selects(&selection, 0, 0, 8));
    }

    #[test]
    fn an_index_past_its_cap_gives_up() {
        let mut idx = HashIndex::new(1, 23);
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
        idx.add(0, 0, &hashes, true);
        assert!(idx.overflowed());
    }
}
