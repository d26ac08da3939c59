//! One integration test binary: every module below is a group of tests.

mod harness;

mod apart;
mod azure;
mod cli;
mod cutover;
mod cutover_s3;
mod demo;
mod discover;
mod faulty_proxy;
mod fixtures;
mod identity;
mod parquet_edges;
mod parts;
mod props;
mod regressions;
mod report;
mod report_browser;
mod s3;
mod spill;
mod sweep;
mod terminal;
