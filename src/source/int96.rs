//! INT96 timestamps, read exactly or not at all.
//!
//! Spark, Hive and Impala write timestamps as Parquet's deprecated INT96: a Julian day and the
//! nanoseconds of that day. arrow-rs reads them into a 64-bit count of nanoseconds by default,
//! which wraps silently outside 1677-09-21 … 2262-04-11: an "open-ended" end date of 9999-12-31
//! read as a day in 1816. This module owns how such a column is decoded:
//!
//! * by default as **microseconds**, as Spark reads it (a range of ±290,000 years);
//! * as **nanoseconds** when the dataset's values carry digits below the microsecond (Hive and
//!   Impala keep nanoseconds) — the engine learns that from a [`Error::Misfit`] raised when a
//!   file is opened, and takes the side's types again ([`unit_for_dataset`]);
//! * never wrapped and never cut: every INT96 value of a file is checked against the unit it is
//!   read in when the file is opened ([`check_file`]), and a value the unit cannot hold exactly is
//!   a misfit (digits below the microsecond) or an error naming the file and column (beyond the
//!   unit's range).
//!
//! The checks read the raw INT96 values of the column chunks with the Parquet crate's column
//! reader; only INT96 columns are read, and only in files that have them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, TimeUnit};
use bytes::Bytes;
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::ColumnReaderImpl;
use parquet::data_type::Int96Type;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use crate::error::{Error, Result};

/// The Julian day of 1970-01-01.
const JULIAN_DAY_OF_EPOCH: i128 = 2_440_588;
/// Nanoseconds in a day.
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// What the values of one INT96 column need to be read exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    /// Some value has digits below the microsecond.
    pub sub_micro: bool,
    /// Some value is beyond what 64-bit microseconds hold.
    pub beyond_micros: bool,
    /// Some value is beyond what 64-bit nanoseconds hold (1677-09-21 … 2262-04-11).
    pub beyond_nanos: bool,
}

impl Extent {
    /// Fold one INT96 value (its Julian day and nanoseconds of the day, as the format stores
    /// them) into the extent.
    fn add(&mut self, day: i32, nanos_of_day: i64) {
        let nanos =
            (i128::from(day) - JULIAN_DAY_OF_EPOCH) * NANOS_PER_DAY + i128::from(nanos_of_day);
        if nanos_of_day % 1_000 != 0 {
            self.sub_micro = true;
        }
        if i64::try_from(nanos).is_err() {
            self.beyond_nanos = true;
        }
        if i64::try_from(nanos.div_euclid(1_000)).is_err() {
            self.beyond_micros = true;
        }
    }

    /// Whether every value is read exactly in `unit` (microseconds or nanoseconds).
    fn fits(&self, unit: TimeUnit) -> bool {
        match unit {
            TimeUnit::Nanosecond => !self.beyond_nanos,
            _ => !self.beyond_micros && !self.sub_micro,
        }
    }
}

/// The numbers (in the file's column order) of the leaf columns stored as INT96.
pub fn int96_leaves(meta: &ParquetMetaData) -> Vec<usize> {
    meta.file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.physical_type() == PhysicalType::INT96)
        .map(|(i, _)| i)
        .collect()
}

/// The leaf types of `dt` in depth-first order: what each Parquet leaf column became.
fn leaf_types(dt: &DataType, out: &mut Vec<DataType>) {
    match dt {
        DataType::Struct(fields) => fields.iter().for_each(|f| leaf_types(f.data_type(), out)),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaf_types(f.data_type(), out),
        other => out.push(other.clone()),
    }
}

/// `dt` with each leaf replaced by `f(leaf number, leaf type)`, numbering leaves depth first
/// from `*next`.
fn map_leaves(
    dt: &DataType,
    next: &mut usize,
    f: &mut dyn FnMut(usize, &DataType) -> DataType,
) -> DataType {
    let mut field = |x: &FieldRef| -> FieldRef {
        let mapped = map_leaves(x.data_type(), next, f);
        Arc::new(x.as_ref().clone().with_data_type(mapped))
    };
    match dt {
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::List(x) => DataType::List(field(x)),
        DataType::LargeList(x) => DataType::LargeList(field(x)),
        DataType::ListView(x) => DataType::ListView(field(x)),
        DataType::LargeListView(x) => DataType::LargeListView(field(x)),
        DataType::FixedSizeList(x, n) => DataType::FixedSizeList(field(x), *n),
        DataType::Map(x, sorted) => DataType::Map(field(x), *sorted),
        leaf => {
            let i = *next;
            *next += 1;
            f(i, leaf)
        }
    }
}

/// Each INT96 leaf of a file: (its number among the file's leaves, the top-level column it is
/// in, its number among that column's leaves).
fn locate(schema: &Schema, meta: &ParquetMetaData) -> Vec<(usize, usize, usize)> {
    let leaves = int96_leaves(meta);
    let mut out = Vec::new();
    let mut first = 0;
    for (c, f) in schema.fields().iter().enumerate() {
        let mut types = Vec::new();
        leaf_types(f.data_type(), &mut types);
        out.extend(
            (0..types.len())
                .filter(|j| leaves.contains(&(first + j)))
                .map(|j| (first + j, c, j)),
        );
        first += types.len();
    }
    out
}

/// The unit of leaf `leaf` of column `name` in `schema`, when it is a timestamp.
fn unit_in(schema: &Schema, name: &str, leaf: usize) -> Option<TimeUnit> {
    let field = schema.field_with_name(name).ok()?;
    let mut types = Vec::new();
    leaf_types(field.data_type(), &mut types);
    match types.into_iter().nth(leaf)? {
        DataType::Timestamp(unit, _) => Some(unit),
        _ => None,
    }
}

/// `schema` (as arrow-rs converts a file's Parquet schema) with each INT96 leaf in the unit
/// `unit(column name, leaf within the column)` gives, its timezone kept.
fn with_units(
    schema: &Schema,
    meta: &ParquetMetaData,
    unit: impl Fn(&str, usize) -> TimeUnit,
) -> Schema {
    let located = locate(schema, meta);
    if located.is_empty() {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            let mut next = 0;
            let dt = map_leaves(f.data_type(), &mut next, &mut |j, t| {
                let int96 = located.iter().any(|&(_, lc, lj)| lc == c && lj == j);
                match t {
                    DataType::Timestamp(_, tz) if int96 => {
                        DataType::Timestamp(unit(f.name(), j), tz.clone())
                    }
                    _ => t.clone(),
                }
            });
            f.as_ref().clone().with_data_type(dt)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// A file's schema as a dataset's first footer types it: INT96 leaves in microseconds.
pub fn footer_types(schema: &Schema, meta: &ParquetMetaData) -> Schema {
    with_units(schema, meta, |_, _| TimeUnit::Microsecond)
}

/// What the values of one INT96 leaf of a file need.
#[derive(Debug, Clone)]
pub struct LeafExtent {
    /// The top-level column.
    pub column: String,
    /// The leaf's number among the column's leaves (0 for a plain timestamp column).
    pub leaf: usize,
    /// What its values need.
    pub extent: Extent,
}

/// Read every INT96 value of a file through `reader` (its bytes, or at least its INT96 column
/// chunks) and say what each INT96 leaf needs.
pub fn extents<R: ChunkReader + 'static>(
    url: &str,
    reader: &Arc<R>,
    meta: &ParquetMetaData,
    schema: &Schema,
) -> Result<Vec<LeafExtent>> {
    let descr = meta.file_metadata().schema_descr();
    let unreadable = |e: parquet::errors::ParquetError| {
        Error::format(url, format!("not a readable Parquet file: {e}"))
    };
    let mut out = Vec::new();
    for (leaf, c, j) in locate(schema, meta) {
        let mut extent = Extent::default();
        for group in meta.row_groups() {
            let rows = usize::try_from(group.num_rows()).unwrap_or(0);
            let pages = SerializedPageReader::new(reader.clone(), group.column(leaf), rows, None)
                .map_err(unreadable)?;
            let mut column =
                ColumnReaderImpl::<Int96Type>::new(descr.column(leaf), Box::new(pages));
            let (mut defs, mut reps, mut values) = (Vec::new(), Vec::new(), Vec::new());
            loop {
                defs.clear();
                reps.clear();
                values.clear();
                let (records, _, _) = column
                    .read_records(8192, Some(&mut defs), Some(&mut reps), &mut values)
                    .map_err(unreadable)?;
                for v in &values {
                    let d = v.data();
                    // Nanoseconds of the day in the first eight bytes, the Julian day after.
                    extent.add(d[2] as i32, (i64::from(d[1]) << 32) | i64::from(d[0]));
                }
                if records == 0 {
                    break;
                }
            }
        }
        out.push(LeafExtent {
            column: schema.field(c).name().clone(),
            leaf: j,
            extent,
        });
    }
    Ok(out)
}

/// Check a file's INT96 values against the units the dataset reads them in (`dataset`, its
/// types; microseconds where it says nothing), and return the schema to decode the file with:
/// `schema` with those units. A value with digits below the microsecond in a leaf read as
/// microseconds is a misfit (the engine then takes the side's types from every file, see
/// [`with_nanoseconds_where_needed`]); a value beyond the unit's range is an error.
pub fn check_file<R: ChunkReader + 'static>(
    url: &str,
    reader: &Arc<R>,
    meta: &ParquetMetaData,
    schema: &Schema,
    dataset: Option<&Schema>,
) -> Result<Schema> {
    if int96_leaves(meta).is_empty() {
        return Ok(schema.clone());
    }
    let wanted = |name: &str, leaf: usize| match dataset.and_then(|d| unit_in(d, name, leaf)) {
        Some(TimeUnit::Nanosecond) => TimeUnit::Nanosecond,
        _ => TimeUnit::Microsecond,
    };
    for e in extents(url, reader, meta, schema)? {
        let unit = wanted(&e.column, e.leaf);
        if e.extent.fits(unit) {
            continue;
        }
        let x = e.extent;
        let column = format!("column `{}` holds INT96 timestamps", e.column);
        let never = "no 64-bit timestamp holds them all exactly, and parity reads INT96 exactly or not at all";
        return Err(if unit == TimeUnit::Nanosecond {
            Error::format(url, format!("{column} outside 1677-09-21..2262-04-11, and the dataset's INT96 values need nanoseconds (some file has digits below the microsecond): {never}"))
        } else if x.sub_micro && !x.beyond_nanos {
            // Read as nanoseconds instead, for the whole side.
            Error::misfit(url, format!("{column} with digits below the microsecond"))
        } else if x.sub_micro {
            Error::format(url, format!("{column} that need both nanoseconds and dates outside 1677-09-21..2262-04-11: {never}"))
        } else {
            Error::format(
                url,
                format!("{column} more than 290,000 years from 1970: {never}"),
            )
        });
    }
    Ok(with_units(schema, meta, wanted))
}

/// A Parquet dataset's types (`schema`, from its first footer) with each INT96 leaf in
/// nanoseconds where some file's values have digits below the microsecond (`extents`, of every
/// file), in microseconds otherwise.
pub fn with_nanoseconds_where_needed(schema: &Schema, extents: &[LeafExtent]) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut next = 0;
            let dt = map_leaves(f.data_type(), &mut next, &mut |j, t| {
                let here = extents
                    .iter()
                    .filter(|e| e.column == *f.name() && e.leaf == j);
                let mut seen = false;
                let mut nanos = false;
                for e in here {
                    seen = true;
                    nanos |= e.extent.sub_micro;
                }
                match t {
                    DataType::Timestamp(_, tz) if seen => DataType::Timestamp(
                        if nanos {
                            TimeUnit::Nanosecond
                        } else {
                            TimeUnit::Microsecond
                        },
                        tz.clone(),
                    ),
                    _ => t.clone(),
                }
            });
            f.as_ref().clone().with_data_type(dt)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Byte ranges of a remote file fetched for [`extents`]: the column chunks of its INT96 leaves.
pub struct Ranges {
    /// Fetched ranges: (first byte's offset in the file, the bytes).
    pub ranges: Vec<(u64, Bytes)>,
    /// The file's length.
    pub len: u64,
}

impl Ranges {
    fn find(&self, start: u64) -> parquet::errors::Result<&(u64, Bytes)> {
        self.ranges
            .iter()
            .find(|(s, b)| *s <= start && start < s + b.len() as u64)
            .ok_or_else(|| {
                parquet::errors::ParquetError::General(format!(
                    "offset {start} is outside the column chunks fetched"
                ))
            })
    }
}

impl Length for Ranges {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Ranges {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let (s, b) = self.find(start)?;
        use bytes::Buf;
        Ok(b.slice((start - s) as usize..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let (s, b) = self.find(start)?;
        let from = (start - s) as usize;
        b.get(from..from + length)
            .map(|_| b.slice(from..from + length))
            .ok_or_else(|| {
                parquet::errors::ParquetError::EOF(format!(
                    "{length} bytes at offset {start} run past the column chunk fetched"
                ))
            })
    }
}

/// The byte ranges of a file's INT96 column chunks.
pub fn chunk_ranges(meta: &ParquetMetaData) -> Vec<std::ops::Range<u64>> {
    let leaves = int96_leaves(meta);
    meta.row_groups()
        .iter()
        .flat_map(|g| {
            leaves.iter().map(move |&l| {
                let (start, len) = g.column(l).byte_range();
                start..start + len
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An INT96 value as the format stores it.
    fn int96(day: i32, nanos: i64) -> (i32, i64) {
        (day, nanos)
    }

    #[test]
    fn extents_tell_what_each_unit_holds() {
        let e = |values: &[(i32, i64)]| {
            let mut x = Extent::default();
            for &(d, n) in values {
                x.add(d, n);
            }
            x
        };
        // 2020-01-01 at noon, whole microseconds: fits both.
        let noon = int96(2_458_850, 12 * 3_600 * 1_000_000_000);
        assert!(e(&[noon]).fits(TimeUnit::Microsecond));
        assert!(e(&[noon]).fits(TimeUnit::Nanosecond));
        // 9999-12-31T03:00: beyond nanoseconds, fine in microseconds.
        let far = int96(5_373_484, 3 * 3_600 * 1_000_000_000);
        assert!(e(&[far]).fits(TimeUnit::Microsecond));
        assert!(!e(&[far]).fits(TimeUnit::Nanosecond));
        // A nanosecond digit: needs nanoseconds.
        let ns = int96(2_458_850, 1);
        assert!(e(&[ns]).sub_micro);
        assert!(!e(&[ns]).fits(TimeUnit::Microsecond));
        assert!(e(&[ns]).fits(TimeUnit::Nanosecond));
        // Both: nothing holds them.
        let both = e(&[far, ns]);
        assert!(!both.fits(TimeUnit::Microsecond) && !both.fits(TimeUnit::Nanosecond));
        // The largest day the format can store is beyond microseconds too.
        assert!(e(&[int96(i32::MAX, 0)]).beyond_micros);
        // The edges of 64-bit nanoseconds: 2262-04-11T23:47:16.854775807 fits, a nanosecond more
        // does not.
        let max = i128::from(i64::MAX);
        let day = max.div_euclid(NANOS_PER_DAY) + JULIAN_DAY_OF_EPOCH;
        let rest = max.rem_euclid(NANOS_PER_DAY) as i64;
        assert!(!e(&[int96(day as i32, rest)]).beyond_nanos);
        assert!(e(&[int96(day as i32, rest + 1)]).beyond_nanos);
    }

    #[test]
    fn leaves_are_numbered_depth_first() {
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
        let inner = DataType::Struct(
            vec![
                Field::new("a", DataType::Int32, true),
                Field::new("b", ts.clone(), true),
            ]
            .into(),
        );
        let list = DataType::List(Arc::new(Field::new("item", inner, true)));
        let mut types = Vec::new();
        leaf_types(&list, &mut types);
        assert_eq!(types, vec![DataType::Int32, ts.clone()]);
        let mut next = 0;
        let mapped = map_leaves(&list, &mut next, &mut |i, t| {
            if i == 1 {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            } else {
                t.clone()
            }
        });
        let mut types = Vec::new();
        leaf_types(&mapped, &mut types);
        assert_eq!(
            types,
            vec![
                DataType::Int32,
                DataType::Timestamp(TimeUnit::Microsecond, None)
            ]
        );
        assert_eq!(next, 2);
    }
}
