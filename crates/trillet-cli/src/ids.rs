//! Ids as they arrive: the arguments, then `--ids-from` read line by line while the
//! batch runs (so `list | get` pipelines, and memory stays flat at any count).
//!
//! A line ends at LF, CRLF or CR; a leading UTF-8 BOM is dropped; blank lines and
//! lines starting with `#` are skipped; a line holding a JSON object stands for its
//! `_id`. A line that cannot be used is reported and skipped.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};

use crate::term;

/// What the ids of one line are: the usable id, or why the line was skipped.
pub fn parse_line(line: &str) -> Option<Result<String, String>> {
    /// Only the `_id` of a JSON line is read; the rest is skipped, not built.
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(rename = "_id")]
        id: Option<String>,
    }
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if line.starts_with('{') {
        return Some(
            serde_json::from_str::<IdOnly>(line)
                .ok()
                .and_then(|v| v.id)
                .ok_or_else(|| "a JSON line has no string `_id`".to_owned()),
        );
    }
    Some(Ok(line.to_owned()))
}

/// The longest line read for a plain id: an id longer than
/// [`trillet::MAX_ID_LEN`] is refused anyway, with room for blanks around it. The
/// rest of a longer line is read past without being kept.
const MAX_ID_LINE: usize = trillet::MAX_ID_LEN + 1024;

/// Where ids come from, and which to leave out.
pub struct Source {
    pub args: Vec<String>,
    pub from: Option<PathBuf>,
    /// Ids already done (`--resume`): skipped.
    pub done: HashSet<String>,
    /// Turns true when the batch must stop taking ids (a signal); the stream then
    /// ends at once, even while it waits for input.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// The longest JSON object line read (a record as `list` prints it); the rest
    /// of a longer one is read past without being kept.
    pub max_json_line: usize,
}

impl Source {
    /// The ids, in order, read lazily.
    pub async fn stream(self) -> Result<BoxStream<'static, String>, crate::Fatal> {
        let Source {
            args,
            from,
            done,
            mut stop,
            max_json_line,
        } = self;
        let done = Arc::new(done);
        let lines: BoxStream<'static, String> = match &from {
            None => stream::empty().boxed(),
            Some(path) if path.as_os_str() == "-" => {
                lines(tokio::io::stdin(), "standard input".into(), max_json_line)
            }
            Some(path) => {
                let file = tokio::fs::File::open(path).await.map_err(|e| {
                    crate::Fatal(format!("cannot read ids from {}: {e}", path.display()))
                })?;
                lines(file, path.display().to_string(), max_json_line)
            }
        };
        let keep = {
            let done = Arc::clone(&done);
            move |id: &String| !done.contains(id)
        };
        let ids = stream::iter(args)
            .chain(lines)
            .filter(move |id| std::future::ready(keep(id)))
            .take_until(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            });
        Ok(ids.boxed())
    }
}

/// The ids of a reader's lines.
fn lines<R: AsyncRead + Send + Unpin + 'static>(
    reader: R,
    name: String,
    max_json_line: usize,
) -> BoxStream<'static, String> {
    let reader = Lines {
        reader: BufReader::new(reader),
        line: Vec::new(),
        after_cr: false,
        max_json: max_json_line,
    };
    stream::unfold(
        (reader, name, 0usize),
        |(mut reader, name, mut n)| async move {
            loop {
                n += 1;
                let whole = match reader.next(&name, n).await {
                    Ok(Some(whole)) => whole,
                    Ok(None) => return None,
                    Err(e) => {
                        term::eprint_line(&format!("error: cannot read ids from {name}: {e}"));
                        return None;
                    }
                };
                if !whole {
                    continue;
                }
                let mut bytes = reader.line.as_slice();
                if n == 1 {
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                let Ok(text) = std::str::from_utf8(bytes) else {
                    term::eprint_line(&format!("error: {name} line {n}: not UTF-8; skipped"));
                    continue;
                };
                match parse_line(text) {
                    Some(Ok(id)) => return Some((id, (reader, name, n))),
                    Some(Err(why)) => term::eprint_line(&format!(
                        "error: {name} line {n}: {why}: {}; skipped",
                        term::short(text.trim(), 64)
                    )),
                    None => {}
                }
            }
        },
    )
    .boxed()
}

/// Lines ending at LF, CRLF or CR, each kept up to a limit: a plain id's line may
/// hold [`MAX_ID_LINE`] bytes, a JSON object's `max_json`, a comment none (it is
/// skipped anyway). A longer line is reported as soon as it passes its limit and
/// read past to its end without being kept, however long it is.
struct Lines<R> {
    reader: R,
    /// The last line read.
    line: Vec<u8>,
    /// The last line ended at a CR: a LF right after it belongs to it.
    after_cr: bool,
    max_json: usize,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// Reads line `n` into `self.line`: `Some(true)` when whole, `Some(false)` when
    /// it was too long (or a comment), `None` at the end.
    async fn next(&mut self, name: &str, n: usize) -> std::io::Result<Option<bool>> {
        self.line.clear();
        let (mut read, mut whole) = (false, true);
        loop {
            let buffer = self.reader.fill_buf().await?;
            if buffer.is_empty() {
                return Ok(read.then_some(whole));
            }
            if std::mem::take(&mut self.after_cr) && buffer[0] == b'\n' {
                self.reader.consume(1);
                continue;
            }
            read = true;
            let end = buffer.iter().position(|&b| b == b'\n' || b == b'\r');
            let (part, ended) = match end {
                Some(end) => {
                    self.after_cr = buffer[end] == b'\r';
                    (&buffer[..end], true)
                }
                None => (buffer, false),
            };
            if whole {
                self.line.extend_from_slice(part);
                let start = self.line.trim_ascii_start();
                let start = start
                    .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                    .unwrap_or(start);
                let (limit, report) = match start.first() {
                    Some(b'{') => (self.max_json.max(MAX_ID_LINE), true),
                    Some(b'#') => (0, false),
                    _ => (MAX_ID_LINE, true),
                };
                if self.line.len() > limit {
                    whole = false;
                    if report {
                        term::eprint_line(&format!(
                            "error: {name} line {n}: longer than {limit} bytes; skipped"
                        ));
                    }
                    self.line.clear();
                    self.line.shrink_to(64 * 1024);
                }
            }
            let used = part.len() + usize::from(ended);
            self.reader.consume(used);
            if ended {
                return Ok(Some(whole));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ids_of(input: &'static [u8]) -> Vec<String> {
        lines(input, "test".into(), 4096).collect().await
    }

    #[tokio::test]
    async fn lines_end_at_lf_crlf_or_cr_and_a_bom_is_dropped() {
        assert_eq!(
            ids_of(b"\xEF\xBB\xBFa\nb\r\nc\rd").await,
            ["a", "b", "c", "d"]
        );
    }

    #[tokio::test]
    async fn arguments_come_first_and_a_missing_file_is_a_clear_error() {
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let source = |from: Option<&str>| Source {
            args: vec!["a".into(), "done".into()],
            from: from.map(PathBuf::from),
            done: HashSet::from(["done".to_owned()]),
            stop: stopped.clone(),
            max_json_line: 4096,
        };
        let ids: Vec<String> = source(None).stream().await.unwrap().collect().await;
        assert_eq!(ids, ["a"], "ids already done are skipped");
        let err = source(Some("/nonexistent/ids.txt"))
            .stream()
            .await
            .err()
            .unwrap();
        assert!(
            err.0.contains("cannot read ids from /nonexistent/ids.txt"),
            "{}",
            err.0
        );
    }

    #[tokio::test]
    async fn a_line_past_its_limit_is_skipped_and_the_next_ones_are_read() {
        let mut input = b"a\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_ID_LINE + 10));
        input.extend_from_slice(b"\r#");
        input.extend(std::iter::repeat_n(b'y', 10_000));
        input.extend_from_slice(b"\nb\r\rc");
        let ids: Vec<String> = lines(std::io::Cursor::new(input), "test".into(), 4096)
            .collect()
            .await;
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn blank_lines_comments_and_bad_lines_are_skipped() {
        assert_eq!(
            ids_of(b"# header\n\n  x  \n{\"_id\":\"y\",\"n\":1}\n{\"no\":1}\n\xff\xfe\nz\n").await,
            ["x", "y", "z"]
        );
    }
}
