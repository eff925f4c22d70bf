//! The `--output-file` of `call-history get`: a regular file that one run at a time
//! appends records to, read back by `--resume` to skip what it already holds.
//!
//! - **One run at a time**: the file is held under an advisory lock (`flock`, or
//!   `LockFileEx` on Windows, through `fs4`) for the whole run; a second run on it
//!   fails at once. Each record goes out in one `write` with its newline.
//! - **Only regular files**: a FIFO, a device or a directory is refused before it
//!   is opened (reading one back could block or never end).
//! - **Resuming** reads the file as a stream, one line at a time (a line is at most
//!   the largest body accepted), keeping only the ids; a last line cut short by a
//!   crash is cut off.
//! - **Which ids a line answers**: a line answers the id it names in `_id`. When the
//!   server answers under another `_id` (`ABC` as `abc`) or none, the id that was
//!   asked for is noted in a sidecar file, `FILE.requested`, one JSON line
//!   `{"requested":"ABC","_id":"abc"}` per such record, so the records themselves
//!   stay exactly as the server sent them. The note is written before its record:
//!   a note counts only when the file holds a record with that `_id` (or, for
//!   records without one, as many notes as there are such records, in order), so a
//!   crash between the two writes costs at most a second fetch, never a record; a
//!   note of a record without `_id` left by such a crash is cut off on resume, so
//!   the next run's notes stay in step with their records.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Fatal;
use crate::term::eprint_line;

/// The longest sidecar line read: an id is at most 1,024 bytes, 6 times that
/// escaped as JSON, twice (asked for and answered).
const MAX_NOTE_LINE: usize = 16 * 1024;

/// An output file held for this run.
pub struct OutputFile {
    /// Opened for appending and locked; the lock goes with the handle.
    file: File,
    sidecar_path: PathBuf,
    sidecar: Option<File>,
}

/// One line of the sidecar.
#[derive(Serialize, Deserialize)]
struct Note<'a> {
    #[serde(borrow)]
    requested: std::borrow::Cow<'a, str>,
    #[serde(rename = "_id", borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// The top-level `_id` of a line, read without building the rest of it.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(rename = "_id", borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
}

/// The top-level `_id` of a JSON record, when it is a string: what
/// [`OutputFile::open`] reads back from each line on resume.
pub fn record_id(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<IdOnly>(json)
        .ok()?
        .id
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
}

impl OutputFile {
    /// Opens `path` for appending and locks it; with `resume`, returns the ids
    /// whose records it already holds (their `_id`s and the ids asked for that the
    /// sidecar notes), and how many records that is (lines longer than `max_line`
    /// bytes are not ones this command writes). Without `resume`, a file with
    /// content is refused.
    pub fn open(
        path: &Path,
        resume: bool,
        max_line: usize,
    ) -> Result<(Self, HashSet<String>, usize), Fatal> {
        let name = path.display();
        let fail = |what: &str, e: std::io::Error| Fatal(format!("cannot {what} {name}: {e}"));
        match std::fs::metadata(path) {
            Ok(metadata) => refuse_unless_regular(path, &metadata)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail("read", e)),
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| fail("open", e))?;
        // Again on the handle: the path may have been replaced in between.
        let metadata = file.metadata().map_err(|e| fail("read", e))?;
        refuse_unless_regular(path, &metadata)?;
        lock(&file, path)?;
        if metadata.len() > 0 && !resume {
            return Err(Fatal(format!(
                "{name} already exists: pass --resume to continue it, or choose another file"
            )));
        }
        let sidecar_path = sidecar_of(path);
        if metadata.len() == 0 {
            // The notes of an earlier file of that name answer none of this one's
            // records, and would be counted against them.
            forget_notes(&sidecar_path)?;
        }
        let mut done = HashSet::new();
        let mut records = 0;
        if resume {
            let held = read_records(&file, path, max_line)?;
            records = held.ids.len() + held.without_id;
            let notes = read_notes(&sidecar_path)?;
            let mut anonymous = held.without_id;
            // Where the first note of a record without `_id` that the file does not
            // hold begins: only the last note can be one (a crash between a note and
            // its record), and it is cut off, or the next run's notes would be
            // counted one place late and the last of them taken for the orphan's.
            let mut orphan = None;
            for note in notes.entries {
                let holds = match note.id {
                    Some(id) => held.ids.contains(&id),
                    None if anonymous > 0 => {
                        anonymous -= 1;
                        true
                    }
                    None => {
                        orphan = orphan.or(Some(note.start));
                        false
                    }
                };
                if holds {
                    done.insert(note.requested);
                }
            }
            if let (Some(start), Some(sidecar)) = (orphan, &notes.file) {
                sidecar
                    .set_len(start)
                    .map_err(|e| Fatal(format!("cannot repair {}: {e}", sidecar_path.display())))?;
            }
            done.extend(held.ids);
        }
        Ok((
            Self {
                file,
                sidecar_path,
                sidecar: None,
            },
            done,
            records,
        ))
    }

    /// Notes that the record about to be written answers `requested`, when its
    /// `_id` (`answered`) does not say so. Written before the record; see the
    /// module docs.
    pub fn note(&mut self, requested: &str, answered: Option<&str>) -> std::io::Result<()> {
        if answered == Some(requested) {
            return Ok(());
        }
        let sidecar = match &mut self.sidecar {
            Some(file) => file,
            None => {
                let file = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&self.sidecar_path)
                    .map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("{}: {e}", self.sidecar_path.display()),
                        )
                    })?;
                self.sidecar.insert(file)
            }
        };
        let note = Note {
            requested: requested.into(),
            id: answered.map(Into::into),
        };
        let mut line = serde_json::to_vec(&note).map_err(std::io::Error::other)?;
        line.push(b'\n');
        sidecar.write_all(&line)
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Where records go: the output file, or standard output (which takes no notes).
pub enum Sink {
    File(OutputFile),
    Stdout(std::io::BufWriter<crate::term::TerminalSafe<std::io::StdoutLock<'static>>>),
}

impl Sink {
    /// See [`OutputFile::note`].
    pub fn note(&mut self, requested: &str, answered: Option<&str>) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.note(requested, answered),
            Sink::Stdout(_) => Ok(()),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(file) => file.write(buf),
            Sink::Stdout(out) => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.write_all(buf),
            Sink::Stdout(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.flush(),
            Sink::Stdout(out) => out.flush(),
        }
    }
}

/// Empties the sidecar at `path`, if there is one (it is kept, not removed, so the
/// file's permissions stay as the user set them).
fn forget_notes(path: &Path) -> Result<(), Fatal> {
    match std::fs::metadata(path) {
        Ok(metadata) => {
            refuse_unless_regular(path, &metadata)?;
            OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map(drop)
                .map_err(|e| Fatal(format!("cannot empty {}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Fatal(format!("cannot read {}: {e}", path.display()))),
    }
}

/// `FILE.requested`, beside `FILE`.
fn sidecar_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".requested");
    PathBuf::from(name)
}

fn refuse_unless_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<(), Fatal> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = if metadata.is_dir() {
        "a directory"
    } else {
        special_kind(&metadata.file_type())
    };
    Err(Fatal(format!(
        "{}: not a regular file ({kind}): --output-file appends to a file that --resume \
         reads back; to write to a pipe or a device, leave --output-file out and \
         redirect standard output",
        path.display()
    )))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

/// Takes the run's exclusive advisory lock on the file, or says who holds it.
/// A file system without locks (some network mounts) gets a warning, not a refusal.
fn lock(file: &File, path: &Path) -> Result<(), Fatal> {
    // Through fs4 (std's `File::try_lock` is newer than the declared rust-version).
    match fs4::FileExt::try_lock(file) {
        Ok(()) => Ok(()),
        Err(fs4::TryLockError::WouldBlock) => Err(Fatal(format!(
            "{} is in use by another trillet run (it holds a lock on the file): wait for \
             that run to end, or choose another file",
            path.display()
        ))),
        Err(fs4::TryLockError::Error(e)) => {
            eprint_line(&format!(
                "warning: cannot lock {} ({e}); make sure no other run writes to it",
                path.display()
            ));
            Ok(())
        }
    }
}

/// What the output file holds.
struct Held {
    ids: HashSet<String>,
    /// Records without a string `_id`.
    without_id: usize,
}

/// Reads the records' ids, line by line, and cuts off a last line cut short.
fn read_records(file: &File, path: &Path, max_line: usize) -> Result<Held, Fatal> {
    let name = path.display();
    let fail = |e: std::io::Error| Fatal(format!("cannot read {name}: {e}"));
    let mut held = Held {
        ids: HashSet::new(),
        without_id: 0,
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    reader.rewind().map_err(fail)?;
    let mut line = Vec::new();
    let (mut n, mut whole) = (0usize, 0u64);
    loop {
        let read = read_line(&mut reader, &mut line, max_line).map_err(fail)?;
        let Some(read) = read else { break };
        if !read.ended {
            cut_short(file, path, whole, read.length)?;
            break;
        }
        n += 1;
        whole += read.length;
        if read.too_long {
            return Err(Fatal(format!(
                "{name} line {n}: longer than the largest record accepted ({max_line} bytes); \
                 not resuming (pass the --max-body-bytes of the run that wrote it)"
            )));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if serde_json::from_slice::<IdOnly>(&line).is_err() {
            return Err(Fatal(format!(
                "{name} line {n}: not a JSON record; not resuming (is it the right file?)"
            )));
        }
        match record_id(&line) {
            Some(id) => {
                held.ids.insert(id);
            }
            None => held.without_id += 1,
        }
    }
    Ok(held)
}

/// Cuts the file back to its `whole` lines.
fn cut_short(file: &File, path: &Path, whole: u64, cut: u64) -> Result<(), Fatal> {
    file.set_len(whole)
        .map_err(|e| Fatal(format!("cannot repair {}: {e}", path.display())))?;
    eprint_line(&format!(
        "trillet: {}: removed a last line cut short ({cut} bytes)",
        path.display()
    ));
    Ok(())
}

/// The sidecar's notes, in order, and the sidecar opened for repair. A note that
/// cannot be read is skipped with a warning: at worst its record is fetched again.
fn read_notes(path: &Path) -> Result<Notes, Fatal> {
    let none = || Notes {
        entries: Vec::new(),
        file: None,
    };
    let file = match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?,
        Ok(metadata) => {
            refuse_unless_regular(path, &metadata)?;
            return Ok(none());
        }
        Err(_) => return Ok(none()),
    };
    let fail = |e: std::io::Error| Fatal(format!("cannot read {}: {e}", path.display()));
    let mut reader = BufReader::new(&file);
    let (mut notes, mut line, mut whole, mut bad) = (Vec::new(), Vec::new(), 0u64, 0usize);
    while let Some(read) = read_line(&mut reader, &mut line, MAX_NOTE_LINE).map_err(fail)? {
        if !read.ended {
            cut_short(&file, path, whole, read.length)?;
            break;
        }
        let start = whole;
        whole += read.length;
        match serde_json::from_slice::<Note>(&line) {
            Ok(note) if !read.too_long => notes.push(Noted {
                requested: note.requested.into_owned(),
                id: note.id.map(std::borrow::Cow::into_owned),
                start,
            }),
            _ if line.iter().all(u8::is_ascii_whitespace) && !read.too_long => {}
            _ => bad += 1,
        }
    }
    if bad > 0 {
        eprint_line(&format!(
            "warning: {}: {bad} lines are not notes of this command; ignored",
            path.display()
        ));
    }
    Ok(Notes {
        entries: notes,
        file: Some(file),
    })
}

/// What [`read_notes`] read.
struct Notes {
    entries: Vec<Noted>,
    file: Option<File>,
}

/// One note read back, with the offset its line starts at.
struct Noted {
    requested: String,
    id: Option<String>,
    start: u64,
}

/// One line read by [`read_line`].
struct Line {
    /// Bytes consumed, the newline included.
    length: u64,
    /// Whether it ended with a newline (else the input ended first).
    ended: bool,
    /// Whether it was longer than the limit: then `line` holds only its start.
    too_long: bool,
}

/// Reads one line into `line` (without its newline), keeping at most `limit`
/// bytes of it: the rest of a longer line is read past, not kept. `None` at the end.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<Line>> {
    line.clear();
    let (mut length, mut too_long) = (0u64, false);
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            return Ok((length > 0).then_some(Line {
                length,
                ended: false,
                too_long,
            }));
        }
        let (part, ended) = match newline(buffer) {
            Some(end) => (&buffer[..end], true),
            None => (buffer, false),
        };
        if !too_long {
            if line.len() + part.len() > limit {
                too_long = true;
                line.clear();
                line.shrink_to(64 * 1024);
            } else {
                line.extend_from_slice(part);
            }
        }
        let used = part.len() + usize::from(ended);
        reader.consume(used);
        length += used as u64;
        if ended {
            return Ok(Some(Line {
                length,
                ended,
                too_long,
            }));
        }
    }
}

fn newline(buffer: &[u8]) -> Option<usize> {
    buffer.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_past_the_limit_is_read_past_without_being_kept() {
        let input = format!("short\n{}\nnext\ntail", "x".repeat(100));
        let mut reader = BufReader::with_capacity(8, input.as_bytes());
        let mut line = Vec::new();
        let mut lines = Vec::new();
        while let Some(read) = read_line(&mut reader, &mut line, 10).unwrap() {
            lines.push((
                String::from_utf8_lossy(&line).into_owned(),
                read.ended,
                read.too_long,
            ));
        }
        assert_eq!(
            lines,
            [
                ("short".to_owned(), true, false),
                (String::new(), true, true),
                ("next".to_owned(), true, false),
                ("tail".to_owned(), false, false),
            ]
        );
    }
}
