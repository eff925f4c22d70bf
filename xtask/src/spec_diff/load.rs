//! Reading one side of the diff: a file, a git revision, or the working tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::codegen::SPEC_PATH;

/// One side of the diff: where it came from, its text, and the parsed document.
pub struct Spec {
    pub label: String,
    pub text: String,
    pub doc: openapiv3::OpenAPI,
}

/// The repository the command runs in: git's top level for the current directory,
/// else the workspace this xtask was built from.
pub fn repo_root() -> PathBuf {
    let output = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let top = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if top.is_empty() {
                crate::workspace_root()
            } else {
                PathBuf::from(top)
            }
        }
        _ => crate::workspace_root(),
    }
}

/// `spec/trillet.yaml` as it is on disk now.
pub fn working_tree(root: &Path) -> Result<Spec, String> {
    let path = root.join(SPEC_PATH);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(format!("working tree {SPEC_PATH}"), text)
}

/// `arg` is, in this order: an existing file; `<rev>:<path>` for a file at a
/// revision; a git revision, read as `<rev>:spec/trillet.yaml`.
pub fn load(arg: &str, root: &Path) -> Result<Spec, String> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        let text =
            std::fs::read_to_string(as_path).map_err(|e| format!("cannot read {arg}: {e}"))?;
        return parse(arg.to_string(), text);
    }
    if arg.is_empty() || arg.starts_with('-') {
        return Err(format!("`{arg}` is neither a file nor a git revision"));
    }
    let object = if arg.contains(':') {
        arg.to_string()
    } else {
        if !is_revision(arg, root) {
            return Err(format!(
                "`{arg}` is neither a file nor a git revision in {}",
                root.display()
            ));
        }
        format!("{arg}:{SPEC_PATH}")
    };
    let text = git_show(&object, root)?;
    parse(object, text)
}

pub fn parse(label: String, text: String) -> Result<Spec, String> {
    let doc = serde_norway::from_str(&text)
        .map_err(|e| format!("{label} is not a valid OpenAPI 3.0 document: {e}"))?;
    Ok(Spec { label, text, doc })
}

fn is_revision(rev: &str, root: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .is_ok_and(|out| out.status.success())
}

fn git_show(object: &str, root: &Path) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .arg("show")
        .arg(object)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git show {object} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{object} is not UTF-8 text"))
}
