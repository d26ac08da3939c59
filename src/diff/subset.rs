//! The differing-rows subset: how tier 3 stays small when the inputs are large.
//!
//! When the rows do not fit in memory, the fingerprint pass keeps, per side, only a compact
//! index: the low 64 bits of every row hash and of every non-null key hash (16 bytes a row),
//! and the count of null-key rows. If the fingerprints differ, the two row-hash multisets are
//! subtracted: what is left is exactly the rows that differ (rows only on one side, and both
//! versions of every changed or within-tolerance row). The second pass then keeps only those
//! rows, so tier 3 works on the differences instead of the whole table, without spilling.
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
use std::sync::Mutex;

use arrow::array::{Array, FixedSizeBinaryArray};

use crate::fingerprint::logical::{hash_at, RowHashes};

/// One side's compact row index from the fingerprint pass.
#[derive(Debug)]
pub struct HashIndex {
    cap: usize,
    rows: Vec<u64>,
    keys: Vec<u64>,
    null_keys: u64,
    overflow: bool,
}

impl HashIndex {
    /// An index that gives up beyond `cap` rows.
    pub fn new(cap: usize) -> Self {
        HashIndex {
            cap,
            rows: Vec::new(),
            keys: Vec::new(),
            null_keys: 0,
            overflow: false,
        }
    }

    /// Whether the index outgrew its cap (and was dropped).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Add a batch's hashes.
    pub fn add(&mut self, hashes: &RowHashes, keyed: bool) {
        if self.overflow {
            return;
        }
        let n = hashes.row.len();
        if self.rows.len() + n > self.cap {
            self.overflow = true;
            self.rows = Vec::new();
            self.keys = Vec::new();
            return;
        }
        for i in 0..n {
            self.rows.push(hash_at(&hashes.row, i) as u64);
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

/// What the two indexes say differs.
#[derive(Debug, Default)]
pub struct Differences {
    /// Left row hashes to keep, with how many copies.
    pub left: HashMap<u64, u32>,
    /// Right row hashes to keep, with how many copies.
    pub right: HashMap<u64, u32>,
    /// Keys (low 64 bits of the key hash) that occur more than once on either side.
    pub duplicate_keys: HashSet<u64>,
    /// Distinct duplicated keys on the left.
    pub dup_left: u64,
    /// Distinct duplicated keys on the right.
    pub dup_right: u64,
    /// Null-key rows on the left.
    pub null_left: u64,
    /// Null-key rows on the right.
    pub null_right: u64,
}

fn duplicated(keys: &mut [u64], into: &mut HashSet<u64>) -> u64 {
    keys.sort_unstable();
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

/// Subtract the two row multisets and find the duplicated keys.
pub fn differences(mut left: HashIndex, mut right: HashIndex) -> Differences {
    let mut d = Differences {
        null_left: left.null_keys,
        null_right: right.null_keys,
        ..Default::default()
    };
    d.dup_left = duplicated(&mut left.keys, &mut d.duplicate_keys);
    d.dup_right = duplicated(&mut right.keys, &mut d.duplicate_keys);
    left.rows.sort_unstable();
    right.rows.sort_unstable();
    let (a, b) = (&left.rows, &right.rows);
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
            d.left.insert(h, ca - cb);
        } else if cb > ca {
            d.right.insert(h, cb - ca);
        }
    }
    d
}

/// Picks, batch by batch, the rows whose hash is still wanted (each wanted copy once).
#[derive(Debug)]
pub struct RowFilter(Mutex<HashMap<u64, u32>>);

impl RowFilter {
    /// A filter wanting these row hashes and counts.
    pub fn new(wanted: HashMap<u64, u32>) -> Self {
        RowFilter(Mutex::new(wanted))
    }

    /// Indices of the rows to keep.
    pub fn select(&self, row_hashes: &FixedSizeBinaryArray) -> Vec<u32> {
        let mut wanted = self.0.lock().expect("row filter lock");
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut keep = Vec::new();
        for i in 0..row_hashes.len() {
            let h = hash_at(row_hashes, i) as u64;
            if let Some(n) = wanted.get_mut(&h) {
                keep.push(i as u32);
                *n -= 1;
                if *n == 0 {
                    wanted.remove(&h);
                }
            }
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rows: &[u64], keys: &[u64]) -> HashIndex {
        HashIndex {
            cap: usize::MAX,
            rows: rows.to_vec(),
            keys: keys.to_vec(),
            null_keys: 0,
            overflow: false,
        }
    }

    #[test]
    fn multiset_subtraction_keeps_multiplicities() {
        let d = differences(
            index(&[1, 1, 1, 2, 5], &[10, 10, 11]),
            index(&[1, 2, 2, 7], &[11, 12, 12]),
        );
        assert_eq!(d.left, HashMap::from([(1, 2), (5, 1)]));
        assert_eq!(d.right, HashMap::from([(2, 1), (7, 1)]));
        assert_eq!((d.dup_left, d.dup_right), (1, 1));
        assert_eq!(d.duplicate_keys, HashSet::from([10, 12]));
    }

    #[test]
    fn an_index_past_its_cap_gives_up() {
        let mut idx = HashIndex::new(1);
        let hashes = RowHashes {
            row: FixedSizeBinaryArray::try_from_iter(vec![[0u8; 16], [1u8; 16]].into_iter())
                .unwrap(),
            key: FixedSizeBinaryArray::try_from_iter(vec![[0u8; 16], [1u8; 16]].into_iter())
                .unwrap(),
            null_key: arrow::array::BooleanArray::from(vec![false, false]),
        };
        idx.add(&hashes, true);
        assert!(idx.overflowed());
    }
}
