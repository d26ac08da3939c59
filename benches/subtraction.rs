//! The keyed subtraction: two sides' compact row indexes (2M rows each, 8% of rows differing)
//! split into groups and subtracted as multisets, as tier 3 does before its second pass. The
//! indexes are built outside the timed part.

use arrow::array::{BooleanArray, FixedSizeBinaryArray};
use arrow::buffer::Buffer;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use parity::diff::subset::{differences, HashIndex};
use parity::fingerprint::RowHashes;

const ROWS: u64 = 2_000_000;
const BATCH: u64 = 8192;

fn fixed16(values: Vec<u8>) -> FixedSizeBinaryArray {
    FixedSizeBinaryArray::new(16, Buffer::from_vec(values), None)
}

/// A side's index: every row's key hash, and a row hash that differs between the sides for one
/// row in twelve (a changed row).
fn index(side: u64) -> HashIndex {
    let mut idx = HashIndex::new(1, usize::MAX, None, "bench");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for first in (0..ROWS).step_by(BATCH as usize) {
        let mut key = Vec::with_capacity(BATCH as usize * 16);
        let mut row = Vec::with_capacity(BATCH as usize * 16);
        for i in first..first + BATCH {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let k = u128::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)) * 0x1_0000_0001;
            let r = if state % 12 == 0 {
                k ^ u128::from(side + 1)
            } else {
                k
            };
            key.extend_from_slice(&k.to_le_bytes());
            row.extend_from_slice(&r.rotate_left(17).to_le_bytes());
        }
        let hashes = RowHashes {
            row: fixed16(row),
            key: fixed16(key),
            null_key: BooleanArray::from(vec![false; BATCH as usize]),
        };
        idx.add(0, first, &hashes, true).unwrap();
    }
    idx
}

fn subtraction(c: &mut Criterion) {
    let (left, right) = (index(0), index(1));
    let mut g = c.benchmark_group("subtraction");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * ROWS));
    g.bench_function("keyed 2M + 2M rows", |b| {
        b.iter_batched(
            || (left.clone(), right.clone()),
            |(l, r)| differences(l, r, true, None).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, subtraction);
criterion_main!(benches);
