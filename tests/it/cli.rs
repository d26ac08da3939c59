//! The command line: exit codes, one-line errors, every output format (snapshots), redaction,
//! hints, the diff file, and a closed pipe.

use std::io::Read;

use arrow::array::Array;
use std::process::Stdio;

use crate::harness::{diff, diff_json, fixture, parity};

fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"file:///[^\s|`)]*?/fixtures/", "[FIXTURES]/"),
        (
            r#""tool_version": "[^"]+""#,
            r#""tool_version": "[VERSION]""#,
        ),
        // Local ETags are made of inode and modification time: they change with every checkout.
        (r#""e_tag": "(?:\\"|[^"])*""#, r#""e_tag": "[ETAG]""#),
    ]
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => snapshot_filters(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[test]
fn exit_codes_are_a_contract() {
    let eq = fixture("reordered_rows");
    assert_eq!(
        diff(&eq.join("left"), &eq.join("right"), &["--key", "id"]).code,
        0
    );
    let ch = fixture("changed_values");
    assert_eq!(
        diff(&ch.join("left"), &ch.join("right"), &["--key", "id"]).code,
        1
    );
    let missing = diff(&ch.join("left"), &ch.join("nope"), &["--key", "id"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.starts_with("parity: error: ") && missing.stderr.contains("nope"),
        "{}",
        missing.stderr
    );
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let ch = fixture("changed_values");
    let (l, r) = (ch.join("left"), ch.join("right"));
    for (args, needle) in [
        (vec!["--tol", "amount"], "expected COLUMN=abs:X"),
        (vec!["--abs-tol=-1"], "not a non-negative number"),
        (vec!["--no-such-flag"], "unexpected argument"),
        (vec!["--memory-limit", "12 parsecs"], "unknown unit"),
        (vec!["--key", "nope"], "key column `nope` is missing"),
        (vec!["--ignore", "nope"], "neither side has a column `nope`"),
        (vec!["--rename", "x=y"], "the left side has no column `x`"),
        (
            vec!["--tol", "name=abs:1"],
            "tolerances apply to float and decimal columns",
        ),
        (vec!["--input-format", "xml"], "unknown input format"),
        (vec!["--format", "yaml"], "unknown output format"),
    ] {
        let run = diff(&l, &r, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn terminal_markdown_and_json_snapshots() {
    let dir = fixture("changed_values");
    let (l, r) = (dir.join("left"), dir.join("right"));
    let args = ["--key", "id"];
    snapshot!("changed_values.terminal", diff(&l, &r, &args).stdout);
    let mut md = args.to_vec();
    md.extend(["--format", "markdown"]);
    snapshot!("changed_values.markdown", diff(&l, &r, &md).stdout);
    let mut js = args.to_vec();
    js.extend(["--format", "json"]);
    snapshot!("changed_values.json", diff(&l, &r, &js).stdout);

    let same = fixture("identical_bytes");
    snapshot!(
        "identical.terminal",
        diff(&same.join("left"), &same.join("right"), &[]).stdout
    );
    let schema = fixture("renamed_column");
    snapshot!(
        "renamed_column.terminal",
        diff(
            &schema.join("left"),
            &schema.join("right"),
            &["--key", "id"]
        )
        .stdout
    );
}

#[test]
fn no_colour_when_piped() {
    let dir = fixture("changed_values");
    let run = diff(&dir.join("left"), &dir.join("right"), &["--key", "id"]);
    assert!(!run.stdout.contains('\x1b'), "ANSI escapes in piped output");
    assert!(
        run.stderr.is_empty(),
        "no progress bars when stderr is not a terminal: {}",
        run.stderr
    );
}

#[test]
fn redaction_hides_every_value_but_keeps_equality() {
    let dir = fixture("demo");
    let args = [
        "--key",
        "order_id",
        "--ignore",
        "loaded_at",
        "--abs-tol",
        "1e-9",
        "--redact",
        "--samples",
        "50",
    ];
    let (run, v) = diff_json(&dir.join("legacy"), &dir.join("target"), &args);
    assert_eq!(run.code, 1);
    assert_eq!(v["redacted"], true);
    let text = run.stdout;
    for plain in [
        "cust-0015",
        "shipped",
        "delivered",
        "2594.54",
        "order_id\": \"443",
    ] {
        assert!(
            !text.contains(plain),
            "`{plain}` leaked into redacted output"
        );
    }
    // The same status value redacts to the same hash wherever it appears.
    let changed = v["samples"]["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 7);
    let mut hashes: Vec<&str> = changed
        .iter()
        .flat_map(|c| {
            [
                c["changes"]["status"]["left"].as_str().unwrap(),
                c["changes"]["status"]["right"].as_str().unwrap(),
            ]
        })
        .collect();
    assert!(hashes.iter().all(|h| h.starts_with('#') && h.len() == 11));
    hashes.sort();
    hashes.dedup();
    assert!(
        hashes.len() < 14,
        "equal statuses must hash equal: {hashes:?}"
    );

    let terminal = diff(
        &dir.join("legacy"),
        &dir.join("target"),
        &args[..args.len() - 2],
    )
    .stdout;
    assert!(
        !terminal.contains("cust-0"),
        "terminal output leaked a customer id"
    );
    assert!(terminal.contains("values are redacted"));
}

#[test]
fn hints_name_volatile_columns_and_float_noise() {
    let dir = fixture("volatile_column");
    let (_, v) = diff_json(&dir.join("left"), &dir.join("right"), &["--key", "id"]);
    let hints = v["hints"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0]["kind"], "volatile_column");
    assert_eq!(hints[0]["suggestion"], "--ignore loaded_at");

    let dir = fixture("float_noise_no_tol");
    let (_, v) = diff_json(&dir.join("left"), &dir.join("right"), &["--key", "id"]);
    let hints = v["hints"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0]["kind"], "float_noise");
    let suggestion = hints[0]["suggestion"].as_str().unwrap();
    assert!(suggestion.starts_with("--tol amount=abs:"), "{suggestion}");
    // The suggested tolerance really absorbs the noise.
    let (run, v) = diff_json(
        &dir.join("left"),
        &dir.join("right"),
        &["--key", "id", "--tol", &suggestion[6..]],
    );
    assert_eq!(run.code, 0);
    assert_eq!(v["verdict"], "within_tolerance");
}

#[test]
fn a_renamed_column_is_suggested_and_the_suggestion_works() {
    let dir = fixture("renamed_column");
    let (l, r) = (dir.join("left"), dir.join("right"));
    let (run, v) = diff_json(&l, &r, &["--key", "id"]);
    assert_eq!(run.code, 1);
    let hints = v["hints"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0]["kind"], "renamed_column");
    let suggestion = hints[0]["suggestion"].as_str().unwrap();
    assert_eq!(suggestion, "--rename amount=total");
    let (run, v) = diff_json(
        &l,
        &r,
        &["--key", "id", "--rename", &suggestion["--rename ".len()..]],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdict"], "equivalent");
}

#[test]
fn the_diff_file_holds_every_differing_row() {
    let dir = fixture("changed_values");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("diff.parquet");
    let (run, v) = diff_json(
        &dir.join("left"),
        &dir.join("right"),
        &["--key", "id", "--diff-out", file.to_str().unwrap()],
    );
    assert_eq!(run.code, 1);
    let expected = v["only_left"].as_u64().unwrap()
        + v["only_right"].as_u64().unwrap()
        + v["changed_rows"].as_u64().unwrap();
    assert_eq!(v["diff_out"]["rows"].as_u64(), Some(expected));

    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, expected);
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names[0], "kind");
    assert_eq!(names[1], "id");
    assert!(
        names.contains(&"left_amount")
            && names.contains(&"right_amount")
            && names.contains(&"changed_columns")
    );
    let mut kinds = std::collections::BTreeMap::new();
    for b in &batches {
        let k = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        for i in 0..k.len() {
            *kinds.entry(k.value(i).to_string()).or_insert(0u64) += 1;
        }
    }
    assert_eq!(kinds.get("only_left").copied(), v["only_left"].as_u64());
    assert_eq!(kinds.get("only_right").copied(), v["only_right"].as_u64());
    assert_eq!(kinds.get("changed").copied(), v["changed_rows"].as_u64());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let dir = fixture("demo");
    let mut child = parity()
        .args(["diff", "--key", "order_id", "--samples", "1000"])
        .arg(dir.join("legacy"))
        .arg(dir.join("target"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        status.code(),
        Some(1),
        "the verdict's exit code stands: {stderr}"
    );
}
