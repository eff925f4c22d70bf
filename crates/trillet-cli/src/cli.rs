//! The command line: every option, its environment fallback and its help text.
//! Parsing only; the commands live in `cmd_*.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status:
  0    every record was fetched
  1    some ids failed (each is reported on standard error; the others are printed)
  2    usage or configuration error (e.g. a missing TRILLET_API_KEY)
  130  interrupted (Ctrl-C); what was printed stays printed

Examples:
  trillet --mock call-history get 1234567890abcdef
  trillet call-history get --ids-from ids.txt --output jsonl > calls.jsonl
  trillet --mock call-history get a1 b2 missing-3 --output table";

/// Fetch Trillet AI call histories.
///
/// Credentials come from --api-key/--workspace-id or TRILLET_API_KEY/TRILLET_WORKSPACE_ID;
/// --mock runs everything against a built-in mock server instead, with no account.
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
pub struct Global {
    /// API key (sent as x-api-key; never printed)
    #[arg(long, env = "TRILLET_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,

    /// Workspace id (sent as x-workspace-id)
    #[arg(long, env = "TRILLET_WORKSPACE_ID", global = true)]
    pub workspace_id: Option<String>,

    /// API base URL [default: https://api.trillet.ai]
    #[arg(long, env = "TRILLET_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Seconds allowed for each attempt
    #[arg(long, value_name = "SECS", default_value_t = 30.0, global = true)]
    pub timeout: f64,

    /// Retries after a failed attempt (429, 5xx, timeouts, connection errors)
    #[arg(long, value_name = "N", default_value_t = 2, global = true)]
    pub max_retries: u32,

    /// Requests per minute, client-side (0: no limit); for `mock serve`, the limit the
    /// mock enforces per API key
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 60, global = true)]
    pub rate_limit: u32,

    /// Requests in flight at once in a batch
    #[arg(long, value_name = "N", default_value_t = 8, global = true)]
    pub concurrency: usize,

    /// Run against a built-in mock server on a free loopback port (no account needed)
    #[arg(long, global = true)]
    pub mock: bool,

    /// With --mock: probability of a random retryable fault per request (0..=1)
    #[arg(
        long,
        value_name = "RATE",
        default_value_t = 0.0,
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

    /// The mock server
    #[command(subcommand)]
    Mock(MockCommand),

    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum CallHistoryCommand {
    /// Fetch records by id: one id prints pretty JSON, several print one JSON object
    /// per line, in input order. Output is exactly what the API sent.
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Call-history ids
    #[arg(value_name = "ID", required_unless_present = "ids_from")]
    pub ids: Vec<String>,

    /// Read ids from a file, one per line ("-": standard input)
    #[arg(long, value_name = "FILE|-")]
    pub ids_from: Option<PathBuf>,

    /// Output format [default: json for one id, jsonl for several]
    #[arg(long, short, value_enum)]
    pub output: Option<Output>,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
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
        assert_eq!(cli.global.rate_limit, 0);
    }
}
