//! `parity inventory discover`: the demo cutover's storage rediscovered (locations, templates,
//! cadences, formats, keys) against its hand-written inventory, on local disk and in a real S3
//! API server (moto); the draft loads and `parity inventory` lists exactly the sign-off gaps;
//! datasets on one side only; `--force` and the refusal to overwrite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use parity::inventory::{Cadence, Inventory};
use serde_json::Value;

use crate::harness::{fixture, parity, Run};
use crate::s3::{create_bucket, endpoint, store, unique, upload_dir, with_s3_env};

const SIGN_OFF: [&str; 5] = [
    "owner",
    "classification",
    "reads",
    "writes",
    "business_process",
];

fn discover(cmd: &mut Command, legacy: &str, target: &str, out: &Path, extra: &[&str]) -> Run {
    cmd.args(["inventory", "discover", legacy, target, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
        .into()
}

fn discover_json(cmd: &mut Command, legacy: &str, target: &str, out: &Path) -> (Run, Value) {
    let run = discover(cmd, legacy, target, out, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
    (run, v)
}

/// The templates of a pipeline's sides as (resolved base, tail), for comparing inventories
/// written in different places.
fn sides(inv: &Inventory, id: &str) -> [(String, String); 2] {
    let p = inv.pipeline(id).unwrap();
    let t = |t: &Option<parity::inventory::Template>| {
        let t = t.as_ref().unwrap();
        (t.base.clone(), t.raw_tail().to_string())
    };
    [t(&p.legacy), t(&p.target)]
}

/// The demo pipelines by the prefix they live under, with the key the draft should suggest.
fn demo_expectations() -> BTreeMap<&'static str, (&'static str, Option<&'static str>)> {
    BTreeMap::from([
        ("orders", ("orders_daily", Some("order_id"))),
        ("fx_rates", ("fx_rates", None)),
        ("customers", ("customers_snapshot", Some("customer_id"))),
        ("inventory", ("inventory_levels", Some("sku"))),
        ("clickstream", ("clickstream_hourly", Some("event_id"))),
        ("exports", ("legacy_exports", Some("export_id"))),
    ])
}

/// Run `parity inventory -c CONFIG --format json` and return its listing.
fn inventory_listing(cmd: &mut Command, config: &Path) -> (Run, Value) {
    let run: Run = cmd
        .args(["inventory", "--format", "json", "-c"])
        .arg(config)
        .output()
        .unwrap()
        .into();
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
    (run, v)
}

fn assert_only_sign_off_gaps(listing: &Value, pipelines: usize) {
    let ps = listing["pipelines"].as_array().unwrap();
    assert_eq!(ps.len(), pipelines);
    for p in ps {
        let gaps: Vec<&str> = p["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["field"].as_str().unwrap())
            .collect();
        assert_eq!(gaps, SIGN_OFF, "{}", p["id"]);
    }
    assert_eq!(listing["pipelines_with_gaps"], pipelines as u64);
}

#[test]
fn the_demo_cutover_is_rediscovered_from_its_storage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity.toml");
    let cutover = fixture("cutover");
    let (legacy, target) = (cutover.join("legacy"), cutover.join("target"));
    let (run, v) = discover_json(
        &mut parity(),
        legacy.to_str().unwrap(),
        target.to_str().unwrap(),
        &out,
    );
    assert!(run.stderr.contains("6 pipelines"), "{}", run.stderr);

    // What was found.
    let pairs = v["pairs"].as_array().unwrap();
    let found: BTreeMap<&str, &Value> = pairs
        .iter()
        .map(|p| (p["dataset"].as_str().unwrap(), p))
        .collect();
    let expected = demo_expectations();
    assert_eq!(
        found.keys().copied().collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>()
    );
    for (prefix, (_, key)) in &expected {
        assert_eq!(found[prefix]["key"]["column"].as_str(), *key, "{prefix}");
    }
    let click = found["clickstream"];
    assert_eq!(click["cadence"], "hourly");
    assert_eq!(click["legacy"]["tail"], "dt={date}/hour={hour}/");
    assert_eq!(
        (
            click["legacy"]["partitions"].as_u64(),
            click["common"].as_u64()
        ),
        (Some(48), Some(48))
    );
    assert_eq!(click["legacy"]["first"], "2026-11-09T00");
    assert_eq!(click["target"]["newest"], "2026-11-10T23");
    assert_eq!(click["legacy"]["format"], "jsonl.gz");
    // inventory_levels: 11-04 absent on both sides, 11-09 absent on the target.
    let inv = found["inventory"];
    assert_eq!(
        (
            inv["legacy"]["partitions"].as_u64(),
            inv["legacy"]["missing"].as_u64(),
            inv["target"]["partitions"].as_u64(),
            inv["target"]["missing"].as_u64(),
            inv["common"].as_u64()
        ),
        (Some(9), Some(1), Some(8), Some(2), Some(8))
    );
    // orders: the legacy side's _SUCCESS markers are not data.
    assert_eq!(found["orders"]["legacy"]["files"], 10);
    assert_eq!(found["orders"]["target"]["files"], 20);
    assert_eq!(found["orders"]["legacy"]["outside_layout"], 0);
    // fax_gateway: written by the legacy platform only.
    let legacy_only = v["legacy_only"].as_array().unwrap();
    assert_eq!(legacy_only.len(), 1);
    assert_eq!(legacy_only[0]["prefix"], "fax");
    assert_eq!(legacy_only[0]["partitions"], 3);
    assert_eq!(v["target_only"].as_array().unwrap().len(), 0);
    assert_eq!(v["unpartitioned"].as_array().unwrap().len(), 0);

    // The draft against the hand-written inventory: same locations, cadences and formats.
    let draft = Inventory::load(&out).unwrap();
    let reference = Inventory::load(&cutover.join("parity.toml")).unwrap();
    assert_eq!(draft.pipelines.len(), 6);
    for (prefix, (reference_id, _)) in &expected {
        let r = reference.pipeline(reference_id).unwrap();
        let d = draft.pipeline(prefix).unwrap();
        assert_eq!(
            sides(&draft, prefix),
            sides(&reference, reference_id),
            "{prefix}"
        );
        assert_eq!(d.cadence, r.cadence, "{prefix}");
        assert_eq!(d.compare.format, r.compare.format, "{prefix}");
        assert!(d.compare.key.is_empty(), "keys are suggested, not set");
        assert!(d.owner.is_none() && d.classification.is_none() && d.reads.is_empty());
    }
    assert_eq!(
        draft.pipeline("clickstream").unwrap().cadence,
        Cadence::Hourly
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("# key = [\"order_id\"]"), "{text}");
    // The retiring pipeline, ready to uncomment.
    let fax = reference.pipeline("fax_gateway").unwrap();
    let fax_line = format!(
        "# legacy = \"{}\"",
        fax.legacy.as_ref().unwrap().base.clone() + "dt={date}/"
    );
    assert!(text.contains(&fax_line), "{fax_line} in\n{text}");
    assert!(text.contains("# migrate = false\n"), "{text}");
    assert!(text.contains("# format = \"csv\"\n"), "{text}");

    // `parity inventory` lists exactly the sign-off attributes as gaps (locations exist).
    let (run, listing) = inventory_listing(&mut parity(), &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_only_sign_off_gaps(&listing, 6);

    // Filled in, the draft has no gap left.
    let filled = text
        .replace("owner = \"\"", "owner = \"team@example.com\"")
        .replace(
            "# classification = \"\"  # public, internal, confidential or restricted",
            "classification = \"internal\"",
        )
        .replace("reads = []", "reads = [\"src\"]")
        .replace("writes = []", "writes = [\"dst\"]")
        .replace("business_process = \"\"", "business_process = \"bp\"");
    std::fs::write(&out, filled).unwrap();
    let (run, listing) = inventory_listing(&mut parity(), &out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(listing["pipelines_with_gaps"], 0);
}

#[test]
fn the_table_shows_what_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let cutover = fixture("cutover");
    let run = discover(
        &mut parity(),
        cutover.join("legacy").to_str().unwrap(),
        cutover.join("target").to_str().unwrap(),
        &dir.path().join("parity.toml"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        out.starts_with(
            "6 datasets on both sides, 1 on the legacy side only, 0 on the target side only"
        ),
        "{out}"
    );
    let row = |id: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("clickstream"),
        [
            "clickstream",
            "dt={date}/hour={hour}/",
            "dt={date}/hour={hour}/",
            "hourly",
            "jsonl.gz",
            "48/48",
            "(48)",
            "2026-11-09T00",
            "2026-11-10T23",
            "event_id"
        ]
    );
    assert_eq!(row("fx_rates")[9], "-");
    assert_eq!(row("inventory")[5..7], ["9/8", "(8)"]);
    assert!(out.contains("legacy only"), "{out}");
    assert!(row("fax").contains(&"3".to_string()), "{out}");
    assert!(
        out.contains("fx_rates: no key suggested: no single column is unique"),
        "{out}"
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn one_sided_roots() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (l, t) = (dir.path().join("legacy"), dir.path().join("target"));
    let csv = "id,v\n1,a\n2,b\n3,c\n";
    write(&l, "shared/dt=2026-01-01/part-0.csv", csv);
    write(&l, "shared/dt=2026-01-02/part-0.csv", csv);
    write(&t, "shared/dt=2026-01-02/part-0.csv", csv);
    write(&l, "retiring/2026/01/01/data.csv", csv);
    write(
        &t,
        "brand_new/date=20260105/x.jsonl",
        "{\"k\":1}\n{\"k\":2}\n",
    );
    write(&l, "dims/country.csv", "code\nDE\n");
    (dir, l, t)
}

#[test]
fn datasets_on_one_side_only_are_listed_and_commented() {
    let (dir, l, t) = one_sided_roots();
    let out = dir.path().join("parity.toml");
    let (_, v) = discover_json(
        &mut parity(),
        l.to_str().unwrap(),
        t.to_str().unwrap(),
        &out,
    );
    assert_eq!(v["pairs"].as_array().unwrap().len(), 1);
    assert_eq!(v["pairs"][0]["common"], 1);
    assert_eq!(v["pairs"][0]["key"]["column"], "id");
    assert_eq!(v["legacy_only"][0]["prefix"], "retiring");
    assert_eq!(v["legacy_only"][0]["tail"], "{year}/{month}/{day}/");
    assert_eq!(v["target_only"][0]["prefix"], "brand_new");
    assert_eq!(v["target_only"][0]["tail"], "date={year}{month}{day}/");
    assert_eq!(v["unpartitioned"][0]["folder"], "dims");
    assert_eq!(v["unpartitioned"][0]["side"], "legacy");

    let text = std::fs::read_to_string(&out).unwrap();
    // The draft lies beside the roots: its locations are relative to its folder.
    assert!(
        text.contains("legacy = \"legacy/shared/dt={date}/\"\n"),
        "{text}"
    );
    assert!(
        text.contains("# legacy = \"legacy/retiring/{year}/{month}/{day}/\"\n"),
        "{text}"
    );
    assert!(
        text.contains("# target/brand_new/date={year}{month}{day}/ (daily partitions: 1 (2026-01-05 … 2026-01-05))"),
        "{text}"
    );
    assert!(text.contains("# legacy: legacy/dims/ (1 files)"), "{text}");
    let (run, listing) = inventory_listing(&mut parity(), &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_only_sign_off_gaps(&listing, 1);
}

#[test]
fn nothing_is_written_over_a_file_without_force_or_when_nothing_pairs() {
    let (dir, l, t) = one_sided_roots();
    let out = dir.path().join("parity.toml");
    std::fs::write(&out, "# keep me\n").unwrap();
    let run = discover(
        &mut parity(),
        l.to_str().unwrap(),
        t.to_str().unwrap(),
        &out,
        &[],
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "parity: error: {}: already exists; nothing written (use --force to replace it)\n",
            out.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# keep me\n");

    let run = discover(
        &mut parity(),
        l.to_str().unwrap(),
        t.to_str().unwrap(),
        &out,
        &["--force", "--name", "wh", "--retirement-date", "2027-03-31"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inv = Inventory::load(&out).unwrap();
    assert_eq!(inv.cutover.name, "wh");
    assert_eq!(inv.cutover.retirement_date.to_string(), "2027-03-31");
    assert_eq!(inv.pipelines.len(), 1);

    // No dataset on both sides: an error, and no file.
    let only = dir.path().join("only");
    write(&only, "x/dt=2026-01-01/a.csv", "a\n1\n");
    let fresh = dir.path().join("fresh.toml");
    let run = discover(
        &mut parity(),
        l.to_str().unwrap(),
        only.to_str().unwrap(),
        &fresh,
        &["--format", "json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run
        .stderr
        .contains("no dataset with partitions is on both sides"));
    assert!(!fresh.exists());

    // A root that does not exist: one line naming it.
    let run = discover(
        &mut parity(),
        "/no/such/legacy/root",
        t.to_str().unwrap(),
        &fresh,
        &[],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("/no/such/legacy/root"),
        "{}",
        run.stderr
    );
    assert!(!fresh.exists());
}

#[test]
fn the_demo_cutover_is_rediscovered_from_s3() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = unique("parity-discover");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    for side in ["legacy", "target"] {
        let n = upload_dir(&s, &fixture("cutover").join(side), &format!("dw/{side}"));
        assert!(n > 100, "{side}: {n} files");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity.toml");
    let mut cmd = parity();
    with_s3_env(&mut cmd, &ep);
    let (_, v) = discover_json(
        &mut cmd,
        &format!("s3://{bucket}/dw/legacy"),
        &format!("s3://{bucket}/dw/target/"),
        &out,
    );
    let expected = demo_expectations();
    let pairs = v["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), expected.len());
    for p in pairs {
        let prefix = p["dataset"].as_str().unwrap();
        assert_eq!(
            p["key"]["column"].as_str(),
            expected[prefix].1,
            "{prefix}: {}",
            p["key"]
        );
    }
    assert_eq!(v["legacy_only"][0]["prefix"], "fax");

    let draft = Inventory::load(&out).unwrap();
    let reference = Inventory::load(&fixture("cutover").join("parity.toml")).unwrap();
    for (prefix, (reference_id, _)) in &expected {
        let r = reference.pipeline(reference_id).unwrap();
        let d = draft.pipeline(prefix).unwrap();
        let [l, t] = sides(&draft, prefix);
        let [rl, rt] = sides(&reference, reference_id);
        assert_eq!(l, (format!("s3://{bucket}/dw/legacy/{prefix}/"), rl.1));
        assert_eq!(t, (format!("s3://{bucket}/dw/target/{prefix}/"), rt.1));
        assert_eq!((d.cadence, d.compare.format), (r.cadence, r.compare.format));
    }
    let mut cmd = parity();
    with_s3_env(&mut cmd, &ep);
    let (run, listing) = inventory_listing(&mut cmd, &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_only_sign_off_gaps(&listing, 6);
}
