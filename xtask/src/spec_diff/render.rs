//! Output formats: text for a terminal, Markdown for a pull request, JSON for tools.

use serde_json::Value;

use super::effect::Effect;
use super::rust_api::{Bump, CRATE, Verdict};
use super::{Format, Report, Severity};

/// Markdown diffs longer than this are cut (the counts stay exact).
const MAX_DIFF_LINES: usize = 400;
/// Tables with more rows than this are folded into a `<details>` block.
const FOLD_ROWS: usize = 15;

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Markdown => markdown(report),
        Format::Json => json(report),
        Format::Changelog => super::changelog::draft(report),
    }
}

/// The one-line Rust verdict: "major (2 changes)".
fn rust_summary(report: &Report) -> String {
    match &report.rust {
        Verdict::Compared(api) => {
            let what = match api.semver {
                Bump::Major => "a major release: code using it may stop compiling",
                Bump::Minor => "a minor release: additions only",
                Bump::Patch => "a patch release: the public API is unchanged",
                Bump::None => "no release: nothing but documentation changed",
            };
            format!("`{CRATE}` needs {what}")
        }
        Verdict::Failed(message) => format!("not compared: {message}"),
    }
}

fn summary(report: &Report) -> String {
    let count = |s| report.count(s);
    format!(
        "{} breaking, {} warning{}, {} info",
        count(Severity::Breaking),
        count(Severity::Warning),
        if count(Severity::Warning) == 1 {
            ""
        } else {
            "s"
        },
        count(Severity::Info)
    )
}

fn text(report: &Report) -> String {
    let mut out = format!(
        "spec-diff: {} -> {}\n{}\n",
        report.base_label,
        report.head_label,
        summary(report)
    );
    for finding in &report.findings {
        out.push_str(&format!(
            "\n{:<9} {}\n          at {}\n          {}\n",
            finding.severity.as_str(),
            finding.id,
            finding.pointer,
            finding.message
        ));
    }
    out.push_str(&format!(
        "\nrust api: {}\n",
        rust_summary(report).replace('`', "")
    ));
    if let Verdict::Compared(api) = &report.rust {
        for c in &api.changes {
            out.push_str(&format!(
                "\n{:<9} {}\n          at {}\n          {}\n",
                c.bump.as_str(),
                c.kind,
                c.path,
                c.message
            ));
        }
    }
    match &report.effect {
        Some(Effect::Files(files)) => {
            out.push('\n');
            for file in files {
                out.push_str(&format!(
                    "generated code: {} +{} -{} lines ({} -> {} lines)\n",
                    file.path, file.added, file.removed, file.base_lines, file.head_lines
                ));
            }
        }
        Some(Effect::Failed(message)) => out.push_str(&format!("\ngenerated code: {message}\n")),
        None => {}
    }
    out
}

fn markdown(report: &Report) -> String {
    let mut out = format!(
        "## Spec diff: `{}` → `{}`\n\n",
        report.base_label, report.head_label
    );
    if report.findings.is_empty() {
        out.push_str("No changes to the API description.\n");
    } else {
        let count = |s| report.count(s);
        let breaking = match count(Severity::Breaking) {
            0 => "0 breaking".to_string(),
            n => format!("**{n} breaking**"),
        };
        out.push_str(&format!(
            "{breaking}, {} warning{}, {} info.\n",
            count(Severity::Warning),
            if count(Severity::Warning) == 1 {
                ""
            } else {
                "s"
            },
            count(Severity::Info)
        ));
    }
    for severity in Severity::ALL {
        let rows: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let title = match severity {
            Severity::Breaking => "Breaking changes",
            Severity::Warning => "Warnings",
            Severity::Info => "Info",
        };
        out.push_str(&format!("\n### {title} ({})\n\n", rows.len()));
        let fold = rows.len() > FOLD_ROWS;
        if fold {
            out.push_str("<details><summary>Show all</summary>\n\n");
        }
        out.push_str("| rule | where | change |\n|---|---|---|\n");
        for f in rows {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                f.id,
                cell(&f.pointer),
                cell(&f.message)
            ));
        }
        if fold {
            out.push_str("\n</details>\n");
        }
    }
    markdown_rust(&mut out, report);
    out.push_str("\n### Effect on the generated code\n\n");
    match &report.effect {
        Some(Effect::Files(files)) => markdown_effect(&mut out, files),
        Some(Effect::Failed(message)) => out.push_str(&format!("{}\n", cell(message))),
        None => out.push_str("Not computed.\n"),
    }
    out
}

fn markdown_rust(out: &mut String, report: &Report) {
    let semver = match report.semver() {
        Some(Bump::Major) => "**major**".to_string(),
        Some(bump) => bump.as_str().to_string(),
        None => "unknown".to_string(),
    };
    out.push_str(&format!(
        "\n### Rust API: {semver}\n\n{}.\n",
        rust_summary(report)
    ));
    let Verdict::Compared(api) = &report.rust else {
        return;
    };
    if api.changes.is_empty() {
        return;
    }
    let fold = api.changes.len() > FOLD_ROWS;
    out.push('\n');
    if fold {
        out.push_str("<details><summary>Show all</summary>\n\n");
    }
    out.push_str("| semver | change | item | what |\n|---|---|---|---|\n");
    for c in &api.changes {
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} |\n",
            c.bump.as_str(),
            c.kind,
            cell(&c.path),
            cell(&c.message)
        ));
    }
    if fold {
        out.push_str("\n</details>\n");
    }
}

fn markdown_effect(out: &mut String, files: &[super::effect::FileEffect]) {
    out.push_str("| file | added | removed | lines (base → head) |\n|---|---:|---:|---:|\n");
    for file in files {
        out.push_str(&format!(
            "| `{}` | +{} | −{} | {} → {} |\n",
            file.path, file.added, file.removed, file.base_lines, file.head_lines
        ));
    }
    for file in files.iter().filter(|f| !f.diff.is_empty()) {
        let lines: Vec<&str> = file.diff.lines().collect();
        out.push_str(&format!(
            "\n<details><summary>Diff of <code>{}</code></summary>\n\n```diff\n",
            file.path
        ));
        for line in lines.iter().take(MAX_DIFF_LINES) {
            out.push_str(line);
            out.push('\n');
        }
        if lines.len() > MAX_DIFF_LINES {
            out.push_str(&format!(
                "... {} more diff lines: run `cargo xtask codegen` to see them\n",
                lines.len() - MAX_DIFF_LINES
            ));
        }
        out.push_str("```\n\n</details>\n");
    }
    out.push_str(
        "\nRegenerated in memory with the settings of `cargo xtask codegen`; the \
         header's spec sha256 line is not counted.\n",
    );
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// A JSON array of flat objects, one per line, the array's brackets at `indent`.
fn json_lines<'a, const N: usize>(
    rows: impl Iterator<Item = [(&'a str, &'a str); N]>,
    indent: usize,
) -> String {
    let lines: Vec<String> = rows
        .map(|fields| {
            let fields: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{}: {}", quote(key), quote(value)))
                .collect();
            format!("{:indent$}  {{{}}}", "", fields.join(", "))
        })
        .collect();
    if lines.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n{}\n{:indent$}]", lines.join(",\n"), "")
    }
}

/// Safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `{"findings":[{"id","severity","pointer","message"}],"summary":{...},
/// "rust":{"semver","changes":[{"semver","kind","path","message"}]}}`, keys in that
/// order, one finding or change per line.
fn json(report: &Report) -> String {
    let findings = json_lines(
        report.findings.iter().map(|f| {
            [
                ("id", f.id.as_str()),
                ("severity", f.severity.as_str()),
                ("pointer", &f.pointer),
                ("message", &f.message),
            ]
        }),
        2,
    );
    let rust = match &report.rust {
        Verdict::Compared(api) => {
            let changes = json_lines(
                api.changes.iter().map(|c| {
                    [
                        ("semver", c.bump.as_str()),
                        ("kind", c.kind),
                        ("path", &c.path),
                        ("message", &c.message),
                    ]
                }),
                4,
            );
            format!(
                "{{\n    \"semver\": {},\n    \"changes\": {changes}\n  }}",
                quote(api.semver.as_str())
            )
        }
        Verdict::Failed(message) => {
            format!(
                "{{\"semver\": null, \"error\": {}, \"changes\": []}}",
                quote(message)
            )
        }
    };
    format!(
        "{{\n  \"findings\": {findings},\n  \"summary\": {{\"breaking\": {}, \"warning\": {}, \"info\": {}}},\n  \"rust\": {rust}\n}}\n",
        report.count(Severity::Breaking),
        report.count(Severity::Warning),
        report.count(Severity::Info)
    )
}

#[cfg(test)]
mod tests {
    use super::super::Finding;
    use super::super::rust_api::{Change, RustApi};
    use super::*;

    fn report() -> Report {
        Report {
            base_label: "main".into(),
            head_label: "working tree".into(),
            findings: vec![Finding {
                severity: Severity::Breaking,
                pointer: "/a".into(),
                id: "response-property-removed".into(),
                message: "`A.b` was \"removed\" | gone".into(),
            }],
            rust: Verdict::Compared(RustApi {
                semver: Bump::Major,
                changes: vec![Change {
                    bump: Bump::Major,
                    kind: "struct-field-removed",
                    path: "trillet_api::types::A::b".into(),
                    message: "field `trillet_api::types::A::b` was removed".into(),
                }],
            }),
            effect: None,
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let value: Value = serde_json::from_str(&render(&report(), Format::Json)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "findings": [{
                    "id": "response-property-removed",
                    "severity": "breaking",
                    "pointer": "/a",
                    "message": "`A.b` was \"removed\" | gone",
                }],
                "summary": {"breaking": 1, "warning": 0, "info": 0},
                "rust": {"semver": "major", "changes": [{
                    "semver": "major",
                    "kind": "struct-field-removed",
                    "path": "trillet_api::types::A::b",
                    "message": "field `trillet_api::types::A::b` was removed",
                }]},
            })
        );
    }

    #[test]
    fn markdown_has_a_summary_and_a_table_per_severity() {
        let md = render(&report(), Format::Markdown);
        assert!(md.contains("**1 breaking**, 0 warnings, 0 info."), "{md}");
        assert!(md.contains("### Breaking changes (1)"), "{md}");
        assert!(!md.contains("### Warnings"), "{md}");
        assert!(
            md.contains("| `response-property-removed` | `/a` | `A.b` was \"removed\" \\| gone |")
        );
    }

    #[test]
    fn markdown_and_text_show_the_rust_api_beside_the_wire() {
        let md = render(&report(), Format::Markdown);
        let rust = md.find("### Rust API: **major**").expect(&md);
        assert!(rust > md.find("### Breaking changes").expect(&md), "{md}");
        assert!(
            md.contains("| major | `struct-field-removed` | `trillet_api::types::A::b` |"),
            "{md}"
        );
        let text = render(&report(), Format::Text);
        assert!(
            text.contains("rust api: trillet_api needs a major release"),
            "{text}"
        );
        assert!(
            text.contains(
                "\nmajor     struct-field-removed\n          at trillet_api::types::A::b\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_side_that_cannot_be_generated_is_reported_not_guessed() {
        let mut failed = report();
        failed.rust = Verdict::Failed("generating from the head spec failed: x".into());
        let value: Value = serde_json::from_str(&render(&failed, Format::Json)).unwrap();
        assert_eq!(value["rust"]["semver"], Value::Null);
        assert!(
            value["rust"]["error"]
                .as_str()
                .unwrap()
                .contains("head spec")
        );
        assert!(render(&failed, Format::Markdown).contains("### Rust API: unknown"));
    }
}
