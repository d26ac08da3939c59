//! The terminal form of a summary: verdict first, then counts, schema, columns, samples, hints.
//! Colour only when asked (the binary asks on a TTY without `NO_COLOR`).

use std::io::{self, Write};

use super::{human_bytes, printable, show, Render};
use crate::diff::summary::SideSummary;
use crate::diff::{DiffSummary, Verdict};
use crate::schema::SchemaChangeKind;

/// Aligned text.
pub struct Terminal {
    /// Use ANSI colours.
    pub color: bool,
}

const VALUE_WIDTH: usize = 40;

impl Terminal {
    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn verdict(&self, v: Verdict) -> String {
        let text = v.as_str().to_uppercase();
        match v {
            Verdict::Identical | Verdict::Equivalent => self.paint(&text, "1;32"),
            Verdict::WithinTolerance => self.paint(&text, "1;33"),
            Verdict::Diverged => self.paint(&text, "1;31"),
        }
    }
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
        human_bytes(s.bytes)
    )
}

impl Render for Terminal {
    fn render(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        let tier = match s.tier {
            crate::diff::summary::Tier::Bytes => "byte hashes",
            crate::diff::summary::Tier::Fingerprint => "logical fingerprints",
            crate::diff::summary::Tier::Rows => "row diff",
        };
        writeln!(out, "{}  (decided by {tier})", self.verdict(s.verdict))?;
        side_line(out, "left", &s.left, s.left_rows)?;
        side_line(out, "right", &s.right, s.right_rows)?;
        if !s.key.is_empty() {
            writeln!(out, "  key    {}", s.key.join(", "))?;
        } else if s.left_rows.is_some() {
            writeln!(out, "  key    none (multiset diff of whole rows)")?;
        }
        if s.verdict == Verdict::Identical {
            writeln!(
                out,
                "\nEvery file has the same relative path and the same blake3 hash on both sides."
            )?;
            return Ok(());
        }

        writeln!(out)?;
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

        if !s.schema_changes.is_empty() {
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
                    self.paint("divergent", "31")
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
        }

        let differing: Vec<_> = s
            .columns
            .iter()
            .filter(|c| c.changed > 0 || c.within_tolerance > 0)
            .collect();
        if !differing.is_empty() {
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
        }

        let samples = &s.samples;
        for (title, rows, total) in [
            ("only in left", &samples.only_left, s.only_left),
            ("only in right", &samples.only_right, s.only_right),
        ] {
            if rows.is_empty() {
                continue;
            }
            writeln!(out, "\nsample rows {title} ({} of {total})", rows.len())?;
            for row in rows {
                // Key columns first, then the rest in name order.
                let (keys, rest): (Vec<_>, Vec<_>) =
                    row.iter().partition(|(k, _)| s.key.contains(k));
                let cells: Vec<String> = keys
                    .into_iter()
                    .chain(rest)
                    .map(|(k, v)| format!("{}={}", printable(k), show(v, VALUE_WIDTH)))
                    .collect();
                writeln!(out, "  {}", cells.join("  "))?;
            }
        }
        if !samples.changed.is_empty() {
            writeln!(
                out,
                "\nsample changed rows ({} of {}), left -> right",
                samples.changed.len(),
                s.changed_rows
            )?;
            for row in &samples.changed {
                let key: Vec<String> = row
                    .key
                    .iter()
                    .map(|(k, v)| format!("{}={}", printable(k), show(v, VALUE_WIDTH)))
                    .collect();
                writeln!(out, "  {}", key.join(" "))?;
                for (col, change) in &row.changes {
                    writeln!(
                        out,
                        "      {}: {} -> {}",
                        printable(col),
                        show(&change.left, VALUE_WIDTH),
                        show(&change.right, VALUE_WIDTH)
                    )?;
                }
            }
        }
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
}
