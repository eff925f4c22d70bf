//! `cargo xtask bench [--quick] [--no-criterion] [--locked]`: the performance budget, measured
//! side by side, as one table (printed, and written to `target/bench-report.md`).
//!
//! 1. builds `trillet-bench` (the harness) and `trillet` (the CLI), in release
//!    (`--quick`: the dev profile, whose artifacts CI already has);
//! 2. full run only: runs the criterion benches (`cargo bench -p trillet-bench`)
//!    and reads their medians, shown beside the harness's figures as a cross-check;
//! 3. runs the harness, which measures every case against its baseline in
//!    alternating rounds in one process and prints JSON;
//! 4. times a warm `cargo xtask codegen --check`;
//! 5. renders the table with each row's goal and whether it is met.
//!
//! A full run fails when a goal is missed. `--quick` is a smoke test of a few
//! seconds: it fails only when something cannot be measured, never on a ratio
//! (debug builds and a few rounds make the ratios meaningless).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The codegen budget, in seconds.
const CODEGEN_GOAL_SECS: f64 = 2.0;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Smoke test: dev profile, a few rounds, no criterion; never fails on a ratio.
    #[arg(long)]
    quick: bool,
    /// Skip the criterion benches (their medians are only a cross-check).
    #[arg(long)]
    no_criterion: bool,
    /// Pass `--locked` on to cargo, as CI does.
    #[arg(long)]
    locked: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let options = args;
    let criterion = !options.no_criterion && !options.quick;
    let root = crate::workspace_root();
    let target = target_dir(&root);
    let profile_dir = target.join(if options.quick { "debug" } else { "release" });
    let load_before = load_average();
    let started = Instant::now();

    // 1. Build.
    let mut build = cargo(&root);
    build.args([
        "build",
        "-p",
        "trillet-bench",
        "-p",
        "trillet-cli",
        "--bins",
    ]);
    if !options.quick {
        build.arg("--release");
    }
    if options.locked {
        build.arg("--locked");
    }
    status(build, "building the harness and the CLI")?;

    // 2. Criterion.
    let criterion_medians = if criterion {
        let mut bench = cargo(&root);
        bench.args([
            "bench",
            "-p",
            "trillet-bench",
            "--bench",
            "codec",
            "--bench",
            "request",
        ]);
        if options.locked {
            bench.arg("--locked");
        }
        status(bench, "running the criterion benches")?;
        Some(read_criterion(&target.join("criterion")))
    } else {
        None
    };

    // 3. The harness.
    let harness = profile_dir.join(exe("trillet-bench"));
    let trillet = profile_dir.join(exe("trillet"));
    let mut command = Command::new(&harness);
    command.arg("--trillet").arg(&trillet);
    if options.quick {
        command.arg("--quick");
    }
    eprintln!("xtask bench: running {}", harness.display());
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", harness.display()))?;
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "the harness printed no report ({e}); it exited with {}",
            output.status
        )
    })?;
    let harness_failed = !output.status.success();

    // 4. Codegen.
    eprintln!("xtask bench: timing `cargo xtask codegen --check`");
    let codegen = time_codegen(&root, if options.quick { 1 } else { 5 })?;

    // 5. The table.
    let load_after = load_average();
    let mut rows: Vec<Value> = report["rows"].as_array().cloned().unwrap_or_default();
    rows.push(codegen_row(&codegen));
    let markdown = render(
        options,
        &rows,
        &report,
        criterion_medians.as_ref(),
        &Machine {
            load_before,
            load_after,
            elapsed: started.elapsed(),
        },
    );
    print!("{markdown}");
    let out = target.join("bench-report.md");
    std::fs::write(&out, &markdown).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("xtask bench: wrote {}", out.display());

    if harness_failed {
        return Err("the harness could not measure every case (see its errors above)".into());
    }
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| r["met"] == Value::Bool(false))
        .filter_map(|r| r["key"].as_str())
        .collect();
    if !options.quick && !missed.is_empty() {
        return Err(format!(
            "{} goal(s) missed: {}",
            missed.len(),
            missed.join(", ")
        ));
    }
    Ok(())
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

fn status(mut command: Command, what: &str) -> Result<(), String> {
    eprintln!("xtask bench: {what}");
    let status = command
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("{what}: cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into())
}

/// Medians of the criterion benches, in nanoseconds, by `group/function`.
fn read_criterion(dir: &Path) -> Vec<(String, f64)> {
    let benches = [
        "decode/generated",
        "decode/hand",
        "decode/hand_string_dates",
        "encode/generated",
        "encode/hand",
        "lossless/raw_jsonl",
        "lossless/typed_jsonl",
        "lossless/typed_decode",
        "request/trillet",
        "request/reqwest",
    ];
    benches
        .iter()
        .filter_map(|id| {
            let path = dir.join(id).join("new").join("estimates.json");
            let text = std::fs::read_to_string(path).ok()?;
            let json: Value = serde_json::from_str(&text).ok()?;
            let median = json["median"]["point_estimate"].as_f64()?;
            Some(((*id).to_owned(), median))
        })
        .collect()
}

/// The criterion figure for a row, in the row's own terms (throughput or time ratio).
fn criterion_ratio(key: &str, medians: &[(String, f64)]) -> Option<String> {
    let get = |id: &str| medians.iter().find(|(k, _)| k == id).map(|(_, v)| *v);
    let ratio = |subject: &str, baseline: &str| Some(get(subject)? / get(baseline)?);
    let value = match key {
        "decode" => ratio("decode/hand", "decode/generated")?,
        "decode_string_dates" => ratio("decode/hand_string_dates", "decode/generated")?,
        "encode" => ratio("encode/hand", "encode/generated")?,
        "lossless" => ratio("lossless/raw_jsonl", "lossless/typed_jsonl")?,
        "lossless_vs_decode" => ratio("lossless/raw_jsonl", "lossless/typed_decode")?,
        "request" => ratio("request/trillet", "request/reqwest")?,
        _ => return None,
    };
    Some(format!("criterion (sequential): {value:.3}×"))
}

struct Codegen {
    /// Wall time of each warm run.
    runs: Vec<Duration>,
    /// Whether the last run succeeded (`--check` fails on a stale generated file).
    ok: bool,
    message: String,
}

/// Runs `cargo xtask codegen --check` once to warm up, then `n` times, timed.
fn time_codegen(root: &Path, n: usize) -> Result<Codegen, String> {
    let once = || -> Result<(Duration, bool, String), String> {
        let started = Instant::now();
        let output = cargo(root)
            .args(["xtask", "codegen", "--check"])
            .output()
            .map_err(|e| format!("cannot run `cargo xtask codegen --check`: {e}"))?;
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(if output.status.success() {
            &output.stdout
        } else {
            &output.stderr
        })
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
        Ok((elapsed, output.status.success(), text))
    };
    once()?;
    let mut runs = Vec::new();
    let (mut ok, mut message) = (true, String::new());
    for _ in 0..n.max(1) {
        let (elapsed, success, text) = once()?;
        runs.push(elapsed);
        ok = success;
        message = text;
    }
    Ok(Codegen { runs, ok, message })
}

fn codegen_row(codegen: &Codegen) -> Value {
    let mut secs: Vec<f64> = codegen.runs.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let status = if codegen.ok {
        format!("up to date; it says: {}", codegen.message)
    } else {
        format!("the check failed (timing still valid): {}", codegen.message)
    };
    serde_json::json!({
        "key": "codegen",
        "measure": "warm `cargo xtask codegen --check` (cargo's freshness check + the debug xtask binary: parse, generate, format, compare), wall time",
        "result": format!("{median:.2} s"),
        "value": median,
        "goal": format!("< {CODEGEN_GOAL_SECS:.0} s"),
        "met": median < CODEGEN_GOAL_SECS,
        "notes": format!(
            "median of {} runs after a warm-up run ({:.2}–{:.2} s); {status}",
            secs.len(),
            secs[0],
            secs[secs.len() - 1]
        ),
    })
}

struct Machine {
    load_before: String,
    load_after: String,
    elapsed: Duration,
}

fn render(
    options: &Args,
    rows: &[Value],
    report: &Value,
    criterion: Option<&Vec<(String, f64)>>,
    machine: &Machine,
) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mode = if options.quick {
        "quick (dev profile, few rounds: a smoke test, ratios not judged)"
    } else {
        "full (release)"
    };
    let mut md = String::new();
    let _ = writeln!(md, "## Performance budget: `cargo xtask bench`, {mode}\n");
    let _ = writeln!(
        md,
        "Machine: {cores} cores; load average {} before, {} after; {rustc}; commit {commit}; {:.0} s in all.\n",
        machine.load_before,
        machine.load_after,
        machine.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| measure (same run, same machine) | result | goal | met | notes |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for row in rows {
        let text = |k: &str| row[k].as_str().unwrap_or_default().replace('|', "\\|");
        let met = match (row["met"].as_bool(), options.quick) {
            (None, _) => "—".to_owned(),
            (Some(true), false) => "yes".to_owned(),
            (Some(false), false) => "**no**".to_owned(),
            (Some(true), true) => "yes (not judged)".to_owned(),
            (Some(false), true) => "no (not judged)".to_owned(),
        };
        let mut notes = text("notes");
        if let Some(cross) = criterion
            .and_then(|medians| criterion_ratio(row["key"].as_str().unwrap_or_default(), medians))
        {
            notes = format!("{notes}; {cross}");
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {met} | {notes} |",
            text("measure"),
            text("result"),
            text("goal"),
        );
    }
    let _ = writeln!(
        md,
        "\nRatios are subject / baseline, measured in alternating rounds in one process \
         (median of the per-round ratios); throughput rows: above 1 means the subject is faster; \
         time and latency rows: below 1 means it is faster. \"—\": information, no goal.\n"
    );
    let context: Vec<&str> = report["context"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !context.is_empty() {
        let _ = writeln!(md, "Absolute figures of this run, for orientation only:\n");
        for line in context {
            let _ = writeln!(md, "- {line}");
        }
        md.push('\n');
    }
    if let Some(errors) = report["errors"].as_array().filter(|e| !e.is_empty()) {
        let _ = writeln!(md, "Not measured:\n");
        for error in errors.iter().filter_map(Value::as_str) {
            let _ = writeln!(md, "- {error}");
        }
        md.push('\n');
    }
    md
}
