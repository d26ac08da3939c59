//! Logical fingerprints: row hashes over the canonical encoding, summed.
//!
//! For every row of a batch (already projected to the compared columns in canonical order):
//!
//! * each cell is hashed: `h = XXH3-64(SEED_CELL ^ tag, payload)` over its canonical encoding;
//! * `row_hash = XXH3-128(SEED_ROW, h_0 ‖ h_1 ‖ …)` (little-endian words, column order);
//! * `key_hash = XXH3-128(SEED_KEY, h_k …)` over the key columns, else `row_hash`;
//! * the table fingerprint is `(row count, Σ row_hash mod 2^128)`: wrapping addition, so the
//!   order of rows, files and batches never matters and a duplicated row never cancels itself;
//! * per column `c`, `Σ fmix64(key_lo ^ h_c ^ SEED_COLUMN)`, which says which columns differ
//!   without a join.
//!
//! The hashes of each row go along with the batch to the diff stage (as two 16-byte columns and
//! a null-key flag) so tier 3 never re-hashes a row; rows kept for a keyed diff of every row
//! carry their key hash only, and tier 3 makes their row hashes and the fingerprints from the
//! cell hashes it compares ([`hash_keys`], [`fold_rows`]): the same values, each cell hashed
//! once. `docs/encoding.md` is the specification.

use arrow::array::{Array, BooleanArray, FixedSizeBinaryArray};
use arrow::buffer::{BooleanBuffer, Buffer};
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::encoding::{encoder, ENCODING_VERSION};
use crate::error::Result;

/// Seed of row hashes.
pub const SEED_ROW: u64 = 0x7061_7269_7479_0001;
/// Seed of key hashes.
pub const SEED_KEY: u64 = 0x7061_7269_7479_0002;
/// Seed of per-column cell hashes.
pub const SEED_COLUMN: u64 = 0x7061_7269_7479_0003;

/// The logical fingerprint of a table: order-, split- and batch-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Rows seen.
    pub rows: u64,
    /// Wrapping sum of row hashes.
    pub sum: u128,
    /// Sum of (key, cell) terms, one per compared column.
    pub columns: Vec<u128>,
}

impl Fingerprint {
    /// An empty fingerprint over `columns` columns.
    pub fn new(columns: usize) -> Self {
        Fingerprint {
            rows: 0,
            sum: 0,
            columns: vec![0; columns],
        }
    }

    /// Fold another partial fingerprint of the same table into this one.
    pub fn merge(&mut self, other: &Fingerprint) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            *a = a.wrapping_add(*b);
        }
    }

    /// `v1:<rows>:<32 hex digits>`: a fingerprint in one printable token, for logs and messages.
    pub fn to_hex(&self) -> String {
        format!("v{ENCODING_VERSION}:{}:{:032x}", self.rows, self.sum)
    }
}

/// One row's term in a per-column sum: the murmur3 64-bit finalizer (a bijection with full
/// avalanche) of the key hash xor the cell hash xor the column seed. A changed cell always
/// changes its term; the sums only say *which* columns differ, the verdict never rests on them.
#[inline]
pub fn column_term(key: u64, cell: u64) -> u64 {
    let mut x = key ^ cell ^ SEED_COLUMN;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A fingerprint as it appears in summaries and records.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FingerprintRecord {
    /// Encoding version.
    pub encoding_version: u32,
    /// Rows.
    pub rows: u64,
    /// The row-hash sum, hex.
    pub sum: String,
}

impl From<&Fingerprint> for FingerprintRecord {
    fn from(f: &Fingerprint) -> Self {
        FingerprintRecord {
            encoding_version: ENCODING_VERSION,
            rows: f.rows,
            sum: format!("{:032x}", f.sum),
        }
    }
}

/// The per-row hashes of one batch.
#[derive(Debug, Clone)]
pub struct RowHashes {
    /// 16-byte row hashes.
    pub row: FixedSizeBinaryArray,
    /// 16-byte key hashes (the row hash when there is no key).
    pub key: FixedSizeBinaryArray,
    /// Whether any key column is null in the row.
    pub null_key: BooleanArray,
}

fn fixed16(values: Vec<u8>) -> FixedSizeBinaryArray {
    FixedSizeBinaryArray::new(16, Buffer::from_vec(values), None)
}

/// The two 64-bit halves (low, high) of every value of a 16-byte hash column, in row order,
/// read straight from its buffer.
pub fn halves(array: &FixedSizeBinaryArray) -> impl Iterator<Item = (u64, u64)> + '_ {
    let start = array.offset() * 16;
    array.value_data()[start..start + array.len() * 16]
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                u64::from_le_bytes(c[8..].try_into().expect("8 bytes")),
            )
        })
}

/// Read a 16-byte hash column's value.
#[inline]
pub fn hash_at(array: &FixedSizeBinaryArray, row: usize) -> u128 {
    u128::from_le_bytes(array.value(row).try_into().expect("16-byte hash"))
}

/// Hash every row of `batch` (its columns are the compared columns in canonical order), adding
/// to `fp`. `key` holds the indices of the key columns; empty for a keyless diff. A
/// fingerprint made with `Fingerprint::new(0)` skips the per-column sums (a second pass that
/// only needs the row and key hashes).
///
/// Cells are hashed a column at a time (one typed loop per column), then each row's cell
/// hashes are combined: `row = XXH3-128(ROW, h_0 ‖ h_1 ‖ …)`, `key = XXH3-128(KEY, h_k…)`,
/// and for every column [`column_term`] of the key and the cell goes into that column's sum.
pub fn hash_batch(batch: &RecordBatch, key: &[usize], fp: &mut Fingerprint) -> Result<RowHashes> {
    hash_batch_cells(batch, key, fp).map(|(hashes, _)| hashes)
}

/// [`hash_batch`], with the cell hashes the rows were made of (one vector a column).
pub fn hash_batch_cells(
    batch: &RecordBatch,
    key: &[usize],
    fp: &mut Fingerprint,
) -> Result<(RowHashes, Vec<Vec<u64>>)> {
    let n = batch.num_rows();
    let cells = cell_hashes(batch, 0..batch.num_columns())?;
    let all: Vec<&[u64]> = cells.iter().map(Vec::as_slice).collect();
    if key.is_empty() {
        // Keyless: the key hash is the row hash and no row has a null key.
        let row = fold_rows(&all, n, None, fp);
        let hashes = RowHashes {
            key: row.clone(),
            row,
            null_key: BooleanArray::new(BooleanBuffer::new_unset(n), None),
        };
        return Ok((hashes, cells));
    }
    let key_cells: Vec<&[u64]> = key.iter().map(|&k| all[k]).collect();
    let keys = combine_keys(batch, key, &key_cells);
    let row = fold_rows(&all, n, Some(&keys.key), fp);
    let hashes = RowHashes {
        row,
        key: keys.key,
        null_key: keys.null_key,
    };
    Ok((hashes, cells))
}

/// For each row, 32 bits of a hash of its cells other than column `apart`'s: equal for two
/// rows that differ only in that column, and (but for one chance in 2^32) different for two
/// that differ anywhere else. An index that holds a volatile column apart matches rows on it.
pub fn hash_without(cells: &[Vec<u64>], apart: usize) -> Vec<u32> {
    let n = cells.first().map_or(0, Vec::len);
    let rest: Vec<&[u64]> = cells
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != apart)
        .map(|(_, v)| v.as_slice())
        .collect();
    let mut out = Vec::with_capacity(n);
    each_row_words(&rest, n, |words| {
        out.push(xxhash_rust::xxh3::xxh3_64_with_seed(words, SEED_ROW) as u32);
    });
    out
}

/// The key hash and null-key flag of every row of a batch.
#[derive(Debug, Clone)]
pub struct KeyHashes {
    /// 16-byte key hashes.
    pub key: FixedSizeBinaryArray,
    /// Whether any key column is null in the row.
    pub null_key: BooleanArray,
}

/// The key hashes of a keyed batch (`key` not empty), hashing only its key columns: what a
/// pass needs to partition rows whose row hashes are made later, from the same cell hashes
/// tier 3 compares ([`fold_rows`]).
pub fn hash_keys(batch: &RecordBatch, key: &[usize]) -> Result<KeyHashes> {
    let cells = cell_hashes(batch, key.iter().copied())?;
    let key_cells: Vec<&[u64]> = cells.iter().map(Vec::as_slice).collect();
    Ok(combine_keys(batch, key, &key_cells))
}

/// The 64-bit hash of every cell of the given columns of a batch, a column at a time.
pub fn cell_hashes(
    batch: &RecordBatch,
    columns: impl Iterator<Item = usize>,
) -> Result<Vec<Vec<u64>>> {
    let n = batch.num_rows();
    columns
        .map(|c| {
            let mut out = Vec::with_capacity(n);
            encoder(batch.column(c))?.hash_cells(n, &mut out);
            Ok(out)
        })
        .collect()
}

/// Key hashes from the key columns' cell hashes (in key order), with the rows whose key has a
/// null component flagged.
fn combine_keys(batch: &RecordBatch, key: &[usize], key_cells: &[&[u64]]) -> KeyHashes {
    let (bytes, _) = combine(key_cells, batch.num_rows(), SEED_KEY);
    let mut null = BooleanBuffer::new_unset(batch.num_rows());
    for &k in key {
        if let Some(nulls) = batch.column(k).nulls() {
            null = &null | &!nulls.inner();
        }
    }
    KeyHashes {
        key: fixed16(bytes),
        null_key: BooleanArray::new(null, None),
    }
}

/// The row hashes of `n` rows whose cell hashes are `cells` (every compared column, in order),
/// added to `fp`: the row count, the sum of row hashes and, when `fp` keeps them, the
/// per-column sums, keyed by the low 64 bits of each row's key hash (`keys`, `None` without a
/// key).
pub fn fold_rows(
    cells: &[&[u64]],
    n: usize,
    keys: Option<&FixedSizeBinaryArray>,
    fp: &mut Fingerprint,
) -> FixedSizeBinaryArray {
    let (row_bytes, sum) = combine(cells, n, SEED_ROW);
    fp.sum = fp.sum.wrapping_add(sum);
    fp.rows += n as u64;
    if fp.columns.is_empty() {
        return fixed16(row_bytes);
    }
    // One tight loop per column over (key, cell): no per-cell bounds checks or u128 indexing.
    let key_lo: Option<Vec<u64>> = keys.map(|k| halves(k).map(|h| h.0).collect());
    for (total, col) in fp.columns.iter_mut().zip(cells) {
        let acc = match &key_lo {
            Some(k) => column_sum(k.iter().zip(col.iter()).map(|(&k, &c)| (k, c))),
            None => column_sum(col.iter().map(|&c| (0, c))),
        };
        *total = total.wrapping_add(acc);
    }
    fixed16(row_bytes)
}

/// The wrapping sum of [`column_term`] over (key, cell) pairs.
#[inline]
fn column_sum(pairs: impl Iterator<Item = (u64, u64)>) -> u128 {
    pairs.fold(0u128, |acc, (k, c)| {
        acc.wrapping_add(column_term(k, c) as u128)
    })
}

/// `XXH3-128(seed, h_0 ‖ h_1 ‖ …)` of each row's cell hashes (little-endian words, in the order
/// of `cols`), as 16-byte little-endian values, and their wrapping sum.
fn combine(cols: &[&[u64]], n: usize, seed: u64) -> (Vec<u8>, u128) {
    let mut out = Vec::with_capacity(n * 16);
    let mut sum = 0u128;
    each_row_words(cols, n, |words| {
        let h = xxh3_128_with_seed(words, seed);
        sum = sum.wrapping_add(h);
        out.extend_from_slice(&h.to_le_bytes());
    });
    (out, sum)
}

/// Call `each` with every row's cell hashes (of `cols`, in that order) as little-endian words,
/// row after row: the bytes a row hash is taken over.
#[inline]
fn each_row_words(cols: &[&[u64]], n: usize, mut each: impl FnMut(&[u8])) {
    let mut words = vec![0u8; cols.len() * 8];
    for row in 0..n {
        for (w, col) in words.chunks_exact_mut(8).zip(cols) {
            w.copy_from_slice(&col[row].to_le_bytes());
        }
        each(&words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::encoding::{encoder, hash_encoded};
    use arrow::array::*;
    use std::sync::Arc;

    /// The typed loops of `hash_cells` must agree with hashing the canonical encoding.
    #[test]
    fn typed_cell_hashes_agree_with_the_encoding() {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            Arc::new(Int32Array::from(vec![Some(-7), None, Some(i32::MAX)])),
            Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(0)])),
            Arc::new(Float32Array::from(vec![Some(-0.0), None, Some(f32::NAN)])),
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                None,
                Some(f64::INFINITY),
            ])),
            Arc::new(StringArray::from(vec![Some(""), None, Some("héllo")])),
            Arc::new(LargeStringArray::from(vec![Some("a"), None, Some("b")])),
            // A slice: offsets and the null mask start past the buffers' beginning.
            Arc::new(
                StringArray::from(vec![Some("x"), None, Some("yz"), Some(""), None]).slice(1, 4),
            ),
            Arc::new(StringViewArray::from(vec![
                Some("a long string past the inline view"),
                None,
                Some("x"),
            ])),
            // A slice of views around the 12-byte inline limit, with an empty value.
            Arc::new(
                StringViewArray::from(vec![
                    Some("ignored"),
                    Some("twelve bytes"),
                    Some("thirteen byte"),
                    Some(""),
                    None,
                ])
                .slice(1, 4),
            ),
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1), None, Some(-1)]).with_timezone("UTC"),
            ),
            Arc::new(DurationSecondArray::from(vec![Some(3), None, Some(0)])),
            Arc::new(
                Decimal128Array::from(vec![Some(1500), None, Some(-7), Some(0)])
                    .with_precision_and_scale(10, 3)
                    .unwrap(),
            ),
            // Values past 64 bits take the 128-bit path; the others the 64-bit one.
            Arc::new(
                Decimal128Array::from(vec![
                    Some(i128::from(i64::MIN)),
                    Some(i128::from(i64::MAX) * 10),
                    Some(-(1i128 << 70)),
                    Some(-1_000_000),
                ])
                .with_precision_and_scale(38, 4)
                .unwrap(),
            ),
        ];
        for a in arrays {
            let e = encoder(&a).unwrap();
            let mut typed = Vec::new();
            e.hash_cells(a.len(), &mut typed);
            let by_encoding: Vec<u64> = (0..a.len())
                .map(|i| {
                    let mut buf = Vec::new();
                    e.encode(i, &mut buf);
                    hash_encoded(&buf)
                })
                .collect();
            assert_eq!(typed, by_encoding, "{}", a.data_type());
        }
    }

    #[test]
    fn fingerprints_ignore_row_order_and_batch_split_but_not_duplicates() {
        let batch = |ids: Vec<i64>| {
            RecordBatch::try_from_iter(vec![("id", Arc::new(Int64Array::from(ids)) as ArrayRef)])
                .unwrap()
        };
        let fp_of = |batches: Vec<RecordBatch>| {
            let mut fp = Fingerprint::new(1);
            for b in &batches {
                hash_batch(b, &[0], &mut fp).unwrap();
            }
            fp
        };
        let whole = fp_of(vec![batch(vec![1, 2, 3, 4])]);
        assert_eq!(
            whole,
            fp_of(vec![batch(vec![4, 2]), batch(vec![3]), batch(vec![1])])
        );
        assert_ne!(whole, fp_of(vec![batch(vec![1, 2, 3, 3])]));
        assert_ne!(
            fp_of(vec![batch(vec![1, 1])]),
            fp_of(vec![batch(vec![2, 2])])
        );
    }
}
