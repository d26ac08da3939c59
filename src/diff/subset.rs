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
//! Neither step sorts the index: the subtraction counts hashes in rounds chosen by four of
//! their bits, and duplicated keys are found in 256 groups split off as the keys arrive, so
//! every hash table stays near cache size and the index is never copied.
//!
//! A 64-bit row-hash collision between a left and a different right row could hide one
//! difference from the subset; the 128-bit fingerprints still differ in that case, and the
//! engine reports an internal error rather than a verdict of parity.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::Array;

use crate::fingerprint::logical::RowHashes;

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

/// Where the bits that split hashes into groups start. Not the top bits (the hash tables'
/// control bytes) nor the low ones (their slot numbers), so tables built over one group are as
/// uniform as tables over all.
const GROUP_SHIFT: u32 = 24;

/// 64-bit hashes split into 256 groups by eight of their bits as they arrive, so that finding
/// repeated values works one cache-sized group at a time instead of sorting tens of millions.
#[derive(Debug)]
pub struct HashGroups {
    groups: Vec<Vec<u64>>,
}

impl Default for HashGroups {
    fn default() -> Self {
        HashGroups {
            groups: vec![Vec::new(); 256],
        }
    }
}

impl HashGroups {
    /// Add one hash.
    #[inline]
    pub fn push(&mut self, h: u64) {
        self.groups[((h >> GROUP_SHIFT) & 0xff) as usize].push(h);
    }

    /// Count the distinct values that occur more than once, adding them to `into`.
    pub fn duplicated(&self, into: &mut HashSet64) -> u64 {
        let mut seen = HashSet64::default();
        let mut count = 0;
        for group in &self.groups {
            seen.clear();
            seen.reserve(group.len());
            for &h in group {
                // The second sighting of a value counts it; later ones find it counted.
                if !seen.insert(h) && into.insert(h) {
                    count += 1;
                }
            }
        }
        count
    }
}

/// One side's compact row index from the fingerprint pass.
#[derive(Debug)]
pub struct HashIndex {
    cap: usize,
    len: usize,
    files: Vec<Vec<u64>>,
    keys: HashGroups,
    null_keys: u64,
    overflow: bool,
}

impl HashIndex {
    /// An index of `files` files that gives up beyond `cap` entries (a row hash or a key hash,
    /// 8 bytes each).
    pub fn new(files: usize, cap: usize) -> Self {
        HashIndex {
            cap,
            len: 0,
            files: vec![Vec::new(); files],
            keys: HashGroups::default(),
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
        (
            self.keys.duplicated(&mut HashSet64::default()),
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
            self.keys = HashGroups::default();
            return;
        }
        self.len += n + key_rows;
        self.files[file].extend(low_halves(&hashes.row));
        if keyed {
            let nulls = &hashes.null_key;
            for (i, h) in low_halves(&hashes.key).enumerate() {
                if nulls.value(i) {
                    self.null_keys += 1;
                } else {
                    self.keys.push(h);
                }
            }
        }
    }
}

/// The low 64 bits of each 128-bit hash in `array`, in row order.
fn low_halves(array: &arrow::array::FixedSizeBinaryArray) -> impl Iterator<Item = u64> + '_ {
    let start = array.offset() * 16;
    array.value_data()[start..start + array.len() * 16]
        .chunks_exact(16)
        .map(|c| u64::from_le_bytes(c[..8].try_into().expect("8 bytes")))
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

/// How many rounds the multiset subtraction takes: each round counts the hashes whose four
/// round bits match, so its table stays near cache size.
const ROUNDS: u64 = 16;
const ROUND_SHIFT: u32 = 32;

/// Row hashes present more often on one side than on the other, with the surplus count, for
/// the rounds in `rounds`.
fn surplus(
    a: &[Vec<u64>],
    b: &[Vec<u64>],
    rounds: std::ops::Range<u64>,
) -> (HashMap64<u32>, HashMap64<u32>) {
    let (mut left, mut right) = (HashMap64::default(), HashMap64::default());
    let total: usize = a.iter().map(Vec::len).sum();
    let mut net: HashMap64<i64> = HashMap64::default();
    for round in rounds {
        net.clear();
        net.reserve(total / ROUNDS as usize + 16);
        let of_round = |h: &&u64| (**h >> ROUND_SHIFT) % ROUNDS == round;
        for h in a.iter().flatten().filter(of_round) {
            *net.entry(*h).or_insert(0) += 1;
        }
        for h in b.iter().flatten().filter(of_round) {
            *net.entry(*h).or_insert(0) -= 1;
        }
        for (&h, &n) in &net {
            if n > 0 {
                left.insert(h, n as u32);
            } else if n < 0 {
                right.insert(h, (-n) as u32);
            }
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
/// The work is split over two threads.
pub fn differences(left: HashIndex, right: HashIndex) -> Differences {
    let mut d = Differences {
        null_left: left.null_keys,
        null_right: right.null_keys,
        ..Default::default()
    };
    let (mut left_dups, mut right_dups) = (HashSet64::default(), HashSet64::default());
    let half = ROUNDS / 2;
    let ((dup_left, (l1, r1)), (dup_right, (l2, r2))) = std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            (
                left.keys.duplicated(&mut left_dups),
                surplus(&left.files, &right.files, 0..half),
            )
        });
        let here = (
            right.keys.duplicated(&mut right_dups),
            surplus(&left.files, &right.files, half..ROUNDS),
        );
        (other.join().expect("index thread"), here)
    });
    d.dup_left = dup_left;
    d.dup_right = dup_right;
    d.duplicate_keys = left_dups;
    d.duplicate_keys.extend(right_dups);
    let (mut wanted_left, mut wanted_right) = (l1, r1);
    wanted_left.extend(l2);
    wanted_right.extend(r2);
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
        let mut groups = HashGroups::default();
        keys.iter().for_each(|k| groups.push(*k));
        HashIndex {
            cap: usize::MAX,
            len: 0,
            files,
            keys: groups,
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
    fn subtraction_covers_every_round_and_group() {
        // Values spread over all rounds and groups: every left value once, every right value
        // once except one dropped and one added, and three values on both sides twice.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let common: Vec<u64> = (0..200_000).map(|_| next()).collect();
        let (gone, added) = (common[123_456], next());
        let mut left = common.clone();
        let mut right: Vec<u64> = common.iter().copied().filter(|h| *h != gone).collect();
        right.push(added);
        left.extend(&common[..3]);
        right.extend(&common[..3]);
        let keys_left: Vec<u64> = left.clone();
        let d = differences(
            index(vec![left], &keys_left),
            index(vec![right.clone()], &right),
        );
        assert_eq!(d.left, vec![vec![123_456]]);
        assert_eq!(d.right, vec![vec![199_999]]);
        assert_eq!((d.dup_left, d.dup_right), (3, 3));
        assert_eq!(d.duplicate_keys.len(), 3);
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
