//! Raw command-line flags and their validation into a [`DiffConfig`].
//!
//! What clap can check while parsing (a value among a fixed set, a size) it checks, so its
//! error says which argument, what it allows and where the help is. The rest is checked in
//! [`DiffArgs::into_config`].

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand};
use parity::config::{parse_non_negative, parse_rename, DiffConfig, Tolerance, Tolerances};
use parity::redact::Redactor;
use parity::source::FileFormat;

/// Dual-run output parity checker for data pipeline migrations.
#[derive(Debug, Parser)]
#[command(name = "parity", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No progress bars and no log output but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare two datasets: identical? equivalent? which rows and columns differ?
    ///
    /// Exit codes: 0 parity (identical, equivalent, within_tolerance), 1 differences,
    /// 2 the check could not be done.
    Diff(DiffArgs),
    /// The scheduled job: check every pipeline's new partitions, record each verdict in the
    /// ledger, emit audit events.
    ///
    /// Exit codes: 0 every unit checked is at parity, 1 a unit diverged or a partition is
    /// missing, 2 the run could not be done (bad inventory, unreachable ledger) or a unit
    /// could not be checked.
    Run(RunArgs),
    /// Validate the inventory and list its pipelines with their gaps (exit 1 when any).
    Inventory(InventoryArgs),
    /// A pipeline's timeline of checks, from the ledger.
    History(HistoryArgs),
    /// Which pipelines read from a source in a window, which partitions they produced and
    /// where they write (from the inventory and the ledger).
    Lineage(LineageArgs),
    /// Cutover readiness: each pipeline's streak against the retirement date, and GO/NO-GO.
    ///
    /// Exit codes: 0 the report was made (whatever it says, unless --fail-on no-go), 1 NO-GO
    /// with --fail-on no-go, 2 the report could not be made.
    Report(ReportArgs),
    /// Print a shell completion script: `parity completions bash > ~/.local/share/bash-completion/completions/parity`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a folder.
    Man(ManArgs),
}

/// `parity completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `parity man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write parity.1 and a page per command (parity-diff.1, …) into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The output formats of the text commands (`text` and `md` are accepted too).
fn text_formats() -> PossibleValuesParser {
    PossibleValuesParser::new([
        PossibleValue::new("terminal").alias("text"),
        PossibleValue::new("json"),
        PossibleValue::new("markdown").alias("md"),
    ])
}

/// The report's formats: the text ones and html.
fn report_formats() -> PossibleValuesParser {
    PossibleValuesParser::new([
        PossibleValue::new("terminal").alias("text"),
        PossibleValue::new("json"),
        PossibleValue::new("markdown").alias("md"),
        PossibleValue::new("html").alias("htm"),
    ])
}

/// The input formats (`pq`, `json` and `ndjson` are accepted too).
fn input_formats() -> PossibleValuesParser {
    PossibleValuesParser::new([
        PossibleValue::new("parquet").alias("pq"),
        PossibleValue::new("csv"),
        PossibleValue::new("jsonl").aliases(["json", "ndjson"]),
    ])
}

/// A memory budget (`--memory-limit`), checked while parsing.
fn memory_limit(text: &str) -> Result<u64, String> {
    parity::config::parse_size(text).map_err(|e| e.to_string())
}

/// `parity report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The ledger, overriding the inventory's (URL or path).
    #[arg(long, value_name = "URL")]
    pub ledger: Option<String>,
    /// Report as of the end of this day: later records and partitions are not counted, so the
    /// same command gives the same report tomorrow. Default: now.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Only this pipeline (repeatable): the decision is then about these alone.
    #[arg(long = "pipeline", short = 'p', value_name = "ID")]
    pub pipeline: Vec<String>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = report_formats())]
    pub format: String,
    /// Write the report to this file (created whole, or not at all) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when the decision is NO-GO, for a deployment pipeline to gate on.
    #[arg(long, value_name = "WHEN", value_parser = ["no-go"])]
    pub fail_on: Option<String>,
}

/// Where the inventory is.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The inventory file.
    #[arg(
        long,
        short = 'c',
        value_name = "PATH",
        env = "PARITY_CONFIG",
        default_value = "parity.toml"
    )]
    pub config: PathBuf,
}

/// `parity run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The ledger, overriding the inventory's (URL or path).
    #[arg(long, value_name = "URL")]
    pub ledger: Option<String>,
    /// Only this partition day (checked even if it is younger than min_age).
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["since", "until"])]
    pub date: Option<String>,
    /// Only partitions from this day on.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,
    /// Only partitions up to this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub until: Option<String>,
    /// Only this pipeline (repeatable).
    #[arg(long = "pipeline", short = 'p', value_name = "ID")]
    pub pipeline: Vec<String>,
    /// Check again units the ledger already settles.
    #[arg(long)]
    pub recheck: bool,
    /// Check only this share of the units: I/N, 0 <= I < N.
    #[arg(long, value_name = "I/N", default_value = "0/1")]
    pub shard: String,
    /// Units checked at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    /// Write audit events as JSON lines to this file (appended), or `-` for stdout.
    #[arg(long, value_name = "PATH")]
    pub events: Option<String>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = text_formats())]
    pub format: String,
    /// Memory budget shared by the units checked at once.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = memory_limit)]
    pub memory_limit: u64,
    /// Folder for spill files (default: the system temporary folder).
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Sample rows kept per kind of difference in each record.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub samples: usize,
    /// Files, or parts of local Parquet files, read at once per side of a unit.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Show values of confidential pipelines (restricted values are never shown).
    #[arg(long)]
    pub reveal_confidential: bool,
    /// Run as if it were this time (RFC 3339): partitions are judged old enough, and records
    /// and events are dated, as of then. For replaying a past run and for the demo.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// `parity inventory`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InventoryArgs {
    /// What to do instead of validating the inventory.
    #[command(subcommand)]
    pub action: Option<InventoryAction>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Do not list the stores to check that the locations exist.
    #[arg(long)]
    pub offline: bool,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = text_formats())]
    pub format: String,
}

/// `parity inventory …` subcommands.
#[derive(Debug, Subcommand)]
pub enum InventoryAction {
    /// Draft an inventory from what both platforms have written: list both roots, pair their
    /// datasets by relative prefix, work out each pair's partition template, cadence and
    /// format, and write a draft parity.toml whose sign-off attributes are left to fill.
    ///
    /// Reads listings, plus a Parquet footer or a few rows of each pair's newest common
    /// partition to suggest a key. Exit codes: 0 the draft was written, 2 it could not be
    /// (nothing is written then).
    Discover(DiscoverArgs),
}

/// `parity inventory discover LEGACY_ROOT TARGET_ROOT`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Where the legacy platform writes (s3://, gs://, az://, abfs://, file:// or a path).
    pub legacy_root: String,
    /// Where the target platform writes, in the same forms.
    pub target_root: String,
    /// The draft inventory to write (never over an existing file without --force).
    #[arg(long, short = 'o', value_name = "PATH", default_value = "parity.toml")]
    pub out: PathBuf,
    /// Replace the file at --out if there is one.
    #[arg(long)]
    pub force: bool,
    /// The cutover's name in the draft.
    #[arg(long, value_name = "NAME", default_value = "cutover")]
    pub name: String,
    /// The retirement date in the draft (else a placeholder marked TODO).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub retirement_date: Option<String>,
    /// How to print what was found: terminal, json or markdown.
    #[arg(long, value_name = "FORMAT", default_value = "terminal")]
    pub format: String,
}

/// `parity history PIPELINE`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The pipeline's id.
    pub pipeline: String,
    #[command(flatten)]
    pub config: ConfigArg,
    /// The ledger, overriding the inventory's.
    #[arg(long, value_name = "URL")]
    pub ledger: Option<String>,
    /// Every check, not only the newest per partition.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = text_formats())]
    pub format: String,
}

/// `parity lineage --reads SOURCE`.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// The source system (as in the inventory's `reads`); a trailing `*` matches a prefix.
    #[arg(long, value_name = "SOURCE")]
    pub reads: String,
    /// The window: partitions from this long ago until now (30m, 12h, 30d).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub since: String,
    #[command(flatten)]
    pub config: ConfigArg,
    /// The ledger, overriding the inventory's.
    #[arg(long, value_name = "URL")]
    pub ledger: Option<String>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = text_formats())]
    pub format: String,
    /// The time treated as now (RFC 3339).
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// `parity diff LEFT RIGHT`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The legacy side: a file or a prefix (s3://, gs://, az://, abfs://, file:// or a path).
    pub left: String,
    /// The target side, in the same forms.
    pub right: String,
    /// Key column (repeat, or separate with commas, for a composite key). Without a key the
    /// diff is a multiset diff of whole rows.
    #[arg(long = "key", short = 'k', value_name = "COL", value_delimiter = ',')]
    pub key: Vec<String>,
    /// Leave a column out of the comparison (repeatable), e.g. a load timestamp.
    #[arg(long, value_name = "COL")]
    pub ignore: Vec<String>,
    /// The left column LEFT is the right column RIGHT (repeatable).
    #[arg(long, value_name = "LEFT=RIGHT")]
    pub rename: Vec<String>,
    /// Absolute tolerance for every float column.
    #[arg(long, value_name = "X")]
    pub abs_tol: Option<String>,
    /// Relative tolerance for every float column.
    #[arg(long, value_name = "X")]
    pub rel_tol: Option<String>,
    /// Tolerance for one float or decimal column: COL=abs:X, COL=rel:X or COL=abs:X,rel:Y.
    #[arg(long = "tol", value_name = "COL=abs:X")]
    pub tol: Vec<String>,
    /// Any type change is a divergence, even a lossless one such as int32 -> int64.
    #[arg(long)]
    pub strict_types: bool,
    /// Memory budget; the row diff spills to disk beyond it.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = memory_limit)]
    pub memory_limit: u64,
    /// Sample rows to show per kind of difference.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub samples: usize,
    /// Input format, overriding file extensions.
    #[arg(long, value_name = "FORMAT", value_parser = input_formats())]
    pub input_format: Option<String>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "terminal", value_parser = text_formats())]
    pub format: String,
    /// Write every differing row to this Parquet file (path or URL).
    #[arg(long, value_name = "URL")]
    pub diff_out: Option<String>,
    /// Replace every value shown with a short keyed hash (equal values look equal).
    #[arg(long)]
    pub redact: bool,
    /// Files, or parts of local Parquet files (runs of row groups), read at once per side.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Folder for spill files (default: the system temporary folder).
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// How the row diff gets its rows: auto, memory, subset, spill (for tests and benchmarks).
    #[arg(long, value_name = "STRATEGY", default_value = "auto", hide = true)]
    pub row_strategy: String,
}

impl DiffArgs {
    /// Check the flags and build the engine's configuration.
    pub fn into_config(self) -> anyhow::Result<DiffConfig> {
        let mut tolerance = Tolerances::default();
        if let Some(a) = &self.abs_tol {
            tolerance.default.abs = parse_non_negative(a, &format!("--abs-tol {a}"))?;
        }
        if let Some(r) = &self.rel_tol {
            tolerance.default.rel = parse_non_negative(r, &format!("--rel-tol {r}"))?;
        }
        for t in &self.tol {
            let (col, tol): (String, Tolerance) = Tolerances::parse_column(t)?;
            tolerance.columns.insert(col, tol);
        }
        let rename = self
            .rename
            .iter()
            .map(|r| parse_rename(r))
            .collect::<Result<Vec<_>, _>>()?;
        let input_format = match &self.input_format {
            Some(f) => Some(f.parse::<FileFormat>().map_err(anyhow::Error::msg)?),
            None => None,
        };
        let mut key = Vec::new();
        for k in self.key.into_iter().map(|k| k.trim().to_string()) {
            if k.is_empty() {
                anyhow::bail!("--key: empty column name");
            }
            if key.contains(&k) {
                anyhow::bail!("--key {k}: given twice");
            }
            key.push(k);
        }
        if self.concurrency == 0 {
            anyhow::bail!("--concurrency must be at least 1");
        }
        Ok(DiffConfig {
            key,
            ignore: self.ignore,
            rename,
            tolerance,
            strict_types: self.strict_types,
            memory_limit: self.memory_limit,
            samples: self.samples,
            input_format,
            redactor: self.redact.then(Redactor::from_env),
            diff_out: self.diff_out,
            concurrency: self.concurrency,
            spill_dir: self.spill_dir,
            row_strategy: self.row_strategy.parse().map_err(anyhow::Error::msg)?,
        })
    }
}
