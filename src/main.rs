//! The `parity` binary: parse, run, exit code. Everything else is in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
