//! Parquet footers as old writers wrote them, read the way the format's other readers do.
//!
//! parquet-mr before 1.11 wrote `dictionary_page_offset = 0` into the footer of a column chunk
//! with no dictionary page (it meant "none"; the field should have been left out). Offset 0 is
//! the file's magic number, never a page, and parquet-mr, pyarrow and DuckDB take it as "no
//! dictionary page"; arrow-rs took it as the chunk's start and failed on the magic bytes.
//! [`load`] reads a footer and clears every such offset (any offset inside the 4-byte magic)
//! before the Arrow reader sees it, so the chunk is read from its first data page, where
//! the reader also finds a dictionary page if there is one.

use std::sync::Arc;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::errors::Result;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::ChunkReader;

/// The smallest offset a page can start at: after the magic number `PAR1`.
const FIRST_PAGE: i64 = 4;

/// Read a file's footer into reader metadata, with the repairs of [`repaired`].
pub fn load<R: ChunkReader>(source: &R) -> Result<ArrowReaderMetadata> {
    let metadata = ParquetMetaDataReader::new().parse_and_finish(source)?;
    ArrowReaderMetadata::try_new(Arc::new(repaired(metadata)?), ArrowReaderOptions::new())
}

/// `metadata` with a dictionary page offset inside the magic number (parquet-mr's 0 for "no
/// dictionary page") left out. A negative offset is damage, not a writer's habit: it stays, and
/// the reader refuses it.
pub fn repaired(metadata: ParquetMetaData) -> Result<ParquetMetaData> {
    let offset_in_magic = |c: &parquet::file::metadata::ColumnChunkMetaData| {
        c.dictionary_page_offset()
            .is_some_and(|o| (0..FIRST_PAGE).contains(&o))
    };
    let needed = metadata
        .row_groups()
        .iter()
        .any(|g| g.columns().iter().any(offset_in_magic));
    if !needed {
        return Ok(metadata);
    }
    let mut builder = metadata.into_builder();
    let mut groups = builder.take_row_groups();
    for group in &mut groups {
        for column in group.columns_mut() {
            if offset_in_magic(column) {
                *column = column
                    .clone()
                    .into_builder()
                    .set_dictionary_page_offset(None)
                    .build()?;
            }
        }
    }
    Ok(builder.set_row_groups(groups).build())
}
