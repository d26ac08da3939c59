#!/usr/bin/env python3
"""(Re)create fixtures/parquet_edges/: Parquet files as other writers and damage leave them.

Usage:
    pip install pyarrow duckdb   # only needed to regenerate, never by CI
    python3 scripts/make-edge-fixtures.py

Each case is a folder with left/ and right/ sides; fixtures/parquet_edges/README has one line
per case saying what it exercises, and tests/it/parquet_edges.rs what parity must answer.
pyarrow writes every file; the legacy layouts that no current writer produces are made by
rewriting the footer of a pyarrow file (scripts/parquet_footer.py), never its pages. Before
writing, each crafted file is read back with pyarrow and DuckDB, which must give the rows it
was made from (or, for the damaged file, pyarrow must refuse it when checking checksums): the
files are what other engines accept or refuse, not only what parity does.
Output is deterministic (fixed data, no clocks); the bytes embed pyarrow's version string.
"""

import io
import shutil
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parquet_footer import (  # noqa: E402
    T_BINARY, T_I32, T_I64, T_LIST, Struct, encode_struct, read_footer, read_page_header,
    write_footer)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "parquet_edges"
README = []


def parquet(table, **options):
    buf = io.BytesIO()
    pq.write_table(table, buf, **options)
    return buf.getvalue()


def put(case, side, name, data):
    path = ROOT / case / side / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def describe(case, line):
    assert "\n" not in line
    README.append(f"{case}: {line}")


def column_chunks(meta):
    """Every ColumnMetaData of the footer, row group by row group."""
    for group in meta.get(4)[2]:
        for chunk in group.get(1)[2]:
            yield chunk.get(3)


def same_rows_elsewhere(data, table):
    """pyarrow and DuckDB read `data` as `table`'s rows."""
    got = pq.read_table(io.BytesIO(data))
    assert got.to_pylist() == table.to_pylist(), f"pyarrow reads {got.to_pylist()[:3]}"
    tmp = ROOT / ".check.parquet"
    tmp.write_bytes(data)
    try:
        rows = duckdb.sql(f"select * from '{tmp}'").fetchall()
    finally:
        tmp.unlink()
    want = duckdb.from_arrow(table).fetchall()
    assert rows == want, f"DuckDB reads {rows[:3]}, want {want[:3]}"


# ---------------------------------------------------------------------------------------------


def amounts():
    return pa.table({
        "id": pa.array(range(1000), pa.int64()),
        "amount": pa.array([i * 1.5 for i in range(1000)], pa.float64()),
        "name": [f"n{i % 37}" for i in range(1000)],
    })


def page_checksum():
    case = "page_checksum"
    t = amounts()
    good = parquet(t, write_page_checksum=True, compression="none", row_group_size=500,
                   use_dictionary=["name"])
    meta = pq.ParquetFile(io.BytesIO(good)).metadata
    chunk = meta.row_group(1).column(1)
    assert chunk.path_in_schema == "amount" and not chunk.has_dictionary_page
    # One bit of the last value of row group 1's `amount` page: 1498.5 becomes another float.
    at = chunk.data_page_offset + chunk.total_compressed_size - 3
    bad = bytearray(good)
    bad[at] ^= 0x01
    bad = bytes(bad)
    try:
        pq.read_table(io.BytesIO(bad), page_checksum_verification=True)
        raise AssertionError("pyarrow read the damaged page")
    except OSError as e:
        assert "CRC" in str(e), e
    assert pq.read_table(io.BytesIO(bad)).to_pylist() != t.to_pylist()
    put(case, "left", "data.parquet", good)
    put(case, "right", "data.parquet", bad)
    describe(case, "right's page of row group 1, column amount has one bit flipped under a stored "
                   "CRC32 (pyarrow writes them with write_page_checksum=True): exit 2 naming the "
                   "file, the row group and the column; without the check it read as a changed value")

    case = "page_checksum_ok"
    put(case, "left", "data.parquet", good)
    put(case, "right", "data.parquet", parquet(t, compression="snappy", row_group_size=300))
    describe(case, "the same rows with page checksums (left) and without (right): checksums that "
                   "match are no difference, equivalent")


def negative_page_offset():
    case = "negative_page_offset"
    t = amounts()
    good = parquet(t, compression="none", row_group_size=500, use_dictionary=["name"])
    meta = read_footer(good)
    first = next(column_chunks(meta))  # row group 0, column id, which has no dictionary page
    assert first.get(11) is None
    first.set(9, T_I64, -100)  # data_page_offset
    bad = write_footer(good, meta)
    try:
        pq.read_table(io.BytesIO(bad))
        raise AssertionError("pyarrow read a chunk at a negative offset")
    except OSError:
        pass
    put(case, "left", "data.parquet", good)
    put(case, "right", "data.parquet", bad)
    describe(case, "right's footer places row group 0's id column at offset -100: the Parquet "
                   "reader panics on it (an assertion); exit 2, one line naming the file and the "
                   "decoder's reason, no panic text even with RUST_BACKTRACE set")


def negative_dictionary_count():
    case = "negative_dictionary_count"
    t = amounts()
    good = parquet(t, compression="none", row_group_size=500, use_dictionary=["name"])
    meta = pq.ParquetFile(io.BytesIO(good)).metadata
    chunk = meta.row_group(1).column(2)
    assert chunk.path_in_schema == "name" and chunk.has_dictionary_page
    at = chunk.dictionary_page_offset
    header, end = read_page_header(good, at)
    dictionary = header.get(7)  # DictionaryPageHeader; its field 1 is num_values
    dictionary.set(1, T_I32, -dictionary.get(1))
    patched = encode_struct(header)
    assert len(patched) == end - at  # a zigzag varint of -n is as long as n's here
    bad = good[:at] + patched + good[end:]
    try:
        pq.read_table(io.BytesIO(bad))
        raise AssertionError("pyarrow read a dictionary page of a negative number of values")
    except OSError as e:
        assert "negative" in str(e), e
    put(case, "left", "data.parquet", good)
    put(case, "right", "data.parquet", bad)
    describe(case, "right's dictionary page of row group 1, column name declares a negative "
                   "number of values (pyarrow refuses it too): exit 2 naming the file, the row "
                   "group, the column and what the page header holds")


def dictionary_page_offset_zero():
    case = "dictionary_page_offset_zero"
    t = pa.table({"id": pa.array(range(50), pa.int64()), "name": [f"n{i % 5}" for i in range(50)]})
    plain = parquet(t, use_dictionary=["name"], compression="none", store_schema=False)
    meta = read_footer(plain)
    zeroed = 0
    for chunk in column_chunks(meta):
        if chunk.get(11) is None:
            chunk.set(11, T_I64, 0)
            zeroed += 1
    assert zeroed == 1
    legacy = write_footer(plain, meta)
    same_rows_elsewhere(legacy, t)
    put(case, "left", "data.parquet", legacy)
    put(case, "right", "data.parquet", parquet(t, compression="snappy"))
    describe(case, "left's id column chunk says dictionary_page_offset = 0, as parquet-mr before "
                   "1.11 wrote for a chunk without a dictionary (pyarrow and DuckDB read it as "
                   "none): read, equivalent to the same rows written by pyarrow")


def two_level_lists():
    element = pa.field("element", pa.int32(), nullable=False)
    schema = pa.schema([("id", pa.int64()), pa.field("a", pa.list_(element), nullable=False)])
    t = pa.table({"id": list(range(6)), "a": [[1, 2], [], [3], [4, 5, 6], [], [7]]}, schema=schema)
    # A required list of required int32 has the levels of a bare `repeated int32` (one
    # repetition level, no definition level), so only the footer's schema changes.
    modern = parquet(t, compression="none", store_schema=False, use_dictionary=False)

    def relist(new_elements, path):
        meta = read_footer(modern)
        elements = meta.get(2)[2]
        i = next(k for k, s in enumerate(elements) if s.get(4) == b"a")
        assert [s.get(4) for s in elements[i:i + 3]] == [b"a", b"list", b"element"]
        elements[i:i + 3] = new_elements
        for chunk in column_chunks(meta):
            if chunk.get(3)[2][0] == b"a":
                chunk.set(3, T_LIST, ("list", T_BINARY, path))
        return write_footer(modern, meta)

    # Thrift and old parquet-mr writers: `repeated int32 a;` with no LIST annotation.
    bare = relist([Struct([(1, T_I32, 1), (3, T_I32, 2), (4, T_BINARY, b"a")])], [b"a"])
    # parquet-mr's two-level lists: `required group a (LIST) { repeated int32 array; }`.
    two_level = relist([
        Struct([(3, T_I32, 0), (4, T_BINARY, b"a"), (5, T_I32, 1), (6, T_I32, 3)]),
        Struct([(1, T_I32, 1), (3, T_I32, 2), (4, T_BINARY, b"array")]),
    ], [b"a", b"array"])
    for data in (bare, two_level):
        same_rows_elsewhere(data, t)
    three_level = parquet(t, compression="snappy")
    case = "repeated_field_without_list"
    put(case, "left", "data.parquet", bare)
    put(case, "right", "data.parquet", three_level)
    describe(case, "left's column a is `repeated int32 a` with no LIST annotation (old Thrift and "
                   "parquet-mr writers), right the same lists in the three-level layout: read as a "
                   "list, equivalent, no schema change")
    case = "two_level_list"
    put(case, "left", "data.parquet", two_level)
    put(case, "right", "data.parquet", three_level)
    describe(case, "left's column a is parquet-mr's two-level list (`group a (LIST) { repeated "
                   "int32 array; }`), right three-level: equivalent, no schema change")


def nested_wrapper_names():
    case = "nested_wrapper_names"
    schema = pa.schema([
        ("id", pa.int64()),
        ("tags", pa.list_(pa.string())),
        ("attrs", pa.map_(pa.string(), pa.int64())),
    ])
    t = pa.table({
        "id": [1, 2, 3],
        "tags": [["a", "b"], [], None],
        "attrs": [[("x", 1), ("y", 2)], [], None],
    }, schema=schema)
    # Left: the list element named `element` (the format's name) and the embedded Arrow schema
    # (readers name the map's entries `entries`); right: `item` (use_compliant_nested_type off)
    # and no embedded schema (the map's entries are the file's `key_value`).
    put(case, "left", "data.parquet", parquet(t, use_compliant_nested_type=True))
    # Right's map group is renamed `map`, as parquet-mr's MAP_KEY_VALUE groups were.
    right = parquet(t, use_compliant_nested_type=False, store_schema=False)
    meta = read_footer(right)
    renamed = 0
    for element in meta.get(2)[2]:
        if element.get(4) == b"key_value":
            element.set(4, T_BINARY, b"map")
            renamed += 1
    for chunk in column_chunks(meta):
        path = chunk.get(3)[2]
        if path[:2] == [b"attrs", b"key_value"]:
            chunk.set(3, T_LIST, ("list", T_BINARY, [b"attrs", b"map"] + path[2:]))
    assert renamed == 1
    right = write_footer(right, meta)
    same_rows_elsewhere(right, t)
    put(case, "right", "data.parquet", right)
    describe(case, "a list and a map whose wrapper fields are named differently on the two sides "
                   "(list element `element` against `item`, map entries `key_value` against "
                   "`map`): layout, not data, so equivalent with no schema change")


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    page_checksum()
    negative_page_offset()
    negative_dictionary_count()
    dictionary_page_offset_zero()
    two_level_lists()
    nested_wrapper_names()
    (ROOT / "README").write_text(
        "Parquet files as other writers, and damage, leave them (scripts/make-edge-fixtures.py; "
        "what parity must answer is in tests/it/parquet_edges.rs).\n" + "\n".join(README) + "\n")
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"wrote {len(README)} cases under {ROOT} ({total} bytes) with pyarrow {pa.__version__}, "
          f"checked against DuckDB {duckdb.__version__}")


if __name__ == "__main__":
    main()
