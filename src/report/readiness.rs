//! Rendering the readiness report as terminal text, Markdown or JSON (HTML is in
//! [`super::html`]). Renderers only read the [`Readiness`]; samples in it were redacted when it
//! was built.

use std::io::{self, Write};

use super::cutover::{differences, md_table};
use super::markdown::escape;
use super::table::{self, keep, shrink, Screen, Text, Tone};
use super::text::{capped, change, count};
use super::{printable, OutputFormat};
use crate::diff::summary::Samples;
use crate::ledger::UnitVerdict;
use crate::readiness::{Cell, Decision, Finding, PipelineReadiness, Readiness, State};

/// Judged partitions shown in a terminal or Markdown timeline (newest last).
pub const STRIP_CELLS: usize = 30;

/// Pipelines named in a `holding back` line before `and N more`.
const HOLDING_BACK_NAMED: usize = 12;

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

/// How a strip reads: what it shows and how it is cut.
pub const STRIP_NOTE: &str = "up to the newest checked partition, newest last, at most 30 (… older ones left out; +N: N newer settled partitions not checked yet)";

/// "15 days left", "retirement day", "overdue by 3 days".
pub fn countdown(r: &Readiness) -> String {
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    match r.days_left {
        0 => "the retirement date is today".to_string(),
        n if n > 0 => format!("{n} day{} left", plural(n)),
        n => format!("the legacy platform is overdue by {} day{}", -n, plural(-n)),
    }
}

/// `1 ready, 2 blocked, …`: the states of the pipelines in scope, those with at least one.
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

/// `6 pipelines in scope: 1 unowned, 4 on_track, 1 ready; 1 more not migrating (out of
/// scope)`: the counts add up to the pipelines listed.
pub fn scope_line(r: &Readiness) -> String {
    let mut line = format!(
        "{} in scope: {}",
        count(r.in_scope as usize, "pipeline"),
        state_counts(r)
    );
    if r.not_migrating > 0 {
        line.push_str(&format!(
            "; {} more not migrating (out of scope)",
            r.not_migrating
        ));
    }
    line
}

/// The timeline as symbols, up to the newest checked partition: the newest `n` of those,
/// `…` first when older ones are left out, and `+N` last when N settled partitions after the
/// newest check are not checked yet. So the strip always shows what was judged, and says
/// where it is cut.
pub fn strip(cells: &[Cell], n: usize) -> String {
    let judged = cells
        .iter()
        .rposition(|c| c.verdict.is_some())
        .map_or(0, |i| i + 1);
    let skip = judged.saturating_sub(n);
    let mut s: String = if skip > 0 {
        "…".into()
    } else {
        String::new()
    };
    s.extend(
        cells[skip..judged]
            .iter()
            .map(|c| verdict_symbol(c.verdict)),
    );
    let pending = cells.len() - judged;
    if pending > 0 {
        if judged > 0 {
            s.push(' ');
        }
        s.push_str(&format!("+{pending}"));
    }
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

/// The colour of a state.
pub fn state_tone(s: State) -> Tone {
    match s {
        State::Ready => Tone::Good,
        State::OnTrack => Tone::Info,
        State::AtRisk | State::Stale => Tone::Warn,
        State::Blocked => Tone::Bad,
        State::Unowned | State::Incomplete => Tone::Gap,
        State::NotMigrating => Tone::Muted,
    }
}

fn paint_decision(color: bool, d: Decision) -> String {
    let style = match d {
        Decision::Go => console::Style::new().green().bold(),
        Decision::NoGo => console::Style::new().red().bold(),
    };
    if color {
        style.force_styling(true).apply_to(d.as_str()).to_string()
    } else {
        d.as_str().to_string()
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

fn row(p: &PipelineReadiness) -> Vec<Text> {
    vec![
        p.id.clone().into(),
        Text::toned(p.state.as_str(), state_tone(p.state)),
        format!("{}/{}", p.streak, p.required_streak).into(),
        opt(&p.newest_partition).into(),
        opt(&p.newest_verdict).into(),
        last_diverged(p).into(),
        match p.state {
            State::Ready => "ready".to_string(),
            _ => opt(&p.projected_ready),
        }
        .into(),
        printable(&opt(&p.owner)).into(),
        strip(&p.timeline, STRIP_CELLS).into(),
        printable(&p.reason).into(),
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

/// The terminal table's columns: on a narrow terminal the newest verdict goes first (the
/// state says it), then the newest partition, the owner, the last divergence, the date.
fn columns() -> [table::Column<'static>; 10] {
    [
        keep(HEADER[0]),
        keep(HEADER[1]),
        keep(HEADER[2]),
        keep(HEADER[3]).optional(2),
        keep(HEADER[4]).optional(1),
        shrink(HEADER[5]).optional(4),
        keep(HEADER[6]).optional(5),
        // E-mail addresses are left out whole rather than split.
        keep(HEADER[7]).optional(3),
        keep(HEADER[8]).optional(6),
        shrink(HEADER[9]).at_least(28),
    ]
}

/// Render the report in a text format (`Html` is not one: see [`super::html::render`]).
pub fn render(
    r: &Readiness,
    format: OutputFormat,
    screen: Screen,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)
        }
        OutputFormat::Markdown => markdown(r, out),
        OutputFormat::Terminal => terminal(r, screen, out),
    }
}

/// The pipelines holding the decision back, with their states, the first few named.
fn holding_back(r: &Readiness) -> String {
    let named: Vec<String> = r
        .holding_back
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
        .collect();
    capped(&named, HOLDING_BACK_NAMED)
}

fn terminal(r: &Readiness, screen: Screen, out: &mut dyn Write) -> io::Result<()> {
    let line = |out: &mut dyn Write, indent: usize, text: &str| {
        table::paragraph(out, indent, text, screen)
    };
    let name = printable(&r.cutover);
    writeln!(out, "{name}: {}", paint_decision(screen.color, r.decision))?;
    line(
        out,
        0,
        &format!(
            "as of {}; retirement date {}: {}",
            r.as_of,
            r.retirement_date,
            countdown(r)
        ),
    )?;
    line(out, 0, &scope_line(r))?;
    if !r.holding_back.is_empty() {
        line(out, 0, &format!("holding back: {}", holding_back(r)))?;
    } else if r.in_scope == 0 {
        line(out, 0, "nothing in scope: no pipeline is being migrated")?;
    }
    if r.pipelines.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let rows: Vec<Vec<Text>> = r.pipelines.iter().map(row).collect();
    table::write(out, 0, &columns(), &rows, screen)?;
    line(out, 0, &format!("timeline: {STRIP_NOTE}"))?;
    line(out, 2, LEGEND)?;
    for p in blocked(r) {
        writeln!(out)?;
        line(
            out,
            0,
            &format!("{} is blocked: {}", p.id, printable(&p.reason)),
        )?;
        if let Some(f) = &p.blocking {
            line(
                out,
                2,
                &format!("{} {}: {}", f.partition, f.verdict, finding_detail(f)),
            )?;
        }
        if let Some(f) = &p.newest_divergence {
            if p.blocking.as_ref().map(|b| b.partition) != Some(f.partition) {
                line(
                    out,
                    2,
                    &format!("newest divergence {}: {}", f.partition, finding_detail(f)),
                )?;
            }
            for l in sample_lines(&f.samples, f.redacted) {
                line(out, 4, &l)?;
            }
        }
    }
    Ok(())
}

/// Values shown in a finding's sample lines are cut to this many characters.
const SAMPLE_WIDTH: usize = 60;

/// A finding's samples, one line each: rows only on a side, then changed rows (`left ->
/// right`, escaped when the two look alike).
fn sample_lines(s: &Samples, redacted: bool) -> Vec<String> {
    let note = if redacted { " (redacted)" } else { "" };
    let show = |row: &crate::diff::summary::SampleRow| {
        row.iter()
            .map(|(k, v)| printable(&format!("{k}={}", super::show(v, SAMPLE_WIDTH))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = Vec::new();
    for r in &s.only_left {
        lines.push(format!("only in legacy{note}: {}", show(r)));
    }
    for r in &s.only_right {
        lines.push(format!("only in target{note}: {}", show(r)));
    }
    for c in &s.changed {
        let changes: Vec<String> = c
            .changes
            .iter()
            .map(|(k, v)| {
                let (left, right, escaped) = change(v, SAMPLE_WIDTH);
                let alike = if escaped { " (look alike)" } else { "" };
                printable(&format!("{k}: {left} -> {right}{alike}"))
            })
            .collect();
        lines.push(format!(
            "changed{note} {}: {}",
            show(&c.key),
            changes.join(", ")
        ));
    }
    lines
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
        "As of {}; retirement date {}: {}. {}.\n",
        r.as_of,
        r.retirement_date,
        countdown(r),
        scope_line(r)
    )?;
    if !r.holding_back.is_empty() {
        writeln!(out, "Holding back: {}.\n", escape(&holding_back(r)))?;
    } else if r.in_scope == 0 {
        writeln!(out, "Nothing in scope: no pipeline is being migrated.\n")?;
    }
    if r.pipelines.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .pipelines
        .iter()
        .map(|p| row(p).into_iter().map(|t| t.text).collect())
        .collect();
    md_table(out, &HEADER, &rows)?;
    writeln!(out, "\nTimeline: {STRIP_NOTE}; {LEGEND}.")?;
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
            for line in sample_lines(&f.samples, f.redacted) {
                writeln!(out, "  - {}", escape(&line))?;
            }
        }
    }
    Ok(())
}
