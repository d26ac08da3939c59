//! One pass over one side: its files decoded, projected onto the plan, hashed, and fed to what
//! the pass keeps.
//!
//! A pass turns a side's files into units of work — a whole text file, or one job of a Parquet
//! file (its hash, or a run of its row groups, see [`parts`]) — and runs up to `concurrency` of
//! them at once on blocking threads, the next files being opened (remote ones fetched) while the
//! current ones run. Every decoded batch goes through the side's [`Sinks`]: projected onto the
//! plan, hashed into the fingerprint, and, as [`Keep`] says, added to the compact row index or
//! to the spool of rows, or dropped.
//!
//! A first pass that a second may follow keeps its Parquet files on disk open (a local file,
//! or a remote file's local copy, see `source::copies`), so the second reads them without
//! hashing them again; the second pass decodes only what its selection names, and checks that
//! no file changed since the first.

use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Int32Array, Int64Array};
use arrow::datatypes::SchemaRef;
use futures::{StreamExt, TryStreamExt};

use super::matcher::TopN;
use super::spool::{self, Spool, Spooled};
use super::subset::{HashIndex, Picked, RowPicker, Selection};
use crate::config::DiffConfig;
use crate::error::{Error, Result};
use crate::fingerprint::encoding::{encoder, integer_of};
use crate::fingerprint::logical::{halves, hash_batch_cells, hash_keys, hash_without, RowHashes};
use crate::fingerprint::{hash_batch, Fingerprint};
use crate::progress::Progress;
use crate::schema::{Plan, Side};
use crate::source::parts::{self, Gathering, Job, ParquetFile};
use crate::source::reader::{self, ByteCounter, FileDigest};
use crate::source::{self, DataFile, Dataset};

/// What a pass keeps besides the fingerprints.
#[derive(Clone)]
pub(super) enum Keep {
    /// Nothing.
    Nothing,
    /// The compact row/key hash index; with `apart`, a keyed index holding that column (its
    /// place in the plan) apart, see [`HashIndex::holding_apart`].
    Index { apart: Option<usize> },
    /// Every hashed row (in memory, spilling past the budget).
    All,
    /// Every hashed row, spilled by key partition from the first batch: sides expected to
    /// differ in many rows, and not to fit.
    AllSpilled,
    /// Only the rows at these positions, per file (files with none are not read).
    Subset {
        left: Arc<Selection>,
        right: Arc<Selection>,
    },
}

impl Keep {
    /// Whether the pass hashes whole rows. Rows kept for a keyed diff of every row are hashed
    /// by their key only: tier 3 makes their row hashes and fingerprints from the cell hashes
    /// it compares, so each cell is hashed once.
    pub(super) fn hashes_rows(&self, keyed: bool) -> bool {
        !keyed || !matches!(self, Keep::AllSpilled)
    }

    /// Whether another pass may follow this one (it keeps no rows to diff).
    fn second_may_follow(&self) -> bool {
        matches!(self, Keep::Index { .. } | Keep::Nothing)
    }
}

/// What a pass over the two sides needs.
#[derive(Clone)]
pub(super) struct Reading<'a> {
    pub plan: &'a Arc<Plan>,
    pub cfg: &'a DiffConfig,
    /// Spill partitions (the same on both sides).
    pub partitions: usize,
    /// The run's private temporary folder.
    pub spill_dir: &'a Path,
    pub progress: &'a Arc<dyn Progress>,
    pub keep: Keep,
    /// Compute per-column fingerprints (a second pass needs only row and key hashes).
    pub column_sums: bool,
}

/// How many of the left rows with the smallest keys an index holding a column apart notes,
/// for `samples` samples: the pairs among them that differ only in that column are read again,
/// and enough of them must be for the samples to be those of a full diff (see
/// [`subset::Apart`](super::subset::Apart)). Eight times the samples plus 64 leaves room for
/// sides where only one pair in eight differs there; without samples, none.
fn candidates_for(samples: usize) -> usize {
    match samples {
        0 => 0,
        n => n.saturating_mul(8).saturating_add(64),
    }
}

/// Offer each row of a batch whose key (`key_columns`) has no null to `top`, by the key's
/// encoding (the order of samples), with the low 64 bits of its key hash.
fn offer_smallest(
    top: &mut TopN<u64>,
    key_columns: &[&ArrayRef],
    hashes: &RowHashes,
) -> Result<()> {
    let encoders = key_columns
        .iter()
        .map(|c| encoder(c))
        .collect::<Result<Vec<_>>>()?;
    // A key of one integer column past the bound is turned away by its value, unencoded.
    let past = match key_columns {
        [column] => past_bound(column, top.threshold().and_then(integer_of)),
        _ => None,
    };
    let mut key = Vec::new();
    for (i, (key_lo, _)) in halves(&hashes.key).enumerate() {
        if hashes.null_key.value(i) || past.as_ref().is_some_and(|past| past(i)) {
            continue;
        }
        key.clear();
        for e in &encoders {
            e.encode(i, &mut key);
        }
        if top.wants(&key) {
            top.push(key.clone(), key_lo);
        }
    }
    Ok(())
}

/// For a 64- or 32-bit integer column, whether row `i` holds `bound` or more (the caller skips
/// nulls); `None` for other columns, or without a bound.
fn past_bound(column: &ArrayRef, bound: Option<i128>) -> Option<Box<dyn Fn(usize) -> bool + '_>> {
    let bound = bound?;
    let any = column.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        let values = a.values();
        return Some(Box::new(move |i| i128::from(values[i]) >= bound));
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        let values = a.values();
        return Some(Box::new(move |i| i128::from(values[i]) >= bound));
    }
    None
}

/// What a first pass leaves of a file for a second pass over it: a Parquet file on disk, still
/// open, read again without hashing it again.
pub(super) type Kept = Arc<ParquetFile>;

/// Everything read from one side in a pass.
pub(super) struct SideRead {
    pub fingerprint: Fingerprint,
    pub digests: Vec<FileDigest>,
    /// The hashed rows, when they were kept for tier 3.
    pub spooled: Option<Spooled>,
    /// The compact row index, when only that was kept.
    pub index: Option<HashIndex>,
    /// With a column held apart in the index, the keys (low 64 bits of their hashes) of the
    /// left side's rows with the smallest keys ([`candidates_for`]).
    pub candidates: Vec<u64>,
    /// Bytes this pass wrote to the temporary folder (spilled rows and index).
    pub spilled: u64,
    /// What a later pass reuses of each file (by file number; empty when nothing was kept).
    pub kept: Vec<Option<Kept>>,
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

/// Counts a side's bytes as they are read, for the progress bars.
pub(super) fn counter(progress: &Arc<dyn Progress>, side: Side) -> ByteCounter {
    let p = progress.clone();
    Arc::new(move |n| p.bytes_read(side, n))
}

/// One unit of a side's pass: a whole text file, or one job of a Parquet file.
enum Unit {
    Whole(usize),
    Job(usize, Arc<ParquetFile>, Job),
}

/// The state a side's decoded batches feed, shared by the sinks of all its units.
#[derive(Clone)]
struct Sinks {
    side: Side,
    plan: Arc<Plan>,
    spool: Arc<Mutex<Spool>>,
    index: Arc<Mutex<HashIndex>>,
    spooled_schema: SchemaRef,
    fingerprint: Arc<Mutex<Fingerprint>>,
    progress: Arc<dyn Progress>,
    /// The rows to keep, in the second pass of the subset.
    selection: Option<Arc<Selection>>,
    keep_rows: bool,
    keep_index: bool,
    /// The column the index holds apart.
    apart: Option<usize>,
    /// The left rows with the smallest keys, offered batch by batch (with a column held apart).
    candidates: Option<Arc<Mutex<TopN<u64>>>>,
    column_sums: bool,
    keyed: bool,
    /// Whether rows are hashed whole here ([`Keep::hashes_rows`]).
    rows_hashed: bool,
}

impl Sinks {
    fn new(ds: &Dataset, side: Side, reading: &Reading<'_>) -> Sinks {
        let Reading { plan, cfg, .. } = reading;
        let selection = match &reading.keep {
            Keep::Subset { left, right } => Some(match side {
                Side::Left => left.clone(),
                Side::Right => right.clone(),
            }),
            _ => None,
        };
        let projected = match side {
            Side::Left => plan.left_schema.clone(),
            Side::Right => plan.right_schema.clone(),
        };
        let keyed = !plan.key.is_empty();
        let rows_hashed = reading.keep.hashes_rows(keyed);
        let spooled_schema = if rows_hashed {
            spool::spooled_schema(&projected)
        } else {
            spool::keyed_schema(&projected)
        };
        // Each side may hold a little over a third of the budget in rows, and a third in its
        // index (16 bytes a row); the rest is for decoding, gathered Parquet files and tier 3's
        // hash tables. Past that, both go to the temporary folder.
        // Divided first: a budget near the top of the range (`--memory-limit 999999TB`) must not
        // overflow.
        let budget = usize::try_from(cfg.memory_limit / 100 * 35).unwrap_or(usize::MAX);
        let spool = Spool::new(
            spooled_schema.clone(),
            budget,
            reading.partitions,
            reading.spill_dir,
            side.name(),
        );
        // The differing rows are counted before they are read again: a side whose rows will
        // spill spills from its first batch, never holding a full budget of rows first.
        let spool = match (&selection, &reading.keep) {
            (Some(rows), _) => spool.expecting(rows.count() as u64),
            (None, Keep::AllSpilled) => spool.expecting(u64::MAX),
            (None, _) => spool,
        };
        let index = HashIndex::new(
            ds.files.len(),
            usize::try_from(cfg.memory_limit / 3).unwrap_or(usize::MAX),
            Some(reading.spill_dir),
            side.name(),
        );
        let apart = match reading.keep {
            Keep::Index { apart } => apart,
            _ => None,
        };
        let index = if apart.is_some() {
            index.holding_apart()
        } else {
            index
        };
        let candidates = (apart.is_some() && side == Side::Left)
            .then(|| Arc::new(Mutex::new(TopN::new(candidates_for(cfg.samples)))));
        let sums = if reading.column_sums {
            plan.columns.len()
        } else {
            0
        };
        Sinks {
            side,
            plan: (*plan).clone(),
            spool: Arc::new(Mutex::new(spool)),
            index: Arc::new(Mutex::new(index)),
            spooled_schema,
            fingerprint: Arc::new(Mutex::new(Fingerprint::new(sums))),
            progress: reading.progress.clone(),
            selection,
            keep_rows: matches!(
                reading.keep,
                Keep::All | Keep::AllSpilled | Keep::Subset { .. }
            ),
            keep_index: matches!(reading.keep, Keep::Index { .. }),
            apart,
            candidates,
            column_sums: reading.column_sums,
            keyed,
            rows_hashed,
        }
    }

    /// The sink for the batches of file number `file_index` that start at row `first_row` of
    /// the file and follow each other in order.
    fn sink(&self, file_index: usize, file: &DataFile, first_row: u64) -> reader::BatchSink {
        let this = self.clone();
        let partition_values = file.partition_values.clone();
        let url = file.url.clone();
        let mut picker = self
            .selection
            .clone()
            .map(|sel| RowPicker::new(sel, file_index, first_row));
        let mut position = first_row;
        Box::new(move |batch| {
            this.progress.rows_read(this.side, batch.num_rows() as u64);
            let at = position;
            position += batch.num_rows() as u64;
            // The second pass of the subset: only the selected rows go further.
            let batch = match picker.as_mut().map(|p| p.pick(batch.num_rows())) {
                None | Some(Picked::Everything) => batch,
                Some(Picked::Nothing) => return Ok(()),
                Some(Picked::Some(mask)) => arrow::compute::filter_record_batch(&batch, &mask)
                    .map_err(|e| Error::Internal(format!("selecting differing rows: {e}")))?,
            };
            this.take(file_index, at, &batch, &partition_values, &url)
        })
    }

    /// Project, hash and keep one batch of file `file_index` whose first row is at `at`.
    fn take(
        &self,
        file_index: usize,
        at: u64,
        batch: &arrow::record_batch::RecordBatch,
        partition_values: &[(String, Option<String>)],
        url: &str,
    ) -> Result<()> {
        let projected = self.plan.project(self.side, batch, partition_values, url)?;
        if !self.rows_hashed {
            // Counted here; hashed in tier 3.
            let keys = hash_keys(&projected, &self.plan.key)?;
            self.fingerprint.lock().expect("fingerprint lock").rows += projected.num_rows() as u64;
            return self.keep(spool::keyed(&projected, keys)?);
        }
        let mut fp = Fingerprint::new(if self.column_sums {
            self.plan.columns.len()
        } else {
            0
        });
        if let (true, Some(column)) = (self.keep_index, self.apart) {
            return self.index_apart(file_index, at, &projected, column, fp);
        }
        let hashes = hash_batch(&projected, &self.plan.key, &mut fp)?;
        self.fingerprint
            .lock()
            .expect("fingerprint lock")
            .merge(&fp);
        if self.keep_index {
            self.index
                .lock()
                .expect("index lock")
                .add(file_index, at, &hashes, self.keyed)?;
        }
        if !self.keep_rows {
            return Ok(());
        }
        self.keep(spool::hashed(&projected, hashes)?)
    }

    /// Hash a projected batch into the fingerprint and an index holding `column` apart, and
    /// offer its rows' keys to the sample candidates.
    fn index_apart(
        &self,
        file_index: usize,
        at: u64,
        projected: &arrow::record_batch::RecordBatch,
        column: usize,
        mut fp: Fingerprint,
    ) -> Result<()> {
        let (hashes, cells) = hash_batch_cells(projected, &self.plan.key, &mut fp)?;
        self.fingerprint
            .lock()
            .expect("fingerprint lock")
            .merge(&fp);
        let rest = hash_without(&cells, column);
        let added = self.index.lock().expect("index lock").add_apart(
            file_index,
            at,
            &hashes,
            &rest,
            &cells[column],
        )?;
        let (true, Some(candidates)) = (added, &self.candidates) else {
            return Ok(());
        };
        // Only keys below the largest of those kept so far can enter: most rows are turned away
        // at once.
        let mut top = candidates.lock().expect("candidates lock").emptied();
        let key_columns: Vec<&ArrayRef> =
            self.plan.key.iter().map(|&k| projected.column(k)).collect();
        offer_smallest(&mut top, &key_columns, &hashes)?;
        candidates.lock().expect("candidates lock").absorb(top);
        Ok(())
    }

    /// Keep a batch with its hashes attached. Rows kept in memory are copied out of their
    /// pages here, on this unit's thread; rows that spill are copied once, into their
    /// partitions. A spool never stops spilling.
    fn keep(&self, hashed: arrow::record_batch::RecordBatch) -> Result<()> {
        let spilling = self.spool.lock().expect("spool lock").spilling();
        let batch = if spilling {
            hashed
        } else {
            spool::compact(&self.spooled_schema, &hashed)?
        };
        self.spool.lock().expect("spool lock").push(batch)
    }

    /// What the pass kept, once every unit has run.
    async fn finish(self, digests: Vec<FileDigest>, kept: Vec<Option<Kept>>) -> Result<SideRead> {
        let Sinks {
            spool,
            index,
            fingerprint,
            keep_rows,
            keep_index,
            candidates,
            ..
        } = self;
        let candidates = match candidates {
            Some(c) => Arc::try_unwrap(c)
                .map_err(|_| Error::Internal("candidates still shared".into()))?
                .into_inner()
                .map_err(|_| Error::Internal("candidates lock poisoned".into()))?
                .into_sorted(),
            None => Vec::new(),
        };
        let spool = Arc::try_unwrap(spool)
            .map_err(|_| Error::Internal("spool still shared".into()))?
            .into_inner()
            .map_err(|_| Error::Internal("spool lock poisoned".into()))?;
        let mut spilled = spool.spilled_bytes();
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
        spilled += index.as_ref().map_or(0, HashIndex::spilled_bytes);
        Ok(SideRead {
            fingerprint,
            digests,
            spooled,
            index,
            candidates,
            spilled,
            kept,
        })
    }
}

/// Where a first pass keeps the Parquet files a second pass over the same files reads again.
struct Keeping {
    /// Whether files are kept: a first pass that a second may follow, over a side with few
    /// enough files to keep them open.
    on: bool,
    kept: Mutex<Vec<Option<Kept>>>,
}

impl Keeping {
    fn new(ds: &Dataset, reading: &Reading<'_>, first: bool) -> Keeping {
        let on = first && reading.keep.second_may_follow() && ds.files.len() <= max_kept_open();
        Keeping {
            on,
            kept: Mutex::new(if on {
                vec![None; ds.files.len()]
            } else {
                Vec::new()
            }),
        }
    }

    /// Keep a Parquet file whose bytes are on disk (not gathered in memory).
    fn keep(&self, i: usize, parquet: &Arc<ParquetFile>) {
        if self.on && parquet.on_disk() {
            if let Some(slot) = self.kept.lock().expect("kept lock").get_mut(i) {
                *slot = Some(parquet.clone());
            }
        }
    }

    fn into_inner(self) -> Vec<Option<Kept>> {
        self.kept.into_inner().expect("kept lock")
    }
}

/// The units of one file: open it (a Parquet file's footer read, a remote one fetched, or the
/// first pass's open file reused) and list its jobs; a text file is one unit.
#[allow(clippy::too_many_arguments)]
async fn file_units(
    ds: &Dataset,
    i: usize,
    decode_schema: &SchemaRef,
    reading: &Reading<'_>,
    reuse: &[Option<Kept>],
    keeping: &Keeping,
    count: &ByteCounter,
    selection: Option<&Arc<Selection>>,
) -> Result<Vec<Unit>> {
    let file = &ds.files[i];
    if file.format.format != source::FileFormat::Parquet {
        return Ok(vec![Unit::Whole(i)]);
    }
    let wanted = |first: u64, rows: u64| selection.is_none_or(|sel| sel.selects(i, first, rows));
    let dataset = Some(decode_schema.clone());
    let concurrency = reading.cfg.concurrency.max(1) as u64;
    // Parquet files fetched from a store and gathered in memory may take a quarter of the
    // budget across both sides. A side holds at most the files of its running units, the file
    // being split into units and the `concurrency` files opened ahead; a larger file is
    // gathered in a temporary file instead.
    let gathering = Gathering {
        spill_over: reading.cfg.memory_limit / (2 * concurrency + 1).saturating_mul(8),
        tmp_dir: reading.spill_dir,
    };
    let (parquet, jobs) = match reuse.get(i).cloned().flatten() {
        Some(parquet) => {
            let jobs = parquet.jobs_again(wanted);
            (parquet, jobs)
        }
        None => parts::open_parquet(&ds.location, file, gathering, count, wanted, dataset)
            .await?
            .ok_or_else(|| Error::Internal(format!("{} is not Parquet", file.url)))?,
    };
    keeping.keep(i, &parquet);
    Ok(jobs
        .into_iter()
        .map(|job| Unit::Job(i, parquet.clone(), job))
        .collect())
}

/// Run one unit on a blocking thread; the unit that completes a file returns its digest.
async fn run_unit(
    ds: &Dataset,
    unit: Unit,
    decode_schema: SchemaRef,
    sinks: &Sinks,
    count: ByteCounter,
) -> Result<Option<(usize, FileDigest)>> {
    match unit {
        Unit::Whole(i) => {
            let file = &ds.files[i];
            let sink = sinks.sink(i, file, 0);
            let digest =
                reader::read_text_file(&ds.location, file, decode_schema, &count, sink).await?;
            Ok(Some((i, digest)))
        }
        Unit::Job(i, parquet, job) => {
            let first_row = match &job {
                Job::Decode(part) => part.first_row,
                Job::Hash => 0,
            };
            let mut sink = sinks.sink(i, &ds.files[i], first_row);
            let done = tokio::task::spawn_blocking(move || parquet.run(&job, &count, &mut sink))
                .await
                .map_err(crate::panics::joined)??;
            Ok(done.map(|d| (i, d)))
        }
    }
}

/// One pass over a side. `reuse` holds what a first pass kept of each file (empty for a first
/// pass).
pub(super) async fn read_side(
    ds: &Dataset,
    side: Side,
    decode_schema: SchemaRef,
    reading: &Reading<'_>,
    reuse: &[Option<Kept>],
) -> Result<SideRead> {
    let sinks = Sinks::new(ds, side, reading);
    let keeping = Keeping::new(ds, reading, reuse.is_empty());
    reading
        .progress
        .side_started(side, ds.files.len() as u64, ds.total_bytes());
    let count = counter(reading.progress, side);
    let selection = sinks.selection.clone();
    // With a selection, only the files holding selected rows are read, and of a Parquet file
    // only the parts holding some.
    let files =
        (0..ds.files.len()).filter(|&i| selection.as_ref().is_none_or(|sel| sel.has_rows(i)));
    // Up to `concurrency` units a side run at once, each on its own blocking thread. A unit is
    // a whole text file, or one job of a Parquet file (its hash, or a run of its row groups),
    // so that a side's last large file is still decoded on every core. Up to `concurrency`
    // next files are opened (fetched when remote, their footers read) while the current units
    // run: fetching small remote files one or two at a time would wait on the store.
    let concurrency = reading.cfg.concurrency.max(1);
    let (schema, keeping_ref, count_ref) = (&decode_schema, &keeping, &count);
    let units = futures::stream::iter(files)
        .map(|i| {
            let selection = selection.clone();
            async move {
                file_units(
                    ds,
                    i,
                    schema,
                    reading,
                    reuse,
                    keeping_ref,
                    count_ref,
                    selection.as_ref(),
                )
                .await
            }
        })
        .buffered(concurrency)
        .map_ok(|units| futures::stream::iter(units.into_iter().map(Ok::<_, Error>)))
        .try_flatten();
    let mut finished: Vec<(usize, FileDigest)> = units
        .map_ok(|unit| run_unit(ds, unit, decode_schema.clone(), &sinks, count.clone()))
        .try_buffer_unordered(concurrency)
        .try_filter_map(|done| futures::future::ready(Ok(done)))
        .try_collect()
        .await?;
    finished.sort_by_key(|(i, _)| *i);
    let digests = finished.into_iter().map(|(_, d)| d).collect();
    sinks.finish(digests, keeping.into_inner()).await
}

/// Read both sides again, checking that no file changed since the first pass.
pub(super) async fn second_read(
    sides: [(&Dataset, &SchemaRef, &SideRead); 2],
    reading: &Reading<'_>,
) -> Result<(SideRead, SideRead)> {
    let [(lds, lschema, lfirst), (rds, rschema, rfirst)] = sides;
    let (l, r) = futures::try_join!(
        read_side(lds, Side::Left, lschema.clone(), reading, &lfirst.kept),
        read_side(rds, Side::Right, rschema.clone(), reading, &rfirst.kept)
    )?;
    unchanged(&lfirst.digests, &l.digests)?;
    unchanged(&rfirst.digests, &r.digests)?;
    Ok((l, r))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::logical::hash_keys;
    use arrow::record_batch::RecordBatch;

    /// The key hashes of a one-column batch, as the pass makes them.
    fn hashes_of(column: &ArrayRef) -> RowHashes {
        let batch = RecordBatch::try_from_iter([("k", column.clone())]).unwrap();
        let keys = hash_keys(&batch, &[0]).unwrap();
        RowHashes {
            row: keys.key.clone(),
            key: keys.key,
            null_key: keys.null_key,
        }
    }

    /// A batch offered to candidates that already hold their number starts from their bar:
    /// exactly the keys below it enter, whether turned away by value (integers) or by their
    /// encoding (strings); nulls never do.
    #[test]
    fn keys_below_the_bar_enter_the_candidates() {
        let bar: Vec<i64> = (100..130).collect();
        let offered = vec![
            Some(99),
            Some(100),
            Some(101),
            Some(102),
            None,
            Some(50),
            Some(150),
        ];
        let string = |v: i64| format!("k{v:04}");
        let columns: Vec<(ArrayRef, ArrayRef)> = vec![
            (
                Arc::new(Int64Array::from(bar.clone())),
                Arc::new(Int64Array::from(offered.clone())),
            ),
            (
                Arc::new(Int32Array::from_iter(bar.iter().map(|&v| Some(v as i32)))),
                Arc::new(Int32Array::from_iter(
                    offered.iter().map(|v| v.map(|v| v as i32)),
                )),
            ),
            (
                Arc::new(arrow::array::StringArray::from_iter_values(
                    bar.iter().map(|&v| string(v)),
                )),
                Arc::new(arrow::array::StringArray::from_iter(
                    offered.iter().map(|v| v.map(string)),
                )),
            ),
        ];
        for (first, then) in columns {
            // Three kept of 30 offered: the bar is the third smallest, 102.
            let mut shared = TopN::new(3);
            offer_smallest(&mut shared, &[&first], &hashes_of(&first)).unwrap();
            assert!(shared.threshold().is_some(), "{}", first.data_type());
            let mut top = shared.emptied();
            offer_smallest(&mut top, &[&then], &hashes_of(&then)).unwrap();
            let low =
                |column: &ArrayRef, i: usize| halves(&hashes_of(column).key).nth(i).unwrap().0;
            let entered = top.into_sorted();
            // Of 99, 100, 101 and 50 (below the bar), the three smallest, in key order.
            let want = vec![low(&then, 5), low(&then, 0), low(&then, 1)];
            assert_eq!(entered, want, "{}", then.data_type());
        }
    }
}
