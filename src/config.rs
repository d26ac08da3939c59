//! The validated configuration of a comparison.
//!
//! The CLI (or a later `parity.toml`) produces a [`DiffConfig`]; the engine only ever sees this
//! type. Parsing helpers for the textual forms (`1GiB`, `amount=abs:1e-9`, `old=new`) live here so
//! every front end reads them the same way and rejects the same mistakes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_buffer::i256;
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::source::FileFormat;

/// Default memory budget: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// A numeric tolerance: two values are equal when `|a - b| <= abs` or
/// `|a - b| <= rel * max(|a|, |b|)`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Tolerance {
    /// Absolute tolerance.
    pub abs: f64,
    /// Relative tolerance.
    pub rel: f64,
}

impl Tolerance {
    /// Whether any tolerance is set.
    pub fn is_zero(&self) -> bool {
        self.abs == 0.0 && self.rel == 0.0
    }

    /// Whether `a` and `b` are equal within this tolerance. NaN equals NaN; infinities equal
    /// only themselves.
    pub fn accepts(&self, a: f64, b: f64) -> bool {
        if a == b || (a.is_nan() && b.is_nan()) {
            return true;
        }
        if !a.is_finite() || !b.is_finite() {
            return false;
        }
        let diff = (a - b).abs();
        let (abs, rel) = (self.abs, self.rel * a.abs().max(b.abs()));
        if diff <= abs || diff <= rel {
            return true;
        }
        // Floating point can put a difference that is exactly the tolerance, as the values are
        // written, just above it (1.1 - 1.0 is 0.10000000000000009): near the bound, the
        // values' shortest decimal forms decide, exactly.
        let near = |bound: f64| diff <= bound * (1.0 + 1e-9);
        (near(abs) || near(rel))
            && match (float_decimal(a), float_decimal(b)) {
                (Some(x), Some(y)) => self.accepts_big(x, y),
                _ => false,
            }
    }

    /// Whether two decimals `(unscaled, scale)` are equal within this tolerance, computed
    /// exactly (so `1.10` against `1.00` with `abs:0.1` is equal), in 256 bits and, where a
    /// step would overflow them (a tiny tolerance on a large value), in arbitrary precision.
    pub fn accepts_decimal(&self, a: (i256, i32), b: (i256, i32)) -> bool {
        self.accepts_decimal_256(a, b)
            .unwrap_or_else(|| self.accepts_decimal_big(a, b))
    }

    /// [`Tolerance::accepts_decimal`] in 256 bits; `None` when a step would overflow.
    fn accepts_decimal_256(&self, a: (i256, i32), b: (i256, i32)) -> Option<bool> {
        let scale = a.1.max(b.1);
        let (x, y) = (rescale(a.0, scale - a.1)?, rescale(b.0, scale - b.1)?);
        let diff = x.checked_sub(y)?.checked_abs()?;
        if diff == i256::ZERO {
            return Some(true);
        }
        let (tol, tol_scale) = exact_256(self.abs)?;
        let common = scale.max(tol_scale);
        if rescale(diff, common - scale)? <= rescale(tol, common - tol_scale)? {
            return Some(true);
        }
        let (rel, rel_scale) = exact_256(self.rel)?;
        let largest = x.checked_abs()?.max(y.checked_abs()?);
        // diff <= rel * largest, both sides at scale `scale + rel_scale`.
        Some(rescale(diff, rel_scale)? <= rel.checked_mul(largest)?)
    }

    /// [`Tolerance::accepts_decimal`] in arbitrary precision: never overflows.
    fn accepts_decimal_big(&self, a: (i256, i32), b: (i256, i32)) -> bool {
        let big = |v: i256| BigInt::from_signed_bytes_le(&v.to_le_bytes());
        self.accepts_big((big(a.0), a.1), (big(b.0), b.1))
    }

    /// Whether two decimals `(unscaled, scale)` of any size are equal within this tolerance.
    fn accepts_big(&self, a: (BigInt, i32), b: (BigInt, i32)) -> bool {
        let scale = a.1.max(b.1);
        let (x, y) = (at_scale(&a, scale), at_scale(&b, scale));
        let diff = (&x - &y).abs();
        if diff.is_zero() {
            return true;
        }
        // A tolerance is parsed finite, so it always has a decimal form; were one not to, zero
        // is the safe reading (nothing more is accepted).
        let exact = |v: f64| float_decimal(v).unwrap_or_default();
        if at_most(&(diff.clone(), scale), &exact(self.abs)) {
            return true;
        }
        let (rel, rel_scale) = exact(self.rel);
        let largest = x.abs().max(y.abs());
        at_most(&(diff, scale), &(rel * largest, rel_scale + scale))
    }

    /// Parse `abs:1e-9`, `rel:1e-6` or `abs:1e-9,rel:1e-6`.
    pub fn parse(text: &str) -> Result<Tolerance> {
        let mut tol = Tolerance::default();
        for part in text.split(',') {
            let (kind, value) = part.split_once(':').ok_or_else(|| {
                Error::Invalid(format!("tolerance `{text}`: expected abs:X or rel:X"))
            })?;
            let value = parse_non_negative(value, text)?;
            match kind.trim() {
                "abs" => tol.abs = value,
                "rel" => tol.rel = value,
                other => {
                    return Err(Error::Invalid(format!(
                        "tolerance `{text}`: unknown kind `{other}` (expected abs or rel)"
                    )))
                }
            }
        }
        Ok(tol)
    }
}

/// `v * 10^by` (for `by >= 0`), checked.
fn rescale(v: i256, by: i32) -> Option<i256> {
    if by < 0 {
        return None;
    }
    v.checked_mul(i256::from_i128(10).checked_pow(by as u32)?)
}

/// A non-negative float as the exact decimal its shortest printed form denotes, as digits
/// and scale: `0.1` is `("1", 1)`, which is what a person typing `--tol x=abs:0.1` means.
/// (Rust prints floats without an exponent, so the digits are all there.)
fn exact_digits(v: f64) -> (String, i32) {
    let text = format!("{v}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    (format!("{int}{frac}"), frac.len() as i32)
}

/// [`exact_digits`] in 256 bits, `None` when it does not fit.
fn exact_256(v: f64) -> Option<(i256, i32)> {
    let (digits, scale) = exact_digits(v);
    Some((i256::from_string(&digits)?, scale))
}

/// A decimal `(unscaled, scale)` written at scale `to`, at least its own.
fn at_scale(v: &(BigInt, i32), to: i32) -> BigInt {
    &v.0 * BigInt::from(10u8).pow(to.abs_diff(v.1))
}

/// Whether decimal `a` is at most decimal `b`, compared at the larger of their scales (either
/// may be negative).
fn at_most(a: &(BigInt, i32), b: &(BigInt, i32)) -> bool {
    let scale = a.1.max(b.1);
    at_scale(a, scale) <= at_scale(b, scale)
}

/// A finite float as the exact decimal its shortest printed form denotes: `1.1` is `(11, 1)`,
/// `2.5e300` is `(25, -299)`.
fn float_decimal(v: f64) -> Option<(BigInt, i32)> {
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let exponent: i32 = exponent.parse().ok()?;
    let digits: BigInt = format!("{int}{frac}").parse().ok()?;
    Some((digits, frac.len() as i32 - exponent))
}

/// Parse a non-negative finite number.
pub fn parse_non_negative(value: &str, context: &str) -> Result<f64> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(Error::Invalid(format!(
            "tolerance `{context}`: `{value}` is not a non-negative number"
        ))),
    }
}

/// Tolerances: a default for every float column and overrides per column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tolerances {
    /// Applies to every float column without an override.
    pub default: Tolerance,
    /// Per column (by the right-side name), for float or decimal columns.
    pub columns: BTreeMap<String, Tolerance>,
}

impl Tolerances {
    /// Parse `COL=abs:X[,rel:Y]`.
    pub fn parse_column(text: &str) -> Result<(String, Tolerance)> {
        let (col, tol) = text.split_once('=').ok_or_else(|| {
            Error::Invalid(format!(
                "--tol `{text}`: expected COLUMN=abs:X or COLUMN=rel:X"
            ))
        })?;
        if col.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "--tol `{text}`: missing column name"
            )));
        }
        Ok((col.trim().to_string(), Tolerance::parse(tol)?))
    }
}

/// Parse a rename `LEFT=RIGHT`.
pub fn parse_rename(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((l, r)) if !l.trim().is_empty() && !r.trim().is_empty() => {
            Ok((l.trim().to_string(), r.trim().to_string()))
        }
        _ => Err(Error::Invalid(format!(
            "--rename `{text}`: expected LEFT_NAME=RIGHT_NAME"
        ))),
    }
}

/// Parse a memory budget: `1073741824`, `512MiB`, `1GiB`, `2G`, `100MB`, `64k`, `1.5GiB`
/// (parse-size, every unit binary: `1GB` is 2^30 bytes). At least 16MiB; a size past 16EiB
/// is refused, never wrapped.
pub fn parse_size(text: &str) -> Result<u64> {
    let bytes = parse_size::Config::new()
        .with_binary()
        .parse_size(text.trim())
        .map_err(|e| {
            let why = match e {
                parse_size::Error::PosOverflow => "too large (at most 16EiB)".to_string(),
                _ => "expected a number with an optional unit such as 512MiB or 2GiB".to_string(),
            };
            Error::Invalid(format!("size `{text}`: {why}"))
        })?;
    if bytes < (16 << 20) {
        return Err(Error::Invalid(format!(
            "size `{text}`: the memory limit must be at least 16MiB"
        )));
    }
    Ok(bytes)
}

/// How tier 3 gets its rows. `Auto` picks by the inputs' size; the others exist so tests and
/// benchmarks can force each path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowStrategy {
    /// Keep rows in memory when both sides fit, else the differing-rows subset, else spill.
    #[default]
    Auto,
    /// Keep every row from the first pass (spilling past the budget).
    Memory,
    /// Keep a row-hash index in the first pass and re-read only the differing rows.
    Subset,
    /// Keep nothing in the first pass; re-read every row, spilling past the budget.
    Spill,
}

impl std::str::FromStr for RowStrategy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "auto" => Ok(RowStrategy::Auto),
            "memory" => Ok(RowStrategy::Memory),
            "subset" => Ok(RowStrategy::Subset),
            "spill" => Ok(RowStrategy::Spill),
            other => Err(format!(
                "unknown row strategy `{other}` (auto, memory, subset, spill)"
            )),
        }
    }
}

/// Everything the engine needs to compare two sides.
#[derive(Debug, Clone)]
pub struct DiffConfig {
    /// Key columns (right-side names); empty for a multiset diff of whole rows.
    pub key: Vec<String>,
    /// Columns dropped from both sides before anything (left or right names).
    pub ignore: Vec<String>,
    /// Left column `0` is the right column `1`.
    pub rename: Vec<(String, String)>,
    /// Float tolerances.
    pub tolerance: Tolerances,
    /// Any type change is a divergence, even a lossless one.
    pub strict_types: bool,
    /// Memory budget in bytes.
    pub memory_limit: u64,
    /// Sample rows to keep per kind of difference.
    pub samples: usize,
    /// Input format, overriding file extensions.
    pub input_format: Option<FileFormat>,
    /// Redacts every value shown, when set.
    pub redactor: Option<Redactor>,
    /// Where to write every differing row as Parquet.
    pub diff_out: Option<String>,
    /// Files read at once per side.
    pub concurrency: usize,
    /// Where spill files go (a fresh temporary folder inside it).
    pub spill_dir: Option<PathBuf>,
    /// How tier 3 gets its rows.
    pub row_strategy: RowStrategy,
}

impl Default for DiffConfig {
    fn default() -> Self {
        DiffConfig {
            key: Vec::new(),
            ignore: Vec::new(),
            rename: Vec::new(),
            tolerance: Tolerances::default(),
            strict_types: false,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            samples: 5,
            input_format: None,
            redactor: None,
            diff_out: None,
            concurrency: 4,
            spill_dir: None,
            row_strategy: RowStrategy::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_edges() {
        let t = Tolerance { abs: 0.5, rel: 0.0 };
        assert!(
            t.accepts(0.5, 1.0),
            "a difference equal to the tolerance is equal"
        );
        assert!(!t.accepts(0.5, 1.0000001));
        assert!(t.accepts(f64::NAN, f64::NAN));
        assert!(!t.accepts(f64::NAN, 1.0));
        assert!(!t.accepts(f64::INFINITY, 1e308));
        assert!(t.accepts(f64::INFINITY, f64::INFINITY));
        let r = Tolerance {
            abs: 0.0,
            rel: 0.01,
        };
        assert!(r.accepts(100.0, 101.0));
        assert!(!r.accepts(100.0, 102.0));
        // 1.1 - 1.0 is 0.1 as written, 0.10000000000000009 in binary: equal to the tolerance.
        let tenth = Tolerance { abs: 0.1, rel: 0.0 };
        assert!(tenth.accepts(1.1, 1.0));
        assert!(tenth.accepts(-1.0, -1.1));
        assert!(tenth.accepts(100.1, 100.2));
        assert!(!tenth.accepts(1.1000000000000003, 1.0));
        assert!(!Tolerance {
            abs: 0.09999999999,
            rel: 0.0
        }
        .accepts(1.1, 1.0));
        // 1.0 - 0.7 is 0.30000000000000004 in binary, 0.3 × 1.0 as written.
        let r = Tolerance { abs: 0.0, rel: 0.3 };
        assert!(r.accepts(1.0, 0.7));
        assert!(!r.accepts(1.0, 0.6999999999));
    }

    #[test]
    fn decimal_tolerance_is_exact() {
        let t = Tolerance { abs: 0.1, rel: 0.0 };
        let d = |v: i128, s: i32| (i256::from_i128(v), s);
        assert!(
            t.accepts_decimal(d(110, 2), d(100, 2)),
            "a difference equal to the tolerance"
        );
        assert!(!t.accepts_decimal(d(111, 2), d(100, 2)));
        assert!(t.accepts_decimal(d(11, 1), d(1000, 3)), "across scales");
        let r = Tolerance {
            abs: 0.0,
            rel: 0.01,
        };
        assert!(r.accepts_decimal(d(10100, 2), d(10000, 2)));
        // 1.03 > 0.01 × 101.03
        assert!(!r.accepts_decimal(d(10103, 2), d(10000, 2)));
        let tiny = Tolerance {
            abs: 1e-9,
            rel: 0.0,
        };
        assert!(tiny.accepts_decimal(d(1, 9), d(0, 0)));
        assert!(!tiny.accepts_decimal(d(2, 9), d(0, 0)));
        // Where 256 bits overflow, the answer stays exact: 10^37 and 10^37 + 1 differ by 1,
        // far beyond a tolerance of 1e-80 (in floating point they are the same number).
        let big = |v: &str| (i256::from_string(v).unwrap(), 0);
        let (a, b) = (
            big("10000000000000000000000000000000000000"),
            big("10000000000000000000000000000000000001"),
        );
        for t in [
            Tolerance {
                abs: 1e-80,
                rel: 0.0,
            },
            Tolerance {
                abs: 0.0,
                rel: 1e-80,
            },
        ] {
            assert_eq!(
                t.accepts_decimal_256(a, b),
                None,
                "{t:?} overflows 256 bits"
            );
            assert!(!t.accepts_decimal(a, b), "{t:?}");
        }
        let both = Tolerance {
            abs: 1e-76,
            rel: 1e-76,
        };
        assert!(!both.accepts_decimal(a, b));
        assert!(Tolerance { abs: 1.0, rel: 0.0 }.accepts_decimal(a, b));
        assert!(Tolerance {
            abs: 1e300,
            rel: 0.0
        }
        .accepts_decimal(a, b));
        assert!(Tolerance {
            abs: 0.0,
            rel: 1e-37
        }
        .accepts_decimal(a, b));
        assert!(!Tolerance {
            abs: 0.0,
            rel: 1e-38
        }
        .accepts_decimal(a, b));
        // Negative scales (1e300 is (1, -300)) on either side of the comparison.
        let (e300, e300x2) = ((BigInt::from(1), -300), (BigInt::from(2), -300));
        let huge_rel = Tolerance {
            abs: 0.0,
            rel: 1e20,
        };
        assert!(huge_rel.accepts_big(e300.clone(), e300x2.clone()));
        let huge_abs = Tolerance {
            abs: 1e300,
            rel: 0.0,
        };
        assert!(huge_abs.accepts_big(e300.clone(), e300x2.clone()));
        let smaller = Tolerance {
            abs: 9e299,
            rel: 0.0,
        };
        assert!(!smaller.accepts_big(e300, e300x2));
        // Both ways agree wherever 256 bits suffice.
        for t in [t, r, tiny] {
            for (x, y) in [
                (d(110, 2), d(100, 2)),
                (d(111, 2), d(100, 2)),
                (d(11, 1), d(1000, 3)),
                (d(10103, 2), d(10000, 2)),
                (d(1, 9), d(0, 0)),
                (d(-5, 1), d(5, 1)),
            ] {
                assert_eq!(
                    t.accepts_decimal_256(x, y),
                    Some(t.accepts_decimal_big(x, y)),
                    "{t:?} {x:?} {y:?}"
                );
            }
        }
    }

    #[test]
    fn parsing() {
        assert_eq!(
            Tolerance::parse("abs:1e-9").unwrap(),
            Tolerance {
                abs: 1e-9,
                rel: 0.0
            }
        );
        assert_eq!(
            Tolerance::parse("abs:1,rel:0.5").unwrap(),
            Tolerance { abs: 1.0, rel: 0.5 }
        );
        assert!(Tolerance::parse("abs:-1").is_err());
        assert!(Tolerance::parse("abs:NaN").is_err());
        assert!(Tolerance::parse("x:1").is_err());
        assert_eq!(
            Tolerances::parse_column("amount=abs:0.01").unwrap().0,
            "amount"
        );
        assert!(Tolerances::parse_column("abs:0.01").is_err());
        assert_eq!(parse_rename("a=b").unwrap(), ("a".into(), "b".into()));
        assert!(parse_rename("a=").is_err());
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("67108864").unwrap(), 64 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("999999TB").unwrap(), 999_999 << 40);
        assert!(parse_size("1").is_err());
        let e = parse_size("12 parsecs").unwrap_err().to_string();
        assert!(e.contains("expected a number"), "{e}");
        let e = parse_size("16EiB").unwrap_err().to_string();
        assert_eq!(e, "size `16EiB`: too large (at most 16EiB)");
        assert!(parse_size("-1GiB").is_err());
    }
}
