//! Audit events: what a run did, as JSON lines for a SIEM.
//!
//! A run emits `run_started`, one `unit_checked` per unit (the pipeline's identity and
//! classification, which credential source each store used — never a secret —, the inputs
//! read with their hashes, the ledger record written), `partition_missing` for a partition
//! the cadence expects on neither side, `pipeline_failed` when a pipeline's partitions could
//! not be discovered, and `run_finished`. Every event carries `schema_version`, `time` and
//! `run_id`. The run hands events to an [`EventSink`]; where they go is the caller's choice.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::inventory::{Classification, Partition, Pipeline};
use crate::ledger::record::Inputs;
use crate::ledger::{ShardId, UnitVerdict};
use crate::source::CredentialSource;

/// Version of the events' JSON form.
pub const EVENTS_SCHEMA_VERSION: u32 = 1;

/// Who a pipeline is, as events and lineage name it.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineIdentity {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner: Option<String>,
    /// Classification.
    pub classification: Option<Classification>,
    /// Business process.
    pub business_process: Option<String>,
    /// Systems read.
    pub reads: Vec<String>,
    /// Systems written.
    pub writes: Vec<String>,
}

impl From<&Pipeline> for PipelineIdentity {
    fn from(p: &Pipeline) -> Self {
        PipelineIdentity {
            id: p.id.clone(),
            owner: p.owner.clone(),
            classification: p.classification,
            business_process: p.business_process.clone(),
            reads: p.reads.clone(),
            writes: p.writes.clone(),
        }
    }
}

/// Credential sources of the stores a unit touched.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CredentialSources {
    /// The legacy side's store.
    pub legacy: Option<CredentialSource>,
    /// The target side's store.
    pub target: Option<CredentialSource>,
    /// The ledger's store.
    pub ledger: Option<CredentialSource>,
}

/// One audit event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A run began.
    RunStarted {
        /// The cutover.
        cutover: String,
        /// The inventory file.
        inventory: String,
        /// The ledger's URL.
        ledger: String,
        /// The ledger store's credential source.
        ledger_credentials: CredentialSource,
        /// This run's shard.
        shard: ShardId,
        /// parity's version.
        tool_version: String,
        /// Units planned.
        units: u64,
        /// Expected partitions on neither side.
        missing: u64,
        /// Units the ledger already settles.
        already_checked: u64,
    },
    /// A unit was checked and recorded.
    UnitChecked {
        /// The pipeline.
        pipeline: PipelineIdentity,
        /// The partition.
        partition: Partition,
        /// The verdict.
        verdict: UnitVerdict,
        /// Credential sources used.
        credentials: CredentialSources,
        /// The inputs read, with their hashes.
        inputs: Inputs,
        /// The ledger record written (absent if writing it failed).
        ledger_record: Option<String>,
        /// Why the unit could not be checked (scrubbed of values for classified pipelines).
        error: Option<String>,
        /// How long the check took.
        duration_ms: u64,
    },
    /// A partition the cadence expects is on neither side.
    PartitionMissing {
        /// The pipeline.
        pipeline: PipelineIdentity,
        /// The partition.
        partition: Partition,
    },
    /// A pipeline's partitions could not be discovered.
    PipelineFailed {
        /// The pipeline.
        pipeline: PipelineIdentity,
        /// Why.
        error: String,
    },
    /// The run ended.
    RunFinished {
        /// Units checked, by verdict.
        verdicts: BTreeMap<String, u64>,
        /// Expected partitions on neither side.
        missing: u64,
        /// Pipelines that failed to plan.
        failed_pipelines: u64,
        /// The process exit code the run maps to.
        exit_code: u8,
        /// How long the run took.
        duration_ms: u64,
    },
}

/// An event with its envelope.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Version of this form.
    pub schema_version: u32,
    /// When.
    pub time: DateTime<Utc>,
    /// The run.
    pub run_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Receives events; called from the run's tasks.
pub trait EventSink: Send + Sync {
    /// One event.
    fn emit(&self, event: &Event);
}

/// Drops events.
#[derive(Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: &Event) {}
}

/// Writes each event as one JSON line and flushes it, so a crash loses no finished event.
pub struct JsonLines {
    out: Mutex<Box<dyn Write + Send>>,
    failed: Mutex<Option<std::io::Error>>,
}

impl JsonLines {
    /// Events to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        JsonLines {
            out: Mutex::new(Box::new(out)),
            failed: Mutex::new(None),
        }
    }

    /// The first write error, if any (the run goes on; the caller reports it at the end).
    pub fn take_error(&self) -> Option<std::io::Error> {
        self.failed.lock().ok()?.take()
    }
}

impl EventSink for JsonLines {
    fn emit(&self, event: &Event) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        let result = match self.out.lock() {
            Ok(mut out) => out.write_all(&line).and_then(|_| out.flush()),
            Err(_) => return,
        };
        if let Err(e) = result {
            if let Ok(mut slot) = self.failed.lock() {
                slot.get_or_insert(e);
            }
        }
    }
}
