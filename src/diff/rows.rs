//! Tier 3 over two spools: partition by partition through the [`Matcher`] into one tally, and
//! every differing row into the diff file.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use super::matcher::{Matcher, Tally};
use super::output;
use super::spool::{self, Spooled};
use super::subset::HashSet64;
use super::summary::DiffOutSummary;
use crate::config::DiffConfig;
use crate::error::Result;
use crate::fingerprint::logical::hash_at;
use crate::schema::Plan;

/// Diff the kept rows of both sides. `duplicates` holds the keys duplicated in the whole
/// tables when the spools hold only the differing rows.
pub(super) async fn diff_rows(
    plan: Arc<Plan>,
    left: Spooled,
    right: Spooled,
    cfg: &DiffConfig,
    partitions: usize,
    duplicates: Option<Arc<HashSet64>>,
) -> Result<(Tally, Option<DiffOutSummary>)> {
    let mut writer = match &cfg.diff_out {
        Some(url) => Some(output::DiffWriter::create(
            url,
            &plan,
            cfg.redactor.is_some(),
        )?),
        None => None,
    };
    let redactor = cfg.redactor.clone();
    let samples = cfg.samples;
    let words_budget = usize::try_from(cfg.memory_limit / 8).unwrap_or(usize::MAX);
    let plan2 = plan.clone();
    let (tally, writer) =
        tokio::task::spawn_blocking(move || -> Result<(Tally, Option<output::DiffWriter>)> {
            let plan = plan2;
            let matcher = Matcher::new(
                &plan,
                redactor.as_ref(),
                writer.is_some(),
                duplicates.as_deref(),
            )
            .words_within(words_budget);
            let mut tally = Tally::new(plan.columns.len(), samples);
            let mut run = |l: &[RecordBatch], r: &[RecordBatch]| -> Result<()> {
                let rows = matcher.diff(l, r, &mut tally)?;
                if let Some(w) = writer.as_mut() {
                    w.write(&plan, l, r, &rows, redactor.as_ref())?;
                }
                Ok(())
            };
            match (left, right) {
                (Spooled::Memory(l), Spooled::Memory(r)) if in_one_go(&l, &r) => run(&l, &r)?,
                (l, r) => {
                    let _held = crate::allocator::hold_freed_pages();
                    // Rows held in memory are split by partition, both sides at once.
                    let (lparts, rparts) = std::thread::scope(|scope| {
                        let left = scope.spawn(|| PartitionSource::new(l, partitions));
                        let right = PartitionSource::new(r, partitions);
                        (left.join().expect("partition split thread"), right)
                    });
                    let (lparts, rparts) = (lparts?, rparts?);
                    let (mut waiting, mut diffing) = (Duration::ZERO, Duration::ZERO);
                    std::thread::scope(|scope| -> Result<()> {
                        let pairs = read_ahead(scope, lparts, rparts, partitions);
                        loop {
                            let started = Instant::now();
                            let Ok(pair) = pairs.recv() else { break };
                            let (lb, rb) = pair?;
                            let read = Instant::now();
                            run(&lb, &rb)?;
                            waiting += read - started;
                            diffing += read.elapsed();
                        }
                        Ok(())
                    })?;
                    tracing::debug!(
                        "{partitions} partitions: {waiting:.2?} waiting for them to be read back, {diffing:.2?} diffing"
                    );
                }
            }
            Ok((tally, writer))
        })
        .await
        .map_err(crate::panics::joined)??;

    let out = match writer {
        Some(w) => {
            let (url, rows) = w.finish().await?;
            Some(DiffOutSummary { url, rows })
        }
        None => None,
    };
    Ok((tally, out))
}

/// Rows kept in memory up to this many (both sides) are diffed as one partition: the 1.56M
/// differing rows of the bench's few-differences pair diff in 0.29–0.32 s as one, 0.39–0.41 s
/// split.
const ONE_GO_ROWS: usize = 2_000_000;

/// Keys of the left side's first rows looked up on the right by [`differing_share`].
const LOOKED_AT: usize = 4096;

/// From this share of differing pairs among the keys looked at, rows kept in memory are split.
const SPLIT_SHARE: f64 = 0.25;

/// Whether rows kept in memory are diffed as one partition, or split by key partition first
/// (copied once), as spilled rows are. A partition of millions of rows spread over gigabytes
/// costs little while its pairs are equal (their row hashes say so) but is looked up at random
/// for every pair that differs: 10 M rows a side under `--memory-limit 8GiB` with every pair
/// differing took 10.7 s diffed as one and 4.1 s split into 16 partitions, the split included;
/// with 8% of rows differing, 2.0 s as one and 2.6–3.0 s split.
fn in_one_go(left: &[RecordBatch], right: &[RecordBatch]) -> bool {
    let rows: usize = left.iter().chain(right).map(RecordBatch::num_rows).sum();
    rows <= ONE_GO_ROWS || differing_share(left, right) < SPLIT_SHARE
}

/// The share of pairs whose rows differ among the left side's first [`LOOKED_AT`] keys found on
/// the right (zero when none is): one read of the right side's key hashes.
fn differing_share(left: &[RecordBatch], right: &[RecordBatch]) -> f64 {
    let mut first: HashMap<u128, u128> = HashMap::with_capacity(LOOKED_AT);
    'batches: for b in left {
        let (keys, nulls) = (spool::key_hashes(b), spool::null_keys(b));
        // Rows kept in memory are hashed; were they not, splitting is the safe choice.
        let Some(hashes) = spool::row_hashes(b) else {
            return 1.0;
        };
        for row in 0..b.num_rows() {
            if first.len() == LOOKED_AT {
                break 'batches;
            }
            if !nulls.value(row) {
                first.insert(hash_at(keys, row), hash_at(hashes, row));
            }
        }
    }
    let (mut matched, mut differing) = (0usize, 0usize);
    for b in right {
        let keys = spool::key_hashes(b);
        let Some(hashes) = spool::row_hashes(b) else {
            return 1.0;
        };
        for row in 0..b.num_rows() {
            if let Some(&h) = first.get(&hash_at(keys, row)) {
                matched += 1;
                differing += usize::from(h != hash_at(hashes, row));
            }
        }
    }
    if matched == 0 {
        0.0
    } else {
        differing as f64 / matched as f64
    }
}

/// Both sides' partitions in order, read on a thread of their own one partition ahead of the
/// diff, so reading partition p + 1 back from disk overlaps diffing partition p. The channel
/// holds nothing: at most the partition being diffed and the one being read are in memory.
/// The reader stops at the first error (sent on) or when the receiver is gone.
fn read_ahead<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    mut lparts: PartitionSource,
    mut rparts: PartitionSource,
    partitions: usize,
) -> Receiver<Result<(Vec<RecordBatch>, Vec<RecordBatch>)>> {
    let (tx, rx) = sync_channel(0);
    scope.spawn(move || {
        for p in 0..partitions {
            let pair = lparts.take(p).and_then(|l| Ok((l, rparts.take(p)?)));
            let failed = pair.is_err();
            if tx.send(pair).is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// Partitions of one side, whether it was spilled or stayed in memory.
enum PartitionSource {
    Memory(Vec<Vec<RecordBatch>>),
    Disk(Vec<Option<std::path::PathBuf>>),
}

impl PartitionSource {
    fn new(spooled: Spooled, partitions: usize) -> Result<Self> {
        Ok(match spooled {
            Spooled::Memory(batches) => PartitionSource::Memory(spool::split(batches, partitions)?),
            Spooled::Disk { files, .. } => PartitionSource::Disk(files),
        })
    }

    fn take(&mut self, p: usize) -> Result<Vec<RecordBatch>> {
        match self {
            PartitionSource::Memory(parts) => Ok(std::mem::take(&mut parts[p])),
            PartitionSource::Disk(files) => match files[p].take() {
                Some(path) => {
                    let batches = spool::read_partition(&path)?;
                    let _ = std::fs::remove_file(&path);
                    Ok(batches)
                }
                None => Ok(Vec::new()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::logical::RowHashes;
    use arrow::array::{ArrayRef, BooleanArray, FixedSizeBinaryArray, UInt32Array};
    use arrow::datatypes::{DataType, Field, Schema};

    /// A spooled batch of rows (key hash, row hash, null key).
    fn spooled(rows: &[(u128, u128, bool)]) -> RecordBatch {
        let fixed = |v: Vec<u128>| {
            FixedSizeBinaryArray::try_from_iter(v.into_iter().map(u128::to_le_bytes)).unwrap()
        };
        let hashes = RowHashes {
            key: fixed(rows.iter().map(|r| r.0).collect()),
            row: fixed(rows.iter().map(|r| r.1).collect()),
            null_key: BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        };
        let values: ArrayRef = Arc::new(UInt32Array::from_iter_values(0..rows.len() as u32));
        let batch = RecordBatch::try_from_iter([("v", values)]).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::UInt32, false)]));
        spool::attach(&spool::spooled_schema(&schema), &batch, hashes).unwrap()
    }

    #[test]
    fn the_share_of_differing_pairs_is_read_from_the_row_hashes_of_the_first_keys() {
        // Ten left keys, one of them null; on the right seven of them (in two batches), three
        // with another row hash, and keys the left does not have.
        let left: Vec<_> = (0..10u128).map(|k| (k, k + 100, k == 9)).collect();
        let right = [
            spooled(&[
                (0, 100, false),
                (1, 999, false),
                (2, 102, false),
                (50, 1, false),
            ]),
            spooled(&[
                (3, 998, false),
                (4, 104, false),
                (5, 105, false),
                (6, 997, false),
            ]),
        ];
        let share = differing_share(&[spooled(&left)], &right);
        assert_eq!(share, 3.0 / 7.0);
        // A null key on the left is not looked up, even when the right holds its hash.
        let with_null = [spooled(&[(9, 0, false)])];
        assert_eq!(differing_share(&[spooled(&left)], &with_null), 0.0);
        // No key in common: no pair to compare.
        assert_eq!(
            differing_share(&[spooled(&left)], &[spooled(&[(77, 0, false)])]),
            0.0
        );
    }
}
