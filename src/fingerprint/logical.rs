//! Logical fingerprints: row hashes over the canonical encoding, summed.
//!
//! For every row of a batch (already projected to the compared columns in canonical order):
//!
//! * `row_hash  = xxh3_128(seed ROW, cell_0 ‖ cell_1 ‖ … )` over the canonical encoding;
//! * `key_hash  = xxh3_128(seed KEY, key cells)` with a key, else `row_hash`;
//! * the table fingerprint is `(row count, Σ row_hash mod 2^128)`: wrapping addition, so the
//!   order of rows, files and batches never matters and a duplicated row never cancels itself;
//! * per column `c`, `Σ xxh3_128(seed COLUMN, key_hash ‖ cell_c)`, which says which columns
//!   differ without a join.
//!
//! The hashes of each row go along with the batch to the diff stage (as two 16-byte columns and
//! a null-key flag) so tier 3 never re-encodes a row it does not need to look at.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, FixedSizeBinaryArray};
use arrow::buffer::Buffer;
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::encoding::{encoder, CellEncoder, ENCODING_VERSION};
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
    /// Wrapping sum of (key, cell) hashes, one per compared column.
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

    /// `v1:<rows>:<32 hex digits>`, the form stored in records.
    pub fn to_hex(&self) -> String {
        format!("v{ENCODING_VERSION}:{}:{:032x}", self.rows, self.sum)
    }
}

/// A fingerprint as it appears in summaries and records.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

/// Read a 16-byte hash column's value.
#[inline]
pub fn hash_at(array: &FixedSizeBinaryArray, row: usize) -> u128 {
    u128::from_le_bytes(array.value(row).try_into().expect("16-byte hash"))
}

/// Hash every row of `batch` (its columns are the compared columns in canonical order), adding
/// to `fp`. `key` holds the indices of the key columns; empty for a keyless diff.
pub fn hash_batch(batch: &RecordBatch, key: &[usize], fp: &mut Fingerprint) -> Result<RowHashes> {
    let n = batch.num_rows();
    let encoders: Vec<Box<dyn CellEncoder>> =
        batch.columns().iter().map(encoder).collect::<Result<_>>()?;
    let key_encoders: Vec<&dyn CellEncoder> = key.iter().map(|&i| encoders[i].as_ref()).collect();
    let key_arrays: Vec<&ArrayRef> = key.iter().map(|&i| batch.column(i)).collect();

    let mut row_hashes = Vec::with_capacity(n * 16);
    let mut key_hashes = Vec::with_capacity(n * 16);
    let mut null_key = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(256);
    let mut ends = vec![0usize; encoders.len()];
    let mut scratch = Vec::with_capacity(64);

    for row in 0..n {
        buf.clear();
        for (c, e) in encoders.iter().enumerate() {
            e.encode(row, &mut buf);
            ends[c] = buf.len();
        }
        let row_hash = xxh3_128_with_seed(&buf, SEED_ROW);
        let key_hash = if key.is_empty() {
            null_key.push(false);
            row_hash
        } else {
            scratch.clear();
            for e in &key_encoders {
                e.encode(row, &mut scratch);
            }
            null_key.push(key_arrays.iter().any(|a| a.is_null(row)));
            xxh3_128_with_seed(&scratch, SEED_KEY)
        };
        fp.sum = fp.sum.wrapping_add(row_hash);
        let mut start = 0;
        for (c, end) in ends.iter().enumerate() {
            scratch.clear();
            if !key.is_empty() {
                scratch.extend_from_slice(&key_hash.to_le_bytes());
            }
            scratch.extend_from_slice(&buf[start..*end]);
            fp.columns[c] = fp.columns[c].wrapping_add(xxh3_128_with_seed(&scratch, SEED_COLUMN));
            start = *end;
        }
        row_hashes.extend_from_slice(&row_hash.to_le_bytes());
        key_hashes.extend_from_slice(&key_hash.to_le_bytes());
    }
    fp.rows += n as u64;
    Ok(RowHashes {
        row: fixed16(row_hashes),
        key: fixed16(key_hashes),
        null_key: BooleanArray::from(null_key),
    })
}

/// Encode one row's cells (tier 3 compares cells this way).
pub fn encode_row_cells(columns: &[Arc<dyn Array>], row: usize) -> Result<Vec<Vec<u8>>> {
    columns
        .iter()
        .map(|a| {
            let mut out = Vec::new();
            encoder(a)?.encode(row, &mut out);
            Ok(out)
        })
        .collect()
}
