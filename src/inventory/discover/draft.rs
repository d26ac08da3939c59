//! The draft `parity.toml` written from a [`Discovery`].
//!
//! One `[[pipeline]]` per pair, with both locations, the cadence and the shared format filled
//! in, and every sign-off attribute left empty (`owner = ""`, `reads = []`, `writes = []`,
//! `business_process = ""`, and `classification` as a comment, since an empty one is no
//! classification at all), so that `parity inventory` lists exactly what the team must fill.
//! A suggested key, the partitions found and anything odd are comments beside the entry;
//! datasets on one side only, pairs whose layouts disagree and folders without partitions are
//! comments at the end. Text from storage (paths, column names) is quoted as TOML strings, and
//! made printable in comments, so no name can add a line to the file.
//!
//! Local roots are written relative to the folder of the draft when they lie inside it (the
//! inventory resolves relative paths against its own folder), absolute otherwise.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{join_location, Discovery, FoundDataset, FoundPair};
use crate::inventory::Cadence;
use crate::report::printable;

/// What the draft's `[cutover]` table says, and where the draft goes.
#[derive(Debug, Clone)]
pub struct DraftOptions {
    /// The cutover's name.
    pub name: String,
    /// The retirement date, when known; otherwise a placeholder marked as one.
    pub retirement_date: Option<NaiveDate>,
    /// The folder the draft is written to (absolute), for relative local locations.
    pub out_dir: PathBuf,
}

/// The placeholder retirement date of a draft written without one.
pub const PLACEHOLDER_RETIREMENT: &str = "2099-12-31";

/// Pairs written as active `[[pipeline]]` entries: both sides' layouts name the pair's cadence.
pub fn draftable(p: &FoundPair) -> bool {
    p.legacy.cadence == p.cadence && p.target.cadence == p.cadence
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A root as the draft writes it: a URL as given; a local folder relative to the draft's
/// folder when inside it, else absolute.
fn shown_root(root: &str, out_dir: &Path) -> String {
    if root.contains("://") {
        return root.to_string();
    }
    let absolute = std::fs::canonicalize(root).unwrap_or_else(|_| PathBuf::from(root));
    match absolute.strip_prefix(out_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        Ok(_) => ".".to_string(),
        Err(_) => absolute.to_string_lossy().into_owned(),
    }
}

/// A side's location template as the draft writes it.
fn location(root: &str, d: &FoundDataset, out_dir: &Path) -> String {
    join_location(&shown_root(root, out_dir), &d.prefix, &d.tail)
}

fn partitions_text(d: &FoundDataset) -> String {
    let mut s = format!("{} ({} … {}", d.partitions, d.first, d.newest);
    if d.missing > 0 {
        let _ = write!(s, "; {} missing between them", d.missing);
    }
    s.push(')');
    s
}

/// The draft inventory's text.
pub fn render(found: &Discovery, opts: &DraftOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft inventory written by `parity inventory discover` from what both platforms wrote:"
    );
    let _ = writeln!(out, "#   legacy: {}", printable(&found.legacy_root));
    let _ = writeln!(out, "#   target: {}", printable(&found.target_root));
    out.push_str(concat!(
        "# Each pipeline lacks its sign-off attributes (owner, classification, reads, writes,\n",
        "# business_process): `parity inventory` lists them as gaps until they are filled in.\n",
        "# Check every location, cadence, format and suggested key before the first run.\n",
        "# Reference: docs/inventory.md.\n\n",
    ));
    out.push_str("[cutover]\n");
    let _ = writeln!(out, "name = {}", quote(&opts.name));
    match opts.retirement_date {
        Some(d) => {
            let _ = writeln!(out, "retirement_date = {}", d.format("%Y-%m-%d"));
        }
        None => {
            let _ = writeln!(
                out,
                "retirement_date = {PLACEHOLDER_RETIREMENT}  # TODO: the day the legacy platform is switched off"
            );
        }
    }
    out.push_str(
        "# ledger = \".parity/ledger\"  # the default, beside this file; in production an s3://, gs:// or az:// prefix\n",
    );
    for p in found.pairs.iter().filter(|p| draftable(p)) {
        out.push('\n');
        pipeline(&mut out, found, p, opts);
    }
    one_side_only(&mut out, found, opts);
    out
}

fn pipeline(out: &mut String, found: &Discovery, p: &FoundPair, opts: &DraftOptions) {
    out.push_str("[[pipeline]]\n");
    let _ = writeln!(out, "id = {}", quote(&p.id));
    out.push_str(concat!(
        "owner = \"\"\n",
        "# classification = \"\"  # public, internal, confidential or restricted\n",
        "reads = []\n",
        "writes = []\n",
        "business_process = \"\"\n",
    ));
    let _ = writeln!(
        out,
        "legacy = {}",
        quote(&location(&found.legacy_root, &p.legacy, &opts.out_dir))
    );
    let _ = writeln!(
        out,
        "target = {}",
        quote(&location(&found.target_root, &p.target, &opts.out_dir))
    );
    if p.cadence == Cadence::Hourly {
        out.push_str("cadence = \"hourly\"\n");
        out.push_str(
            "# required_streak = 24  # an hourly pipeline usually needs more clean partitions than the cutover's\n",
        );
    }
    if let Some(f) = p.format {
        let _ = writeln!(out, "format = {}", quote(&f.to_string()));
    }
    match &p.key.column {
        Some(k) => {
            let _ = writeln!(out, "# key = [{}]", quote(k));
            let mut why = format!("suggested key: {}", p.key.evidence);
            if !p.key.also.is_empty() {
                let _ = write!(why, "; also unique: {}", p.key.also.join(", "));
            }
            comment(out, &why);
        }
        None => comment(out, &format!("no key suggested: {}", p.key.evidence)),
    }
    comment(
        out,
        &format!(
            "partitions: legacy {}, target {}; {} on both sides",
            partitions_text(&p.legacy),
            partitions_text(&p.target),
            p.common
        ),
    );
    for note in &p.notes {
        comment(out, note);
    }
}

/// A comment of one or more lines, printable, wrapped at about 100 characters.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in printable(text).split(' ').filter(|w| !w.is_empty()) {
        if line.len() > 1 && line.len() + word.len() > 98 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

fn one_side_only(out: &mut String, found: &Discovery, opts: &DraftOptions) {
    let undraftable: Vec<&FoundPair> = found.pairs.iter().filter(|p| !draftable(p)).collect();
    if !undraftable.is_empty() {
        out.push_str("\n# ---- On both sides, but the layouts disagree: fix by hand ----\n");
        for p in undraftable {
            let _ = writeln!(
                out,
                "# {}: legacy {} ({}), target {} ({})",
                printable(&p.dataset),
                printable(&location(&found.legacy_root, &p.legacy, &opts.out_dir)),
                p.legacy.cadence.as_str(),
                printable(&location(&found.target_root, &p.target, &opts.out_dir)),
                p.target.cadence.as_str()
            );
        }
    }
    if !found.legacy_only.is_empty() {
        out.push_str(concat!(
            "\n# ---- On the legacy side only: a pipeline not migrated yet, or one being retired ----\n",
            "# Uncomment an entry with `migrate = false` if it is retired with the legacy platform,\n",
            "# or add its `target` once the target platform writes it.\n",
        ));
        let mut ids = std::collections::BTreeSet::new();
        for p in &found.pairs {
            ids.insert(p.id.clone());
        }
        for d in &found.legacy_only {
            let id = super::pipeline_id(&d.prefix, &mut ids);
            out.push_str("#\n# [[pipeline]]\n");
            let _ = writeln!(out, "# id = {}", quote(&id));
            out.push_str("# migrate = false\n");
            let _ = writeln!(
                out,
                "# legacy = {}",
                quote(&location(&found.legacy_root, d, &opts.out_dir))
            );
            if d.cadence == Cadence::Hourly {
                out.push_str("# cadence = \"hourly\"\n");
            }
            if let Some(f) = d.row_format() {
                let _ = writeln!(out, "# format = {}", quote(&f.to_string()));
            }
            comment(out, &format!("partitions: {}", partitions_text(d)));
        }
    }
    if !found.target_only.is_empty() {
        out.push_str(
            "\n# ---- On the target side only: nothing on the legacy side to compare them with ----\n",
        );
        for d in &found.target_only {
            comment(
                out,
                &format!(
                    "{} ({} partitions: {})",
                    location(&found.target_root, d, &opts.out_dir),
                    d.cadence.as_str(),
                    partitions_text(d)
                ),
            );
        }
    }
    if !found.unpartitioned.is_empty() {
        out.push_str(
            "\n# ---- Data in folders without a partition (not drafted: a location needs a day in it) ----\n",
        );
        for u in &found.unpartitioned {
            let root = if u.side == "legacy" {
                &found.legacy_root
            } else {
                &found.target_root
            };
            comment(
                out,
                &format!(
                    "{}: {} ({} files)",
                    u.side,
                    join_location(&shown_root(root, &opts.out_dir), &u.folder, ""),
                    u.files
                ),
            );
        }
    }
}
