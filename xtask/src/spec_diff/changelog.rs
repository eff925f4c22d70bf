//! `--format changelog`: draft CHANGELOG.md entries (Keep a Changelog sections)
//! from both layers of a report, with the next version of the generated crate
//! that the Rust verdict calls for. A draft: a person edits it before committing.

use super::Report;
use super::Severity;
use super::rust_api::{Bump, CRATE, Verdict};

/// The generated crate's manifest, whose `version` the Rust verdict moves.
const API_MANIFEST: &str = "crates/trillet-api/Cargo.toml";

const SECTIONS: [&str; 4] = ["Added", "Changed", "Deprecated", "Removed"];

pub fn draft(report: &Report) -> String {
    let version = current_version();
    draft_with_version(report, version.as_deref())
}

fn draft_with_version(report: &Report, current: Option<&str>) -> String {
    let mut out = String::from("## [Unreleased]\n\n");
    out.push_str(&format!(
        "<!-- drafted by `cargo xtask spec-diff --format changelog` from {} -> {} -->\n\n",
        report.base_label, report.head_label
    ));
    match &report.rust {
        Verdict::Compared(api) => {
            let next = current.and_then(|v| next_version(v, api.semver));
            let version = match (current, next) {
                (Some(current), Some(next)) if current != next => {
                    format!(": version {current} -> {next}")
                }
                (Some(current), Some(_)) => format!(": version stays {current}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "`{CRATE}`: a {} change{version}.\n",
                api.semver.as_str()
            ));
        }
        Verdict::Failed(message) => {
            out.push_str(&format!("`{CRATE}`: Rust API not compared ({message}).\n"));
        }
    }
    let mut sections: Vec<Vec<String>> = vec![Vec::new(); SECTIONS.len()];
    let mut docs = 0;
    for f in &report.findings {
        if documentation_only(&f.id) {
            docs += 1;
            continue;
        }
        let breaking = if f.severity == Severity::Breaking {
            "**Breaking:** "
        } else {
            ""
        };
        sections[section(&f.id)].push(format!("- {breaking}{} (`{}`)", f.message, f.id));
    }
    if docs > 0 {
        sections[1].push(format!(
            "- Documentation of the API updated ({docs} description or example change{}).",
            if docs == 1 { "" } else { "s" }
        ));
    }
    if let Verdict::Compared(api) = &report.rust {
        for c in &api.changes {
            let breaking = if c.bump == Bump::Major {
                "**Breaking:** "
            } else {
                ""
            };
            sections[section(c.kind)].push(format!("- {breaking}Rust: {}", c.message));
        }
    }
    for (title, entries) in SECTIONS.iter().zip(&sections) {
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("\n### {title}\n\n"));
        for entry in entries {
            out.push_str(entry);
            out.push('\n');
        }
    }
    out
}

fn documentation_only(id: &str) -> bool {
    id.ends_with("-description-changed")
        || id.ends_with("-example-changed")
        || id == "api-tags-changed"
}

/// The Keep a Changelog section (an index into [`SECTIONS`]) for a rule or kind id.
fn section(id: &str) -> usize {
    if id.contains("deprecat") {
        2
    } else if id.contains("removed") {
        3
    } else if id.ends_with("-added") || id.starts_with("new-") {
        0
    } else {
        1
    }
}

/// The version the Rust verdict calls for. Before 1.0, cargo treats `0.x` as the
/// major version, so every bump shifts one place to the right.
pub fn next_version(current: &str, bump: Bump) -> Option<String> {
    let mut parts = current.split('.').map(|p| p.parse::<u64>().ok());
    let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next()??);
    let (major, minor, patch) = match (bump, major) {
        (Bump::None, _) => (major, minor, patch),
        (Bump::Major, 0) => (0, minor + 1, 0),
        (Bump::Major, _) => (major + 1, 0, 0),
        (Bump::Minor, 0) | (Bump::Patch, _) => (major, minor, patch + 1),
        (Bump::Minor, _) => (major, minor + 1, 0),
    };
    Some(format!("{major}.{minor}.{patch}"))
}

/// The generated crate's version, from the `version = "…"` line of its manifest.
fn current_version() -> Option<String> {
    let path = crate::workspace_root().join(API_MANIFEST);
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let value = line
            .strip_prefix("version")?
            .trim_start()
            .strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::super::rust_api::{Change, RustApi};
    use super::super::{Finding, Report};
    use super::*;

    #[test]
    fn versions_follow_the_verdict_one_place_further_right_before_1_0() {
        assert_eq!(next_version("0.1.0", Bump::Major).as_deref(), Some("0.2.0"));
        assert_eq!(next_version("0.1.3", Bump::Minor).as_deref(), Some("0.1.4"));
        assert_eq!(next_version("0.1.3", Bump::Patch).as_deref(), Some("0.1.4"));
        assert_eq!(next_version("1.2.3", Bump::Major).as_deref(), Some("2.0.0"));
        assert_eq!(next_version("1.2.3", Bump::Minor).as_deref(), Some("1.3.0"));
        assert_eq!(next_version("1.2.3", Bump::None).as_deref(), Some("1.2.3"));
        assert_eq!(next_version("one", Bump::Patch), None);
    }

    #[test]
    fn the_generated_crate_has_a_version_of_its_own() {
        let version = current_version().expect("a version line in crates/trillet-api/Cargo.toml");
        assert!(next_version(&version, Bump::Patch).is_some(), "{version}");
    }

    #[test]
    fn a_draft_has_keep_a_changelog_sections_and_marks_breaking_entries() {
        let finding = |severity, id: &str, message: &str| Finding {
            severity,
            pointer: "/x".into(),
            id: id.into(),
            message: message.into(),
        };
        let report = Report {
            base_label: "main".into(),
            head_label: "head".into(),
            findings: vec![
                finding(
                    Severity::Breaking,
                    "response-property-removed",
                    "`A.b` was removed",
                ),
                finding(Severity::Info, "response-property-added", "`A.c` was added"),
                finding(Severity::Info, "response-property-description-changed", "d"),
            ],
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
        };
        let draft = draft_with_version(&report, Some("0.1.0"));
        assert!(draft.starts_with("## [Unreleased]\n"), "{draft}");
        assert!(
            draft.contains("`trillet_api`: a major change: version 0.1.0 -> 0.2.0.\n"),
            "{draft}"
        );
        assert!(
            draft.contains("### Added\n\n- `A.c` was added (`response-property-added`)\n"),
            "{draft}"
        );
        assert!(draft.contains("### Changed\n\n- Documentation of the API updated (1 description or example change).\n"), "{draft}");
        assert!(draft.contains("### Removed\n\n- **Breaking:** `A.b` was removed (`response-property-removed`)\n- **Breaking:** Rust: field `trillet_api::types::A::b` was removed\n"), "{draft}");
        assert!(!draft.contains("### Deprecated"), "{draft}");
    }
}
