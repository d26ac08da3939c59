//! The `parity` binary: parse, run, exit code. Everything else is in the library.

mod cli;

/// mimalloc returns freed memory to its own pools rather than to the kernel after every large
/// batch, which removes most of the page-fault time of decoding millions of rows.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    parity::allocator::tune();
    cli::main()
}

#[cfg(test)]
mod tests {
    /// The option number is the purge delay's (its default of 1000 ms is unique to it), and
    /// overlapping holds keep it raised until the last one ends, then give the first one's
    /// delay back. One test: the two would race on the one option.
    #[test]
    fn the_purge_delay_is_held_until_the_last_holder_ends() {
        use parity::allocator::{hold_freed_pages, mi_option_get, PURGE_DELAY};
        // SAFETY: reading an option of the linked allocator.
        let delay = || unsafe { mi_option_get(PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment has set the option, and holds leave it alone
        }
        assert_eq!(delay(), 1000);
        let first = hold_freed_pages();
        assert_eq!(delay(), 10_000);
        let second = hold_freed_pages();
        drop(first);
        assert_eq!(delay(), 10_000, "the second holder still holds");
        drop(second);
        assert_eq!(delay(), 1000);
    }

    /// The option number is mimalloc's huge-page switch (on by default), and turning huge pages
    /// off reaches the kernel's flag for the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_turned_off() {
        use parity::allocator::{mi_option_get, no_huge_pages, ALLOW_THP};
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
