//! Values that look alike: two different values a person would read as the same.
//!
//! A changed cell whose values are `café` in NFC and in NFD, `Anna` and `Anna ` (a trailing
//! space), `a​b` with a zero-width space, a non-breaking space for a space, or a Cyrillic `а`
//! for a Latin `a`, prints the same on both sides of `->`. This module decides when that is
//! so and writes such a pair with the differing characters as code points (`caf\u{e9}` against
//! `cafe\u{301}`), so every output can show *what* differs.
//!
//! Two values look alike when they differ but their folded forms are equal: the UTS #39
//! confusable skeleton (canonical decomposition, default-ignorable characters such as the
//! zero-width space dropped, each character replaced by its confusable prototype), with every
//! run of white space or control characters read as one space and none at either end. Only
//! characters that can hide are escaped: a pair whose differing characters are all visible
//! ASCII (`l` against `1`) is left as it is. Redacted values are hashes; they never look
//! alike, so redaction always wins.

use unicode_security::confusable_detection::skeleton;

/// What a person reads: the confusable skeleton with white space and control characters
/// collapsed to single spaces and trimmed.
fn folded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in skeleton(value) {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Whether `a` and `b` differ but read the same.
pub fn looks_alike(a: &str, b: &str) -> bool {
    a != b && folded(a) == folded(b)
}

/// A character that a terminal or a page may not show plainly: anything but visible ASCII.
fn hides(c: char) -> bool {
    !c.is_ascii_graphic()
}

/// `value` with its characters in `from..to` that could hide written as `\u{…}`, control
/// characters anywhere written so too, and every backslash doubled so the escapes cannot be
/// confused with the text.
fn escaped(chars: &[char], from: usize, to: usize) -> String {
    let mut out = String::with_capacity(chars.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || ((from..to).contains(&i) && hides(c)) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The pair written so a person sees the difference, when the two values look alike and the
/// characters that differ include one that can hide; `None` otherwise (show the values as
/// they are).
pub fn escaped_pair(a: &str, b: &str) -> Option<(String, String)> {
    if !looks_alike(a, b) {
        return None;
    }
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let prefix = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
    let room = x.len().min(y.len()) - prefix;
    let suffix = x
        .iter()
        .rev()
        .zip(y.iter().rev())
        .take(room)
        .take_while(|(p, q)| p == q)
        .count();
    let (x_end, y_end) = (x.len() - suffix, y.len() - suffix);
    let differing = x[prefix..x_end].iter().chain(&y[prefix..y_end]);
    if !differing.clone().any(|&c| hides(c)) {
        return None;
    }
    Some((escaped(&x, prefix, x_end), escaped(&y, prefix, y_end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str) -> Option<(String, String)> {
        escaped_pair(a, b)
    }

    fn some(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_string(), b.to_string()))
    }

    #[test]
    fn composed_and_decomposed_accents() {
        assert_eq!(
            pair("caf\u{e9}-1", "cafe\u{301}-1"),
            some("caf\\u{e9}-1", "cafe\\u{301}-1")
        );
    }

    #[test]
    fn invisible_and_space_like_characters() {
        assert_eq!(pair("Anna ", "Anna"), some("Anna\\u{20}", "Anna"));
        assert_eq!(pair("ab", "a\u{200b}b"), some("ab", "a\\u{200b}b"));
        assert_eq!(
            pair("New York", "New\u{a0}York"),
            some("New\\u{20}York", "New\\u{a0}York")
        );
        assert_eq!(pair("a\tb", "a b"), some("a\\u{9}b", "a\\u{20}b"));
        assert_eq!(pair("x\u{feff}", "x"), some("x\\u{feff}", "x"));
    }

    #[test]
    fn confusable_letters() {
        // Cyrillic а (U+0430) for Latin a.
        assert_eq!(
            pair("Amsterdam", "Amsterd\u{430}m"),
            some("Amsterdam", "Amsterd\\u{430}m")
        );
    }

    #[test]
    fn plain_differences_are_left_alone() {
        assert_eq!(pair("shipped", "SHIPPED"), None);
        assert_eq!(pair("M\u{fc}nchen", "Munich"), None);
        assert_eq!(pair("1.0", "1.00"), None);
        assert_eq!(pair("same", "same"), None);
        // Alike to the skeleton, but the differing characters are visible ASCII.
        assert_eq!(pair("l0", "1O"), None);
        // Hashes of redacted values never look alike.
        assert_eq!(pair("#0cd9377b54", "#a94a6b44aa"), None);
    }

    #[test]
    fn backslashes_cannot_pass_for_escapes() {
        assert_eq!(
            pair("a\\u{20}b ", "a\\u{20}b"),
            some("a\\\\u{20}b\\u{20}", "a\\\\u{20}b")
        );
    }
}
