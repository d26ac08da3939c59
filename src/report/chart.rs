//! The burn-up chart of the HTML report, drawn as inline SVG (no scripts, nothing to fetch, so
//! the page's Content-Security-Policy stays as strict as it was): pipelines ready per day
//! across the window, the line of pipelines in scope it climbs to, the retirement date, the
//! report's day, and the pace so far carried forward to the day it reaches every pipeline.
//!
//! It only draws [`crate::burnup::BurnUp`], computed by the engine. Each series is told apart
//! by its stroke (solid, dashed, dotted) as well as its colour, so it reads in greyscale print;
//! the figure carries a title, a description and a caption in words, and the numbers behind
//! every point sit in a table under it, so nothing is only in the picture.

use chrono::NaiveDate;
use maud::{html, Markup};

use crate::burnup::{BurnUp, DayCount};
use crate::readiness::Readiness;

/// The drawing's size in its own units (it scales to the page's width).
const WIDTH: f64 = 980.0;
const HEIGHT: f64 = 300.0;
/// Room for the axes' labels.
const LEFT: f64 = 48.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 44.0;

/// The colour of the ready series (the tests look for it in screenshots).
pub const SERIES_COLOUR: &str = "#0b5cad";

/// Day and count to drawing units.
struct Scale {
    first: NaiveDate,
    span_days: f64,
    in_scope: f64,
}

impl Scale {
    fn x(&self, day: NaiveDate) -> f64 {
        let d = (day - self.first).num_days() as f64;
        LEFT + d / self.span_days * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, ready: f64) -> f64 {
        let h = HEIGHT - TOP - BOTTOM;
        TOP + h - ready / self.in_scope * h
    }

    fn right(&self) -> f64 {
        WIDTH - RIGHT
    }

    fn bottom(&self) -> f64 {
        HEIGHT - BOTTOM
    }
}

/// One coordinate, as the SVG carries it.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// Where the projection is drawn to: the day it reaches every pipeline when that fits the
/// chart, else the chart's right edge at the count the pace gives there.
struct Projection {
    from: (NaiveDate, f64),
    to: (NaiveDate, f64),
    reaches: NaiveDate,
    beyond: bool,
}

/// The last day the x axis shows, and the projection to draw.
fn extent(b: &BurnUp, retirement: NaiveDate) -> (NaiveDate, Option<Projection>) {
    let (Some(first), Some(last)) = (b.days.first(), b.days.last()) else {
        return (retirement, None);
    };
    let mut end = last.day.max(retirement);
    let projection = b
        .all_ready_on
        .filter(|_| last.ready < b.in_scope)
        .map(|on| {
            // A projection far beyond the window would squash the days drawn: past twice the
            // span, the line stops at the edge and the caption gives the day.
            let limit = first.day + (end - first.day) * 2;
            let beyond = on > limit;
            if !beyond {
                end = end.max(on);
            }
            let to = if beyond {
                let days = (limit - last.day).num_days() as f64;
                (limit, last.ready as f64 + b.pace_per_day * days)
            } else {
                (on, b.in_scope as f64)
            };
            Projection {
                from: (last.day, last.ready as f64),
                to,
                reaches: on,
                beyond,
            }
        });
    if end <= first.day {
        end = first.day + chrono::Duration::days(1);
    }
    (end, projection)
}

/// Day ticks: weekly from the first day, or monthly for long windows.
fn day_ticks(first: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    let span = (end - first).num_days();
    if span <= 120 {
        first.iter_weeks().take_while(|d| *d <= end).collect()
    } else {
        first
            .iter_days()
            .take_while(|d| *d <= end)
            .filter(|d| chrono::Datelike::day(d) == 1)
            .collect()
    }
}

/// Count ticks: every pipeline up to ten, else about five steps.
fn count_ticks(in_scope: u64) -> Vec<u64> {
    let step = if in_scope <= 10 {
        1
    } else {
        in_scope.div_ceil(5)
    };
    (0..=in_scope).step_by(step as usize).collect()
}

/// The sentence that says what the chart shows.
pub fn caption(r: &Readiness) -> String {
    let b = &r.burn_up;
    let (Some(first), Some(last)) = (b.days.first(), b.days.last()) else {
        return "No day to chart.".to_string();
    };
    let mut s = format!(
        "{} of {} pipelines in scope ready as of {} ({} on {}).",
        last.ready, b.in_scope, last.day, first.ready, first.day
    );
    let relative = |d: NaiveDate| {
        let gap = (d - r.retirement_date).num_days();
        match gap {
            0 => "the retirement date itself".to_string(),
            g if g < 0 => format!(
                "{} day{} before the retirement date",
                -g,
                if g == -1 { "" } else { "s" }
            ),
            g => format!(
                "{g} day{} after the retirement date",
                if g == 1 { "" } else { "s" }
            ),
        }
    };
    match b.all_ready_on {
        Some(d) if last.ready >= b.in_scope => {
            s.push_str(&format!(" All of them ready since {d}, {}.", relative(d)));
        }
        Some(d) => s.push_str(&format!(
            " At the pace since {} ({:.2} a day), all {} would be ready on {d}, {}.",
            first.day,
            b.pace_per_day,
            b.in_scope,
            relative(d)
        )),
        None => s.push_str(&format!(
            " No pipeline became ready over the window: at this pace they are never all ready (retirement date {}).",
            r.retirement_date
        )),
    }
    s
}

/// The figure: the SVG, its caption, and the numbers behind it.
pub fn burn_up(r: &Readiness) -> Markup {
    let b = &r.burn_up;
    let Some(first) = b.days.first().map(|d| d.day) else {
        return html! {};
    };
    let (end, projection) = extent(b, r.retirement_date);
    let scale = Scale {
        first,
        span_days: (end - first).num_days().max(1) as f64,
        in_scope: b.in_scope.max(1) as f64,
    };
    let text = caption(r);
    let points: Vec<String> = b
        .days
        .iter()
        .map(|d| format!("{},{}", n(scale.x(d.day)), n(scale.y(d.ready as f64))))
        .collect();
    html! {
        figure.burnup {
            "\n"
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
                role="img" aria-labelledby="burnup-title burnup-desc" id="burnup"
                data-first=(first) data-end=(end) {
                title id="burnup-title" { "Burn-up: pipelines ready per day" }
                desc id="burnup-desc" { (text) }
                (frame(&scale, b.in_scope, first, end))
                (markers(&scale, r, end))
                @if let Some(p) = &projection {
                    (projection_line(&scale, p, b.in_scope))
                }
                polyline.ready points=(points.join(" ")) fill="none" stroke=(SERIES_COLOUR)
                    stroke-width="3" stroke-linejoin="round" {}
                @for d in &b.days {
                    (point(&scale, d, b.in_scope))
                }
            }
            "\n"
            figcaption { (text) }
            "\n"
            details {
                summary { "Pipelines ready per day" }
                table.burnup-data {
                    tr { th { "day" } th { "ready" } th { "in scope" } }
                    @for d in &b.days {
                        tr { td.nw { (d.day) } td.num { (d.ready) } td.num { (b.in_scope) } }
                    }
                }
            }
            "\n"
        }
    }
}

/// Background, grid, axes and their labels, and the line of pipelines in scope.
fn frame(s: &Scale, in_scope: u64, first: NaiveDate, end: NaiveDate) -> Markup {
    let top = s.y(in_scope as f64);
    html! {
        rect x=(n(LEFT)) y=(n(TOP)) width=(n(s.right() - LEFT)) height=(n(s.bottom() - TOP))
            fill="#fafbfc" {}
        @for t in count_ticks(in_scope) {
            line.grid x1=(n(LEFT)) x2=(n(s.right())) y1=(n(s.y(t as f64))) y2=(n(s.y(t as f64)))
                stroke="#e3e7eb" stroke-width="1" {}
            text x=(n(LEFT - 8.0)) y=(n(s.y(t as f64) + 4.0)) text-anchor="end" font-size="12"
                fill="#59636e" { (t) }
        }
        @for (i, d) in day_ticks(first, end).into_iter().enumerate() {
            line x1=(n(s.x(d))) x2=(n(s.x(d))) y1=(n(s.bottom())) y2=(n(s.bottom() + 5.0))
                stroke="#8c959f" {}
            text x=(n(s.x(d))) y=(n(s.bottom() + 19.0)) text-anchor=(if i == 0 { "start" } else { "middle" })
                font-size="12" fill="#59636e" { (d.format("%m-%d")) }
        }
        line.axis-x x1=(n(LEFT)) x2=(n(s.right())) y1=(n(s.bottom())) y2=(n(s.bottom()))
            stroke="#57606a" stroke-width="1.5" {}
        line.axis-y x1=(n(LEFT)) x2=(n(LEFT)) y1=(n(TOP)) y2=(n(s.bottom()))
            stroke="#57606a" stroke-width="1.5" {}
        line.scope x1=(n(LEFT)) x2=(n(s.right())) y1=(n(top)) y2=(n(top))
            stroke="#57606a" stroke-width="1.5" stroke-dasharray="6 4" {}
        text x=(n(LEFT + 6.0)) y=(n(top - 6.0)) font-size="12" fill="#57606a" stroke="#fff"
            stroke-width="4" paint-order="stroke" {
            (in_scope) " in scope"
        }
        text x=(n(LEFT)) y=(n(HEIGHT - 6.0)) font-size="12" fill="#59636e" {
            "pipelines ready (solid) · pace carried forward (dashed) · in scope (dashed grey)"
        }
    }
}

/// The retirement date and the report's day, as vertical lines with their labels.
fn markers(s: &Scale, r: &Readiness, end: NaiveDate) -> Markup {
    let first = s.first;
    let show_retirement = r.retirement_date >= first && r.retirement_date <= end;
    let rx = s.x(r.retirement_date);
    let ax = s.x(r.as_of.min(end));
    // Labels sit left of their line when the line is in the right half.
    let anchor = |x: f64| if x > WIDTH / 2.0 { "end" } else { "start" };
    let nudge = |x: f64| if x > WIDTH / 2.0 { x - 5.0 } else { x + 5.0 };
    html! {
        @if r.as_of >= first {
            line.as-of x1=(n(ax)) x2=(n(ax)) y1=(n(TOP)) y2=(n(s.bottom()))
                stroke="#8c959f" stroke-width="1.5" stroke-dasharray="2 3" {}
            text x=(n(nudge(ax))) y=(n(s.bottom() - 8.0)) text-anchor=(anchor(ax)) font-size="12"
                fill="#59636e" stroke="#fff" stroke-width="4" paint-order="stroke" { "as of " (r.as_of) }
        }
        @if show_retirement {
            line.retirement x1=(n(rx)) x2=(n(rx)) y1=(n(TOP - 26.0)) y2=(n(s.bottom()))
                stroke="#c5331d" stroke-width="2" {}
            text x=(n(nudge(rx))) y=(n(TOP - 14.0)) text-anchor=(anchor(rx)) font-size="12"
                font-weight="600" fill="#c5331d" { "retirement " (r.retirement_date) }
        }
    }
}

fn projection_line(s: &Scale, p: &Projection, in_scope: u64) -> Markup {
    let (x1, y1) = (s.x(p.from.0), s.y(p.from.1));
    let (x2, y2) = (s.x(p.to.0), s.y(p.to.1.min(in_scope as f64)));
    let anchor = if x2 > WIDTH - 220.0 { "end" } else { "start" };
    let tx = if anchor == "end" { x2 - 6.0 } else { x2 + 6.0 };
    html! {
        line.projection x1=(n(x1)) y1=(n(y1)) x2=(n(x2)) y2=(n(y2)) stroke=(SERIES_COLOUR)
            stroke-width="2" stroke-dasharray="7 5" opacity="0.8" {}
        @if !p.beyond {
            circle.reaches cx=(n(x2)) cy=(n(y2)) r="5" fill="#fff" stroke=(SERIES_COLOUR)
                stroke-width="2" {}
        }
        text x=(n(tx)) y=(n(y2 + if p.beyond { -8.0 } else { 20.0 })) text-anchor=(anchor)
            font-size="12" fill=(SERIES_COLOUR) stroke="#fff" stroke-width="4" paint-order="stroke" {
            "all " (in_scope) " ready on " (p.reaches) " at this pace"
            @if p.beyond { " (beyond the chart)" }
        }
    }
}

fn point(s: &Scale, d: &DayCount, in_scope: u64) -> Markup {
    html! {
        circle.point cx=(n(s.x(d.day))) cy=(n(s.y(d.ready as f64))) r="3.5" fill=(SERIES_COLOUR)
            data-day=(d.day) data-ready=(d.ready) {
            title { (d.day) ": " (d.ready) " of " (in_scope) " ready" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burn_up(start: &str, ready: &[u64], in_scope: u64) -> BurnUp {
        let start: NaiveDate = start.parse().unwrap();
        let days: Vec<DayCount> = ready
            .iter()
            .enumerate()
            .map(|(i, r)| DayCount {
                day: start + chrono::Duration::days(i as i64),
                ready: *r,
            })
            .collect();
        let (pace_per_day, all_ready_on) = crate::burnup::projection(&days, in_scope);
        BurnUp {
            in_scope,
            days,
            pace_per_day,
            all_ready_on,
        }
    }

    #[test]
    fn the_axis_reaches_the_projection_unless_it_is_far_beyond() {
        let retirement: NaiveDate = "2026-12-15".parse().unwrap();
        // All 6 on 12-31: inside twice the span (11-01 .. 12-15), drawn to the day.
        let b = burn_up("2026-11-01", &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 6);
        let (end, p) = extent(&b, retirement);
        let p = p.unwrap();
        assert_eq!(end.to_string(), "2026-12-31");
        assert!(!p.beyond);
        assert_eq!(
            (p.to.0.to_string(), p.to.1),
            ("2026-12-31".to_string(), 6.0)
        );
        // 1 pipeline in 10 days with 60 in scope: 590 days; the line stops at the edge
        // (twice the span: 2027-01-28), at the count the pace gives there.
        let b = burn_up("2026-11-01", &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 60);
        let (end, p) = extent(&b, retirement);
        let p = p.unwrap();
        assert!(p.beyond);
        assert_eq!(end, retirement);
        assert_eq!(p.to.0.to_string(), "2027-01-28");
        assert!((p.to.1 - (1.0 + 0.1 * 78.0)).abs() < 1e-9, "{}", p.to.1);
        // Nothing gained: no projection, the axis ends at the retirement date.
        let b = burn_up("2026-11-01", &[0, 0, 0], 6);
        let (end, p) = extent(&b, retirement);
        assert_eq!(end, retirement);
        assert!(p.is_none());
    }

    #[test]
    fn count_ticks_are_whole_pipelines() {
        assert_eq!(count_ticks(6), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(count_ticks(200), [0, 40, 80, 120, 160, 200]);
        assert_eq!(count_ticks(23), [0, 5, 10, 15, 20]);
    }
}
