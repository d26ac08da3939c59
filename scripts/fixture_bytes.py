"""File encodings shared by the fixture generators (make-fixtures.py, make-cutover-demo.py):
CSV with a header, JSON lines and gzip, each written byte-for-byte reproducibly."""
from __future__ import annotations

import csv
import gzip
import io
import json


def csv_bytes(columns, rows):
    """rows: lists of python values; floats written with repr (round-trips exactly)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(columns)
    for r in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in r])
    return buf.getvalue().encode("utf-8")


def jsonl_bytes(rows):
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode("utf-8")


def gz(data):
    """gzip with no timestamp, so the same data gives the same bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)
