#!/usr/bin/env python3
"""Generate the benchmark datasets for scripts/bench.

Layout written under OUT (one folder per row count):

    diff/left/   part-0000{0..3}.snappy.parquet   N rows, snappy, row groups of 1,000,000
    diff/right/  data_{0..4}.parquet              left - ~1% deleted + ~1% inserted,
                                                  ~2% rows with one changed column,
                                                  ~5% rows with float noise <= 1e-10 on amount,
                                                  zstd, row groups of 128,000, other row order
    ident/right/ byte copy of diff/left            -> the identical pair is (diff/left, ident/right)
    equiv/right/ same rows as diff/left, zstd, 3 files, row groups of 256,000, other row order
                                                   -> the equivalent pair is (diff/left, equiv/right)
    every/left/, every/right/  the diff pair plus a `loaded_at` column that differs in every
                               row (a load timestamp an hour apart): every matched row differs
    half/right/  the rows of diff/left, `qty` + 1 in about half of them, zstd, 4 files, row
                 groups of 256,000, other row order -> the half pair is (diff/left, half/right)
    manifest.json  expected counts, sizes, generation time (written last: it is the marker)

`--pairs diff,ident,...` writes only some pairs (the large row counts need only `diff`).

Schema (8 columns): id int64 (the key, shuffled), customer string, amount float64,
qty int32, price decimal(18,4), status dictionary<int32, string>, created_at timestamp(us, UTC),
note string with nulls (and some empty strings, which are not nulls).

Every cell is a pure function of the row's id (splitmix64), so each side is written in chunks
without holding a side in memory: only the id order (8 bytes a row) is materialised.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEED = 0x5EED_0F_9A217
FORMAT_VERSION = 4  # bump when the generated data changes: forces regeneration
PAIRS = ["diff", "ident", "equiv", "every", "half"]

COLUMNS = ["customer", "amount", "qty", "price", "status", "created_at", "note"]  # changeable
STATUS = ["new", "paid", "shipped", "delivered", "cancelled", "refunded"]
STATUS_CUM = np.array([30, 55, 75, 92, 97, 100], dtype=np.uint64)  # skewed distribution, %
NOTES = [
    "left at door", "call before delivery", "gift wrap", "fragile: glass", "leave with neighbour",
    "customer asked for invoice copy", "priority", "back order", "partial shipment",
    "address corrected by support", "weekend delivery", "réclamation en cours", "返品",
    "signature required", "no plastic please", "duplicate order?", "VIP",
    "promo SUMMER24 applied", "tax exempt", "paid by bank transfer",
]
BASE_TS_US = 1_609_459_200_000_000  # 2021-01-01T00:00:00Z
TS_SPAN_US = 3 * 365 * 86_400 * 1_000_000

M1 = np.uint64(0x9E3779B97F4A7C15)
M2 = np.uint64(0xBF58476D1CE4E5B9)
M3 = np.uint64(0x94D049BB133111EB)


def splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised, wrapping uint64 arithmetic."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64, copy=True) + M1
        z = (z ^ (z >> np.uint64(30))) * M2
        z = (z ^ (z >> np.uint64(27))) * M3
        return z ^ (z >> np.uint64(31))


def bits(h: np.ndarray, shift: int, mod: int) -> np.ndarray:
    return (h >> np.uint64(shift)) % np.uint64(mod)


# ---------------------------------------------------------------- per-k decisions (left id = 2k)
def plan(k: np.ndarray) -> dict[str, np.ndarray]:
    """What happens to the left row with id 2k, and whether id 2k+1 is inserted on the right."""
    h = splitmix(k ^ np.uint64(SEED))
    return {
        "deleted": bits(h, 0, 100) == 0,  # ~1%
        "changed": bits(h, 8, 50) == 0,  # ~2% (of the rows that are kept)
        "col": bits(h, 16, len(COLUMNS)).astype(np.int64),  # which column changes
        "noise": bits(h, 24, 20) == 0,  # ~5%: amount += delta, |delta| <= 1e-10
        "delta": (bits(h, 32, 100).astype(np.float64) + 1.0) * 1e-12
        * np.where(bits(h, 39, 2) == 0, 1.0, -1.0),
        "inserted": bits(h, 40, 100) == 0,  # ~1%: id 2k+1 only on the right
        "alt": bits(h, 48, 4).astype(np.int64),  # variant of the change
    }


# ---------------------------------------------------------------- base cells, f(id)
def base_columns(ids: np.ndarray) -> dict[str, np.ndarray]:
    u = ids.astype(np.uint64)
    g1 = splitmix(u)
    g2 = splitmix(g1)
    g3 = splitmix(g2)
    cust = bits(g1, 0, 500_000).astype(np.int64)
    amount = (g2 >> np.uint64(11)).astype(np.float64) * (2.0**-53) * 10_000.0
    qty = bits(g1, 20, 1000).astype(np.int32)
    price = bits(g3, 0, 10_000_000_000).astype(np.int64)  # unscaled, scale 4
    pct = bits(g1, 40, 100)
    status = np.searchsorted(STATUS_CUM, pct, side="right").astype(np.int32)
    created = (BASE_TS_US + bits(g3, 5, TS_SPAN_US).astype(np.int64)).astype(np.int64)
    r = bits(g2, 3, 100)
    note_kind = np.where(r < 10, 0, np.where(r < 12, 1, 2))  # 0 null, 1 "", 2 text
    note_idx = bits(g3, 50, len(NOTES)).astype(np.int64)
    note_num = bits(g2, 20, 10_000).astype(np.int64)
    return {
        "cust": cust, "amount": amount, "qty": qty, "price": price, "status": status,
        "created": created, "note_kind": note_kind, "note_idx": note_idx, "note_num": note_num,
        "cust_suffix": np.zeros(len(ids), dtype=bool), "note_suffix": np.zeros(len(ids), dtype=bool),
        "amount_null": np.zeros(len(ids), dtype=bool),
    }


def apply_right_changes(ids: np.ndarray, c: dict[str, np.ndarray]) -> None:
    """Mutate the base cells of right-side rows that exist on the left (even ids)."""
    even = (ids % 2) == 0
    k = (ids // 2).astype(np.uint64)
    p = plan(k)
    ch = even & p["changed"]
    col = p["col"]
    alt = p["alt"]
    # float noise first (a changed amount below overrides it)
    nz = even & p["noise"]
    c["amount"] = np.where(nz, c["amount"] + p["delta"], c["amount"])
    m = ch & (col == COLUMNS.index("customer"))
    c["cust_suffix"] |= m
    m = ch & (col == COLUMNS.index("amount"))
    c["amount"] = np.where(m & (alt != 0), c["amount"] + 0.01 * alt, c["amount"])
    c["amount_null"] |= m & (alt == 0)  # value -> null counts as a change
    m = ch & (col == COLUMNS.index("qty"))
    c["qty"] = np.where(m, c["qty"] + 1, c["qty"]).astype(np.int32)
    m = ch & (col == COLUMNS.index("price"))
    c["price"] = np.where(m, c["price"] + 1, c["price"])  # +0.0001: smallest decimal step
    m = ch & (col == COLUMNS.index("status"))
    c["status"] = np.where(m, (c["status"] + 1) % len(STATUS), c["status"]).astype(np.int32)
    m = ch & (col == COLUMNS.index("created_at"))
    c["created"] = np.where(m, c["created"] + 1, c["created"])  # +1 microsecond
    m = ch & (col == COLUMNS.index("note"))
    kind = c["note_kind"]
    # null -> "" ; "" -> null ; text -> text+"!" (alt odd) or null (alt even)
    new_kind = np.where(kind == 0, 1, np.where(kind == 1, 0, np.where(alt % 2 == 1, 2, 0)))
    c["note_suffix"] |= m & (kind == 2) & (alt % 2 == 1)
    c["note_kind"] = np.where(m, new_kind, kind)


# The load timestamp of the "every" pair: the left run loaded at BASE_LOAD_US, the right run an
# hour later; both add the row's id modulo 1000 microseconds (rows load over a second).
BASE_LOAD_US = 1_793_500_000_000_000
LOAD_SHIFT_US = 3_600_000_000


def half_changed(ids: np.ndarray) -> np.ndarray:
    """Rows of the half pair whose qty differs: one bit of the id's hash (about half)."""
    return bits(splitmix(ids.astype(np.uint64) ^ np.uint64(SEED + 7)), 5, 2) == 1


def to_table(ids: np.ndarray, c: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    n = len(ids)
    cust = pc.binary_join_element_wise(
        "cust_", pc.utf8_lpad(pc.cast(pa.array(c["cust"]), pa.string()), 7, "0"), "")
    if c["cust_suffix"].any():
        cust = pc.if_else(pa.array(c["cust_suffix"]),
                          pc.binary_join_element_wise(cust, "_x", ""), cust)
    amount = pa.array(c["amount"], mask=c["amount_null"] if c["amount_null"].any() else None)
    dec = np.empty((n, 2), dtype=np.int64)
    dec[:, 0] = c["price"]
    dec[:, 1] = np.where(c["price"] < 0, -1, 0)
    price = pa.Array.from_buffers(pa.decimal128(18, 4), n, [None, pa.py_buffer(dec.tobytes())])
    status = pa.DictionaryArray.from_arrays(pa.array(c["status"], pa.int32()),
                                            pa.array(STATUS, pa.string()))
    created = pa.array(c["created"], pa.int64()).view(pa.timestamp("us", tz="UTC"))
    notes = pc.take(pa.array(NOTES, pa.string()), pa.array(c["note_idx"]))
    notes = pc.binary_join_element_wise(
        notes, " #", pc.cast(pa.array(c["note_num"]), pa.string()), "")
    if c["note_suffix"].any():
        notes = pc.if_else(pa.array(c["note_suffix"]),
                           pc.binary_join_element_wise(notes, "!", ""), notes)
    kind = c["note_kind"]
    notes = pc.if_else(pa.array(kind == 1), pa.scalar("", pa.string()), notes)
    notes = pc.if_else(pa.array(kind == 0), pa.scalar(None, pa.string()), notes)
    arrays = [pa.array(ids, pa.int64()), cust, amount, pa.array(c["qty"], pa.int32()), price,
              status, created, notes]
    if "loaded_at" in schema.names:
        loaded = BASE_LOAD_US + c["load_shift"] + (ids % 1000)
        arrays.append(pa.array(loaded, pa.int64()).view(pa.timestamp("us", tz="UTC")))
    return pa.Table.from_arrays(arrays, schema=schema)


SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("customer", pa.string()),
    pa.field("amount", pa.float64()),
    pa.field("qty", pa.int32()),
    pa.field("price", pa.decimal128(18, 4)),
    pa.field("status", pa.dictionary(pa.int32(), pa.string())),
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
    pa.field("note", pa.string()),
])


SCHEMA_LOADED = SCHEMA.append(pa.field("loaded_at", pa.timestamp("us", tz="UTC")))


def write_side(out_dir: str, names: list[str], order: np.ndarray, *, right: bool,
               codec: str, row_group: int, chunk_groups: int, load_shift: int | None = None,
               half: bool = False) -> None:
    """Write ids in `order` split evenly over len(names) files, chunk by chunk. `load_shift`
    adds the loaded_at column (the every pair); `half` changes qty in about half the rows."""
    os.makedirs(out_dir, exist_ok=True)
    n = len(order)
    bounds = np.linspace(0, n, len(names) + 1).astype(np.int64)
    chunk = row_group * chunk_groups
    schema = SCHEMA if load_shift is None else SCHEMA_LOADED
    for fi, name in enumerate(names):
        path = os.path.join(out_dir, name)
        with pq.ParquetWriter(path + ".tmp", schema, compression=codec) as w:
            for s in range(bounds[fi], bounds[fi + 1], chunk):
                e = min(s + chunk, bounds[fi + 1])
                ids = order[s:e]
                c = base_columns(ids)
                if right:
                    apply_right_changes(ids, c)
                if half:
                    c["qty"] = np.where(half_changed(ids), c["qty"] + 1, c["qty"]).astype(np.int32)
                if load_shift is not None:
                    c["load_shift"] = np.int64(load_shift)
                w.write_table(to_table(ids, c, schema), row_group_size=row_group)
        os.replace(path + ".tmp", path)


def expected_counts(n: int) -> dict:
    k = np.arange(n, dtype=np.uint64)
    p = plan(k)
    kept = ~p["deleted"]
    ch = kept & p["changed"]
    by_col = {name: int((ch & (p["col"] == i)).sum()) for i, name in enumerate(COLUMNS)}
    # amount rows whose only difference is noise (not counted as changes)
    noise_only = kept & p["noise"] & ~ch
    diff = {
        "only_left": int(p["deleted"].sum()),
        "only_right": int(p["inserted"].sum()),
        "changed_rows": int(ch.sum()),
        "changed_by_column": by_col,
        "noise_only_rows": int(noise_only.sum()),
        "right_rows": int(kept.sum() + p["inserted"].sum()),
    }
    every = dict(diff, changed_rows=int(kept.sum()),
                 changed_by_column=dict(by_col, loaded_at=int(kept.sum())), noise_only_rows=0)
    halved = int(half_changed(2 * k.astype(np.int64)).sum())
    half = {"only_left": 0, "only_right": 0, "changed_rows": halved,
            "changed_by_column": {name: (halved if name == "qty" else 0) for name in COLUMNS},
            "noise_only_rows": 0, "right_rows": n}
    return {"diff": diff, "every": every, "half": half}


def dir_bytes(d: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--out", required=True, help="output folder for this row count")
    ap.add_argument("--force", action="store_true", help="regenerate even if the marker exists")
    ap.add_argument("--pairs", default=",".join(PAIRS),
                    help=f"which pairs to write, of {','.join(PAIRS)} (default all)")
    a = ap.parse_args()
    n = a.rows
    wanted = [x for x in a.pairs.split(",") if x]
    if not wanted or any(x not in PAIRS for x in wanted):
        ap.error(f"--pairs takes some of {','.join(PAIRS)}, got {a.pairs!r}")
    manifest_path = os.path.join(a.out, "manifest.json")
    if not a.force and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            m = json.load(f)
        if (m.get("rows") == n and m.get("format_version") == FORMAT_VERSION
                and set(wanted) <= set(m.get("pairs", {}))):
            print(f"bench_gen: data for {n} rows already in {a.out} "
                  f"(generated in {m['gen_seconds']:.1f}s), skipping", file=sys.stderr)
            return 0
    for sub in ("diff", "ident", "equiv", "every", "half"):
        shutil.rmtree(os.path.join(a.out, sub), ignore_errors=True)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    t0 = time.monotonic()
    timings = {}

    def step(name, fn):
        t = time.monotonic()
        print(f"bench_gen: {name} ...", file=sys.stderr, flush=True)
        fn()
        timings[name] = round(time.monotonic() - t, 2)

    left_dir = os.path.join(a.out, "diff", "left")
    right_dir = os.path.join(a.out, "diff", "right")
    ident_dir = os.path.join(a.out, "ident", "right")
    equiv_dir = os.path.join(a.out, "equiv", "right")

    def gen_left():
        order = 2 * np.random.default_rng(SEED).permutation(n).astype(np.int64)
        write_side(left_dir, [f"part-{i:05d}.snappy.parquet" for i in range(4)], order,
                   right=False, codec="snappy", row_group=1_000_000, chunk_groups=1)

    def right_ids():
        k = np.arange(n, dtype=np.uint64)
        p = plan(k)
        ids = np.concatenate([2 * k[~p["deleted"]].astype(np.int64),
                              2 * k[p["inserted"]].astype(np.int64) + 1])
        del p, k
        return ids[np.random.default_rng(SEED + 1).permutation(len(ids))]

    def gen_right():
        write_side(right_dir, [f"data_{i}.parquet" for i in range(5)], right_ids(),
                   right=True, codec="zstd", row_group=128_000, chunk_groups=8)

    def gen_ident():
        os.makedirs(ident_dir, exist_ok=True)
        for f in sorted(os.listdir(left_dir)):
            shutil.copyfile(os.path.join(left_dir, f), os.path.join(ident_dir, f))

    def gen_equiv():
        order = 2 * np.random.default_rng(SEED + 2).permutation(n).astype(np.int64)
        write_side(equiv_dir, [f"chunk-{i}.parquet" for i in range(3)], order,
                   right=False, codec="zstd", row_group=256_000, chunk_groups=4)

    every_left = os.path.join(a.out, "every", "left")
    every_right = os.path.join(a.out, "every", "right")
    half_dir = os.path.join(a.out, "half", "right")

    def gen_every():
        order = 2 * np.random.default_rng(SEED).permutation(n).astype(np.int64)
        write_side(every_left, [f"part-{i:05d}.snappy.parquet" for i in range(4)], order,
                   right=False, codec="snappy", row_group=1_000_000, chunk_groups=1, load_shift=0)
        del order
        write_side(every_right, [f"data_{i}.parquet" for i in range(5)], right_ids(),
                   right=True, codec="zstd", row_group=128_000, chunk_groups=8,
                   load_shift=LOAD_SHIFT_US)

    def gen_half():
        order = 2 * np.random.default_rng(SEED + 3).permutation(n).astype(np.int64)
        write_side(half_dir, [f"half-{i}.parquet" for i in range(4)], order,
                   right=False, codec="zstd", row_group=256_000, chunk_groups=4, half=True)

    steps = {
        "diff": [("left (snappy, 4 files, 1M row groups)", gen_left),
                 ("right (zstd, 5 files, 128k row groups)", gen_right)],
        "ident": [("identical copy", gen_ident)],
        "equiv": [("equivalent right (zstd, 3 files, 256k row groups, reshuffled)", gen_equiv)],
        "every": [("every pair (the diff pair plus loaded_at, an hour apart)", gen_every)],
        "half": [("half right (qty + 1 in half the rows, zstd, 4 files)", gen_half)],
    }
    if any(x in wanted for x in ("ident", "equiv", "half")) and "diff" not in wanted:
        wanted.insert(0, "diff")  # their left side is diff/left
    for pair in PAIRS:
        if pair in wanted:
            for name, fn in steps[pair]:
                step(name, fn)
    exp = expected_counts(n)
    gen_seconds = time.monotonic() - t0
    layout = {
        "diff": {"left": left_dir, "right": right_dir},
        "ident": {"left": left_dir, "right": ident_dir},
        "equiv": {"left": left_dir, "right": equiv_dir},
        "every": {"left": every_left, "right": every_right},
        "half": {"left": left_dir, "right": half_dir},
    }
    manifest = {
        "format_version": FORMAT_VERSION,
        "rows": n,
        "gen_seconds": round(gen_seconds, 2),
        "step_seconds": timings,
        "pairs": {p: layout[p] for p in PAIRS if p in wanted},
        "bytes": {f"{p}_{side}": dir_bytes(d) for p in PAIRS if p in wanted
                  for side, d in layout[p].items()},
        "expected": exp,
        "key": "id",
        "abs_tol": 1e-9,
        "pyarrow": pa.__version__,
    }
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(manifest_path + ".tmp", manifest_path)
    print(f"bench_gen: {n} rows generated in {gen_seconds:.1f}s -> {a.out}", file=sys.stderr)
    print(json.dumps(exp["diff"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
