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

# ratio targets: (case, metric, peer tool, limit)
TARGETS = [
    ("diff", "wall", "duckdb", 0.5),
    ("diff", "rss", "duckdb", 0.25),
    ("identical", "wall", "b3sum", 1.25),  # >= 80% of b3sum's speed
    ("equivalent", "wall", "duckdb", 1.2),
]
CASE_DESC = {
    "diff": "keyed diff (1% del, 1% ins, 2% changed, 5% float noise)",
    "identical": "byte-identical pair",
    "equivalent": "logically identical, bytes differ",
}
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-tsv", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--env", default="{}", help="JSON object: versions and machine facts")
    ap.add_argument("--skip-parity", action="store_true")
    a = ap.parse_args()

    manifest = json.load(open(a.manifest))
    env = json.loads(a.env)
    runs = load_runs(a.runs_tsv)
    exp = manifest["expected"]
    checks = []  # (ok: bool|None, text)

    def check(ok, text):
        checks.append((ok, text))

    def parity_wrong(case):
        return any(ok is False and t.startswith(case + "/parity") for ok, t in checks)

    def last_json(case, tool):
        rs = runs.get((case, tool))
        return parse_json_output(rs[-1]["out"]) if rs else None

    def exit_codes(case, tool):
        return sorted({r["rc"] for r in runs.get((case, tool), [])})

    # ---- correctness ---------------------------------------------------------------
    for (case, tool), rs in runs.items():
        want = {1} if (case, tool) == ("diff", "parity") else {0}
        got = set(exit_codes(case, tool))
        if got != want:
            errs = open(rs[-1]["err"], errors="replace").read().strip().splitlines()[-5:]
            check(False, f"{case}/{tool}: exit code(s) {sorted(got)}, expected {sorted(want)}"
                         + (": " + " | ".join(errs) if errs else ""))

    duck = last_json("diff", "duckdb")
    duck_c = counts_of(duck) if duck else None
    exp_c = {k: exp[k] for k in ("only_left", "only_right", "changed_rows")}
    if duck_c is not None:
        ok = duck_c == exp_c and duck.get("changed_by_column") == exp["changed_by_column"]
        check(ok, f"diff/duckdb vs generator: {fmt_counts(duck_c)} "
                  f"(query alone {duck.get('query_seconds')} s in-process)"
                  + ("" if ok else f" (generator: {fmt_counts(exp_c)}, per column "
                                   f"{duck.get('changed_by_column')} vs {exp['changed_by_column']})"))
    ref_c = duck_c or exp_c
    pol = last_json("diff", "polars")
    if pol is not None:
        pc = counts_of(pol)
        check(pc == ref_c, f"diff/polars vs duckdb: {fmt_counts(pc)}")
    if ("diff", "parity") in runs:
        pj = last_json("diff", "parity")
        if pj is None:
            check(False, "diff/parity: output is not JSON -> MISMATCH (cannot compare counts)")
        else:
            pc = counts_of(pj)
            ok = pc == ref_c
            check(ok, f"diff/parity vs duckdb: {fmt_counts(pc)}"
                      + ("" if ok else f"  <-- MISMATCH, duckdb says {fmt_counts(ref_c)}"))
            cells = find_key(pj, ["changed_cells", "changed_by_column", "column_mismatches"])
            if isinstance(cells, dict) and duck is not None:
                got = {k: as_count(v) for k, v in cells.items() if as_count(v)}
                want = {k: v for k, v in duck.get("changed_by_column", {}).items() if v}
                check(got == want, f"diff/parity per-column changes vs duckdb: {got}"
                                   + ("" if got == want else f"  <-- MISMATCH, duckdb says {want}"))
            v = find_key(pj, ALIASES["verdict"])
            check(v in ("diverged",), f"diff/parity verdict: {v!r} (expected 'diverged': "
                                      "changes beyond the tolerance)")
    b3 = runs.get(("identical", "b3sum"))
    if b3:
        sums = {}
        for line in open(b3[-1]["out"]):
            parts = line.split(None, 1)
            if len(parts) == 2:
                path = parts[1].strip()
                sums.setdefault(os.path.basename(path), set()).add(parts[0])
        ok = bool(sums) and all(len(s) == 1 for s in sums.values())
        check(ok, f"identical/b3sum: {len(sums)} file names, equal hashes on both sides: {ok}")
    eq = last_json("equivalent", "duckdb")
    if eq is not None:
        check(eq.get("equal") is True,
              f"equivalent/duckdb scan+hash: left {eq['left']['rows']} rows, "
              f"right {eq['right']['rows']} rows, fingerprints equal: {eq.get('equal')} "
              f"(query alone {eq.get('query_seconds')} s in-process)")
    for case, want in (("identical", "identical"), ("equivalent", "equivalent")):
        if (case, "parity") in runs:
            pj = last_json(case, "parity")
            v = find_key(pj, ALIASES["verdict"]) if pj is not None else None
            check(v == want, f"{case}/parity verdict: {v!r} (expected {want!r})"
                             + ("" if v == want else "  <-- MISMATCH"))

    # ---- table ---------------------------------------------------------------------
    agg = OrderedDict()
    for (case, tool), rs in runs.items():
        best = min(rs, key=lambda r: r["wall"])
        agg[(case, tool)] = {"wall": best["wall"], "cpu": best["cpu"],
                             "rss": max(r["rss_mib"] for r in rs), "n": len(rs),
                             "rc": exit_codes(case, tool)}
    rows = []
    for (case, tool), m in agg.items():
        rows.append([case, tool, f"{m['wall']:.3f}", f"{m['cpu']:.2f}", f"{m['rss']:.0f}",
                     ",".join(map(str, m["rc"]))])
    ratios = []
    for case, metric, peer, limit in TARGETS:
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
        status = "PASS" if r <= limit else "MISS"
        if parity_wrong(case):
            status = "INVALID (wrong answer)"
        ratios.append([case, f"{metric} parity/{peer}", f"{r:.2f}x", f"<= {limit}x", status,
                       round_ratios(runs, case, peer, metric)])
    for case, metric in (("diff", "wall"), ("diff", "rss")):  # informative, no target
        p, q = agg.get((case, "parity")), agg.get((case, "polars"))
        if p and q and q[metric] > 0:
            ratios.append([case, f"{metric} parity/polars", f"{p[metric] / q[metric]:.2f}x", "-", "info",
                           round_ratios(runs, case, "polars", metric)])

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
    h2 = ["case", "ratio", "value", "target", "status", "round by round (median)"]
    ok_all = all(ok is not False for ok, _ in checks)
    check_lines = [("ok      " if ok else "MISMATCH" if ok is False else "info    ") + "  " + t
                   for ok, t in checks]

    rows_n = manifest["rows"]
    mib = {k: v / 2**20 for k, v in manifest["bytes"].items()}
    print()
    print(f"== parity benchmark: {rows_n:,} rows; diff left {mib['diff_left']:.0f} MiB "
          f"(snappy, 4 files), right {mib['diff_right']:.0f} MiB (zstd, 5 files)")
    print(table(h1, rows, False))
    print()
    print(table(h2, ratios, False) if ratios else "(no ratios: parity or peers not run)")
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
              f"b3sum {env.get('b3sum', '?')}; pyarrow {manifest.get('pyarrow')}")
    md.append(f"- data: diff left {mib['diff_left']:.0f} MiB (snappy, 4 files, 1M-row groups), "
              f"diff right {mib['diff_right']:.0f} MiB (zstd, 5 files, 128k-row groups), "
              f"equivalent right {mib['equiv_right']:.0f} MiB (zstd, 3 files, reshuffled); "
              f"generated in {manifest['gen_seconds']:.0f} s")
    md.append(f"- expected: only_left {exp['only_left']:,}, only_right {exp['only_right']:,}, "
              f"changed_rows {exp['changed_rows']:,} (+{exp['noise_only_rows']:,} rows with "
              "float noise <= 1e-10 on amount, under the 1e-9 tolerance)")
    md.append("- wall: best of the runs; RSS: the highest peak over the runs "
              "(`/usr/bin/time -v`); peers run as Python scripts, so their figures include "
              "the interpreter's start (~0.1-0.3 s, ~50-100 MiB)")
    md.append("")
    md.append("Cases: " + "; ".join(f"**{k}** = {v}" for k, v in CASE_DESC.items()))
    md += ["", table(h1, rows, True), "", table(h2, ratios, True) if ratios else "", "",
           "## Checks", ""]
    md += [f"- {'✅' if ok else '❌ **MISMATCH**' if ok is False else 'ℹ️'} {t}" for ok, t in checks]
    with open(a.markdown, "w") as f:
        f.write("\n".join(md) + "\n")
    with open(a.json, "w") as f:
        json.dump({"rows": rows_n, "env": env, "expected": exp,
                   "results": [{"case": c, "tool": t, **m} for (c, t), m in agg.items()],
                   "ratios": ratios, "checks": [{"ok": ok, "text": t} for ok, t in checks]},
                  f, indent=2)
    print(f"\nwrote {a.markdown}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
