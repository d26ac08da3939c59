//! The source stage: from a side's URL to streams of Arrow record batches.
//!
//! [`store`] opens the object store for a URL, [`listing`] lists and sorts its data files,
//! [`format`] says how each file is encoded, and [`reader`] streams a file's bytes exactly once,
//! hashing them with blake3 as they pass and decoding them into `RecordBatch`es off the I/O
//! threads; [`parts`] splits a Parquet file into jobs (its hash, and runs of row groups) that
//! several threads share, [`quoted_empty`] keeps CSV's `""` apart from an empty field on
//! the way to arrow's CSV reader, and [`typing`] decides the column types of CSV and JSON
//! lines, which carry none. [`legacy`] reads footers as old Parquet writers wrote them,
//! [`pages`] says which row group and column a refused page is in, and why, and [`probe`]
//! reads one file's bytes as a side would be read (for the fuzz targets). Every decoder runs
//! under [`crate::panics::guarded`]: hostile bytes are an error naming the file, never a
//! panic. Nothing here knows about fingerprints or diffs.

pub mod copies;
pub mod format;
pub mod int96;
pub mod legacy;
pub mod listing;
pub mod pages;
pub mod parts;
pub mod probe;
pub mod quoted_empty;
pub mod reader;
pub mod sample;
pub mod store;
pub mod typing;

pub use format::{Compression, DataFormat, FileFormat};
pub use listing::{list, DataFile, Dataset};
pub use store::{open, open_with, CredentialSource, Location, StoreKind, StoreOptions};
