//! The crate's one public error type.
//!
//! Every error that stops a check carries *what* went wrong and *where*: the URL or file of
//! the input, the column, or the argument. The CLI prints it on one line and exits with 2.
//! No error is ever turned into a verdict: a side that could not be read completely never
//! yields parity.

use std::fmt;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a check could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument or option is invalid (bad URL, bad tolerance, unknown column…).
    #[error("{0}")]
    Invalid(String),

    /// The object store refused or failed an operation on a location.
    #[error("{url}: {op} failed: {message}")]
    Store {
        /// The URL of the object or prefix.
        url: String,
        /// The operation: list, get, head, put.
        op: &'static str,
        /// The store's message, with no credentials in it.
        message: String,
    },

    /// A side has no data files.
    #[error("{url}: no data files found (empty prefix or missing path)")]
    Empty {
        /// The side's URL.
        url: String,
    },

    /// A file could not be decoded in its format.
    #[error("{file}: {message}")]
    Format {
        /// URL of the file.
        file: String,
        /// What is wrong with it.
        message: String,
    },

    /// A text file holds a value its column's inferred type cannot hold exactly (or a column
    /// the inference did not see). The engine takes the types from every row and reads again;
    /// only a misfit after that reaches the user, as a [`Error::Format`].
    #[error("{file}: {message}")]
    Misfit {
        /// URL of the file.
        file: String,
        /// What does not fit.
        message: String,
    },

    /// The two sides cannot be compared (key column missing, key types incompatible…).
    #[error("{0}")]
    Schema(String),

    /// Local disk I/O (spill files, output files) failed.
    #[error("{path}: {cause}")]
    Io {
        /// The local path.
        path: String,
        /// The underlying error (printed in the message, so not chained again).
        cause: std::io::Error,
    },

    /// A bug: an invariant of the engine did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Format`] for `file`.
    pub fn format(file: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Format {
            file: file.to_string(),
            message: one_line(&message.to_string()),
        }
    }

    /// An [`Error::Misfit`] for `file`.
    pub fn misfit(file: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Misfit {
            file: file.to_string(),
            message: one_line(&message.to_string()),
        }
    }

    /// An [`Error::Store`] from an `object_store` error. A store that found no credentials
    /// says so, and where it looked, instead of its metadata endpoint's HTTP error.
    pub fn store(url: impl fmt::Display, op: &'static str, err: &object_store::Error) -> Self {
        let url = url.to_string();
        if let Some(message) = crate::source::store::credential_failure(&url, err) {
            return Error::Store { url, op, message };
        }
        let message = match err {
            object_store::Error::NotFound { .. } => "not found".to_string(),
            object_store::Error::PermissionDenied { .. } => "permission denied".to_string(),
            object_store::Error::Unauthenticated { .. } => "not authenticated".to_string(),
            other => one_line(&other.to_string()),
        };
        Error::Store { url, op, message }
    }

    /// An [`Error::Io`] for a local path.
    pub fn io(path: impl fmt::Display, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            cause,
        }
    }

    /// Writing or reading a spill file (rows or the row index) failed: as [`Error::io`], and a
    /// full disk, a file past the size limit or too many open files says what to do. Arrow's
    /// IPC writer wraps the I/O error, which is unwrapped so the message reads as the system's.
    pub fn spill(path: impl fmt::Display, cause: impl Into<SpillCause>) -> Self {
        let SpillCause(cause) = cause.into();
        let hint = match cause.kind() {
            std::io::ErrorKind::StorageFull => {
                "free space on that disk or point --spill-dir at a larger folder"
            }
            std::io::ErrorKind::FileTooLarge => {
                "the file reached the process's file-size limit (ulimit -f) or the largest file \
                 its filesystem allows; raise the limit or point --spill-dir elsewhere"
            }
            _ if cause.raw_os_error() == Some(libc::EMFILE) => {
                "a spill keeps a file open for each partition of each side; raise the \
                 process's open-file limit (ulimit -n)"
            }
            _ => return Error::io(path, cause),
        };
        Error::io(
            path,
            std::io::Error::new(cause.kind(), format!("{cause}; {hint}")),
        )
    }
}

/// The I/O error under a spill file's failure, from the system or through Arrow's IPC writer.
pub struct SpillCause(std::io::Error);

impl From<std::io::Error> for SpillCause {
    fn from(e: std::io::Error) -> Self {
        SpillCause(e)
    }
}

impl From<arrow::error::ArrowError> for SpillCause {
    fn from(e: arrow::error::ArrowError) -> Self {
        SpillCause(match e {
            arrow::error::ArrowError::IoError(_, e) => e,
            e => std::io::Error::other(e),
        })
    }
}

/// The longest message kept whole: a decoder's message can quote a whole record (a JSON array
/// of a megabyte), which makes one unreadable line.
const MAX_MESSAGE: usize = 500;

/// Collapse a multi-line message into one line, so every error prints on one line, cut to
/// `MAX_MESSAGE` characters.
pub fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message
        .split(['\n', '\r'])
        .filter(|p| !p.trim().is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part.trim());
    }
    let total = out.chars().count();
    if total > MAX_MESSAGE {
        let cut = out
            .char_indices()
            .nth(MAX_MESSAGE)
            .map_or(out.len(), |(i, _)| i);
        out.truncate(cut);
        out.push_str(&format!("… (cut: {total} characters)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spill_on_a_full_disk_names_its_file_and_where_room_can_come_from() {
        let full = || std::io::Error::from_raw_os_error(libc::ENOSPC);
        // From the system, and through Arrow's IPC writer, the same message.
        for e in [
            Error::spill("/tmp/s/left-0001.arrow", full()),
            Error::spill(
                "/tmp/s/left-0001.arrow",
                arrow::error::ArrowError::from(full()),
            ),
        ] {
            assert_eq!(
                e.to_string(),
                "/tmp/s/left-0001.arrow: No space left on device (os error 28); free space on \
                 that disk or point --spill-dir at a larger folder"
            );
        }
        let too_large = std::io::Error::from_raw_os_error(libc::EFBIG);
        assert_eq!(
            Error::spill("/tmp/s/x", too_large).to_string(),
            "/tmp/s/x: File too large (os error 27); the file reached the process's file-size \
             limit (ulimit -f) or the largest file its filesystem allows; raise the limit or \
             point --spill-dir elsewhere"
        );
        let too_many = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(
            Error::spill("/tmp/s/x", too_many).to_string(),
            "/tmp/s/x: Too many open files (os error 24); a spill keeps a file open for each \
             partition of each side; raise the process's open-file limit (ulimit -n)"
        );
        // Any other failure reads as the system's.
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            Error::spill("/tmp/s/x", arrow::error::ArrowError::from(denied)).to_string(),
            "/tmp/s/x: Permission denied (os error 13)"
        );
    }

    #[test]
    fn messages_fold_to_one_line() {
        assert_eq!(one_line("a\n  b\r\n\nc"), "a; b; c");
        let e = Error::format("file:///x.csv", "bad\nrow");
        assert_eq!(e.to_string(), "file:///x.csv: bad; row");
        let long = one_line(&"é".repeat(2000));
        assert_eq!(long, format!("{}… (cut: 2000 characters)", "é".repeat(500)));
    }
}
