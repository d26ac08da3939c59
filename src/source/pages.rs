//! Pages the Parquet reader refused: which row group and column, and why, in words.
//!
//! The reader's errors name neither the row group nor the column, and some say only what
//! went wrong inside the decoder ("out of range integral type conversion"). On such an error
//! only, [`locate`] reads the page headers of each column chunk of the row groups that were
//! being decoded, one chunk at a time, and returns the first chunk whose pages do not read,
//! with the page reader's reason. Writers may store a CRC32 of each page's bytes in its header
//! (pyarrow with `write_page_checksum=True`, parquet-mr, Spark); the reader verifies every
//! stored one (the `crc` feature of the parquet crate), so a mismatch is found here too. Pages
//! without a stored checksum are read as they are (the format makes checksums optional).

use std::ops::Range;
use std::sync::Arc;

use parquet::column::page::PageReader;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;

/// Whether a reader's error is a page checksum mismatch.
pub fn is_checksum_mismatch(message: &str) -> bool {
    message.contains("CRC checksum mismatch")
}

/// A column chunk whose pages did not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The row group, by number.
    pub row_group: usize,
    /// The column's path in the file's schema (`a.list.element` for a nested leaf).
    pub column: String,
    /// What was wrong with the page, in words.
    pub reason: String,
}

/// The first column chunk, among `row_groups`, with a page the page reader refuses.
pub fn locate<R: ChunkReader + 'static>(
    source: Arc<R>,
    metadata: &ParquetMetaData,
    row_groups: Range<usize>,
) -> Option<Refused> {
    for g in row_groups {
        let group = metadata.row_groups().get(g)?;
        let rows = usize::try_from(group.num_rows()).unwrap_or(0);
        for chunk in group.columns() {
            let refused = |e: parquet::errors::ParquetError| Refused {
                row_group: g,
                column: chunk.column_path().string(),
                reason: reason(&e.to_string()),
            };
            let mut pages = match SerializedPageReader::new(source.clone(), chunk, rows, None) {
                Ok(pages) => pages,
                Err(e) => return Some(refused(e)),
            };
            loop {
                match pages.get_next_page() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Some(refused(e)),
                }
            }
        }
    }
    None
}

/// The page reader's error in words a reader of the message can act on.
fn reason(message: &str) -> String {
    if is_checksum_mismatch(message) {
        "a page does not match its checksum (CRC32); its bytes changed after they were written"
            .to_string()
    } else if message.contains("out of range integral type conversion") {
        format!(
            "a page header holds a negative count or size, which this reader refuses ({message})"
        )
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_say_what_the_page_holds() {
        assert_eq!(
            reason("Parquet error: CRC checksum mismatch"),
            "a page does not match its checksum (CRC32); its bytes changed after they were written"
        );
        assert!(
            reason("Integer overflow: out of range integral type conversion attempted")
                .starts_with("a page header holds a negative count or size")
        );
        assert_eq!(
            reason("EOF: eof decoding byte array"),
            "EOF: eof decoding byte array"
        );
    }
}
