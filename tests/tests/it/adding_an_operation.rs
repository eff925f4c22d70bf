//! Proof that adding an operation is a spec edit and nothing else: a copy of the
//! workspace gets a new operation (`GET /v2/api/agent-stats/{agentId}`) with a new
//! component schema (`AgentStats`) and an example, written into `spec/trillet.yaml` only.
//! Then, in the copy: `cargo xtask codegen`, `cargo xtask lint`, and
//!
//! - the property suite covers `AgentStats` (it enumerates the generated components);
//! - `trillet api --list` lists the operation and `trillet --mock api get_agent_stats`
//!   calls it against the embedded mock, which serves the example;
//! - a downstream crate (outside the copy, depending on it by path) calls it through
//!   `trillet::Client::call_raw` with the whole policy, against the mock.
//!
//! Slow (a cold build of the copy): `#[ignore]`d; CI runs it as a named step,
//! `cargo test -p trillet-tests --test it adding_an_operation -- --ignored --nocapture`.
//! The copy's build directory is kept under `target/adding-an-operation`, so a rerun
//! rebuilds only what changed.

// Helpers outside #[test] functions set up the scratch copy: a failure there is the
// test failing, with the panic message saying where.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The new path item, inserted as the first entry under `paths:`.
const PATH_ITEM: &str = r##"  /v2/api/agent-stats/{agentId}:
    get:
      operationId: get_agent_stats
      tags: [agent-stats]
      x-trillet-effect: read
      x-trillet-docs: ["https://docs.trillet.ai/v1/api-reference/endpoints/agents/get"]
      summary: Get one agent's statistics
      description: Returns one voice agent of the workspace.
      security:
        - apiKey: []
          workspaceId: []
      parameters:
        - name: agentId
          in: path
          required: true
          description: The id of the agent.
          schema:
            type: string
            minLength: 1
          example: agent-1
      responses:
        "200":
          description: The agent.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/AgentStats"
              example:
                _id: agent-1
                name: Front desk
                language: en-US
        "401":
          $ref: "#/components/responses/Unauthorized"
        "404":
          $ref: "#/components/responses/NotFound"
"##;

/// The new component schema, inserted as the first entry under `schemas:`.
const SCHEMA: &str = r##"    AgentStats:
      type: object
      description: A voice agent that answers or places calls.
      additionalProperties: {}
      properties:
        _id:
          type: string
          description: The agent's id.
        name:
          type: string
          description: The agent's display name.
        language:
          type: string
          description: The language the agent speaks (a BCP 47 tag).
"##;

/// The downstream program: it uses only the regenerated crates' public API.
const DOWNSTREAM_MAIN: &str = r##"use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The mock checks the credentials exactly (by default it takes any key).
    let mut config = MockConfig::default();
    config.api_key = Some(MOCK_API_KEY.into());
    let mock = MockServer::start(config).await?;
    let client = trillet::Client::builder()
        .api_key(MOCK_API_KEY)
        .workspace_id(MOCK_WORKSPACE_ID)
        .base_url(mock.url())
        .build()?;
    let raw = client
        .call_raw(|api| api.get_agent_stats().agent_id("agent-7").send())
        .await?;
    let agent: &trillet_api::types::AgentStats = raw.record();
    println!("name={}", agent.name.as_deref().unwrap_or("-"));
    println!("json={}", raw.json());
    // Without credentials the whole policy still applies and the error is typed.
    let anonymous = trillet::Client::builder()
        .api_key("wrong-key")
        .workspace_id(MOCK_WORKSPACE_ID)
        .base_url(mock.url())
        .build()?;
    match anonymous.call(|api| api.get_agent_stats().agent_id("agent-7").send()).await {
        Ok(_) => println!("unauthenticated=accepted"),
        Err(e) => println!("unauthenticated={:?}", e.status()),
    }
    Ok(())
}
"##;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Copies the files git tracks (symlinks kept as symlinks) into `to`.
fn copy_workspace(from: &Path, to: &Path) {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(from)
        .output()
        .expect("git runs");
    assert!(listed.status.success(), "git ls-files failed");
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).expect("file names are UTF-8");
        let (source, target) = (from.join(name), to.join(name));
        let Ok(meta) = std::fs::symlink_metadata(&source) else {
            continue; // deleted in the working tree
        };
        std::fs::create_dir_all(target.parent().expect("a file has a parent")).unwrap();
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&source).unwrap();
            std::os::unix::fs::symlink(link, &target).unwrap();
        } else {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

/// Inserts `block` right after the line `anchor` (which must occur once).
fn insert_after(text: &str, anchor: &str, block: &str) -> String {
    let at = text
        .match_indices(anchor)
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    assert_eq!(
        at.len(),
        1,
        "`{}` must occur once in the spec",
        anchor.trim()
    );
    let end = at[0] + anchor.len();
    format!("{}{block}{}", &text[..end], &text[end..])
}

fn run(what: &str, command: &mut Command) -> Output {
    let started = std::time::Instant::now();
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    eprintln!(
        "{what}: {} in {:.0} s",
        output.status,
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn cargo(dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        // A smaller, faster build: this test needs no debugger.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_MANIFEST_DIR");
    command
}

#[test]
#[ignore = "slow: builds a copy of the workspace; CI runs it as a named step"]
fn an_operation_added_to_the_spec_works_everywhere_after_codegen() {
    let root = repo_root();
    let target = root.join("target/adding-an-operation");
    let scratch = tempfile_dir(&root);
    let copy = scratch.join("workspace");
    copy_workspace(&root, &copy);

    // The only edit: the spec.
    let spec_path = copy.join("spec/trillet.yaml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let spec = insert_after(&spec, "\npaths:\n", PATH_ITEM);
    let spec = insert_after(&spec, "\n  schemas:\n", SCHEMA);
    std::fs::write(&spec_path, spec).unwrap();

    run(
        "cargo xtask codegen",
        cargo(&copy, &target).args(["run", "-q", "-p", "xtask", "--", "codegen"]),
    );
    let generated =
        std::fs::read_to_string(copy.join("crates/trillet-api/src/generated.rs")).unwrap();
    assert!(
        generated.contains("pub struct AgentStats {"),
        "no AgentStats model was generated"
    );
    assert!(
        generated.contains("fn get_agent_stats"),
        "no get_agent_stats operation was generated"
    );
    let coverage = std::fs::read_to_string(copy.join("docs/api-coverage.md")).unwrap();
    assert!(
        coverage
            .contains("| `get_agent_stats` | GET | `/v2/api/agent-stats/{agentId}` | agent-stats | read | none |"),
        "docs/api-coverage.md does not list get_agent_stats:\n{coverage}"
    );
    run(
        "cargo xtask lint",
        cargo(&copy, &target).args(["run", "-q", "-p", "xtask", "--", "lint"]),
    );

    // The property suite enumerates the components: AgentStats is covered, no line added.
    let properties = run(
        "the property suite",
        cargo(&copy, &target)
            .args(["test", "-q", "-p", "trillet-tests", "--test", "it"])
            .args(["--", "--nocapture", "properties::every_"])
            .env("PROPTEST_CASES", "32"),
    );
    let _ = properties;
    let components = run(
        "the component table",
        cargo(&copy, &target)
            .args(["test", "-q", "-p", "trillet-tests", "--test", "it"])
            .args([
                "--",
                "--exact",
                "properties::every_spec_component_has_a_model_type",
            ]),
    );
    assert!(String::from_utf8_lossy(&components.stdout).contains("1 passed"));

    // The CLI, driven by the embedded (edited) spec, against the embedded mock.
    run(
        "build the CLI",
        cargo(&copy, &target).args(["build", "-q", "-p", "trillet-cli"]),
    );
    let trillet = target.join("debug/trillet");
    let list = run(
        "trillet api --list",
        Command::new(&trillet).args(["api", "--list"]),
    );
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    let line = list
        .lines()
        .find(|l| l.contains("get_agent_stats"))
        .unwrap_or_else(|| panic!("get_agent_stats is not listed:\n{list}"));
    assert!(
        line.contains("GET") && line.contains("/v2/api/agent-stats/{agentId}"),
        "{line}"
    );
    let called = run(
        "trillet --mock api get_agent_stats",
        Command::new(&trillet).args(["--mock", "api", "get_agent_stats", "-p", "agentId=agent-7"]),
    );
    let body: serde_json::Value = serde_json::from_slice(&called.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&called.stdout)
        )
    });
    assert_eq!(body["name"], "Front desk", "{body}");
    assert_eq!(
        body["_id"], "agent-7",
        "the example is served for the requested id: {body}"
    );
    let missing = Command::new(&trillet)
        .args(["--mock", "api", "get_agent_stats"])
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a missing parameter is a usage error"
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("agentId"));

    // A downstream crate calls the new operation through the client.
    let downstream = scratch.join("downstream");
    std::fs::create_dir_all(downstream.join("src")).unwrap();
    let crate_path = |name: &str| copy.join("crates").join(name).display().to_string();
    std::fs::write(
        downstream.join("Cargo.toml"),
        format!(
            "[package]\nname = \"downstream\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\n\
             trillet = {{ path = {:?} }}\ntrillet-api = {{ path = {:?} }}\ntrillet-mock = {{ path = {:?} }}\n\
             tokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\n",
            crate_path("trillet"),
            crate_path("trillet-api"),
            crate_path("trillet-mock"),
        ),
    )
    .unwrap();
    std::fs::write(downstream.join("src/main.rs"), DOWNSTREAM_MAIN).unwrap();
    // The workspace's lock file, so the same dependency versions are used.
    std::fs::copy(copy.join("Cargo.lock"), downstream.join("Cargo.lock")).unwrap();
    let output = run(
        "the downstream crate",
        cargo(&downstream, &target).args(["run", "-q"]),
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(stdout.contains("name=Front desk"), "{stdout}");
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("json="))
        .unwrap_or_else(|| panic!("no json line: {stdout}"));
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["_id"], "agent-7");
    assert!(stdout.contains("unauthenticated=Some(401)"), "{stdout}");

    let _ = std::fs::remove_dir_all(&scratch);
}

/// A fresh scratch directory under `target/` (removed at the end of a passing run;
/// kept after a failure, for a look).
fn tempfile_dir(root: &Path) -> PathBuf {
    let dir = root.join("target/adding-an-operation-scratch");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
