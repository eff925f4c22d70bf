//! `trillet spec drift`: what recorded responses carry that the spec does not
//! describe, and the spec change that would describe it. The analysis is
//! `trillet_spec::drift`; this file reads the inputs and prints the report.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use trillet_spec::Spec;
use trillet_spec::drift::{BackgroundAnalyzer, DriftAnalyzer, DriftReport, SuggestOptions, render};

use crate::term::{self, eprint_line};
use crate::{Fatal, exit};

const DRIFT_HELP: &str = "\
Input: JSON lines or JSON documents (records, or raw bodies such as list pages),
or HAR files (a name ending in .har): each response body of an operation of the
spec, checked against the schema it documents for the status. A record that is
JSON but cannot be analysed (a number beyond 64-bit floats such as 1e400, nesting
deeper than 128 levels) is reported as unreadable with its line, and the rest is
analysed.

Exit status:
  0    nothing drifts: the spec describes every record
  1    something drifts (printed), a record violates the spec or is unreadable
  2    usage error: unknown schema, unreadable file, input that is not JSON

Examples:
  trillet --mock call-history list --limit 100 > calls.jsonl
  trillet spec drift calls.jsonl
  trillet spec drift --format markdown calls.jsonl > drift.md
  trillet spec drift --suggest --write-spec /tmp/trillet.yaml calls.jsonl
  trillet spec drift --suggest --suggest-violations session.har
  cargo xtask spec-diff --base spec/trillet.yaml --head /tmp/trillet.yaml";

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Compare recorded records with the spec: properties it does not name, enum
    /// values it does not list, type, format and null violations, missing required
    /// properties, and the keys of open objects
    #[command(after_help = DRIFT_HELP)]
    Drift(DriftArgs),
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Files of records as `call-history get` and `list` print them (JSON lines, or
    /// one JSON document; records or raw bodies), or HAR files (*.har); "-" or
    /// none: standard input
    #[arg(value_name = "FILE|-")]
    pub files: Vec<PathBuf>,

    /// Check every record against this component schema [default: chosen per
    /// record by its shape among the schemas the operations respond with]
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,

    /// Output format
    #[arg(long, short, value_enum, default_value = "text")]
    pub format: DriftFormat,

    /// Print the spec change that would describe what was seen (new optional
    /// properties, new values of open sets) instead of the report; with
    /// --format json, as a JSON Patch
    #[arg(long)]
    pub suggest: bool,

    /// With --suggest: also suggest the changes that would make the spec accept
    /// what violated it (a wider type, nullable, no format, a required property
    /// made optional, a value added to a closed set), each marked as loosening,
    /// for review
    #[arg(long, requires = "suggest")]
    pub suggest_violations: bool,

    /// With --suggest: also write the spec with the change applied to this file
    /// (YAML; comments of the original are not kept; written to a temporary file
    /// beside it, then renamed over it), for `cargo xtask spec-diff`
    #[arg(long, value_name = "FILE", requires = "suggest")]
    pub write_spec: Option<PathBuf>,

    /// Compare with this spec file instead of the spec built into trillet
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    /// For a terminal
    Text,
    /// For tools
    Json,
    /// For a pull request or an issue
    #[value(alias = "md")]
    Markdown,
}

pub fn run(command: SpecCommand) -> Result<u8, Fatal> {
    match command {
        SpecCommand::Drift(args) => drift(args),
    }
}

fn drift(args: DriftArgs) -> Result<u8, Fatal> {
    let spec = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?;
            Spec::parse(&text).map_err(|e| Fatal(format!("{}: {e}", path.display())))?
        }
        None => Spec::bundled()?,
    };
    let mut analyzer = match &args.schema {
        Some(name) => DriftAnalyzer::with_schema(&spec, name)?,
        None => DriftAnalyzer::new(&spec)?,
    };
    let stdin = [PathBuf::from("-")];
    let files = if args.files.is_empty() {
        &stdin[..]
    } else {
        &args.files[..]
    };
    for file in files {
        let label = file.display().to_string();
        let shown = term::short(&label, 200);
        let read = if file.as_os_str() == "-" {
            analyzer
                .observe_input(std::io::stdin().lock(), "")
                .map(drop)
        } else {
            let opened = std::fs::File::open(file)
                .map_err(|e| Fatal(format!("cannot read {label}: {e}")))?;
            let har = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("har"));
            if har {
                analyzer.observe_har(opened, &shown).map(drop)
            } else {
                analyzer.observe_input(opened, &shown).map(drop)
            }
        };
        read.map_err(|e| Fatal(format!("{shown}: {e}")))?;
    }
    let report = analyzer.report();
    let out = if args.suggest {
        let options = SuggestOptions::new().violations(args.suggest_violations);
        let suggestion = report.suggest(&options);
        if let Some(path) = &args.write_spec {
            let patched = suggestion.apply(spec.document())?;
            write_spec(path, &render::spec_yaml(&patched)?)?;
        }
        match args.format {
            DriftFormat::Text => render::suggestion_text(&suggestion),
            DriftFormat::Markdown => render::suggestion_markdown(&suggestion),
            DriftFormat::Json => pretty(&suggestion.to_json_patch()),
        }
    } else {
        match args.format {
            DriftFormat::Text => render::text(&report),
            DriftFormat::Markdown => render::markdown(&report),
            DriftFormat::Json => pretty(&render::json(&report)),
        }
    };
    // Keys, values and paths come from the records: escaped for a terminal (JSON
    // escapes C0 itself, and term::stdout the rest when it is a terminal).
    let out = match args.format {
        DriftFormat::Json => out,
        _ => out.lines().map(|l| term::safe(l) + "\n").collect(),
    };
    let mut stdout = term::stdout();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Fatal(format!("cannot write the output: {e}"))),
    }
    Ok(status(&report))
}

/// Writes `yaml` to a temporary file in `path`'s directory, then renames it over
/// `path`: a reader (or a failed write) never sees half a spec, and a file linked
/// elsewhere is replaced rather than changed in place.
fn write_spec(path: &Path, yaml: &str) -> Result<(), Fatal> {
    let fail = |e: std::io::Error| Fatal(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".trillet-spec-")
        .suffix(".yaml.tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(yaml.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn status(report: &DriftReport) -> u8 {
    if report.drifted() {
        exit::SOME_FAILED
    } else {
        exit::OK
    }
}

/// `--drift` on `call-history get` and `list`: each record's text, already in hand,
/// is handed to an analyzer on its own thread as it is written (no second pass over
/// the output, and the analysis is not on the output's path); the summary goes to
/// standard error after the batch.
pub struct OnTheFly {
    analyzer: BackgroundAnalyzer,
}

impl OnTheFly {
    /// An analyzer of records of `schema` against `spec`.
    pub fn new(spec: Spec, schema: &str) -> Result<Self, Fatal> {
        Ok(Self {
            analyzer: BackgroundAnalyzer::start(spec, Some(schema))?,
        })
    }

    /// One record's JSON text, as the server sent it.
    pub fn observe(&mut self, json: &str) {
        self.analyzer.observe_json(json);
    }

    /// The report, one escaped line at a time, on standard error.
    pub fn finish(self) {
        match self.analyzer.finish() {
            Ok(finished) => {
                if finished.not_json > 0 {
                    eprint_line(&format!(
                        "warning: --drift: {} records were not JSON; not analysed",
                        finished.not_json
                    ));
                }
                for line in render::text(&finished.report).lines() {
                    eprint_line(&format!("trillet: {line}"));
                }
            }
            Err(e) => eprint_line(&format!("warning: --drift: {e}")),
        }
    }
}
