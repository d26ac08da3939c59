//! The readiness report as one self-contained HTML page: inline CSS, no scripts, no fonts,
//! images or links to fetch, so it opens on a locked-down machine and survives being attached
//! to a ticket. A Content-Security-Policy that allows nothing but the inline style backs that
//! up: even a value that escaped escaping could not run or load anything.
//!
//! Every value that comes from data, the inventory or the ledger goes through [`esc`]. Verdicts
//! never rely on colour alone: each timeline cell carries its symbol and a tooltip, and the
//! legend spells the symbols out. The page prints on A4 landscape with its colours.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::readiness::{countdown, finding_detail, last_diverged, state_counts, verdict_symbol};
use crate::diff::summary::Samples;
use crate::ledger::UnitVerdict;
use crate::readiness::{Decision, Finding, PipelineReadiness, Readiness, State};

/// Timeline cells drawn per pipeline (the newest); older partitions are counted, not drawn.
pub const MAX_CELLS: usize = 400;

/// Escape text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

const STYLE: &str = r#"
:root{--ok:#1a7f37;--eq:#4c9a5f;--tol:#9a6700;--bad:#cf222e;--miss:#8250df;--err:#57606a;--none:#d0d7de;--ink:#1f2328;--mute:#59636e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:0;padding:24px;background:#fff}
header.decision{border-radius:8px;padding:16px 20px;margin-bottom:20px;color:#fff}
header.go{background:var(--ok)}header.nogo{background:var(--bad)}
header h1{margin:0;font-size:32px;letter-spacing:.02em}
header p{margin:4px 0 0}
header .countdown{font-size:20px;font-weight:600}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;font-size:12px;border:1px solid currentColor;white-space:nowrap}
.s-ready{color:var(--ok)}.s-on_track{color:#0969da}.s-at_risk{color:var(--tol)}.s-blocked{color:var(--bad)}
.s-stale{color:var(--tol)}.s-unowned,.s-incomplete{color:var(--miss)}.s-not_migrating{color:var(--mute)}
.strip{display:flex;flex-wrap:wrap;gap:1px;margin:2px 0 10px}
.c{display:inline-block;min-width:14px;height:16px;font:11px/16px ui-monospace,Menlo,Consolas,monospace;text-align:center;color:#fff;border-radius:2px}
.hourly .c{min-width:8px;font-size:7px}
.v-identical{background:var(--ok)}.v-equivalent{background:var(--eq)}.v-within{background:var(--tol)}
.v-diverged{background:var(--bad)}.v-missing{background:var(--miss)}.v-error{background:var(--err)}.v-none{background:var(--none);color:var(--ink)}
.legend span.c{margin-right:4px}.legend{margin:8px 0;color:var(--mute)}
.tl-name{font-weight:600;margin-top:6px}
.muted{color:var(--mute)}
td.nw,td.nw .mono{white-space:nowrap;word-break:normal}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
section.blocked{border-left:4px solid var(--bad);padding:0 12px;margin:16px 0;break-inside:avoid}
footer{margin-top:32px;color:var(--mute);font-size:12px}
@page{size:A4 landscape;margin:12mm}
@media print{body{padding:0;font-size:11px}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr,section.blocked,.strip{break-inside:avoid}h2{break-after:avoid}}
"#;

/// Render the report as a complete HTML document.
pub fn render(r: &Readiness, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(page(r).as_bytes())
}

/// The page as a string.
pub fn page(r: &Readiness) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let decision = r.decision.as_str();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"parity {}\">\n\
         <title>{} — cutover readiness: {decision}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&r.cutover),
    );
    header(&mut h, r);
    summary(&mut h, r);
    pipelines_table(&mut h, r);
    timelines(&mut h, r);
    let blocked: Vec<&PipelineReadiness> = r
        .pipelines
        .iter()
        .filter(|p| p.state == State::Blocked)
        .collect();
    if !blocked.is_empty() {
        h.push_str("<h2 id=\"blocked\">Blocked pipelines</h2>\n");
        for p in blocked {
            blocked_section(&mut h, p);
        }
    }
    let _ = write!(
        h,
        "<footer>Generated by parity {} from the inventory <span class=\"mono\">{}</span> and the ledger <span class=\"mono\">{}</span>; \
         records written after {} are not counted.</footer>\n</body>\n</html>\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&r.inventory),
        esc(&r.ledger),
        r.cutoff.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    h
}

fn header(h: &mut String, r: &Readiness) {
    let class = match r.decision {
        Decision::Go => "go",
        Decision::NoGo => "nogo",
    };
    let _ = write!(
        h,
        "<header class=\"decision {class}\" id=\"decision\" data-decision=\"{}\">\n\
         <h1>{}</h1>\n<p>Cutover <strong>{}</strong>: legacy platform retirement on {}</p>\n\
         <p class=\"countdown\" id=\"countdown\">{}</p>\n<p>As of {}</p>\n</header>\n",
        r.decision.as_str(),
        r.decision.as_str(),
        esc(&r.cutover),
        r.retirement_date,
        esc(&countdown(r)),
        r.as_of,
    );
}

fn summary(h: &mut String, r: &Readiness) {
    let _ = writeln!(
        h,
        "<p id=\"states\">{} pipeline{} in scope: {}.</p>",
        r.in_scope,
        if r.in_scope == 1 { "" } else { "s" },
        esc(&state_counts(r))
    );
    if r.in_scope == 0 {
        h.push_str("<p><strong>Nothing in scope:</strong> no pipeline is being migrated, so nothing is shown to be at parity.</p>\n");
    }
    if !r.holding_back.is_empty() {
        h.push_str("<p id=\"holding-back\"><strong>Holding back:</strong> ");
        let items: Vec<String> = r
            .holding_back
            .iter()
            .filter_map(|id| r.pipelines.iter().find(|p| &p.id == id))
            .map(|p| {
                format!(
                    "<span class=\"mono\">{}</span> <span class=\"badge s-{}\">{}</span>",
                    esc(&p.id),
                    p.state.as_str(),
                    p.state.as_str()
                )
            })
            .collect();
        h.push_str(&items.join(", "));
        h.push_str("</p>\n");
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| esc(&x.to_string()))
        .unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
}

fn pipelines_table(h: &mut String, r: &Readiness) {
    if r.pipelines.is_empty() {
        h.push_str("<p>The inventory lists no pipelines.</p>\n");
        return;
    }
    h.push_str(
        "<h2>Pipelines</h2>\n<table id=\"pipelines\">\n<thead><tr><th>Pipeline</th><th>Owner</th><th>Class</th>\
         <th>State</th><th>Streak</th><th>Newest partition</th><th>Verdict</th><th>Last diverged</th><th>Ready by</th><th>Why</th></tr></thead>\n<tbody>\n",
    );
    for p in &r.pipelines {
        let ready_by = match p.state {
            State::Ready => "ready".to_string(),
            _ => opt(&p.projected_ready),
        };
        let class = p
            .classification
            .map(|c| c.as_str().to_string())
            .map(|c| esc(&c))
            .unwrap_or_else(|| "<span class=\"muted\">—</span>".into());
        let _ = writeln!(
            h,
            "<tr data-pipeline=\"{id}\" data-state=\"{state}\"><td class=\"mono nw\">{id}</td><td>{owner}</td><td>{class}</td>\
             <td><span class=\"badge s-{state}\">{state}</span></td><td class=\"num\">{streak} / {req}</td>\
             <td class=\"mono nw\">{newest}</td><td>{verdict}</td><td class=\"mono\">{diverged}</td><td class=\"nw\">{ready_by}</td><td>{why}</td></tr>",
            id = esc(&p.id),
            owner = opt(&p.owner),
            state = p.state.as_str(),
            streak = p.streak,
            req = p.required_streak,
            newest = opt(&p.newest_partition),
            verdict = opt(&p.newest_verdict),
            why = esc(&p.reason),
            diverged = esc(&last_diverged(p)),
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

fn cell(h: &mut String, v: Option<UnitVerdict>, title: &str) {
    let _ = write!(
        h,
        "<span class=\"c {}\" title=\"{}\">{}</span>",
        verdict_class(v),
        esc(title),
        esc(&verdict_symbol(v).to_string())
    );
}

fn timelines(h: &mut String, r: &Readiness) {
    if r.pipelines.iter().all(|p| p.timeline.is_empty()) {
        return;
    }
    h.push_str("<h2>Timelines</h2>\n<div class=\"legend\">");
    for v in [
        Some(UnitVerdict::Identical),
        Some(UnitVerdict::Equivalent),
        Some(UnitVerdict::WithinTolerance),
        Some(UnitVerdict::Diverged),
        Some(UnitVerdict::MissingLegacy),
        Some(UnitVerdict::MissingTarget),
        Some(UnitVerdict::Error),
        None,
    ] {
        cell(h, v, verdict_words(v));
        let _ = write!(h, "{} &nbsp; ", verdict_words(v));
    }
    h.push_str("</div>\n<p class=\"muted\">One cell per partition the cadence expects, oldest first; hover a cell for its partition and verdict.</p>\n");
    for p in r.pipelines.iter().filter(|p| !p.timeline.is_empty()) {
        let skip = p.timeline.len().saturating_sub(MAX_CELLS);
        let _ = write!(
            h,
            "<div class=\"tl-name\" id=\"timeline-{id}\"><span class=\"mono\">{id}</span> <span class=\"muted\">{cadence}, {n} partitions from {from} to {to}{more}</span></div>\n\
             <div class=\"strip {cadence}\" data-pipeline=\"{id}\">",
            id = esc(&p.id),
            cadence = p.cadence.as_str(),
            n = p.timeline.len(),
            from = p.timeline[0].partition,
            to = p.timeline[p.timeline.len() - 1].partition,
            more = if skip > 0 {
                format!("; the oldest {skip} not drawn")
            } else {
                String::new()
            },
        );
        for c in &p.timeline[skip..] {
            cell(
                h,
                c.verdict,
                &format!("{}: {}", c.partition, verdict_words(c.verdict)),
            );
        }
        h.push_str("</div>\n");
    }
}

fn blocked_section(h: &mut String, p: &PipelineReadiness) {
    let _ = write!(
        h,
        "<section class=\"blocked\" id=\"blocked-{id}\">\n<h3 class=\"mono\">{id}</h3>\n<p>{why}. Owner: {owner}.</p>\n",
        id = esc(&p.id),
        why = esc(&p.reason),
        owner = opt(&p.owner),
    );
    if let Some(f) = &p.blocking {
        finding(h, "What blocks it", f);
    }
    if let Some(f) = &p.newest_divergence {
        if p.blocking.as_ref().map(|b| b.partition) != Some(f.partition) {
            finding(h, "Newest divergence", f);
        }
    }
    h.push_str("</section>\n");
}

fn finding(h: &mut String, title: &str, f: &Finding) {
    let _ = write!(
        h,
        "<h4>{title}: partition <span class=\"mono\">{}</span>, {}</h4>\n<p>{}</p>\n",
        f.partition,
        esc(verdict_words(Some(f.verdict))),
        esc(&finding_detail(f)),
    );
    if f.verdict == UnitVerdict::Diverged {
        let rows = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
        let _ = writeln!(
            h,
            "<table class=\"counts\"><tr><th>rows legacy</th><th>rows target</th><th>only legacy</th><th>only target</th><th>changed rows</th></tr>\
             <tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>",
            rows(f.counts.left_rows),
            rows(f.counts.right_rows),
            f.counts.only_left,
            f.counts.only_right,
            f.counts.changed_rows,
        );
    }
    let divergent: Vec<String> = f
        .schema_changes
        .iter()
        .filter(|c| c.divergent)
        .map(|c| {
            format!(
                "<code>{}</code> ({} → {})",
                esc(&c.column),
                esc(c.left_type.as_deref().unwrap_or("absent")),
                esc(c.right_type.as_deref().unwrap_or("absent"))
            )
        })
        .collect();
    if !divergent.is_empty() {
        let _ = writeln!(h, "<p>Schema changes: {}</p>", divergent.join(", "));
    }
    samples(h, &f.samples, f.redacted);
    let _ = writeln!(
        h,
        "<p class=\"muted\">Record: <span class=\"mono\">{}</span>, checked {}.</p>",
        esc(&f.record),
        f.checked_at.format("%Y-%m-%d %H:%M UTC")
    );
}

fn value(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("<code>{}</code>", esc(s)),
        None => "<span class=\"muted\">null</span>".into(),
    }
}

fn samples(h: &mut String, s: &Samples, redacted: bool) {
    if s.only_left.is_empty() && s.only_right.is_empty() && s.changed.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<p><strong>Sample rows</strong>{}</p>",
        if redacted {
            " (values redacted: equal values show the same hash)"
        } else {
            ""
        }
    );
    h.push_str("<table class=\"samples\"><thead><tr><th>kind</th><th>row or key</th><th>changes (legacy → target)</th></tr></thead><tbody>\n");
    let cols = |row: &crate::diff::summary::SampleRow| {
        row.iter()
            .map(|(k, v)| format!("{}={}", esc(k), value(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in &s.only_left {
        let _ = writeln!(
            h,
            "<tr><td>only in legacy</td><td>{}</td><td></td></tr>",
            cols(r)
        );
    }
    for r in &s.only_right {
        let _ = writeln!(
            h,
            "<tr><td>only in target</td><td>{}</td><td></td></tr>",
            cols(r)
        );
    }
    for c in &s.changed {
        let changes: Vec<String> = c
            .changes
            .iter()
            .map(|(k, v)| format!("{}: {} → {}", esc(k), value(&v.left), value(&v.right)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>changed</td><td>{}</td><td>{}</td></tr>",
            cols(&c.key),
            changes.join("<br>")
        );
    }
    h.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
