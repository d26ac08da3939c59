//! A column that differs in most rows (a load timestamp not yet ignored), held apart in the row
//! index past the memory budget: the pairs that differ only there are counted without being read
//! again, and the summary is the one the in-memory diff of every row gives.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::harness::diff_json;

const ROWS: i64 = 300_000;
const CHOICE: &str = "holding it apart in the row index";

/// Write `ids` (in that order) with a name, and the amount and load time (microseconds) `row`
/// gives each.
fn write(path: &Path, ids: &[i64], row: &impl Fn(i64) -> (f64, i64)) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new(
            "loaded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let file = std::fs::File::create(path).unwrap();
    // Row groups of 10,000 rows: a side arrives in many batches.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(10_000))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    for chunk in ids.chunks(40_000) {
        let (amounts, loaded): (Vec<f64>, Vec<i64>) = chunk.iter().map(|&i| row(i)).unzip();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(chunk.to_vec())),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|i| format!("customer-{i:08}")),
            )),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(TimestampMicrosecondArray::from(loaded).with_timezone("UTC")),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

const LOADED: i64 = 1_780_000_000_000_000;
const HOUR: i64 = 3_600_000_000;

/// The parts of a summary that say what differs, and how (each must be there).
fn answer(v: &serde_json::Value) -> serde_json::Value {
    let fields = [
        "verdict",
        "tier",
        "left_rows",
        "right_rows",
        "only_left",
        "only_right",
        "changed_rows",
        "within_tolerance_rows",
        "within_tolerance_cells",
        "changed_cells",
        "duplicate_keys",
        "null_keys",
        "columns",
        "fingerprints",
        "samples",
        "hints",
    ];
    fields
        .iter()
        .map(|f| {
            assert!(!v[f].is_null(), "no `{f}` in {v}");
            (f.to_string(), v[f].clone())
        })
        .collect()
}

/// The diff of `left` and `right` on `id` under 16 MiB as the look at the first rows chooses
/// (holding a column apart: asserted), with its log, and in memory; `extra` is passed to both.
fn apart_and_memory(
    left: &Path,
    right: &Path,
    extra: &[&str],
) -> (String, serde_json::Value, serde_json::Value) {
    let args = [&["--key", "id", "-v"][..], extra].concat();
    let limited = [&args[..], &["--memory-limit", "16MiB"]].concat();
    let (auto, found) = diff_json(left, right, &limited);
    assert_eq!(auto.code, 1, "{}", auto.stderr);
    assert!(auto.stderr.contains(CHOICE), "{}", auto.stderr);
    let memory = [&args[..], &["--row-strategy", "memory"]].concat();
    let (whole, expected) = diff_json(left, right, &memory);
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    assert!(!whole.stderr.contains(CHOICE), "{}", whole.stderr);
    (auto.stderr, found, expected)
}

/// Every id's load time an hour later on the right but one in five; one amount in fifty
/// changed; one id in 97 only on the left, ten only on the right, id 5 twice on the left.
/// The left is shuffled, the right in key order.
#[test]
fn a_column_that_differs_in_most_rows_is_held_apart_and_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = (dir.path().join("l.parquet"), dir.path().join("r.parquet"));
    let base = |i: i64| (i as f64 * 0.25, LOADED + i);
    // The left in a shuffled order, so the smallest keys arrive after larger ones have set
    // the bar for the sample candidates.
    let mut left_ids: Vec<i64> = (0..ROWS).map(|i| i * 7919 % ROWS).collect();
    left_ids.insert(6, 5);
    let right_ids: Vec<i64> = (0..ROWS + 10).filter(|i| i % 97 != 0).collect();
    write(&left, &left_ids, &base);
    write(&right, &right_ids, &|i| {
        let (amount, loaded) = base(i);
        let amount = if i % 50 == 1 { amount + 1.0 } else { amount };
        let loaded = if i % 5 == 0 { loaded } else { loaded + HOUR };
        (amount, loaded)
    });
    let matched = |i: &i64| i % 97 != 0 && *i != 5;
    let loaded_changed = (0..ROWS).filter(|i| matched(i) && i % 5 != 0).count() as u64;
    let amount_changed = (0..ROWS).filter(|i| matched(i) && i % 50 == 1).count() as u64;
    // The pairs that differ in the load time alone, but for those among the left side's 8n+64
    // smallest keys (for n samples), which are read again for the samples.
    let mut sorted = left_ids.clone();
    sorted.sort();
    for (samples, candidates) in [(3, 88), (0, 0)] {
        let read = &sorted[..candidates];
        let counted = (0..ROWS)
            .filter(|i| matched(i) && i % 5 != 0 && i % 50 != 1 && !read.contains(i))
            .count();
        let samples = samples.to_string();
        let (log, found, expected) = apart_and_memory(&left, &right, &["--samples", &samples]);
        assert_eq!(answer(&found), answer(&expected), "--samples {samples}");
        let line = format!("{counted} pairs differ only in `loaded_at`: counted from the index");
        assert!(log.contains(&line), "{line}: {log}");
        assert_eq!(found["changed_rows"].as_u64(), Some(loaded_changed));
        assert_eq!(
            found["changed_cells"],
            serde_json::json!({ "loaded_at": loaded_changed, "amount": amount_changed })
        );
        assert_eq!(found["only_right"].as_u64(), Some(10));
        let shown = found["samples"]["changed"].as_array().unwrap().len();
        assert_eq!(shown, if samples == "0" { 0 } else { 3 });
    }
}

/// Sides written from the largest id down, whose load times differ only from id 100,000 up:
/// the look at the first rows sees every pair differ there alone, but none of the smallest
/// keys does. The pairs held apart are then read again, so the samples are the smallest keys
/// that differ, as in memory.
#[test]
fn pairs_held_apart_past_the_smallest_keys_are_read_again_for_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = (dir.path().join("l.parquet"), dir.path().join("r.parquet"));
    let ids: Vec<i64> = (0..ROWS).rev().collect();
    let base = |i: i64| (i as f64, LOADED);
    write(&left, &ids, &base);
    write(&right, &ids, &|i| {
        let (amount, loaded) = base(i);
        let amount = if i >= 250_000 && i % 10 == 0 {
            -amount
        } else {
            amount
        };
        let loaded = if i >= 100_000 { loaded + HOUR } else { loaded };
        (amount, loaded)
    });
    let (log, found, expected) = apart_and_memory(&left, &right, &["--samples", "3"]);
    // None of the smallest keys differs in the load time alone: every such pair is read.
    let line = "0 pairs differ only in `loaded_at`: counted from the index";
    assert!(log.contains(line), "{log}");
    assert_eq!(answer(&found), answer(&expected));
    assert_eq!(found["changed_rows"].as_u64(), Some(200_000));
    let keys: HashSet<String> = found["samples"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["100000", "100001", "100002"].map(String::from))
    );
}
