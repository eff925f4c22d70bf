//! Reading records from a stream, one at a time, so that one record serde_json
//! cannot hold as a `Value` (a number beyond `f64`, nesting deeper than its 128
//! levels) is reported as unreadable with its line, and the rest is still read.
//!
//! Each record is first taken as raw text ([`RawValue`]: serde_json's own scanner,
//! which checks the JSON grammar but neither a number's range nor the depth), then
//! parsed on its own. A document that is not JSON at all still ends the stream: past
//! a syntax error there is no telling where the next record starts.

use std::cell::Cell;
use std::io::{BufRead, Read};

use serde::Deserialize as _;
use serde::Deserializer as _;
use serde::de::{SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::DriftAnalyzer;
use crate::SpecError;

/// How far a stream has been read: newlines passed, and the last byte.
#[derive(Clone, Copy, Debug, Default)]
struct Position {
    newlines: u64,
    last: u8,
}

impl Position {
    /// The line where `raw`, just read, starts. serde_json reads one byte past a
    /// number to find its end; when that byte was a newline it is not the record's.
    fn start_line(self, raw: &str) -> u64 {
        let inside = raw.bytes().filter(|b| *b == b'\n').count() as u64;
        let peeked = u64::from(self.last == b'\n');
        (1 + self.newlines).saturating_sub(inside + peeked).max(1)
    }
}

/// A buffered reader that counts the newlines it hands out.
struct Counted<'p, R> {
    inner: R,
    at: &'p Cell<Position>,
}

impl<R: BufRead> Counted<'_, R> {
    fn passed(&self, bytes: &[u8]) {
        if let Some(&last) = bytes.last() {
            let mut at = self.at.get();
            at.newlines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
            at.last = last;
            self.at.set(at);
        }
    }

    /// Skips whitespace (and a BOM); the next byte, `None` at the end of the input.
    fn skip_whitespace(&mut self) -> Result<Option<u8>, SpecError> {
        loop {
            let buffer = self
                .inner
                .fill_buf()
                .map_err(|e| SpecError::new(format!("cannot read the input: {e}")))?;
            let Some(&first) = buffer.first() else {
                return Ok(None);
            };
            let skip = if buffer.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                buffer
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count()
            };
            if skip == 0 {
                return Ok(Some(first));
            }
            let skipped = buffer[..skip].to_vec();
            self.inner.consume(skip);
            self.passed(&skipped);
        }
    }
}

impl<R: BufRead> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.passed(&buf[..n]);
        Ok(n)
    }
}

/// Where the records of a stream are placed in what the report says.
#[derive(Clone, Copy, Debug)]
pub(super) enum Place {
    /// By line of the input (files).
    Line,
    /// By the number of the record in the analysis (texts handed over one by one).
    Record,
    /// By the entry of a HAR file.
    Entry(u64),
}

impl DriftAnalyzer<'_> {
    /// Reads every JSON document of `reader` (JSON lines, concatenated documents, or
    /// one document; the elements of a top-level array one by one), each record
    /// checked against `schema` or chosen by shape. Returns how many were read.
    pub(super) fn read_stream<R: Read>(
        &mut self,
        reader: R,
        input: &str,
        place: Place,
        schema: Option<&str>,
    ) -> Result<u64, SpecError> {
        let at = Cell::new(Position::default());
        let mut reader = Counted {
            inner: std::io::BufReader::new(reader),
            at: &at,
        };
        let before = self.records;
        let mut document = 0u64;
        while let Some(first) = reader.skip_whitespace()? {
            document += 1;
            let mut de = serde_json::Deserializer::from_reader(&mut reader);
            let whole_is_record = first != b'[' || self.is_array_schema(schema);
            let read = if whole_is_record {
                match Box::<RawValue>::deserialize(&mut de) {
                    Ok(raw) => {
                        let line = at.get().start_line(raw.get());
                        self.observe_text(raw.get(), input, place, line, schema);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else {
                de.deserialize_seq(Records {
                    analyzer: self,
                    at: &at,
                    input,
                    place,
                    schema,
                })
            };
            read.map_err(|e| {
                SpecError::new(format!("JSON document {document} is not valid: {e}"))
            })?;
        }
        Ok(self.records - before)
    }

    /// One record's text: analysed, or reported as unreadable.
    pub(super) fn observe_text(
        &mut self,
        text: &str,
        input: &str,
        place: Place,
        line: u64,
        schema: Option<&str>,
    ) {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => self.observe_record_as(&value, schema),
            Err(e) => {
                self.records += 1;
                let full = e.to_string();
                // serde_json places the error in the record's own text; the report
                // places it in the input.
                let reason = full
                    .rsplit_once(" at line ")
                    .map_or(full.as_str(), |(reason, _)| reason);
                let at = match place {
                    Place::Line => format!("line {}", line + (e.line() as u64).saturating_sub(1)),
                    Place::Record => format!("record {}", self.records),
                    Place::Entry(n) => format!("entry {n}"),
                };
                self.unreadable(input, at, reason);
            }
        }
    }
}

/// The elements of a top-level array, each one record.
struct Records<'a, 'p, 's> {
    analyzer: &'a mut DriftAnalyzer<'s>,
    at: &'p Cell<Position>,
    input: &'a str,
    place: Place,
    schema: Option<&'a str>,
}

impl<'de> Visitor<'de> for Records<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let line = self.at.get().start_line(raw.get());
            self.analyzer
                .observe_text(raw.get(), self.input, self.place, line, self.schema);
        }
        Ok(())
    }
}
