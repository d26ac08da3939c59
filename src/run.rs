//! The scheduled job: plan the units, check each with the engine, record, emit events.
//!
//! [`run`] takes a validated inventory and an opened ledger. It plans ([`crate::plan`]), then
//! checks the units with bounded concurrency; each unit becomes one ledger record written with
//! a create-only put, and one `unit_checked` event. A unit that cannot be checked becomes a
//! record with verdict `error`; it never stops the others. Values of confidential and
//! restricted pipelines are redacted in everything the run writes (records, events, the
//! summary), restricted ones always.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;

use crate::config::DiffConfig;
use crate::diff::summary::DiffSummary;
use crate::error::{Error, Result};
use crate::events::{CredentialSources, Event, EventKind, EventSink, PipelineIdentity};
use crate::fingerprint::ENCODING_VERSION;
use crate::inventory::{Classification, Inventory, Partition, Pipeline};
use crate::ledger::record::{Counts, Inputs, SideInputs, Timings};
use crate::ledger::{Ledger, Record, ShardId, UnitVerdict, LEDGER_SCHEMA_VERSION};
use crate::plan::{self, MissingPartition, PipelineFailure, PlanOptions, Unit};
use crate::progress::NoProgress;
use crate::redact::{redacted_error, Redactor};
use crate::source::reader::{self, FileDigest};
use crate::source::{self, Dataset, Location};

/// Version of the run summary's JSON form.
pub const RUN_SCHEMA_VERSION: u32 = 1;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What to plan.
    pub plan: PlanOptions,
    /// Units checked at once.
    pub jobs: usize,
    /// The engine's base settings: the memory limit (shared by the jobs), spill folder, file
    /// concurrency and samples per kind.
    pub base: DiffConfig,
    /// Show values of confidential pipelines (restricted ones stay redacted).
    pub reveal_confidential: bool,
    /// This run's id.
    pub run_id: String,
    /// Added to the system clock for every time the run writes (records, events): zero, or
    /// the shift that makes a reproduced past run (`--now`) write the times it would have.
    pub clock_offset: chrono::Duration,
}

impl RunOptions {
    /// The run's clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }
}

/// What one unit came to.
#[derive(Debug, Clone, Serialize)]
pub struct UnitOutcome {
    /// The pipeline.
    pub pipeline: String,
    /// The partition.
    pub partition: Partition,
    /// The verdict.
    pub verdict: UnitVerdict,
    /// The pipeline's classification.
    pub classification: Option<Classification>,
    /// Whether values were redacted.
    pub redacted: bool,
    /// Row counts.
    pub counts: Counts,
    /// Column → rows where it differs beyond tolerance.
    pub changed_cells: BTreeMap<String, u64>,
    /// Schema changes that count as divergence.
    pub divergent_schema_changes: u64,
    /// Why the unit could not be checked, or why its record could not be written.
    pub error: Option<String>,
    /// The ledger record written.
    pub ledger_record: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Version of this form.
    pub schema_version: u32,
    /// The run.
    pub run_id: String,
    /// The cutover.
    pub cutover: String,
    /// The ledger.
    pub ledger: String,
    /// The shard.
    pub shard: ShardId,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: u64,
    /// Units checked per verdict.
    pub verdicts: BTreeMap<String, u64>,
    /// Every unit checked, by pipeline then partition.
    pub units: Vec<UnitOutcome>,
    /// Expected partitions on neither side.
    pub missing: Vec<MissingPartition>,
    /// Pipelines whose partitions could not be discovered.
    pub failed_pipelines: Vec<PipelineFailure>,
    /// Units the ledger already settles (not checked again).
    pub already_checked: u64,
    /// Pipelines being retired rather than moved.
    pub not_migrating: Vec<String>,
    /// The exit code: 0 all checked units at parity, 1 a divergence or a missing partition,
    /// 2 a unit or pipeline could not be checked or recorded.
    pub exit_code: u8,
}

impl RunSummary {
    fn exit_code(&self) -> u8 {
        let differs = !self.missing.is_empty()
            || self.units.iter().any(|u| {
                matches!(
                    u.verdict,
                    UnitVerdict::Diverged | UnitVerdict::MissingLegacy | UnitVerdict::MissingTarget
                )
            });
        let failed = !self.failed_pipelines.is_empty()
            || self
                .units
                .iter()
                .any(|u| u.verdict == UnitVerdict::Error || u.ledger_record.is_none());
        if differs {
            1
        } else if failed {
            2
        } else {
            0
        }
    }
}

fn event(opts: &RunOptions, kind: EventKind) -> Event {
    Event {
        schema_version: crate::events::EVENTS_SCHEMA_VERSION,
        time: opts.now(),
        run_id: opts.run_id.clone(),
        kind,
    }
}

/// Run the job: plan the units, announce the plan, check the units `--jobs` at a time, and sum
/// up.
pub async fn run(
    inv: &Inventory,
    ledger: &Ledger,
    opts: &RunOptions,
    events: &dyn EventSink,
) -> Result<RunSummary> {
    let started_at = opts.now();
    let clock = Instant::now();
    ledger.probe().await?;
    let plan = plan::plan(inv, ledger, &opts.plan).await?;
    announce(inv, ledger, opts, &plan, events);
    let units = check_units(inv, ledger, opts, &plan, events).await;
    let mut verdicts = BTreeMap::new();
    for u in &units {
        *verdicts.entry(u.verdict.as_str().to_string()).or_insert(0) += 1;
    }
    let mut summary = RunSummary {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: opts.run_id.clone(),
        cutover: inv.cutover.name.clone(),
        ledger: ledger.url().to_string(),
        shard: opts.plan.shard,
        started_at,
        duration_ms: 0,
        verdicts: verdicts.clone(),
        units,
        missing: plan.missing,
        failed_pipelines: plan.failures,
        already_checked: plan.already_checked,
        not_migrating: plan.not_migrating,
        exit_code: 0,
    };
    summary.exit_code = summary.exit_code();
    summary.duration_ms = clock.elapsed().as_millis() as u64;
    events.emit(&event(
        opts,
        EventKind::RunFinished {
            verdicts,
            missing: summary.missing.len() as u64,
            failed_pipelines: summary.failed_pipelines.len() as u64,
            exit_code: summary.exit_code,
            duration_ms: summary.duration_ms,
        },
    ));
    Ok(summary)
}

/// The run's start, and each pipeline that could not be planned and each partition missing, as
/// events.
fn announce(
    inv: &Inventory,
    ledger: &Ledger,
    opts: &RunOptions,
    plan: &plan::Plan,
    events: &dyn EventSink,
) {
    events.emit(&event(
        opts,
        EventKind::RunStarted {
            cutover: inv.cutover.name.clone(),
            inventory: inv.path.clone(),
            ledger: ledger.url().to_string(),
            ledger_credentials: ledger.location().credentials,
            shard: opts.plan.shard,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            units: plan.units.len() as u64,
            missing: plan.missing.len() as u64,
            already_checked: plan.already_checked,
        },
    ));
    let identity = |id: &str| {
        inv.pipeline(id)
            .map(PipelineIdentity::from)
            .unwrap_or_else(|| PipelineIdentity {
                id: id.to_string(),
                owner: None,
                classification: None,
                business_process: None,
                reads: Vec::new(),
                writes: Vec::new(),
            })
    };
    for f in &plan.failures {
        events.emit(&event(
            opts,
            EventKind::PipelineFailed {
                pipeline: identity(&f.pipeline),
                error: f.error.clone(),
            },
        ));
    }
    for m in &plan.missing {
        events.emit(&event(
            opts,
            EventKind::PartitionMissing {
                pipeline: identity(&m.pipeline),
                partition: m.partition,
            },
        ));
    }
}

/// Every planned unit checked, `--jobs` at a time, each with its share of the memory limit and
/// one redaction key for the whole run (equal values look equal across its units); in
/// pipeline and partition order.
async fn check_units(
    inv: &Inventory,
    ledger: &Ledger,
    opts: &RunOptions,
    plan: &plan::Plan,
    events: &dyn EventSink,
) -> Vec<UnitOutcome> {
    let jobs = opts.jobs.max(1);
    let mut base = opts.base.clone();
    base.memory_limit = (base.memory_limit / jobs as u64).max(16 << 20);
    let redactor = Redactor::from_env();
    let ctx = UnitContext {
        inv,
        ledger,
        opts,
        base: &base,
        redactor: &redactor,
        events,
    };
    let mut units: Vec<(usize, UnitOutcome)> = futures::stream::iter(plan.units.iter())
        .map(|u| {
            let ctx = &ctx;
            async move { (u.pipeline, ctx.check(u).await) }
        })
        .buffer_unordered(jobs)
        .collect()
        .await;
    units.sort_by_key(|(i, o)| (*i, o.partition));
    units.into_iter().map(|(_, o)| o).collect()
}

struct UnitContext<'a> {
    inv: &'a Inventory,
    ledger: &'a Ledger,
    opts: &'a RunOptions,
    base: &'a DiffConfig,
    redactor: &'a Redactor,
    events: &'a dyn EventSink,
}

/// What the engine part of a unit produced.
struct Checked {
    verdict: UnitVerdict,
    summary: Option<DiffSummary>,
    inputs: Inputs,
}

/// A side's listing; a partition folder with no data files (only markers) is a missing side.
async fn list_side(loc: &Option<Location>, cfg: &DiffConfig) -> Result<Option<Dataset>> {
    match loc {
        None => Ok(None),
        Some(loc) => match source::list(loc, cfg.input_format).await {
            Ok(ds) => Ok(Some(ds)),
            Err(Error::Empty { .. }) => Ok(None),
            Err(e) => Err(e),
        },
    }
}

/// Hash every file of the one side that exists, so the record proves what was there.
async fn hash_side(ds: &Dataset, concurrency: usize) -> Result<SideInputs> {
    let noop: reader::ByteCounter = Arc::new(|_| {});
    let files: Vec<FileDigest> = futures::stream::iter(ds.files.iter())
        .map(|f| {
            let noop = noop.clone();
            async move { reader::hash_file(&ds.location, f, &noop).await }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    Ok(SideInputs {
        url: ds.location.url.clone(),
        files,
    })
}

impl UnitContext<'_> {
    async fn check(&self, unit: &Unit) -> UnitOutcome {
        let p = &self.inv.pipelines[unit.pipeline];
        let started_at = self.opts.now();
        let clock = Instant::now();
        let redact = p.restricted() || (p.redacted_by_default() && !self.opts.reveal_confidential);
        let mut cfg = p.diff_config(self.base);
        cfg.redactor = redact.then(|| self.redactor.clone());
        let mut credentials = CredentialSources {
            ledger: Some(self.ledger.location().credentials),
            ..Default::default()
        };
        let checked = self.compare(unit, &cfg, &mut credentials).await;
        let (checked, error) = match checked {
            Ok(c) => (c, None),
            Err(e) => {
                let message = if redact {
                    redacted_error(&e, "because the pipeline's values are redacted")
                } else {
                    e.to_string()
                };
                (
                    Checked {
                        verdict: UnitVerdict::Error,
                        summary: None,
                        inputs: Inputs::default(),
                    },
                    Some(message),
                )
            }
        };
        let duration_ms = clock.elapsed().as_millis() as u64;
        let record = self.record(
            p,
            unit,
            &checked,
            error.clone(),
            started_at,
            duration_ms,
            redact,
        );
        let (ledger_record, error) = match self.ledger.append(&record).await {
            Ok(url) => (Some(url), error),
            Err(e) => (
                None,
                Some(format!("the ledger record could not be written: {e}")),
            ),
        };
        self.events.emit(&event(
            self.opts,
            EventKind::UnitChecked {
                pipeline: PipelineIdentity::from(p),
                partition: unit.partition,
                verdict: checked.verdict,
                credentials,
                inputs: record.inputs.clone(),
                ledger_record: ledger_record.clone(),
                error: error.clone(),
                duration_ms,
            },
        ));
        UnitOutcome {
            pipeline: p.id.clone(),
            partition: unit.partition,
            verdict: checked.verdict,
            classification: p.classification,
            redacted: redact,
            counts: record.counts.clone(),
            changed_cells: record.changed_cells.clone(),
            divergent_schema_changes: record.schema_changes.iter().filter(|c| c.divergent).count()
                as u64,
            error,
            ledger_record,
            duration_ms,
        }
    }

    async fn compare(
        &self,
        unit: &Unit,
        cfg: &DiffConfig,
        credentials: &mut CredentialSources,
    ) -> Result<Checked> {
        let stores = &self.inv.stores;
        let open = |u: &Option<String>| u.as_deref().map(|u| source::open_with(u, stores));
        let legacy = open(&unit.legacy).transpose()?;
        let target = open(&unit.target).transpose()?;
        credentials.legacy = legacy.as_ref().map(|l| l.credentials);
        credentials.target = target.as_ref().map(|l| l.credentials);
        let (lds, tds) = futures::try_join!(list_side(&legacy, cfg), list_side(&target, cfg))?;
        match (lds, tds) {
            (Some(l), Some(t)) => {
                let s = crate::diff::compare_datasets(&l, &t, cfg, Arc::new(NoProgress)).await?;
                let inputs = Inputs {
                    legacy: Some(SideInputs {
                        url: s.left.url.clone(),
                        files: s.left.inputs.clone(),
                    }),
                    target: Some(SideInputs {
                        url: s.right.url.clone(),
                        files: s.right.inputs.clone(),
                    }),
                };
                Ok(Checked {
                    verdict: s.verdict.into(),
                    summary: Some(s),
                    inputs,
                })
            }
            (Some(l), None) => Ok(Checked {
                verdict: UnitVerdict::MissingTarget,
                summary: None,
                inputs: Inputs {
                    legacy: Some(hash_side(&l, cfg.concurrency).await?),
                    target: None,
                },
            }),
            (None, Some(t)) => Ok(Checked {
                verdict: UnitVerdict::MissingLegacy,
                summary: None,
                inputs: Inputs {
                    legacy: None,
                    target: Some(hash_side(&t, cfg.concurrency).await?),
                },
            }),
            (None, None) => Err(Error::Invalid(format!(
                "partition {}: neither side has data files (deleted from both, or only markers and empty folders left)",
                unit.partition
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        p: &Pipeline,
        unit: &Unit,
        c: &Checked,
        error: Option<String>,
        started_at: DateTime<Utc>,
        duration_ms: u64,
        redacted: bool,
    ) -> Record {
        let s = c.summary.as_ref();
        let counts = s
            .map(|s| Counts {
                left_rows: s.left_rows,
                right_rows: s.right_rows,
                only_left: s.only_left,
                only_right: s.only_right,
                changed_rows: s.changed_rows,
                within_tolerance_rows: s.within_tolerance_rows,
                duplicate_keys: s.duplicate_keys,
                null_keys: s.null_keys,
            })
            .unwrap_or_default();
        Record {
            schema_version: LEDGER_SCHEMA_VERSION,
            cutover: self.inv.cutover.name.clone(),
            pipeline: p.id.clone(),
            partition: unit.partition,
            verdict: c.verdict,
            classification: p.classification,
            // The time the check began reading: what it saw is the data as of then.
            checked_at: started_at,
            run_id: self.opts.run_id.clone(),
            shard: self.opts.plan.shard,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            encoding_version: ENCODING_VERSION,
            config_digest: p.config_digest.clone(),
            tier: s.and_then(|s| {
                serde_json::to_value(s.tier)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
            }),
            counts,
            changed_cells: s.map(|s| s.changed_cells.clone()).unwrap_or_default(),
            within_tolerance_cells: s
                .map(|s| s.within_tolerance_cells.clone())
                .unwrap_or_default(),
            schema_changes: s.map(|s| s.schema_changes.clone()).unwrap_or_default(),
            samples: s.map(|s| s.samples.clone()).unwrap_or_default(),
            redacted,
            inputs: c.inputs.clone(),
            fingerprint: s.and_then(|s| s.fingerprints.clone()),
            error,
            timings: Timings {
                started_at,
                duration_ms,
            },
        }
    }
}
