//! The result of a comparison: verdict, counts, schema changes, samples, hints.
//!
//! [`DiffSummary`] is what the engine returns and every renderer reads. Its JSON form is a
//! contract other tools parse (`schema_version` says which): `verdict`, `left_rows`,
//! `right_rows`, `only_left`, `only_right`, `changed_rows`, `changed_cells`, `duplicate_keys`,
//! `null_keys` and `schema_changes` keep their names and meaning.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{DiffConfig, Tolerances};
use crate::fingerprint::FingerprintRecord;
use crate::schema::SchemaChange;
use crate::source::reader::FileDigest;

/// Version of the summary's JSON form.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The verdict of one comparison.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same relative paths, same bytes.
    Identical,
    /// Same rows, after normalisation.
    Equivalent,
    /// Same rows except float differences within tolerance.
    WithinTolerance,
    /// Differences beyond tolerance, or a divergent schema change.
    Diverged,
}

impl Verdict {
    /// Whether this verdict is parity.
    pub fn is_parity(self) -> bool {
        !matches!(self, Verdict::Diverged)
    }

    /// The verdict's name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::Equivalent => "equivalent",
            Verdict::WithinTolerance => "within_tolerance",
            Verdict::Diverged => "diverged",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which tier decided the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Tier 1: byte hashes.
    Bytes,
    /// Tier 2: logical fingerprints.
    Fingerprint,
    /// Tier 3: the row diff.
    Rows,
}

/// A count per side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PerSide {
    /// On the left.
    pub left: u64,
    /// On the right.
    pub right: u64,
}

/// What was read of one side.
#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    /// The side's URL.
    pub url: String,
    /// The format of its files.
    pub format: String,
    /// Number of files.
    pub files: u64,
    /// Total bytes.
    pub bytes: u64,
    /// Every file read, with its hash.
    pub inputs: Vec<FileDigest>,
}

/// Per compared column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSummary {
    /// Name (right side's).
    pub name: String,
    /// Name on the left, when renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_name: Option<String>,
    /// Left type.
    pub left_type: String,
    /// Right type.
    pub right_type: String,
    /// Part of the key.
    pub key: bool,
    /// Whether the per-column fingerprints agree (a column can differ only if they do not).
    pub fingerprint_equal: bool,
    /// Matched rows whose value differs beyond tolerance.
    pub changed: u64,
    /// Matched rows whose value differs within tolerance.
    pub within_tolerance: u64,
    /// Largest absolute difference among changed float values, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_abs_diff: Option<f64>,
}

/// A sampled row: column → rendered value (`None` is null). Redacted when redaction is on.
pub type SampleRow = BTreeMap<String, Option<String>>;

/// One changed cell. Its JSON form is `left` and `right`, and, when the two values differ only
/// in characters that read the same (see [`crate::lookalike`]), `escaped`: both values with
/// the differing characters written as code points, so a person reading the JSON sees them.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
pub struct CellChange {
    /// Left value.
    pub left: Option<String>,
    /// Right value.
    pub right: Option<String>,
}

impl CellChange {
    /// Both values with their look-alike differences escaped, when they look alike.
    pub fn escaped(&self) -> Option<(String, String)> {
        crate::lookalike::escaped_pair(self.left.as_deref()?, self.right.as_deref()?)
    }
}

impl Serialize for CellChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct Escaped {
            left: String,
            right: String,
        }
        let escaped = self.escaped();
        let mut out = s.serialize_struct("CellChange", 2 + usize::from(escaped.is_some()))?;
        out.serialize_field("left", &self.left)?;
        out.serialize_field("right", &self.right)?;
        if let Some((left, right)) = escaped {
            out.serialize_field("escaped", &Escaped { left, right })?;
        }
        out.end()
    }
}

/// A changed row: its key and its changed cells.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ChangedSample {
    /// The key columns' values.
    pub key: SampleRow,
    /// The changed columns.
    pub changes: BTreeMap<String, CellChange>,
}

/// Sample rows of each kind of difference, in key order.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Samples {
    /// Rows only on the left.
    pub only_left: Vec<SampleRow>,
    /// Rows only on the right.
    pub only_right: Vec<SampleRow>,
    /// Changed rows.
    pub changed: Vec<ChangedSample>,
}

/// A suggestion for the person reading the result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hint {
    /// `volatile_column` or `float_noise`.
    pub kind: String,
    /// The column.
    pub column: String,
    /// The flag that would act on it.
    pub suggestion: String,
    /// One sentence for people.
    pub message: String,
}

/// Where the full row diff was written.
#[derive(Debug, Clone, Serialize)]
pub struct DiffOutSummary {
    /// URL of the Parquet file.
    pub url: String,
    /// Rows written.
    pub rows: u64,
}

/// The comparison settings a result was made under, so a saved result explains itself. The
/// key is the summary's own `key`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Settings {
    /// Columns left out of the comparison.
    pub ignore: Vec<String>,
    /// Left column name → right column name.
    pub rename: BTreeMap<String, String>,
    /// Float tolerances: a default for every float column, and per column.
    pub tolerance: Tolerances,
    /// Whether every type change diverges, lossless ones included.
    pub strict_types: bool,
}

impl Settings {
    /// The settings of `cfg`.
    pub fn of(cfg: &DiffConfig) -> Self {
        Settings {
            ignore: cfg.ignore.clone(),
            rename: cfg.rename.iter().cloned().collect(),
            tolerance: cfg.tolerance.clone(),
            strict_types: cfg.strict_types,
        }
    }

    /// Whether these are the defaults: nothing ignored or renamed, exact floats, lossless type
    /// changes compatible.
    pub fn is_default(&self) -> bool {
        self.ignore.is_empty()
            && self.rename.is_empty()
            && self.tolerance.default.is_zero()
            && self.tolerance.columns.is_empty()
            && !self.strict_types
    }
}

/// The whole result of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct DiffSummary {
    /// Version of this JSON form.
    pub schema_version: u32,
    /// parity's version.
    pub tool_version: String,
    /// Version of the canonical encoding behind the fingerprints.
    pub encoding_version: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// The tier that decided it.
    pub tier: Tier,
    /// Rows on the left (`null` when tier 1 decided without parsing).
    pub left_rows: Option<u64>,
    /// Rows on the right (`null` when tier 1 decided without parsing).
    pub right_rows: Option<u64>,
    /// Rows only on the left.
    pub only_left: u64,
    /// Rows only on the right.
    pub only_right: u64,
    /// Matched rows with a difference beyond tolerance.
    pub changed_rows: u64,
    /// Column → matched rows where it differs beyond tolerance.
    pub changed_cells: BTreeMap<String, u64>,
    /// Matched rows whose only differences are within tolerance.
    pub within_tolerance_rows: u64,
    /// Column → matched rows where it differs within tolerance.
    pub within_tolerance_cells: BTreeMap<String, u64>,
    /// Distinct keys that occur more than once, per side.
    pub duplicate_keys: PerSide,
    /// Rows with a null key component, per side.
    pub null_keys: PerSide,
    /// Every schema change.
    pub schema_changes: Vec<SchemaChange>,
    /// The key columns (empty: a multiset diff of whole rows).
    pub key: Vec<String>,
    /// The other settings it compared under.
    pub settings: Settings,
    /// Per compared column.
    pub columns: Vec<ColumnSummary>,
    /// Logical fingerprints, when tier 2 ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprints: Option<FingerprintPair>,
    /// The left side.
    pub left: SideSummary,
    /// The right side.
    pub right: SideSummary,
    /// Sample rows.
    pub samples: Samples,
    /// Suggestions.
    pub hints: Vec<Hint>,
    /// Whether values were redacted.
    pub redacted: bool,
    /// Where the full diff went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_out: Option<DiffOutSummary>,
    /// Bytes spilled to local disk by tier 3.
    pub spilled_bytes: u64,
}

/// Both sides' fingerprints.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FingerprintPair {
    /// Left.
    pub left: FingerprintRecord,
    /// Right.
    pub right: FingerprintRecord,
}

impl DiffSummary {
    /// The process exit code the verdict maps to: 0 parity, 1 differences.
    pub fn exit_code(&self) -> i32 {
        if self.verdict.is_parity() {
            0
        } else {
            1
        }
    }
}
