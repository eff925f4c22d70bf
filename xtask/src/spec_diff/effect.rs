//! The effect of a spec change on the generated code: both sides are run through
//! the same generator as `cargo xtask codegen`, in memory (the working tree is not
//! touched), and the outputs are compared line by line.

use crate::codegen::{OUTPUT_PATH, generate};

/// Lines of context around each change in the unified diff.
const CONTEXT: usize = 3;
/// Above this many cells the line diff falls back to "everything changed".
const MAX_DIFF_CELLS: usize = 16_000_000;

pub enum Effect {
    /// One entry per generated file (today only `generated.rs`).
    Files(Vec<FileEffect>),
    /// Generation failed for one side; the message says which and why.
    Failed(String),
}

pub struct FileEffect {
    pub path: &'static str,
    pub added: usize,
    pub removed: usize,
    pub base_lines: usize,
    pub head_lines: usize,
    /// A unified diff (`@@` hunks only), empty when nothing changed.
    pub diff: String,
}

/// The line diff of the code generated from both sides (see [`generate_quietly`]).
pub fn generated_code(base: &Result<String, String>, head: &Result<String, String>) -> Effect {
    let base = match base {
        Ok(code) => code,
        Err(e) => return Effect::Failed(format!("generating from the base spec failed: {e}")),
    };
    let head = match head {
        Ok(code) => code,
        Err(e) => return Effect::Failed(format!("generating from the head spec failed: {e}")),
    };
    Effect::Files(vec![file_effect(OUTPUT_PATH, base, head)])
}

/// The code `cargo xtask codegen` would write for a spec. progenitor asserts
/// rather than errs on some specs it does not support (e.g. several success
/// response types); a spec under review must not crash the diff.
pub fn generate_quietly(spec_text: &str) -> Result<String, String> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| generate(spec_text));
    std::panic::set_hook(previous_hook);
    match result {
        Ok(generated) => generated,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown reason".to_string());
            Err(format!("the generator panicked: {reason}"))
        }
    }
}

/// The header's `spec sha256` line changes with every edit of the spec text, even
/// a reformatting: it is left out so that the counts show real code changes.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.starts_with("// spec sha256:"))
        .collect()
}

pub fn file_effect(path: &'static str, base: &str, head: &str) -> FileEffect {
    let (old, new) = (code_lines(base), code_lines(head));
    let edits = diff_lines(&old, &new);
    let added = edits
        .iter()
        .filter(|e| matches!(e, Edit::Insert(_)))
        .count();
    let removed = edits
        .iter()
        .filter(|e| matches!(e, Edit::Delete(_)))
        .count();
    FileEffect {
        path,
        added,
        removed,
        base_lines: old.len(),
        head_lines: new.len(),
        diff: unified(&edits, &old, &new),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// (old index, new index)
    Keep(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// A shortest edit script by longest common subsequence, after trimming the
/// common prefix and suffix (a spec change usually touches a few places).
fn diff_lines(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut edits: Vec<Edit> = (0..prefix).map(|i| Edit::Keep(i, i)).collect();
    if a.len().saturating_mul(b.len()) > MAX_DIFF_CELLS {
        edits.extend((0..a.len()).map(|i| Edit::Delete(prefix + i)));
        edits.extend((0..b.len()).map(|j| Edit::Insert(prefix + j)));
    } else {
        // lcs[i][j]: length of the LCS of a[i..] and b[j..].
        let width = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * width + j] = if a[i] == b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                edits.push(Edit::Keep(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if i < a.len()
                && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
            {
                edits.push(Edit::Delete(prefix + i));
                i += 1;
            } else {
                edits.push(Edit::Insert(prefix + j));
                j += 1;
            }
        }
    }
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    edits.extend((0..suffix).map(|k| Edit::Keep(old_end + k, new_end + k)));
    edits
}

/// `@@ -l,s +l,s @@` hunks with [`CONTEXT`] lines around each change.
fn unified(edits: &[Edit], old: &[&str], new: &[&str]) -> String {
    let changed: Vec<usize> = edits
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Edit::Keep(..)))
        .map(|(i, _)| i)
        .collect();
    let mut out = String::new();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(edits.len());
        let hunk = &edits[start..end];
        let (old_start, new_start) = position(edits, start);
        let old_len = hunk
            .iter()
            .filter(|e| !matches!(e, Edit::Insert(_)))
            .count();
        let new_len = hunk
            .iter()
            .filter(|e| !matches!(e, Edit::Delete(_)))
            .count();
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            old_start + 1,
            new_start + 1
        ));
        for edit in hunk {
            match *edit {
                Edit::Keep(i, _) => out.push_str(&format!(" {}\n", old[i])),
                Edit::Delete(i) => out.push_str(&format!("-{}\n", old[i])),
                Edit::Insert(j) => out.push_str(&format!("+{}\n", new[j])),
            }
        }
        k += 1;
    }
    out
}

/// The old and new line numbers (0-based) at which edit `at` starts.
fn position(edits: &[Edit], at: usize) -> (usize, usize) {
    let before = &edits[..at];
    (
        before
            .iter()
            .filter(|e| !matches!(e, Edit::Insert(_)))
            .count(),
        before
            .iter()
            .filter(|e| !matches!(e, Edit::Delete(_)))
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn counts_added_and_removed_lines() {
        let effect = file_effect("f.rs", "a\nb\nc\nd\n", "a\nc\nx\ny\nd\n");
        assert_eq!((effect.added, effect.removed), (2, 1));
        assert_eq!(effect.diff, "@@ -1,4 +1,5 @@\n a\n-b\n c\n+x\n+y\n d\n");
    }

    #[test]
    fn identical_texts_have_no_diff() {
        let effect = file_effect("f.rs", "a\nb\n", "a\nb\n");
        assert_eq!(
            (effect.added, effect.removed, effect.diff.as_str()),
            (0, 0, "")
        );
    }

    #[test]
    fn the_spec_hash_line_is_not_a_change() {
        let effect = file_effect("f.rs", "// spec sha256: 00\nx\n", "// spec sha256: ff\nx\n");
        assert_eq!((effect.added, effect.removed), (0, 0));
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old: String = (0..30).map(|i| format!("{i}\n")).collect();
        let new = old.replace("\n2\n", "\ntwo\n").replace("\n25\n", "\n");
        let edits = diff_lines(&lines(&old), &lines(&new));
        let diff = unified(&edits, &lines(&old), &lines(&new));
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(
            diff.starts_with("@@ -1,6 +1,6 @@\n 0\n 1\n-2\n+two\n"),
            "{diff}"
        );
        assert!(
            diff.contains("@@ -23,7 +23,6 @@\n 22\n 23\n 24\n-25\n 26\n"),
            "{diff}"
        );
    }
}
