//! One integration test binary: every module below is a group of tests.

mod harness;

mod cli;
mod fixtures;
mod props;
mod regressions;
mod s3;
mod spill;
