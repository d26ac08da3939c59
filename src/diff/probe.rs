//! A look at the first rows of both sides before the fingerprint pass, to guess whether many
//! of their rows differ, and where.
//!
//! When the rows do not fit the budget, the pass usually keeps only a compact index and reads
//! the differing rows again afterwards: cheap when few rows differ. When many rows differ (a
//! load timestamp or a run id not yet ignored, a timezone shift, a column changed in half the
//! rows) that second read decodes both sides a second time; keeping every row in the first
//! pass, spilled by key partition from its first batch, decodes them once. When most of the
//! differing rows differ in one column alone, and that column's cells are settled by their
//! hashes (no tolerance, not float or decimal, one type on both sides), the index holds that
//! column apart instead: the pairs differing only there are counted from the index, and only
//! the rest are read again.
//!
//! The look reads the first [`PROBE_ROWS`] rows of each side's first file, hashes them as the
//! pass does, and pairs them by key. Only local Parquet files are looked at (a look at a remote
//! file would fetch its bytes twice). Sides written in the same order share most of those keys;
//! shuffled sides of a few million rows still share hundreds. Fewer than [`MIN_SHARED`] shared
//! keys, a file that is not Parquet, or any error: no guess, and the usual pass (which reports
//! the error if it is real).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use super::Inputs;
use crate::error::Result;
use crate::fingerprint::logical::{hash_at, hash_batch_cells};
use crate::fingerprint::Fingerprint;
use crate::schema::{Plan, Side};
use crate::source::parts::{self, Gathering};
use crate::source::{Dataset, FileFormat, StoreKind};

/// Rows read from the start of each side.
const PROBE_ROWS: usize = 65_536;

/// Keys the two looks must share for a guess.
const MIN_SHARED: u64 = 256;

/// What the look guesses of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Guess {
    /// Few differ, or no guess.
    Few,
    /// Many differ.
    Many,
    /// Many differ, most of them in this column alone (its place in the plan).
    InOneColumn(usize),
}

/// Whether many rows differ: at least two in five of the keys both looks hold. One decode with
/// every row spilled costs about the same whatever the share of differing rows; an index and a
/// second read cost more the more rows differ. On the bench pairs (10M rows a side), one
/// decode took 6.2–6.6 s against 6.7–7.1 s when one row in two differs, and loses by far when
/// one in twelve does; the two cost lines cross near two in five. When the pairs that differ
/// elsewhere than in one column that `apart_ok` accepts fall below that line, the guess is that
/// column.
pub(super) async fn guess(
    inputs: Inputs<'_>,
    plan: &Arc<Plan>,
    apart_ok: impl Fn(usize) -> bool,
) -> Guess {
    let (left, right) = futures::join!(
        first_rows(inputs.left, Side::Left, inputs.lschema, plan),
        first_rows(inputs.right, Side::Right, inputs.rschema, plan)
    );
    let (Ok(Some(left)), Ok(Some(right))) = (left, right) else {
        return Guess::Few;
    };
    let paired = pair_up(&left, &right, plan.columns.len());
    tracing::debug!(
        "the first rows share {} keys, of which {} differ ({} and {} rows looked at)",
        paired.shared,
        paired.differing,
        left.len(),
        right.len()
    );
    paired.guess(apart_ok)
}

/// Key hash to the cell hashes of the first rows of a side (`None` for a key seen twice).
type Look = HashMap<u128, Option<Vec<u64>>>;

/// What pairing the two looks by key found.
#[derive(Debug, PartialEq, Eq)]
struct Paired {
    /// Keys both looks hold once.
    shared: u64,
    /// Of those, how many have different rows.
    differing: u64,
    /// Per column, how many differ in that column alone.
    alone: Vec<u64>,
}

impl Paired {
    fn guess(&self, apart_ok: impl Fn(usize) -> bool) -> Guess {
        let many = |n: u64| self.shared >= MIN_SHARED && n * 5 >= self.shared * 2;
        if !many(self.differing) {
            return Guess::Few;
        }
        let best = (0..self.alone.len())
            .filter(|&c| apart_ok(c))
            .max_by_key(|&c| (self.alone[c], std::cmp::Reverse(c)));
        match best {
            Some(c) if !many(self.differing - self.alone[c]) => Guess::InOneColumn(c),
            _ => Guess::Many,
        }
    }
}

/// Pair the two looks by key: the keys both hold once, how many of those differ, and per column
/// how many differ there alone.
fn pair_up(left: &Look, right: &Look, columns: usize) -> Paired {
    let mut paired = Paired {
        shared: 0,
        differing: 0,
        alone: vec![0; columns],
    };
    for (key, r) in right {
        let (Some(Some(l)), Some(r)) = (left.get(key), r) else {
            continue;
        };
        paired.shared += 1;
        let mut differ = (0..columns).filter(|&c| l[c] != r[c]);
        match (differ.next(), differ.next()) {
            (None, _) => {}
            (Some(c), None) => {
                paired.differing += 1;
                paired.alone[c] += 1;
            }
            (Some(_), Some(_)) => paired.differing += 1,
        }
    }
    paired
}

/// The first rows of a side's first file, hashed as the fingerprint pass hashes them; `None`
/// when the side is not looked at.
async fn first_rows(
    ds: &Dataset,
    side: Side,
    schema: &SchemaRef,
    plan: &Arc<Plan>,
) -> Result<Option<Look>> {
    let Some(file) = ds.files.first() else {
        return Ok(None);
    };
    if ds.location.kind != StoreKind::Local || file.format.format != FileFormat::Parquet {
        return Ok(None);
    }
    let tmp = std::env::temp_dir();
    let gathering = Gathering {
        spill_over: 0,
        tmp_dir: &tmp,
    };
    let counted: crate::source::reader::ByteCounter = Arc::new(|_| {});
    let opened = parts::open_parquet(
        &ds.location,
        file,
        gathering,
        &counted,
        |_, _| false,
        Some(schema.clone()),
    )
    .await?;
    let Some((parquet, _)) = opened else {
        return Ok(None);
    };
    let (plan, file) = (plan.clone(), file.clone());
    let look = tokio::task::spawn_blocking(move || -> Result<Look> {
        let mut look = Look::new();
        for batch in parquet.first_rows(PROBE_ROWS)? {
            let projected = plan.project(side, &batch, &file.partition_values, &file.url)?;
            let (hashes, cells) =
                hash_batch_cells(&projected, &plan.key, &mut Fingerprint::new(0))?;
            for i in 0..projected.num_rows() {
                if hashes.null_key.value(i) {
                    continue;
                }
                let row = cells.iter().map(|c| c[i]).collect();
                look.entry(hash_at(&hashes.key, i))
                    .and_modify(|seen| *seen = None)
                    .or_insert(Some(row));
            }
        }
        Ok(look)
    })
    .await
    .map_err(crate::panics::joined)??;
    Ok(Some(look))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(rows: &[(u128, Option<[u64; 2]>)]) -> Look {
        rows.iter().map(|&(k, r)| (k, r.map(Vec::from))).collect()
    }

    fn paired(shared: u64, differing: u64, alone: [u64; 2]) -> Paired {
        Paired {
            shared,
            differing,
            alone: alone.to_vec(),
        }
    }

    #[test]
    fn only_keys_held_once_on_both_sides_are_paired() {
        let left = look(&[
            (1, Some([10, 1])),
            (2, Some([20, 2])),
            (3, None),
            (4, Some([40, 4])),
        ]);
        let right = look(&[
            (1, Some([10, 1])),
            (2, Some([21, 2])),
            (3, Some([30, 3])),
            (5, Some([50, 5])),
        ]);
        assert_eq!(pair_up(&left, &right, 2), paired(2, 1, [1, 0]));
        let right = look(&[(1, Some([11, 9])), (2, Some([20, 3])), (4, None)]);
        assert_eq!(pair_up(&left, &right, 2), paired(2, 2, [0, 1]));
    }

    #[test]
    fn a_column_is_held_apart_when_the_rest_differ_in_few_pairs() {
        let any = |_| true;
        // Fewer than two in five differ: the index as usual.
        assert_eq!(paired(1000, 399, [399, 0]).guess(any), Guess::Few);
        // Too few keys shared for a guess.
        assert_eq!(paired(255, 255, [255, 0]).guess(any), Guess::Few);
        // Every pair differs, all but 100 in column 1 alone.
        assert_eq!(
            paired(1000, 1000, [0, 900]).guess(any),
            Guess::InOneColumn(1)
        );
        // ...unless column 1 may not be held apart.
        assert_eq!(paired(1000, 1000, [0, 900]).guess(|c| c != 1), Guess::Many);
        // Half differ in column 0 alone, and 400 more elsewhere: the rest are still many.
        assert_eq!(paired(1000, 900, [500, 0]).guess(any), Guess::Many);
        assert_eq!(
            paired(1000, 899, [500, 0]).guess(any),
            Guess::InOneColumn(0)
        );
    }
}
