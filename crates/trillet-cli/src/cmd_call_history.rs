//! `trillet call-history get`: fetch records, print them losslessly in input order,
//! report failures per id and keep going.

use std::io::{BufRead, IsTerminal};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trillet::{Client, RateLimit, RetryPolicy};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

use crate::cli::{GetArgs, Global, Output};
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
    let interrupted = {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            let next = tokio::select! {
                next = results.next() => next,
                _ = &mut ctrl_c => break true,
            };
            let Some((id, result)) = next else {
                break false;
            };
            progress.inc(1);
            match result {
                Ok(raw) => {
                    if let Err(e) = writer.record(&id, &raw) {
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            // The reader went away (`| head`): stop quietly.
                            break false;
                        }
                        return Err(Fatal(format!("cannot write the output: {e}")));
                    }
                    fetched += 1;
                }
                Err(e) => {
                    failed += 1;
                    progress.suspend(|| eprintln!("error: {id}: {e}"));
                }
            }
        }
    };
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

/// Ids from the arguments, then from `--ids-from` (one per line, blank lines skipped).
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
            let id = line.trim();
            if !id.is_empty() {
                ids.push(id.to_owned());
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
    if !(global.timeout.is_finite() && global.timeout > 0.0) {
        return Err(Fatal(
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    let mut builder = Client::builder()
        .api_key(api_key)
        .workspace_id(workspace_id)
        .timeout(Duration::from_secs_f64(global.timeout))
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
    use std::io::Write;

    #[test]
    fn ids_from_a_file_skip_blank_lines_and_follow_the_arguments() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "b\n\n  c  \n").unwrap();
        let args = GetArgs {
            ids: vec!["a".into()],
            ids_from: Some(file.path().to_owned()),
            output: None,
        };
        assert_eq!(read_ids(&args).unwrap(), ["a", "b", "c"]);
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
