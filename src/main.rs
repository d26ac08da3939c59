//! The `parity` binary: parse, run, exit code. Everything else is in the library.

mod cli;

/// mimalloc returns freed memory to its own pools rather than to the kernel after every large
/// batch, which removes most of the page-fault time of decoding millions of rows.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's runtime options (`mimalloc.h`, version 3).
mod allocator {
    use std::ffi::{c_int, c_long};

    /// `mi_option_purge_delay`: milliseconds before freed pages go back to the kernel.
    pub const PURGE_DELAY: c_int = 15;

    extern "C" {
        #[cfg(test)]
        pub fn mi_option_get(option: c_int) -> c_long;
        pub fn mi_option_set(option: c_int, value: c_long);
    }

    /// mimalloc 3 keeps freed pages for a second by default. Several files decode at once, each
    /// freeing a batch's arrays every few milliseconds, so a second's worth held hundreds of
    /// megabytes resident; 50 ms keeps the reuse and returns the rest. `MIMALLOC_PURGE_DELAY`
    /// in the environment still wins.
    pub fn tune() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: setting a documented option of the linked allocator, before any thread.
            unsafe { mi_option_set(PURGE_DELAY, 50) };
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
}
