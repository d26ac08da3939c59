//! `parity report` on a fixed ledger (written here from [`LEDGER`]) and the inventory in
//! `fixtures/report`, which has one pipeline per readiness state: every state, streak,
//! projected date and the decision asserted exactly; snapshots of every format; the edge
//! cases (empty ledger, a pipeline never checked, the retirement date passed, an hourly
//! pipeline, a record written after the report's day); redaction; the gate's exit codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use parity::diff::summary::{CellChange, ChangedSample, Samples};
use parity::inventory::{Inventory, Partition};
use parity::ledger::record::{Counts, Inputs, SideInputs, Timings};
use parity::ledger::{Ledger, Record, ShardId, UnitVerdict};
use parity::source::StoreOptions;
use serde_json::Value;

use crate::harness::{fixture, parity, root, rt, Run};

/// The first partition of every daily spec below.
const FIRST_DAY: &str = "2026-11-16";

/// One character per daily partition from [`FIRST_DAY`]: `=` identical, `e` equivalent,
/// `~` within tolerance, `X` diverged, `T` missing on the target, `.` no record.
pub const LEDGER: [(&str, &str); 10] = [
    ("payments_ledger", "==e==~e==e===="),
    ("orders_daily", "=====X=====X=="),
    ("fx_rates", "~~~~~X~~~~~~~~"),
    ("orders_enriched", "=============X"),
    ("customers_snapshot", "eeeeeeeeeeeeeX"),
    ("inventory_levels", "==========.==T"),
    ("shipments", "======.======="),
    ("returns_daily", "=====........."),
    ("legacy_exports", "=============="),
    ("vendor_feed", "=============="),
];

/// A value of the confidential pipeline that a run revealed; the report must not.
pub const PLANTED: [&str; 2] = ["PLANTED-alice@example.com", "PLANTED-alice@example.org"];

/// The markup planted in a sample value of an internal pipeline.
pub const MARKUP: &str = "<script>alert(\"x\")</script>";

fn verdict(c: char) -> Option<UnitVerdict> {
    match c {
        '=' => Some(UnitVerdict::Identical),
        'e' => Some(UnitVerdict::Equivalent),
        '~' => Some(UnitVerdict::WithinTolerance),
        'X' => Some(UnitVerdict::Diverged),
        'T' => Some(UnitVerdict::MissingTarget),
        '.' => None,
        other => panic!("unknown spec character {other}"),
    }
}

/// Each pipeline's config digest, as the inventory computes it.
fn digests() -> &'static BTreeMap<String, String> {
    static DIGESTS: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    DIGESTS.get_or_init(|| {
        let inv = Inventory::load(&inventory()).unwrap();
        inv.pipelines
            .iter()
            .map(|p| (p.id.clone(), p.config_digest.clone()))
            .collect()
    })
}

fn record(pipeline: &str, partition: Partition, v: UnitVerdict, checked: NaiveDateTime) -> Record {
    let checked_at = Utc.from_utc_datetime(&checked);
    let side = |s: &str| SideInputs {
        url: format!("file:///data/{s}/{pipeline}/dt={partition}/"),
        files: Vec::new(),
    };
    let mut r = Record {
        schema_version: 1,
        cutover: "warehouse-airflow-to-dagster".into(),
        pipeline: pipeline.into(),
        partition,
        verdict: v,
        classification: None,
        checked_at,
        run_id: format!("{}-0000beef", checked_at.format("%Y%m%dT%H%M%SZ")),
        shard: ShardId::default(),
        tool_version: "test".into(),
        encoding_version: 1,
        config_digest: digests()[pipeline].clone(),
        tier: Some("bytes".into()),
        counts: Counts {
            left_rows: Some(100),
            right_rows: Some(100),
            ..Default::default()
        },
        changed_cells: BTreeMap::new(),
        within_tolerance_cells: BTreeMap::new(),
        schema_changes: Vec::new(),
        samples: Samples::default(),
        redacted: false,
        inputs: Inputs {
            legacy: Some(side("legacy")),
            target: Some(side("target")),
        },
        fingerprint: None,
        error: None,
        timings: Timings {
            started_at: checked_at,
            duration_ms: 12,
        },
    };
    if v == UnitVerdict::MissingTarget {
        r.inputs.target = None;
        r.counts.right_rows = None;
        r.tier = None;
    }
    if v == UnitVerdict::Diverged {
        r.tier = Some("rows".into());
        r.counts.right_rows = Some(99);
        r.counts.only_left = 1;
        r.counts.changed_rows = 2;
        r.changed_cells = [("status".to_string(), 2), ("amount".to_string(), 1)].into();
        let key = |k: &str, v: &str| [(k.to_string(), Some(v.to_string()))].into();
        let change = |col: &str, l: &str, r: &str| {
            [(
                col.to_string(),
                CellChange {
                    left: Some(l.into()),
                    right: Some(r.into()),
                },
            )]
            .into()
        };
        r.samples = match pipeline {
            "customers_snapshot" => Samples {
                only_left: vec![key("customer_id", "41")],
                only_right: vec![],
                changed: vec![ChangedSample {
                    key: key("customer_id", "42"),
                    changes: change("email", PLANTED[0], PLANTED[1]),
                }],
            },
            _ => Samples {
                only_left: vec![key("order_id", "1077")],
                only_right: vec![],
                changed: vec![ChangedSample {
                    key: key("order_id", "1001"),
                    changes: change("status", "shipped", MARKUP),
                }],
            },
        };
    }
    r
}

/// Write the fixed ledger into `dir`: the specs above, the hourly pipeline, an older record
/// superseded by a newer one, and a record written after 2026-11-30.
pub fn write_ledger(dir: &Path) {
    let ledger = Ledger::open(dir.to_str().unwrap(), &StoreOptions::default()).unwrap();
    let first = NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d").unwrap();
    let mut records = Vec::new();
    for (pipeline, spec) in LEDGER {
        for (i, c) in spec.chars().enumerate() {
            let Some(v) = verdict(c) else { continue };
            let p = Partition::day(first + Duration::days(i as i64));
            records.push(record(pipeline, p, v, p.end() + Duration::hours(3)));
        }
    }
    // Superseded: a first check of orders_daily 11-28 diverged, the newer one is identical.
    let p: Partition = "2026-11-28".parse().unwrap();
    records.push(record(
        "orders_daily",
        p,
        UnitVerdict::Diverged,
        p.end() + Duration::hours(1),
    ));
    // After the report's day: payments_ledger 11-29 rechecked at 00:30 on 12-01 and diverged.
    let p: Partition = "2026-11-29".parse().unwrap();
    records.push(record(
        "payments_ledger",
        p,
        UnitVerdict::Diverged,
        p.end() + Duration::days(1) + Duration::minutes(30),
    ));
    // Under earlier comparison settings (another config digest): loyalty_points was clean.
    let p: Partition = "2026-11-20".parse().unwrap();
    let mut old = record(
        "loyalty_points",
        p,
        UnitVerdict::Identical,
        p.end() + Duration::hours(3),
    );
    old.config_digest = "0123456789abcdef0123456789abcdef".into();
    records.push(old);
    // Hourly: 48 hours from 11-28T00, 11-29T05 diverged.
    let mut p: Partition = "2026-11-28T00".parse().unwrap();
    for i in 0..48 {
        let v = if i == 29 {
            UnitVerdict::Diverged
        } else {
            UnitVerdict::Identical
        };
        records.push(record(
            "clickstream_hourly",
            p,
            v,
            p.end() + Duration::hours(2) + Duration::minutes(20),
        ));
        p = p.next();
    }
    let rt = rt();
    rt.block_on(async {
        for r in &records {
            ledger.append(r).await.unwrap();
        }
    });
}

/// Records written from the daily specs.
fn daily_records() -> usize {
    LEDGER
        .iter()
        .map(|(_, spec)| spec.chars().filter(|c| *c != '.').count())
        .sum()
}

pub fn inventory() -> PathBuf {
    fixture("report").join("parity.toml")
}

pub fn report(ledger: &Path, args: &[&str]) -> Run {
    report_with(&inventory(), ledger, args)
}

fn report_with(inventory: &Path, ledger: &Path, args: &[&str]) -> Run {
    parity()
        .env("PARITY_REDACTION_KEY", "report-tests")
        .arg("report")
        .arg("-c")
        .arg(inventory)
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .output()
        .expect("run parity")
        .into()
}

fn report_json(ledger: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = report(ledger, &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn fixed_ledger() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_ledger(dir.path());
    dir
}

fn pipeline<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no pipeline {id}"))
}

/// Paths that change from run to run, replaced for snapshots.
fn stable(text: &str, ledger: &Path) -> String {
    text.replace(ledger.to_str().unwrap(), "[ledger]")
        .replace(root().to_str().unwrap(), "[root]")
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn every_state_streak_and_date_as_of_a_fixed_day() {
    let dir = fixed_ledger();
    let r = report_json(dir.path(), &["--as-of", "2026-11-30"]);
    assert_eq!(r["schema_version"], 2);
    assert_eq!(r["decision"], "NO-GO");
    assert_eq!(r["as_of"], "2026-11-30");
    assert_eq!(r["cutoff"], "2026-12-01T00:00:00Z");
    assert_eq!(r["days_left"], 10);
    assert_eq!(r["in_scope"], 12);
    let expected: [(&str, &str, u64, u64, Option<&str>); 13] = [
        ("payments_ledger", "ready", 14, 5, None),
        ("orders_daily", "on_track", 2, 5, Some("2026-12-03")),
        ("fx_rates", "at_risk", 8, 30, Some("2026-12-22")),
        ("orders_enriched", "blocked", 0, 5, Some("2026-12-05")),
        ("customers_snapshot", "blocked", 0, 5, Some("2026-12-05")),
        ("inventory_levels", "blocked", 0, 5, Some("2026-12-05")),
        ("shipments", "on_track", 7, 10, Some("2026-12-03")),
        ("returns_daily", "stale", 5, 5, None),
        ("loyalty_points", "stale", 0, 5, Some("2026-12-01")),
        ("legacy_exports", "unowned", 14, 5, None),
        ("vendor_feed", "incomplete", 14, 5, None),
        ("fax_gateway", "not_migrating", 0, 5, None),
        ("clickstream_hourly", "on_track", 18, 24, Some("2026-12-01")),
    ];
    let got: Vec<_> = r["pipelines"].as_array().unwrap().iter().collect();
    assert_eq!(got.len(), expected.len());
    for (p, (id, state, streak, required, ready)) in got.iter().zip(expected) {
        assert_eq!(p["id"], id);
        assert_eq!(p["state"], state, "{id}: {}", p["reason"]);
        assert_eq!(p["streak"], streak, "{id}");
        assert_eq!(p["required_streak"], required, "{id}");
        assert_eq!(p["projected_ready"].as_str(), ready, "{id}");
    }
    let states: BTreeMap<String, u64> = serde_json::from_value(r["states"].clone()).unwrap();
    let want: BTreeMap<String, u64> = [
        ("ready", 1),
        ("on_track", 3),
        ("at_risk", 1),
        ("blocked", 3),
        ("stale", 2),
        ("unowned", 1),
        ("incomplete", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(states, want);
    // The counts add up: the states of the pipelines in scope, then the one out of it.
    assert_eq!(states.values().sum::<u64>(), 12);
    assert_eq!(r["not_migrating"], 1);
    assert_eq!(r["pipelines"].as_array().unwrap().len(), 13);
    let text = report(dir.path(), &["--as-of", "2026-11-30"]).stdout;
    assert!(
        text.contains("\n12 pipelines in scope: 3 blocked, 1 at_risk, 2 stale, 1 unowned, 1 incomplete, 3 on_track, 1 ready; 1 more not migrating (out of scope)\n"),
        "{text}"
    );
    let md = report(
        dir.path(),
        &["--as-of", "2026-11-30", "--format", "markdown"],
    )
    .stdout;
    assert!(
        md.contains(" 12 pipelines in scope: 3 blocked, 1 at_risk, 2 stale, 1 unowned, 1 incomplete, 3 on_track, 1 ready; 1 more not migrating (out of scope).\n"),
        "{md}"
    );
    let holding: Vec<&str> = r["holding_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        holding,
        [
            "orders_enriched",
            "customers_snapshot",
            "inventory_levels",
            "fx_rates",
            "returns_daily",
            "loyalty_points",
            "legacy_exports",
            "vendor_feed",
            "orders_daily",
            "shipments",
            "clickstream_hourly"
        ]
    );

    // Reasons that carry numbers a person acts on.
    assert_eq!(
        pipeline(&r, "returns_daily")["reason"],
        "no check since 2026-11-21 03:00 UTC (9days 21h ago; stale after 3days)"
    );
    let lp = pipeline(&r, "loyalty_points");
    assert_eq!(
        lp["reason"],
        "not checked since its comparison settings changed (1 earlier record does not count)"
    );
    assert_eq!(lp["earlier_config_records"], 1);
    assert_eq!(lp["checked_partitions"], 0);
    assert_eq!(
        pipeline(&r, "inventory_levels")["reason"],
        "newest partition 2026-11-29 is missing on the target side"
    );
    assert_eq!(
        pipeline(&r, "fx_rates")["reason"],
        "needs 22 more clean partitions: ready 2026-12-22 at the earliest, after the retirement date 2026-12-10"
    );

    // Timelines: every expected partition, gaps as null, the late record not counted.
    let tl = pipeline(&r, "inventory_levels")["timeline"]
        .as_array()
        .unwrap();
    assert_eq!(tl.len(), 14);
    assert_eq!(tl[0]["partition"], "2026-11-16");
    assert_eq!(tl[10]["verdict"], Value::Null);
    assert_eq!(tl[13]["verdict"], "missing_target");
    let pay = pipeline(&r, "payments_ledger");
    assert_eq!(pay["newest_verdict"], "identical");
    assert_eq!(pay["newest_divergence"], Value::Null);
    let hourly = pipeline(&r, "clickstream_hourly");
    assert_eq!(hourly["timeline"].as_array().unwrap().len(), 70);
    assert_eq!(hourly["newest_partition"], "2026-11-29T23");
    assert_eq!(hourly["newest_divergence"]["partition"], "2026-11-29T05");

    // The superseded divergence of orders_daily 11-28 does not count; the one on 11-27 does.
    let od = pipeline(&r, "orders_daily");
    assert_eq!(od["newest_divergence"]["partition"], "2026-11-27");
    assert_eq!(od["blocking"], Value::Null);

    // The blocked pipeline's finding: counts and the columns that differ most.
    let oe = pipeline(&r, "orders_enriched");
    let f = &oe["blocking"];
    assert_eq!(f["partition"], "2026-11-29");
    assert_eq!(f["verdict"], "diverged");
    assert_eq!(f["counts"]["only_left"], 1);
    assert_eq!(f["counts"]["changed_rows"], 2);
    assert_eq!(f["top_columns"], serde_json::json!(["status", "amount"]));
    assert_eq!(f["redacted"], false);
    assert_eq!(
        f["samples"]["changed"][0]["changes"]["status"]["right"],
        MARKUP
    );
}

#[test]
fn a_confidential_pipelines_values_are_redacted_in_every_format() {
    let dir = fixed_ledger();
    for format in ["terminal", "markdown", "json", "html"] {
        let run = report(dir.path(), &["--as-of", "2026-11-30", "--format", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        for v in PLANTED {
            assert!(!run.stdout.contains(v), "{format} shows {v}");
            assert!(!run.stdout.contains("alice"), "{format} shows part of {v}");
        }
    }
    let r = report_json(dir.path(), &["--as-of", "2026-11-30"]);
    let f = &pipeline(&r, "customers_snapshot")["blocking"];
    assert_eq!(f["redacted"], true);
    let email = &f["samples"]["changed"][0]["changes"]["email"];
    let (l, rr) = (
        email["left"].as_str().unwrap(),
        email["right"].as_str().unwrap(),
    );
    assert!(l.starts_with('#') && l.len() == 11, "{l}");
    assert_ne!(l, rr, "different values keep different hashes");
}

#[test]
fn the_gate_exits_one_on_no_go_and_zero_on_go() {
    let dir = fixed_ledger();
    let base = ["--as-of", "2026-11-30"];
    let run = report(dir.path(), &base);
    assert_eq!(run.code, 0, "without --fail-on the report itself succeeded");
    let run = report(dir.path(), &[&base[..], &["--fail-on", "no-go"]].concat());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let one = [
        &base[..],
        &["--fail-on", "no-go", "--pipeline", "payments_ledger"],
    ]
    .concat();
    let run = report(dir.path(), &one);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("warehouse-airflow-to-dagster: GO\n"),
        "{}",
        run.stdout
    );
    let two = [&one[..], &["--pipeline", "orders_daily"]].concat();
    assert_eq!(report(dir.path(), &two).code, 1);
    // A pipeline that is not in the inventory cannot be gated on.
    let run = report(dir.path(), &["--pipeline", "nope", "--fail-on", "no-go"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no pipeline `nope`"), "{}", run.stderr);
    // Only the pipeline being retired: nothing in scope is not a GO.
    let run = report(
        dir.path(),
        &["--pipeline", "fax_gateway", "--fail-on", "no-go"],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn a_record_written_after_the_day_changes_only_later_reports() {
    let dir = fixed_ledger();
    let before = report_json(dir.path(), &["--as-of", "2026-11-30"]);
    assert_eq!(pipeline(&before, "payments_ledger")["state"], "ready");
    let after = report_json(dir.path(), &["--as-of", "2026-12-01"]);
    let p = pipeline(&after, "payments_ledger");
    assert_eq!(p["state"], "blocked");
    assert_eq!(p["newest_divergence"]["partition"], "2026-11-29");
    // The same day twice: the same report.
    let again = report_json(dir.path(), &["--as-of", "2026-11-30"]);
    assert_eq!(before, again);
}

#[test]
fn after_the_retirement_date_the_report_says_how_overdue() {
    let dir = fixed_ledger();
    // The same cutover with its retirement date ten days before the report's day.
    let inv_dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(inventory()).unwrap();
    let passed = inv_dir.path().join("parity.toml");
    std::fs::write(
        &passed,
        text.replace(
            "retirement_date = 2026-12-10",
            "retirement_date = 2026-11-20",
        ),
    )
    .unwrap();
    let args = ["--as-of", "2026-11-30", "--format", "json"];
    let run = report_with(&passed, dir.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r["days_left"], -10);
    assert_eq!(r["decision"], "NO-GO");
    // Nothing short of ready can make the date any more: on_track becomes at_risk.
    assert_eq!(pipeline(&r, "orders_daily")["state"], "at_risk");
    assert_eq!(pipeline(&r, "payments_ledger")["state"], "ready");
    let run = report_with(&passed, dir.path(), &["--as-of", "2026-11-30"]);
    assert!(
        run.stdout
            .contains("retirement date 2026-11-20: the legacy platform is overdue by 10 days"),
        "{}",
        run.stdout
    );
    let run = report(dir.path(), &["--as-of", "2026-12-10"]);
    assert_eq!(run.code, 2, "a day that has not begun");
    assert!(run.stderr.contains("has not begun"), "{}", run.stderr);
    let today = text.replace(
        "retirement_date = 2026-12-10",
        "retirement_date = 2026-11-30",
    );
    std::fs::write(&passed, today).unwrap();
    let run = report_with(&passed, dir.path(), &["--as-of", "2026-11-30"]);
    assert!(
        run.stdout.contains("the retirement date is today"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_empty_ledger_is_a_no_go_with_every_pipeline_never_checked() {
    let dir = tempfile::tempdir().unwrap();
    let r = report_json(dir.path(), &["--as-of", "2026-11-30"]);
    assert_eq!(r["decision"], "NO-GO");
    let states: BTreeMap<String, u64> = serde_json::from_value(r["states"].clone()).unwrap();
    assert_eq!(states["stale"], 10, "{states:?}");
    assert_eq!(states["unowned"], 1);
    assert_eq!(states["incomplete"], 1);
    assert_eq!(states.get("not_migrating"), None);
    assert_eq!(r["not_migrating"], 1);
    assert_eq!(states["ready"], 0);
    assert_eq!(pipeline(&r, "loyalty_points")["reason"], "never checked");
    for p in r["pipelines"].as_array().unwrap() {
        assert_eq!(p["streak"], 0);
        assert_eq!(p["checked_partitions"], 0);
        assert!(p["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"].is_null()));
    }
    let run = report(dir.path(), &["--as-of", "2026-11-30", "--fail-on", "no-go"]);
    assert_eq!(run.code, 1);
}

#[test]
fn bad_arguments_and_an_unreadable_ledger_exit_two() {
    let dir = fixed_ledger();
    let run = report(dir.path(), &["--as-of", "2026-13-01"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--as-of 2026-13-01"), "{}", run.stderr);
    let run = report(dir.path(), &["--format", "pdf"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("[possible values: terminal, json, markdown, html]"),
        "{}",
        run.stderr
    );
    let run = report(dir.path(), &["--fail-on", "yes"]);
    assert_eq!(run.code, 2);
    // A mistyped ledger path is an error, not an empty ledger, and is not created.
    let missing = dir.path().join("no-such-ledger");
    let run = report(&missing, &["--as-of", "2026-11-30"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no such folder"), "{}", run.stderr);
    assert!(!missing.exists());
    // A record that is not JSON, where the report must read it (the newest divergence).
    let bad = tempfile::tempdir().unwrap();
    let part = bad
        .path()
        .join("v1/pipeline=orders_daily/partition=2026-11-20");
    std::fs::create_dir_all(&part).unwrap();
    let digest = &digests()["orders_daily"][..12];
    let name = format!("20261121T030000.000Z_20261121T030000Z-0000beef_{digest}_diverged.json");
    std::fs::write(part.join(&name), "{ not json").unwrap();
    let run = report(bad.path(), &["--as-of", "2026-11-30"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&name) && run.stderr.contains("not a ledger record"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_html_file_is_written_whole_and_escapes_every_value() {
    let dir = fixed_ledger();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("readiness.html");
    let run = report(
        dir.path(),
        &[
            "--as-of",
            "2026-11-30",
            "--format",
            "html",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(
        !html.contains("<script"),
        "a script element or unescaped value"
    );
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    // maud escapes what could end text or a (double-quoted) attribute; `'` ends neither.
    assert!(html.contains("&lt;script&gt;alert('owner')&lt;/script&gt;"));
    for external in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!html.contains(external), "external reference {external}");
    }
    // Only the report is in the folder: no temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["readiness.html"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode of any new file here (0644 less the umask), not a private temp file's 0600.
        let plain = out.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), mode(&plain));
        std::fs::remove_file(&plain).unwrap();
    }
    // One row per pipeline, one timeline cell per partition with its verdict as text.
    assert_eq!(html.matches("<tr data-pipeline=").count(), 13);
    assert_eq!(
        html.matches("title=\"2026-11-26: not checked\"").count(),
        3,
        "inventory_levels (a gap), returns_daily (stopped), loyalty_points (never checked)"
    );
    assert!(html.contains("title=\"2026-11-29T05: diverged\""));
}

#[test]
fn snapshots_of_every_format() {
    let dir = fixed_ledger();
    for (format, name) in [
        ("terminal", "report.terminal"),
        ("markdown", "report.markdown"),
        ("json", "report.json"),
        ("html", "report.html"),
    ] {
        let run = report(dir.path(), &["--as-of", "2026-11-30", "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        insta::with_settings!({prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, stable(&run.stdout, dir.path()));
        });
    }
}

#[test]
fn one_whole_listing_finds_what_per_pipeline_listings_find() {
    let dir = fixed_ledger();
    let ledger = Ledger::open(dir.path().to_str().unwrap(), &StoreOptions::default()).unwrap();
    let rt = rt();
    let all = rt.block_on(ledger.all_entries()).unwrap();
    let ids: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(ids.len(), 12, "{ids:?}");
    let mut total = 0;
    for (id, entries) in &all {
        let one = rt.block_on(ledger.entries(id)).unwrap();
        assert_eq!(&one, entries, "{id}");
        total += entries.len();
    }
    // The daily specs, 48 hourly records, 3 extra.
    assert_eq!(total, daily_records() + 48 + 3);
}

#[test]
fn the_report_from_a_ledger_in_s3_equals_the_report_from_disk() {
    use crate::s3::{create_bucket, endpoint, store, unique, upload_dir, with_s3_env};
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let dir = fixed_ledger();
    let bucket = unique("report");
    create_bucket(&ep, &bucket);
    let n = upload_dir(&store(&ep, &bucket), dir.path(), "ledger");
    assert_eq!(n, daily_records() + 48 + 3);
    let url = format!("s3://{bucket}/ledger");
    let mut cmd = parity();
    with_s3_env(&mut cmd, &ep);
    let run: Run = cmd
        .env("PARITY_REDACTION_KEY", "report-tests")
        .args(["report", "-c"])
        .arg(inventory())
        .args([
            "--ledger",
            &url,
            "--as-of",
            "2026-11-30",
            "--format",
            "json",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let local = report(dir.path(), &["--as-of", "2026-11-30", "--format", "json"]);
    let local_url = format!("file://{}", dir.path().display());
    let from_s3 = run.stdout.replace(&url, "[ledger]");
    let from_disk = local.stdout.replace(&local_url, "[ledger]");
    let from_disk = from_disk.replace(dir.path().to_str().unwrap(), "[ledger]");
    assert_eq!(from_s3, from_disk);
    assert!(from_s3.contains("\"decision\": \"NO-GO\""));
}

/// Records of `payments_ledger` alone, daily from 11-16, checked at `checked(partition)`.
fn payments_only(dir: &Path, days: i64, checked: impl Fn(Partition) -> NaiveDateTime) {
    let ledger = Ledger::open(dir.to_str().unwrap(), &StoreOptions::default()).unwrap();
    let first = NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d").unwrap();
    let rt = rt();
    for i in 0..days {
        let p = Partition::day(first + Duration::days(i));
        let r = record("payments_ledger", p, UnitVerdict::Identical, checked(p));
        rt.block_on(ledger.append(&r)).unwrap();
    }
}

#[test]
fn a_check_made_before_the_partition_was_complete_proves_nothing() {
    // Four clean days checked normally, the fifth (11-20) checked at noon that same day,
    // while it was still being written: 4 of 5, not ready.
    let dir = tempfile::tempdir().unwrap();
    payments_only(dir.path(), 5, |p| {
        if p.to_string() == "2026-11-20" {
            p.start() + Duration::hours(12)
        } else {
            p.end() + Duration::hours(3)
        }
    });
    let r = report_json(
        dir.path(),
        &["--as-of", "2026-11-21", "--pipeline", "payments_ledger"],
    );
    let p = pipeline(&r, "payments_ledger");
    assert_eq!(p["streak"], 4);
    assert_eq!(p["state"], "on_track", "{}", p["reason"]);
    assert_eq!(p["timeline"][4]["verdict"], Value::Null);
    assert_eq!(r["decision"], "NO-GO");
}

#[test]
fn a_streak_with_unchecked_settled_partitions_after_it_is_not_ready() {
    // Clean 11-16 .. 11-27, nothing since: 12 of 5, but 11-28 and 11-29 have not been judged.
    let dir = tempfile::tempdir().unwrap();
    payments_only(dir.path(), 12, |p| p.end() + Duration::hours(3));
    let r = report_json(
        dir.path(),
        &["--as-of", "2026-11-30", "--pipeline", "payments_ledger"],
    );
    let p = pipeline(&r, "payments_ledger");
    assert_eq!(p["streak"], 12);
    assert_eq!(p["state"], "on_track");
    assert_eq!(
        p["reason"],
        "12 consecutive clean partitions (needs 5), but the newest 2 settled partitions are not checked yet"
    );
    assert_eq!(r["decision"], "NO-GO");
    // The day after the last check, nothing is pending: ready.
    let r = report_json(
        dir.path(),
        &["--as-of", "2026-11-28", "--pipeline", "payments_ledger"],
    );
    assert_eq!(pipeline(&r, "payments_ledger")["state"], "ready");
    assert_eq!(r["decision"], "GO");
}

#[test]
fn anything_in_the_ledger_that_is_not_a_record_stops_the_report() {
    for bad in [
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_run_x_0123456789ab_diverged.json",
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab_Diverged.json",
        "pipeline=orders_daily/partition=+262142-12-31/20261121T030000.000Z_r-1_0123456789ab_diverged.json",
        "pipeline=orders_daily/quarantine/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab_diverged.json",
        // A files digest is 16 lower-case hex digits after a `-`.
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab-0123_diverged.json",
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab-0123456789ABCDEF_diverged.json",
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab-_diverged.json",
        // The config digest is 12 lower-case hex digits; the length, digits.
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_equivalent.json_diverged.json",
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab_diverged.x.json",
        // A name that says another length than the record's (`{}` is 2 bytes).
        "pipeline=orders_daily/partition=2026-11-20/20261121T030000.000Z_r-1_0123456789ab_diverged.1500.json",
    ] {
        let dir = fixed_ledger();
        let path = dir.path().join("v1").join(bad);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{}").unwrap();
        let run = report(dir.path(), &["--as-of", "2026-11-30"]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("not a ledger record name")
                || run.stderr.contains("truncated or altered"),
            "{bad}: {}",
            run.stderr
        );
        // The whole listing (used above 16 pipelines) refuses it too.
        let ledger = Ledger::open(dir.path().to_str().unwrap(), &StoreOptions::default()).unwrap();
        let rt = rt();
        assert!(rt.block_on(ledger.all_entries()).is_err(), "{bad}");
    }
}

#[test]
fn control_characters_in_values_cannot_repaint_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path().to_str().unwrap(), &StoreOptions::default()).unwrap();
    let p: Partition = "2026-11-29".parse().unwrap();
    let mut r = record(
        "orders_enriched",
        p,
        UnitVerdict::Diverged,
        p.end() + Duration::hours(3),
    );
    r.samples.changed[0].changes.insert(
        "status".into(),
        CellChange {
            left: Some("\u{1b}[2J\u{1b}[H\u{1b}[1;32mGO".into()),
            right: Some("x\ny".into()),
        },
    );
    rt().block_on(ledger.append(&r)).unwrap();
    for format in ["terminal", "markdown"] {
        let run = report(dir.path(), &["--as-of", "2026-11-30", "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            !run.stdout.contains('\u{1b}'),
            "{format}: an escape sequence"
        );
        assert!(run.stdout.contains("x y"), "{format}");
    }
}
