//! `trillet call-history get` and `list`: fetch records, print them losslessly in
//! input order, report failures per id and keep going; stop cleanly on a signal.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trillet::{Direction, Status};

use crate::cli::{GetArgs, Global, ListArgs, Output};
use crate::cmd_spec::OnTheFly;
use crate::context::{Context, describe, exit_code};
use crate::ids::Source;
use crate::output::Writer;
use crate::term::{self, eprint_line, short};
use crate::{Fatal, exit};

/// After a signal, how long records already in flight may take to arrive and be
/// printed before the command exits anyway.
const GRACE: Duration = Duration::from_secs(5);

pub async fn get(global: &Global, args: GetArgs) -> Result<u8, Fatal> {
    let single = args.ids.len() == 1 && args.ids_from.is_none();
    let format = args
        .output
        .unwrap_or(if single { Output::Json } else { Output::Jsonl });
    if args.output_file.is_some() && format != Output::Jsonl {
        return Err(Fatal(
            "--output-file writes JSON lines: drop --output or use --output jsonl".into(),
        ));
    }
    let (sink, done): (Box<dyn Write>, HashSet<String>) = match &args.output_file {
        Some(path) => {
            let (file, done) = open_output(path, args.resume)?;
            (Box::new(file), done)
        }
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            HashSet::new(),
        ),
    };
    let skipped = done.len();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ids = Source {
        args: args.ids,
        from: args.ids_from,
        done,
        stop: stopped,
    }
    .stream()
    .await?;
    let context = Context::new(global).await?;
    let mut drift = args
        .drift
        .then(|| OnTheFly::new(trillet_spec::Spec::bundled()?, "CallHistory"))
        .transpose()?;

    let started = Instant::now();
    let progress = progress_bar(global, single);
    let mut results = context
        .client
        .call_histories_from(ids)
        .concurrency(global.concurrency)
        .ordered(true)
        .stream_raw();
    let mut writer = Writer::new(sink, format).json_array(!single);
    let (mut fetched, mut failed) = (0usize, 0usize);
    let ended = drain(&mut results, Some(stop), |(id, result)| {
        progress.inc(1);
        match result {
            Ok(raw) => {
                let written = writer.record(&id, &raw);
                fetched += usize::from(written.is_ok());
                if let Some(drift) = drift.as_mut() {
                    drift.observe(raw.json());
                }
                written
            }
            Err(e) => {
                failed += 1;
                // A body the spec does not allow is still what the server sent:
                // analysed, and written as it came when it is a record (an
                // object: a recording must hold every record, and `--resume`
                // reads records back), and the id still counts as failed.
                let body = e.body().and_then(|b| std::str::from_utf8(b).ok());
                let kept = match body {
                    Some(json) => {
                        if let Some(drift) = drift.as_mut() {
                            drift.observe(json);
                        }
                        json.trim_start().starts_with('{') && writer.unchecked(json)?
                    }
                    None => false,
                };
                let note = if kept { " (written as received)" } else { "" };
                progress.suspend(|| {
                    eprint_line(&format!(
                        "error: {}: {}{note}",
                        short(&id, 64),
                        describe(&e)
                    ))
                });
                Ok(())
            }
        }
    })
    .await?;
    progress.finish_and_clear();
    let _ = writer.finish();
    if let Some(drift) = drift {
        drift.finish();
    }
    if !global.quiet && (!single || ended.signal.is_some()) {
        let what = ended
            .signal
            .map(|s| format!("{}: ", s.name))
            .unwrap_or_default();
        let resumed = if skipped > 0 {
            format!(", {skipped} already in the file")
        } else {
            String::new()
        };
        eprint_line(&format!(
            "trillet: {what}{fetched} fetched, {failed} failed of {}{resumed} in {:.1}s",
            fetched + failed,
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(match ended.signal {
        Some(signal) => signal.exit,
        None if failed > 0 => exit::SOME_FAILED,
        None => exit::OK,
    })
}

/// The output file for appending, and the ids whose records it already holds. With
/// `resume`, a last line cut short (a crash, `kill -9`) is cut off first; without it,
/// an existing file is refused rather than appended to by accident.
fn open_output(path: &Path, resume: bool) -> Result<(std::fs::File, HashSet<String>), Fatal> {
    let fail =
        |what: &str, e: std::io::Error| Fatal(format!("cannot {what} {}: {e}", path.display()));
    let mut done = HashSet::new();
    match std::fs::read(path) {
        Ok(content) if !content.is_empty() && !resume => {
            return Err(Fatal(format!(
                "{} already exists: pass --resume to continue it, or choose another file",
                path.display()
            )));
        }
        Ok(content) => {
            let whole = content
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            for (n, line) in content[..whole].split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let id = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("_id")?.as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        Fatal(format!(
                            "{} line {}: not a record with an `_id`; not resuming",
                            path.display(),
                            n + 1
                        ))
                    })?;
                done.insert(id);
            }
            if whole < content.len() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| fail("repair", e))?;
                file.set_len(whole as u64).map_err(|e| fail("repair", e))?;
                eprint_line(&format!(
                    "trillet: {}: removed a last line cut short ({} bytes)",
                    path.display(),
                    content.len() - whole
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("read", e)),
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| fail("open", e))?;
    Ok((file, done))
}

/// `trillet call-history list`: streams items as pages arrive.
pub async fn list(global: &Global, args: ListArgs) -> Result<u8, Fatal> {
    let context = Context::new(global).await?;
    let mut drift = args
        .drift
        .then(|| OnTheFly::new(trillet_spec::Spec::bundled()?, "CallHistorySummary"))
        .transpose()?;
    let started = Instant::now();
    let mut request = context
        .client
        .list_call_histories()
        .page_size(args.page_size);
    if let Some(status) = args.status {
        let status = Status::from(status.as_str());
        warn_unknown(
            "--status",
            status.is_known(),
            status.as_str(),
            Status::KNOWN,
        );
        request = request.status(status);
    }
    if let Some(direction) = args.direction {
        let direction = Direction::from(direction.as_str());
        warn_unknown(
            "--direction",
            direction.is_known(),
            direction.as_str(),
            Direction::KNOWN,
        );
        request = request.direction(direction);
    }
    if let Some(kind) = args.call_type {
        request = request.call_type(kind);
    }
    if let Some(agent) = args.agent {
        request = request.agent_id(agent);
    }
    if let Some(text) = args.search {
        request = request.search(text);
    }
    if let Some(since) = args.since {
        request = request.since(since);
    }
    if let Some(until) = args.until {
        request = request.until(until);
    }
    if let Some(limit) = args.limit {
        request = request.max_items(limit);
    }
    let mut items = request.stream_raw();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut writer = Writer::new(Vec::new(), args.output).json_array(true);
    let (mut listed, mut failure) = (0usize, None);
    let ended = drain(&mut items, None, |item| match item {
        Ok(raw) => {
            listed += 1;
            if let Some(drift) = drift.as_mut() {
                drift.observe(raw.json());
            }
            if args.ids_only {
                let id = raw.record().id.as_deref().unwrap_or_default();
                writeln!(stdout, "{id}").and_then(|()| stdout.flush())
            } else {
                writer.record("-", &raw)?;
                let text = std::mem::take(writer.buffer());
                stdout.write_all(&text).and_then(|()| stdout.flush())
            }
        }
        Err(e) => {
            // A page the spec does not allow is still what the server sent: its
            // items are written as they came and analysed; the listing still fails.
            let items = e
                .body()
                .and_then(|b| serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(b).ok());
            if let Some(drift) = drift.as_mut()
                && let Some(json) = e.body().and_then(|b| std::str::from_utf8(b).ok())
            {
                drift.observe(json);
            }
            if !args.ids_only {
                for item in items.into_iter().flatten() {
                    writer.unchecked(item.get())?;
                }
                let text = std::mem::take(writer.buffer());
                stdout.write_all(&text).and_then(|()| stdout.flush())?;
            }
            failure = Some(e);
            Ok(())
        }
    })
    .await?;
    if !args.ids_only {
        let _ = writer.finish();
        let _ = stdout
            .write_all(writer.buffer())
            .and_then(|()| stdout.flush());
    }
    if let Some(drift) = drift {
        drift.finish();
    }
    if let Some(e) = &failure {
        eprint_line(&format!("error: {}", describe(e)));
    }
    if !global.quiet {
        let what = ended
            .signal
            .map(|s| format!("{}: ", s.name))
            .unwrap_or_default();
        eprint_line(&format!(
            "trillet: {what}{listed} listed in {:.1}s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(match (ended.signal, &failure) {
        (Some(signal), _) => signal.exit,
        (None, Some(e)) => exit_code(e),
        (None, None) => exit::OK,
    })
}

/// A value outside an open set is sent (the API may know it), with a warning.
fn warn_unknown(flag: &str, known: bool, value: &str, values: &[&str]) {
    if !known {
        eprint_line(&format!(
            "warning: {flag} {} is not one of the values the spec lists ({}); sending it anyway",
            term::short(value, 64),
            values.join(", ")
        ));
    }
}

/// A signal that ends a batch, and the exit status it means.
#[derive(Clone, Copy, Debug)]
struct Signal {
    name: &'static str,
    exit: u8,
}

/// How a drained stream ended.
struct Ended {
    signal: Option<Signal>,
}

/// The first SIGINT, SIGTERM or SIGHUP.
async fn signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return Signal {
                name: "interrupted",
                exit: exit::INTERRUPTED,
            };
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal { name: "interrupted", exit: exit::INTERRUPTED },
            _ = term.recv() => Signal { name: "terminated", exit: exit::TERMINATED },
            _ = hup.recv() => Signal { name: "hung up", exit: exit::HUNG_UP },
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal {
            name: "interrupted",
            exit: exit::INTERRUPTED,
        }
    }
}

/// Feeds `stream` to `each` until it ends, a signal, or the reader of standard output
/// goes away (`| head`). Each item is written whole before the next wait, so a signal
/// never cuts a line. After a signal, with `stop`, no new id is taken and what is
/// already in flight is still printed (for at most [`GRACE`]); a second signal ends
/// at once. A write error other than a closed pipe is fatal.
async fn drain<S: Stream + Unpin>(
    stream: &mut S,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    mut each: impl FnMut(S::Item) -> std::io::Result<()>,
) -> Result<Ended, Fatal> {
    use futures_util::FutureExt;
    let mut caught: Option<Signal> = None;
    // Listening from the start (not per wait), so a signal that arrives while a line
    // is written is not missed.
    let mut signals = Box::pin(signal());
    let mut grace = Box::pin(futures_util::future::Fuse::<tokio::time::Sleep>::terminated());
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            got = &mut signals => {
                if caught.is_some() || stop.is_none() {
                    return Ok(Ended { signal: caught.or(Some(got)) });
                }
                caught = Some(got);
                if let Some(stop) = &stop {
                    let _ = stop.send(true);
                }
                signals = Box::pin(signal());
                grace.set(tokio::time::sleep(GRACE).fuse());
                continue;
            }
            () = &mut grace => return Ok(Ended { signal: caught }),
        };
        let Some(item) = next else {
            return Ok(Ended { signal: caught });
        };
        match each(item) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok(Ended { signal: caught });
            }
            Err(e) => return Err(Fatal(format!("cannot write the output: {e}"))),
        }
    }
}

/// A progress bar on standard error counting fetched records, only for a batch on a
/// terminal. The total is unknown while ids are still arriving, so it shows the
/// count and the rate.
fn progress_bar(global: &Global, single: bool) -> ProgressBar {
    if global.quiet || single || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {pos} fetched, {per_sec} [{elapsed}]")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
