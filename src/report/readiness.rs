//! Rendering the readiness report as terminal text, Markdown or JSON (HTML is in
//! [`super::html`]). Renderers only read the [`Readiness`]; samples in it were redacted when it
//! was built.

use std::io::{self, Write};

use super::cutover::{differences, md_table, table};
use super::markdown::escape;
use super::{printable, OutputFormat};
use crate::diff::summary::Samples;
use crate::ledger::UnitVerdict;
use crate::readiness::{Cell, Decision, Finding, PipelineReadiness, Readiness, State};

/// Partitions shown in a terminal or Markdown timeline (newest last).
pub const STRIP_CELLS: usize = 30;

/// One character per verdict, so a timeline reads without colour.
pub fn verdict_symbol(v: Option<UnitVerdict>) -> char {
    match v {
        Some(UnitVerdict::Identical) => '=',
        Some(UnitVerdict::Equivalent) => '≡',
        Some(UnitVerdict::WithinTolerance) => '~',
        Some(UnitVerdict::Diverged) => 'X',
        Some(UnitVerdict::MissingLegacy) => 'L',
        Some(UnitVerdict::MissingTarget) => 'T',
        Some(UnitVerdict::Error) => '!',
        None => '.',
    }
}

/// What each symbol means, in one line.
pub const LEGEND: &str = "= identical  ≡ equivalent  ~ within tolerance  X diverged  L missing on legacy  T missing on target  ! error  . not checked";

/// "15 days left", "retirement day", "overdue by 3 days".
pub fn countdown(r: &Readiness) -> String {
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    match r.days_left {
        0 => "the retirement date is today".to_string(),
        n if n > 0 => format!("{n} day{} left", plural(n)),
        n => format!("the legacy platform is overdue by {} day{}", -n, plural(-n)),
    }
}

/// `1 ready, 2 blocked, …`: the states with at least one pipeline.
pub fn state_counts(r: &Readiness) -> String {
    let parts: Vec<String> = State::ALL
        .iter()
        .filter_map(|s| match r.states.get(s.as_str()) {
            Some(n) if *n > 0 => Some(format!("{n} {s}")),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        "no pipelines".into()
    } else {
        parts.join(", ")
    }
}

/// The newest `n` cells as symbols, with `…` when older ones are left out.
pub fn strip(cells: &[Cell], n: usize) -> String {
    let skip = cells.len().saturating_sub(n);
    let mut s: String = if skip > 0 {
        "…".into()
    } else {
        String::new()
    };
    s.extend(cells[skip..].iter().map(|c| verdict_symbol(c.verdict)));
    s
}

/// The one-line summary of a finding: `3 only in legacy; 2 changed: amount (2)`.
pub fn finding_detail(f: &Finding) -> String {
    printable(&finding_parts(f))
}

fn finding_parts(f: &Finding) -> String {
    if let Some(e) = &f.error {
        return e.clone();
    }
    let divergent = f.schema_changes.iter().filter(|c| c.divergent).count() as u64;
    let what = differences(&f.counts, &f.changed_cells, f.top_columns.len(), divergent);
    match f.verdict {
        UnitVerdict::MissingLegacy => "the legacy platform wrote nothing".into(),
        UnitVerdict::MissingTarget => "the target platform wrote nothing".into(),
        _ if what.is_empty() => f.verdict.to_string(),
        _ => what,
    }
}

/// The pipelines described in detail: the blocked ones.
fn blocked(r: &Readiness) -> impl Iterator<Item = &PipelineReadiness> {
    r.pipelines.iter().filter(|p| p.state == State::Blocked)
}

fn paint_state(color: bool, s: State) -> String {
    if !color {
        return s.to_string();
    }
    let code = match s {
        State::Ready => "32",
        State::OnTrack => "36",
        State::AtRisk | State::Stale => "33",
        State::Blocked => "1;31",
        State::Unowned | State::Incomplete => "35",
        State::NotMigrating => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn paint_decision(color: bool, d: Decision) -> String {
    match (color, d) {
        (false, _) => d.as_str().to_string(),
        (true, Decision::Go) => format!("\x1b[1;32m{}\x1b[0m", d.as_str()),
        (true, Decision::NoGo) => format!("\x1b[1;31m{}\x1b[0m", d.as_str()),
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

fn row(p: &PipelineReadiness, color: bool) -> Vec<String> {
    vec![
        p.id.clone(),
        paint_state(color, p.state),
        format!("{}/{}", p.streak, p.required_streak),
        opt(&p.newest_partition),
        opt(&p.newest_verdict),
        last_diverged(p),
        match p.state {
            State::Ready => "ready".into(),
            _ => opt(&p.projected_ready),
        },
        printable(&opt(&p.owner)),
        strip(&p.timeline, STRIP_CELLS),
        printable(&p.reason),
    ]
}

/// The newest divergence in a few words: `2026-11-27 status, amount` (its partition and the
/// columns that differ most), or `-`.
pub fn last_diverged(p: &PipelineReadiness) -> String {
    match &p.newest_divergence {
        None => "-".into(),
        Some(f) => {
            let cols: Vec<&str> = f.top_columns.iter().take(2).map(String::as_str).collect();
            let what = if !cols.is_empty() {
                cols.join(", ")
            } else if f.counts.only_left + f.counts.only_right > 0 {
                "rows".to_string()
            } else {
                "schema".to_string()
            };
            printable(&format!("{} {what}", f.partition))
        }
    }
}

const HEADER: [&str; 10] = [
    "pipeline",
    "state",
    "streak",
    "newest",
    "verdict",
    "last diverged",
    "ready by",
    "owner",
    "timeline",
    "why",
];

/// Render the report in a text format (`Html` is not one: see [`super::html::render`]).
pub fn render(
    r: &Readiness,
    format: OutputFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)
        }
        OutputFormat::Markdown => markdown(r, out),
        OutputFormat::Terminal => terminal(r, color, out),
    }
}

fn holding_back(r: &Readiness) -> String {
    r.holding_back
        .iter()
        .map(|id| {
            let state = r
                .pipelines
                .iter()
                .find(|p| &p.id == id)
                .map(|p| p.state.as_str())
                .unwrap_or("?");
            format!("{id} ({state})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn terminal(r: &Readiness, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let name = printable(&r.cutover);
    writeln!(out, "{name}: {}", paint_decision(color, r.decision))?;
    writeln!(
        out,
        "as of {}; retirement date {}: {}",
        r.as_of,
        r.retirement_date,
        countdown(r)
    )?;
    writeln!(
        out,
        "{} pipeline{} in scope: {}",
        r.in_scope,
        if r.in_scope == 1 { "" } else { "s" },
        state_counts(r)
    )?;
    if !r.holding_back.is_empty() {
        writeln!(out, "holding back: {}", holding_back(r))?;
    } else if r.in_scope == 0 {
        writeln!(out, "nothing in scope: no pipeline is being migrated")?;
    }
    if r.pipelines.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let mut rows = vec![HEADER.iter().map(|h| h.to_uppercase()).collect()];
    rows.extend(r.pipelines.iter().map(|p| row(p, color)));
    table(out, "", &rows)?;
    writeln!(
        out,
        "timeline: newest {STRIP_CELLS} partitions, newest last; {LEGEND}"
    )?;
    for p in blocked(r) {
        writeln!(out)?;
        writeln!(out, "{} is blocked: {}", p.id, printable(&p.reason))?;
        if let Some(f) = &p.blocking {
            writeln!(
                out,
                "  {} {}: {}",
                f.partition,
                f.verdict,
                finding_detail(f)
            )?;
        }
        if let Some(f) = &p.newest_divergence {
            if p.blocking.as_ref().map(|b| b.partition) != Some(f.partition) {
                writeln!(
                    out,
                    "  newest divergence {}: {}",
                    f.partition,
                    finding_detail(f)
                )?;
            }
            samples_text(&f.samples, f.redacted, out)?;
        }
    }
    Ok(())
}

fn samples_text(s: &Samples, redacted: bool, out: &mut dyn Write) -> io::Result<()> {
    let note = if redacted { " (redacted)" } else { "" };
    let show = |row: &crate::diff::summary::SampleRow| {
        row.iter()
            .map(|(k, v)| printable(&format!("{k}={}", v.as_deref().unwrap_or("null"))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in &s.only_left {
        writeln!(out, "    only in legacy{note}: {}", show(r))?;
    }
    for r in &s.only_right {
        writeln!(out, "    only in target{note}: {}", show(r))?;
    }
    for c in &s.changed {
        let changes: Vec<String> = c
            .changes
            .iter()
            .map(|(k, v)| {
                printable(&format!(
                    "{k}: {} -> {}",
                    v.left.as_deref().unwrap_or("null"),
                    v.right.as_deref().unwrap_or("null")
                ))
            })
            .collect();
        writeln!(
            out,
            "    changed{note} {}: {}",
            show(&c.key),
            changes.join(", ")
        )?;
    }
    Ok(())
}

fn markdown(r: &Readiness, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "# Cutover readiness: {} — **{}**\n",
        escape(&r.cutover),
        r.decision.as_str()
    )?;
    writeln!(
        out,
        "As of {}; retirement date {}: {}. {} pipeline{} in scope: {}.\n",
        r.as_of,
        r.retirement_date,
        countdown(r),
        r.in_scope,
        if r.in_scope == 1 { "" } else { "s" },
        state_counts(r)
    )?;
    if !r.holding_back.is_empty() {
        writeln!(out, "Holding back: {}.\n", escape(&holding_back(r)))?;
    } else if r.in_scope == 0 {
        writeln!(out, "Nothing in scope: no pipeline is being migrated.\n")?;
    }
    if r.pipelines.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r.pipelines.iter().map(|p| row(p, false)).collect();
    md_table(out, &HEADER, &rows)?;
    writeln!(
        out,
        "\nTimeline: newest {STRIP_CELLS} partitions, newest last; {LEGEND}."
    )?;
    for p in blocked(r) {
        writeln!(out, "\n## {} is blocked\n", escape(&p.id))?;
        writeln!(out, "{}.\n", escape(&p.reason))?;
        if let Some(f) = &p.blocking {
            writeln!(
                out,
                "- {} {}: {}",
                f.partition,
                f.verdict,
                escape(&finding_detail(f))
            )?;
        }
        if let Some(f) = &p.newest_divergence {
            if p.blocking.as_ref().map(|b| b.partition) != Some(f.partition) {
                writeln!(
                    out,
                    "- newest divergence {}: {}",
                    f.partition,
                    escape(&finding_detail(f))
                )?;
            }
            let mut lines = Vec::new();
            samples_text(&f.samples, f.redacted, &mut lines)?;
            for line in String::from_utf8_lossy(&lines).lines() {
                writeln!(out, "  - {}", escape(line.trim()))?;
            }
        }
    }
    Ok(())
}
