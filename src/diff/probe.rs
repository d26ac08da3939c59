//! A look at the first rows of both sides before the fingerprint pass, to guess whether many
//! of their rows differ.
//!
//! When the rows do not fit the budget, the pass usually keeps only a compact index and reads
//! the differing rows again afterwards: cheap when few rows differ. When many rows differ (a
//! load timestamp or a run id not yet ignored, a timezone shift, a column changed in half the
//! rows) that second read decodes both sides a second time; keeping every row in the first
//! pass, spilled by key partition from its first batch, decodes them once.
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
use crate::fingerprint::logical::hash_at;
use crate::fingerprint::{hash_batch, Fingerprint};
use crate::schema::{Plan, Side};
use crate::source::parts::{self, Gathering};
use crate::source::{Dataset, FileFormat, StoreKind};

/// Rows read from the start of each side.
const PROBE_ROWS: usize = 65_536;

/// Keys the two looks must share for a guess.
const MIN_SHARED: u64 = 256;

/// Whether many rows differ: at least two in five of the keys both looks hold. One decode with
/// every row spilled costs about the same whatever the share of differing rows; an index and a
/// second read cost more the more rows differ. On the bench pairs (10M rows a side), one
/// decode took 6.2–6.6 s against 6.7–7.1 s when one row in two differs, and loses by far when
/// one in twelve does; the two cost lines cross near two in five.
pub(super) async fn many_differ(inputs: Inputs<'_>, plan: &Arc<Plan>) -> bool {
    let (left, right) = futures::join!(
        first_rows(inputs.left, Side::Left, inputs.lschema, plan),
        first_rows(inputs.right, Side::Right, inputs.rschema, plan)
    );
    let (Ok(Some(left)), Ok(Some(right))) = (left, right) else {
        return false;
    };
    let (shared, differing) = pair_up(&left, &right);
    tracing::debug!(
        "the first rows share {shared} keys, of which {differing} differ ({} and {} rows looked at)",
        left.len(),
        right.len()
    );
    shared >= MIN_SHARED && differing * 5 >= shared * 2
}

/// Key hash to row hash of the first rows of a side (`None` for a key seen twice).
type Look = HashMap<u128, Option<u128>>;

/// Keys both looks hold once, and of those, how many have different rows.
fn pair_up(left: &Look, right: &Look) -> (u64, u64) {
    let (mut shared, mut differing) = (0, 0);
    for (key, r) in right {
        if let (Some(Some(l)), Some(r)) = (left.get(key), r) {
            shared += 1;
            differing += u64::from(l != r);
        }
    }
    (shared, differing)
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
            let hashes = hash_batch(&projected, &plan.key, &mut Fingerprint::new(0))?;
            for i in 0..projected.num_rows() {
                if hashes.null_key.value(i) {
                    continue;
                }
                let row = hash_at(&hashes.row, i);
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

    fn look(rows: &[(u128, Option<u128>)]) -> Look {
        rows.iter().copied().collect()
    }

    #[test]
    fn only_keys_held_once_on_both_sides_are_paired() {
        let left = look(&[(1, Some(10)), (2, Some(20)), (3, None), (4, Some(40))]);
        let right = look(&[(1, Some(10)), (2, Some(21)), (3, Some(30)), (5, Some(50))]);
        assert_eq!(pair_up(&left, &right), (2, 1));
        let right = look(&[(1, Some(11)), (2, Some(21)), (4, None)]);
        assert_eq!(pair_up(&left, &right), (2, 2));
    }
}
