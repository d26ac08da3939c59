//! Tier 1 by content: files pair by folder, format, size and blake3, whatever their names;
//! the folder path still counts (Hive folders carry column values).

use std::path::Path;

use crate::harness::{diff_json, fixture};

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// The demo's legacy files, under the names and folders given.
fn side(root: &Path, names: &[&str]) -> std::path::PathBuf {
    let demo = fixture("demo").join("legacy");
    let mut parts: Vec<_> = std::fs::read_dir(&demo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    parts.sort();
    assert_eq!(parts.len(), names.len());
    for (from, name) in parts.iter().zip(names) {
        copy(from, &root.join(name));
    }
    root.to_path_buf()
}

#[test]
fn byte_copies_under_other_names_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let left = side(
        &dir.path().join("l"),
        &["part-00000-aaaa.parquet", "part-00001-aaaa.parquet"],
    );
    let right = side(
        &dir.path().join("r"),
        &["part-00001-zzzz.parquet", "part-00000-yyyy.parquet"],
    );
    let (run, json) = diff_json(&left, &right, &["--key", "order_id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["verdict"], "identical");
    assert_eq!(json["tier"], "bytes");
    assert_eq!(json["left_rows"], serde_json::Value::Null);

    // Two single files compare by content whatever they are called.
    let (run, json) = diff_json(
        &left.join("part-00000-aaaa.parquet"),
        &right.join("part-00001-zzzz.parquet"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["verdict"], "identical");
}

#[test]
fn the_folder_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    // The same two files, each in the other Hive folder: byte for byte the files match, but
    // the folders are column values, so the rows differ.
    let left = side(&dir.path().join("l"), &["dt=1/a.parquet", "dt=2/b.parquet"]);
    let right = side(&dir.path().join("r"), &["dt=2/a.parquet", "dt=1/b.parquet"]);
    let (run, json) = diff_json(&left, &right, &["--key", "order_id"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(json["tier"], "rows");
    assert_eq!(json["changed_cells"], serde_json::json!({"dt": 2000}));
}
