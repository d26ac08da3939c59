//! The differing-rows subset: how tier 3 stays small when the inputs are large.
//!
//! When the rows do not fit in memory, the fingerprint pass keeps, per side, only a compact
//! index: for every file, the low 64 bits of each row's hash in row order (8 bytes a row), the
//! low 64 bits of every non-null key hash, and the count of null-key rows. If the fingerprints
//! differ, the two row-hash multisets are subtracted: what is left is exactly the rows that
//! differ (rows only on one side, and both versions of every changed or within-tolerance row),
//! and since each file's hashes are in row order, where they are: a sorted list of row
//! positions per file. The second pass reads only the files that hold such rows, keeps only
//! those rows, and hashes nothing else, so tier 3 works on the differences instead of the whole
//! table, without spilling.
//!
//! Duplicate keys are counted from the key index (every duplicated key, including ones whose
//! rows are identical on both sides), and the set of duplicated keys goes to tier 3 so a
//! duplicated key is matched as a multiset exactly as it would be on the whole table. When the
//! index outgrows its share of the budget it is dropped and the engine falls back to spilling
//! whole rows by key-hash partition.
//!
//! A 64-bit row-hash collision between a left and a different right row could hide one
//! difference from the subset; the 128-bit fingerprints still differ in that case, and the
//! engine reports an internal error rather than a verdict of parity.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::Array;

use crate::fingerprint::logical::{hash_at, RowHashes};

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

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by a 64-bit hash.
pub type HashMap64<V> = HashMap<u64, V, BuildHasherDefault<Unhashed>>;
/// A set of 64-bit hashes.
pub type HashSet64 = HashSet<u64, BuildHasherDefault<Unhashed>>;

/// One side's compact row index from the fingerprint pass.
#[derive(Debug)]
pub struct HashIndex {
    cap: usize,
    len: usize,
    files: Vec<Vec<u64>>,
    keys: Vec<u64>,
    null_keys: u64,
    overflow: bool,
}

impl HashIndex {
    /// An index of `files` files that gives up beyond `cap` rows.
    pub fn new(files: usize, cap: usize) -> Self {
        HashIndex {
            cap,
            len: 0,
            files: vec![Vec::new(); files],
            keys: Vec::new(),
            null_keys: 0,
            overflow: false,
        }
    }

    /// Whether the index outgrew its cap (and was dropped).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Distinct duplicated keys and null-key rows, from this index alone.
    pub fn key_counts(&self) -> (u64, u64) {
        let mut keys = self.keys.clone();
        (
            duplicated(&mut keys, &mut HashSet64::default()),
            self.null_keys,
        )
    }

    /// Add the hashes of the next batch of file `file` (batches of one file arrive in order).
    pub fn add(&mut self, file: usize, hashes: &RowHashes, keyed: bool) {
        if self.overflow {
            return;
        }
        let n = hashes.row.len();
        let key_rows = if keyed { n } else { 0 };
        if self.len + n + key_rows > self.cap {
            self.overflow = true;
            self.files = Vec::new();
            self.keys = Vec::new();
            return;
        }
        self.len += n + key_rows;
        let rows = &mut self.files[file];
        for i in 0..n {
            rows.push(hash_at(&hashes.row, i) as u64);
            if keyed {
                if hashes.null_key.value(i) {
                    self.null_keys += 1;
                } else {
                    self.keys.push(hash_at(&hashes.key, i) as u64);
                }
            }
        }
    }
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

/// LSD radix sort of 64-bit hashes, 11 bits a pass: hashes are uniform, so every pass is a
/// straight scatter (several times faster than a comparison sort on tens of millions).
pub fn radix_sort(values: &mut Vec<u64>) {
    if values.len() < 4096 {
        values.sort_unstable();
        return;
    }
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    let mut scratch = vec![0u64; values.len()];
    let mut shift = 0;
    while shift < 64 {
        let mut counts = vec![0usize; BUCKETS];
        for v in values.iter() {
            counts[((v >> shift) as usize) & (BUCKETS - 1)] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for v in values.iter() {
            let b = ((v >> shift) as usize) & (BUCKETS - 1);
            scratch[counts[b]] = *v;
            counts[b] += 1;
        }
        std::mem::swap(values, &mut scratch);
        shift += BITS;
    }
}

/// Count distinct values that occur more than once (sorting `keys`), adding them to `into`.
pub fn duplicated(keys: &mut Vec<u64>, into: &mut HashSet64) -> u64 {
    radix_sort(keys);
    let mut count = 0;
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j] == keys[i] {
            j += 1;
        }
        if j - i > 1 {
            count += 1;
            into.insert(keys[i]);
        }
        i = j;
    }
    count
}

fn sorted(files: &[Vec<u64>]) -> Vec<u64> {
    let mut all: Vec<u64> = files.iter().flatten().copied().collect();
    radix_sort(&mut all);
    all
}

/// Row hashes present more often on one side than on the other, with the surplus count.
fn surplus(a: &[u64], b: &[u64]) -> (HashMap64<u32>, HashMap64<u32>) {
    let (mut left, mut right) = (HashMap64::default(), HashMap64::default());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let h = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => *x.min(y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => break,
        };
        let mut ca = 0u32;
        while i < a.len() && a[i] == h {
            ca += 1;
            i += 1;
        }
        let mut cb = 0u32;
        while j < b.len() && b[j] == h {
            cb += 1;
            j += 1;
        }
        if ca > cb {
            left.insert(h, ca - cb);
        } else if cb > ca {
            right.insert(h, cb - ca);
        }
    }
    (left, right)
}

/// Where the wanted hashes are: each wanted copy once, first occurrences first.
fn locate(files: &[Vec<u64>], mut wanted: HashMap64<u32>) -> Selection {
    files
        .iter()
        .map(|rows| {
            let mut keep = Vec::new();
            if wanted.is_empty() {
                return keep;
            }
            for (pos, h) in rows.iter().enumerate() {
                if let Some(n) = wanted.get_mut(h) {
                    keep.push(pos as u32);
                    *n -= 1;
                    if *n == 0 {
                        wanted.remove(h);
                    }
                }
            }
            keep
        })
        .collect()
}

/// Subtract the two row multisets, locate the differing rows and find the duplicated keys.
pub fn differences(mut left: HashIndex, mut right: HashIndex) -> Differences {
    let mut d = Differences {
        null_left: left.null_keys,
        null_right: right.null_keys,
        ..Default::default()
    };
    // The two sides sort on both cores.
    let (mut left_dups, mut right_dups) = (HashSet64::default(), HashSet64::default());
    let ((dup_left, left_sorted), (dup_right, right_sorted)) = std::thread::scope(|scope| {
        let l = scope.spawn(|| {
            (
                duplicated(&mut left.keys, &mut left_dups),
                sorted(&left.files),
            )
        });
        let r = (
            duplicated(&mut right.keys, &mut right_dups),
            sorted(&right.files),
        );
        (l.join().expect("sorting thread"), r)
    });
    d.dup_left = dup_left;
    d.dup_right = dup_right;
    d.duplicate_keys = left_dups;
    d.duplicate_keys.extend(right_dups);
    let (wanted_left, wanted_right) = surplus(&left_sorted, &right_sorted);
    drop((left_sorted, right_sorted));
    let (l, r) = std::thread::scope(|scope| {
        let l = scope.spawn(|| locate(&left.files, wanted_left));
        (
            l.join().expect("locating thread"),
            locate(&right.files, wanted_right),
        )
    });
    d.left = l;
    d.right = r;
    d
}

/// Keeps the selected rows of one file as its batches go by.
#[derive(Debug)]
pub struct RowPicker {
    positions: std::sync::Arc<Vec<u32>>,
    next: usize,
    offset: u32,
}

impl RowPicker {
    /// A picker for one file's sorted positions.
    pub fn new(positions: std::sync::Arc<Vec<u32>>) -> Self {
        RowPicker {
            positions,
            next: 0,
            offset: 0,
        }
    }

    /// The positions within the next batch of `len` rows that are selected.
    pub fn pick(&mut self, len: usize) -> Vec<u32> {
        let end = self.offset + len as u32;
        let mut out = Vec::new();
        while let Some(&p) = self.positions.get(self.next) {
            if p >= end {
                break;
            }
            out.push(p - self.offset);
            self.next += 1;
        }
        self.offset = end;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(files: Vec<Vec<u64>>, keys: &[u64]) -> HashIndex {
        HashIndex {
            cap: usize::MAX,
            len: 0,
            files,
            keys: keys.to_vec(),
            null_keys: 0,
            overflow: false,
        }
    }

    #[test]
    fn multiset_subtraction_keeps_multiplicities_and_positions() {
        let d = differences(
            index(vec![vec![1, 1], vec![1, 2, 5]], &[10, 10, 11]),
            index(vec![vec![1, 2, 2, 7]], &[11, 12, 12]),
        );
        // Left has three 1s and right one: two left copies (the first two) are surplus.
        assert_eq!(d.left, vec![vec![0, 1], vec![2]]);
        assert_eq!(d.right, vec![vec![1, 3]]);
        assert_eq!((d.dup_left, d.dup_right), (1, 1));
        assert_eq!(d.duplicate_keys, HashSet64::from_iter([10, 12]));
    }

    #[test]
    fn radix_sort_sorts() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut v: Vec<u64> = (0..50_000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 7 == 0 {
                    42
                } else {
                    x
                }
            })
            .collect();
        let mut expected = v.clone();
        expected.sort_unstable();
        radix_sort(&mut v);
        assert_eq!(v, expected);
    }

    #[test]
    fn the_picker_maps_positions_into_batches() {
        let mut p = RowPicker::new(std::sync::Arc::new(vec![0, 3, 4, 9]));
        assert_eq!(p.pick(4), vec![0, 3]);
        assert_eq!(p.pick(4), vec![0]);
        assert_eq!(p.pick(10), vec![1]);
        assert_eq!(p.pick(10), Vec::<u32>::new());
    }

    #[test]
    fn an_index_past_its_cap_gives_up() {
        let mut idx = HashIndex::new(1, 1);
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
        idx.add(0, &hashes, true);
        assert!(idx.overflowed());
    }
}
