//! The burn-up: how many pipelines in scope were ready on each day of the cutover window, and
//! the day the pace so far would make every one of them ready.
//!
//! A day's count is what `parity report --as-of DAY` says: every pipeline in scope is assessed
//! from the same record names with the cutoff at the end of that day, so the newest point is
//! the report's own count of ready pipelines and an older one never moves when later records
//! arrive. The window runs from the cutover's `start` (or the oldest partition with a record)
//! to the report's day, at most [`MAX_DAYS`] days (the newest). A pipeline that cannot be ready
//! whatever its checks say (no owner, inventory gaps) is counted in scope and never ready.
//!
//! The pace is the net gain in ready pipelines per day over the window. Carried forward from
//! the report's day it gives the day every pipeline in scope would be ready; there is none when
//! the window gained nothing.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::inventory::{Inventory, Pipeline};
use crate::ledger::Entry;
use crate::readiness::{assess, ReportOptions, State};

/// Days a burn-up covers at most (the newest).
pub const MAX_DAYS: i64 = 366;

/// One day of the burn-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day (its end is the cutoff).
    pub day: NaiveDate,
    /// Pipelines in scope that were ready as of that day.
    pub ready: u64,
}

/// Pipelines ready per day, and where the pace leads.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BurnUp {
    /// Pipelines in scope (the line the series climbs to).
    pub in_scope: u64,
    /// One point per day, oldest first, the report's day last.
    pub days: Vec<DayCount>,
    /// Net pipelines made ready per day over the window (0 with fewer than two days).
    pub pace_per_day: f64,
    /// The day every pipeline in scope is ready at that pace: the first day of the current
    /// all-ready run when they already are, `None` when the pace is not positive.
    pub all_ready_on: Option<NaiveDate>,
}

/// The first day of the window: the cutover's start, or the oldest partition with a record.
fn first_day(inv: &Inventory, entries: &[(&Pipeline, Vec<Entry>)]) -> Option<NaiveDate> {
    inv.cutover.start.or_else(|| {
        entries
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.partition.date))
            .min()
    })
}

/// The burn-up of the selected pipelines (each with its record names) up to `opts.as_of`.
pub fn burn_up(
    inv: &Inventory,
    entries: &[(&Pipeline, Vec<Entry>)],
    opts: &ReportOptions,
) -> BurnUp {
    let scope: Vec<&(&Pipeline, Vec<Entry>)> = entries.iter().filter(|(p, _)| p.migrate).collect();
    let in_scope = scope.len() as u64;
    let Some(first) = first_day(inv, entries) else {
        return BurnUp {
            in_scope,
            ..BurnUp::default()
        };
    };
    let first = first
        .max(opts.as_of - Duration::days(MAX_DAYS - 1))
        .min(opts.as_of);
    // Only pipelines the checks can make ready are assessed day by day.
    let can_be_ready: Vec<&&(&Pipeline, Vec<Entry>)> = scope
        .iter()
        .filter(|(p, _)| p.owner.is_some() && p.gaps().is_empty())
        .collect();
    let days: Vec<ReportOptions> = first
        .iter_days()
        .take_while(|d| *d <= opts.as_of)
        .map(|day| ReportOptions {
            as_of: day,
            cutoff: if day == opts.as_of {
                opts.cutoff
            } else {
                end_of(day).min(opts.cutoff)
            },
            pipelines: Vec::new(),
        })
        .collect();
    // Each pipeline is assessed once a day: CPU work, split over the cores by pipeline.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = can_be_ready.len().div_ceil(threads).max(1);
    let per_thread: Vec<Vec<u64>> = std::thread::scope(|s| {
        let workers: Vec<_> = can_be_ready
            .chunks(chunk)
            .map(|pipelines| {
                let days = &days;
                s.spawn(move || {
                    days.iter()
                        .map(|day| {
                            pipelines
                                .iter()
                                .filter(|(p, e)| assess(inv, p, e, day).0.state == State::Ready)
                                .count() as u64
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let days: Vec<DayCount> = days
        .iter()
        .enumerate()
        .map(|(i, d)| DayCount {
            day: d.as_of,
            ready: per_thread.iter().filter_map(|t| t.get(i)).sum(),
        })
        .collect();
    let (pace_per_day, all_ready_on) = projection(&days, in_scope);
    BurnUp {
        in_scope,
        days,
        pace_per_day,
        all_ready_on,
    }
}

/// The end of a day (midnight after it), UTC.
fn end_of(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    day.succ_opt()
        .unwrap_or(day)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// The pace over the window and the day it reaches `in_scope`.
pub fn projection(days: &[DayCount], in_scope: u64) -> (f64, Option<NaiveDate>) {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return (0.0, None);
    };
    let span = (last.day - first.day).num_days();
    let pace = if span > 0 {
        (last.ready as f64 - first.ready as f64) / span as f64
    } else {
        0.0
    };
    if in_scope > 0 && last.ready >= in_scope {
        // Already there: since when, without a break.
        let since = days
            .iter()
            .rev()
            .take_while(|d| d.ready >= in_scope)
            .last()
            .map(|d| d.day);
        return (pace, since);
    }
    if pace <= 0.0 || in_scope == 0 {
        return (pace, None);
    }
    let remaining = (in_scope - last.ready) as f64;
    let days_needed = (remaining / pace).ceil() as i64;
    (
        pace,
        last.day.checked_add_signed(Duration::days(days_needed)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(start: &str, ready: &[u64]) -> Vec<DayCount> {
        let start: NaiveDate = start.parse().unwrap();
        ready
            .iter()
            .enumerate()
            .map(|(i, r)| DayCount {
                day: start + Duration::days(i as i64),
                ready: *r,
            })
            .collect()
    }

    #[test]
    fn the_pace_is_the_net_gain_per_day_carried_forward() {
        // 1 ready gained over 10 days: 0.1 a day; 5 more need 50 days.
        let days = series("2026-11-01", &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let (pace, on) = projection(&days, 6);
        assert_eq!(pace, 0.1);
        assert_eq!(on, Some("2026-12-31".parse().unwrap()));
        // A partial day rounds up: 3 left at 2 a day is 2 days, not 1.5.
        let days = series("2026-11-01", &[0, 2, 4]);
        assert_eq!(
            projection(&days, 7),
            (2.0, Some("2026-11-05".parse().unwrap()))
        );
    }

    #[test]
    fn no_gain_projects_nothing_and_all_ready_says_since_when() {
        assert_eq!(
            projection(&series("2026-11-01", &[2, 2, 2]), 5),
            (0.0, None)
        );
        assert_eq!(projection(&series("2026-11-01", &[3, 1]), 5), (-2.0, None));
        assert_eq!(projection(&[], 5), (0.0, None));
        assert_eq!(projection(&series("2026-11-01", &[0]), 5), (0.0, None));
        let (_, on) = projection(&series("2026-11-01", &[1, 3, 2, 3, 3]), 3);
        assert_eq!(on, Some("2026-11-04".parse().unwrap()));
        // Nothing in scope: nothing to reach.
        assert_eq!(projection(&series("2026-11-01", &[0, 0]), 0), (0.0, None));
    }
}
