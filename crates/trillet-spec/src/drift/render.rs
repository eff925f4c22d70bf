//! A [`DriftReport`] and a [`Suggestion`] as text, Markdown or JSON, and a patched
//! spec as YAML ([`spec_yaml`]).
//!
//! Keys, values and paths come from the records, that is from the server. In text
//! they are shown with control and bidirectional characters escaped (so the columns
//! line up with what a terminal shows); in Markdown every one of them is a code
//! span, so that raw HTML, links and `@mentions` in server data stay inert text in
//! a pull-request comment. JSON escapes them itself.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{DriftReport, Finding, FindingKind, PatchKind, Suggestion, ValueCount, cut, escape};
use crate::SpecError;

/// How many values or keys a text or Markdown line lists before `…`.
const LISTED: usize = 10;

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// How server-controlled text is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Text,
    Markdown,
}

impl Style {
    fn quote(self, text: &str) -> String {
        match self {
            Style::Text => escape(text),
            Style::Markdown => code(text),
        }
    }
}

/// `text` as a Markdown code span nothing in it can end early: control characters
/// escaped, delimited by one backtick more than its longest run of backticks, and
/// padded with a space when it starts or ends with a backtick or a space (CommonMark
/// strips one space from each side). A pipe is left to the table cell's escaping.
fn code(text: &str) -> String {
    let text = escape(text);
    if text.is_empty() {
        return "` `".to_owned();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// A Markdown table cell: every pipe escaped, inside code spans too (GFM splits the
/// row at pipes before it reads code spans, and takes `\|` as a pipe in both).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn values(values: &[ValueCount], untracked: u64, style: Style) -> String {
    let mut listed: Vec<String> = values
        .iter()
        .take(LISTED)
        .map(|v| {
            format!(
                "{} ×{}",
                style.quote(&cut(&v.value, super::EXAMPLE_CHARS)),
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
fn describe(finding: &Finding, of: u64, style: Style) -> String {
    match &finding.kind {
        FindingKind::UnknownProperty {
            records,
            types,
            example,
            ..
        } => format!(
            "not in the spec: {records} of {} ({}), e.g. {}",
            plural(of, "record"),
            types.join(" | "),
            style.quote(example)
        ),
        FindingKind::EnumValues {
            open,
            values: seen,
            untracked,
            ..
        } => format!(
            "{} enum, values not listed: {}",
            if *open { "open" } else { "closed" },
            values(seen, *untracked, style)
        ),
        FindingKind::WrongType {
            expected,
            seen,
            records,
            example,
            ..
        } => format!(
            "expected {expected}, seen {} in {}, e.g. {}",
            seen.join(" | "),
            plural(*records, "record"),
            style.quote(example)
        ),
        FindingKind::BadFormat {
            format,
            records,
            example,
            ..
        } => format!(
            "not {format} in {}, e.g. {}",
            plural(*records, "record"),
            style.quote(example)
        ),
        FindingKind::UnexpectedNull { records, .. } => {
            format!("null but not nullable in {}", plural(*records, "record"))
        }
        FindingKind::MissingRequired { records, .. } => {
            format!("required, missing in {records} of {}", plural(of, "record"))
        }
        FindingKind::OpenObjectKeys { keys, untracked } => format!(
            "open object (no drift), keys seen: {}",
            values(keys, *untracked, style)
        ),
        #[allow(unreachable_patterns)]
        _ => finding.kind.id().to_owned(),
    }
}

fn path(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn headline(report: &DriftReport, style: Style) -> String {
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
    match report.violating() {
        0 => {}
        1 => line.push_str("; 1 record violates the spec"),
        n => {
            let _ = write!(line, "; {n} records violate the spec");
        }
    }
    if report.unreadable_records > 0 {
        let _ = write!(
            line,
            "; {} unreadable (not analysed)",
            plural(report.unreadable_records, "record")
        );
    }
    if let Some(unmatched) = &report.unmatched {
        let _ = write!(
            line,
            "; {} fit no schema ({}; candidates {}), e.g. {}",
            plural(unmatched.records, "record"),
            unmatched.types.join(" | "),
            unmatched.candidates.join(", "),
            style.quote(&unmatched.example)
        );
    }
    line
}

/// Where an unreadable record was, for people.
fn place(unreadable: &super::Unreadable) -> String {
    if unreadable.input.is_empty() {
        unreadable.at.clone()
    } else {
        format!("{} {}", unreadable.input, unreadable.at)
    }
}

/// Plain text, one finding per line, grouped by schema.
pub fn text(report: &DriftReport) -> String {
    let mut out = format!("drift: {}\n", headline(report, Style::Text));
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
        // Paths escaped before they are measured, so the columns line up.
        let paths: Vec<String> = schema
            .findings
            .iter()
            .map(|f| escape(path(&f.path)))
            .collect();
        let width = paths
            .iter()
            .map(|p| p.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for (finding, shown) in schema.findings.iter().zip(&paths) {
            let _ = writeln!(
                out,
                "  {shown:<width$}  {:<16}  {}",
                finding.kind.id(),
                describe(finding, schema.records, Style::Text)
            );
        }
        for capped in &schema.capped {
            let _ = writeln!(
                out,
                "  {:<width$}  capped: more than the tracked number of unnamed keys",
                escape(path(capped))
            );
        }
    }
    for unreadable in &report.unreadable {
        let _ = writeln!(
            out,
            "unreadable: {}: {}",
            escape(&place(unreadable)),
            escape(&unreadable.reason)
        );
    }
    let unlisted = report.unreadable_records - report.unreadable.len() as u64;
    if unlisted > 0 {
        let _ = writeln!(out, "unreadable: … {} more", plural(unlisted, "record"));
    }
    for error in &report.spec_errors {
        let _ = writeln!(out, "spec error: {}", escape(error));
    }
    out
}

/// Markdown, for a pull request or an issue: one table per schema, every string
/// from the records (or the input's name) a code span.
pub fn markdown(report: &DriftReport) -> String {
    let mut out = format!("## Spec drift\n\n{}.\n", headline(report, Style::Markdown));
    for schema in &report.schemas {
        if schema.findings.is_empty() && schema.capped.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n### {} ({})\n\n| Path | Finding | Detail |\n|---|---|---|\n",
            code(&schema.name),
            plural(schema.records, "record")
        );
        for finding in &schema.findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                cell(&code(path(&finding.path))),
                finding.kind.id(),
                cell(&describe(finding, schema.records, Style::Markdown))
            );
        }
        for capped in &schema.capped {
            let _ = writeln!(
                out,
                "| {} | capped | more unnamed keys than tracked |",
                cell(&code(path(capped)))
            );
        }
    }
    if report.unreadable_records > 0 {
        let _ = write!(
            out,
            "\n### Unreadable records ({})\n\n| Where | Why |\n|---|---|\n",
            report.unreadable_records
        );
        for unreadable in &report.unreadable {
            let _ = writeln!(
                out,
                "| {} | {} |",
                cell(&code(&place(unreadable))),
                cell(&code(&unreadable.reason))
            );
        }
    }
    for error in &report.spec_errors {
        let _ = write!(out, "\nSpec error: {}\n", code(error));
    }
    out
}

/// The report as JSON: `{records, drifted, violating, schemas: [{name, records,
/// violating, findings: [{path, kind, …}], capped}], unmatched, unreadable:
/// [{input, at, reason}], unreadable_records, spec_errors}`. An unknown property's
/// finding carries `schema`, the OpenAPI schema that describes what was seen.
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
                adds_properties,
                shape,
            } => json!({
                "records": records, "types": types, "example": example, "add_to": add_to,
                "adds_properties": adds_properties, "schema": shape.schema(),
            }),
            FindingKind::EnumValues {
                open,
                values,
                untracked,
                enum_at,
                strings,
            } => json!({
                "open": open, "values": counts(values), "untracked": untracked,
                "enum_at": enum_at, "strings": strings,
            }),
            FindingKind::WrongType {
                expected,
                seen,
                records,
                example,
                at,
            } => json!({
                "expected": expected, "seen": seen, "records": records, "example": example,
                "at": at,
            }),
            FindingKind::BadFormat {
                format,
                records,
                example,
                at,
            } => json!({"format": format, "records": records, "example": example, "at": at}),
            FindingKind::UnexpectedNull { records, at } => {
                json!({"records": records, "at": at})
            }
            FindingKind::MissingRequired {
                records,
                at,
                listed,
            } => json!({"records": records, "at": at, "listed": listed}),
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
        "violating": report.violating(),
        "schemas": report.schemas.iter().map(|s| json!({
            "name": s.name,
            "records": s.records,
            "violating": s.violating,
            "findings": s.findings.iter().map(finding).collect::<Vec<_>>(),
            "capped": s.capped,
        })).collect::<Vec<_>>(),
        "unmatched": report.unmatched.as_ref().map(|u| json!({
            "records": u.records, "types": u.types, "example": u.example, "candidates": u.candidates,
        })),
        "unreadable": report.unreadable.iter().map(|u| json!({
            "input": u.input, "at": u.at, "reason": u.reason,
        })).collect::<Vec<_>>(),
        "unreadable_records": report.unreadable_records,
        "spec_errors": report.spec_errors,
    })
}

/// The suggestion for people: each operation under the pointer it applies at, an
/// addition as a YAML fragment; a loosening one marked (in Markdown, in a fenced
/// block).
pub fn suggestion_text(suggestion: &Suggestion) -> String {
    if suggestion.ops.is_empty() {
        return "# nothing to add to the spec\n".to_owned();
    }
    let mut out = if suggestion.loosens() {
        String::from(
            "# Changes to spec/trillet.yaml (JSON pointers; `-` appends to a list).\n\
             # Those marked LOOSENS make the spec accept what it refused: clients built on\n\
             # it may then have to handle more. Review each, then check the change with\n\
             # `cargo xtask spec-diff`.\n",
        )
    } else {
        String::from(
            "# Additions to spec/trillet.yaml (JSON pointers; `-` appends to a list).\n\
             # Review them, then check the change with `cargo xtask spec-diff`.\n",
        )
    };
    for op in &suggestion.ops {
        let _ = write!(out, "\n# {}\n", escape(&op.reason));
        if op.loosens {
            out.push_str("# LOOSENS: review before applying\n");
        }
        match op.kind {
            PatchKind::Remove => {
                let _ = writeln!(out, "remove {}", escape(&op.path));
            }
            _ => {
                let yaml = serde_norway::to_string(&op.value).unwrap_or_default();
                let _ = writeln!(out, "add {}:", escape(&op.path));
                for line in yaml.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    out
}

/// The suggestion in Markdown, in a fence longer than any run of backticks in it.
pub fn suggestion_markdown(suggestion: &Suggestion) -> String {
    let text = suggestion_text(suggestion);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("\n### Suggested spec change\n\n{fence}yaml\n{text}{fence}\n")
}

/// `document` (a spec) as YAML, for `--write-spec`: serde_norway's YAML, with every
/// plain scalar that starts like a date (`2025-01-16…`) single-quoted. YAML 1.2
/// reads such a scalar as a string, as serde_norway does; YAML 1.1 readers (PyYAML
/// and the tools built on it) load it as a date, so a `date-time` example would no
/// longer be a string. The quoting is checked to change no value (the unquoted YAML
/// is given otherwise).
pub fn spec_yaml(document: &Value) -> Result<String, SpecError> {
    let plain = serde_norway::to_string(document)
        .map_err(|e| SpecError::new(format!("cannot write the spec as YAML: {e}")))?;
    let quoted = quote_dates(&plain);
    let read = |text: &str| serde_norway::from_str::<Value>(text).ok();
    let same = match (read(&quoted), read(&plain)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    Ok(if same { quoted } else { plain })
}

/// Hand-rolled over serde_norway's output (it has no option to quote more): its
/// lines are `key: value`, `- value` or `- key: value`, and block scalars (`|`,
/// `|-`, `>`) whose content lines, indented deeper than their owner, are left as
/// they are.
fn quote_dates(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 64);
    // The column of the node that owns the block scalar being read.
    let mut block: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let indent = body.len() - body.trim_start_matches(' ').len();
        if let Some(owner) = block
            && (body.trim().is_empty() || indent > owner)
        {
            out.push_str(line);
            continue;
        }
        let (rewritten, opens) = quote_line(body);
        block = opens;
        out.push_str(&rewritten);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One line with its date-like plain scalars (key or value) quoted, and the owner
/// column of a block scalar it opens.
fn quote_line(line: &str) -> (String, Option<usize>) {
    let mut column = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[column..];
    let mut dash = None;
    while let Some(after) = rest.strip_prefix("- ") {
        dash = Some(column);
        column += 2;
        rest = after;
    }
    let opens = |value: &str| value.starts_with(['|', '>']);
    let mut out = line[..column].to_owned();
    match split_key(rest) {
        Some((key, value)) => {
            out.push_str(&quote(key));
            out.push(':');
            if !value.is_empty() {
                out.push(' ');
                out.push_str(&quote(value));
            }
            (out, opens(value).then_some(column))
        }
        None => {
            out.push_str(&quote(rest));
            (out, opens(rest).then(|| dash.unwrap_or(column)))
        }
    }
}

/// `key: value` (or `key:`) split, the key plain or quoted; `None` for a scalar.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let end = match text.chars().next() {
        Some('\'') => closing(text, '\'')?,
        Some('"') => closing(text, '"')?,
        _ => {
            return match text.find(": ") {
                Some(i) => Some((&text[..i], &text[i + 2..])),
                None => text.strip_suffix(':').map(|key| (key, "")),
            };
        }
    };
    let after = &text[end + 1..];
    if after == ":" {
        Some((&text[..=end], ""))
    } else {
        after.strip_prefix(": ").map(|value| (&text[..=end], value))
    }
}

/// The byte index of the quote that closes the quoted scalar `text` starts.
fn closing(text: &str, quote: char) -> Option<usize> {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            c if c == quote => {
                if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                } else {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `scalar` single-quoted when it is plain and starts like a date (`dddd-d`).
fn quote(scalar: &str) -> String {
    let bytes = scalar.as_bytes();
    let date_like = bytes.len() >= 6
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5].is_ascii_digit();
    if date_like {
        format!("'{}'", scalar.replace('\'', "''"))
    } else {
        scalar.to_owned()
    }
}
