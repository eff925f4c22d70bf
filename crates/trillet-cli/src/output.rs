//! How records are written: pretty JSON, JSON lines or a table, always from the exact
//! bytes the server sent, so unknown fields stay and integers stay integers.

use std::io::Write;

use trillet::{CallHistoryExt, RawCallHistory};

use crate::cli::Output;

/// Writes records in one format.
pub struct Writer<W: Write> {
    out: W,
    format: Output,
    wrote_header: bool,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Output) -> Self {
        Self {
            out,
            format,
            wrote_header: false,
        }
    }

    /// Writes one record and flushes, so a pipe sees each record as it arrives.
    pub fn record(&mut self, id: &str, raw: &RawCallHistory) -> std::io::Result<()> {
        match self.format {
            // jsonxf re-indents without parsing numbers: serde_json would turn `0.10`
            // into `0.1` (its arbitrary_precision feature would change number handling
            // for the whole workspace), and a Value would reorder keys.
            Output::Json => {
                let pretty = jsonxf::pretty_print(raw.json()).map_err(std::io::Error::other)?;
                writeln!(self.out, "{}", pretty.trim_end())?;
            }
            Output::Jsonl => {
                let compact = jsonxf::minimize(raw.json()).map_err(std::io::Error::other)?;
                writeln!(self.out, "{}", compact.trim_end())?;
            }
            Output::Table => {
                if !self.wrote_header {
                    self.wrote_header = true;
                    writeln!(self.out, "{}", table_row(&HEADER.map(str::to_owned)))?;
                }
                writeln!(self.out, "{}", table_row(&table_cells(id, raw)))?;
            }
        }
        self.out.flush()
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
        let cell = cut(cell, width);
        if i + 1 == cells.len() {
            line.push_str(&cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    line.trim_end().to_owned()
}

fn table_cells(id: &str, raw: &RawCallHistory) -> [String; 7] {
    let call = raw.record();
    let dash = || "-".to_owned();
    [
        call.id.clone().unwrap_or_else(|| id.to_owned()),
        call.direction
            .as_ref()
            .map_or_else(dash, ToString::to_string),
        call.status.as_ref().map_or_else(dash, ToString::to_string),
        call.started_at()
            .map_or_else(dash, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        call.duration().map_or_else(dash, |d| {
            let s = d.as_secs();
            format!("{}:{:02}", s / 60, s % 60)
        }),
        call.customer_charge()
            .map_or_else(dash, |c| format!("{c:.4}")),
        call.summary
            .as_deref()
            .map_or_else(dash, |s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
    ]
}

/// At most `width` characters, marking a cut with `…`.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_their_width_with_a_mark() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(cut("ééééé", 3), "éé…");
    }

    #[test]
    fn rows_have_fixed_columns() {
        let row = table_row(&["a", "b", "c", "d", "e", "f", "g"].map(str::to_owned));
        assert_eq!(row.find('b'), Some(26));
        assert!(row.ends_with('g'));
    }
}
