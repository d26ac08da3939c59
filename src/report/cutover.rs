//! Rendering the cutover commands' results: a run's summary, the inventory listing, a
//! pipeline's history and a lineage answer, each as terminal text, Markdown or JSON.
//!
//! Like the diff renderers these only read; every value they print was redacted upstream
//! where the pipeline's classification asks for it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::markdown::{code, escape};
use super::table::{self, keep, shrink, Screen, Text, Tone};
use super::text::{capped, count, partition_list};
use super::OutputFormat;
use crate::inventory::Partition;
use crate::inventory::{InventoryReport, InventoryRow};
use crate::ledger::record::{ranked_columns, Counts};
use crate::ledger::{Record, UnitVerdict};
use crate::lineage::{Lineage, LineageEntry};
use crate::run::{RunSummary, UnitOutcome};

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

/// The colour of a verdict.
pub fn verdict_tone(v: UnitVerdict) -> Tone {
    match v {
        UnitVerdict::Identical | UnitVerdict::Equivalent => Tone::Good,
        UnitVerdict::WithinTolerance => Tone::Warn,
        _ => Tone::Bad,
    }
}

/// Units listed in a run's `not at parity` table before `and N more`.
const UNITS_LISTED: usize = 40;

/// Missing partition ranges listed per pipeline before `and N more`.
const RANGES_LISTED: usize = 6;

/// Pipelines named in one line before `and N more`.
const NAMES_LISTED: usize = 20;

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

fn unit_row(u: &UnitOutcome) -> Vec<Text> {
    let detail = match (&u.error, u.verdict) {
        (Some(e), _) => e.clone(),
        (None, UnitVerdict::Diverged) => {
            differences(&u.counts, &u.changed_cells, 3, u.divergent_schema_changes)
        }
        _ => String::new(),
    };
    vec![
        u.pipeline.clone().into(),
        u.partition.to_string().into(),
        Text::toned(u.verdict.as_str(), verdict_tone(u.verdict)),
        rows_pair(u.counts.left_rows, u.counts.right_rows).into(),
        // Column names and decoder messages come from the data.
        super::printable(&detail).into(),
    ]
}

fn verdict_counts(v: &BTreeMap<String, u64>) -> String {
    UnitVerdict::ALL
        .iter()
        .filter_map(|k| v.get(k.as_str()).map(|n| format!("{n} {k}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text that is either Markdown or for a terminal: headings, list items and plain lines.
#[derive(Clone, Copy)]
struct Prose {
    md: bool,
    screen: Screen,
}

impl Prose {
    /// A line of text, wrapped to the terminal's width.
    fn line(self, out: &mut dyn Write, indent: usize, text: &str) -> io::Result<()> {
        table::paragraph(out, indent, text, self.screen)
    }

    /// A section's title.
    fn section(self, out: &mut dyn Write, title: &str) -> io::Result<()> {
        if self.md {
            writeln!(out, "\n### {title}\n")
        } else {
            writeln!(out, "\n{title}")
        }
    }

    /// An item of a section.
    fn item(self, out: &mut dyn Write, text: &str) -> io::Result<()> {
        if self.md {
            writeln!(out, "- {}", escape(text))
        } else {
            self.line(out, 2, &super::printable(text))
        }
    }
}

/// A run's summary. The terminal and Markdown forms list the units that are not at parity (the
/// first [`UNITS_LISTED`]), the missing partitions as ranges, and count the rest per pipeline;
/// JSON has every unit.
pub fn run_summary(
    s: &RunSummary,
    format: OutputFormat,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(s, out);
    }
    let prose = Prose {
        md: format == OutputFormat::Markdown,
        screen,
    };
    run_head(s, prose, out)?;
    let attention: Vec<&UnitOutcome> = s
        .units
        .iter()
        .filter(|u| !u.verdict.is_parity() || u.error.is_some())
        .collect();
    if !attention.is_empty() {
        not_at_parity(&attention, prose.md, screen, out)?;
    }
    run_lists(s, prose, out)
}

/// The run's id, cutover, shard and ledger, and what it checked.
fn run_head(s: &RunSummary, prose: Prose, out: &mut dyn Write) -> io::Result<()> {
    let units = s.units.len();
    let headline = format!(
        "{} checked: {}",
        count(units, "unit"),
        if units == 0 {
            "nothing new to check".to_string()
        } else {
            verdict_counts(&s.verdicts)
        }
    );
    let settled = (s.already_checked > 0).then(|| {
        format!(
            "{} already settled in the ledger (use --recheck to check again)",
            count(s.already_checked as usize, "unit")
        )
    });
    if prose.md {
        writeln!(
            out,
            "## parity run {} — {}\n",
            code(&s.run_id, false),
            escape(&s.cutover)
        )?;
        writeln!(
            out,
            "- shard {}; ledger {}",
            s.shard,
            code(&s.ledger, false)
        )?;
        writeln!(out, "- {headline}")?;
        if let Some(l) = &settled {
            writeln!(out, "- {l}")?;
        }
        return Ok(());
    }
    let title = format!(
        "parity run {}  cutover {}  shard {}",
        s.run_id,
        super::printable(&s.cutover),
        s.shard
    );
    prose.line(out, 0, &title)?;
    prose.line(out, 0, &format!("ledger {}", super::printable(&s.ledger)))?;
    prose.line(out, 0, &headline)?;
    if let Some(l) = &settled {
        prose.line(out, 0, l)?;
    }
    Ok(())
}

/// The missing partitions (as ranges), the pipelines that could not be planned, the units at
/// parity per pipeline, and the pipelines not migrating.
fn run_lists(s: &RunSummary, prose: Prose, out: &mut dyn Write) -> io::Result<()> {
    if !s.missing.is_empty() {
        let mut by_pipeline: BTreeMap<&str, Vec<Partition>> = BTreeMap::new();
        for m in &s.missing {
            by_pipeline
                .entry(&m.pipeline)
                .or_default()
                .push(m.partition);
        }
        prose.section(out, "missing on both sides (expected by the cadence)")?;
        for (p, parts) in by_pipeline {
            let ranges = partition_list(&parts, RANGES_LISTED);
            prose.item(out, &format!("{p}: {ranges}"))?;
        }
    }
    if !s.failed_pipelines.is_empty() {
        prose.section(out, "pipelines that could not be planned")?;
        for f in &s.failed_pipelines {
            prose.item(out, &format!("{}: {}", f.pipeline, f.error))?;
        }
    }
    let mut at_parity: BTreeMap<&str, u64> = BTreeMap::new();
    for u in s
        .units
        .iter()
        .filter(|u| u.verdict.is_parity() && u.error.is_none())
    {
        *at_parity.entry(&u.pipeline).or_insert(0) += 1;
    }
    if !at_parity.is_empty() {
        prose.section(out, "at parity")?;
        for (p, n) in at_parity {
            prose.item(out, &format!("{p}: {}", count(n as usize, "partition")))?;
        }
    }
    if !s.not_migrating.is_empty() {
        let names = capped(&s.not_migrating, NAMES_LISTED);
        let text = format!("not migrating (retired, not checked): {names}");
        if prose.md {
            writeln!(out, "\n- {}", escape(&text))?;
        } else {
            writeln!(out)?;
            prose.line(out, 0, &text)?;
        }
    }
    Ok(())
}

/// The units not at parity: a table of the first [`UNITS_LISTED`], then how many more.
fn not_at_parity(
    units: &[&UnitOutcome],
    md: bool,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows: Vec<Vec<Text>> = units
        .iter()
        .take(UNITS_LISTED)
        .map(|u| unit_row(u))
        .collect();
    let more = units.len().saturating_sub(UNITS_LISTED);
    let more_line = format!(
        "and {more} more not at parity: `parity history PIPELINE` or `--format json` lists every one"
    );
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
            &plain_rows(rows),
        )?;
        if more > 0 {
            writeln!(out, "\n{more_line}")?;
        }
        return Ok(());
    }
    writeln!(out, "\nnot at parity")?;
    let columns = [
        keep("pipeline"),
        keep("partition"),
        keep("verdict"),
        keep("rows L/T").optional(1),
        shrink("detail").at_least(24),
    ];
    table::write(out, 2, &columns, &rows, screen)?;
    if more > 0 {
        table::paragraph(out, 2, &more_line, screen)?;
    }
    Ok(())
}

/// One pipeline of the inventory listing.
fn inventory_row(p: &InventoryRow) -> Vec<Text> {
    let gaps = if p.gaps.is_empty() {
        Text::toned("ok", Tone::Good)
    } else {
        let fields: Vec<&str> = p.gaps.iter().map(|g| g.field.as_str()).collect();
        Text::toned(fields.join(", "), Tone::Gap)
    };
    vec![
        p.id.clone().into(),
        super::printable(p.owner.as_deref().unwrap_or("-")).into(),
        p.classification.map_or("-", |c| c.as_str()).into(),
        if p.migrate {
            p.cadence.as_str().into()
        } else {
            Text::toned("retiring", Tone::Muted)
        },
        gaps,
    ]
}

/// The inventory listing with gaps.
pub fn inventory(
    r: &InventoryReport,
    format: OutputFormat,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(r, out);
    }
    let prose = Prose {
        md: format == OutputFormat::Markdown,
        screen,
    };
    let rows: Vec<Vec<Text>> = r.pipelines.iter().map(inventory_row).collect();
    let header = ["pipeline", "owner", "classification", "cadence", "gaps"];
    if prose.md {
        writeln!(
            out,
            "## Inventory — {} (retirement {})\n",
            escape(&r.cutover),
            r.retirement_date
        )?;
        md_table(out, &header, &plain_rows(rows))?;
    } else {
        let title = format!(
            "{}  retirement {}  streak {}  ledger {}",
            super::printable(&r.cutover),
            r.retirement_date,
            r.required_streak,
            super::printable(&r.ledger)
        );
        prose.line(out, 0, &title)?;
        let columns = [
            keep(header[0]),
            keep(header[1]).optional(2),
            keep(header[2]).optional(1),
            keep(header[3]),
            shrink(header[4]),
        ];
        table::write(out, 2, &columns, &rows, screen)?;
    }
    let with_gaps: Vec<_> = r.pipelines.iter().filter(|p| !p.gaps.is_empty()).collect();
    if !with_gaps.is_empty() {
        prose.section(out, "gaps")?;
        for p in with_gaps {
            for g in &p.gaps {
                prose.item(out, &format!("{}: {}", p.id, g.message))?;
            }
        }
    }
    writeln!(
        out,
        "\n{}{}, {} with gaps",
        if prose.md { "- " } else { "" },
        count(r.pipelines.len(), "pipeline"),
        r.pipelines_with_gaps
    )
}

/// Table rows without their colours, for Markdown.
fn plain_rows(rows: Vec<Vec<Text>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|r| r.into_iter().map(|t| t.text).collect())
        .collect()
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
    screen: Screen,
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
    let rows: Vec<Vec<Text>> = records
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
                r.partition.to_string().into(),
                Text::toned(r.verdict.as_str(), verdict_tone(r.verdict)),
                rows_pair(r.counts.left_rows, r.counts.right_rows).into(),
                super::printable(&detail).into(),
                r.checked_at.format("%Y-%m-%d %H:%M:%S").to_string().into(),
                r.run_id.clone().into(),
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
        writeln!(out, "## History of {}\n", code(pipeline, false))?;
        md_table(out, &header, &plain_rows(rows))?;
    } else {
        writeln!(out, "{pipeline}: {}", count(records.len(), "record"))?;
        let columns = [
            keep(header[0]),
            keep(header[1]),
            keep(header[2]).optional(2),
            shrink(header[3]).at_least(24),
            keep(header[4]).optional(3),
            keep(header[5]).optional(1),
        ];
        table::write(out, 2, &columns, &rows, screen)?;
    }
    Ok(())
}

/// One pipeline of a lineage answer in words: owner, classification, business process,
/// partitions checked (`12 (2026-11-01 … 2026-11-12)`) and the verdicts among them.
struct LineageWords<'a> {
    owner: &'a str,
    class: &'a str,
    process: &'a str,
    checked: String,
    verdicts: String,
}

impl<'a> LineageWords<'a> {
    fn of(e: &'a LineageEntry) -> Self {
        let p = &e.pipeline;
        let mut verdicts: BTreeMap<&str, u64> = BTreeMap::new();
        for q in &e.partitions {
            *verdicts.entry(q.verdict.as_str()).or_insert(0) += 1;
        }
        let verdicts = verdicts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let checked = match (e.partitions.first(), e.partitions.last()) {
            (Some(a), Some(b)) if a.partition == b.partition => format!("1 ({})", a.partition),
            (Some(a), Some(b)) => {
                format!("{} ({} … {})", e.partitions.len(), a.partition, b.partition)
            }
            _ => "none in the window".into(),
        };
        LineageWords {
            owner: p.owner.as_deref().unwrap_or("none"),
            class: p.classification.map_or("unclassified", |c| c.as_str()),
            process: p
                .business_process
                .as_deref()
                .unwrap_or("no business process"),
            checked,
            verdicts,
        }
    }
}

/// Which pipelines read a source, what they produced, where they write. The terminal form is
/// one table, a row per pipeline; Markdown gives each pipeline a section.
pub fn lineage(
    l: &Lineage,
    format: OutputFormat,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(l, out);
    }
    let md = format == OutputFormat::Markdown;
    let since = l.since.format("%Y-%m-%d %H:%M UTC");
    if md {
        let source = code(&l.source, false);
        writeln!(out, "## Pipelines reading {source} since {since}\n")?;
    } else {
        let source = super::printable(&l.source);
        let title = format!("pipelines reading {source} since {since}");
        table::paragraph(out, 0, &title, screen)?;
    }
    if l.pipelines.is_empty() {
        return writeln!(out, "{}none in the inventory", if md { "" } else { "  " });
    }
    if md {
        return l.pipelines.iter().try_for_each(|e| lineage_section(e, out));
    }
    let rows: Vec<Vec<Text>> = l
        .pipelines
        .iter()
        .map(|e| {
            let w = LineageWords::of(e);
            let writes = e.pipeline.writes.join(", ");
            [
                e.pipeline.id.as_str(),
                w.owner,
                w.class,
                &w.checked,
                &w.verdicts,
                &writes,
                e.target.as_deref().unwrap_or("-"),
                e.legacy.as_deref().unwrap_or("-"),
            ]
            .iter()
            .map(|v| Text::from(super::printable(v)))
            .collect()
        })
        .collect();
    writeln!(out)?;
    let columns = [
        keep("pipeline"),
        keep("owner").optional(2),
        keep("classification").optional(1),
        keep("partitions checked"),
        shrink("verdicts"),
        shrink("writes"),
        shrink("target"),
        shrink("legacy").optional(3),
    ];
    table::write(out, 2, &columns, &rows, screen)
}

/// One pipeline of a lineage answer as a Markdown section.
fn lineage_section(e: &LineageEntry, out: &mut dyn Write) -> io::Result<()> {
    let p = &e.pipeline;
    let w = LineageWords::of(e);
    let head = format!("{} (owner {}, {}, {})", p.id, w.owner, w.class, w.process);
    writeln!(out, "### {}\n", escape(&head))?;
    for line in [
        format!("reads: {}", p.reads.join(", ")),
        format!("writes: {}", p.writes.join(", ")),
        format!("legacy: {}", e.legacy.as_deref().unwrap_or("-")),
        format!("target: {}", e.target.as_deref().unwrap_or("-")),
        format!("partitions checked: {}: {}", w.checked, w.verdicts),
    ] {
        writeln!(out, "- {}", escape(&line))?;
    }
    writeln!(out)
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
        let row = unit_row(&unit);
        assert_eq!(row[4].text, "1 changed: na me [2J (1)");
        let failed = UnitOutcome {
            error: Some("file:///x.csv: bad\x1b[31m".into()),
            verdict: UnitVerdict::Error,
            ..unit
        };
        assert_eq!(unit_row(&failed)[4].text, "file:///x.csv: bad [31m");
    }
}
