//! The cutover inventory: `parity.toml`, read, checked and resolved.
//!
//! One file describes a cutover: its name, the hard retirement date of the legacy platform, the
//! streak a pipeline needs, where the ledger lives, how long a partition ages before it is
//! judged, per-store options that are not secrets, defaults, and one `[[pipeline]]` entry per
//! pipeline (owner, classification, systems read and written, business process, the two
//! location templates and the comparison options of `parity diff`). `docs/inventory.md` is the
//! reference.
//!
//! Everything wrong with the file is an error naming the file and line: unknown keys, bad
//! dates, a classification outside the list, a template without a partition variable, and any
//! key or value that looks like a credential (credentials come from the environment or the
//! workload identity, never from this file). What is merely *missing* for a migration (owner,
//! classification, reads, writes, business process) is not an error but a [`Gap`]: the
//! pipeline can still be checked, it just may not be migrated.

pub mod discover;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{DiffConfig, Tolerance, Tolerances};
use crate::error::{Error, Result};
use crate::fingerprint::ENCODING_VERSION;
use crate::source::{FileFormat, StoreOptions};
pub use template::{Cadence, Partition, Template};

/// Data classification of a pipeline's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Public data.
    Public,
    /// Internal data.
    Internal,
    /// Confidential: values redacted by default.
    Confidential,
    /// Restricted: values always redacted.
    Restricted,
}

impl Classification {
    /// Whether values of this class are redacted by default.
    pub fn redacted_by_default(self) -> bool {
        matches!(
            self,
            Classification::Confidential | Classification::Restricted
        )
    }

    /// The name as written in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
            Classification::Restricted => "restricted",
        }
    }
}

impl std::str::FromStr for Classification {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "public" => Classification::Public,
            "internal" => Classification::Internal,
            "confidential" => Classification::Confidential,
            "restricted" => Classification::Restricted,
            other => {
                return Err(format!(
                "classification `{other}` is not one of public, internal, confidential, restricted"
            ))
            }
        })
    }
}

/// The cutover itself.
#[derive(Debug, Clone)]
pub struct Cutover {
    /// Its name.
    pub name: String,
    /// The day the legacy platform is switched off.
    pub retirement_date: NaiveDate,
    /// Consecutive parity partitions a pipeline needs to be ready.
    pub required_streak: u32,
    /// The ledger's URL or absolute path.
    pub ledger: String,
    /// How long after its end a partition is judged.
    pub min_age: Duration,
    /// The first partition day the cadences expect (pipelines may override).
    pub start: Option<NaiveDate>,
    /// A pipeline whose newest check is older than this is stale.
    pub stale_after: Duration,
}

/// What a pipeline's outputs are compared with: the options of `parity diff`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompareOptions {
    /// Input format, when not taken from extensions.
    pub format: Option<FileFormat>,
    /// Key columns.
    pub key: Vec<String>,
    /// Ignored columns.
    pub ignore: Vec<String>,
    /// Legacy name → target name.
    pub rename: BTreeMap<String, String>,
    /// Tolerance for every float column.
    pub abs_tol: f64,
    /// Relative tolerance for every float column.
    pub rel_tol: f64,
    /// Per-column tolerances, as written (`abs:X`, `rel:X`).
    pub tolerance: BTreeMap<String, String>,
    /// Any type change diverges.
    pub strict_types: bool,
}

/// One pipeline of the inventory.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Its id: safe characters only, it is part of ledger paths.
    pub id: String,
    /// Line of its `[[pipeline]]` entry.
    pub line: usize,
    /// Owner.
    pub owner: Option<String>,
    /// Data classification.
    pub classification: Option<Classification>,
    /// Systems it reads from.
    pub reads: Vec<String>,
    /// Systems it writes to.
    pub writes: Vec<String>,
    /// Business process it supports.
    pub business_process: Option<String>,
    /// False for a pipeline being retired rather than moved.
    pub migrate: bool,
    /// Where the legacy platform writes it.
    pub legacy: Option<Template>,
    /// Where the target platform writes it.
    pub target: Option<Template>,
    /// How often a partition is written.
    pub cadence: Cadence,
    /// The first partition day expected.
    pub start: Option<NaiveDate>,
    /// How long after its end a partition is judged.
    pub min_age: Duration,
    /// Consecutive parity partitions this pipeline needs to be ready (the cutover's unless
    /// set: an hourly pipeline usually needs more partitions than a daily one).
    pub required_streak: u32,
    /// How the two sides are compared.
    pub compare: CompareOptions,
    tolerances: Tolerances,
    /// Digest of everything that affects a verdict: templates, comparison options, encoding.
    pub config_digest: String,
}

/// Something a pipeline lacks before it may be migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The missing field: owner, classification, reads, writes, business_process, or a
    /// location (`legacy`, `target`) that does not exist.
    pub field: String,
    /// One sentence for people.
    pub message: String,
}

impl Pipeline {
    /// Whether values of this pipeline are redacted by default (an unclassified pipeline is
    /// redacted: an unknown class is not a licence to show data).
    pub fn redacted_by_default(&self) -> bool {
        self.classification
            .is_none_or(Classification::redacted_by_default)
    }

    /// Whether values may never be revealed: restricted, or unclassified (treated as the
    /// strictest class until someone classifies it).
    pub fn restricted(&self) -> bool {
        self.classification
            .is_none_or(|c| c == Classification::Restricted)
    }

    /// What the inventory entry lacks (locations are checked by the caller, against stores).
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let mut gap = |field: &str, message: &str| {
            gaps.push(Gap {
                field: field.into(),
                message: message.into(),
            })
        };
        if self.owner.is_none() {
            gap(
                "owner",
                "no owner: nobody signs off this pipeline's migration",
            );
        }
        if self.classification.is_none() {
            gap("classification", "no data classification");
        }
        if self.reads.is_empty() {
            gap("reads", "the systems it reads from are not listed");
        }
        if self.writes.is_empty() {
            gap("writes", "the systems it writes to are not listed");
        }
        if self.business_process.is_none() {
            gap("business_process", "no business process");
        }
        gaps
    }

    /// The engine's configuration for one unit of this pipeline, on top of `base` (memory,
    /// spill folder, samples, redaction).
    pub fn diff_config(&self, base: &DiffConfig) -> DiffConfig {
        DiffConfig {
            key: self.compare.key.clone(),
            ignore: self.compare.ignore.clone(),
            rename: self
                .compare
                .rename
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect(),
            tolerance: self.tolerances.clone(),
            strict_types: self.compare.strict_types,
            input_format: self.compare.format,
            ..base.clone()
        }
    }
}

/// The whole inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The file it was read from, as given.
    pub path: String,
    /// The cutover.
    pub cutover: Cutover,
    /// Per-store options.
    pub stores: StoreOptions,
    /// The pipelines, in file order.
    pub pipelines: Vec<Pipeline>,
}

impl Inventory {
    /// Read and check an inventory file.
    pub fn load(path: &Path) -> Result<Inventory> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(dir.display(), e))?;
        Self::parse(&text, &shown, &dir)
    }

    /// Check an inventory's text; relative paths are relative to `dir`.
    pub fn parse(text: &str, path: &str, dir: &Path) -> Result<Inventory> {
        let ctx = Ctx { text, path };
        let table: toml::Table = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
        refuse_credentials(&table, &ctx)?;
        let raw: RawInventory = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
        build(raw, &ctx, dir)
    }

    /// A pipeline by id.
    pub fn pipeline(&self, id: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }
}

/// Version of the inventory listing's JSON form.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// One pipeline as `parity inventory` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner: Option<String>,
    /// Classification.
    pub classification: Option<Classification>,
    /// Being migrated.
    pub migrate: bool,
    /// Cadence.
    pub cadence: Cadence,
    /// Systems read.
    pub reads: Vec<String>,
    /// Systems written.
    pub writes: Vec<String>,
    /// Business process.
    pub business_process: Option<String>,
    /// Legacy template.
    pub legacy: Option<String>,
    /// Target template.
    pub target: Option<String>,
    /// Key columns.
    pub key: Vec<String>,
    /// What it lacks.
    pub gaps: Vec<Gap>,
}

/// The inventory with every pipeline's gaps: what `parity inventory` prints.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryReport {
    /// Version of this form.
    pub schema_version: u32,
    /// The file.
    pub inventory: String,
    /// The cutover's name.
    pub cutover: String,
    /// The retirement date.
    pub retirement_date: NaiveDate,
    /// The streak needed.
    pub required_streak: u32,
    /// The ledger.
    pub ledger: String,
    /// Pipelines, in file order.
    pub pipelines: Vec<InventoryRow>,
    /// Pipelines with at least one gap.
    pub pipelines_with_gaps: u64,
}

impl InventoryReport {
    /// The listing, with each pipeline's attribute gaps plus the location gaps given.
    pub fn new(inv: &Inventory, location_gaps: &[(String, Gap)]) -> Self {
        let pipelines: Vec<InventoryRow> = inv
            .pipelines
            .iter()
            .map(|p| {
                let mut gaps = p.gaps();
                gaps.extend(
                    location_gaps
                        .iter()
                        .filter(|(id, _)| *id == p.id)
                        .map(|(_, g)| g.clone()),
                );
                InventoryRow {
                    id: p.id.clone(),
                    owner: p.owner.clone(),
                    classification: p.classification,
                    migrate: p.migrate,
                    cadence: p.cadence,
                    reads: p.reads.clone(),
                    writes: p.writes.clone(),
                    business_process: p.business_process.clone(),
                    legacy: p.legacy.as_ref().map(|t| t.raw.clone()),
                    target: p.target.as_ref().map(|t| t.raw.clone()),
                    key: p.compare.key.clone(),
                    gaps,
                }
            })
            .collect();
        InventoryReport {
            schema_version: INVENTORY_SCHEMA_VERSION,
            inventory: inv.path.clone(),
            cutover: inv.cutover.name.clone(),
            retirement_date: inv.cutover.retirement_date,
            required_streak: inv.cutover.required_streak,
            ledger: inv.cutover.ledger.clone(),
            pipelines_with_gaps: pipelines.iter().filter(|p| !p.gaps.is_empty()).count() as u64,
            pipelines,
        }
    }
}

/// Where errors point.
struct Ctx<'a> {
    text: &'a str,
    path: &'a str,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }

    fn at(&self, span: std::ops::Range<usize>, message: impl std::fmt::Display) -> Error {
        Error::Invalid(format!(
            "{}:{}: {message}",
            self.path,
            self.line_of(span.start)
        ))
    }

    fn toml_error(&self, e: &toml::de::Error) -> Error {
        let message = crate::error::one_line(e.message());
        match e.span() {
            Some(span) => self.at(span, message),
            None => Error::Invalid(format!("{}: {message}", self.path)),
        }
    }

    /// The first line where `needle` appears, for findings made on the unspanned table.
    fn line_containing(&self, needle: &str) -> usize {
        self.text
            .lines()
            .position(|l| !l.trim_start().starts_with('#') && l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or(1)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    cutover: RawCutover,
    #[serde(default)]
    stores: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    defaults: Option<Spanned<RawPipeline>>,
    #[serde(default)]
    pipeline: Vec<Spanned<RawPipeline>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCutover {
    name: String,
    retirement_date: Spanned<toml::Value>,
    #[serde(default)]
    required_streak: Option<Spanned<i64>>,
    #[serde(default)]
    ledger: Option<String>,
    #[serde(default)]
    min_age: Option<Spanned<String>>,
    #[serde(default)]
    start: Option<Spanned<toml::Value>>,
    #[serde(default)]
    stale_after: Option<Spanned<String>>,
}

/// A `[[pipeline]]` entry or the `[defaults]` table: every field optional here.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    id: Option<Spanned<String>>,
    owner: Option<String>,
    classification: Option<Spanned<String>>,
    reads: Option<Vec<String>>,
    writes: Option<Vec<String>>,
    business_process: Option<String>,
    migrate: Option<bool>,
    legacy: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    cadence: Option<Spanned<String>>,
    start: Option<Spanned<toml::Value>>,
    min_age: Option<Spanned<String>>,
    required_streak: Option<Spanned<i64>>,
    format: Option<Spanned<String>>,
    key: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    rename: Option<BTreeMap<String, String>>,
    abs_tol: Option<Spanned<f64>>,
    rel_tol: Option<Spanned<f64>>,
    tolerance: Option<Spanned<BTreeMap<String, String>>>,
    strict_types: Option<bool>,
}

/// Key fragments that say a credential. Keys are compared lower-cased with `_`, `-` and `.`
/// removed, so `access_key_id`, `AccessKey` and `access-key` are all caught.
const CREDENTIAL_WORDS: [&str; 11] = [
    "secret",
    "password",
    "passwd",
    "token",
    "accesskey",
    "connectionstring",
    "credential",
    "apikey",
    "privatekey",
    "sastoken",
    "accountkey",
];

fn looks_like_credential_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    CREDENTIAL_WORDS.iter().any(|w| norm.contains(w))
        || key
            .split(['_', '-', '.'])
            .any(|part| part.eq_ignore_ascii_case("sas") || part.eq_ignore_ascii_case("sig"))
}

fn looks_like_credential_value(value: &str) -> bool {
    let aws_key_id = value.as_bytes().windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    let lower = value.to_ascii_lowercase();
    aws_key_id
        || lower.contains("accountkey=")
        || lower.contains("sharedaccesssignature=")
        || lower.contains("?sig=")
        || lower.contains("&sig=")
        || lower.contains("-----begin")
        || (lower.contains("://")
            && value.split("://").nth(1).is_some_and(|rest| {
                rest.split('/')
                    .next()
                    .is_some_and(|auth| auth.contains(':') && auth.contains('@'))
            }))
}

const CREDENTIAL_ADVICE: &str = "credentials are never read from the inventory; they come from the environment (AWS_*, GOOGLE_*, AZURE_*) or the workload identity (instance profile, web identity, metadata server, managed identity)";

/// Refuse any key or value anywhere in the file that looks like a credential. Column names
/// (the keys of `rename` and `tolerance`) are data, not settings, and are not judged.
fn refuse_credentials(table: &toml::Table, ctx: &Ctx) -> Result<()> {
    fn walk(value: &toml::Value, key: Option<&str>, ctx: &Ctx) -> Result<()> {
        match value {
            toml::Value::Table(t) => {
                // Column names and store URL prefixes are data, not setting names; a prefix is
                // still judged as a value (a SAS query string in it is refused).
                let column_names = matches!(key, Some("rename" | "tolerance"));
                let store_prefixes = key == Some("stores");
                for (k, v) in t {
                    if store_prefixes && looks_like_credential_value(k) {
                        return Err(Error::Invalid(format!(
                            "{}:{}: the store prefix `…` looks like it holds a credential and is refused: {CREDENTIAL_ADVICE}",
                            ctx.path,
                            ctx.line_containing(k)
                        )));
                    }
                    if !column_names && !store_prefixes && looks_like_credential_key(k) {
                        return Err(Error::Invalid(format!(
                            "{}:{}: `{k}` looks like a credential and is refused: {CREDENTIAL_ADVICE}",
                            ctx.path,
                            ctx.line_containing(k)
                        )));
                    }
                    walk(v, Some(k), ctx)?;
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    walk(item, key, ctx)?;
                }
            }
            toml::Value::String(s) if looks_like_credential_value(s) => {
                return Err(Error::Invalid(format!(
                    "{}:{}: the value of `{}` looks like a credential and is refused: {CREDENTIAL_ADVICE}",
                    ctx.path,
                    ctx.line_containing(s),
                    key.unwrap_or("?")
                )));
            }
            _ => {}
        }
        Ok(())
    }
    walk(&toml::Value::Table(table.clone()), None, ctx)
}

fn date(v: &Spanned<toml::Value>, what: &str, ctx: &Ctx) -> Result<NaiveDate> {
    let bad = || {
        ctx.at(
            v.span(),
            format!("`{what}` must be a date such as 2026-12-31"),
        )
    };
    match v.get_ref() {
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date.ok_or_else(bad)?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(bad)
        }
        toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Parse a duration as humantime reads it: `30m`, `6h`, `2d`, `1w`, `1h 30m` or `0`. At most
/// ten years: beyond any cutover, and the bound keeps date arithmetic far from overflow.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 30m, 6h or 2d ({e})"))?;
    Duration::from_std(parsed)
        .ok()
        .filter(|d| *d <= Duration::days(3650))
        .ok_or_else(|| format!("`{text}` is longer than ten years"))
}

fn duration(v: &Spanned<String>, what: &str, ctx: &Ctx) -> Result<Duration> {
    parse_duration(v.get_ref()).map_err(|e| ctx.at(v.span(), format!("`{what}`: {e}")))
}

fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A location as written, made absolute when it is a relative local path.
fn resolve(raw: &str, dir: &Path) -> String {
    if raw.contains("://") || Path::new(raw).is_absolute() {
        raw.to_string()
    } else {
        let mut s = dir.join(raw).to_string_lossy().into_owned();
        if raw.ends_with('/') && !s.ends_with('/') {
            s.push('/');
        }
        s
    }
}

fn streak(s: &Spanned<i64>, ctx: &Ctx) -> Result<u32> {
    match *s.get_ref() {
        n @ 1..=10_000 => Ok(n as u32),
        _ => Err(ctx.at(s.span(), "`required_streak` must be between 1 and 10000")),
    }
}

fn build(raw: RawInventory, ctx: &Ctx, dir: &Path) -> Result<Inventory> {
    let c = raw.cutover;
    let retirement_date = date(&c.retirement_date, "retirement_date", ctx)?;
    let required_streak = match &c.required_streak {
        None => 7,
        Some(s) => streak(s, ctx)?,
    };
    let min_age = match &c.min_age {
        Some(v) => duration(v, "min_age", ctx)?,
        None => Duration::hours(2),
    };
    let stale_after = match &c.stale_after {
        Some(v) => duration(v, "stale_after", ctx)?,
        None => Duration::days(3),
    };
    let start = c
        .start
        .as_ref()
        .map(|v| date(v, "start", ctx))
        .transpose()?;
    let cutover = Cutover {
        name: c.name,
        retirement_date,
        required_streak,
        ledger: resolve(c.ledger.as_deref().unwrap_or(".parity/ledger"), dir),
        min_age,
        start,
        stale_after,
    };

    let mut stores = StoreOptions::default();
    for (prefix, options) in raw.stores {
        let mut opts = Vec::new();
        for (k, v) in options {
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Boolean(b) => b.to_string(),
                other => other.to_string(),
            };
            opts.push((k, value));
        }
        stores.insert(&prefix, opts).map_err(|e| {
            Error::Invalid(format!(
                "{}:{}: {e}",
                ctx.path,
                ctx.line_containing(&prefix)
            ))
        })?;
    }

    let defaults = match raw.defaults {
        Some(d) => {
            let span = d.span();
            let d = d.into_inner();
            if d.id.is_some() || d.legacy.is_some() || d.target.is_some() {
                return Err(ctx.at(
                    span,
                    "[defaults] cannot hold `id`, `legacy` or `target`: they belong to one pipeline",
                ));
            }
            d
        }
        None => RawPipeline::default(),
    };

    let mut pipelines: Vec<Pipeline> = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in raw.pipeline {
        let span = entry.span();
        let p = pipeline(entry.into_inner(), &defaults, &cutover, span, ctx, dir)?;
        if !seen.insert(p.id.clone()) {
            return Err(ctx.at(
                ctx_span(ctx, p.line),
                format!("pipeline id `{}` is used twice", p.id),
            ));
        }
        pipelines.push(p);
    }
    if pipelines.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no [[pipeline]] entries",
            ctx.path
        )));
    }
    Ok(Inventory {
        path: ctx.path.to_string(),
        cutover,
        stores,
        pipelines,
    })
}

/// A span that starts at `line`, for errors found after parsing.
fn ctx_span(ctx: &Ctx, line: usize) -> std::ops::Range<usize> {
    let offset: usize = ctx
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    offset..offset
}

/// One `[[pipeline]]` entry `p`, its unset fields taken from the `[defaults]` entry `d` and the
/// cutover's settings: its id, where each side lives, when and how often it is checked, and
/// how its partitions are compared.
fn pipeline(
    p: RawPipeline,
    d: &RawPipeline,
    cutover: &Cutover,
    span: std::ops::Range<usize>,
    ctx: &Ctx,
    dir: &Path,
) -> Result<Pipeline> {
    let line = ctx.line_of(span.start);
    let id = pipeline_id(&p, span.clone(), ctx)?;
    let at = EntryAt { ctx, id: &id, span };
    let classification = match p.classification.as_ref().or(d.classification.as_ref()) {
        Some(c) => Some(c.get_ref().parse().map_err(|m| at.err(c.span(), m))?),
        None => None,
    };
    let cadence = match p.cadence.as_ref().or(d.cadence.as_ref()) {
        Some(c) => c.get_ref().parse().map_err(|m| at.err(c.span(), m))?,
        None => Cadence::Daily,
    };
    let format = match p.format.as_ref().or(d.format.as_ref()) {
        Some(f) => Some(
            f.get_ref()
                .parse::<FileFormat>()
                .map_err(|m| at.err(f.span(), m))?,
        ),
        None => None,
    };
    let migrate = p.migrate.or(d.migrate).unwrap_or(true);
    let (legacy, target) = locations(&p, cadence, migrate, &at, dir)?;
    let start = match p.start.as_ref().or(d.start.as_ref()) {
        Some(v) => Some(date(v, "start", ctx)?),
        None => cutover.start,
    };
    let min_age = match p.min_age.as_ref().or(d.min_age.as_ref()) {
        Some(v) => duration(v, "min_age", ctx)?,
        None => cutover.min_age,
    };
    let required_streak = match p.required_streak.as_ref().or(d.required_streak.as_ref()) {
        Some(s) => streak(s, ctx).map_err(|_| {
            at.err(
                s.span(),
                "`required_streak` must be between 1 and 10000".into(),
            )
        })?,
        None => cutover.required_streak,
    };
    let (compare, tolerances) = comparison(&p, d, format, &at)?;
    let config_digest = digest(&legacy, &target, cadence, &compare);
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    Ok(Pipeline {
        id,
        line,
        owner: non_empty(p.owner.or(d.owner.clone())),
        classification,
        reads: p.reads.or(d.reads.clone()).unwrap_or_default(),
        writes: p.writes.or(d.writes.clone()).unwrap_or_default(),
        business_process: non_empty(p.business_process.or(d.business_process.clone())),
        migrate,
        legacy,
        target,
        cadence,
        start,
        min_age,
        required_streak,
        compare,
        tolerances,
        config_digest,
    })
}

/// A pipeline entry being read, for its errors: they name the file, the line and the pipeline.
struct EntryAt<'a> {
    ctx: &'a Ctx<'a>,
    id: &'a str,
    /// The whole entry.
    span: std::ops::Range<usize>,
}

impl EntryAt<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: String) -> Error {
        self.ctx
            .at(span, format!("pipeline `{}`: {message}", self.id))
    }
}

/// A pipeline's `id`: present, and safe in a ledger path.
fn pipeline_id(p: &RawPipeline, span: std::ops::Range<usize>, ctx: &Ctx) -> Result<String> {
    let id_field =
        p.id.clone()
            .ok_or_else(|| ctx.at(span, "a [[pipeline]] entry needs an `id`"))?;
    let id = id_field.get_ref().clone();
    if !safe_id(&id) {
        return Err(ctx.at(
            id_field.span(),
            format!("pipeline id `{id}`: use only letters, digits, `_` and `-` (it becomes part of ledger paths)"),
        ));
    }
    Ok(id)
}

/// The `legacy` and `target` locations (required when the pipeline migrates), never the same
/// place: a dataset compared with itself is always identical.
fn locations(
    p: &RawPipeline,
    cadence: Cadence,
    migrate: bool,
    at: &EntryAt,
    dir: &Path,
) -> Result<(Option<Template>, Option<Template>)> {
    let template = |t: &Option<Spanned<String>>, side: &str| -> Result<Option<Template>> {
        match t {
            Some(t) => {
                let raw = t.get_ref();
                Template::parse(raw, &resolve(raw, dir), cadence)
                    .map(Some)
                    .map_err(|m| at.err(t.span(), m))
            }
            None if migrate => Err(at.err(
                at.span.clone(),
                format!("`{side}` location is required (or set migrate = false)"),
            )),
            None => Ok(None),
        }
    };
    let legacy = template(&p.legacy, "legacy")?;
    let target = template(&p.target, "target")?;
    if let (Some(l), Some(t), Some(span)) = (&legacy, &target, p.target.as_ref().map(|t| t.span()))
    {
        if l.base.trim_end_matches('/') == t.base.trim_end_matches('/')
            && l.raw_tail() == t.raw_tail()
        {
            return Err(at.err(
                span,
                "`legacy` and `target` are the same location: parity would compare it with itself"
                    .into(),
            ));
        }
    }
    Ok((legacy, target))
}

/// How a pipeline's partitions are compared (its `format`, key, ignored and renamed columns,
/// tolerances, strict types), and its tolerances as the engine takes them.
fn comparison(
    p: &RawPipeline,
    d: &RawPipeline,
    format: Option<FileFormat>,
    at: &EntryAt,
) -> Result<(CompareOptions, Tolerances)> {
    let non_negative = |v: &Option<Spanned<f64>>, name: &str| -> Result<f64> {
        match v {
            Some(x) if x.get_ref().is_finite() && *x.get_ref() >= 0.0 => Ok(*x.get_ref()),
            Some(x) => Err(at.err(x.span(), format!("`{name}` must be a finite number >= 0"))),
            None => Ok(0.0),
        }
    };
    let abs_tol = non_negative(&p.abs_tol.clone().or(d.abs_tol.clone()), "abs_tol")?;
    let rel_tol = non_negative(&p.rel_tol.clone().or(d.rel_tol.clone()), "rel_tol")?;
    let tolerance_field = p.tolerance.clone().or(d.tolerance.clone());
    let mut tolerances = Tolerances {
        default: Tolerance {
            abs: abs_tol,
            rel: rel_tol,
        },
        columns: BTreeMap::new(),
    };
    let tolerance = match &tolerance_field {
        Some(t) => {
            for (col, spec) in t.get_ref() {
                let tol = Tolerance::parse(spec)
                    .map_err(|e| at.err(t.span(), format!("tolerance for `{col}`: {e}")))?;
                tolerances.columns.insert(col.clone(), tol);
            }
            t.get_ref().clone()
        }
        None => BTreeMap::new(),
    };
    let compare = CompareOptions {
        format,
        key: p.key.clone().or(d.key.clone()).unwrap_or_default(),
        ignore: p.ignore.clone().or(d.ignore.clone()).unwrap_or_default(),
        rename: p.rename.clone().or(d.rename.clone()).unwrap_or_default(),
        abs_tol,
        rel_tol,
        tolerance,
        strict_types: p.strict_types.or(d.strict_types).unwrap_or(false),
    };
    for (what, cols) in [("key", &compare.key), ("ignore", &compare.ignore)] {
        if let Some(c) = cols.iter().find(|c| c.trim().is_empty()) {
            return Err(at.err(
                at.span.clone(),
                format!("`{what}` has an empty column name `{c}`"),
            ));
        }
    }
    Ok((compare, tolerances))
}

/// blake3 of what decides a unit's verdict. Templates are hashed as written (not resolved), so
/// the digest does not depend on where the inventory is checked out.
fn digest(
    legacy: &Option<Template>,
    target: &Option<Template>,
    cadence: Cadence,
    compare: &CompareOptions,
) -> String {
    let doc = serde_json::json!({
        "encoding_version": ENCODING_VERSION,
        "legacy": legacy.as_ref().map(|t| &t.raw),
        "target": target.as_ref().map(|t| &t.raw),
        "cadence": cadence,
        "compare": compare,
    });
    blake3::hash(doc.to_string().as_bytes())
        .to_hex()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[cutover]
name = "wh"
retirement_date = 2026-12-15
required_streak = 5
min_age = "6h"
start = 2026-11-01

[stores."s3://legacy-bucket"]
endpoint = "http://127.0.0.1:9000"
allow_http = true

[defaults]
format = "parquet"
ignore = ["loaded_at"]

[[pipeline]]
id = "orders"
owner = "team@example.com"
classification = "confidential"
reads = ["pg.orders"]
writes = ["wh.orders"]
business_process = "order-to-cash"
legacy = "s3://legacy-bucket/orders/dt={date}/"
target = "target/orders/dt={date}/"
key = ["order_id"]
rename = { password_hash = "pw_hash" }
tolerance = { amount = "abs:0.01" }

[[pipeline]]
id = "retired"
migrate = false
"#;

    fn parse(text: &str) -> Result<Inventory> {
        Inventory::parse(text, "parity.toml", Path::new("/srv/cutover"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_inventory_resolves() {
        let inv = parse(GOOD).unwrap();
        assert_eq!(inv.cutover.required_streak, 5);
        assert_eq!(inv.cutover.ledger, "/srv/cutover/.parity/ledger");
        assert_eq!(inv.cutover.min_age, Duration::hours(6));
        let p = &inv.pipelines[0];
        assert_eq!(p.line, 17);
        assert_eq!(p.compare.ignore, vec!["loaded_at"]);
        assert_eq!(p.compare.format, Some(FileFormat::Parquet));
        assert_eq!(
            p.target.as_ref().unwrap().base,
            "/srv/cutover/target/orders/"
        );
        assert!(p.gaps().is_empty());
        assert!(p.redacted_by_default());
        assert_eq!(
            inv.stores
                .for_url("s3://legacy-bucket/orders/dt=2026-11-01/"),
            &[
                ("allow_http".to_string(), "true".to_string()),
                ("endpoint".to_string(), "http://127.0.0.1:9000".to_string())
            ]
        );
        assert!(inv.stores.for_url("s3://legacy-bucket-2/x").is_empty());
        let r = &inv.pipelines[1];
        assert!(!r.migrate);
        let gaps: Vec<_> = r.gaps().into_iter().map(|g| g.field).collect();
        assert_eq!(
            gaps,
            [
                "owner",
                "classification",
                "reads",
                "writes",
                "business_process"
            ]
        );
    }

    #[test]
    fn the_digest_follows_the_comparison_only() {
        let a = parse(GOOD).unwrap();
        let b = parse(&GOOD.replace("team@example.com", "other@example.com")).unwrap();
        assert_eq!(a.pipelines[0].config_digest, b.pipelines[0].config_digest);
        let c = parse(&GOOD.replace("abs:0.01", "abs:0.02")).unwrap();
        assert_ne!(a.pipelines[0].config_digest, c.pipelines[0].config_digest);
    }

    #[test]
    fn a_pipeline_may_need_its_own_streak() {
        let inv = parse(GOOD).unwrap();
        assert_eq!(inv.pipelines[0].required_streak, 5, "the cutover's");
        let text = GOOD.replace("id = \"retired\"", "id = \"retired\"\nrequired_streak = 24");
        assert_eq!(parse(&text).unwrap().pipelines[1].required_streak, 24);
        let e = err(&GOOD.replace("id = \"retired\"", "id = \"retired\"\nrequired_streak = 0"));
        assert_eq!(
            e,
            "parity.toml:32: pipeline `retired`: `required_streak` must be between 1 and 10000"
        );
    }

    #[test]
    fn durations_beyond_ten_years_are_refused_not_overflowed() {
        assert_eq!(parse_duration("3650d"), Ok(Duration::days(3650)));
        assert_eq!(
            parse_duration("3651d"),
            Err("`3651d` is longer than ten years".to_string())
        );
        assert_eq!(
            parse_duration("9999999999999d"),
            Err("`9999999999999d` is longer than ten years".to_string())
        );
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn store_prefixes_and_sig_folders_are_locations_not_secrets() {
        let text = GOOD.replace("s3://legacy-bucket\"]", "s3://team-secrets\"]");
        assert!(parse(&text).is_ok(), "{:?}", parse(&text).err());
        let text = GOOD.replace("orders/dt={date}/\"\ntarget", "sig=1/dt={date}/\"\ntarget");
        assert!(parse(&text).is_ok(), "{:?}", parse(&text).err());
        // A SAS signature in a prefix's query string is still refused, on its line.
        let text = GOOD.replace(
            "[stores.\"s3://legacy-bucket\"]",
            "# a comment holding ?sig=abc\n[stores.\"az://acct/c?sv=1&sig=abc\"]",
        );
        let e = err(&text);
        assert!(e.starts_with("parity.toml:10: the store prefix"), "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let e = err(&GOOD.replace("required_streak = 5", "required_streek = 5"));
        assert!(e.starts_with("parity.toml:5: "), "{e}");
        assert!(e.contains("required_streek"), "{e}");
        let e = err(&GOOD.replace("2026-12-15", "2026-13-15"));
        assert!(e.starts_with("parity.toml:4: "), "{e}");
        let e = err(&GOOD.replace("2026-12-15", "\"soon\""));
        assert_eq!(
            e,
            "parity.toml:4: `retirement_date` must be a date such as 2026-12-31"
        );
        let e = err(&GOOD.replace("\"confidential\"", "\"secretish\""));
        assert!(
            e.starts_with("parity.toml:20: pipeline `orders`: classification `secretish`"),
            "{e}"
        );
        let e = err(&GOOD.replace("orders/dt={date}/\"\nkey", "orders/\"\nkey"));
        assert!(e.starts_with("parity.toml:25: pipeline `orders`: template `target/orders/` has no partition variable"), "{e}");
        let e = err(&GOOD.replace("id = \"orders\"", "id = \"../orders\""));
        assert!(
            e.starts_with("parity.toml:18: pipeline id `../orders`"),
            "{e}"
        );
        let e = err(&GOOD.replace("id = \"retired\"", "id = \"orders\""));
        assert!(e.contains("used twice"), "{e}");
        let e = err(&GOOD.replace("min_age = \"6h\"", "min_age = \"six hours\""));
        assert!(e.starts_with("parity.toml:6: `min_age`"), "{e}");
        let e = err(&GOOD.replace("\"abs:0.01\"", "\"abs:-1\""));
        assert!(
            e.starts_with("parity.toml:28: pipeline `orders`: tolerance for `amount`"),
            "{e}"
        );
        let e = err(&GOOD.replace("allow_http = true", "profile = \"dev\""));
        assert!(e.contains("unknown option `profile`"), "{e}");
    }

    #[test]
    fn credentials_are_refused() {
        for (from, to, line) in [
            ("allow_http = true", "secret_access_key = \"abc\"", 11),
            ("allow_http = true", "aws_access_key_id = \"abc\"", 11),
            ("allow_http = true", "sas_token = \"abc\"", 11),
            ("format = \"parquet\"", "connection_string = \"abc\"", 14),
            (
                "owner = \"team@example.com\"",
                "owner = \"team@example.com\"\napi_token = \"x\"",
                20,
            ),
            (
                "\"http://127.0.0.1:9000\"",
                "\"http://AKIAABCDEFGHIJKLMNOP@host\"",
                10,
            ),
            (
                "target/orders/dt={date}/",
                "az://c/x/dt={date}/?sig=abc",
                25,
            ),
        ] {
            let e = err(&GOOD.replace(from, to));
            assert!(e.starts_with(&format!("parity.toml:{line}: ")), "{to}: {e}");
            assert!(e.contains("looks like a credential"), "{e}");
            assert!(e.contains("from the environment"), "{e}");
            assert!(!e.contains("abc\""), "{e}");
        }
        // Column names are data: a column called password_hash may be renamed.
        assert!(parse(GOOD).is_ok());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse_duration("2d").unwrap(), Duration::days(2));
        assert_eq!(parse_duration("0").unwrap(), Duration::zero());
        assert_eq!(parse_duration("1w").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::minutes(90));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-2d").is_err());
        assert!(parse_duration("").is_err());
    }
}
