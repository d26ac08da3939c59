//! The keyed diff under a memory budget far smaller than the data: both sides spill to disk by
//! key-hash partition and the result is exactly the in-memory result.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;

use crate::harness::{diff_json, Run};

const ROWS: i64 = 300_000;

/// Write a Parquet file; `dictionary` stores `name` dictionary-encoded (as Arrow keeps it
/// through Parquet), which spill files must handle across batches with different dictionaries.
fn write(
    path: &std::path::Path,
    ids: &[i64],
    dictionary: bool,
    tweak: impl Fn(i64) -> (String, f64),
) {
    let name_type = if dictionary {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    } else {
        DataType::Utf8
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", name_type, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    for chunk in ids.chunks(50_000) {
        let (names, amounts): (Vec<String>, Vec<f64>) = chunk.iter().map(|&i| tweak(i)).unzip();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(chunk.to_vec())),
            if dictionary {
                Arc::new(
                    names
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<DictionaryArray<Int32Type>>(),
                )
            } else {
                Arc::new(StringArray::from(names))
            },
            Arc::new(Float64Array::from(amounts)),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_pair_larger_than_the_memory_limit_diffs_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = two_folders(dir.path());
    let base = |i: i64| {
        (
            format!(
                "customer-{:08}-{}",
                i * 7919 % 1_000_003,
                "x".repeat((i % 40) as usize)
            ),
            i as f64 * 0.25,
        )
    };

    // Left: ids 0..ROWS in two files. Right: reversed order, every 1000th id deleted, 150 new
    // ids, every 500th row's name changed (ids that are multiples of 1000 are deleted instead).
    let ids: Vec<i64> = (0..ROWS).collect();
    write(
        &left.join("a.parquet"),
        &ids[..ROWS as usize / 2],
        true,
        base,
    );
    write(
        &left.join("b.parquet"),
        &ids[ROWS as usize / 2..],
        true,
        base,
    );
    let mut rids: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|i| i % 1000 != 0)
        .rev()
        .collect();
    rids.extend(ROWS..ROWS + 150);
    write(&right.join("only.parquet"), &rids, false, |i| {
        let (n, a) = base(i);
        if i % 500 == 0 {
            (format!("{n}-changed"), a)
        } else {
            (n, a)
        }
    });
    let deleted = (ROWS / 1000) as u64;
    let changed = (0..ROWS).filter(|i| i % 500 == 0 && i % 1000 != 0).count() as u64;

    let spill_dir = tempfile::tempdir().unwrap();
    let spill = spill_dir.path().to_str().unwrap();
    // Re-read every row and spill both sides by key-hash partition.
    let (run_small, small) = diff_json(
        &left,
        &right,
        &[
            "--key",
            "id",
            "--memory-limit",
            "16MiB",
            "--spill-dir",
            spill,
            "--row-strategy",
            "spill",
        ],
    );
    // Keep rows from the first pass, spilling once the budget is reached.
    let (run_first, first) = diff_json(
        &left,
        &right,
        &[
            "--key",
            "id",
            "--memory-limit",
            "16MiB",
            "--spill-dir",
            spill,
            "--row-strategy",
            "memory",
        ],
    );
    assert_eq!(run_first.code, 1, "{}", run_first.stderr);
    assert!(
        first["spilled_bytes"].as_u64().unwrap() > 16 << 20,
        "{}",
        first["spilled_bytes"]
    );
    let (run_big, big) = diff_json(&left, &right, &["--key", "id", "--row-strategy", "memory"]);
    let (run_subset, subset) = diff_json(
        &left,
        &right,
        &[
            "--key",
            "id",
            "--memory-limit",
            "16MiB",
            "--row-strategy",
            "subset",
        ],
    );
    assert_eq!(run_subset.code, 1, "{}", run_subset.stderr);
    assert_eq!(
        subset["spilled_bytes"].as_u64(),
        Some(0),
        "the differing-rows subset fits in memory"
    );
    assert_eq!(
        small["schema_changes"],
        serde_json::json!([]),
        "dictionary vs plain strings is no schema change"
    );
    assert_eq!(run_small.code, 1, "{}", run_small.stderr);
    assert_eq!(run_big.code, 1, "{}", run_big.stderr);

    assert!(
        small["spilled_bytes"].as_u64().unwrap() > 16 << 20,
        "the small budget must spill: {}",
        small["spilled_bytes"]
    );
    assert_eq!(big["spilled_bytes"].as_u64(), Some(0));
    for v in [&small, &first, &big, &subset] {
        assert_eq!(v["left_rows"].as_u64(), Some(ROWS as u64));
        assert_eq!(v["right_rows"].as_u64(), Some(ROWS as u64 - deleted + 150));
        assert_eq!(v["only_left"].as_u64(), Some(deleted));
        assert_eq!(v["only_right"].as_u64(), Some(150));
        assert_eq!(v["changed_rows"].as_u64(), Some(changed));
        assert_eq!(v["changed_cells"], serde_json::json!({ "name": changed }));
    }
    for run in [&run_small, &run_first, &run_big, &run_subset] {
        assert_eq!(
            run.stderr, "",
            "a diff that reaches its verdict writes nothing to a piped stderr"
        );
    }
    assert_eq!(
        small["samples"], big["samples"],
        "samples do not depend on the memory budget"
    );
    assert_eq!(
        std::fs::read_dir(spill_dir.path()).unwrap().count(),
        0,
        "spill files are removed"
    );
}

/// SIGTERM (what Kubernetes sends before it kills a pod) or Ctrl-C in the middle of a diff
/// that spills: the run stops with exit 2 and one line, and its spill folder is gone.
#[test]
fn an_interrupted_diff_removes_its_spill_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = one_row_apart(dir.path());
    let spill = tempfile::tempdir().unwrap();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let child = spilling_diff(&left, &right, spill.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the run has made its spill folder, then signal it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::fs::read_dir(spill.path()).unwrap().next().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "no spill folder appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // SAFETY: kill(2) on the pid of a child this test spawned and has not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("interrupted by SIG"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        let left_behind: Vec<_> = std::fs::read_dir(spill.path()).unwrap().collect();
        assert!(left_behind.is_empty(), "{left_behind:?}");
    }
}

/// A spill past the process's file-size limit (`ulimit -f`, as a shared host or a container
/// may set): one line naming the spill file, exit 2, no verdict, and the spill folder gone.
#[test]
fn a_spill_past_the_file_size_limit_is_an_error_naming_the_file() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = one_row_apart(dir.path());
    let spill = tempfile::tempdir().unwrap();
    let mut cmd = spilling_diff(&left, &right, spill.path());
    cmd.args(["--format", "json"]);
    // SAFETY: setrlimit(2) between fork and exec only sets the child's own limit, from a
    // struct that lives for the call; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256 << 10,
                rlim_max: 256 << 10,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no verdict: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("parity: error: ") && stderr.contains(".arrow: File too large (os error 27); the file reached the process's file-size limit (ulimit -f)"),
        "{stderr}"
    );
    let left_behind: Vec<_> = std::fs::read_dir(spill.path()).unwrap().collect();
    assert!(left_behind.is_empty(), "{left_behind:?}");
}

/// Write `ids` (with nulls) and a value column derived from each row's place, as Parquet with
/// row groups of `group` rows.
fn write_nullable_keys(path: &std::path::Path, ids: &[(Option<i64>, i64)], group: usize) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("v", DataType::Int64, false),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    for chunk in ids.chunks(50_000) {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(
                chunk.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                chunk.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

#[test]
fn duplicate_and_null_keys_are_counted_when_equivalent_sides_outgrow_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    // 400k rows: key 0 twice, key 5 three times (two duplicated keys), three null keys.
    let rows: Vec<(Option<i64>, i64)> = (0..400_000i64)
        .map(|i| {
            let id = match i {
                1 => Some(0),
                6 | 7 => Some(5),
                2 | 200_000 | 399_999 => None,
                _ => Some(i),
            };
            (id, i)
        })
        .collect();
    let left = dir.path().join("left.parquet");
    write_nullable_keys(&left, &rows, 65_536);
    // The same rows in the other order, in two files with other row groups.
    let right = dir.path().join("right");
    std::fs::create_dir(&right).unwrap();
    let mut reversed = rows.clone();
    reversed.reverse();
    write_nullable_keys(&right.join("a.parquet"), &reversed[..150_000], 100_000);
    write_nullable_keys(&right.join("b.parquet"), &reversed[150_000..], 100_000);
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let spill = spill.to_str().unwrap();
    let (left, right) = (left.to_str().unwrap(), right.to_str().unwrap());
    for extra in [
        // The budget holds everything.
        &[][..],
        // The row index outgrows a third of 16 MiB (16 bytes a row): nothing kept to count from.
        &["--memory-limit", "16MiB"][..],
        // Nothing kept in the first pass.
        &["--row-strategy", "spill"][..],
        // Every row kept, spilled by key partition past the budget.
        &["--row-strategy", "memory", "--memory-limit", "16MiB"][..],
    ] {
        let mut args = vec!["--key", "id", "--spill-dir", spill];
        args.extend_from_slice(extra);
        let (run, s) = diff_json(
            std::path::Path::new(left),
            std::path::Path::new(right),
            &args,
        );
        assert_eq!(run.code, 0, "{extra:?}: {}", run.stderr);
        assert_eq!(s["verdict"], "equivalent", "{extra:?}");
        assert_eq!(s["left_rows"], 400_000, "{extra:?}");
        assert_eq!(s["duplicate_keys"]["left"], 2, "{extra:?}");
        assert_eq!(s["duplicate_keys"]["right"], 2, "{extra:?}");
        assert_eq!(s["null_keys"]["left"], 3, "{extra:?}");
        assert_eq!(s["null_keys"]["right"], 3, "{extra:?}");
    }
}

/// Two sides of the same rows in the same order, one file each, the right with `amount`
/// changed where `changed(id)` says.
fn write_changed_pair(dir: &std::path::Path, changed: impl Fn(i64) -> bool) -> (PathBuf, PathBuf) {
    let (left, right) = two_folders(dir);
    let ids: Vec<i64> = (0..ROWS).collect();
    let base = |i: i64| {
        (
            format!("customer-{i:08}-{}", "y".repeat((i % 30) as usize)),
            i as f64,
        )
    };
    write(&left.join("part-0.parquet"), &ids, false, base);
    write(&right.join("part-1.parquet"), &ids, false, |i| {
        let (n, a) = base(i);
        (n, if changed(i) { a + 0.5 } else { a })
    });
    (left, right)
}

/// Past the budget, a look at the first rows of both sides decides whether the fingerprint
/// pass keeps every row (two in five or more differ: decoded once) or an index (fewer differ:
/// the differing rows read again). Either way the counts are the exact ones, and the same as
/// with the strategy forced.
#[test]
fn the_look_at_the_first_rows_picks_one_decode_when_many_rows_differ() {
    const CHOICE: &str = "keeping every row in one pass";
    for every in [1, 2, 3, 100] {
        let changed = (ROWS as u64).div_ceil(every as u64);
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = write_changed_pair(dir.path(), |i| i % every == 0);
        let args = ["--key", "id", "--memory-limit", "16MiB", "-v"];
        let (auto, found) = diff_json(&left, &right, &args);
        let (forced, subset) = diff_json(
            &left,
            &right,
            &[&args[..], &["--row-strategy", "subset"]].concat(),
        );
        assert_eq!((auto.code, forced.code), (1, 1), "{}", auto.stderr);
        assert_eq!(
            auto.stderr.contains(CHOICE),
            every <= 2,
            "one row in {every} changed: {}",
            auto.stderr
        );
        assert!(!forced.stderr.contains(CHOICE), "{}", forced.stderr);
        for v in [&found, &subset] {
            assert_eq!(v["only_left"].as_u64(), Some(0));
            assert_eq!(v["only_right"].as_u64(), Some(0));
            assert_eq!(v["changed_rows"].as_u64(), Some(changed));
            assert_eq!(v["changed_cells"], serde_json::json!({ "amount": changed }));
        }
        assert_eq!(found["samples"], subset["samples"]);
        // Rows kept in one pass are hashed by key only; tier 3 makes their fingerprints, which
        // must be the ones the index pass makes (whole, and column by column).
        assert_eq!(found["fingerprints"], subset["fingerprints"]);
        assert_eq!(found["columns"], subset["columns"]);
        assert_eq!(found["tier"], "rows");
        if every <= 2 {
            assert!(
                found["spilled_bytes"].as_u64().unwrap() > 16 << 20,
                "every row spilled from the first pass: {}",
                found["spilled_bytes"]
            );
        }
    }
}

/// A left and a right folder, made in `dir`.
fn two_folders(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (left, right) = (dir.join("left"), dir.join("right"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::create_dir_all(&right).unwrap();
    (left, right)
}

/// The paths of a left and a right Parquet file in `dir`.
fn two_files(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    (dir.join("left.parquet"), dir.join("right.parquet"))
}

/// Two files in `dir` of `ROWS` rows, the right without the first.
fn one_row_apart(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (left, right) = two_files(dir);
    let ids: Vec<i64> = (0..ROWS).collect();
    let row = |i: i64| (format!("customer-{i:08}"), i as f64);
    write(&left, &ids, false, row);
    write(&right, &ids[1..], false, row);
    (left, right)
}

/// The keyed diff of `left` and `right` that spills every row into `spill` under 16 MiB.
fn spilling_diff(
    left: &std::path::Path,
    right: &std::path::Path,
    spill: &std::path::Path,
) -> std::process::Command {
    let mut cmd = crate::harness::parity();
    cmd.arg("diff")
        .arg(left)
        .arg(right)
        .args(["--key", "id", "--row-strategy", "spill"])
        .args(["--memory-limit", "16MiB"])
        .arg("--spill-dir")
        .arg(spill);
    cmd
}

/// The diff of `left` and `right` on `key` under a 16 MiB limit, as the look at the first rows
/// chooses (one pass: asserted) and through the index: their runs and summaries.
fn one_pass_and_index(
    left: &std::path::Path,
    right: &std::path::Path,
    key: &str,
) -> ((Run, serde_json::Value), (Run, serde_json::Value)) {
    let args = ["--key", key, "--memory-limit", "16MiB", "-v"];
    let (auto, found) = diff_json(left, right, &args);
    assert!(
        auto.stderr.contains("keeping every row in one pass"),
        "{}",
        auto.stderr
    );
    let index = diff_json(
        left,
        right,
        &[&args[..], &["--row-strategy", "subset"]].concat(),
    );
    ((auto, found), index)
}

/// Every key twice on each side, its two rows swapped between the sides' files: the look at
/// the first rows sees every pair differ and keeps every row in one pass, hashed by key only,
/// yet the tables hold the same rows. Tier 3's fingerprints must find them equivalent, as the
/// index pass does, with every key counted as duplicated.
#[test]
fn rows_kept_in_one_pass_that_turn_out_equal_are_equivalent() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = two_folders(dir.path());
    let ids: Vec<i64> = (0..ROWS).collect();
    let name = |i: i64| format!("customer-{i:08}");
    let plain = |i: i64| (name(i), i as f64);
    let shifted = |i: i64| (name(i), i as f64 + 0.5);
    write(&left.join("a.parquet"), &ids, false, plain);
    write(&left.join("b.parquet"), &ids, false, shifted);
    // Names dictionary-encoded on the right: the same values in other bytes.
    write(&right.join("a.parquet"), &ids, true, shifted);
    write(&right.join("b.parquet"), &ids, true, plain);
    let ((auto, found), (forced, subset)) = one_pass_and_index(&left, &right, "id");
    assert_eq!((auto.code, forced.code), (0, 0), "{}", auto.stderr);
    for v in [&found, &subset] {
        assert_eq!(v["verdict"], "equivalent");
        assert_eq!(v["tier"], "fingerprint");
        assert_eq!(v["changed_rows"].as_u64(), Some(0));
        assert_eq!(v["only_left"].as_u64(), Some(0));
        assert_eq!(v["only_right"].as_u64(), Some(0));
        assert_eq!(
            v["duplicate_keys"],
            serde_json::json!({ "left": ROWS, "right": ROWS })
        );
        assert_eq!(v["left_rows"].as_u64(), Some(2 * ROWS as u64));
    }
    assert_eq!(found["fingerprints"], subset["fingerprints"]);
    assert_eq!(found["columns"], subset["columns"]);
}

/// Rows kept in memory, more than tier 3 diffs as one partition and most pairs differing:
/// they are split by key partition in memory (the debug log says how many partitions were
/// diffed) and give exactly what the spilled diff gives.
#[test]
fn rows_kept_in_memory_with_most_pairs_differing_are_split_and_diff_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = two_files(dir.path());
    // More than the 2,000,000 rows (both sides) diffed as one partition.
    const MANY: i64 = 1_050_000;
    let ids: Vec<i64> = (0..MANY).collect();
    let rids: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|i| i % 1000 != 0)
        .rev()
        .collect();
    let name = |i: i64| format!("c{:08}", i * 7919 % 1_000_003);
    write(&left, &ids, false, |i| (name(i), i as f64));
    write(&right, &rids, false, |i| (name(i), i as f64 + 0.5));
    let deleted = (MANY / 1000) as u64;
    let changed = MANY as u64 - deleted;

    let in_memory = crate::harness::parity()
        .env("RUST_LOG", "parity=debug")
        .args([
            "diff",
            "--key",
            "id",
            "--row-strategy",
            "memory",
            "--format",
            "json",
        ])
        .arg(&left)
        .arg(&right)
        .output()
        .unwrap();
    let run = Run::from(in_memory);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(" partitions: "),
        "the rows kept in memory were not split: {}",
        run.stderr
    );
    let memory: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let (run_spill, spilled) = diff_json(
        &left,
        &right,
        &[
            "--key",
            "id",
            "--row-strategy",
            "spill",
            "--memory-limit",
            "16MiB",
        ],
    );
    assert_eq!(run_spill.code, 1, "{}", run_spill.stderr);
    assert_eq!(memory["spilled_bytes"].as_u64(), Some(0));
    for v in [&memory, &spilled] {
        assert_eq!(v["only_left"].as_u64(), Some(deleted));
        assert_eq!(v["only_right"].as_u64(), Some(0));
        assert_eq!(v["changed_rows"].as_u64(), Some(changed));
        assert_eq!(v["changed_cells"], serde_json::json!({ "amount": changed }));
    }
    assert_eq!(memory["samples"], spilled["samples"]);
}

/// A table may name a column as parity names its own hash columns: rows kept in one pass,
/// spooled without row hashes, are still told apart from rows that carry them, and diff
/// exactly as through the index.
#[test]
fn a_column_named_like_the_row_hash_column_is_data() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = two_files(dir.path());
    // Upper-case names sort before `_`: the look-alike column is the plan's last.
    let schema = Arc::new(Schema::new(vec![
        Field::new("ID", DataType::Int64, false),
        Field::new("AMOUNT", DataType::Float64, false),
        Field::new("__parity_row_hash", DataType::Utf8, false),
    ]));
    let table = |path: &std::path::Path, shift: f64| {
        let file = std::fs::File::create(path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        let ids: Vec<i64> = (0..ROWS).collect();
        for chunk in ids.chunks(50_000) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(chunk.to_vec())),
                Arc::new(Float64Array::from_iter_values(
                    chunk.iter().map(|&i| i as f64 + shift),
                )),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|i| format!("h{i:016x}")),
                )),
            ];
            w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
                .unwrap();
        }
        w.close().unwrap();
    };
    table(&left, 0.0);
    table(&right, 0.5);
    let ((auto, found), (forced, subset)) = one_pass_and_index(&left, &right, "ID");
    assert_eq!((auto.code, forced.code), (1, 1), "{}", auto.stderr);
    for v in [&found, &subset] {
        assert_eq!(v["changed_rows"].as_u64(), Some(ROWS as u64));
        assert_eq!(v["changed_cells"], serde_json::json!({ "AMOUNT": ROWS }));
        assert_eq!(v["only_left"].as_u64(), Some(0));
    }
    assert_eq!(found["fingerprints"], subset["fingerprints"]);
    assert_eq!(found["columns"], subset["columns"]);
}
