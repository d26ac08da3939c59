//! Planning a run: which units (pipeline × partition) to check.
//!
//! For each migrating pipeline the partitions present on either side are discovered from its
//! location templates (one listing per template level). A partition is a unit when it is
//! old enough to be complete (its end plus `min_age` has passed), inside the window, in this
//! run's shard, and not yet settled in the ledger under the current configuration. A
//! partition the cadence expects but neither side has is reported missing.
//!
//! Settled means: the newest record with the current config digest, made once the partition
//! was complete (`min_age` after its end), is a comparison verdict whose partition holds the
//! same data files on both sides as when it was checked, or says a side is missing and that
//! side is still missing. Errors are always retried, and a side that arrives late is checked.
//! `recheck` ignores the ledger.
//!
//! "The same data files" is judged from a recursive listing of each side: the names and sizes
//! must match the files digest in the record's name (a file added, deleted or resized), and a
//! file modified after the check's time is checked again unless its content is shown to be the
//! one the record read: the same ETag as the record lists, or (on local disk) the same blake3.
//! Only such files cost a record read and a hash; a fresh clone or a copy, whose files are all
//! newer than the checks a replayed demo made, is recognised without a new check.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::inventory::template::{partitions_between, Captures};
use crate::inventory::{Cadence, Gap, Inventory, Partition, Pipeline, Template};
use crate::ledger::{files_digest, Entry, Ledger, ShardId, UnitVerdict, DIGEST_PREFIX};
use crate::source::{self, StoreOptions};

/// Which partitions a run looks at.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Only this day (partitions still ageing included: the day was asked for by name).
    pub date: Option<NaiveDate>,
    /// From this day on.
    pub since: Option<NaiveDate>,
    /// Up to this day.
    pub until: Option<NaiveDate>,
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The window.
    pub window: Window,
    /// Only these pipelines (all when empty).
    pub pipelines: Vec<String>,
    /// Check again what the ledger says is settled.
    pub recheck: bool,
    /// This run's share.
    pub shard: ShardId,
    /// The time planning treats as now.
    pub now: DateTime<Utc>,
    /// Check settled partitions whose data files were modified after their check, unless each
    /// such file still holds the content the check read (its ETag, or its blake3 on local
    /// disk). Off when replaying a past run (`--now`): the files' real times cannot be compared
    /// with replayed ones. A file added, deleted or resized since the check is noticed either
    /// way (the files digest).
    pub detect_rewrites: bool,
}

/// One unit to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Index of the pipeline in the inventory.
    pub pipeline: usize,
    /// The partition.
    pub partition: Partition,
    /// The legacy location, when the legacy side has the partition.
    pub legacy: Option<String>,
    /// The target location, when the target side has the partition.
    pub target: Option<String>,
}

/// A partition the cadence expects but neither side has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingPartition {
    /// The pipeline.
    pub pipeline: String,
    /// The partition.
    pub partition: Partition,
}

/// A pipeline whose partitions could not be discovered.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFailure {
    /// The pipeline.
    pub pipeline: String,
    /// Why.
    pub error: String,
}

/// What a run will do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Units to check, by pipeline then partition.
    pub units: Vec<Unit>,
    /// Expected partitions on neither side.
    pub missing: Vec<MissingPartition>,
    /// Pipelines that could not be planned.
    pub failures: Vec<PipelineFailure>,
    /// Units skipped because the ledger already settles them.
    pub already_checked: u64,
    /// Pipelines being retired rather than moved (never checked).
    pub not_migrating: Vec<String>,
}

impl ShardId {
    /// Whether a unit belongs to this shard: a hash of pipeline and partition, so that N
    /// shards together cover every unit exactly once, whatever each one lists.
    pub fn owns(&self, pipeline: &str, partition: &Partition) -> bool {
        let key = format!("{pipeline}\n{partition}");
        xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }
}

/// The newest partition of `cadence` whose end is at least `min_age` before `now`.
pub fn newest_settled(now: DateTime<Utc>, min_age: Duration, cadence: Cadence) -> Partition {
    let t = now.naive_utc() - min_age;
    let current = Partition::at(t, cadence);
    Partition::at(current.start() - cadence.step(), cadence)
}

/// The store under a template's fixed base; `None` for a local base that does not exist (no
/// partition there yet).
fn open_base(template: &Template, stores: &StoreOptions) -> Result<Option<source::Location>> {
    if !template.base.contains("://") && !std::path::Path::new(&template.base).is_dir() {
        return Ok(None);
    }
    source::open_with(&template.base, stores).map(Some)
}

/// Discover the partitions present at a template.
pub async fn discover(
    template: &Template,
    cadence: Cadence,
    stores: &StoreOptions,
) -> Result<BTreeSet<Partition>> {
    let Some(loc) = open_base(template, stores)? else {
        return Ok(BTreeSet::new());
    };
    let mut frontier: Vec<(Path, Captures)> = vec![(loc.prefix.clone(), Captures::default())];
    for level in 0..template.depth() {
        let files = level + 1 == template.depth() && !template.is_prefix;
        let loc = &loc;
        let found: Vec<Result<Vec<(Path, Captures)>>> = futures::stream::iter(frontier)
            .map(|(prefix, caps)| async move {
                let listing = loc
                    .store
                    .list_with_delimiter(Some(&prefix))
                    .await
                    .map_err(|e| Error::store(loc.object_url(&prefix), "list", &e))?;
                let names: Vec<Path> = if files {
                    listing.objects.into_iter().map(|o| o.location).collect()
                } else {
                    listing.common_prefixes
                };
                Ok(names
                    .into_iter()
                    .filter_map(|path| {
                        let mut c = caps;
                        let name = path.filename()?.to_string();
                        template
                            .match_level(level, &name, &mut c)
                            .then_some((path, c))
                    })
                    .collect())
            })
            .buffer_unordered(16)
            .collect()
            .await;
        frontier = Vec::new();
        for f in found {
            frontier.extend(f?);
        }
    }
    Ok(frontier
        .into_iter()
        .filter_map(|(_, c)| c.partition(cadence))
        .collect())
}

/// The newest ledger entry per partition with the current digest, among checks made once the
/// partition was complete (a check of a young partition, forced with `--date`, settles nothing:
/// the next run checks it again).
fn settled_by_ledger<'a>(
    entries: &'a [Entry],
    digest: &str,
    min_age: chrono::Duration,
) -> BTreeMap<Partition, &'a Entry> {
    let prefix = &digest[..DIGEST_PREFIX.min(digest.len())];
    let mut newest: BTreeMap<Partition, &Entry> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.digest == prefix && e.judged_complete(min_age) && e.time().is_some())
    {
        let slot = newest.entry(e.partition).or_insert(e);
        if (&e.checked_at, &e.run_id) > (&slot.checked_at, &slot.run_id) {
            *slot = e;
        }
    }
    newest
}

/// One data file of a partition, as a side's listing shows it.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Path relative to the partition's location, as the engine lists it.
    pub relative: String,
    /// Path in the store.
    pub location: Path,
    /// Size in bytes.
    pub size: u64,
    /// Last modified.
    pub modified: DateTime<Utc>,
    /// ETag, where the store has one.
    pub e_tag: Option<String>,
}

/// What one side's listing says of a partition: its data files (hidden files and marker files
/// left out, as `source::listing` does).
#[derive(Debug, Default)]
pub struct Written {
    /// The data files.
    pub files: Vec<ListedFile>,
}

/// One side of a pipeline as listed for planning: its store, and each partition's files.
#[derive(Default)]
pub struct SideListing {
    /// The store under the template's base (`None` for a local base that does not exist).
    pub loc: Option<source::Location>,
    /// Each partition's files.
    pub partitions: BTreeMap<Partition, Written>,
}

impl SideListing {
    /// A partition's data files as (relative path, size), `None` when it has none.
    fn listed(&self, q: &Partition) -> Option<Vec<(&str, u64)>> {
        self.partitions
            .get(q)
            .filter(|w| !w.files.is_empty())
            .map(|w| {
                w.files
                    .iter()
                    .map(|f| (f.relative.as_str(), f.size))
                    .collect()
            })
    }

    /// The partition's data files modified after `t`.
    fn modified_after(&self, q: &Partition, t: DateTime<Utc>) -> Vec<&ListedFile> {
        self.partitions
            .get(q)
            .map(|w| w.files.iter().filter(|f| f.modified > t).collect())
            .unwrap_or_default()
    }
}

/// Each partition's [`Written`], from one recursive listing of the template's base (a request
/// per thousand files): a partition rewritten after its check, or one that gained or lost a
/// file, is checked again.
pub async fn last_written(
    template: &Template,
    cadence: Cadence,
    stores: &StoreOptions,
) -> Result<SideListing> {
    let Some(loc) = open_base(template, stores)? else {
        return Ok(SideListing::default());
    };
    let metas: Vec<object_store::ObjectMeta> = loc
        .store
        .list(Some(&loc.prefix))
        .try_collect()
        .await
        .map_err(|e| Error::store(&loc.url, "list", &e))?;
    let skip = loc.prefix.parts().count();
    let depth = template.depth();
    let mut out: BTreeMap<Partition, Written> = BTreeMap::new();
    for m in metas {
        let rel: Vec<String> = m
            .location
            .parts()
            .skip(skip)
            .map(|p| p.as_ref().to_string())
            .collect();
        if rel.len() < depth || (!template.is_prefix && rel.len() != depth) {
            continue;
        }
        let mut caps = Captures::default();
        if !(0..depth).all(|level| template.match_level(level, &rel[level], &mut caps)) {
            continue;
        }
        if let Some(p) = caps.partition(cadence) {
            let w = out.entry(p).or_default();
            // An object at the partition's own path is a one-file dataset named by its file
            // name; below it, the path under the partition, without hidden entries.
            let relative = if rel.len() == depth {
                rel.last().cloned()
            } else {
                let below = &rel[depth..];
                (!below.iter().any(|s| source::listing::hidden(s))).then(|| below.join("/"))
            };
            if let Some(relative) = relative {
                w.files.push(ListedFile {
                    relative,
                    location: m.location,
                    size: m.size,
                    modified: m.last_modified,
                    e_tag: m.e_tag,
                });
            }
        }
    }
    Ok(SideListing {
        loc: Some(loc),
        partitions: out,
    })
}

/// blake3 of a file on local disk, as hex; `None` for a file in any other store (hashing it
/// would mean fetching it, which costs as much as checking it again).
async fn local_blake3(loc: &source::Location, path: &Path) -> Result<Option<String>> {
    if loc.kind != source::StoreKind::Local {
        return Ok(None);
    }
    let Ok(file) = object_store::local::LocalFileSystem::new().path_to_filesystem(path) else {
        return Ok(None);
    };
    let url = loc.object_url(path);
    tokio::task::spawn_blocking(move || {
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_mmap_rayon(&file)
            .map_err(|e| Error::format(&url, format!("cannot read: {e}")))?;
        Ok(Some(hasher.finalize().to_hex().to_string()))
    })
    .await
    .map_err(crate::panics::joined)?
}

/// Whether every data file modified after a settled partition's check holds the content the
/// check read: the record (read here) lists a file of that path and size with the same ETag, or
/// the same blake3 when the file is on local disk. A file touched or copied keeps its content;
/// a file written with other bytes does not.
async fn same_content_as_checked(
    ledger: &Ledger,
    entry: &Entry,
    q: &Partition,
    checked: DateTime<Utc>,
    sides: [&SideListing; 2],
) -> Result<bool> {
    let record = ledger.read(entry).await?;
    for (side, recorded) in sides
        .into_iter()
        .zip([&record.inputs.legacy, &record.inputs.target])
    {
        for f in side.modified_after(q, checked) {
            let Some(read) = recorded
                .as_ref()
                .and_then(|r| r.files.iter().find(|r| r.path == f.relative))
            else {
                return Ok(false);
            };
            if read.size != f.size {
                return Ok(false);
            }
            if f.e_tag.is_some() && f.e_tag == read.e_tag {
                continue;
            }
            let hash = match &side.loc {
                Some(loc) => local_blake3(loc, &f.location).await?,
                None => None,
            };
            if hash.as_deref() != Some(read.blake3.as_str()) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn in_window(p: &Partition, w: &Window, start: Option<NaiveDate>) -> bool {
    w.date.is_none_or(|d| p.date == d)
        && w.since.is_none_or(|d| p.date >= d)
        && w.until.is_none_or(|d| p.date <= d)
        && start.is_none_or(|d| p.date >= d)
}

/// Plan one pipeline: discover its partitions, drop those the ledger settles, then name the
/// partitions the cadence expects but neither side has.
async fn plan_pipeline(
    index: usize,
    p: &Pipeline,
    inv: &Inventory,
    ledger: &Ledger,
    opts: &PlanOptions,
) -> Result<(Vec<Unit>, Vec<MissingPartition>, u64)> {
    let (legacy, target) = match (&p.legacy, &p.target) {
        (Some(l), Some(t)) => (l, t),
        _ => return Ok((Vec::new(), Vec::new(), 0)),
    };
    let (found_legacy, found_target, entries) = futures::try_join!(
        discover(legacy, p.cadence, &inv.stores),
        discover(target, p.cadence, &inv.stores),
        async {
            if opts.recheck {
                Ok(Vec::new())
            } else {
                ledger.entries(&p.id).await
            }
        }
    )?;
    // Nothing on either side and no start to expect partitions from: a mistyped location
    // would otherwise pass as "nothing to check".
    if found_legacy.is_empty() && found_target.is_empty() && p.start.is_none() {
        return Err(Error::Invalid(format!(
            "no partition found on either side ({} and {}): check the templates, or set `start` to expect partitions",
            legacy.base, target.base
        )));
    }
    let newest = newest_settled(opts.now, p.min_age, p.cadence);
    let keep = |q: &Partition| {
        in_window(q, &opts.window, p.start)
            && (opts.window.date.is_some() || *q <= newest)
            && opts.shard.owns(&p.id, q)
    };
    let present: BTreeSet<Partition> = found_legacy.union(&found_target).copied().collect();
    let candidates: Vec<Partition> = present.iter().copied().filter(|q| keep(q)).collect();
    let ledger_says = settled_by_ledger(&entries, &p.config_digest, p.min_age);
    // A settled partition whose files changed since its check is checked again: a backfill or
    // a rerun on either platform must not keep an old verdict.
    let sides = if ledger_says.is_empty() {
        [SideListing::default(), SideListing::default()]
    } else {
        let (l, t) = futures::try_join!(
            last_written(legacy, p.cadence, &inv.stores),
            last_written(target, p.cadence, &inv.stores)
        )?;
        [l, t]
    };
    let settled = still_settled(ledger, &candidates, &ledger_says, &sides, opts).await?;

    let mut units = Vec::new();
    for q in candidates.iter().filter(|q| !settled.contains(q)) {
        units.push(Unit {
            pipeline: index,
            partition: *q,
            legacy: found_legacy.contains(q).then(|| legacy.render(q)),
            target: found_target.contains(q).then(|| target.render(q)),
        });
    }
    // A partition checked before and gone from both sides now: checked again (an error, since
    // neither side has it) so that its old verdict no longer stands.
    for q in ledger_says
        .keys()
        .filter(|q| !present.contains(q) && keep(q))
    {
        units.push(Unit {
            pipeline: index,
            partition: *q,
            legacy: None,
            target: None,
        });
    }
    let missing = expected_missing(p, &present, newest, opts, &keep);
    Ok((units, missing, settled.len() as u64))
}

/// Files modified after a check are confirmed (a record read and, on local disk, a hash) this
/// many partitions at a time.
const CONFIRM_CONCURRENCY: usize = 8;

/// The candidates the ledger still settles: a parity or diverged verdict on the same files
/// (names and sizes from the record's name; files modified since, by content), or a side
/// missing that is still missing.
async fn still_settled(
    ledger: &Ledger,
    candidates: &[Partition],
    ledger_says: &BTreeMap<Partition, &Entry>,
    sides: &[SideListing; 2],
    opts: &PlanOptions,
) -> Result<BTreeSet<Partition>> {
    let [legacy, target] = sides;
    let mut settled = BTreeSet::new();
    let mut to_confirm = Vec::new();
    for q in candidates {
        let Some(e) = ledger_says.get(q) else {
            continue;
        };
        let Some(checked) = e.time() else {
            continue;
        };
        match e.verdict {
            v if v.is_parity() || v == UnitVerdict::Diverged => {
                // Files added, deleted or resized change the files digest (this needs no clock,
                // so a replay with `--now` compares it too).
                let files_now = files_digest(legacy.listed(q), target.listed(q));
                if e.files.as_ref().is_some_and(|f| *f != files_now) {
                    continue;
                }
                let modified = opts.detect_rewrites
                    && sides
                        .iter()
                        .any(|s| !s.modified_after(q, checked).is_empty());
                if modified {
                    to_confirm.push((*q, *e, checked));
                } else {
                    settled.insert(*q);
                }
            }
            // Still missing: no folder, or one with no data files (markers, hidden files).
            UnitVerdict::MissingLegacy if legacy.listed(q).is_none() => {
                settled.insert(*q);
            }
            UnitVerdict::MissingTarget if target.listed(q).is_none() => {
                settled.insert(*q);
            }
            _ => {}
        }
    }
    let confirmed: Vec<(Partition, bool)> = futures::stream::iter(to_confirm)
        .map(|(q, e, checked)| async move {
            same_content_as_checked(ledger, e, &q, checked, [legacy, target])
                .await
                .map(|same| (q, same))
        })
        .buffer_unordered(CONFIRM_CONCURRENCY)
        .try_collect()
        .await?;
    settled.extend(
        confirmed
            .into_iter()
            .filter(|(_, same)| *same)
            .map(|(q, _)| q),
    );
    Ok(settled)
}

/// The partitions the cadence expects, from the pipeline's start (or its first partition
/// present) to the newest settled partition inside the window, that neither side has.
fn expected_missing(
    p: &Pipeline,
    present: &BTreeSet<Partition>,
    newest: Partition,
    opts: &PlanOptions,
    keep: &dyn Fn(&Partition) -> bool,
) -> Vec<MissingPartition> {
    let first = p
        .start
        .map(|d| Partition::at(d.and_time(Default::default()), p.cadence))
        .or_else(|| present.first().copied());
    let mut last = newest;
    if let Some(d) = opts.window.until.or(opts.window.date) {
        let end_of_day = match d.succ_opt() {
            Some(next) => Partition::at(
                next.and_time(Default::default()) - p.cadence.step(),
                p.cadence,
            ),
            None => last,
        };
        last = last.min(end_of_day);
        if opts.window.date.is_some() {
            // A named day's partitions are expected once they have ended, not before.
            let current = Partition::at(opts.now.naive_utc(), p.cadence);
            let ended = Partition::at(current.start() - p.cadence.step(), p.cadence);
            last = end_of_day.min(ended);
        }
    }
    let Some(first) = first else {
        return Vec::new();
    };
    partitions_between(first, last)
        .into_iter()
        .filter(|q| keep(q) && !present.contains(q))
        .map(|q| MissingPartition {
            pipeline: p.id.clone(),
            partition: q,
        })
        .collect()
}

/// Locations of the inventory where no partition can be found: the template is wrong or the
/// platform never wrote there. A store that cannot be listed is a gap too, with its reason.
pub async fn location_gaps(inv: &Inventory) -> Vec<(String, Gap)> {
    let mut checks = Vec::new();
    for p in &inv.pipelines {
        for (side, t) in [("legacy", &p.legacy), ("target", &p.target)] {
            if let Some(t) = t {
                checks.push((p, side, t));
            }
        }
    }
    futures::stream::iter(checks)
        .map(|(p, side, t)| async move {
            let message = match discover(t, p.cadence, &inv.stores).await {
                Ok(found) if found.is_empty() => {
                    format!("no partition found at {} (template {})", t.base, t.raw)
                }
                Ok(_) => return None,
                Err(e) => format!("cannot list {}: {e}", t.base),
            };
            Some((
                p.id.clone(),
                Gap {
                    field: side.to_string(),
                    message,
                },
            ))
        })
        .buffered(8)
        .filter_map(|g| async move { g })
        .collect()
        .await
}

/// Plan a run over the inventory.
pub async fn plan(inv: &Inventory, ledger: &Ledger, opts: &PlanOptions) -> Result<Plan> {
    for id in &opts.pipelines {
        if inv.pipeline(id).is_none() {
            return Err(Error::Invalid(format!(
                "{}: no pipeline `{id}` in the inventory",
                inv.path
            )));
        }
    }
    let selected: Vec<(usize, &Pipeline)> = inv
        .pipelines
        .iter()
        .enumerate()
        .filter(|(_, p)| opts.pipelines.is_empty() || opts.pipelines.contains(&p.id))
        .collect();
    let mut plan = Plan::default();
    let results: Vec<_> = futures::stream::iter(selected.iter().filter(|(_, p)| p.migrate))
        .map(|(i, p)| async move { (*i, plan_pipeline(*i, p, inv, ledger, opts).await) })
        .buffered(4)
        .collect()
        .await;
    plan.not_migrating = selected
        .iter()
        .filter(|(_, p)| !p.migrate)
        .map(|(_, p)| p.id.clone())
        .collect();
    for (i, r) in results {
        match r {
            Ok((units, missing, already)) => {
                plan.units.extend(units);
                plan.missing.extend(missing);
                plan.already_checked += already;
            }
            Err(e) => plan.failures.push(PipelineFailure {
                pipeline: inv.pipelines[i].id.clone(),
                error: e.to_string(),
            }),
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let shards: Vec<ShardId> = (0..3).map(|i| ShardId { index: i, count: 3 }).collect();
        let start = Partition::day(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let mut per_shard = [0; 3];
        for p in ["a", "b", "orders_daily"] {
            for q in partitions_between(
                start,
                Partition::day(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()),
            ) {
                let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns(p, &q)).collect();
                assert_eq!(owners.len(), 1, "{p} {q}");
                per_shard[owners[0]] += 1;
            }
        }
        assert_eq!(per_shard.iter().sum::<i32>(), 270);
        assert!(per_shard.iter().all(|&n| n > 60), "{per_shard:?}");
        assert!("3/3".parse::<ShardId>().is_err());
        assert!("0/0".parse::<ShardId>().is_err());
        assert_eq!(
            "1/4".parse::<ShardId>().unwrap(),
            ShardId { index: 1, count: 4 }
        );
    }

    #[test]
    fn the_newest_settled_partition() {
        let now: DateTime<Utc> = "2026-11-25T03:30:00Z".parse().unwrap();
        let d = newest_settled(now, Duration::hours(2), Cadence::Daily);
        assert_eq!(d.to_string(), "2026-11-24");
        let d = newest_settled(now, Duration::hours(4), Cadence::Daily);
        assert_eq!(d.to_string(), "2026-11-23");
        let h = newest_settled(now, Duration::minutes(30), Cadence::Hourly);
        assert_eq!(h.to_string(), "2026-11-25T02");
    }
}
