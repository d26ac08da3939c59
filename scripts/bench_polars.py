#!/usr/bin/env python3
"""Polars reference for scripts/bench (optional peer). Prints one JSON object on stdout.

  bench_polars.py diff LEFT RIGHT --key id --abs-tol 1e-9

Lazy scans; only_left / only_right by anti-joins, changed rows by an inner join with
null-safe comparisons (ne_missing), floats: null vs value is a change, else |l - r| > tol.
Same semantics as bench_duckdb.py. Threads: POLARS_MAX_THREADS (scripts/bench sets 2).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import polars as pl


def scan(p: str) -> pl.LazyFrame:
    if os.path.isdir(p):
        p = os.path.join(p, "*.parquet")
    lf = pl.scan_parquet(p)
    # dictionary columns arrive as Categorical; compare them as strings across the two files
    sch = lf.collect_schema()
    casts = [pl.col(c).cast(pl.String) for c, t in sch.items()
             if isinstance(t, (pl.Categorical, pl.Enum))]
    return lf.with_columns(casts) if casts else lf


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=["diff"])
    ap.add_argument("left")
    ap.add_argument("right")
    ap.add_argument("--key", default="id")
    ap.add_argument("--abs-tol", type=float, default=1e-9)
    a = ap.parse_args()
    keys = [k.strip() for k in a.key.split(",")]
    t0 = time.monotonic()
    l, r = scan(a.left), scan(a.right)
    lsch, rsch = l.collect_schema(), r.collect_schema()
    common = [c for c in lsch.names() if c in rsch.names() and c not in keys]
    try:  # null-safe key match; the argument was called join_nulls before polars 1.24
        l.join(r, on=keys, how="anti", nulls_equal=True)
        nulls = {"nulls_equal": True}
    except TypeError:
        nulls = {"join_nulls": True}
    only_left = l.join(r.select(keys), on=keys, how="anti", **nulls).select(pl.len())
    only_right = r.join(l.select(keys), on=keys, how="anti", **nulls).select(pl.len())
    j = l.join(r, on=keys, how="inner", suffix="__r", **nulls)
    preds = {}
    for c in common:
        lc, rc = pl.col(c), pl.col(c + "__r")
        if lsch[c].is_float() or rsch[c].is_float():
            preds[c] = (lc.is_null() != rc.is_null()) | ((lc - rc).abs() > a.abs_tol).fill_null(False)
        else:
            preds[c] = lc.ne_missing(rc)
    any_change = pl.any_horizontal(list(preds.values())) if preds else pl.lit(False)
    changed = j.select(
        [any_change.sum().alias("changed_rows"), pl.len().alias("matched")]
        + [p.sum().alias("col_" + c) for c, p in preds.items()])
    ol, orr, ch = pl.collect_all([only_left, only_right, changed])
    row = ch.row(0, named=True)
    print(json.dumps({
        "tool": "polars",
        "polars": pl.__version__,
        "threads": pl.thread_pool_size(),
        "only_left": int(ol.item()),
        "only_right": int(orr.item()),
        "changed_rows": int(row["changed_rows"]),
        "matched": int(row["matched"]),
        "changed_by_column": {c: int(row["col_" + c]) for c in preds},
        "query_seconds": round(time.monotonic() - t0, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
