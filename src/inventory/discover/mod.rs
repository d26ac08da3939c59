//! Drafting an inventory from what both platforms have written: `parity inventory discover`.
//!
//! Each root (any store parity reads) is listed once, recursively, through the store layer.
//! Every object is placed by its path ([`layout::classify`]): under a dataset prefix, in a
//! partition, following a layout that becomes a template tail. Per side and prefix the layout
//! that holds the most partitions is the dataset's; files outside it are counted. Datasets are
//! then paired by their relative prefix; for each pair the cadence, the format, the first and
//! newest partitions and the gaps between them are worked out, and the newest partition both
//! sides hold is sampled (a footer, or a few rows: [`crate::source::sample`]) to suggest a key.
//! Datasets on one side only, and folders with no partition, are listed as such.
//!
//! The result, a [`Discovery`], is what the CLI prints as a table and what [`draft`] turns
//! into a draft `parity.toml`. Nothing here writes anything.

pub mod draft;
pub mod layout;

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::inventory::{Cadence, Partition, Template};
use crate::source::sample::{self, KeyKind, Sample, SampleBounds};
use crate::source::{self, FileFormat, Location};
use layout::Placed;

/// Version of the JSON form of a [`Discovery`].
pub const DISCOVERY_SCHEMA_VERSION: u32 = 1;

/// One side's dataset as found.
#[derive(Debug, Clone, Serialize)]
pub struct FoundDataset {
    /// Prefix relative to the root, without a trailing `/` (`""`: the root itself).
    pub prefix: String,
    /// The layout below the prefix, a template tail (`dt={date}/`).
    pub tail: String,
    /// The location template: root, prefix and tail.
    pub location: String,
    /// Daily or hourly, from the layout.
    pub cadence: Cadence,
    /// The files' format (`parquet`, `jsonl.gz`), when they share one.
    pub format: Option<String>,
    /// Files per format, `unknown` for names parity cannot read.
    pub formats: BTreeMap<String, u64>,
    /// Partitions present.
    pub partitions: u64,
    /// The first partition.
    pub first: Partition,
    /// The newest partition.
    pub newest: Partition,
    /// Partitions the cadence expects between the first and the newest that are absent.
    pub missing: u64,
    /// Data files in the layout.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Data files under the prefix that are not in the layout (another layout, no partition).
    pub outside_layout: u64,
    #[serde(skip)]
    present: BTreeSet<Partition>,
    #[serde(skip)]
    hour_folder: bool,
    #[serde(skip)]
    row_format: Option<FileFormat>,
}

impl FoundDataset {
    /// The partitions present.
    pub fn present(&self) -> &BTreeSet<Partition> {
        &self.present
    }

    /// The row format shared by every file, when there is one.
    pub fn row_format(&self) -> Option<FileFormat> {
        self.row_format
    }
}

/// A dataset found under both roots: a pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct FoundPair {
    /// A pipeline id made from the prefix.
    pub id: String,
    /// The relative prefix both sides share.
    pub dataset: String,
    /// The pipeline's cadence.
    pub cadence: Cadence,
    /// The format both sides share (absent when they differ: each side's extensions decide).
    pub format: Option<FileFormat>,
    /// The legacy side.
    pub legacy: FoundDataset,
    /// The target side.
    pub target: FoundDataset,
    /// Partitions on both sides.
    pub common: u64,
    /// The key suggestion, or why there is none.
    pub key: KeySuggestion,
    /// What a reader of the draft should know (one sentence each).
    pub notes: Vec<String>,
}

/// A column that could be the key, with what it rests on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeySuggestion {
    /// The suggested key column.
    pub column: Option<String>,
    /// Other columns that were just as unique and non-null.
    pub also: Vec<String>,
    /// What was read, or why nothing is suggested.
    pub evidence: String,
}

/// Folders holding data files but no partition.
#[derive(Debug, Clone, Serialize)]
pub struct Unpartitioned {
    /// `legacy` or `target`.
    pub side: &'static str,
    /// The folder relative to the root.
    pub folder: String,
    /// Data files directly in it.
    pub files: u64,
}

/// Everything `parity inventory discover` found.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// Version of this form.
    pub schema_version: u32,
    /// The legacy root, as given.
    pub legacy_root: String,
    /// The target root, as given.
    pub target_root: String,
    /// Objects listed under each root (`[legacy, target]`).
    pub objects_listed: [u64; 2],
    /// Datasets on both sides, by prefix.
    pub pairs: Vec<FoundPair>,
    /// Datasets on the legacy side only (not migrated yet, or being retired).
    pub legacy_only: Vec<FoundDataset>,
    /// Datasets on the target side only (new on the target platform).
    pub target_only: Vec<FoundDataset>,
    /// Folders of data with no partition (not drafted: a template needs one).
    pub unpartitioned: Vec<Unpartitioned>,
}

/// How discovery reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscoverOptions {
    /// How much of each side's newest common partition is read for the key suggestion.
    pub sample: SampleBounds,
}

/// List both roots, pair what they hold and sample each pair.
pub async fn discover(
    legacy_root: &str,
    target_root: &str,
    opts: &DiscoverOptions,
) -> Result<Discovery> {
    let (legacy_loc, target_loc) = (source::open(legacy_root)?, source::open(target_root)?);
    let (legacy, target) = futures::try_join!(
        list_side(&legacy_loc, legacy_root),
        list_side(&target_loc, target_root)
    )?;
    let objects_listed = [legacy.objects, target.objects];
    let mut unpartitioned = Vec::new();
    let mut legacy_sets = legacy.finish("legacy", &mut unpartitioned);
    let mut target_sets = target.finish("target", &mut unpartitioned);

    let prefixes: Vec<String> = legacy_sets
        .keys()
        .filter(|p| target_sets.contains_key(*p))
        .cloned()
        .collect();
    let mut ids = BTreeSet::new();
    let mut pairs = Vec::new();
    for prefix in prefixes {
        let (Some(l), Some(t)) = (legacy_sets.remove(&prefix), target_sets.remove(&prefix)) else {
            continue;
        };
        pairs.push(pair(prefix, l, t, &mut ids));
    }
    let keys: Vec<KeySuggestion> = futures::stream::iter(pairs.iter())
        .map(|p| suggest_key(p, opts.sample))
        .buffered(4)
        .collect()
        .await;
    for (p, k) in pairs.iter_mut().zip(keys) {
        p.key = k;
    }
    Ok(Discovery {
        schema_version: DISCOVERY_SCHEMA_VERSION,
        legacy_root: legacy_root.to_string(),
        target_root: target_root.to_string(),
        objects_listed,
        pairs,
        legacy_only: legacy_sets.into_values().collect(),
        target_only: target_sets.into_values().collect(),
        unpartitioned,
    })
}

/// What one layout of one prefix holds, while the listing goes on.
#[derive(Default)]
struct LayoutTally {
    present: BTreeSet<Partition>,
    files: u64,
    bytes: u64,
    formats: BTreeMap<String, u64>,
    row_formats: Vec<Option<FileFormat>>,
    hour_folder: bool,
}

/// One root's listing, aggregated by prefix and layout.
struct SideListing {
    root: String,
    objects: u64,
    layouts: BTreeMap<String, BTreeMap<String, LayoutTally>>,
    unplaced: BTreeMap<String, u64>,
}

/// List a root recursively, placing each object as it comes (memory grows with the partitions
/// found, not with the files).
async fn list_side(loc: &Location, root: &str) -> Result<SideListing> {
    let base = loc.prefix.as_ref().to_string();
    let prefix = (!base.is_empty()).then_some(&loc.prefix);
    let mut listing = SideListing {
        root: root.to_string(),
        objects: 0,
        layouts: BTreeMap::new(),
        unplaced: BTreeMap::new(),
    };
    let mut stream = loc.store.list(prefix);
    while let Some(meta) = stream
        .try_next()
        .await
        .map_err(|e| Error::store(&loc.url, "list", &e))?
    {
        let full = meta.location.as_ref();
        let relative = match full.strip_prefix(base.as_str()) {
            Some(rest) if base.is_empty() || rest.is_empty() || rest.starts_with('/') => {
                rest.trim_start_matches('/')
            }
            _ => continue,
        };
        listing.objects += 1;
        listing.place(relative, meta.size);
    }
    Ok(listing)
}

impl SideListing {
    fn place(&mut self, relative: &str, size: u64) {
        match layout::classify(relative) {
            Placed::Hidden => {}
            Placed::Partitioned {
                dataset,
                tail,
                hour_folder,
                partition,
            } => {
                let t = self
                    .layouts
                    .entry(dataset)
                    .or_default()
                    .entry(tail)
                    .or_default();
                t.present.insert(partition);
                t.files += 1;
                t.bytes += size;
                t.hour_folder = hour_folder;
                let name = relative.rsplit('/').next().unwrap_or_default();
                let format = source::format::detect(name, None);
                *t.formats
                    .entry(format.map_or_else(|| "unknown".to_string(), |f| f.to_string()))
                    .or_default() += 1;
                let row_format = format.map(|f| f.format);
                if !t.row_formats.contains(&row_format) {
                    t.row_formats.push(row_format);
                }
            }
            Placed::Unpartitioned { folder } => *self.unplaced.entry(folder).or_default() += 1,
        }
    }

    /// One dataset per prefix (its layout with the most partitions); folders without a
    /// partition go to `unpartitioned` unless they lie inside a dataset.
    fn finish(
        self,
        side: &'static str,
        unpartitioned: &mut Vec<Unpartitioned>,
    ) -> BTreeMap<String, FoundDataset> {
        let mut out = BTreeMap::new();
        for (prefix, layouts) in self.layouts {
            let all_files: u64 = layouts.values().map(|t| t.files).sum();
            let Some((tail, main)) = layouts.into_iter().max_by_key(|(tail, t)| {
                (t.present.len(), t.files, std::cmp::Reverse(tail.clone()))
            }) else {
                continue;
            };
            let location = join_location(&self.root, &prefix, &tail);
            let found = found_dataset(prefix.clone(), tail, location, main, all_files);
            out.insert(prefix, found);
        }
        for (folder, files) in self.unplaced {
            let inside = out
                .keys()
                .filter(|p| p.is_empty() || folder == **p || folder.starts_with(&format!("{p}/")))
                .max_by_key(|p| p.len())
                .cloned();
            match inside.and_then(|p| out.get_mut(&p)) {
                Some(d) => d.outside_layout += files,
                None => unpartitioned.push(Unpartitioned {
                    side,
                    folder,
                    files,
                }),
            }
        }
        out
    }
}

fn found_dataset(
    prefix: String,
    tail: String,
    location: String,
    t: LayoutTally,
    all_files: u64,
) -> FoundDataset {
    let first = *t.present.first().expect("a layout has a partition");
    let newest = *t.present.last().expect("a layout has a partition");
    let cadence = layout::cadence_of(&tail);
    let format = (t.formats.len() == 1)
        .then(|| t.formats.keys().next().cloned())
        .flatten()
        .filter(|f| f != "unknown");
    let row_format = match t.row_formats.len() {
        1 => t.row_formats[0],
        _ => None,
    };
    FoundDataset {
        prefix,
        location,
        cadence,
        format,
        formats: t.formats,
        partitions: t.present.len() as u64,
        first,
        newest,
        missing: expected_between(first, newest) - t.present.len() as u64,
        files: t.files,
        bytes: t.bytes,
        outside_layout: all_files - t.files,
        present: t.present,
        hour_folder: t.hour_folder,
        row_format,
        tail,
    }
}

/// Partitions of the cadence from `first` to `last`, both included.
fn expected_between(first: Partition, last: Partition) -> u64 {
    let span = last.start() - first.start();
    let steps = match first.cadence() {
        Cadence::Daily => span.num_days(),
        Cadence::Hourly => span.num_hours(),
    };
    steps.max(0) as u64 + 1
}

/// A root, a prefix and a tail joined with single slashes.
pub fn join_location(root: &str, prefix: &str, tail: &str) -> String {
    let mut out = root.trim_end_matches('/').to_string();
    for part in [prefix, tail] {
        if !part.is_empty() {
            out.push('/');
            out.push_str(part);
        }
    }
    if tail.is_empty() {
        out.push('/');
    }
    out
}

/// A pipeline id from a prefix: its characters outside `A-Z a-z 0-9 _ -` become `_`, unique
/// among the ids given so far.
fn pipeline_id(prefix: &str, taken: &mut BTreeSet<String>) -> String {
    let mut id: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .chars()
        .take(120)
        .collect();
    if id.is_empty() {
        id = "dataset".into();
    }
    let mut candidate = id.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{id}_{n}");
        n += 1;
    }
    candidate
}

/// Pair two sides' datasets of one prefix: a common cadence (an hourly side with hour folders
/// is read a day at a time when the other side is daily) and format.
fn pair(
    prefix: String,
    mut legacy: FoundDataset,
    mut target: FoundDataset,
    ids: &mut BTreeSet<String>,
) -> FoundPair {
    let mut notes = Vec::new();
    if legacy.cadence != target.cadence {
        for (name, side) in [("legacy", &mut legacy), ("target", &mut target)] {
            if side.cadence == Cadence::Hourly && side.hour_folder {
                let root_and_prefix = side
                    .location
                    .strip_suffix(side.tail.as_str())
                    .unwrap_or(&side.location)
                    .to_string();
                side.tail = layout::daily_tail(&side.tail);
                side.location = format!("{root_and_prefix}{}", side.tail);
                side.present = side
                    .present
                    .iter()
                    .map(|p| Partition::day(p.date))
                    .collect();
                side.cadence = Cadence::Daily;
                side.partitions = side.present.len() as u64;
                side.first = Partition::day(side.first.date);
                side.newest = Partition::day(side.newest.date);
                side.missing = expected_between(side.first, side.newest) - side.partitions;
                side.hour_folder = false;
                notes.push(format!(
                    "{name} writes a folder per hour, the other side one per day: compared a day at a time (an hour folder written `key=HH` is a column on the {name} side only)"
                ));
            }
        }
    }
    let cadence = if legacy.cadence == target.cadence {
        legacy.cadence
    } else {
        notes.push(
            "the two sides' layouts name different cadences: fix the templates by hand".into(),
        );
        Cadence::Daily
    };
    let format = match (legacy.row_format, target.row_format) {
        (Some(a), Some(b)) if a == b => Some(a),
        _ => None,
    };
    if format.is_none() {
        notes.push(format!(
            "formats differ (legacy {}, target {}): each side's file extensions decide",
            formats_text(&legacy),
            formats_text(&target)
        ));
    }
    for side in [&legacy, &target] {
        if side.outside_layout > 0 {
            notes.push(format!(
                "{} data files under {} are outside its layout {} and are not compared",
                side.outside_layout,
                join_location("", &side.prefix, ""),
                side.tail
            ));
        }
    }
    let common = legacy.present.intersection(&target.present).count() as u64;
    FoundPair {
        id: pipeline_id(&prefix, ids),
        dataset: prefix,
        cadence,
        format,
        legacy,
        target,
        common,
        key: KeySuggestion::default(),
        notes,
    }
}

fn formats_text(d: &FoundDataset) -> String {
    d.formats.keys().cloned().collect::<Vec<_>>().join(" and ")
}

/// The key suggestion of a pair, from the newest partition both sides hold.
async fn suggest_key(p: &FoundPair, bounds: SampleBounds) -> KeySuggestion {
    let none = |evidence: String| KeySuggestion {
        evidence,
        ..Default::default()
    };
    if p.cadence != p.legacy.cadence || p.cadence != p.target.cadence {
        return none("not sampled: the layouts need fixing first".into());
    }
    let Some(partition) = p
        .legacy
        .present
        .intersection(&p.target.present)
        .last()
        .copied()
    else {
        return none("not sampled: no partition is on both sides".into());
    };
    let (legacy, target) = futures::join!(
        sample_side(&p.legacy, p.cadence, partition, bounds),
        sample_side(&p.target, p.cadence, partition, bounds)
    );
    let (legacy, target) = match (legacy, target) {
        (Ok(l), Ok(t)) => (l, t),
        (Err(e), _) | (_, Err(e)) => return none(format!("not sampled: {e}")),
    };
    choose_key(&legacy, &target, partition)
}

async fn sample_side(
    d: &FoundDataset,
    cadence: Cadence,
    partition: Partition,
    bounds: SampleBounds,
) -> Result<Sample> {
    let template = Template::parse(&d.location, &d.location, cadence).map_err(Error::Invalid)?;
    let url = template.render(&partition);
    let loc = source::open(&url)?;
    let dataset = source::list(&loc, None).await?;
    sample::head(&dataset, bounds).await
}

/// A key suggestion from both sides' samples: a column unique and non-null on both, an
/// integer or text column before others, a name such as `id` or `…_id` first.
fn choose_key(legacy: &Sample, target: &Sample, partition: Partition) -> KeySuggestion {
    let evidence = format!(
        "read in {partition}: legacy {}, target {}",
        side_evidence(legacy),
        side_evidence(target)
    );
    if legacy.rows_read < 2 || target.rows_read < 2 {
        return KeySuggestion {
            evidence: format!("too few rows to judge; {evidence}"),
            ..Default::default()
        };
    }
    let mut candidates: Vec<(u8, KeyKind, usize, &str)> = legacy
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.unique_non_null(legacy.rows_read))
        .filter(|(_, c)| {
            target
                .columns
                .iter()
                .any(|t| t.name == c.name && t.unique_non_null(target.rows_read))
        })
        .map(|(i, c)| {
            let kind = match c.kind {
                KeyKind::Integer | KeyKind::Text => KeyKind::Integer,
                other => other,
            };
            (u8::from(!id_like(&c.name)), kind, i, c.name.as_str())
        })
        .collect();
    candidates.sort();
    let mut names = candidates.into_iter().map(|(.., n)| n.to_string());
    match names.next() {
        Some(column) => KeySuggestion {
            column: Some(column),
            also: names.collect(),
            evidence: format!("unique and non-null in what was {evidence}"),
        },
        None => KeySuggestion {
            column: None,
            also: Vec::new(),
            evidence: format!(
                "no single column is unique and non-null on both sides (a composite key may be needed); {evidence}"
            ),
        },
    }
}

fn side_evidence(s: &Sample) -> String {
    match &s.skipped {
        Some(why) => format!("no rows ({why})"),
        None => {
            let mut text = s.describe();
            if s.rows_in_first_file.is_some() {
                text.push_str(", nulls from the first file's Parquet statistics");
            }
            text
        }
    }
}

/// `id`, `…_id`, `…Id`, `…_key`, `uuid`: names that usually identify a row.
fn id_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || lower == "key"
        || lower.ends_with("_id")
        || lower.ends_with("_key")
        || lower.ends_with("uuid")
        || (name.ends_with("Id") && name.len() > 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(pipeline_id("sales/orders", &mut taken), "sales_orders");
        assert_eq!(pipeline_id("sales.orders", &mut taken), "sales_orders_2");
        assert_eq!(pipeline_id("", &mut taken), "dataset");
        assert_eq!(pipeline_id("ünï/x", &mut taken), "n__x");
    }

    #[test]
    fn locations_join_with_single_slashes() {
        assert_eq!(
            join_location("s3://b/legacy/", "orders", "dt={date}/"),
            "s3://b/legacy/orders/dt={date}/"
        );
        assert_eq!(
            join_location("/srv/l", "", "dt={date}/"),
            "/srv/l/dt={date}/"
        );
        assert_eq!(join_location("", "a/b", ""), "/a/b/");
    }

    #[test]
    fn the_expected_partitions_count_both_ends() {
        let p = |s: &str| s.parse::<Partition>().unwrap();
        assert_eq!(expected_between(p("2026-11-01"), p("2026-11-10")), 10);
        assert_eq!(expected_between(p("2026-11-09T00"), p("2026-11-10T23")), 48);
    }
}
