//! Peak memory of the `trillet` binary on a big batch: the CLI runs as a child
//! process against its own `--mock`, ids fed on standard input, its output counted
//! (not kept) through a pipe.
//!
//! The peak is the kernel's high-water mark of the child's resident set
//! (`VmHWM` in `/proc/<pid>/status`), read every few milliseconds while it runs:
//! the mark only grows, so the last reading is the peak up to the last few
//! milliseconds of a run that by then is only printing its summary line. Where
//! GNU time is installed, the same run can be repeated under `/usr/bin/time -f %M`
//! (`getrusage`'s `ru_maxrss`) as a cross-check.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of the CLI.
#[derive(Debug)]
pub struct CliRun {
    /// Peak resident set in KiB, when the platform says (`/proc`).
    pub peak_kib: Option<u64>,
    /// Lines written to standard output.
    pub lines: u64,
    /// Bytes written to standard output.
    pub bytes: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// The arguments of the measured command: unthrottled, 32 in flight, quiet, ids
/// from standard input, JSON lines out.
pub fn cli_args() -> [&'static str; 10] {
    [
        "--mock",
        "--rate-limit",
        "0",
        "--concurrency",
        "32",
        "--quiet",
        "call-history",
        "get",
        "--ids-from",
        "-",
    ]
}

fn id_list(n: usize) -> Vec<u8> {
    let mut ids = Vec::with_capacity(n * 12);
    for i in 0..n {
        // Writing to a Vec cannot fail.
        let _ = writeln!(ids, "rss-{i:06}");
    }
    ids
}

/// Runs `trillet` on `n` ids and measures it; fails unless it exits 0 and prints
/// one line per id.
pub fn run_cli(trillet: &Path, n: usize) -> Result<CliRun, String> {
    let started = Instant::now();
    let mut child = Command::new(trillet)
        .args(cli_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", trillet.display()))?;
    let pid = child.id();
    let ids = id_list(n);
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let feeder = std::thread::spawn(move || stdin.write_all(&ids));
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let counter = std::thread::spawn(move || {
        let (mut lines, mut bytes) = (0u64, 0u64);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    bytes += n as u64;
                    lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                }
            }
        }
        (lines, bytes)
    });
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut peak: Option<u64> = None;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if let Some(hwm) = vm_hwm(pid) {
            peak = Some(peak.map_or(hwm, |p| p.max(hwm)));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    let fed = feeder.join().map_err(|_| "the id feeder panicked")?;
    let (lines, bytes) = counter.join().map_err(|_| "the output counter panicked")?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "`trillet {}` exited with {status}: {}",
            cli_args().join(" "),
            stderr.trim()
        ));
    }
    fed.map_err(|e| format!("cannot feed ids to trillet: {e}"))?;
    if lines != n as u64 {
        return Err(format!("trillet printed {lines} lines for {n} ids"));
    }
    Ok(CliRun {
        peak_kib: peak,
        lines,
        bytes,
        elapsed,
    })
}

/// The same run under GNU time: its `%M` (maximum resident set, KiB). `None` when
/// `/usr/bin/time` is missing or says nothing usable.
pub fn peak_by_gnu_time(trillet: &Path, n: usize) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = std::env::temp_dir().join(format!("trillet-bench-time-{}.txt", std::process::id()));
    let mut child = Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&out)
        .arg(trillet)
        .args(cli_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let ids = id_list(n);
    let feeder = std::thread::spawn(move || stdin.write_all(&ids));
    let status = child.wait().ok()?;
    let _ = feeder.join();
    let text = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    if !status.success() {
        return None;
    }
    text?.lines().last()?.trim().parse().ok()
}

/// `VmHWM` of a live process, in KiB (Linux).
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
