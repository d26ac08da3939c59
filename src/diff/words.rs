//! The 64-bit word of every compared cell of a partition's rows, laid out row by row.
//!
//! A cell's word is the hash of its canonical encoding: the same word the fingerprint pass
//! combined into the row's hash ([`crate::fingerprint::logical::hash_batch`]). Two rows whose
//! row hashes agree are taken as equal because their words do; two cells whose words agree are
//! equal on the same footing. Tier 3 reads a differing pair's words first (one short run of
//! memory per side) and gathers for the exact, typed comparison only the cells whose words
//! differ, so a column that differs in every row costs that column's gather, not every
//! column's. Where the words would take more memory than the rows they describe, or more
//! than their share of `--memory-limit`, tier 3 does without them.

use arrow::record_batch::RecordBatch;

use super::matcher::{split_ref, RowRef};
use crate::fingerprint::encoding::CellEncoder;

/// The words of one side of a partition.
pub(super) struct CellWords {
    /// Compared columns per row.
    width: usize,
    /// Per batch, `rows × width` words, row after row.
    batches: Vec<Vec<u64>>,
}

impl CellWords {
    /// The words of `columns` (indices into each batch) of every row of `batches`, hashed by
    /// the batches' encoders (`encoders[batch][column]`).
    pub(super) fn new(
        batches: &[RecordBatch],
        encoders: &[Vec<Box<dyn CellEncoder>>],
        columns: &[usize],
    ) -> Self {
        let batches = batches
            .iter()
            .zip(encoders)
            .map(|(b, e)| batch_words(b.num_rows(), e, columns))
            .collect();
        CellWords {
            width: columns.len(),
            batches,
        }
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

    /// Words laid out by [`CellWords::lay_out`], a vector a batch, `width` a row.
    pub(super) fn from_laid_out(width: usize, batches: Vec<Vec<u64>>) -> Self {
        CellWords { width, batches }
    }

    /// The words of `columns` (indices into `cells`, one hash a row each) of `rows` rows, laid
    /// out row after row.
    pub(super) fn lay_out(rows: usize, cells: &[&[u64]], columns: &[usize]) -> Vec<u64> {
        // Row after row, each written once and in order: no zeroed buffer filled again a
        // column at a time with strided stores.
        let columns: Vec<&[u64]> = columns.iter().map(|&c| &cells[c][..rows]).collect();
        let mut out = Vec::with_capacity(rows * columns.len());
        for row in 0..rows {
            out.extend(columns.iter().map(|column| column[row]));
        }
        out
    }

    /// The words of one row, in the order of the columns given to [`CellWords::new`].
    #[inline]
    pub(super) fn row(&self, r: RowRef) -> &[u64] {
        let (b, row) = split_ref(r);
        &self.batches[b][row * self.width..(row + 1) * self.width]
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

/// Column `j` of words laid out `width` a row: `column`'s hashes, one a row.
fn place(out: &mut [u64], width: usize, j: usize, column: &[u64]) {
    for (slot, word) in out.iter_mut().skip(j).step_by(width.max(1)).zip(column) {
        *slot = *word;
    }
}

/// One batch's words: hashed a column at a time (the typed loops of
/// [`crate::fingerprint::encoding::CellEncoder::hash_cells`]) into one buffer, then laid out
/// row by row.
fn batch_words(rows: usize, encoders: &[Box<dyn CellEncoder>], columns: &[usize]) -> Vec<u64> {
    let mut out = vec![0u64; rows * columns.len()];
    let mut column = Vec::with_capacity(rows);
    for (j, &c) in columns.iter().enumerate() {
        column.clear();
        encoders[c].hash_cells(rows, &mut column);
        place(&mut out, columns.len(), j, &column);
    }
    out
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
        let words = CellWords::new(&batches, &encoders, &[1, 0]);
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
        for row in 0..3 {
            assert_eq!(words.row(row as u64), expect(&batch, row).as_slice());
        }
        // The second batch is a slice starting at row 1: its row 0 is the first's row 1.
        assert_eq!(words.row((1 << 32) | 1), expect(&batch, 2).as_slice());
        assert_ne!(words.row(0), words.row(1));
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
