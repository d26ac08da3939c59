//! The incident question, answered from the inventory and the ledger alone: which pipelines
//! read from a source in a window, which partitions they produced, and where they write.
//!
//! A source matches a pipeline's `reads` entry exactly (case-insensitive), or by prefix when
//! the query ends with `*` (`postgres.sales.*`).

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::Result;
use crate::events::PipelineIdentity;
use crate::inventory::{Inventory, Partition, Pipeline};
use crate::ledger::{newest_per_partition, Ledger, UnitVerdict};

/// One partition a pipeline produced in the window, as its newest check saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ProducedPartition {
    /// The partition.
    pub partition: Partition,
    /// The newest verdict.
    pub verdict: UnitVerdict,
    /// When it was checked.
    pub checked_at: String,
    /// The record.
    pub ledger_record: String,
}

/// A pipeline that read the source.
#[derive(Debug, Clone, Serialize)]
pub struct LineageEntry {
    /// Who it is, what it reads and writes.
    pub pipeline: PipelineIdentity,
    /// Whether it is being migrated.
    pub migrate: bool,
    /// Where the legacy platform writes it.
    pub legacy: Option<String>,
    /// Where the target platform writes it.
    pub target: Option<String>,
    /// Partitions in the window with a ledger record.
    pub partitions: Vec<ProducedPartition>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    /// The source asked about.
    pub source: String,
    /// The window's first instant.
    pub since: DateTime<Utc>,
    /// The pipelines that read it.
    pub pipelines: Vec<LineageEntry>,
}

fn reads(p: &Pipeline, source: &str) -> bool {
    let q = source.to_lowercase();
    p.reads.iter().any(|r| {
        let r = r.to_lowercase();
        match q.strip_suffix('*') {
            Some(prefix) => r.starts_with(prefix),
            None => r == q,
        }
    })
}

/// Which pipelines read `source` in the `window` before `now`, and what they produced.
pub async fn lineage(
    inv: &Inventory,
    ledger: &Ledger,
    source: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<Lineage> {
    let since = now - window;
    let matching: Vec<&Pipeline> = inv.pipelines.iter().filter(|p| reads(p, source)).collect();
    let pipelines = futures::stream::iter(matching)
        .map(|p| async move {
            let entries = ledger.entries(&p.id).await?;
            let in_window: Vec<_> = entries
                .into_iter()
                .filter(|e| e.partition.end() > since.naive_utc())
                .filter(|e| e.partition.start() <= now.naive_utc())
                .collect();
            let partitions: Vec<ProducedPartition> = newest_per_partition(in_window)
                .into_iter()
                .map(|e| ProducedPartition {
                    partition: e.partition,
                    verdict: e.verdict,
                    checked_at: e.checked_at,
                    ledger_record: e.url,
                })
                .collect();
            Ok::<_, crate::Error>(LineageEntry {
                pipeline: PipelineIdentity::from(p),
                migrate: p.migrate,
                legacy: p.legacy.as_ref().map(|t| t.raw.clone()),
                target: p.target.as_ref().map(|t| t.raw.clone()),
                partitions,
            })
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(Lineage {
        source: source.to_string(),
        since,
        pipelines,
    })
}
