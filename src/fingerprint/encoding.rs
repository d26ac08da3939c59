//! The canonical cell encoding, version 1 (see `docs/encoding.md`).
//!
//! Every cell becomes a type tag followed by a fixed-size or length-prefixed payload, so the
//! concatenation of a row's cells is injective: two rows encode to the same bytes only if every
//! cell is the same value. Physical types that hold the same logical value encode the same:
//! integers of any width and signedness, float32 and float64 (with `-0.0` = `0.0` and one NaN),
//! every string and binary layout, dictionaries (decoded), timestamps of any unit and timezone
//! (as UTC nanoseconds), decimals of any precision and scale (reduced to the smallest scale).
//! Null is its own tag, distinct from every value.
//!
//! This module owns the bytes; `logical` hashes them. Changing a byte here changes every
//! fingerprint in every ledger: bump [`ENCODING_VERSION`] and document it. The fast paths that
//! never write the bytes out (`hash_cells` loops, [`Cell`] for the row diff, the word-level
//! hash of small decimals) must agree with them exactly; the tests hold each to the bytes.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_buffer::i256;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::{Error, Result};

/// The version of this encoding, stored with every fingerprint.
pub const ENCODING_VERSION: u32 = 1;

/// Tags: one byte before every cell.
pub mod tag {
    /// Null, of any type.
    pub const NULL: u8 = 0x00;
    /// Boolean.
    pub const BOOLEAN: u8 = 0x01;
    /// Integer of any width.
    pub const INTEGER: u8 = 0x02;
    /// Floating point of any width.
    pub const FLOAT: u8 = 0x03;
    /// Decimal of any precision/scale.
    pub const DECIMAL: u8 = 0x04;
    /// UTF-8 string.
    pub const UTF8: u8 = 0x05;
    /// Binary.
    pub const BINARY: u8 = 0x06;
    /// Date.
    pub const DATE: u8 = 0x07;
    /// Timestamp (instant).
    pub const TIMESTAMP: u8 = 0x08;
    /// Time of day.
    pub const TIME: u8 = 0x09;
    /// Duration.
    pub const DURATION: u8 = 0x0A;
    /// Interval.
    pub const INTERVAL: u8 = 0x0B;
    /// Other nested value (union, list view), in its display form.
    pub const NESTED: u8 = 0x0C;
    /// List (any offset width, or fixed size): element count, then each element.
    pub const LIST: u8 = 0x0D;
    /// Struct: field count, then each field's name (length-prefixed) and value.
    pub const STRUCT: u8 = 0x0E;
    /// Map: entry count, then each entry's key and value.
    pub const MAP: u8 = 0x0F;
}

/// Logical type families: two columns compare by value when their families are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Only nulls (no type information).
    Null,
    /// Booleans.
    Boolean,
    /// Integers.
    Integer,
    /// Floats.
    Float,
    /// Decimals.
    Decimal,
    /// Strings.
    Utf8,
    /// Binary.
    Binary,
    /// Dates.
    Date,
    /// Timestamps.
    Timestamp,
    /// Times of day.
    Time,
    /// Durations.
    Duration,
    /// Intervals.
    Interval,
    /// Lists.
    List,
    /// Structs.
    Struct,
    /// Maps.
    Map,
    /// Unions and other nested layouts.
    Nested,
}

/// The family of an Arrow type.
pub fn family(dt: &DataType) -> Family {
    use DataType::*;
    match dt {
        Null => Family::Null,
        Boolean => Family::Boolean,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Family::Integer,
        Float16 | Float32 | Float64 => Family::Float,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Family::Decimal,
        Utf8 | LargeUtf8 | Utf8View => Family::Utf8,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Family::Binary,
        Date32 | Date64 => Family::Date,
        Timestamp(..) => Family::Timestamp,
        Time32(_) | Time64(_) => Family::Time,
        Duration(_) => Family::Duration,
        Interval(_) => Family::Interval,
        Dictionary(_, value) => family(value),
        RunEndEncoded(_, values) => family(values.data_type()),
        List(_) | LargeList(_) | FixedSizeList(..) => Family::List,
        Struct(_) => Family::Struct,
        Map(..) => Family::Map,
        _ => Family::Nested,
    }
}

/// Whether two types compare by value: the same family, and for nested types, compatible
/// element, field and entry types (a struct also needs the same field names).
pub fn compatible(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    let (fa, fb) = (family(a), family(b));
    if fa == Family::Null || fb == Family::Null {
        return true;
    }
    if fa != fb {
        return false;
    }
    let strip = |dt: &DataType| -> DataType {
        match dt {
            Dictionary(_, v) => v.as_ref().clone(),
            other => other.clone(),
        }
    };
    match (strip(a), strip(b)) {
        (
            List(x) | LargeList(x) | FixedSizeList(x, _),
            List(y) | LargeList(y) | FixedSizeList(y, _),
        ) => compatible(x.data_type(), y.data_type()),
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter().all(|f| {
                    y.iter()
                        .any(|g| g.name() == f.name() && compatible(f.data_type(), g.data_type()))
                })
        }
        // A map's entries are (key, value) pairs by position, whatever the writer named them.
        (Map(x, _), Map(y, _)) => match (x.data_type(), y.data_type()) {
            (Struct(xs), Struct(ys)) => {
                xs.len() == ys.len()
                    && xs
                        .iter()
                        .zip(ys.iter())
                        .all(|(f, g)| compatible(f.data_type(), g.data_type()))
            }
            (a, b) => compatible(a, b),
        },
        _ => true,
    }
}

/// Seed of cell hashes; the cell's tag is xor-ed into it.
pub const SEED_CELL: u64 = 0x7061_7269_7479_0010;

/// Whether a tag's payload starts with a length prefix.
#[inline]
fn length_prefixed(t: u8) -> bool {
    matches!(t, tag::UTF8 | tag::BINARY | tag::NESTED)
}

/// The hash of one cell: XXH3-64 of its payload (without the length prefix, which XXH3's
/// own length handling makes redundant for a single value), seeded by `SEED_CELL ^ tag`.
#[inline]
pub fn hash_payload(t: u8, payload: &[u8]) -> u64 {
    xxh3_64_with_seed(payload, SEED_CELL ^ t as u64)
}

/// The hash of a cell from its canonical encoding (tag byte first).
#[inline]
pub fn hash_encoded(encoded: &[u8]) -> u64 {
    let t = encoded[0];
    let payload = if length_prefixed(t) {
        &encoded[9..]
    } else {
        &encoded[1..]
    };
    hash_payload(t, payload)
}

/// The hash of a null cell.
#[inline]
pub fn null_hash() -> u64 {
    hash_payload(tag::NULL, &[])
}

/// A cell that compares without writing its encoding: for the layouts that give one, two
/// cells are equal exactly when their canonical encodings are (the tag is part of both).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Cell<'a> {
    /// Null, of any type.
    Null,
    /// A tag and a value that fits 128 bits: integers, floats (canonical bits), booleans,
    /// timestamps and durations (in nanoseconds).
    Scalar(u8, i128),
    /// A decimal reduced to its smallest scale, as encoded.
    Decimal(i128, i32),
    /// A tag and the bytes of a string or binary value.
    Bytes(u8, &'a [u8]),
}

/// Writes the canonical bytes of one column's cells, and hashes them.
pub trait CellEncoder: Send + Sync {
    /// Append the canonical encoding of `row` to `out`.
    fn encode(&self, row: usize, out: &mut Vec<u8>);
    /// The value as `f64` for float columns (`None` for null or other families).
    fn float(&self, _row: usize) -> Option<f64> {
        None
    }
    /// The value as an exact decimal `(unscaled, scale)` for decimal columns.
    fn decimal(&self, _row: usize) -> Option<(i256, i32)> {
        None
    }
    /// The cell at `row` as a [`Cell`], for the common layouts; `None` means compare the
    /// encodings instead.
    fn cell(&self, _row: usize) -> Option<Cell<'_>> {
        None
    }
    /// Append the hash of each of the first `len` cells to `out` (see [`hash_encoded`]).
    /// Common types override this with a loop that never builds the encoding in a buffer.
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        let mut buf = Vec::with_capacity(64);
        for row in 0..len {
            buf.clear();
            self.encode(row, &mut buf);
            out.push(hash_encoded(&buf));
        }
    }
}

/// Hash every cell of a primitive column with `f`, nulls as [`null_hash`].
#[inline]
fn hash_primitive<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    len: usize,
    out: &mut Vec<u64>,
    f: impl Fn(T::Native) -> u64,
) {
    let values = a.values();
    match a.nulls().filter(|n| n.null_count() > 0) {
        None => out.extend(values[..len].iter().map(|v| f(*v))),
        Some(nulls) => {
            let null = null_hash();
            out.extend((0..len).map(|i| if nulls.is_null(i) { null } else { f(values[i]) }));
        }
    }
}

#[inline]
fn i128_payload(v: i128) -> [u8; 16] {
    ((v as u128) ^ (1u128 << 127)).to_be_bytes()
}

#[inline]
fn put_i128(out: &mut Vec<u8>, t: u8, v: i128) {
    out.push(t);
    out.extend_from_slice(&((v as u128) ^ (1u128 << 127)).to_be_bytes());
}

/// The integer an encoded integer cell holds (see [`put_i128`]), or `None` for any other
/// encoding: encoded integers sort as their values do, so a caller may compare values instead.
pub fn integer_of(encoded: &[u8]) -> Option<i128> {
    let (&t, rest) = encoded.split_first()?;
    let bytes: [u8; 16] = rest.try_into().ok()?;
    (t == tag::INTEGER).then(|| (u128::from_be_bytes(bytes) ^ (1u128 << 127)) as i128)
}

#[inline]
fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&((v as u64) ^ (1u64 << 63)).to_be_bytes());
}

#[inline]
fn put_len_bytes(out: &mut Vec<u8>, t: u8, bytes: &[u8]) {
    out.push(t);
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The canonical form of a float: `-0.0` becomes `0.0`, every NaN the same quiet NaN.
#[inline]
pub fn canonical_f64(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else if v.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        v.to_bits()
    }
}

struct NullEnc;
impl CellEncoder for NullEnc {
    fn encode(&self, _row: usize, out: &mut Vec<u8>) {
        out.push(tag::NULL);
    }
    fn cell(&self, _row: usize) -> Option<Cell<'_>> {
        Some(Cell::Null)
    }
}

struct BoolEnc(BooleanArray);
impl CellEncoder for BoolEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            out.push(tag::BOOLEAN);
            out.push(self.0.value(row) as u8);
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Scalar(tag::BOOLEAN, self.0.value(row) as i128)
        })
    }
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        let (t, f, null) = (
            hash_payload(tag::BOOLEAN, &[1]),
            hash_payload(tag::BOOLEAN, &[0]),
            null_hash(),
        );
        out.extend((0..len).map(|i| {
            if self.0.is_null(i) {
                null
            } else if self.0.value(i) {
                t
            } else {
                f
            }
        }));
    }
}

struct IntEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>);
impl<T> CellEncoder for IntEnc<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_i128(out, tag::INTEGER, self.0.value(row).into());
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Scalar(tag::INTEGER, self.0.value(row).into())
        })
    }
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        hash_primitive(&self.0, len, out, |v| {
            hash_payload(tag::INTEGER, &i128_payload(v.into()))
        });
    }
}

struct FloatEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>, fn(T::Native) -> f64);
impl<T: ArrowPrimitiveType> CellEncoder for FloatEnc<T> {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            out.push(tag::FLOAT);
            out.extend_from_slice(&canonical_f64((self.1)(self.0.value(row))).to_be_bytes());
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Scalar(
                tag::FLOAT,
                canonical_f64((self.1)(self.0.value(row))) as i128,
            )
        })
    }
    fn float(&self, row: usize) -> Option<f64> {
        (!self.0.is_null(row)).then(|| (self.1)(self.0.value(row)))
    }
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        let widen = self.1;
        hash_primitive(&self.0, len, out, |v| {
            hash_payload(tag::FLOAT, &canonical_f64(widen(v)).to_be_bytes())
        });
    }
}

/// Reduce a decimal to its smallest scale: `1.500` (1500, 3) becomes (15, 1); zero is (0, 0).
pub fn reduce_decimal(v: i256, scale: i32) -> (i256, i32) {
    strip_zeros(v, scale, i256::ZERO, i256::from_i128(10))
}

fn reduce_decimal_i128(v: i128, scale: i32) -> (i256, i32) {
    let (v, scale) = strip_zeros(v, scale, 0, 10);
    (i256::from_i128(v), scale)
}

/// [`reduce_decimal`] at any integer width (`zero` and `ten` of that width): the 64-bit path
/// of the hash and the 128-bit one of the row diff run the same loop.
#[inline]
fn strip_zeros<T>(mut v: T, mut scale: i32, zero: T, ten: T) -> (T, i32)
where
    T: Copy + PartialEq + std::ops::Rem<Output = T> + std::ops::DivAssign,
{
    if v == zero {
        return (zero, 0);
    }
    while v % ten == zero {
        v /= ten;
        scale -= 1;
    }
    (v, scale)
}

#[inline]
fn put_decimal(out: &mut Vec<u8>, (v, scale): (i256, i32)) {
    out.push(tag::DECIMAL);
    out.extend_from_slice(&decimal_payload(scale, v));
}

/// The 36-byte payload of a decimal cell: the scale (sign bit flipped) and the 256-bit value,
/// both big-endian, as [`put_decimal`] writes them after the tag.
fn decimal_payload(scale: i32, v: i256) -> [u8; 36] {
    let mut payload = [0u8; 36];
    payload[..4].copy_from_slice(&((scale as u32) ^ (1 << 31)).to_be_bytes());
    payload[4..].copy_from_slice(&v.to_be_bytes());
    payload
}

/// The first 64 bytes of XXH3's default secret, read as little-endian words.
const XXH3_SECRET: [u64; 8] = [
    0xbe4b_a423_396c_feb8,
    0x1cad_21f7_2c81_017c,
    0xdb97_9083_e96d_d4de,
    0x1f67_b3b7_a4a4_4072,
    0x78e5_c0cc_4ee6_79cb,
    0x2172_ffcc_7dd0_5a82,
    0x8e24_43f7_7446_08b8,
    0x4c26_3a81_e690_35e0,
];

/// `hash_payload(tag::DECIMAL, &decimal_payload(scale, v))` for a value that fits 64 bits,
/// computed from the eight words XXH3-64 reads from a 36-byte input rather than from the bytes:
/// writing the payload with narrow stores and reading it back with wide loads stalled every
/// cell on store forwarding. The payload is the scale word, 24 sign bytes, then `v` big-endian.
/// The tests hold it to the byte path.
#[inline]
fn hash_small_decimal(scale: i32, v: i64) -> u64 {
    const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
    let seed = SEED_CELL ^ u64::from(tag::DECIMAL);
    let sign = if v < 0 { u64::MAX } else { 0 };
    let value = (v as u64).swap_bytes(); // bytes 28..36, read little-endian
    let scale_word = u64::from(((scale as u32) ^ (1 << 31)).swap_bytes());
    // Little-endian words at the offsets XXH3 reads for 17..=128 bytes of input.
    let w0 = scale_word | (sign << 32);
    let w24 = (sign & 0xffff_ffff) | (value << 32);
    let (w8, w16, w4, w12, w20) = (sign, sign, sign, sign, sign);
    let w28 = value;
    let mix = |lo: u64, hi: u64, secret: usize| {
        let a = lo ^ XXH3_SECRET[secret].wrapping_add(seed);
        let b = hi ^ XXH3_SECRET[secret + 1].wrapping_sub(seed);
        let product = u128::from(a) * u128::from(b);
        product as u64 ^ (product >> 64) as u64
    };
    let acc = 36u64
        .wrapping_mul(PRIME64_1)
        .wrapping_add(mix(w16, w24, 4))
        .wrapping_add(mix(w4, w12, 6))
        .wrapping_add(mix(w0, w8, 0))
        .wrapping_add(mix(w20, w28, 2));
    // XXH3's avalanche.
    let acc = (acc ^ (acc >> 37)).wrapping_mul(0x1656_6791_9E37_79F9);
    acc ^ (acc >> 32)
}

struct DecimalEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>, i32);
impl<T> CellEncoder for DecimalEnc<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_decimal(out, reduce_decimal_i128(self.0.value(row).into(), self.1));
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            let (v, scale) = strip_zeros(self.0.value(row).into(), self.1, 0, 10);
            Cell::Decimal(v, scale)
        })
    }
    fn float(&self, row: usize) -> Option<f64> {
        let v: i128 = self.0.value(row).into();
        (!self.0.is_null(row)).then(|| v as f64 / 10f64.powi(self.1))
    }
    fn decimal(&self, row: usize) -> Option<(i256, i32)> {
        let v: i128 = self.0.value(row).into();
        (!self.0.is_null(row)).then(|| (i256::from_i128(v), self.1))
    }
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        let scale = self.1;
        hash_primitive(&self.0, len, out, |v| {
            let v: i128 = v.into();
            match i64::try_from(v) {
                // Most decimals fit 64 bits: strip zeros with 64-bit division and hash without
                // writing the payload out.
                Ok(small) => {
                    let (v, s) = strip_zeros(small, scale, 0, 10);
                    hash_small_decimal(s, v)
                }
                Err(_) => {
                    let (v, s) = reduce_decimal_i128(v, scale);
                    hash_payload(tag::DECIMAL, &decimal_payload(s, v))
                }
            }
        });
    }
}

struct Decimal256Enc(Decimal256Array, i32);
impl CellEncoder for Decimal256Enc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_decimal(out, reduce_decimal(self.0.value(row), self.1));
        }
    }
    fn float(&self, row: usize) -> Option<f64> {
        let v: f64 = self.0.value(row).to_string().parse().ok()?;
        (!self.0.is_null(row)).then(|| v / 10f64.powi(self.1))
    }
    fn decimal(&self, row: usize) -> Option<(i256, i32)> {
        (!self.0.is_null(row)).then(|| (self.0.value(row), self.1))
    }
}

/// Encoders for the string layouts: they differ only in the array type they read.
macro_rules! string_encoder {
    ($name:ident $(<$o:ident: $bound:path>)?, $array:ty) => {
        struct $name$(<$o: $bound>)?($array);
        impl$(<$o: $bound>)? CellEncoder for $name$(<$o>)? {
            fn encode(&self, row: usize, out: &mut Vec<u8>) {
                if self.0.is_null(row) {
                    out.push(tag::NULL);
                } else {
                    put_len_bytes(out, tag::UTF8, self.0.value(row).as_bytes());
                }
            }
            fn cell(&self, row: usize) -> Option<Cell<'_>> {
                Some(if self.0.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Bytes(tag::UTF8, self.0.value(row).as_bytes())
                })
            }
            fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
                self.0.hash_strings(len, out);
            }
        }
    };
}

/// The cell hashes of the first `len` strings of a column, nulls as [`null_hash`].
trait HashStrings {
    fn hash_strings(&self, len: usize, out: &mut Vec<u64>);
}

impl<O: OffsetSizeTrait> HashStrings for GenericStringArray<O> {
    /// Straight from the offsets and the value bytes: no per-cell bounds checks or UTF-8 view.
    fn hash_strings(&self, len: usize, out: &mut Vec<u64>) {
        let data = self.value_data();
        let cells = self.value_offsets()[..=len]
            .windows(2)
            .map(|w| &data[w[0].as_usize()..w[1].as_usize()]);
        match self.nulls().filter(|n| n.null_count() > 0) {
            None => out.extend(cells.map(|v| hash_payload(tag::UTF8, v))),
            Some(nulls) => {
                let null = null_hash();
                out.extend(cells.enumerate().map(|(i, v)| {
                    if nulls.is_null(i) {
                        null
                    } else {
                        hash_payload(tag::UTF8, v)
                    }
                }));
            }
        }
    }
}

impl HashStrings for StringViewArray {
    /// Straight from the views: a value of up to 12 bytes is inside its view (after the 4-byte
    /// length, little-endian), a longer one in the data buffer and at the offset the view names.
    fn hash_strings(&self, len: usize, out: &mut Vec<u64>) {
        let buffers = self.data_buffers();
        let hash = |view: &u128| -> u64 {
            let n = *view as u32 as usize;
            if n <= 12 {
                hash_payload(tag::UTF8, &view.to_le_bytes()[4..4 + n])
            } else {
                let buffer = (*view >> 64) as u32 as usize;
                let offset = (*view >> 96) as u32 as usize;
                hash_payload(tag::UTF8, &buffers[buffer][offset..offset + n])
            }
        };
        let views = &self.views()[..len];
        match self.nulls().filter(|n| n.null_count() > 0) {
            None => out.extend(views.iter().map(hash)),
            Some(nulls) => {
                let null = null_hash();
                out.extend(views.iter().enumerate().map(|(i, v)| {
                    if nulls.is_null(i) {
                        null
                    } else {
                        hash(v)
                    }
                }));
            }
        }
    }
}

string_encoder!(StrEnc<O: OffsetSizeTrait>, GenericStringArray<O>);
string_encoder!(StrViewEnc, StringViewArray);

struct BinEnc<O: OffsetSizeTrait>(GenericBinaryArray<O>);
impl<O: OffsetSizeTrait> CellEncoder for BinEnc<O> {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_len_bytes(out, tag::BINARY, self.0.value(row));
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Bytes(tag::BINARY, self.0.value(row))
        })
    }
}

struct BinViewEnc(BinaryViewArray);
impl CellEncoder for BinViewEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_len_bytes(out, tag::BINARY, self.0.value(row));
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Bytes(tag::BINARY, self.0.value(row))
        })
    }
}

struct FixedBinEnc(FixedSizeBinaryArray);
impl CellEncoder for FixedBinEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_len_bytes(out, tag::BINARY, self.0.value(row));
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Bytes(tag::BINARY, self.0.value(row))
        })
    }
}

/// A primitive column scaled to an `i128` in a fixed unit (timestamps, durations).
struct ScaledEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>, i128, u8);
impl<T> CellEncoder for ScaledEnc<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            put_i128(out, self.2, self.0.value(row).into() * self.1);
        }
    }
    fn cell(&self, row: usize) -> Option<Cell<'_>> {
        Some(if self.0.is_null(row) {
            Cell::Null
        } else {
            Cell::Scalar(self.2, self.0.value(row).into() * self.1)
        })
    }
    fn hash_cells(&self, len: usize, out: &mut Vec<u64>) {
        let (scale, t) = (self.1, self.2);
        hash_primitive(&self.0, len, out, |v| {
            hash_payload(t, &i128_payload(v.into() * scale))
        });
    }
}

/// Dates as days since the epoch plus a remainder in milliseconds (zero for valid dates), so a
/// non-midnight `Date64` never collides with its midnight.
struct DateEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>, i64);
impl<T> CellEncoder for DateEnc<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            let v: i64 = self.0.value(row).into();
            // self.1 is the unit per day: 1 for Date32 (days), 86_400_000 for Date64 (ms).
            out.push(tag::DATE);
            put_i64(out, v.div_euclid(self.1));
            put_i64(out, v.rem_euclid(self.1) * (86_400_000 / self.1));
        }
    }
}

struct TimeEnc<T: ArrowPrimitiveType>(PrimitiveArray<T>, i64);
impl<T> CellEncoder for TimeEnc<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
        } else {
            out.push(tag::TIME);
            put_i64(out, self.0.value(row).into() * self.1);
        }
    }
}

struct IntervalEnc(ArrayRef);
impl CellEncoder for IntervalEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        let (months, days, nanos): (i32, i32, i64) = match self.0.data_type() {
            DataType::Interval(IntervalUnit::YearMonth) => (
                self.0.as_primitive::<IntervalYearMonthType>().value(row),
                0,
                0,
            ),
            DataType::Interval(IntervalUnit::DayTime) => {
                let v = self.0.as_primitive::<IntervalDayTimeType>().value(row);
                (0, v.days, v.milliseconds as i64 * 1_000_000)
            }
            _ => {
                let v = self.0.as_primitive::<IntervalMonthDayNanoType>().value(row);
                (v.months, v.days, v.nanoseconds)
            }
        };
        out.push(tag::INTERVAL);
        out.extend_from_slice(&months.to_be_bytes());
        out.extend_from_slice(&days.to_be_bytes());
        out.extend_from_slice(&nanos.to_be_bytes());
    }
}

struct ListEnc<O: OffsetSizeTrait> {
    array: GenericListArray<O>,
    child: Box<dyn CellEncoder>,
}
impl<O: OffsetSizeTrait> CellEncoder for ListEnc<O> {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        let offsets = self.array.value_offsets();
        let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
        out.push(tag::LIST);
        out.extend_from_slice(&((end - start) as u64).to_be_bytes());
        for j in start..end {
            self.child.encode(j, out);
        }
    }
}

struct FixedListEnc {
    array: FixedSizeListArray,
    child: Box<dyn CellEncoder>,
}
impl CellEncoder for FixedListEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        let len = self.array.value_length() as usize;
        let start = self.array.value_offset_at(row);
        out.push(tag::LIST);
        out.extend_from_slice(&(len as u64).to_be_bytes());
        for j in start..start + len {
            self.child.encode(j, out);
        }
    }
}

/// Struct fields are encoded in name order, so field order in the file never matters.
struct StructEnc {
    array: StructArray,
    fields: Vec<(String, Box<dyn CellEncoder>)>,
}
impl CellEncoder for StructEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        out.push(tag::STRUCT);
        out.extend_from_slice(&(self.fields.len() as u64).to_be_bytes());
        for (name, child) in &self.fields {
            out.extend_from_slice(&(name.len() as u64).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            child.encode(row, out);
        }
    }
}

struct MapEnc {
    array: MapArray,
    keys: Box<dyn CellEncoder>,
    values: Box<dyn CellEncoder>,
}
impl CellEncoder for MapEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        let offsets = self.array.value_offsets();
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        out.push(tag::MAP);
        out.extend_from_slice(&((end - start) as u64).to_be_bytes());
        for j in start..end {
            self.keys.encode(j, out);
            self.values.encode(j, out);
        }
    }
}

struct NestedEnc(ArrayRef);
impl CellEncoder for NestedEnc {
    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.push(tag::NULL);
            return;
        }
        let options = FormatOptions::default();
        let text = match ArrayFormatter::try_new(self.0.as_ref(), &options) {
            Ok(f) => f.value(row).to_string(),
            Err(e) => format!("<unprintable: {e}>"),
        };
        put_len_bytes(out, tag::NESTED, text.as_bytes());
    }
}

fn unit_ns(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// The encoder for a column. Dictionaries and run-end encoded columns are decoded first.
pub fn encoder(array: &ArrayRef) -> Result<Box<dyn CellEncoder>> {
    if let Some(e) = number_encoder(array).or_else(|| bytes_encoder(array)) {
        return Ok(e);
    }
    if let Some(e) = temporal_encoder(array) {
        return Ok(e);
    }
    nested_encoder(array)
}

/// Nulls, booleans, integers, floats and decimals.
fn number_encoder(a: &ArrayRef) -> Option<Box<dyn CellEncoder>> {
    use DataType::*;
    Some(match a.data_type() {
        Null => Box::new(NullEnc),
        Boolean => Box::new(BoolEnc(a.as_boolean().clone())),
        Int8 => Box::new(IntEnc(a.as_primitive::<Int8Type>().clone())),
        Int16 => Box::new(IntEnc(a.as_primitive::<Int16Type>().clone())),
        Int32 => Box::new(IntEnc(a.as_primitive::<Int32Type>().clone())),
        Int64 => Box::new(IntEnc(a.as_primitive::<Int64Type>().clone())),
        UInt8 => Box::new(IntEnc(a.as_primitive::<UInt8Type>().clone())),
        UInt16 => Box::new(IntEnc(a.as_primitive::<UInt16Type>().clone())),
        UInt32 => Box::new(IntEnc(a.as_primitive::<UInt32Type>().clone())),
        UInt64 => Box::new(IntEnc(a.as_primitive::<UInt64Type>().clone())),
        Float16 => Box::new(FloatEnc(a.as_primitive::<Float16Type>().clone(), |v| {
            v.to_f64()
        })),
        Float32 => Box::new(FloatEnc(a.as_primitive::<Float32Type>().clone(), |v| {
            v as f64
        })),
        Float64 => Box::new(FloatEnc(a.as_primitive::<Float64Type>().clone(), |v| v)),
        Decimal32(_, s) => Box::new(DecimalEnc(
            a.as_primitive::<Decimal32Type>().clone(),
            *s as i32,
        )),
        Decimal64(_, s) => Box::new(DecimalEnc(
            a.as_primitive::<Decimal64Type>().clone(),
            *s as i32,
        )),
        Decimal128(_, s) => Box::new(DecimalEnc(
            a.as_primitive::<Decimal128Type>().clone(),
            *s as i32,
        )),
        Decimal256(_, s) => Box::new(Decimal256Enc(
            a.as_primitive::<Decimal256Type>().clone(),
            *s as i32,
        )),
        _ => return None,
    })
}

/// Strings and binary values.
fn bytes_encoder(a: &ArrayRef) -> Option<Box<dyn CellEncoder>> {
    use DataType::*;
    Some(match a.data_type() {
        Utf8 => Box::new(StrEnc(a.as_string::<i32>().clone())),
        LargeUtf8 => Box::new(StrEnc(a.as_string::<i64>().clone())),
        Utf8View => Box::new(StrViewEnc(a.as_string_view().clone())),
        Binary => Box::new(BinEnc(a.as_binary::<i32>().clone())),
        LargeBinary => Box::new(BinEnc(a.as_binary::<i64>().clone())),
        BinaryView => Box::new(BinViewEnc(a.as_binary_view().clone())),
        FixedSizeBinary(_) => Box::new(FixedBinEnc(a.as_fixed_size_binary().clone())),
        _ => return None,
    })
}

/// Dates, timestamps, durations, times of day and intervals.
fn temporal_encoder(a: &ArrayRef) -> Option<Box<dyn CellEncoder>> {
    use DataType::*;
    Some(match a.data_type() {
        Date32 => Box::new(DateEnc(a.as_primitive::<Date32Type>().clone(), 1)),
        Date64 => Box::new(DateEnc(a.as_primitive::<Date64Type>().clone(), 86_400_000)),
        Timestamp(unit, _) => timestamp_encoder(a, unit),
        Duration(unit) => duration_encoder(a, unit),
        Time32(TimeUnit::Second) => Box::new(TimeEnc(
            a.as_primitive::<Time32SecondType>().clone(),
            1_000_000_000,
        )),
        Time32(_) => Box::new(TimeEnc(
            a.as_primitive::<Time32MillisecondType>().clone(),
            1_000_000,
        )),
        Time64(TimeUnit::Microsecond) => Box::new(TimeEnc(
            a.as_primitive::<Time64MicrosecondType>().clone(),
            1_000,
        )),
        Time64(_) => Box::new(TimeEnc(a.as_primitive::<Time64NanosecondType>().clone(), 1)),
        Interval(_) => Box::new(IntervalEnc(a.clone())),
        _ => return None,
    })
}

/// A timestamp column, scaled to nanoseconds.
fn timestamp_encoder(a: &ArrayRef, unit: &TimeUnit) -> Box<dyn CellEncoder> {
    let t = tag::TIMESTAMP;
    match unit {
        TimeUnit::Second => scaled::<TimestampSecondType>(a, unit, t),
        TimeUnit::Millisecond => scaled::<TimestampMillisecondType>(a, unit, t),
        TimeUnit::Microsecond => scaled::<TimestampMicrosecondType>(a, unit, t),
        TimeUnit::Nanosecond => scaled::<TimestampNanosecondType>(a, unit, t),
    }
}

/// A duration column, scaled to nanoseconds.
fn duration_encoder(a: &ArrayRef, unit: &TimeUnit) -> Box<dyn CellEncoder> {
    let t = tag::DURATION;
    match unit {
        TimeUnit::Second => scaled::<DurationSecondType>(a, unit, t),
        TimeUnit::Millisecond => scaled::<DurationMillisecondType>(a, unit, t),
        TimeUnit::Microsecond => scaled::<DurationMicrosecondType>(a, unit, t),
        TimeUnit::Nanosecond => scaled::<DurationNanosecondType>(a, unit, t),
    }
}

/// An integer count of `unit`s, tagged `tag`, scaled to nanoseconds.
fn scaled<T>(a: &ArrayRef, unit: &TimeUnit, tag: u8) -> Box<dyn CellEncoder>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    Box::new(ScaledEnc(a.as_primitive::<T>().clone(), unit_ns(unit), tag))
}

/// Dictionaries and run-end encoded columns (decoded first), lists, structs (fields in name
/// order) and maps; any other layout by its Arrow encoding.
fn nested_encoder(a: &ArrayRef) -> Result<Box<dyn CellEncoder>> {
    use DataType::*;
    Ok(match a.data_type() {
        Dictionary(_, value) => {
            let decoded = arrow::compute::cast(a, value)
                .map_err(|e| Error::Internal(format!("decoding a dictionary: {e}")))?;
            encoder(&decoded)?
        }
        RunEndEncoded(_, values) => {
            let decoded = arrow::compute::cast(a, values.data_type())
                .map_err(|e| Error::Internal(format!("decoding a run-end encoded column: {e}")))?;
            encoder(&decoded)?
        }
        List(_) => {
            let array = a.as_list::<i32>().clone();
            let child = encoder(array.values())?;
            Box::new(ListEnc { array, child })
        }
        LargeList(_) => {
            let array = a.as_list::<i64>().clone();
            let child = encoder(array.values())?;
            Box::new(ListEnc { array, child })
        }
        FixedSizeList(..) => {
            let array = a.as_fixed_size_list().clone();
            let child = encoder(array.values())?;
            Box::new(FixedListEnc { array, child })
        }
        Struct(fields) => {
            let array = a.as_struct().clone();
            let mut named: Vec<(String, Box<dyn CellEncoder>)> = fields
                .iter()
                .zip(array.columns())
                .map(|(f, c)| Ok((f.name().clone(), encoder(c)?)))
                .collect::<Result<_>>()?;
            named.sort_by(|x, y| x.0.cmp(&y.0));
            Box::new(StructEnc {
                array,
                fields: named,
            })
        }
        Map(..) => {
            let array = a.as_map().clone();
            let keys = encoder(array.keys())?;
            let values = encoder(array.values())?;
            Box::new(MapEnc {
                array,
                keys,
                values,
            })
        }
        _ => Box::new(NestedEnc(Arc::clone(a))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoded integers of any width give back their values, which sort as the encodings do;
    /// other encodings give none.
    #[test]
    fn encoded_integers_give_back_their_values_in_the_same_order() {
        let values = [i64::MIN, -300, -1, 0, 1, 7, i64::MAX];
        let array: ArrayRef = Arc::new(arrow::array::Int64Array::from(values.to_vec()));
        let e = encoder(&array).unwrap();
        let encoded: Vec<Vec<u8>> = (0..values.len())
            .map(|i| {
                let mut out = Vec::new();
                e.encode(i, &mut out);
                out
            })
            .collect();
        for (bytes, v) in encoded.iter().zip(values) {
            assert_eq!(integer_of(bytes), Some(i128::from(v)));
        }
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
        let small: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![-5]));
        let mut out = Vec::new();
        encoder(&small).unwrap().encode(0, &mut out);
        assert_eq!(integer_of(&out), Some(-5));
        let text: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["abcdefghijklmno"]));
        out.clear();
        encoder(&text).unwrap().encode(0, &mut out);
        assert_eq!(integer_of(&out), None);
        assert_eq!(integer_of(&[]), None);
    }

    /// Lists and maps whose wrapper fields a writer named otherwise encode the same bytes.
    #[test]
    fn wrapper_field_names_do_not_reach_the_encoding() {
        use arrow::array::builder::{
            Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder,
        };
        let list = |name: &str| {
            let mut b = ListBuilder::new(Int64Builder::new()).with_field(Arc::new(Field::new(
                name,
                DataType::Int64,
                true,
            )));
            b.values().append_value(7);
            b.values().append_null();
            b.append(true);
            b.append(false);
            Arc::new(b.finish()) as ArrayRef
        };
        assert_eq!(enc(list("element")), enc(list("item")));
        let map = |entry: &str, key: &str, value: &str| {
            let names = MapFieldNames {
                entry: entry.into(),
                key: key.into(),
                value: value.into(),
            };
            let mut b = MapBuilder::new(Some(names), StringBuilder::new(), Int64Builder::new());
            b.keys().append_value("x");
            b.values().append_value(1);
            b.append(true).unwrap();
            b.append(false).unwrap();
            Arc::new(b.finish()) as ArrayRef
        };
        assert_eq!(
            enc(map("entries", "keys", "values")),
            enc(map("key_value", "key", "value"))
        );
    }

    fn enc(a: ArrayRef) -> Vec<Vec<u8>> {
        let e = encoder(&a).unwrap();
        (0..a.len())
            .map(|i| {
                let mut v = Vec::new();
                e.encode(i, &mut v);
                v
            })
            .collect()
    }

    /// The word-by-word XXH3 of a small decimal is the hash of its payload bytes, for values
    /// of every size and sign and scales on both sides of zero.
    #[test]
    fn small_decimal_hash_is_the_payload_hash() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![0, 1, -1, 7, -7, i64::MAX, i64::MIN, 1 << 32, -(1 << 32)];
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Shifted so small and large magnitudes both come up.
            values.push((x as i64) >> (x % 63));
        }
        let mut checked = 0;
        for (i, &v) in values.iter().enumerate() {
            for scale in [-40, -1, 0, 1, 4, 18, 38, (i as i32 % 77) - 38] {
                let payload = decimal_payload(scale, i256::from_i128(i128::from(v)));
                assert_eq!(
                    hash_small_decimal(scale, v),
                    hash_payload(tag::DECIMAL, &payload),
                    "{v} at scale {scale}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 2009 * 8);
    }

    /// Cells compare equal exactly when their encodings do, across every layout that gives
    /// one: widths, units, scales, -0.0 and NaN, string layouts, and tags that share a value.
    #[test]
    fn cells_agree_with_encodings() {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![Some(-5), Some(0), None, Some(150)])),
            Arc::new(Int64Array::from(vec![-5, 1_700_000_000_123_000_000, 15])),
            Arc::new(UInt64Array::from(vec![u64::MAX, 0, 1])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(Float64Array::from(vec![
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                1.5,
                15.0,
            ])),
            Arc::new(Float32Array::from(vec![1.5f32, -0.0])),
            Arc::new(
                Decimal128Array::from(vec![Some(150), Some(0), Some(-2000), None, Some(1500)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(
                Decimal64Array::from(vec![15000, -200000, 15])
                    .with_precision_and_scale(12, 4)
                    .unwrap(),
            ),
            Arc::new(
                TimestampMillisecondArray::from(vec![1_700_000_000_123, 0]).with_timezone("UTC"),
            ),
            Arc::new(TimestampNanosecondArray::from(vec![
                1_700_000_000_123_000_000,
            ])),
            Arc::new(DurationMillisecondArray::from(vec![1_700_000_000_123, 0])),
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some(""),
                None,
                Some("15"),
            ])),
            Arc::new(LargeStringArray::from(vec!["a", "bc"])),
            Arc::new(StringViewArray::from(vec![
                "a",
                "a string longer than twelve",
            ])),
            Arc::new(BinaryArray::from(vec![b"a".as_ref(), b"".as_ref()])),
            Arc::new(FixedSizeBinaryArray::try_from_iter(vec![*b"a"].into_iter()).unwrap()),
        ];
        let mut cells = Vec::new();
        for a in &arrays {
            let e = encoder(a).unwrap();
            for (row, bytes) in enc(a.clone()).into_iter().enumerate() {
                let cell = e.cell(row).expect("a layout with cells");
                cells.push((
                    format!("{} row {row}", a.data_type()),
                    format!("{cell:?}"),
                    bytes,
                ));
            }
        }
        let mut equal_pairs = 0;
        for (name_a, cell_a, bytes_a) in &cells {
            for (name_b, cell_b, bytes_b) in &cells {
                assert_eq!(
                    cell_a == cell_b,
                    bytes_a == bytes_b,
                    "{name_a} ({cell_a}) against {name_b} ({cell_b})"
                );
                equal_pairs += usize::from(bytes_a == bytes_b && name_a != name_b);
            }
        }
        // Ordered pairs of distinct cells that are equal: 4 nulls (12), -5 and 0 across widths
        // (2 + 2), 0.0 and -0.0 in two widths (6), the two NaNs (2), 1.5 in two widths (2),
        // 1.50 = 1.5000 and -20.00 = -20.0000 (2 + 2), one instant in two units (2), "a" in
        // three string layouts (6) and b"a" in two binary layouts (2).
        assert_eq!(equal_pairs, 40);
    }

    #[test]
    fn null_is_distinct_from_empty_zero_and_the_word_null() {
        let s = enc(Arc::new(StringArray::from(vec![
            None,
            Some(""),
            Some("NULL"),
        ])));
        let i = enc(Arc::new(Int64Array::from(vec![Some(0)])));
        assert_eq!(s[0], vec![tag::NULL]);
        assert_ne!(s[0], s[1]);
        assert_ne!(s[0], s[2]);
        assert_ne!(s[0], i[0]);
        assert_ne!(s[1], i[0]);
    }

    #[test]
    fn integers_widen_and_floats_normalise() {
        let a = enc(Arc::new(Int32Array::from(vec![-5, 7])));
        let b = enc(Arc::new(Int64Array::from(vec![-5, 7])));
        let c = enc(Arc::new(UInt8Array::from(vec![7])));
        assert_eq!(a, b);
        assert_eq!(a[1], c[0]);
        let f = enc(Arc::new(Float64Array::from(vec![
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            1.5,
        ])));
        assert_eq!(f[0], f[1]);
        assert_eq!(f[2], f[3]);
        let g = enc(Arc::new(Float32Array::from(vec![1.5f32])));
        assert_eq!(f[4], g[0]);
    }

    #[test]
    fn decimals_compare_by_value_across_scales() {
        let a = Decimal128Array::from(vec![150, 0, -2000])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let b = Decimal128Array::from(vec![15000, 0, -200000])
            .with_precision_and_scale(12, 4)
            .unwrap();
        let c = Decimal256Array::from(vec![i256::from_i128(15)])
            .with_precision_and_scale(20, 1)
            .unwrap();
        let (ea, eb, ec) = (enc(Arc::new(a)), enc(Arc::new(b)), enc(Arc::new(c)));
        assert_eq!(ea, eb);
        assert_eq!(ea[0], ec[0]);
        assert_eq!(
            reduce_decimal(i256::from_i128(1200), 2),
            (i256::from_i128(12), 0)
        );
    }

    #[test]
    fn timestamps_are_instants() {
        let a = TimestampMillisecondArray::from(vec![1_700_000_000_123]).with_timezone("UTC");
        let b = TimestampMicrosecondArray::from(vec![1_700_000_000_123_000])
            .with_timezone("America/New_York");
        let c = TimestampNanosecondArray::from(vec![1_700_000_000_123_000_000]);
        assert_eq!(enc(Arc::new(a.clone())), enc(Arc::new(b)));
        assert_eq!(enc(Arc::new(a)), enc(Arc::new(c)));
    }

    #[test]
    fn strings_of_every_layout_and_dictionaries_agree() {
        let plain = enc(Arc::new(StringArray::from(vec!["a", "bc"])));
        let large = enc(Arc::new(LargeStringArray::from(vec!["a", "bc"])));
        let view = enc(Arc::new(StringViewArray::from(vec!["a", "bc"])));
        let dict: DictionaryArray<Int32Type> = vec!["a", "bc"].into_iter().collect();
        let dict = enc(Arc::new(dict));
        assert_eq!(plain, large);
        assert_eq!(plain, view);
        assert_eq!(plain, dict);
    }

    #[test]
    fn length_prefix_keeps_rows_apart() {
        // ("ab", "c") and ("a", "bc") must not encode the same row.
        let x = enc(Arc::new(StringArray::from(vec!["ab", "a"])));
        let y = enc(Arc::new(StringArray::from(vec!["c", "bc"])));
        let r0 = [x[0].clone(), y[0].clone()].concat();
        let r1 = [x[1].clone(), y[1].clone()].concat();
        assert_ne!(r0, r1);
    }

    #[test]
    fn nested_values_are_typed_not_displayed() {
        use arrow::array::builder::{ListBuilder, StringBuilder};
        let list = |items: Vec<Option<Vec<Option<&str>>>>| {
            let mut b = ListBuilder::new(StringBuilder::new());
            for item in items {
                match item {
                    Some(values) => {
                        for v in values {
                            b.values().append_option(v);
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        };
        let e = enc(list(vec![
            Some(vec![None]),
            Some(vec![Some("")]),
            Some(vec![Some("a, b")]),
            Some(vec![Some("a"), Some("b")]),
            Some(vec![]),
            None,
        ]));
        for i in 0..e.len() {
            for j in 0..i {
                assert_ne!(e[i], e[j], "list rows {i} and {j} must differ");
            }
        }
        let ints = enc(Arc::new(arrow::array::ListArray::from_iter_primitive::<
            Int64Type,
            _,
            _,
        >(vec![Some(vec![Some(1)])])));
        let strs = enc(list(vec![Some(vec![Some("1")])]));
        assert_ne!(ints, strs);
        let floats = |v: f64| {
            enc(Arc::new(arrow::array::ListArray::from_iter_primitive::<
                Float64Type,
                _,
                _,
            >(vec![Some(vec![Some(v)])])))
        };
        assert_eq!(
            floats(0.0),
            floats(-0.0),
            "floats inside lists are canonical too"
        );
    }

    #[test]
    fn families() {
        assert_eq!(family(&DataType::Int32), family(&DataType::UInt64));
        assert_eq!(
            family(&DataType::Dictionary(
                Box::new(DataType::Int8),
                Box::new(DataType::Utf8)
            )),
            Family::Utf8
        );
        assert_ne!(family(&DataType::Int64), family(&DataType::Utf8));
    }

    mod injective {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Cell {
            Int(Option<i64>),
            Str(Option<String>),
            Float(Option<f64>),
        }

        fn cell() -> impl Strategy<Value = Cell> {
            prop_oneof![
                proptest::option::of(-3i64..3).prop_map(Cell::Int),
                proptest::option::of("[ab]{0,2}").prop_map(Cell::Str),
                proptest::option::of(prop_oneof![
                    Just(0.0),
                    Just(-0.0),
                    Just(f64::NAN),
                    Just(1.5),
                    Just(-1.5)
                ])
                .prop_map(Cell::Float),
            ]
        }

        fn array(c: &Cell) -> ArrayRef {
            match c {
                Cell::Int(v) => Arc::new(Int64Array::from(vec![*v])),
                Cell::Str(v) => Arc::new(StringArray::from(vec![v.clone()])),
                Cell::Float(v) => Arc::new(Float64Array::from(vec![*v])),
            }
        }

        fn row_bytes(row: &[Cell]) -> Vec<u8> {
            let mut out = Vec::new();
            for c in row {
                encoder(&array(c)).unwrap().encode(0, &mut out);
            }
            out
        }

        /// Value equality as parity defines it: types by family, -0.0 = 0.0, NaN = NaN.
        fn same(a: &Cell, b: &Cell) -> bool {
            match (a, b) {
                (
                    Cell::Int(None) | Cell::Str(None) | Cell::Float(None),
                    Cell::Int(None) | Cell::Str(None) | Cell::Float(None),
                ) => true,
                (Cell::Int(x), Cell::Int(y)) => x == y,
                (Cell::Str(x), Cell::Str(y)) => x == y,
                (Cell::Float(Some(x)), Cell::Float(Some(y))) => {
                    x == y || (x.is_nan() && y.is_nan())
                }
                _ => false,
            }
        }

        proptest! {
            #[test]
            fn equal_encodings_mean_equal_rows(
                a in proptest::collection::vec(cell(), 1..5),
                b in proptest::collection::vec(cell(), 1..5),
            ) {
                let equal_rows = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same(x, y));
                prop_assert_eq!(row_bytes(&a) == row_bytes(&b), equal_rows, "{:?} vs {:?}", a, b);
            }
        }
    }
}
