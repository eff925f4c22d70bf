//! HAR 1.2 files (the HTTP archives browsers and proxies export) as drift input.
//!
//! Each entry's response body (`log.entries[].response.content.text`, decoded from
//! base64 when `encoding` says so) is checked against the schema that the
//! operation matching the request (method, and URL path against the spec's path
//! templates, under any base path) documents for the response status; a list body
//! is its items. Entries for no operation of the spec (other hosts' traffic) are
//! skipped and counted. The entries are read one at a time (serde visitors over
//! `log.entries`), so a large archive is not held in memory.

use std::io::Read;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::DriftAnalyzer;
use super::read::Place;
use crate::SpecError;
use crate::resolve::component_name;

/// What was read from a HAR file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HarSummary {
    /// Entries in the file.
    pub entries: u64,
    /// Entries whose response body was analysed.
    pub analysed: u64,
    /// Entries whose request is for no operation of the spec: skipped.
    pub other: u64,
    /// Entries of an operation whose body is empty or not JSON: skipped.
    pub not_json: u64,
}

/// One operation's method and path template, to match requests against.
struct Route {
    method: String,
    /// The template's segments; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    operation: crate::Operation,
}

impl Route {
    /// Whether `path` ends with this template's segments.
    fn matches(&self, method: &str, path: &[&str]) -> bool {
        if !self.method.eq_ignore_ascii_case(method) || path.len() < self.segments.len() {
            return false;
        }
        let tail = &path[path.len() - self.segments.len()..];
        tail.iter()
            .zip(&self.segments)
            .all(|(seen, segment)| segment.as_deref().is_none_or(|literal| literal == *seen))
    }
}

/// The path of a URL, without scheme, authority, query and fragment. (Hand-rolled:
/// only the path is needed, and a HAR URL that does not parse should still be
/// matched as far as it goes.)
fn url_path(url: &str) -> &str {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Entry {
    request: HarRequest,
    response: HarResponse,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HarRequest {
    method: String,
    url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HarResponse {
    status: i64,
    content: Content,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content {
    text: Option<String>,
    encoding: Option<String>,
}

/// The reading of one HAR file.
struct Har<'a, 's> {
    analyzer: &'a mut DriftAnalyzer<'s>,
    routes: &'a [Route],
    input: &'a str,
    summary: &'a mut HarSummary,
    /// Whether `log.entries` was there.
    found: bool,
}

impl Har<'_, '_> {
    fn entry(&mut self, entry: Entry) {
        self.summary.entries += 1;
        let number = self.summary.entries;
        let path: Vec<&str> = url_path(&entry.request.url)
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let Some(route) = self
            .routes
            .iter()
            .filter(|r| r.matches(&entry.request.method, &path))
            .max_by_key(|r| r.segments.len())
        else {
            self.summary.other += 1;
            return;
        };
        let text = match (entry.response.content.text, entry.response.content.encoding) {
            (Some(text), Some(encoding)) if encoding.eq_ignore_ascii_case("base64") => {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
            }
            (text, _) => text,
        };
        let Some(text) = text.filter(|t| t.trim_start().starts_with(['{', '['])) else {
            self.summary.not_json += 1;
            return;
        };
        let schema = u16::try_from(entry.response.status)
            .ok()
            .and_then(|status| route.operation.response(status))
            .and_then(|response| response.schema.as_ref())
            .and_then(|schema| self.schema_name(schema));
        let before = self.analyzer.records;
        match self.analyzer.read_stream(
            text.as_bytes(),
            self.input,
            Place::Entry(number),
            schema.as_deref(),
        ) {
            Ok(_) => self.summary.analysed += 1,
            Err(_) if self.analyzer.records == before => self.summary.not_json += 1,
            Err(_) => self.summary.analysed += 1,
        }
    }

    /// The component a response schema names: itself, or its items for a list.
    fn schema_name(&self, schema: &Value) -> Option<String> {
        let spec = self.analyzer.spec;
        let named = |node: &Value| {
            node.get("$ref")
                .and_then(Value::as_str)
                .and_then(component_name)
        };
        named(schema).or_else(|| named(spec.resolve(schema).ok()?.get("items")?))
    }
}

impl<'de> Visitor<'de> for &mut Har<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a HAR file: {\"log\": {\"entries\": [...]}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                map.next_value_seed(Log(&mut *self))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `log` object: its `entries`, the rest skipped.
struct Log<'h, 'a, 's>(&'h mut Har<'a, 's>);

impl<'de> DeserializeSeed<'de> for Log<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Log<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the HAR `log` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "entries" {
                self.0.found = true;
                map.next_value_seed(Entries(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `log.entries`, one entry at a time.
struct Entries<'h, 'a, 's>(&'h mut Har<'a, 's>);

impl<'de> DeserializeSeed<'de> for Entries<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the HAR `log.entries` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Entry>()? {
            self.0.entry(entry);
        }
        Ok(())
    }
}

impl DriftAnalyzer<'_> {
    /// Observes the response bodies of a HAR 1.2 file (see the module header); a
    /// body that serde_json cannot hold is reported as [`super::Unreadable`] at its
    /// entry. `input` names the file in the report.
    pub fn observe_har<R: Read>(
        &mut self,
        reader: R,
        input: &str,
    ) -> Result<HarSummary, SpecError> {
        let routes: Vec<Route> = self
            .spec
            .operations()?
            .into_iter()
            .map(|operation| Route {
                method: operation.method.clone(),
                segments: operation
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect(),
                operation,
            })
            .collect();
        let mut summary = HarSummary::default();
        let mut har = Har {
            analyzer: self,
            routes: &routes,
            input,
            summary: &mut summary,
            found: false,
        };
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
        serde::Deserializer::deserialize_map(&mut de, &mut har)
            .and_then(|()| de.end())
            .map_err(|e| SpecError::new(format!("not a HAR file: {e}")))?;
        if !har.found {
            return Err(SpecError::new(
                "not a HAR file: it has no `log.entries` (HAR 1.2)",
            ));
        }
        Ok(summary)
    }
}
