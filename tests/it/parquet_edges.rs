//! Parquet as other writers and damage leave it (`fixtures/parquet_edges/`, written by
//! `scripts/make-edge-fixtures.py` and checked there against pyarrow and DuckDB): what parity
//! reads, what it refuses, and that a refusal is one line naming the file, the row group and
//! the column where it can. Each test is named after the bug it pins.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, Int64Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow::array::{MapFieldNames, RecordBatch};
use arrow::datatypes::{DataType, Field};

use crate::harness::{diff, diff_json, fixture, parity, Run};

fn case(name: &str) -> (PathBuf, PathBuf) {
    let dir = fixture("parquet_edges").join(name);
    (dir.join("left"), dir.join("right"))
}

/// The one error line of a run that must have failed with exit 2, with a backtrace asked for.
fn refused(name: &str) -> String {
    let (left, right) = case(name);
    let run: Run = parity()
        .env("RUST_BACKTRACE", "full")
        .arg("diff")
        .arg(&left)
        .arg(&right)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{name}: {} {}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{name}: one line, got {:?}", run.stderr);
    lines[0].to_string()
}

/// That a case is refused with exactly this line about its right side's file.
fn assert_refused(name: &str, says: &str) {
    let file = case(name).1.join("data.parquet");
    assert_eq!(
        refused(name),
        format!("parity: error: file://{}: {says}", file.display())
    );
}

/// `parity diff` of a case as JSON: exit code, verdict and schema changes.
fn verdict(name: &str, args: &[&str]) -> (i32, String, serde_json::Value) {
    let (left, right) = case(name);
    let (run, v) = diff_json(&left, &right, args);
    assert!(run.stderr.is_empty(), "{name}: {}", run.stderr);
    (
        run.code,
        v["verdict"].as_str().unwrap().to_string(),
        v["schema_changes"].clone(),
    )
}

#[test]
fn a_page_whose_checksum_does_not_match_is_refused_naming_the_row_group_and_column() {
    assert_refused(
        "page_checksum",
        "corrupt: in row group 1, column `amount`, a page does not match its checksum (CRC32); its bytes changed after they were written",
    );
}

#[test]
fn a_dictionary_page_of_a_negative_count_is_refused_naming_the_row_group_and_column() {
    assert_refused(
        "negative_dictionary_count",
        "not a readable Parquet file: in row group 1, column `name`, a page header holds a negative count or size, which this reader refuses (Parquet error: Integer overflow: out of range integral type conversion attempted)",
    );
}

#[test]
fn pages_whose_checksums_match_are_no_difference() {
    let (code, verdict, changes) = verdict("page_checksum_ok", &[]);
    assert_eq!((code, verdict.as_str()), (0, "equivalent"));
    assert_eq!(changes, serde_json::json!([]));
}

#[test]
fn a_decoder_panic_is_one_line_naming_the_file_without_panic_text() {
    assert_refused(
        "negative_page_offset",
        "corrupt, or written with something parity cannot read: the decoder failed (column start and length should not be negative)",
    );
}

#[test]
fn a_dictionary_page_offset_of_zero_means_no_dictionary_page() {
    let (code, verdict, changes) = verdict("dictionary_page_offset_zero", &[]);
    assert_eq!((code, verdict.as_str()), (0, "equivalent"));
    assert_eq!(changes, serde_json::json!([]));
}

#[test]
fn a_repeated_field_without_list_annotation_is_a_list_like_any_other() {
    for args in [&[][..], &["--strict-types"][..]] {
        let (code, verdict, changes) = verdict("repeated_field_without_list", args);
        assert_eq!((code, verdict.as_str()), (0, "equivalent"), "{args:?}");
        assert_eq!(changes, serde_json::json!([]), "{args:?}");
    }
}

#[test]
fn a_two_level_list_is_a_list_like_any_other() {
    for args in [&[][..], &["--strict-types"][..]] {
        let (code, verdict, changes) = verdict("two_level_list", args);
        assert_eq!((code, verdict.as_str()), (0, "equivalent"), "{args:?}");
        assert_eq!(changes, serde_json::json!([]), "{args:?}");
    }
}

#[test]
fn list_and_map_wrapper_names_are_no_schema_change() {
    for args in [&[][..], &["--strict-types"][..]] {
        let (code, verdict, changes) = verdict("nested_wrapper_names", args);
        assert_eq!((code, verdict.as_str()), (0, "equivalent"), "{args:?}");
        assert_eq!(changes, serde_json::json!([]), "{args:?}");
    }
}

/// A table of ids, a list of strings and a map of string to integer, with the lists' and the
/// maps' wrapper fields named as given, and `changed` added to the value of map key `y`.
fn nested(path: &std::path::Path, names: (&str, MapFieldNames), changed: i64) {
    let (item, map_names) = names;
    let mut tags = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        item,
        DataType::Utf8,
        true,
    )));
    let mut attrs = MapBuilder::new(Some(map_names), StringBuilder::new(), Int64Builder::new());
    for i in 0..3i64 {
        tags.values().append_value(format!("t{i}"));
        tags.append(true);
        attrs.keys().append_value("x");
        attrs.values().append_value(i);
        attrs.keys().append_value("y");
        attrs
            .values()
            .append_value(i * 10 + if i == 2 { changed } else { 0 });
        attrs.append(true).unwrap();
    }
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("tags", Arc::new(tags.finish()) as ArrayRef),
        ("attrs", Arc::new(attrs.finish()) as ArrayRef),
    ])
    .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_changed_map_value_still_diverges_when_the_wrapper_names_differ() {
    let d = tempfile::tempdir().unwrap();
    let arrow_names = || MapFieldNames {
        entry: "entries".into(),
        key: "keys".into(),
        value: "values".into(),
    };
    let spark_names = || MapFieldNames {
        entry: "key_value".into(),
        key: "key".into(),
        value: "value".into(),
    };
    nested(&d.path().join("l/a.parquet"), ("item", arrow_names()), 0);
    nested(
        &d.path().join("same/a.parquet"),
        ("element", spark_names()),
        0,
    );
    nested(
        &d.path().join("changed/a.parquet"),
        ("element", spark_names()),
        1,
    );
    let (run, v) = diff_json(
        &d.path().join("l"),
        &d.path().join("same"),
        &["--key", "id"],
    );
    assert_eq!(
        (run.code, v["verdict"].as_str()),
        (0, Some("equivalent")),
        "{}",
        run.stderr
    );
    assert_eq!(v["schema_changes"], serde_json::json!([]));
    let (run, v) = diff_json(
        &d.path().join("l"),
        &d.path().join("changed"),
        &["--key", "id"],
    );
    assert_eq!(
        (run.code, v["verdict"].as_str()),
        (1, Some("diverged")),
        "{}",
        run.stderr
    );
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"attrs": 1}));
    // Text output says the same without a schema section.
    let run = diff(
        &d.path().join("l"),
        &d.path().join("same"),
        &["--key", "id"],
    );
    assert!(!run.stdout.contains("schema"), "{}", run.stdout);
}
