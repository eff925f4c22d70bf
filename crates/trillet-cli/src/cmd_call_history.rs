//! `trillet call-history get`: fetch records, print them losslessly in input order,
//! report failures per id and keep going.

use std::io::{BufRead, IsTerminal};
use std::time::{Duration, Instant};

use std::io::Write;

use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trillet::{CallType, Client, RateLimit, RetryPolicy, Timeouts};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

use crate::cli::{CallTypeArg, GetArgs, Global, ListArgs, Output};
use crate::output::Writer;
use crate::{Fatal, exit};

pub async fn get(global: &Global, args: GetArgs) -> Result<u8, Fatal> {
    let ids = read_ids(&args)?;
    if ids.is_empty() {
        return Err(Fatal(
            "no ids given: pass ids as arguments or with --ids-from".into(),
        ));
    }
    let format = args
        .output
        .unwrap_or(if ids.len() == 1 && args.ids_from.is_none() {
            Output::Json
        } else {
            Output::Jsonl
        });

    // Kept alive until the batch is done; dropping it stops the server.
    let mock = match global.mock {
        true => Some(start_mock(global).await?),
        false => None,
    };
    let client = build_client(global, mock.as_ref())?;

    let started = Instant::now();
    let total = ids.len();
    let progress = progress_bar(global, total);
    let mut results = client
        .call_histories(ids)
        .concurrency(global.concurrency)
        .ordered(true)
        .stream_raw();
    let mut writer = Writer::new(std::io::BufWriter::new(std::io::stdout().lock()), format);
    let (mut fetched, mut failed) = (0usize, 0usize);
    let interrupted = drain(&mut results, |(id, result)| {
        progress.inc(1);
        match result {
            Ok(raw) => {
                let written = writer.record(&id, &raw);
                fetched += usize::from(written.is_ok());
                written
            }
            Err(e) => {
                failed += 1;
                progress.suspend(|| eprintln!("error: {id}: {e}"));
                Ok(())
            }
        }
    })
    .await?;
    progress.finish_and_clear();
    if !global.quiet && (total > 1 || interrupted) {
        let elapsed = started.elapsed();
        let what = if interrupted { "interrupted: " } else { "" };
        eprintln!(
            "trillet: {what}{fetched} fetched, {failed} failed of {total} in {:.1}s",
            elapsed.as_secs_f64()
        );
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if failed > 0 {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

/// `trillet call-history list`: streams items as pages arrive.
pub async fn list(global: &Global, args: ListArgs) -> Result<u8, Fatal> {
    let mock = match global.mock {
        true => Some(start_mock(global).await?),
        false => None,
    };
    let client = build_client(global, mock.as_ref())?;
    let started = Instant::now();
    let mut request = client.list_call_histories().page_size(args.page_size);
    if let Some(status) = args.status {
        request = request.status(status.as_str());
    }
    if let Some(direction) = args.direction {
        request = request.direction(direction.as_str());
    }
    if let Some(kind) = args.call_type {
        request = request.call_type(match kind {
            CallTypeArg::Sip => CallType::Sip,
            CallTypeArg::Web => CallType::Web,
        });
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
    let mut writer = Writer::new(Vec::new(), args.output);
    let (mut listed, mut failure) = (0usize, None);
    let interrupted = drain(&mut items, |item| match item {
        Ok(raw) => {
            listed += 1;
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
            failure = Some(e);
            Ok(())
        }
    })
    .await?;
    if let Some(e) = &failure {
        eprintln!("error: {e}");
    }
    if !global.quiet {
        let what = if interrupted { "interrupted: " } else { "" };
        eprintln!(
            "trillet: {what}{listed} listed in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if failure.is_some() {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

/// Feeds `stream` to `each` until it ends, Ctrl-C, or the reader of standard output
/// goes away (`| head`); returns whether Ctrl-C stopped it. A write error other
/// than a closed pipe is fatal.
async fn drain<S: Stream + Unpin>(
    stream: &mut S,
    mut each: impl FnMut(S::Item) -> std::io::Result<()>,
) -> Result<bool, Fatal> {
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = &mut ctrl_c => return Ok(true),
        };
        let Some(item) = next else { return Ok(false) };
        match each(item) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(false),
            Err(e) => return Err(Fatal(format!("cannot write the output: {e}"))),
        }
    }
}

/// Ids from the arguments, then from `--ids-from`: one per line, blank lines skipped;
/// a line holding a JSON object stands for its `_id` (so `list` output pipes in).
fn read_ids(args: &GetArgs) -> Result<Vec<String>, Fatal> {
    let mut ids = args.ids.clone();
    if let Some(path) = &args.ids_from {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| Fatal(format!("cannot read ids from {}: {e}", path.display())))?;
            Box::new(std::io::BufReader::new(file))
        };
        for line in reader.lines() {
            let line =
                line.map_err(|e| Fatal(format!("cannot read ids from {}: {e}", path.display())))?;
            let line = line.trim();
            if line.starts_with('{') {
                let id = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("_id").and_then(|id| id.as_str()).map(str::to_owned))
                    .ok_or_else(|| {
                        Fatal(format!(
                            "a JSON line in {} has no string `_id`",
                            path.display()
                        ))
                    })?;
                ids.push(id);
            } else if !line.is_empty() {
                ids.push(line.to_owned());
            }
        }
    }
    Ok(ids)
}

async fn start_mock(global: &Global) -> Result<MockServer, Fatal> {
    // The mock enforces the same rate the client keeps, as the real API would.
    let config = MockConfig {
        rate_limit_per_minute: (global.rate_limit > 0).then_some(global.rate_limit),
        chaos: global.mock_chaos,
        seed: global.mock_seed,
        ..MockConfig::default()
    };
    MockServer::start(config)
        .await
        .map_err(|e| Fatal(format!("cannot start the mock server: {e}")))
}

fn build_client(global: &Global, mock: Option<&MockServer>) -> Result<Client, Fatal> {
    let (api_key, workspace_id, base_url) = match mock {
        Some(server) => (
            Some(MOCK_API_KEY.to_owned()),
            Some(MOCK_WORKSPACE_ID.to_owned()),
            Some(server.url()),
        ),
        None => (
            global.api_key.clone(),
            global.workspace_id.clone(),
            global.base_url.clone(),
        ),
    };
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let api_key = present(api_key).ok_or_else(|| {
        Fatal("TRILLET_API_KEY is not set: export it or pass --api-key (or try --mock)".into())
    })?;
    let workspace_id = present(workspace_id).ok_or_else(|| {
        Fatal(
            "TRILLET_WORKSPACE_ID is not set: export it or pass --workspace-id (or try --mock)"
                .into(),
        )
    })?;
    let seconds = |flag: &str, value: f64| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Fatal(format!("{flag} must be a positive number of seconds")))
    };
    let mut timeouts = Timeouts::default().attempt(seconds("--timeout", global.timeout)?);
    if let Some(deadline) = global.deadline {
        timeouts = timeouts.operation(seconds("--deadline", deadline)?);
    }
    let mut builder = Client::builder()
        .api_key(api_key)
        .workspace_id(workspace_id)
        .timeouts(timeouts)
        .retry(RetryPolicy::default().max_attempts(global.max_retries.saturating_add(1)))
        .rate_limit(RateLimit::per_minute(global.rate_limit))
        .concurrency(global.concurrency)
        .user_agent(concat!("trillet-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = present(base_url) {
        builder = builder.base_url(url);
    }
    builder.build().map_err(Fatal::from)
}

/// A progress bar on standard error, only for several ids on a terminal.
fn progress_bar(global: &Global, total: usize) -> ProgressBar {
    if global.quiet || total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_a_file_skip_blank_lines_and_follow_the_arguments() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "b\n\n  c  \n{{\"_id\":\"d\",\"x\":1}}\n").unwrap();
        let args = GetArgs {
            ids: vec!["a".into()],
            ids_from: Some(file.path().to_owned()),
            output: None,
        };
        assert_eq!(read_ids(&args).unwrap(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let args = GetArgs {
            ids: vec![],
            ids_from: Some("/nonexistent/ids.txt".into()),
            output: None,
        };
        assert!(
            read_ids(&args)
                .unwrap_err()
                .0
                .contains("cannot read ids from /nonexistent/ids.txt")
        );
    }
}
