//! Regression tests, one per bug found in review, each named after what it pins. Inputs are
//! written here with arrow so nothing outside the repository is needed.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::harness::{diff, diff_json};

fn parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn text(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

#[test]
fn header_only_first_csv_file_does_not_turn_later_values_into_nulls() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(&d.path().join(side).join("part-0.csv"), "id,v\n");
    }
    text(&d.path().join("l/part-1.csv"), "id,v\n1,a\n");
    text(&d.path().join("r/part-1.csv"), "id,v\n7,zz\n");
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        (v["only_left"].as_u64(), v["only_right"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_later_file_whose_values_do_not_fit_the_first_files_type_is_refused() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        parquet(
            &d.path().join(side).join("a.parquet"),
            vec![
                ("id", Arc::new(Int64Array::from(vec![1]))),
                ("v", Arc::new(Int32Array::from(vec![1]))),
            ],
        );
    }
    parquet(
        &d.path().join("l/b.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("v", Arc::new(Int64Array::from(vec![5_000_000_000]))),
        ],
    );
    parquet(
        &d.path().join("r/b.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("v", Arc::new(Int64Array::from(vec![6_000_000_000]))),
        ],
    );
    let run = diff(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("b.parquet") && run.stderr.contains("column `v`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_column_that_first_appears_in_a_later_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        parquet(
            &d.path().join(side).join("a.parquet"),
            vec![("id", Arc::new(Int64Array::from(vec![1])))],
        );
        parquet(
            &d.path().join(side).join("b.parquet"),
            vec![
                ("id", Arc::new(Int64Array::from(vec![2]))),
                ("extra", Arc::new(StringArray::from(vec![side]))),
            ],
        );
    }
    let run = diff(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("column `extra` is not in the dataset's first file"),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_columns_are_matched_by_header_name_in_every_file() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(&d.path().join(side).join("1.csv"), "id,a,b\n1,x,y\n");
    }
    // Same row, columns written in another order on one side only.
    text(&d.path().join("l/2.csv"), "id,b,a\n2,q,p\n");
    text(&d.path().join("r/2.csv"), "id,a,b\n2,p,q\n");
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    // Now the values really differ, with the headers swapped back.
    text(&d.path().join("r/2.csv"), "id,b,a\n2,p,q\n");
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"a": 1, "b": 1}));
}

#[test]
fn duplicate_column_names_are_refused() {
    let d = tempfile::tempdir().unwrap();
    text(&d.path().join("l.csv"), "id,v,v\n1,a,b\n");
    text(&d.path().join("r.csv"), "id,v,v\n1,a,c\n");
    let run = diff(
        &d.path().join("l.csv"),
        &d.path().join("r.csv"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("two columns named `v`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_rename_onto_a_column_that_exists_is_refused() {
    let d = tempfile::tempdir().unwrap();
    parquet(
        &d.path().join("l.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("a", Arc::new(Int64Array::from(vec![100]))),
            ("b", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    parquet(
        &d.path().join("r.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("b", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    let run = diff(
        &d.path().join("l.parquet"),
        &d.path().join("r.parquet"),
        &["--key", "id", "--rename", "a=b"],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("already has a column `b`"),
        "{}",
        run.stderr
    );
}

#[test]
fn nested_values_compare_by_type_not_by_display_text() {
    let list = |items: Vec<Vec<Option<&str>>>| {
        let mut b = ListBuilder::new(StringBuilder::new());
        for item in items {
            for v in item {
                b.values().append_option(v);
            }
            b.append(true);
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let d = tempfile::tempdir().unwrap();
    let ids = || Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef;
    parquet(
        &d.path().join("l.parquet"),
        vec![
            ("id", ids()),
            ("v", list(vec![vec![None], vec![Some("a, b")]])),
        ],
    );
    parquet(
        &d.path().join("r.parquet"),
        vec![
            ("id", ids()),
            ("v", list(vec![vec![Some("")], vec![Some("a"), Some("b")]])),
        ],
    );
    let (run, v) = diff_json(
        &d.path().join("l.parquet"),
        &d.path().join("r.parquet"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 2}));
}

#[test]
fn redaction_hashes_equal_values_equally_across_decimal_scales() {
    let d = tempfile::tempdir().unwrap();
    let dec = |v: i128, scale: i8| {
        Arc::new(
            Decimal128Array::from(vec![v])
                .with_precision_and_scale(12, scale)
                .unwrap(),
        ) as ArrayRef
    };
    parquet(
        &d.path().join("l.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("d", dec(150, 2)),
            ("s", Arc::new(StringArray::from(vec!["x"]))),
        ],
    );
    parquet(
        &d.path().join("r.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("d", dec(15, 1)),
            ("s", Arc::new(StringArray::from(vec!["y"]))),
        ],
    );
    let (run, v) = diff_json(
        &d.path().join("l.parquet"),
        &d.path().join("r.parquet"),
        &["--redact"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (l, r) = (
        &v["samples"]["only_left"][0],
        &v["samples"]["only_right"][0],
    );
    assert_eq!(l["d"], r["d"], "1.50 and 1.5 are the same value");
    assert_ne!(l["s"], r["s"]);
}

#[test]
fn the_diff_file_of_a_parity_verdict_replaces_a_stale_one() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("diff.parquet");
    std::fs::write(&out, b"stale rows from an earlier run").unwrap();
    text(&d.path().join("l.csv"), "id,v\n1,a\n");
    text(&d.path().join("r.csv"), "v,id\na,1\n");
    let (run, v) = diff_json(
        &d.path().join("l.csv"),
        &d.path().join("r.csv"),
        &["--key", "id", "--diff-out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["diff_out"]["rows"].as_u64(), Some(0));
    let rows: usize = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&out).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap()
    .map(|b| b.unwrap().num_rows())
    .sum();
    assert_eq!(rows, 0);
}

#[test]
fn redacted_runs_do_not_quote_values_in_errors() {
    let d = tempfile::tempdir().unwrap();
    let (l, r) = value_quoting_error(d.path());
    // Without --redact the decoder's message quotes the value (so the check below can fail).
    let run = diff(&l, &r, &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("987654321987"), "{}", run.stderr);
    let run = diff(&l, &r, &["--redact"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(!run.stderr.contains("987654321987"), "{}", run.stderr);
    assert!(run.stderr.contains("part-1.parquet"), "{}", run.stderr);
}

/// A pair whose left side cannot be read, with an error message from the decoder that quotes
/// a value (987654321987): a later file widens an Int32 column past what Int32 holds.
fn value_quoting_error(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let l = dir.join("quoting_l");
    parquet(
        &l.join("part-0.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("n", Arc::new(Int32Array::from(vec![1]))),
        ],
    );
    parquet(
        &l.join("part-1.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("n", Arc::new(Int64Array::from(vec![987_654_321_987]))),
        ],
    );
    let r = dir.join("quoting_r.parquet");
    parquet(
        &r,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("n", Arc::new(Int64Array::from(vec![1, 2]))),
        ],
    );
    (l, r)
}

#[test]
fn duplicate_and_null_keys_are_counted_when_the_fingerprints_decide() {
    let d = tempfile::tempdir().unwrap();
    // Same rows on both sides (in another order): key 1 twice, one null key.
    text(&d.path().join("l.csv"), "id,v\n1,a\n1,b\n,c\n2,d\n");
    text(&d.path().join("r.csv"), "id,v\n2,d\n,c\n1,b\n1,a\n");
    for strategy in ["memory", "subset"] {
        let (run, v) = diff_json(
            &d.path().join("l.csv"),
            &d.path().join("r.csv"),
            &["--key", "id", "--row-strategy", strategy],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(v["verdict"], "equivalent");
        assert_eq!(
            v["duplicate_keys"],
            serde_json::json!({"left": 1, "right": 1}),
            "{strategy}"
        );
        assert_eq!(
            v["null_keys"],
            serde_json::json!({"left": 1, "right": 1}),
            "{strategy}"
        );
    }
}

#[test]
fn csv_numbers_with_leading_zeros_stay_text() {
    let d = tempfile::tempdir().unwrap();
    text(
        &d.path().join("l.csv"),
        "id,zip,flag\n1,02134,True\n2,00007,false\n",
    );
    text(
        &d.path().join("r.csv"),
        "id,zip,flag\n1,2134,true\n2,7,false\n",
    );
    let (run, v) = diff_json(
        &d.path().join("l.csv"),
        &d.path().join("r.csv"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    // The left values are text (they would not survive a parse), the right ones numbers and
    // booleans: a divergent type change, never "equal".
    let changes: Vec<(&str, bool)> = v["schema_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap(),
                c["divergent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [("flag", true), ("zip", true)]);
}

#[test]
fn a_json_float_in_an_integer_column_is_not_truncated() {
    let d = tempfile::tempdir().unwrap();
    let mut head = String::new();
    for i in 0..20 {
        head.push_str(&format!("{{\"id\": {i}, \"v\": {i}}}\n"));
    }
    text(
        &d.path().join("l.jsonl"),
        &format!("{head}{{\"id\": 99, \"v\": 2.7}}\n"),
    );
    text(
        &d.path().join("r.jsonl"),
        &format!("{head}{{\"id\": 99, \"v\": 2.1}}\n"),
    );
    // The inference window sees the float here, so the column is a float column and differs.
    let (run, v) = diff_json(
        &d.path().join("l.jsonl"),
        &d.path().join("r.jsonl"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 1}));
    // A float after the inference window in an integer column makes it a float column (the
    // types are taken again from every row), never truncated.
    let mut body = String::new();
    for i in 0..10_050 {
        body.push_str(&format!("{{\"id\": {i}, \"v\": {i}}}\n"));
    }
    text(
        &d.path().join("l2.jsonl"),
        &format!("{body}{{\"id\": 99999, \"v\": 2.7}}\n"),
    );
    text(
        &d.path().join("r2.jsonl"),
        &format!("{body}{{\"id\": 99999, \"v\": 2.1}}\n"),
    );
    let (run, v) = diff_json(
        &d.path().join("l2.jsonl"),
        &d.path().join("r2.jsonl"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 1}));
}

#[test]
fn json_integers_beyond_64_bits_are_not_rounded_to_equal_floats() {
    let d = tempfile::tempdir().unwrap();
    text(
        &d.path().join("l.jsonl"),
        "{\"id\": 1, \"big\": 18446744073709551615}\n",
    );
    text(
        &d.path().join("r.jsonl"),
        "{\"id\": 1, \"big\": 18446744073709551614}\n",
    );
    let (run, v) = diff_json(
        &d.path().join("l.jsonl"),
        &d.path().join("r.jsonl"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"big": 1}));
}

#[test]
fn csv_leading_zeros_in_a_later_file_make_the_column_text_not_equal() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(&d.path().join(side).join("a.csv"), "id,v\n1,5\n");
    }
    text(&d.path().join("l/b.csv"), "id,v\n2,02134\n");
    text(&d.path().join("r/b.csv"), "id,v\n2,2134\n");
    // The left side's column holds a value an integer would not keep as written: text.
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    assert_eq!(
        v["schema_changes"],
        serde_json::json!([{"column": "v", "kind": "type_changed", "left_type": "Utf8",
            "right_type": "Int64", "divergent": true}])
    );
}

#[test]
fn a_later_file_with_other_struct_field_names_is_refused() {
    use arrow::array::StructArray;
    let d = tempfile::tempdir().unwrap();
    let st = |names: [&str; 2], a: i64, b: i64| {
        Arc::new(StructArray::from(vec![
            (
                Arc::new(Field::new(names[0], DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![a])) as ArrayRef,
            ),
            (
                Arc::new(Field::new(names[1], DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![b])) as ArrayRef,
            ),
        ])) as ArrayRef
    };
    for side in ["l", "r"] {
        parquet(
            &d.path().join(side).join("a.parquet"),
            vec![
                ("id", Arc::new(Int64Array::from(vec![1]))),
                ("v", st(["a", "b"], 1, 2)),
            ],
        );
    }
    parquet(
        &d.path().join("l/b.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("v", st(["x", "y"], 10, 20)),
        ],
    );
    parquet(
        &d.path().join("r/b.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("v", st(["a", "b"], 10, 20)),
        ],
    );
    let run = diff(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("b.parquet"), "{}", run.stderr);
}

#[test]
fn redaction_hides_decoder_details_and_value_sized_differences() {
    let d = tempfile::tempdir().unwrap();
    let (l, r) = value_quoting_error(d.path());
    let run = diff(&l, &r, &["--redact", "--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(!run.stderr.contains("987654321987"), "{}", run.stderr);

    let f = |v: f64| Arc::new(arrow::array::Float64Array::from(vec![v])) as ArrayRef;
    parquet(
        &d.path().join("m_l.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("salary", f(0.0)),
        ],
    );
    parquet(
        &d.path().join("m_r.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1]))),
            ("salary", f(123456.78)),
        ],
    );
    let (run, v) = diff_json(
        &d.path().join("m_l.parquet"),
        &d.path().join("m_r.parquet"),
        &["--key", "id", "--redact"],
    );
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("123456"), "{}", run.stdout);
    assert_eq!(v["changed_cells"], serde_json::json!({"salary": 1}));
}

#[test]
fn json_values_that_changed_between_number_and_string_are_not_equal() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(
            &d.path().join(side).join("a.jsonl"),
            "{\"id\": 1, \"s\": \"a\", \"n\": 5, \"f\": 1.5}\n",
        );
    }
    text(
        &d.path().join("l/b.jsonl"),
        "{\"id\": 2, \"s\": \"1\", \"n\": 6, \"f\": 2.5}\n",
    );
    text(
        &d.path().join("r/b.jsonl"),
        "{\"id\": 2, \"s\": 1, \"n\": \"6\", \"f\": \"2.5\"}\n",
    );
    let run = diff(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("/r/") && run.stderr.contains("line 1: field"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_first_json_lines_file_is_a_file_of_no_rows() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(&d.path().join(side).join("a.jsonl"), "");
    }
    text(&d.path().join("l/b.jsonl"), "{\"id\": 1, \"v\": \"x\"}\n");
    text(&d.path().join("r/b.jsonl"), "{\"id\": 1, \"v\": \"y\"}\n");
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 1}));
}

#[test]
fn json_floats_nested_in_integer_fields_are_not_truncated() {
    let d = tempfile::tempdir().unwrap();
    for side in ["l", "r"] {
        text(
            &d.path().join(side).join("a.jsonl"),
            "{\"id\": 1, \"v\": {\"n\": 1}, \"l\": [1]}\n",
        );
    }
    text(
        &d.path().join("l/b.jsonl"),
        "{\"id\": 2, \"v\": {\"n\": 2.7}, \"l\": [3]}\n",
    );
    text(
        &d.path().join("r/b.jsonl"),
        "{\"id\": 2, \"v\": {\"n\": 2.1}, \"l\": [3]}\n",
    );
    let (run, v) = diff_json(&d.path().join("l"), &d.path().join("r"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 1}));
}

#[test]
fn a_decimal_difference_equal_to_the_tolerance_is_within_it() {
    let d = tempfile::tempdir().unwrap();
    let dec = |v: i128| {
        Arc::new(
            Decimal128Array::from(vec![v])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ) as ArrayRef
    };
    parquet(
        &d.path().join("l.parquet"),
        vec![("id", Arc::new(Int64Array::from(vec![1]))), ("d", dec(110))],
    );
    parquet(
        &d.path().join("r.parquet"),
        vec![("id", Arc::new(Int64Array::from(vec![1]))), ("d", dec(100))],
    );
    let (run, v) = diff_json(
        &d.path().join("l.parquet"),
        &d.path().join("r.parquet"),
        &["--key", "id", "--tol", "d=abs:0.1"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "within_tolerance");
    let (run, v) = diff_json(
        &d.path().join("l.parquet"),
        &d.path().join("r.parquet"),
        &["--key", "id", "--tol", "d=abs:0.09"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"d": 1}));
}

#[test]
fn csv_decimals_beyond_a_float_are_not_rounded_to_equal() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // Both parse to the same 64-bit float.
    text(&p("l.csv"), "id,amount\n1,1234567890123.4567\n2,1.50\n");
    text(&p("r.csv"), "id,amount\n1,1234567890123.4568\n2,1.5\n");
    let (run, v) = diff_json(&p("l.csv"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    // Values a float holds exactly still compare as numbers: 0.10 is 0.1, 1.50 is 1.5.
    text(&p("l2.csv"), "id,amount\n1,0.1\n2,1.50\n3,-2.5e3\n");
    text(&p("r2.csv"), "id,amount\n1,0.10\n2,1.5\n3,-2500\n");
    let (run, v) = diff_json(&p("l2.csv"), &p("r2.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    // Past the rows the type was first inferred from, such a value makes its column text
    // too (the types are taken again from every row), never equal.
    for side in ["l3", "r3"] {
        text(&p(side).join("a.csv"), "id,v\n1,0.5\n");
    }
    text(&p("l3/b.csv"), "id,v\n2,0.30000000000000001\n");
    text(&p("r3/b.csv"), "id,v\n2,0.3\n");
    let (run, v) = diff_json(&p("l3"), &p("r3"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    assert_eq!(v["schema_changes"][0]["left_type"], "Utf8");
    assert_eq!(v["schema_changes"][0]["right_type"], "Float64");
}

#[test]
fn a_json_number_never_equals_a_string_with_its_digits() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // A text column holds strings only: 5 is not "5".
    text(
        &p("l.jsonl"),
        "{\"id\": 1, \"s\": \"5\"}\n{\"id\": 2, \"s\": \"x\"}\n",
    );
    text(
        &p("r.jsonl"),
        "{\"id\": 1, \"s\": 5}\n{\"id\": 2, \"s\": \"x\"}\n",
    );
    let run = diff(&p("l.jsonl"), &p("r.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("r.jsonl") && run.stderr.contains("line 1: field `s` holds a number"),
        "{}",
        run.stderr
    );
    // A column of numbers too big or too precise for a float is read as their text, and is
    // not the same as a text column with the same characters.
    text(
        &p("l2.jsonl"),
        "{\"id\": 1, \"big\": 18446744073709551615, \"amount\": 1234567890123.4567}\n",
    );
    text(
        &p("r2.jsonl"),
        "{\"id\": 1, \"big\": \"18446744073709551615\", \"amount\": 1234567890123.4567}\n",
    );
    let (run, v) = diff_json(&p("l2.jsonl"), &p("r2.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    let changes: Vec<(&str, &str, &str, bool)> = v["schema_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap(),
                c["left_type"].as_str().unwrap(),
                c["right_type"].as_str().unwrap(),
                c["divergent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [("big", "Utf8 (JSON numbers)", "Utf8", true)]);
    // Precise decimals as number text compare by their digits (both too precise here; a float
    // on one side would be a type change).
    text(
        &p("l3.jsonl"),
        "{\"id\": 1, \"amount\": 1234567890123.4567}\n",
    );
    text(
        &p("r3.jsonl"),
        "{\"id\": 1, \"amount\": 1234567890123.4569}\n",
    );
    let (run, v) = diff_json(&p("l3.jsonl"), &p("r3.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"amount": 1}));
    // Past the lines the types were first inferred from, such a number makes its column one
    // of number text (the types are taken again from every line), never rounded.
    let mut head = String::new();
    for i in 0..10_050 {
        head.push_str(&format!("{{\"id\": {i}, \"v\": 0.5}}\n"));
    }
    text(
        &p("l4.jsonl"),
        &format!("{head}{{\"id\": 99999, \"v\": 0.30000000000000001}}\n"),
    );
    text(
        &p("r4.jsonl"),
        &format!("{head}{{\"id\": 99999, \"v\": 0.3}}\n"),
    );
    let (run, v) = diff_json(&p("l4.jsonl"), &p("r4.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    assert_eq!(v["schema_changes"][0]["left_type"], "Utf8 (JSON numbers)");
    assert_eq!(v["schema_changes"][0]["divergent"], true);
}

#[test]
fn csv_quoted_empty_is_the_empty_string_and_an_empty_field_is_null() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l.csv"), "id,s,n\n1,,\n2,x,5\n3,\"\",\"\"\n");
    text(&p("r.csv"), "id,s,n\n1,\"\",\"\"\n2,x,5\n3,\"\",\n");
    let (run, v) = diff_json(&p("l.csv"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Row 1: null against "" in the text column; a quoted empty number is null, as an empty one.
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"s": 1}));
    // The same rows as Parquet (written the way pyarrow writes CSV: null empty, "" quoted).
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
            Arc::new(arrow::array::StringArray::from(vec![
                None,
                Some("x"),
                Some(""),
            ])),
            Arc::new(Int64Array::from(vec![None, Some(5), None])),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(p("l.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (run, v) = diff_json(&p("l.parquet"), &p("l.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    // Outside text columns a quoted empty field is null, as an empty one (writers that quote
    // every field write a null date as `""`).
    text(
        &p("all.csv"),
        "\"id\",\"d\",\"t\"\n\"1\",\"2026-11-01\",\"2026-11-01T10:00:00\"\n\"2\",\"\",\"\"\n",
    );
    text(
        &p("some.csv"),
        "id,d,t\n1,2026-11-01,2026-11-01T10:00:00\n2,,\n",
    );
    let (run, v) = diff_json(&p("all.csv"), &p("some.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    let types: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["left_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Date32", "Int64", "Timestamp(s)"], "{v}");
}

#[test]
fn types_come_from_the_first_csv_file_with_a_row() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // An empty partition's output first: a header and no rows.
    text(&p("l/a.csv"), "id,amount,s\n");
    text(&p("l/b.csv"), "id,amount,s\n1,2.5,a\n2,3,b\n");
    text(&p("r.csv"), "id,amount,s\n2,3.0,b\n1,2.50,a\n");
    let (run, v) = diff_json(&p("l"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}: {}", run.stdout, run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    let types: Vec<(&str, &str)> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["left_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [("amount", "Float64"), ("id", "Int64"), ("s", "Utf8")]
    );
}

#[test]
fn a_float_difference_equal_to_the_tolerance_as_written_is_within_it() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // 1.1 - 1.0 is 0.10000000000000009 in binary; as written it is the tolerance exactly.
    text(&p("l.csv"), "id,v\n1,1.1\n2,5.0\n3,2.0\n");
    text(&p("r.csv"), "id,v\n1,1.0\n2,5.1\n3,2.2\n");
    let (run, v) = diff_json(
        &p("l.csv"),
        &p("r.csv"),
        &["--key", "id", "--abs-tol", "0.1"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["within_tolerance_rows"], 2);
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"v": 1}));
}

#[test]
fn hive_folder_values_are_unescaped() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l/k=a%3Ab/x.csv"), "id\n1\n");
    text(&p("l/k=__HIVE_DEFAULT_PARTITION__/x.csv"), "id\n2\n");
    text(&p("l/k=100%25/x.csv"), "id\n3\n");
    text(&p("r.csv"), "id,k\n1,a:b\n2,\n3,100%\n");
    let (run, v) = diff_json(&p("l"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}: {}", run.stdout, run.stderr);
    assert_eq!(v["verdict"], "equivalent");
}

/// Rows `from..to` of a table whose column `x` is empty in the first 12,000 rows and holds
/// integers after, as CSV (header first) or JSON lines; `late` (a JSON field present only in
/// the last rows) and a changed value can be asked for.
pub fn sparse_rows(json: bool, from: usize, to: usize, changed: Option<usize>) -> String {
    let mut out = if json {
        String::new()
    } else {
        "id,x\n".to_string()
    };
    for i in from..to {
        let x = (i >= 12_000).then(|| if Some(i) == changed { 1 } else { i * 3 });
        out.push_str(&match (json, x) {
            (false, None) => format!("{i},\n"),
            (false, Some(x)) => format!("{i},{x}\n"),
            (true, None) => format!("{{\"id\": {i}, \"x\": null}}\n"),
            (true, Some(x)) => format!("{{\"id\": {i}, \"x\": {x}, \"late\": \"v{i}\"}}\n"),
        });
    }
    out
}

#[test]
fn text_column_types_do_not_depend_on_how_rows_are_split_into_files() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    for (json, ext) in [(false, "csv"), (true, "jsonl")] {
        // Left: one file whose first 12,000 rows have no `x` (nor, in JSON, `late`). Right: the
        // same rows, the late ones in a first file. Types from the head alone would make `x`
        // text (or Null) on the left and integers on the right.
        let (l, r) = (p(&format!("l_{ext}")), p(&format!("r_{ext}")));
        text(
            &l.join(format!("a.{ext}")),
            &sparse_rows(json, 0, 20_000, None),
        );
        text(
            &r.join(format!("a.{ext}")),
            &sparse_rows(json, 12_000, 20_000, None),
        );
        text(
            &r.join(format!("b.{ext}")),
            &sparse_rows(json, 0, 12_000, None),
        );
        let (run, v) = diff_json(&l, &r, &["--key", "id"]);
        assert_eq!(run.code, 0, "{ext}: {}", run.stderr);
        assert_eq!(v["verdict"], "equivalent", "{ext}");
        assert_eq!(v["schema_changes"], serde_json::json!([]), "{ext}");
        assert_eq!(v["left_rows"], 20_000);

        // One late value changed on the right: one changed cell, typed on both sides.
        let r2 = p(&format!("r2_{ext}"));
        text(
            &r2.join(format!("a.{ext}")),
            &sparse_rows(json, 12_000, 20_000, Some(15_000)),
        );
        text(
            &r2.join(format!("b.{ext}")),
            &sparse_rows(json, 0, 12_000, None),
        );
        let (run, v) = diff_json(&l, &r2, &["--key", "id"]);
        assert_eq!(run.code, 1, "{ext}: {}", run.stderr);
        assert_eq!(v["changed_rows"], 1, "{ext}");
        assert_eq!(v["changed_cells"], serde_json::json!({"x": 1}), "{ext}");
        assert_eq!(v["schema_changes"], serde_json::json!([]), "{ext}");
    }
    // A quoted empty string late in a column empty so far is a value, not a null.
    let nulls: String = (0..12_000).map(|i| format!("{i},\n")).collect();
    text(&p("qe_l.csv"), &format!("id,x\n{nulls}12000,\"\"\n"));
    text(&p("qe_r.csv"), &format!("id,x\n{nulls}12000,\n"));
    let (run, v) = diff_json(&p("qe_l.csv"), &p("qe_r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"x": 1}));
    // A JSON column that holds numbers and strings cannot be typed: one line, exit 2.
    text(
        &p("mixed_l.jsonl"),
        "{\"id\": 1, \"v\": 1}\n{\"id\": 2, \"v\": \"1\"}\n",
    );
    text(
        &p("mixed_r.jsonl"),
        "{\"id\": 1, \"v\": 1}\n{\"id\": 2, \"v\": 1}\n",
    );
    let run = diff(&p("mixed_l.jsonl"), &p("mixed_r.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("mixed_l.jsonl"), "{}", run.stderr);
}

#[test]
fn a_text_column_with_no_value_compares_with_any_type() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l.csv"), "id,x\n1,\n2,\n");
    parquet(
        &p("r.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("x", Arc::new(Int64Array::from(vec![None, None]))),
        ],
    );
    let (run, v) = diff_json(&p("l.csv"), &p("r.parquet"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    assert_eq!(v["schema_changes"], serde_json::json!([]));
    parquet(
        &p("r2.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("x", Arc::new(Int64Array::from(vec![None, Some(0)]))),
        ],
    );
    let (run, v) = diff_json(&p("l.csv"), &p("r2.parquet"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"x": 1}));
}

#[test]
fn json_numbers_nested_in_arrays_and_objects_are_never_rounded_to_equal() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // Each pair differs only in a nested number that a 64-bit float cannot hold as written:
    // parity cannot compare it exactly, so it says so (exit 2), never "equivalent".
    for (name, l, r) in [
        ("list", "[1234567890123.4567]", "[1234567890123.4568]"),
        (
            "struct",
            "{\"x\": 1234567890123.4567}",
            "{\"x\": 1234567890123.4568}",
        ),
        ("u64", "[18446744073709551615]", "[18446744073709551614]"),
        (
            "mixed",
            "[9007199254740993, 0.5]",
            "[9007199254740992, 0.5]",
        ),
    ] {
        text(
            &p(&format!("{name}_l.jsonl")),
            &format!("{{\"k\": 1, \"a\": {l}}}\n"),
        );
        text(
            &p(&format!("{name}_r.jsonl")),
            &format!("{{\"k\": 1, \"a\": {r}}}\n"),
        );
        let run = diff(
            &p(&format!("{name}_l.jsonl")),
            &p(&format!("{name}_r.jsonl")),
            &["--key", "k"],
        );
        assert_eq!(run.code, 2, "{name}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("more digits than a 64-bit float holds"),
            "{name}: {}",
            run.stderr
        );
    }
    // Nested numbers a float holds compare by value: 2 and 2.0 in a float list are equal.
    text(&p("ok_l.jsonl"), "{\"k\": 1, \"a\": [1.5, 2]}\n");
    text(&p("ok_r.jsonl"), "{\"k\": 1, \"a\": [1.5, 2.0]}\n");
    let (run, v) = diff_json(&p("ok_l.jsonl"), &p("ok_r.jsonl"), &["--key", "k"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
}

#[test]
fn csv_records_end_where_the_reader_ends_them() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // Lone CRs end records (classic Mac, Excel "CSV (Macintosh)"): the header must not swallow
    // the rows, which made two different files two empty, equal tables.
    text(&p("cr_a.csv"), "id,name\r1,alice\r2,bob\r");
    text(&p("cr_b.csv"), "id,name\r1,XXXXX\r3,carol\r4,dave\r");
    let (run, v) = diff_json(&p("cr_a.csv"), &p("cr_b.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        (
            &v["left_rows"],
            &v["right_rows"],
            &v["only_left"],
            &v["only_right"],
            &v["changed_rows"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(3),
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(1)
        )
    );
    // A CR-ended header before LF-ended rows, a quoted line break in a header name and blank
    // lines before the header read as the plain file does.
    text(&p("plain.csv"), "id,\"na me\"\n1,a\n2,b\n");
    for (name, body) in [
        ("cr_header.csv", "id,\"na me\"\r1,a\n2,b\n"),
        ("blank_first.csv", "\n\r\nid,\"na me\"\n1,a\n2,b\n"),
    ] {
        text(&p(name), body);
        let (run, v) = diff_json(&p("plain.csv"), &p(name), &["--key", "id"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(v["right_rows"], 2, "{name}");
    }
    text(&p("nl_a.csv"), "id,\"na\nme\"\n1,a\n");
    text(&p("nl_b.csv"), "id,\"na\nme\"\n1,b\n");
    let (run, v) = diff_json(&p("nl_a.csv"), &p("nl_b.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"na\nme": 1}));
    // A quote never closed (a file cut inside a quoted field) is an error, not a shorter file.
    text(&p("whole.csv"), "id,v\n1,a\n2,\"b\"\n");
    text(&p("cut.csv"), "id,v\n1,a\n2,\"b\n");
    let run = diff(&p("whole.csv"), &p("cut.csv"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("cut.csv") && run.stderr.contains("quote is never closed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_broken_symbolic_link_in_a_dataset_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l/part-0.csv"), "id,v\n1,10\n");
    text(&p("r/part-0.csv"), "id,v\n1,10\n");
    std::os::unix::fs::symlink(p("gone.csv"), p("r/part-1.csv")).unwrap();
    let run = diff(&p("l"), &p("r"), &["--key", "id"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("part-1.csv"), "{}", run.stderr);
}

#[test]
fn json_lines_longer_than_the_inference_window_and_bad_lines_in_it() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // A first line of 5 MB: the types come from every row instead of an error.
    let long = "x".repeat(5 << 20);
    text(
        &p("a.jsonl"),
        &format!("{{\"id\": 1, \"s\": \"{long}\"}}\n{{\"id\": 2, \"s\": \"b\"}}\n"),
    );
    text(
        &p("b.jsonl"),
        &format!("{{\"id\": 1, \"s\": \"{long}\"}}\n{{\"id\": 2, \"s\": \"c\"}}\n"),
    );
    let (run, v) = diff_json(&p("a.jsonl"), &p("b.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_cells"], serde_json::json!({"s": 1}));
    // A bad line among the first rows is named by its number.
    let mut body: String = (0..5000).map(|i| format!("{{\"id\": {i}}}\n")).collect();
    body.push_str("{\"id\": 5000,}\n");
    text(&p("bad.jsonl"), &body);
    let run = diff(&p("bad.jsonl"), &p("a.jsonl"), &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("bad.jsonl: line 5001: not a JSON object"),
        "{}",
        run.stderr
    );
    // A file holding one JSON array: one short line, not the array.
    let array: String = format!(
        "[{}]\n",
        (0..20_000)
            .map(|i| format!("{{\"id\": {i}}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    text(&p("array.json"), &array);
    let run = diff(&p("array.json"), &p("a.jsonl"), &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.len() < 700, "{}", run.stderr.len());
}

#[test]
fn a_key_given_by_its_left_name_under_rename_says_which_name_to_use() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l.csv"), "k,v\n1,a\n");
    text(&p("r.csv"), "kk,v\n1,a\n");
    let run = diff(
        &p("l.csv"),
        &p("r.csv"),
        &["--key", "k", "--rename", "k=kk"],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("--key kk"), "{}", run.stderr);
    let (run, v) = diff_json(
        &p("l.csv"),
        &p("r.csv"),
        &["--key", "kk", "--rename", "k=kk"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
}

#[test]
fn a_parquet_column_of_nulls_only_in_the_first_file_takes_its_type_from_a_later_one() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // pandas writes a column of None as type null; the later file has the values.
    parquet(
        &p("l/part-0.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("note", Arc::new(arrow::array::NullArray::new(2))),
        ],
    );
    parquet(
        &p("l/part-1.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![3, 4]))),
            ("note", Arc::new(StringArray::from(vec!["a", "b"]))),
        ],
    );
    parquet(
        &p("r/part-0.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4]))),
            (
                "note",
                Arc::new(StringArray::from(vec![None, None, Some("a"), Some("c")])),
            ),
        ],
    );
    let (run, v) = diff_json(&p("l"), &p("r"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"note": 1}));
    assert_eq!(v["schema_changes"], serde_json::json!([]));
}

#[test]
fn a_json_field_given_twice_in_one_object_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(
        &p("r.jsonl"),
        "{\"id\": 1, \"s\": \"LAST\", \"o\": {\"a\": 1}}\n",
    );
    for (name, line) in [
        (
            "top.jsonl",
            "{\"id\": 1, \"s\": \"FIRST\", \"s\": \"LAST\", \"o\": {\"a\": 1}}\n",
        ),
        (
            "nested.jsonl",
            "{\"id\": 1, \"s\": \"LAST\", \"o\": {\"a\": 2, \"a\": 1}}\n",
        ),
    ] {
        text(&p(name), line);
        let run = diff(&p(name), &p("r.jsonl"), &["--key", "id"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(name) && run.stderr.contains("twice"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn sides_with_no_comparable_column_say_what_each_column_became() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("i.csv"), "a\n1\n");
    text(&p("f.csv"), "a\n1.5\n");
    let run = diff(&p("i.csv"), &p("f.csv"), &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "no column in common to compare (`a` is Int64 on the left and Float64 on the right)"
        ),
        "{}",
        run.stderr
    );
}

/// `id,c` CSV with `head` (10,000 rows of one value) and then `late` as row 10,001.
fn csv_with_late(head: &str, late: &str) -> String {
    let mut out = String::from("id,c\n");
    for i in 0..10_000 {
        out.push_str(&format!("{i},{head}\n"));
    }
    out.push_str(&format!("10000,{late}\n"));
    out
}

#[test]
fn a_late_csv_value_is_held_to_its_column_type_as_inference_would_type_it() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // A date-time in a date column, a finer fraction in a millisecond column: the cast would
    // cut them, so two different values compared equal.
    for (name, head, l, r) in [
        (
            "date",
            "2024-01-01",
            "2024-01-10T12:00:00",
            "2024-01-10T13:00:00",
        ),
        (
            "ms",
            "2024-01-01T00:00:00.123",
            "2024-01-01T00:00:00.123456",
            "2024-01-01T00:00:00.123999",
        ),
    ] {
        text(&p(&format!("{name}_l.csv")), &csv_with_late(head, l));
        text(&p(&format!("{name}_r.csv")), &csv_with_late(head, r));
        let (run, v) = diff_json(
            &p(&format!("{name}_l.csv")),
            &p(&format!("{name}_r.csv")),
            &["--key", "id"],
        );
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert_eq!(v["changed_cells"], serde_json::json!({"c": 1}), "{name}");
    }
    // Spellings inference takes as text (`Infinity`, `2024-1-9`) make the column text wherever
    // they are; a column whose head held only `""` takes its type from later values too.
    for (name, head, late) in [
        ("inf", "1.5", "Infinity"),
        ("short_date", "2024-01-01", "2024-1-9"),
        ("empty_text", "\"\"", "7"),
        // `-0` is text among integers but a float among floats.
        ("minus_zero", "-0", "1.5"),
        // Digits other than ASCII ones make no number.
        ("arabic_digits", "1.5", "١.٥"),
    ] {
        let late_first: String = {
            let mut out = format!("id,c\n10000,{late}\n");
            for i in 0..10_000 {
                out.push_str(&format!("{i},{head}\n"));
            }
            out
        };
        text(&p(&format!("{name}_a.csv")), &csv_with_late(head, late));
        text(&p(&format!("{name}_b.csv")), &late_first);
        let (run, v) = diff_json(
            &p(&format!("{name}_a.csv")),
            &p(&format!("{name}_b.csv")),
            &["--key", "id"],
        );
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(v["verdict"], "equivalent", "{name}");
        assert_eq!(v["schema_changes"], serde_json::json!([]), "{name}");
    }
}

#[test]
fn json_struct_field_order_and_absent_fields_are_not_schema_changes() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // Field order comes from the first object inference sees.
    text(
        &p("ab.jsonl"),
        "{\"id\": 1, \"s\": {\"a\": 1, \"b\": 2}}\n{\"id\": 2, \"s\": {\"b\": 3, \"a\": 4}}\n",
    );
    text(
        &p("ba.jsonl"),
        "{\"id\": 2, \"s\": {\"b\": 3, \"a\": 4}}\n{\"id\": 1, \"s\": {\"a\": 1, \"b\": 2}}\n",
    );
    let (run, v) = diff_json(
        &p("ab.jsonl"),
        &p("ba.jsonl"),
        &["--key", "id", "--strict-types"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["schema_changes"], serde_json::json!([]));
    // A writer that leaves null fields out (Spark's default) against one that writes them.
    text(
        &p("nulls.jsonl"),
        "{\"id\": 1, \"a\": null}\n{\"id\": 2, \"a\": null}\n",
    );
    text(&p("absent.jsonl"), "{\"id\": 1}\n{\"id\": 2}\n");
    let (run, v) = diff_json(&p("nulls.jsonl"), &p("absent.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["schema_changes"], serde_json::json!([]));
    // The same inside objects: a member written null on one side, left out on the other.
    text(
        &p("member_null.jsonl"),
        "{\"id\": 1, \"s\": {\"a\": 1, \"b\": null}}\n",
    );
    text(
        &p("member_absent.jsonl"),
        "{\"id\": 1, \"s\": {\"a\": 1}}\n",
    );
    let (run, v) = diff_json(
        &p("member_null.jsonl"),
        &p("member_absent.jsonl"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["schema_changes"], serde_json::json!([]));
    text(
        &p("member_value.jsonl"),
        "{\"id\": 1, \"s\": {\"a\": 1, \"b\": 2}}\n",
    );
    let (run, _) = diff_json(
        &p("member_null.jsonl"),
        &p("member_value.jsonl"),
        &["--key", "id"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // A field with a value on one side only is still a column on one side only.
    text(&p("value.jsonl"), "{\"id\": 1, \"a\": 5}\n{\"id\": 2}\n");
    let (run, v) = diff_json(&p("value.jsonl"), &p("absent.jsonl"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["schema_changes"][0]["kind"], "only_left");
}

#[test]
fn a_csv_date_that_names_no_day_makes_its_column_text() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // `2024-02-30` matches the date pattern but is no date: text, wherever it is.
    text(&p("a.csv"), &csv_with_late("2024-02-01", "2024-02-30"));
    let first: String = {
        let mut out = String::from("id,c\n10000,2024-02-30\n");
        for i in 0..10_000 {
            out.push_str(&format!("{i},2024-02-01\n"));
        }
        out
    };
    text(&p("b.csv"), &first);
    let (run, v) = diff_json(&p("a.csv"), &p("b.csv"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    assert_eq!(v["schema_changes"], serde_json::json!([]));
}

#[test]
fn a_leap_second_on_the_clock_is_no_instant() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // arrow's parse takes :60 as :59 (or the next minute): two different times were equal.
    text(
        &p("l.csv"),
        "id,at\n1,2024-06-30T12:30:00\n2,2024-06-30T12:30:60\n",
    );
    text(
        &p("r.csv"),
        "id,at\n1,2024-06-30T12:30:00\n2,2024-06-30T12:30:59\n",
    );
    let (run, v) = diff_json(&p("l.csv"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["verdict"], "diverged");
    assert_eq!(v["schema_changes"][0]["left_type"], "Utf8");
}

#[test]
fn an_empty_json_lines_part_is_a_file_of_no_rows_wherever_it_sorts() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    let gz = |path: &Path, body: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut w = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        w.write_all(body.as_bytes()).unwrap();
        w.finish().unwrap();
    };
    let rows: String = (0..100).map(|i| format!("{{\"id\": {i}}}\n")).collect();
    // An empty task's output: a gzip of nothing (not a file of zero bytes), first on the left.
    gz(&p("l/part-00000.jsonl.gz"), "");
    gz(&p("l/part-00001.jsonl.gz"), &rows);
    gz(&p("r/part-00000.jsonl.gz"), &rows);
    gz(&p("r/part-00001.jsonl.gz"), "\n\n");
    let (run, v) = diff_json(&p("l"), &p("r"), &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
    assert_eq!(v["left_rows"], 100);
}

#[test]
fn column_names_from_the_data_cannot_break_the_terminal_output() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // A quoted header name with a line break and an escape sequence, and such values.
    text(&p("l.csv"), "id,\"na\nme\x1b[2J\"\n1,\"a\nb\"\n");
    text(&p("r.csv"), "id,\"na\nme\x1b[2J\"\n1,\"a\nc\"\n");
    let run = diff(&p("l.csv"), &p("r.csv"), &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    assert!(
        run.stdout.contains("      na me [2J: a b -> a c\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with("  na me [2J ")),
        "{}",
        run.stdout
    );
}

#[test]
fn the_diff_file_never_holds_two_columns_of_one_name_and_lists_changed_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    // A key named `kind`, a column named `left_x` beside a column `x`, a column named `a,b`.
    text(
        &p("l.csv"),
        "kind,x,left_x,a,b,\"a,b\"\nk1,1,2,1,1,1\nk2,1,2,1,1,1\n",
    );
    text(
        &p("r.csv"),
        "kind,x,left_x,a,b,\"a,b\"\nk1,9,2,2,2,1\nk2,1,2,1,1,2\n",
    );
    let out = p("diff.parquet");
    let (run, _) = diff_json(
        &p("l.csv"),
        &p("r.csv"),
        &["--key", "kind", "--diff-out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&out).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names[..2], ["kind", "key_kind"]);
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    let changed = batches[0]
        .column_by_name("changed_columns")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::ListArray>()
        .unwrap()
        .clone();
    let listed = |i: usize| -> Vec<String> {
        let v = changed.value(i);
        let v = v.as_any().downcast_ref::<StringArray>().unwrap();
        v.iter().map(|s| s.unwrap().to_string()).collect()
    };
    assert_eq!(listed(0), ["a", "b", "x"]);
    assert_eq!(listed(1), ["a,b"]);
}

#[test]
fn redacted_json_hides_hive_folder_values_in_input_paths() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    text(&p("l/region=secretEU/a.csv"), "id,v\n1,a\n");
    text(&p("r/region=secretEU/a.csv"), "id,v\n1,b\n");
    let (run, v) = diff_json(&p("l"), &p("r"), &["--key", "id", "--redact"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains("secretEU"), "{}", run.stdout);
    assert_eq!(v["left"]["inputs"][0]["path"], "region=…/a.csv");
    // Without --redact the paths are as listed.
    let (_, v) = diff_json(&p("l"), &p("r"), &["--key", "id"]);
    assert_eq!(v["left"]["inputs"][0]["path"], "region=secretEU/a.csv");
}

/// Narrowings on the read path (issue: INT96 wrapped silently). An unsigned 64-bit value above
/// `i64::MAX` is not the negative number with the same bits, and a decimal holding more digits
/// than its declared precision is compared by its value, never cut to the precision.
#[test]
fn unsigned_64_bit_values_are_not_read_as_their_signed_bits() {
    use arrow::array::UInt64Array;
    let dir = tempfile::tempdir().unwrap();
    let (l, r) = (
        dir.path().join("l/a.parquet"),
        dir.path().join("r/a.parquet"),
    );
    let big = u64::MAX - 4; // -5 as i64 bits
    parquet(
        &l,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("v", Arc::new(UInt64Array::from(vec![big, 7]))),
        ],
    );
    parquet(
        &r,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("v", Arc::new(Int64Array::from(vec![-5, 7]))),
        ],
    );
    let (run, json) = diff_json(&l, &r, &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(json["verdict"], "diverged");
    assert_eq!(json["changed_cells"]["v"], 1);
}

#[test]
fn a_decimal_wider_than_its_declared_precision_is_compared_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let decimals = |values: Vec<i128>, p: u8| -> ArrayRef {
        // arrow-rs writes what it is given: 1234567.89 under a declared decimal(5, 2).
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(p, 2)
                .unwrap(),
        )
    };
    let ids = || Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef;
    let l = dir.path().join("l/a.parquet");
    parquet(
        &l,
        vec![
            ("id", ids()),
            ("d", decimals(vec![123_456_789, 99_999, -1], 5)),
        ],
    );
    // The same values declared wide enough: equivalent (a compatible change of precision).
    let same = dir.path().join("same/a.parquet");
    parquet(
        &same,
        vec![
            ("id", ids()),
            ("d", decimals(vec![123_456_789, 99_999, -1], 12)),
        ],
    );
    let (run, json) = diff_json(&l, &same, &["--key", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["verdict"], "equivalent");
    // One digit beyond the declared precision differs: a change, never cut equal.
    let other = dir.path().join("other/a.parquet");
    parquet(
        &other,
        vec![
            ("id", ids()),
            ("d", decimals(vec![223_456_789, 99_999, -1], 5)),
        ],
    );
    let (run, json) = diff_json(&l, &other, &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(json["changed_cells"]["d"], 1);
}

/// Dates far from 1970 keep their day: Parquet's DATE is read into Date32, which holds ±5.8
/// million years.
#[test]
fn dates_far_from_1970_are_not_narrowed() {
    use arrow::array::Date32Array;
    let dir = tempfile::tempdir().unwrap();
    let ids = || Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef;
    let far = 2_932_896; // 9999-12-31
    let l = dir.path().join("l/a.parquet");
    parquet(
        &l,
        vec![
            ("id", ids()),
            ("d", Arc::new(Date32Array::from(vec![far, -719_162]))),
        ],
    );
    let r = dir.path().join("r/a.parquet");
    parquet(
        &r,
        vec![
            ("id", ids()),
            ("d", Arc::new(Date32Array::from(vec![far + 1, -719_162]))),
        ],
    );
    let (run, json) = diff_json(&l, &r, &["--key", "id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(json["changed_cells"]["d"], 1);
}
