//! How the engine reports progress: a small trait the binary implements with progress bars.
//!
//! The library never prints. It calls these methods from any thread; an implementation must be
//! cheap (they are called per chunk and per batch). [`NoProgress`] ignores everything.

use crate::schema::Side;

/// Receives progress events.
pub trait Progress: Send + Sync {
    /// A side is about to be read: how many files and bytes it has.
    fn side_started(&self, _side: Side, _files: u64, _bytes: u64) {}
    /// Bytes of a side have been read.
    fn bytes_read(&self, _side: Side, _bytes: u64) {}
    /// Rows of a side have been decoded.
    fn rows_read(&self, _side: Side, _rows: u64) {}
    /// A new stage begins (`listing`, `hashing`, `fingerprinting`, `diffing`).
    fn stage(&self, _stage: &'static str) {}
    /// The work is done.
    fn finished(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
