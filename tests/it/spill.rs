//! Spill tests (filled below).
