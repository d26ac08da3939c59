//! The allocator's runtime options: how long freed pages stay with mimalloc before they go back
//! to the kernel, by stage, and the process's huge-page setting.
//!
//! The binary installs mimalloc as the global allocator; the engine only tells it, through the
//! options below, which kind of work comes next. `MIMALLOC_PURGE_DELAY` and `MIMALLOC_ALLOW_THP`
//! in the environment win over both.

use std::ffi::{c_int, c_long};
use std::sync::Mutex;

// The option functions live in mimalloc's C library, linked through the `mimalloc` crate.
use mimalloc as _;

/// `mi_option_purge_delay`: milliseconds before freed pages go back to the kernel.
pub const PURGE_DELAY: c_int = 15;
/// `mi_option_allow_thp`: whether mimalloc asks for transparent huge pages.
pub const ALLOW_THP: c_int = 43;

/// Freed pages kept while files stream through (the default for the whole process). Several
/// files decode at once, each freeing a batch's arrays every few milliseconds: mimalloc's own
/// default of a second held hundreds of megabytes resident, 50 ms refaulted most pages (a
/// quarter of a keyed diff's time in the kernel); 200 ms keeps the reuse for 10% more peak.
const STREAMING_MS: c_long = 200;

/// Freed pages kept while a stage frees and allocates buffers of the same sizes over and over,
/// bounded by the memory budget: tier 3's partitions, and a pass that spills every row. Each
/// partition or batch takes what the one before freed, well within the delay; handing pages
/// back sooner (a second was tried) put a quarter of an every-row diff's time in the kernel,
/// faulting them in again. They still go back once such a stage has been idle this long.
const HELD_MS: c_long = 10_000;

extern "C" {
    /// mimalloc's option getter.
    pub fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Set the process's options at start, before any thread: the streaming purge delay, and no
/// transparent huge pages. Each fresh huge page is zeroed whole (2 MiB) on its first touch,
/// which cost a tenth of the fingerprint pass's time in the kernel, and half-used huge pages
/// held ~90 MiB more at the peak of a keyed diff.
pub fn tune() {
    set_purge_delay(STREAMING_MS);
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        no_huge_pages();
    }
}

/// Turn transparent huge pages off for this process.
pub fn no_huge_pages() {
    // SAFETY: setting a documented option of the linked allocator. mimalloc reads it when
    // it maps new memory; the process flag below covers what it mapped before `main`.
    unsafe { mi_option_set(ALLOW_THP, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// The stages holding freed pages, and the purge delay in force before the first of them.
/// `parity run` checks several units at once, so holds overlap: the delay goes back only when
/// the last one ends.
static HOLDING: Mutex<(usize, c_long)> = Mutex::new((0, 0));

/// Keep freed pages longer until the guard drops: for work that frees and allocates the same
/// large buffers over and over (see `HELD_MS`).
pub fn hold_freed_pages() -> Held {
    let mut holding = HOLDING.lock().unwrap_or_else(|e| e.into_inner());
    if holding.0 == 0 {
        // SAFETY: reading an option of the linked allocator.
        holding.1 = unsafe { mi_option_get(PURGE_DELAY) };
        set_purge_delay(HELD_MS);
    }
    holding.0 += 1;
    Held { _private: () }
}

/// Gives the purge delay back when the last stage holding freed pages ends.
pub struct Held {
    _private: (),
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut holding = HOLDING.lock().unwrap_or_else(|e| e.into_inner());
        holding.0 -= 1;
        if holding.0 == 0 {
            set_purge_delay(holding.1);
        }
    }
}

/// Set the purge delay, unless the environment chose one. mimalloc reads the option each time
/// it schedules a purge, so a change takes effect for the pages freed after it.
fn set_purge_delay(ms: c_long) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting a documented option of the linked allocator; options are plain
        // integers that mimalloc reads without a lock.
        unsafe { mi_option_set(PURGE_DELAY, ms) };
    }
}
