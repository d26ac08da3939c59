//! The 64-bit word of every compared cell of a partition's rows, laid out row by row, group
//! by group.
//!
//! A cell's word is the hash of its canonical encoding: the same word the fingerprint pass
//! combined into the row's hash ([`crate::fingerprint::logical::hash_batch`]). Two rows whose
//! row hashes agree are taken as equal because their words do; two cells whose words agree are
//! equal on the same footing. Tier 3 reads a differing pair's words first (one short run of
//! memory per side) and gathers for the exact, typed comparison only the cells whose words
//! differ, so a column that differs in every row costs that column's gather, not every
//! column's. Where the words would take more memory than the rows they describe, or more
//! than their share of `--memory-limit`, tier 3 does without them.
//!
//! Tier 3 matches a partition's rows a group of key hashes at a time, and one side's rows of a
//! differing pair come in no order. Each group's words are therefore stored together, its rows
//! in the order tier 3 lists them (batch by batch, row by row), so a group's words stay within
//! a cache-sized stretch of memory while it is compared.

use arrow::array::{Array, FixedSizeBinaryArray};
use arrow::record_batch::RecordBatch;

use super::spool::key_hashes;
use crate::fingerprint::encoding::CellEncoder;
use crate::fingerprint::logical::halves;

/// The group of key hashes a row whose key hash has low 64 bits `key` falls in: the group
/// tier 3 matches it in, and whose words hold its own.
#[inline]
pub(super) fn group_of(key: u64, groups: usize) -> usize {
    (key % groups as u64) as usize
}

/// The words of one side of a partition.
pub(super) struct CellWords {
    /// Per group of key hashes, `rows × width` words, row after row, the group's rows in batch
    /// order.
    groups: Vec<Vec<u64>>,
}

impl CellWords {
    /// No words yet, in `groups` groups, with room for `rows` rows of `width` words spread
    /// evenly and a little more, so the groups seldom grow.
    pub(super) fn empty(groups: usize, rows: usize, width: usize) -> Self {
        let groups = groups.max(1);
        let each = (rows / groups + rows / groups / 16 + 16) * width;
        CellWords {
            groups: (0..groups).map(|_| Vec::with_capacity(each)).collect(),
        }
    }

    /// The words of `columns` (indices into each batch) of every row of `batches`, hashed by
    /// the batches' encoders (`encoders[batch][column]`), each row in the group of its key
    /// hash (the spooled layout's key-hash column; not read when there is one group).
    pub(super) fn new(
        batches: &[RecordBatch],
        encoders: &[Vec<Box<dyn CellEncoder>>],
        columns: &[usize],
        groups: usize,
    ) -> Self {
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let mut words = CellWords::empty(groups, rows, columns.len());
        for (batch, encoders) in batches.iter().zip(encoders) {
            let rows = batch.num_rows();
            let cells: Vec<Vec<u64>> = columns
                .iter()
                .map(|&c| {
                    let mut out = Vec::with_capacity(rows);
                    encoders[c].hash_cells(rows, &mut out);
                    out
                })
                .collect();
            let cells: Vec<&[u64]> = cells.iter().map(Vec::as_slice).collect();
            let keys = (words.groups.len() > 1).then(|| key_hashes(batch));
            words.append(rows, &cells, keys);
        }
        words
    }

    /// Add the words of `rows` more rows: `cells` holds each compared column's hashes, one a
    /// row; `keys` their key hashes, which pick each row's group (`None` with one group).
    pub(super) fn append(
        &mut self,
        rows: usize,
        cells: &[&[u64]],
        keys: Option<&FixedSizeBinaryArray>,
    ) {
        let cells: Vec<&[u64]> = cells.iter().map(|c| &c[..rows]).collect();
        let groups = self.groups.len();
        match keys {
            Some(keys) if groups > 1 => {
                // A row whose words went to another group than its own would be compared
                // with another row's words.
                assert_eq!(keys.len(), rows, "a key hash for every row");
                for (row, (key, _)) in halves(keys).enumerate() {
                    let out = &mut self.groups[group_of(key, groups)];
                    out.extend(cells.iter().map(|column| column[row]));
                }
            }
            _ => {
                let out = &mut self.groups[0];
                out.reserve(rows * cells.len());
                for row in 0..rows {
                    out.extend(cells.iter().map(|column| column[row]));
                }
            }
        }
    }

    /// The words of group `g`: with `width` compared columns, row `i` of the group is `width`
    /// words from `i × width`.
    pub(super) fn group(&self, g: usize) -> &[u64] {
        &self.groups[g]
    }

    /// Whether the words of two sides' rows, 8 bytes a compared cell, take no more memory
    /// than the rows themselves (then a partition's words at most double what it holds while
    /// diffed) and no more than `budget` bytes. Narrow tables (flags, small integers), and rows
    /// kept in memory by the million, compare every cell by value instead. `spare` bytes a row
    /// count as held besides the rows: the 16-byte row hash that rows spooled by key only do
    /// not carry, whose place their words take.
    pub(super) fn fit(
        left: &[RecordBatch],
        right: &[RecordBatch],
        width: usize,
        budget: usize,
        spare: usize,
    ) -> bool {
        let (mut rows, mut held) = (0usize, 0usize);
        for b in left.iter().chain(right) {
            rows += b.num_rows();
            held += rows_size(b) + b.num_rows() * spare;
        }
        let words = rows.saturating_mul(width).saturating_mul(8);
        words <= held && words <= budget
    }
}

/// The bytes a batch's rows take. Not `get_array_memory_size`: a partition's batches are
/// slices of one gathered batch, or of the block they were read back in, and each would count
/// the whole of it.
fn rows_size(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::encoding::{encoder, hash_encoded};
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn a_rows_words_are_the_hashes_of_its_cells_encodings_in_column_order() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let names: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("café")]));
        let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
        let batches = [batch.clone(), batch.slice(1, 2)];
        let encoders: Vec<Vec<Box<dyn CellEncoder>>> = batches
            .iter()
            .map(|b| b.columns().iter().map(|c| encoder(c).unwrap()).collect())
            .collect();
        // One group: the batches' key hashes (which these plain batches lack) are not read.
        let words = CellWords::new(&batches, &encoders, &[1, 0], 1);
        let expect = |b: &RecordBatch, row: usize| -> Vec<u64> {
            [1, 0]
                .iter()
                .map(|&c| {
                    let mut buf = Vec::new();
                    encoder(b.column(c)).unwrap().encode(row, &mut buf);
                    hash_encoded(&buf)
                })
                .collect()
        };
        // One group: the first batch's three rows, then the second's two, two words a row.
        let row = |i: usize| &words.group(0)[i * 2..i * 2 + 2];
        assert_eq!(words.group(0).len(), 10);
        for i in 0..3 {
            assert_eq!(row(i), expect(&batch, i).as_slice());
        }
        // The second batch is a slice starting at row 1: its row 0 is the first's row 1.
        assert_eq!(row(4), expect(&batch, 2).as_slice());
        assert_ne!(row(0), row(1));
    }

    #[test]
    fn each_row_goes_to_the_group_of_its_key_hash_in_arrival_order() {
        // Key hashes whose low 64 bits are 0..6: with three groups, rows 0 and 3 in group 0,
        // 1 and 4 in group 1, 2 and 5 in group 2; one word a row, the row's number times ten.
        let keys = arrow::array::FixedSizeBinaryArray::try_from_iter(
            (0u128..6).map(|k| ((7u128 << 64) | k).to_le_bytes()),
        )
        .unwrap();
        let cells: Vec<u64> = (0..6).map(|i| i * 10).collect();
        let mut words = CellWords::empty(3, 0, 1);
        words.append(6, &[&cells], Some(&keys));
        words.append(3, &[&cells[..3]], Some(&keys.slice(0, 3)));
        assert_eq!(words.group(0), &[0, 30, 0]);
        assert_eq!(words.group(1), &[10, 40, 10]);
        assert_eq!(words.group(2), &[20, 50, 20]);
        assert_eq!(group_of(7, 3), 1);
    }

    #[test]
    fn words_fit_within_the_rows_own_size_and_the_budget() {
        let ids: ArrayRef = Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>()));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let side = std::slice::from_ref(&batch);
        let held = 2 * batch.get_array_memory_size();
        // Two sides of 1000 rows: 16,000 bytes of words a compared column.
        assert!(CellWords::fit(side, side, 1, 16_000, 0));
        assert!(!CellWords::fit(side, side, 1, 15_999, 0));
        let width = held / 16_000 + 1;
        assert!(!CellWords::fit(side, side, width, usize::MAX, 0));
    }

    #[test]
    fn slices_of_one_batch_count_only_their_own_rows() {
        // 1000 rows of 8-byte ids in ten slices of one batch: 8,000 bytes held a side, so one
        // compared column's words (16,000 bytes for both sides) fit and two do not.
        let ids: ArrayRef = Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>()));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let slices: Vec<RecordBatch> = (0..10).map(|i| batch.slice(i * 100, 100)).collect();
        assert!(CellWords::fit(&slices, &slices, 1, usize::MAX, 0));
        assert!(!CellWords::fit(&slices, &slices, 2, usize::MAX, 0));
        // With the 16 bytes a row of a row hash the rows do not carry: 24 bytes a row, three
        // compared columns' words and not four.
        assert!(CellWords::fit(&slices, &slices, 3, usize::MAX, 16));
        assert!(!CellWords::fit(&slices, &slices, 4, usize::MAX, 16));
    }
}
