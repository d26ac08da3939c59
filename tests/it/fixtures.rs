//! Every fixture pair against its `expected.json`, written by hand from what was planted.

use std::path::Path;

use serde_json::Value;

use crate::harness::{diff, diff_json, fixture, root};

fn sides(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    if dir.join("legacy").exists() {
        (dir.join("legacy"), dir.join("target"))
    } else {
        (dir.join("left"), dir.join("right"))
    }
}

/// A fixture's `expected.json` and the extra arguments it names.
fn expected(dir: &Path) -> (Value, Vec<String>) {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let args = expected["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (expected, args)
}

fn check(name: &str, strategy: &str) -> Result<(), String> {
    let dir = fixture(name);
    let (expected, args) = expected(&dir);
    let mut args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    args.extend(["--row-strategy", strategy]);
    let name = format!("{name} [{strategy}]");
    let (left, right) = sides(&dir);
    let want_exit = expected["exit"].as_i64().unwrap() as i32;
    if want_exit == 2 {
        let run = diff(&left, &right, &args);
        if run.code != 2 {
            return Err(format!(
                "{name}: exit {} instead of 2; stdout={} stderr={}",
                run.code, run.stdout, run.stderr
            ));
        }
        let needle = expected["error_contains"].as_str().unwrap();
        let lines: Vec<&str> = run.stderr.lines().collect();
        if lines.len() != 1
            || !lines[0].contains(needle)
            || !lines[0].starts_with("parity: error: ")
        {
            return Err(format!(
                "{name}: error should be one line containing `{needle}`, got {:?}",
                run.stderr
            ));
        }
        if !run.stdout.is_empty() {
            return Err(format!(
                "{name}: nothing may go to stdout on error, got {:?}",
                run.stdout
            ));
        }
        return Ok(());
    }
    let (run, got) = diff_json(&left, &right, &args);
    let mut problems = Vec::new();
    if run.code != want_exit {
        problems.push(format!("exit {} want {want_exit}", run.code));
    }
    for field in [
        "verdict",
        "left_rows",
        "right_rows",
        "only_left",
        "only_right",
        "changed_rows",
        "changed_cells",
        "duplicate_keys",
        "null_keys",
    ] {
        if got[field] != expected[field] {
            problems.push(format!(
                "{field}: got {} want {}",
                got[field], expected[field]
            ));
        }
    }
    let changes = got["schema_changes"]
        .as_array()
        .map(|a| a.len() as i64)
        .unwrap_or(-1);
    if changes != expected["schema_changes"].as_i64().unwrap() {
        problems.push(format!(
            "schema_changes: got {} want {}",
            got["schema_changes"], expected["schema_changes"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}: {}", problems.join("; ")))
    }
}

#[test]
fn every_fixture_matches_its_expected_result() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // The demo cutover has its own expectations (tests/it/cutover.rs).
        .filter(|n| n != "cutover")
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "expected the full fixture set, found {}",
        names.len()
    );
    // Every way tier 3 can get its rows must give the same answer.
    let failures: Vec<String> = ["auto", "memory", "subset", "spill"]
        .iter()
        .flat_map(|strategy| names.iter().filter_map(move |n| check(n, strategy).err()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn swapping_sides_swaps_only_left_and_only_right() {
    for name in [
        "changed_values",
        "duplicate_keys",
        "keyless_multiset",
        "null_keys",
        "demo",
    ] {
        let dir = fixture(name);
        let (_, args) = expected(&dir);
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (l, r) = sides(&dir);
        let (_, fwd) = diff_json(&l, &r, &args);
        let (_, back) = diff_json(&r, &l, &args);
        assert_eq!(fwd["only_left"], back["only_right"], "{name}");
        assert_eq!(fwd["only_right"], back["only_left"], "{name}");
        assert_eq!(fwd["changed_rows"], back["changed_rows"], "{name}");
        assert_eq!(fwd["changed_cells"], back["changed_cells"], "{name}");
        assert_eq!(
            fwd["duplicate_keys"]["left"], back["duplicate_keys"]["right"],
            "{name}"
        );
        assert_eq!(
            fwd["null_keys"]["left"], back["null_keys"]["right"],
            "{name}"
        );
        assert_eq!(fwd["verdict"], back["verdict"], "{name}");
    }
}

#[test]
fn a_side_against_itself_is_identical() {
    let dir = fixture("changed_values");
    let (run, got) = diff_json(&dir.join("left"), &dir.join("left"), &["--key", "id"]);
    assert_eq!(run.code, 0);
    assert_eq!(got["verdict"], "identical");
    assert_eq!(got["tier"], "bytes");
    assert_eq!(got["left_rows"], Value::Null);
}
