//! The ledger: append-only check records in object storage.
//!
//! Every check of a unit becomes one JSON [`Record`], written once with a create-only put at
//!
//! ```text
//! <ledger>/v1/pipeline=<id>/partition=<partition>/<checked_at>_<run id>_<digest>-<files>_<verdict>.<bytes>.json
//! ```
//!
//! so nothing is ever overwritten: concurrent runs and shards write different names, and a
//! crash leaves either the whole record or none (a put is atomic in every store; the local
//! store writes a staging file and links it into place). The file name repeats what planning
//! needs — when, which run, the first 12 hex digits of the config digest, which files were
//! checked ([`record::files_digest`]; absent when nothing was listed, and in records written
//! before it existed), the verdict, the record's length (so a record emptied or cut short is
//! an error, seen in the listing) — so a run decides what is left to check from one listing
//! per pipeline, without reading records.
//! `docs/ledger.md` documents the layout and the record.

pub mod record;

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};
use crate::inventory::Partition;
use crate::source::{self, Location, StoreOptions};
pub use record::{files_digest, Record, ShardId, UnitVerdict, LEDGER_SCHEMA_VERSION};

/// Hex digits of the config digest kept in a record's name.
pub const DIGEST_PREFIX: usize = 12;

/// The ledger's root folder name for this layout.
const LAYOUT: &str = "v1";

/// A record as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The object's path in the ledger's store.
    pub path: Path,
    /// Its URL, for people and events.
    pub url: String,
    /// The pipeline.
    pub pipeline: String,
    /// The partition.
    pub partition: Partition,
    /// When it was written, as in the name (`20261125T120301.123Z`).
    pub checked_at: String,
    /// That time, parsed once (`None` when it does not parse).
    pub at: Option<DateTime<Utc>>,
    /// The run.
    pub run_id: String,
    /// The first [`DIGEST_PREFIX`] hex digits of the config digest.
    pub digest: String,
    /// The [`files_digest`] of the files checked, when the name has one.
    pub files: Option<String>,
    /// The verdict.
    pub verdict: UnitVerdict,
}

/// Whether `s` is `len` lower-case hex digits, as a name holds a digest: the config digest's
/// first [`DIGEST_PREFIX`], a [`files_digest`]'s [`record::FILES_DIGEST_LEN`].
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The time in a record's name (`20261125T120301.123Z`).
pub fn name_time(s: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, NAME_TIME)
        .ok()
        .map(|t| t.and_utc())
}

impl Entry {
    /// When the record was written, from its name.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.at
    }

    /// Whether the check was made once the partition was complete: at least `min_age` after
    /// its end. A check of a younger partition (`parity run --date`) saw data that may still
    /// have been arriving; it proves nothing about the partition's final state.
    pub fn judged_complete(&self, min_age: chrono::Duration) -> bool {
        self.time()
            .is_some_and(|t| t.naive_utc() >= self.partition.end() + min_age)
    }
}

/// Keep the newest entry of each partition (entries, or references to them, sorted as
/// [`Ledger::entries`] returns them).
pub fn newest_per_partition<E: std::borrow::Borrow<Entry>>(entries: Vec<E>) -> Vec<E> {
    let mut out: Vec<E> = Vec::with_capacity(entries.len());
    for e in entries {
        if out
            .last()
            .is_some_and(|l| l.borrow().partition == e.borrow().partition)
        {
            out.pop();
        }
        out.push(e);
    }
    out
}

/// The folder of a local ledger URL (`file://…` or a plain path).
fn local_dir(url: &str) -> Option<&str> {
    match url.strip_prefix("file://") {
        Some(p) => Some(p),
        None if !url.contains("://") => Some(url),
        None => None,
    }
}

/// Sort by partition, then time, then run id: the newest record of a partition comes last.
fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.partition, &a.checked_at, &a.run_id).cmp(&(b.partition, &b.checked_at, &b.run_id))
    });
}

/// An opened ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    loc: Location,
}

/// The time format of record names: sortable, no `:`.
const NAME_TIME: &str = "%Y%m%dT%H%M%S%.3fZ";

/// A new run id: the start time and 32 random bits.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let mut r = [0u8; 4];
    if getrandom::fill(&mut r).is_err() {
        r = std::process::id().to_le_bytes();
    }
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), hex(&r))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Ledger {
    /// Open the ledger at a URL or local path; a local folder is created when missing.
    pub fn open(url: &str, stores: &StoreOptions) -> Result<Ledger> {
        if let Some(dir) = local_dir(url) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("ledger {dir}"), e))?;
        }
        let loc = source::open_with(url, stores)?;
        Ok(Ledger { loc })
    }

    /// Open a ledger to read it: unlike [`Ledger::open`], a missing local folder is an error
    /// (a reader must not create one, and a mistyped path must not read as an empty ledger).
    pub fn open_to_read(url: &str, stores: &StoreOptions) -> Result<Ledger> {
        if let Some(dir) = local_dir(url).filter(|d| !std::path::Path::new(d).is_dir()) {
            return Err(Error::Invalid(format!(
                "ledger {dir}: no such folder (parity run creates it with the first record)"
            )));
        }
        let loc = source::open_with(url, stores)?;
        Ok(Ledger { loc })
    }

    /// Whether the ledger is a folder on this machine.
    pub fn is_local(&self) -> bool {
        self.loc.kind == source::StoreKind::Local
    }

    /// The ledger's URL.
    pub fn url(&self) -> &str {
        &self.loc.url
    }

    /// The ledger's store location (kind and credential source, for audit events).
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Fail early, with the ledger's URL, when the store cannot be listed.
    pub async fn probe(&self) -> Result<()> {
        self.loc
            .store
            .list_with_delimiter(Some(&self.root()))
            .await
            .map(|_| ())
            .map_err(|e| Error::store(&self.loc.url, "list", &e))
    }

    fn root(&self) -> Path {
        self.loc.prefix.clone().join(LAYOUT)
    }

    fn pipeline_dir(&self, pipeline: &str) -> Path {
        self.root().join(format!("pipeline={pipeline}"))
    }

    /// Where a record of `len` bytes goes.
    pub fn record_path(&self, r: &Record, len: usize) -> Path {
        let files = r
            .inputs
            .files_digest()
            .map(|f| format!("-{f}"))
            .unwrap_or_default();
        let name = format!(
            "{}_{}_{}{files}_{}.{len}.json",
            r.checked_at.format(NAME_TIME),
            r.run_id,
            &r.config_digest[..DIGEST_PREFIX.min(r.config_digest.len())],
            r.verdict
        );
        self.pipeline_dir(&r.pipeline)
            .join(format!("partition={}", r.partition))
            .join(name)
    }

    /// Append a record with a create-only put; returns its URL. A put that already landed
    /// (a retry after a lost response) is recognised by its identical bytes.
    pub async fn append(&self, record: &Record) -> Result<String> {
        if record.run_id.contains('_') {
            return Err(Error::Internal(format!(
                "run id `{}` contains `_`",
                record.run_id
            )));
        }
        let mut body = serde_json::to_vec_pretty(record).map_err(|e| {
            Error::Internal(format!(
                "record for {} {}: {e}",
                record.pipeline, record.partition
            ))
        })?;
        body.push(b'\n');
        let body = Bytes::from(body);
        let path = self.record_path(record, body.len());
        let url = self.loc.object_url(&path);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .loc
            .store
            .put_opts(&path, PutPayload::from(body.clone()), opts)
            .await
        {
            Ok(_) => Ok(url),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = self
                    .loc
                    .store
                    .get(&path)
                    .await
                    .map_err(|e| Error::store(&url, "get", &e))?
                    .bytes()
                    .await
                    .map_err(|e| Error::store(&url, "get", &e))?;
                if existing == body {
                    Ok(url)
                } else {
                    Err(Error::Store {
                        url,
                        op: "put",
                        message:
                            "a different record already has this name; nothing was overwritten"
                                .into(),
                    })
                }
            }
            Err(e) => Err(Error::store(&url, "put", &e)),
        }
    }

    /// Every record of a pipeline, as named, sorted by partition then time.
    pub async fn entries(&self, pipeline: &str) -> Result<Vec<Entry>> {
        let dir = self.pipeline_dir(pipeline);
        let metas: Vec<_> = self
            .loc
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| Error::store(self.loc.object_url(&dir), "list", &e))?;
        let mut out: Vec<Entry> = metas
            .into_iter()
            .map(|m| self.parse_entry(pipeline, m))
            .collect::<Result<_>>()?;
        sort_entries(&mut out);
        Ok(out)
    }

    /// Every record of every pipeline, as named, in one recursive listing of the ledger (a
    /// request per thousand records, rather than one per pipeline); each pipeline's entries
    /// sorted as [`Ledger::entries`] sorts them.
    pub async fn all_entries(&self) -> Result<BTreeMap<String, Vec<Entry>>> {
        let root = self.root();
        let metas: Vec<_> = self
            .loc
            .store
            .list(Some(&root))
            .try_collect()
            .await
            .map_err(|e| Error::store(self.loc.object_url(&root), "list", &e))?;
        let depth = root.parts().count();
        let mut out: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for m in metas {
            let id = m
                .location
                .parts()
                .nth(depth)
                .and_then(|p| p.as_ref().strip_prefix("pipeline=").map(str::to_string))
                .ok_or_else(|| self.not_a_record(&m.location))?;
            let e = self.parse_entry(&id, m)?;
            out.entry(id).or_default().push(e);
        }
        for entries in out.values_mut() {
            sort_entries(entries);
        }
        Ok(out)
    }

    /// A record's name parsed. Anything else in a pipeline's folder is an error, never
    /// skipped: a record that cannot be read as one must not let a partition look clean.
    fn parse_entry(&self, pipeline: &str, meta: object_store::ObjectMeta) -> Result<Entry> {
        let path = meta.location;
        let depth = self.pipeline_dir(pipeline).parts().count();
        let parts: Vec<_> = path.parts().collect();
        let parsed = (|| {
            if parts.len() != depth + 2 {
                return None;
            }
            let partition = parts[depth]
                .as_ref()
                .strip_prefix("partition=")?
                .parse()
                .ok()?;
            let name = parts[depth + 1].as_ref().strip_suffix(".json")?;
            let mut fields = name.splitn(4, '_');
            let checked_at = fields.next()?.to_string();
            name_time(&checked_at)?;
            let run_id = fields.next()?.to_string();
            let field = fields.next()?;
            let (digest, files) = match field.split_once('-') {
                Some((d, f)) if is_hex(f, record::FILES_DIGEST_LEN) => {
                    (d.to_string(), Some(f.to_string()))
                }
                Some(_) => return None,
                None => (field.to_string(), None),
            };
            if !is_hex(&digest, DIGEST_PREFIX) {
                return None;
            }
            let last = fields.next()?;
            let (verdict, len) = match last.rsplit_once('.') {
                Some((v, n)) if n.bytes().all(|b| b.is_ascii_digit()) => (v, Some(n.parse().ok()?)),
                Some(_) => return None,
                None => (last, None),
            };
            let verdict = verdict.parse().ok()?;
            Some((partition, checked_at, run_id, digest, files, verdict, len))
        })();
        let (partition, checked_at, run_id, digest, files, verdict, len) =
            parsed.ok_or_else(|| self.not_a_record(&path))?;
        // A record emptied or cut short must not count: the name says how long it is (names
        // from before it did, at least not empty).
        if len.map_or(meta.size == 0, |len: u64| len != meta.size) {
            return Err(Error::format(
                self.loc.object_url(&path),
                format!(
                    "the record is {} bytes, {}: truncated or altered; move it out of the ledger",
                    meta.size,
                    match len {
                        Some(len) => format!("its name says {len}"),
                        None => "empty".to_string(),
                    }
                ),
            ));
        }
        Ok(Entry {
            url: self.loc.object_url(&path),
            path,
            pipeline: pipeline.to_string(),
            partition,
            at: name_time(&checked_at),
            checked_at,
            run_id,
            digest,
            files,
            verdict,
        })
    }

    fn not_a_record(&self, path: &Path) -> Error {
        Error::format(
            self.loc.object_url(path),
            "not a ledger record name (expected pipeline=ID/partition=P/TIME_RUN_DIGEST[-FILES]_VERDICT[.BYTES].json); move it out of the ledger",
        )
    }

    /// Read one record.
    pub async fn read(&self, entry: &Entry) -> Result<Record> {
        let bytes = self
            .loc
            .store
            .get(&entry.path)
            .await
            .map_err(|e| Error::store(&entry.url, "get", &e))?
            .bytes()
            .await
            .map_err(|e| Error::store(&entry.url, "get", &e))?;
        let record: Record = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&entry.url, format!("not a ledger record: {e}")))?;
        if record.schema_version > LEDGER_SCHEMA_VERSION {
            return Err(Error::format(
                &entry.url,
                format!(
                    "record schema version {} is newer than this parity understands ({LEDGER_SCHEMA_VERSION})",
                    record.schema_version
                ),
            ));
        }
        Ok(record)
    }

    /// Read records, a few at a time, in the order given.
    pub async fn read_all(&self, entries: &[Entry]) -> Result<Vec<Record>> {
        futures::stream::iter(entries)
            .map(|e| self.read(e))
            .buffered(16)
            .try_collect()
            .await
    }

    /// The ids of every pipeline with records.
    pub async fn pipelines(&self) -> Result<Vec<String>> {
        let root = self.root();
        let listing = self
            .loc
            .store
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| Error::store(self.loc.object_url(&root), "list", &e))?;
        let mut ids: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.strip_prefix("pipeline=").map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }
}
