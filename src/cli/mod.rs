//! The command line: clap definitions, argument validation, the printer and progress bars.
//!
//! Arguments are parsed in two steps: clap reads raw flags ([`args`]), then they are checked and
//! turned into the library's [`parity::DiffConfig`]. The engine never sees clap. Exit codes are
//! a contract: 0 parity, 1 differences, 2 the check could not be done.
//!
//! Where output goes decides how it looks: on a terminal, tables fit its width and carry colour
//! (unless `NO_COLOR` is set); piped, they are plain and as wide as their content. Logs on
//! stderr carry colour only when stderr is a terminal.

pub mod args;
pub mod cutover;
pub mod discover;
pub mod progress;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use parity::report::{self, OutputFormat, Screen};
use parity::Progress;

use args::{Cli, Command, CompletionsArgs, DiffArgs, ManArgs};

/// Exit code when the check could not be done.
pub const EXIT_ERROR: u8 = 2;

/// Parse, run, map to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(cli.verbose, cli.quiet);
    parity::panics::install_hook();
    file_size_limit_is_an_error();
    // A panic that no stage caught is a bug: one line, exit 2, like any check not done.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)))
        .unwrap_or_else(|payload| Err(parity::panics::caught_on_main(payload.as_ref()).into()));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "parity: error: {}",
                parity::error::one_line(&format!("{e:#}"))
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// A write past the process's file-size limit (`ulimit -f`) fails with EFBIG, an error naming
/// the spill or output file, instead of SIGXFSZ killing the process with nothing said.
fn file_size_limit_is_an_error() {
    // SAFETY: signal(2) with SIG_IGN installs no handler code; it only sets this process's
    // disposition for SIGXFSZ, before the runtime starts any thread.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

/// clap prints its own errors: what is wrong, the usage of the command at hand, a "did you
/// mean" when one fits, the allowed values, and where its help is (with colour on a terminal).
/// Usage errors exit 2, like every other error; `--help` and `--version` exit 0.
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 })
}

/// Whether colour is wanted on a stream that is a terminal: `NO_COLOR` (set, not empty) says no.
fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How stdout draws `format`: on a terminal, text tables fit its width (`COLUMNS` when set,
/// else the terminal's own) with colour; piped, plain and unbounded.
pub fn screen_for(format: OutputFormat) -> Screen {
    if format != OutputFormat::Terminal || !std::io::stdout().is_terminal() {
        return Screen::PLAIN;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| *c > 0);
    let measured = console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| cols)
        .filter(|c| *c > 0);
    Screen {
        color: colour_allowed(),
        width: Some(columns.or(measured).unwrap_or(80)),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("parity={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && colour_allowed())
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Diff(args) => diff(args, cli.quiet),
        Command::Run(args) => cutover::run(args, cli.quiet),
        Command::Inventory(args) => match args.action {
            Some(args::InventoryAction::Discover(d)) => discover::discover(d),
            None => cutover::inventory(args),
        },
        Command::History(args) => cutover::history(args),
        Command::Lineage(args) => cutover::lineage(args),
        Command::Report(args) => cutover::report(args),
        Command::Completions(args) => completions(args),
        Command::Man(args) => man(args),
    }
}

/// `parity completions SHELL`: the script clap_complete writes from the clap definitions.
fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    // clap_complete panics when its writer fails: it writes to memory, and a closed pipe
    // (`parity completions bash | head`) is handled here like everywhere else.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "parity", &mut script);
    write_stdout(|out| out.write_all(&script))?;
    Ok(0)
}

/// `parity man`: the man page clap_mangen writes from the clap definitions, to stdout, or
/// one page per command into `--dir`.
fn man(args: ManArgs) -> anyhow::Result<u8> {
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("--dir {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .map_err(|e| anyhow::anyhow!("--dir {}: {e}", dir.display()))?;
        }
        None => write_stdout(|out| clap_mangen::Man::new(cmd).render(out))?,
    }
    Ok(0)
}

/// Run `work` on a fresh [`runtime`] to its end, or until SIGINT or SIGTERM arrives. Then
/// `work` is dropped, which removes the spill folder it made, the runtime is left without
/// waiting for decoders still busy on blocking threads, and the command ends as a check that
/// could not be done (exit 2).
fn run_interruptible<T>(work: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    let rt = runtime()?;
    let outcome = rt.block_on(async {
        // The handlers are in place before `work` is first polled: a signal that arrives while
        // it makes its spill folder must find them (a race a loaded machine lost).
        let stop = interrupted(listen());
        tokio::select! {
            biased;
            signal = stop => Err(signal),
            done = work => Ok(done),
        }
    });
    match outcome {
        Ok(done) => Ok(done),
        Err(signal) => {
            rt.shutdown_background();
            anyhow::bail!("interrupted by {signal}; its temporary files were removed")
        }
    }
}

/// Handlers for SIGINT and SIGTERM, installed when this is called (inside the runtime);
/// `None` when they cannot be, and the default (end the process) stands.
fn listen() -> Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)> {
    use tokio::signal::unix::{signal, SignalKind};
    Some((
        signal(SignalKind::interrupt()).ok()?,
        signal(SignalKind::terminate()).ok()?,
    ))
}

/// Completes with the name of the first SIGINT or SIGTERM the handlers receive.
async fn interrupted(
    handlers: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
) -> &'static str {
    let Some((mut int, mut term)) = handlers else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// The runtime for the engine. Idle blocking threads exit after 100 ms instead of tokio's 10 s:
/// each decoding thread's allocator heap keeps the pages it freed while the thread lives, so
/// between the fingerprint pass and the row index work a keyed diff of 10M rows held ~50 MiB
/// of freed decode buffers at its peak.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(std::time::Duration::from_millis(100))
        .build()?)
}

fn diff(args: DiffArgs, quiet: bool) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let (left, right) = (args.left.clone(), args.right.clone());
    let redact = args.redact;
    let cfg = args.into_config()?;
    let show_progress =
        !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let progress: Arc<dyn Progress> = if show_progress {
        Arc::new(progress::Bars::new())
    } else {
        Arc::new(parity::NoProgress)
    };
    let outcome = run_interruptible(parity::compare(&left, &right, &cfg, progress.clone()));
    progress.finished();
    let summary = match outcome? {
        Ok(s) => s,
        // Decoders quote offending values in their messages: under --redact only the file and
        // the kind of failure are shown.
        Err(e) if redact => anyhow::bail!(parity::redact::redacted_error(
            &e,
            "by --redact; run without it to see them"
        )),
        Err(e) => return Err(e.into()),
    };

    let color = screen_for(format).color;
    write_stdout(|out| report::render(&summary, format, color, out))?;
    Ok(summary.exit_code() as u8)
}

/// Write to stdout and flush. `parity … | head` closes the pipe early: not an error, the
/// verdict and exit code still stand.
fn write_stdout(render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match render(&mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}
