//! Property tests over the library on an in-memory store: a table against a re-split,
//! re-ordered copy of itself is parity; swapping sides swaps only-left and only-right; the keyed
//! diff agrees with a naive model; fingerprints ignore file split, row order and batch size.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parity::config::RowStrategy;
use parity::source::{CredentialSource, Location, StoreKind};
use parity::{DiffConfig, NoProgress, Verdict};
use proptest::prelude::*;

type Row = (i64, Option<String>, Option<f64>, bool);

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, false),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(schema(), cols).unwrap()
}

fn parquet_bytes(rows: &[Row], row_group: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group.max(1)))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema(), Some(props)).unwrap();
    if !rows.is_empty() {
        w.write(&batch(rows)).unwrap();
    }
    w.close().unwrap();
    buf
}

/// Write `rows` under `prefix` as `files` Parquet files.
async fn put_table(
    store: &Arc<InMemory>,
    prefix: &str,
    rows: &[Row],
    files: usize,
    row_group: usize,
) {
    let files = files.max(1);
    let per = rows.len().div_ceil(files).max(1);
    let chunks: Vec<&[Row]> = if rows.is_empty() {
        vec![&[][..]]
    } else {
        rows.chunks(per).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        store
            .put(
                &Path::from(format!("{prefix}/part-{i:03}.parquet")),
                PutPayload::from(parquet_bytes(chunk, row_group)),
            )
            .await
            .unwrap();
    }
}

fn location(store: &Arc<InMemory>, prefix: &str) -> Location {
    Location {
        url: format!("memory:///{prefix}"),
        store: store.clone() as Arc<dyn ObjectStore>,
        prefix: Path::from(prefix),
        kind: StoreKind::Memory,
        credentials: CredentialSource::None,
        copies: None,
    }
}

async fn compare(
    store: &Arc<InMemory>,
    left: &str,
    right: &str,
    cfg: &DiffConfig,
) -> parity::DiffSummary {
    let l = parity::source::list(&location(store, left), None)
        .await
        .unwrap();
    let r = parity::source::list(&location(store, right), None)
        .await
        .unwrap();
    parity::diff::compare_datasets(&l, &r, cfg, Arc::new(NoProgress))
        .await
        .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn row() -> impl Strategy<Value = (Option<String>, Option<f64>, bool)> {
    (
        proptest::option::of("[a-c]{0,3}"),
        proptest::option::of(prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            -5.0..5.0f64
        ]),
        any::<bool>(),
    )
}

/// Unique-keyed tables: id → row.
fn table() -> impl Strategy<Value = BTreeMap<i64, (Option<String>, Option<f64>, bool)>> {
    proptest::collection::btree_map(0i64..60, row(), 0..40)
}

fn rows_of(t: &BTreeMap<i64, (Option<String>, Option<f64>, bool)>) -> Vec<Row> {
    t.iter()
        .map(|(k, (n, a, f))| (*k, n.clone(), *a, *f))
        .collect()
}

fn same_value(
    a: &(Option<String>, Option<f64>, bool),
    b: &(Option<String>, Option<f64>, bool),
) -> (bool, bool, bool) {
    let amount_eq = match (a.1, b.1) {
        (None, None) => true,
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => false,
    };
    (a.0 == b.0, amount_eq, a.2 == b.2)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_table_against_a_resplit_reordered_copy_is_parity(
        t in table(),
        files in 1usize..4, files2 in 1usize..4, rg in 1usize..9, rg2 in 1usize..9, seed in any::<u64>(),
    ) {
        prop_assume!(!t.is_empty());
        let rows = rows_of(&t);
        let mut shuffled = rows.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let store = Arc::new(InMemory::new());
        let rt = rt();
        rt.block_on(put_table(&store, "a", &rows, files, rg));
        rt.block_on(put_table(&store, "b", &shuffled, files2, rg2));
        for key in [vec!["id".to_string()], vec![]] {
            let cfg = DiffConfig { key, ..Default::default() };
            let s = rt.block_on(compare(&store, "a", "b", &cfg));
            prop_assert!(s.verdict.is_parity(), "{:?}", s.verdict);
            prop_assert_eq!((s.only_left, s.only_right, s.changed_rows), (0, 0, 0));
            prop_assert_eq!(s.left_rows, s.right_rows);
        }
    }

    #[test]
    fn the_keyed_diff_agrees_with_a_naive_model_and_swaps(a in table(), b in table()) {
        let store = Arc::new(InMemory::new());
        let rt = rt();
        rt.block_on(put_table(&store, "l", &rows_of(&a), 2, 7));
        rt.block_on(put_table(&store, "r", &rows_of(&b), 3, 5));
        let cfg = DiffConfig { key: vec!["id".into()], ..Default::default() };
        let s = rt.block_on(compare(&store, "l", "r", &cfg));

        let only_left = a.keys().filter(|k| !b.contains_key(k)).count() as u64;
        let only_right = b.keys().filter(|k| !a.contains_key(k)).count() as u64;
        let mut changed = 0u64;
        let mut cells: BTreeMap<String, u64> = BTreeMap::new();
        for (k, va) in &a {
            if let Some(vb) = b.get(k) {
                let (n, am, f) = same_value(va, vb);
                if !(n && am && f) { changed += 1; }
                for (col, eq) in [("name", n), ("amount", am), ("flag", f)] {
                    if !eq { *cells.entry(col.to_string()).or_default() += 1; }
                }
            }
        }
        prop_assert_eq!(s.only_left, only_left);
        prop_assert_eq!(s.only_right, only_right);
        prop_assert_eq!(s.changed_rows, changed);
        prop_assert_eq!(&s.changed_cells, &cells);
        let parity = only_left == 0 && only_right == 0 && changed == 0;
        prop_assert_eq!(s.verdict.is_parity(), parity);
        if !a.is_empty() && !b.is_empty() && parity {
            prop_assert!(matches!(s.verdict, Verdict::Identical | Verdict::Equivalent));
        }

        // The other ways tier 3 can get its rows agree exactly.
        for strategy in [RowStrategy::Subset, RowStrategy::Spill] {
            let other = DiffConfig { row_strategy: strategy, ..cfg.clone() };
            let o = rt.block_on(compare(&store, "l", "r", &other));
            prop_assert_eq!((o.only_left, o.only_right, o.changed_rows), (s.only_left, s.only_right, s.changed_rows));
            prop_assert_eq!(&o.changed_cells, &s.changed_cells);
            prop_assert_eq!(o.verdict, s.verdict);
        }

        let back = rt.block_on(compare(&store, "r", "l", &cfg));
        prop_assert_eq!(back.only_left, s.only_right);
        prop_assert_eq!(back.only_right, s.only_left);
        prop_assert_eq!(back.changed_rows, s.changed_rows);
        prop_assert_eq!(back.verdict, s.verdict);
    }

    #[test]
    fn the_multiset_diff_counts_multiplicities(
        a in proptest::collection::vec(0i64..5, 0..30),
        b in proptest::collection::vec(0i64..5, 0..30),
    ) {
        // Rows with only an id column repeated: a keyless diff must count multiplicities.
        let to_rows = |v: &[i64]| -> Vec<Row> { v.iter().map(|i| (*i, None, None, false)).collect() };
        let store = Arc::new(InMemory::new());
        let rt = rt();
        rt.block_on(put_table(&store, "l", &to_rows(&a), 2, 4));
        rt.block_on(put_table(&store, "r", &to_rows(&b), 1, 6));
        let s = rt.block_on(compare(&store, "l", "r", &DiffConfig::default()));
        let sub = rt.block_on(compare(&store, "l", "r", &DiffConfig { row_strategy: RowStrategy::Subset, ..Default::default() }));
        prop_assert_eq!((sub.only_left, sub.only_right), (s.only_left, s.only_right));
        let count = |v: &[i64], x: i64| v.iter().filter(|y| **y == x).count() as i64;
        let (mut ol, mut or) = (0u64, 0u64);
        for x in 0..5 {
            let d = count(&a, x) - count(&b, x);
            if d > 0 { ol += d as u64 } else { or += (-d) as u64 }
        }
        prop_assert_eq!((s.only_left, s.only_right), (ol, or));
    }
}
