//! The comparison engine: two sides in, one [`DiffSummary`] out.
//!
//! [`compare`] runs the three tiers in order and stops at the first that decides:
//!
//! 1. **bytes** — when both sides list the same relative paths with the same sizes, every file
//!    is streamed through blake3 (no parsing); all hashes equal is `identical`;
//! 2. **fingerprint** — both sides are streamed, decoded, projected onto the plan's columns and
//!    hashed row by row; equal logical fingerprints are `equivalent`. The hashed batches are kept
//!    in a [`spool`] (in memory, or spilled to disk by key-hash partition) for tier 3;
//! 3. **rows** — only when fingerprints differ: [`matcher`] diffs partition by partition and the
//!    result is `within_tolerance` or `diverged`, with counts, samples and hints.
//!
//! A side that could not be read completely is an error, never a verdict.

pub mod matcher;
pub mod output;
pub mod spool;
pub mod subset;
pub mod summary;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};

use crate::config::{DiffConfig, RowStrategy};
use crate::error::{Error, Result};
use crate::fingerprint::{hash_batch, Family, Fingerprint, FingerprintRecord, ENCODING_VERSION};
use crate::progress::Progress;
use crate::schema::{plan, with_partition_columns, Plan, Side};
use crate::source::parts::{self, Gathering, Job, ParquetFile};
use crate::source::reader::{self, ByteCounter, FileDigest};
use crate::source::typing;
use crate::source::{self, Dataset, FileFormat};
use matcher::{Matcher, Tally};
use spool::{Spool, Spooled};
use subset::{HashIndex, RowPicker, Selection};
use summary::*;
pub use summary::{DiffSummary, Verdict};

/// Everything read from one side in tiers 2 and 3.
struct SideRead {
    fingerprint: Fingerprint,
    digests: Vec<FileDigest>,
    /// The hashed rows, when they were kept for tier 3.
    spooled: Option<Spooled>,
    /// The compact row index, when only that was kept.
    index: Option<HashIndex>,
    spilled: u64,
    /// Local Parquet files kept open for a later pass, by file number (see [`max_kept_open`]).
    open: Vec<Option<Arc<ParquetFile>>>,
}

/// How many local Parquet files a side may keep open between passes, so the second reads the
/// same files without hashing them again; a side with more opens and hashes them again. At
/// most 256, and at most a 32nd of the process's open-file limit: several diffs may run at once
/// (`parity run --jobs`), each with two sides.
fn max_kept_open() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) only writes the struct it is given, which lives for the call.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    let soft = if known { limit.rlim_cur } else { 1024 };
    usize::try_from(soft / 32).unwrap_or(usize::MAX).min(256)
}

fn side_summary(ds: &Dataset, inputs: Vec<FileDigest>) -> SideSummary {
    SideSummary {
        url: ds.location.url.clone(),
        format: ds.format().to_string(),
        files: ds.files.len() as u64,
        bytes: ds.total_bytes(),
        inputs,
    }
}

/// Compare two sides given as URLs or paths.
pub async fn compare(
    left: &str,
    right: &str,
    cfg: &DiffConfig,
    progress: Arc<dyn Progress>,
) -> Result<DiffSummary> {
    let left_loc = source::open(left)?;
    let right_loc = source::open(right)?;
    progress.stage("listing");
    let (lds, rds) = futures::try_join!(
        source::list(&left_loc, cfg.input_format),
        source::list(&right_loc, cfg.input_format)
    )?;
    compare_datasets(&lds, &rds, cfg, progress).await
}

fn counter(progress: &Arc<dyn Progress>, side: Side) -> ByteCounter {
    let p = progress.clone();
    Arc::new(move |n| p.bytes_read(side, n))
}

async fn hash_side(
    ds: &Dataset,
    side: Side,
    cfg: &DiffConfig,
    progress: &Arc<dyn Progress>,
) -> Result<Vec<FileDigest>> {
    progress.side_started(side, ds.files.len() as u64, ds.total_bytes());
    let count = counter(progress, side);
    // A local file is hashed from a memory map with every core, so one at a time per side
    // keeps the cores busy; more would only keep more mapped pages resident (eight maps of
    // 110 MB files held ~650 MiB). Remote files stream: several at once hide the latency.
    let in_flight = if ds.location.kind == source::StoreKind::Local {
        1
    } else {
        cfg.concurrency.max(1)
    };
    futures::stream::iter(ds.files.iter())
        .map(|f| {
            let count = count.clone();
            async move { reader::hash_file(&ds.location, f, &count).await }
        })
        .buffered(in_flight)
        .try_collect()
        .await
}

/// Compare two listed datasets.
///
/// A text side's column types come from the head of its data; when a later value does not fit
/// them (a misfit), that side's types are taken from every row and the comparison starts
/// again, once per side: the types, and so the verdict, never depend on which rows come first.
pub async fn compare_datasets(
    lds: &Dataset,
    rds: &Dataset,
    cfg: &DiffConfig,
    progress: Arc<dyn Progress>,
) -> Result<DiffSummary> {
    let (lschema, rschema) =
        futures::try_join!(reader::discover_schema(lds), reader::discover_schema(rds))?;
    // Each side: its data, its types, whether they were taken from every row.
    let mut sides = [(lds, lschema, false), (rds, rschema, false)];
    loop {
        let attempt = compare_typed(
            lds,
            rds,
            sides[0].1.clone(),
            sides[1].1.clone(),
            cfg,
            progress.clone(),
            !(sides[0].2 || sides[1].2),
        )
        .await;
        let Err(Error::Misfit { file, message }) = attempt else {
            return attempt;
        };
        let hit = sides
            .each_ref()
            .map(|(ds, _, retyped)| !retyped && ds.files.iter().any(|f| f.url == file));
        if !hit.contains(&true) {
            return Err(Error::Format { file, message });
        }
        tracing::info!("{file}: {message}; taking the column types from every row");
        progress.stage("typing every row");
        for s in [0, 1, 0, 1] {
            // First the side that misfit; then the other text side, which usually holds the
            // same values split another way: when its head types disagree with those just
            // taken from every row, it would misfit next.
            let follows =
                sides[1 - s].2 && is_text(sides[s].0) && types_differ(&sides[0].1, &sides[1].1);
            if !sides[s].2 && (hit[s] || follows) {
                sides[s].1 = typing::from_every_row(sides[s].0).await?;
                sides[s].2 = true;
            }
        }
    }
}

/// Whether a side's files are text (CSV or JSON lines), whose column types are inferred.
fn is_text(ds: &Dataset) -> bool {
    ds.files
        .iter()
        .all(|f| f.format.format != FileFormat::Parquet)
}

/// Whether a column present in both schemas has other types (or markers) on the two sides.
fn types_differ(l: &arrow::datatypes::SchemaRef, r: &arrow::datatypes::SchemaRef) -> bool {
    l.fields().iter().any(|lf| {
        r.field_with_name(lf.name())
            .is_ok_and(|rf| lf.data_type() != rf.data_type() || lf.metadata() != rf.metadata())
    })
}

/// [`compare_datasets`] with each side's column types decided; `bytes_first` tries tier 1.
async fn compare_typed(
    lds: &Dataset,
    rds: &Dataset,
    lschema: arrow::datatypes::SchemaRef,
    rschema: arrow::datatypes::SchemaRef,
    cfg: &DiffConfig,
    progress: Arc<dyn Progress>,
    bytes_first: bool,
) -> Result<DiffSummary> {
    let started = std::time::Instant::now();
    let stage = |name: &'static str| {
        tracing::info!("{name} (at {:.2?})", started.elapsed());
        progress.stage(name);
    };
    // The plan first: a bad --key, --ignore, --rename or --tol is an error even when the bytes
    // turn out identical.
    let partition_keys = |ds: &Dataset| -> Vec<String> {
        ds.files[0]
            .partition_values
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    };
    let lfull = with_partition_columns(&lschema, &partition_keys(lds));
    let rfull = with_partition_columns(&rschema, &partition_keys(rds));
    let plan = Arc::new(plan(&lfull, &rfull, cfg).map_err(|e| match e {
        // Name the two sides, so the one line says where the columns were looked for.
        Error::Schema(m) => Error::Schema(format!(
            "{m} (left {}, right {})",
            lds.location.url, rds.location.url
        )),
        other => other,
    })?);

    // Tier 1: only worth it when the layouts match exactly.
    let same_layout = lds.files.len() == rds.files.len()
        && lds
            .files
            .iter()
            .zip(&rds.files)
            .all(|(a, b)| a.relative == b.relative && a.size == b.size);
    if same_layout && bytes_first {
        stage("hashing");
        let (lh, rh) = futures::try_join!(
            hash_side(lds, Side::Left, cfg, &progress),
            hash_side(rds, Side::Right, cfg, &progress)
        )?;
        if lh.iter().zip(&rh).all(|(a, b)| a.blake3 == b.blake3) {
            progress.finished();
            let mut summary = identical(lds, rds, cfg, lh, rh);
            summary.diff_out = empty_diff_file(&plan, cfg).await?;
            return Ok(summary);
        }
    }

    // Tier 2, filling the spools for tier 3.
    let spill_root = cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let spill_dir = tempfile::Builder::new()
        .prefix("parity-spill-")
        .tempdir_in(&spill_root)
        .map_err(|e| Error::io(spill_root.display(), e))?;
    let partitions = partition_count(lds, rds, cfg.memory_limit);
    // Tier 2 keeps the hashed rows for tier 3 only when both sides are expected to fit in
    // memory. Otherwise it keeps a compact index of row and key hashes (see `subset`), and
    // tier 3, needed only when the fingerprints differ, reads both sides again keeping just
    // the rows that differ — or, when even the index does not fit, every row, spilled to disk.
    let fits = decoded_estimate(lds) + decoded_estimate(rds) <= cfg.memory_limit / 10 * 7;
    let first = match cfg.row_strategy {
        RowStrategy::Auto if fits => Keep::All,
        RowStrategy::Memory => Keep::All,
        RowStrategy::Auto | RowStrategy::Subset => Keep::Index,
        RowStrategy::Spill => Keep::Nothing,
    };
    let reading = Reading {
        plan: &plan,
        cfg,
        partitions,
        spill_dir: spill_dir.path(),
        progress: &progress,
        keep: first,
        column_sums: true,
    };
    stage("fingerprinting");
    let (lread, rread) = futures::try_join!(
        read_side(lds, Side::Left, lschema.clone(), &reading, &[]),
        read_side(rds, Side::Right, rschema.clone(), &reading, &[])
    )?;

    let fp_equal = lread.fingerprint == rread.fingerprint;
    let mut spilled = lread.spilled + rread.spilled;
    // When tier 2 decides, duplicate and null keys are still counted, from what pass 1 kept;
    // when it kept nothing to count from (the index outgrew its budget, or the spill
    // strategy), from a pass that keeps every row, spilled by key partition past the budget.
    let tier2_key_counts = if fp_equal && !plan.key.is_empty() {
        match (key_counts(&lread)?, key_counts(&rread)?) {
            (Some(l), Some(r)) => Some((l, r)),
            _ => {
                stage("counting keys");
                let all = Reading {
                    keep: Keep::All,
                    column_sums: false,
                    ..reading.clone()
                };
                let lb = (&lread.digests[..], &lread.open[..]);
                let rb = (&rread.digests[..], &rread.open[..]);
                let (l2, r2) = second_read(lds, rds, &lschema, &rschema, &all, lb, rb).await?;
                spilled += l2.spilled + r2.spilled;
                Some((
                    key_counts(&l2)?.ok_or_else(no_rows)?,
                    key_counts(&r2)?.ok_or_else(no_rows)?,
                ))
            }
        }
    } else {
        None
    };
    let mut tally = Tally::new(plan.columns.len(), cfg.samples);
    let mut tier = Tier::Fingerprint;
    let mut diff_out = None;
    if !fp_equal {
        tier = Tier::Rows;
        let mut known = None;
        let (lspool, rspool) = match (lread.spooled, rread.spooled) {
            (Some(l), Some(r)) => (l, r),
            _ => {
                let keep = match (lread.index, rread.index) {
                    (Some(li), Some(ri)) if !li.overflowed() && !ri.overflowed() => {
                        stage("re-reading differing rows");
                        let mut d = subset::differences(li, ri, !plan.key.is_empty());
                        tracing::info!(
                            "{} left and {} right rows differ (at {:.2?})",
                            d.left.iter().map(Vec::len).sum::<usize>(),
                            d.right.iter().map(Vec::len).sum::<usize>(),
                            started.elapsed()
                        );
                        let keep = Keep::Subset {
                            left: Arc::new(std::mem::take(&mut d.left)),
                            right: Arc::new(std::mem::take(&mut d.right)),
                        };
                        known = Some(d);
                        keep
                    }
                    _ => {
                        stage("re-reading");
                        Keep::All
                    }
                };
                let subset = matches!(keep, Keep::Subset { .. });
                let again = Reading {
                    keep,
                    column_sums: false,
                    ..reading.clone()
                };
                let lb = (&lread.digests[..], &lread.open[..]);
                let rb = (&rread.digests[..], &rread.open[..]);
                let (mut l2, mut r2) =
                    second_read(lds, rds, &lschema, &rschema, &again, lb, rb).await?;
                // Every row left out of the subset has its equal on the other side, so the
                // subset's row-hash sums must differ exactly as the whole sides' do. If they
                // do not, the compact index lost a difference to a collision of its shorter
                // hashes: read every row instead.
                let whole = lread.fingerprint.sum.wrapping_sub(rread.fingerprint.sum);
                if subset && l2.fingerprint.sum.wrapping_sub(r2.fingerprint.sum) != whole {
                    tracing::warn!(
                        "the row index missed a difference (hash collision); reading every row"
                    );
                    stage("re-reading");
                    known = None;
                    spilled += l2.spilled + r2.spilled;
                    let all = Reading {
                        keep: Keep::All,
                        ..again
                    };
                    (l2, r2) = second_read(lds, rds, &lschema, &rschema, &all, lb, rb).await?;
                }
                spilled += l2.spilled + r2.spilled;
                (
                    l2.spooled.ok_or_else(no_rows)?,
                    r2.spooled.ok_or_else(no_rows)?,
                )
            }
        };
        stage("diffing");
        let duplicates = known.as_ref().map(|d| Arc::new(d.duplicate_keys.clone()));
        let (t, out) = diff_rows(plan.clone(), lspool, rspool, cfg, partitions, duplicates).await?;
        tally = t;
        if let Some(d) = known {
            // Tier 3 saw only the differing rows: counts over the whole table come from the
            // fingerprint pass's index.
            tally.dup_left = d.dup_left;
            tally.dup_right = d.dup_right;
            tally.null_left = d.null_left;
            tally.null_right = d.null_right;
            tally.matched_rows = lread
                .fingerprint
                .rows
                .saturating_sub(tally.only_left)
                .min(rread.fingerprint.rows.saturating_sub(tally.only_right));
        }
        diff_out = out;
    }

    if let Some((l, r)) = tier2_key_counts {
        (tally.dup_left, tally.null_left) = l;
        (tally.dup_right, tally.null_right) = r;
    }
    let no_rows_differ = tally.only_left == 0 && tally.only_right == 0 && tally.changed_rows == 0;
    let verdict = if !no_rows_differ || plan.divergent() {
        Verdict::Diverged
    } else if tally.within_rows > 0 {
        Verdict::WithinTolerance
    } else if !fp_equal {
        return Err(Error::Internal(
            "the logical fingerprints differ but the row diff found no difference; please report this with both inputs".into(),
        ));
    } else {
        Verdict::Equivalent
    };
    if diff_out.is_none() {
        diff_out = empty_diff_file(&plan, cfg).await?;
    }
    tracing::info!("verdict {verdict} (at {:.2?})", started.elapsed());
    progress.finished();

    let columns = plan
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnSummary {
            name: c.name.clone(),
            left_name: (c.left_name != c.name).then(|| c.left_name.clone()),
            left_type: c.left_type.to_string(),
            right_type: c.right_type.to_string(),
            key: c.is_key,
            fingerprint_equal: lread.fingerprint.columns[i] == rread.fingerprint.columns[i],
            changed: tally.changed_cells[i],
            within_tolerance: tally.within_cells[i],
            // The largest difference can be a value itself (0 against a salary): not when redacting.
            max_abs_diff: (cfg.redactor.is_none()
                && c.family == Family::Float
                && tally.changed_cells[i] > 0
                && !tally.non_numeric[i])
                .then_some(tally.max_abs[i]),
        })
        .collect::<Vec<_>>();
    let hints = hints(&plan, &tally);
    let named = |v: &[u64]| -> BTreeMap<String, u64> {
        plan.columns
            .iter()
            .zip(v)
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c.name.clone(), *n))
            .collect()
    };
    Ok(DiffSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        encoding_version: ENCODING_VERSION,
        verdict,
        tier,
        left_rows: Some(lread.fingerprint.rows),
        right_rows: Some(rread.fingerprint.rows),
        only_left: tally.only_left,
        only_right: tally.only_right,
        changed_rows: tally.changed_rows,
        changed_cells: named(&tally.changed_cells),
        within_tolerance_rows: tally.within_rows,
        within_tolerance_cells: named(&tally.within_cells),
        duplicate_keys: PerSide {
            left: tally.dup_left,
            right: tally.dup_right,
        },
        null_keys: PerSide {
            left: tally.null_left,
            right: tally.null_right,
        },
        schema_changes: plan.changes.clone(),
        key: cfg.key.clone(),
        columns,
        fingerprints: Some(FingerprintPair {
            left: FingerprintRecord::from(&lread.fingerprint),
            right: FingerprintRecord::from(&rread.fingerprint),
        }),
        left: side_summary(lds, lread.digests),
        right: side_summary(rds, rread.digests),
        samples: Samples {
            only_left: tally.samples_left.into_sorted(),
            only_right: tally.samples_right.into_sorted(),
            changed: tally.samples_changed.into_sorted(),
        },
        hints,
        redacted: cfg.redactor.is_some(),
        diff_out,
        spilled_bytes: spilled,
    })
}

/// On a parity verdict the diff file is still written, empty, so a file left by an earlier run
/// can never be mistaken for this run's differences.
async fn empty_diff_file(plan: &Plan, cfg: &DiffConfig) -> Result<Option<DiffOutSummary>> {
    match &cfg.diff_out {
        None => Ok(None),
        Some(url) => {
            let writer = output::DiffWriter::create(url, plan, cfg.redactor.is_some())?;
            let (url, rows) = writer.finish().await?;
            Ok(Some(DiffOutSummary { url, rows }))
        }
    }
}

fn identical(
    lds: &Dataset,
    rds: &Dataset,
    cfg: &DiffConfig,
    lh: Vec<FileDigest>,
    rh: Vec<FileDigest>,
) -> DiffSummary {
    DiffSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        encoding_version: ENCODING_VERSION,
        verdict: Verdict::Identical,
        tier: Tier::Bytes,
        left_rows: None,
        right_rows: None,
        only_left: 0,
        only_right: 0,
        changed_rows: 0,
        changed_cells: BTreeMap::new(),
        within_tolerance_rows: 0,
        within_tolerance_cells: BTreeMap::new(),
        duplicate_keys: PerSide::default(),
        null_keys: PerSide::default(),
        schema_changes: Vec::new(),
        key: cfg.key.clone(),
        columns: Vec::new(),
        fingerprints: None,
        left: side_summary(lds, lh),
        right: side_summary(rds, rh),
        samples: Samples::default(),
        hints: Vec::new(),
        redacted: cfg.redactor.is_some(),
        diff_out: None,
        spilled_bytes: 0,
    }
}

/// A rough size of a dataset once decoded into Arrow: Parquet and compressed text expand
/// several times, plain text less.
fn decoded_estimate(ds: &Dataset) -> u64 {
    let factor = match (ds.format().format, ds.format().compression) {
        (FileFormat::Parquet, _) => 4,
        (_, source::Compression::None) => 2,
        _ => 6,
    };
    ds.total_bytes().saturating_mul(factor)
}

/// Duplicated keys and null-key rows of one side, from its index, its kept rows or its spilled
/// partitions (a key's rows all spill to the same partition, so each is counted alone); `None`
/// when the pass kept none of them.
fn key_counts(read: &SideRead) -> Result<Option<(u64, u64)>> {
    if let Some(index) = read.index.as_ref().filter(|i| !i.overflowed()) {
        return Ok(Some(index.key_counts()));
    }
    let count = |batches: &[arrow::record_batch::RecordBatch]| {
        let mut keys = subset::HashGroups::default();
        let mut nulls = 0u64;
        for b in batches {
            let (hashes, null) = (spool::key_hashes(b), spool::null_keys(b));
            for i in 0..b.num_rows() {
                if null.value(i) {
                    nulls += 1;
                } else {
                    keys.push(crate::fingerprint::logical::hash_at(hashes, i) as u64);
                }
            }
        }
        (keys.duplicated(&mut Default::default()), nulls)
    };
    match &read.spooled {
        Some(Spooled::Memory(batches)) => Ok(Some(count(batches))),
        Some(Spooled::Disk { files, .. }) => {
            let (mut dups, mut nulls) = (0, 0);
            for path in files.iter().flatten() {
                let (d, n) = count(&spool::read_partition(path)?);
                dups += d;
                nulls += n;
            }
            Ok(Some((dups, nulls)))
        }
        None => Ok(None),
    }
}

fn no_rows() -> Error {
    Error::Internal("the second read kept no rows".into())
}

/// Read both sides again for tier 3, checking that no file changed since the first pass.
#[allow(clippy::too_many_arguments)]
async fn second_read(
    lds: &Dataset,
    rds: &Dataset,
    lschema: &arrow::datatypes::SchemaRef,
    rschema: &arrow::datatypes::SchemaRef,
    reading: &Reading<'_>,
    left_before: FirstPass<'_>,
    right_before: FirstPass<'_>,
) -> Result<(SideRead, SideRead)> {
    let (l, r) = futures::try_join!(
        read_side(lds, Side::Left, lschema.clone(), reading, left_before.1),
        read_side(rds, Side::Right, rschema.clone(), reading, right_before.1)
    )?;
    unchanged(left_before.0, &l.digests)?;
    unchanged(right_before.0, &r.digests)?;
    Ok((l, r))
}

/// What a second read needs of a side's first pass: its file digests, and the files it kept
/// open.
type FirstPass<'a> = (&'a [FileDigest], &'a [Option<Arc<ParquetFile>>]);

/// A second read must see the same bytes as the first, or the comparison means nothing. A file
/// opened again must hash the same; a file read again through the first pass's open file
/// carries that pass's hash, and its last job checked that it did not change since.
fn unchanged(first: &[FileDigest], second: &[FileDigest]) -> Result<()> {
    for b in second {
        let same = first
            .iter()
            .find(|a| a.path == b.path)
            .is_some_and(|a| a.blake3 == b.blake3 && a.size == b.size);
        if !same {
            return Err(Error::format(
                &b.url,
                "the file changed between the fingerprint pass and the row diff; run the check again once its writer has finished",
            ));
        }
    }
    Ok(())
}

/// How many partitions a spill uses: enough that one partition of both sides fits in a quarter
/// of the budget, judged from the listed sizes (Parquet and compressed text expand ~4× when
/// decoded), between 16 and 256.
fn partition_count(l: &Dataset, r: &Dataset, budget: u64) -> usize {
    let total = decoded_estimate(l) + decoded_estimate(r);
    let per_partition = (budget / 4).max(1);
    let wanted = total.div_ceil(per_partition).next_power_of_two();
    wanted.clamp(16, 256) as usize
}

/// What a pass keeps besides the fingerprints.
#[derive(Clone)]
enum Keep {
    /// Nothing.
    Nothing,
    /// The compact row/key hash index.
    Index,
    /// Every hashed row (in memory, spilling past the budget).
    All,
    /// Only the rows at these positions, per file (files with none are not read).
    Subset {
        left: Arc<Selection>,
        right: Arc<Selection>,
    },
}

/// What a pass over the two sides needs.
#[derive(Clone)]
struct Reading<'a> {
    plan: &'a Arc<Plan>,
    cfg: &'a DiffConfig,
    partitions: usize,
    spill_dir: &'a std::path::Path,
    progress: &'a Arc<dyn Progress>,
    keep: Keep,
    /// Compute per-column fingerprints (the second pass needs only row and key hashes).
    column_sums: bool,
}

/// One unit of a side's pass: a whole text file, or one job of a Parquet file.
enum Unit {
    Whole(usize),
    Job(usize, Arc<ParquetFile>, Job),
}

/// What one side's decoded batches feed: the state shared by the sinks of all its units.
#[derive(Clone)]
struct SideSinks {
    side: Side,
    plan: Arc<Plan>,
    spool: Arc<Mutex<Spool>>,
    index: Arc<Mutex<HashIndex>>,
    fingerprint: Arc<Mutex<Fingerprint>>,
    spooled_schema: arrow::datatypes::SchemaRef,
    progress: Arc<dyn Progress>,
    /// The rows to keep, in the second pass of the subset.
    selection: Option<Arc<Selection>>,
    keep_rows: bool,
    keep_index: bool,
    column_sums: bool,
    keyed: bool,
}

impl SideSinks {
    /// The sink for the batches of file number `file_index` that start at row `first_row` of
    /// the file and follow each other in order.
    fn sink(
        &self,
        file_index: usize,
        file: &source::DataFile,
        first_row: u64,
    ) -> reader::BatchSink {
        let this = self.clone();
        let partition_values = file.partition_values.clone();
        let url = file.url.clone();
        let mut picker = self
            .selection
            .clone()
            .map(|sel| RowPicker::new(sel, file_index, first_row));
        let mut position = first_row;
        Box::new(move |batch| {
            let SideSinks {
                side,
                plan,
                spool,
                index,
                fingerprint,
                spooled_schema,
                progress,
                ..
            } = &this;
            progress.rows_read(*side, batch.num_rows() as u64);
            let at = position;
            position += batch.num_rows() as u64;
            // The second pass of the subset: only the selected rows go further.
            let batch = match picker.as_mut() {
                Some(p) => {
                    let rows = p.pick(batch.num_rows());
                    if rows.is_empty() {
                        return Ok(());
                    }
                    arrow::compute::take_record_batch(
                        &batch,
                        &arrow::array::UInt32Array::from(rows),
                    )
                    .map_err(|e| Error::Internal(format!("selecting differing rows: {e}")))?
                }
                None => batch,
            };
            let projected = plan.project(*side, &batch, &partition_values, &url)?;
            let mut fp = Fingerprint::new(if this.column_sums {
                plan.columns.len()
            } else {
                0
            });
            let hashes = hash_batch(&projected, &plan.key, &mut fp)?;
            fingerprint.lock().expect("fingerprint lock").merge(&fp);
            if this.keep_index {
                index
                    .lock()
                    .expect("index lock")
                    .add(file_index, at, &hashes, this.keyed);
            }
            if !this.keep_rows {
                return Ok(());
            }
            let hashed = spool::attach(spooled_schema, &projected, hashes)?;
            spool.lock().expect("spool lock").push(hashed)
        })
    }
}

/// One pass over a side. `reuse` holds the local Parquet files a first pass kept open (empty
/// for a first pass).
async fn read_side(
    ds: &Dataset,
    side: Side,
    decode_schema: arrow::datatypes::SchemaRef,
    reading: &Reading<'_>,
    reuse: &[Option<Arc<ParquetFile>>],
) -> Result<SideRead> {
    let Reading {
        plan,
        cfg,
        partitions,
        spill_dir,
        progress,
        ..
    } = *reading;
    let selection = match &reading.keep {
        Keep::Subset { left, right } => Some(if side == Side::Left {
            left.clone()
        } else {
            right.clone()
        }),
        _ => None,
    };
    let keep_rows = matches!(reading.keep, Keep::All | Keep::Subset { .. });
    let keep_index = matches!(reading.keep, Keep::Index);
    let column_sums = reading.column_sums;
    let keyed = !plan.key.is_empty();
    // The index takes 8 or 12 bytes a row; a side may use a third of the budget for it.
    let index = Arc::new(Mutex::new(HashIndex::new(
        ds.files.len(),
        cfg.memory_limit as usize / 3,
    )));
    progress.side_started(side, ds.files.len() as u64, ds.total_bytes());
    let projected = match side {
        Side::Left => plan.left_schema.clone(),
        Side::Right => plan.right_schema.clone(),
    };
    let spooled_schema = spool::spooled_schema(&projected);
    // Each side may hold a little over a third of the budget in memory; the rest is for
    // decoding, gathered Parquet files and tier 3's hash tables.
    let budget = (cfg.memory_limit as usize) * 35 / 100;
    let spool = Arc::new(Mutex::new(Spool::new(
        spooled_schema.clone(),
        budget,
        partitions,
        spill_dir,
        side.name(),
    )));
    let fingerprint = Arc::new(Mutex::new(Fingerprint::new(if column_sums {
        plan.columns.len()
    } else {
        0
    })));
    let count = counter(progress, side);
    // Up to `concurrency` units a side run at once, each on its own blocking thread. A unit is
    // a whole text file, or one job of a Parquet file (its hash, or a run of its row groups),
    // so that a side's last large file is still decoded on every core.
    let concurrency = cfg.concurrency.max(1);
    // Parquet files fetched from a store and gathered in memory may take a quarter of the
    // budget across both sides. A side holds at most the files of its running units, the file
    // being split into units and the `concurrency` files opened ahead; a larger file is
    // gathered in a temporary file instead.
    let gathering = Gathering {
        spill_over: cfg.memory_limit / (2 * concurrency as u64 + 1).saturating_mul(8),
        tmp_dir: spill_dir,
    };
    let sinks = SideSinks {
        side,
        plan: plan.clone(),
        spool: spool.clone(),
        index: index.clone(),
        fingerprint: fingerprint.clone(),
        spooled_schema,
        progress: progress.clone(),
        selection: selection.clone(),
        keep_rows,
        keep_index,
        column_sums,
        keyed,
    };

    // With a selection, only the files holding selected rows are read, and of a Parquet file
    // only the parts holding some.
    let files = ds
        .files
        .iter()
        .enumerate()
        .filter(|(i, _)| selection.as_ref().is_none_or(|sel| !sel[*i].is_empty()));
    let location = &ds.location;
    // A first pass that another may follow keeps its local Parquet files open for it.
    let keep_open = reuse.is_empty()
        && matches!(reading.keep, Keep::Index | Keep::Nothing)
        && ds.files.len() <= max_kept_open();
    let kept: Mutex<Vec<Option<Arc<ParquetFile>>>> = Mutex::new(if keep_open {
        vec![None; ds.files.len()]
    } else {
        Vec::new()
    });
    let units = futures::stream::iter(files)
        .map(|(i, file)| {
            let selection = selection.clone();
            let (count, kept) = (&count, &kept);
            async move {
                let wanted = |first: u64, rows: u64| {
                    selection
                        .as_ref()
                        .is_none_or(|sel| subset::selects(sel, i, first, rows))
                };
                let opened = match reuse.get(i).cloned().flatten() {
                    Some(parquet) => {
                        let jobs = parquet.jobs_again(wanted);
                        Some((parquet, jobs))
                    }
                    None => parts::open_parquet(location, file, gathering, count, wanted).await?,
                };
                Ok::<_, Error>(match opened {
                    Some((parquet, jobs)) => {
                        if let Some(slot) = kept.lock().expect("kept lock").get_mut(i) {
                            *slot = parquet.is_local().then(|| parquet.clone());
                        }
                        jobs.into_iter()
                            .map(|job| Unit::Job(i, parquet.clone(), job))
                            .collect()
                    }
                    None => vec![Unit::Whole(i)],
                })
            }
        })
        // Up to `concurrency` next files are opened (fetched and gathered when remote, their
        // footers read) while the current units run: fetching small remote files one or two
        // at a time would leave a side waiting on the store's latency.
        .buffered(concurrency)
        .map_ok(|units| futures::stream::iter(units.into_iter().map(Ok::<_, Error>)))
        .try_flatten();
    let mut finished: Vec<(usize, FileDigest)> = units
        .map_ok(|unit| {
            let sinks = &sinks;
            let count = count.clone();
            let decode_schema = decode_schema.clone();
            async move {
                match unit {
                    Unit::Whole(i) => {
                        let file = &ds.files[i];
                        let sink = sinks.sink(i, file, 0);
                        let read =
                            reader::read_text_file(location, file, decode_schema, &count, sink);
                        Ok(Some((i, read.await?)))
                    }
                    Unit::Job(i, parquet, job) => {
                        let first_row = match &job {
                            Job::Decode(part) => part.first_row,
                            Job::Hash => 0,
                        };
                        let mut sink = sinks.sink(i, &ds.files[i], first_row);
                        let done = tokio::task::spawn_blocking(move || {
                            parquet.run(&job, &count, &mut sink)
                        })
                        .await
                        .map_err(crate::panics::joined)??;
                        Ok(done.map(|d| (i, d)))
                    }
                }
            }
        })
        .try_buffer_unordered(concurrency)
        .try_filter_map(|done| futures::future::ready(Ok(done)))
        .try_collect()
        .await?;
    finished.sort_by_key(|(i, _)| *i);
    let digests: Vec<FileDigest> = finished.into_iter().map(|(_, d)| d).collect();
    drop(sinks);

    let spool = Arc::try_unwrap(spool)
        .map_err(|_| Error::Internal("spool still shared".into()))?
        .into_inner()
        .map_err(|_| Error::Internal("spool lock poisoned".into()))?;
    let spilled = spool.spilled_bytes();
    let spooled = if keep_rows {
        Some(
            tokio::task::spawn_blocking(move || spool.finish())
                .await
                .map_err(crate::panics::joined)??,
        )
    } else {
        None
    };
    let fingerprint = fingerprint.lock().expect("fingerprint lock").clone();
    let index = if keep_index {
        Arc::try_unwrap(index)
            .map_err(|_| Error::Internal("index still shared".into()))?
            .into_inner()
            .ok()
    } else {
        None
    };
    Ok(SideRead {
        fingerprint,
        digests,
        spooled,
        index,
        spilled,
        open: kept.into_inner().expect("kept lock"),
    })
}

async fn diff_rows(
    plan: Arc<Plan>,
    left: Spooled,
    right: Spooled,
    cfg: &DiffConfig,
    partitions: usize,
    duplicates: Option<Arc<subset::HashSet64>>,
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
            let mut run = |l: &[arrow::record_batch::RecordBatch],
                           r: &[arrow::record_batch::RecordBatch]|
             -> Result<()> {
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
                    for p in 0..partitions {
                        let lb = lparts.take(p)?;
                        let rb = rparts.take(p)?;
                        run(&lb, &rb)?;
                    }
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
    Memory(Vec<Vec<arrow::record_batch::RecordBatch>>),
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

    fn take(&mut self, p: usize) -> Result<Vec<arrow::record_batch::RecordBatch>> {
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

/// Suggestions: a column that looks renamed, columns that differ in (nearly) every matched
/// row, and float columns whose differences are all tiny.
fn hints(plan: &Plan, tally: &Tally) -> Vec<Hint> {
    use crate::schema::SchemaChangeKind;
    let mut out = Vec::new();
    // One column only on the left and one only on the right with the same type: a rename?
    let only = |kind| {
        plan.changes
            .iter()
            .filter(move |c| c.kind == kind)
            .collect::<Vec<_>>()
    };
    for gone in only(SchemaChangeKind::OnlyLeft) {
        let candidates: Vec<_> = only(SchemaChangeKind::OnlyRight)
            .into_iter()
            .filter(|new| new.right_type == gone.left_type)
            .collect();
        if let [new] = candidates.as_slice() {
            out.push(Hint {
                kind: "renamed_column".into(),
                column: gone.column.clone(),
                suggestion: format!("--rename {}={}", gone.column, new.column),
                message: format!(
                    "`{}` is only on the left and `{}` only on the right, both {}: if it was renamed, map it with --rename {}={}",
                    gone.column,
                    new.column,
                    gone.left_type.as_deref().unwrap_or("?"),
                    gone.column,
                    new.column
                ),
            });
        }
    }
    for (i, c) in plan.columns.iter().enumerate() {
        let changed = tally.changed_cells[i];
        if changed == 0 {
            continue;
        }
        let tiny_floats =
            c.family == Family::Float && !tally.non_numeric[i] && tally.max_rel[i] <= 1e-6;
        if tiny_floats {
            let tol = round_up_1sig(tally.max_abs[i]);
            out.push(Hint {
                kind: "float_noise".into(),
                column: c.name.clone(),
                suggestion: format!("--tol {}=abs:{tol:e}", c.name),
                message: format!(
                    "every difference in `{}` is tiny (largest {:e}); --tol {}=abs:{tol:e} would absorb them",
                    c.name, tally.max_abs[i], c.name
                ),
            });
        } else if tally.matched_rows >= 3 && changed * 100 >= tally.matched_rows * 95 {
            out.push(Hint {
                kind: "volatile_column".into(),
                column: c.name.clone(),
                suggestion: format!("--ignore {}", c.name),
                message: format!(
                    "`{}` differs in {changed} of {} matched rows: likely volatile (a load timestamp, a run id); ignore it with --ignore {}",
                    c.name, tally.matched_rows, c.name
                ),
            });
        }
    }
    // Without a key no two rows are paired, so a tolerance has nothing to compare.
    let tolerant = plan.columns.iter().any(|c| c.tolerance.is_some());
    if plan.key.is_empty() && tolerant && (tally.only_left > 0 || tally.only_right > 0) {
        out.push(Hint {
            kind: "tolerance_needs_key".into(),
            column: String::new(),
            suggestion: "--key COLUMN".into(),
            message: "tolerances apply only to rows matched by key; without --key every differing row counts as added or removed".into(),
        });
    }
    out
}

/// Round up to one significant digit: 3.2e-10 → 4e-10.
fn round_up_1sig(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let exp = x.log10().floor();
    let unit = 10f64.powf(exp);
    let digit = (x / unit).ceil();
    let v = digit * unit;
    // Guard against the rounding of powf landing below x.
    if v < x {
        (digit + 1.0) * unit
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_of_suggested_tolerances() {
        assert_eq!(format!("{:e}", round_up_1sig(3.2e-10)), "4e-10");
        assert!(round_up_1sig(1e-9) >= 1e-9);
        assert!(round_up_1sig(7.77e-5) >= 7.77e-5);
    }
}
