//! `parity run` with both sides and the ledger in a real S3 API server on loopback (moto,
//! started by `scripts/test`): the demo end to end, two runs at once, a run killed mid-way,
//! shards, a store that fails requests for a while, an unreachable ledger, and a plain run
//! after a replayed one (objects newer than the replayed checks, judged by their ETags).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;

use crate::cutover::{checked, demo_inventory, expected_units, planted_values};
use crate::faulty_proxy::FaultyProxy;
use crate::harness::{fixture, parity, rt, Run};
use crate::s3::{create_bucket, endpoint, store, unique, upload_dir};

/// The demo's data, uploaded once per test process.
fn demo_bucket(ep: &str) -> String {
    static BUCKET: OnceLock<String> = OnceLock::new();
    BUCKET
        .get_or_init(|| {
            let bucket = unique("parity-cutover");
            create_bucket(ep, &bucket);
            let s = store(ep, &bucket);
            for side in ["legacy", "target"] {
                let n = upload_dir(&s, &fixture("cutover").join(side), side);
                assert!(n > 100, "{side}: {n} files");
            }
            bucket
        })
        .clone()
}

/// An inventory for the demo in S3, with its ledger under `ledger_prefix` of the same bucket,
/// reached through `via` (the server, or a proxy in front of it).
fn s3_inventory(dir: &Path, ep_via: &str, bucket: &str, ledger_prefix: &str) -> std::path::PathBuf {
    demo_inventory(
        dir,
        &format!("s3://{bucket}"),
        &format!("s3://{bucket}/{ledger_prefix}"),
        &format!(
            "[stores.\"s3://{bucket}\"]\nendpoint = \"{ep_via}\"\nallow_http = true\nregion = \"us-east-1\"\n"
        ),
    )
}

/// `parity run` with S3 credentials from the environment (the endpoint comes from the
/// inventory's store options, not from the environment).
fn run_cmd(config: &Path, args: &[&str]) -> Command {
    let mut cmd = parity();
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(["--until", "2026-11-10", "--format", "json"])
        .args(args);
    cmd
}

fn run(config: &Path, args: &[&str]) -> (Run, Value) {
    let run: Run = run_cmd(config, args).output().unwrap().into();
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
    (run, v)
}

fn spawn(config: &Path, args: &[&str]) -> Child {
    run_cmd(config, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (Run, Value) {
    let run: Run = child.wait_with_output().unwrap().into();
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
    (run, v)
}

/// Every record under a ledger prefix: (key, parsed record). A record that does not parse
/// fails the test.
fn records(ep: &str, bucket: &str, prefix: &str) -> Vec<(String, Value)> {
    let s = store(ep, bucket);
    rt().block_on(async {
        let metas: Vec<_> = s
            .list(Some(&ObjectPath::from(prefix)))
            .try_collect()
            .await
            .unwrap();
        let mut out = Vec::new();
        for m in metas {
            let bytes = s.get(&m.location).await.unwrap().bytes().await.unwrap();
            let v: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{}: a partial or broken record: {e}", m.location));
            out.push((m.location.to_string(), v));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn unit_counts(recs: &[(String, Value)]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for (_, r) in recs {
        *out.entry((
            r["pipeline"].as_str().unwrap().to_string(),
            r["partition"].as_str().unwrap().to_string(),
        ))
        .or_insert(0) += 1;
    }
    out
}

#[test]
fn the_demo_cutover_in_s3_end_to_end() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = demo_bucket(&ep);
    let dir = tempfile::tempdir().unwrap();
    let config = s3_inventory(dir.path(), &ep, &bucket, "ledger-e2e");
    let events = dir.path().join("events.jsonl");
    let (r, s) = run(&config, &["--events", events.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(checked(&s), expected_units());
    let recs = records(&ep, &bucket, "ledger-e2e");
    assert_eq!(recs.len(), 97);
    assert!(unit_counts(&recs).values().all(|&n| n == 1));
    assert!(s["ledger"].as_str().unwrap().starts_with("s3://"));
    let ev = std::fs::read_to_string(&events).unwrap();
    let unit: Value = ev
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"] == "unit_checked")
        .unwrap();
    assert_eq!(unit["credentials"]["legacy"], "environment");
    assert_eq!(unit["credentials"]["ledger"], "environment");
    assert!(unit["ledger_record"]
        .as_str()
        .unwrap()
        .starts_with(&format!("s3://{bucket}/ledger-e2e/v1/")));
    let e_tag = &unit["inputs"]["legacy"]["files"][0]["e_tag"];
    assert!(e_tag.is_string(), "S3 ETags are recorded: {unit}");

    // No restricted value anywhere: output, events, records.
    let mut seen = format!("{}{}{ev}", r.stdout, r.stderr);
    for (_, rec) in &recs {
        seen.push_str(&rec.to_string());
    }
    for v in planted_values() {
        assert!(!seen.contains(&v), "{v} leaked");
    }

    // History reads the S3 ledger.
    let h: Run = parity()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args([
            "history",
            "inventory_levels",
            "--format",
            "json",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap()
        .into();
    assert_eq!(h.code, 0, "{}", h.stderr);
    let h: Value = serde_json::from_str(&h.stdout).unwrap();
    assert_eq!(h["records"].as_array().unwrap().len(), 9);
}

#[test]
fn two_runs_at_once_lose_no_record() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = demo_bucket(&ep);
    let dir = tempfile::tempdir().unwrap();
    let config = s3_inventory(dir.path(), &ep, &bucket, "ledger-concurrent");
    let a = spawn(&config, &[]);
    let b = spawn(&config, &[]);
    let (ra, sa) = finish(a);
    let (rb, sb) = finish(b);
    assert_eq!((ra.code, rb.code), (1, 1), "{} / {}", ra.stderr, rb.stderr);
    let recs = records(&ep, &bucket, "ledger-concurrent");
    let keys: BTreeSet<String> = recs.iter().map(|(k, _)| k.clone()).collect();
    let mut written = 0;
    for s in [&sa, &sb] {
        for u in s["units"].as_array().unwrap() {
            let url = u["ledger_record"].as_str().expect("every unit recorded");
            let key = url.strip_prefix(&format!("s3://{bucket}/")).unwrap();
            assert!(
                keys.contains(key),
                "{key} was reported written but is not in the ledger"
            );
            written += 1;
        }
    }
    assert_eq!(
        recs.len(),
        written,
        "one record per unit checked, by either run"
    );
    let covered: BTreeSet<_> = unit_counts(&recs).into_keys().collect();
    assert_eq!(covered.len(), 97);
}

#[test]
fn a_killed_run_leaves_a_readable_ledger_and_the_next_run_completes_it() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = demo_bucket(&ep);
    let dir = tempfile::tempdir().unwrap();
    let config = s3_inventory(dir.path(), &ep, &bucket, "ledger-killed");
    // A killed process cannot remove its comparisons' temporary folders: they go in this
    // test's own, which is removed when the test ends.
    let mut child = run_cmd(&config, &["--jobs", "1"])
        .env("TMPDIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed"
        );
        if records(&ep, &bucket, "ledger-killed").len() >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "no record appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let after_kill = records(&ep, &bucket, "ledger-killed");
    let done = after_kill.len();
    assert!((5..97).contains(&done), "{done} records after the kill");

    let (r, s) = run(&config, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(s["units"].as_array().unwrap().len(), 97 - done);
    assert_eq!(s["already_checked"], done as u64);
    let recs = records(&ep, &bucket, "ledger-killed");
    assert_eq!(recs.len(), 97);
    let counts = unit_counts(&recs);
    assert_eq!(counts.len(), 97);
    assert!(counts.values().all(|&n| n == 1), "every unit exactly once");
}

#[test]
fn shards_at_once_record_every_unit_exactly_once() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = demo_bucket(&ep);
    let dir = tempfile::tempdir().unwrap();
    let config = s3_inventory(dir.path(), &ep, &bucket, "ledger-shards");
    let children: Vec<Child> = (0..3)
        .map(|i| spawn(&config, &["--shard", &format!("{i}/3")]))
        .collect();
    let mut total = 0;
    for c in children {
        let (r, s) = finish(c);
        assert!(r.code <= 1, "{}", r.stderr);
        total += s["units"].as_array().unwrap().len();
    }
    assert_eq!(total, 97);
    let recs = records(&ep, &bucket, "ledger-shards");
    let counts = unit_counts(&recs);
    assert_eq!(counts.len(), 97);
    assert!(counts.values().all(|&n| n == 1));
    let shards: BTreeSet<String> = recs
        .iter()
        .map(|(_, r)| r["shard"]["index"].to_string())
        .collect();
    assert_eq!(shards.len(), 3);
}

#[test]
fn a_store_that_fails_requests_for_a_while_is_retried() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = demo_bucket(&ep);
    let proxy = FaultyProxy::start(&ep);
    let dir = tempfile::tempdir().unwrap();
    let config = s3_inventory(dir.path(), &proxy.endpoint, &bucket, "ledger-flaky");
    let (r, s) = run(
        &config,
        &["--pipeline", "orders_daily", "--pipeline", "fx_rates"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(s["units"].as_array().unwrap().len(), 20);
    assert!(
        s["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["verdict"] != "error"),
        "{}",
        r.stdout
    );
    assert!(proxy.failed() >= 20, "{} requests failed", proxy.failed());
    assert!(proxy.forwarded() > proxy.failed());
    let recs = records(&ep, &bucket, "ledger-flaky");
    assert_eq!(recs.len(), 20);
}

#[test]
fn an_unreachable_or_denied_ledger_stops_the_run_with_exit_2() {
    let Some(_) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let Some(denied) = endpoint("PARITY_TEST_S3_DENIED_ENDPOINT") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = demo_inventory(
        dir.path(),
        fixture("cutover").to_str().unwrap(),
        "s3://parity-denied-ledger/ledger",
        &format!(
            "[stores.\"s3://parity-denied-ledger\"]\nendpoint = \"{denied}\"\nallow_http = true\n"
        ),
    );
    let r: Run = run_cmd(&config, &[]).output().unwrap().into();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.is_empty());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("s3://parity-denied-ledger/ledger: list failed"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_plain_run_after_a_replay_in_s3_rechecks_only_an_object_with_other_bytes() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    // A bucket of its own: one object is rewritten below.
    let bucket = unique("parity-replayed");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    for side in ["legacy", "target"] {
        upload_dir(&s, &fixture("cutover").join(side), side);
    }
    // A replay (`--now`) dates records in the past, so its ledger must be local.
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let config = demo_inventory(
        dir.path(),
        &format!("s3://{bucket}"),
        ledger.to_str().unwrap(),
        &format!(
            "[stores.\"s3://{bucket}\"]\nendpoint = \"{ep}\"\nallow_http = true\nregion = \"us-east-1\"\n"
        ),
    );
    let (r, s1) = run(&config, &["--now", "2026-11-11T06:00:00Z"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(s1["units"].as_array().unwrap().len(), 97);

    // Every object was written after the replayed checks' time; their ETags are the ones the
    // records list, so nothing is checked again.
    let (r, s2) = run(&config, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(checked(&s2).len(), 0, "{}", r.stdout);
    assert_eq!(s2["already_checked"], 97);

    // The target platform rewrites one partition with other bytes of the same size.
    let key = ObjectPath::from("target/fx_rates/dt=2026-11-02/part-00000.csv");
    let local = fixture("cutover").join("target/fx_rates/dt=2026-11-02/part-00000.csv");
    let text = std::fs::read_to_string(local).unwrap();
    let rewritten = text.replacen("EUR,USD,1.08", "EUR,USD,2.08", 1);
    assert_eq!((text.len(), text != rewritten), (rewritten.len(), true));
    rt().block_on(s.put(&key, rewritten.into_bytes().into()))
        .unwrap();
    let (r, s3) = run(&config, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let again: Vec<_> = checked(&s3).into_iter().collect();
    assert_eq!(
        again,
        [(
            ("fx_rates".to_string(), "2026-11-02".to_string()),
            "diverged".to_string()
        )]
    );
    assert_eq!(s3["already_checked"], 96);
}
