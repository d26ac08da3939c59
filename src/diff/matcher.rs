//! Tier 3: the row diff of one partition.
//!
//! Rows are matched on their key hash (the row hash when there is no key). A key found once on
//! each side is a matched pair: equal row hashes mean equal rows; otherwise the pair's cell
//! words ([`super::words`]) say which non-key cells differ, and each of those is compared as a
//! typed [`Cell`] (equal exactly when the canonical encodings are; the encodings themselves for
//! layouts without one), with the column's tolerance for floats and decimals. Without words
//! (they would not fit), every non-key cell is compared so, and so is every cell of a pair
//! whose words all agree although its row hashes differ.
//! A key found more than once on a side (a duplicate) or with a null component is never
//! collapsed: the rows that share it are matched as a multiset of whole rows, and what is left
//! over is counted as only-left or only-right. Without a key the whole diff is such a multiset
//! match. Large partitions are grouped further in memory so each hash table stays small.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::gather::Sources;
use super::spool::{key_hashes, null_keys, row_hashes};
use super::summary::{CellChange, ChangedSample, SampleRow};
use super::words::{group_of, CellWords};
use crate::error::Result;
use crate::fingerprint::encoding::{encoder, CellEncoder};
use crate::fingerprint::logical::{fold_rows, hash_at, Fingerprint};
use crate::redact::Redactor;
use crate::schema::Plan;

/// The keys of tier 3's tables are already 128-bit hashes: fold them instead of hashing again.
#[derive(Default)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type HashTable<V> = HashMap<u128, V, BuildHasherDefault<PreHashed>>;
type HashKeys = HashSet<u128, BuildHasherDefault<PreHashed>>;

/// A row of a side: batch index in the high 32 bits, row in the low 32.
pub type RowRef = u64;

/// No row: a place in a group's list of rows no group reaches.
const NO_ROW: u32 = u32::MAX;

#[inline]
fn row_ref(batch: usize, row: usize) -> RowRef {
    ((batch as u64) << 32) | row as u64
}

#[inline]
pub(super) fn split_ref(r: RowRef) -> (usize, usize) {
    ((r >> 32) as usize, (r & 0xffff_ffff) as usize)
}

/// Kinds of differing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiffKind {
    /// Only on the left.
    OnlyLeft,
    /// Only on the right.
    OnlyRight,
    /// Matched, with changed cells.
    Changed,
}

impl DiffKind {
    /// The name written in the diff file.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::OnlyLeft => "only_left",
            DiffKind::OnlyRight => "only_right",
            DiffKind::Changed => "changed",
        }
    }
}

/// One differing row, for the full diff output.
#[derive(Debug, Clone)]
pub struct DiffRow {
    /// Its kind.
    pub kind: DiffKind,
    /// Key hash, for a repeatable order.
    pub order: u128,
    /// The left row.
    pub left: Option<RowRef>,
    /// The right row.
    pub right: Option<RowRef>,
    /// Changed columns (indices into the plan), for changed rows.
    pub changed: Vec<usize>,
}

/// The N smallest items by a sort key.
#[derive(Debug, Clone)]
pub struct TopN<T> {
    n: usize,
    items: Vec<(Vec<u8>, T)>,
    threshold: Option<Vec<u8>>,
}

impl<T> TopN<T> {
    /// Keep `n` items.
    pub fn new(n: usize) -> Self {
        TopN {
            n,
            items: Vec::new(),
            threshold: None,
        }
    }

    /// An empty collection of the same size that wants only the keys this one does.
    pub fn emptied(&self) -> Self {
        TopN {
            n: self.n,
            items: Vec::new(),
            threshold: self.threshold.clone(),
        }
    }

    /// The key an item's must be below to be kept, once the collection is full.
    pub fn threshold(&self) -> Option<&[u8]> {
        self.threshold.as_deref()
    }

    /// Whether an item with this key would be kept.
    pub fn wants(&self, key: &[u8]) -> bool {
        self.n > 0 && self.threshold.as_deref().is_none_or(|t| key < t)
    }

    /// Offer an item.
    pub fn push(&mut self, key: Vec<u8>, item: T) {
        if !self.wants(&key) {
            return;
        }
        self.items.push((key, item));
        if self.items.len() >= self.n * 4 + 16 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.items.sort_by(|a, b| a.0.cmp(&b.0));
        self.items.truncate(self.n);
        if self.items.len() == self.n {
            self.threshold = self.items.last().map(|(k, _)| k.clone());
        }
    }

    /// Take in another collection's items.
    pub fn absorb(&mut self, other: TopN<T>) {
        for (k, item) in other.items {
            self.push(k, item);
        }
    }

    /// The kept items, in key order.
    pub fn into_sorted(mut self) -> Vec<T> {
        self.compact();
        self.items.into_iter().map(|(_, t)| t).collect()
    }
}

/// Running totals of tier 3.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Rows only on the left.
    pub only_left: u64,
    /// Rows only on the right.
    pub only_right: u64,
    /// Matched rows with a change beyond tolerance.
    pub changed_rows: u64,
    /// Matched rows with only within-tolerance differences.
    pub within_rows: u64,
    /// Matched pairs (keys found once on each side).
    pub matched_rows: u64,
    /// Per plan column.
    pub changed_cells: Vec<u64>,
    /// Per plan column.
    pub within_cells: Vec<u64>,
    /// Per plan column: largest absolute difference among changed numeric cells.
    pub max_abs: Vec<f64>,
    /// Per plan column: largest relative difference among changed numeric cells.
    pub max_rel: Vec<f64>,
    /// Per plan column: a change that no tolerance could absorb (null vs value, NaN, ±inf).
    pub non_numeric: Vec<bool>,
    /// Duplicate keys on the left.
    pub dup_left: u64,
    /// Duplicate keys on the right.
    pub dup_right: u64,
    /// Null-key rows on the left.
    pub null_left: u64,
    /// Null-key rows on the right.
    pub null_right: u64,
    /// Samples.
    pub samples_left: TopN<SampleRow>,
    /// Samples.
    pub samples_right: TopN<SampleRow>,
    /// Samples.
    pub samples_changed: TopN<ChangedSample>,
    /// Differing rows of the current partition (only collected for the diff file).
    pub rows: Vec<DiffRow>,
    /// The fingerprints of the two sides, made here from rows spooled without their row
    /// hashes (`None` when the fingerprint pass made them).
    pub fingerprints: Option<[Fingerprint; 2]>,
}

impl Tally {
    /// An empty tally for `columns` columns keeping `samples` samples per kind.
    pub fn new(columns: usize, samples: usize) -> Self {
        Tally {
            only_left: 0,
            only_right: 0,
            changed_rows: 0,
            within_rows: 0,
            matched_rows: 0,
            changed_cells: vec![0; columns],
            within_cells: vec![0; columns],
            max_abs: vec![0.0; columns],
            max_rel: vec![0.0; columns],
            non_numeric: vec![false; columns],
            dup_left: 0,
            dup_right: 0,
            null_left: 0,
            null_right: 0,
            samples_left: TopN::new(samples),
            samples_right: TopN::new(samples),
            samples_changed: TopN::new(samples),
            rows: Vec::new(),
            fingerprints: None,
        }
    }
}

impl Tally {
    /// An empty tally with the same shape.
    pub fn fresh(&self) -> Tally {
        Tally::new(self.changed_cells.len(), self.samples_left.n)
    }

    /// Add another tally's counts, samples and rows to this one.
    pub fn merge(&mut self, other: Tally) {
        self.only_left += other.only_left;
        self.only_right += other.only_right;
        self.changed_rows += other.changed_rows;
        self.within_rows += other.within_rows;
        self.matched_rows += other.matched_rows;
        for i in 0..self.changed_cells.len() {
            self.changed_cells[i] += other.changed_cells[i];
            self.within_cells[i] += other.within_cells[i];
            self.max_abs[i] = self.max_abs[i].max(other.max_abs[i]);
            self.max_rel[i] = self.max_rel[i].max(other.max_rel[i]);
            self.non_numeric[i] |= other.non_numeric[i];
        }
        self.dup_left += other.dup_left;
        self.dup_right += other.dup_right;
        self.null_left += other.null_left;
        self.null_right += other.null_right;
        self.samples_left.absorb(other.samples_left);
        self.samples_right.absorb(other.samples_right);
        self.samples_changed.absorb(other.samples_changed);
        self.rows.extend(other.rows);
        if let Some([l, r]) = other.fingerprints {
            let columns = self.changed_cells.len();
            let [sl, sr] = self
                .fingerprints
                .get_or_insert_with(|| [Fingerprint::new(columns), Fingerprint::new(columns)]);
            sl.merge(&l);
            sr.merge(&r);
        }
    }
}

/// A row of one side of a partition as the grouping sees it: its key hash, where it is, whether
/// its key is null, and its row hash (read here, in batch order, rather than at random later).
#[derive(Clone, Copy)]
struct Ref {
    key: u128,
    row: RowRef,
    null: bool,
    hash: u128,
}

/// One side of a partition, ready to look rows up.
struct SideRows<'a> {
    batches: &'a [RecordBatch],
    encoders: Vec<Vec<Box<dyn CellEncoder>>>,
    /// Each column of every batch, to gather matched cells from.
    columns: Vec<Sources<'a>>,
    /// Row hashes made here, a batch at a time, for rows spooled without them.
    made: Option<Vec<FixedSizeBinaryArray>>,
}

impl<'a> SideRows<'a> {
    fn new(batches: &'a [RecordBatch], columns: usize) -> Result<Self> {
        let encoders = batches
            .iter()
            .map(|b| {
                (0..columns)
                    .map(|c| encoder(b.column(c)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let columns = (0..columns)
            .map(|c| Sources::new(batches.iter().map(|b| b.column(c)).collect()))
            .collect();
        Ok(SideRows {
            batches,
            encoders,
            columns,
            made: None,
        })
    }

    /// Whether the rows came without their row hashes.
    fn unhashed(&self) -> bool {
        self.batches.iter().any(|b| row_hashes(b).is_none())
    }

    /// Make the row hashes of rows spooled without them, from every cell's hash, adding the
    /// rows to `fp`; the cell hashes of the `compared` columns come back as the side's words,
    /// in `groups` groups, when `keep_words`.
    fn hash_rows(
        &mut self,
        keyed: bool,
        compared: &[usize],
        keep_words: bool,
        groups: usize,
        fp: &mut Fingerprint,
    ) -> Option<CellWords> {
        let mut made = Vec::with_capacity(self.batches.len());
        let rows = self.batches.iter().map(RecordBatch::num_rows).sum();
        let mut words = keep_words.then(|| CellWords::empty(groups, rows, compared.len()));
        for (b, encoders) in self.batches.iter().zip(&self.encoders) {
            let n = b.num_rows();
            let cells: Vec<Vec<u64>> = encoders
                .iter()
                .map(|e| {
                    let mut out = Vec::with_capacity(n);
                    e.hash_cells(n, &mut out);
                    out
                })
                .collect();
            let all: Vec<&[u64]> = cells.iter().map(Vec::as_slice).collect();
            made.push(fold_rows(&all, n, keyed.then(|| key_hashes(b)), fp));
            if let Some(words) = words.as_mut() {
                let picked: Vec<&[u64]> = compared.iter().map(|&c| all[c]).collect();
                words.append(n, &picked, Some(key_hashes(b)));
            }
        }
        self.made = Some(made);
        words
    }

    /// The row hash of each row of batch `b`.
    fn hashes_of(&self, b: usize) -> &FixedSizeBinaryArray {
        match &self.made {
            Some(made) => &made[b],
            None => row_hashes(&self.batches[b]).expect("a spooled batch's row hashes"),
        }
    }

    /// Column `col` of the rows `refs` (batch, row), gathered into one array in that order.
    fn gather(&self, col: usize, refs: &[(usize, usize)]) -> Result<ArrayRef> {
        self.columns[col].take(refs).map_err(|e| {
            crate::error::Error::Internal(format!("gathering matched rows of column {col}: {e}"))
        })
    }

    fn encode(&self, r: RowRef, col: usize, out: &mut Vec<u8>) {
        let (b, row) = split_ref(r);
        self.encoders[b][col].encode(row, out);
    }

    fn row_hash(&self, r: RowRef) -> u128 {
        let (b, row) = split_ref(r);
        hash_at(self.hashes_of(b), row)
    }

    fn render(&self, r: RowRef, col: usize, redactor: Option<&Redactor>) -> Option<String> {
        let (b, row) = split_ref(r);
        let array: &ArrayRef = self.batches[b].column(col);
        render_cell(array, row, redactor)
    }
}

/// A cell's redacted form: the keyed hash of its canonical encoding, not of its display text,
/// so values parity treats as equal (1.50 and 1.5, one instant in two zones) hash equal.
pub fn redact_cell(
    encoder: &dyn CellEncoder,
    row: usize,
    r: &Redactor,
    scratch: &mut Vec<u8>,
) -> String {
    scratch.clear();
    encoder.encode(row, scratch);
    r.redact_bytes(scratch)
}

/// Render one cell for people: `None` for null, the redacted hash when redacting.
pub fn render_cell(array: &ArrayRef, row: usize, redactor: Option<&Redactor>) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    if let Some(r) = redactor {
        return Some(match encoder(array) {
            Ok(e) => redact_cell(e.as_ref(), row, r, &mut Vec::new()),
            Err(_) => r.redact_bytes(b"<unencodable>"),
        });
    }
    let options = FormatOptions::default();
    let text = match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(f) => f.value(row).to_string(),
        Err(e) => format!("<unprintable: {e}>"),
    };
    Some(text)
}

/// Rows (both sides) a group of a partition holds on average: its hash table and both sides'
/// words of it (64 bytes a row for eight compared columns) take a few MiB, so the words of a
/// pair's rows, one side's read in no order, are near at hand. On the every-row pair (16
/// partitions of 1.25M rows a side), groups of 100,000 rows diffed in 2.54-2.73 s, of 40,000
/// in 2.62-2.72 s, of 16,000 in 3.2 s, and of 1,000,000 (the words then in batch order) in
/// 2.65-2.81 s.
const GROUP_ROWS: usize = 100_000;

/// Matched pairs compared at once (their gathered cells stay in the cache).
const PAIR_CHUNK: usize = 4096;

/// A matched pair whose row hashes differ.
#[derive(Debug, Clone, Copy)]
struct Pair {
    l: RowRef,
    r: RowRef,
    /// The key hash: the pair's place in the diff file.
    key: u128,
    /// Each row's place in its side's list of the group, which is where its words are.
    at: (u32, u32),
}

/// For each compared column (`width` of them), the pairs of `chunk` (by position) whose cell
/// words differ there (`words`: both sides' words of the pairs' group, `width` a row); without
/// words, every pair in every column. Second, the pairs whose words all agree although their
/// row hashes differ: the words and row hashes come from the same cell hashes, so this cannot
/// happen short of a 64-bit collision, and such a pair is compared by value in every column
/// rather than taken as equal.
fn suspects(
    chunk: &[Pair],
    words: Option<(&[u64], &[u64])>,
    width: usize,
) -> (Vec<Vec<u32>>, Vec<u32>) {
    let Some((lw, rw)) = words else {
        return (vec![(0..chunk.len() as u32).collect(); width], Vec::new());
    };
    let row = |i: u32| -> std::ops::Range<usize> {
        let at = i as usize * width;
        at..at + width
    };
    let mut out = vec![Vec::new(); width];
    let mut unexplained = Vec::new();
    for (i, pair) in chunk.iter().enumerate() {
        let (li, ri) = pair.at;
        let mut any = false;
        for (j, (x, y)) in lw[row(li)].iter().zip(&rw[row(ri)]).enumerate() {
            if x != y {
                out[j].push(i as u32);
                any = true;
            }
        }
        if !any {
            unexplained.push(i as u32);
        }
    }
    (out, unexplained)
}

/// What the column-by-column comparison of a chunk of pairs found: per pair, a bit per changed
/// column and whether a difference was within tolerance.
struct PairMarks {
    words: usize,
    bits: Vec<u64>,
    within: Vec<bool>,
}

impl PairMarks {
    fn new(pairs: usize, columns: usize) -> Self {
        let words = columns.div_ceil(64);
        PairMarks {
            words,
            bits: vec![0; pairs * words],
            within: vec![false; pairs],
        }
    }

    fn set(&mut self, pair: usize, column: usize) {
        self.bits[pair * self.words + column / 64] |= 1 << (column % 64);
    }

    fn any(&self, pair: usize) -> bool {
        self.bits[pair * self.words..(pair + 1) * self.words]
            .iter()
            .any(|w| *w != 0)
    }

    /// The changed columns of a pair, ascending.
    fn columns(&self, pair: usize) -> impl Iterator<Item = usize> + '_ {
        self.bits[pair * self.words..(pair + 1) * self.words]
            .iter()
            .enumerate()
            .flat_map(|(w, &word)| {
                (0..64)
                    .filter(move |b| word & (1 << b) != 0)
                    .map(move |b| w * 64 + b)
            })
    }
}

/// Whether two cells of `col` whose words differ are known to differ without looking at them:
/// a word is the hash of the cell's canonical encoding, so different words are different
/// encodings, and two cells are equal exactly when their encodings are. Float and decimal
/// cells are still compared, for their tolerance and for the largest differences the hints
/// report; so is a column whose two sides have different types, where the typed comparison
/// stays the judge of cells that encoders of two types hashed.
fn settled_by_words(col: &crate::schema::PlanColumn) -> bool {
    use crate::fingerprint::Family;
    col.tolerance.is_none()
        && !matches!(col.family, Family::Float | Family::Decimal)
        && col.left_type == col.right_type
}

/// Whether the fingerprint pass's index may hold column `c` apart and count the pairs that
/// differ only there without reading them again: a column that is not part of the key and
/// whose cells are settled by their hashes, so a count is all tier 3 would have found.
pub(super) fn held_apart_ok(plan: &Plan, c: usize) -> bool {
    let col = &plan.columns[c];
    !col.is_key && settled_by_words(col)
}

/// Whether two different cells (row `i` of the gathered columns) are within the column's
/// tolerance; a change beyond it records the largest differences for the hints. Decimals are
/// held to their tolerance exactly, floats in floating point.
fn within_tolerance(
    col: &crate::schema::PlanColumn,
    c: usize,
    le: &dyn CellEncoder,
    re: &dyn CellEncoder,
    i: usize,
    tally: &mut Tally,
) -> bool {
    let exact = match (col.tolerance, le.decimal(i), re.decimal(i)) {
        (Some(t), Some(x), Some(y)) => Some(t.accepts_decimal(x, y)),
        _ => None,
    };
    match (le.float(i), re.float(i)) {
        (Some(x), Some(y)) => {
            let accepted = exact.unwrap_or_else(|| col.tolerance.is_some_and(|t| t.accepts(x, y)));
            if accepted {
                tally.within_cells[c] += 1;
                return true;
            }
            if x.is_finite() && y.is_finite() {
                let diff = (x - y).abs();
                let scale = x.abs().max(y.abs());
                tally.max_abs[c] = tally.max_abs[c].max(diff);
                if scale > 0.0 {
                    tally.max_rel[c] = tally.max_rel[c].max(diff / scale);
                }
            } else {
                tally.non_numeric[c] = true;
            }
        }
        _ => tally.non_numeric[c] = true,
    }
    false
}

/// Everything tier 3 needs that does not change between partitions.
pub struct Matcher<'p> {
    plan: &'p Plan,
    redactor: Option<&'p Redactor>,
    keep_rows: bool,
    duplicates: Option<&'p crate::diff::subset::HashSet64>,
    /// Bytes a partition's cell words may take (see [`CellWords::fit`]).
    words_budget: usize,
    /// The plan's non-key columns: the ones compared cell by cell, in the order of the words.
    compared: Vec<usize>,
    /// Per compared column, whether differing words settle that its cells differ (see
    /// [`settled_by_words`]).
    settled: Vec<bool>,
}

impl<'p> Matcher<'p> {
    /// A matcher. `keep_rows` collects every differing row for the diff file.
    ///
    /// `duplicates` holds keys known to be duplicated in the whole table (low 64 bits of the
    /// key hash) when this matcher only sees a subset of the rows.
    pub fn new(
        plan: &'p Plan,
        redactor: Option<&'p Redactor>,
        keep_rows: bool,
        duplicates: Option<&'p crate::diff::subset::HashSet64>,
    ) -> Self {
        let compared: Vec<usize> = (0..plan.columns.len())
            .filter(|&c| !plan.columns[c].is_key)
            .collect();
        let settled = compared
            .iter()
            .map(|&c| settled_by_words(&plan.columns[c]))
            .collect();
        Matcher {
            plan,
            redactor,
            keep_rows,
            duplicates,
            words_budget: usize::MAX,
            compared,
            settled,
        }
    }

    /// Let a partition's cell words take at most `bytes`. Tier 3 gives them an eighth of the
    /// memory limit: beside the partition being diffed and the one read ahead (a quarter of
    /// the limit each, when spilled) that keeps it within the limit, and rows kept in memory
    /// by the million (up to 70% of the limit) compare without them.
    pub fn words_within(mut self, bytes: usize) -> Self {
        self.words_budget = bytes;
        self
    }

    fn known_duplicate(&self, key: u128) -> bool {
        self.duplicates.is_some_and(|d| d.contains(&(key as u64)))
    }

    fn keyed(&self) -> bool {
        !self.plan.key.is_empty()
    }

    fn sort_key(&self, side: &SideRows, r: RowRef) -> Vec<u8> {
        let mut out = Vec::new();
        self.sort_key_into(side, r, &mut out);
        out
    }

    /// The order of samples: the key's encoding (the whole row's without a key), into `out`.
    fn sort_key_into(&self, side: &SideRows, r: RowRef, out: &mut Vec<u8>) {
        out.clear();
        if self.keyed() {
            for &k in &self.plan.key {
                side.encode(r, k, out);
            }
        } else {
            for c in 0..self.plan.columns.len() {
                side.encode(r, c, out);
            }
        }
    }

    fn sample_row(&self, side: &SideRows, r: RowRef) -> SampleRow {
        self.plan
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| (col.name.clone(), side.render(r, c, self.redactor)))
            .collect()
    }

    fn only(
        &self,
        side: &SideRows,
        r: RowRef,
        left: bool,
        count: u64,
        tally: &mut Tally,
        order: u128,
    ) {
        let top = if left {
            &mut tally.samples_left
        } else {
            &mut tally.samples_right
        };
        if left {
            tally.only_left += count;
        } else {
            tally.only_right += count;
        }
        let key = self.sort_key(side, r);
        if top.wants(&key) {
            let sample = self.sample_row(side, r);
            let top = if left {
                &mut tally.samples_left
            } else {
                &mut tally.samples_right
            };
            top.push(key, sample);
        }
        if self.keep_rows {
            for _ in 0..count {
                tally.rows.push(DiffRow {
                    kind: if left {
                        DiffKind::OnlyLeft
                    } else {
                        DiffKind::OnlyRight
                    },
                    order,
                    left: left.then_some(r),
                    right: (!left).then_some(r),
                    changed: Vec::new(),
                });
            }
        }
    }

    /// Compare matched pairs (left row, right row, key hash) whose row hashes differ, a chunk
    /// at a time. Each pair's cell words, when there are any, are read first; only the cells
    /// whose words differ are gathered, column by column, into arrays of their own for the
    /// typed comparison: reading two sides' columns pair by pair misses the cache at every
    /// cell, gathering a column for many pairs at once does not wait on each.
    fn compare_pairs(
        &self,
        sides: (&SideRows, &SideRows),
        words: Option<(&[u64], &[u64])>,
        differing: &[Pair],
        tally: &mut Tally,
    ) -> Result<()> {
        let width = self.compared.len();
        for chunk in differing.chunks(PAIR_CHUNK) {
            let (suspects, unexplained) = suspects(chunk, words, width);
            self.compare_chunk(sides, chunk, &suspects, words.is_some(), tally)?;
            if !unexplained.is_empty() {
                tracing::warn!(
                    "{} matched pairs differ by row hash but in no cell word; compared by value",
                    unexplained.len()
                );
                let pairs: Vec<Pair> = unexplained.iter().map(|&i| chunk[i as usize]).collect();
                let every = vec![(0..pairs.len() as u32).collect(); width];
                self.compare_chunk(sides, &pairs, &every, false, tally)?;
            }
        }
        Ok(())
    }

    /// Compare the cells of a chunk of pairs whose rows differ, then count and keep each pair.
    /// `suspects[j]` lists the pairs (positions in `chunk`) whose words for the `j`th compared
    /// column differ (`by_words`; every pair without words); every other cell is equal.
    fn compare_chunk(
        &self,
        (l, r): (&SideRows, &SideRows),
        chunk: &[Pair],
        suspects: &[Vec<u32>],
        by_words: bool,
        tally: &mut Tally,
    ) -> Result<()> {
        let mut marks = PairMarks::new(chunk.len(), self.plan.columns.len());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for ((&c, pairs), &settled) in self.compared.iter().zip(suspects).zip(&self.settled) {
            if pairs.is_empty() {
                continue;
            }
            if by_words && settled {
                // The cells' canonical encodings differ: changed, nothing to gather.
                tally.changed_cells[c] += pairs.len() as u64;
                tally.non_numeric[c] = true;
                for &pair in pairs {
                    marks.set(pair as usize, c);
                }
                continue;
            }
            let col = &self.plan.columns[c];
            let lrefs: Vec<(usize, usize)> = pairs
                .iter()
                .map(|&i| split_ref(chunk[i as usize].l))
                .collect();
            let rrefs: Vec<(usize, usize)> = pairs
                .iter()
                .map(|&i| split_ref(chunk[i as usize].r))
                .collect();
            let (la, ra) = (l.gather(c, &lrefs)?, r.gather(c, &rrefs)?);
            let (le, re) = (encoder(&la)?, encoder(&ra)?);
            for (k, &pair) in pairs.iter().enumerate() {
                let equal = match (le.cell(k), re.cell(k)) {
                    (Some(x), Some(y)) => x == y,
                    _ => {
                        a.clear();
                        b.clear();
                        le.encode(k, &mut a);
                        re.encode(k, &mut b);
                        a == b
                    }
                };
                if equal {
                    continue;
                }
                if within_tolerance(col, c, le.as_ref(), re.as_ref(), k, tally) {
                    marks.within[pair as usize] = true;
                } else {
                    tally.changed_cells[c] += 1;
                    marks.set(pair as usize, c);
                }
            }
        }
        let mut key = Vec::new();
        for (i, pair) in chunk.iter().enumerate() {
            if !marks.any(i) {
                if marks.within[i] {
                    tally.within_rows += 1;
                }
                continue;
            }
            tally.changed_rows += 1;
            self.keep_changed(l, r, pair, marks.columns(i), &mut key, tally);
        }
        Ok(())
    }

    /// A changed pair: offered to the samples, and kept for the diff file.
    fn keep_changed(
        &self,
        l: &SideRows,
        r: &SideRows,
        &Pair {
            l: lr,
            r: rr,
            key: order,
            ..
        }: &Pair,
        changed: impl Iterator<Item = usize>,
        key: &mut Vec<u8>,
        tally: &mut Tally,
    ) {
        self.sort_key_into(l, lr, key);
        let sampled = tally.samples_changed.wants(key);
        if !sampled && !self.keep_rows {
            return;
        }
        let changed: Vec<usize> = changed.collect();
        if sampled {
            let key_values = self
                .plan
                .key
                .iter()
                .map(|&k| {
                    (
                        self.plan.columns[k].name.clone(),
                        l.render(lr, k, self.redactor),
                    )
                })
                .collect();
            let changes = changed
                .iter()
                .map(|&c| {
                    (
                        self.plan.columns[c].name.clone(),
                        CellChange {
                            left: l.render(lr, c, self.redactor),
                            right: r.render(rr, c, self.redactor),
                        },
                    )
                })
                .collect();
            tally.samples_changed.push(
                key.clone(),
                ChangedSample {
                    key: key_values,
                    changes,
                },
            );
        }
        if self.keep_rows {
            tally.rows.push(DiffRow {
                kind: DiffKind::Changed,
                order,
                left: Some(lr),
                right: Some(rr),
                changed,
            });
        }
    }

    /// Match rows that share a key hash (duplicates, null keys, or all rows without a key) as a
    /// multiset of whole rows; leftovers are only-left / only-right.
    fn multiset(
        &self,
        l: &SideRows,
        r: &SideRows,
        lrefs: &[RowRef],
        rrefs: &[RowRef],
        tally: &mut Tally,
        order: u128,
    ) {
        let mut by_hash: HashTable<(Vec<RowRef>, Vec<RowRef>)> = HashTable::default();
        for &x in lrefs {
            by_hash.entry(l.row_hash(x)).or_default().0.push(x);
        }
        for &x in rrefs {
            by_hash.entry(r.row_hash(x)).or_default().1.push(x);
        }
        let mut groups: Vec<_> = by_hash.into_iter().collect();
        groups.sort_by_key(|(h, _)| *h);
        for (_, (ls, rs)) in groups {
            if ls.len() > rs.len() {
                self.only(l, ls[0], true, (ls.len() - rs.len()) as u64, tally, order);
            } else if rs.len() > ls.len() {
                self.only(r, rs[0], false, (rs.len() - ls.len()) as u64, tally, order);
            }
        }
    }

    /// Match one group of rows (all rows whose key hashes fall in it, from both sides): rows
    /// on one side only, duplicates and null keys are counted here; the matched pairs whose
    /// rows differ are returned, in left-row order, for [`Matcher::compare_pairs`].
    fn match_group(
        &self,
        (l, r): (&SideRows, &SideRows),
        lrefs: &[Ref],
        rrefs: &[Ref],
        tally: &mut Tally,
    ) -> Vec<Pair> {
        /// A key's rows: the first on each side, by its place in `lrefs` and `rrefs`, and how
        /// many there are.
        #[derive(Clone, Copy)]
        struct Slot {
            l: u32,
            r: u32,
            ln: u32,
            rn: u32,
            null: bool,
            lhash: u128,
            same_row: bool,
        }
        let mut map: HashTable<Slot> =
            HashTable::with_capacity_and_hasher(lrefs.len().max(rrefs.len()), Default::default());
        for (
            i,
            &Ref {
                key, null, hash, ..
            },
        ) in lrefs.iter().enumerate()
        {
            let s = map.entry(key).or_insert(Slot {
                l: i as u32,
                r: 0,
                ln: 0,
                rn: 0,
                null,
                lhash: hash,
                same_row: false,
            });
            s.ln += 1;
        }
        for (
            i,
            &Ref {
                key, null, hash, ..
            },
        ) in rrefs.iter().enumerate()
        {
            let s = map.entry(key).or_insert(Slot {
                l: 0,
                r: i as u32,
                ln: 0,
                rn: 0,
                null,
                lhash: 0,
                same_row: false,
            });
            if s.rn == 0 {
                s.r = i as u32;
                s.same_row = s.ln > 0 && s.lhash == hash;
            }
            s.rn += 1;
        }
        let mut deferred = HashKeys::default();
        // The right row of each left row in a differing pair, by the rows' places: read in
        // that order, the pairs come in left-row order without sorting them.
        let mut right_of: Vec<u32> = Vec::new();
        for (&k, s) in &map {
            // A slot's row on a side is read only when the side has one.
            let left = || lrefs[s.l as usize].row;
            let right = || rrefs[s.r as usize].row;
            if !self.keyed() {
                // The key is the whole row: equal hashes are equal rows.
                if s.ln > s.rn {
                    self.only(l, left(), true, (s.ln - s.rn) as u64, tally, k);
                } else if s.rn > s.ln {
                    self.only(r, right(), false, (s.rn - s.ln) as u64, tally, k);
                }
            } else if s.null {
                tally.null_left += s.ln as u64;
                tally.null_right += s.rn as u64;
                deferred.insert(k);
            } else if s.ln > 1 || s.rn > 1 || self.known_duplicate(k) {
                tally.dup_left += (s.ln > 1) as u64;
                tally.dup_right += (s.rn > 1) as u64;
                deferred.insert(k);
            } else if s.ln == 1 && s.rn == 1 {
                tally.matched_rows += 1;
                if !s.same_row {
                    if right_of.is_empty() {
                        right_of = vec![NO_ROW; lrefs.len()];
                    }
                    right_of[s.l as usize] = s.r;
                }
            } else if s.ln == 1 {
                self.only(l, left(), true, 1, tally, k);
            } else {
                self.only(r, right(), false, 1, tally, k);
            }
        }
        if !deferred.is_empty() {
            self.match_shared_keys((l, r), (lrefs, rrefs), &deferred, tally);
        }
        // In left-row order, the left side's cells are gathered front to back.
        right_of
            .iter()
            .enumerate()
            .filter(|(_, &ri)| ri != NO_ROW)
            .map(|(li, &ri)| {
                let (left, right) = (&lrefs[li], &rrefs[ri as usize]);
                Pair {
                    l: left.row,
                    r: right.row,
                    key: left.key,
                    at: (li as u32, ri),
                }
            })
            .collect()
    }

    /// The rows of the `deferred` keys (duplicated or null), matched key by key as multisets
    /// of whole rows.
    fn match_shared_keys(
        &self,
        (l, r): (&SideRows, &SideRows),
        (lrefs, rrefs): (&[Ref], &[Ref]),
        deferred: &HashKeys,
        tally: &mut Tally,
    ) {
        let mut groups_of: HashTable<(Vec<RowRef>, Vec<RowRef>)> = HashTable::default();
        for x in lrefs {
            if deferred.contains(&x.key) {
                groups_of.entry(x.key).or_default().0.push(x.row);
            }
        }
        for x in rrefs {
            if deferred.contains(&x.key) {
                groups_of.entry(x.key).or_default().1.push(x.row);
            }
        }
        for (k, (ls, rs)) in groups_of {
            self.multiset(l, r, &ls, &rs, tally, k);
        }
    }

    /// Both sides' cell words, when they fit (see [`CellWords::fit`]).
    fn cell_words(
        &self,
        (l, r): (&SideRows, &SideRows),
        workers: usize,
        groups: usize,
    ) -> Option<(CellWords, CellWords)> {
        let width = self.compared.len();
        if !CellWords::fit(l.batches, r.batches, width, self.words_budget, 0) {
            return None;
        }
        let words =
            |side: &SideRows| CellWords::new(side.batches, &side.encoders, &self.compared, groups);
        Some(both_sides(workers, || words(l), || words(r)))
    }

    /// Diff one partition: every row of `left` against every row of `right`.
    pub fn diff(
        &self,
        left: &[RecordBatch],
        right: &[RecordBatch],
        tally: &mut Tally,
    ) -> Result<Vec<DiffRow>> {
        let columns = self.plan.columns.len();
        let mut l = SideRows::new(left, columns)?;
        let mut r = SideRows::new(right, columns)?;
        let total: usize = left.iter().chain(right).map(|b| b.num_rows()).sum();
        // Groups keep each hash table and each group's words small and give the worker
        // threads independent work.
        let groups = if total > 200_000 {
            (total / GROUP_ROWS).max(8)
        } else {
            1
        };
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(groups);
        // Cell words are made when the first group finds a differing pair, and not at all
        // when every matched pair is equal; for rows spooled without their row hashes, with
        // the row hashes, from the same cell hashes.
        let words = OnceLock::new();
        if l.unhashed() || r.unhashed() {
            let made = self.hash_rows((&mut l, &mut r), workers, groups, tally);
            let _ = words.set(made);
        }
        let lrefs = group_refs(&l, groups);
        let rrefs = group_refs(&r, groups);
        tally.rows.clear();
        let parts = on_workers(
            workers,
            groups,
            || tally.fresh(),
            |g, part| {
                let differing = self.match_group((&l, &r), &lrefs[g], &rrefs[g], part);
                if differing.is_empty() {
                    return Ok(());
                }
                let words = words
                    .get_or_init(|| self.cell_words((&l, &r), workers, groups))
                    .as_ref()
                    .map(|(a, b)| (a.group(g), b.group(g)));
                self.compare_pairs((&l, &r), words, &differing, part)
            },
        )?;
        for part in parts {
            tally.merge(part);
        }
        let mut rows = std::mem::take(&mut tally.rows);
        rows.sort_by_key(|r| (r.order, r.kind));
        Ok(rows)
    }

    /// The row hashes of both sides' rows, spooled without them, made from every cell's hash
    /// (both sides at once), and the sides' fingerprints added to the tally's; the cell words,
    /// when they fit, come from the same hashes.
    fn hash_rows(
        &self,
        (l, r): (&mut SideRows, &mut SideRows),
        workers: usize,
        groups: usize,
        tally: &mut Tally,
    ) -> Option<(CellWords, CellWords)> {
        let columns = self.plan.columns.len();
        // Rows spooled by key only are 16 bytes a row short of what their words are measured
        // against: the row hash those words stand in for.
        let keep = CellWords::fit(
            l.batches,
            r.batches,
            self.compared.len(),
            self.words_budget,
            16,
        );
        let (mut lf, mut rf) = (Fingerprint::new(columns), Fingerprint::new(columns));
        let keyed = self.keyed();
        let (lw, rw) = both_sides(
            workers,
            || l.hash_rows(keyed, &self.compared, keep, groups, &mut lf),
            || r.hash_rows(keyed, &self.compared, keep, groups, &mut rf),
        );
        let [sl, sr] = tally
            .fingerprints
            .get_or_insert_with(|| [Fingerprint::new(columns), Fingerprint::new(columns)]);
        sl.merge(&lf);
        sr.merge(&rf);
        lw.zip(rw)
    }
}

/// A side's rows by group of their key hash, each with what matching reads of it, in batch
/// order: the order of the group's words ([`CellWords`]).
fn group_refs(side: &SideRows, groups: usize) -> Vec<Vec<Ref>> {
    // Sized for an even spread and a little more, so the vectors seldom grow.
    let rows: usize = side.batches.iter().map(|b| b.num_rows()).sum();
    let each = rows / groups + rows / groups / 16 + 16;
    let mut out: Vec<Vec<Ref>> = (0..groups).map(|_| Vec::with_capacity(each)).collect();
    for (bi, b) in side.batches.iter().enumerate() {
        let (keys, hashes, nulls) = (key_hashes(b), side.hashes_of(bi), null_keys(b));
        for row in 0..b.num_rows() {
            let key = hash_at(keys, row);
            out[group_of(key as u64, groups)].push(Ref {
                key,
                row: row_ref(bi, row),
                null: nulls.value(row),
                hash: hash_at(hashes, row),
            });
        }
    }
    out
}

/// Run `work(i, state)` for every `i` below `n` on up to `workers` threads, each taking the
/// next `i` and keeping a state of its own from `init`; the states come back in no order.
fn on_workers<S: Send>(
    workers: usize,
    n: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(usize, &mut S) -> Result<()> + Sync,
) -> Result<Vec<S>> {
    if workers <= 1 || n <= 1 {
        let mut state = init();
        for i in 0..n {
            work(i, &mut state)?;
        }
        return Ok(vec![state]);
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(n))
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(state);
                        }
                        work(i, &mut state)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("tier-3 worker panicked"))
            .collect()
    })
}

/// Work out the same thing for both sides, at once when there is a second thread.
fn both_sides<T: Send>(
    workers: usize,
    left: impl FnOnce() -> T + Send,
    right: impl FnOnce() -> T,
) -> (T, T) {
    if workers <= 1 {
        return (left(), right());
    }
    std::thread::scope(|scope| {
        let l = scope.spawn(left);
        let r = right();
        (l.join().expect("tier-3 worker panicked"), r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DiffConfig, Tolerance};
    use crate::diff::spool::{attach, spooled_schema};
    use crate::fingerprint::logical::{hash_batch, Fingerprint};
    use arrow::array::{Float64Array, Int64Array, Int8Array, StringArray};
    use std::sync::Arc;

    /// A table as tier 3 receives it: its columns in the plan's order, then the hashes.
    fn spooled(plan: &Plan, table: &RecordBatch) -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = plan
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    table.column_by_name(&c.name).unwrap().clone(),
                )
            })
            .collect();
        let projected = RecordBatch::try_from_iter(columns).unwrap();
        let hashes = hash_batch(&projected, &plan.key, &mut Fingerprint::new(0)).unwrap();
        attach(&spooled_schema(&projected.schema()), &projected, hashes).unwrap()
    }

    /// A table as tier 3 receives it when spilled with its key hashes only: tier 3 makes the
    /// row hashes and the words from the same cell hashes.
    fn spooled_by_key(plan: &Plan, table: &RecordBatch) -> RecordBatch {
        let hashed = spooled(plan, table);
        let projected = hashed
            .project(&(0..plan.columns.len()).collect::<Vec<_>>())
            .unwrap();
        let keys = crate::fingerprint::logical::hash_keys(&projected, &plan.key).unwrap();
        crate::diff::spool::keyed(&projected, keys).unwrap()
    }

    /// Tier 3 on two tables keyed on `id` (float tolerance 0.01), each side in `batches`
    /// batches; also whether cell words were used.
    fn diff(left: &RecordBatch, right: &RecordBatch, batches: usize) -> (Tally, Plan, bool) {
        diff_as(left, right, batches, spooled)
    }

    /// As [`diff`], each side spooled by `spool`.
    fn diff_as(
        left: &RecordBatch,
        right: &RecordBatch,
        batches: usize,
        spool: fn(&Plan, &RecordBatch) -> RecordBatch,
    ) -> (Tally, Plan, bool) {
        let mut cfg = DiffConfig {
            key: vec!["id".into()],
            ..DiffConfig::default()
        };
        cfg.tolerance.default = Tolerance {
            abs: 0.01,
            rel: 0.0,
        };
        let plan = crate::schema::plan(&left.schema(), &right.schema(), &cfg).unwrap();
        let split = |b: &RecordBatch| -> Vec<RecordBatch> {
            let b = spool(&plan, b);
            let step = b.num_rows().div_ceil(batches);
            (0..b.num_rows())
                .step_by(step)
                .map(|at| b.slice(at, step.min(b.num_rows() - at)))
                .collect()
        };
        let (l, r) = (split(left), split(right));
        let width = plan.columns.len() - plan.key.len();
        let words = CellWords::fit(&l, &r, width, usize::MAX, 0);
        let mut tally = Tally::new(plan.columns.len(), 5);
        Matcher::new(&plan, None, false, None)
            .diff(&l, &r, &mut tally)
            .unwrap();
        (tally, plan, words)
    }

    fn changed(tally: &Tally, plan: &Plan, name: &str) -> u64 {
        let c = plan.columns.iter().position(|c| c.name == name).unwrap();
        tally.changed_cells[c]
    }

    /// Ids 0..1000 on the left, 1..1001 on the right: 999 matched pairs.
    fn ids(right: bool) -> Vec<i64> {
        ids_of(right, 1000)
    }

    /// Ids 0..n on the left, 1..n + 1 on the right (from the last): n - 1 matched pairs.
    fn ids_of(right: bool, n: i64) -> Vec<i64> {
        if right {
            (1..n + 1).rev().collect()
        } else {
            (0..n).collect()
        }
    }

    /// `n` rows keyed on `id` (see [`ids_of`]); on the right, ids ending in 1 have a new name,
    /// in 2 an amount 0.5 off, in 3 one 0.005 off (within the tolerance), in 4 a null count.
    fn with_changes(right: bool, n: i64) -> RecordBatch {
        let ids = ids_of(right, n);
        let changes = |i: i64, digit: i64| right && i % 10 == digit;
        let names: Vec<String> = ids
            .iter()
            .map(|&i| format!("{}{i}", if changes(i, 1) { "N" } else { "n" }))
            .collect();
        let amounts: Vec<f64> = ids
            .iter()
            .map(|&i| {
                let off = [(2, 0.5), (3, 0.005)].iter().find(|(d, _)| changes(i, *d));
                i as f64 + off.map_or(0.0, |(_, o)| *o)
            })
            .collect();
        let counts: Vec<Option<i64>> = ids.iter().map(|&i| (!changes(i, 4)).then_some(i)).collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("name", Arc::new(StringArray::from(names)) as ArrayRef),
            ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
            ("count", Arc::new(Int64Array::from(counts)) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn pairs_compare_by_their_cell_words_then_by_value() {
        // A partition small enough for one group, and one of 300,000 rows in eight groups,
        // whose words are kept group by group (the right side's rows in the other order); rows
        // that come with their row hashes, and rows spilled by key, hashed here.
        let spools: [fn(&Plan, &RecordBatch) -> RecordBatch; 2] = [spooled, spooled_by_key];
        let sizes = [(1000, 3), (150_000, 40)];
        for ((n, batches), spool) in sizes.into_iter().flat_map(|s| spools.map(|f| (s, f))) {
            let (left, right) = (with_changes(false, n), with_changes(true, n));
            let (tally, plan, words) = diff_as(&left, &right, batches, spool);
            assert!(
                words,
                "strings and 8-byte values: the words take less than the rows"
            );
            // Matched ids 1..n - 1: as many end in 1 as in 2, 3 or 4 for these sizes.
            let each = (1..n).filter(|i| i % 10 == 1).count() as u64;
            assert!((2..5).all(|d| (1..n).filter(|i| i % 10 == d).count() as u64 == each));
            assert_eq!(
                (tally.matched_rows, tally.only_left, tally.only_right),
                (n as u64 - 1, 1, 1)
            );
            assert_eq!((tally.changed_rows, tally.within_rows), (3 * each, each));
            assert_eq!(changed(&tally, &plan, "name"), each);
            assert_eq!(changed(&tally, &plan, "amount"), each);
            assert_eq!(changed(&tally, &plan, "count"), each);
            let amount = plan
                .columns
                .iter()
                .position(|c| c.name == "amount")
                .unwrap();
            assert_eq!(tally.within_cells[amount], each);
        }
    }

    #[test]
    fn a_pair_whose_words_all_agree_is_compared_by_value_not_taken_as_equal() {
        // Words of two columns for three rows a side, as a group holds them; the right side
        // lists the pairs' rows the other way round. Pair 1 differs in its second word, pair 2
        // in no word at all (what only a 64-bit collision of a differing cell could give).
        let left: &[u64] = &[1, 2, 3, 4, 5, 6];
        let right: &[u64] = &[5, 6, 3, 9, 1, 2];
        let chunk: Vec<Pair> = (0..3u32)
            .map(|i| Pair {
                l: row_ref(0, i as usize),
                r: row_ref(0, 2 - i as usize),
                key: 0,
                at: (i, 2 - i),
            })
            .collect();
        let (by_column, unexplained) = suspects(&chunk[1..], Some((left, right)), 2);
        assert_eq!(by_column, vec![vec![], vec![0]]);
        assert_eq!(unexplained, vec![1]);
        // Pairs reach the comparison because their row hashes differ: a first pair agreeing
        // in every word is unexplained too, and without words every pair is suspect.
        let (by_column, unexplained) = suspects(&chunk, Some((left, right)), 2);
        assert_eq!((by_column[1].clone(), unexplained), (vec![1], vec![0, 2]));
        let (by_column, unexplained) = suspects(&chunk, None, 2);
        assert_eq!(by_column, vec![vec![0, 1, 2]; 2]);
        assert!(unexplained.is_empty());
    }

    #[test]
    fn a_narrow_table_compares_every_cell_by_value() {
        // Twelve one-byte columns; on the right, column `c{j}` is one more where id % 12 == j.
        let table = |right: bool| {
            let ids = ids(right);
            let mut columns = vec![(
                "id".to_string(),
                Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
            )];
            for j in 0..12 {
                let values: Vec<i8> = ids
                    .iter()
                    .map(|&i| (i % 100) as i8 + i8::from(right && i % 12 == j))
                    .collect();
                columns.push((
                    format!("c{j:02}"),
                    Arc::new(Int8Array::from(values)) as ArrayRef,
                ));
            }
            RecordBatch::try_from_iter(columns).unwrap()
        };
        let (tally, plan, words) = diff(&table(false), &table(true), 1);
        assert!(
            !words,
            "one-byte cells: the words would take more than the rows"
        );
        assert_eq!(
            (tally.matched_rows, tally.only_left, tally.only_right),
            (999, 1, 1)
        );
        assert_eq!((tally.changed_rows, tally.within_rows), (999, 0));
        let per_column: Vec<u64> = (0..12)
            .map(|j| changed(&tally, &plan, &format!("c{j:02}")))
            .collect();
        // Ids 1..=999 with id % 12 == j: 84 for j = 1, 2, 3; 83 for the others.
        assert_eq!(per_column, [83, 84, 84, 84, 83, 83, 83, 83, 83, 83, 83, 83]);
    }
}
