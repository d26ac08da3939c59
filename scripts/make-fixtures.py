#!/usr/bin/env python3
"""(Re)create every test fixture under fixtures/ for `parity diff`.

Usage:
    pip install pyarrow          # only needed to regenerate, never by CI
    python3 scripts/make-fixtures.py
    python3 scripts/make-fixtures.py --only PREFIX   # just the fixtures named PREFIX*

The script deletes everything under fixtures/ except fixtures/cutover/ (the demo
cutover, written by scripts/make-cutover-demo.py) and fixtures/report/ (by hand), and writes
the rest anew.
Output is deterministic: fixed seeds, no wall-clock values, gzip with mtime 0.
Parquet bytes embed pyarrow's "created_by" string, so regenerating with another
pyarrow version rewrites the Parquet files (the data, and so every expected.json,
stays the same).

Layout, one directory per fixture:
    fixtures/<name>/left/...        LEFT side (legacy)
    fixtures/<name>/right/...       RIGHT side (target)
    fixtures/<name>/README          one line: the trap it exercises
    fixtures/<name>/expected.json   what `parity diff LEFT RIGHT <args>` must report
and the demo pair fixtures/demo/{legacy,target}/ with fixtures/demo/expected.json.

Every expected.json is written by construction from what was planted. After
writing, an independent reference check (pyarrow + plain Python, see `check`)
re-reads the files from disk and recomputes the verdict and counts under the
documented semantics; the script fails if the two disagree.

Decisions taken where the semantics left room:
- exit-2 fixtures carry only args, exit and error_contains (no counts, no verdict).
- dictionary<string> and large_string vs string are the same logical type: not a
  schema change (unlike int32/int64, tz, unit or decimal scale, which are listed).
- null-key rows are reported under null_keys only, never as duplicate keys.
- a column on one side only (renamed, added) is excluded from the row comparison:
  shared columns are still compared, so changed_rows stays 0 when they match.
- --strict-types turns a compatible type change into divergence but values are
  still compared by value (changed_cells stays {}).
- error_contains: the offending file name for unreadable files; the odd file
  (part-1.csv, after part-0.parquet in listing order) for mixed formats; the
  side's folder path piece "empty_prefix/right" when a side has no data files;
  the column name for key errors.
"""

import collections
import decimal
import gzip
import io
import json
import math
import random
import shutil
import struct
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_bytes import csv_bytes, gz, jsonl_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
KEEP = {"cutover", "report", "parquet_edges"}  # fixtures/ entries this script leaves alone: the demo cutover
# (scripts/make-cutover-demo.py) and the readiness report inventory (written by hand)
D = decimal.Decimal

# ---------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------


def _mkparent(path):
    path.parent.mkdir(parents=True, exist_ok=True)


def write_parquet(path, table, compression="snappy", row_group_size=None, use_dictionary=True):
    _mkparent(path)
    pq.write_table(
        table,
        str(path),
        compression=compression,
        row_group_size=row_group_size,
        use_dictionary=use_dictionary,
        version="2.6",
        data_page_version="1.0",
        write_statistics=True,
    )


def zst(data):
    return pa.compress(data, codec="zstd", asbytes=True)


def write_bytes(path, data):
    _mkparent(path)
    path.write_bytes(data)


def table(rows, schema):
    return pa.Table.from_pylist(rows, schema=schema)


def f64_from_bits(bits):
    """A float64 array built from raw IEEE-754 bit patterns (None = null), so NaN payloads survive."""
    n = len(bits)
    data = b"".join(struct.pack("<Q", 0 if b is None else b) for b in bits)
    validity = None
    if any(b is None for b in bits):
        mask = bytearray((n + 7) // 8)
        for i, b in enumerate(bits):
            if b is not None:
                mask[i // 8] |= 1 << (i % 8)
        validity = pa.py_buffer(bytes(mask))
    return pa.Array.from_buffers(pa.float64(), n, [validity, pa.py_buffer(data)])


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# ---------------------------------------------------------------------------
# expected.json
# ---------------------------------------------------------------------------

EXIT = {"identical": 0, "equivalent": 0, "within_tolerance": 0, "diverged": 1}


def expect(args, verdict, left_rows=None, right_rows=None, only_left=0, only_right=0, changed_rows=0,
           changed_cells=None, dup=(0, 0), nullk=(0, 0), schema_changes=0):
    if verdict == "identical":
        assert left_rows is None and right_rows is None
    else:
        assert left_rows is not None and right_rows is not None
    return {
        "args": args,
        "exit": EXIT[verdict],
        "verdict": verdict,
        "left_rows": left_rows,
        "right_rows": right_rows,
        "only_left": only_left,
        "only_right": only_right,
        "changed_rows": changed_rows,
        "changed_cells": dict(sorted((changed_cells or {}).items())),
        "duplicate_keys": {"left": dup[0], "right": dup[1]},
        "null_keys": {"left": nullk[0], "right": nullk[1]},
        "schema_changes": schema_changes,
    }


def expect_error(args, contains):
    # Only exit and error_contains are meaningful when the check cannot be done.
    return {"args": args, "exit": 2, "error_contains": contains}


FIXTURES = []  # (name, left_dir_name, right_dir_name)


def finish(name, readme, expected, left="left", right="right"):
    d = ROOT / name
    assert "\n" not in readme
    (d / "README").write_text(readme + "\n")
    (d / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    FIXTURES.append((name, left, right))


# ---------------------------------------------------------------------------
# shared data
# ---------------------------------------------------------------------------

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda"]

BASE_SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("name", pa.string()),
    ("amount", pa.float64()),
    ("qty", pa.int64()),
])


def base_rows(n, seed):
    rng = random.Random(seed)
    return [
        {"id": i, "name": NAMES[(i - 1) % len(NAMES)], "amount": round(rng.uniform(1, 1000), 2), "qty": rng.randint(1, 50)}
        for i in range(1, n + 1)
    ]


KEY = ["--key", "id"]

# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def fx_identical_bytes():
    name = "identical_bytes"
    rows = base_rows(20, 1)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows[:12], BASE_SCHEMA))
    write_parquet(d / "left/part-1.parquet", table(rows[12:], BASE_SCHEMA))
    for f in ("part-0.parquet", "part-1.parquet"):
        write_bytes(d / "right" / f, (d / "left" / f).read_bytes())
    finish(name, "Byte-identical files on both sides: verdict identical without parsing (row counts null).",
           expect(KEY, "identical"))


def fx_reordered_rows():
    name = "reordered_rows"
    rows = base_rows(20, 2)
    shuffled = rows[:]
    random.Random(22).shuffle(shuffled)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(shuffled, BASE_SCHEMA))
    finish(name, "Same rows in a different order, same file name: bytes differ but the table is equivalent.",
           expect(KEY, "equivalent", 20, 20))


def fx_split_files():
    name = "split_files"
    rows = base_rows(30, 3)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(rows[:7], BASE_SCHEMA))
    write_parquet(d / "right/part-1.parquet", table(rows[7:19], BASE_SCHEMA))
    write_parquet(d / "right/part-2.parquet", table(rows[19:], BASE_SCHEMA))
    finish(name, "One file on the left, the same rows split over three files on the right: equivalent.",
           expect(KEY, "equivalent", 30, 30))


def fx_other_codec():
    name = "other_codec"
    rows = base_rows(30, 4)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA), compression="snappy", row_group_size=1000)
    write_parquet(d / "right/part-0.parquet", table(rows, BASE_SCHEMA), compression="zstd", row_group_size=7,
                  use_dictionary=False)
    finish(name, "Same rows, snappy/one row group/dictionary vs zstd/7-row groups/plain: equivalent.",
           expect(KEY, "equivalent", 30, 30))


NOISE_IDS = [2, 5, 9, 13, 17]


def noisy_pair(seed):
    rows = base_rows(20, seed)
    right = [dict(r) for r in rows]
    for r in right:
        if r["id"] in NOISE_IDS:
            r["amount"] = r["amount"] + 1e-10
    for l, r in zip(rows, right):
        diff = abs(l["amount"] - r["amount"])
        if l["id"] in NOISE_IDS:
            assert 0 < diff <= 1e-9, diff
        else:
            assert diff == 0
    return rows, right


def fx_float_noise_within_tol():
    name = "float_noise_within_tol"
    left, right = noisy_pair(5)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, BASE_SCHEMA))
    finish(name, "amount differs by ~1e-10 in 5 rows, --abs-tol 1e-9: within_tolerance, no changed cells.",
           expect(KEY + ["--abs-tol", "1e-9"], "within_tolerance", 20, 20))


def fx_float_noise_no_tol():
    name = "float_noise_no_tol"
    left, right = noisy_pair(5)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, BASE_SCHEMA))
    finish(name, "amount differs by ~1e-10 in 5 rows and no tolerance is given: diverged, 5 changed amount cells.",
           expect(KEY, "diverged", 20, 20, changed_rows=len(NOISE_IDS), changed_cells={"amount": len(NOISE_IDS)}))


def fx_tol_boundary():
    name = "tol_boundary"
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("y", pa.float64())])
    left = [{"id": i, "x": float(i), "y": i / 4} for i in range(1, 9)]
    right = [dict(r) for r in left]
    left[0]["x"], right[0]["x"] = 0.5, 1.0      # diff exactly 0.5
    left[2]["x"], right[2]["x"] = 3.0, 2.5      # diff exactly 0.5, other sign
    left[5]["x"], right[5]["x"] = -6.0, -5.75   # diff 0.25
    for l, r in zip(left, right):
        assert abs(l["x"] - r["x"]) <= 0.5
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "x differs by exactly the tolerance (0.5 vs 1.0, --tol x=abs:0.5): the bound is inclusive, within_tolerance.",
           expect(KEY + ["--tol", "x=abs:0.5"], "within_tolerance", 8, 8))


def fx_tol_partial():
    name = "tol_partial"
    left = base_rows(20, 6)
    right = [dict(r) for r in left]
    small, big = [1, 4, 7, 10, 15], [8, 19]
    for r in right:
        if r["id"] in small:
            r["amount"] += 1e-9
        if r["id"] in big:
            r["amount"] += 0.01
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, BASE_SCHEMA))
    finish(name, "--abs-tol 1e-6: 5 amount diffs of 1e-9 are within tolerance and 2 of 0.01 are not: diverged, only 2 cells count.",
           expect(KEY + ["--abs-tol", "1e-6"], "diverged", 20, 20, changed_rows=2, changed_cells={"amount": 2}))


def fx_rel_tol():
    name = "rel_tol"
    schema = pa.schema([("id", pa.int64()), ("v", pa.float64())])
    vals = [1234567.891, 0.00123, 98765.4321, -5550000.0, 42.0, 7.5e8]
    left = [{"id": i + 1, "v": v} for i, v in enumerate(vals)]
    right = [{"id": i + 1, "v": v * (1 + 3e-10)} for i, v in enumerate(vals)]
    for l, r in zip(left, right):
        diff = abs(l["v"] - r["v"])
        assert diff <= 1e-9 * max(abs(l["v"]), abs(r["v"]))
    assert sum(1 for l, r in zip(left, right) if l["v"] != r["v"]) == len(vals)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "Every v differs by a relative 3e-10 (absolute up to ~0.23), --rel-tol 1e-9: within_tolerance.",
           expect(KEY + ["--rel-tol", "1e-9"], "within_tolerance", 6, 6))


def fx_null_vs_empty_string():
    name = "null_vs_empty_string"
    schema = pa.schema([("id", pa.int64()), ("note", pa.string()), ("qty", pa.int64())])
    left = [{"id": i, "note": f"n{i}", "qty": i} for i in range(1, 11)]
    right = [dict(r) for r in left]
    left[2]["note"], right[2]["note"] = None, ""        # id 3: null vs ""
    left[4]["note"], right[4]["note"] = "NULL", None    # id 5: "NULL" vs null
    left[6]["qty"], right[6]["qty"] = None, 0           # id 7: null vs 0
    left[8]["note"], right[8]["note"] = None, None      # id 9: null vs null is equal
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "Null vs \"\", \"NULL\" vs null, null vs 0 (null vs null is equal): diverged, 3 changed rows.",
           expect(KEY, "diverged", 10, 10, changed_rows=3, changed_cells={"note": 2, "qty": 1}))


def fx_negative_zero():
    name = "negative_zero"
    schema = pa.schema([("id", pa.int64()), ("v", pa.float64())])
    left = [{"id": i, "v": float(i)} for i in range(1, 9)]
    right = [dict(r) for r in left]
    for i in (1, 4, 6):
        left[i]["v"], right[i]["v"] = -0.0, 0.0
    left[7]["v"], right[7]["v"] = 0.0, -0.0
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    t = pq.read_table(d / "left/part-0.parquet")
    assert bits(t.column("v")[1].as_py()) == 0x8000000000000000, "-0.0 must survive the round trip"
    finish(name, "-0.0 on one side, 0.0 on the other, in 4 rows: equivalent.",
           expect(KEY, "equivalent", 8, 8))


QNAN = 0x7FF8000000000000


def nan_table(ids, bit_list):
    return pa.table({"id": pa.array(ids, pa.int64()), "v": f64_from_bits(bit_list)})


def fx_nan():
    name = "nan"
    ids = list(range(1, 9))
    one, two = bits(1.5), bits(2.0)
    left = [QNAN, QNAN, one, QNAN, two, QNAN, None, QNAN]
    right = [0x7FF8000000000001,   # quiet NaN with payload
             0xFFF8000000000000,   # negative quiet NaN
             one,
             0x7FF0000000000001,   # signalling NaN
             two,
             QNAN,
             None,
             0x7FFFFFFFFFFFFFFF]   # all-ones payload
    d = ROOT / name
    for side, b in (("left", left), ("right", right)):
        write_parquet(d / side / "part-0.parquet", nan_table(ids, b), use_dictionary=False)
        got = pq.read_table(d / side / "part-0.parquet").column("v").chunk(0)
        raw = struct.unpack(f"<{len(ids)}Q", got.buffers()[1].to_pybytes()[: 8 * len(ids)])
        assert [r if v is not None else None for r, v in zip(raw, b)] == b, "NaN payloads must survive"
    finish(name, "NaN with different bit patterns (payload, sign, signalling) on each side: all NaNs are equal, equivalent.",
           expect(KEY, "equivalent", 8, 8))


def fx_nan_vs_number():
    name = "nan_vs_number"
    ids = list(range(1, 7))
    left = [QNAN, None, bits(3.0), QNAN, bits(5.0), bits(6.0)]
    right = [bits(1.0), QNAN, bits(3.0), QNAN, bits(5.0), bits(6.0)]
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", nan_table(ids, left), use_dictionary=False)
    write_parquet(d / "right/part-0.parquet", nan_table(ids, right), use_dictionary=False)
    finish(name, "NaN vs 1.0 and null vs NaN (NaN vs NaN stays equal): diverged, 2 changed v cells.",
           expect(KEY, "diverged", 6, 6, changed_rows=2, changed_cells={"v": 2}))


def fx_timezone_shift():
    name = "timezone_shift"
    base = int(datetime(2024, 3, 10, 6, 30, tzinfo=timezone.utc).timestamp() * 1000)  # around the US DST switch
    ms = [base + k * 3_600_000 + k * 17 for k in range(-3, 5)]
    ms += [int(datetime(2024, 11, 3, 5, 30, tzinfo=timezone.utc).timestamp() * 1000), 0, -86_400_123]
    ids = list(range(1, len(ms) + 1))
    left = pa.table({
        "id": pa.array(ids, pa.int64()),
        "created_at": pa.array([v * 1000 for v in ms], pa.timestamp("us", tz="UTC")),
        "updated_at": pa.array(ms, pa.timestamp("ms", tz="UTC")),
    })
    right = pa.table({
        "id": pa.array(ids, pa.int64()),
        "created_at": pa.array([v * 1000 for v in ms], pa.timestamp("us", tz="America/New_York")),
        "updated_at": pa.array([v * 1000 for v in ms], pa.timestamp("us", tz="UTC")),
    })
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "Same instants: created_at UTC vs America/New_York, updated_at ms vs us: equivalent, 2 compatible schema changes.",
           expect(KEY, "equivalent", len(ids), len(ids), schema_changes=2))


def fx_timezone_declared():
    name = "timezone_declared"
    seconds = [1_700_000_000 + k * 3_600 for k in range(6)]
    ids = list(range(1, len(seconds) + 1))
    # pyarrow stores seconds as milliseconds (Parquet has no seconds) and declares
    # timestamp[s, Europe/Paris] in the embedded Arrow schema.
    left = pa.table({"id": pa.array(ids, pa.int64()),
                     "at": pa.array(seconds, pa.timestamp("s", tz="Europe/Paris"))})
    right = pa.table({"id": pa.array(ids, pa.int64()),
                      "at": pa.array([v * 1000 for v in seconds], pa.timestamp("ms", tz="UTC"))})
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "Same instants, at declared timestamp[s, Europe/Paris] (stored as ms) vs timestamp[ms, UTC], with --strict-types: diverged, 1 schema change.",
           expect(KEY + ["--strict-types"], "diverged", len(ids), len(ids), schema_changes=1))


def write_int96(path, table):
    """Timestamps as Spark, Hive and Impala write them: Parquet's deprecated INT96."""
    _mkparent(path)
    pq.write_table(table, str(path), compression="snappy", version="2.6", data_page_version="1.0",
                   use_deprecated_int96_timestamps=True)


# 9999-12-31T03:00, an "open-ended" end date, in microseconds: beyond 64-bit nanoseconds, which
# would read it as 1816-03-29T08:56:08.066277376.
FAR_US = 253_402_225_200_000_000
WRAPPED_NS = (FAR_US * 1000 + (1 << 63)) % (1 << 64) - (1 << 63)
INT96_US = [1_704_067_200_000_000, FAR_US, 0, None, 1_717_243_200_123_456]


def int96_us_table(values=INT96_US):
    return pa.table({"id": pa.array(range(1, len(values) + 1), pa.int64()),
                     "at": pa.array(values, pa.timestamp("us"))})


def fx_int96_far_future():
    name = "int96_far_future"
    d = ROOT / name
    write_int96(d / "left/part-0.parquet", int96_us_table())
    write_parquet(d / "right/part-0.parquet", int96_us_table())
    finish(name, "INT96 (Spark) holding 9999-12-31T03:00 vs the same instants as timestamp[us]: equivalent (64-bit nanoseconds would wrap the date to 1816).",
           expect(KEY, "equivalent", 5, 5))


def fx_int96_wrapped_date():
    name = "int96_wrapped_date"
    d = ROOT / name
    write_int96(d / "left/part-0.parquet", int96_us_table())
    wrapped = [None if v is None else (WRAPPED_NS if v == FAR_US else v * 1000) for v in INT96_US]
    right = pa.table({"id": pa.array(range(1, 6), pa.int64()), "at": pa.array(wrapped, pa.timestamp("ns"))})
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "INT96 9999-12-31T03:00 vs timestamp[ns] 1816-03-29T08:56:08.066277376 (what a wrapping reader makes of it): diverged, 1 changed cell.",
           expect(KEY, "diverged", 5, 5, changed_rows=1, changed_cells={"at": 1}, schema_changes=1))


INT96_NS = [1_704_067_200_000_000_001, 1_717_243_200_123_456_789, None, -1]


def fx_int96_nanoseconds():
    name = "int96_nanoseconds"
    d = ROOT / name
    t = pa.table({"id": pa.array(range(1, 5), pa.int64()), "at": pa.array(INT96_NS, pa.timestamp("ns"))})
    write_int96(d / "left/part-0.parquet", t)
    write_parquet(d / "right/part-0.parquet", t)
    finish(name, "INT96 (Hive, Impala) with nanosecond digits vs the same as timestamp[ns]: equivalent (INT96 is read in nanoseconds when its values need them).",
           expect(KEY, "equivalent", 4, 4))


def fx_int96_nanosecond_digit():
    name = "int96_nanosecond_digit"
    d = ROOT / name
    left = pa.table({"id": pa.array(range(1, 5), pa.int64()), "at": pa.array(INT96_NS, pa.timestamp("ns"))})
    write_int96(d / "left/part-0.parquet", left)
    cut = [None if v is None else v // 1000 for v in INT96_NS]
    right = pa.table({"id": pa.array(range(1, 5), pa.int64()), "at": pa.array(cut, pa.timestamp("us"))})
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "INT96 with nanosecond digits vs the same cut to timestamp[us]: diverged, 3 changed cells (reading INT96 in microseconds would cut them equal).",
           expect(KEY, "diverged", 4, 4, changed_rows=3, changed_cells={"at": 3}, schema_changes=1))


def fx_int96_no_unit_holds_both():
    name = "int96_no_unit_holds_both"
    d = ROOT / name
    write_int96(d / "left/part-0.parquet", int96_us_table([FAR_US]))
    write_int96(d / "left/part-1.parquet", pa.table({"id": pa.array([2], pa.int64()),
                                                     "at": pa.array([INT96_NS[0]], pa.timestamp("ns"))}))
    write_parquet(d / "right/part-0.parquet", int96_us_table([FAR_US, INT96_NS[0] // 1000]))
    finish(name, "INT96 9999-12-31 in one file and nanosecond digits in another: no 64-bit unit holds both, exit 2 naming the file.",
           expect_error(KEY, "part-0.parquet"))


def fx_int96_nested():
    name = "int96_nested"
    d = ROOT / name
    st = pa.struct([("at", pa.timestamp("us")), ("n", pa.int32())])
    rows = [{"at": v, "n": i} for i, v in enumerate(INT96_US)]
    t = pa.table({"id": pa.array(range(1, 6), pa.int64()), "s": pa.array(rows, st)})
    write_int96(d / "left/part-0.parquet", t)
    write_parquet(d / "right/part-0.parquet", t)
    finish(name, "INT96 inside a struct (as Spark writes it) holding 9999-12-31T03:00 vs timestamp[us]: equivalent.",
           expect(KEY, "equivalent", 5, 5))


def fx_decimal_scale():
    name = "decimal_scale"
    vals = ["1.50", "0.00", "-3.25", "12345678.99", "0.01", None, "100.00", "-0.10"]
    ids = list(range(1, len(vals) + 1))
    left = pa.table({"id": pa.array(ids, pa.int64()),
                     "price": pa.array([None if v is None else D(v) for v in vals], pa.decimal128(10, 2))})
    right = pa.table({"id": pa.array(ids, pa.int64()),
                      "price": pa.array([None if v is None else D(v).quantize(D("0.0001")) for v in vals],
                                        pa.decimal128(12, 4))})
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "price decimal(10,2) vs decimal(12,4) with equal values (1.50 vs 1.5000): equivalent, 1 compatible schema change.",
           expect(KEY, "equivalent", len(ids), len(ids), schema_changes=1))


def int_widening_tables():
    vals = [0, 1, -1, 2147483647, -2147483648, 42, 1000, -7]
    ids = list(range(1, len(vals) + 1))
    left = pa.table({"id": pa.array(ids, pa.int64()), "qty": pa.array(vals, pa.int32())})
    right = pa.table({"id": pa.array(ids, pa.int64()), "qty": pa.array(vals, pa.int64())})
    return left, right, len(ids)


def fx_int_widening():
    name = "int_widening"
    left, right, n = int_widening_tables()
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "qty int32 vs int64 with equal values (incl. int32 min/max): equivalent, 1 compatible schema change.",
           expect(KEY, "equivalent", n, n, schema_changes=1))


def fx_int_widening_strict():
    name = "int_widening_strict"
    left, right, n = int_widening_tables()
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "qty int32 vs int64 with equal values under --strict-types: the type change alone makes it diverged.",
           expect(KEY + ["--strict-types"], "diverged", n, n, schema_changes=1))


def fx_dictionary_strings():
    name = "dictionary_strings"
    ids = list(range(1, 13))
    names = [NAMES[i % 4] for i in ids]
    cities = ["Lyon", "Zürich", "Kraków", "Lyon", "", "Oslo", "Zürich", "Lyon", "Kraków", "Oslo", "Lyon", "Zürich"]
    left = pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array(names, pa.string()).dictionary_encode(),
        "city": pa.array(cities, pa.large_string()),
    })
    right = pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array(names, pa.string()),
        "city": pa.array(cities, pa.string()),
    })
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right, use_dictionary=False)
    t = pq.read_table(d / "left/part-0.parquet")
    assert pa.types.is_dictionary(t.schema.field("name").type)
    assert t.schema.field("city").type == pa.large_string()
    finish(name, "dictionary<string> vs string and large_string vs string, same values: equivalent, not a schema change.",
           expect(KEY, "equivalent", 12, 12))


def fx_duplicate_keys():
    name = "duplicate_keys"
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64())])

    def r(i, amount, nm=None):
        return {"id": i, "name": nm or NAMES[i - 1], "amount": amount}

    common = [r(i, i * 10.0) for i in range(1, 11)]
    left = [dict(x) for x in common]
    right = [dict(x) for x in common]
    # key 3: the same row twice on both sides -> all matched
    left.append(r(3, 30.0))
    right.append(r(3, 30.0))
    # key 5: left has {A, B}, right has {A, C} -> A matched, B only_left, C only_right
    left.append(r(5, 55.0))
    right.append(r(5, 56.0))
    # key 7: single on left, duplicated (same row) on right -> one extra only_right
    right.append(r(7, 70.0))
    # key 9: plain changed row (unique on both sides)
    next(x for x in right if x["id"] == 9)["amount"] = 99.0
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "Keys duplicated on one or both sides are matched as whole-row multisets; leftovers are only_left/only_right, not changed.",
           expect(KEY, "diverged", 12, 13, only_left=1, only_right=2, changed_rows=1, changed_cells={"amount": 1},
                  dup=(2, 3)))


def fx_null_keys():
    name = "null_keys"
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64())])
    common = [{"id": i, "name": NAMES[i - 1], "amount": i * 1.5} for i in range(1, 9)]
    left = [dict(x) for x in common] + [
        {"id": None, "name": "p", "amount": 1.0},   # P: also on right -> matched
        {"id": None, "name": "q", "amount": 2.0},   # Q: only_left
    ]
    right = [dict(x) for x in common] + [
        {"id": None, "name": "p", "amount": 1.0},   # P
        {"id": None, "name": "r", "amount": 3.0},   # R: only_right
    ]
    random.Random(7).shuffle(right)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "Rows with a null key (2 per side) are matched as whole rows across sides, not as duplicate keys; leftovers are one-sided.",
           expect(KEY, "diverged", 10, 10, only_left=1, only_right=1, nullk=(2, 2)))


RENAME_LEFT = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64())])
RENAME_RIGHT = pa.schema([("id", pa.int64()), ("name", pa.string()), ("total", pa.float64())])


def write_renamed(name):
    rows = base_rows(10, 8)
    left = [{"id": r["id"], "name": r["name"], "amount": r["amount"]} for r in rows]
    right = [{"id": r["id"], "name": r["name"], "total": r["amount"]} for r in rows]
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, RENAME_LEFT))
    write_parquet(d / "right/part-0.parquet", table(right, RENAME_RIGHT))


def fx_renamed_column():
    name = "renamed_column"
    write_renamed(name)
    finish(name, "amount is called total on the right and no --rename is given: 2 schema changes (dropped + added), diverged.",
           expect(KEY, "diverged", 10, 10, schema_changes=2))


def fx_renamed_column_mapped():
    name = "renamed_column_mapped"
    write_renamed(name)
    finish(name, "amount is called total on the right, mapped with --rename amount=total: no schema change, equivalent.",
           expect(KEY + ["--rename", "amount=total"], "equivalent", 10, 10))


def fx_column_added():
    name = "column_added"
    rows = base_rows(10, 9)
    schema_r = BASE_SCHEMA.append(pa.field("discount", pa.float64()))
    right = [dict(r, discount=0.0) for r in rows]
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, schema_r))
    finish(name, "The right side has an extra column (discount), shared columns equal: 1 schema change, diverged.",
           expect(KEY, "diverged", 10, 10, schema_changes=1))


VOL_SCHEMA = BASE_SCHEMA.append(pa.field("loaded_at", pa.timestamp("us", tz="UTC")))


def write_volatile(name):
    rows = base_rows(12, 10)
    t0 = datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)
    t1 = datetime(2024, 5, 1, 3, 17, 5, 250000, tzinfo=timezone.utc)
    left = [dict(r, loaded_at=t0 + timedelta(milliseconds=37 * i)) for i, r in enumerate(rows)]
    right = [dict(r, loaded_at=t1 + timedelta(milliseconds=41 * i)) for i, r in enumerate(rows)]
    assert all(l["loaded_at"] != r["loaded_at"] for l, r in zip(left, right))
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, VOL_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, VOL_SCHEMA))
    return len(rows)


def fx_volatile_column():
    name = "volatile_column"
    n = write_volatile(name)
    finish(name, "Load timestamp loaded_at differs in every row and is not ignored: diverged, every row changed in loaded_at only.",
           expect(KEY, "diverged", n, n, changed_rows=n, changed_cells={"loaded_at": n}))


def fx_volatile_column_ignored():
    name = "volatile_column_ignored"
    n = write_volatile(name)
    finish(name, "Load timestamp loaded_at differs in every row but is dropped with --ignore loaded_at: equivalent.",
           expect(KEY + ["--ignore", "loaded_at"], "equivalent", n, n))


def fx_keyless_multiset():
    name = "keyless_multiset"
    schema = pa.schema([("sku", pa.string()), ("qty", pa.int64())])
    A, B, C, D_, E, F = ({"sku": s, "qty": q} for s, q in
                         (("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5), ("f", 6)))
    left = [A, A, B, C, C, C, D_, F]          # A x2, B x1, C x3, D x1, F x1
    right = [C, B, E, A, C, B, E, D_, C]      # A x1, B x2, C x3, D x1, E x2
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    # only_left: A (2-1) + F (1) = 2; only_right: B (2-1) + E (2) = 3
    finish(name, "No key: multiset diff of whole rows with different multiplicities (A x2 vs x1, B x1 vs x2, F/E one-sided).",
           expect([], "diverged", 8, 9, only_left=2, only_right=3))


def fx_duplicate_rows_cancel():
    name = "duplicate_rows_cancel"
    schema = pa.schema([("sku", pa.string()), ("qty", pa.int64())])
    A, B, C = {"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}, {"sku": "c", "qty": 3}
    left = [A, A, B]
    right = [C, B, C]
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "No key, same row count: {A,A,B} vs {B,C,C} has equal XOR of row hashes, so an XOR fingerprint would call it equal.",
           expect([], "diverged", 3, 3, only_left=2, only_right=2))


def fx_changed_values():
    name = "changed_values"
    left = base_rows(20, 11)
    right = [dict(r) for r in left if r["id"] not in (19, 20)]          # 2 only_left
    right += [{"id": i, "name": f"new{i}", "amount": float(i), "qty": 1} for i in (21, 22, 23)]  # 3 only_right
    by_id = {r["id"]: r for r in right}
    by_id[3]["name"] = "CHANGED"
    by_id[5]["amount"] += 1.0
    by_id[8]["name"] = "changed too"
    by_id[8]["amount"] = -by_id[8]["amount"]
    by_id[11]["amount"] += 0.01
    random.Random(12).shuffle(right)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(right, BASE_SCHEMA))
    finish(name, "Keyed diff: 2 keys only left, 3 only right, 4 changed rows (name in 2, amount in 3, one row both).",
           expect(KEY, "diverged", 20, 21, only_left=2, only_right=3, changed_rows=4,
                  changed_cells={"name": 2, "amount": 3}))


def fx_composite_key():
    name = "composite_key"
    schema = pa.schema([("region", pa.string()), ("id", pa.int64()), ("amount", pa.float64())])
    left = [{"region": reg, "id": i, "amount": i * 2.5 + (100 if reg == "us" else 0)}
            for reg in ("eu", "us") for i in range(1, 6)]
    right = [dict(r) for r in left if not (r["region"] == "eu" and r["id"] == 5)]
    right.append({"region": "apac", "id": 1, "amount": 2.5})
    next(r for r in right if r["region"] == "us" and r["id"] == 3)["amount"] = 0.0
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(left, schema))
    write_parquet(d / "right/part-0.parquet", table(right, schema))
    finish(name, "Composite key (region, id), ids repeat across regions: 1 only left, 1 only right, 1 changed, no duplicate keys.",
           expect(["--key", "region", "--key", "id"], "diverged", 10, 10, only_left=1, only_right=1, changed_rows=1,
                  changed_cells={"amount": 1}))


def fx_hive_partitions():
    name = "hive_partitions"
    rows = base_rows(16, 13)
    day1, day2 = rows[:9], rows[9:]
    d = ROOT / name
    L, R = d / "left", d / "right"
    write_parquet(L / "dt=2024-01-01/part-0.parquet", table(day1, BASE_SCHEMA))
    write_parquet(L / "dt=2024-01-02/part-0.parquet", table(day2, BASE_SCHEMA))
    write_bytes(L / "_SUCCESS", b"")
    write_bytes(L / "dt=2024-01-01/.part-0.parquet.crc", b"crc\x00\x01\x02not parquet")
    write_parquet(R / "dt=2024-01-01/part-0.parquet", table(day1[:4], BASE_SCHEMA), compression="zstd")
    write_parquet(R / "dt=2024-01-01/part-1.parquet", table(day1[4:], BASE_SCHEMA), compression="zstd")
    write_parquet(R / "dt=2024-01-02/part-0.parquet", table(list(reversed(day2)), BASE_SCHEMA), compression="zstd")
    write_bytes(R / "_SUCCESS", b"")
    finish(name, "Hive dt=... folders (dt becomes a column), different file split per side, _SUCCESS and .crc files ignored: equivalent.",
           expect(KEY, "equivalent", 16, 16))


CSV_COLS = ["id", "name", "amount", "qty"]


def fx_csv_vs_parquet():
    name = "csv_vs_parquet"
    rows = base_rows(15, 14)
    rows[2]["name"] = "Smith, J."
    rows[6]["name"] = 'O"Brien'
    rows[9]["name"] = "José"
    rows[4]["amount"] = 10.0
    d = ROOT / name
    write_bytes(d / "left/data.csv", csv_bytes(CSV_COLS, [[r[c] for c in CSV_COLS] for r in rows]))
    # Parquet with another column order
    pschema = pa.schema([("qty", pa.int64()), ("amount", pa.float64()), ("id", pa.int64()), ("name", pa.string())])
    write_parquet(d / "right/data.parquet", table(rows, pschema))
    finish(name, "Same table as CSV (quoted commas/quotes, inferred int64/float64/utf8) vs Parquet in another column order: equivalent.",
           expect(KEY, "equivalent", 15, 15))


def fx_csv_gz_vs_jsonl_zst():
    name = "csv_gz_vs_jsonl_zst"
    rows = base_rows(12, 15)
    rows[1]["name"] = "Zoë"
    rows[5]["name"] = "東京"
    rows[8]["name"] = "a, b"
    d = ROOT / name
    write_bytes(d / "left/data.csv.gz", gz(csv_bytes(CSV_COLS, [[r[c] for c in CSV_COLS] for r in rows])))
    shuffled = rows[:]
    random.Random(16).shuffle(shuffled)
    jrows = [{"qty": r["qty"], "name": r["name"], "id": r["id"], "amount": r["amount"]} for r in shuffled]
    write_bytes(d / "right/data.jsonl.zst", zst(jsonl_bytes(jrows)))
    finish(name, "Gzipped CSV vs zstd JSON lines, same rows in another order (UTF-8 names): equivalent.",
           expect(KEY, "equivalent", 12, 12))


def fx_truncated_parquet():
    name = "truncated_parquet"
    rows = base_rows(30, 17)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    full = (d / "left/part-0.parquet").read_bytes()
    write_bytes(d / "right/truncated.parquet", full[: len(full) // 2])
    finish(name, "The right Parquet file is cut in half (no footer): cannot check, exit 2 naming the file.",
           expect_error(KEY, "truncated.parquet"))


def fx_corrupt_parquet():
    name = "corrupt_parquet"
    rows = base_rows(10, 18)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    rng = random.Random(18)
    body = bytes(rng.randrange(256) for _ in range(400))
    # Looks like Parquet (magic at both ends, plausible footer length) but the footer is garbage.
    write_bytes(d / "right/garbage.parquet", b"PAR1" + body + struct.pack("<I", 120) + b"PAR1")
    finish(name, "A .parquet file with valid magic bytes but a garbage footer: cannot check, exit 2 naming the file (no panic).",
           expect_error(KEY, "garbage.parquet"))


def fx_ragged_csv():
    name = "ragged_csv"
    cols = ["id", "name", "qty"]
    rows = [[i, NAMES[i - 1], i * 3] for i in range(1, 9)]
    d = ROOT / name
    write_bytes(d / "left/data.csv", csv_bytes(cols, rows))
    bad = csv_bytes(cols, rows).decode().splitlines()
    bad[5] = bad[5] + ",EXTRA"
    write_bytes(d / "right/ragged.csv", ("\n".join(bad) + "\n").encode())
    finish(name, "A right CSV row has one field more than the header: cannot check, exit 2 naming the file.",
           expect_error(KEY, "ragged.csv"))


def fx_bad_utf8_csv():
    name = "bad_utf8_csv"
    cols = ["id", "name", "qty"]
    rows = [[i, NAMES[i - 1], i * 3] for i in range(1, 9)]
    d = ROOT / name
    good = csv_bytes(cols, rows)
    write_bytes(d / "left/data.csv", good)
    lines = good.split(b"\n")
    lines[4] = b"4,caf\xe9 latin-1,12"  # Latin-1 e-acute: invalid UTF-8
    write_bytes(d / "right/bad_utf8.csv", b"\n".join(lines))
    finish(name, "A right CSV field holds Latin-1 bytes that are not valid UTF-8: cannot check, exit 2 naming the file.",
           expect_error(KEY, "bad_utf8.csv"))


def fx_mixed_formats():
    name = "mixed_formats"
    rows = base_rows(10, 19)
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(rows, BASE_SCHEMA))
    write_parquet(d / "right/part-0.parquet", table(rows[:5], BASE_SCHEMA))
    write_bytes(d / "right/part-1.csv", csv_bytes(CSV_COLS, [[r[c] for c in CSV_COLS] for r in rows[5:]]))
    finish(name, "The right side holds a .parquet and a .csv file: mixing formats in one side is refused, exit 2 naming the odd file.",
           expect_error(KEY, "part-1.csv"))


def fx_empty_prefix():
    name = "empty_prefix"
    d = ROOT / name
    write_parquet(d / "left/part-0.parquet", table(base_rows(5, 20), BASE_SCHEMA))
    write_bytes(d / "right/.gitkeep", b"")
    finish(name, "The right folder holds only .gitkeep (ignored), so no data files: exit 2 naming the folder.",
           expect_error(KEY, "empty_prefix/right"))


def fx_key_missing():
    name = "key_missing"
    d = ROOT / name
    left = pa.table({"order_key": pa.array([1, 2, 3, 4, 5], pa.int64()),
                     "qty": pa.array([5, 4, 3, 2, 1], pa.int64()),
                     "price": pa.array([1.0, 2.0, 3.0, 4.0, 5.0], pa.float64())})
    right = left.drop_columns(["order_key"])
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "The key column order_key is absent on the right: cannot check, exit 2 naming the column.",
           expect_error(["--key", "order_key"], "order_key"))


def fx_key_type_mismatch():
    name = "key_type_mismatch"
    d = ROOT / name
    ids = [1, 2, 3, 4, 5, 6]
    left = pa.table({"sku_id": pa.array(ids, pa.int64()), "qty": pa.array([i * 2 for i in ids], pa.int64())})
    right = pa.table({"sku_id": pa.array([str(i) for i in ids], pa.string()),
                      "qty": pa.array([i * 2 for i in ids], pa.int64())})
    write_parquet(d / "left/part-0.parquet", left)
    write_parquet(d / "right/part-0.parquet", right)
    finish(name, "Key sku_id is int64 on the left and string on the right: keys cannot be compared, exit 2 naming the column.",
           expect_error(["--key", "sku_id"], "sku_id"))


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------

STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]
CUSTOMERS = [f"cust-{i:04d}" for i in range(1, 301)]
ORDERS_SCHEMA = pa.schema([
    ("order_id", pa.int64()),
    ("customer", pa.string()),
    ("amount", pa.float64()),
    ("price", pa.decimal128(12, 2)),
    ("status", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("loaded_at", pa.timestamp("us", tz="UTC")),
])


def fx_demo():
    name = "demo"
    n = 2000
    rng = random.Random(2024)
    year = datetime(2024, 1, 1, tzinfo=timezone.utc)
    legacy_load = datetime(2024, 6, 2, 1, 0, tzinfo=timezone.utc)
    target_load = datetime(2024, 6, 2, 3, 30, 12, tzinfo=timezone.utc)
    legacy = []
    for i in range(1, n + 1):
        cents = rng.randrange(100, 500_000)
        legacy.append({
            "order_id": i,
            "customer": rng.choice(CUSTOMERS),
            "amount": round(rng.uniform(1, 5000), 2),
            "price": D(cents).scaleb(-2),
            "status": rng.choice(STATUSES),
            "created_at": year + timedelta(seconds=rng.randrange(0, 366 * 86400), microseconds=rng.randrange(10**6)),
            "loaded_at": legacy_load + timedelta(microseconds=rng.randrange(60 * 10**6)),
        })
    picks = rng.sample(range(1, n + 1), 3 + 7 + 40)
    only_legacy, status_changed, noisy = set(picks[:3]), set(picks[3:10]), set(picks[10:])
    target = []
    for r in legacy:
        if r["order_id"] in only_legacy:
            continue
        t = dict(r)
        t["loaded_at"] = target_load + timedelta(microseconds=rng.randrange(60 * 10**6))
        assert t["loaded_at"] != r["loaded_at"]
        if r["order_id"] in status_changed:
            t["status"] = rng.choice([s for s in STATUSES if s != r["status"]])
        if r["order_id"] in noisy:
            t["amount"] = r["amount"] + rng.choice([-1, 1]) * rng.uniform(1e-10, 5e-10)
            assert 0 < abs(t["amount"] - r["amount"]) < 1e-9
        target.append(t)
    for i in (n + 1, n + 2):
        target.append({
            "order_id": i, "customer": rng.choice(CUSTOMERS), "amount": 19.99, "price": D("19.99"),
            "status": "pending", "created_at": datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
            "loaded_at": target_load,
        })
    rng.shuffle(target)
    d = ROOT / name
    write_parquet(d / "legacy/part-00000.parquet", table(legacy[:1000], ORDERS_SCHEMA), compression="snappy")
    write_parquet(d / "legacy/part-00001.parquet", table(legacy[1000:], ORDERS_SCHEMA), compression="snappy")
    write_bytes(d / "legacy/_SUCCESS", b"")
    cuts = [0, 700, 1400, len(target)]
    for k in range(3):
        write_parquet(d / f"target/orders-{k}.parquet", table(target[cuts[k]:cuts[k + 1]], ORDERS_SCHEMA),
                      compression="zstd", row_group_size=250)
    finish(name, "Demo orders table (legacy vs target): 3 rows only in legacy, 2 only in target, 7 status changes, "
                 "float noise under 1e-9 on amount in 40 rows, loaded_at differs everywhere (ignored).",
           expect(["--key", "order_id", "--ignore", "loaded_at", "--abs-tol", "1e-9"], "diverged", n, len(target),
                  only_left=3, only_right=2, changed_rows=7, changed_cells={"status": 7}),
           left="legacy", right="target")


# ---------------------------------------------------------------------------
# independent reference check of every expected.json
# ---------------------------------------------------------------------------


class CannotCheck(Exception):
    pass


FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json", ".json": "json"}


def data_files(side):
    out = []
    for p in sorted(side.rglob("*")):
        if p.is_file() and not p.name.startswith((".", "_")):
            out.append(p)
    return out


def file_format(p):
    nm = p.name
    comp = None
    for c in (".gz", ".zst"):
        if nm.endswith(c):
            comp, nm = c, nm[: -len(c)]
    ext = "." + nm.rsplit(".", 1)[-1]
    if ext not in FORMATS or (comp and FORMATS[ext] == "parquet"):
        raise CannotCheck(f"{p}: unknown format")
    return FORMATS[ext], comp


def read_side(side):
    files = data_files(side)
    if not files:
        raise CannotCheck(f"{side}: no data files")
    fmts = {file_format(p)[0] for p in files}
    if len(fmts) > 1:
        first = file_format(files[0])[0]
        odd = next(p for p in files if file_format(p)[0] != first)
        raise CannotCheck(f"{odd}: format {file_format(odd)[0]} differs from {first} of {files[0].name} (mixed formats)")
    tables = []
    int96 = {}  # column -> (needs nanoseconds, files beyond 64-bit nanoseconds)
    for p in files:
        fmt, comp = file_format(p)
        try:
            if fmt == "parquet":
                t = read_parquet_exactly(p, int96)
            else:
                raw = p.read_bytes()
                if comp == ".gz":
                    raw = gzip.decompress(raw)
                elif comp == ".zst":
                    raw = pa.CompressedInputStream(pa.BufferReader(raw), "zstd").read()
                raw.decode("utf-8")  # arrow-rs refuses invalid UTF-8; pyarrow would infer binary
                if fmt == "csv":
                    t = pacsv.read_csv(io.BytesIO(raw))
                else:
                    t = pajson.read_json(io.BytesIO(raw))
        except (pa.ArrowException, OSError, UnicodeDecodeError) as e:
            raise CannotCheck(f"{p}: {e}")
        for part in p.relative_to(side).parts[:-1]:
            if "=" in part:
                k, v = part.split("=", 1)
                if k not in t.column_names:
                    t = t.append_column(k, pa.array([v] * t.num_rows, pa.string()))
        tables.append(t)
    for column, (needs_ns, beyond) in sorted(int96.items()):
        if needs_ns and beyond:
            raise CannotCheck(f"{beyond[0]}: INT96 column {column}: no 64-bit timestamp holds them all exactly")
    return tables


def read_parquet_exactly(p, int96):
    """A Parquet file as parity reads it: INT96 timestamps exactly (pyarrow, like arrow-rs, wraps
    them silently into 64-bit nanoseconds). A top-level INT96 column is read in nanoseconds when
    they hold every value (kept when a value has digits below the microsecond), in microseconds
    otherwise; nested ones in microseconds. `int96` collects, per column, whether some file
    needs nanoseconds and which files nanoseconds cannot hold."""
    f = pq.ParquetFile(str(p))
    cols = [f.schema.column(i) for i in range(len(f.schema))]
    top = [c.path for c in cols if c.physical_type == "INT96" and "." not in c.path]
    if not any(c.physical_type == "INT96" for c in cols):
        return f.read()
    tu = pq.ParquetFile(str(p), coerce_int96_timestamp_unit="us").read()
    tn = pq.ParquetFile(str(p), coerce_int96_timestamp_unit="ns").read()
    for name in top:
        us = tu.column(name).cast(pa.int64()).to_pylist()
        ns = tn.column(name).cast(pa.int64()).to_pylist()
        in_range = all(n is None or n // 1000 == u for u, n in zip(us, ns))
        sub_micro = in_range and any(n is not None and n % 1000 for n in ns)
        needs_ns, beyond = int96.setdefault(name, (False, []))
        int96[name] = (needs_ns or sub_micro, beyond + ([] if in_range else [p]))
        if sub_micro:
            tu = tu.set_column(tu.schema.get_field_index(name), name, tn.column(name))
    return tu


def family(t):
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_decimal(t):
        return "decimal"
    return str(t)


def same_type(a, b):
    # String encodings (utf8 / large_utf8 / dictionary) are the same logical type.
    if family(a) == family(b) == "string":
        return True
    return a == b


NAN = ("NaN",)


def norm_column(arr):
    t = arr.type
    fam = family(t)
    if fam == "timestamp":
        # Exact nanoseconds in Python integers: a cast to 64-bit nanoseconds would overflow.
        per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.unit]
        vals = [None if v is None else v * per for v in arr.cast(pa.int64()).to_pylist()]
    else:
        vals = arr.to_pylist()
    out = []
    for v in vals:
        if v is None:
            out.append(None)
        elif fam == "float":
            out.append(NAN if math.isnan(v) else (fam, v + 0.0))
        elif fam == "decimal":
            out.append((fam, v.normalize() if v != 0 else D(0)))
        elif isinstance(v, dict):
            out.append((fam, tuple(sorted(v.items()))))
        else:
            out.append((fam, v))
    return out


def side_rows(tables, cols):
    rows = []
    for t in tables:
        columns = [norm_column(t.column(c).combine_chunks()) for c in cols]
        rows.extend(zip(*columns))
    return rows


def parse_args(args):
    o = {"key": [], "ignore": [], "rename": {}, "abs": None, "rel": None, "tol": {}, "strict": False}
    it = iter(args)
    for a in it:
        if a == "--key":
            o["key"].append(next(it))
        elif a == "--ignore":
            o["ignore"].append(next(it))
        elif a == "--rename":
            l, r = next(it).split("=")
            o["rename"][l] = r
        elif a == "--abs-tol":
            o["abs"] = float(next(it))
        elif a == "--rel-tol":
            o["rel"] = float(next(it))
        elif a == "--tol":
            c, spec = next(it).split("=")
            kind, x = spec.split(":")
            o["tol"][c] = (kind, float(x))
        elif a == "--strict-types":
            o["strict"] = True
        else:
            raise AssertionError(a)
    return o


def cells_equal(a, b, col, o, is_float):
    if a == b:
        return True
    if a is None or b is None or a is NAN or b is NAN or not is_float:
        return False
    x, y = a[1], b[1]
    diff = abs(x - y)
    abs_tol, rel_tol = o["abs"], o["rel"]
    if col in o["tol"]:
        kind, v = o["tol"][col]
        abs_tol, rel_tol = (v, None) if kind == "abs" else (None, v)
    if abs_tol is not None and diff <= abs_tol:
        return True
    if rel_tol is not None and diff <= rel_tol * max(abs(x), abs(y)):
        return True
    return False


def reference(left_dir, right_dir, args):
    o = parse_args(args)
    lf = sorted(str(p.relative_to(left_dir)) for p in data_files(left_dir))
    rf = sorted(str(p.relative_to(right_dir)) for p in data_files(right_dir))
    if lf and lf == rf and all((left_dir / f).read_bytes() == (right_dir / f).read_bytes() for f in lf):
        return expect(args, "identical")
    lt, rt = read_side(left_dir), read_side(right_dir)

    def schema_of(tables, rename):
        s = {}
        for t in tables:
            for f in t.schema:
                nm = rename.get(f.name, f.name)
                if nm in o["ignore"] or f.name in o["ignore"]:
                    continue
                s.setdefault(nm, (f.name, f.type))
        return s

    ls, rs = schema_of(lt, o["rename"]), schema_of(rt, {})
    for k in o["key"]:
        if k not in ls or k not in rs:
            raise CannotCheck(f"key column {k} missing")
        if family(ls[k][1]) != family(rs[k][1]):
            raise CannotCheck(f"key column {k}: types cannot be compared")
    common = sorted(set(ls) & set(rs))
    changes, divergent = len(set(ls) ^ set(rs)), bool(set(ls) ^ set(rs))
    for c in common:
        if not same_type(ls[c][1], rs[c][1]):
            changes += 1
            if o["strict"] or family(ls[c][1]) != family(rs[c][1]):
                divergent = True
    L = side_rows(lt, [ls[c][0] for c in common])
    R = side_rows(rt, [rs[c][0] for c in common])
    is_float = [family(ls[c][1]) == "float" for c in common]
    res = dict(left_rows=len(L), right_rows=len(R), schema_changes=changes)
    if collections.Counter(L) == collections.Counter(R) and not divergent:
        return expect(args, "equivalent", **res)

    only_l = only_r = changed = 0
    cells = collections.Counter()
    dup, nullk = [0, 0], [0, 0]
    tol_used = False
    if not o["key"]:
        cl, cr = collections.Counter(L), collections.Counter(R)
        only_l, only_r = sum((cl - cr).values()), sum((cr - cl).values())
    else:
        ki = [common.index(k) for k in o["key"]]
        groups = [collections.defaultdict(list), collections.defaultdict(list)]
        nulls = [[], []]
        for s, rows in enumerate((L, R)):
            for row in rows:
                k = tuple(row[i] for i in ki)
                if any(v is None for v in k):
                    nulls[s].append(row)
                else:
                    groups[s][k].append(row)
            nullk[s] = len(nulls[s])
            dup[s] = sum(1 for v in groups[s].values() if len(v) > 1)

        def multiset(a, b):
            ca, cb = collections.Counter(a), collections.Counter(b)
            return sum((ca - cb).values()), sum((cb - ca).values())

        a, b = multiset(nulls[0], nulls[1])
        only_l, only_r = only_l + a, only_r + b
        for k in set(groups[0]) | set(groups[1]):
            gl, gr = groups[0].get(k, []), groups[1].get(k, [])
            if len(gl) > 1 or len(gr) > 1 or not gl or not gr:
                a, b = multiset(gl, gr)
                only_l, only_r = only_l + a, only_r + b
                continue
            row_changed = False
            for i, c in enumerate(common):
                if gl[0][i] != gr[0][i]:
                    if cells_equal(gl[0][i], gr[0][i], c, o, is_float[i]):
                        tol_used = True
                    else:
                        cells[c] += 1
                        row_changed = True
            changed += row_changed
    res.update(only_left=only_l, only_right=only_r, changed_rows=changed, changed_cells=dict(cells),
               dup=tuple(dup), nullk=tuple(nullk))
    clean = not (only_l or only_r or changed or divergent)
    assert not clean or tol_used
    return expect(args, "within_tolerance" if clean else "diverged", **res)


def check():
    bad = 0
    for name, left, right in FIXTURES:
        d = ROOT / name
        want = json.loads((d / "expected.json").read_text())
        try:
            got = reference(d / left, d / right, want["args"])
        except CannotCheck as e:
            msg = str(e)
            got = expect_error(want["args"], want["error_contains"] if want.get("error_contains", "\0") in msg else msg)
        if got != want:
            bad += 1
            print(f"MISMATCH {name}:\n  expected.json: {json.dumps(want)}\n  reference:     {json.dumps(got)}",
                  file=sys.stderr)
    if bad:
        sys.exit(f"{bad} fixture(s) disagree with the reference check")


def main():
    ROOT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:2] == ["--only"]:
        # Write only the fixtures whose name starts with the prefix given, leaving the rest as
        # they are (a new fixture, without rewriting every file with this pyarrow version).
        prefix = sys.argv[2]
        for k, fn in sorted(globals().items()):
            if k.startswith("fx_" + prefix):
                shutil.rmtree(ROOT / k[3:], ignore_errors=True)
                fn()
        check()
        print(f"wrote {len(FIXTURES)} fixtures starting with {prefix!r}, reference check passed")
        return
    for p in sorted(ROOT.iterdir()):
        if p.name in KEEP:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    for fn in [v for k, v in sorted(globals().items()) if k.startswith("fx_")]:
        fn()
    check()
    total = sum(p.stat().st_size for p in ROOT.rglob("*")
                if p.is_file() and p.relative_to(ROOT).parts[0] not in KEEP)
    assert total < 1 << 20, f"fixtures are {total} bytes, keep them under 1 MiB"
    print(f"wrote {len(FIXTURES)} fixtures under {ROOT} ({total} bytes), reference check passed "
          f"(pyarrow {pa.__version__})")


if __name__ == "__main__":
    main()
