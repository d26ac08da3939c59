//! Rendering the cutover commands' results: a run's summary, the inventory listing, a
//! pipeline's history and a lineage answer, each as terminal text, Markdown or JSON.
//!
//! Like the diff renderers these only read; every value they print was redacted upstream
//! where the pipeline's classification asks for it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::markdown::escape;
use super::OutputFormat;
use crate::inventory::InventoryReport;
use crate::ledger::record::{ranked_columns, Counts};
use crate::ledger::{Record, UnitVerdict};
use crate::lineage::Lineage;
use crate::run::{RunSummary, UnitOutcome};

/// Aligned columns for a terminal; the last column is not padded.
pub fn table(out: &mut dyn Write, indent: &str, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|v| v.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from(indent);
        for (c, v) in r.iter().enumerate() {
            if c + 1 < r.len() {
                line.push_str(&format!("{v:<w$}  ", w = widths[c]));
            } else {
                line.push_str(v);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A Markdown table; every cell escaped.
pub fn md_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(header.len()))?;
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| escape(c)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

fn json<T: Serialize>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

fn paint(color: bool, text: &str, v: UnitVerdict) -> String {
    if !color {
        return text.to_string();
    }
    let code = match v {
        UnitVerdict::Identical | UnitVerdict::Equivalent => "32",
        UnitVerdict::WithinTolerance => "33",
        _ => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn rows_pair(l: Option<u64>, r: Option<u64>) -> String {
    match (l, r) {
        (Some(l), Some(r)) => format!("{l}/{r}"),
        (Some(l), None) => format!("{l}/-"),
        (None, Some(r)) => format!("-/{r}"),
        (None, None) => "-".into(),
    }
}

/// The columns with the most changed rows, most first: `amount (3), status (1)`.
pub fn top_columns(cells: &BTreeMap<String, u64>, n: usize) -> String {
    ranked_columns(cells)
        .into_iter()
        .take(n)
        .map(|(c, k)| format!("{c} ({k})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What differs, in one line: `1 only in legacy; 3 changed: amount (3); 2 schema changes`
/// (`top` changed columns named); empty when nothing does.
pub fn differences(
    counts: &Counts,
    cells: &BTreeMap<String, u64>,
    top: usize,
    divergent_schema_changes: u64,
) -> String {
    let mut parts = Vec::new();
    if counts.only_left > 0 {
        parts.push(format!("{} only in legacy", counts.only_left));
    }
    if counts.only_right > 0 {
        parts.push(format!("{} only in target", counts.only_right));
    }
    if counts.changed_rows > 0 {
        parts.push(format!(
            "{} changed: {}",
            counts.changed_rows,
            top_columns(cells, top)
        ));
    }
    if divergent_schema_changes > 0 {
        parts.push(format!("{divergent_schema_changes} schema changes"));
    }
    parts.join("; ")
}

fn unit_row(u: &UnitOutcome, color: bool) -> Vec<String> {
    let detail = match (&u.error, u.verdict) {
        (Some(e), _) => e.clone(),
        (None, UnitVerdict::Diverged) => {
            differences(&u.counts, &u.changed_cells, 3, u.divergent_schema_changes)
        }
        _ => String::new(),
    };
    vec![
        u.pipeline.clone(),
        u.partition.to_string(),
        paint(color, u.verdict.as_str(), u.verdict),
        rows_pair(u.counts.left_rows, u.counts.right_rows),
        // Column names and decoder messages come from the data.
        super::printable(&detail),
    ]
}

fn verdict_counts(v: &BTreeMap<String, u64>) -> String {
    UnitVerdict::ALL
        .iter()
        .filter_map(|k| v.get(k.as_str()).map(|n| format!("{n} {k}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A run's summary. The terminal and Markdown forms list every unit that is not at parity and
/// count the rest per pipeline; JSON has every unit.
pub fn run_summary(
    s: &RunSummary,
    format: OutputFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(s, out);
    }
    let md = format == OutputFormat::Markdown;
    let attention: Vec<&UnitOutcome> = s
        .units
        .iter()
        .filter(|u| !u.verdict.is_parity() || u.error.is_some())
        .collect();
    let mut at_parity: BTreeMap<&str, u64> = BTreeMap::new();
    for u in s
        .units
        .iter()
        .filter(|u| u.verdict.is_parity() && u.error.is_none())
    {
        *at_parity.entry(&u.pipeline).or_insert(0) += 1;
    }
    let units = s.units.len();
    let headline = format!(
        "{units} unit{} checked: {}",
        if units == 1 { "" } else { "s" },
        if units == 0 {
            "nothing new to check".to_string()
        } else {
            verdict_counts(&s.verdicts)
        }
    );
    if md {
        writeln!(
            out,
            "## parity run `{}` — {}\n",
            s.run_id,
            escape(&s.cutover)
        )?;
        writeln!(out, "- shard {}; ledger `{}`", s.shard, s.ledger)?;
        writeln!(out, "- {headline}")?;
    } else {
        writeln!(
            out,
            "parity run {}  cutover {}  shard {}",
            s.run_id, s.cutover, s.shard
        )?;
        writeln!(out, "ledger {}", s.ledger)?;
        writeln!(out, "{headline}")?;
    }
    if s.already_checked > 0 {
        let line = format!(
            "{} unit{} already settled in the ledger (use --recheck to check again)",
            s.already_checked,
            if s.already_checked == 1 { "" } else { "s" }
        );
        if md {
            writeln!(out, "- {line}")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }

    if !attention.is_empty() {
        let rows: Vec<Vec<String>> = attention
            .iter()
            .map(|u| unit_row(u, color && !md))
            .collect();
        if md {
            writeln!(out, "\n### Not at parity\n")?;
            md_table(
                out,
                &[
                    "pipeline",
                    "partition",
                    "verdict",
                    "rows (legacy/target)",
                    "detail",
                ],
                &rows,
            )?;
        } else {
            writeln!(out, "\nnot at parity")?;
            let mut all = vec![vec![
                "PIPELINE".into(),
                "PARTITION".into(),
                "VERDICT".into(),
                "ROWS L/T".into(),
                "DETAIL".into(),
            ]];
            all.extend(rows);
            table(out, "  ", &all)?;
        }
    }
    if !s.missing.is_empty() {
        let mut by_pipeline: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in &s.missing {
            by_pipeline
                .entry(&m.pipeline)
                .or_default()
                .push(m.partition.to_string());
        }
        writeln!(
            out,
            "\n{}missing on both sides (expected by the cadence)",
            if md { "### " } else { "" }
        )?;
        if md {
            writeln!(out)?;
        }
        for (p, parts) in by_pipeline {
            writeln!(
                out,
                "{}{p}: {}",
                if md { "- " } else { "  " },
                parts.join(", ")
            )?;
        }
    }
    if !s.failed_pipelines.is_empty() {
        writeln!(
            out,
            "\n{}pipelines that could not be planned",
            if md { "### " } else { "" }
        )?;
        if md {
            writeln!(out)?;
        }
        for f in &s.failed_pipelines {
            writeln!(
                out,
                "{}{}: {}",
                if md { "- " } else { "  " },
                f.pipeline,
                super::printable(&f.error)
            )?;
        }
    }
    if !at_parity.is_empty() {
        writeln!(out, "\n{}at parity", if md { "### " } else { "" })?;
        if md {
            writeln!(out)?;
        }
        for (p, n) in at_parity {
            writeln!(
                out,
                "{}{p}: {n} partition{}",
                if md { "- " } else { "  " },
                if n == 1 { "" } else { "s" }
            )?;
        }
    }
    if !s.not_migrating.is_empty() {
        writeln!(
            out,
            "\n{}not migrating (retired, not checked): {}",
            if md { "- " } else { "" },
            s.not_migrating.join(", ")
        )?;
    }
    Ok(())
}

/// The inventory listing with gaps.
pub fn inventory(r: &InventoryReport, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(r, out);
    }
    let md = format == OutputFormat::Markdown;
    let rows: Vec<Vec<String>> = r
        .pipelines
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.owner.clone().unwrap_or_else(|| "-".into()),
                p.classification
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "-".into()),
                if p.migrate {
                    p.cadence.as_str().into()
                } else {
                    "retiring".into()
                },
                if p.gaps.is_empty() {
                    "ok".into()
                } else {
                    p.gaps
                        .iter()
                        .map(|g| g.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ]
        })
        .collect();
    let header = ["pipeline", "owner", "classification", "cadence", "gaps"];
    if md {
        writeln!(
            out,
            "## Inventory — {} (retirement {})\n",
            escape(&r.cutover),
            r.retirement_date
        )?;
        md_table(out, &header, &rows)?;
    } else {
        writeln!(
            out,
            "{}  retirement {}  streak {}  ledger {}",
            r.cutover, r.retirement_date, r.required_streak, r.ledger
        )?;
        let mut all = vec![header.iter().map(|h| h.to_uppercase()).collect()];
        all.extend(rows);
        table(out, "  ", &all)?;
    }
    let with_gaps: Vec<_> = r.pipelines.iter().filter(|p| !p.gaps.is_empty()).collect();
    if !with_gaps.is_empty() {
        writeln!(out, "\n{}gaps", if md { "### " } else { "" })?;
        if md {
            writeln!(out)?;
        }
        for p in with_gaps {
            for g in &p.gaps {
                let line = format!("{}: {}", p.id, g.message);
                if md {
                    writeln!(out, "- {}", escape(&line))?;
                } else {
                    writeln!(out, "  {line}")?;
                }
            }
        }
    }
    let n = r.pipelines.len();
    writeln!(
        out,
        "\n{}{n} pipeline{}, {} with gaps",
        if md { "- " } else { "" },
        if n == 1 { "" } else { "s" },
        r.pipelines_with_gaps
    )
}

/// The JSON form of a history.
#[derive(Serialize)]
struct HistoryJson<'a> {
    schema_version: u32,
    pipeline: &'a str,
    records: &'a [Record],
}

/// A pipeline's timeline, one line per record.
pub fn history(
    pipeline: &str,
    records: &[Record],
    format: OutputFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(
            &HistoryJson {
                schema_version: crate::ledger::LEDGER_SCHEMA_VERSION,
                pipeline,
                records,
            },
            out,
        );
    }
    let md = format == OutputFormat::Markdown;
    if records.is_empty() {
        return writeln!(out, "{pipeline}: no checks recorded");
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let detail = match &r.error {
                Some(e) => e.clone(),
                None => {
                    let mut parts = Vec::new();
                    if r.counts.only_left + r.counts.only_right > 0 {
                        parts.push(format!(
                            "only legacy {}, only target {}",
                            r.counts.only_left, r.counts.only_right
                        ));
                    }
                    if r.counts.changed_rows > 0 {
                        parts.push(format!(
                            "{} changed: {}",
                            r.counts.changed_rows,
                            top_columns(&r.changed_cells, 3)
                        ));
                    }
                    parts.join("; ")
                }
            };
            vec![
                r.partition.to_string(),
                paint(color && !md, r.verdict.as_str(), r.verdict),
                rows_pair(r.counts.left_rows, r.counts.right_rows),
                super::printable(&detail),
                r.checked_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.run_id.clone(),
            ]
        })
        .collect();
    let header = [
        "partition",
        "verdict",
        "rows L/T",
        "detail",
        "checked (UTC)",
        "run",
    ];
    if md {
        writeln!(out, "## History of `{pipeline}`\n")?;
        md_table(out, &header, &rows)?;
    } else {
        writeln!(
            out,
            "{pipeline}: {} record{}",
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        )?;
        let mut all = vec![header.iter().map(|h| h.to_uppercase()).collect()];
        all.extend(rows);
        table(out, "  ", &all)?;
    }
    Ok(())
}

/// Which pipelines read a source, what they produced, where they write.
pub fn lineage(l: &Lineage, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(l, out);
    }
    let md = format == OutputFormat::Markdown;
    let since = l.since.format("%Y-%m-%d %H:%M UTC");
    if md {
        writeln!(
            out,
            "## Pipelines reading `{}` since {since}\n",
            escape(&l.source)
        )?;
    } else {
        writeln!(out, "pipelines reading {} since {since}", l.source)?;
    }
    if l.pipelines.is_empty() {
        return writeln!(out, "{}none in the inventory", if md { "" } else { "  " });
    }
    for e in &l.pipelines {
        let p = &e.pipeline;
        let head = format!(
            "{} (owner {}, {}, {})",
            p.id,
            p.owner.as_deref().unwrap_or("none"),
            p.classification
                .map(|c| c.as_str())
                .unwrap_or("unclassified"),
            p.business_process
                .as_deref()
                .unwrap_or("no business process")
        );
        let mut verdicts: BTreeMap<&str, u64> = BTreeMap::new();
        for q in &e.partitions {
            *verdicts.entry(q.verdict.as_str()).or_insert(0) += 1;
        }
        let produced = match (e.partitions.first(), e.partitions.last()) {
            (Some(a), Some(b)) => format!(
                "{} partition{} checked ({} … {}): {}",
                e.partitions.len(),
                if e.partitions.len() == 1 { "" } else { "s" },
                a.partition,
                b.partition,
                verdicts
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "no partition checked in the window".into(),
        };
        let lines = [
            format!("reads: {}", p.reads.join(", ")),
            format!("writes: {}", p.writes.join(", ")),
            format!("legacy: {}", e.legacy.as_deref().unwrap_or("-")),
            format!("target: {}", e.target.as_deref().unwrap_or("-")),
            format!("produced: {produced}"),
        ];
        if md {
            writeln!(out, "### {}\n", escape(&head))?;
            for l in lines {
                writeln!(out, "- {}", escape(&l))?;
            }
            writeln!(out)?;
        } else {
            writeln!(out, "\n{head}")?;
            for l in lines {
                writeln!(out, "  {l}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_from_the_data_cannot_repaint_the_terminal() {
        let unit = UnitOutcome {
            pipeline: "orders".into(),
            partition: crate::inventory::template::Partition::day(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            ),
            verdict: UnitVerdict::Diverged,
            classification: None,
            redacted: false,
            counts: Counts {
                changed_rows: 1,
                ..Counts::default()
            },
            changed_cells: BTreeMap::from([("na\nme\x1b[2J".to_string(), 1)]),
            divergent_schema_changes: 0,
            error: None,
            ledger_record: None,
            duration_ms: 0,
        };
        let row = unit_row(&unit, false);
        assert_eq!(row[4], "1 changed: na me [2J (1)");
        let failed = UnitOutcome {
            error: Some("file:///x.csv: bad\x1b[31m".into()),
            verdict: UnitVerdict::Error,
            ..unit
        };
        assert_eq!(unit_row(&failed, false)[4], "file:///x.csv: bad [31m");
    }
}
