//! Tiers 1 and 2: what is hashed and how.
//!
//! Tier 1 (bytes) is blake3 of every file, computed by the source stage while it streams.
//! Tier 2 (logical) lives here: [`encoding`] turns every cell into canonical, versioned bytes;
//! [`logical`] hashes rows over those bytes and sums them into a [`Fingerprint`] that ignores
//! row order, file split, row groups, codec and batch size.

pub mod encoding;
pub mod logical;

pub use encoding::{family, Family, ENCODING_VERSION};
pub use logical::{hash_batch, Fingerprint, FingerprintRecord, RowHashes};
