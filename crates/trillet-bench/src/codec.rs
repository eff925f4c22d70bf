//! The CPU-only cases: decoding and encoding records, and what the CLI does per
//! record in its lossless output versus printing the typed model.
//!
//! Every function works on the whole [`corpus`] so one call is long enough to time
//! and covers every shape of record the spec allows.

use std::hint::black_box;
use std::io::Write;

use trillet::CallHistory;

use crate::hand::{Hand, HandStringDates};

/// How many mock-generated records the corpus holds besides the spec's examples.
pub const GENERATED_RECORDS: usize = 60;

/// The records to decode: every `call-history.*.json` example of the spec (the
/// reference page's record first, pretty-printed as in the docs) and
/// [`GENERATED_RECORDS`] records exactly as the mock serves them for
/// `bench-0000`, `bench-0001`, …: compact, with every direction and status,
/// unknown values, fractional times, ongoing calls and unknown keys.
pub fn corpus() -> Vec<Vec<u8>> {
    let examples = trillet_spec::EXAMPLE_FILES
        .iter()
        .filter(|(name, _)| trillet_spec::schema_for_example_file(name) == Some("CallHistory"))
        .map(|(_, text)| text.as_bytes().to_vec());
    let generated = (0..GENERATED_RECORDS).filter_map(|i| {
        trillet_mock::record_json(&format!("bench-{i:04}")).map(|text| text.as_bytes().to_vec())
    });
    examples.chain(generated).collect()
}

/// Total bytes of the corpus, for throughput.
pub fn corpus_bytes(corpus: &[Vec<u8>]) -> u64 {
    corpus.iter().map(|doc| doc.len() as u64).sum()
}

/// Decodes every document with the generated model.
pub fn decode_generated(corpus: &[Vec<u8>]) {
    for doc in corpus {
        let record: Result<CallHistory, _> = serde_json::from_slice(black_box(doc));
        black_box(record).ok();
    }
}

/// Decodes every document with the hand-written struct (chrono dates).
pub fn decode_hand(corpus: &[Vec<u8>]) {
    for doc in corpus {
        let record: Result<Hand, _> = serde_json::from_slice(black_box(doc));
        black_box(record).ok();
    }
}

/// Decodes every document with the hand-written struct with `String` dates.
pub fn decode_hand_string_dates(corpus: &[Vec<u8>]) {
    for doc in corpus {
        let record: Result<HandStringDates, _> = serde_json::from_slice(black_box(doc));
        black_box(record).ok();
    }
}

/// The corpus decoded with the generated model, for the encode case.
///
/// # Errors
/// When a document does not decode (the corpus is the spec's own examples and the
/// mock's records, so this means the spec and the model disagree).
pub fn decoded_generated(corpus: &[Vec<u8>]) -> Result<Vec<CallHistory>, serde_json::Error> {
    corpus
        .iter()
        .map(|doc| serde_json::from_slice(doc))
        .collect()
}

/// The corpus decoded with the hand-written struct, for the encode case.
///
/// # Errors
/// When a document does not decode.
pub fn decoded_hand(corpus: &[Vec<u8>]) -> Result<Vec<Hand>, serde_json::Error> {
    corpus
        .iter()
        .map(|doc| serde_json::from_slice(doc))
        .collect()
}

/// Encodes every record into `out` (cleared first), as compact JSON.
pub fn encode<T: serde::Serialize>(records: &[T], out: &mut Vec<u8>) {
    out.clear();
    for record in records {
        // Writing to a Vec cannot fail, and these types have no fallible Serialize.
        black_box(serde_json::to_writer(&mut *out, black_box(record)).is_ok());
    }
    black_box(out.len());
}

/// What `trillet call-history get --output jsonl` does per record after the
/// response body arrives, as in `crates/trillet/src/client.rs` (`fetch`,
/// `RawCallHistory::new`) and `crates/trillet-cli/src/output.rs` (`Writer::record`):
/// decode the typed model (the generated client does, from the body), check the
/// kept body is UTF-8, re-emit the **server's** bytes compactly with `jsonxf`, one
/// line. `out` is cleared first.
pub fn lossless_lines(corpus: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    for doc in corpus {
        let record: Result<CallHistory, _> = serde_json::from_slice(black_box(doc));
        black_box(record.is_ok());
        if let Ok(text) = std::str::from_utf8(doc)
            && let Ok(compact) = jsonxf::minimize(text)
        {
            let _ = writeln!(out, "{}", compact.trim_end());
        }
    }
    black_box(out.len());
}

/// [`lossless_lines`] with `--drift`: each record's text, already in hand, also fed
/// to the drift analyzer (what `call-history get --drift` does per record).
pub fn lossless_lines_with_drift(
    corpus: &[Vec<u8>],
    out: &mut Vec<u8>,
    drift: &mut trillet_spec::drift::DriftAnalyzer<'_>,
) {
    out.clear();
    for doc in corpus {
        let record: Result<CallHistory, _> = serde_json::from_slice(black_box(doc));
        black_box(record.is_ok());
        if let Ok(text) = std::str::from_utf8(doc) {
            if let Ok(compact) = jsonxf::minimize(text) {
                let _ = writeln!(out, "{}", compact.trim_end());
            }
            let _ = drift.observe_json(text);
        }
    }
    black_box(out.len());
}

/// The typed-only alternative: decode the typed model and print **it** as one
/// compact JSON line (what a CLI that does not keep the raw JSON would do; it
/// loses number spellings such as `0.10` and integer times).
pub fn typed_lines(corpus: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    for doc in corpus {
        let record: Result<CallHistory, _> = serde_json::from_slice(black_box(doc));
        if let Ok(record) = record
            && serde_json::to_writer(&mut *out, &record).is_ok()
        {
            out.push(b'\n');
        }
    }
    black_box(out.len());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hand::HandStringDates;
    use serde_json::Value;

    /// The baseline is a fair one: it accepts every record of the corpus and encodes
    /// each to the same JSON as the generated model does.
    #[test]
    fn the_hand_written_struct_has_the_generated_fields() {
        let corpus = corpus();
        assert!(corpus.len() > GENERATED_RECORDS);
        let generated = decoded_generated(&corpus).unwrap();
        let hand = decoded_hand(&corpus).unwrap();
        for (g, h) in generated.iter().zip(&hand) {
            let g: Value = serde_json::to_value(g).unwrap();
            let h: Value = serde_json::to_value(h).unwrap();
            assert_eq!(g, h);
        }
        for doc in &corpus {
            let _: HandStringDates = serde_json::from_slice(doc).unwrap();
        }
    }

    #[test]
    fn lossless_and_typed_lines_print_one_line_per_record() {
        let corpus = corpus();
        let (mut lossless, mut typed) = (Vec::new(), Vec::new());
        lossless_lines(&corpus, &mut lossless);
        typed_lines(&corpus, &mut typed);
        let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
        assert_eq!(lines(&lossless), corpus.len());
        assert_eq!(lines(&typed), corpus.len());
        // The lossless line keeps the server's spelling; the typed one does not.
        let first = String::from_utf8_lossy(&lossless);
        assert!(first.contains("\"customer_charge\":0.10"), "{first}");
    }
}
