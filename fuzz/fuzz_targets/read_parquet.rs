//! Arbitrary bytes as a Parquet file: rows or an error naming the file, never a panic or a
//! hang. `scripts/fuzz` seeds the corpus with the fixtures' Parquet files, so mutations start
//! from real footers and pages.
#![no_main]

#[path = "common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::read("fuzz.parquet", data);
});
