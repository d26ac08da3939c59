//! The canonical encoding is injective on rows: two rows of one schema encode to the same bytes
//! exactly when every cell holds the same value, as a plain model of the types says (`-0.0` is
//! `0.0`, every NaN is one NaN, null is a value of its own). The fast paths agree with the
//! bytes: `cell()` compares as the encodings do, and `hash_cells` gives each cell's
//! `hash_encoded`.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use arrow::array::*;
use arrow::datatypes::{DataType, Field, Int32Type};
use parity::fingerprint::encoding::{encoder, hash_encoded};

/// A column's type.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Int64,
    Int8,
    UInt64,
    Float64,
    Float32,
    Utf8,
    Utf8View,
    Binary,
    Boolean,
    Decimal { scale: u8 },
    TimestampMicros,
    TimestampSeconds,
    Date32,
    ListOfInt32,
    Struct,
}

/// A cell's raw material; each kind takes the parts it needs.
#[derive(Arbitrary, Debug, Clone)]
struct Raw {
    null: bool,
    int: i64,
    wide: i128,
    float: f64,
    text: String,
    list: Option<Vec<Option<i32>>>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    columns: Vec<(Kind, Raw, Raw)>,
}

fn nullable<T>(r: &Raw, v: T) -> Option<T> {
    (!r.null).then_some(v)
}

/// A column of the two cells `a` and `b`.
fn column(kind: Kind, a: &Raw, b: &Raw) -> ArrayRef {
    let two = [a, b];
    match kind {
        Kind::Int64 => Arc::new(Int64Array::from_iter(two.map(|r| nullable(r, r.int)))),
        Kind::Int8 => Arc::new(Int8Array::from_iter(two.map(|r| nullable(r, r.int as i8)))),
        Kind::UInt64 => Arc::new(UInt64Array::from_iter(
            two.map(|r| nullable(r, r.int as u64)),
        )),
        Kind::Float64 => Arc::new(Float64Array::from_iter(two.map(|r| nullable(r, r.float)))),
        Kind::Float32 => Arc::new(Float32Array::from_iter(
            two.map(|r| nullable(r, r.float as f32)),
        )),
        Kind::Utf8 => Arc::new(StringArray::from_iter(two.map(|r| nullable(r, &r.text)))),
        Kind::Utf8View => Arc::new(StringViewArray::from_iter(
            two.map(|r| nullable(r, r.text.as_str())),
        )),
        Kind::Binary => Arc::new(BinaryArray::from_iter(
            two.map(|r| nullable(r, r.text.as_bytes())),
        )),
        Kind::Boolean => Arc::new(BooleanArray::from_iter(
            two.map(|r| nullable(r, r.int & 1 == 1)),
        )),
        Kind::Decimal { scale } => Arc::new(
            Decimal128Array::from_iter(two.map(|r| nullable(r, decimal(r.wide))))
                .with_precision_and_scale(38, (scale % 39) as i8)
                .expect("precision and scale"),
        ),
        Kind::TimestampMicros => Arc::new(
            TimestampMicrosecondArray::from_iter(two.map(|r| nullable(r, r.int)))
                .with_timezone("UTC"),
        ),
        Kind::TimestampSeconds => Arc::new(TimestampSecondArray::from_iter(
            two.map(|r| nullable(r, r.int)),
        )),
        Kind::Date32 => Arc::new(Date32Array::from_iter(
            two.map(|r| nullable(r, r.int as i32)),
        )),
        Kind::ListOfInt32 => Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            two.map(|r| if r.null { None } else { r.list.clone() }),
        )),
        Kind::Struct => {
            let names = StringArray::from_iter(two.map(|r| r.list.is_some().then_some(&r.text)));
            let ids = Int64Array::from_iter(two.map(|r| r.list.is_none().then_some(r.int)));
            let nulls = arrow::buffer::NullBuffer::from(two.map(|r| !r.null).to_vec());
            Arc::new(StructArray::new(
                vec![
                    Arc::new(Field::new("name", DataType::Utf8, true)),
                    Arc::new(Field::new("id", DataType::Int64, true)),
                ]
                .into(),
                vec![Arc::new(names) as ArrayRef, Arc::new(ids)],
                Some(nulls),
            ))
        }
    }
}

/// A decimal's unscaled value within precision 38.
fn decimal(v: i128) -> i128 {
    v % 10i128.pow(38)
}

/// Whether the two cells of `kind` hold the same value, by the model.
fn same(kind: Kind, a: &Raw, b: &Raw) -> bool {
    if let Kind::ListOfInt32 = kind {
        // A list cell is null when the raw is, or when it has no list.
        let list = |r: &Raw| if r.null { None } else { r.list.clone() };
        return list(a) == list(b);
    }
    if a.null || b.null {
        return a.null == b.null;
    }
    let float = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
    match kind {
        Kind::Int64 | Kind::UInt64 | Kind::TimestampMicros | Kind::TimestampSeconds => {
            a.int == b.int
        }
        Kind::Int8 => a.int as i8 == b.int as i8,
        Kind::Date32 => a.int as i32 == b.int as i32,
        Kind::Boolean => a.int & 1 == b.int & 1,
        Kind::Float64 => float(a.float, b.float),
        Kind::Float32 => float((a.float as f32).into(), (b.float as f32).into()),
        Kind::Utf8 | Kind::Utf8View | Kind::Binary => a.text == b.text,
        Kind::Decimal { .. } => decimal(a.wide) == decimal(b.wide),
        Kind::ListOfInt32 => a.list == b.list,
        Kind::Struct => match (&a.list, &b.list) {
            (Some(_), Some(_)) => a.text == b.text,
            (None, None) => a.int == b.int,
            _ => false,
        },
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    if input.columns.is_empty() || input.columns.len() > 16 {
        return;
    }
    let mut rows = [Vec::new(), Vec::new()];
    let mut model_equal = true;
    for (kind, a, b) in &input.columns {
        let array = column(*kind, a, b);
        let enc = encoder(&array).expect("every kind here has an encoder");
        let mut cells = [Vec::new(), Vec::new()];
        for (row, cell) in cells.iter_mut().enumerate() {
            enc.encode(row, cell);
            rows[row].extend_from_slice(cell);
        }
        let same_cell = same(*kind, a, b);
        assert_eq!(
            cells[0] == cells[1],
            same_cell,
            "{kind:?}: cells {a:?} and {b:?} encode {:?} and {:?}",
            cells[0],
            cells[1]
        );
        if let (Some(x), Some(y)) = (enc.cell(0), enc.cell(1)) {
            assert_eq!(
                x == y,
                same_cell,
                "{kind:?}: cell() disagrees with the bytes"
            );
        }
        let mut hashes = Vec::new();
        enc.hash_cells(2, &mut hashes);
        assert_eq!(
            hashes,
            vec![hash_encoded(&cells[0]), hash_encoded(&cells[1])]
        );
        model_equal &= same_cell;
    }
    assert_eq!(
        rows[0] == rows[1],
        model_equal,
        "rows encode alike but differ"
    );
});
