"""Read and rewrite a Parquet file's footer (Thrift compact protocol), for crafting test files.

The footer is decoded into a generic tree, changed by the caller, and encoded again; the data
pages before it are kept byte for byte. Field ids follow parquet.thrift. This knows nothing of
Parquet beyond the footer's place (`... <footer> <4-byte length> PAR1`); the callers name the
fields they change.

    meta = read_footer(data)              # a Struct
    schema = meta.get(2)                  # FileMetaData.schema: ("list", 12, [Struct, ...])
    write_footer(data, meta)              # the file with the new footer
"""

import struct

# Thrift compact types.
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY, T_LIST, T_SET, T_MAP, T_STRUCT = range(1, 13)


class Struct:
    """A Thrift struct: its fields as (id, type, value), in order."""

    def __init__(self, fields=None):
        self.fields = list(fields or [])

    def get(self, fid):
        for f, _, v in self.fields:
            if f == fid:
                return v
        return None

    def set(self, fid, ftype, value):
        for i, (f, _, _) in enumerate(self.fields):
            if f == fid:
                self.fields[i] = (fid, ftype, value)
                return
        self.fields.append((fid, ftype, value))
        self.fields.sort(key=lambda x: x[0])

    def remove(self, fid):
        self.fields = [x for x in self.fields if x[0] != fid]


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self):
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t):
        if t in (T_TRUE, T_FALSE):
            return t == T_TRUE
        if t == T_BYTE:
            return self.byte()
        if t in (T_I16, T_I32, T_I64):
            return self.zigzag()
        if t == T_DOUBLE:
            v = struct.unpack("<d", self.data[self.pos:self.pos + 8])[0]
            self.pos += 8
            return v
        if t == T_BINARY:
            n = self.varint()
            v = bytes(self.data[self.pos:self.pos + n])
            self.pos += n
            return v
        if t in (T_LIST, T_SET):
            head = self.byte()
            size, et = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if et in (T_TRUE, T_FALSE):
                return ("list", et, [self.byte() == 1 for _ in range(size)])
            return ("list", et, [self.value(et) for _ in range(size)])
        if t == T_MAP:
            size = self.varint()
            if size == 0:
                return ("map", 0, 0, [])
            kv = self.byte()
            kt, vt = kv >> 4, kv & 0x0F
            return ("map", kt, vt, [(self.value(kt), self.value(vt)) for _ in range(size)])
        if t == T_STRUCT:
            return self.struct()
        raise ValueError(f"unknown thrift type {t} at {self.pos}")

    def struct(self):
        s, last = Struct(), 0
        while True:
            head = self.byte()
            if head == 0:
                return s
            delta, t = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            s.fields.append((fid, t, self.value(t)))
            last = fid


class Writer:
    def __init__(self):
        self.out = bytearray()

    def varint(self, n):
        while True:
            if n < 0x80:
                self.out.append(n)
                return
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7

    def zigzag(self, n):
        self.varint((n << 1) ^ (n >> 63))

    def value(self, t, v):
        if t in (T_TRUE, T_FALSE):
            return  # the value is in the field header
        if t == T_BYTE:
            self.out.append(v & 0xFF)
        elif t in (T_I16, T_I32, T_I64):
            self.zigzag(v)
        elif t == T_DOUBLE:
            self.out += struct.pack("<d", v)
        elif t == T_BINARY:
            self.varint(len(v))
            self.out += v
        elif t in (T_LIST, T_SET):
            _, et, items = v
            if len(items) < 15:
                self.out.append((len(items) << 4) | et)
            else:
                self.out.append(0xF0 | et)
                self.varint(len(items))
            for item in items:
                if et in (T_TRUE, T_FALSE):
                    self.out.append(1 if item else 2)
                else:
                    self.value(et, item)
        elif t == T_MAP:
            _, kt, vt, items = v
            self.varint(len(items))
            if items:
                self.out.append((kt << 4) | vt)
                for k, x in items:
                    self.value(kt, k)
                    self.value(vt, x)
        elif t == T_STRUCT:
            self.struct(v)
        else:
            raise ValueError(f"unknown thrift type {t}")

    def struct(self, s):
        last = 0
        for fid, t, v in s.fields:
            if t in (T_TRUE, T_FALSE):
                t = T_TRUE if v else T_FALSE
            delta = fid - last
            if 0 < delta <= 15:
                self.out.append((delta << 4) | t)
            else:
                self.out.append(t)
                self.zigzag(fid)
            self.value(t, v)
            last = fid
        self.out.append(0)


def footer_range(data):
    assert data[-4:] == b"PAR1", "not a Parquet file"
    length = struct.unpack("<I", data[-8:-4])[0]
    return len(data) - 8 - length, len(data) - 8


def read_footer(data):
    start, end = footer_range(data)
    return Reader(data[start:end]).struct()


def write_footer(data, meta):
    start, _ = footer_range(data)
    w = Writer()
    w.struct(meta)
    return bytes(data[:start]) + bytes(w.out) + struct.pack("<I", len(w.out)) + b"PAR1"


def read_page_header(data, offset):
    """The page header at `offset`, and the offset of the page's first byte after it."""
    r = Reader(data)
    r.pos = offset
    header = r.struct()
    return header, r.pos


def encode_struct(s):
    w = Writer()
    w.struct(s)
    return bytes(w.out)
