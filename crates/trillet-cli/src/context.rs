//! Where the client (and, with `--mock`, the built-in mock it talks to) is built,
//! once, from the global options; the command files only use it. The library's own
//! checks and names are used here, with the flag a CLI user can reach added to them.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use trillet::{
    Client, ClientBuilder, ConfigError, ENV_API_KEY, ENV_BASE_URL, ENV_WORKSPACE_ID, RateLimit,
    RetryPolicy, Timeouts,
};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

use crate::cli::Global;
use crate::{Fatal, exit};

/// The API's Developer plan: what the client keeps to when no limit is given.
const DEFAULT_PER_MINUTE: u32 = 60;

/// A ready client; with `--mock`, the mock it talks to lives as long as this.
pub struct Context {
    pub client: Client,
    _mock: Option<MockServer>,
}

impl Context {
    pub async fn new(global: &Global) -> Result<Self, Fatal> {
        let mock = match global.mock {
            true => Some(start_mock(global).await?),
            false => None,
        };
        let client = build_client(global, mock.as_ref())?;
        Ok(Self {
            client,
            _mock: mock,
        })
    }
}

/// The client-side rate: as given; with `--mock`, none unless one is asked for (the
/// mock is on this machine); otherwise the Developer plan's 60 a minute.
fn per_minute(global: &Global) -> u32 {
    match (global.rate_limit, global.mock) {
        (Some(n), _) => n,
        (None, true) => 0,
        (None, false) => DEFAULT_PER_MINUTE,
    }
}

async fn start_mock(global: &Global) -> Result<MockServer, Fatal> {
    // The mock enforces the same rate the client keeps, as the real API would.
    let rate = per_minute(global);
    let config = MockConfig {
        rate_limit_per_minute: (rate > 0).then_some(rate),
        chaos: global.mock_chaos,
        seed: global.mock_seed,
        ..MockConfig::default()
    };
    MockServer::start(config)
        .await
        .map_err(|e| Fatal(format!("cannot start the mock server: {e}")))
}

fn build_client(global: &Global, mock: Option<&MockServer>) -> Result<Client, Fatal> {
    let key = match mock {
        None => api_key(global)?,
        Some(_) => None,
    };
    // The flags already hold the environment's values (clap reads the same names).
    let lookup = |name: &str| match (mock, name) {
        (Some(_), ENV_API_KEY) => Some(MOCK_API_KEY.to_owned()),
        (Some(_), ENV_WORKSPACE_ID) => Some(MOCK_WORKSPACE_ID.to_owned()),
        (Some(server), ENV_BASE_URL) => Some(server.url()),
        (None, ENV_API_KEY) => key.as_ref().map(|k| k.expose_secret().to_owned()),
        (None, ENV_WORKSPACE_ID) => global.workspace_id.clone(),
        (None, ENV_BASE_URL) => global.base_url.clone(),
        _ => None,
    };
    let builder = ClientBuilder::from_env_with(lookup).map_err(|e| match e {
        ConfigError::MissingEnv(name) => {
            let flag = if name == ENV_API_KEY {
                "--api-key"
            } else {
                "--workspace-id"
            };
            let flag = if name == ENV_API_KEY {
                "--api-key-file"
            } else {
                flag
            };
            Fatal(format!(
                "{name} is not set: export it or pass {flag} (or try --mock)"
            ))
        }
        other => Fatal(other.to_string()),
    })?;
    // Both parsed by `cli::parse_seconds`, so they fit a duration.
    let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
    let mut timeouts = Timeouts::default().attempt(seconds(global.timeout));
    if let Some(deadline) = global.deadline {
        timeouts = timeouts.operation(seconds(deadline));
    }
    let mut builder = builder
        .timeouts(timeouts)
        .retry(RetryPolicy::default().max_retries(global.max_retries))
        .rate_limit(RateLimit::per_minute(per_minute(global)))
        .concurrency(global.concurrency)
        .user_agent(concat!("trillet-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(limit) = global.max_body_bytes {
        builder = builder.max_body_bytes(limit);
    }
    builder.build().map_err(|e| Fatal(e.to_string()))
}

/// The longest error chain shown: the chain can quote a URL (a transport error's
/// source names it), and a URL can be as long as the parameters given.
const MAX_DESCRIBED: usize = 500;

/// The API key given: from `--api-key-file` (read now), else `--api-key` or
/// TRILLET_API_KEY.
pub fn api_key(global: &Global) -> Result<Option<SecretString>, Fatal> {
    match &global.api_key_file {
        Some(path) => read_key_file(path).map(Some),
        None => Ok(global.api_key.clone()),
    }
}

/// The API key on the first line of `path` ("-": standard input), without its
/// line end and surrounding blanks. Only that line is read, and at most
/// [`MAX_KEY_LINE`] bytes of it, so a pipe (`<(pass show trillet)`) works and a
/// device cannot make it read for ever. No message shows any of the content.
fn read_key_file(path: &Path) -> Result<SecretString, Fatal> {
    let name = if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let mut line = Vec::new();
    let limit = MAX_KEY_LINE as u64 + 1;
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_until(b'\n', &mut line)
    } else {
        std::fs::File::open(path)
            .and_then(|file| BufReader::new(file.take(limit)).read_until(b'\n', &mut line))
    };
    read.map_err(|e| {
        Fatal(format!(
            "cannot read the API key from {name}: {e} (--api-key-file)"
        ))
    })?;
    if line.len() > MAX_KEY_LINE {
        return Err(Fatal(format!(
            "{name}: the first line is longer than {MAX_KEY_LINE} bytes: not an API key file \
             (--api-key-file wants a file holding the key on its first line)"
        )));
    }
    // Trimmed in place, so no copy of the key is left behind unzeroed.
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    line.truncate(end);
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    line.drain(..start);
    if line.is_empty() {
        return Err(Fatal(format!(
            "{name} holds no API key (its first line is empty): put the key on it"
        )));
    }
    let key = String::from_utf8(line)
        .map_err(|_| Fatal(format!("{name}: the API key is not UTF-8 text")))?;
    Ok(SecretString::from(key))
}

/// The longest first line of an `--api-key-file`.
const MAX_KEY_LINE: usize = 4096;

/// An error of the library as a CLI user reads it: the chain down to its root cause
/// on one line (cut to [`MAX_DESCRIBED`] characters), with the flag that changes
/// what it is about.
pub fn describe(error: &trillet::Error) -> String {
    let mut text = crate::term::short(&crate::term::chain(error), MAX_DESCRIBED).into_owned();
    let hint = match error {
        _ if error.is_rate_limited() => Some("lower --rate-limit"),
        trillet::Error::BodyTooLarge { .. } => Some("raise it with --max-body-bytes"),
        trillet::Error::Timeout { .. } => Some("see --timeout and --deadline"),
        _ => None,
    };
    if let Some(hint) = hint {
        text.push_str("; ");
        text.push_str(hint);
    }
    text
}

/// The exit status for a command ended by a library error, by its kind: the
/// configuration, or a request that cannot be built from what was given, is a usage
/// error (nothing was sent); anything else is a failure of the call.
pub fn exit_code(error: &trillet::Error) -> u8 {
    if error.is_config() || error.is_invalid_request() {
        exit::USAGE
    } else {
        exit::SOME_FAILED
    }
}
