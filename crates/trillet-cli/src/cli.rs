//! The command line: every option, its environment fallback and its help text.
//! Parsing only; the commands live in `cmd_*.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

const AFTER_HELP: &str = "\
Exit status:
  0    every record was fetched
  1    some ids failed (each is reported on standard error; the others are printed)
  2    usage or configuration error (e.g. a missing TRILLET_API_KEY)
  129  hung up (SIGHUP)
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)
       after a signal, records already fetched are printed first, and every
       printed line is whole

Examples:
  trillet --mock call-history get 1234567890abcdef
  trillet call-history get --ids-from ids.txt --output jsonl > calls.jsonl
  trillet --mock call-history get a1 b2 missing-3 --output table";

/// Fetch Trillet AI call histories.
///
/// Credentials come from TRILLET_API_KEY (or --api-key-file) and TRILLET_WORKSPACE_ID
/// (or --workspace-id); --mock runs everything against a built-in mock server
/// instead, with no account.
#[derive(Debug, Parser)]
#[command(name = "trillet", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// API key (sent as x-api-key; never printed). On the command line it is
    /// visible to other users (`ps`) while the command runs: TRILLET_API_KEY or
    /// --api-key-file is the safe way
    #[arg(long, env = trillet::ENV_API_KEY, hide_env_values = true, global = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,

    /// Read the API key from the first line of FILE ("-": standard input), so it
    /// is on no command line; it wins over --api-key and TRILLET_API_KEY
    // No `conflicts_with = "api_key"`: clap counts a value from the environment as
    // given, so an exported TRILLET_API_KEY would make the file unusable.
    #[arg(long, value_name = "FILE|-", global = true)]
    pub api_key_file: Option<PathBuf>,

    /// Workspace id (sent as x-workspace-id)
    #[arg(long, env = trillet::ENV_WORKSPACE_ID, hide_env_values = true, global = true)]
    pub workspace_id: Option<String>,

    /// API base URL [default: https://api.trillet.ai]
    #[arg(long, env = trillet::ENV_BASE_URL, hide_env_values = true, global = true)]
    pub base_url: Option<String>,

    /// Seconds allowed for each attempt
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_seconds, global = true)]
    pub timeout: f64,

    /// Seconds allowed for each id (or page) in all: every attempt, backoff and
    /// server-requested wait included [default: none]
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, global = true)]
    pub deadline: Option<f64>,

    /// Retries after a failed attempt (429, 5xx, timeouts, connection errors)
    #[arg(long, value_name = "N", default_value_t = 2, global = true)]
    pub max_retries: u32,

    /// Requests per minute, client-side (0: no limit) [default: 60, the Developer
    /// plan; with --mock: no limit]; for `mock serve`, the limit the mock enforces per
    /// API key
    #[arg(long, value_name = "PER_MINUTE", global = true)]
    pub rate_limit: Option<u32>,

    /// Requests in flight at once in a batch (at least 1)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = parse_positive, global = true)]
    pub concurrency: usize,

    /// The largest response body accepted, in bytes [default: 4 MiB]
    #[arg(long, value_name = "BYTES", value_parser = parse_positive, global = true, hide_short_help = true)]
    pub max_body_bytes: Option<usize>,

    /// Run against a built-in mock server on a free loopback port (no account needed)
    #[arg(long, global = true)]
    pub mock: bool,

    /// With --mock: probability of a random retryable fault per request (0..=1)
    #[arg(
        long,
        value_name = "RATE",
        default_value_t = 0.0,
        value_parser = parse_probability,
        global = true,
        hide_short_help = true
    )]
    pub mock_chaos: f64,

    /// With --mock: seed of the random faults
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        global = true,
        hide_short_help = true
    )]
    pub mock_seed: u64,

    /// More logs on standard error (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No progress bar and no summary line
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call-history records
    #[command(subcommand)]
    CallHistory(CallHistoryCommand),

    /// Any operation of the built-in spec, by its operationId (`trillet api --list`)
    Api(ApiArgs),

    /// The mock server
    #[command(subcommand)]
    Mock(MockCommand),

    /// The spec against real traffic: `spec drift`
    #[command(subcommand)]
    Spec(crate::cmd_spec::SpecCommand),

    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

const GET_EXAMPLES: &str = "\
Examples:
  trillet --mock call-history get 1234567890abcdef
  trillet call-history get --ids-from ids.txt > calls.jsonl
  trillet call-history get --ids-from ids.txt --output-file calls.jsonl --resume
  trillet --mock call-history list --limit 25 | trillet --mock call-history get --ids-from -";

const LIST_EXAMPLES: &str = "\
Examples:
  trillet --mock call-history list --limit 25 --output table
  trillet call-history list --status completed --since 2025-01-01 > completed.jsonl
  trillet call-history list --ids-only --limit 100 | trillet call-history get --ids-from -";

#[derive(Debug, Subcommand)]
pub enum CallHistoryCommand {
    /// Fetch records by id: one id prints pretty JSON, several print one JSON object
    /// per line, in input order. Output is exactly what the API sent.
    #[command(after_help = GET_EXAMPLES)]
    Get(GetArgs),

    /// List records, newest first, one JSON object per line as pages arrive.
    /// `--ids-only` output (or the JSON lines) can be piped into `get --ids-from -`.
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only calls with this status (e.g. completed, failed, ongoing, active, in-progress)
    #[arg(long)]
    pub status: Option<String>,

    /// Only calls in this direction (inbound, outbound, bidirectional)
    #[arg(long)]
    pub direction: Option<String>,

    /// Only calls of this kind (sip, web)
    #[arg(long, value_parser = parse_call_type)]
    pub call_type: Option<trillet::CallType>,

    /// Only calls handled by this agent id
    #[arg(long, value_name = "AGENT_ID")]
    pub agent: Option<String>,

    /// Free-text search
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Only calls from this time on (RFC 3339, or a date: 2025-01-31)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,

    /// Only calls up to this time (RFC 3339, or a date: the end of that day)
    #[arg(long, value_name = "TIME", value_parser = parse_time_until)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,

    /// At most this many records
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Records per request (at least 1)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,

    /// Output format
    #[arg(long, short, value_enum, default_value = "jsonl")]
    pub output: Output,

    /// Print only the ids, one per line
    #[arg(long, conflicts_with = "output")]
    pub ids_only: bool,

    /// After the batch, print to standard error what the records carry that the
    /// spec does not describe (as `trillet spec drift` would)
    #[arg(long)]
    pub drift: bool,
}

/// A call type: a closed set in the spec, so anything else is a usage error listing
/// the values the generated model knows.
fn parse_call_type(text: &str) -> Result<trillet::CallType, String> {
    text.parse().map_err(|_| {
        let known = schemars::schema_for!(trillet::CallType);
        let known = known
            .as_value()
            .pointer("/enum")
            .and_then(|v| v.as_array())
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        format!("expected one of: {known}")
    })
}

/// A number of seconds above zero that fits a duration.
fn parse_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| "expected a number of seconds".to_owned())?;
    match std::time::Duration::try_from_secs_f64(seconds) {
        Ok(d) if !d.is_zero() => Ok(seconds),
        _ => Err("expected a positive number of seconds that fits a duration".into()),
    }
}

/// A secret (its Debug output is redacted).
fn parse_secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

/// A whole number of at least 1.
fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".into()),
    }
}

/// A probability, 0 to 1.
fn parse_probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a number from 0 to 1".into()),
    }
}

/// RFC 3339, or a calendar date meaning its start (UTC).
fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    parse_time_at(text, chrono::NaiveTime::MIN)
}

/// RFC 3339, or a calendar date meaning its last second (UTC).
fn parse_time_until(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let end_of_day = chrono::NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(chrono::NaiveTime::MIN);
    parse_time_at(text, end_of_day)
}

fn parse_time_at(
    text: &str,
    time: chrono::NaiveTime,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| date.and_time(time).and_utc())
        .map_err(|_| {
            format!("expected RFC 3339 (2025-01-31T12:00:00Z) or a date (2025-01-31), not {text:?}")
        })
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Call-history ids
    #[arg(value_name = "ID", required_unless_present = "ids_from")]
    pub ids: Vec<String>,

    /// Read ids from a file ("-": standard input), read as they arrive: one per line
    /// (LF, CRLF or CR), blank lines and lines starting with `#` skipped, a leading
    /// BOM ignored; a JSON object line stands for its `_id` (so `list` output pipes in)
    #[arg(long, value_name = "FILE|-")]
    pub ids_from: Option<PathBuf>,

    /// Output format [default: json for one id, jsonl for several]; json prints one
    /// document (an array for several records)
    #[arg(long, short, value_enum)]
    pub output: Option<Output>,

    /// Append the records to this file (JSON lines) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// With --output-file: skip ids whose record the file already holds, and repair
    /// a last line cut short by a crash, so an interrupted batch can be run again
    #[arg(long, requires = "output_file")]
    pub resume: bool,

    /// After the batch, print to standard error what the records carry that the
    /// spec does not describe (as `trillet spec drift` would)
    #[arg(long)]
    pub drift: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Pretty JSON, one record after another
    Json,
    /// One compact JSON object per line
    Jsonl,
    /// A table: id, direction, status, start, duration, charge, summary
    Table,
}

/// `trillet api`: its operations are subcommands added at run time from the
/// embedded spec (`cmd_api::with_operations`); only `--list` is declared here.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Print every operation: id, method, path and summary
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Subcommand)]
pub enum MockCommand {
    /// Run the mock server until Ctrl-C
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 4010)]
    pub port: u16,

    /// Probability of a random retryable fault per request (0..=1)
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub chaos: f64,

    /// Seed of the random faults
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub limits: crate::cmd_mock::ServeLimits,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        let (spec, operations) = crate::cmd_api::operations().unwrap();
        crate::cmd_api::with_operations(Cli::command(), &spec, &operations).debug_assert();
    }

    #[test]
    fn every_operation_of_the_spec_is_an_api_subcommand() {
        let (spec, operations) = crate::cmd_api::operations().unwrap();
        let command = crate::cmd_api::with_operations(Cli::command(), &spec, &operations);
        let api = command.find_subcommand("api").unwrap();
        let names: Vec<&str> = api.get_subcommands().map(|c| c.get_name()).collect();
        let ids: Vec<&str> = operations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(names, ids);
        assert!(!ids.is_empty());
    }

    #[test]
    fn times_accept_rfc3339_and_dates() {
        assert_eq!(
            parse_time("2025-01-31").unwrap().to_rfc3339(),
            "2025-01-31T00:00:00+00:00"
        );
        assert_eq!(
            parse_time_until("2025-01-31").unwrap().to_rfc3339(),
            "2025-01-31T23:59:59+00:00"
        );
        assert_eq!(
            parse_time("2025-01-31T12:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2025-01-31T10:00:00+00:00"
        );
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn global_options_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "trillet",
            "call-history",
            "get",
            "a",
            "--mock",
            "--rate-limit",
            "0",
        ])
        .unwrap();
        assert!(cli.global.mock);
        assert_eq!(cli.global.rate_limit, Some(0));
    }
}
