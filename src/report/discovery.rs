//! Rendering what `parity inventory discover` found: a table of the pairs (layouts, cadence,
//! format, partitions, suggested key), then the datasets on one side only, the folders without
//! partitions and the notes; as terminal text, Markdown or JSON.
//!
//! Paths and column names come from storage: every cell goes through [`super::printable`] (and
//! Markdown's escaping), so no name can move the cursor or break a row.

use std::io::{self, Write};

use super::cutover::md_table;
use super::markdown::escape;
use super::table::{self, Column, Fit, Screen, Text};
use super::{printable, text, OutputFormat};
use crate::inventory::discover::{Discovery, FoundDataset, FoundPair};

fn pair_row(p: &FoundPair) -> Vec<String> {
    let first = p.legacy.first.min(p.target.first);
    let newest = p.legacy.newest.max(p.target.newest);
    vec![
        p.id.clone(),
        p.legacy.tail.clone(),
        p.target.tail.clone(),
        p.cadence.as_str().to_string(),
        format_cell(&p.legacy, &p.target),
        format!(
            "{}/{} ({})",
            p.legacy.partitions, p.target.partitions, p.common
        ),
        first.to_string(),
        newest.to_string(),
        p.key.column.clone().unwrap_or_else(|| "-".into()),
    ]
    .into_iter()
    .map(|c: String| printable(&c))
    .collect()
}

fn format_cell(l: &FoundDataset, t: &FoundDataset) -> String {
    let one = |d: &FoundDataset| d.format.clone().unwrap_or_else(|| "mixed".into());
    let (a, b) = (one(l), one(t));
    if a == b {
        a
    } else {
        format!("{a} → {b}")
    }
}

fn one_side_row(d: &FoundDataset) -> Vec<String> {
    vec![
        if d.prefix.is_empty() {
            "(root)".to_string()
        } else {
            d.prefix.clone()
        },
        d.tail.clone(),
        d.cadence.as_str().to_string(),
        d.format.clone().unwrap_or_else(|| "mixed".into()),
        format!("{} partitions", d.partitions),
        format!("{} … {}", d.first, d.newest),
        text::bytes(d.bytes),
    ]
    .into_iter()
    .map(|c: String| printable(&c))
    .collect()
}

/// Render a discovery; `screen` says how a terminal table is drawn.
pub fn render(
    found: &Discovery,
    format: OutputFormat,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, found)?;
        return writeln!(out);
    }
    let md = format == OutputFormat::Markdown;
    write_summary(out, found, md)?;
    let rows: Vec<Vec<String>> = found.pairs.iter().map(pair_row).collect();
    write_table(out, md, &PAIR_HEADER, rows, screen)?;
    write_one_sided(out, found, md, screen)?;
    write_unpartitioned(out, found, md)?;
    write_notes(out, found, md)
}

/// The columns of the table of datasets found on both sides.
const PAIR_HEADER: [&str; 9] = [
    "pipeline",
    "legacy layout",
    "target layout",
    "cadence",
    "format",
    "partitions L/T (both)",
    "first",
    "newest",
    "key",
];

/// The columns of the tables of datasets found on one side.
const ONE_SIDE_HEADER: [&str; 7] = [
    "prefix",
    "layout",
    "cadence",
    "format",
    "partitions",
    "range",
    "size",
];

/// A section's heading, as a Markdown heading or a line of its own.
fn heading(out: &mut dyn Write, md: bool, text: &str) -> io::Result<()> {
    if md {
        writeln!(out, "\n### {text}\n")
    } else {
        writeln!(out, "\n{text}")
    }
}

/// The first line: how many datasets each side has and how many objects were listed.
fn write_summary(out: &mut dyn Write, found: &Discovery, md: bool) -> io::Result<()> {
    writeln!(
        out,
        "{}{} on both sides, {} on the legacy side only, {} on the target side only ({} + {} objects listed)",
        if md { "## " } else { "" },
        count(found.pairs.len(), "dataset", "datasets"),
        found.legacy_only.len(),
        found.target_only.len(),
        found.objects_listed[0],
        found.objects_listed[1],
    )?;
    if md {
        writeln!(out)?;
    }
    Ok(())
}

/// The datasets on one side only, a table a side (none when that side has none).
fn write_one_sided(
    out: &mut dyn Write,
    found: &Discovery,
    md: bool,
    screen: Screen,
) -> io::Result<()> {
    for (title, list) in [
        (
            "legacy only (not migrated yet, or being retired)",
            &found.legacy_only,
        ),
        (
            "target only (nothing on the legacy side to compare)",
            &found.target_only,
        ),
    ] {
        if !list.is_empty() {
            heading(out, md, title)?;
            let rows = list.iter().map(one_side_row).collect();
            write_table(out, md, &ONE_SIDE_HEADER, rows, screen)?;
        }
    }
    Ok(())
}

/// Folders holding data outside any partition folder, which no pipeline was drafted for.
fn write_unpartitioned(out: &mut dyn Write, found: &Discovery, md: bool) -> io::Result<()> {
    if found.unpartitioned.is_empty() {
        return Ok(());
    }
    heading(out, md, "data without a partition folder (not drafted)")?;
    for u in &found.unpartitioned {
        let text = format!("{}: {}/ ({} files)", u.side, u.folder, u.files);
        line(out, md, &text)?;
    }
    Ok(())
}

/// Each pair's notes, and why no key was suggested where none was.
fn write_notes(out: &mut dyn Write, found: &Discovery, md: bool) -> io::Result<()> {
    let notes: Vec<String> = found
        .pairs
        .iter()
        .flat_map(|p| {
            let key = match &p.key.column {
                Some(_) => None,
                None => Some(format!("{}: no key suggested: {}", p.id, p.key.evidence)),
            };
            p.notes
                .iter()
                .map(move |n| format!("{}: {n}", p.id))
                .chain(key)
        })
        .collect();
    if notes.is_empty() {
        return Ok(());
    }
    heading(out, md, "notes")?;
    for n in notes {
        line(out, md, &n)?;
    }
    Ok(())
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn line(out: &mut dyn Write, md: bool, text: &str) -> io::Result<()> {
    if md {
        writeln!(out, "- {}", escape(text))
    } else {
        writeln!(out, "  {}", printable(text))
    }
}

fn write_table(
    out: &mut dyn Write,
    md: bool,
    header: &[&str],
    rows: Vec<Vec<String>>,
    screen: Screen,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if md {
        return md_table(out, header, &rows);
    }
    // Layouts and prefixes are free text that may give way on a narrow terminal; the rest is
    // kept whole.
    let columns: Vec<Column> = header
        .iter()
        .map(|&title| {
            let free = title.contains("layout") || title == "prefix";
            Column {
                title,
                fit: if free { Fit::Shrink } else { Fit::Keep },
                min: 12,
                drop: 0,
            }
        })
        .collect();
    let rows: Vec<Vec<Text>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(Text::from).collect())
        .collect();
    table::write(out, 2, &columns, &rows, screen)
}
