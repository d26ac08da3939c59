#!/usr/bin/env python3
"""Checks and result table for scripts/bench (not meant to be run by hand).

Reads the per-run measurements (TSV written by scripts/bench), the generator's manifest and the
tools' outputs; checks the answers agree (generator == DuckDB == Polars == parity, verdicts,
b3sum), prints the table and writes it as Markdown. Exit 1 if any answer is wrong (MISMATCH),
0 otherwise: a missed performance target is shown as MISS but does not fail the run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import OrderedDict

# the cases at the base size: the manifest's pair, parity's exit code and verdict, the targets
# as (metric, peer tool, limit on parity / peer)
CASES = OrderedDict([
    ("diff", {"pair": "diff", "exit": 1, "verdict": "diverged",
              "targets": [("wall", "duckdb", 0.8), ("rss", "duckdb", 0.3)],
              "desc": "keyed diff (1% deleted, 1% inserted, 2% changed, 5% float noise)"}),
    ("every", {"pair": "every", "exit": 1, "verdict": "diverged",
               "targets": [("wall", "duckdb", 1.0), ("rss", "duckdb", 0.5)],
               "desc": "the diff pair plus a load timestamp that differs in every row"}),
    ("half", {"pair": "half", "exit": 1, "verdict": "diverged",
              "targets": [("wall", "duckdb", 1.0)],
              "desc": "one column differs in half the rows"}),
    ("identical", {"pair": "ident", "exit": 0, "verdict": "identical",
                   "targets": [("wall", "b3sum", 1.25)],  # >= 80% of b3sum's speed
                   "desc": "byte-identical pair"}),
    ("equivalent", {"pair": "equiv", "exit": 0, "verdict": "equivalent",
                    "targets": [("wall", "duckdb", 1.2)],
                    "desc": "logically identical, bytes differ"}),
])
SCALED = {"exit": 1, "verdict": "diverged", "targets": []}  # diff@30M, diff@100M
LINEAR = 0.20  # per-row cost within +-20% of the base size's run just before it
SCALE_RSS_MIB = 1536  # peak RSS at the largest size
ALIASES = {
    "only_left": ["only_left", "only_in_left", "left_only", "rows_only_left", "only_legacy"],
    "only_right": ["only_right", "only_in_right", "right_only", "rows_only_right", "only_target"],
    "changed_rows": ["changed_rows", "rows_changed", "changed"],
    "verdict": ["verdict"],
}


def round_ratios(runs, case, peer, metric):
    """Wall ratios of the rounds in which both tools ran (they take turns), and their median:
    steadier than best against best when the machine's speed drifts. RSS is not per round."""
    if metric != "wall":
        return "-"
    mine = {r["run"]: r["wall"] for r in runs.get((case, "parity"), [])}
    theirs = {r["run"]: r["wall"] for r in runs.get((case, peer), [])}
    rs = [mine[n] / theirs[n] for n in sorted(mine) if n in theirs and theirs[n] > 0]
    if not rs:
        return "-"
    mid = sorted(rs)
    median = mid[len(mid) // 2] if len(mid) % 2 else (mid[len(mid) // 2 - 1] + mid[len(mid) // 2]) / 2
    return ", ".join(f"{r:.2f}" for r in rs) + f" ({median:.2f}x)"


def load_runs(path):
    runs = OrderedDict()
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            case, tool, run, wall, user, sys_, rss, rc, out, err = line.rstrip("\n").split("\t")
            runs.setdefault((case, tool), []).append({
                "run": int(run), "wall": float(wall), "cpu": float(user) + float(sys_),
                "rss_mib": int(rss) / 1024.0, "rc": int(rc), "out": out, "err": err})
    return runs


def parse_json_output(path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):  # JSON lines: take the last object that parses
        try:
            v = json.loads(line)
            if isinstance(v, dict):
                return v
        except ValueError:
            continue
    return None


def find_key(obj, names):
    """Breadth-first search for the first of `names` anywhere in a JSON value."""
    queue = [obj]
    while queue:
        cur = queue.pop(0)
        if isinstance(cur, dict):
            for n in names:
                if n in cur:
                    return cur[n]
            queue.extend(cur.values())
        elif isinstance(cur, list):
            queue.extend(cur)
    return None


def as_count(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return len(v)
    if isinstance(v, dict):
        for k in ("count", "rows", "total", "n"):
            if isinstance(v.get(k), int):
                return v[k]
    return None


def counts_of(obj):
    return {k: as_count(find_key(obj, ALIASES[k])) for k in ("only_left", "only_right", "changed_rows")}


def fmt_counts(c):
    return ", ".join(f"{k}={c.get(k)}" for k in ("only_left", "only_right", "changed_rows"))


def case_spec(case):
    return CASES.get(case) or (SCALED if case.startswith(("diff@", "base@")) else None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-tsv", required=True)
    ap.add_argument("--manifest", action="append", required=True,
                    help="a data set's manifest.json; the first is the base size")
    ap.add_argument("--skipped-size", action="append", default=[], type=int,
                    help="a size the disk had no room for")
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--env", default="{}", help="JSON object: versions and machine facts")
    ap.add_argument("--skip-parity", action="store_true")
    a = ap.parse_args()

    manifests = [json.load(open(m)) for m in a.manifest]
    by_rows = {m["rows"]: m for m in manifests}
    base = manifests[0]
    env = json.loads(a.env)
    runs = load_runs(a.runs_tsv)
    checks = check_answers(runs, base, by_rows)
    agg = aggregate(runs)
    ratios = ratio_rows(agg, runs, checks)
    scale = scale_rows(agg, checks, base, by_rows, a.skipped_size)
    return write_out(a, env, base, agg, ratios, scale, checks)


def case_manifest(case, base, by_rows):
    """The manifest and pair name whose data a case ran on."""
    if case.startswith("diff@"):
        rows = int(case[5:-1]) * 1_000_000
        return by_rows.get(rows), "diff"
    if case.startswith("base@"):  # the base-size pair, run again beside a larger size
        return base, "diff"
    return base, CASES[case]["pair"]


def check_answers(runs, base, by_rows):
    """(ok, text) for every answer: exit codes, counts against the generator and DuckDB,
    per-column counts, verdicts, the byte copy's hashes."""
    checks = []

    def check(ok, text):
        checks.append((ok, text))

    def last_json(case, tool):
        rs = runs.get((case, tool))
        return parse_json_output(rs[-1]["out"]) if rs else None

    for (case, tool), rs in runs.items():
        spec = case_spec(case)
        want = {spec["exit"]} if tool == "parity" and spec else {0}
        got = {r["rc"] for r in rs}
        if got != want:
            errs = open(rs[-1]["err"], errors="replace").read().strip().splitlines()[-5:]
            check(False, f"{case}/{tool}: exit code(s) {sorted(got)}, expected {sorted(want)}"
                         + (": " + " | ".join(errs) if errs else ""))
    keyed = [c for c in dict.fromkeys(c for c, _ in runs) if c not in ("identical", "equivalent")]
    for case in keyed:
        manifest, pair = case_manifest(case, base, by_rows)
        exp = manifest["expected"][pair]
        exp_c = {k: exp[k] for k in ("only_left", "only_right", "changed_rows")}
        exp_cols = {k: v for k, v in exp["changed_by_column"].items() if v}
        for tool in ("duckdb", "polars", "parity"):
            out = last_json(case, tool)
            if (case, tool) not in runs:
                continue
            if out is None:
                check(False, f"{case}/{tool}: output is not JSON -> MISMATCH (cannot compare counts)")
                continue
            got = counts_of(out)
            cells = find_key(out, ["changed_by_column", "changed_cells"])
            cols = {k: as_count(v) for k, v in (cells or {}).items() if as_count(v)}
            ok = got == exp_c and (tool == "polars" or cols == exp_cols)
            extra = f" (query alone {out.get('query_seconds')} s in-process)" if tool == "duckdb" else ""
            check(ok, f"{case}/{tool} vs generator: {fmt_counts(got)}{extra}"
                      + ("" if ok else f"  <-- MISMATCH, the generator says {fmt_counts(exp_c)}, "
                                       f"per column {exp_cols} (got {cols})"))
            if tool == "parity":
                v = find_key(out, ALIASES["verdict"])
                check(v == "diverged", f"{case}/parity verdict: {v!r} (expected 'diverged': "
                                       "changes beyond the tolerance)")
    b3 = runs.get(("identical", "b3sum"))
    if b3:
        sums = {}
        for line in open(b3[-1]["out"]):
            parts = line.split(None, 1)
            if len(parts) == 2:
                sums.setdefault(os.path.basename(parts[1].strip()), set()).add(parts[0])
        ok = bool(sums) and all(len(s) == 1 for s in sums.values())
        check(ok, f"identical/b3sum: {len(sums)} file names, equal hashes on both sides: {ok}")
    eq = last_json("equivalent", "duckdb")
    if eq is not None:
        check(eq.get("equal") is True,
              f"equivalent/duckdb scan+hash: left {eq['left']['rows']} rows, "
              f"right {eq['right']['rows']} rows, fingerprints equal: {eq.get('equal')} "
              f"(query alone {eq.get('query_seconds')} s in-process)")
    for case in ("identical", "equivalent"):
        if (case, "parity") in runs:
            pj = last_json(case, "parity")
            want = CASES[case]["verdict"]
            v = find_key(pj, ALIASES["verdict"]) if pj is not None else None
            check(v == want, f"{case}/parity verdict: {v!r} (expected {want!r})"
                             + ("" if v == want else "  <-- MISMATCH"))
    return checks


def parity_wrong(checks, case):
    return any(ok is False and t.startswith(case + "/parity") for ok, t in checks)


def aggregate(runs):
    agg = OrderedDict()
    for (case, tool), rs in runs.items():
        best = min(rs, key=lambda r: r["wall"])
        agg[(case, tool)] = {"wall": best["wall"], "cpu": best["cpu"],
                             "rss": max(r["rss_mib"] for r in rs), "n": len(rs),
                             "rc": sorted({r["rc"] for r in rs})}
    return agg


def ratio_rows(agg, runs, checks):
    ratios = []
    for case, spec in CASES.items():
        for metric, peer, limit in spec["targets"]:
            p, q = agg.get((case, "parity")), agg.get((case, peer))
            if not q:
                continue
            if not p:
                ratios.append([case, f"{metric} parity/{peer}", "n/a", f"<= {limit}x", "skipped", "-"])
                continue
            if q[metric] <= 0:
                ratios.append([case, f"{metric} parity/{peer}", "n/a (peer 0)", f"<= {limit}x", "-", "-"])
                continue
            r = p[metric] / q[metric]
            status = "INVALID (wrong answer)" if parity_wrong(checks, case) else (
                "PASS" if r <= limit else "MISS")
            ratios.append([case, f"{metric} parity/{peer}", f"{r:.2f}x", f"<= {limit}x", status,
                           round_ratios(runs, case, peer, metric)])
    for metric in ("wall", "rss"):  # informative, no target
        p, q = agg.get(("diff", "parity")), agg.get(("diff", "polars"))
        if p and q and q[metric] > 0:
            ratios.append(["diff", f"{metric} parity/polars", f"{p[metric] / q[metric]:.2f}x", "-",
                           "info", round_ratios(runs, "diff", "polars", metric)])
    return ratios


def scale_rows(agg, checks, base, by_rows, skipped):
    """The keyed diff at each size: parity's per-row cost against the base size's run just
    before it (the target: the machine's speed drifts between the start of the script and the
    larger sizes) and against the base size's best, its peak RSS, DuckDB beside it with its own
    per-row cost against its run beside."""
    sizes = [(base["rows"], "diff")] + [
        (n, f"diff@{n // 1_000_000}M") for n in sorted(by_rows) if n > base["rows"]]
    if (len(sizes) == 1 and not skipped) or ("diff", "parity") not in agg:
        return []
    best0 = agg[("diff", "parity")]["wall"] / base["rows"]
    largest = max(n for n, _ in sizes)
    out = []
    for n, case in sizes:
        p, d = agg.get((case, "parity")), agg.get((case, "duckdb"))
        if not p:
            continue
        beside = case.replace("diff@", "base@") if case != "diff" else "diff"
        p0, d0 = agg.get((beside, "parity")), agg.get((beside, "duckdb"))
        per_row0 = p0["wall"] / base["rows"] if p0 else best0
        ratio = p["wall"] / n / per_row0
        status = [] if abs(ratio - 1) <= LINEAR else [f"per-row cost {ratio:.2f}x: MISS"]
        if n == largest and p["rss"] > SCALE_RSS_MIB:
            status.append(f"RSS above {SCALE_RSS_MIB} MiB: MISS")
        if parity_wrong(checks, case) or parity_wrong(checks, beside):
            status = ["INVALID (wrong answer)"]
        duck = (f"{d['wall'] / n / (d0['wall'] / base['rows']):.2f}x" if d and d0 else "-")
        out.append([f"{n:,}", f"{p['wall']:.1f}", f"{p['wall'] / n * 1e9:.0f}", f"{ratio:.2f}x",
                    f"{p['wall'] / n / best0:.2f}x", f"{p['rss']:.0f}",
                    f"{d['wall']:.1f}" if d else "-", duck,
                    f"{d['rss']:.0f}" if d else "-", "; ".join(status) or "PASS"])
    for n in skipped:
        out.append([f"{n:,}", "-", "-", "-", "-", "-", "-", "-", "-", "skipped: disk too small"])
    return out


def write_out(a, env, base, agg, ratios, scale, checks) -> int:
    def table(header, body, md):
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
        if md:
            lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in body]
        else:
            lines = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths))]
            lines.append("  ".join("-" * w for w in widths))
            lines += ["  ".join(str(x).ljust(w) for x, w in zip(r, widths)) for r in body]
        return "\n".join(lines)

    nruns = max((m["n"] for m in agg.values()), default=0)
    h1 = ["case", "tool", f"wall s (best of {nruns})", "cpu s", "peak RSS MiB (max)", "exit"]
    rows = [[case, tool, f"{m['wall']:.3f}", f"{m['cpu']:.2f}", f"{m['rss']:.0f}",
             ",".join(map(str, m["rc"]))] for (case, tool), m in agg.items()]
    h2 = ["case", "ratio", "value", "target", "status", "round by round (median)"]
    h3 = ["rows", "parity wall s", "ns per row", "per-row cost vs base run beside",
          "vs best base run", "parity RSS MiB", "DuckDB wall s",
          "DuckDB per-row cost vs its run beside", "DuckDB RSS MiB", "status"]
    ok_all = all(ok is not False for ok, _ in checks)
    check_lines = [("ok      " if ok else "MISMATCH" if ok is False else "info    ") + "  " + t
                   for ok, t in checks]

    rows_n = base["rows"]
    mib = {k: v / 2**20 for k, v in base["bytes"].items()}
    print()
    print(f"== parity benchmark: {rows_n:,} rows; diff left {mib['diff_left']:.0f} MiB, "
          f"right {mib['diff_right']:.0f} MiB")
    print(table(h1, rows, False))
    print()
    print(table(h2, ratios, False) if ratios else "(no ratios: parity or peers not run)")
    if scale:
        print(f"\nscale (per-row cost within +-{LINEAR:.0%} of the base size's run just before; "
              f"peak RSS <= {SCALE_RSS_MIB} MiB at the largest):")
        print(table(h3, scale, False))
    print()
    print("checks:")
    print("\n".join("  " + l for l in check_lines))
    if not ok_all:
        print("\n" + "!" * 72 + "\n!!! MISMATCH: at least one tool gave a wrong answer (see checks) !!!\n"
              + "!" * 72)
    if a.skip_parity:
        print("\n(parity skipped: --skip-parity)")

    md = [f"# parity benchmark — {rows_n:,} rows", ""]
    md.append(f"- when: {env.get('date', '?')}; machine: {env.get('cpu', '?')}, "
              f"{env.get('nproc', '?')} cores, {env.get('mem', '?')}")
    md.append(f"- parity: `{env.get('parity', 'skipped')}`; duckdb {env.get('duckdb', '?')} "
              f"(threads=2); polars {env.get('polars', 'not installed')}; "
              f"b3sum {env.get('b3sum', '?')}; pyarrow {base.get('pyarrow')}")
    md.append(f"- data: diff left {mib['diff_left']:.0f} MiB, diff right {mib['diff_right']:.0f} MiB")
    md.append("- wall: best of the runs; RSS: the highest peak over the runs "
              "(`/usr/bin/time -v`); peers run as Python scripts, so their figures include "
              "the interpreter's start (~0.1-0.3 s, ~50-100 MiB)")
    md.append("")
    md.append("Cases: " + "; ".join(f"**{k}** = {v['desc']}" for k, v in CASES.items()))
    md += ["", table(h1, rows, True), "", table(h2, ratios, True) if ratios else ""]
    if scale:
        md += ["", "## Scale", "", table(h3, scale, True)]
    md += ["", "## Checks", ""]
    md += [f"- {'✅' if ok else '❌ **MISMATCH**' if ok is False else 'ℹ️'} {t}" for ok, t in checks]
    with open(a.markdown, "w") as f:
        f.write("\n".join(md) + "\n")
    with open(a.json, "w") as f:
        json.dump({"rows": rows_n, "env": env, "expected": base["expected"],
                   "results": [{"case": c, "tool": t, **m} for (c, t), m in agg.items()],
                   "ratios": ratios, "scale": scale,
                   "checks": [{"ok": ok, "text": t} for ok, t in checks]},
                  f, indent=2)
    print(f"\nwrote {a.markdown}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
