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

mod compare;
mod effect;
mod load;
mod pointer;
mod render;
mod schema;

#[cfg(test)]
mod catalogue;

use std::process::ExitCode;

/// Exit status when a finding reaches `--fail-on` (1 is kept for errors).
pub const EXIT_FINDINGS: u8 = 2;

const USAGE: &str = "usage: cargo xtask spec-diff --base <git-ref|path> [--head <git-ref|path>] \
                     [--format markdown|json|text] [--fail-on breaking|warning|never]";

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    base: String,
    head: Option<String>,
    format: Format,
    /// The least severe finding that fails the run; `None` for `--fail-on never`.
    fail_on: Option<Severity>,
}

impl Options {
    fn parse(args: &[String], default_format: Format) -> Result<Options, String> {
        let mut base = None;
        let mut head = None;
        let mut format = default_format;
        let mut fail_on = Some(Severity::Breaking);
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            if matches!(flag, "-h" | "--help") {
                return Err(USAGE.into());
            }
            let value = match inline {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
            };
            match flag {
                "--base" => base = Some(value),
                "--head" => head = Some(value),
                "--format" => {
                    format = match value.as_str() {
                        "markdown" | "md" => Format::Markdown,
                        "json" => Format::Json,
                        "text" => Format::Text,
                        other => return Err(format!("unknown --format `{other}`\n{USAGE}")),
                    }
                }
                "--fail-on" => {
                    fail_on = match value.as_str() {
                        "breaking" => Some(Severity::Breaking),
                        "warning" => Some(Severity::Warning),
                        "info" => Some(Severity::Info),
                        "never" => None,
                        other => return Err(format!("unknown --fail-on `{other}`\n{USAGE}")),
                    }
                }
                other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            }
        }
        let base = base.ok_or_else(|| format!("--base is required\n{USAGE}"))?;
        Ok(Options {
            base,
            head,
            format,
            fail_on,
        })
    }
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
    pub findings: Vec<Finding>,
    /// `None` for JSON, which reports findings only.
    pub effect: Option<effect::Effect>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let options = Options::parse(args, default_format())?;
    let root = load::repo_root();
    let base = load::load(&options.base, &root)?;
    let head = match &options.head {
        Some(head) => load::load(head, &root)?,
        None => load::working_tree(&root)?,
    };
    let findings = compare::compare(&base.doc, &head.doc)?;
    let effect = match options.format {
        Format::Json => None,
        Format::Markdown | Format::Text => Some(effect::generated_code(&base.text, &head.text)),
    };
    let report = Report {
        base_label: base.label,
        head_label: head.label,
        findings,
        effect,
    };
    print!("{}", render::render(&report, options.format));
    Ok(if fails(&report.findings, options.fail_on) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

fn fails(findings: &[Finding], fail_on: Option<Severity>) -> bool {
    fail_on.is_some_and(|threshold| findings.iter().any(|f| f.severity <= threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_base_is_required_and_the_defaults_are_working_tree_and_breaking() {
        let options = Options::parse(&args(&["--base", "origin/main"]), Format::Text).unwrap();
        assert_eq!(
            options,
            Options {
                base: "origin/main".into(),
                head: None,
                format: Format::Text,
                fail_on: Some(Severity::Breaking),
            }
        );
        assert!(Options::parse(&[], Format::Text).is_err());
    }

    #[test]
    fn flags_take_separate_or_inline_values() {
        let options = Options::parse(
            &args(&[
                "--base=a",
                "--head",
                "b",
                "--format=json",
                "--fail-on",
                "never",
            ]),
            Format::Markdown,
        )
        .unwrap();
        assert_eq!(options.head.as_deref(), Some("b"));
        assert_eq!(options.format, Format::Json);
        assert_eq!(options.fail_on, None);
        assert!(Options::parse(&args(&["--base", "a", "--format", "xml"]), Format::Text).is_err());
        assert!(Options::parse(&args(&["--base", "a", "--fail-on"]), Format::Text).is_err());
    }

    #[test]
    fn fail_on_is_a_threshold() {
        let finding = |severity| Finding {
            severity,
            pointer: String::new(),
            id: String::new(),
            message: String::new(),
        };
        let warning = [finding(Severity::Warning)];
        assert!(!fails(&warning, Some(Severity::Breaking)));
        assert!(fails(&warning, Some(Severity::Warning)));
        assert!(fails(&warning, Some(Severity::Info)));
        assert!(!fails(&[finding(Severity::Breaking)], None));
        assert!(!fails(&[], Some(Severity::Info)));
    }
}
