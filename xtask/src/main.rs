//! `cargo xtask <task>`: the workspace's own tooling, in plain Rust.
//! One module per task; `main` only dispatches.

mod bench;
mod codegen;
mod lint;
mod spec_diff;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  codegen [--check]   generate crates/trillet-api/src/generated.rs from spec/trillet.yaml
                      (--check: fail if the checked-in file differs)
  bench [--quick]     the performance budget, side by side; table in target/bench-report.md
  lint                check the spec: structure, descriptions, security, every example
  spec-diff --base <git-ref|path> [--head <git-ref|path>] [--format markdown|json|text]
            [--fail-on breaking|warning|info|never]
                      classify what a spec change breaks, for pull-request review
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("codegen") => codegen::run(&args[1..]),
        Some("lint") => lint::run(&args[1..]),
        Some("spec-diff") => match spec_diff::run(&args[1..]) {
            Ok(status) => return status,
            Err(message) => Err(message),
        },
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
