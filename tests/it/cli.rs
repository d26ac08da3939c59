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
        (
            vec!["--key", "nope"],
            "key column `nope` is missing on the left side (columns: `amount`, `id`, `name`, `qty`)",
        ),
        (
            vec!["--ignore", "nope"],
            "neither side has a column `nope` (columns: `amount`, `id`, `name`, `qty`)",
        ),
        (
            vec!["--rename", "x=y"],
            "the left side has no column `x` (columns: `amount`, `id`, `name`, `qty`)",
        ),
        (
            vec!["--tol", "name=abs:1"],
            "tolerances apply to float and decimal columns",
        ),
    ] {
        let run = diff(&l, &r, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

/// clap renders usage errors whole: what is wrong, the usage of the command at hand, the
/// allowed values or a similar name, and the pointer to help. Exit 2, nothing on stdout.
#[test]
fn usage_errors_are_rendered_by_clap() {
    let ch = fixture("changed_values");
    let (l, r) = (ch.join("left"), ch.join("right"));
    let (l, r) = (l.to_str().unwrap(), r.to_str().unwrap());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["diff", l],
            vec![
                "the following required arguments were not provided:",
                "<RIGHT>",
                "Usage: parity diff <LEFT> <RIGHT>",
                "For more information, try '--help'.",
            ],
        ),
        (
            vec!["dif", l, r],
            vec![
                "unrecognized subcommand 'dif'",
                "a similar subcommand exists: 'diff'",
            ],
        ),
        (
            vec!["diff", l, r, "--keys", "id"],
            vec![
                "unexpected argument '--keys'",
                "a similar argument exists: '--key'",
            ],
        ),
        (
            vec!["report", "--fail-on", "yes"],
            vec![
                "invalid value 'yes' for '--fail-on <WHEN>'",
                "[possible values: no-go]",
            ],
        ),
        (
            vec!["diff", l, r, "--format", "yaml"],
            vec![
                "invalid value 'yaml' for '--format <FORMAT>'",
                "[possible values: terminal, json, markdown]",
            ],
        ),
        (
            vec!["diff", l, r, "--input-format", "xml"],
            vec!["[possible values: parquet, csv, jsonl]"],
        ),
        (
            vec!["diff", l, r, "--memory-limit", "12 parsecs"],
            vec![
                "invalid value '12 parsecs' for '--memory-limit <SIZE>'",
                "expected a number with an optional unit",
            ],
        ),
        (
            vec!["run", "--memory-limit", "99999999EiB"],
            vec!["for '--memory-limit <SIZE>'", "too large (at most 16EiB)"],
        ),
    ];
    for (args, needles) in cases {
        let run: crate::harness::Run = parity().args(&args).output().unwrap().into();
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{args:?}: no {needle:?} in\n{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains('\x1b'), "colour in a redirected error");
    }
    let help: crate::harness::Run = parity().args(["diff", "--help"]).output().unwrap().into();
    assert_eq!(help.code, 0);
    assert!(help
        .stdout
        .contains("Usage: parity diff [OPTIONS] <LEFT> <RIGHT>"));
}

/// `--memory-limit 999999TB` is a valid size (about 2^60 bytes): every path of the row diff
/// and `parity run` take it without overflowing; past 16EiB it is refused.
#[test]
fn a_huge_memory_limit_is_a_size_not_a_crash() {
    let ch = fixture("changed_values");
    for strategy in ["auto", "memory", "subset", "spill"] {
        let (run, v) = diff_json(
            &ch.join("left"),
            &ch.join("right"),
            &[
                "--key",
                "id",
                "--memory-limit",
                "999999TB",
                "--row-strategy",
                strategy,
            ],
        );
        assert_eq!(run.code, 1, "{strategy}: {}", run.stderr);
        assert_eq!(v["changed_rows"], 4, "{strategy}");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("cutover");
    let config = crate::cutover::demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        dir.path().join("ledger").to_str().unwrap(),
        "",
    );
    let (run, v) = crate::cutover::run_json(
        &config,
        &[
            "--until",
            "2026-11-10",
            "--now",
            "2026-11-11T06:00:00Z",
            "--pipeline",
            "fx_rates",
            "--memory-limit",
            "999999TB",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["verdicts"]["within_tolerance"], 10, "{v}");
}

/// Every format says what the comparison was made under, so a saved result explains itself.
#[test]
fn every_format_states_the_settings_it_compared_under() {
    let ch = fixture("changed_values");
    let (l, r) = (ch.join("left"), ch.join("right"));
    let args = [
        "--key",
        "id",
        "--ignore",
        "qty",
        "--rename",
        "name=name",
        "--abs-tol",
        "1e-9",
        "--tol",
        "amount=abs:0.01",
        "--strict-types",
    ];
    let (run, v) = diff_json(&l, &r, &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(
        v["settings"],
        serde_json::json!({
            "ignore": ["qty"],
            "rename": {"name": "name"},
            "tolerance": {
                "default": {"abs": 1e-9, "rel": 0.0},
                "columns": {"amount": {"abs": 0.01, "rel": 0.0}}
            },
            "strict_types": true
        })
    );
    assert_eq!(v["key"], serde_json::json!(["id"]));
    let text = diff(&l, &r, &args).stdout;
    for line in [
        "  key    id\n",
        "  ignored  qty\n",
        "  renamed  name -> name\n",
        "  tolerance  abs:1e-9 on every float column; amount=abs:0.01\n",
        "  types  strict: any type change diverges\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let mut md = args.to_vec();
    md.extend(["--format", "markdown"]);
    let text = diff(&l, &r, &md).stdout;
    for line in [
        "Compared under:\n\n- key: `id`\n- ignored: `qty`\n- renamed: `name` → `name`\n",
        "- tolerance: `abs:1e-9 on every float column; amount=abs:0.01`\n",
        "- strict types: any type change diverges\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let plain = diff(&l, &r, &["--key", "id"]).stdout;
    assert!(
        plain.contains("  settings  defaults: no column ignored or renamed, floats exact, lossless type changes compatible\n"),
        "{plain}"
    );
}

/// Markdown: the key in code spans without backslashes, the key's column first in samples,
/// changed rows as the key then the changed columns.
#[test]
fn markdown_puts_the_key_first_and_leaves_code_spans_alone() {
    let dir = fixture("demo");
    let args = [
        "--key",
        "order_id",
        "--ignore",
        "loaded_at",
        "--abs-tol",
        "1e-9",
        "--format",
        "markdown",
    ];
    let run = diff(&dir.join("legacy"), &dir.join("target"), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let text = run.stdout;
    assert!(text.contains("- key: `order_id`\n"), "{text}");
    assert!(text.contains("- ignored: `loaded_at`\n"), "{text}");
    for line in text.lines().filter(|l| l.contains('`')) {
        // Code spans show backslashes literally: none may be inside one.
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                assert!(!span.contains('\\'), "escape in a code span: {line}");
            }
        }
    }
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| order\\_id |"))
        .collect();
    assert_eq!(
        headers.len(),
        3,
        "only-left, only-right and changed tables:\n{text}"
    );
    assert_eq!(headers[2], "| order\\_id | status |", "{text}");
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

/// A Parquet file of `id` (int64) and `name` (text), written with arrow-rs.
fn names_file(path: &std::path::Path, names: &[&str]) {
    use arrow::array::{Int64Array, StringArray};
    use arrow::record_batch::RecordBatch;
    let ids: Vec<i64> = (1..=names.len() as i64).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(Int64Array::from(ids)) as arrow::array::ArrayRef,
        ),
        (
            "name",
            std::sync::Arc::new(StringArray::from(names.to_vec())) as arrow::array::ArrayRef,
        ),
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

/// Values that print the same on both sides: composed against decomposed, a trailing space,
/// a zero-width space, a non-breaking space, a Cyrillic letter. Every format shows the
/// characters that differ; a plain difference is shown as it is; redaction still wins.
#[test]
fn values_that_look_alike_show_their_difference_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (l, r) = (
        dir.path().join("l/a.parquet"),
        dir.path().join("r/a.parquet"),
    );
    names_file(
        &l,
        &[
            "caf\u{e9}-1",
            "Anna ",
            "ab",
            "New York",
            "Amsterdam",
            "shipped",
        ],
    );
    names_file(
        &r,
        &[
            "cafe\u{301}-1",
            "Anna",
            "a\u{200b}b",
            "New\u{a0}York",
            "Amsterd\u{430}m",
            "delivered",
        ],
    );
    let want = [
        ("caf\\u{e9}-1", "cafe\\u{301}-1"),
        ("Anna\\u{20}", "Anna"),
        ("ab", "a\\u{200b}b"),
        ("New\\u{20}York", "New\\u{a0}York"),
        ("Amsterdam", "Amsterd\\u{430}m"),
    ];
    let (l, r) = (l.parent().unwrap(), r.parent().unwrap());
    let (run, v) = diff_json(l, r, &["--key", "id", "--samples", "10"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(v["changed_rows"], 6);
    let changed = v["samples"]["changed"].as_array().unwrap();
    for (i, (left, right)) in want.iter().enumerate() {
        let name = &changed[i]["changes"]["name"];
        assert_eq!(
            name["escaped"],
            serde_json::json!({"left": left, "right": right}),
            "{name}"
        );
    }
    assert_eq!(
        changed[5]["changes"]["name"],
        serde_json::json!({"left": "shipped", "right": "delivered"})
    );

    let text = diff(l, r, &["--key", "id", "--samples", "10"]).stdout;
    for (left, right) in want {
        let line = format!("      name: {left} -> {right}  (look alike)\n");
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert!(
        text.contains("      name: shipped -> delivered\n"),
        "{text}"
    );
    assert!(
        text.contains("(look alike): the two values read the same"),
        "{text}"
    );

    let md = diff(
        l,
        r,
        &["--key", "id", "--samples", "10", "--format", "markdown"],
    )
    .stdout;
    for (left, right) in want {
        let cell = format!("| `{left}` → `{right}` |");
        assert!(md.contains(&cell), "no {cell:?} in\n{md}");
    }
    assert!(md.contains("| 6 | shipped → delivered |"), "{md}");

    let (run, v) = diff_json(l, r, &["--key", "id", "--samples", "10", "--redact"]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("escaped"), "{}", run.stdout);
    assert!(!run.stdout.contains("Amsterd"), "{}", run.stdout);
    let hidden = &v["samples"]["changed"][0]["changes"]["name"]["left"];
    assert!(hidden.as_str().unwrap().starts_with('#'), "{hidden}");
    let text = diff(l, r, &["--key", "id", "--redact"]).stdout;
    assert!(!text.contains("look alike"), "{text}");
}

#[test]
fn completions_come_from_the_clap_definitions() {
    let bash: crate::harness::Run = parity()
        .args(["completions", "bash"])
        .output()
        .unwrap()
        .into();
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    // Load the script into bash and complete `parity di` and `parity diff --ke`.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("parity.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let complete = |words: &str, cword: usize| -> String {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _parity parity \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete("parity di", 1), "diff");
    assert_eq!(complete("parity diff --ke", 2), "--key");
    assert!(complete("parity com", 1).contains("completions"));

    for (shell, marker) in [
        ("zsh", "#compdef parity"),
        (
            "fish",
            "complete -c parity -n \"__fish_parity_needs_command\" -f -a \"diff\"",
        ),
    ] {
        let run: crate::harness::Run = parity()
            .args(["completions", shell])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}:\n{}", run.stdout);
        for sub in ["diff", "run", "report", "history", "lineage", "inventory"] {
            assert!(run.stdout.contains(sub), "{shell}: no {sub}");
        }
    }
    let bad: crate::harness::Run = parity()
        .args(["completions", "tcsh"])
        .output()
        .unwrap()
        .into();
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{}",
        bad.stderr
    );

    // A closed pipe is not a crash.
    let mut child = parity()
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_man_page_comes_from_the_clap_definitions() {
    let run: crate::harness::Run = parity().arg("man").output().unwrap().into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH parity 1"), "{}", run.stdout);
    for sub in [
        "parity\\-diff(1)",
        "parity\\-report(1)",
        "parity\\-completions(1)",
    ] {
        assert!(run.stdout.contains(sub), "no {sub} in\n{}", run.stdout);
    }
    // groff renders it as man(1) would.
    let mut groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("groff (Debian's groff-base, which man-db needs) is installed");
    use std::io::Write;
    groff
        .stdin
        .take()
        .unwrap()
        .write_all(run.stdout.as_bytes())
        .unwrap();
    let out = groff.wait_with_output().unwrap();
    let page =
        console::strip_ansi_codes(&String::from_utf8_lossy(&out.stdout)).replace("\u{8}", "");
    assert!(page.contains("Dual-run output parity checker"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let run: crate::harness::Run = parity()
        .args(["man", "--dir"])
        .arg(&pages)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "parity.1",
        "parity-diff.1",
        "parity-run.1",
        "parity-report.1",
        "parity-man.1",
    ] {
        assert!(names.iter().any(|n| n == want), "no {want} in {names:?}");
    }
    let diff_page = std::fs::read_to_string(pages.join("parity-diff.1")).unwrap();
    assert!(diff_page.contains("\\-\\-memory\\-limit"), "{diff_page}");
}

/// No parity.toml where parity looks: the error says so and how to point it elsewhere.
#[test]
fn a_missing_inventory_names_config_and_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["report", "run", "inventory"] {
        let run: crate::harness::Run = parity()
            .current_dir(dir.path())
            .env_remove("PARITY_CONFIG")
            .arg(command)
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with("parity: error: parity.toml: no inventory there (looked from "),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("--config PATH or the PARITY_CONFIG environment variable"),
            "{}",
            run.stderr
        );
    }
}

/// `parity history NOSUCH`: a pipeline neither in the inventory nor in the ledger is a mistake
/// (exit 2, naming the pipelines there are), not an empty history.
#[test]
fn history_of_an_unknown_pipeline_names_the_ones_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("cutover");
    let config = crate::cutover::demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        dir.path().join("ledger").to_str().unwrap(),
        "",
    );
    let run: crate::harness::Run = parity()
        .args(["history", "NOSUCH", "-c"])
        .arg(&config)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no pipeline `NOSUCH` in the inventory or the ledger; pipelines: orders_daily, fx_rates, customers_snapshot, inventory_levels, clickstream_hourly, legacy_exports, fax_gateway"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}
