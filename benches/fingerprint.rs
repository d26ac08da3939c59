//! Fingerprint throughput: rows per second through the canonical encoding and XXH3-128, on a
//! generated batch of the usual column kinds (built once, outside the timed part).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parity::fingerprint::{hash_batch, Fingerprint};

const ROWS: usize = 65_536;

fn batch() -> RecordBatch {
    let ids: Vec<i64> = (0..ROWS as i64)
        .map(|i| i * 2_654_435_761 % 1_000_000_007)
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, true),
        Field::new("qty", DataType::Int32, false),
        Field::new("status", DataType::Utf8, false),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let statuses = ["pending", "paid", "shipped", "delivered", "cancelled"];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from(
            ids.iter()
                .map(|i| format!("customer-{:06}", i % 50_000))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            ids.iter()
                .map(|i| (i % 100_000) as f64 / 100.0)
                .map(Some)
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(
            ids.iter().map(|i| (i % 17) as i32).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            ids.iter()
                .map(|i| statuses[(*i % 5) as usize])
                .collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(
                ids.iter()
                    .map(|i| 1_700_000_000_000_000 + i)
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn fingerprint(c: &mut Criterion) {
    let b = batch();
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("keyed_6_columns", |bench| {
        bench.iter(|| {
            let mut fp = Fingerprint::new(b.num_columns());
            hash_batch(&b, &[0], &mut fp).unwrap();
            fp.sum
        })
    });
    group.bench_function("keyless_6_columns", |bench| {
        bench.iter(|| {
            let mut fp = Fingerprint::new(b.num_columns());
            hash_batch(&b, &[], &mut fp).unwrap();
            fp.sum
        })
    });
    group.finish();
}

criterion_group!(benches, fingerprint);
criterion_main!(benches);
