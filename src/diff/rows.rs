//! Tier 3 over two spools: partition by partition through the [`Matcher`] into one tally, and
//! every differing row into the diff file.

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

/// Rows kept in memory up to this many (both sides) are diffed as one partition; more are
/// split by partition first, as spilled rows are: a partition of millions of rows spread over
/// gigabytes is looked up at random (10 M rows a side held under `--memory-limit 8GiB`: 10.7 s
/// diffed as one, 4.1 s split into 16 partitions, the split included).
const ONE_GO_ROWS: usize = 500_000;

fn in_one_go(left: &[RecordBatch], right: &[RecordBatch]) -> bool {
    left.iter()
        .chain(right)
        .map(RecordBatch::num_rows)
        .sum::<usize>()
        <= ONE_GO_ROWS
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
