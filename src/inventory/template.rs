//! Partitions, cadences and location templates.
//!
//! A pipeline's outputs live at a template such as `s3://bucket/orders/dt={date}/`. A
//! [`Partition`] is one day (or one hour) of output; its [`Cadence`] says which partitions
//! should exist. A [`Template`] turns a partition into a location, and back: it matches folder
//! and file names level by level, so discovering the partitions on a side costs one listing
//! per level rather than a listing of every file.

use std::fmt;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

/// How often a pipeline writes a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// One partition per day.
    #[default]
    Daily,
    /// One partition per hour.
    Hourly,
}

impl Cadence {
    /// The length of one partition.
    pub fn step(self) -> Duration {
        match self {
            Cadence::Daily => Duration::days(1),
            Cadence::Hourly => Duration::hours(1),
        }
    }

    /// The cadence's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Hourly => "hourly",
        }
    }
}

impl std::str::FromStr for Cadence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "daily" => Ok(Cadence::Daily),
            "hourly" => Ok(Cadence::Hourly),
            other => Err(format!("unknown cadence `{other}` (daily, hourly)")),
        }
    }
}

/// One partition: a day, or an hour of a day. Written `2026-11-07` or `2026-11-07T14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// The day.
    pub date: NaiveDate,
    /// The hour, for hourly partitions.
    pub hour: Option<u8>,
}

impl Partition {
    /// A daily partition.
    pub fn day(date: NaiveDate) -> Self {
        Partition { date, hour: None }
    }

    /// When the partition's data starts (UTC).
    pub fn start(&self) -> NaiveDateTime {
        let hour = u32::from(self.hour.unwrap_or(0));
        self.date
            .and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())
    }

    /// When the partition's data ends: the start of the next one.
    pub fn end(&self) -> NaiveDateTime {
        self.start()
            .checked_add_signed(self.cadence().step())
            .unwrap_or(NaiveDateTime::MAX)
    }

    /// The cadence this partition belongs to.
    pub fn cadence(&self) -> Cadence {
        if self.hour.is_some() {
            Cadence::Hourly
        } else {
            Cadence::Daily
        }
    }

    /// The partition that starts at `at` under `cadence`.
    pub fn at(at: NaiveDateTime, cadence: Cadence) -> Self {
        Partition {
            date: at.date(),
            hour: match cadence {
                Cadence::Daily => None,
                Cadence::Hourly => Some(at.hour() as u8),
            },
        }
    }

    /// The next partition under the same cadence.
    pub fn next(&self) -> Self {
        Partition::at(self.end(), self.cadence())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hour {
            None => write!(f, "{}", self.date.format("%Y-%m-%d")),
            Some(h) => write!(f, "{}T{h:02}", self.date.format("%Y-%m-%d")),
        }
    }
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a partition (YYYY-MM-DD or YYYY-MM-DDTHH)");
        let (day, hour) = match s.split_once('T') {
            Some((d, h)) => (d, Some(h)),
            None => (s, None),
        };
        // Four-digit years only: `+262142-12-31` parses as a date but is no partition.
        if day.len() != 10 {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
        let hour = match hour {
            None => None,
            Some(h) if h.len() == 2 => match h.parse::<u8>() {
                Ok(v) if v < 24 => Some(v),
                _ => return Err(bad()),
            },
            Some(_) => return Err(bad()),
        };
        Ok(Partition { date, hour })
    }
}

impl Serialize for Partition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Partition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every partition of `cadence` from `first` to `last`, both included.
pub fn partitions_between(first: Partition, last: Partition) -> Vec<Partition> {
    let mut out = Vec::new();
    let mut p = first;
    while p <= last {
        out.push(p);
        p = p.next();
    }
    out
}

/// A variable of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Date,
    Year,
    Month,
    Day,
    Hour,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "date" => Var::Date,
            "year" => Var::Year,
            "month" => Var::Month,
            "day" => Var::Day,
            "hour" => Var::Hour,
            _ => return None,
        })
    }

    fn width(self) -> usize {
        match self {
            Var::Date => 10,
            Var::Year => 4,
            Var::Month | Var::Day | Var::Hour => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// One `/`-separated level of a template, after its fixed base.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment(Vec<Piece>);

/// What a matched name said about the partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Captures {
    date: Option<NaiveDate>,
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u8>,
}

impl Captures {
    /// The partition, when the captures name a valid one of `cadence` and agree with each other.
    pub fn partition(&self, cadence: Cadence) -> Option<Partition> {
        let from_parts = match (self.year, self.month, self.day) {
            (Some(y), Some(m), Some(d)) => Some(NaiveDate::from_ymd_opt(y, m, d)?),
            _ => None,
        };
        let date = match (self.date, from_parts) {
            (Some(a), Some(b)) if a != b => return None,
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        match (cadence, self.hour) {
            (Cadence::Daily, None) => Some(Partition::day(date)),
            (Cadence::Hourly, Some(h)) => Some(Partition {
                date,
                hour: Some(h),
            }),
            _ => None,
        }
    }
}

impl Segment {
    fn parse(text: &str, template: &str) -> Result<Segment, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("template `{template}`: `{{` without `}}`"))?;
            let name = &rest[open + 1..open + close];
            let var = Var::parse(name).ok_or_else(|| {
                format!(
                    "template `{template}`: unknown variable `{{{name}}}` (date, year, month, day, hour)"
                )
            })?;
            pieces.push(Piece::Var(var));
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("template `{template}`: `}}` without `{{`"));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Segment(pieces))
    }

    /// Match a name against this segment, adding what it says to `caps`.
    fn matches(&self, name: &str, caps: &mut Captures) -> bool {
        let mut rest = name;
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => match rest.strip_prefix(t.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                },
                Piece::Var(v) => {
                    let w = v.width();
                    if rest.len() < w || !rest.is_char_boundary(w) {
                        return false;
                    }
                    let (value, r) = rest.split_at(w);
                    if !capture(*v, value, caps) {
                        return false;
                    }
                    rest = r;
                }
            }
        }
        rest.is_empty()
    }

    fn render(&self, p: &Partition) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(Var::Date) => out.push_str(&p.date.format("%Y-%m-%d").to_string()),
                Piece::Var(Var::Year) => out.push_str(&p.date.format("%Y").to_string()),
                Piece::Var(Var::Month) => out.push_str(&p.date.format("%m").to_string()),
                Piece::Var(Var::Day) => out.push_str(&p.date.format("%d").to_string()),
                Piece::Var(Var::Hour) => out.push_str(&format!("{:02}", p.hour.unwrap_or(0))),
            }
        }
        out
    }

    fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(*v),
            Piece::Text(_) => None,
        })
    }
}

fn capture(var: Var, value: &str, caps: &mut Captures) -> bool {
    if !value.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return false;
    }
    // A variable used twice must say the same thing both times.
    fn set<T: PartialEq>(slot: &mut Option<T>, v: T) -> bool {
        match slot {
            Some(old) => *old == v,
            None => {
                *slot = Some(v);
                true
            }
        }
    }
    match var {
        Var::Date => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) if value.len() == 10 => set(&mut caps.date, d),
            _ => false,
        },
        Var::Year => value.parse().is_ok_and(|y| set(&mut caps.year, y)),
        Var::Month => value
            .parse()
            .is_ok_and(|m: u32| (1..=12).contains(&m) && set(&mut caps.month, m)),
        Var::Day => value
            .parse()
            .is_ok_and(|d: u32| (1..=31).contains(&d) && set(&mut caps.day, d)),
        Var::Hour => value
            .parse()
            .is_ok_and(|h: u8| h < 24 && set(&mut caps.hour, h)),
    }
}

/// A location template: a fixed base and the levels below it that name the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template as written in the inventory.
    pub raw: String,
    /// The fixed part, up to and including the last `/` before the first variable.
    pub base: String,
    segments: Vec<Segment>,
    /// Whether the partition is a folder (template ends with `/`) rather than one file.
    pub is_prefix: bool,
}

impl Template {
    /// The template after its fixed base, as written (`dt={date}/`).
    pub fn raw_tail(&self) -> &str {
        let fixed = self
            .raw
            .find('{')
            .map(|i| self.raw[..i].rfind('/').map_or(0, |j| j + 1));
        &self.raw[fixed.unwrap_or(self.raw.len())..]
    }

    /// Parse a template; `resolved` is the template with a relative path already made absolute.
    pub fn parse(raw: &str, resolved: &str, cadence: Cadence) -> Result<Template, String> {
        let first = resolved.find('{').ok_or_else(|| {
            format!("template `{raw}` has no partition variable (such as `dt={{date}}/`)")
        })?;
        let cut = resolved[..first].rfind('/').map(|i| i + 1).unwrap_or(0);
        let base = resolved[..cut].to_string();
        let rest = &resolved[cut..];
        let is_prefix = rest.ends_with('/');
        let segments = rest
            .trim_end_matches('/')
            .split('/')
            .map(|s| {
                if s.is_empty() {
                    Err(format!("template `{raw}`: empty path level"))
                } else {
                    Segment::parse(s, raw)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let vars: Vec<Var> = segments.iter().flat_map(|s| s.vars()).collect();
        let has = |v| vars.contains(&v);
        let names_day = has(Var::Date) || (has(Var::Year) && has(Var::Month) && has(Var::Day));
        if !names_day {
            return Err(format!(
                "template `{raw}` must name the day: `{{date}}`, or `{{year}}`, `{{month}}` and `{{day}}`"
            ));
        }
        match (cadence, has(Var::Hour)) {
            (Cadence::Hourly, false) => {
                return Err(format!(
                    "template `{raw}`: an hourly pipeline's template needs `{{hour}}`"
                ))
            }
            (Cadence::Daily, true) => {
                return Err(format!(
                    "template `{raw}` has `{{hour}}` but the pipeline's cadence is daily"
                ))
            }
            _ => {}
        }
        Ok(Template {
            raw: raw.to_string(),
            base,
            segments,
            is_prefix,
        })
    }

    /// The location of one partition.
    pub fn render(&self, p: &Partition) -> String {
        let mut out = self.base.clone();
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(&s.render(p));
        }
        if self.is_prefix {
            out.push('/');
        }
        out
    }

    /// How many levels below the base name the partition.
    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// Match the name of an entry at `level` below the base (a folder name, or the file name
    /// at the last level of a file template).
    pub fn match_level(&self, level: usize, name: &str, caps: &mut Captures) -> bool {
        self.segments
            .get(level)
            .is_some_and(|s| s.matches(name, caps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn partitions_print_and_parse() {
        let p: Partition = "2026-11-07T14".parse().unwrap();
        assert_eq!(p.hour, Some(14));
        assert_eq!(p.to_string(), "2026-11-07T14");
        assert_eq!(p.next().to_string(), "2026-11-07T15");
        let q: Partition = "2026-11-07T23".parse().unwrap();
        assert_eq!(q.next().to_string(), "2026-11-08T00");
        assert_eq!(
            Partition::day(d("2026-12-31")).next().to_string(),
            "2027-01-01"
        );
        for bad in ["2026-13-01", "2026-11-07T24", "2026-11-07T1", "yesterday"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
        let all = partitions_between(
            Partition::day(d("2026-11-01")),
            Partition::day(d("2026-11-10")),
        );
        assert_eq!(all.len(), 10);
    }

    #[test]
    fn templates_render_and_match() {
        let t = Template::parse(
            "s3://b/orders/dt={date}/",
            "s3://b/orders/dt={date}/",
            Cadence::Daily,
        )
        .unwrap();
        assert_eq!(t.base, "s3://b/orders/");
        let p = Partition::day(d("2026-11-07"));
        assert_eq!(t.render(&p), "s3://b/orders/dt=2026-11-07/");
        let mut caps = Captures::default();
        assert!(t.match_level(0, "dt=2026-11-07", &mut caps));
        assert_eq!(caps.partition(Cadence::Daily), Some(p));
        for bad in [
            "dt=2026-11-7",
            "dt=2026-11-07x",
            "dt=2026-02-30",
            "x=2026-11-07",
        ] {
            assert!(!t.match_level(0, bad, &mut Captures::default()), "{bad}");
        }

        let h = Template::parse(
            "/x/{year}/{month}/{day}/events_{hour}.jsonl.gz",
            "/x/{year}/{month}/{day}/events_{hour}.jsonl.gz",
            Cadence::Hourly,
        )
        .unwrap();
        assert!(!h.is_prefix);
        assert_eq!(h.depth(), 4);
        let p: Partition = "2026-11-07T05".parse().unwrap();
        assert_eq!(h.render(&p), "/x/2026/11/07/events_05.jsonl.gz");
        let mut caps = Captures::default();
        for (i, name) in ["2026", "11", "07", "events_05.jsonl.gz"]
            .iter()
            .enumerate()
        {
            assert!(h.match_level(i, name, &mut caps), "{name}");
        }
        assert_eq!(caps.partition(Cadence::Hourly), Some(p));
    }

    #[test]
    fn bad_templates_are_refused() {
        let e = Template::parse("s3://b/orders/", "s3://b/orders/", Cadence::Daily).unwrap_err();
        assert!(e.contains("no partition variable"), "{e}");
        let e = Template::parse("s3://b/{dt}/", "s3://b/{dt}/", Cadence::Daily).unwrap_err();
        assert!(e.contains("unknown variable `{dt}`"), "{e}");
        let e = Template::parse("s3://b/{year}/", "s3://b/{year}/", Cadence::Daily).unwrap_err();
        assert!(e.contains("must name the day"), "{e}");
        let e = Template::parse("/b/{date}/", "/b/{date}/", Cadence::Hourly).unwrap_err();
        assert!(e.contains("needs `{hour}`"), "{e}");
        let e =
            Template::parse("/b/{date}/{hour}/", "/b/{date}/{hour}/", Cadence::Daily).unwrap_err();
        assert!(e.contains("cadence is daily"), "{e}");
    }
}
