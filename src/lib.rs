//! # parity
//!
//! A dual-run output parity checker for data pipeline migrations. During a cutover both the
//! legacy and the target platform write the same pipelines' outputs to object storage; `parity`
//! proves them byte-identical where they are, row-diffs them with Arrow where they are not.
//!
//! The library is the engine; the `parity` binary is a thin layer over it. Data flows forward
//! through one module per stage:
//!
//! ```text
//! inventory (parity.toml) ─> plan (units: pipeline × partition) ─> run ─┐
//!                                                                       │ per unit
//! source (open, list, read + blake3) ─> schema (plan) ─> fingerprint (canonical encoding,
//! row hashes) ─> diff (spool or differing-rows subset, tier-3 matcher, summary)
//!                                                                       │
//!                          ledger (create-only records) <─ run ─> events (JSON lines)
//! ledger ─> lineage, history, readiness (streaks, states, GO/NO-GO; burnup: ready per day)
//!        ─> report (terminal, json, markdown, html)
//! ```
//!
//! ```no_run
//! # async fn demo() -> parity::Result<()> {
//! use std::sync::Arc;
//! use parity::{compare, DiffConfig, NoProgress};
//!
//! let cfg = DiffConfig { key: vec!["order_id".into()], ..Default::default() };
//! let summary = compare("fixtures/demo/legacy", "fixtures/demo/target", &cfg, Arc::new(NoProgress)).await?;
//! println!("{} ({} rows only on the left)", summary.verdict, summary.only_left);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod allocator;
pub mod burnup;
pub mod config;
pub mod diff;
pub mod error;
pub mod events;
pub mod fingerprint;
pub mod inventory;
pub mod ledger;
pub mod lineage;
pub mod lookalike;
pub mod panics;
pub mod plan;
pub mod progress;
pub mod readiness;
pub mod redact;
pub mod report;
pub mod run;
pub mod schema;
pub mod source;

pub use config::{DiffConfig, Tolerance, Tolerances};
pub use diff::{compare, DiffSummary, Verdict};
pub use error::{Error, Result};
pub use progress::{NoProgress, Progress};
