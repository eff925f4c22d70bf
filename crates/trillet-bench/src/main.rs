//! `trillet-bench [--quick] [--trillet <path>]`: measures every case of the
//! performance budget side by side and prints the results as one JSON document on
//! standard output (progress goes to standard error). `cargo xtask bench` builds
//! and runs it, adds the criterion and codegen figures and renders the table.
//!
//! Exits 1 if a case could not be measured (an error, not a missed goal).

mod rss;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use trillet::RateLimit;
use trillet_bench::codec::{self, corpus, corpus_bytes};
use trillet_bench::net::{self, BoxError};
use trillet_bench::paired::{self, Comparison};

const USAGE: &str = "\
usage: trillet-bench [--quick] [--trillet <path to the trillet binary>] [--only <groups>]

groups (comma-separated, default all): cpu, request, batch, rate, cli
(--only is for profiling one case, e.g. `perf record trillet-bench --only batch`)";

/// How long each case runs: `--quick` is a smoke test of a few seconds.
struct Settings {
    cpu_rounds: usize,
    cpu_batch: Duration,
    latency_warmup: usize,
    latency_rounds: usize,
    latency_per_round: usize,
    batch_ids: usize,
    batch_concurrency: usize,
    batch_rounds: usize,
    rate_ids: usize,
    rate_per_minute: u32,
    rate_concurrency: usize,
    rss_ids: usize,
    extras: bool,
    only: Option<Vec<String>>,
}

impl Settings {
    fn new(quick: bool) -> Self {
        Self {
            cpu_rounds: if quick { 15 } else { 201 },
            cpu_batch: Duration::from_millis(if quick { 2 } else { 5 }),
            latency_warmup: if quick { 50 } else { 500 },
            latency_rounds: if quick { 20 } else { 300 },
            latency_per_round: 10,
            batch_ids: 1000,
            batch_concurrency: 32,
            batch_rounds: if quick { 1 } else { 9 },
            rate_ids: if quick { 40 } else { 200 },
            rate_per_minute: 1200,
            rate_concurrency: 8,
            rss_ids: if quick { 2_000 } else { 10_000 },
            extras: !quick,
            only: None,
        }
    }

    /// Whether the case group `name` runs.
    fn runs(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    /// Stable key (criterion cross-checks and scripts use it).
    key: &'static str,
    measure: String,
    result: String,
    /// The figure the goal is about.
    value: Option<f64>,
    goal: String,
    /// `None`: information, no goal.
    met: Option<bool>,
    notes: String,
}

#[derive(Debug, Serialize)]
struct Report {
    mode: &'static str,
    rows: Vec<Row>,
    /// Absolute figures and parameters, for context only.
    context: Vec<String>,
    errors: Vec<String>,
}

fn main() -> ExitCode {
    let mut quick = false;
    let mut trillet: Option<PathBuf> = None;
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--trillet" => match args.next() {
                Some(path) => trillet = Some(PathBuf::from(path)),
                None => return usage_error("--trillet needs a path"),
            },
            "--only" => match args.next() {
                Some(groups) => only = Some(groups.split(',').map(str::to_owned).collect()),
                None => return usage_error("--only needs a list of groups"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument `{other}`")),
        }
    }
    let mut settings = Settings::new(quick);
    settings.only = only;
    let mut report = Report {
        mode: if quick { "quick" } else { "full" },
        rows: Vec::new(),
        context: Vec::new(),
        errors: Vec::new(),
    };

    if settings.runs("cpu") {
        cpu_cases(&settings, &mut report);
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(network_cases(&settings, &mut report)),
        Err(e) => report
            .errors
            .push(format!("cannot start a Tokio runtime: {e}")),
    }
    if settings.runs("request") {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                if let Err(e) = runtime.block_on(request_cpu_case(&settings, &mut report)) {
                    report.errors.push(format!("one request, one thread: {e}"));
                }
            }
            Err(e) => report
                .errors
                .push(format!("cannot start a Tokio runtime: {e}")),
        }
    }
    match &trillet {
        _ if !settings.runs("cli") => {}
        Some(path) => cli_cases(&settings, path, &mut report),
        None => report
            .errors
            .push("no --trillet <path>: the CLI memory case was not run".into()),
    }

    // The order: codec, request, batch, output, rate limit, memory.
    const ORDER: [&str; 13] = [
        "decode",
        "decode_string_dates",
        "encode",
        "request",
        "request_one_thread",
        "batch",
        "lossless",
        "lossless_vs_decode",
        "lossless_drift",
        "rate_limited",
        "rate_limited_drained",
        "rss",
        "rss_small",
    ];
    report.rows.sort_by_key(|row| {
        ORDER
            .iter()
            .position(|k| *k == row.key)
            .unwrap_or(ORDER.len())
    });
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("error: cannot encode the report: {e}");
            return ExitCode::FAILURE;
        }
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        for error in &report.errors {
            eprintln!("error: {error}");
        }
        ExitCode::FAILURE
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n{USAGE}");
    ExitCode::from(2)
}

fn progress(what: &str) {
    eprintln!("trillet-bench: {what}");
}

fn times(x: f64) -> String {
    format!("{x:.3}×")
}

fn spread(low: f64, high: f64) -> String {
    format!("middle half of rounds {low:.3}–{high:.3}")
}

/// A throughput row: at least `goal` times the baseline's throughput.
fn throughput_row(
    key: &'static str,
    measure: &str,
    c: &Comparison,
    goal: Option<f64>,
    extra: &str,
) -> Row {
    let value = c.throughput_ratio();
    let (low, high) = c.throughput_spread();
    Row {
        key,
        measure: measure.to_owned(),
        result: times(value),
        value: Some(value),
        goal: goal.map_or_else(|| "info".to_owned(), |g| format!("≥ {g:.2}×")),
        met: goal.map(|g| value >= g),
        notes: format!("{}; {} rounds{extra}", spread(low, high), c.rounds),
    }
}

fn cpu_cases(settings: &Settings, report: &mut Report) {
    let corpus = corpus();
    let bytes = corpus_bytes(&corpus);
    let (rounds, batch) = (settings.cpu_rounds, settings.cpu_batch);
    report.context.push(format!(
        "corpus: {} records, {bytes} bytes (the spec's {} CallHistory examples + {} mock-generated records)",
        corpus.len(),
        corpus.len() - codec::GENERATED_RECORDS,
        codec::GENERATED_RECORDS
    ));
    let per_record = |ns: f64| ns / corpus.len() as f64;

    progress("decode");
    let decode = paired::compare_cpu(
        rounds,
        batch,
        || codec::decode_generated(&corpus),
        || codec::decode_hand(&corpus),
    );
    report.rows.push(throughput_row(
        "decode",
        "decode of a `CallHistory` JSON: generated model vs hand-written `#[derive(Deserialize)]` struct of the same fields, throughput",
        &decode,
        Some(0.95),
        "",
    ));
    let dates = paired::compare_cpu(
        rounds,
        batch,
        || codec::decode_generated(&corpus),
        || codec::decode_hand_string_dates(&corpus),
    );
    report.rows.push(throughput_row(
        "decode_string_dates",
        "decode: generated model vs the same hand-written struct with `String` dates (what parsing the two dates costs)",
        &dates,
        None,
        "",
    ));
    report.context.push(format!(
        "decode, median per record: generated {:.0} ns, hand-written {:.0} ns, hand-written with String dates {:.0} ns",
        per_record(decode.subject_ns),
        per_record(decode.baseline_ns),
        per_record(dates.baseline_ns)
    ));

    progress("encode");
    match (
        codec::decoded_generated(&corpus),
        codec::decoded_hand(&corpus),
    ) {
        (Ok(generated), Ok(hand)) => {
            let (mut out_g, mut out_h) = (Vec::new(), Vec::new());
            let encode = paired::compare_cpu(
                rounds,
                batch,
                || codec::encode(&generated, &mut out_g),
                || codec::encode(&hand, &mut out_h),
            );
            report.rows.push(throughput_row(
                "encode",
                "encode, same comparison (`serde_json::to_writer`), throughput",
                &encode,
                Some(0.95),
                "",
            ));
            report.context.push(format!(
                "encode, median per record: generated {:.0} ns, hand-written {:.0} ns",
                per_record(encode.subject_ns),
                per_record(encode.baseline_ns)
            ));
        }
        (Err(e), _) | (_, Err(e)) => report
            .errors
            .push(format!("the corpus does not decode: {e}")),
    }

    progress("lossless output");
    let (mut out_l, mut out_t) = (Vec::new(), Vec::new());
    let lossless = paired::compare_cpu(
        rounds,
        batch,
        || codec::lossless_lines(&corpus, &mut out_l),
        || codec::typed_lines(&corpus, &mut out_t),
    );
    let value = lossless.time_ratio;
    report.rows.push(Row {
        key: "lossless",
        measure: "CLI lossless mode vs typed-only, per record: typed decode + the server's JSON re-emitted (jsonxf) vs typed decode + the model printed (serde), time".into(),
        result: times(value),
        value: Some(value),
        goal: "≤ 1.50×".into(),
        met: Some(value <= 1.5),
        notes: format!(
            "{}; {} rounds",
            spread(lossless.spread.0, lossless.spread.1),
            lossless.rounds
        ),
    });
    let alone = paired::compare_cpu(
        rounds,
        batch,
        || codec::lossless_lines(&corpus, &mut out_l),
        || codec::decode_generated(&corpus),
    );
    report.rows.push(Row {
        key: "lossless_vs_decode",
        measure: "CLI lossless per-record work vs the typed decode alone (no output), time".into(),
        result: times(alone.time_ratio),
        value: Some(alone.time_ratio),
        goal: "info".into(),
        met: None,
        notes: format!(
            "{}; {} rounds",
            spread(alone.spread.0, alone.spread.1),
            alone.rounds
        ),
    });
    report.context.push(format!(
        "per record, median: lossless line {:.0} ns, typed line {:.0} ns, typed decode alone {:.0} ns",
        per_record(lossless.subject_ns),
        per_record(lossless.baseline_ns),
        per_record(alone.baseline_ns)
    ));

    progress("lossless output with --drift");
    match trillet_spec::Spec::bundled() {
        Ok(spec) => match trillet_spec::drift::DriftAnalyzer::with_schema(&spec, "CallHistory") {
            Ok(mut analyzer) => {
                let (mut out_d, mut out_p) = (Vec::new(), Vec::new());
                let drift = paired::compare_cpu(
                    rounds,
                    batch,
                    || codec::lossless_lines_with_drift(&corpus, &mut out_d, &mut analyzer),
                    || codec::lossless_lines(&corpus, &mut out_p),
                );
                report.rows.push(Row {
                    key: "lossless_drift",
                    measure: "lossless per-record work with the drift analysis inline (the record's text also fed to `trillet_spec::drift`) vs without, time: the analysis's own cost".into(),
                    result: times(drift.time_ratio),
                    value: Some(drift.time_ratio),
                    goal: "info".into(),
                    met: None,
                    notes: format!(
                        "{}; {} rounds; the CLI's `--drift` runs the analysis on its own thread (`BackgroundAnalyzer`), so the output path only copies each text into a bounded queue; without --drift no analysis code runs",
                        spread(drift.spread.0, drift.spread.1),
                        drift.rounds
                    ),
                });
                let analysis_ns =
                    (per_record(drift.subject_ns) - per_record(drift.baseline_ns)).max(1.0);
                report.context.push(format!(
                    "per record, median: lossless line {:.0} ns, with the analysis inline {:.0} ns; the analysis alone keeps up with {:.0} records/s on one core (the API's default pace is 1 request/s)",
                    per_record(drift.baseline_ns),
                    per_record(drift.subject_ns),
                    1e9 / analysis_ns
                ));
            }
            Err(e) => report.errors.push(format!("drift analyzer: {e}")),
        },
        Err(e) => report.errors.push(format!("drift analyzer: {e}")),
    }
}

async fn network_cases(settings: &Settings, report: &mut Report) {
    if (settings.runs("request") || settings.runs("batch"))
        && let Err(e) = unthrottled(settings, report).await
    {
        report.errors.push(format!("unthrottled cases: {e}"));
    }
    if !settings.runs("rate") {
        return;
    }
    progress("rate-limited batch");
    match net::rate_limited_batch(
        settings.rate_ids,
        settings.rate_per_minute,
        settings.rate_concurrency,
        false,
    )
    .await
    {
        Ok(outcome) => {
            let ratio = outcome.ratio();
            let met = ratio >= 0.97 && outcome.too_many_requests == 0 && outcome.failed == 0;
            report.rows.push(Row {
                key: "rate_limited",
                measure: format!(
                    "rate-limited batch: {} ids, client at {}/min (burst 1) vs a mock enforcing {}/min: achieved / configured rate, 429s seen",
                    outcome.ids, settings.rate_per_minute, settings.rate_per_minute
                ),
                result: format!(
                    "{ratio:.3} ({:.2}/s of {:.0}/s), {} × 429",
                    outcome.achieved_per_sec, outcome.configured_per_sec, outcome.too_many_requests
                ),
                value: Some(ratio),
                goal: "≥ 0.97, zero 429".into(),
                met: Some(met),
                notes: format!(
                    "ids / elapsed, {:.2} s from first request to last result; {} requests, {} failed",
                    outcome.elapsed.as_secs_f64(),
                    outcome.requests,
                    outcome.failed
                ),
            });
        }
        Err(e) => report.errors.push(format!("rate-limited batch: {e}")),
    }
    if settings.extras {
        progress("rate-limited batch, drained bucket");
        match net::rate_limited_batch(
            settings.rate_ids,
            settings.rate_per_minute,
            settings.rate_concurrency,
            true,
        )
        .await
        {
            Ok(outcome) => report.rows.push(Row {
                key: "rate_limited_drained",
                measure: "the same batch after the mock's bucket was emptied (another process spent the budget): achieved / configured rate, 429s".into(),
                result: format!(
                    "{:.3} ({:.2}/s), {} × 429",
                    outcome.ratio(),
                    outcome.achieved_per_sec,
                    outcome.too_many_requests
                ),
                value: Some(outcome.ratio()),
                goal: "info".into(),
                met: None,
                notes: format!(
                    "{} requests for {} ids, {} failed after retries",
                    outcome.requests, outcome.ids, outcome.failed
                ),
            }),
            Err(e) => report.errors.push(format!("drained rate-limited batch: {e}")),
        }
    }
}

async fn unthrottled(settings: &Settings, report: &mut Report) -> Result<(), BoxError> {
    let mock = net::start_mock(None).await?;
    let client = net::trillet_client(&mock, RateLimit::Off)?;
    let raw = net::Raw::new(&mock)?;

    if settings.runs("request") {
        request_case(settings, report, &client, &raw).await?;
    }
    if settings.runs("batch") {
        batch_case(settings, report, &client, &raw).await?;
    }
    mock.shutdown().await?;
    Ok(())
}

async fn request_case(
    settings: &Settings,
    report: &mut Report,
    client: &trillet::Client,
    raw: &net::Raw,
) -> Result<(), BoxError> {
    progress("one request");
    let latency = net::compare_latency(
        client,
        raw,
        net::SEED_ID,
        settings.latency_warmup,
        settings.latency_rounds,
        settings.latency_per_round,
    )
    .await?;
    report.rows.push(Row {
        key: "request",
        measure: "one request through `trillet::Client` vs raw `reqwest` (2 headers, GET, bytes, `from_slice`) against the loopback mock, median latency".into(),
        result: times(latency.ratio),
        value: Some(latency.ratio),
        goal: "≤ 1.05×".into(),
        met: Some(latency.ratio <= 1.05),
        notes: format!(
            "{} requests a side, interleaved; per-round {}",
            latency.requests,
            spread(latency.rounds.spread.0, latency.rounds.spread.1)
        ),
    });
    report.context.push(format!(
        "one request, median latency: trillet {:.1} µs, raw reqwest {:.1} µs (same mock, same runtime)",
        latency.client_us, latency.raw_us
    ));
    Ok(())
}

/// The single request again with the client, the baseline and the mock on one
/// thread: no thread hand-offs, so the ratio is the CPU cost of each path.
async fn request_cpu_case(settings: &Settings, report: &mut Report) -> Result<(), BoxError> {
    progress("one request, one thread");
    let mock = net::start_mock(None).await?;
    let client = net::trillet_client(&mock, RateLimit::Off)?;
    let raw = net::Raw::new(&mock)?;
    let latency = net::compare_latency(
        &client,
        &raw,
        net::SEED_ID,
        settings.latency_warmup,
        settings.latency_rounds,
        settings.latency_per_round,
    )
    .await?;
    report.rows.push(Row {
        key: "request_one_thread",
        measure: "the same request with client, baseline and mock on one current-thread runtime (no thread hand-offs: the CPU cost of each path, mock included)".into(),
        result: times(latency.ratio),
        value: Some(latency.ratio),
        goal: "info".into(),
        met: None,
        notes: format!(
            "{} requests a side; per-round {}",
            latency.requests,
            spread(latency.rounds.spread.0, latency.rounds.spread.1)
        ),
    });
    report.context.push(format!(
        "one request on one thread, median: trillet {:.1} µs, raw reqwest {:.1} µs",
        latency.client_us, latency.raw_us
    ));
    mock.shutdown().await?;
    Ok(())
}

async fn batch_case(
    settings: &Settings,
    report: &mut Report,
    client: &trillet::Client,
    raw: &net::Raw,
) -> Result<(), BoxError> {
    progress("batch");
    let ids = net::ids("batch", settings.batch_ids);
    let batch = net::compare_batches(
        client,
        raw,
        &ids,
        settings.batch_concurrency,
        settings.batch_rounds,
    )
    .await?;
    report.rows.push(throughput_row(
        "batch",
        &format!(
            "{}-id batch, limiter off, {} in flight: `call_histories` vs raw reqwest + futures `buffered`, throughput",
            thousands(batch.ids),
            settings.batch_concurrency
        ),
        &batch.rounds,
        Some(0.95),
        "",
    ));
    report.context.push(format!(
        "batch of {}, median: trillet {:.0} ids/s, raw reqwest {:.0} ids/s",
        batch.ids,
        batch.ids as f64 / (batch.rounds.subject_ns / 1e9),
        batch.ids as f64 / (batch.rounds.baseline_ns / 1e9)
    ));
    Ok(())
}

fn cli_cases(settings: &Settings, trillet: &std::path::Path, report: &mut Report) {
    progress("CLI peak memory");
    let command = format!(
        "trillet {} < {} ids > pipe",
        rss::cli_args().join(" "),
        thousands(settings.rss_ids)
    );
    let limit_kib = 64 * 1024;
    match rss::run_cli(trillet, settings.rss_ids) {
        Ok(run) => {
            let cross = if settings.extras {
                rss::peak_by_gnu_time(trillet, settings.rss_ids)
                    .map(|kib| format!("; GNU time's maxrss for the same run: {}", mib(kib)))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            report.rows.push(Row {
                key: "rss",
                measure: format!(
                    "{}-id CLI batch against the mock (`{command}`): peak RSS, output streamed to a pipe",
                    thousands(settings.rss_ids)
                ),
                result: run.peak_kib.map_or_else(|| "n/a (no /proc)".into(), mib),
                value: run.peak_kib.map(|k| k as f64 / 1024.0),
                goal: "< 64 MiB".into(),
                met: run.peak_kib.map(|k| k < limit_kib),
                notes: format!(
                    "VmHWM polled every 2 ms; {} lines, {} bytes out in {:.2} s{cross}",
                    run.lines,
                    run.bytes,
                    run.elapsed.as_secs_f64()
                ),
            });
            if settings.extras {
                let small = settings.rss_ids / 10;
                match rss::run_cli(trillet, small) {
                    Ok(small_run) => report.rows.push(Row {
                        key: "rss_small",
                        measure: format!(
                            "the same at {} ids (a flat peak means the output streams)",
                            thousands(small)
                        ),
                        result: small_run.peak_kib.map_or_else(|| "n/a".into(), mib),
                        value: small_run.peak_kib.map(|k| k as f64 / 1024.0),
                        goal: "info".into(),
                        met: None,
                        notes: format!("{:.2} s", small_run.elapsed.as_secs_f64()),
                    }),
                    Err(e) => report.errors.push(format!("CLI at {small} ids: {e}")),
                }
            }
        }
        Err(e) => report.errors.push(format!("CLI peak memory: {e}")),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(200), "200");
        assert_eq!(thousands(1_000), "1,000");
    }
}
