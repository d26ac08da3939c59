//! Tier 3 over two spools: partition by partition through the [`Matcher`] into one tally, and
//! every differing row into the diff file.

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
    let plan2 = plan.clone();
    let (tally, writer) =
        tokio::task::spawn_blocking(move || -> Result<(Tally, Option<output::DiffWriter>)> {
            let plan = plan2;
            let matcher = Matcher::new(
                &plan,
                redactor.as_ref(),
                writer.is_some(),
                duplicates.as_deref(),
            );
            let mut tally = Tally::new(plan.columns.len(), samples);
            let mut run = |l: &[RecordBatch], r: &[RecordBatch]| -> Result<()> {
                let rows = matcher.diff(l, r, &mut tally)?;
                if let Some(w) = writer.as_mut() {
                    w.write(&plan, l, r, &rows, redactor.as_ref())?;
                }
                Ok(())
            };
            match (left, right) {
                (Spooled::Memory(l), Spooled::Memory(r)) => run(&l, &r)?,
                (l, r) => {
                    let mut lparts = PartitionSource::new(l, partitions)?;
                    let mut rparts = PartitionSource::new(r, partitions)?;
                    let (mut reading, mut diffing) = (Duration::ZERO, Duration::ZERO);
                    for p in 0..partitions {
                        let started = Instant::now();
                        let lb = lparts.take(p)?;
                        let rb = rparts.take(p)?;
                        let read = Instant::now();
                        run(&lb, &rb)?;
                        reading += read - started;
                        diffing += read.elapsed();
                    }
                    tracing::debug!(
                        "{partitions} partitions: {reading:.2?} reading them back, {diffing:.2?} diffing"
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

/// Partitions of one side, whether it was spilled or stayed in memory.
enum PartitionSource {
    Memory(Vec<Vec<RecordBatch>>),
    Disk(Vec<Option<std::path::PathBuf>>),
}

impl PartitionSource {
    fn new(spooled: Spooled, partitions: usize) -> Result<Self> {
        Ok(match spooled {
            Spooled::Memory(batches) => {
                PartitionSource::Memory(spool::split(&batches, partitions)?)
            }
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
