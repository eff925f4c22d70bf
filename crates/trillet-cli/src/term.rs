//! Text for people: server-controlled text escaped before it reaches a terminal,
//! error chains on one line, and standard-error writes that never panic.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// `text` with every control character escaped (C0, DEL, C1, and the bidirectional
/// overrides that reorder what a terminal shows), so server data cannot clear the
/// screen, move the cursor or set the window title. JSON output is never passed
/// through this: it is escaped by JSON itself.
pub fn safe(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `text`, marking a cut with `…`, for echoing user or
/// server input in a message.
pub fn short(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        Cow::Borrowed(text)
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        Cow::Owned(cut)
    }
}

/// An error and its sources on one line, down to the root cause; a source whose
/// text the line already holds is skipped.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

/// Writes one line to standard error, escaped; a failed write is ignored (there is
/// nowhere left to report it), never a panic.
pub fn eprint_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", safe(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_kept() {
        assert_eq!(safe("completed"), "completed");
        assert_eq!(safe("été ✓"), "été ✓");
        assert_eq!(safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(safe("\u{1b}]0;pwned\u{7}"), "\\u{1b}]0;pwned\\u{7}");
        assert_eq!(safe("x\ny\r"), "x\\u{a}y\\u{d}");
        assert_eq!(safe("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(safe("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn long_text_is_cut_with_a_mark() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abc", 4), "abc");
    }

    #[test]
    fn a_chain_reaches_the_root_cause_without_repeating_itself() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "could not read ids",
            Some(Box::new(E(
                "permission denied",
                Some(Box::new(E("denied", None))),
            ))),
        );
        assert_eq!(chain(&e), "could not read ids: permission denied");
    }
}
