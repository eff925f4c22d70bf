//! How records are written: pretty JSON, JSON lines or a table, always from the exact
//! bytes the server sent, so unknown fields stay and integers stay integers.

use std::io::Write;

use trillet::{CallHistory, CallHistoryExt, CallHistorySummary, Raw};

use crate::cli::Output;

impl Writer<Vec<u8>> {
    /// What has been written so far, for the caller to take.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }
}

/// Writes records in one format.
pub struct Writer<W: Write> {
    out: W,
    format: Output,
    /// With `json`: the records form one array (several records, or a stream of them).
    array: bool,
    written: usize,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Output) -> Self {
        Self {
            out,
            format,
            array: false,
            written: 0,
        }
    }

    /// With `json`, writes the records as one JSON array, so the output is one valid
    /// document however many there are (call [`finish`](Self::finish) at the end).
    pub fn json_array(mut self, array: bool) -> Self {
        self.array = array;
        self
    }

    /// Ends the output: closes the JSON array (empty if nothing was written).
    pub fn finish(&mut self) -> std::io::Result<()> {
        if self.array && self.format == Output::Json {
            if self.written == 0 {
                writeln!(self.out, "[]")?;
            } else {
                writeln!(self.out, "\n]")?;
            }
        }
        self.out.flush()
    }

    /// The writer written to.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Whether rows need the record's cells ([`record`](Self::record) takes them).
    pub fn is_table(&self) -> bool {
        self.format == Output::Table
    }

    /// Writes one record and flushes, so a pipe sees each record as it arrives.
    /// `json` is the record exactly as received; `cells` its table row (only
    /// needed for `table`, see [`is_table`](Self::is_table)).
    ///
    /// A JSON line goes out in one `write` with its newline, so a reader of the
    /// file (or a crash) never sees a record without its end.
    pub fn record(&mut self, json: &str, cells: Option<[String; 7]>) -> std::io::Result<()> {
        match self.format {
            Output::Table => {
                if self.written == 0 {
                    writeln!(self.out, "{}", table_row(&HEADER.map(str::to_owned)))?;
                }
                let cells = cells.ok_or_else(|| std::io::Error::other("a row without cells"))?;
                writeln!(self.out, "{}", table_row(&cells))?;
            }
            _ => self.json(json)?,
        }
        self.written += 1;
        self.out.flush()
    }

    /// Writes a body the server sent that is JSON but not a record the spec allows,
    /// as it came, so that a recording holds every body (`trillet spec drift` reads
    /// it); `false` when the format cannot hold it (a table) or it is not JSON.
    pub fn unchecked(&mut self, json: &str) -> std::io::Result<bool> {
        if self.format == Output::Table || !jsonxf::minimize(json).is_ok_and(|c| !c.is_empty()) {
            return Ok(false);
        }
        self.json(json)?;
        self.written += 1;
        self.out.flush()?;
        Ok(true)
    }

    fn json(&mut self, json: &str) -> std::io::Result<()> {
        match self.format {
            // jsonxf re-indents without parsing numbers: serde_json would turn `0.10`
            // into `0.1` (its arbitrary_precision feature would change number handling
            // for the whole workspace), and a Value would reorder keys.
            Output::Json if self.array => {
                let pretty = jsonxf::pretty_print(json).map_err(std::io::Error::other)?;
                let open = if self.written == 0 { "[\n" } else { ",\n" };
                let indented = pretty.trim_end().replace('\n', "\n  ");
                write!(self.out, "{open}  {indented}")
            }
            Output::Json => {
                let pretty = jsonxf::pretty_print(json).map_err(std::io::Error::other)?;
                writeln!(self.out, "{}", pretty.trim_end())
            }
            _ => {
                // The minimized text is never longer than the input: one allocation,
                // and one `write` with its newline.
                let mut line = Vec::with_capacity(json.len() + 1);
                jsonxf::Formatter::minimizer().format_buf(json.as_bytes(), &mut line)?;
                while line.last().is_some_and(u8::is_ascii_whitespace) {
                    line.pop();
                }
                line.push(b'\n');
                self.out.write_all(&line)
            }
        }
    }
}

const HEADER: [&str; 7] = [
    "ID",
    "DIRECTION",
    "STATUS",
    "START (UTC)",
    "DURATION",
    "CHARGE",
    "SUMMARY",
];
/// Column widths; the last column (summary) is cut to its width.
const WIDTHS: [usize; 7] = [24, 13, 11, 19, 8, 8, 40];

/// A fixed-width row. Rows are written as records arrive, so widths are fixed rather
/// than measured over the whole table (a table crate would buffer every row).
fn table_row(cells: &[String; 7]) -> String {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(WIDTHS).enumerate() {
        // Cells hold server text: escaped, so it cannot drive the terminal.
        let cell = crate::term::short(&crate::term::safe(cell), width).into_owned();
        if i + 1 == cells.len() {
            line.push_str(&cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    line.trim_end().to_owned()
}

/// A record that can be a table row.
pub trait Row {
    /// The row's cells; `id` is what was asked for, used when the record has no `_id`.
    fn cells(&self, id: &str) -> [String; 7];
}

impl Row for CallHistory {
    fn cells(&self, id: &str) -> [String; 7] {
        cells(
            self,
            self.id.as_deref().unwrap_or(id),
            [
                self.direction.as_ref().map(ToString::to_string),
                self.status.as_ref().map(ToString::to_string),
            ],
            self.summary.as_deref(),
        )
    }
}

impl Row for Raw<CallHistorySummary> {
    fn cells(&self, id: &str) -> [String; 7] {
        let item = self.record();
        cells(
            item,
            item.id.as_deref().unwrap_or(id),
            [
                item.direction.as_ref().map(ToString::to_string),
                item.status.as_ref().map(ToString::to_string),
            ],
            item.summary.as_deref(),
        )
    }
}

/// The cells of a record, its times and charge read through the library's guarded
/// accessors.
fn cells(
    record: &impl CallHistoryExt,
    id: &str,
    [direction, status]: [Option<String>; 2],
    summary: Option<&str>,
) -> [String; 7] {
    let started = record.started_at();
    let seconds = record.duration().map(|d| d.as_secs_f64());
    let charge = record.customer_charge();
    let dash = || "-".to_owned();
    [
        id.to_owned(),
        direction.unwrap_or_else(dash),
        status.unwrap_or_else(dash),
        started.map_or_else(dash, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or_else(dash, |s| {
                let s = s as u64;
                format!("{}:{:02}", s / 60, s % 60)
            }),
        charge.map_or_else(dash, |c| format!("{c:.4}")),
        summary.map_or_else(dash, |s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_their_width_with_a_mark() {
        let row = table_row(&["a", "b", "c", "d", "e", "f", &"é".repeat(41)].map(str::to_owned));
        assert!(row.ends_with(&format!("{}…", "é".repeat(39))), "{row}");
    }

    /// Counts the `write` calls it is given.
    struct Counting(Vec<Vec<u8>>);

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_line_is_minimized_and_written_with_its_newline_in_one_call() {
        let mut writer = Writer::new(Counting(Vec::new()), Output::Jsonl);
        writer
            .record("{ \"_id\": \"a b\",\n \"n\": 0.10 }\n", None)
            .unwrap();
        assert_eq!(writer.out.0, [b"{\"_id\":\"a b\",\"n\":0.10}\n".to_vec()]);
    }

    #[test]
    fn rows_have_fixed_columns() {
        let row = table_row(&["a", "b", "c", "d", "e", "f", "g"].map(str::to_owned));
        assert_eq!(row.find('b'), Some(26));
        assert!(row.ends_with('g'));
    }
}
