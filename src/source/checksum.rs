//! Page checksums: where in a Parquet file a page's CRC32 did not match its bytes.
//!
//! Writers may store a CRC32 of each page's bytes in its header (pyarrow with
//! `write_page_checksum=True`, parquet-mr, Spark). The Parquet reader verifies every stored one
//! as it reads a page (the `crc` feature of the parquet crate) and refuses a mismatch, but its
//! error names neither the row group nor the column. [`locate`] finds them: on that error only,
//! it reads the pages of each column chunk of the row groups that were being decoded, one chunk
//! at a time, and returns the first chunk whose pages do not check. Pages without a stored
//! checksum are read as they are (the format makes checksums optional).

use std::ops::Range;
use std::sync::Arc;

use parquet::column::page::PageReader;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;

/// Whether a reader's error is a page checksum mismatch.
pub fn is_mismatch(message: &str) -> bool {
    message.contains("CRC checksum mismatch")
}

/// A column chunk whose pages did not check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The row group, by number.
    pub row_group: usize,
    /// The column's path in the file's schema (`a.list.element` for a nested leaf).
    pub column: String,
}

/// The first column chunk, among `row_groups`, with a page whose stored CRC32 does not match.
pub fn locate<R: ChunkReader + 'static>(
    source: Arc<R>,
    metadata: &ParquetMetaData,
    row_groups: Range<usize>,
) -> Option<Mismatch> {
    for g in row_groups {
        let group = metadata.row_groups().get(g)?;
        let rows = usize::try_from(group.num_rows()).unwrap_or(0);
        for chunk in group.columns() {
            let Ok(mut pages) = SerializedPageReader::new(source.clone(), chunk, rows, None) else {
                continue;
            };
            loop {
                match pages.get_next_page() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) if is_mismatch(&e.to_string()) => {
                        return Some(Mismatch {
                            row_group: g,
                            column: chunk.column_path().string(),
                        })
                    }
                    Err(_) => break,
                }
            }
        }
    }
    None
}
