#!/usr/bin/env python3
"""Build the large benchmark pairs for scripts/bench from the base pair (not meant to be run by
hand).

    bench_scale.py --base DIR/data-10000000 --rows 100000000 --out DIR/data-100000000

A pair of R rows is the base `diff` pair (B rows) taken R / B times, each copy under its own
keys: copy c adds c * 2B to every id (the base ids are below 2B: 2k on the left, 2k + 1 for a
row inserted on the right), so the copies never meet and every expected count is the base
count times R / B. Copies are written once into DIR/scale-copies and hard-linked into each
size's folder, so 30 M and 100 M share their first three copies on disk.

The copies keep the base files' codec and row-group size, one output file per input file:
the left side of 100 M rows is 40 snappy files, the right 50 zstd files.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def copy_file(src: str, dst: str, offset: int) -> None:
    """Write `src` to `dst` with `offset` added to the id column, same codec and row groups."""
    f = pq.ParquetFile(src)
    meta = f.metadata
    codec = meta.row_group(0).column(0).compression.lower()
    rows_per_group = meta.row_group(0).num_rows
    tmp = dst + ".tmp"
    with pq.ParquetWriter(tmp, f.schema_arrow, compression=codec) as w:
        for g in range(meta.num_row_groups):
            t = f.read_row_group(g)
            i = t.schema.get_field_index("id")
            t = t.set_column(i, t.schema.field(i), pc.add(t.column(i), pa.scalar(offset, pa.int64())))
            w.write_table(t, row_group_size=rows_per_group)
    os.replace(tmp, dst)


def ensure_copy(base: dict, copies_dir: str, c: int) -> dict[str, list[str]]:
    """The files of copy `c` for both sides, written if missing."""
    out = {}
    offset = c * 2 * base["rows"]
    for side in ("left", "right"):
        src_dir = base["pairs"]["diff"][side]
        dst_dir = os.path.join(copies_dir, side)
        os.makedirs(dst_dir, exist_ok=True)
        files = []
        for name in sorted(os.listdir(src_dir)):
            if not name.endswith(".parquet"):
                continue
            dst = os.path.join(dst_dir, f"copy{c:03d}-{name}")
            if not os.path.exists(dst):
                copy_file(os.path.join(src_dir, name), dst, offset)
            files.append(dst)
        out[side] = files
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--base", required=True, help="the base data folder (with manifest.json)")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    base = json.load(open(os.path.join(a.base, "manifest.json")))
    b = base["rows"]
    if a.rows % b or a.rows <= b:
        ap.error(f"--rows must be a multiple of the base's {b} rows, and larger")
    copies = a.rows // b
    manifest_path = os.path.join(a.out, "manifest.json")
    if os.path.exists(manifest_path):
        m = json.load(open(manifest_path))
        if m.get("rows") == a.rows and m.get("base_format_version") == base["format_version"]:
            print(f"bench_scale: {a.rows} rows already in {a.out}, skipping", file=sys.stderr)
            return 0
        os.remove(manifest_path)
    copies_dir = os.path.join(os.path.dirname(a.out), "scale-copies")
    stamp = os.path.join(copies_dir, "base.json")
    if os.path.exists(stamp) and json.load(open(stamp)) != base["format_version"]:
        shutil.rmtree(copies_dir)  # copies of an older base
    os.makedirs(copies_dir, exist_ok=True)
    with open(stamp, "w") as f:
        json.dump(base["format_version"], f)

    t0 = time.monotonic()
    shutil.rmtree(os.path.join(a.out, "diff"), ignore_errors=True)
    layout = {side: os.path.join(a.out, "diff", side) for side in ("left", "right")}
    for d in layout.values():
        os.makedirs(d)
    for c in range(copies):
        print(f"bench_scale: copy {c + 1} of {copies} ...", file=sys.stderr, flush=True)
        for side, files in ensure_copy(base, copies_dir, c).items():
            for src in files:
                os.link(src, os.path.join(layout[side], os.path.basename(src)))

    def times(v):
        return {k: times(x) for k, x in v.items()} if isinstance(v, dict) else v * copies

    exp = times(base["expected"]["diff"])
    manifest = {
        "base_format_version": base["format_version"],
        "rows": a.rows,
        "copies_of": base["rows"],
        "gen_seconds": round(time.monotonic() - t0, 2),
        "pairs": {"diff": layout},
        "bytes": {f"diff_{side}": sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
                  for side, d in layout.items()},
        "expected": {"diff": exp},
        "key": "id",
        "abs_tol": base["abs_tol"],
        "pyarrow": pa.__version__,
    }
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(manifest_path + ".tmp", manifest_path)
    print(f"bench_scale: {a.rows} rows ready in {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
