//! The cutover commands: `run`, `inventory`, `history`, `lineage`, `report`. Each loads the inventory,
//! opens the ledger, calls the library and renders.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parity::config::DiffConfig;
use parity::events::{Event, EventKind, EventSink, JsonLines};
use parity::inventory::{parse_duration, Inventory, InventoryReport};
use parity::ledger::{new_run_id, newest_per_partition, Ledger};
use parity::plan::{PlanOptions, Window};
use parity::report::{cutover, OutputFormat};
use parity::run::RunOptions;

use super::args::{HistoryArgs, InventoryArgs, LineageArgs, ReportArgs, RunArgs};
use super::{run_interruptible, runtime, screen_for, write_stdout};

/// The inventory at `path`. A missing file says where parity looked and how to point it
/// elsewhere.
fn load(path: &Path) -> anyhow::Result<Inventory> {
    if !path.exists() {
        let here = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into());
        anyhow::bail!(
            "{}: no inventory there (looked from {here}); name one with --config PATH or the PARITY_CONFIG environment variable",
            path.display()
        );
    }
    Ok(Inventory::load(path)?)
}

/// The ledger a run writes to (a local folder is created when missing).
fn ledger(inv: &Inventory, over: &Option<String>) -> anyhow::Result<Ledger> {
    let url = over.as_deref().unwrap_or(&inv.cutover.ledger);
    Ok(Ledger::open(url, &inv.stores)?)
}

/// The ledger a reading command reads (never created).
fn ledger_to_read(inv: &Inventory, over: &Option<String>) -> anyhow::Result<Ledger> {
    let url = over.as_deref().unwrap_or(&inv.cutover.ledger);
    Ok(Ledger::open_to_read(url, &inv.stores)?)
}

fn day(flag: &str, v: &Option<String>) -> anyhow::Result<Option<NaiveDate>> {
    v.as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
                .ok_or_else(|| anyhow::anyhow!("{flag} {s}: expected a date such as 2026-11-07"))
        })
        .transpose()
}

fn now(v: &Option<String>) -> anyhow::Result<DateTime<Utc>> {
    match v {
        None => Ok(Utc::now()),
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .with_context(|| {
                    format!("--now {s}: expected RFC 3339 such as 2026-11-11T06:00:00Z")
                })?
                .with_timezone(&Utc);
            // A replay is of the past: records dated in the future would settle partitions
            // for every real run until then.
            if t > Utc::now() + chrono::Duration::minutes(1) {
                anyhow::bail!(
                    "--now {s}: later than this machine's clock; --now replays a past run"
                );
            }
            Ok(t)
        }
    }
}

/// The overall progress bar of a run: one tick per unit checked.
struct RunBar(ProgressBar);

impl EventSink for RunBar {
    fn emit(&self, e: &Event) {
        match &e.kind {
            EventKind::RunStarted { units, .. } => self.0.set_length(*units),
            EventKind::UnitChecked {
                pipeline,
                partition,
                ..
            } => {
                self.0.set_message(format!("{} {partition}", pipeline.id));
                self.0.inc(1);
            }
            EventKind::RunFinished { .. } => self.0.finish_and_clear(),
            _ => {}
        }
    }
}

/// Sends each event to several sinks.
struct Tee<'a>(Vec<&'a dyn EventSink>);

impl EventSink for Tee<'_> {
    fn emit(&self, e: &Event) {
        for s in &self.0 {
            s.emit(e);
        }
    }
}

/// What `parity run` is asked to do, from its flags.
fn run_options(args: &RunArgs, started: DateTime<Utc>) -> anyhow::Result<RunOptions> {
    let (since, until) = (day("--since", &args.since)?, day("--until", &args.until)?);
    if let (Some(a), Some(b)) = (since, until) {
        anyhow::ensure!(
            a <= b,
            "--since {a} is after --until {b}: the window is empty"
        );
    }
    Ok(RunOptions {
        plan: PlanOptions {
            window: Window {
                date: day("--date", &args.date)?,
                since,
                until,
            },
            pipelines: args.pipeline.clone(),
            recheck: args.recheck,
            shard: args.shard.parse().map_err(anyhow::Error::msg)?,
            now: started,
            detect_rewrites: args.now.is_none(),
        },
        jobs: args.jobs,
        base: DiffConfig {
            memory_limit: args.memory_limit,
            samples: args.samples,
            concurrency: args.concurrency,
            spill_dir: args.spill_dir.clone(),
            ..Default::default()
        },
        reveal_confidential: args.reveal_confidential,
        run_id: new_run_id(started),
        // --now replays a past run: what it writes carries the times it would have had.
        clock_offset: match args.now {
            Some(_) => started - Utc::now(),
            None => chrono::Duration::zero(),
        },
    })
}

/// The run's progress bar on stderr: only on a terminal, never with `--quiet` or in CI.
fn run_bar(quiet: bool) -> Option<RunBar> {
    let show_bar = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    show_bar.then(|| {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} units {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        RunBar(b)
    })
}

pub fn run(args: RunArgs, quiet: bool) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let inv = load(&args.config.config)?;
    if args.jobs == 0 || args.concurrency == 0 {
        anyhow::bail!("--jobs and --concurrency must be at least 1");
    }
    let started = now(&args.now)?;
    let ledger = ledger(&inv, &args.ledger)?;
    // A replay writes records dated in the past; a shared ledger is an audit trail, and its
    // records carry the time they were made.
    if args.now.is_some() && !ledger.is_local() {
        anyhow::bail!(
            "--now replays a past run and dates its records then: only with a local ledger (a demo or a test), not {}",
            ledger.url()
        );
    }
    let opts = run_options(&args, started)?;

    // Events to stdout take stdout: the summary then goes to stderr.
    let events_to_stdout = args.events.as_deref() == Some("-");
    let file_sink = match args.events.as_deref() {
        None | Some("-") => None,
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("--events {path}: cannot open for appending"))?;
            Some(JsonLines::new(std::io::BufWriter::new(f)))
        }
    };
    let stdout_sink = events_to_stdout.then(|| JsonLines::new(std::io::stdout()));
    let bar = run_bar(quiet);
    let mut sinks: Vec<&dyn EventSink> = Vec::new();
    if let Some(s) = &file_sink {
        sinks.push(s);
    }
    if let Some(s) = &stdout_sink {
        sinks.push(s);
    }
    if let Some(b) = &bar {
        sinks.push(b);
    }
    let tee = Tee(sinks);
    let summary = run_interruptible(parity::run::run(&inv, &ledger, &opts, &tee))??;
    for (sink, name) in [(&file_sink, "--events"), (&stdout_sink, "--events -")] {
        if let Some(e) = sink.as_ref().and_then(|s| s.take_error()) {
            anyhow::bail!("{name}: writing events failed: {e}");
        }
    }
    if events_to_stdout {
        let mut err = std::io::stderr().lock();
        cutover::run_summary(&summary, format, parity::report::Screen::PLAIN, &mut err)?;
        err.flush()?;
    } else {
        let screen = screen_for(format);
        write_stdout(|out| cutover::run_summary(&summary, format, screen, out))?;
    }
    Ok(summary.exit_code)
}

pub fn inventory(args: InventoryArgs) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let inv = load(&args.config.config)?;
    let gaps = if args.offline {
        Vec::new()
    } else {
        runtime()?.block_on(parity::plan::location_gaps(&inv))
    };
    let report = InventoryReport::new(&inv, &gaps);
    let screen = screen_for(format);
    write_stdout(|out| cutover::inventory(&report, format, screen, out))?;
    Ok(u8::from(report.pipelines_with_gaps > 0))
}

pub fn history(args: HistoryArgs) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let inv = load(&args.config.config)?;
    let rt = runtime()?;
    let known = inv.pipeline(&args.pipeline).is_some();
    let ledger = match ledger_to_read(&inv, &args.ledger) {
        Ok(l) => l,
        Err(_) if !known => return Err(unknown_pipeline(&inv, &args.pipeline)),
        Err(e) => return Err(e),
    };
    let records = rt.block_on(async {
        let listed = ledger.entries(&args.pipeline).await;
        // A pipeline gone from the inventory may still have a history; a name that is in
        // neither is a mistake.
        if !known && !listed.as_ref().is_ok_and(|e| !e.is_empty()) {
            return Err(unknown_pipeline(&inv, &args.pipeline));
        }
        let mut entries = listed?;
        if !known {
            tracing::warn!(
                "{}: no pipeline `{}` in the inventory; showing what the ledger holds",
                inv.path,
                args.pipeline
            );
        }
        if !args.all {
            entries = newest_per_partition(entries);
        }
        Ok(ledger.read_all(&entries).await?)
    })?;
    // Redacted as the pipeline is classified now (or, gone from the inventory, as it was when
    // each record was written), whatever the run that wrote a record did.
    let redactor = parity::redact::Redactor::from_env();
    let classified_now = inv
        .pipeline(&args.pipeline)
        .map(|p| p.redacted_by_default());
    let records: Vec<_> = records
        .into_iter()
        .map(|r| {
            let must_redact = classified_now
                .unwrap_or_else(|| r.classification.is_some_and(|c| c.redacted_by_default()));
            parity::readiness::shown_now(r, must_redact, &redactor)
        })
        .collect();
    let screen = screen_for(format);
    write_stdout(|out| cutover::history(&args.pipeline, &records, format, screen, out))?;
    Ok(0)
}

/// A pipeline neither in the inventory nor in the ledger, and the ones there are.
fn unknown_pipeline(inv: &Inventory, id: &str) -> anyhow::Error {
    let ids: Vec<String> = inv.pipelines.iter().map(|p| p.id.clone()).collect();
    anyhow::anyhow!(
        "{}: no pipeline `{id}` in the inventory or the ledger; pipelines: {}",
        inv.path,
        parity::report::text::capped(&ids, 30)
    )
}

pub fn lineage(args: LineageArgs) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let inv = load(&args.config.config)?;
    let ledger = ledger_to_read(&inv, &args.ledger)?;
    let window = parse_duration(&args.since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let now = now(&args.now)?;
    let answer = runtime()?.block_on(parity::lineage::lineage(
        &inv,
        &ledger,
        &args.reads,
        window,
        now,
    ))?;
    let screen = screen_for(format);
    write_stdout(|out| cutover::lineage(&answer, format, screen, out))?;
    Ok(0)
}

pub fn report(args: ReportArgs) -> anyhow::Result<u8> {
    let html = matches!(args.format.as_str(), "html" | "htm");
    let format: OutputFormat = if html {
        OutputFormat::Terminal
    } else {
        args.format.parse().map_err(anyhow::Error::msg)?
    };
    let inv = load(&args.config.config)?;
    let ledger = ledger_to_read(&inv, &args.ledger)?;
    let as_of = day("--as-of", &args.as_of)?;
    let opts = parity::readiness::ReportOptions::new(as_of, Utc::now(), args.pipeline.clone())?;
    let r = runtime()?.block_on(parity::readiness::report(&inv, &ledger, &opts))?;
    let render = |out: &mut dyn Write, screen: parity::report::Screen| {
        if html {
            parity::report::html::render(&r, out)
        } else {
            parity::report::readiness::render(&r, format, screen, out)
        }
    };
    match &args.out {
        Some(path) => {
            let mut buf = Vec::new();
            render(&mut buf, parity::report::Screen::PLAIN)?;
            write_whole(path, &buf)?;
        }
        None => {
            let screen = if html {
                parity::report::Screen::PLAIN
            } else {
                screen_for(format)
            };
            write_stdout(|out| render(out, screen))?;
        }
    }
    let no_go = r.decision == parity::readiness::Decision::NoGo;
    Ok(u8::from(no_go && args.fail_on.is_some()))
}

/// Write a file whole: a temporary file beside it, renamed into place, so a reader never sees
/// half a report and a failed write leaves the old file as it was.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = parity::diff::output::temp_file_beside(dir, ".parity-report-")
        .with_context(|| format!("{}: cannot create a file beside it", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("{}: write failed", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.error))?;
    Ok(())
}
