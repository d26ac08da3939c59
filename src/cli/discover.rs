//! `parity inventory discover`: check the flags, run the discovery, print what was found and
//! write the draft inventory whole (or not at all), never over a file without `--force`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use parity::inventory::discover::draft::{self, DraftOptions};
use parity::inventory::discover::{self, DiscoverOptions};
use parity::inventory::Inventory;
use parity::report::{discovery, OutputFormat};

use super::args::DiscoverArgs;
use super::{run_interruptible, write_stdout};

fn already_there(out: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: already exists; nothing written (use --force to replace it)",
        out.display()
    )
}

pub fn discover(args: DiscoverArgs) -> anyhow::Result<u8> {
    let format: OutputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let retirement_date = args
        .retirement_date
        .as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
                .ok_or_else(|| {
                    anyhow::anyhow!("--retirement-date {s}: expected a date such as 2026-12-31")
                })
        })
        .transpose()?;
    let out = &args.out;
    // Checked before listing (which may take a while), and again when the file is placed.
    if !args.force && out.symlink_metadata().is_ok() {
        return Err(already_there(out));
    }
    if out.is_dir() {
        anyhow::bail!("--out {}: is a folder, not a file", out.display());
    }
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out_dir = std::fs::canonicalize(dir)
        .with_context(|| format!("--out {}: its folder cannot be used", out.display()))?;

    let opts = DiscoverOptions::default();
    let found = run_interruptible(discover::discover(
        &args.legacy_root,
        &args.target_root,
        &opts,
    ))??;
    write_stdout(|w| discovery::render(&found, format, crate::cli::screen_for(format), w))?;

    let drafted = found.pairs.iter().filter(|p| draft::draftable(p)).count();
    if drafted == 0 {
        anyhow::bail!(
            "no dataset with partitions is on both sides ({} on the legacy side only, {} on the target side only); nothing written to {}",
            found.legacy_only.len(),
            found.target_only.len(),
            out.display()
        );
    }
    let text = draft::render(
        &found,
        &DraftOptions {
            name: args.name.clone(),
            retirement_date,
            out_dir: out_dir.clone(),
        },
    );
    // The draft must load as it is written; a draft that does not is a bug, never a file.
    Inventory::parse(&text, &out.display().to_string(), &out_dir)
        .context("internal error: the draft does not load; nothing written")?;
    write_new(out, &out_dir, text.as_bytes(), args.force)?;
    eprintln!(
        "wrote {}: {drafted} pipelines, each missing owner, classification, reads, writes and business_process; fill them in and check with `parity inventory -c {}`",
        out.display(),
        out.display()
    );
    Ok(0)
}

/// Write a whole file through a temporary file beside it: renamed into place over an old one
/// with `force`, else linked only where no file is (so a file that appeared meanwhile is kept).
fn write_new(path: &Path, dir: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let mut tmp = parity::diff::output::temp_file_beside(dir, ".parity-draft-")
        .with_context(|| format!("{}: cannot create a file beside it", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("{}: write failed", path.display()))?;
    let placed = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    match placed {
        Ok(()) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(already_there(path)),
        Err(e) => Err(anyhow::anyhow!("{}: {}", path.display(), e.error)),
    }
}
