//! `cargo xtask spec-diff` end to end: the binary, git refs in a throwaway
//! repository, output formats and exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOM_NAME: &str = "        roomName:
          type: string
          description: The name of the virtual room the call took place in.
";

const RECORDING_URL: &str = "        recordingUrl:
          type: string
          description: Where the call recording can be downloaded.
";

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec_diff/trillet.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture without `CallHistory.roomName`: one breaking change.
fn without_room_name() -> String {
    let text = fixture();
    assert!(text.contains(ROOM_NAME));
    text.replace(ROOM_NAME, "")
}

/// The fixture with a new optional `CallHistory.recordingUrl`: one info change.
fn with_recording_url() -> String {
    let text = fixture();
    assert!(text.contains(ROOM_NAME));
    text.replace(ROOM_NAME, &format!("{ROOM_NAME}{RECORDING_URL}"))
}

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("xtask-spec-diff-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=spec-diff test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with two commits of spec/trillet.yaml: the fixture, then `head`.
fn repo_with_two_commits(name: &str, head: &str) -> TempDir {
    let dir = TempDir::new(name);
    git(&dir.0, &["init", "--quiet"]);
    dir.write("spec/trillet.yaml", &fixture());
    git(&dir.0, &["add", "spec/trillet.yaml"]);
    git(&dir.0, &["commit", "--quiet", "-m", "base"]);
    dir.write("spec/trillet.yaml", head);
    git(
        &dir.0,
        &["commit", "--quiet", "--allow-empty", "-am", "head"],
    );
    dir
}

fn spec_diff(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-diff")
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run xtask: {e}"))
}

/// A path as a command-line argument.
fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn ids(value: &serde_json::Value) -> Vec<String> {
    let findings = value["findings"].as_array().cloned().unwrap_or_default();
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["severity"].as_str().unwrap_or("?"),
                f["id"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn two_git_refs_are_compared_and_a_breaking_change_fails_the_run() {
    let repo = repo_with_two_commits("refs", &without_room_name());
    let out = spec_diff(
        &repo.0,
        &["--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(ids(&report), ["breaking response-property-removed"]);
    assert_eq!(
        report["findings"][0]["pointer"],
        "/components/schemas/CallHistory/properties/roomName"
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"breaking": 1, "warning": 0, "info": 0})
    );
}

#[test]
fn fail_on_never_acknowledges_breaking_changes() {
    let repo = repo_with_two_commits("never", &without_room_name());
    let out = spec_diff(
        &repo.0,
        &[
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ids(&json(&out)), ["breaking response-property-removed"]);
}

#[test]
fn the_head_defaults_to_the_working_tree() {
    let repo = repo_with_two_commits("worktree", &fixture());
    repo.write("spec/trillet.yaml", &with_recording_url());
    let out = spec_diff(&repo.0, &["--base", "HEAD", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ids(&json(&out)), ["info response-property-added"]);
    // ...and so does `--fail-on info`, which fails on anything.
    let out = spec_diff(
        &repo.0,
        &["--base", "HEAD", "--format", "json", "--fail-on", "info"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_ref_and_path_pair_and_plain_files_work_too() {
    let repo = repo_with_two_commits("mixed", &fixture());
    let head = repo.write("elsewhere/head.yaml", &with_recording_url());
    let out = spec_diff(
        &repo.0,
        &[
            "--base",
            "HEAD:spec/trillet.yaml",
            "--head",
            &arg(&head),
            "--format",
            "json",
        ],
    );
    assert_eq!(ids(&json(&out)), ["info response-property-added"]);
    let base = repo.write("elsewhere/base.yaml", &fixture());
    let out = spec_diff(
        &repo.0,
        &[
            "--base",
            &arg(&base),
            "--head",
            &arg(&head),
            "--format",
            "json",
        ],
    );
    assert_eq!(ids(&json(&out)), ["info response-property-added"]);
}

#[test]
fn identical_refs_give_no_findings() {
    let repo = repo_with_two_commits("same", &fixture());
    let out = spec_diff(
        &repo.0,
        &["--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "{\n  \"findings\": [],\n  \"summary\": {\"breaking\": 0, \"warning\": 0, \"info\": 0},\n  \"rust\": {\n    \"semver\": \"none\",\n    \"changes\": []\n  }\n}\n"
    );
}

#[test]
fn markdown_shows_tables_and_the_effect_on_the_generated_code() {
    let repo = repo_with_two_commits("markdown", &without_room_name());
    let out = spec_diff(
        &repo.0,
        &["--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"],
    );
    let md = stdout(&out);
    assert!(
        md.starts_with("## Spec diff: `HEAD~1:spec/trillet.yaml` → `HEAD:spec/trillet.yaml`"),
        "{md}"
    );
    assert!(md.contains("**1 breaking**, 0 warnings, 0 info."), "{md}");
    assert!(md.contains("### Breaking changes (1)"), "{md}");
    assert!(md.contains("| `response-property-removed` | `/components/schemas/CallHistory/properties/roomName` |"), "{md}");
    assert!(md.contains("### Effect on the generated code"), "{md}");
    assert!(
        md.contains("| `crates/trillet-api/src/generated.rs` | +0 | −"),
        "{md}"
    );
    assert!(
        md.contains("-        pub room_name: ::std::option::Option<::std::string::String>,"),
        "{md}"
    );
    // The repository's own files are untouched: generation happens in memory.
    assert!(!repo.0.join("crates").exists());
}

#[test]
fn the_default_format_is_markdown_in_github_actions_and_text_elsewhere() {
    let repo = repo_with_two_commits("default-format", &without_room_name());
    let args = ["spec-diff", "--base", "HEAD~1", "--fail-on", "never"];
    let run = |github: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .current_dir(&repo.0)
            .env_remove("GIT_DIR");
        if github {
            command.env("GITHUB_ACTIONS", "true");
        } else {
            command.env_remove("GITHUB_ACTIONS");
        }
        stdout(
            &command
                .output()
                .unwrap_or_else(|e| panic!("cannot run xtask: {e}")),
        )
    };
    assert!(run(true).starts_with("## Spec diff"));
    let text = run(false);
    assert!(text.starts_with("spec-diff: HEAD~1:spec/trillet.yaml -> working tree spec/trillet.yaml\n1 breaking, 0 warnings, 0 info\n"), "{text}");
    assert!(text.contains("\nbreaking  response-property-removed\n          at /components/schemas/CallHistory/properties/roomName\n"), "{text}");
}

#[test]
fn unknown_refs_and_invalid_specs_are_errors_with_status_1() {
    let repo = repo_with_two_commits("errors", &fixture());
    let out = spec_diff(&repo.0, &["--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`no-such-branch` is neither a file nor a git revision")
    );

    let broken = repo.write("broken.yaml", "openapi: 3.0.3\ninfo: {}\n");
    let out = spec_diff(&repo.0, &["--base", &arg(&broken)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid OpenAPI 3.0 document"));

    let out = spec_diff(&repo.0, &["--head", "HEAD"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("required arguments were not provided") && stderr.contains("--base"),
        "{stderr}"
    );
}
