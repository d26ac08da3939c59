//! The terminal form of a summary: verdict first, then counts, schema, columns, samples, hints.
//! Colour only when asked (the binary asks on a TTY without `NO_COLOR`).

use std::io::{self, Write};

use super::text::{self, bytes};
use super::{printable, show, Render};
use crate::diff::summary::{Settings, SideSummary};
use crate::diff::{DiffSummary, Verdict};
use crate::schema::SchemaChangeKind;

/// Aligned text.
pub struct Terminal {
    /// Use ANSI colours.
    pub color: bool,
}

const VALUE_WIDTH: usize = 40;

impl Terminal {
    fn paint(&self, text: &str, style: console::Style) -> String {
        if self.color {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    fn verdict(&self, v: Verdict) -> String {
        let text = v.as_str().to_uppercase();
        let style = console::Style::new().bold();
        match v {
            Verdict::Identical | Verdict::Equivalent => self.paint(&text, style.green()),
            Verdict::WithinTolerance => self.paint(&text, style.yellow()),
            Verdict::Diverged => self.paint(&text, style.red()),
        }
    }
}

/// The note under samples whose values were escaped because they look alike.
pub const LOOK_ALIKE: &str = "(look alike): the two values read the same; the characters that differ are shown as \\u{code point}";

/// The settings a comparison was made under, one line each; one line when all are defaults.
fn settings_lines(out: &mut dyn Write, s: &Settings) -> io::Result<()> {
    if s.is_default() {
        return writeln!(
            out,
            "  settings  defaults: no column ignored or renamed, floats exact, lossless type changes compatible"
        );
    }
    if !s.ignore.is_empty() {
        writeln!(out, "  ignored  {}", printable(&s.ignore.join(", ")))?;
    }
    if !s.rename.is_empty() {
        let pairs: Vec<String> = s
            .rename
            .iter()
            .map(|(l, r)| format!("{l} -> {r}"))
            .collect();
        writeln!(out, "  renamed  {}", printable(&pairs.join(", ")))?;
    }
    let tolerances = text::tolerances(&s.tolerance);
    if !tolerances.is_empty() {
        writeln!(out, "  tolerance  {}", printable(&tolerances))?;
    }
    if s.strict_types {
        writeln!(out, "  types  strict: any type change diverges")?;
    }
    Ok(())
}

fn side_line(
    out: &mut dyn Write,
    name: &str,
    s: &SideSummary,
    rows: Option<u64>,
) -> io::Result<()> {
    let rows = rows
        .map(|r| format!("{r} rows"))
        .unwrap_or_else(|| "not parsed".into());
    writeln!(
        out,
        "  {name:<6} {}  ({}, {} file{}, {}, {rows})",
        printable(&s.url),
        s.format,
        s.files,
        if s.files == 1 { "" } else { "s" },
        bytes(s.bytes)
    )
}

impl Terminal {
    /// The verdict, both sides, the key and the settings.
    fn head(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        let tier = match s.tier {
            crate::diff::summary::Tier::Bytes => "byte hashes",
            crate::diff::summary::Tier::Fingerprint => "logical fingerprints",
            crate::diff::summary::Tier::Rows => "row diff",
        };
        writeln!(out, "{}  (decided by {tier})", self.verdict(s.verdict))?;
        side_line(out, "left", &s.left, s.left_rows)?;
        side_line(out, "right", &s.right, s.right_rows)?;
        if !s.key.is_empty() {
            writeln!(out, "  key    {}", printable(&s.key.join(", ")))?;
        } else if s.left_rows.is_some() {
            writeln!(out, "  key    none (multiset diff of whole rows)")?;
        }
        Ok(())
    }

    /// The schema changes, each with its effect.
    fn schema_changes(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        if s.schema_changes.is_empty() {
            return Ok(());
        }
        writeln!(out, "\nschema changes")?;
        for c in &s.schema_changes {
            let what = match c.kind {
                SchemaChangeKind::OnlyLeft => {
                    format!("only in left ({})", c.left_type.as_deref().unwrap_or("?"))
                }
                SchemaChangeKind::OnlyRight => {
                    format!("only in right ({})", c.right_type.as_deref().unwrap_or("?"))
                }
                SchemaChangeKind::TypeChanged => format!(
                    "type {} -> {}",
                    c.left_type.as_deref().unwrap_or("?"),
                    c.right_type.as_deref().unwrap_or("?")
                ),
            };
            let effect = if c.divergent {
                self.paint("divergent", console::Style::new().red())
            } else {
                "compatible".to_string()
            };
            writeln!(
                out,
                "  {:<20} {}  [{effect}]",
                printable(&c.column),
                printable(&what)
            )?;
        }
        Ok(())
    }
}

/// The counts of each kind of difference.
fn counts(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    let counts = [
        ("rows only in left", s.only_left.to_string()),
        ("rows only in right", s.only_right.to_string()),
        ("changed rows", s.changed_rows.to_string()),
        ("rows within tolerance", s.within_tolerance_rows.to_string()),
        (
            "duplicate keys",
            format!(
                "{} left, {} right",
                s.duplicate_keys.left, s.duplicate_keys.right
            ),
        ),
        (
            "null keys",
            format!("{} left, {} right", s.null_keys.left, s.null_keys.right),
        ),
    ];
    for (label, value) in counts {
        writeln!(out, "  {label:<22} {value}")?;
    }
    Ok(())
}

/// The columns that differ, with their counts.
fn differing_columns(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    let differing: Vec<_> = s
        .columns
        .iter()
        .filter(|c| c.changed > 0 || c.within_tolerance > 0)
        .collect();
    if differing.is_empty() {
        return Ok(());
    }
    let w = differing
        .iter()
        .map(|c| printable(&c.name).chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    writeln!(
        out,
        "\n  {:<w$}  {:>10}  {:>16}",
        "column", "changed", "within tolerance"
    )?;
    for c in differing {
        writeln!(
            out,
            "  {:<w$}  {:>10}  {:>16}",
            printable(&c.name),
            c.changed,
            c.within_tolerance
        )?;
    }
    Ok(())
}

/// Sample rows only on one side: key columns first, then the rest in name order.
fn one_sided_samples(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    for (title, rows, total) in [
        ("only in left", &s.samples.only_left, s.only_left),
        ("only in right", &s.samples.only_right, s.only_right),
    ] {
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "\nsample rows {title} ({} of {total})", rows.len())?;
        for row in rows {
            let (keys, rest): (Vec<_>, Vec<_>) = row.iter().partition(|(k, _)| s.key.contains(k));
            let cells: Vec<String> = keys
                .into_iter()
                .chain(rest)
                .map(|(k, v)| format!("{}={}", printable(k), show(v, VALUE_WIDTH)))
                .collect();
            writeln!(out, "  {}", cells.join("  "))?;
        }
    }
    Ok(())
}

/// Sample changed rows: the key, then each changed cell `left -> right` (escaped when the two
/// look alike).
fn changed_samples(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    let changed = &s.samples.changed;
    if changed.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nsample changed rows ({} of {}), left -> right",
        changed.len(),
        s.changed_rows
    )?;
    let mut escaped_any = false;
    for row in changed {
        let key: Vec<String> = row
            .key
            .iter()
            .map(|(k, v)| format!("{}={}", printable(k), show(v, VALUE_WIDTH)))
            .collect();
        writeln!(out, "  {}", key.join(" "))?;
        for (col, change) in &row.changes {
            let (left, right, escaped) = text::change(change, VALUE_WIDTH);
            escaped_any |= escaped;
            writeln!(
                out,
                "      {}: {left} -> {right}{}",
                printable(col),
                if escaped { "  (look alike)" } else { "" }
            )?;
        }
    }
    if escaped_any {
        writeln!(out, "  {LOOK_ALIKE}")?;
    }
    Ok(())
}

/// The redaction note, the hints and where the full diff went.
fn tail(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    if s.redacted {
        writeln!(
            out,
            "\nvalues are redacted: equal values show the same #hash"
        )?;
    }
    if !s.hints.is_empty() {
        writeln!(out, "\nhints")?;
        for h in &s.hints {
            writeln!(out, "  - {}", printable(&h.message))?;
        }
    }
    if let Some(d) = &s.diff_out {
        writeln!(out, "\nfull diff: {} rows written to {}", d.rows, d.url)?;
    }
    Ok(())
}

impl Render for Terminal {
    fn render(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        self.head(s, out)?;
        if s.verdict == Verdict::Identical {
            writeln!(
                out,
                "\nEvery file has the same relative path and the same blake3 hash on both sides."
            )?;
            return Ok(());
        }
        settings_lines(out, &s.settings)?;
        writeln!(out)?;
        counts(s, out)?;
        self.schema_changes(s, out)?;
        differing_columns(s, out)?;
        one_sided_samples(s, out)?;
        changed_samples(s, out)?;
        tail(s, out)
    }
}
