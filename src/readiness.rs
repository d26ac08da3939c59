//! Readiness: where each pipeline stands against the retirement date, and the GO/NO-GO that
//! follows.
//!
//! Inputs are the inventory and the ledger's record *names* (one listing per pipeline: a name
//! carries partition, time and verdict), so a report over thousands of records costs one list
//! request per pipeline. Records themselves are read only for what a person must see: the
//! newest divergence of each pipeline and the check that blocks it now.
//!
//! Everything is computed as of a cutoff time: records written after it and partitions that
//! end after it do not exist for the report, so a report for a past date can be produced again
//! and says the same thing.
//!
//! The rules, per pipeline (each takes precedence over the ones after it):
//!
//! | state | when |
//! |---|---|
//! | `not_migrating` | `migrate = false`: being retired, out of scope for GO |
//! | `unowned` | no owner |
//! | `incomplete` | classification, reads, writes or business process missing |
//! | `blocked` | the newest checked partition diverged, is missing on a side, or errored |
//! | `stale` | never checked, no check for `stale_after`, or checks lag the cadence by more |
//! | `ready` | the streak has reached the required streak, and no settled partition after the newest check is unjudged |
//! | `on_track` | the streak can reach it by the retirement date at the pipeline's cadence (or has, with settled partitions still unjudged) |
//! | `at_risk` | it cannot |
//!
//! Only records made under the pipeline's current config digest, once the partition was
//! complete (`min_age` after its end), count, as for `parity run`.
//! The streak is the count of consecutive partitions with a parity verdict, walking back from
//! the newest checked partition; a partition with no record inside that walk is a gap in the
//! cadence and ends it. Settled partitions newer than the newest check are pending, not gaps:
//! they keep a pipeline from `ready`, and the stale rule covers a run that stopped.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::burnup::BurnUp;
use crate::diff::summary::{ChangedSample, SampleRow, Samples};
use crate::error::{Error, Result};
use crate::inventory::template::partitions_between;
use crate::inventory::{Cadence, Classification, Gap, Inventory, Partition, Pipeline};
use crate::ledger::record::{ranked_columns, Counts};
use crate::ledger::{newest_per_partition, Entry, Ledger, Record, UnitVerdict, DIGEST_PREFIX};
use crate::plan::newest_settled;
use crate::redact::Redactor;
use crate::schema::SchemaChange;

/// Version of the report's JSON form. 2: `states` counts the pipelines in scope only (they add
/// up to `in_scope`); `not_migrating` counts the ones out of it.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Above this many pipelines the report lists the whole ledger at once rather than each
/// pipeline's folder (`scripts/bench-ledger`, 200 pipelines × 90 days: 20 list requests in
/// all instead of 201).
const WHOLE_LISTING_FROM: usize = 16;

/// Partitions a timeline holds at most (the newest): two years of hourly partitions.
const MAX_TIMELINE: i32 = 17_520;

/// Pipelines listed (and records read) from the ledger at once.
const LIST_CONCURRENCY: usize = 16;

/// Where a pipeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Diverging, missing or erroring now.
    Blocked,
    /// Cannot reach the required streak by the retirement date.
    AtRisk,
    /// No check lately.
    Stale,
    /// No owner.
    Unowned,
    /// Inventory gaps.
    Incomplete,
    /// Can reach the required streak by the retirement date.
    OnTrack,
    /// The required streak is reached.
    Ready,
    /// Retired rather than migrated: out of scope.
    NotMigrating,
}

impl State {
    /// Every state, most urgent first.
    pub const ALL: [State; 8] = [
        State::Blocked,
        State::AtRisk,
        State::Stale,
        State::Unowned,
        State::Incomplete,
        State::OnTrack,
        State::Ready,
        State::NotMigrating,
    ];

    /// The name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::OnTrack => "on_track",
            State::AtRisk => "at_risk",
            State::Blocked => "blocked",
            State::Stale => "stale",
            State::Unowned => "unowned",
            State::Incomplete => "incomplete",
            State::NotMigrating => "not_migrating",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Every pipeline in scope is ready.
    #[serde(rename = "GO")]
    Go,
    /// At least one is not, or nothing is in scope.
    #[serde(rename = "NO-GO")]
    NoGo,
}

impl Decision {
    /// `GO` or `NO-GO`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Go => "GO",
            Decision::NoGo => "NO-GO",
        }
    }
}

/// One partition of a pipeline's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The partition.
    pub partition: Partition,
    /// The newest record's verdict; `None` when the partition was never checked.
    pub verdict: Option<UnitVerdict>,
}

/// A check a person should look at: the newest divergence, or what blocks a pipeline now.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The partition.
    pub partition: Partition,
    /// Its verdict.
    pub verdict: UnitVerdict,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
    /// The record's URL.
    pub record: String,
    /// Row counts.
    pub counts: Counts,
    /// Column → changed rows.
    pub changed_cells: BTreeMap<String, u64>,
    /// The columns with the most changed rows, most first (at most five).
    pub top_columns: Vec<String>,
    /// Schema changes.
    pub schema_changes: Vec<SchemaChange>,
    /// Sample rows, redacted where the pipeline's classification asks for it.
    pub samples: Samples,
    /// Whether the samples are redacted.
    pub redacted: bool,
    /// Why the check failed (verdict `error`).
    pub error: Option<String>,
}

/// One pipeline's readiness.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineReadiness {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner: Option<String>,
    /// Classification.
    pub classification: Option<Classification>,
    /// Business process.
    pub business_process: Option<String>,
    /// Cadence.
    pub cadence: Cadence,
    /// Whether it is being migrated.
    pub migrate: bool,
    /// The state.
    pub state: State,
    /// Why, in one sentence.
    pub reason: String,
    /// Consecutive parity partitions up to the newest checked one.
    pub streak: u32,
    /// The streak it needs.
    pub required_streak: u32,
    /// Partitions with a record in the timeline.
    pub checked_partitions: u64,
    /// Records made under earlier comparison settings (another config digest): not counted.
    pub earlier_config_records: u64,
    /// The newest checked partition.
    pub newest_partition: Option<Partition>,
    /// Its verdict.
    pub newest_verdict: Option<UnitVerdict>,
    /// The newest check of any partition.
    pub newest_check: Option<DateTime<Utc>>,
    /// The day the required streak is reached if every partition from now on is at parity
    /// (`None` once ready, or when not migrating).
    pub projected_ready: Option<NaiveDate>,
    /// The newest partition whose newest check diverged.
    pub newest_divergence: Option<Finding>,
    /// What blocks it now (the newest checked partition, when not at parity).
    pub blocking: Option<Finding>,
    /// Inventory gaps.
    pub gaps: Vec<Gap>,
    /// Every partition the cadence expects from the pipeline's start (or its first record) up
    /// to the newest settled one, oldest first.
    pub timeline: Vec<Cell>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Version of this form.
    pub schema_version: u32,
    /// The cutover.
    pub cutover: String,
    /// The inventory file.
    pub inventory: String,
    /// The ledger.
    pub ledger: String,
    /// The day the report is for.
    pub as_of: NaiveDate,
    /// Records written after this and partitions ending after it are ignored.
    pub cutoff: DateTime<Utc>,
    /// The retirement date.
    pub retirement_date: NaiveDate,
    /// Days from `as_of` to the retirement date (negative once it has passed).
    pub days_left: i64,
    /// GO or NO-GO.
    pub decision: Decision,
    /// Pipelines in scope for the decision (selected and being migrated).
    pub in_scope: u64,
    /// Pipelines in scope per state (every state a pipeline in scope can be in, zero
    /// included); they add up to `in_scope`.
    pub states: BTreeMap<&'static str, u64>,
    /// Selected pipelines out of scope: retired with the legacy platform, not migrated.
    pub not_migrating: u64,
    /// The pipelines in scope that are not ready, most urgent first.
    pub holding_back: Vec<String>,
    /// The pipelines, in inventory order.
    pub pipelines: Vec<PipelineReadiness>,
    /// Pipelines ready per day across the window, and the day the pace reaches all of them.
    pub burn_up: BurnUp,
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The report's day.
    pub as_of: NaiveDate,
    /// Records after this are ignored: the end of `as_of` for a past day, or now.
    pub cutoff: DateTime<Utc>,
    /// Only these pipelines (empty: all).
    pub pipelines: Vec<String>,
}

impl ReportOptions {
    /// A report for `as_of`: everything up to the end of that day, or up to now when the day
    /// is today. A past day's report is reproducible; a day that has not begun is refused.
    pub fn new(
        as_of: Option<NaiveDate>,
        now: DateTime<Utc>,
        pipelines: Vec<String>,
    ) -> Result<Self> {
        let day = as_of.unwrap_or_else(|| now.date_naive());
        if day > now.date_naive() {
            return Err(Error::Invalid(format!(
                "--as-of {day}: that day has not begun (today is {} UTC); a report says what the ledger holds, not what it will",
                now.date_naive()
            )));
        }
        let end_of_day = day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or(now);
        Ok(ReportOptions {
            as_of: day,
            cutoff: end_of_day.min(now),
            pipelines,
        })
    }
}

/// Build the report: list every selected pipeline's records, assess, then read the few
/// records a person must see.
pub async fn report(inv: &Inventory, ledger: &Ledger, opts: &ReportOptions) -> Result<Readiness> {
    for id in &opts.pipelines {
        if inv.pipeline(id).is_none() {
            return Err(Error::Invalid(format!(
                "{}: no pipeline `{id}` in the inventory",
                inv.path
            )));
        }
    }
    let selected: Vec<&Pipeline> = inv
        .pipelines
        .iter()
        .filter(|p| opts.pipelines.is_empty() || opts.pipelines.contains(&p.id))
        .collect();
    ledger.probe().await?;
    let mut by_index: Vec<Vec<Entry>> = vec![Vec::new(); selected.len()];
    if selected.len() > WHOLE_LISTING_FROM {
        // One recursive listing: a request per thousand records instead of one per pipeline.
        let mut all = ledger.all_entries().await?;
        for (i, p) in selected.iter().enumerate() {
            by_index[i] = all.remove(&p.id).unwrap_or_default();
        }
    } else {
        let listed: Vec<(usize, Vec<Entry>)> = futures::stream::iter(selected.iter().enumerate())
            .map(|(i, p)| async move { ledger.entries(&p.id).await.map(|e| (i, e)) })
            .buffer_unordered(LIST_CONCURRENCY)
            .try_collect()
            .await?;
        for (i, e) in listed {
            by_index[i] = e;
        }
    }
    let listed: Vec<(&Pipeline, Vec<Entry>)> = selected.iter().copied().zip(by_index).collect();
    let clock = std::time::Instant::now();
    let burn_up = crate::burnup::burn_up(inv, &listed, opts);
    tracing::info!(
        "burn-up: {} pipelines over {} days in {} ms",
        listed.len(),
        burn_up.days.len(),
        clock.elapsed().as_millis()
    );
    let assessed: Vec<(PipelineReadiness, Wanted)> = listed
        .iter()
        .map(|(p, entries)| assess(inv, p, entries, opts))
        .collect();
    let redactor = Redactor::from_env();
    let rows: Vec<PipelineReadiness> = futures::stream::iter(selected.iter().zip(assessed))
        .map(|(p, (row, wanted))| complete(ledger, p, row, wanted, &redactor))
        .buffered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
    let mut readiness = summarize(inv, ledger.url(), opts, rows);
    readiness.burn_up = burn_up;
    Ok(readiness)
}

/// Read the records a pipeline's row shows.
async fn complete(
    ledger: &Ledger,
    p: &Pipeline,
    mut row: PipelineReadiness,
    wanted: Wanted,
    redactor: &Redactor,
) -> Result<PipelineReadiness> {
    if let Some(e) = wanted.divergence {
        row.newest_divergence = Some(finding(ledger, &e, p, redactor).await?);
    }
    if let Some(e) = wanted.blocking {
        row.blocking = match (&row.newest_divergence, e.verdict) {
            (Some(d), UnitVerdict::Diverged) if d.partition == e.partition => Some(d.clone()),
            _ => Some(finding(ledger, &e, p, redactor).await?),
        };
    }
    Ok(row)
}

/// The records [`assess`] wants read.
#[derive(Debug, Default)]
pub struct Wanted {
    /// The newest divergence.
    pub divergence: Option<Entry>,
    /// The check that blocks the pipeline.
    pub blocking: Option<Entry>,
}

/// One pipeline's readiness from its record names (findings not yet read): the checks that
/// count, the timeline of its partitions, its streak, and the state they put it in.
pub fn assess(
    inv: &Inventory,
    p: &Pipeline,
    entries: &[Entry],
    opts: &ReportOptions,
) -> (PipelineReadiness, Wanted) {
    let cutoff = opts.cutoff;
    let Counted {
        newest,
        earlier,
        newest_check,
    } = counted(p, entries, cutoff);
    let verdicts: BTreeMap<Partition, &Entry> = newest.iter().map(|e| (e.partition, *e)).collect();
    let span = Span::of(p, &verdicts, cutoff);
    let timeline = span.timeline(p, &verdicts);
    let newest_checked = span.newest_checked;
    let streak = streak(&verdicts, &span, p.cadence);
    let projected_ready = projected_ready(p, &span, streak, cutoff);
    // Settled partitions after the newest check.
    let pending = match newest_checked {
        Some(n) if n < span.settled => timeline.iter().filter(|c| c.partition > n).count(),
        Some(_) => 0,
        None => timeline.len(),
    };
    let newest_verdict = newest_checked.and_then(|n| verdicts.get(&n).map(|e| e.verdict));
    let standing = Standing {
        newest_checked,
        newest_verdict,
        newest_check,
        earlier: earlier.len(),
        stale_lag: newest_checked.map(|n| span.settled.end() - n.end()),
        streak,
        pending,
        projected_ready,
    };
    let gaps = p.gaps();
    let (state, reason) = state_of(inv, p, &gaps, opts, &standing);
    let wanted = Wanted {
        divergence: newest
            .iter()
            .rev()
            .find(|e| e.verdict == UnitVerdict::Diverged)
            .map(|e| (*e).clone()),
        blocking: match state {
            State::Blocked => newest_checked.and_then(|n| verdicts.get(&n).map(|e| (*e).clone())),
            _ => None,
        },
    };
    let row = PipelineReadiness {
        id: p.id.clone(),
        owner: p.owner.clone(),
        classification: p.classification,
        business_process: p.business_process.clone(),
        cadence: p.cadence,
        migrate: p.migrate,
        state,
        reason,
        streak,
        required_streak: p.required_streak,
        checked_partitions: verdicts.len() as u64,
        earlier_config_records: earlier.len() as u64,
        newest_partition: newest_checked,
        newest_verdict,
        newest_check,
        projected_ready,
        newest_divergence: None,
        blocking: None,
        gaps,
        timeline,
    };
    (row, wanted)
}

/// The checks of a pipeline that count at the cutoff.
struct Counted<'a> {
    /// The newest counted check of each partition, not out of date.
    newest: Vec<&'a Entry>,
    /// Checks made under earlier comparison settings.
    earlier: Vec<&'a Entry>,
    /// When the newest counted check was made.
    newest_check: Option<DateTime<Utc>>,
}

/// What existed at the cutoff (records written before it, partitions ended by it, of this
/// cadence, from the pipeline's start), made once the partition was complete, under the
/// pipeline's current settings, and not made out of date by a newer check.
fn counted<'a>(p: &Pipeline, entries: &'a [Entry], cutoff: DateTime<Utc>) -> Counted<'a> {
    let entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.time().is_some_and(|t| t <= cutoff))
        // A check made before the partition was complete and aged proves nothing about it.
        .filter(|e| e.judged_complete(p.min_age))
        .collect();
    // Only checks made under the pipeline's current comparison settings count, as for `parity
    // run`: a tightened setting (strict types, a removed ignore) must not inherit the clean
    // streak of a looser one. The next run checks those partitions again.
    let digest = &p.config_digest[..DIGEST_PREFIX.min(p.config_digest.len())];
    let (entries, earlier): (Vec<&Entry>, Vec<&Entry>) =
        entries.into_iter().partition(|e| e.digest == digest);
    let entries: Vec<&Entry> = entries
        .into_iter()
        .filter(|e| e.partition.cadence() == p.cadence && e.partition.end() <= cutoff.naive_utc())
        .filter(|e| p.start.is_none_or(|s| e.partition.date >= s))
        .collect();
    let newest_check = entries.iter().filter_map(|e| e.time()).max();
    // A counted check whose files differ from those of a newer check of the same partition
    // (under other settings) is out of date: the data changed after it. The partition counts
    // as not checked until a run under the current settings checks it again.
    let newest = newest_per_partition(entries)
        .into_iter()
        .filter(|e| {
            !earlier.iter().any(|o| {
                o.partition == e.partition
                    && (&o.checked_at, &o.run_id) > (&e.checked_at, &e.run_id)
                    && e.files.is_some()
                    && o.files.is_some()
                    && o.files != e.files
            })
        })
        .collect();
    Counted {
        newest,
        earlier,
        newest_check,
    }
}

/// The partitions a pipeline's timeline spans.
struct Span {
    /// Its first partition: the pipeline's start, else its oldest checked partition (at most
    /// [`MAX_TIMELINE`] before the last).
    first: Option<Partition>,
    /// The newest partition complete and aged at the cutoff.
    settled: Partition,
    /// The newest checked partition.
    newest_checked: Option<Partition>,
    /// Its last partition: the newest settled or checked one.
    last: Partition,
}

impl Span {
    fn of(p: &Pipeline, verdicts: &BTreeMap<Partition, &Entry>, cutoff: DateTime<Utc>) -> Span {
        let cadence = p.cadence;
        let settled = newest_settled(cutoff, p.min_age, cadence);
        let first = match p.start {
            Some(s) => Some(Partition::at(
                s.and_hms_opt(0, 0, 0).unwrap_or_default(),
                cadence,
            )),
            None => verdicts.keys().next().copied(),
        };
        let newest_checked = verdicts.keys().next_back().copied();
        let last = match newest_checked {
            Some(n) if n > settled => n,
            _ => settled,
        };
        // A bogus far-past record must not make the timeline unbounded.
        let first = first.map(|f| {
            let floor = Partition::at(last.start() - cadence.step() * (MAX_TIMELINE - 1), cadence);
            f.max(floor)
        });
        Span {
            first,
            settled,
            newest_checked,
            last,
        }
    }

    /// Every partition of the span with its verdict (none for a pipeline not migrated).
    fn timeline(&self, p: &Pipeline, verdicts: &BTreeMap<Partition, &Entry>) -> Vec<Cell> {
        match self.first {
            Some(f) if f <= self.last && p.migrate => partitions_between(f, self.last)
                .into_iter()
                .map(|partition| Cell {
                    partition,
                    verdict: verdicts.get(&partition).map(|e| e.verdict),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Consecutive partitions at parity, walking back from the newest checked one.
fn streak(verdicts: &BTreeMap<Partition, &Entry>, span: &Span, cadence: Cadence) -> u32 {
    let mut streak = 0u32;
    if let Some(n) = span.newest_checked {
        let mut at = n;
        while verdicts.get(&at).is_some_and(|e| e.verdict.is_parity()) {
            streak += 1;
            if span.first.is_some_and(|f| at <= f) {
                break;
            }
            at = Partition::at(at.start() - cadence.step(), cadence);
        }
    }
    streak
}

/// If every partition from the newest checked one on is at parity: the day the partition that
/// completes the streak has aged enough to be checked (none once the streak is complete, or for
/// a pipeline not migrated).
fn projected_ready(
    p: &Pipeline,
    span: &Span,
    streak: u32,
    cutoff: DateTime<Utc>,
) -> Option<NaiveDate> {
    let (cadence, required) = (p.cadence, p.required_streak);
    if streak >= required || !p.migrate {
        return None;
    }
    let from = match span.newest_checked {
        Some(n) => n,
        None => match span.first {
            Some(f) => Partition::at(f.start() - cadence.step(), cadence),
            None => Partition::at(span.settled.start(), cadence),
        },
    };
    let need = i32::try_from(required - streak).unwrap_or(i32::MAX);
    let completing_end = from.end() + cadence.step() * need;
    let ready_at = (completing_end + p.min_age).max(cutoff.naive_utc());
    Some(ready_at.date())
}

/// What the state of a pipeline rests on.
struct Standing {
    newest_checked: Option<Partition>,
    newest_verdict: Option<UnitVerdict>,
    newest_check: Option<DateTime<Utc>>,
    /// Checks made under earlier settings.
    earlier: usize,
    /// How far the newest checked partition ends before the newest settled one.
    stale_lag: Option<Duration>,
    streak: u32,
    /// Settled partitions after the newest check.
    pending: usize,
    projected_ready: Option<NaiveDate>,
}

/// The state and the reason a person reads, by the rules in the module's table: each takes
/// precedence over the ones after it.
fn state_of(
    inv: &Inventory,
    p: &Pipeline,
    gaps: &[Gap],
    opts: &ReportOptions,
    s: &Standing,
) -> (State, String) {
    gate(p, gaps, s)
        .or_else(|| staleness(inv, opts.cutoff, s))
        .unwrap_or_else(|| progress(inv, p, opts, s))
}

/// Not migrating, unowned, incomplete or blocked.
fn gate(p: &Pipeline, gaps: &[Gap], s: &Standing) -> Option<(State, String)> {
    if !p.migrate {
        return Some((
            State::NotMigrating,
            "being retired with the legacy platform, not migrated".to_string(),
        ));
    }
    if p.owner.is_none() {
        return Some((
            State::Unowned,
            "no owner: nobody signs off this pipeline's migration".to_string(),
        ));
    }
    if !gaps.is_empty() {
        let fields: Vec<&str> = gaps.iter().map(|g| g.field.as_str()).collect();
        return Some((
            State::Incomplete,
            format!("inventory lacks {}", fields.join(", ")),
        ));
    }
    let (n, v) = (
        s.newest_checked?,
        s.newest_verdict.filter(|v| !v.is_parity())?,
    );
    let what = match v {
        UnitVerdict::Diverged => "diverged",
        UnitVerdict::MissingLegacy => "is missing on the legacy side",
        UnitVerdict::MissingTarget => "is missing on the target side",
        _ => "could not be checked",
    };
    Some((State::Blocked, format!("newest partition {n} {what}")))
}

/// Stale: never checked (under the current settings), no check for `stale_after`, or checks
/// lagging the cadence by more.
fn staleness(inv: &Inventory, cutoff: DateTime<Utc>, s: &Standing) -> Option<(State, String)> {
    let stale_after = inv.cutover.stale_after;
    let Some(t) = s.newest_check else {
        return Some((
            State::Stale,
            match s.earlier {
                0 => "never checked".to_string(),
                1 => "not checked since its comparison settings changed (1 earlier record does not count)".to_string(),
                n => format!("not checked since its comparison settings changed ({n} earlier records do not count)"),
            },
        ));
    };
    if cutoff - t > stale_after {
        return Some((
            State::Stale,
            format!(
                "no check since {} ({} ago; stale after {})",
                t.format("%Y-%m-%d %H:%M UTC"),
                human_duration(cutoff - t),
                human_duration(stale_after)
            ),
        ));
    }
    let lag = s.stale_lag.filter(|lag| *lag > stale_after)?;
    let n = s.newest_checked.map(|n| n.to_string()).unwrap_or_default();
    Some((
        State::Stale,
        format!(
            "newest checked partition is {n}, {} behind the cadence",
            human_duration(lag)
        ),
    ))
}

/// Ready, on track or at risk, from the streak against the required one and the retirement
/// date.
fn progress(inv: &Inventory, p: &Pipeline, opts: &ReportOptions, s: &Standing) -> (State, String) {
    let (streak, required, pending) = (s.streak, p.required_streak, s.pending);
    if streak >= required && pending > 0 {
        // Clean so far, but the newest settled partitions have not been judged: not ready
        // until they are.
        return (
            State::OnTrack,
            format!(
                "{streak} consecutive clean partitions (needs {required}), but the newest {pending} settled partition{} not checked yet",
                if pending == 1 { " is" } else { "s are" }
            ),
        );
    }
    if streak >= required {
        return (
            State::Ready,
            format!("{streak} consecutive clean partitions (needs {required})"),
        );
    }
    let need = required - streak;
    let ready = s.projected_ready.unwrap_or(opts.as_of);
    let plural = if need == 1 { "" } else { "s" };
    if ready <= inv.cutover.retirement_date {
        (
            State::OnTrack,
            format!("needs {need} more clean partition{plural}: ready {ready} at the earliest"),
        )
    } else {
        (
            State::AtRisk,
            format!(
                "needs {need} more clean partition{plural}: ready {ready} at the earliest, after the retirement date {}",
                inv.cutover.retirement_date
            ),
        )
    }
}

/// The overall decision from the pipelines' states.
pub fn summarize(
    inv: &Inventory,
    ledger: &str,
    opts: &ReportOptions,
    pipelines: Vec<PipelineReadiness>,
) -> Readiness {
    let mut scope: Vec<&PipelineReadiness> = pipelines.iter().filter(|p| p.migrate).collect();
    let in_scope = scope.len() as u64;
    let mut states: BTreeMap<&'static str, u64> = State::ALL
        .iter()
        .filter(|s| **s != State::NotMigrating)
        .map(|s| (s.as_str(), 0))
        .collect();
    for p in &scope {
        *states.entry(p.state.as_str()).or_default() += 1;
    }
    let not_migrating = pipelines.len() as u64 - in_scope;
    scope.sort_by_key(|p| p.state);
    let holding_back: Vec<String> = scope
        .iter()
        .filter(|p| p.state != State::Ready)
        .map(|p| p.id.clone())
        .collect();
    // An empty scope is not a GO: nothing was shown to be at parity.
    let decision = if in_scope > 0 && holding_back.is_empty() {
        Decision::Go
    } else {
        Decision::NoGo
    };
    Readiness {
        schema_version: REPORT_SCHEMA_VERSION,
        cutover: inv.cutover.name.clone(),
        inventory: inv.path.clone(),
        ledger: ledger.to_string(),
        as_of: opts.as_of,
        cutoff: opts.cutoff,
        retirement_date: inv.cutover.retirement_date,
        days_left: (inv.cutover.retirement_date - opts.as_of).num_days(),
        decision,
        in_scope,
        states,
        not_migrating,
        holding_back,
        pipelines,
        burn_up: BurnUp::default(),
    }
}

/// A record as it may be shown now: when the pipeline's classification asks for redaction
/// (`must_redact`) and the run that wrote the record did not redact, its samples are redacted
/// and its error text hidden (an error may quote data anywhere in its text).
pub fn shown_now(mut r: Record, must_redact: bool, redactor: &Redactor) -> Record {
    if must_redact && !r.redacted {
        r.samples = redact_samples(&r.samples, redactor);
        if r.error.is_some() {
            r.error = Some(
                "the check failed (details hidden because the pipeline's values are redacted; see the record)"
                    .to_string(),
            );
        }
        r.redacted = true;
    }
    r
}

/// Read one record into a finding, redacted as the pipeline's classification asks now.
async fn finding(ledger: &Ledger, e: &Entry, p: &Pipeline, redactor: &Redactor) -> Result<Finding> {
    let r = shown_now(ledger.read(e).await?, p.redacted_by_default(), redactor);
    let (samples, error) = (r.samples, r.error);
    let top_columns: Vec<String> = ranked_columns(&r.changed_cells)
        .into_iter()
        .take(5)
        .map(|(c, _)| c.to_string())
        .collect();
    Ok(Finding {
        partition: r.partition,
        verdict: r.verdict,
        checked_at: r.checked_at,
        record: e.url.clone(),
        counts: r.counts,
        top_columns,
        changed_cells: r.changed_cells,
        schema_changes: r.schema_changes,
        samples,
        redacted: r.redacted,
        error,
    })
}

fn redact_row(row: &SampleRow, r: &Redactor) -> SampleRow {
    row.iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map(|v| r.redact(v))))
        .collect()
}

fn redact_samples(s: &Samples, r: &Redactor) -> Samples {
    Samples {
        only_left: s.only_left.iter().map(|x| redact_row(x, r)).collect(),
        only_right: s.only_right.iter().map(|x| redact_row(x, r)).collect(),
        changed: s
            .changed
            .iter()
            .map(|c| ChangedSample {
                key: redact_row(&c.key, r),
                changes: c
                    .changes
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            crate::diff::summary::CellChange {
                                left: v.left.as_ref().map(|x| r.redact(x)),
                                right: v.right.as_ref().map(|x| r.redact(x)),
                            },
                        )
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A duration to the minute, as humantime writes it: `3days 4h`, `5h`, `20m`.
pub fn human_duration(d: Duration) -> String {
    let minutes = u64::try_from(d.num_minutes()).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(minutes * 60)).to_string()
}
