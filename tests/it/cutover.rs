//! The cutover commands on the bundled demo (`fixtures/cutover`, planted facts in its
//! `expected.json`): every unit's verdict, the ledger's records, resuming, shards, events,
//! redaction of restricted values, inventory gaps and refused secrets, history and lineage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{fixture, parity, Run};

/// (pipeline, partition) → verdict, as planted.
pub fn expected_units() -> BTreeMap<(String, String), String> {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("cutover").join("expected.json")).unwrap(),
    )
    .unwrap();
    checked(&v)
}

/// Every value of the restricted pipeline that differs between the sides.
pub fn planted_values() -> Vec<String> {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("cutover").join("expected.json")).unwrap(),
    )
    .unwrap();
    let values: Vec<String> = v["restricted_planted_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(values.len(), 6);
    values
}

/// The demo inventory with its locations under `base` (a folder or `s3://bucket`), its ledger
/// at `ledger`, and `extra` TOML appended; written into `dir`.
pub fn demo_inventory(dir: &Path, base: &str, ledger: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("cutover").join("parity.toml")).unwrap();
    let text = text
        .replace("= \"legacy/", &format!("= \"{base}/legacy/"))
        .replace("= \"target/", &format!("= \"{base}/target/"))
        .replace(
            "ledger = \".parity/ledger\"",
            &format!("ledger = \"{ledger}\""),
        );
    assert!(text.contains(&format!("{base}/target/orders/")));
    let path = dir.join("parity.toml");
    std::fs::write(&path, format!("{text}\n{extra}\n")).unwrap();
    path
}

/// `parity run --config CONFIG --format json ARGS…` with `env`.
pub fn run_json(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (Run, Value) {
    let mut cmd = parity();
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(["--format", "json"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().unwrap().into();
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
    (run, json)
}

/// (pipeline, partition) → verdict of the units a run checked (or `expected.json` plants).
pub fn checked(summary: &Value) -> BTreeMap<(String, String), String> {
    summary["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                (
                    u["pipeline"].as_str().unwrap().to_string(),
                    u["partition"].as_str().unwrap().to_string(),
                ),
                u["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every record file under a local ledger, parsed.
fn local_records(ledger: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![ledger.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap())
                    .unwrap_or_else(|e| panic!("{}: not a record: {e}", p.display()));
                out.push((p, v));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `parity ARGS… --config CONFIG`.
fn with_config(args: &[&str], config: &Path) -> Run {
    parity()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
        .into()
}

fn local_setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let base = fixture("cutover");
    let config = demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        ledger.to_str().unwrap(),
        "",
    );
    (dir, config, ledger)
}

#[test]
fn the_demo_run_finds_every_planted_verdict_and_records_each_unit_once() {
    let (dir, config, ledger) = local_setup();
    let events = dir.path().join("events.jsonl");
    let (run, s) = run_json(
        &config,
        &[
            "--until",
            "2026-11-10",
            "--events",
            events.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        run.code, 1,
        "divergences and a missing partition: {}",
        run.stderr
    );
    let expected = expected_units();
    assert_eq!(expected.len(), 97);
    assert_eq!(checked(&s), expected);
    assert_eq!(
        s["verdicts"],
        serde_json::json!({"identical": 27, "equivalent": 56, "within_tolerance": 10,
                           "diverged": 3, "missing_target": 1})
    );
    assert_eq!(
        s["missing"],
        serde_json::json!([{"pipeline": "inventory_levels", "partition": "2026-11-04"}])
    );
    assert_eq!(s["not_migrating"], serde_json::json!(["fax_gateway"]));

    // One record per unit, each complete and matching the unit.
    let records = local_records(&ledger);
    assert_eq!(records.len(), 97);
    let mut from_ledger = BTreeMap::new();
    for (path, r) in &records {
        assert_eq!(r["schema_version"], 1);
        let name = path.file_name().unwrap().to_str().unwrap();
        let len = std::fs::metadata(path).unwrap().len();
        assert!(
            name.ends_with(&format!("_{}.{len}.json", r["verdict"].as_str().unwrap())),
            "{name}"
        );
        assert!(path.to_str().unwrap().contains(&format!(
            "/v1/pipeline={}/partition={}/",
            r["pipeline"].as_str().unwrap(),
            r["partition"].as_str().unwrap()
        )));
        assert_eq!(r["config_digest"].as_str().unwrap().len(), 64);
        from_ledger.insert(
            (
                r["pipeline"].as_str().unwrap().to_string(),
                r["partition"].as_str().unwrap().to_string(),
            ),
            r["verdict"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(from_ledger, expected);
    let orders = records
        .iter()
        .map(|(_, r)| r)
        .find(|r| r["pipeline"] == "orders_daily" && r["partition"] == "2026-11-07")
        .unwrap();
    assert_eq!(orders["counts"]["left_rows"], 151);
    assert_eq!(orders["counts"]["only_left"], 1);
    assert_eq!(orders["counts"]["changed_rows"], 3);
    assert_eq!(orders["changed_cells"], serde_json::json!({"amount": 3}));
    assert_eq!(orders["redacted"], true, "confidential");
    assert_eq!(
        orders["inputs"]["target"]["files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(orders["fingerprint"]["left"]["encoding_version"], 1);
    let missing = records
        .iter()
        .map(|(_, r)| r)
        .find(|r| r["verdict"] == "missing_target")
        .unwrap();
    assert!(missing["inputs"]["target"].is_null());
    assert_eq!(
        missing["inputs"]["legacy"]["files"][0]["blake3"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    // Events: started, one per unit, the missing partition, finished.
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds = |k: &str| lines.iter().filter(|e| e["event"] == k).count();
    assert_eq!(
        (
            kinds("run_started"),
            kinds("unit_checked"),
            kinds("partition_missing"),
            kinds("run_finished")
        ),
        (1, 97, 1, 1)
    );
    let unit = lines
        .iter()
        .find(|e| e["event"] == "unit_checked" && e["pipeline"]["id"] == "fx_rates")
        .unwrap();
    assert_eq!(unit["pipeline"]["classification"], "internal");
    assert_eq!(unit["credentials"]["legacy"], "none");
    assert!(unit["ledger_record"]
        .as_str()
        .unwrap()
        .starts_with("file:///"));
    assert_eq!(lines.last().unwrap()["exit_code"], 1);

    // The next run finds nothing left to check; --recheck checks everything again.
    let (again, s2) = run_json(&config, &["--until", "2026-11-10"], &[]);
    assert_eq!(
        again.code, 1,
        "the partition missing on both sides is still missing"
    );
    assert_eq!(s2["units"].as_array().unwrap().len(), 0);
    assert_eq!(s2["already_checked"], 97);
    let (_, s3) = run_json(
        &config,
        &[
            "--until",
            "2026-11-10",
            "--recheck",
            "--pipeline",
            "fx_rates",
        ],
        &[],
    );
    assert_eq!(s3["units"].as_array().unwrap().len(), 10);
    assert_eq!(local_records(&ledger).len(), 107);
}

#[test]
fn shards_together_check_every_unit_exactly_once() {
    let (_dir, config, ledger) = local_setup();
    let mut union = BTreeMap::new();
    let mut missing = 0;
    for i in 0..3 {
        let (run, s) = run_json(
            &config,
            &["--until", "2026-11-10", "--shard", &format!("{i}/3")],
            &[],
        );
        assert!(run.code <= 1, "{}", run.stderr);
        let units = checked(&s);
        assert!(!units.is_empty(), "shard {i} has work");
        for (k, v) in units {
            assert!(union.insert(k, v).is_none(), "a unit checked by two shards");
        }
        missing += s["missing"].as_array().unwrap().len();
    }
    assert_eq!(union, expected_units());
    assert_eq!(missing, 1);
    assert_eq!(local_records(&ledger).len(), 97);
}

#[test]
fn restricted_values_never_appear_anywhere() {
    let (dir, config, ledger) = local_setup();
    let events = dir.path().join("events.jsonl");
    let mut seen = String::new();
    for format in ["terminal", "markdown"] {
        let run: Run = parity()
            .args([
                "run",
                "--until",
                "2026-11-10",
                "--recheck",
                "--reveal-confidential",
            ])
            .arg("--config")
            .arg(&config)
            .args(["--format", format, "--events", events.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 1, "{}", run.stderr);
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    let run: Run = with_config(
        &["run", "--until", "2026-11-10", "--recheck", "--events", "-"],
        &config,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains("\"unit_checked\""))
            .count(),
        97,
        "events on stdout, the summary on stderr"
    );
    seen.push_str(&run.stdout);
    seen.push_str(&run.stderr);
    for (_, r) in local_records(&ledger) {
        seen.push_str(&r.to_string());
    }
    seen.push_str(&std::fs::read_to_string(&events).unwrap());
    for args in [
        vec!["history", "customers_snapshot", "--all"],
        vec!["history", "customers_snapshot", "--format", "json"],
    ] {
        let run: Run = with_config(&args, &config);
        assert_eq!(run.code, 0, "{}", run.stderr);
        seen.push_str(&run.stdout);
    }
    // The restricted pipeline's diverged partition was recorded, with redacted samples.
    assert!(seen.contains("\"redacted\": true"));
    assert!(
        seen.contains("email (2), tax_id (1)"),
        "the counts are there"
    );
    for v in planted_values() {
        assert!(!seen.contains(&v), "restricted value {v} leaked");
    }
    assert!(!seen.contains("PLANTED"));
}

#[test]
fn a_unit_that_cannot_be_read_is_an_error_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    for side in ["legacy", "target"] {
        for day in ["01", "02"] {
            let d = dir.path().join(format!("{side}/t/dt=2026-11-{day}"));
            std::fs::create_dir_all(&d).unwrap();
            let src = fixture("reordered_rows").join("left");
            for f in std::fs::read_dir(src).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, d.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
    // A truncated file on the target side of the second day.
    let broken = dir.path().join("target/t/dt=2026-11-02");
    for f in std::fs::read_dir(&broken).unwrap() {
        let f = f.unwrap().path();
        let bytes = std::fs::read(&f).unwrap();
        std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    }
    let config = dir.path().join("parity.toml");
    std::fs::write(
        &config,
        r#"
[cutover]
name = "t"
retirement_date = 2026-12-01
start = 2026-11-01

[[pipeline]]
id = "t"
owner = "o"
classification = "public"
reads = ["a"]
writes = ["b"]
business_process = "c"
legacy = "legacy/t/dt={date}/"
target = "target/t/dt={date}/"
key = ["id"]
"#,
    )
    .unwrap();
    let (run, s) = run_json(&config, &["--until", "2026-11-02"], &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let units = s["units"].as_array().unwrap();
    assert_eq!(units.len(), 2);
    assert_eq!(units[0]["verdict"], "identical");
    assert_eq!(units[1]["verdict"], "error");
    let e = units[1]["error"].as_str().unwrap();
    assert!(e.contains("dt=2026-11-02/"), "{e}");
    // The error is recorded, and retried by the next run.
    let (_, again) = run_json(&config, &["--until", "2026-11-02"], &[]);
    assert_eq!(checked(&again).len(), 1);
    assert_eq!(again["already_checked"], 1);
}

#[test]
fn young_partitions_wait_for_min_age_unless_asked_for_by_date() {
    let (_dir, config, _ledger) = local_setup();
    // At 01:00 on the 10th with min_age 2h, the 9th is not yet complete (it ends at 00:00 and
    // must age two hours): the daily pipelines stop at the 8th, the hourly one at 22:00 on the 9th.
    let (_, s) = run_json(
        &config,
        &[
            "--now",
            "2026-11-10T01:00:00Z",
            "--pipeline",
            "fx_rates",
            "--pipeline",
            "clickstream_hourly",
        ],
        &[],
    );
    let units = checked(&s);
    assert_eq!(units.keys().filter(|k| k.0 == "fx_rates").count(), 8);
    assert_eq!(
        units
            .keys()
            .rfind(|k| k.0 == "clickstream_hourly")
            .unwrap()
            .1,
        "2026-11-09T22"
    );
    let (_, s) = run_json(
        &config,
        &[
            "--now",
            "2026-11-10T01:00:00Z",
            "--date",
            "2026-11-10",
            "--pipeline",
            "fx_rates",
        ],
        &[],
    );
    assert_eq!(
        checked(&s).len(),
        1,
        "--date names the day: it is checked now"
    );
    // That check saw a partition still being written: it settles nothing, so once the 10th
    // has aged the next run checks it again, with the 9th it had not reached.
    let (_, s) = run_json(
        &config,
        &["--now", "2026-11-11T03:00:00Z", "--pipeline", "fx_rates"],
        &[],
    );
    let again: Vec<_> = checked(&s).into_keys().collect();
    let day = |d: &str| ("fx_rates".to_string(), d.to_string());
    assert_eq!(again, [day("2026-11-09"), day("2026-11-10")]);
}

#[test]
fn inventory_lists_gaps_and_refuses_secrets() {
    let (dir, config, _) = local_setup();
    let run: Run = with_config(&["inventory"], &config);
    assert_eq!(run.code, 1, "legacy_exports has no owner: {}", run.stderr);
    assert!(
        run.stdout.contains("legacy_exports: no owner"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("7 pipelines, 1 with gaps"),
        "{}",
        run.stdout
    );

    let (_, json) = {
        let run = with_config(&["inventory", "--format", "json"], &config);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        (run, v)
    };
    let gaps: Vec<(&str, usize)> = json["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["gaps"].as_array().unwrap().len(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(gaps, [("legacy_exports", 1)]);

    // A location that does not exist is a gap.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("/target/fx_rates/", "/target/fx_ratez/");
    std::fs::write(&config, text).unwrap();
    let run: Run = with_config(&["inventory"], &config);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("fx_rates: no partition found at"),
        "{}",
        run.stdout
    );

    // An inline secret: refused, exit 2, one line naming the file and line, no value echoed.
    let secret = dir.path().join("secret.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[defaults]",
        "[stores.\"s3://b\"]\naws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG\"\n\n[defaults]",
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("aws_secret_access_key"))
        .unwrap()
        + 1;
    std::fs::write(&secret, text).unwrap();
    for cmd in ["inventory", "run"] {
        let run = with_config(&[cmd], &secret);
        assert_eq!(run.code, 2);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "secret.toml:{line}: `aws_secret_access_key` looks like a credential"
            )),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("wJalr"));
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn history_and_lineage_read_the_ledger() {
    let (_dir, config, _) = local_setup();
    let (_, _) = run_json(&config, &["--until", "2026-11-10"], &[]);
    let run: Run = with_config(&["history", "orders_daily", "--format", "json"], &config);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let h: Value = serde_json::from_str(&run.stdout).unwrap();
    let records = h["records"].as_array().unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(records[6]["partition"], "2026-11-07");
    assert_eq!(records[6]["verdict"], "diverged");

    let lineage = |reads: &str, since: &str| {
        with_config(
            &[
                "lineage",
                "--reads",
                reads,
                "--since",
                since,
                "--now",
                "2026-11-11T00:00:00Z",
                "--format",
                "json",
            ],
            &config,
        )
    };
    let run = lineage("postgres.sales.orders", "30d");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let l: Value = serde_json::from_str(&run.stdout).unwrap();
    let pipelines = l["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0]["pipeline"]["id"], "orders_daily");
    assert_eq!(
        pipelines[0]["pipeline"]["writes"],
        serde_json::json!(["warehouse.orders"])
    );
    assert_eq!(pipelines[0]["partitions"].as_array().unwrap().len(), 10);
    // A narrower window: the last three days.
    let run = lineage("postgres.sales.*", "3d");
    let l: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(l["pipelines"][0]["partitions"].as_array().unwrap().len(), 3);
    let run: Run = with_config(&["lineage", "--reads", "nothing.reads.this"], &config);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("none in the inventory"),
        "{}",
        run.stdout
    );
}

#[test]
fn run_output_formats() {
    let (_dir, config, _) = local_setup();
    let filters = vec![
        (r"\d{8}T\d{6}Z-[0-9a-f]{8}", "[RUN]"),
        (r"file:///\S*?/ledger", "[LEDGER]"),
    ];
    for (format, name) in [
        ("terminal", "cutover_run.terminal"),
        ("markdown", "cutover_run.markdown"),
    ] {
        let run: Run = with_config(
            &[
                "run",
                "--until",
                "2026-11-10",
                "--recheck",
                "--format",
                format,
            ],
            &config,
        );
        assert_eq!(run.code, 1);
        insta::with_settings!({filters => filters.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, run.stdout);
        });
    }
}

#[test]
fn mistakes_that_would_check_nothing_are_errors() {
    let (dir, config, _) = local_setup();
    let text = std::fs::read_to_string(&config).unwrap();
    // Both locations mistyped, no start to expect partitions from: exit 2, not "nothing new".
    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        text.replace("start = 2026-11-01\n", "")
            .replace("legacy/fx_rates/dt=", "legacy/fx_rate/dt=")
            .replace("target/fx_rates/dt=", "target/fx_rate/dt="),
    )
    .unwrap();
    let (run, s) = run_json(
        &typo,
        &["--pipeline", "fx_rates", "--until", "2026-11-10"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    let f = &s["failed_pipelines"][0];
    assert_eq!(f["pipeline"], "fx_rates");
    assert!(
        f["error"]
            .as_str()
            .unwrap()
            .contains("no partition found on either side"),
        "{f}"
    );
    // Legacy and target at one place: refused when the inventory is read.
    let same = dir.path().join("same.toml");
    std::fs::write(
        &same,
        text.replace("target/fx_rates/dt={date}/", "legacy/fx_rates/dt={date}/"),
    )
    .unwrap();
    let run = with_config(&["run"], &same);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("pipeline `fx_rates`: `legacy` and `target` are the same location"),
        "{}",
        run.stderr
    );
    // An empty window.
    let run = with_config(
        &["run", "--since", "2026-11-10", "--until", "2026-11-01"],
        &config,
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("the window is empty"), "{}", run.stderr);
    // A named day's hours are expected once they have ended: at 12:30 none after 11:00.
    let (_, s) = run_json(
        &config,
        &[
            "--now",
            "2026-11-10T12:30:00Z",
            "--date",
            "2026-11-10",
            "--pipeline",
            "clickstream_hourly",
        ],
        &[],
    );
    let late: Vec<&Value> = s["missing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["partition"].as_str().unwrap() >= "2026-11-10T12")
        .collect();
    assert!(late.is_empty(), "{late:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A copy of one of the demo's data folders (both sides) with a fresh ledger: the folder,
/// the data's base, the ledger and the demo inventory pointing at them.
fn demo_copy(
    data: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("data");
    for side in ["legacy", "target"] {
        copy_dir(
            &fixture("cutover").join(side).join(data),
            &base.join(side).join(data),
        );
    }
    let ledger = dir.path().join("ledger");
    let config = demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        ledger.to_str().unwrap(),
        "",
    );
    (dir, base, ledger, config)
}

/// A copy of the demo's `fx_rates` pipeline, run once over its ten days (all within
/// tolerance): the folder, the data's base, the ledger, the inventory and the run's arguments.
fn fx_rates_checked_once() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
    [&'static str; 4],
) {
    let (dir, base, ledger, config) = demo_copy("fx_rates");
    let args = ["--pipeline", "fx_rates", "--until", "2026-11-10"];
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(s["verdicts"]["within_tolerance"], 10);
    (dir, base, ledger, config, args)
}

#[test]
fn a_partition_rewritten_after_its_check_is_checked_again() {
    let (_dir, base, _ledger, config, args) = fx_rates_checked_once();
    let (_, s) = run_json(&config, &args, &[]);
    assert_eq!(
        s["already_checked"], 10,
        "nothing changed: nothing to check"
    );
    // The target platform reruns 11-02 and writes another rate.
    let file = base.join("target/fx_rates/dt=2026-11-02/part-00000.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("EUR,USD,1.08", "EUR,USD,2.08", 1)).unwrap();
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let again: Vec<_> = checked(&s).into_iter().collect();
    assert_eq!(
        again,
        [(
            ("fx_rates".to_string(), "2026-11-02".to_string()),
            "diverged".to_string()
        )]
    );
    assert_eq!(s["already_checked"], 9);
}

/// Names of the ledger records of one partition of `fx_rates`.
fn record_names(ledger: &Path, partition: &str) -> Vec<String> {
    let dir = ledger
        .join("v1/pipeline=fx_rates")
        .join(format!("partition={partition}"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_partition_that_gains_or_loses_a_file_after_its_check_is_checked_again() {
    let (_dir, base, ledger, config, args) = fx_rates_checked_once();
    // The record's name carries the files digest after the config digest.
    let names = record_names(&ledger, "2026-11-04");
    assert_eq!(names.len(), 1, "{names:?}");
    let fields: Vec<&str> = names[0].splitn(4, '_').collect();
    let (digest, files) = fields[2]
        .split_once('-')
        .expect("a files digest in the name");
    assert_eq!((digest.len(), files.len()), (12, 16), "{names:?}");
    assert!(fields[3].starts_with("within_tolerance."), "{names:?}");

    // None of the changes below leaves a file newer than the checks: only the files digest
    // can notice them.
    let long_ago =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let age = |path: &Path| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    };
    // The legacy platform's 11-04 gains a second file (a rerun that appended instead of
    // replacing): every rate is there twice.
    let p04 = base.join("legacy/fx_rates/dt=2026-11-04");
    std::fs::copy(p04.join("part-00000.csv"), p04.join("part-00001.csv")).unwrap();
    age(&p04.join("part-00001.csv"));
    // The target platform's 11-06 loses its only file (and, as in an object store, its folder).
    std::fs::remove_dir_all(base.join("target/fx_rates/dt=2026-11-06")).unwrap();
    // A marker file is not data: 11-07 stays settled.
    let marker = base.join("target/fx_rates/dt=2026-11-07/_SUCCESS");
    std::fs::write(&marker, "").unwrap();
    age(&marker);

    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let again: Vec<_> = checked(&s).into_iter().collect();
    assert_eq!(
        again,
        [
            (
                ("fx_rates".to_string(), "2026-11-04".to_string()),
                "diverged".to_string()
            ),
            (
                ("fx_rates".to_string(), "2026-11-06".to_string()),
                "missing_target".to_string()
            )
        ]
    );
    assert_eq!(s["already_checked"], 8);
    // The new checks settle the partitions as they are now.
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(s["already_checked"], 10);
    assert_eq!(record_names(&ledger, "2026-11-04").len(), 2);
}

#[test]
fn an_emptied_or_cut_record_stops_the_run_and_the_report() {
    let (_dir, _base, ledger, config, args) = fx_rates_checked_once();
    let names = record_names(&ledger, "2026-11-05");
    assert_eq!(names.len(), 1, "{names:?}");
    // The name ends with the record's length in bytes.
    let path = ledger
        .join("v1/pipeline=fx_rates/partition=2026-11-05")
        .join(&names[0]);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(
        names[0].ends_with(&format!("_within_tolerance.{len}.json")),
        "{names:?}"
    );
    for cut in [0, len - 1] {
        let body = std::fs::read(&path).unwrap();
        std::fs::write(&path, &body[..cut as usize]).unwrap();
        let (run, s) = run_json(&config, &args, &[]);
        assert_eq!(run.code, 2, "{cut}: {}", run.stdout);
        assert!(
            s["failed_pipelines"]
                .to_string()
                .contains("truncated or altered"),
            "{cut}: {s}"
        );
        let report = parity()
            .args(["report", "--config"])
            .arg(&config)
            .args(["--as-of", "2026-11-11"])
            .output()
            .unwrap();
        assert_eq!(report.status.code(), Some(2), "{cut}");
        let stderr = String::from_utf8_lossy(&report.stderr);
        assert!(stderr.contains("truncated or altered"), "{cut}: {stderr}");
        std::fs::write(&path, &body).unwrap();
    }
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(s["already_checked"], 10);
}

/// `parity report`'s GO or NO-GO for `fx_rates` as of 2026-11-11.
fn fx_rates_decision(config: &Path) -> String {
    let out = parity()
        .args(["report", "--config"])
        .arg(config)
        .args([
            "--as-of",
            "2026-11-11",
            "--pipeline",
            "fx_rates",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    r["decision"].as_str().unwrap().to_string()
}

#[test]
fn a_checked_partition_deleted_from_both_sides_no_longer_counts() {
    let (dir, base, _ledger, config, args) = fx_rates_checked_once();
    for side in ["legacy", "target"] {
        std::fs::remove_dir_all(base.join(side).join("fx_rates/dt=2026-11-05")).unwrap();
    }
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again: Vec<_> = checked(&s).into_iter().collect();
    assert_eq!(
        again,
        [(
            ("fx_rates".to_string(), "2026-11-05".to_string()),
            "error".to_string()
        )]
    );
    assert_eq!(s["already_checked"], 9);
    // The report sees the error, not the old verdict.
    assert_eq!(fx_rates_decision(&config), "NO-GO");
    drop(dir);
}

#[test]
fn history_redacts_a_pipeline_classified_restricted_after_its_checks() {
    let (_dir, _base, _ledger, config) = demo_copy("clickstream");
    let args = ["--pipeline", "clickstream_hourly", "--until", "2026-11-10"];
    let (run, _) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let history = |config: &Path| -> Value {
        let out = parity()
            .args(["history", "--config"])
            .arg(config)
            .args(["clickstream_hourly", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Checked while public: the records hold the sample values as they are.
    let samples = |h: &Value| -> Vec<String> {
        h["records"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["samples"]["only_left"].as_array().unwrap().clone())
            .map(|row| row["event_id"].as_str().unwrap().to_string())
            .collect()
    };
    let shown = samples(&history(&config));
    assert!(
        !shown.is_empty() && shown.iter().all(|v| v.starts_with("evt_")),
        "{shown:?}"
    );
    // Classified restricted now: history shows none of them.
    let text = std::fs::read_to_string(&config).unwrap();
    let at = text.find("id = \"clickstream_hourly\"").unwrap();
    let public = at + text[at..].find("classification = \"public\"").unwrap();
    let restricted = format!(
        "{}classification = \"restricted\"{}",
        &text[..public],
        &text[public + "classification = \"public\"".len()..]
    );
    std::fs::write(&config, restricted).unwrap();
    let h = history(&config);
    let now = samples(&h);
    assert_eq!(now.len(), shown.len());
    assert!(now.iter().all(|v| !shown.contains(v)), "{now:?}");
    assert!(h["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["redacted"] == true));
}

#[test]
fn a_side_left_with_only_a_marker_settles_as_missing() {
    let (_dir, base, _ledger, config, args) = fx_rates_checked_once();
    let day = base.join("target/fx_rates/dt=2026-11-06");
    std::fs::remove_file(day.join("part-00000.csv")).unwrap();
    let marker = day.join("_SUCCESS");
    std::fs::write(&marker, "").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&marker)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .unwrap();
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again: Vec<_> = checked(&s).into_iter().collect();
    assert_eq!(
        again,
        [(
            ("fx_rates".to_string(), "2026-11-06".to_string()),
            "missing_target".to_string()
        )]
    );
    // Still only a marker there: settled, not checked on every run.
    let (run, s) = run_json(&config, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(s["already_checked"], 10);
}

#[test]
fn a_replay_cannot_be_dated_in_the_future() {
    let (_dir, _base, ledger, config) = demo_copy("fx_rates");
    let out = parity()
        .args(["run", "--config"])
        .arg(&config)
        .args(["--pipeline", "fx_rates", "--now", "2099-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("later than this machine's clock"),
        "{stderr}"
    );
    assert!(!ledger.exists(), "nothing recorded");
}

#[test]
fn the_report_does_not_count_a_check_whose_files_a_newer_check_saw_change() {
    let (_dir, base, _ledger, config) = demo_copy("fx_rates");
    let run_at = |hour: &str| {
        let now = format!("2026-11-11T{hour}:00:00Z");
        let args = [
            "--pipeline",
            "fx_rates",
            "--until",
            "2026-11-10",
            "--now",
            &now,
        ];
        run_json(&config, &args, &[]).0.code
    };
    let decision = || fx_rates_decision(&config);
    assert_eq!(run_at("06"), 0);
    assert_eq!(decision(), "GO");
    // The target rewrites 11-10 with another rate; a run under other settings sees it.
    let file = base.join("target/fx_rates/dt=2026-11-10/part-00000.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("EUR,USD,1.0821877199999212", "EUR,USD,9.99", 1),
    )
    .unwrap();
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        original.replacen("abs_tol = 1e-9", "abs_tol = 1e-6", 1),
    )
    .unwrap();
    assert_eq!(run_at("08"), 1);
    // Back to the first settings: their check of 11-10 saw other files, and no longer counts.
    std::fs::write(&config, &original).unwrap();
    assert_eq!(decision(), "NO-GO");
}
