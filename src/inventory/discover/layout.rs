//! Reading a partition layout out of one object's path.
//!
//! [`classify`] takes an object's path relative to a storage root and finds the first level
//! that names a day: `dt=2026-11-07`, `2026-11-07`, `date=20261107`, or three levels
//! `2026/11/07` (`year=2026/month=11/day=07`); then, right below it, an hour folder (`hour=14`,
//! `14`) or an hour in the same name (`2026-11-07T14`). Everything above that level is the
//! dataset's prefix; the levels that name the partition become a template tail in the
//! vocabulary of [`crate::inventory::template`] (`dt={date}/hour={hour}/`), so a tail written
//! into a draft inventory parses back into the same layout. The level may be the file name
//! itself (`orders_2026-11-07.csv` gives the file template `orders_{date}.csv`).
//!
//! The rules are deliberately narrow: an hour is only taken from a folder called `hour`, `hr`,
//! `h` or `hh` (or a bare two-digit folder below a day), or from `T` right after a date, never
//! from a number in a file name (`data_05.csv` is a sixth file, not six o'clock). A layout
//! read too coarsely still compares correctly: a day holding hourly files is compared a day
//! at a time.

use chrono::NaiveDate;

use crate::inventory::{Cadence, Partition};
use crate::source::listing::hidden;

/// Where one object belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// Not data (`_SUCCESS`, `.crc`, `_temporary/…`).
    Hidden,
    /// Under a level that names a partition.
    Partitioned {
        /// The dataset's prefix relative to the root, without a trailing `/` (`""` for the
        /// root itself).
        dataset: String,
        /// The template tail below the prefix (`dt={date}/`, `{year}/{month}/{day}/`,
        /// `orders_{date}.csv`).
        tail: String,
        /// Whether the hour is a folder of its own below the day (so the layout can be read
        /// a day at a time by dropping it).
        hour_folder: bool,
        /// The partition this object belongs to.
        partition: Partition,
    },
    /// No level names a day: the folder holding the object.
    Unpartitioned {
        /// The folder, relative to the root, without a trailing `/`.
        folder: String,
    },
}

/// The two-digit hour keys accepted for an hour folder (compared case-insensitively).
const HOUR_KEYS: [&str; 4] = ["hour", "hr", "h", "hh"];

/// Place one object by its path relative to the root.
pub fn classify(relative: &str) -> Placed {
    let segs: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() || segs.iter().any(|s| hidden(s)) {
        return Placed::Hidden;
    }
    let last = segs.len() - 1;
    for i in 0..segs.len() {
        if let Some(day) = day_at(&segs, i, last) {
            let mut tail = day.pieces;
            let mut hour = day.hour;
            let mut end = day.end;
            let mut hour_folder = false;
            // An hour folder is a folder: the file itself is never read as an hour.
            if hour.is_none() && end + 1 < last {
                if let Some((piece, h)) = hour_folder_name(segs[end + 1]) {
                    tail.push(piece);
                    hour = Some(h);
                    end += 1;
                    hour_folder = true;
                }
            }
            let mut text = tail.join("/");
            if end < last {
                text.push('/');
            }
            if literal_braces(&tail) {
                break;
            }
            return Placed::Partitioned {
                dataset: segs[..i].join("/"),
                tail: text,
                hour_folder,
                partition: Partition {
                    date: day.date,
                    hour,
                },
            };
        }
    }
    Placed::Unpartitioned {
        folder: segs[..last].join("/"),
    }
}

/// The cadence a tail names.
pub fn cadence_of(tail: &str) -> Cadence {
    if tail.contains("{hour}") {
        Cadence::Hourly
    } else {
        Cadence::Daily
    }
}

/// A tail read a day at a time: its hour folder dropped (only for `hour_folder` layouts).
pub fn daily_tail(tail: &str) -> String {
    let trimmed = tail.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((day, _hour)) => format!("{day}/"),
        None => String::new(),
    }
}

/// A name's literal text holding a brace would not parse back as a template.
fn literal_braces(pieces: &[String]) -> bool {
    pieces.iter().any(|p| {
        let literal = p
            .replace("{date}", "")
            .replace("{year}", "")
            .replace("{month}", "")
            .replace("{day}", "")
            .replace("{hour}", "");
        literal.contains('{') || literal.contains('}')
    })
}

/// A day found at level `i`: the template pieces of the levels it spans, the day, an hour in
/// the same name, and the last level it spans.
struct Day {
    pieces: Vec<String>,
    date: NaiveDate,
    hour: Option<u8>,
    end: usize,
}

fn day_at(segs: &[&str], i: usize, last: usize) -> Option<Day> {
    if let Some((piece, date, hour)) = dashed_date(segs[i]) {
        return Some(Day {
            pieces: vec![piece],
            date,
            hour,
            end: i,
        });
    }
    if i < last {
        if let Some((key, digits)) = keyed_digits(segs[i], 8) {
            let date = ymd(&digits[..4], &digits[4..6], &digits[6..])?;
            return Some(Day {
                pieces: vec![format!("{key}{{year}}{{month}}{{day}}")],
                date,
                hour: None,
                end: i,
            });
        }
    }
    // Three folders: year, month, day (the day level is a folder, not the file).
    if i + 2 < last {
        let (ky, y) = keyed_digits(segs[i], 4)?;
        let (km, m) = keyed_digits(segs[i + 1], 2)?;
        let (kd, d) = keyed_digits(segs[i + 2], 2)?;
        let date = ymd(y, m, d)?;
        return Some(Day {
            pieces: vec![
                format!("{ky}{{year}}"),
                format!("{km}{{month}}"),
                format!("{kd}{{day}}"),
            ],
            date,
            hour: None,
            end: i + 2,
        });
    }
    None
}

/// A date of a plausible year (1900–2999) from its parts.
fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let year: i32 = y.parse().ok()?;
    if !(1900..=2999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// `digits` alone, or after `key=`: the key with its `=` (or `""`) and the digits.
fn keyed_digits(name: &str, width: usize) -> Option<(String, &str)> {
    let (key, value) = match name.rsplit_once('=') {
        Some((k, v)) if !k.is_empty() => (format!("{k}="), v),
        Some(_) => return None,
        None => (String::new(), name),
    };
    (value.len() == width && value.bytes().all(|b| b.is_ascii_digit())).then_some((key, value))
}

/// The first `YYYY-MM-DD` in a name that is a real date and not part of a longer number, as a
/// template piece; with `THH` right after it, the hour too.
fn dashed_date(name: &str) -> Option<(String, NaiveDate, Option<u8>)> {
    let b = name.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for start in 0..b.len().saturating_sub(9) {
        let shape = (0..10).all(|k| match k {
            4 | 7 => b[start + k] == b'-',
            _ => digit(start + k),
        });
        if !shape || (start > 0 && digit(start - 1)) || digit(start + 10) {
            continue;
        }
        let text = &name[start..start + 10];
        let Some(date) = ymd(&text[..4], &text[5..7], &text[8..10]) else {
            continue;
        };
        let rest = &name[start + 10..];
        let hour = rest
            .strip_prefix('T')
            .filter(|r| r.len() >= 2 && r.as_bytes()[..2].iter().all(u8::is_ascii_digit))
            .filter(|r| !r.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
            .and_then(|r| r[..2].parse::<u8>().ok())
            .filter(|h| *h < 24);
        let piece = match hour {
            Some(_) => format!("{}{{date}}T{{hour}}{}", &name[..start], &rest[3..]),
            None => format!("{}{{date}}{rest}", &name[..start]),
        };
        return Some((piece, date, hour));
    }
    None
}

/// An hour folder: `14`, or `hour=14` (`hr`, `h`, `hh`, any case), 00–23.
fn hour_folder_name(name: &str) -> Option<(String, u8)> {
    let (key, digits) = keyed_digits(name, 2)?;
    let key_ok = key.is_empty()
        || HOUR_KEYS
            .iter()
            .any(|k| key.trim_end_matches('=').eq_ignore_ascii_case(k));
    let hour: u8 = digits.parse().ok()?;
    (key_ok && hour < 24).then(|| (format!("{key}{{hour}}"), hour))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Template;

    fn placed(rel: &str) -> (String, String, String) {
        match classify(rel) {
            Placed::Partitioned {
                dataset,
                tail,
                partition,
                ..
            } => (dataset, tail, partition.to_string()),
            other => panic!("{rel}: {other:?}"),
        }
    }

    #[test]
    fn layouts_are_read_into_template_tails() {
        for (rel, dataset, tail, partition) in [
            (
                "orders/dt=2026-11-07/part-0.parquet",
                "orders",
                "dt={date}/",
                "2026-11-07",
            ),
            (
                "web/clicks/dt=2026-11-07/hour=05/part-0.jsonl.gz",
                "web/clicks",
                "dt={date}/hour={hour}/",
                "2026-11-07T05",
            ),
            (
                "sessions/2026/11/07/14/part.csv",
                "sessions",
                "{year}/{month}/{day}/{hour}/",
                "2026-11-07T14",
            ),
            (
                "fx/year=2026/month=11/day=07/a.csv",
                "fx",
                "year={year}/month={month}/day={day}/",
                "2026-11-07",
            ),
            (
                "ledger/date=20261107/a.parquet",
                "ledger",
                "date={year}{month}{day}/",
                "2026-11-07",
            ),
            (
                "exports/orders_2026-11-07.csv",
                "exports",
                "orders_{date}.csv",
                "2026-11-07",
            ),
            (
                "events/2026-11-07T09/x.jsonl",
                "events",
                "{date}T{hour}/",
                "2026-11-07T09",
            ),
            ("dt=2026-11-07/a.parquet", "", "dt={date}/", "2026-11-07"),
            (
                "logs/dt=2026-11-07/bucket=03/a.parquet",
                "logs",
                "dt={date}/",
                "2026-11-07",
            ),
        ] {
            assert_eq!(
                placed(rel),
                (dataset.into(), tail.into(), partition.into()),
                "{rel}"
            );
            // Every tail parses back as a template of its cadence and renders the partition.
            let cadence = cadence_of(tail);
            let raw = super::super::join_location("/root", dataset, tail);
            let t = Template::parse(&raw, &raw, cadence).unwrap();
            let p: Partition = partition.parse().unwrap();
            assert!(
                format!("/root/{rel}").starts_with(&t.render(&p)),
                "{rel}: {}",
                t.render(&p)
            );
        }
    }

    #[test]
    fn numbers_that_are_not_days_or_hours_are_left_alone() {
        assert_eq!(classify("dim/country/part-0.parquet"), {
            Placed::Unpartitioned {
                folder: "dim/country".into(),
            }
        });
        // A number in a file name is not an hour; a bad date is no day.
        assert_eq!(
            placed("d/2026/11/07/data_05.csv"),
            (
                "d".into(),
                "{year}/{month}/{day}/".into(),
                "2026-11-07".into()
            )
        );
        assert_eq!(
            classify("x/dt=2026-02-30/a.csv"),
            Placed::Unpartitioned {
                folder: "x/dt=2026-02-30".into()
            }
        );
        assert_eq!(
            classify("x/run-12026-11-07/a.csv"),
            Placed::Unpartitioned {
                folder: "x/run-12026-11-07".into()
            }
        );
        // An hour folder needs an hour key; 24 is no hour.
        assert_eq!(placed("a/dt=2026-11-07/bucket=05/f.csv").1, "dt={date}/");
        assert_eq!(placed("a/dt=2026-11-07/24/f.csv").1, "dt={date}/");
        assert_eq!(classify("a/_SUCCESS"), Placed::Hidden);
        assert_eq!(classify("a/dt=2026-11-07/_temporary/0/x"), Placed::Hidden);
        // A brace in a name would not parse back as a template.
        assert!(matches!(
            classify("a/{x}dt=2026-11-07/f.csv"),
            Placed::Unpartitioned { .. }
        ));
    }

    #[test]
    fn an_hour_folder_can_be_dropped_for_a_daily_reading() {
        assert_eq!(daily_tail("dt={date}/hour={hour}/"), "dt={date}/");
        assert_eq!(
            daily_tail("{year}/{month}/{day}/{hour}/"),
            "{year}/{month}/{day}/"
        );
    }
}
