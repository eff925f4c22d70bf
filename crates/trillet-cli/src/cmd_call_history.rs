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
use crate::outfile::{OutputFile, Sink, record_id};
use crate::output::{Row, Writer};
use crate::shape::Shape;
use crate::term::{self, eprint_line, short};
use crate::{Fatal, exit};

/// After a signal, how long records already in flight may take to arrive and be
/// printed before the command exits anyway.
const GRACE: Duration = Duration::from_secs(5);

pub async fn get(global: &Global, args: GetArgs) -> Result<u8, Fatal> {
    let single = args.ids.len() == 1 && args.ids_from.is_none();
    // With --output-file, JSON lines whatever the count (a file of records).
    let format = args
        .output
        .unwrap_or(if single && args.output_file.is_none() {
            Output::Json
        } else {
            Output::Jsonl
        });
    if args.output_file.is_some() && format != Output::Jsonl {
        return Err(Fatal(
            "--output-file writes JSON lines: drop --output or use --output jsonl".into(),
        ));
    }
    if global.api_key_file.as_deref() == Some(Path::new("-"))
        && args.ids_from.as_deref() == Some(Path::new("-"))
    {
        return Err(Fatal(
            "--api-key-file - and --ids-from - both read standard input: put the key or \
             the ids in a file (or the key in TRILLET_API_KEY)"
                .into(),
        ));
    }
    let max_body = global
        .max_body_bytes
        .unwrap_or(trillet::DEFAULT_MAX_BODY_BYTES);
    // `skipped`: the records the file already holds (some answer two ids).
    let (mut file, done, skipped) = match &args.output_file {
        Some(path) => {
            let (file, done, records) = OutputFile::open(path, args.resume, max_body)?;
            (Some(file), done, records)
        }
        None => (None, HashSet::new(), 0),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ids = Source {
        args: args.ids,
        from: args.ids_from,
        done,
        stop: stopped,
        max_json_line: max_body,
    }
    .stream()
    .await?;
    let context = Context::new(global).await?;
    let mut drift = args
        .drift
        .then(|| OnTheFly::new(trillet_spec::Spec::bundled()?, "CallHistory"))
        .transpose()?;
    // The model's shape, to check each record without decoding it into a tree of
    // values (see `shape.rs`); if it cannot be compiled, records are decoded.
    let shape = Shape::call_history().ok();

    let started = Instant::now();
    let progress = progress_bar(global, single);
    // Only the bytes of each record are held while it waits its turn.
    let mut results = context
        .client
        .call_histories_from(ids)
        .concurrency(global.concurrency)
        .ordered(true)
        .stream_json();
    let sink = match file.take() {
        Some(file) => Sink::File(file),
        None => Sink::Stdout(std::io::BufWriter::new(crate::term::stdout())),
    };
    let mut writer = Writer::new(sink, format).json_array(!single);
    let (mut fetched, mut failed) = (0usize, 0usize);
    let ended = drain(&mut results, Some(stop), |(id, result)| {
        progress.inc(1);
        let checked = result.map_err(|e| (describe(&e), None)).and_then(|body| {
            Record::check(body.clone(), shape.as_ref(), writer.is_table(), &id)
                .map_err(|why| (why, Some(body)))
        });
        match checked {
            Ok(record) => {
                let cells = record.cells.clone();
                let written = writer
                    .get_mut()
                    .note(&id, record.id.as_deref())
                    .and_then(|()| writer.record(record.json(), cells));
                fetched += usize::from(written.is_ok());
                if let Some(drift) = drift.as_mut() {
                    drift.observe(record.json());
                }
                written
            }
            Err((why, body)) => {
                failed += 1;
                // A body the spec does not allow is still what the server sent:
                // analysed, and written as it came when it is a record (a JSON
                // object: a recording must hold every record, and `--resume`
                // reads records back, with the note of the id asked for), and the
                // id still counts as failed.
                let json = body.as_deref().and_then(|b| std::str::from_utf8(b).ok());
                let mut kept = false;
                if let Some(json) = json {
                    if let Some(drift) = drift.as_mut() {
                        drift.observe(json);
                    }
                    let object = json.trim_start().starts_with('{')
                        && serde_json::from_str::<&serde_json::value::RawValue>(json).is_ok();
                    if object && !writer.is_table() {
                        writer
                            .get_mut()
                            .note(&id, record_id(json.as_bytes()).as_deref())?;
                        kept = writer.unchecked(json)?;
                    }
                }
                let note = if kept { " (written as received)" } else { "" };
                progress
                    .suspend(|| eprint_line(&format!("error: {}: {why}{note}", short(&id, 64))));
                Ok(())
            }
        }
    })
    .await?;
    progress.finish_and_clear();
    let _ = writer.finish();
    drop(writer);
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

/// One fetched record, checked: its bytes as received (held once, printed from,
/// then dropped), its `_id`, and its table row when one is printed.
struct Record {
    body: bytes::Bytes,
    id: Option<String>,
    cells: Option<[String; 7]>,
}

impl Record {
    /// Checks `body` against the model: walked with `shape` (nothing built), or,
    /// for a table row (or without a shape), decoded into the model one record at a
    /// time. `requested` is the id asked for, shown when the record has no `_id`.
    fn check(
        body: bytes::Bytes,
        shape: Option<&Shape>,
        table: bool,
        requested: &str,
    ) -> Result<Self, String> {
        if std::str::from_utf8(&body).is_err() {
            return Err(
                "the response does not match the spec: at `.`: the body is not UTF-8".into(),
            );
        }
        let (id, cells) = match shape {
            Some(shape) if !table => (shape.check(&body).map_err(|m| m.to_string())?, None),
            _ => {
                let call = trillet::decode_call_history(&body).map_err(|e| describe(&e))?;
                (call.id.clone(), table.then(|| call.cells(requested)))
            }
        };
        Ok(Self { body, id, cells })
    }

    /// The record's JSON (checked to be UTF-8 in [`check`](Self::check)).
    fn json(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }
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
    let mut stdout = std::io::BufWriter::new(crate::term::stdout());
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
                let cells = writer.is_table().then(|| raw.cells("-"));
                writer.record(raw.json(), cells)?;
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
