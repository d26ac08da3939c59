//! Rows of many batches copied into one array, a column at a time, in the order asked.
//!
//! The spool gathers every spilled row into its partition's place, and tier 3 gathers the
//! cells of matched pairs for the typed comparison: both copy a cell at a time from anywhere
//! in a partition's batches. Arrow's `interleave` does it through a per-type closure (and,
//! for fixed-size binary, through its generic path a row at a time); here the common layouts
//! are copied with one load and one store a cell:
//!
//! * fixed-width values (integers, floats, decimals, dates and times, the 16-byte hashes) by
//!   their width, whatever their type;
//! * strings held as views into offsets and values, the short ones (twelve bytes or fewer,
//!   held in the view itself) straight from the view;
//! * anything else through `interleave`.
//!
//! A gathered column owns its buffers: it never keeps a source's pages alive.

use std::sync::Arc;

use arrow::array::{
    make_array, Array, ArrayData, ArrayRef, AsArray, BooleanBufferBuilder, GenericStringArray,
    OffsetSizeTrait, StringViewArray,
};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field};

use crate::error::{Error, Result};

/// Column `field` of the rows `order` names, (source, row), from `sources` (arrays of one
/// type), as `field`'s type: sources of mixed types are cast first.
pub(super) fn column(
    sources: &[&ArrayRef],
    order: &[(usize, usize)],
    field: &Field,
) -> Result<ArrayRef> {
    let from = sources[0].data_type();
    let to = field.data_type();
    if sources.iter().any(|s| s.data_type() != from) {
        // Batches kept in memory before the spool spilled, beside batches as decoded.
        let cast: Vec<ArrayRef> = sources
            .iter()
            .map(|s| cast_to(s, field))
            .collect::<Result<_>>()?;
        return column(&cast.iter().collect::<Vec<_>>(), order, field);
    }
    let failed = |e: arrow::error::ArrowError| {
        Error::Internal(format!("gathering column `{}`: {e}", field.name()))
    };
    Ok(match (from, to) {
        (DataType::Utf8View, DataType::Utf8) => Arc::new(strings::<i32>(sources, order, field)?),
        (DataType::Utf8View, DataType::LargeUtf8) => {
            Arc::new(strings::<i64>(sources, order, field)?)
        }
        (DataType::Utf8View, DataType::Utf8View) => Arc::new(
            same_type(sources, order)
                .map_err(failed)?
                .as_string_view()
                .gc(),
        ),
        (DataType::BinaryView, DataType::BinaryView) => Arc::new(
            same_type(sources, order)
                .map_err(failed)?
                .as_binary_view()
                .gc(),
        ),
        _ if from == to => same_type(sources, order).map_err(failed)?,
        _ => cast_to(&same_type(sources, order).map_err(failed)?, field)?,
    })
}

/// A column cast to the type of `field`.
pub(super) fn cast_to(column: &ArrayRef, field: &Field) -> Result<ArrayRef> {
    arrow::compute::cast(column, field.data_type())
        .map_err(|e| Error::Internal(format!("spooling column `{}`: {e}", field.name())))
}

/// The rows `order` names from `sources` (arrays of one type), in their own type.
pub(super) fn same_type(
    sources: &[&ArrayRef],
    order: &[(usize, usize)],
) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
    Sources::new(sources.to_vec()).take(order)
}

/// One column of many batches, ready to be gathered from again and again: the arrays and, for
/// fixed-width values, their width and each array's data, looked up once (a partition's
/// matched cells are gathered a few thousand pairs at a time, from hundreds of batches).
pub(super) struct Sources<'a> {
    arrays: Vec<&'a ArrayRef>,
    fixed: Option<(usize, Vec<ArrayData>)>,
}

impl<'a> Sources<'a> {
    /// `arrays` of one type.
    pub(super) fn new(arrays: Vec<&'a ArrayRef>) -> Self {
        debug_assert!(
            arrays
                .windows(2)
                .all(|w| w[0].data_type() == w[1].data_type()),
            "sources of one type"
        );
        let width = arrays.first().and_then(|a| match a.data_type() {
            DataType::FixedSizeBinary(w) => usize::try_from(*w).ok(),
            dt => dt.primitive_width(),
        });
        let fixed = width
            .filter(|w| matches!(w, 1 | 2 | 4 | 8 | 16))
            .map(|w| (w, arrays.iter().map(|a| a.to_data()).collect()));
        Sources { arrays, fixed }
    }

    /// The rows `order` names, (array, row), as one array of their type.
    pub(super) fn take(
        &self,
        order: &[(usize, usize)],
    ) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
        let Some((width, data)) = &self.fixed else {
            let arrays: Vec<&dyn Array> = self.arrays.iter().map(|s| s.as_ref()).collect();
            return arrow::compute::interleave(&arrays, order);
        };
        let values = match width {
            1 => fixed::<1>(data, order),
            2 => fixed::<2>(data, order),
            4 => fixed::<4>(data, order),
            8 => fixed::<8>(data, order),
            _ => fixed::<16>(data, order),
        }?;
        let built = ArrayData::builder(self.arrays[0].data_type().clone())
            .len(order.len())
            .add_buffer(values)
            .nulls(nulls(&self.arrays, order))
            .build()?;
        Ok(make_array(built))
    }
}

/// The values of the rows `order` names, each `W` bytes wide, one copy a value, into a
/// buffer aligned for any native type.
fn fixed<const W: usize>(
    data: &[ArrayData],
    order: &[(usize, usize)],
) -> std::result::Result<Buffer, arrow::error::ArrowError> {
    let values: Vec<&[u8]> = data
        .iter()
        .map(|d| {
            let start = d.offset() * W;
            d.buffers()
                .first()
                .and_then(|b| b.as_slice().get(start..start + d.len() * W))
                .ok_or_else(|| {
                    arrow::error::ArrowError::InvalidArgumentError(format!(
                        "a column's values are shorter than its {} rows",
                        d.len()
                    ))
                })
        })
        .collect::<std::result::Result<_, _>>()?;
    let len = order.len() * W;
    let mut out = MutableBuffer::with_capacity(len);
    let to = out.as_mut_ptr();
    for (i, &(b, row)) in order.iter().enumerate() {
        let value = &values[b][row * W..row * W + W];
        // SAFETY: `out` has room for `order.len()` values of `W` bytes and value `i` is written
        // at `i * W`; `value` is `W` bytes of another allocation.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), to.add(i * W), W) };
    }
    // SAFETY: every byte below `len` was written above.
    unsafe { out.set_len(len) };
    Ok(out.into())
}

/// The validity of the rows `order` names; `None` when no source has a null.
fn nulls(sources: &[&ArrayRef], order: &[(usize, usize)]) -> Option<NullBuffer> {
    let of: Vec<Option<&NullBuffer>> = sources
        .iter()
        .map(|s| s.nulls().filter(|n| n.null_count() > 0))
        .collect();
    if of.iter().all(Option::is_none) {
        return None;
    }
    let mut valid = BooleanBufferBuilder::new(order.len());
    for &(b, row) in order {
        valid.append(of[b].is_none_or(|n| n.is_valid(row)));
    }
    Some(NullBuffer::new(valid.finish()))
}

/// Strings held as views copied out into offsets and values, a value at a time: a short one
/// (twelve bytes or fewer) from the view itself, a longer one from its data buffer.
fn strings<O: OffsetSizeTrait>(
    sources: &[&ArrayRef],
    order: &[(usize, usize)],
    field: &Field,
) -> Result<GenericStringArray<O>> {
    let views: Vec<&StringViewArray> = sources.iter().map(|s| s.as_string_view()).collect();
    let nulls = nulls(sources, order);
    let too_long = || {
        Error::Internal(format!(
            "spooling column `{}`: the strings of {} rows pass the offsets' range",
            field.name(),
            order.len()
        ))
    };
    // Room for the short strings; longer ones make it grow.
    let mut values: Vec<u8> = Vec::with_capacity(order.len() * 12 + 16);
    let mut offsets: Vec<O> = Vec::with_capacity(order.len() + 1);
    offsets.push(O::zero());
    for (i, &(b, row)) in order.iter().enumerate() {
        if nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
            let view = views[b].views()[row];
            let len = view as u32 as usize;
            if len <= 12 {
                // The string is the view's last twelve bytes: all sixteen from the fourth are
                // written (the rest zeros) and only its own kept.
                let inline = (view >> 32).to_le_bytes();
                values.reserve(inline.len());
                // SAFETY: room for 16 more bytes was reserved just above; `len` ≤ 12 of them
                // are the string's and become part of `values`.
                unsafe {
                    let end = values.as_mut_ptr().add(values.len());
                    std::ptr::copy_nonoverlapping(inline.as_ptr(), end, inline.len());
                    values.set_len(values.len() + len);
                }
            } else {
                let (buffer, offset) = ((view >> 64) as u32 as usize, (view >> 96) as u32 as usize);
                values.extend_from_slice(&views[b].data_buffers()[buffer][offset..offset + len]);
            }
        }
        offsets.push(O::from_usize(values.len()).ok_or_else(too_long)?);
    }
    // SAFETY: every value appended is a whole string of a string view array (its inline bytes,
    // or its range of a data buffer), so `values` is valid UTF-8 and each offset falls on a
    // value's boundary; the offsets start at zero, never decrease, end at `values.len()` and
    // fit `O` (checked as they were pushed), and `nulls` has one entry a row.
    Ok(unsafe {
        GenericStringArray::new_unchecked(
            OffsetBuffer::new_unchecked(offsets.into()),
            values.into(),
            nulls,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Decimal128Array, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };

    /// What `interleave` gives for the same rows: the reference the fast paths must match.
    fn reference(sources: &[&ArrayRef], order: &[(usize, usize)]) -> ArrayRef {
        let arrays: Vec<&dyn Array> = sources.iter().map(|s| s.as_ref()).collect();
        arrow::compute::interleave(&arrays, order).unwrap()
    }

    /// Rows from three sources, one of them a slice starting mid-array, in no order.
    fn order() -> Vec<(usize, usize)> {
        vec![
            (2, 3),
            (0, 0),
            (1, 4),
            (2, 0),
            (0, 5),
            (1, 1),
            (2, 3),
            (0, 2),
        ]
    }

    fn three(make: impl Fn(usize) -> ArrayRef) -> Vec<ArrayRef> {
        vec![make(0), make(1), make(2).slice(2, 5)]
    }

    #[test]
    fn fixed_width_values_come_in_order_with_their_nulls_whatever_their_type() {
        let columns: Vec<Vec<ArrayRef>> = vec![
            three(|s| {
                Arc::new(Int32Array::from_iter(
                    (0..7).map(|i| (i % 3 != 1).then_some(i * 10 + s as i32)),
                ))
            }),
            three(|s| {
                Arc::new(Int64Array::from_iter_values(
                    (0..7).map(|i| i * 100 + s as i64),
                ))
            }),
            three(|s| {
                Arc::new(Float64Array::from_iter(
                    (0..7).map(|i| (i != 4).then_some(i as f64 + s as f64 / 8.0)),
                ))
            }),
            three(|s| {
                Arc::new(
                    Decimal128Array::from_iter_values((0..7).map(|i| i * 1_000_000 - s as i128))
                        .with_precision_and_scale(18, 4)
                        .unwrap(),
                )
            }),
            three(|s| {
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values((0..7).map(|i| i * 7 + s as i64))
                        .with_timezone("UTC"),
                )
            }),
            three(|s| {
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        (0..7).map(|i| (i != 2).then_some([i as u8 ^ s as u8; 16])),
                        16,
                    )
                    .unwrap(),
                )
            }),
        ];
        for sources in &columns {
            let refs: Vec<&ArrayRef> = sources.iter().collect();
            let got = same_type(&refs, &order()).unwrap();
            assert_eq!(got.data_type(), sources[0].data_type());
            assert_eq!(got.to_data(), reference(&refs, &order()).to_data());
        }
    }

    #[test]
    fn strings_held_as_views_come_out_as_offsets_short_and_long_alike() {
        // Short strings live in the view, longer ones in a data buffer; the third source is
        // a slice, and some rows are null.
        let text = |s: usize, i: usize| match i % 3 {
            0 => None,
            1 => Some(format!("{s}{i}")),
            _ => Some(format!("a string longer than twelve bytes {s}/{i}")),
        };
        let sources = three(|s| {
            Arc::new(arrow::array::StringViewArray::from_iter(
                (0..7).map(|i| text(s, i)),
            ))
        });
        let refs: Vec<&ArrayRef> = sources.iter().collect();
        let field = Field::new("s", DataType::Utf8, true);
        let got = column(&refs, &order(), &field).unwrap();
        let want: StringArray = order()
            .iter()
            .map(|&(b, row)| text(b, if b == 2 { row + 2 } else { row }))
            .collect();
        assert_eq!(got.as_string::<i32>(), &want);
        assert_eq!(got.null_count(), 1);
        let large = Field::new("s", DataType::LargeUtf8, true);
        let got = column(&refs, &order(), &large).unwrap();
        assert_eq!(
            got.as_string::<i64>().iter().collect::<Vec<_>>(),
            want.iter().collect::<Vec<_>>()
        );
    }
}
