//! Text for people: server-controlled text escaped before it reaches a terminal,
//! error chains on one line, and standard-error writes that never panic.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// The characters a terminal may act on rather than show: C0, DEL, C1 (U+009B is a
/// CSI introducer on some terminals), and the bidirectional overrides and isolates
/// that reorder what it shows.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Standard output, locked. When it is a terminal, every character [`unsafe_char`]
/// names (other than JSON's whitespace) is written as a JSON `\u` escape: JSON
/// output is the same document, escaped where a string could drive the terminal
/// (JSON itself lets C1 and the bidi controls through raw). In a pipe or a file the
/// bytes are the server's, unchanged.
pub fn stdout() -> TerminalSafe<std::io::StdoutLock<'static>> {
    use std::io::IsTerminal as _;
    let out = std::io::stdout();
    let escape = out.is_terminal();
    TerminalSafe::new(out.lock(), escape)
}

/// A writer that escapes, when `escape` is set, as [`stdout`] says. A UTF-8 sequence
/// split across two writes is held until it is whole; bytes that are not UTF-8 are
/// written as U+FFFD (they would be C1 controls to an 8-bit terminal).
///
/// Hand-rolled: the escaping crates (`strip-ansi-escapes`, `vte`) remove or parse
/// sequences rather than keep text as a valid JSON escape.
pub struct TerminalSafe<W: std::io::Write> {
    inner: W,
    escape: bool,
    /// The start of a UTF-8 sequence the last write ended inside.
    carry: Vec<u8>,
}

impl<W: std::io::Write> TerminalSafe<W> {
    pub fn new(inner: W, escape: bool) -> Self {
        Self {
            inner,
            escape,
            carry: Vec::new(),
        }
    }

    fn escaped(&mut self, text: &str) -> std::io::Result<()> {
        let mut rest = text;
        while let Some(at) = rest.find(|c: char| unsafe_char(c) && !matches!(c, '\n' | '\r' | '\t'))
        {
            let c = rest[at..].chars().next().unwrap_or_default();
            self.inner.write_all(&rest.as_bytes()[..at])?;
            write!(self.inner, "\\u{:04x}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.inner.write_all(rest.as_bytes())
    }
}

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.escape {
            return self.inner.write(buf);
        }
        let joined;
        let mut data = if self.carry.is_empty() {
            buf
        } else {
            self.carry.extend_from_slice(buf);
            joined = std::mem::take(&mut self.carry);
            &joined[..]
        };
        loop {
            match std::str::from_utf8(data) {
                Ok(text) => {
                    self.escaped(text)?;
                    break;
                }
                Err(e) => {
                    let (valid, rest) = data.split_at(e.valid_up_to());
                    self.escaped(std::str::from_utf8(valid).unwrap_or_default())?;
                    match e.error_len() {
                        // Cut off at the end: wait for the rest of the sequence.
                        None => {
                            self.carry = rest.to_vec();
                            break;
                        }
                        Some(bad) => {
                            self.inner.write_all("\u{fffd}".as_bytes())?;
                            data = &rest[bad..];
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.carry.is_empty() {
            // Never completed: not UTF-8.
            self.carry.clear();
            self.inner.write_all("\u{fffd}".as_bytes())?;
        }
        self.inner.flush()
    }
}

/// `text` with every control character escaped (C0, DEL, C1, and the bidirectional
/// overrides that reorder what a terminal shows), so server data cannot clear the
/// screen, move the cursor or set the window title. JSON output is never passed
/// through this: it is escaped by JSON itself.
pub fn safe(text: &str) -> Cow<'_, str> {
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

    fn through(escape: bool, writes: &[&[u8]]) -> Vec<u8> {
        use std::io::Write as _;
        let mut out = TerminalSafe::new(Vec::new(), escape);
        for w in writes {
            out.write_all(w).unwrap();
        }
        out.flush().unwrap();
        out.inner
    }

    #[test]
    fn json_for_a_terminal_escapes_c1_and_bidi_and_stays_the_same_json() {
        let json =
            "{\n  \"summary\": \"a\u{9b}31mb \u{202e}cba \u{7f} \u{2069}\",\n\t\"n\": 1\r\n}\n";
        let shown = through(true, &[json.as_bytes()]);
        let shown = String::from_utf8(shown).unwrap();
        assert_eq!(
            shown,
            "{\n  \"summary\": \"a\\u009b31mb \\u202ecba \\u007f \\u2069\",\n\t\"n\": 1\r\n}\n"
        );
        let a: serde_json::Value = serde_json::from_str(json).unwrap();
        let b: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(a, b);
        // Not a terminal: the bytes as they were.
        assert_eq!(through(false, &[json.as_bytes()]), json.as_bytes());
    }

    #[test]
    fn a_sequence_split_across_writes_is_still_escaped() {
        let csi = "\u{9b}".as_bytes();
        let rlo = "\u{202e}".as_bytes();
        assert_eq!(
            through(
                true,
                &[b"x", &csi[..1], &csi[1..], &rlo[..2], &rlo[2..], b"y"]
            ),
            b"x\\u009b\\u202ey"
        );
        // Not UTF-8: a lone 0x9b byte (CSI to an 8-bit terminal), and a cut-off end.
        assert_eq!(
            through(true, &[b"a\x9bb", &rlo[..2]]),
            "a\u{fffd}b\u{fffd}".as_bytes()
        );
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
