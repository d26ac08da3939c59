//! The readiness report as one self-contained HTML page: inline CSS and inline SVG, no
//! scripts, no fonts, images or links to fetch, so it opens on a locked-down machine and
//! survives being attached to a ticket. A Content-Security-Policy that allows nothing but the
//! inline style backs that up: even a value that escaped escaping could not run or load
//! anything.
//!
//! The page is written with `maud`: the markup is checked when parity is compiled, and every
//! value spliced into it (from data, the inventory or the ledger) is escaped unless it is
//! wrapped in `PreEscaped`, which only the constant style sheet is. Verdicts never rely on
//! colour alone: each timeline cell carries its symbol and a tooltip, the legend spells the
//! symbols out, and identical (solid) and equivalent (pale, outlined) differ in lightness as
//! well as in symbol, so they stay apart in greyscale print and for colour-blind readers.
//! Tokens (pipeline ids, dates, partitions, e-mail addresses) never break across lines; an
//! empty cell is always a muted `—`. The page prints on A4 landscape with its colours.

use std::io::{self, Write};

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::chart;
use super::readiness::{countdown, finding_detail, scope_line, verdict_symbol};
use crate::diff::summary::{SampleRow, Samples};
use crate::inventory::Cadence;
use crate::ledger::UnitVerdict;
use crate::readiness::{Cell, Decision, Finding, PipelineReadiness, Readiness, State};

/// Timeline cells drawn per pipeline (the newest); older partitions are counted, not drawn.
pub const MAX_CELLS: usize = 400;

/// The verdict's CSS class.
fn verdict_class(v: Option<UnitVerdict>) -> &'static str {
    match v {
        Some(UnitVerdict::Identical) => "v-identical",
        Some(UnitVerdict::Equivalent) => "v-equivalent",
        Some(UnitVerdict::WithinTolerance) => "v-within",
        Some(UnitVerdict::Diverged) => "v-diverged",
        Some(UnitVerdict::MissingLegacy) | Some(UnitVerdict::MissingTarget) => "v-missing",
        Some(UnitVerdict::Error) => "v-error",
        None => "v-none",
    }
}

/// The verdict in words, for tooltips, the legend and table cells.
fn verdict_words(v: Option<UnitVerdict>) -> &'static str {
    match v {
        Some(UnitVerdict::Identical) => "identical",
        Some(UnitVerdict::Equivalent) => "equivalent",
        Some(UnitVerdict::WithinTolerance) => "within tolerance",
        Some(UnitVerdict::Diverged) => "diverged",
        Some(UnitVerdict::MissingLegacy) => "missing on the legacy side",
        Some(UnitVerdict::MissingTarget) => "missing on the target side",
        Some(UnitVerdict::Error) => "could not be checked",
        None => "not checked",
    }
}

/// What each verdict means, for the legend.
fn verdict_meaning(v: Option<UnitVerdict>) -> &'static str {
    match v {
        Some(UnitVerdict::Identical) => "every file byte for byte",
        Some(UnitVerdict::Equivalent) => "same rows, other bytes",
        Some(UnitVerdict::WithinTolerance) => "floats within tolerance",
        Some(UnitVerdict::Diverged) => "rows differ",
        Some(UnitVerdict::MissingLegacy) | Some(UnitVerdict::MissingTarget) => "no data files",
        Some(UnitVerdict::Error) => "see the record",
        None => "no record yet",
    }
}

const STYLE: &str = r#"
:root{--same:#116b4f;--same-pale:#d5efe4;--tol:#1f5fa8;--tol-pale:#dde9f8;--bad:#c5331d;--miss:#6f42c1;--err:#444c56;--none:#eef1f4;--ink:#1f2328;--mute:#59636e;--rule:#d0d7de;--warn:#8a5a00;--track:#1f5fa8}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:0 auto;padding:24px;max-width:1400px;background:#fff}
header.decision{border-radius:8px;padding:16px 20px;margin-bottom:16px;color:#fff}
header.go{background:var(--same)}header.nogo{background:var(--bad)}
header h1{margin:0;font-size:32px;letter-spacing:.02em}
header p{margin:4px 0 0}
header .countdown{font-size:20px;font-weight:600}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--rule);padding-bottom:4px}
h3{font-size:16px;margin:12px 0 4px}h4{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse}
th,td{border:1px solid var(--rule);padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.nw{white-space:nowrap}
.mono,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.muted{color:var(--mute)}
.small{font-size:.86em}
.url{overflow-wrap:anywhere}
.none{color:var(--mute)}
#pipelines{width:calc(100% - 1px)}
#pipelines td.why{min-width:13em}
#pipelines .sub{display:block;font-size:.86em;color:var(--mute);white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;font-size:.86em;border:1px solid currentColor;white-space:nowrap}
.s-ready{color:var(--same)}.s-on_track{color:var(--track)}.s-at_risk,.s-stale{color:var(--warn)}.s-blocked{color:var(--bad)}
.s-unowned,.s-incomplete{color:var(--miss)}.s-not_migrating{color:var(--mute)}
.c{display:inline-block;min-width:16px;height:18px;padding:0 1px;font:bold 12px/16px ui-monospace,Menlo,Consolas,monospace;text-align:center;color:#fff;border:1px solid transparent;border-radius:3px;vertical-align:middle}
.v-identical{background:var(--same);border-color:var(--same)}
.v-equivalent{background:var(--same-pale);border-color:var(--same);color:var(--same)}
.v-within{background:var(--tol-pale);border-color:var(--tol);color:var(--tol)}
.v-diverged{background:var(--bad);border-color:var(--bad)}
.v-missing{background:var(--miss);border-color:var(--miss)}
.v-error{background:var(--err);border-color:var(--err)}
.v-none{background:var(--none);border-color:#c9d1d9;color:var(--mute);font-weight:normal}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0;padding:0;list-style:none}
.legend li{white-space:nowrap}.legend .c{margin-right:6px}
.timeline{margin:8px 0 14px}
.timeline .name{font-weight:600}
.strip{display:flex;flex-wrap:wrap;gap:2px;margin:3px 0}
.day{display:flex;align-items:center;gap:8px;margin:2px 0}
.day .label{min-width:7.5em;font-size:.86em;color:var(--mute)}
.day .strip{margin:0}
.hourly .c{min-width:14px;font-size:11px}
figure.burnup{margin:8px 0 0}
figure.burnup svg{display:block;width:100%;max-width:980px;height:auto}
figure.burnup figcaption{margin-top:6px;max-width:980px}
details{margin:6px 0}details table td,details table th{padding:2px 8px}
.samples{table-layout:fixed;width:100%}
.samples td,.samples th{overflow-wrap:anywhere}
.samples col.kind{width:9em}
.counts{margin:6px 0}
section.blocked{border-left:4px solid var(--bad);padding:0 12px;margin:16px 0}
footer{margin-top:32px;color:var(--mute);font-size:.86em}
@page{size:A4 landscape;margin:12mm}
@media print{body{padding:0;font-size:11px;max-width:none}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr,figure,.timeline,h4{break-inside:avoid}h2,h3{break-after:avoid}details{display:none}}
"#;

/// The Content-Security-Policy: nothing may load or run; only the inline style applies.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// Render the report as a complete HTML document.
pub fn render(r: &Readiness, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(page(r).as_bytes())
}

/// The page as a string.
pub fn page(r: &Readiness) -> String {
    let blocked: Vec<&PipelineReadiness> = r
        .pipelines
        .iter()
        .filter(|p| p.state == State::Blocked)
        .collect();
    let markup = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            "\n"
            head {
                "\n" meta charset="utf-8";
                "\n" meta http-equiv="Content-Security-Policy" content=(CSP);
                "\n" meta name="viewport" content="width=device-width, initial-scale=1";
                "\n" meta name="generator" content={ "parity " (env!("CARGO_PKG_VERSION")) };
                "\n" title { (r.cutover) " — cutover readiness: " (r.decision.as_str()) }
                "\n" style { (PreEscaped(STYLE)) }
                "\n"
            }
            "\n"
            body {
                "\n" (header(r))
                "\n" (summary(r))
                "\n" (progress(r))
                "\n" (pipelines_table(r))
                "\n" (timelines(r))
                @if !blocked.is_empty() {
                    "\n" h2 id="blocked" { "Blocked pipelines" }
                    @for p in &blocked {
                        "\n" (blocked_section(p))
                    }
                }
                "\n" (footer(r))
                "\n"
            }
            "\n"
        }
        "\n"
    };
    markup.into_string()
}

fn header(r: &Readiness) -> Markup {
    let class = match r.decision {
        Decision::Go => "decision go",
        Decision::NoGo => "decision nogo",
    };
    html! {
        header class=(class) id="decision" data-decision=(r.decision.as_str()) {
            "\n" h1 { (r.decision.as_str()) }
            "\n" p {
                "Cutover " strong { (r.cutover) } ": legacy platform retirement on "
                span.nw { (r.retirement_date) }
            }
            "\n" p.countdown id="countdown" { (countdown(r)) }
            "\n" p { "As of " span.nw { (r.as_of) } }
            "\n"
        }
    }
}

fn summary(r: &Readiness) -> Markup {
    let holding: Vec<&PipelineReadiness> = r
        .holding_back
        .iter()
        .filter_map(|id| r.pipelines.iter().find(|p| &p.id == id))
        .collect();
    html! {
        p id="states" { (scope_line(r)) "." }
        @if r.in_scope == 0 {
            "\n" p {
                strong { "Nothing in scope:" }
                " no pipeline is being migrated, so nothing is shown to be at parity."
            }
        }
        @if !holding.is_empty() {
            "\n" p id="holding-back" {
                strong { "Holding back:" } " "
                @for (i, p) in holding.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.nw {
                        span.mono { (p.id) } " " (badge(p.state))
                    }
                }
            }
        }
    }
}

fn badge(s: State) -> Markup {
    html! { span class={ "badge s-" (s.as_str()) } { (s.as_str()) } }
}

/// The muted dash of an empty cell (one way everywhere).
fn none() -> Markup {
    html! { span.none title="none" { "—" } }
}

fn progress(r: &Readiness) -> Markup {
    if r.burn_up.days.is_empty() || r.in_scope == 0 {
        return html! {};
    }
    html! {
        section id="progress" {
            "\n" h2 { "Progress" }
            "\n" (chart::burn_up(r))
            "\n"
        }
    }
}

fn pipelines_table(r: &Readiness) -> Markup {
    if r.pipelines.is_empty() {
        return html! { p { "The inventory lists no pipelines." } };
    }
    html! {
        h2 { "Pipelines" }
        "\n"
        table id="pipelines" {
            "\n"
            thead {
                tr {
                    th { "Pipeline" span.sub { "owner, class" } }
                    th { "State" span.sub { "streak" } }
                    th { "Newest partition" }
                    th { "Last diverged" }
                    th { "Ready by" }
                    th { "Why" }
                }
            }
            "\n"
            tbody {
                @for p in &r.pipelines {
                    "\n" (pipeline_row(p))
                }
                "\n"
            }
            "\n"
        }
    }
}

fn pipeline_row(p: &PipelineReadiness) -> Markup {
    let in_scope = p.state != State::NotMigrating;
    html! {
        tr data-pipeline=(p.id) data-state=(p.state.as_str()) {
            td {
                span.mono.nw { (p.id) }
                @match &p.owner {
                    Some(owner) => span.sub { (owner) },
                    None => span.sub { "no owner" },
                }
                @match p.classification {
                    Some(c) => span.sub { (c.as_str()) },
                    None => span.sub { "no classification" },
                }
            }
            td {
                (badge(p.state))
                @if in_scope {
                    span.sub { (p.streak) " of " (p.required_streak) " clean" }
                } @else {
                    span.sub { "out of scope" }
                }
            }
            td {
                @match (&p.newest_partition, p.newest_verdict) {
                    (Some(n), v) => {
                        span.mono.nw { (n) }
                        span.sub { (verdict_chip(v)) " " (verdict_words(v)) }
                    }
                    (None, _) => (none()),
                }
            }
            td {
                @match &p.newest_divergence {
                    Some(f) => {
                        span.mono.nw { (f.partition) }
                        span.sub { (diverged_what(f)) }
                    }
                    None => (none()),
                }
            }
            td.nw {
                @match (p.state, &p.projected_ready) {
                    (State::Ready, _) => "ready",
                    (State::NotMigrating, _) => (none()),
                    (_, Some(d)) => (d),
                    (_, None) => (none()),
                }
            }
            td.why { (prose(&p.reason)) }
        }
    }
}

/// Text whose words with a hyphen, `@`, `_`, `/` or `:` (dates, partitions, ids, e-mail
/// addresses, times) never break inside: a line may break only between words.
fn prose(text: &str) -> Markup {
    let unbreakable = |w: &str| w.contains(['-', '@', '_', '/', ':']);
    html! {
        @for (i, word) in text.split(' ').enumerate() {
            @if i > 0 { " " }
            @if unbreakable(word) { span.nw { (word) } } @else { (word) }
        }
    }
}

/// What the newest divergence touched: the columns that differ most, or rows, or the schema.
fn diverged_what(f: &Finding) -> String {
    let cols: Vec<&str> = f.top_columns.iter().take(2).map(String::as_str).collect();
    if !cols.is_empty() {
        cols.join(", ")
    } else if f.counts.only_left + f.counts.only_right > 0 {
        "rows".to_string()
    } else {
        "schema".to_string()
    }
}

fn verdict_chip(v: Option<UnitVerdict>) -> Markup {
    html! {
        span class={ "c " (verdict_class(v)) } title=(verdict_words(v)) { (verdict_symbol(v)) }
    }
}

fn cell(c: &Cell) -> Markup {
    html! {
        span class={ "c " (verdict_class(c.verdict)) }
            title={ (c.partition) ": " (verdict_words(c.verdict)) } { (verdict_symbol(c.verdict)) }
    }
}

const LEGEND: [Option<UnitVerdict>; 8] = [
    Some(UnitVerdict::Identical),
    Some(UnitVerdict::Equivalent),
    Some(UnitVerdict::WithinTolerance),
    Some(UnitVerdict::Diverged),
    Some(UnitVerdict::MissingLegacy),
    Some(UnitVerdict::MissingTarget),
    Some(UnitVerdict::Error),
    None,
];

fn timelines(r: &Readiness) -> Markup {
    if r.pipelines.iter().all(|p| p.timeline.is_empty()) {
        return html! {};
    }
    html! {
        h2 { "Timelines" }
        "\n"
        ul.legend {
            @for v in LEGEND {
                li { (verdict_chip(v)) (verdict_words(v)) span.muted { " (" (verdict_meaning(v)) ")" } }
            }
        }
        "\n"
        p.muted.small {
            "One cell per partition the cadence expects, oldest first (an hourly pipeline: a row per day); hover a cell for its partition and verdict."
        }
        @for p in r.pipelines.iter().filter(|p| !p.timeline.is_empty()) {
            "\n" (timeline(p))
        }
    }
}

fn timeline(p: &PipelineReadiness) -> Markup {
    let skip = p.timeline.len().saturating_sub(MAX_CELLS);
    let shown = &p.timeline[skip..];
    let (first, last) = (&p.timeline[0], &p.timeline[p.timeline.len() - 1]);
    html! {
        div class={ "timeline " (p.cadence.as_str()) } id={ "timeline-" (p.id) } data-pipeline=(p.id) {
            div {
                span.name.mono { (p.id) } " "
                span.muted.small {
                    (p.cadence.as_str()) ", " (p.timeline.len()) " partitions from "
                    span.nw { (first.partition) } " to " span.nw { (last.partition) }
                    @if skip > 0 { "; the oldest " (skip) " not drawn" }
                }
            }
            @match p.cadence {
                Cadence::Daily => div.strip { @for c in shown { (cell(c)) } },
                Cadence::Hourly => {
                    @for day in shown.chunk_by(|a, b| a.partition.date == b.partition.date) {
                        div.day {
                            span.label.nw { (day[0].partition.date) }
                            div.strip { @for c in day { (cell(c)) } }
                        }
                    }
                }
            }
        }
    }
}

fn blocked_section(p: &PipelineReadiness) -> Markup {
    let newest_divergence = p
        .newest_divergence
        .as_ref()
        .filter(|f| p.blocking.as_ref().map(|b| b.partition) != Some(f.partition));
    html! {
        section.blocked id={ "blocked-" (p.id) } {
            "\n" h3.mono { (p.id) }
            "\n" p {
                (p.reason) ". Owner: "
                @match &p.owner { Some(o) => span.nw { (o) }, None => (none()) }
                "."
            }
            @if let Some(f) = &p.blocking {
                "\n" (finding("What blocks it", f))
            }
            @if let Some(f) = newest_divergence {
                "\n" (finding("Newest divergence", f))
            }
            "\n"
        }
    }
}

fn finding(title: &str, f: &Finding) -> Markup {
    let divergent: Vec<_> = f.schema_changes.iter().filter(|c| c.divergent).collect();
    let rows = |v: Option<u64>| -> Markup {
        match v {
            Some(n) => html! { (n) },
            None => none(),
        }
    };
    html! {
        h4 {
            (title) ": partition " span.mono.nw { (f.partition) } ", " (verdict_words(Some(f.verdict)))
        }
        "\n" p.url { (finding_detail(f)) }
        @if f.verdict == UnitVerdict::Diverged {
            "\n"
            table.counts {
                tr {
                    th { "rows legacy" } th { "rows target" } th { "only legacy" }
                    th { "only target" } th { "changed rows" }
                }
                tr {
                    td.num { (rows(f.counts.left_rows)) }
                    td.num { (rows(f.counts.right_rows)) }
                    td.num { (f.counts.only_left) }
                    td.num { (f.counts.only_right) }
                    td.num { (f.counts.changed_rows) }
                }
            }
        }
        @if !divergent.is_empty() {
            "\n" p {
                "Schema changes: "
                @for (i, c) in divergent.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (c.column) } " ("
                    (c.left_type.as_deref().unwrap_or("absent")) " → "
                    (c.right_type.as_deref().unwrap_or("absent")) ")"
                }
            }
        }
        (samples(&f.samples, f.redacted))
        "\n" p.muted.small {
            "Record: " span.mono.url { (f.record) } ", checked "
            span.nw { (f.checked_at.format("%Y-%m-%d %H:%M UTC")) } "."
        }
    }
}

fn value(v: &Option<String>) -> Markup {
    match v {
        Some(s) => html! { code { (s) } },
        None => html! { span.muted { "null" } },
    }
}

fn sample_row(row: &SampleRow) -> Markup {
    html! {
        @for (i, (k, v)) in row.iter().enumerate() {
            @if i > 0 { " " }
            (k) "=" (value(v))
        }
    }
}

fn samples(s: &Samples, redacted: bool) -> Markup {
    if s.only_left.is_empty() && s.only_right.is_empty() && s.changed.is_empty() {
        return html! {};
    }
    html! {
        "\n" p {
            strong { "Sample rows" }
            @if redacted { " (values redacted: equal values show the same hash)" }
        }
        "\n"
        table.samples {
            colgroup { col.kind; col; col; }
            thead { tr { th { "kind" } th { "row or key" } th { "changes (legacy → target)" } } }
            tbody {
                @for r in &s.only_left {
                    "\n" tr { td { "only in legacy" } td { (sample_row(r)) } td { (none()) } }
                }
                @for r in &s.only_right {
                    "\n" tr { td { "only in target" } td { (sample_row(r)) } td { (none()) } }
                }
                @for c in &s.changed {
                    "\n" tr {
                        td { "changed" }
                        td { (sample_row(&c.key)) }
                        td {
                            @for (i, (k, v)) in c.changes.iter().enumerate() {
                                @if i > 0 { br; }
                                (k) ": " (value(&v.left)) " → " (value(&v.right))
                            }
                        }
                    }
                }
                "\n"
            }
        }
    }
}

fn footer(r: &Readiness) -> Markup {
    html! {
        footer {
            "Generated by parity " (env!("CARGO_PKG_VERSION")) " from the inventory "
            span.mono.url { (r.inventory) } " and the ledger " span.mono.url { (r.ledger) }
            "; records written after " span.nw { (r.cutoff.format("%Y-%m-%d %H:%M:%S UTC")) }
            " are not counted."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_by_the_template() {
        let markup = html! { td { (r#"<script>alert("x")</script> & 'y'"#) } };
        assert_eq!(
            markup.into_string(),
            "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'y'</td>"
        );
    }

    #[test]
    fn identical_and_equivalent_differ_in_more_than_hue() {
        // Solid against pale-with-outline, and another symbol: apart in greyscale too.
        assert_ne!(
            verdict_symbol(Some(UnitVerdict::Identical)),
            verdict_symbol(Some(UnitVerdict::Equivalent))
        );
        assert!(STYLE.contains(".v-identical{background:var(--same);"));
        assert!(STYLE.contains(
            ".v-equivalent{background:var(--same-pale);border-color:var(--same);color:var(--same)}"
        ));
    }
}
