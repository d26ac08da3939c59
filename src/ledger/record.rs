//! One ledger record: what one check of one unit (pipeline × partition) found.
//!
//! The JSON form is documented in `docs/ledger.md`; [`LEDGER_SCHEMA_VERSION`] says which form a
//! record has. Records are written once and never changed, so a reader must accept every
//! version it knows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::diff::summary::{FingerprintPair, PerSide, Samples};
use crate::diff::Verdict;
use crate::inventory::{Classification, Partition};
use crate::schema::SchemaChange;
use crate::source::reader::FileDigest;

/// Version of the record's JSON form.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// The verdict of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitVerdict {
    /// Same files, same bytes.
    Identical,
    /// Same rows after normalisation.
    Equivalent,
    /// Same rows but for float differences within tolerance.
    WithinTolerance,
    /// Different.
    Diverged,
    /// The target wrote the partition, the legacy platform did not.
    MissingLegacy,
    /// The legacy platform wrote the partition, the target did not.
    MissingTarget,
    /// The unit could not be checked.
    Error,
}

impl UnitVerdict {
    /// Every verdict, in order.
    pub const ALL: [UnitVerdict; 7] = [
        UnitVerdict::Identical,
        UnitVerdict::Equivalent,
        UnitVerdict::WithinTolerance,
        UnitVerdict::Diverged,
        UnitVerdict::MissingLegacy,
        UnitVerdict::MissingTarget,
        UnitVerdict::Error,
    ];

    /// Identical, equivalent or within tolerance.
    pub fn is_parity(self) -> bool {
        matches!(
            self,
            UnitVerdict::Identical | UnitVerdict::Equivalent | UnitVerdict::WithinTolerance
        )
    }

    /// The name as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitVerdict::Identical => "identical",
            UnitVerdict::Equivalent => "equivalent",
            UnitVerdict::WithinTolerance => "within_tolerance",
            UnitVerdict::Diverged => "diverged",
            UnitVerdict::MissingLegacy => "missing_legacy",
            UnitVerdict::MissingTarget => "missing_target",
            UnitVerdict::Error => "error",
        }
    }
}

impl From<Verdict> for UnitVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Identical => UnitVerdict::Identical,
            Verdict::Equivalent => UnitVerdict::Equivalent,
            Verdict::WithinTolerance => UnitVerdict::WithinTolerance,
            Verdict::Diverged => UnitVerdict::Diverged,
        }
    }
}

impl std::fmt::Display for UnitVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for UnitVerdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        UnitVerdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown verdict `{s}`"))
    }
}

/// Which share of the units a run checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardId {
    /// This shard, from 0.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Default for ShardId {
    fn default() -> Self {
        ShardId { index: 0, count: 1 }
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for ShardId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("shard `{s}`: expected I/N with 0 <= I < N, such as 0/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(ShardId { index, count })
    }
}

/// Columns with changed rows, most changed first (ties by name).
pub fn ranked_columns(cells: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = cells
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| (c.as_str(), *n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

/// The counts of a check (the names of `parity diff --format json`; left is legacy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows on the legacy side, when parsed.
    pub left_rows: Option<u64>,
    /// Rows on the target side, when parsed.
    pub right_rows: Option<u64>,
    /// Rows only on the legacy side.
    pub only_left: u64,
    /// Rows only on the target side.
    pub only_right: u64,
    /// Matched rows that differ beyond tolerance.
    pub changed_rows: u64,
    /// Matched rows that differ only within tolerance.
    pub within_tolerance_rows: u64,
    /// Distinct duplicated keys per side.
    pub duplicate_keys: PerSide,
    /// Rows with a null key component per side.
    pub null_keys: PerSide,
}

/// The files read of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideInputs {
    /// The partition's location.
    pub url: String,
    /// Every file, with size, ETag or version and blake3.
    pub files: Vec<FileDigest>,
}

/// Both sides' inputs (a side is absent when it is missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The legacy side.
    pub legacy: Option<SideInputs>,
    /// The target side.
    pub target: Option<SideInputs>,
}

impl Inputs {
    /// The [`files_digest`] of the files checked, or `None` when neither side was listed (a
    /// check that failed before reading).
    pub fn files_digest(&self) -> Option<String> {
        if self.legacy.is_none() && self.target.is_none() {
            return None;
        }
        fn listed(s: &Option<SideInputs>) -> Option<Vec<(&str, u64)>> {
            s.as_ref()
                .map(|s| s.files.iter().map(|f| (f.path.as_str(), f.size)).collect())
        }
        Some(files_digest(listed(&self.legacy), listed(&self.target)))
    }
}

/// Hex digits of a [`files_digest`].
pub const FILES_DIGEST_LEN: usize = 16;

/// Which data files each side of a partition holds, and their sizes, as 16 hex digits: a
/// record's name carries it, so that planning notices a file added to or deleted from a
/// partition after its check without reading the record. Paths are relative to the side's
/// partition location, as the engine lists them; `None` is a side without data files. The
/// order of `files` does not matter.
pub fn files_digest(legacy: Option<Vec<(&str, u64)>>, target: Option<Vec<(&str, u64)>>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"parity files digest v1\n");
    for side in [legacy, target] {
        match side {
            None => {
                h.update(&[0]);
            }
            Some(mut files) => {
                files.sort_unstable();
                h.update(&[1]);
                h.update(&(files.len() as u64).to_le_bytes());
                for (path, size) in files {
                    h.update(&(path.len() as u64).to_le_bytes());
                    h.update(path.as_bytes());
                    h.update(&size.to_le_bytes());
                }
            }
        }
    }
    h.finalize().to_hex()[..FILES_DIGEST_LEN].to_string()
}

/// When the check ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Start of the check.
    pub started_at: DateTime<Utc>,
    /// Its duration in milliseconds.
    pub duration_ms: u64,
}

/// One check of one unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Version of this form.
    pub schema_version: u32,
    /// The cutover's name.
    pub cutover: String,
    /// The pipeline's id.
    pub pipeline: String,
    /// The partition.
    pub partition: Partition,
    /// The verdict.
    pub verdict: UnitVerdict,
    /// The pipeline's classification at the time.
    pub classification: Option<Classification>,
    /// When the check began (its inputs were read from then on); also the time in the name.
    pub checked_at: DateTime<Utc>,
    /// The run that wrote it.
    pub run_id: String,
    /// The run's shard.
    pub shard: ShardId,
    /// parity's version.
    pub tool_version: String,
    /// Version of the canonical encoding behind the fingerprints.
    pub encoding_version: u32,
    /// Digest of the pipeline's comparison settings.
    pub config_digest: String,
    /// The tier that decided (`bytes`, `fingerprint`, `rows`), when the engine ran.
    pub tier: Option<String>,
    /// Row counts.
    pub counts: Counts,
    /// Column → matched rows where it differs beyond tolerance.
    pub changed_cells: BTreeMap<String, u64>,
    /// Column → matched rows where it differs within tolerance.
    pub within_tolerance_cells: BTreeMap<String, u64>,
    /// The schema difference.
    pub schema_changes: Vec<SchemaChange>,
    /// A few sample rows per kind (redacted when `redacted`).
    pub samples: Samples,
    /// Whether values in the record are redacted.
    pub redacted: bool,
    /// The files read.
    pub inputs: Inputs,
    /// Logical fingerprints, when tier 2 ran.
    pub fingerprint: Option<FingerprintPair>,
    /// Why the unit could not be checked (verdict `error`).
    pub error: Option<String>,
    /// Timings.
    pub timings: Timings,
}
