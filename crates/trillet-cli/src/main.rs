//! `trillet`: fetch Trillet AI call histories from a shell, or run the mock server.
//! `main` parses, sets up logging and maps every outcome to a documented exit status.

mod cli;
mod cmd_api;
mod cmd_call_history;
mod cmd_mock;
mod cmd_spec;
mod context;
mod ids;
mod outfile;
mod output;
mod shape;
mod term;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use cli::{CallHistoryCommand, Cli, Command, MockCommand};

/// Exit statuses, as documented in `--help`.
pub mod exit {
    pub const OK: u8 = 0;
    pub const SOME_FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const HUNG_UP: u8 = 129;
    pub const INTERRUPTED: u8 = 130;
    pub const TERMINATED: u8 = 143;
}

/// A failure that ends the command: one line saying what to do, exit status 2.
#[derive(Debug)]
pub struct Fatal(pub String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(error: E) -> Self {
        Fatal(error.to_string())
    }
}

/// The whole command line: the declared commands, and one `api` subcommand per
/// operation of the embedded spec. The spec is parsed only when the command line
/// can need it (`api`, `help api`, `completions`), so other commands start as fast
/// as before.
fn command() -> clap::Command {
    let needs_spec = std::env::args_os()
        .skip(1)
        .any(|a| a == "api" || a == "completions");
    if !needs_spec {
        return Cli::command();
    }
    match cmd_api::operations() {
        Ok((spec, operations)) => cmd_api::with_operations(Cli::command(), &spec, &operations),
        // `trillet api` reports the problem when it is run.
        Err(_) => Cli::command(),
    }
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let api = matches.subcommand_matches("api").cloned();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fatal(&Fatal(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(run(cli, api)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => fatal(&error),
    }
}

async fn run(cli: Cli, api: Option<ArgMatches>) -> Result<u8, Fatal> {
    match cli.command {
        Command::Api(args) => cmd_api::run(&cli.global, args.list, api.as_ref()).await,
        Command::CallHistory(CallHistoryCommand::Get(args)) => {
            cmd_call_history::get(&cli.global, args).await
        }
        Command::CallHistory(CallHistoryCommand::List(args)) => {
            cmd_call_history::list(&cli.global, args).await
        }
        Command::Mock(MockCommand::Serve(args)) => cmd_mock::serve(&cli.global, args).await,
        Command::Spec(command) => cmd_spec::run(command),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "trillet", &mut std::io::stdout());
            Ok(exit::OK)
        }
    }
}

fn fatal(error: &Fatal) -> ExitCode {
    term::eprint_line(&format!("error: {}", error.0));
    ExitCode::from(exit::USAGE)
}

/// Logs go to standard error: `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` wins.
/// `mock serve` logs its requests at info by default.
fn init_logging(cli: &Cli) {
    let verbosity = match cli.command {
        Command::Mock(_) => cli.global.verbose.max(1),
        _ => cli.global.verbose,
    };
    let default = match verbosity {
        0 => "error",
        1 => "warn,trillet=info,trillet_mock=info",
        2 => "info,trillet=debug,trillet_mock=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .init();
}
