//! The comparison engine: two sides in, one [`DiffSummary`] out.
//!
//! [`compare`] runs the three tiers in order and stops at the first that decides:
//!
//! 1. **bytes** ([`bytes`]) — when, folder by folder, both sides hold files of the same formats
//!    and sizes, every file is streamed through blake3 (no parsing); every file paired with one
//!    of the same content, whatever its name, is `identical`;
//! 2. **fingerprint** — both sides are streamed once ([`pass`]), decoded, projected onto the
//!    plan's columns and hashed row by row; equal logical fingerprints are `equivalent`. The pass
//!    keeps the hashed rows for tier 3 when both sides fit the memory budget, or when a look at
//!    their first rows finds many rows differing ([`probe`]; spilled by key partition),
//!    else a compact index of row and key hashes ([`subset`]);
//! 3. **rows** — only when fingerprints differ: the rows that differ are found (from the kept
//!    rows, or by subtracting the indexes and reading only those rows again), [`rows`] diffs
//!    them partition by partition through the [`matcher`], and [`conclude`] gives
//!    `within_tolerance` or `diverged`, with counts, samples and hints.
//!
//! A side that could not be read completely is an error, never a verdict.

pub mod bytes;
mod conclude;
mod gather;
pub mod matcher;
pub mod output;
mod pass;
mod probe;
mod rows;
pub mod spool;
pub mod subset;
pub mod summary;
mod words;

use std::sync::Arc;

use crate::config::{DiffConfig, RowStrategy};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::progress::Progress;
use crate::schema::{plan, with_partition_columns, Plan, Side};
use crate::source::copies::Copies;
use crate::source::{self, Dataset, FileFormat};
use crate::source::{reader, typing};
use matcher::Tally;
use pass::{read_side, second_read, Keep, Reading, SideRead};
use spool::Spooled;
use subset::HashIndex;
use summary::*;
pub use summary::{DiffSummary, Verdict};

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

/// Compare two listed datasets.
///
/// A text side's column types come from the head of its data; when a later value does not fit
/// them (a misfit), that side's types are taken from every row and the comparison starts
/// again, once per side: the types, and so the verdict, never depend on which rows come first.
///
/// The comparison's private temporary folder holds spilled rows and indexes, and a local copy
/// of every remote file as it is first fetched, so that no object is fetched twice (see
/// `source::copies`); it is removed when the comparison ends, however it ends.
pub async fn compare_datasets(
    lds: &Dataset,
    rds: &Dataset,
    cfg: &DiffConfig,
    progress: Arc<dyn Progress>,
) -> Result<DiffSummary> {
    let tmp = temp_folder(cfg, lds, rds)?;
    let copies = Arc::new(Copies::new(tmp.path()));
    let (lds, rds) = (&with_copies(lds, &copies), &with_copies(rds, &copies));
    let (lschema, rschema) =
        futures::try_join!(reader::discover_schema(lds), reader::discover_schema(rds))?;
    // Each side: its data, its types, whether they were taken from every row.
    let mut sides = [(lds, lschema, false), (rds, rschema, false)];
    loop {
        let attempt = compare_typed(
            Inputs {
                left: lds,
                right: rds,
                lschema: &sides[0].1,
                rschema: &sides[1].1,
            },
            cfg,
            progress.clone(),
            tmp.path(),
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

/// Logs each stage with the time since the comparison started, and tells the progress bars.
struct Stages<'a> {
    started: std::time::Instant,
    progress: &'a Arc<dyn Progress>,
}

impl Stages<'_> {
    fn enter(&self, name: &'static str) {
        tracing::info!("{name} (at {:.2?})", self.started.elapsed());
        self.progress.stage(name);
    }
}

/// Both sides as listed and typed.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    left: &'a Dataset,
    right: &'a Dataset,
    lschema: &'a arrow::datatypes::SchemaRef,
    rschema: &'a arrow::datatypes::SchemaRef,
}

/// A side that keeps local copies of its remote files in `copies`.
fn with_copies(ds: &Dataset, copies: &Arc<Copies>) -> Dataset {
    let mut ds = ds.clone();
    if ds.location.kind != source::StoreKind::Local {
        ds.location.copies = Some(copies.clone());
    }
    ds
}

/// [`compare_datasets`] with each side's column types decided; `bytes_first` tries tier 1.
/// `spill_dir` is the comparison's temporary folder.
async fn compare_typed(
    inputs: Inputs<'_>,
    cfg: &DiffConfig,
    progress: Arc<dyn Progress>,
    spill_dir: &std::path::Path,
    bytes_first: bool,
) -> Result<DiffSummary> {
    let stages = Stages {
        started: std::time::Instant::now(),
        progress: &progress,
    };
    let Inputs {
        left: lds,
        right: rds,
        lschema,
        rschema,
    } = inputs;
    // The plan first: a bad --key, --ignore, --rename or --tol is an error even when the bytes
    // turn out identical.
    let plan = Arc::new(plan_sides(inputs, cfg)?);

    if bytes_first {
        stages.enter("hashing");
        if let Some((lh, rh)) = bytes::identical(lds, rds, cfg, &progress).await? {
            progress.finished();
            let mut summary = conclude::identical(lds, rds, cfg, lh, rh);
            summary.diff_out = empty_diff_file(&plan, cfg).await?;
            return Ok(summary);
        }
    }

    // Tier 2, keeping for tier 3 what the budget allows. A pass keeps its spill files in a
    // folder of its own, so a comparison started again (after a misfit) starts clean.
    let pass_dir = tempfile::Builder::new()
        .prefix("pass-")
        .tempdir_in(spill_dir)
        .map_err(|e| Error::io(spill_dir.display(), e))?;
    let reading = Reading {
        plan: &plan,
        cfg,
        partitions: partition_count(lds, rds, cfg.memory_limit),
        spill_dir: pass_dir.path(),
        progress: &progress,
        keep: first_keep(inputs, &plan, cfg).await,
        column_sums: true,
    };
    stages.enter("fingerprinting");
    // Spilling every row frees and takes the same buffers batch after batch, all bounded by
    // the budget: keep the freed pages rather than hand them back and fault them in again.
    let held = matches!(reading.keep, Keep::AllSpilled).then(crate::allocator::hold_freed_pages);
    let (mut lread, mut rread) = futures::try_join!(
        read_side(lds, Side::Left, lschema.clone(), &reading, &[]),
        read_side(rds, Side::Right, rschema.clone(), &reading, &[])
    )?;
    drop(held);
    // Rows kept whole for a diff of every row are hashed by their key only: tier 3 makes their
    // row hashes and fingerprints from the cells it compares, and runs whatever they are.
    let rows_hashed = reading.keep.hashes_rows(!plan.key.is_empty());
    let mut fingerprints_equal = rows_hashed && lread.fingerprint == rread.fingerprint;
    let mut spilled = lread.spilled + rread.spilled;

    // Tier 3, or the key counts of two equivalent sides.
    let mut tally = Tally::new(plan.columns.len(), cfg.samples);
    let (mut tier, diff_out) = if fingerprints_equal {
        if !plan.key.is_empty() {
            let (counts, more) =
                equivalent_key_counts(inputs, [&mut lread, &mut rread], &reading, &stages).await?;
            (
                (tally.dup_left, tally.null_left),
                (tally.dup_right, tally.null_right),
            ) = counts;
            spilled += more;
        }
        (Tier::Fingerprint, None)
    } else {
        let (t, out, more) = tier3(inputs, [&mut lread, &mut rread], &reading, &stages).await?;
        tally = t;
        spilled += more;
        (Tier::Rows, out)
    };

    if !rows_hashed {
        fingerprints_equal = made_fingerprints(&mut tally, [&mut lread, &mut rread], &plan)?;
        if fingerprints_equal {
            tier = Tier::Fingerprint;
        }
    }
    let verdict = conclude::verdict(&plan, &tally, fingerprints_equal)?;
    let diff_out = match diff_out {
        Some(out) => Some(out),
        None => empty_diff_file(&plan, cfg).await?,
    };
    tracing::info!("verdict {verdict} (at {:.2?})", stages.started.elapsed());
    progress.finished();
    let sides = conclude::Sides {
        left: (lds, &lread.fingerprint, lread.digests),
        right: (rds, &rread.fingerprint, rread.digests),
    };
    let outcome = conclude::Outcome {
        verdict,
        tier,
        tally,
        diff_out,
        spilled_bytes: spilled,
    };
    Ok(conclude::summary(&plan, cfg, sides, outcome))
}

/// Tier 3: find the rows that differ, diff them, and count over the whole tables. Returns the
/// tally, the diff file written, and the bytes spilled.
async fn tier3(
    inputs: Inputs<'_>,
    [lread, rread]: [&mut SideRead; 2],
    reading: &Reading<'_>,
    stages: &Stages<'_>,
) -> Result<(Tally, Option<DiffOutSummary>, u64)> {
    let found = differing_rows(inputs, [&mut *lread, &mut *rread], reading, stages).await?;
    stages.enter("diffing");
    let duplicates = found
        .known
        .as_ref()
        .map(|d| Arc::new(d.duplicate_keys.clone()));
    let (mut tally, out) = rows::diff_rows(
        reading.plan.clone(),
        found.left,
        found.right,
        reading.cfg,
        reading.partitions,
        duplicates,
    )
    .await?;
    if let Some(d) = &found.known {
        whole_table_counts(&mut tally, d, lread, rread);
    }
    Ok((tally, out, found.spilled))
}

/// The sides' fingerprints as tier 3 made them from rows spooled without their row hashes,
/// in place of the row counts the pass kept; whether they are equal. Tier 3 must have seen
/// every row the pass read.
fn made_fingerprints(
    tally: &mut Tally,
    [left, right]: [&mut SideRead; 2],
    plan: &Plan,
) -> Result<bool> {
    let columns = plan.columns.len();
    let [lf, rf] = tally
        .fingerprints
        .take()
        .unwrap_or_else(|| [Fingerprint::new(columns), Fingerprint::new(columns)]);
    for (read, fp, side) in [(&mut *left, lf, "left"), (&mut *right, rf, "right")] {
        if fp.rows != read.fingerprint.rows {
            return Err(Error::Internal(format!(
                "the row diff saw {} rows of the {side} side, but {} were read",
                fp.rows, read.fingerprint.rows
            )));
        }
        read.fingerprint = fp;
    }
    Ok(left.fingerprint == right.fingerprint)
}

/// The plan from both sides' schemas, their Hive folder columns included.
fn plan_sides(inputs: Inputs<'_>, cfg: &DiffConfig) -> Result<Plan> {
    let partition_keys = |ds: &Dataset| -> Vec<String> {
        ds.files[0]
            .partition_values
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    };
    let lfull = with_partition_columns(inputs.lschema, &partition_keys(inputs.left));
    let rfull = with_partition_columns(inputs.rschema, &partition_keys(inputs.right));
    plan(&lfull, &rfull, cfg).map_err(|e| match e {
        // Name the two sides, so the one line says where the columns were looked for.
        Error::Schema(m) => Error::Schema(format!(
            "{m} (left {}, right {})",
            inputs.left.location.url, inputs.right.location.url
        )),
        other => other,
    })
}

/// What the fingerprint pass keeps for tier 3: every hashed row when both sides are expected to
/// fit in memory; every row spilled by key partition when a look at the first rows finds
/// many of them differing ([`probe`]), or an index holding a column apart when most of those
/// differ in that column alone; otherwise a compact index of row and key hashes (see
/// [`subset`]), and tier 3, needed only when the fingerprints differ, reads both sides again
/// keeping just the rows that differ.
async fn first_keep(inputs: Inputs<'_>, plan: &Arc<Plan>, cfg: &DiffConfig) -> Keep {
    let (lds, rds) = (inputs.left, inputs.right);
    let fits =
        decoded_estimate(lds).saturating_add(decoded_estimate(rds)) <= cfg.memory_limit / 10 * 7;
    match cfg.row_strategy {
        RowStrategy::Auto if fits => Keep::All,
        RowStrategy::Auto if !plan.key.is_empty() => {
            // A column held apart is counted from the index, not written row by row.
            let apart_ok = |c: usize| cfg.diff_out.is_none() && matcher::held_apart_ok(plan, c);
            match probe::guess(inputs, plan, apart_ok).await {
                probe::Guess::Few => Keep::Index { apart: None },
                probe::Guess::Many => {
                    tracing::info!("many of the first rows differ: keeping every row in one pass");
                    Keep::AllSpilled
                }
                probe::Guess::InOneColumn(c) => {
                    tracing::info!(
                        "many of the first rows differ, most in `{}` alone: holding it apart in the row index",
                        plan.columns[c].name
                    );
                    Keep::Index { apart: Some(c) }
                }
            }
        }
        RowStrategy::Memory => Keep::All,
        RowStrategy::Auto | RowStrategy::Subset => Keep::Index { apart: None },
        RowStrategy::Spill => Keep::Nothing,
    }
}

/// The comparison's private temporary folder (spilled rows and indexes, local copies of remote
/// files), removed when it is dropped. Remote files are copied there as they are fetched, so it
/// must hold them: too little free space is an error now, not a half-done check later.
fn temp_folder(cfg: &DiffConfig, lds: &Dataset, rds: &Dataset) -> Result<tempfile::TempDir> {
    let root = cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("parity-spill-")
        .tempdir_in(&root)
        .map_err(|e| Error::io(root.display(), e))?;
    let remote = |ds: &Dataset| {
        if ds.location.kind == source::StoreKind::Local {
            0
        } else {
            ds.total_bytes()
        }
    };
    let needed = remote(lds) + remote(rds);
    if needed > 0 {
        let free = free_space(dir.path())?;
        if free < needed {
            return Err(Error::Invalid(format!(
                "the temporary folder {} has {free} bytes free, but local copies of the remote files need {needed} (each is fetched once); free space there or point --spill-dir at a larger folder",
                root.display()
            )));
        }
    }
    Ok(dir)
}

/// Bytes an unprivileged process may still write in the file system of `dir`.
fn free_space(dir: &std::path::Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
    // SAFETY: statvfs(3) reads a NUL-terminated path and writes only the struct it is given.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(Error::io(dir.display(), std::io::Error::last_os_error()));
    }
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
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

/// Duplicate and null keys of two equivalent sides, from what the fingerprint pass kept; when it
/// kept nothing to count from (the strategy spilled, or the index could not hold the rows),
/// from a pass that keeps every row, spilled by key partition past the budget. Returns
/// ((left duplicates, left null keys), (right …)) and the bytes that pass spilled.
async fn equivalent_key_counts(
    inputs: Inputs<'_>,
    [lread, rread]: [&mut SideRead; 2],
    reading: &Reading<'_>,
    stages: &Stages<'_>,
) -> Result<(((u64, u64), (u64, u64)), u64)> {
    if let (Some(l), Some(r)) = (key_counts(lread)?, key_counts(rread)?) {
        return Ok(((l, r), 0));
    }
    stages.enter("counting keys");
    let all = Reading {
        keep: Keep::All,
        column_sums: false,
        ..reading.clone()
    };
    let (mut l2, mut r2) = second_read(
        [
            (inputs.left, inputs.lschema, &*lread),
            (inputs.right, inputs.rschema, &*rread),
        ],
        &all,
    )
    .await?;
    let spilled = l2.spilled + r2.spilled;
    let l = key_counts(&mut l2)?.ok_or_else(no_rows)?;
    let r = key_counts(&mut r2)?.ok_or_else(no_rows)?;
    Ok(((l, r), spilled))
}

/// Duplicated keys and null-key rows of one side, from its index, its kept rows or its spilled
/// partitions (a key's rows all spill to the same partition, so each is counted alone); `None`
/// when the pass kept none of them.
fn key_counts(read: &mut SideRead) -> Result<Option<(u64, u64)>> {
    if let Some(index) = read.index.as_mut().filter(|i| !i.overflowed()) {
        return index.key_counts().map(Some);
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

/// The rows tier 3 diffs, and what is known of the whole tables when those are only the rows
/// that differ.
struct Differing {
    left: Spooled,
    right: Spooled,
    /// From the subtraction of the indexes (None when the rows are every row).
    known: Option<subset::Differences>,
    /// Bytes spilled finding them.
    spilled: u64,
}

/// The rows that differ: the rows the fingerprint pass kept, when it kept them all; else those
/// the subtraction of the two indexes names, read again; else (no index) every row, read again
/// and spilled by key partition.
async fn differing_rows(
    inputs: Inputs<'_>,
    [lread, rread]: [&mut SideRead; 2],
    reading: &Reading<'_>,
    stages: &Stages<'_>,
) -> Result<Differing> {
    if let (Some(left), Some(right)) = (lread.spooled.take(), rread.spooled.take()) {
        return Ok(Differing {
            left,
            right,
            known: None,
            spilled: 0,
        });
    }
    // The indexes are moved out for the subtraction: cloning them would double their memory.
    let usable = |i: &Option<HashIndex>| i.as_ref().is_some_and(|i| !i.overflowed());
    let indexes = if usable(&lread.index) && usable(&rread.index) {
        lread.index.take().zip(rread.index.take())
    } else {
        None
    };
    let (lread, rread) = (&*lread, &*rread);
    let sides = [
        (inputs.left, inputs.lschema, lread),
        (inputs.right, inputs.rschema, rread),
    ];
    let Some((li, ri)) = indexes else {
        stages.enter("re-reading");
        return every_row(sides, reading).await;
    };
    stages.enter("re-reading differing rows");
    let keyed = !reading.plan.key.is_empty();
    let apart = match reading.keep {
        Keep::Index {
            apart: Some(column),
        } => Some(subset::Apart {
            column,
            candidates: lread.candidates.iter().copied().collect(),
            samples: reading.cfg.samples,
        }),
        _ => None,
    };
    let held_apart = apart.is_some();
    let d = tokio::task::spawn_blocking(move || subset::differences(li, ri, keyed, apart.as_ref()))
        .await
        .map_err(crate::panics::joined)??;
    if let Some(a) = &d.apart {
        let name = &reading.plan.columns[a.column].name;
        tracing::info!(
            "{} pairs differ only in `{name}`: counted from the index",
            a.pairs
        );
    }
    tracing::info!(
        "{} left and {} right rows differ (at {:.2?})",
        d.left.count(),
        d.right.count(),
        stages.started.elapsed()
    );
    let subset = Reading {
        keep: Keep::Subset {
            left: Arc::new(d.left.clone()),
            right: Arc::new(d.right.clone()),
        },
        // A column held apart is checked column by column.
        column_sums: held_apart,
        ..reading.clone()
    };
    let (l2, r2) = second_read(sides, &subset).await?;
    let sums = [
        &lread.fingerprint,
        &rread.fingerprint,
        &l2.fingerprint,
        &r2.fingerprint,
    ];
    if !subset_accounts_for_all(sums, d.apart.as_ref()) {
        tracing::warn!("the row index missed a difference (hash collision); reading every row");
        stages.enter("re-reading");
        let mut again = every_row(sides, reading).await?;
        again.spilled += l2.spilled + r2.spilled;
        return Ok(again);
    }
    Ok(Differing {
        spilled: l2.spilled + r2.spilled,
        left: l2.spooled.ok_or_else(no_rows)?,
        right: r2.spooled.ok_or_else(no_rows)?,
        known: Some(d),
    })
}

/// Whether the rows read again account for every difference between the sides' fingerprints
/// (`[whole left, whole right, subset left, subset right]`).
///
/// Every row left out of the subset has its equal on the other side, so the subset's row-hash
/// sums must differ exactly as the whole sides' do. With a column held apart, the pairs counted
/// from the index differ in that column, so the check is made column by column: every other
/// column's sums must differ as the whole sides' do, and that column's must once the counted
/// pairs' terms are added. If they do not, the compact index lost a difference to a collision
/// of its shorter hashes.
fn subset_accounts_for_all(
    [left, right, sub_left, sub_right]: [&Fingerprint; 4],
    apart: Option<&subset::ApartCount>,
) -> bool {
    let Some(apart) = apart else {
        return sub_left.sum.wrapping_sub(sub_right.sum) == left.sum.wrapping_sub(right.sum);
    };
    let columns = left.columns.len();
    if [right, sub_left, sub_right]
        .iter()
        .any(|f| f.columns.len() != columns)
    {
        return false;
    }
    (0..columns).all(|c| {
        let whole = left.columns[c].wrapping_sub(right.columns[c]);
        let mut read = sub_left.columns[c].wrapping_sub(sub_right.columns[c]);
        if c == apart.column {
            read = read.wrapping_add(apart.sum);
        }
        read == whole
    })
}

/// Every row of both sides read again, kept for tier 3 (spilled by key partition past the
/// budget).
async fn every_row(
    sides: [(&Dataset, &arrow::datatypes::SchemaRef, &SideRead); 2],
    reading: &Reading<'_>,
) -> Result<Differing> {
    let all = Reading {
        keep: Keep::All,
        column_sums: false,
        ..reading.clone()
    };
    let (l2, r2) = second_read(sides, &all).await?;
    Ok(Differing {
        spilled: l2.spilled + r2.spilled,
        left: l2.spooled.ok_or_else(no_rows)?,
        right: r2.spooled.ok_or_else(no_rows)?,
        known: None,
    })
}

/// Tier 3 saw only the differing rows: counts over the whole tables come from the fingerprint
/// pass and the subtraction of its indexes.
fn whole_table_counts(tally: &mut Tally, d: &subset::Differences, l: &SideRead, r: &SideRead) {
    tally.dup_left = d.dup_left;
    tally.dup_right = d.dup_right;
    if let Some(apart) = &d.apart {
        tally.changed_rows += apart.pairs;
        tally.changed_cells[apart.column] += apart.pairs;
    }
    tally.null_left = d.null_left;
    tally.null_right = d.null_right;
    tally.matched_rows = l
        .fingerprint
        .rows
        .saturating_sub(tally.only_left)
        .min(r.fingerprint.rows.saturating_sub(tally.only_right));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(sum: u128, columns: [u128; 3]) -> Fingerprint {
        Fingerprint {
            rows: 0,
            sum,
            columns: columns.to_vec(),
        }
    }

    #[test]
    fn the_rows_read_again_must_account_for_every_difference() {
        // Whole sides: row sums 100 apart; columns 0 and 2 differ.
        let (left, right) = (fingerprint(150, [7, 5, 40]), fingerprint(50, [4, 5, 10]));
        // Read again: rows whose sums differ by the same 100, columns 0 and 2 by 3 and 30.
        let (sub_left, sub_right) = (fingerprint(130, [3, 0, 31]), fingerprint(30, [0, 0, 1]));
        assert!(subset_accounts_for_all(
            [&left, &right, &sub_left, &sub_right],
            None
        ));
        let short = fingerprint(29, [0, 0, 1]);
        assert!(!subset_accounts_for_all(
            [&left, &right, &sub_left, &short],
            None
        ));
        // Column 2 held apart, the pairs counted from the index differing there by 10: what was
        // read must account for the other 20 of it, and for all of column 0.
        let apart = |sum| subset::ApartCount {
            column: 2,
            pairs: 4,
            sum,
        };
        let sub_right = fingerprint(0, [0, 0, 11]);
        let sides = [&left, &right, &sub_left, &sub_right];
        assert!(subset_accounts_for_all(sides, Some(&apart(10))));
        assert!(!subset_accounts_for_all(sides, Some(&apart(9))));
        // A difference in a column not held apart is not made up by the pairs counted.
        let off = fingerprint(0, [1, 0, 11]);
        let sides = [&left, &right, &sub_left, &off];
        assert!(!subset_accounts_for_all(sides, Some(&apart(10))));
        // Sums mod 2^128: a difference that wraps still adds up.
        let wrapped = subset::ApartCount {
            column: 2,
            pairs: 1,
            sum: 10u128.wrapping_sub(u128::MAX).wrapping_sub(1),
        };
        let sub_left = fingerprint(0, [3, 0, 31u128.wrapping_add(u128::MAX).wrapping_add(1)]);
        let sides = [&left, &right, &sub_left, &sub_right];
        assert!(subset_accounts_for_all(sides, Some(&wrapped)));
    }
}
