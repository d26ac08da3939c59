//! What becomes of a panic: a decoder's is a file that cannot be read, anything else a bug, and
//! either is one line of [`Error`], never panic text on the terminal.
//!
//! The Parquet, CSV and JSON decoders of arrow-rs can panic on crafted bytes (an RLE run past
//! its buffer, a delta length past its page). The engine runs every decode of a file's bytes
//! inside [`guarded`], which catches the panic and turns it into an [`Error::Format`] naming the
//! file, that it is corrupt or uses something parity cannot read, and the decoder's own reason.
//! A panic whose location is in parity's own code is not the file's fault: it becomes an
//! [`Error::Internal`] with the place it happened, even inside a guarded region.
//!
//! [`install_hook`] replaces the process's panic hook with one that records the panic (message
//! and location) for the code that catches it and prints nothing, so the caught panic reaches
//! the user once, as the error's one line. A panic no engine code catches still has to be seen:
//! the hook prints it as one `internal error` line on threads the engine does not join (the
//! blocking threads' panics come back as join errors, see [`joined`], and the binary's main
//! thread catches its own).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use crate::error::{Error, Result};

/// A panic as the hook saw it.
#[derive(Debug, Clone)]
pub struct Caught {
    /// The panic's message (its payload as text).
    pub message: String,
    /// `file:line:column` where it was raised, when known.
    pub location: Option<String>,
    /// Whether that place is in parity's own source (a bug) rather than a dependency's.
    pub ours: bool,
}

impl Caught {
    /// The panic as an internal error: what and where.
    pub fn internal(&self) -> Error {
        let at = self
            .location
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        Error::Internal(crate::error::one_line(&format!(
            "a panic: {}{at}",
            self.message
        )))
    }
}

thread_local! {
    /// How many guarded regions this thread is in.
    static GUARDED: Cell<usize> = const { Cell::new(0) };
    /// The last panic raised on this thread, for the guarded region that catches it.
    static HERE: std::cell::RefCell<Option<Caught>> = const { std::cell::RefCell::new(None) };
}

/// The last panic recorded by the hook on any thread: a blocking thread's panic is read by the
/// task that awaited it.
static LAST: Mutex<Option<Caught>> = Mutex::new(None);

/// Whether the binary asked for panics on its main and runtime threads to stay quiet (they are
/// caught and reported as errors there).
static QUIET: AtomicBool = AtomicBool::new(false);

static HOOK: Once = Once::new();

/// Whether a panic raised at `file` (a source path as the compiler records it) is in parity's
/// own code. Cargo records this crate's paths relative to its root (`src/…`); a dependency's are
/// absolute paths in the registry, the standard library's under `/rustc/`.
fn is_ours(file: &str) -> bool {
    file.starts_with("src/") || file.starts_with("./src/")
}

fn message_of(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

fn record(info: &std::panic::PanicHookInfo<'_>) -> Caught {
    let location = info.location();
    let caught = Caught {
        message: crate::error::one_line(&message_of(info.payload())),
        location: location.map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
        ours: location.is_some_and(|l| is_ours(l.file())),
    };
    HERE.with(|h| *h.borrow_mut() = Some(caught.clone()));
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(caught.clone());
    caught
}

/// The hook that records every panic and keeps the guarded ones quiet; others go to the hook
/// that was in place before, unless the binary asked for quiet ([`install_hook`]).
fn ensure_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = record(info);
            if GUARDED.with(|g| g.get()) > 0 {
                return;
            }
            if !QUIET.load(Ordering::Relaxed) {
                return previous(info);
            }
            let thread = std::thread::current();
            let joined = thread
                .name()
                .is_some_and(|n| n == "main" || n.starts_with("tokio-"));
            if !joined {
                eprintln!("parity: error: {}", caught.internal());
            }
        }));
    });
}

/// The last recorded panic, taken.
fn take_last() -> Option<Caught> {
    LAST.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// The binary's hook (call it first thing): every panic is recorded and none prints its text.
/// Panics on the main thread (which the binary catches, [`caught_on_main`]) and on the runtime's
/// threads (whose panics come back through [`joined`]) print nothing here, as they reach the
/// user as the command's one error line; a panic on any other thread prints one
/// `parity: error: internal error: …` line.
pub fn install_hook() {
    QUIET.store(true, Ordering::Relaxed);
    ensure_hook();
}

/// Run `decode`, which reads the bytes of the file at `url`, catching a panic. A panic raised in
/// a dependency (the decoders) is the file's: an [`Error::Format`] saying it is corrupt or
/// uses something unsupported, with the decoder's reason. One raised in parity's own code is an
/// [`Error::Internal`].
pub fn guarded<T>(url: &str, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    guarded_named(decode, || url.to_string())
}

/// [`guarded`] for a decode that reads several files in turn: `url` names the one it was
/// reading when it panicked, asked only then.
pub fn guarded_named<T>(
    decode: impl FnOnce() -> Result<T>,
    url: impl FnOnce() -> String,
) -> Result<T> {
    ensure_hook();
    HERE.with(|h| h.borrow_mut().take());
    GUARDED.with(|g| g.set(g.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(decode));
    GUARDED.with(|g| g.set(g.get() - 1));
    match outcome {
        Ok(result) => result,
        Err(payload) => Err(caught_in(&url(), payload.as_ref())),
    }
}

/// [`guarded`] for a future that decodes (a footer read from a store): a panic while it is
/// polled is caught on the thread that polled it.
pub async fn guarded_async<T>(
    url: &str,
    decode: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    use futures::FutureExt;
    use std::future::Future;
    ensure_hook();
    let decode = std::pin::pin!(decode);
    let mut decode = AssertUnwindSafe(decode).catch_unwind();
    let outcome = std::future::poll_fn(|cx| {
        GUARDED.with(|g| g.set(g.get() + 1));
        let polled = std::pin::Pin::new(&mut decode).poll(cx);
        GUARDED.with(|g| g.set(g.get() - 1));
        polled
    })
    .await;
    match outcome {
        Ok(result) => result,
        Err(payload) => Err(caught_in(url, payload.as_ref())),
    }
}

/// The error for a panic caught while reading `url`.
fn caught_in(url: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    // Caught here: not one for a later join error to report.
    take_last();
    let caught = HERE
        .with(|h| h.borrow_mut().take())
        .unwrap_or_else(|| Caught {
            message: crate::error::one_line(&message_of(payload)),
            location: None,
            ours: false,
        });
    if caught.ours {
        return Error::Internal(crate::error::one_line(&format!(
            "a panic while reading {url}: {} at {}",
            caught.message,
            caught.location.as_deref().unwrap_or("?")
        )));
    }
    Error::format(
        url,
        format!(
            "corrupt, or written with something parity cannot read: the decoder failed ({})",
            caught.message
        ),
    )
}

/// The error for a blocking task that did not finish: its panic as an [`Error::Internal`] (the
/// decoders' panics were caught inside the task by [`guarded`]), or the runtime's reason.
pub fn joined(err: tokio::task::JoinError) -> Error {
    if err.is_panic() {
        let payload = err.into_panic();
        let caught = take_last().unwrap_or_else(|| Caught {
            message: crate::error::one_line(&message_of(payload.as_ref())),
            location: None,
            ours: false,
        });
        return caught.internal();
    }
    Error::Internal(err.to_string())
}

/// The message of a panic caught by the binary's main thread, as one line.
pub fn caught_on_main(payload: &(dyn std::any::Any + Send)) -> Error {
    take_last()
        .unwrap_or_else(|| Caught {
            message: crate::error::one_line(&message_of(payload)),
            location: None,
            ours: false,
        })
        .internal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_panic_in_a_guarded_region_names_the_file() {
        // A panic raised inside the standard library on behalf of this code (an index out of
        // range) is located here, in parity's source: an internal error.
        let v: Vec<u8> = Vec::new();
        let err = guarded("file:///x.parquet", || {
            let i = v.len() + 3;
            Ok(v[i])
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::Internal(m) if m.contains("x.parquet") && m.contains("src/panics.rs")),
            "{err}"
        );
        // A panic in a dependency (arrow's) is the file's.
        let err = guarded("file:///y.parquet", || {
            let a = arrow::array::Int32Array::from(vec![1]);
            Ok(arrow::array::Array::slice(&a, 5, 1).len())
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, Error::Format { .. }) && text.starts_with("file:///y.parquet: corrupt"),
            "{text}"
        );
    }

    #[test]
    fn a_region_that_does_not_panic_returns_its_result() {
        assert_eq!(guarded("f", || Ok(7)).unwrap(), 7);
        let err = guarded::<()>("f", || Err(Error::format("f", "bad"))).unwrap_err();
        assert_eq!(err.to_string(), "f: bad");
    }

    #[test]
    fn our_paths_are_relative_and_dependencies_absolute() {
        assert!(is_ours("src/source/parts.rs"));
        assert!(!is_ours(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/parquet-60.1.0/src/encodings/rle.rs"
        ));
        assert!(!is_ours("/rustc/abc/library/core/src/slice/index.rs"));
    }
}
