//! The Markdown form of a summary, for tickets and pull requests. Every value is escaped so a
//! cell holding `|` or a backtick cannot break the table.

use std::io::{self, Write};

use super::text::{self, bytes};
use super::{show, Render};
use crate::diff::summary::{SampleRow, Settings};
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

/// A code span: the text as it is (no backslash escapes, which a code span shows literally),
/// fenced with more backticks than it holds in a row. In a table cell (`in_table`) a `|` is
/// still escaped, as GitHub's tables require even inside code.
pub fn code(text: &str, in_table: bool) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let mut body: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if in_table {
        body = body.replace('|', "\\|");
    }
    // A span that starts or ends with a backtick needs a space between it and the fence.
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// The settings a comparison was made under, as a list.
fn settings(out: &mut dyn Write, key: &[String], s: &Settings) -> io::Result<()> {
    let codes = |names: &mut dyn Iterator<Item = String>| {
        names
            .map(|n| code(&n, false))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "Compared under:\n")?;
    if key.is_empty() {
        writeln!(out, "- key: none (multiset diff of whole rows)")?;
    } else {
        writeln!(out, "- key: {}", codes(&mut key.iter().cloned()))?;
    }
    if s.is_default() {
        writeln!(
            out,
            "- defaults: no column ignored or renamed, floats exact, lossless type changes compatible"
        )?;
    }
    if !s.ignore.is_empty() {
        writeln!(out, "- ignored: {}", codes(&mut s.ignore.iter().cloned()))?;
    }
    if !s.rename.is_empty() {
        let pairs: Vec<String> = s
            .rename
            .iter()
            .map(|(l, r)| format!("{} → {}", code(l, false), code(r, false)))
            .collect();
        writeln!(out, "- renamed: {}", pairs.join(", "))?;
    }
    let tolerances = text::tolerances(&s.tolerance);
    if !tolerances.is_empty() {
        writeln!(out, "- tolerance: {}", code(&tolerances, false))?;
    }
    if s.strict_types {
        writeln!(out, "- strict types: any type change diverges")?;
    }
    writeln!(out)
}

/// A sample row's columns: the key's first, in key order, then the rest by name.
fn key_first<'a>(row: &'a SampleRow, key: &[String]) -> Vec<&'a String> {
    let mut cols: Vec<&String> = key
        .iter()
        .filter_map(|k| row.get_key_value(k))
        .map(|(k, _)| k)
        .collect();
    cols.extend(row.keys().filter(|c| !key.contains(c)));
    cols
}

/// The verdict and both sides.
fn head(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
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
            bytes(side.bytes),
            rows.map(|r| r.to_string())
                .unwrap_or_else(|| "not parsed".into())
        )?;
    }
    Ok(())
}

/// The counts of each kind of difference.
fn counts(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
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
    )
}

/// The schema changes, each with its effect.
fn schema_changes(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    if s.schema_changes.is_empty() {
        return Ok(());
    }
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
    Ok(())
}

/// Sample rows only on one side, the key's columns first.
fn one_sided_samples(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
    for (title, rows) in [
        ("only in left", &s.samples.only_left),
        ("only in right", &s.samples.only_right),
    ] {
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "\n### Sample rows {title}\n")?;
        let cols = key_first(&rows[0], &s.key);
        let header: Vec<String> = cols.iter().map(|c| escape(c)).collect();
        writeln!(out, "| {} |", header.join(" | "))?;
        writeln!(out, "|{}", "---|".repeat(cols.len()))?;
        for row in rows {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| escape(&show(row.get(*c).unwrap_or(&None), 60)))
                .collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

/// The redaction note, the hints and where the full diff went.
fn tail(s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
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
        writeln!(
            out,
            "\nFull diff: {} rows in {}",
            d.rows,
            code(&d.url, false)
        )?;
    }
    Ok(())
}

impl Render for Markdown {
    fn render(&self, s: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        head(s, out)?;
        if s.verdict == Verdict::Identical {
            writeln!(
                out,
                "\nEvery file has the same relative path and blake3 hash on both sides."
            )?;
            return Ok(());
        }
        writeln!(out)?;
        settings(out, &s.key, &s.settings)?;
        counts(s, out)?;
        schema_changes(s, out)?;
        differing_columns(s, out)?;
        one_sided_samples(s, out)?;
        changed_samples(out, s)?;
        tail(s, out)
    }
}

/// The changed rows: the key's columns first, then one column per changed column, each cell
/// `left → right` (empty where that row's column did not change). Values that look alike are
/// shown escaped, in code spans.
fn changed_samples(out: &mut dyn Write, s: &DiffSummary) -> io::Result<()> {
    let rows = &s.samples.changed;
    if rows.is_empty() {
        return Ok(());
    }
    let changed: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|r| r.changes.keys()).collect();
    let key = rows
        .first()
        .map(|r| key_first(&r.key, &s.key))
        .unwrap_or_default();
    writeln!(out, "\n### Sample changed rows\n")?;
    let header: Vec<String> = key
        .iter()
        .chain(changed.iter())
        .map(|c| escape(c))
        .collect();
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(header.len()))?;
    let mut escaped_any = false;
    for row in rows {
        let mut cells: Vec<String> = key
            .iter()
            .map(|k| escape(&show(row.key.get(*k).unwrap_or(&None), 60)))
            .collect();
        for col in &changed {
            cells.push(match row.changes.get(*col) {
                None => String::new(),
                Some(c) => {
                    let (left, right, escaped) = text::change(c, 60);
                    escaped_any |= escaped;
                    if escaped {
                        format!("{} → {}", code(&left, true), code(&right, true))
                    } else {
                        format!("{} → {}", escape(&left), escape(&right))
                    }
                }
            });
        }
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    if escaped_any {
        writeln!(
            out,
            "\nValues in code spans look alike: the characters that differ are written as `\\u{{code point}}`."
        )?;
    }
    Ok(())
}
