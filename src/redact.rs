//! Redaction of values shown to people.
//!
//! A redacted value is replaced by a short keyed hash (`#` and ten hex digits of keyed blake3),
//! so equal values still look equal and a person can see *that* two cells differ without
//! seeing *what* they hold. The key comes from `PARITY_REDACTION_KEY` when set (stable across
//! runs, so hashes in the ledger can be correlated) or is random for the process. Nulls stay
//! visible as `null`: they carry no customer data and hiding them would hide the most common
//! kind of difference.

use std::fmt;

/// Environment variable holding a stable redaction key.
pub const KEY_ENV: &str = "PARITY_REDACTION_KEY";

/// Replaces values with short keyed hashes.
#[derive(Clone)]
pub struct Redactor {
    key: [u8; 32],
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(…)")
    }
}

impl Redactor {
    /// A redactor with a key derived from `secret`.
    pub fn with_secret(secret: &[u8]) -> Self {
        Redactor {
            key: blake3::derive_key("parity redaction key v1", secret),
        }
    }

    /// The key from `PARITY_REDACTION_KEY`, or a random one for this process.
    pub fn from_env() -> Self {
        match std::env::var(KEY_ENV) {
            Ok(v) if !v.is_empty() => Self::with_secret(v.as_bytes()),
            _ => {
                let mut seed = [0u8; 32];
                if getrandom::fill(&mut seed).is_err() {
                    // No OS randomness: fall back to time and process id, still never the value.
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or_default();
                    seed[..16].copy_from_slice(&now.to_le_bytes());
                    seed[16..20].copy_from_slice(&std::process::id().to_le_bytes());
                }
                Self::with_secret(&seed)
            }
        }
    }

    /// The redacted form of a rendered value.
    pub fn redact(&self, value: &str) -> String {
        self.redact_bytes(value.as_bytes())
    }

    /// The redacted form of a value's bytes (parity passes its canonical encoding).
    pub fn redact_bytes(&self, value: &[u8]) -> String {
        let hash = blake3::keyed_hash(&self.key, value);
        format!("#{}", &hash.to_hex()[..10])
    }

    /// Hide quoted values in a decoder's error message ('…', "…" and `Row data: […]`), which
    /// arrow's CSV and JSON readers include.
    pub fn scrub_message(message: &str) -> String {
        let mut out = String::with_capacity(message.len());
        let mut chars = message.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' | '"' | '[' => {
                    let close = if c == '[' { ']' } else { c };
                    out.push(c);
                    out.push('…');
                    for d in chars.by_ref() {
                        if d == close {
                            break;
                        }
                    }
                    out.push(close);
                }
                c => out.push(c),
            }
        }
        out
    }
}

/// An error's message, safe to show when values are redacted: a decoder's message quotes the
/// data, so only the file and the kind of failure remain (`why` says how to see more); any
/// other message has its quoted values scrubbed.
pub fn redacted_error(e: &crate::error::Error, why: &str) -> String {
    match e {
        crate::error::Error::Format { file, .. } => {
            format!("{file}: cannot be decoded (details hidden {why})")
        }
        other => Redactor::scrub_message(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_look_equal_and_the_value_never_shows() {
        let r = Redactor::with_secret(b"k");
        assert_eq!(r.redact("alice@example.com"), r.redact("alice@example.com"));
        assert_ne!(r.redact("alice@example.com"), r.redact("bob@example.com"));
        assert!(!r.redact("alice").contains("alice"));
        assert_eq!(r.redact("x").len(), 11);
        let other = Redactor::with_secret(b"other");
        assert_ne!(r.redact("x"), other.redact("x"));
    }

    #[test]
    fn scrubbed_errors_keep_their_shape_but_not_their_values() {
        let m = "Error while parsing value 'alice@example.com' for column 1 at line 3. Row data: '[10001,alice@example.com]'";
        let s = Redactor::scrub_message(m);
        assert!(!s.contains("alice"), "{s}");
        assert!(
            s.starts_with("Error while parsing value '…' for column 1 at line 3"),
            "{s}"
        );
        assert_eq!(
            Redactor::scrub_message("expected null got \"a\""),
            "expected null got \"…\""
        );
    }
}
