//! The `parity` binary: parse, run, exit code. Everything else is in the library.

mod cli;

/// mimalloc returns freed memory to its own pools rather than to the kernel after every large
/// batch, which removes most of the page-fault time of decoding millions of rows.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's runtime options (`mimalloc.h`, version 3) and the process's huge-page setting.
mod allocator {
    use std::ffi::{c_int, c_long};

    /// `mi_option_purge_delay`: milliseconds before freed pages go back to the kernel.
    pub const PURGE_DELAY: c_int = 15;
    /// `mi_option_allow_thp`: whether mimalloc asks for transparent huge pages.
    pub const ALLOW_THP: c_int = 43;

    extern "C" {
        #[cfg(test)]
        pub fn mi_option_get(option: c_int) -> c_long;
        pub fn mi_option_set(option: c_int, value: c_long);
    }

    /// mimalloc 3 keeps freed pages for a second by default. Several files decode at once, each
    /// freeing a batch's arrays every few milliseconds, so a second's worth held hundreds of
    /// megabytes resident; 50 ms keeps the reuse and returns the rest.
    ///
    /// Transparent huge pages are turned off for the process: each fresh huge page is zeroed
    /// whole (2 MiB) on its first touch, which cost a tenth of the fingerprint pass's time in
    /// the kernel, and half-used huge pages held ~90 MiB more at the peak of a keyed diff.
    /// `MIMALLOC_PURGE_DELAY` and `MIMALLOC_ALLOW_THP` in the environment still win.
    pub fn tune() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: setting a documented option of the linked allocator, before any thread.
            unsafe { mi_option_set(PURGE_DELAY, 50) };
        }
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
}

fn main() -> std::process::ExitCode {
    allocator::tune();
    cli::main()
}

#[cfg(test)]
mod tests {
    /// The option number is the purge delay's: its default of 1000 ms is unique to it.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option of the linked allocator.
        let default = unsafe { super::allocator::mi_option_get(super::allocator::PURGE_DELAY) };
        assert_eq!(default, 1000);
    }

    /// The option number is mimalloc's huge-page switch (on by default), and turning huge pages
    /// off reaches the kernel's flag for the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_turned_off() {
        use super::allocator::{mi_option_get, no_huge_pages, ALLOW_THP};
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return; // the environment has already set the option
        }
        // SAFETY: reading options of the linked allocator.
        let (before, next) = unsafe { (mi_option_get(ALLOW_THP), mi_option_get(ALLOW_THP + 1)) };
        // allow_thp defaults to 1; the option after it, minimal_purge_size, to 0.
        assert_eq!((before, next), (1, 0));
        no_huge_pages();
        // SAFETY: PR_GET_THP_DISABLE only reads this process's flag.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
