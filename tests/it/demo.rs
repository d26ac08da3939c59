//! The demo cutover as `scripts/demo` runs it: ten replayed mornings of the daily job on a copy
//! of `fixtures/cutover`, then what a newcomer does next. A copy's files are all newer than the
//! replayed checks, as a fresh clone's are: the first plain `parity run` after the demo must
//! re-check nothing, and a file that really changed must still be re-checked. The burn-up the
//! report computes from those mornings is asserted day by day.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cutover::{checked, demo_inventory, run_json};
use crate::harness::{fixture, parity, Run};
use crate::report::write_ledger;

/// A copy of the demo's data (both sides, fresh file times) with its own ledger: the folder,
/// the data's base, the ledger and the inventory.
pub struct DemoCopy {
    pub dir: tempfile::TempDir,
    pub base: PathBuf,
    pub ledger: PathBuf,
    pub config: PathBuf,
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

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The demo's data copied, its ledger empty.
pub fn demo_copy() -> DemoCopy {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("data");
    for side in ["legacy", "target"] {
        copy_dir(&fixture("cutover").join(side), &base.join(side));
    }
    let ledger = dir.path().join("ledger");
    let config = demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        ledger.to_str().unwrap(),
        "",
    );
    DemoCopy {
        dir,
        base,
        ledger,
        config,
    }
}

/// The mornings `scripts/demo` replays: (the day checked, the run's clock).
pub fn mornings() -> Vec<(String, String)> {
    (1..=10)
        .map(|d| {
            (
                format!("2026-11-{d:02}"),
                format!("2026-11-{:02}T06:00:00Z", d + 1),
            )
        })
        .collect()
}

/// Replay the ten mornings into the copy's ledger; the units each morning checked.
pub fn replay_demo(copy: &DemoCopy) -> Vec<usize> {
    mornings()
        .iter()
        .map(|(until, now)| {
            let (run, s) = run_json(&copy.config, &["--until", until, "--now", now], &[]);
            assert!(run.code <= 1, "{until}: {}", run.stderr);
            s["units"].as_array().unwrap().len()
        })
        .collect()
}

/// `parity report --config … ARGS…`.
pub fn report(copy: &DemoCopy, args: &[&str]) -> Run {
    parity()
        .arg("report")
        .arg("--config")
        .arg(&copy.config)
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn the_demo_mornings_check_every_planted_unit_once() {
    let copy = demo_copy();
    let per_morning = replay_demo(&copy);
    // Five daily pipelines a morning (inventory_levels has no 11-04 on either side), and the
    // hourly pipeline's 24 hours from 11-09 on.
    assert_eq!(per_morning, [5, 5, 5, 4, 5, 5, 5, 5, 29, 29]);
    assert_eq!(per_morning.iter().sum::<usize>(), 97);
}

#[test]
fn a_fresh_clone_after_the_demo_rechecks_nothing_but_a_changed_file() {
    let copy = demo_copy();
    replay_demo(&copy);
    assert_eq!(files(&copy.ledger).len(), 97, "a record per unit");
    // The copy's files were written minutes ago, weeks after the replayed checks (as a fresh
    // clone's are): a plain run still finds every unit settled.
    let (run, s) = run_json(&copy.config, &[], &[]);
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!(checked(&s).len(), 0, "{}", run.stdout);
    assert_eq!(s["already_checked"], 97);

    // Every file touched after the demo (newer than the checks in real time too): same bytes,
    // nothing to check again.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let all = files(&copy.base);
    assert!(all.len() > 200, "{}", all.len());
    for f in &all {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    let (run, s) = run_json(&copy.config, &[], &[]);
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!(checked(&s).len(), 0, "{}", run.stdout);
    assert_eq!(s["already_checked"], 97);
    assert_eq!(files(&copy.ledger).len(), 97, "no record written");

    // A file written with other bytes of the same size is checked again, and only it.
    let file = copy
        .base
        .join("target/fx_rates/dt=2026-11-02/part-00000.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let rewritten = text.replacen("EUR,USD,1.08", "EUR,USD,2.08", 1);
    assert_ne!(text, rewritten);
    assert_eq!(text.len(), rewritten.len());
    std::fs::write(&file, rewritten).unwrap();
    let (run, s) = run_json(&copy.config, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again: Vec<_> = checked(&s).into_iter().collect();
    assert_eq!(
        again,
        [(
            ("fx_rates".to_string(), "2026-11-02".to_string()),
            "diverged".to_string()
        )]
    );
    assert_eq!(s["already_checked"], 96);
    assert_eq!(
        files(&copy.ledger).len(),
        98,
        "one new record, for the rewritten partition"
    );
}

/// The demo's burn-up, as the report computes it: (day, ready) from 2026-11-01 to 11-11.
pub fn expected_burn_up() -> Vec<(String, u64)> {
    // fx_rates is the only pipeline whose seven partitions are all clean by a morning: the
    // run of 11-08 checks its 11-07. The others diverge (orders_daily 11-07, customers 11-05,
    // clickstream 11-10T14), miss a day (inventory_levels), or have no owner.
    (1..=11)
        .map(|d| (format!("2026-11-{d:02}"), u64::from(d >= 8)))
        .collect()
}

#[test]
fn the_report_counts_pipelines_ready_per_day() {
    let copy = demo_copy();
    replay_demo(&copy);
    let run = report(&copy, &["--as-of", "2026-11-11", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r: Value = serde_json::from_str(&run.stdout).unwrap();
    let b = &r["burn_up"];
    assert_eq!(b["in_scope"], 6);
    let days: Vec<(String, u64)> = b["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["ready"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days, expected_burn_up());
    // The newest point is the report's own count.
    assert_eq!(r["states"]["ready"], 1);
    // One pipeline gained in ten days: 0.1 a day; five more take fifty days.
    assert_eq!(b["pace_per_day"], 0.1);
    assert_eq!(b["all_ready_on"], "2026-12-31");
    // A report for an earlier day ends its burn-up on that day, with the same counts.
    let run = report(&copy, &["--as-of", "2026-11-08", "--format", "json"]);
    let r: Value = serde_json::from_str(&run.stdout).unwrap();
    let days = r["burn_up"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 8);
    assert_eq!(days[7]["ready"], 1);
    assert_eq!(days[6]["ready"], 0);
    // One gained in seven days: five more take 35 days from 11-08.
    assert_eq!(r["burn_up"]["all_ready_on"], "2026-12-13");
}

/// (day, ready) of a report's burn-up.
fn series(r: &Value) -> Vec<(String, u64)> {
    r["burn_up"]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["ready"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_burn_up_point_is_what_the_report_for_that_day_says() {
    // The report fixture: a pipeline per state, ready ones falling back as divergences land.
    let ledger = tempfile::tempdir().unwrap();
    write_ledger(ledger.path());
    let json = |as_of: &str, extra: &[&str]| -> Value {
        let run = crate::report::report(
            ledger.path(),
            &[&["--as-of", as_of, "--format", "json"], extra].concat(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    };
    let last = json("2026-11-30", &[]);
    let days = series(&last);
    assert_eq!(days.len(), 15, "from the cutover's start, 2026-11-16");
    assert_eq!(days[0].0, "2026-11-16");
    for day in ["2026-11-20", "2026-11-25", "2026-11-28", "2026-11-30"] {
        let r = json(day, &[]);
        let upto = series(&r);
        // The report for that day counts what the burn-up drew for it...
        assert_eq!(
            upto.last().unwrap(),
            &(day.to_string(), r["states"]["ready"].as_u64().unwrap()),
            "{day}"
        );
        // ...and a later report draws the same days the same way.
        assert_eq!(upto, days[..upto.len()], "{day}");
    }
    assert_eq!(
        last["burn_up"]["in_scope"], 12,
        "every pipeline but the retired one"
    );
    // Only the pipelines asked for are in scope.
    let one = json("2026-11-30", &["--pipeline", "payments_ledger"]);
    assert_eq!(one["burn_up"]["in_scope"], 1);
    assert_eq!(series(&one).last().unwrap().1, 1);
}
