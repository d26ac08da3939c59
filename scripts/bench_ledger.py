#!/usr/bin/env python3
"""The work of scripts/bench-ledger: `parity report` on a 200 x 90 ledger in an S3 API server.

Run through scripts/bench-ledger, which sets up the venv and the moto server; the subcommands
here are its steps (`run`) and the peers it measures (`peer-s3`, `peer-s3-names`,
`peer-duckdb`), each started as its own process so that its wall time and peak RSS are its own.

`run` does, in order:

1. generate (seeded, deterministic; not timed) an inventory with PIPELINES daily pipelines and a
   ledger of PIPELINES x DAYS partitions in WORK/ledger, laid out as parity writes it
   (docs/ledger.md): v1/pipeline=<id>/partition=<day>/<checked_at>_<run_id>_<digest12>_<verdict>.json.
   Records carry each pipeline's real config digest, learnt from one `parity run` over dummy
   files (report counts only records under the current digest). Each pipeline is planted in
   one readiness state (KINDS below); about 5% of partitions are checked twice (a recheck), a
   few partitions have no record (gaps), and RECONFIGURED pipelines have their first
   RECONF_DAY partitions checked under an earlier digest and again under the current one.
2. upload the ledger to s3://BUCKET/ledger with boto3 and a thread pool (setup, timed apart);
3. measure each case RUNS times under /usr/bin/time -v (os.wait4 when it is absent), keep
   the median wall time and peak RSS:
     a  parity report --as-of AS_OF --format json --ledger s3://BUCKET/ledger
     b  the same with --ledger WORK/ledger (local disk)
     c  peer: boto3 lists every object of the ledger and GETs and parses every record
        (16 threads), then keeps the newest record per partition
     d  peer: DuckDB reads every local record (read_json_auto over v1/*/*/*.json) and keeps
        the newest verdict per partition with arg_max
     e  not a peer: boto3 lists each pipeline's prefix, names only (16 threads): what a report
        that lists per pipeline costs on this server (parity does so for 16 pipelines or fewer;
        above that it lists the whole ledger in pages of 1000, the 20 requests of case a)
4. check the answers: every pipeline's state, streak, newest partition and the partitions of
   its findings in parity's JSON against the generator's expectation (computed by the rules of
   src/readiness.rs from what was planted); the per-state counts; and that the peers saw every
   record and the same newest verdicts. A wrong answer prints MISMATCH and exits 1.
5. print the table and write it as Markdown to --out.

Exit: 0 all answers right, 1 a wrong answer, 2 the benchmark could not run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PARITY_VERDICTS = ("identical", "equivalent", "within_tolerance")
VERDICTS = PARITY_VERDICTS + ("diverged", "missing_legacy", "missing_target", "error")
STATES = ("blocked", "at_risk", "stale", "unowned", "incomplete", "on_track", "ready",
          "not_migrating")

CUTOVER = "warehouse-cron-to-lakehouse"
FIRST_DAY = dt.date(2026, 9, 1)
RETIREMENT_AFTER = dt.timedelta(days=63)  # from the last partition: 2027-01-31 for 90 days
REQUIRED_STREAK = 14
AT_RISK_STREAK = 120        # required_streak of the at_risk pipelines
MIN_AGE = dt.timedelta(hours=2)
STALE_AFTER = dt.timedelta(days=3)
RUN_HOUR = 3                # the scheduled run starts at 03:00 UTC the day after a partition

# How many pipelines of each planted kind (the rest are `ready`), and the verdict mix of the
# partitions that the kind leaves free ("old" partitions, before the recent ones it fixes).
KINDS = {
    "blocked_diverged": 6,   # the newest partition diverged
    "blocked_missing": 2,    # the newest partition is missing on the target
    "blocked_error": 2,      # the newest partition could not be checked
    "stale": 4,              # clean, but the runs stopped 10 days ago
    "recovering": 8,         # diverged 2..10 partitions ago, clean since: on_track
    "gap": 6,                # a partition with no record 3..12 partitions ago: on_track
    "at_risk": 3,            # needs 120 clean partitions, diverged 20 ago
}
OLD_MIX = [("identical", 0.680), ("equivalent", 0.220), ("within_tolerance", 0.060),
           ("diverged", 0.024), ("missing_target", 0.006), ("missing_legacy", 0.004),
           ("error", 0.006)]
CLEAN_MIX = [("identical", 0.72), ("equivalent", 0.22), ("within_tolerance", 0.06)]
RECENT = 15                 # partitions at the end that a ready pipeline keeps clean
RECHECK_SHARE = 0.05
RECONFIGURED = 4            # ready pipelines whose settings changed after RECONF_DAY partitions:
RECONF_DAY = 30             # those were checked again under the new config digest
OLD_GAPS = 12               # gaps planted in old partitions, where they change no state

DOMAINS = ["orders", "billing", "crm", "supply", "finance", "web", "logistics", "hr", "risk",
           "marketing", "payments", "catalog"]
ENTITIES = ["events", "snapshot", "daily", "facts", "dim", "agg", "ledger", "extract",
            "balances", "sessions", "rates", "levels", "returns", "shipments"]
SYSTEMS = ["postgres", "mysql", "kafka", "sftp", "oracle", "salesforce"]


def log(msg: str) -> None:
    print(f"bench-ledger: {msg}", file=sys.stderr, flush=True)


def die(msg: str, code: int = 2) -> None:
    log(msg)
    sys.exit(code)


# --------------------------------------------------------------------------------- generation

def pick(rng: random.Random, mix) -> str:
    x = rng.random() * sum(w for _, w in mix)
    for v, w in mix:
        x -= w
        if x < 0:
            return v
    return mix[-1][0]


def hexs(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def name_time(t: dt.datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%S.") + f"{t.microsecond // 1000:03d}Z"


def rfc3339(t: dt.datetime, nanos: int = 0) -> str:
    """As chrono writes a time in a record: nine digits of fraction."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}{nanos:03d}Z"


def make_pipelines(rng: random.Random, n: int) -> list[dict]:
    kinds = [k for k, c in KINDS.items() for _ in range(c)]
    if len(kinds) > n:
        die(f"--pipelines {n} is too few for the planted kinds ({len(kinds)})")
    kinds += ["ready"] * (n - len(kinds))
    rng.shuffle(kinds)
    out = []
    for i, kind in enumerate(kinds):
        dom = DOMAINS[i % len(DOMAINS)]
        ent = ENTITIES[(i // len(DOMAINS)) % len(ENTITIES)]
        pid = f"{dom}_{ent}_{i:03d}"
        out.append({
            "id": pid,
            "kind": kind,
            "owner": f"team-{dom}@example.com",
            "reads": [f"{rng.choice(SYSTEMS)}.{dom}.{ent}"],
            "writes": [f"lakehouse.{dom}.{ent}"],
            "business_process": f"{dom}-operations",
            "required_streak": AT_RISK_STREAK if kind == "at_risk" else REQUIRED_STREAK,
            "digest": hexs(rng, 64),
            "key": rng.choice([["id"], [f"{ent}_id"], ["day", f"{ent}_id"]]),
        })
    return out


def plan_verdicts(rng: random.Random, p: dict, days: int) -> list[str | None]:
    """The newest verdict of each partition (None: no record), as the pipeline's kind wants."""
    kind = p["kind"]
    v: list[str | None] = [pick(rng, OLD_MIX) for _ in range(days)]
    for i in range(max(0, days - RECENT), days):
        v[i] = pick(rng, CLEAN_MIX)
    last = days - 1
    if kind == "blocked_diverged":
        v[last] = "diverged"
    elif kind == "blocked_missing":
        v[last] = "missing_target"
    elif kind == "blocked_error":
        v[last] = "error"
    elif kind == "stale":
        for i in range(days - 10, days):
            v[i] = None
    elif kind == "recovering":
        v[last - rng.randint(2, 10)] = "diverged"
    elif kind == "gap":
        v[last - rng.randint(3, 12)] = None
    elif kind == "at_risk":
        v[last - 20] = "diverged"
        for i in range(last - 19, days):
            v[i] = pick(rng, CLEAN_MIX)
    return v


def files_of(rng: random.Random, base: str, rows: int, nfiles: int) -> list[dict]:
    out, left = [], rows
    for j in range(nfiles):
        r = left if j == nfiles - 1 else rows // nfiles
        left -= r
        out.append({
            "path": f"part-{j:05d}.parquet",
            "url": f"{base}/part-{j:05d}.parquet",
            "size": r * 61 + 4096,
            "e_tag": f"\"{hexs(rng, 32)}\"",
            "version": None,
            "blake3": hexs(rng, 64),
            "rows": r,
        })
    return out


def make_record(rng: random.Random, p: dict, day: dt.date, verdict: str,
                checked_at: dt.datetime, run_id: str, digest: str) -> dict:
    """A record of schema version 1, shaped like those `parity run` writes."""
    part = day.isoformat()
    leg_base = f"s3://legacy-exports/{p['id']}/dt={part}"
    tgt_base = f"s3://lakehouse/{p['id']}/dt={part}"
    rows = rng.randint(20_000, 2_000_000)
    duration = dt.timedelta(microseconds=rng.randint(300_000, 90_000_000))
    nfiles = rng.randint(1, 4)
    per_side = {"left": 0, "right": 0}
    rec = {
        "schema_version": 1,
        "cutover": CUTOVER,
        "pipeline": p["id"],
        "partition": part,
        "verdict": verdict,
        "classification": "internal",
        "checked_at": rfc3339(checked_at, rng.randrange(1000)),
        "run_id": run_id,
        "shard": {"index": 0, "count": 1},
        "tool_version": "0.1.0",
        "encoding_version": 1,
        "config_digest": digest,
        "tier": None,
        "counts": {"left_rows": rows, "right_rows": rows, "only_left": 0, "only_right": 0,
                   "changed_rows": 0, "within_tolerance_rows": 0,
                   "duplicate_keys": dict(per_side), "null_keys": dict(per_side)},
        "changed_cells": {},
        "within_tolerance_cells": {},
        "schema_changes": [],
        "samples": {"only_left": [], "only_right": [], "changed": []},
        "redacted": False,
        "inputs": {"legacy": {"url": leg_base, "files": files_of(rng, leg_base, rows, nfiles)},
                   "target": {"url": tgt_base, "files": files_of(rng, tgt_base, rows, nfiles)}},
        "fingerprint": None,
        "error": None,
        "timings": {"started_at": rfc3339(checked_at - duration, rng.randrange(1000)),
                    "duration_ms": duration // dt.timedelta(milliseconds=1)},
    }

    def fp(s: str) -> dict:
        return {"encoding_version": 1, "rows": rows, "sum": s}

    key = p["key"][-1]
    if verdict == "identical":
        rec["tier"] = "bytes"
        for side in ("legacy", "target"):
            for f in rec["inputs"][side]["files"]:
                f["rows"] = None
        rec["counts"]["left_rows"] = rec["counts"]["right_rows"] = None
        # same bytes: the target's files are the legacy's
        for fl, ft in zip(rec["inputs"]["legacy"]["files"], rec["inputs"]["target"]["files"]):
            ft["blake3"], ft["size"], ft["e_tag"] = fl["blake3"], fl["size"], fl["e_tag"]
    elif verdict == "equivalent":
        rec["tier"] = "fingerprint"
        s = hexs(rng, 32)
        rec["fingerprint"] = {"left": fp(s), "right": fp(s)}
    elif verdict == "within_tolerance":
        rec["tier"] = "rows"
        n = rng.randint(1, rows // 100)
        rec["counts"]["within_tolerance_rows"] = n
        rec["within_tolerance_cells"] = {"amount": n}
        rec["fingerprint"] = {"left": fp(hexs(rng, 32)), "right": fp(hexs(rng, 32))}
    elif verdict == "diverged":
        rec["tier"] = "rows"
        only_l, only_r = rng.randint(0, 40), rng.randint(0, 40)
        changed = rng.randint(1, 5_000)
        rec["counts"].update(right_rows=rows - only_l + only_r, only_left=only_l,
                             only_right=only_r, changed_rows=changed)
        rec["changed_cells"] = {"status": changed, "amount": changed // 3,
                                "updated_at": changed // 7}
        rec["fingerprint"] = {"left": fp(hexs(rng, 32)),
                              "right": {"encoding_version": 1, "rows": rows - only_l + only_r,
                                        "sum": hexs(rng, 32)}}
        ids = sorted(rng.sample(range(1, 10_000_000), 9))
        rec["samples"] = {
            "only_left": [{key: str(i), "status": "shipped", "amount": "12.50"}
                          for i in ids[:3]] if only_l else [],
            "only_right": [{key: str(i), "status": "open", "amount": None}
                           for i in ids[3:6]] if only_r else [],
            "changed": [{"key": {key: str(i)},
                         "changes": {"status": {"left": "shipped", "right": "SHIPPED"}}}
                        for i in ids[6:9]],
        }
    elif verdict in ("missing_target", "missing_legacy"):
        gone = "target" if verdict == "missing_target" else "legacy"
        kept = "legacy" if gone == "target" else "target"
        rec["inputs"][gone] = None
        for f in rec["inputs"][kept]["files"]:
            f["rows"] = None
        rec["counts"] = {"left_rows": None, "right_rows": None, "only_left": 0, "only_right": 0,
                         "changed_rows": 0, "within_tolerance_rows": 0,
                         "duplicate_keys": dict(per_side), "null_keys": dict(per_side)}
    elif verdict == "error":
        rec["inputs"] = {"legacy": None, "target": None}
        rec["counts"] = {"left_rows": None, "right_rows": None, "only_left": 0, "only_right": 0,
                         "changed_rows": 0, "within_tolerance_rows": 0,
                         "duplicate_keys": dict(per_side), "null_keys": dict(per_side)}
        rec["error"] = (f"{tgt_base}/part-00000.parquet: get failed: Generic S3 error: "
                        "request timed out after 4 retries")
    return rec


def record_name(rec: dict, checked_at: dt.datetime) -> str:
    return (f"{name_time(checked_at)}_{rec['run_id']}_{rec['config_digest'][:12]}"
            f"_{rec['verdict']}.json")


def expected_state(p: dict, newest: dict[dt.date, str], checks: list[dt.datetime],
                   cutoff: dt.datetime, retirement: dt.date) -> dict:
    """The readiness of one daily pipeline by the rules of src/readiness.rs (start = FIRST_DAY,
    every record before the cutoff, inventory complete, migrating), from its records under
    the current config digest: the newest verdict per partition and every check's time."""
    out = {"state": None, "streak": 0, "newest_partition": None, "newest_divergence": None,
           "checked_partitions": len(newest)}
    div = [d for d, v in newest.items() if v == "diverged"]
    out["newest_divergence"] = max(div).isoformat() if div else None
    if not newest:
        out["state"] = "stale"
        return out
    n = max(newest)
    out["newest_partition"] = n.isoformat()
    streak, at = 0, n
    while newest.get(at) in PARITY_VERDICTS:
        streak += 1
        if at <= FIRST_DAY:
            break
        at -= dt.timedelta(days=1)
    out["streak"] = streak
    settled = (cutoff - MIN_AGE).date() - dt.timedelta(days=1)
    n_end = dt.datetime.combine(n + dt.timedelta(days=1), dt.time())
    settled_end = dt.datetime.combine(settled + dt.timedelta(days=1), dt.time())
    req = p["required_streak"]
    if newest[n] not in PARITY_VERDICTS:
        out["state"] = "blocked"
    elif cutoff - max(checks) > STALE_AFTER or settled_end - n_end > STALE_AFTER:
        out["state"] = "stale"
    elif streak >= req and n < settled:
        out["state"] = "on_track"  # clean, but settled partitions after n are not judged yet
    elif streak >= req:
        out["state"] = "ready"
    else:
        ready_at = max(n_end + dt.timedelta(days=req - streak) + MIN_AGE, cutoff)
        out["state"] = "on_track" if ready_at.date() <= retirement else "at_risk"
    return out


KIND_STATE = {"blocked_diverged": "blocked", "blocked_missing": "blocked",
              "blocked_error": "blocked", "stale": "stale", "recovering": "on_track",
              "gap": "on_track", "at_risk": "at_risk", "ready": "ready"}


def write_inventory(path: Path, pipelines: list[dict], retirement: dt.date) -> None:
    lines = [
        "# Generated by scripts/bench_ledger.py: the inventory of the ledger benchmark.",
        "# The locations are never read by `parity report` (and hold nothing).",
        "",
        "[cutover]",
        f'name = "{CUTOVER}"',
        f"retirement_date = {retirement.isoformat()}",
        f"required_streak = {REQUIRED_STREAK}",
        'min_age = "2h"',
        'stale_after = "3d"',
        f"start = {FIRST_DAY.isoformat()}",
        "",
        "[defaults]",
        'cadence = "daily"',
        'format = "parquet"',
        'classification = "internal"',
        "",
    ]
    for p in pipelines:
        lines += [
            "[[pipeline]]",
            f'id = "{p["id"]}"',
            f'owner = "{p["owner"]}"',
            'classification = "internal"',
            f"reads = {json.dumps(p['reads'])}",
            f"writes = {json.dumps(p['writes'])}",
            f'business_process = "{p["business_process"]}"',
            f'legacy = "data/legacy/{p["id"]}/dt={{date}}/"',
            f'target = "data/target/{p["id"]}/dt={{date}}/"',
            f"key = {json.dumps(p['key'])}",
        ]
        if p["required_streak"] != REQUIRED_STREAK:
            lines.append(f"required_streak = {p['required_streak']}")
        lines.append("")
    path.write_text("\n".join(lines))


def config_digests(bin_path: str, work: Path, pipelines: list[dict]) -> dict[str, str]:
    """Each pipeline's config digest, as parity computes it: one `parity run --date FIRST_DAY`
    over a dummy legacy file per pipeline (no target: one missing_target record each) into a
    scratch ledger, whose records carry the digest. The scratch files are removed after."""
    data, scratch = work / "data", work / "digest-ledger"
    for p in pipelines:
        d = data / "legacy" / p["id"] / f"dt={FIRST_DAY.isoformat()}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "part-00000.parquet").write_bytes(b"only hashed, never decoded\n")
    proc = subprocess.run([bin_path, "run", "-c", str(work / "parity.toml"), "--ledger",
                           str(scratch), "--date", FIRST_DAY.isoformat(), "--format", "json",
                           "--quiet"], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        die(f"parity run (to learn the config digests) exited {proc.returncode}: "
            f"{proc.stderr.strip()[-500:]}")
    out = {}
    for f in scratch.rglob("*.json"):
        r = json.loads(f.read_text())
        out[r["pipeline"]] = r["config_digest"]
    shutil.rmtree(data)
    shutil.rmtree(scratch)
    missing = [p["id"] for p in pipelines if p["id"] not in out]
    if missing:
        die(f"parity run wrote no record for {len(missing)} pipelines ({missing[:3]}…): "
            f"{proc.stderr.strip()[-500:]}")
    return out


def generate(work: Path, n_pipelines: int, days: int, seed: int, bin_path: str) -> dict:
    """Write WORK/parity.toml and WORK/ledger; return the manifest (also WORK/manifest.json)."""
    rng = random.Random(seed)
    last_day = FIRST_DAY + dt.timedelta(days=days - 1)
    as_of = last_day + dt.timedelta(days=1)
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    retirement = last_day + RETIREMENT_AFTER
    pipelines = make_pipelines(rng, n_pipelines)
    ready = [p for p in pipelines if p["kind"] == "ready"]
    reconfigured = {p["id"] for p in rng.sample(ready, min(RECONFIGURED, len(ready)))} \
        if days > RECONF_DAY + RECENT else set()
    ledger = work / "ledger"
    work.mkdir(parents=True, exist_ok=True)
    if ledger.exists():
        shutil.rmtree(ledger)
    write_inventory(work / "parity.toml", pipelines, retirement)
    digests = config_digests(bin_path, work, pipelines)
    # One scheduled run a day checks every pipeline; a recheck is a run of its own.
    run_ids = {d: f"{(d + dt.timedelta(days=1)).strftime('%Y%m%d')}T{RUN_HOUR:02d}0000Z-"
               f"{hexs(rng, 8)}" for d in (FIRST_DAY + dt.timedelta(days=i)
                                             for i in range(days))}
    records = partitions = rechecks = reconf_records = gaps = diverged_records = 0
    bytes_total = 0
    newest_tally: Counter = Counter()
    expected = {}
    for pi, p in enumerate(pipelines):
        digest = digests[p["id"]]
        old_digest = hexs(rng, 64)  # the settings before a change, for the reconfigured
        plan = plan_verdicts(rng, p, days)
        if p["kind"] == "ready":
            # a few gaps in old partitions, where the streak does not reach
            for _ in range(1 if rng.random() < OLD_GAPS / max(1, n_pipelines) else 0):
                plan[rng.randrange(0, days - RECENT - 1)] = None
        newest: dict[dt.date, str] = {}
        checks: list[dt.datetime] = []   # times of the checks under the current digest
        earlier = 0
        for i, verdict in enumerate(plan):
            day = FIRST_DAY + dt.timedelta(days=i)
            if verdict is None:
                if not (p["kind"] == "stale" and i >= days - 10):
                    gaps += 1
                continue
            start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(RUN_HOUR))
            t = start + dt.timedelta(seconds=pi * 4 + rng.uniform(0.5, 3.5))
            versions = [(t, run_ids[day], verdict, digest)]
            if p["id"] in reconfigured and i < RECONF_DAY:
                # checked under the old settings, then again by the first run after the change
                day_r = FIRST_DAY + dt.timedelta(days=RECONF_DAY)
                t2 = (dt.datetime.combine(day_r + dt.timedelta(days=1), dt.time(RUN_HOUR))
                      + dt.timedelta(seconds=pi * 4 + i * 0.8 + rng.uniform(0.5, 0.7)))
                versions = [(t, run_ids[day], pick(rng, CLEAN_MIX), old_digest),
                            (t2, run_ids[day_r], verdict, digest)]
                reconf_records += 1
                earlier += 1
            elif rng.random() < RECHECK_SHARE:
                first = rng.choice(["error", "diverged", verdict, verdict])
                t2 = t + dt.timedelta(hours=rng.randint(2, 19), seconds=rng.uniform(0, 59))
                rid = t2.strftime("%Y%m%dT%H%M%SZ") + "-" + hexs(rng, 8)
                versions = [(t, run_ids[day], first, digest), (t2, rid, verdict, digest)]
                rechecks += 1
            d = ledger / "v1" / f"pipeline={p['id']}" / f"partition={day.isoformat()}"
            d.mkdir(parents=True, exist_ok=True)
            for (when, rid, v, dg) in versions:
                rec = make_record(rng, p, day, v, when, rid, dg)
                body = (json.dumps(rec, indent=2) + "\n").encode()
                (d / record_name(rec, when)).write_bytes(body)
                bytes_total += len(body)
                records += 1
                diverged_records += v == "diverged"
                if dg == digest:
                    checks.append(when)
            partitions += 1
            newest[day] = verdict
            newest_tally[verdict] += 1
        exp = expected_state(p, newest, checks, cutoff, retirement)
        if exp["state"] != KIND_STATE[p["kind"]]:
            die(f"generator bug: {p['id']} planted as {p['kind']} but the rules give "
                f"{exp['state']}")
        exp["kind"] = p["kind"] + (" (reconfigured)" if p["id"] in reconfigured else "")
        exp["blocking_partition"] = exp["newest_partition"] if exp["state"] == "blocked" else None
        exp["earlier_config_records"] = earlier
        expected[p["id"]] = exp
    manifest = {
        "seed": seed, "pipelines": n_pipelines, "days": days,
        "first_day": FIRST_DAY.isoformat(), "last_day": last_day.isoformat(),
        "as_of": as_of.isoformat(), "retirement_date": retirement.isoformat(),
        "records": records, "partitions_with_records": partitions,
        "rechecks": rechecks, "reconfigured_pipelines": len(reconfigured),
        "earlier_config_records": reconf_records, "gaps": gaps,
        "diverged_records": diverged_records,
        "bytes": bytes_total, "newest_verdicts": dict(sorted(newest_tally.items())),
        "states": dict(Counter(e["state"] for e in expected.values())),
        "expected": expected,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# ------------------------------------------------------------------------------------- S3 I/O

def s3_client(endpoint: str, pool: int = 32):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(max_pool_connections=pool,
                                      retries={"max_attempts": 3, "mode": "standard"}))


def upload(local: Path, endpoint: str, bucket: str, prefix: str, threads: int) -> int:
    s3 = s3_client(endpoint, threads)
    s3.create_bucket(Bucket=bucket)
    files = sorted(p for p in local.rglob("*.json"))

    def put(path: Path) -> None:
        key = f"{prefix}/{path.relative_to(local).as_posix()}"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                      ContentType="application/json")

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, files):
            pass
    return len(files)


def newest_summary(recs) -> dict:
    """Keep the newest record per (pipeline, partition); tally their verdicts."""
    newest: dict[tuple[str, str], tuple[str, str, str]] = {}
    n = 0
    for pipeline, partition, checked_at, run_id, verdict in recs:
        n += 1
        k = (pipeline, partition)
        cur = newest.get(k)
        if cur is None or (checked_at, run_id) > cur[:2]:
            newest[k] = (checked_at, run_id, verdict)
    return {"records": n, "partitions": len(newest),
            "newest_verdicts": dict(sorted(Counter(v[2] for v in newest.values()).items()))}


def peer_s3(args) -> None:
    """Peer c: list every object of the ledger, GET and parse every record, 16 threads."""
    t0 = time.perf_counter()
    s3 = s3_client(args.endpoint, args.threads)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket,
                                                             Prefix=args.prefix + "/v1/"):
        keys += [o["Key"] for o in page.get("Contents", [])]
    t_list = time.perf_counter() - t0

    def get(key: str):
        r = json.loads(s3.get_object(Bucket=args.bucket, Key=key)["Body"].read())
        # times compare as instants: parse, do not trust their text form
        when = dt.datetime.fromisoformat(r["checked_at"].replace("Z", "+00:00"))
        return r["pipeline"], r["partition"], when, r["run_id"], r["verdict"]

    with ThreadPoolExecutor(args.threads) as pool:
        recs = list(pool.map(get, keys, chunksize=64))
    out = newest_summary(recs)
    out.update(objects_listed=len(keys), list_s=round(t_list, 3),
               inner_s=round(time.perf_counter() - t0, 3))
    print(json.dumps(out))


def peer_s3_names(args) -> None:
    """Floor e: list each pipeline's prefix (names only), 16 threads, as parity does."""
    t0 = time.perf_counter()
    s3 = s3_client(args.endpoint, args.threads)
    root = args.prefix + "/v1/"
    pipes = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=root,
                                                             Delimiter="/"):
        pipes += [c["Prefix"] for c in page.get("CommonPrefixes", [])]

    def names(prefix: str) -> int:
        n = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket,
                                                                 Prefix=prefix):
            n += len(page.get("Contents", []))
        return n

    with ThreadPoolExecutor(args.threads) as pool:
        n = sum(pool.map(names, pipes))
    print(json.dumps({"pipelines": len(pipes), "objects_listed": n,
                      "inner_s": round(time.perf_counter() - t0, 3)}))


def peer_duckdb(args) -> None:
    """Peer d: DuckDB reads every local record and keeps the newest verdict per partition."""
    import duckdb
    t0 = time.perf_counter()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    glob = str(Path(args.ledger) / "v1" / "*" / "*" / "*.json")
    q = f"""
        WITH r AS (
            SELECT pipeline, "partition", verdict, checked_at::TIMESTAMPTZ AS checked_at, run_id
            FROM read_json_auto('{glob}', hive_partitioning = false)
        ), newest AS (
            SELECT pipeline, "partition", count(*) AS records,
                   arg_max(verdict, (checked_at, run_id)) AS verdict
            FROM r GROUP BY pipeline, "partition"
        )
        SELECT verdict, count(*) AS partitions, sum(records) AS records
        FROM newest GROUP BY verdict ORDER BY verdict
    """
    rows = con.execute(q).fetchall()
    print(json.dumps({
        "records": int(sum(r[2] for r in rows)),
        "partitions": int(sum(r[1] for r in rows)),
        "newest_verdicts": {r[0]: int(r[1]) for r in rows},
        "inner_s": round(time.perf_counter() - t0, 3),
    }))


# ------------------------------------------------------------------------------- measurement

def measure(cmd: list[str], env: dict, out_path: Path, err_path: Path) -> dict:
    """Run cmd once; wall time (our clock), peak RSS and exit code."""
    use_time = os.access("/usr/bin/time", os.X_OK)
    tf = out_path.with_suffix(".time")
    full = ["/usr/bin/time", "-v", "-o", str(tf)] + cmd if use_time else cmd
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = ru.ru_maxrss  # of /usr/bin/time itself when used; replaced below
    rc = proc.returncode
    if use_time:
        text = tf.read_text()
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("Maximum resident set size"):
                rss_kb = int(line.split(":")[1])
            elif line.startswith("Exit status"):
                rc = int(line.split(":")[1])
    return {"wall": wall, "rss_mib": rss_kb / 1024, "rc": rc}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def count_requests(log_text: str, bucket: str) -> Counter:
    """S3 requests in a slice of moto's access log (path-style URLs): list, get, other."""
    n: Counter = Counter()
    for line in log_text.splitlines():
        i = line.find('"')
        parts = line[i + 1:].split(" ") if i >= 0 else []
        if len(parts) < 2 or parts[0] not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
            continue
        path, _, query = parts[1].partition("?")
        if path.rstrip("/") == f"/{bucket}" and parts[0] == "GET":
            n["list"] += 1
        elif path.startswith(f"/{bucket}/") and parts[0] == "GET":
            n["get"] += 1
        else:
            n["other"] += 1
    return n


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


# -------------------------------------------------------------------------------------- checks

def check_report(rep: dict, manifest: dict) -> list[str]:
    bad = []
    exp_all = manifest["expected"]
    got = {p["id"]: p for p in rep.get("pipelines", [])}
    if set(got) != set(exp_all):
        bad.append(f"pipelines: report has {len(got)}, inventory {len(exp_all)}")
    want_states = {s: 0 for s in STATES}
    want_states.update(manifest["states"])
    # Since report schema 2, `states` counts the pipelines in scope and `not_migrating` the
    # ones out of it.
    got_states = {s: rep.get("states", {}).get(s) for s in STATES}
    got_states["not_migrating"] = rep.get("not_migrating")
    if got_states != want_states:
        bad.append(f"states: report {got_states}, planted {want_states}")
    for pid, exp in exp_all.items():
        p = got.get(pid)
        if p is None:
            continue
        div = (p.get("newest_divergence") or {}).get("partition")
        blk = (p.get("blocking") or {}).get("partition")
        pairs = [("state", p.get("state"), exp["state"]),
                 ("streak", p.get("streak"), exp["streak"]),
                 ("newest_partition", p.get("newest_partition"), exp["newest_partition"]),
                 ("checked_partitions", p.get("checked_partitions"),
                  exp["checked_partitions"]),
                 ("newest_divergence.partition", div, exp["newest_divergence"]),
                 ("blocking.partition", blk, exp["blocking_partition"])]
        if "earlier_config_records" in p:  # in parity's report since the digest rule
            pairs.append(("earlier_config_records", p["earlier_config_records"],
                          exp["earlier_config_records"]))
        for what, g, w in pairs:
            if g != w:
                bad.append(f"{pid} (planted {exp['kind']}): {what} is {g!r}, expected {w!r}")
        if exp["kind"] == "blocked_diverged":
            b = p.get("blocking") or {}
            if not (b.get("verdict") == "diverged" and b.get("counts", {}).get("changed_rows")
                    and b.get("samples", {}).get("changed")):
                bad.append(f"{pid}: blocking finding lacks the diverged record's counts or "
                           f"samples: {json.dumps(b)[:200]}")
    want_decision = "GO" if manifest["states"].get("ready") == manifest["pipelines"] else "NO-GO"
    if rep.get("decision") != want_decision:
        bad.append(f"decision {rep.get('decision')!r}, expected {want_decision!r}")
    return bad


def check_peer(name: str, out: dict, manifest: dict) -> list[str]:
    bad = []
    for k in ("records", "partitions", "newest_verdicts"):
        want = manifest["records"] if k == "records" else (
            manifest["partitions_with_records"] if k == "partitions" else
            manifest["newest_verdicts"])
        if out.get(k) != want:
            bad.append(f"{name}: {k} is {out.get(k)!r}, generator wrote {want!r}")
    return bad


# ------------------------------------------------------------------------------------- the run

def env_info(bin_path: str) -> dict:
    def ver(mod):
        try:
            return __import__(mod).__version__
        except Exception:
            return "?"
    info = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "python": platform.python_version(),
            "moto": ver("moto"), "boto3": ver("boto3"), "duckdb": ver("duckdb")}
    try:
        info["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                           if l.startswith("model name"))
    except Exception:
        info["cpu"] = platform.processor() or "?"
    try:
        v = subprocess.run([bin_path, "--version"], capture_output=True, text=True, timeout=20)
        info["parity"] = v.stdout.strip()
    except Exception:
        info["parity"] = "?"
    return info


def run(args) -> int:
    here = Path(__file__).resolve()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "runs"
    raw.mkdir(exist_ok=True)
    setup = {"venv_s": args.setup_venv_s, "moto_start_s": args.setup_moto_s}

    t0 = time.perf_counter()
    manifest = generate(work, args.pipelines, args.days, args.seed, args.bin)
    setup["generate_s"] = time.perf_counter() - t0
    log(f"generated {manifest['records']} records ({manifest['partitions_with_records']} "
        f"partitions + {manifest['rechecks']} rechecks + {manifest['earlier_config_records']} "
        f"under an earlier config digest, {manifest['gaps']} gaps, "
        f"{manifest['bytes'] / 2**20:.1f} MiB) in {setup['generate_s']:.1f} s; planted "
        f"states {manifest['states']}")

    t0 = time.perf_counter()
    n = upload(work / "ledger", args.endpoint, args.bucket, args.prefix, args.upload_threads)
    setup["upload_s"] = time.perf_counter() - t0
    log(f"uploaded {n} objects to s3://{args.bucket}/{args.prefix} in {setup['upload_s']:.1f} s "
        f"({args.upload_threads} threads)")
    if n != manifest["records"]:
        die(f"uploaded {n} objects, generated {manifest['records']}")

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    s3_env = dict(base_env, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                  AWS_REGION="us-east-1", AWS_ENDPOINT_URL=args.endpoint,
                  AWS_ALLOW_HTTP="true")
    inv = str(work / "parity.toml")
    report = [args.bin, "report", "-c", inv, "--as-of", manifest["as_of"], "--format", "json"]
    py = [sys.executable, str(here)]
    s3_args = ["--endpoint", args.endpoint, "--bucket", args.bucket, "--prefix", args.prefix,
               "--threads", "16"]
    cases = [
        ("a", "parity report, S3 (moto)", "parity",
         report + ["--ledger", f"s3://{args.bucket}/{args.prefix}"], s3_env),
        ("b", "parity report, local disk", "parity",
         report + ["--ledger", str(work / "ledger")], base_env),
        ("c", "peer: boto3 list + GET + parse all, 16 threads", "peer",
         py + ["peer-s3"] + s3_args, base_env),
        ("d", "peer: DuckDB read_json_auto, local disk", "peer",
         py + ["peer-duckdb", "--ledger", str(work / "ledger")], base_env),
        ("e", "per-pipeline listing: boto3 lists each pipeline prefix, names only, 16 threads", "floor",
         py + ["peer-s3-names"] + s3_args, base_env),
    ]

    moto_log = Path(args.moto_log) if args.moto_log else None
    load_before = loadavg()
    results: dict[str, list[dict]] = defaultdict(list)
    outputs: dict[str, Path] = {}
    bad: list[str] = []
    for r in range(1, args.runs + 1):
        for cid, _, _, cmd, env in cases:
            out, err = raw / f"{cid}.{r}.out", raw / f"{cid}.{r}.err"
            log_at = moto_log.stat().st_size if moto_log else 0
            m = measure(cmd, env, out, err)
            if moto_log:
                time.sleep(0.2)  # the server logs a request after answering it
                with open(moto_log, "rb") as f:
                    f.seek(log_at)
                    m["requests"] = count_requests(f.read().decode(errors="replace"),
                                                   args.bucket)
            results[cid].append(m)
            outputs[cid] = out
            reqs = m.get("requests") or {}
            log(f"  {cid} run {r}/{args.runs}: {m['wall']:8.3f} s {m['rss_mib']:8.1f} MiB "
                f"exit {m['rc']}" + (f"  S3 list {reqs.get('list', 0)} get {reqs.get('get', 0)}"
                                     if reqs else ""))
            if m["rc"] != 0:
                tail = err.read_text(errors="replace").strip().splitlines()[-5:]
                die(f"case {cid} exited {m['rc']}: " + " | ".join(tail))
            if r == 1:  # check every answer once, early: a wrong one is not worth timing
                try:
                    data = json.loads(out.read_text())
                except ValueError as e:
                    die(f"case {cid}: output is not JSON ({e}); see {out}")
                if cid in ("a", "b"):
                    bad += [f"{cid}: {b}" for b in check_report(data, manifest)]
                elif cid in ("c", "d"):
                    bad += check_peer(f"peer {cid}", data, manifest)
                elif data.get("objects_listed") != manifest["records"]:
                    bad.append(f"floor e: listed {data.get('objects_listed')} objects")

    # the report must be the same whichever store holds the ledger (but for its URLs)
    ja, jb = (json.loads(outputs[c].read_text()) for c in ("a", "b"))

    def strip(j: dict) -> dict:
        text = json.dumps({k: v for k, v in j.items() if k != "ledger"})
        for url in (f"s3://{args.bucket}/{args.prefix}", "file://" + str(work / "ledger")):
            text = text.replace(url, "LEDGER")
        return json.loads(text)

    if strip(ja) != strip(jb):
        bad.append("a vs b: the S3 and the local report differ beyond the ledger's URL")

    setup["load"] = f"{load_before} before, {loadavg()} after"
    for b in bad:
        print(f"MISMATCH {b}", flush=True)

    # ---- table
    inner = {}
    for cid in ("c", "d", "e"):
        inner[cid] = median([json.loads((raw / f"{cid}.{r}.out").read_text())["inner_s"]
                             for r in range(1, args.runs + 1)])
    ref_wall = median([m["wall"] for m in results["c"]])
    ref_rss = median([m["rss_mib"] for m in results["c"]])
    rows = []
    for cid, what, role, _, _ in cases:
        walls = [m["wall"] for m in results[cid]]
        rss = [m["rss_mib"] for m in results[cid]]
        rows.append({"case": cid, "what": what, "role": role,
                     "wall": median(walls), "wall_min": min(walls), "wall_max": max(walls),
                     "rss": median(rss), "rss_max": max(rss),
                     "wall_ratio": median(walls) / ref_wall, "rss_ratio": median(rss) / ref_rss,
                     "inner": inner.get(cid),
                     "requests": results[cid][-1].get("requests") or {}})
    info = env_info(args.bin)
    info["parity_built"] = args.bin_built or "?"
    md = render(rows, manifest, setup, info, args, bad, ja)
    Path(args.out).write_text(md)
    print()
    print(render_terminal(rows, args.runs))
    print()
    s = setup
    print(f"setup (not timed): venv {s['venv_s']:.1f} s, moto start {s['moto_start_s']:.1f} s, "
          f"generate {s['generate_s']:.1f} s, upload {s['upload_s']:.1f} s "
          f"({manifest['records']} objects, {args.upload_threads} threads)")
    print(f"load average: {s['load']} ({os.cpu_count()} CPUs)")
    print(f"parity: {args.bin_source or args.bin} ({args.build} build, "
          f"{info.get('parity')}, built {info.get('parity_built')})")
    print(f"answers: {'MISMATCH (' + str(len(bad)) + ')' if bad else 'all right'}")
    print(f"results: {args.out}")
    print(f"raw outputs: {raw}" if args.keep else "raw outputs removed (--keep keeps them)")
    return 1 if bad else 0


def requests_text(reqs: dict) -> str:
    return f"{reqs.get('list', 0)} / {reqs.get('get', 0)}" if reqs else ""


def render_terminal(rows: list[dict], runs: int) -> str:
    head = (f"{'case':<4} {'what':<68} {'wall s':>8} {'min-max':>15} {'RSS MiB':>8} "
            f"{'wall/c':>7} {'RSS/c':>6} {'S3 list/get':>13}")
    lines = [f"median of {runs} runs", head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:<4} {r['what']:<68} {r['wall']:8.3f} "
                     f"{r['wall_min']:6.3f}-{r['wall_max']:<8.3f} {r['rss']:8.1f} "
                     f"{r['wall_ratio']:7.3f} {r['rss_ratio']:6.2f} "
                     f"{requests_text(r['requests']):>13}")
    return "\n".join(lines)


def render(rows, manifest, setup, info, args, bad, rep) -> str:
    m = manifest
    read = len({f["record"] for p in rep["pipelines"]
                for f in (p.get("newest_divergence"), p.get("blocking")) if f})
    out = [
        f"# `parity report` on a {m['pipelines']} x {m['days']} ledger in S3 (moto)",
        "",
        f"{m['pipelines']} daily pipelines x {m['days']} partitions ({m['first_day']} .. "
        f"{m['last_day']}), report as of {m['as_of']}: {m['records']} records "
        f"({m['partitions_with_records']} partitions with a record + {m['rechecks']} rechecks "
        f"+ {m['earlier_config_records']} records under an earlier config digest, of "
        f"{m['reconfigured_pipelines']} pipelines whose settings changed; {m['gaps']} "
        f"partitions without a record), {m['bytes'] / 2**20:.1f} MiB of JSON, "
        f"{m['diverged_records']} diverged records. Seed {m['seed']}.",
        "",
        f"Median of {args.runs} runs per case; wall time by our clock, peak RSS by "
        "`/usr/bin/time -v` (the process tree's largest process). Ratios are to peer c.",
        "",
        "| case | what | wall s | min–max s | peak RSS MiB | wall ÷ c | RSS ÷ c | inner s "
        "| S3 requests list / get |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        inner = f"{r['inner']:.3f}" if r["inner"] is not None else ""
        out.append(f"| {r['case']} | {r['what']} | {r['wall']:.3f} | {r['wall_min']:.3f}–"
                   f"{r['wall_max']:.3f} | {r['rss']:.1f} | {r['wall_ratio']:.3f} | "
                   f"{r['rss_ratio']:.2f} | {inner} | {requests_text(r['requests'])} |")
    out += [
        "",
        "*inner s*: the peer's own time for its work, without the Python interpreter's start "
        "and imports. *S3 requests*: counted in moto's access log during the last run.",
        "",
        f"States in parity's report: {json.dumps({k: v for k, v in rep['states'].items() if v})}"
        f", decision {rep['decision']}. Planted: "
        f"{json.dumps(dict(sorted(m['states'].items())))}. Records behind the report's findings "
        f"(newest divergence, blocking check): {read}, so {read} GETs is the least a reader "
        "needs.",
        "",
        f"Answers: {'**MISMATCH**: ' + '; '.join(bad[:10]) if bad else 'all right'} "
        "(states, streaks, newest partitions and findings of every pipeline; peers' record "
        "counts and newest verdicts).",
        "",
        "Setup, not timed: "
        f"venv {setup['venv_s']:.1f} s, moto start {setup['moto_start_s']:.1f} s, "
        f"generate {setup['generate_s']:.1f} s, upload {setup['upload_s']:.1f} s "
        f"({args.upload_threads} threads).",
        "",
        f"parity: `{info.get('parity')}`, {args.build} build of {info.get('parity_built')}. "
        f"moto {info['moto']}, "
        f"boto3 {info['boto3']}, DuckDB {info['duckdb']}, Python {info['python']}. "
        f"{info['cpu']}, {info['nproc']} CPUs, load average {setup.get('load', '?')}. "
        f"{info['date']}.",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--build", default="?")
    r.add_argument("--bin-source", help="where the measured copy of the binary came from")
    r.add_argument("--bin-built", help="the source binary's time when it was copied")
    r.add_argument("--moto-log", help="moto's access log, to count each case's requests")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--bucket", default="parity-bench-ledger")
    r.add_argument("--prefix", default="ledger")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--pipelines", type=int, default=200)
    r.add_argument("--days", type=int, default=90)
    r.add_argument("--seed", type=int, default=20261130)
    r.add_argument("--upload-threads", type=int, default=32)
    r.add_argument("--setup-venv-s", type=float, default=0.0)
    r.add_argument("--setup-moto-s", type=float, default=0.0)
    r.add_argument("--keep", action="store_true")
    for name in ("peer-s3", "peer-s3-names"):
        p = sub.add_parser(name)
        p.add_argument("--endpoint", required=True)
        p.add_argument("--bucket", required=True)
        p.add_argument("--prefix", required=True)
        p.add_argument("--threads", type=int, default=16)
    p = sub.add_parser("peer-duckdb")
    p.add_argument("--ledger", required=True)
    p.add_argument("--threads", type=int, default=0, help="0: DuckDB's default")
    g = sub.add_parser("gen", help="only generate WORK/parity.toml and WORK/ledger")
    g.add_argument("--work", required=True)
    g.add_argument("--pipelines", type=int, default=200)
    g.add_argument("--days", type=int, default=90)
    g.add_argument("--seed", type=int, default=20261130)
    g.add_argument("--bin", required=True, help="parity, to learn the config digests")
    args = ap.parse_args()
    if args.cmd == "run":
        return run(args)
    if args.cmd == "peer-s3":
        peer_s3(args)
    elif args.cmd == "peer-s3-names":
        peer_s3_names(args)
    elif args.cmd == "peer-duckdb":
        peer_duckdb(args)
    elif args.cmd == "gen":
        m = generate(Path(args.work), args.pipelines, args.days, args.seed, args.bin)
        print(json.dumps({k: v for k, v in m.items() if k != "expected"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
