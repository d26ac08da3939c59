//! The last stage: the verdict, the hints and the [`DiffSummary`] every renderer reads, from
//! the plan, the fingerprints and tier 3's tally.

use std::collections::BTreeMap;

use super::matcher::Tally;
use super::summary::*;
use crate::config::DiffConfig;
use crate::error::{Error, Result};
use crate::fingerprint::{Family, Fingerprint, FingerprintRecord, ENCODING_VERSION};
use crate::schema::Plan;
use crate::source::reader::FileDigest;
use crate::source::Dataset;

/// The verdict from what the tiers found: any differing row or a divergent schema change is
/// `diverged`; differences all within tolerance are `within_tolerance`; otherwise the sides are
/// `equivalent`, which fingerprints that differ can never be.
pub(super) fn verdict(plan: &Plan, tally: &Tally, fingerprints_equal: bool) -> Result<Verdict> {
    let no_rows_differ = tally.only_left == 0 && tally.only_right == 0 && tally.changed_rows == 0;
    if !no_rows_differ || plan.divergent() {
        Ok(Verdict::Diverged)
    } else if tally.within_rows > 0 {
        Ok(Verdict::WithinTolerance)
    } else if !fingerprints_equal {
        Err(Error::Internal(
            "the logical fingerprints differ but the row diff found no difference; please report this with both inputs".into(),
        ))
    } else {
        Ok(Verdict::Equivalent)
    }
}

/// Both sides as read by the tiers that decided.
pub(super) struct Sides<'a> {
    pub left: (&'a Dataset, &'a Fingerprint, Vec<FileDigest>),
    pub right: (&'a Dataset, &'a Fingerprint, Vec<FileDigest>),
}

/// What tiers 2 and 3 concluded.
pub(super) struct Outcome {
    pub verdict: Verdict,
    pub tier: Tier,
    pub tally: Tally,
    pub diff_out: Option<DiffOutSummary>,
    pub spilled_bytes: u64,
}

/// The summary of a comparison that reached tier 2 or 3.
pub(super) fn summary(
    plan: &Plan,
    cfg: &DiffConfig,
    sides: Sides<'_>,
    outcome: Outcome,
) -> DiffSummary {
    let Sides {
        left: (lds, lfp, ldigests),
        right: (rds, rfp, rdigests),
    } = sides;
    let Outcome {
        verdict,
        tier,
        tally,
        diff_out,
        spilled_bytes,
    } = outcome;
    let columns = plan
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnSummary {
            name: c.name.clone(),
            left_name: (c.left_name != c.name).then(|| c.left_name.clone()),
            left_type: c.left_type.to_string(),
            right_type: c.right_type.to_string(),
            key: c.is_key,
            fingerprint_equal: lfp.columns[i] == rfp.columns[i],
            changed: tally.changed_cells[i],
            within_tolerance: tally.within_cells[i],
            // The largest difference can be a value itself (0 against a salary): not when redacting.
            max_abs_diff: (cfg.redactor.is_none()
                && c.family == Family::Float
                && tally.changed_cells[i] > 0
                && !tally.non_numeric[i])
                .then_some(tally.max_abs[i]),
        })
        .collect::<Vec<_>>();
    let hints = hints(plan, &tally);
    let named = |v: &[u64]| -> BTreeMap<String, u64> {
        plan.columns
            .iter()
            .zip(v)
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c.name.clone(), *n))
            .collect()
    };
    DiffSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        encoding_version: ENCODING_VERSION,
        verdict,
        tier,
        left_rows: Some(lfp.rows),
        right_rows: Some(rfp.rows),
        only_left: tally.only_left,
        only_right: tally.only_right,
        changed_rows: tally.changed_rows,
        changed_cells: named(&tally.changed_cells),
        within_tolerance_rows: tally.within_rows,
        within_tolerance_cells: named(&tally.within_cells),
        duplicate_keys: PerSide {
            left: tally.dup_left,
            right: tally.dup_right,
        },
        null_keys: PerSide {
            left: tally.null_left,
            right: tally.null_right,
        },
        schema_changes: plan.changes.clone(),
        key: cfg.key.clone(),
        settings: Settings::of(cfg),
        columns,
        fingerprints: Some(FingerprintPair {
            left: FingerprintRecord::from(lfp),
            right: FingerprintRecord::from(rfp),
        }),
        left: side_summary(lds, ldigests),
        right: side_summary(rds, rdigests),
        samples: Samples {
            only_left: tally.samples_left.into_sorted(),
            only_right: tally.samples_right.into_sorted(),
            changed: tally.samples_changed.into_sorted(),
        },
        hints,
        redacted: cfg.redactor.is_some(),
        diff_out,
        spilled_bytes,
    }
}

/// The summary of two sides found byte-identical (tier 1): nothing was parsed.
pub(super) fn identical(
    lds: &Dataset,
    rds: &Dataset,
    cfg: &DiffConfig,
    lh: Vec<FileDigest>,
    rh: Vec<FileDigest>,
) -> DiffSummary {
    DiffSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        encoding_version: ENCODING_VERSION,
        verdict: Verdict::Identical,
        tier: Tier::Bytes,
        left_rows: None,
        right_rows: None,
        only_left: 0,
        only_right: 0,
        changed_rows: 0,
        changed_cells: BTreeMap::new(),
        within_tolerance_rows: 0,
        within_tolerance_cells: BTreeMap::new(),
        duplicate_keys: PerSide::default(),
        null_keys: PerSide::default(),
        schema_changes: Vec::new(),
        key: cfg.key.clone(),
        settings: Settings::of(cfg),
        columns: Vec::new(),
        fingerprints: None,
        left: side_summary(lds, lh),
        right: side_summary(rds, rh),
        samples: Samples::default(),
        hints: Vec::new(),
        redacted: cfg.redactor.is_some(),
        diff_out: None,
        spilled_bytes: 0,
    }
}

fn side_summary(ds: &Dataset, inputs: Vec<FileDigest>) -> SideSummary {
    SideSummary {
        url: ds.location.url.clone(),
        format: ds.format().to_string(),
        files: ds.files.len() as u64,
        bytes: ds.total_bytes(),
        inputs,
    }
}

/// Suggestions: a column that looks renamed, columns that differ in (nearly) every matched
/// row, and float columns whose differences are all tiny.
fn hints(plan: &Plan, tally: &Tally) -> Vec<Hint> {
    use crate::schema::SchemaChangeKind;
    let mut out = Vec::new();
    // One column only on the left and one only on the right with the same type: a rename?
    let only = |kind| {
        plan.changes
            .iter()
            .filter(move |c| c.kind == kind)
            .collect::<Vec<_>>()
    };
    for gone in only(SchemaChangeKind::OnlyLeft) {
        let candidates: Vec<_> = only(SchemaChangeKind::OnlyRight)
            .into_iter()
            .filter(|new| new.right_type == gone.left_type)
            .collect();
        if let [new] = candidates.as_slice() {
            out.push(Hint {
                kind: "renamed_column".into(),
                column: gone.column.clone(),
                suggestion: format!("--rename {}={}", gone.column, new.column),
                message: format!(
                    "`{}` is only on the left and `{}` only on the right, both {}: if it was renamed, map it with --rename {}={}",
                    gone.column,
                    new.column,
                    gone.left_type.as_deref().unwrap_or("?"),
                    gone.column,
                    new.column
                ),
            });
        }
    }
    for (i, c) in plan.columns.iter().enumerate() {
        let changed = tally.changed_cells[i];
        if changed == 0 {
            continue;
        }
        let tiny_floats =
            c.family == Family::Float && !tally.non_numeric[i] && tally.max_rel[i] <= 1e-6;
        if tiny_floats {
            let tol = round_up_1sig(tally.max_abs[i]);
            out.push(Hint {
                kind: "float_noise".into(),
                column: c.name.clone(),
                suggestion: format!("--tol {}=abs:{tol:e}", c.name),
                message: format!(
                    "every difference in `{}` is tiny (largest {:e}); --tol {}=abs:{tol:e} would absorb them",
                    c.name, tally.max_abs[i], c.name
                ),
            });
        } else if tally.matched_rows >= 3 && changed * 100 >= tally.matched_rows * 95 {
            out.push(Hint {
                kind: "volatile_column".into(),
                column: c.name.clone(),
                suggestion: format!("--ignore {}", c.name),
                message: format!(
                    "`{}` differs in {changed} of {} matched rows: likely volatile (a load timestamp, a run id); ignore it with --ignore {}",
                    c.name, tally.matched_rows, c.name
                ),
            });
        }
    }
    // Without a key no two rows are paired, so a tolerance has nothing to compare.
    let tolerant = plan.columns.iter().any(|c| c.tolerance.is_some());
    if plan.key.is_empty() && tolerant && (tally.only_left > 0 || tally.only_right > 0) {
        out.push(Hint {
            kind: "tolerance_needs_key".into(),
            column: String::new(),
            suggestion: "--key COLUMN".into(),
            message: "tolerances apply only to rows matched by key; without --key every differing row counts as added or removed".into(),
        });
    }
    out
}

/// Round up to one significant digit: 3.2e-10 → 4e-10.
fn round_up_1sig(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let exp = x.log10().floor();
    let unit = 10f64.powf(exp);
    let digit = (x / unit).ceil();
    let v = digit * unit;
    // Guard against the rounding of powf landing below x.
    if v < x {
        (digit + 1.0) * unit
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_of_suggested_tolerances() {
        assert_eq!(format!("{:e}", round_up_1sig(3.2e-10)), "4e-10");
        assert!(round_up_1sig(1e-9) >= 1e-9);
        assert!(round_up_1sig(7.77e-5) >= 7.77e-5);
    }
}
