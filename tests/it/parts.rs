//! Local Parquet files decoded in parts (runs of row groups on several threads): a keyed diff
//! whose differences sit in some parts only gives exact counts, the same whether tier 3 keeps
//! every row or re-reads only the parts that hold differing rows.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::harness::diff_json;

/// Write `(id, v)` rows in row groups of `group` rows.
fn write(path: &std::path::Path, rows: &[(i64, String)], group: usize) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn differences_in_some_parts_only_are_found_exactly_in_every_row_strategy() {
    let d = tempfile::tempdir().unwrap();
    let value = |i: i64| format!("value-{}", i * 7919 % 1_000_003);
    // Left: ids 0..400,000 in groups of 20,000, so parts of 140,000, 140,000 and 120,000 rows.
    let left: Vec<(i64, String)> = (0..400_000).map(|i| (i, value(i))).collect();
    // Right, reversed, in groups of 30,000 (parts of 150,000): id 399,999 deleted, ids
    // 150,000..150,010 changed (left's second part), id 500,000 added. Neither side's first
    // part holds a differing row.
    let mut right: Vec<(i64, String)> = left
        .iter()
        .rev()
        .filter(|(i, _)| *i != 399_999)
        .map(|(i, v)| {
            let changed = (150_000..150_010).contains(i);
            (
                *i,
                if changed {
                    format!("{v}-changed")
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    right.push((500_000, value(500_000)));
    write(&d.path().join("left.parquet"), &left, 20_000);
    write(&d.path().join("right.parquet"), &right, 30_000);

    for strategy in ["memory", "subset", "spill"] {
        let (run, v) = diff_json(
            &d.path().join("left.parquet"),
            &d.path().join("right.parquet"),
            &["--key", "id", "--row-strategy", strategy],
        );
        assert_eq!(run.code, 1, "{strategy}: {}", run.stderr);
        // Had the subset's second pass skipped a part it needed, the sum check would catch it
        // and read every row again, saying so.
        assert!(
            !run.stderr.contains("missed a difference"),
            "{strategy}: {}",
            run.stderr
        );
        assert_eq!(v["verdict"], "diverged", "{strategy}");
        assert_eq!(
            (
                v["left_rows"].as_u64(),
                v["right_rows"].as_u64(),
                v["only_left"].as_u64(),
                v["only_right"].as_u64(),
                v["changed_rows"].as_u64(),
            ),
            (Some(400_000), Some(400_000), Some(1), Some(1), Some(10)),
            "{strategy}"
        );
        assert_eq!(
            v["changed_cells"],
            serde_json::json!({"v": 10}),
            "{strategy}"
        );
        assert_eq!(
            v["left"]["inputs"][0]["rows"].as_u64(),
            Some(400_000),
            "{strategy}"
        );
    }
}

/// Strings that Parquet decodes as views (plain, large and dictionary-encoded columns) compare
/// equal to the same strings read from CSV, differences are found cell by cell in every row
/// strategy, and the diff file holds plain strings.
#[test]
fn strings_read_as_views_match_text_and_reach_the_diff_file_as_plain_strings() {
    use arrow::array::{DictionaryArray, LargeStringArray};
    use arrow::datatypes::Int32Type;

    let d = tempfile::tempdir().unwrap();
    let n = 20_000i64;
    let name = |i: i64| format!("customer number {i} with a name past twelve bytes");
    let short = |i: i64| format!("s{}", i % 97);
    let status = |i: i64| ["paid", "open", "void"][(i % 3) as usize].to_string();

    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::LargeUtf8, true),
        Field::new("short", DataType::Utf8, true),
        Field::new(
            "status",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
    ]));
    let ids: Vec<i64> = (0..n).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(LargeStringArray::from_iter_values(
            ids.iter().map(|&i| name(i)),
        )),
        // Every 1000th value is null.
        Arc::new(StringArray::from_iter(
            ids.iter().map(|&i| (i % 1000 != 7).then(|| short(i))),
        )),
        Arc::new(
            ids.iter()
                .map(|&i| status(i))
                .collect::<Vec<_>>()
                .iter()
                .map(|s| s.as_str())
                .collect::<DictionaryArray<Int32Type>>(),
        ),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(3_000))
        .build();
    let parquet_path = d.path().join("left.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet_path).unwrap(),
        schema,
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    // The same rows as CSV, in reverse order; `changed` alters the name of ids 100..105 and
    // the short value of id 9 (a row with a value on both sides).
    let csv = |path: &std::path::Path, changed: bool| {
        let mut body = String::from("id,name,short,status\n");
        for i in (0..n).rev() {
            let mut nm = name(i);
            let mut sh = if i % 1000 == 7 {
                String::new()
            } else {
                short(i)
            };
            if changed && (100..105).contains(&i) {
                nm.push_str(" (renamed)");
            }
            if changed && i == 9 {
                sh = "changed".into();
            }
            body.push_str(&format!("{i},{nm},{sh},{}\n", status(i)));
        }
        std::fs::write(path, body).unwrap();
    };
    let same = d.path().join("same.csv");
    let changed = d.path().join("changed.csv");
    csv(&same, false);
    csv(&changed, true);

    let (run, v) = diff_json(&parquet_path, &same, &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent", "{}", v["schema_changes"]);

    for strategy in ["memory", "subset"] {
        let out = d.path().join(format!("diff-{strategy}.parquet"));
        let (run, v) = diff_json(
            &parquet_path,
            &changed,
            &[
                "--key",
                "id",
                "--row-strategy",
                strategy,
                "--diff-out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, 1, "{strategy}: {}", run.stderr);
        assert_eq!(v["changed_rows"].as_u64(), Some(6), "{strategy}");
        assert_eq!(
            v["changed_cells"],
            serde_json::json!({"name": 5, "short": 1}),
            "{strategy}"
        );
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&out).unwrap(),
        )
        .unwrap();
        let types: Vec<(String, DataType)> = reader
            .schema()
            .fields()
            .iter()
            .filter(|f| f.name().ends_with("name"))
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("left_name".to_string(), DataType::LargeUtf8),
                ("right_name".to_string(), DataType::Utf8)
            ],
            "{strategy}"
        );
    }
}

/// Under a low open-file limit a side does not keep its files open between the passes: the
/// second pass opens and hashes them again, and the answer is the same.
#[test]
fn the_second_pass_without_kept_files_gives_the_same_answer() {
    let d = tempfile::tempdir().unwrap();
    let value = |i: i64| format!("value-{}", i * 31 % 1009);
    let rows: Vec<(i64, String)> = (0..40_000).map(|i| (i, value(i))).collect();
    let left = d.path().join("left");
    std::fs::create_dir_all(&left).unwrap();
    for (n, chunk) in rows.chunks(10_000).enumerate() {
        write(&left.join(format!("part-{n}.parquet")), chunk, 2_000);
    }
    let right: Vec<(i64, String)> = rows
        .iter()
        .filter(|(i, _)| i % 5_000 != 1)
        .map(|(i, v)| {
            (
                *i,
                if i % 7_000 == 3 {
                    format!("{v}!")
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    write(&d.path().join("right.parquet"), &right, 2_000);

    let args = "--key id --row-strategy subset --format json";
    let run = |limit: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{limit} exec \"$0\" diff \"$1\" \"$2\" {args}",))
            .arg(env!("CARGO_BIN_EXE_parity"))
            .arg(&left)
            .arg(d.path().join("right.parquet"))
            .env("CI", "1")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    // 64 open files allow 2 kept a side: the left side's 4 files are opened again.
    let (kept, reopened) = (run(""), run("ulimit -n 64 &&"));
    for v in [&kept, &reopened] {
        assert_eq!(
            (
                v["only_left"].as_u64(),
                v["only_right"].as_u64(),
                v["changed_rows"].as_u64()
            ),
            (Some(8), Some(0), Some(6))
        );
    }
    assert_eq!(kept["left"]["inputs"], reopened["left"]["inputs"]);
    assert_eq!(kept["fingerprints"], reopened["fingerprints"]);
}
