//! The `parity` binary: parse, run, exit code. Everything else is in the library.

mod cli;

/// mimalloc returns freed memory to its own pools rather than to the kernel after every large
/// batch, which removes most of the page-fault time of decoding millions of rows.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
