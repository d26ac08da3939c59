//! Words for people, shared by the text renderers: sizes, partition ranges, lists that stop,
//! and changed values shown so their difference can be seen.
//!
//! Nothing here decides anything; it only shortens what a renderer prints. The JSON forms
//! keep every item.

use crate::config::{Tolerance, Tolerances};
use crate::diff::summary::CellChange;
use crate::inventory::{Cadence, Partition};

use super::{printable, show};

/// A size for people: `1.76 KiB` (indicatif's binary units).
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// `n thing` or `n things`.
pub fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// A float the way a person writes it: `0.01`, `1e-9`.
fn number(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A tolerance as the flags write it: `abs:0.01`, `rel:1e-6`, `abs:0.01,rel:1e-6`.
pub fn tolerance(t: &Tolerance) -> String {
    if t.rel == 0.0 {
        format!("abs:{}", number(t.abs))
    } else if t.abs == 0.0 {
        format!("rel:{}", number(t.rel))
    } else {
        format!("abs:{},rel:{}", number(t.abs), number(t.rel))
    }
}

/// The tolerances in force: `abs:1e-9 on every float column; amount=abs:0.01`; empty when
/// floats compare exactly.
pub fn tolerances(t: &Tolerances) -> String {
    let mut parts = Vec::new();
    if !t.default.is_zero() {
        parts.push(format!("{} on every float column", tolerance(&t.default)));
    }
    for (column, tol) in &t.columns {
        parts.push(format!("{column}={}", tolerance(tol)));
    }
    parts.join("; ")
}

/// Items joined with `, `: the first `max`, then `and N more`.
pub fn capped(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!(
        "{}, and {} more",
        items[..max].join(", "),
        items.len() - max
    )
}

/// The partitions as runs of consecutive ones (one cadence step apart), oldest first:
/// `2026-11-04`, `2026-11-06..2026-11-09 (4 days)`, `2026-11-11T00..T21 (22 hours)`.
pub fn partition_ranges(partitions: &[Partition]) -> Vec<String> {
    let mut sorted = partitions.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut runs: Vec<(Partition, Partition, usize)> = Vec::new();
    for p in sorted {
        match runs.last_mut() {
            Some((_, last, n)) if last.next() == p => {
                *last = p;
                *n += 1;
            }
            _ => runs.push((p, p, 1)),
        }
    }
    runs.into_iter()
        .map(|(first, last, n)| {
            if n == 1 {
                return first.to_string();
            }
            let unit = match first.cadence() {
                Cadence::Daily => "day",
                Cadence::Hourly => "hour",
            };
            // An hourly run within one day names the day once: `2026-11-11T00..T21`.
            let end = match (last.hour, first.date == last.date) {
                (Some(h), true) => format!("T{h:02}"),
                _ => last.to_string(),
            };
            format!("{first}..{end} ({})", count(n, unit))
        })
        .collect()
}

/// The partitions as ranges, at most `max` ranges, then `and N more (M partitions)`.
pub fn partition_list(partitions: &[Partition], max: usize) -> String {
    let ranges = partition_ranges(partitions);
    if ranges.len() <= max {
        return ranges.join(", ");
    }
    let shown = ranges[..max].join(", ");
    // Partitions in the ranges left out.
    let mut sorted = partitions.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut left_out = 0;
    let mut runs = 0;
    let mut prev: Option<Partition> = None;
    for p in sorted {
        if prev.is_none_or(|q| q.next() != p) {
            runs += 1;
        }
        if runs > max {
            left_out += 1;
        }
        prev = Some(p);
    }
    format!(
        "{shown}, and {} more ({})",
        ranges.len() - max,
        count(left_out, "partition")
    )
}

/// A changed cell's two values for one line of text, and whether they were escaped because
/// they look alike. Each value is cut to about `max` characters; when the values differ past
/// the cut, both are shown from a little before their first difference, so the cut never
/// hides it.
pub fn change(c: &CellChange, max: usize) -> (String, String, bool) {
    let (left, right, escaped) = match c.escaped() {
        Some((l, r)) => (Some(l), Some(r), true),
        None => (c.left.clone(), c.right.clone(), false),
    };
    match (left, right) {
        (Some(l), Some(r)) => {
            let (l, r) = around_difference(&printable(&l), &printable(&r), max);
            (l, r, escaped)
        }
        (l, r) => (show(&l, max), show(&r, max), escaped),
    }
}

/// Characters kept before the first difference when a value is cut.
const CONTEXT: usize = 8;

fn around_difference(a: &str, b: &str, max: usize) -> (String, String) {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let max = max.max(CONTEXT * 2);
    if x.len() <= max && y.len() <= max {
        return (a.to_string(), b.to_string());
    }
    let first = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
    let from = if first + CONTEXT < max {
        0
    } else {
        first - CONTEXT
    };
    let window = |v: &[char]| {
        let mut s = String::new();
        if from > 0 {
            s.push('…');
        }
        let room = max - usize::from(from > 0);
        if v.len() - from.min(v.len()) > room {
            s.extend(&v[from..from + room - 1]);
            s.push('…');
        } else {
            s.extend(&v[from.min(v.len())..]);
        }
        s
    };
    (window(&x), window(&y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(d: u32) -> Partition {
        Partition::day(NaiveDate::from_ymd_opt(2026, 11, d).unwrap())
    }

    fn hour(d: u32, h: u8) -> Partition {
        Partition {
            hour: Some(h),
            ..day(d)
        }
    }

    #[test]
    fn consecutive_partitions_become_ranges() {
        let hours: Vec<Partition> = (0..22).map(|h| hour(11, h)).collect();
        assert_eq!(partition_ranges(&hours), ["2026-11-11T00..T21 (22 hours)"]);
        let days = [day(9), day(4), day(6), day(7), day(8), day(6)];
        assert_eq!(
            partition_ranges(&days),
            ["2026-11-04", "2026-11-06..2026-11-09 (4 days)"]
        );
        let across = [hour(11, 23), hour(12, 0), hour(12, 1)];
        assert_eq!(
            partition_ranges(&across),
            ["2026-11-11T23..2026-11-12T01 (3 hours)"]
        );
    }

    #[test]
    fn tolerances_read_like_their_flags() {
        let mut t = Tolerances::default();
        assert_eq!(tolerances(&t), "");
        t.default.abs = 1e-9;
        t.columns.insert(
            "amount".into(),
            Tolerance {
                abs: 0.01,
                rel: 1e-6,
            },
        );
        assert_eq!(
            tolerances(&t),
            "abs:1e-9 on every float column; amount=abs:0.01,rel:1e-6"
        );
    }

    #[test]
    fn long_lists_stop() {
        let odd: Vec<Partition> = (1..=29).step_by(2).map(day).collect();
        assert_eq!(
            partition_list(&odd, 3),
            "2026-11-01, 2026-11-03, 2026-11-05, and 12 more (12 partitions)"
        );
        let items: Vec<String> = (1..=5).map(|i| format!("p{i}")).collect();
        assert_eq!(capped(&items, 5), "p1, p2, p3, p4, p5");
        assert_eq!(capped(&items, 2), "p1, p2, and 3 more");
    }

    #[test]
    fn a_cut_never_hides_the_difference() {
        let c = CellChange {
            left: Some(format!("{}A{}", "x".repeat(50), "y".repeat(20))),
            right: Some(format!("{}B{}", "x".repeat(50), "y".repeat(20))),
        };
        let (l, r, escaped) = change(&c, 20);
        assert!(!escaped);
        assert_eq!(l, format!("…{}A{}…", "x".repeat(8), "y".repeat(9)));
        assert_eq!(r, format!("…{}B{}…", "x".repeat(8), "y".repeat(9)));
        let short = CellChange {
            left: Some("carol".into()),
            right: None,
        };
        assert_eq!(change(&short, 20), ("carol".into(), "null".into(), false));
    }

    #[test]
    fn look_alike_values_are_escaped() {
        let c = CellChange {
            left: Some("caf\u{e9}-1".into()),
            right: Some("cafe\u{301}-1".into()),
        };
        assert_eq!(
            change(&c, 40),
            ("caf\\u{e9}-1".into(), "cafe\\u{301}-1".into(), true)
        );
    }
}
