//! A [`DriftReport`] and a [`Suggestion`] as text, Markdown or JSON.
//!
//! Examples in findings are already escaped; keys, values and paths come from the
//! records, so text for a terminal should still go through the caller's escaping.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{DriftReport, Finding, FindingKind, Suggestion, ValueCount, cut};

/// How many values or keys a text or Markdown line lists before `…`.
const LISTED: usize = 10;

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn values(values: &[ValueCount], untracked: u64, quote: &str) -> String {
    let mut listed: Vec<String> = values
        .iter()
        .take(LISTED)
        .map(|v| {
            format!(
                "{quote}{}{quote} ×{}",
                super::escape(&cut(&v.value, super::EXAMPLE_CHARS)),
                v.records
            )
        })
        .collect();
    if values.len() > LISTED {
        listed.push(format!("… {} more", values.len() - LISTED));
    }
    if untracked > 0 {
        listed.push(format!("{untracked} more not tracked (cap reached)"));
    }
    listed.join(", ")
}

/// What a finding says, in one line (without its path).
fn describe(finding: &Finding, of: u64, quote: &str) -> String {
    match &finding.kind {
        FindingKind::UnknownProperty {
            records,
            types,
            example,
            ..
        } => format!(
            "not in the spec: {records} of {} ({}), e.g. {quote}{example}{quote}",
            plural(of, "record"),
            types.join(" | ")
        ),
        FindingKind::EnumValues {
            open,
            values: seen,
            untracked,
            ..
        } => format!(
            "{} enum, values not listed: {}",
            if *open { "open" } else { "closed" },
            values(seen, *untracked, quote)
        ),
        FindingKind::WrongType {
            expected,
            seen,
            records,
            example,
        } => format!(
            "expected {expected}, seen {} in {}, e.g. {quote}{example}{quote}",
            seen.join(" | "),
            plural(*records, "record")
        ),
        FindingKind::BadFormat {
            format,
            records,
            example,
        } => format!(
            "not {format} in {}, e.g. {quote}{example}{quote}",
            plural(*records, "record")
        ),
        FindingKind::UnexpectedNull { records } => {
            format!("null but not nullable in {}", plural(*records, "record"))
        }
        FindingKind::MissingRequired { records } => {
            format!("required, missing in {records} of {}", plural(of, "record"))
        }
        FindingKind::OpenObjectKeys { keys, untracked } => format!(
            "open object (no drift), keys seen: {}",
            values(keys, *untracked, quote)
        ),
        #[allow(unreachable_patterns)]
        _ => finding.kind.id().to_owned(),
    }
}

fn path(finding: &Finding) -> &str {
    if finding.path.is_empty() {
        "/"
    } else {
        &finding.path
    }
}

fn headline(report: &DriftReport) -> String {
    let matched: Vec<String> = report
        .schemas
        .iter()
        .map(|s| format!("{} {}", plural(s.records, "record"), s.name))
        .collect();
    let mut line = format!(
        "{} read ({}); {}",
        plural(report.records, "record"),
        if matched.is_empty() {
            "none matched".to_owned()
        } else {
            matched.join(", ")
        },
        if report.drifted() {
            format!(
                "{} of drift",
                plural(report.finding_count() as u64, "finding")
            )
        } else {
            "no drift: the spec describes everything seen".to_owned()
        }
    );
    if let Some(unmatched) = &report.unmatched {
        let _ = write!(
            line,
            "; {} fit no schema ({}; candidates {}), e.g. {}",
            plural(unmatched.records, "record"),
            unmatched.types.join(" | "),
            unmatched.candidates.join(", "),
            unmatched.example
        );
    }
    line
}

/// Plain text, one finding per line, grouped by schema.
pub fn text(report: &DriftReport) -> String {
    let mut out = format!("drift: {}\n", headline(report));
    for schema in &report.schemas {
        if schema.findings.is_empty() && schema.capped.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{} ({}):",
            schema.name,
            plural(schema.records, "record")
        );
        let width = schema
            .findings
            .iter()
            .map(|f| path(f).chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for finding in &schema.findings {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<16}  {}",
                path(finding),
                finding.kind.id(),
                describe(finding, schema.records, "")
            );
        }
        for capped in &schema.capped {
            let _ = writeln!(
                out,
                "  {:<width$}  capped: more than the tracked number of unnamed keys",
                if capped.is_empty() { "/" } else { capped }
            );
        }
    }
    for error in &report.spec_errors {
        let _ = writeln!(out, "spec error: {error}");
    }
    out
}

/// Markdown, for a pull request or an issue: one table per schema.
pub fn markdown(report: &DriftReport) -> String {
    let mut out = format!("## Spec drift\n\n{}.\n", headline(report));
    let cell = |text: &str| text.replace('|', "\\|").replace('`', "'");
    for schema in &report.schemas {
        if schema.findings.is_empty() && schema.capped.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n### `{}` ({})\n\n| Path | Finding | Detail |\n|---|---|---|\n",
            schema.name,
            plural(schema.records, "record")
        );
        for finding in &schema.findings {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} |",
                cell(path(finding)),
                finding.kind.id(),
                cell(&describe(finding, schema.records, ""))
            );
        }
        for capped in &schema.capped {
            let _ = writeln!(
                out,
                "| `{}` | capped | more unnamed keys than tracked |",
                cell(capped)
            );
        }
    }
    for error in &report.spec_errors {
        let _ = write!(out, "\nSpec error: {}\n", cell(error));
    }
    out
}

/// The report as JSON: `{records, drifted, schemas: [{name, records, findings:
/// [{path, kind, …}], capped}], unmatched, spec_errors}`.
pub fn json(report: &DriftReport) -> Value {
    let counts = |values: &[ValueCount]| {
        values
            .iter()
            .map(|v| json!({"value": v.value, "records": v.records}))
            .collect::<Vec<_>>()
    };
    let finding = |f: &Finding| {
        let mut out = match &f.kind {
            FindingKind::UnknownProperty {
                records,
                types,
                example,
                add_to,
            } => json!({"records": records, "types": types, "example": example, "add_to": add_to}),
            FindingKind::EnumValues {
                open,
                values,
                untracked,
                enum_at,
            } => {
                json!({"open": open, "values": counts(values), "untracked": untracked, "enum_at": enum_at})
            }
            FindingKind::WrongType {
                expected,
                seen,
                records,
                example,
            } => {
                json!({"expected": expected, "seen": seen, "records": records, "example": example})
            }
            FindingKind::BadFormat {
                format,
                records,
                example,
            } => json!({"format": format, "records": records, "example": example}),
            FindingKind::UnexpectedNull { records } | FindingKind::MissingRequired { records } => {
                json!({"records": records})
            }
            FindingKind::OpenObjectKeys { keys, untracked } => {
                json!({"keys": counts(keys), "untracked": untracked})
            }
            #[allow(unreachable_patterns)]
            _ => json!({}),
        };
        if let Value::Object(map) = &mut out {
            map.insert("path".into(), Value::from(f.path.clone()));
            map.insert("kind".into(), Value::from(f.kind.id()));
        }
        out
    };
    json!({
        "records": report.records,
        "drifted": report.drifted(),
        "schemas": report.schemas.iter().map(|s| json!({
            "name": s.name,
            "records": s.records,
            "findings": s.findings.iter().map(finding).collect::<Vec<_>>(),
            "capped": s.capped,
        })).collect::<Vec<_>>(),
        "unmatched": report.unmatched.as_ref().map(|u| json!({
            "records": u.records, "types": u.types, "example": u.example, "candidates": u.candidates,
        })),
        "spec_errors": report.spec_errors,
    })
}

/// The suggestion for people: each addition as a YAML fragment under the pointer
/// it is added at (in Markdown, in a fenced block).
pub fn suggestion_text(suggestion: &Suggestion) -> String {
    if suggestion.ops.is_empty() {
        return "# nothing to add to the spec\n".to_owned();
    }
    let mut out = String::from(
        "# Additions to spec/trillet.yaml (JSON pointers; `-` appends to a list).\n\
         # Review them, then check the change with `cargo xtask spec-diff`.\n",
    );
    for op in &suggestion.ops {
        let yaml = serde_norway::to_string(&op.value).unwrap_or_default();
        let _ = write!(out, "\n# {}\nadd {}:\n", op.reason, op.path);
        for line in yaml.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// The suggestion in Markdown.
pub fn suggestion_markdown(suggestion: &Suggestion) -> String {
    format!(
        "\n### Suggested spec change\n\n```yaml\n{}```\n",
        suggestion_text(suggestion)
    )
}
