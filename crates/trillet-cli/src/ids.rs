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
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::term;

/// What the ids of one line are: the usable id, or why the line was skipped.
pub fn parse_line(line: &str) -> Option<Result<String, String>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if line.starts_with('{') {
        return Some(
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("_id").and_then(|id| id.as_str()).map(str::to_owned))
                .ok_or_else(|| "a JSON line has no string `_id`".to_owned()),
        );
    }
    Some(Ok(line.to_owned()))
}

/// Where ids come from, and which to leave out.
pub struct Source {
    pub args: Vec<String>,
    pub from: Option<PathBuf>,
    /// Ids already done (`--resume`): skipped.
    pub done: HashSet<String>,
    /// Turns true when the batch must stop taking ids (a signal); the stream then
    /// ends at once, even while it waits for input.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

impl Source {
    /// The ids, in order, read lazily.
    pub async fn stream(self) -> Result<BoxStream<'static, String>, crate::Fatal> {
        let Source {
            args,
            from,
            done,
            mut stop,
        } = self;
        let done = Arc::new(done);
        let lines: BoxStream<'static, String> = match &from {
            None => stream::empty().boxed(),
            Some(path) if path.as_os_str() == "-" => {
                lines(tokio::io::stdin(), "standard input".into())
            }
            Some(path) => {
                let file = tokio::fs::File::open(path).await.map_err(|e| {
                    crate::Fatal(format!("cannot read ids from {}: {e}", path.display()))
                })?;
                lines(file, path.display().to_string())
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
) -> BoxStream<'static, String> {
    let chunks = BufReader::new(reader).split(b'\n');
    let state = (chunks, name, 0usize, Vec::<String>::new());
    stream::unfold(state, |(mut chunks, name, mut n, mut pending)| async move {
        loop {
            if let Some(id) = pending.pop() {
                return Some((id, (chunks, name, n, pending)));
            }
            let chunk = match chunks.next_segment().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return None,
                Err(e) => {
                    term::eprint_line(&format!("error: cannot read ids from {name}: {e}"));
                    return None;
                }
            };
            n += 1;
            let mut bytes = chunk.as_slice();
            if n == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                term::eprint_line(&format!("error: {name} line {n}: not UTF-8; skipped"));
                continue;
            };
            // CR alone also ends a line; reversed so `pop` yields them in order.
            for part in text.split('\r').rev() {
                match parse_line(part) {
                    Some(Ok(id)) => pending.push(id),
                    Some(Err(why)) => term::eprint_line(&format!(
                        "error: {name} line {n}: {why}: {}; skipped",
                        term::short(part.trim(), 64)
                    )),
                    None => {}
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ids_of(input: &'static [u8]) -> Vec<String> {
        lines(input, "test".into()).collect().await
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
    async fn blank_lines_comments_and_bad_lines_are_skipped() {
        assert_eq!(
            ids_of(b"# header\n\n  x  \n{\"_id\":\"y\",\"n\":1}\n{\"no\":1}\n\xff\xfe\nz\n").await,
            ["x", "y", "z"]
        );
    }
}
