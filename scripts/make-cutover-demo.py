#!/usr/bin/env python3
"""(Re)create the bundled demo cutover under fixtures/cutover/.

Usage (by hand only; CI never runs this script, it only reads what it wrote):
    python3.11 -m venv ~/.cache/parity-fixtures-venv
    ~/.cache/parity-fixtures-venv/bin/pip install pyarrow
    ~/.cache/parity-fixtures-venv/bin/python scripts/make-cutover-demo.py

The script deletes fixtures/cutover/ (and nothing else) and writes it anew:
    parity.toml     the cutover inventory (7 pipelines)
    legacy/, target/  partition data of both platforms, 2026-11-01 .. 2026-11-10
    expected.json   every unit `parity run --until 2026-11-10` must check, with its verdict
    README.md       what was planted, per pipeline
    .gitignore      keeps a demo run's ledger (.parity/) out of git

Output is deterministic: fixed seeds, no wall-clock values, gzip with mtime 0. Parquet
bytes embed pyarrow's "created_by" string, so regenerating with another pyarrow version
rewrites the Parquet files (the data, and so expected.json, stays the same).

expected.json is written by construction from what was planted. After writing, an
independent self-check (`check`) reads parity.toml with tomllib, expands every pipeline's
cadence up to the `until` date, lists both sides of every partition from disk, and
recomputes each unit's verdict with pyarrow and plain Python (byte comparison, then rows
as multisets after dropping ignored columns, then a keyed diff with the configured
tolerances); the script fails loudly if it disagrees with expected.json.

Decisions taken where the brief left room:
- `--until 2026-11-10` includes the whole day: hourly partitions run to 2026-11-10T23.
- A partition with no data on either side (inventory_levels 2026-11-04) is not a unit;
  it is listed under "missing_both".
- Units are listed pipeline by pipeline in parity.toml order, partitions ascending.
- "diverged_details" (an extra key) gives the planted counts of each diverged unit.
- The customers snapshot grows by 2 customers a day; the 3 planted customers carry
  PLANTED values on the legacy side every day, and on 2026-11-05 the target carries
  other PLANTED values, so every value that differs on either side contains PLANTED.
"""

import collections
import datetime as dt
import gzip
import io
import json
import math
import random
import shutil
import sys
import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_bytes import csv_bytes, gz, jsonl_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "cutover"
UNTIL = dt.date(2026, 11, 10)
DAYS = [dt.date(2026, 11, d) for d in range(1, 11)]
UTC = dt.timezone.utc
MARKER = "PLANTED"

# ---------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------


def write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def parquet_bytes(table, compression):
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=compression, version="2.6", data_page_version="1.0",
                   write_statistics=True)
    return sink.getvalue()


def iso(d):
    return d.isoformat()


# ---------------------------------------------------------------------------
# what is planted (filled in by the pipeline writers)
# ---------------------------------------------------------------------------

UNITS = []            # {"pipeline", "partition", "verdict"}
DIVERGED = []         # details of each diverged unit
MISSING_BOTH = []
PLANTED_VALUES = []


def unit(pipeline, partition, verdict):
    UNITS.append({"pipeline": pipeline, "partition": partition, "verdict": verdict})


# ---------------------------------------------------------------------------
# 1. orders_daily: parquet, snappy vs zstd, other row order, 2 target files,
#    loaded_at differs everywhere (ignored); 2026-11-07 diverges
# ---------------------------------------------------------------------------

ORDERS_SCHEMA = pa.schema([
    ("order_id", pa.int64()),
    ("customer_id", pa.int64()),
    ("amount", pa.float64()),
    ("currency", pa.string()),
    ("status", pa.string()),
    ("loaded_at", pa.timestamp("us", tz="UTC")),
])
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF", "SEK"]
STATUSES = ["placed", "paid", "paid", "shipped", "shipped", "delivered", "cancelled", "refunded"]


def orders_daily():
    pid = "orders_daily"
    for n, day in enumerate(DAYS):
        rng = random.Random(1000 + n)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        legacy_load = midnight + dt.timedelta(days=1, hours=1)
        target_load = midnight + dt.timedelta(days=1, hours=3, minutes=30)
        rows = []
        for i in range(rng.randint(140, 160)):
            rows.append({
                "order_id": 2026110000000 + (n + 1) * 10000 + i,
                "customer_id": rng.randint(100001, 104999),
                "amount": round(rng.uniform(4.99, 2499.0), 2),
                "currency": rng.choice(CURRENCIES),
                "status": rng.choice(STATUSES),
                "loaded_at": legacy_load + dt.timedelta(microseconds=rng.randrange(600 * 10**6)),
            })
        target = []
        for r in rows:
            t = dict(r)
            t["loaded_at"] = target_load + dt.timedelta(microseconds=rng.randrange(600 * 10**6))
            assert t["loaded_at"] != r["loaded_at"]
            target.append(t)
        verdict = "equivalent"
        if day == dt.date(2026, 11, 7):
            picks = rng.sample(range(len(target)), 4)
            for i in picks[:3]:
                target[i]["amount"] = round(target[i]["amount"] + rng.choice([-1, 1]) * rng.uniform(1.0, 50.0), 2)
                assert target[i]["amount"] != rows[i]["amount"]
            del target[picks[3]]
            verdict = "diverged"
            DIVERGED.append({"pipeline": pid, "partition": iso(day), "legacy_rows": len(rows),
                             "target_rows": len(target), "only_legacy": 1, "only_target": 0,
                             "changed_rows": 3, "changed_cells": {"amount": 3}})
        order = list(range(len(target)))
        while order == sorted(order):
            rng.shuffle(order)
        target = [target[i] for i in order]
        cut = len(target) // 2 + rng.randint(-10, 10)
        folder = f"dt={iso(day)}"
        write_bytes(ROOT / "legacy/orders" / folder / "part-00000.parquet",
                    parquet_bytes(pa.Table.from_pylist(rows, ORDERS_SCHEMA), "snappy"))
        write_bytes(ROOT / "legacy/orders" / folder / "_SUCCESS", b"")
        for k, part in enumerate((target[:cut], target[cut:])):
            write_bytes(ROOT / "target/orders" / folder / f"part-{k:05d}.parquet",
                        parquet_bytes(pa.Table.from_pylist(part, ORDERS_SCHEMA), "zstd"))
        unit(pid, iso(day), verdict)


# ---------------------------------------------------------------------------
# 2. fx_rates: CSV, composite key (currency, quote), relative noise ~1e-13 on the
#    target's rate every day, abs_tol 1e-9 -> within_tolerance
# ---------------------------------------------------------------------------

USD_PER = {"EUR": 1.0842, "USD": 1.0, "GBP": 1.2675, "CHF": 1.1321, "JPY": 0.006712,
           "SEK": 0.09541, "NOK": 0.09317, "DKK": 0.14538, "CAD": 0.7391, "AUD": 0.6577}
QUOTES = ["USD", "EUR", "GBP"]


def fx_rates():
    pid = "fx_rates"
    cols = ["currency", "quote", "rate"]
    drift = {c: 1.0 for c in USD_PER}
    for n, day in enumerate(DAYS):
        rng = random.Random(2000 + n)
        for c in drift:
            if c != "USD":
                drift[c] *= 1 + rng.uniform(-0.004, 0.004)
        legacy, target = [], []
        for cur in USD_PER:
            for quote in QUOTES:
                if cur == quote:
                    continue
                rate = round(USD_PER[cur] * drift[cur] / (USD_PER[quote] * drift[quote]), 8)
                noisy = rate * (1 + rng.choice([-1, 1]) * rng.uniform(0.5e-13, 1.5e-13))
                assert abs(noisy - rate) <= 1e-9
                legacy.append([cur, quote, rate])
                target.append([cur, quote, noisy])
        assert sum(1 for a, b in zip(legacy, target) if a[2] != b[2]) >= 1
        lb, tb = csv_bytes(cols, legacy), csv_bytes(cols, target)
        assert lb != tb
        folder = f"dt={iso(day)}"
        write_bytes(ROOT / "legacy/fx_rates" / folder / "part-00000.csv", lb)
        write_bytes(ROOT / "target/fx_rates" / folder / "part-00000.csv", tb)
        unit(pid, iso(day), "within_tolerance")


# ---------------------------------------------------------------------------
# 3. customers_snapshot: restricted JSON lines, byte-identical except 2026-11-05
#    (2 emails and 1 tax_id differ, every differing value contains PLANTED)
# ---------------------------------------------------------------------------

FIRST = ["Anna", "Ben", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
         "Kofi", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tala"]
LAST = ["Andersen", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
        "Jensen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Olsen", "Petrov", "Rossi", "Schmidt"]
PLANTED_LEGACY = {7: ("email", "planted.PLANTED-4711@example.com"),
                  19: ("email", "planted.PLANTED-4712@example.com"),
                  23: ("tax_id", "TAX-PLANTED-0001")}
PLANTED_TARGET = {7: ("email", "planted.PLANTED-5711@example.com"),
                  19: ("email", "planted.PLANTED-5712@example.com"),
                  23: ("tax_id", "TAX-PLANTED-0002")}


def customer(i):
    rng = random.Random(3000 + i)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    row = {"customer_id": 500000 + i,
           "email": f"{first.lower()}.{last.lower()}{i}@mail.example.org",
           "full_name": f"{first} {last}",
           "tax_id": f"TIN-{rng.randrange(10**8):08d}"}
    if i in PLANTED_LEGACY:
        col, value = PLANTED_LEGACY[i]
        row[col] = value
    return row


def customers_snapshot():
    pid = "customers_snapshot"
    for n, day in enumerate(DAYS):
        legacy = [customer(i) for i in range(1, 41 + 2 * n)]
        target = [dict(r) for r in legacy]
        verdict = "identical"
        if day == dt.date(2026, 11, 5):
            for i, (col, value) in PLANTED_TARGET.items():
                assert target[i - 1][col] == PLANTED_LEGACY[i][1] != value
                target[i - 1][col] = value
            verdict = "diverged"
            DIVERGED.append({"pipeline": pid, "partition": iso(day), "legacy_rows": len(legacy),
                             "target_rows": len(target), "only_legacy": 0, "only_target": 0,
                             "changed_rows": 3, "changed_cells": {"email": 2, "tax_id": 1}})
        folder = f"dt={iso(day)}"
        write_bytes(ROOT / "legacy/customers" / folder / "part-00000.jsonl", jsonl_bytes(legacy))
        write_bytes(ROOT / "target/customers" / folder / "part-00000.jsonl", jsonl_bytes(target))
        unit(pid, iso(day), verdict)
    for side in (PLANTED_LEGACY, PLANTED_TARGET):
        PLANTED_VALUES.extend(v for _, v in side.values())
    assert all(MARKER in v for v in PLANTED_VALUES)


# ---------------------------------------------------------------------------
# 4. inventory_levels: identical bytes; 2026-11-04 on neither side (a cadence gap),
#    2026-11-09 on legacy only -> missing_target
# ---------------------------------------------------------------------------

INVENTORY_SCHEMA = pa.schema([("sku", pa.string()), ("warehouse", pa.string()), ("on_hand", pa.int64())])
WAREHOUSES = ["AMS1", "FRA2", "DUB1", "WAW1"]


def inventory_levels():
    pid = "inventory_levels"
    for n, day in enumerate(DAYS):
        rng = random.Random(4000 + n)
        if day == dt.date(2026, 11, 4):
            MISSING_BOTH.append({"pipeline": pid, "partition": iso(day)})
            continue
        rows = [{"sku": f"SKU-{10000 + 37 * i:06d}", "warehouse": WAREHOUSES[i % len(WAREHOUSES)],
                 "on_hand": rng.randint(0, 900)} for i in range(60)]
        data = parquet_bytes(pa.Table.from_pylist(rows, INVENTORY_SCHEMA), "snappy")
        folder = f"dt={iso(day)}"
        write_bytes(ROOT / "legacy/inventory" / folder / "part-00000.parquet", data)
        if day == dt.date(2026, 11, 9):
            unit(pid, iso(day), "missing_target")
            continue
        write_bytes(ROOT / "target/inventory" / folder / "part-00000.parquet", data)
        unit(pid, iso(day), "identical")


# ---------------------------------------------------------------------------
# 5. clickstream_hourly: gzip JSON lines, hourly from 2026-11-09, other row order on
#    the target; 2026-11-10T14 lacks one row on the target -> diverged
# ---------------------------------------------------------------------------

EVENTS = ["page_view", "page_view", "page_view", "click", "search", "add_to_cart"]
PAGES = ["/", "/search", "/product/ski-jacket", "/product/trail-shoe", "/cart", "/checkout"]


def clickstream_hourly():
    pid = "clickstream_hourly"
    for day in DAYS[8:]:
        for hour in range(24):
            rng = random.Random(5000 + day.day * 100 + hour)
            start = dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
            rows = []
            for _ in range(rng.randint(4, 6)):
                ts = start + dt.timedelta(milliseconds=rng.randrange(3600 * 1000))
                rows.append({"event_id": f"evt_{rng.getrandbits(64):016x}",
                             "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
                             "session_id": f"s_{rng.getrandbits(32):08x}",
                             "event_type": rng.choice(EVENTS),
                             "page": rng.choice(PAGES)})
            rows.sort(key=lambda r: r["ts"])
            target = rows[::-1]  # other order, guaranteed (event ids are distinct)
            part = f"{iso(day)}T{hour:02d}"
            verdict = "equivalent"
            if part == "2026-11-10T14":
                del target[rng.randrange(len(target))]
                verdict = "diverged"
                DIVERGED.append({"pipeline": pid, "partition": part, "legacy_rows": len(rows),
                                 "target_rows": len(target), "only_legacy": 1, "only_target": 0,
                                 "changed_rows": 0, "changed_cells": {}})
            folder = f"dt={iso(day)}/hour={hour:02d}"
            write_bytes(ROOT / "legacy/clickstream" / folder / "part-00000.jsonl.gz", gz(jsonl_bytes(rows)))
            write_bytes(ROOT / "target/clickstream" / folder / "part-00000.jsonl.gz", gz(jsonl_bytes(target)))
            unit(pid, part, verdict)


# ---------------------------------------------------------------------------
# 6. legacy_exports: no owner (inventory gap), byte-identical every day
# ---------------------------------------------------------------------------

EXPORTS_SCHEMA = pa.schema([("export_id", pa.int64()), ("partner", pa.string()),
                            ("file_name", pa.string()), ("row_count", pa.int64())])
PARTNERS = ["acme-logistics", "northwind-retail", "globex-payments"]


def legacy_exports():
    pid = "legacy_exports"
    for n, day in enumerate(DAYS):
        rng = random.Random(6000 + n)
        rows = [{"export_id": (n + 1) * 100 + i, "partner": p,
                 "file_name": f"{p}_{day:%Y%m%d}_{i:02d}.csv", "row_count": rng.randint(10, 50000)}
                for i, p in enumerate(PARTNERS * 4)]
        data = parquet_bytes(pa.Table.from_pylist(rows, EXPORTS_SCHEMA), "snappy")
        folder = f"dt={iso(day)}"
        write_bytes(ROOT / "legacy/exports" / folder / "part-00000.parquet", data)
        write_bytes(ROOT / "target/exports" / folder / "part-00000.parquet", data)
        unit(pid, iso(day), "identical")


# ---------------------------------------------------------------------------
# 7. fax_gateway: migrate = false, legacy only (parity run skips it)
# ---------------------------------------------------------------------------


def fax_gateway():
    for n, day in enumerate(DAYS[:3]):
        rng = random.Random(7000 + n)
        rows = [[f"fax-{day:%Y%m%d}-{i:03d}", rng.choice(["inbound", "outbound"]), rng.randint(1, 12),
                 rng.choice(["delivered", "delivered", "busy", "no_answer"])] for i in range(8)]
        write_bytes(ROOT / "legacy/fax" / f"dt={iso(day)}" / "part-00000.csv",
                    csv_bytes(["fax_id", "direction", "pages", "status"], rows))


# ---------------------------------------------------------------------------
# parity.toml, README.md, expected.json
# ---------------------------------------------------------------------------

PARITY_TOML = '''\
# Demo cutover bundled with parity: 7 pipelines, partitions 2026-11-01 .. 2026-11-10.
# Written by scripts/make-cutover-demo.py; fixtures/cutover/README.md says what was planted.
#   parity run --config fixtures/cutover/parity.toml --until 2026-11-10

[cutover]
name = "warehouse-airflow-to-dagster"
retirement_date = 2026-12-15
required_streak = 7
ledger = ".parity/ledger"
min_age = "2h"
start = 2026-11-01

[defaults]
cadence = "daily"
format = "parquet"

[[pipeline]]
id = "orders_daily"
owner = "team-orders@example.com"
classification = "confidential"
reads = ["postgres.sales.orders", "postgres.sales.order_items"]
writes = ["warehouse.orders"]
business_process = "order-to-cash"
legacy = "legacy/orders/dt={date}/"
target = "target/orders/dt={date}/"
key = ["order_id"]
ignore = ["loaded_at"]

[[pipeline]]
id = "fx_rates"
owner = "team-finance-data@example.com"
classification = "internal"
reads = ["ecb.euro-reference-rates"]
writes = ["warehouse.fx_rates"]
business_process = "record-to-report"
legacy = "legacy/fx_rates/dt={date}/"
target = "target/fx_rates/dt={date}/"
format = "csv"
key = ["currency", "quote"]
abs_tol = 1e-9

[[pipeline]]
id = "customers_snapshot"
owner = "team-crm@example.com"
classification = "restricted"
reads = ["postgres.crm.customers"]
writes = ["warehouse.customers_snapshot"]
business_process = "customer-master-data"
legacy = "legacy/customers/dt={date}/"
target = "target/customers/dt={date}/"
format = "jsonl"
key = ["customer_id"]

[[pipeline]]
id = "inventory_levels"
owner = "team-supply-chain@example.com"
classification = "internal"
reads = ["mysql.wms.stock_levels"]
writes = ["warehouse.inventory_levels"]
business_process = "inventory-management"
legacy = "legacy/inventory/dt={date}/"
target = "target/inventory/dt={date}/"
key = ["sku"]

[[pipeline]]
id = "clickstream_hourly"
owner = "team-web-analytics@example.com"
classification = "public"
reads = ["kafka.web.clickstream"]
writes = ["warehouse.clickstream_hourly"]
business_process = "digital-marketing-analytics"
legacy = "legacy/clickstream/dt={date}/hour={hour}/"
target = "target/clickstream/dt={date}/hour={hour}/"
cadence = "hourly"
format = "jsonl"
key = ["event_id"]
start = 2026-11-09
# A day of clean hours, not the cutover's 7 partitions.
required_streak = 24

# No owner: parity flags it as an inventory gap (unowned), whatever its outputs say.
[[pipeline]]
id = "legacy_exports"
classification = "internal"
reads = ["warehouse.partner_export_queue"]
writes = ["sftp.partner-exports"]
business_process = "partner-reporting"
legacy = "legacy/exports/dt={date}/"
target = "target/exports/dt={date}/"
key = ["export_id"]

# Being retired with the legacy platform, not moved: no target, parity run skips it.
[[pipeline]]
id = "fax_gateway"
owner = "team-it-operations@example.com"
classification = "internal"
reads = ["smtp.fax-relay"]
writes = ["warehouse.fax_log"]
business_process = "order-intake-by-fax"
migrate = false
legacy = "legacy/fax/dt={date}/"
format = "csv"
'''

README = '''\
# Demo cutover

A small, complete cutover for trying `parity run` and `parity report` without any cloud
account: `parity.toml` describes the migration `warehouse-airflow-to-dagster` (retirement
date 2026-12-15, 7 clean partitions in a row needed), and `legacy/` and `target/` hold both
platforms' outputs for 2026-11-01 .. 2026-11-10. The ledger defaults to `.parity/ledger`
beside `parity.toml` (git-ignored).

    parity run --config fixtures/cutover/parity.toml --until 2026-11-10
    parity report --config fixtures/cutover/parity.toml

Everything here is written by `scripts/make-cutover-demo.py` (by hand, never by CI);
`expected.json` lists every unit `parity run --until 2026-11-10` checks and its verdict.

| pipeline | class | format | what was planted | verdicts |
|---|---|---|---|---|
| orders_daily | confidential | parquet | legacy snappy + `_SUCCESS`, target zstd in 2 files, other row order, `loaded_at` differs (ignored); 11-07: 3 `amount` changed, 1 row only in legacy | 9 equivalent, 1 diverged (11-07) |
| fx_rates | internal | csv | key (currency, quote); target `rate` has relative noise ~1e-13, `abs_tol = 1e-9` | 10 within_tolerance |
| customers_snapshot | restricted | jsonl | byte-identical; 11-05: 2 `email` and 1 `tax_id` differ, every differing value contains `PLANTED` | 9 identical, 1 diverged (11-05) |
| inventory_levels | internal | parquet | byte-identical; 11-04 absent on both sides (gap), 11-09 absent on target | 8 identical, 1 missing_target (11-09) |
| clickstream_hourly | public | jsonl.gz | hourly from 2026-11-09 (48 partitions), other row order; 11-10T14 target lacks 1 row | 47 equivalent, 1 diverged (2026-11-10T14) |
| legacy_exports | internal | parquet | no `owner` (inventory gap: unowned); byte-identical | 10 identical |
| fax_gateway | internal | csv | `migrate = false`, legacy only: not checked | none |

Totals: {totals}.
'''


def expected_json():
    counts = collections.Counter(u["verdict"] for u in UNITS)
    return {
        "until": iso(UNTIL),
        "units": UNITS,
        "missing_both": MISSING_BOTH,
        "inventory_gaps": {"legacy_exports": ["owner"]},
        "not_migrating": ["fax_gateway"],
        "restricted_planted_values": PLANTED_VALUES,
        "verdict_counts": {v: counts[v] for v in VERDICTS},
        "diverged_details": DIVERGED,
    }


VERDICTS = ["identical", "equivalent", "within_tolerance", "diverged", "missing_legacy", "missing_target"]

# ---------------------------------------------------------------------------
# independent self-check: from parity.toml and the files on disk only
# ---------------------------------------------------------------------------

CUTOVER_KEYS = {"name", "retirement_date", "required_streak", "ledger", "min_age", "start"}
COMPARISON_KEYS = {"legacy", "target", "cadence", "format", "key", "ignore", "rename", "abs_tol", "rel_tol",
                   "tolerance", "strict_types", "start"}
PIPELINE_KEYS = {"id", "owner", "classification", "reads", "writes", "business_process", "migrate",
                 "required_streak", "min_age"} | COMPARISON_KEYS
ATTRIBUTES = ["owner", "classification", "reads", "writes", "business_process"]


class CheckFailed(Exception):
    pass


def partitions(cadence, start, until):
    day = start
    while day <= until:
        if cadence == "daily":
            yield iso(day), {"date": iso(day)}
        elif cadence == "hourly":
            for h in range(24):
                yield f"{iso(day)}T{h:02d}", {"date": iso(day), "hour": f"{h:02d}"}
        else:
            raise CheckFailed(f"unknown cadence {cadence}")
        day += dt.timedelta(days=1)


def listing(folder):
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(("_", "."))}


def read_rows(files, fmt):
    """All rows of one side as dicts (timestamps as integer microseconds)."""
    rows = []
    for name, raw in files.items():
        if name.endswith(".gz"):
            raw, name = gzip.decompress(raw), name[:-3]
        ext = name.rsplit(".", 1)[-1]
        if ext != fmt:
            raise CheckFailed(f"{name}: extension does not match format {fmt}")
        if fmt == "parquet":
            t = pq.read_table(io.BytesIO(raw))
        elif fmt == "csv":
            t = pacsv.read_csv(io.BytesIO(raw))
        elif fmt == "jsonl":
            t = pajson.read_json(io.BytesIO(raw))
        else:
            raise CheckFailed(f"unknown format {fmt}")
        cols = {}
        for f in t.schema:
            col = t.column(f.name)
            if pa.types.is_timestamp(f.type):
                col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
            cols[f.name] = col.to_pylist()
        rows.extend(dict(zip(cols, vals)) for vals in zip(*cols.values()))
    return rows


def within(a, b, abs_tol, rel_tol):
    if not (isinstance(a, float) and isinstance(b, float)) or math.isnan(a) or math.isnan(b):
        return False
    d = abs(a - b)
    return (abs_tol is not None and d <= abs_tol) or (rel_tol is not None and d <= rel_tol * max(abs(a), abs(b)))


def tolerance_of(p, col):
    spec = p.get("tolerance", {}).get(col)
    if spec is None:
        return p.get("abs_tol"), p.get("rel_tol")
    out = {"abs": None, "rel": None}
    for part in spec.split(","):
        kind, x = part.split(":")
        out[kind] = float(x)
    return out["abs"], out["rel"]


def verdict_of(p, legacy, target):
    """Returns (verdict, details) for one unit."""
    if not legacy and not target:
        return "missing_both", None
    if not legacy:
        return "missing_legacy", None
    if not target:
        return "missing_target", None
    if list(legacy) == list(target) and all(legacy[f] == target[f] for f in legacy):
        return "identical", None
    fmt = p["format"]
    rename, ignore = p.get("rename", {}), set(p.get("ignore", []))

    def clean(rows, ren):
        return [{ren.get(c, c): v for c, v in r.items() if ren.get(c, c) not in ignore and c not in ignore}
                for r in rows]

    L, R = clean(read_rows(legacy, fmt), rename), clean(read_rows(target, fmt), {})
    lcols, rcols = set().union(*L) if L else set(), set().union(*R) if R else set()
    if lcols != rcols:
        raise CheckFailed(f"schemas differ: {sorted(lcols ^ rcols)}")
    cols = sorted(lcols)

    def canon(r):
        return tuple((c, r.get(c)) for c in cols)

    det = {"legacy_rows": len(L), "target_rows": len(R)}
    if collections.Counter(map(canon, L)) == collections.Counter(map(canon, R)):
        return "equivalent", det
    key = p["key"]
    lk, rk = {}, {}
    for rows, idx in ((L, lk), (R, rk)):
        for r in rows:
            k = tuple(r[c] for c in key)
            if k in idx or any(v is None for v in k):
                raise CheckFailed(f"duplicate or null key {k}")
            idx[k] = r
    changed, cells, tol_used = 0, collections.Counter(), False
    for k in set(lk) & set(rk):
        row_changed = False
        for c in cols:
            a, b = lk[k].get(c), rk[k].get(c)
            if a == b:
                continue
            if within(a, b, *tolerance_of(p, c)):
                tol_used = True
            else:
                cells[c] += 1
                row_changed = True
        changed += row_changed
    det.update(only_legacy=len(set(lk) - set(rk)), only_target=len(set(rk) - set(lk)), changed_rows=changed,
               changed_cells=dict(cells))
    if det["only_legacy"] or det["only_target"] or changed:
        return "diverged", det
    assert tol_used
    return "within_tolerance", det


def differing_values(p, legacy, target):
    """Every value of a changed cell, on either side (for the leak markers)."""
    L = {tuple(r[c] for c in p["key"]): r for r in read_rows(legacy, p["format"])}
    R = {tuple(r[c] for c in p["key"]): r for r in read_rows(target, p["format"])}
    out = []
    for k in sorted(set(L) & set(R)):
        for c in L[k]:
            if L[k][c] != R[k].get(c):
                out += [L[k][c], R[k][c]]
    return out


def check():
    base = ROOT
    cfg = tomllib.loads((base / "parity.toml").read_text())
    want = json.loads((base / "expected.json").read_text())
    errors = []
    if set(cfg) != {"cutover", "defaults", "pipeline"}:
        errors.append(f"top-level tables: {sorted(cfg)}")
    if set(cfg["cutover"]) - CUTOVER_KEYS or {"name", "retirement_date"} - set(cfg["cutover"]):
        errors.append(f"[cutover] keys: {sorted(cfg['cutover'])}")
    if set(cfg["defaults"]) - COMPARISON_KEYS:
        errors.append(f"[defaults] keys: {sorted(cfg['defaults'])}")
    until = dt.date.fromisoformat(want["until"])
    units, missing_both, gaps, skipped, restricted_diff = [], [], {}, [], []
    details = []
    for raw in cfg["pipeline"]:
        if set(raw) - PIPELINE_KEYS:
            errors.append(f"{raw['id']}: unknown keys {sorted(set(raw) - PIPELINE_KEYS)}")
        p = {**cfg["defaults"], **raw}
        missing = [a for a in ATTRIBUTES if not p.get(a)]
        if missing:
            gaps[p["id"]] = missing
        if not p.get("migrate", True):
            skipped.append(p["id"])
            if "target" in p:
                errors.append(f"{p['id']}: not migrating but has a target")
            continue
        start = p.get("start", cfg["cutover"]["start"])
        for part, subst in partitions(p["cadence"], start, until):
            loc = {}
            for side in ("legacy", "target"):
                tmpl = p[side]
                for k, v in subst.items():
                    tmpl = tmpl.replace("{" + k + "}", v)
                assert "{" not in tmpl, tmpl
                loc[side] = listing(base / tmpl)
            try:
                v, det = verdict_of(p, loc["legacy"], loc["target"])
            except CheckFailed as e:
                errors.append(f"{p['id']} {part}: {e}")
                continue
            if v == "missing_both":
                missing_both.append({"pipeline": p["id"], "partition": part})
                continue
            units.append({"pipeline": p["id"], "partition": part, "verdict": v})
            if v == "diverged":
                details.append({"pipeline": p["id"], "partition": part, **det})
                if p["classification"] == "restricted":
                    restricted_diff += differing_values(p, loc["legacy"], loc["target"])
    # Every value planted in restricted data must be findable in the files, and every
    # value that differs between the sides must carry the marker.
    all_bytes = b"".join(p.read_bytes() for p in base.rglob("*") if p.is_file())
    for v in want["restricted_planted_values"]:
        if MARKER not in v or v.encode() not in all_bytes:
            errors.append(f"planted value {v!r} lacks the marker or is not in the data")
    for v in restricted_diff:
        if not (isinstance(v, str) and MARKER in v):
            errors.append(f"restricted differing value {v!r} lacks the marker {MARKER}")
    if sorted(set(restricted_diff)) != sorted(want["restricted_planted_values"]):
        errors.append(f"restricted differing values {sorted(set(restricted_diff))} != planted list")
    counts = collections.Counter(u["verdict"] for u in units)
    for name, got in (("units", units), ("missing_both", missing_both), ("inventory_gaps", gaps),
                      ("not_migrating", skipped), ("verdict_counts", {v: counts[v] for v in VERDICTS}),
                      ("diverged_details", details)):
        if got != want[name]:
            if name == "units":
                g = {(u["pipeline"], u["partition"]): u["verdict"] for u in got}
                w = {(u["pipeline"], u["partition"]): u["verdict"] for u in want[name]}
                for k in sorted(set(g) | set(w)):
                    if g.get(k) != w.get(k):
                        errors.append(f"unit {k}: expected.json {w.get(k)}, recomputed {g.get(k)}")
            errors.append(f"{name}: expected.json {json.dumps(want[name])[:400]}\n    recomputed {json.dumps(got)[:400]}")
    if errors:
        for e in errors:
            print("SELF-CHECK FAILED:", e, file=sys.stderr)
        sys.exit(f"{len(errors)} disagreement(s) between expected.json and the recomputed verdicts")
    return counts


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    for fn in (orders_daily, fx_rates, customers_snapshot, inventory_levels, clickstream_hourly,
               legacy_exports, fax_gateway):
        fn()
    (ROOT / "parity.toml").write_text(PARITY_TOML)
    (ROOT / ".gitignore").write_text("/.parity/\n")
    exp = expected_json()
    (ROOT / "expected.json").write_text(json.dumps(exp, indent=2) + "\n")
    totals = ", ".join(f"{n} {v}" for v, n in exp["verdict_counts"].items() if n)
    (ROOT / "README.md").write_text(README.replace("{totals}", f"{len(UNITS)} units: {totals}"))
    counts = check()
    size = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    assert size < 512 * 1024, f"fixtures/cutover is {size} bytes, keep it well under 1 MiB"
    print(f"wrote {ROOT} ({size} bytes, {len(UNITS)} units: "
          + ", ".join(f"{v} {counts[v]}" for v in VERDICTS) + f"), self-check passed (pyarrow {pa.__version__})")


if __name__ == "__main__":
    main()
