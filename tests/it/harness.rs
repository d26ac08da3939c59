//! A small harness: the built binary, a command builder, fixture paths.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture folder.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// The `parity` binary built for this test run.
pub fn parity() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parity"));
    cmd.env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env("CI", "1");
    cmd
}

/// The result of a run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Run `parity diff LEFT RIGHT ARGS…`.
pub fn diff(left: &Path, right: &Path, args: &[&str]) -> Run {
    parity()
        .arg("diff")
        .arg(left)
        .arg(right)
        .args(args)
        .output()
        .expect("run parity")
        .into()
}

/// Run `parity diff … --format json` and parse the JSON.
pub fn diff_json(left: &Path, right: &Path, args: &[&str]) -> (Run, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = diff(left, right, &all);
    let json = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            run.stdout, run.stderr
        )
    });
    (run, json)
}

/// A single-threaded tokio runtime, for tests that call the library's async API.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
