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
    let heading = |out: &mut dyn Write, text: &str| -> io::Result<()> {
        if md {
            writeln!(out, "\n### {text}\n")
        } else {
            writeln!(out, "\n{text}")
        }
    };
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
    let header = [
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
    let rows: Vec<Vec<String>> = found.pairs.iter().map(pair_row).collect();
    write_table(out, md, &header, rows, screen)?;
    let one_header = [
        "prefix",
        "layout",
        "cadence",
        "format",
        "partitions",
        "range",
        "size",
    ];
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
            heading(out, title)?;
            write_table(
                out,
                md,
                &one_header,
                list.iter().map(one_side_row).collect(),
                screen,
            )?;
        }
    }
    if !found.unpartitioned.is_empty() {
        heading(out, "data without a partition folder (not drafted)")?;
        for u in &found.unpartitioned {
            line(
                out,
                md,
                &format!("{}: {}/ ({} files)", u.side, u.folder, u.files),
            )?;
        }
    }
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
    if !notes.is_empty() {
        heading(out, "notes")?;
        for n in notes {
            line(out, md, &n)?;
        }
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
