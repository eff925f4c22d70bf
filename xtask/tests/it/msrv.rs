//! The declared minimum supported Rust version holds as far as this machine can
//! tell without that toolchain: every crate inherits it (so cargo enforces it),
//! and no resolved dependency declares a newer one. The build itself at the MSRV is
//! checked by the `msrv` job of `.github/workflows/ci.yml`.

use std::process::Command;

use serde_json::Value;

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("cargo metadata JSON: {e}"))
}

fn version(text: &str) -> Vec<u64> {
    text.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[test]
fn every_workspace_crate_declares_the_same_rust_version_and_no_dependency_needs_a_newer_one() {
    let metadata = metadata();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata["packages"].as_array().expect("packages");
    let declared: Vec<(&str, Option<&str>)> = packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or("")))
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("?"),
                p["rust_version"].as_str(),
            )
        })
        .collect();
    assert_eq!(declared.len(), members.len());
    let msrv = declared[0].1.expect("a rust-version");
    for (name, rust_version) in &declared {
        assert_eq!(
            *rust_version,
            Some(msrv),
            "{name} does not inherit rust-version"
        );
    }
    let newer: Vec<String> = packages
        .iter()
        .filter(|p| !members.contains(&p["id"].as_str().unwrap_or("")))
        .filter_map(|p| {
            let theirs = p["rust_version"].as_str()?;
            (version(theirs) > version(msrv))
                .then(|| format!("{} {} needs {theirs}", p["name"], p["version"]))
        })
        .collect();
    assert!(newer.is_empty(), "declared {msrv}, but: {newer:?}");
}
