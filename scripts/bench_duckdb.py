#!/usr/bin/env python3
"""DuckDB reference for scripts/bench. Prints one JSON object on stdout.

  bench_duckdb.py diff LEFT RIGHT --key id --abs-tol 1e-9 [--threads 2]
      null-safe FULL OUTER JOIN on the key; counts only_left, only_right, changed_rows and
      changed rows per column. Non-float columns: IS DISTINCT FROM (null vs value is a change,
      null vs null is not). Float columns: null vs value is a change, else abs(l - r) > tol.

  bench_duckdb.py scanhash LEFT RIGHT [--threads 2]
      order-insensitive fingerprint of each side: count(*) and sum(hash(all columns)).
      The reference for the logically identical (equivalent) pair.

LEFT/RIGHT are folders of Parquet files (read as one table each) or glob patterns.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import duckdb

FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8"}


def source(p: str) -> str:
    if os.path.isdir(p):
        p = os.path.join(p, "*.parquet")
    return "read_parquet(" + "'" + p.replace("'", "''") + "')"


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(threads: int, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def schema(con, src: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]


def diff(a) -> dict:
    con = connect(a.threads, a.memory_limit)
    ls, rs = source(a.left), source(a.right)
    lcols, rcols = schema(con, ls), schema(con, rs)
    keys = [k.strip() for k in a.key.split(",")]
    rtypes = dict(rcols)
    common = [(c, t) for c, t in lcols if c in rtypes and c not in keys]
    # only columns on both sides are compared; a schema difference is reported, not diffed
    schema_diff = {
        "only_left": [c for c, _ in lcols if c not in rtypes],
        "only_right": [c for c, _ in rcols if c not in dict(lcols)],
        "type_changed": [c for c, t in common if rtypes[c] != t],
    }
    tol = float(a.abs_tol)
    preds = {}
    for c, t in common:
        lc, rc = f"l.{qi(c)}", f"r.{qi(c)}"
        if t.upper() in FLOAT_TYPES or rtypes[c].upper() in FLOAT_TYPES:
            preds[c] = (f"(({lc} IS NULL) <> ({rc} IS NULL) OR "
                        f"coalesce(abs({lc} - {rc}) > {tol!r}::DOUBLE, false))")
        else:
            preds[c] = f"({lc} IS DISTINCT FROM {rc})"
    both = "l.__l AND r.__r"
    any_change = " OR ".join(preds.values()) or "false"
    join = " AND ".join(f"l.{qi(k)} IS NOT DISTINCT FROM r.{qi(k)}" for k in keys)
    per_col = ",\n  ".join(
        f"count(*) FILTER (WHERE {both} AND {p}) AS {qi('col_' + c)}" for c, p in preds.items())
    sql = f"""
SELECT
  count(*) FILTER (WHERE r.__r IS NULL) AS only_left,
  count(*) FILTER (WHERE l.__l IS NULL) AS only_right,
  count(*) FILTER (WHERE {both} AND ({any_change})) AS changed_rows,
  count(*) FILTER (WHERE {both}) AS matched{',' if per_col else ''}
  {per_col}
FROM (SELECT *, true AS __l FROM {ls}) l
FULL OUTER JOIN (SELECT *, true AS __r FROM {rs}) r
  ON {join}
"""
    t0 = time.monotonic()
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    row = dict(zip(names, cur.fetchone()))
    secs = time.monotonic() - t0
    return {
        "tool": "duckdb",
        "duckdb": duckdb.__version__,
        "threads": a.threads,
        "only_left": int(row["only_left"]),
        "only_right": int(row["only_right"]),
        "changed_rows": int(row["changed_rows"]),
        "matched": int(row["matched"]),
        "changed_by_column": {c: int(row["col_" + c]) for c in preds},
        "schema_diff": schema_diff,
        "query_seconds": round(secs, 3),
        "sql": sql.strip() if a.show_sql else None,
    }


def scanhash(a) -> dict:
    con = connect(a.threads, a.memory_limit)
    out = {"tool": "duckdb", "duckdb": duckdb.__version__, "threads": a.threads}
    t0 = time.monotonic()
    for side, p in (("left", a.left), ("right", a.right)):
        src = source(p)
        cols = ", ".join(qi(c) for c, _ in schema(con, src))
        n, h = con.execute(f"SELECT count(*), sum(hash({cols})) FROM {src}").fetchone()
        out[side] = {"rows": int(n), "hash_sum": str(h)}
    out["equal"] = out["left"] == out["right"]
    out["query_seconds"] = round(time.monotonic() - t0, 3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=["diff", "scanhash"])
    ap.add_argument("left")
    ap.add_argument("right")
    ap.add_argument("--key", default="id", help="key column(s), comma separated")
    ap.add_argument("--abs-tol", default="1e-9")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (default: DuckDB's)")
    ap.add_argument("--show-sql", action="store_true")
    a = ap.parse_args()
    res = diff(a) if a.mode == "diff" else scanhash(a)
    if res.get("sql") is None:
        res.pop("sql", None)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
