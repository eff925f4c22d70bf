//! `cargo xtask spec-diff`: classify what a spec change does to a client generated
//! from the spec, for pull-request review.
//!
//! The pipeline, one module per concern:
//!
//! - [`load`]: read each side (a file, a git ref, or the working tree) and parse it
//!   with openapiv3;
//! - [`compare`] and [`schema`]: walk both documents side by side, resolving `$ref`s,
//!   and emit [`Finding`]s with stable rule ids (oasdiff's naming style);
//! - [`effect`]: regenerate the client from both sides in memory and count the
//!   changed lines of `crates/trillet-api`;
//! - [`render`]: text, Markdown or JSON.
//!
//! Severities are chosen from the point of view of a client generated from the
//! spec: a change that makes existing client code stop compiling or stop decoding
//! is `breaking`; a change that alters behaviour a caller may rely on is `warning`;
//! everything else is `info`.

mod changelog;
mod compare;
mod effect;
mod load;
mod pointer;
mod render;
pub mod rust_api;
mod schema;

#[cfg(test)]
mod catalogue;
#[cfg(test)]
mod oracle;

use std::process::ExitCode;

use rust_api::{Bump, Verdict};

/// Exit status when a finding reaches `--fail-on` (1 is kept for errors).
pub const EXIT_FINDINGS: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Breaking,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Breaking, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One classified change. The derived order (severity, pointer, rule id, message)
/// is the output order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub severity: Severity,
    /// JSON pointer into the head spec, or into the base spec for removed elements.
    pub pointer: String,
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a pull-request comment or a job summary.
    #[value(alias = "md")]
    Markdown,
    /// For tools: findings, summary and the Rust verdict.
    Json,
    /// For a terminal.
    Text,
    /// Draft CHANGELOG.md entries (Keep a Changelog) from the findings.
    Changelog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Breaking,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// The least severe finding that fails the run; `None` for `never`.
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Breaking => Some(Severity::Breaking),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// Exit status: 0, or 2 when a finding reaches `--fail-on` (a major Rust API change
/// counts as breaking), or 1 on an error (unreadable or invalid spec, unknown
/// revision, dangling `$ref`). The report is printed in every case.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// The old spec: a file, a git revision (read as `<rev>:spec/trillet.yaml`) or
    /// `<rev>:<path>`. A path that exists wins over a revision of the same name.
    #[arg(long, value_name = "GIT-REF|PATH")]
    base: String,
    /// The new spec, in the same forms [default: the working tree's spec/trillet.yaml]
    #[arg(long, value_name = "GIT-REF|PATH")]
    head: Option<String>,
    /// Output format [default: markdown when GITHUB_ACTIONS=true, else text]
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The least severe finding that makes the exit status 2.
    #[arg(long, value_enum, default_value_t = FailOn::Breaking)]
    fail_on: FailOn,
}

/// Markdown in GitHub Actions (for the job summary or a PR comment), text elsewhere.
fn default_format() -> Format {
    match std::env::var("GITHUB_ACTIONS") {
        Ok(value) if value == "true" => Format::Markdown,
        _ => Format::Text,
    }
}

/// Everything a renderer needs.
pub struct Report {
    pub base_label: String,
    pub head_label: String,
    /// The wire layer: what the change does to deployed clients and exchanges.
    pub findings: Vec<Finding>,
    /// The Rust layer: what the change does to code using the generated crate.
    pub rust: Verdict,
    /// The line diff of the generated code; `None` where a format does not show it.
    pub effect: Option<effect::Effect>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The Rust verdict, when both sides could be generated.
    pub fn semver(&self) -> Option<Bump> {
        match &self.rust {
            Verdict::Compared(api) => Some(api.semver),
            Verdict::Failed(_) => None,
        }
    }
}

/// Both layers of the diff between two spec texts (already parsed as `base`/`head`).
pub fn report(base: load::Spec, head: load::Spec, with_effect: bool) -> Result<Report, String> {
    let findings = compare::compare(&base.doc, &head.doc)?;
    let base_code = effect::generate_quietly(&base.text);
    let head_code = effect::generate_quietly(&head.text);
    let effect = with_effect.then(|| effect::generated_code(&base_code, &head_code));
    Ok(Report {
        base_label: base.label,
        head_label: head.label,
        findings,
        rust: rust_api::from_code(base_code, head_code),
        effect,
    })
}

pub fn run(args: &Args) -> Result<ExitCode, String> {
    let format = args.format.unwrap_or_else(default_format);
    let root = load::repo_root();
    let base = load::load(&args.base, &root)?;
    let head = match &args.head {
        Some(head) => load::load(head, &root)?,
        None => load::working_tree(&root)?,
    };
    let with_effect = matches!(format, Format::Markdown | Format::Text);
    let report = report(base, head, with_effect)?;
    print!("{}", render::render(&report, format));
    Ok(if fails(&report, args.fail_on) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

/// A wire finding at or above the threshold, or a major Rust API change when the
/// threshold includes breaking changes.
fn fails(report: &Report, fail_on: FailOn) -> bool {
    let Some(threshold) = fail_on.threshold() else {
        return false;
    };
    let rust = match report.semver() {
        Some(Bump::Major) => Some(Severity::Breaking),
        Some(Bump::Minor | Bump::Patch) => Some(Severity::Info),
        Some(Bump::None) | None => None,
    };
    report
        .findings
        .iter()
        .map(|f| f.severity)
        .chain(rust)
        .any(|severity| severity <= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(list: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("spec-diff").chain(list.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn only_base_is_required_and_the_defaults_are_working_tree_and_breaking() {
        let args = parse(&["--base", "origin/main"]).unwrap();
        assert_eq!(
            args,
            Args {
                base: "origin/main".into(),
                head: None,
                format: None,
                fail_on: FailOn::Breaking,
            }
        );
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn flags_take_separate_or_inline_values() {
        let args = parse(&[
            "--base=a",
            "--head",
            "b",
            "--format=json",
            "--fail-on",
            "never",
        ])
        .unwrap();
        assert_eq!(args.head.as_deref(), Some("b"));
        assert_eq!(args.format, Some(Format::Json));
        assert_eq!(args.fail_on, FailOn::Never);
        assert_eq!(
            parse(&["--base", "a", "--format", "md"]).unwrap().format,
            Some(Format::Markdown)
        );
        assert_eq!(
            parse(&["--base", "a", "--format", "changelog"])
                .unwrap()
                .format,
            Some(Format::Changelog)
        );
        assert!(parse(&["--base", "a", "--format", "xml"]).is_err());
        assert!(parse(&["--base", "a", "--fail-on"]).is_err());
    }

    fn report_with(severities: &[Severity], semver: Option<Bump>) -> Report {
        let finding = |severity| Finding {
            severity,
            pointer: String::new(),
            id: String::new(),
            message: String::new(),
        };
        Report {
            base_label: String::new(),
            head_label: String::new(),
            findings: severities.iter().copied().map(finding).collect(),
            rust: match semver {
                Some(semver) => Verdict::Compared(rust_api::RustApi {
                    semver,
                    changes: Vec::new(),
                }),
                None => Verdict::Failed("no".into()),
            },
            effect: None,
        }
    }

    #[test]
    fn fail_on_is_a_threshold() {
        let warning = report_with(&[Severity::Warning], Some(Bump::None));
        assert!(!fails(&warning, FailOn::Breaking));
        assert!(fails(&warning, FailOn::Warning));
        assert!(fails(&warning, FailOn::Info));
        assert!(!fails(
            &report_with(&[Severity::Breaking], None),
            FailOn::Never
        ));
        assert!(!fails(&report_with(&[], Some(Bump::None)), FailOn::Info));
    }

    #[test]
    fn a_major_rust_change_is_breaking_whatever_the_wire_says() {
        let quiet_wire = report_with(&[Severity::Info], Some(Bump::Major));
        assert!(fails(&quiet_wire, FailOn::Breaking));
        assert!(!fails(&quiet_wire, FailOn::Never));
        let minor = report_with(&[], Some(Bump::Minor));
        assert!(!fails(&minor, FailOn::Warning));
        assert!(fails(&minor, FailOn::Info));
    }
}
