//! The Markdown form of a summary, for tickets and pull requests. Every value is escaped so a
//! cell holding `|` or a backtick cannot break the table.

use std::io::{self, Write};

use super::{human_bytes, show, Render};
use crate::diff::{DiffSummary, Verdict};
use crate::schema::SchemaChangeKind;

/// GitHub-flavoured Markdown.
pub struct Markdown;

/// Escape text for a Markdown table cell.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '~' | '<' | '>' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Render for Markdown {
    fn render(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        let icon = if s.verdict.is_parity() { "✅" } else { "❌" };
        writeln!(out, "## parity diff: {icon} `{}`\n", s.verdict)?;
        writeln!(out, "| side | location | format | files | size | rows |")?;
        writeln!(out, "|---|---|---|---:|---:|---:|")?;
        for (name, side, rows) in [
            ("left", &s.left, s.left_rows),
            ("right", &s.right, s.right_rows),
        ] {
            writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} |",
                escape(&side.url),
                side.format,
                side.files,
                human_bytes(side.bytes),
                rows.map(|r| r.to_string())
                    .unwrap_or_else(|| "not parsed".into())
            )?;
        }
        if s.verdict == Verdict::Identical {
            writeln!(
                out,
                "\nEvery file has the same relative path and blake3 hash on both sides."
            )?;
            return Ok(());
        }
        writeln!(out)?;
        if !s.key.is_empty() {
            writeln!(
                out,
                "Key: {}\n",
                s.key
                    .iter()
                    .map(|k| format!("`{}`", escape(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(out, "| | count |\n|---|---:|")?;
        writeln!(out, "| rows only in left | {} |", s.only_left)?;
        writeln!(out, "| rows only in right | {} |", s.only_right)?;
        writeln!(out, "| changed rows | {} |", s.changed_rows)?;
        writeln!(
            out,
            "| rows within tolerance | {} |",
            s.within_tolerance_rows
        )?;
        writeln!(
            out,
            "| duplicate keys (left / right) | {} / {} |",
            s.duplicate_keys.left, s.duplicate_keys.right
        )?;
        writeln!(
            out,
            "| null keys (left / right) | {} / {} |",
            s.null_keys.left, s.null_keys.right
        )?;

        if !s.schema_changes.is_empty() {
            writeln!(out, "\n### Schema changes\n")?;
            writeln!(
                out,
                "| column | change | left type | right type | effect |\n|---|---|---|---|---|"
            )?;
            for c in &s.schema_changes {
                let kind = match c.kind {
                    SchemaChangeKind::OnlyLeft => "only in left",
                    SchemaChangeKind::OnlyRight => "only in right",
                    SchemaChangeKind::TypeChanged => "type changed",
                };
                writeln!(
                    out,
                    "| {} | {kind} | {} | {} | {} |",
                    escape(&c.column),
                    escape(c.left_type.as_deref().unwrap_or("")),
                    escape(c.right_type.as_deref().unwrap_or("")),
                    if c.divergent {
                        "divergent"
                    } else {
                        "compatible"
                    }
                )?;
            }
        }
        let differing: Vec<_> = s
            .columns
            .iter()
            .filter(|c| c.changed > 0 || c.within_tolerance > 0)
            .collect();
        if !differing.is_empty() {
            writeln!(out, "\n### Columns that differ\n")?;
            writeln!(
                out,
                "| column | changed | within tolerance |\n|---|---:|---:|"
            )?;
            for c in differing {
                writeln!(
                    out,
                    "| {} | {} | {} |",
                    escape(&c.name),
                    c.changed,
                    c.within_tolerance
                )?;
            }
        }
        for (title, rows) in [
            ("only in left", &s.samples.only_left),
            ("only in right", &s.samples.only_right),
        ] {
            if rows.is_empty() {
                continue;
            }
            writeln!(out, "\n### Sample rows {title}\n")?;
            let cols: Vec<&String> = rows[0].keys().collect();
            writeln!(
                out,
                "| {} |",
                cols.iter()
                    .map(|c| escape(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )?;
            writeln!(out, "|{}", "---|".repeat(cols.len()))?;
            for row in rows {
                let cells: Vec<String> = row.values().map(|v| escape(&show(v, 60))).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        if !s.samples.changed.is_empty() {
            writeln!(out, "\n### Sample changed rows\n")?;
            writeln!(out, "| key | column | left | right |\n|---|---|---|---|")?;
            for row in &s.samples.changed {
                let key = row
                    .key
                    .iter()
                    .map(|(k, v)| format!("{}={}", k, show(v, 60)))
                    .collect::<Vec<_>>()
                    .join(", ");
                for (col, ch) in &row.changes {
                    writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        escape(&key),
                        escape(col),
                        escape(&show(&ch.left, 60)),
                        escape(&show(&ch.right, 60))
                    )?;
                }
            }
        }
        if s.redacted {
            writeln!(
                out,
                "\n_Values are redacted: equal values show the same #hash._"
            )?;
        }
        if !s.hints.is_empty() {
            writeln!(out, "\n### Hints\n")?;
            for h in &s.hints {
                writeln!(out, "- {}", escape(&h.message))?;
            }
        }
        if let Some(d) = &s.diff_out {
            writeln!(out, "\nFull diff: {} rows in `{}`", d.rows, escape(&d.url))?;
        }
        Ok(())
    }
}
