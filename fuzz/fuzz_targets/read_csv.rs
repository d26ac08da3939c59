//! Arbitrary bytes as a CSV file (plain, or gzip when the first byte is odd): rows or an error
//! naming the file, never a panic or a hang.
#![no_main]

#[path = "common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((first, rest)) if first % 2 == 1 => common::read("fuzz.csv.gz", rest),
        _ => common::read("fuzz.csv", data),
    }
});
