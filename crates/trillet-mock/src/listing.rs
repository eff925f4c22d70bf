//! The list operation (`GET /v2/api/call-history`): one workspace of records, newest
//! first, filtered and paged like the API. Every listed record is one `get` serves.
//!
//! The workspace is [`MockConfig::list_size`](crate::MockConfig::list_size) records
//! whose ids are `65a7f3c2e4b0a1d2` followed by 8 hex digits of their index; each
//! item is derived from the record `get` returns for its id.

use std::collections::HashSet;

use chrono::DateTime;
use serde_json::{Map, Value, json};

use crate::records;

/// The ids of a workspace of `size` records, in index order.
pub fn workspace_ids(size: usize) -> Vec<String> {
    (0..size)
        .map(|i| format!("65a7f3c2e4b0a1d2{i:08x}"))
        .collect()
}

/// A workspace's list items, newest first.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    items: Vec<Value>,
}

impl Workspace {
    pub(crate) fn new(size: usize) -> Self {
        let mut items: Vec<Value> = workspace_ids(size)
            .iter()
            .filter_map(|id| records::record_json(id))
            .filter_map(|text| serde_json::from_str::<Map<String, Value>>(&text).ok())
            .map(|record| summarize(&record))
            .collect();
        items.sort_by(|a, b| {
            timestamp(b)
                .total_cmp(&timestamp(a))
                .then_with(|| id(a).cmp(id(b)))
        });
        Self { items }
    }

    /// The JSON array for one request, or a message for a 400.
    pub(crate) fn page(&self, query: &[(String, String)]) -> Result<String, String> {
        let filter = Filter::parse(query)?;
        let page = positive(query, "page", 1)?;
        let limit = positive(query, "limit", 10)?;
        let skip = (page - 1).saturating_mul(limit);
        let items: Vec<&Value> = self
            .items
            .iter()
            .filter(|item| filter.matches(item))
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        serde_json::to_string(&items).map_err(|e| e.to_string())
    }
}

/// The list item for a record, in the shape of the spec's `CallHistorySummary`.
fn summarize(record: &Map<String, Value>) -> Value {
    let get = |key: &str| record.get(key).cloned();
    let mut item = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            item.insert(key.to_owned(), value);
        }
    };
    put("_id", get("_id"));
    put("timestamp", get("startTime"));
    put("callId", get("roomName"));
    put("direction", get("direction"));
    put("agent", get("agentId").map(|agent| json!({ "_id": agent })));
    put("status", get("status"));
    put(
        "callFlowName",
        get("callFlowId")
            .and_then(|f| {
                f.as_str()
                    .map(|f| format!("Call flow {}", &f[f.len().saturating_sub(4)..]))
            })
            .map(Value::from),
    );
    put(
        "cost",
        record
            .get("cost")
            .and_then(|c| c.get("customer_charge"))
            .cloned(),
    );
    put(
        "recordingUrl",
        Some(get("recordingUrl").unwrap_or(Value::Null)),
    );
    put("summary", get("summary"));
    put("analyzedData", get("analyzedData"));
    put("variables", get("metadata"));
    put("transcript", get("transcript"));
    let start = record.get("startTime").and_then(Value::as_f64);
    let end = record.get("endTime").and_then(Value::as_f64);
    if let (Some(start), Some(end)) = (start, end) {
        put(
            "duration",
            serde_json::Number::from_f64(((end - start) * 1000.0).round() / 1000.0)
                .map(Value::Number),
        );
    }
    Value::Object(item)
}

fn timestamp(item: &Value) -> f64 {
    item.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0)
}

fn id(item: &Value) -> &str {
    item.get("_id").and_then(Value::as_str).unwrap_or("")
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A positive integer parameter. The spec gives no maximum, so a larger value
/// than `u64` holds saturates (`page` past the end is an empty page).
fn positive(query: &[(String, String)], name: &str, default: u64) -> Result<u64, String> {
    let Some(text) = param(query, name) else {
        return Ok(default);
    };
    let number = serde_json::from_str::<serde_json::Number>(text).ok();
    number
        .and_then(|n| {
            n.as_u64()
                // `as` saturates: 1e30 becomes u64::MAX.
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64))
        })
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("{name} must be a positive integer"))
}

/// The filters of one request. `pathwayId`, `batchId` and `postAnalysis` are
/// accepted and ignored: the mock's records carry no such data.
#[derive(Debug, Default)]
struct Filter {
    status: Option<String>,
    direction: Option<String>,
    agent: Option<String>,
    call_type: Option<String>,
    search: Option<String>,
    ids: Option<HashSet<String>>,
    from: Option<f64>,
    to: Option<f64>,
}

impl Filter {
    fn parse(query: &[(String, String)]) -> Result<Self, String> {
        let text = |name| param(query, name).map(str::to_owned);
        let ids = match param(query, "callIds") {
            None => None,
            Some(json) => Some(
                serde_json::from_str::<Vec<String>>(json)
                    .map_err(|_| "callIds must be a JSON array of strings".to_owned())?
                    .into_iter()
                    .collect(),
            ),
        };
        let (from, to) = match param(query, "dateRange") {
            None => (None, None),
            Some(json) => {
                let range: Map<String, Value> = serde_json::from_str(json).map_err(|_| {
                    r#"dateRange must be a JSON object {"from": …, "to": …}"#.to_owned()
                })?;
                (bound(&range, "from")?, bound(&range, "to")?)
            }
        };
        Ok(Self {
            status: text("status"),
            direction: text("direction"),
            agent: text("agentId"),
            call_type: text("callType"),
            search: text("search").map(|s| s.to_lowercase()),
            ids,
            from,
            to,
        })
    }

    fn matches(&self, item: &Value) -> bool {
        let field = |key: &str| item.get(key).and_then(Value::as_str);
        let is = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == got)
        };
        is(&self.status, field("status"))
            && is(&self.direction, field("direction"))
            && is(
                &self.agent,
                item.pointer("/agent/_id").and_then(Value::as_str),
            )
            && self.call_type.as_deref().is_none_or(|kind| {
                field("callId").is_some_and(|room| room.starts_with(&format!("{kind}-")))
            })
            && self.search.as_deref().is_none_or(|needle| {
                field("summary").is_some_and(|summary| summary.to_lowercase().contains(needle))
            })
            && self.ids.as_ref().is_none_or(|ids| ids.contains(id(item)))
            && self.from.is_none_or(|from| timestamp(item) >= from)
            && self.to.is_none_or(|to| timestamp(item) <= to)
    }
}

/// A `dateRange` bound: RFC 3339 text or Unix seconds.
fn bound(range: &Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match range.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_micros() as f64 / 1e6)
            .or_else(|| rolled_over(s))
            .map(Some)
            .ok_or_else(|| format!("dateRange.{key} must be RFC 3339 or Unix seconds")),
        Some(_) => Err(format!("dateRange.{key} must be RFC 3339 or Unix seconds")),
    }
}

/// Unix seconds of an RFC 3339 text whose fields are in range but whose day
/// the month does not have (`2025-02-30`, which the spec's pattern admits): the
/// extra days roll over into the next month, as `mktime` does.
fn rolled_over(text: &str) -> Option<f64> {
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let year = i32::try_from(digits(0..4)?).ok()?;
    let first = chrono::NaiveDate::from_ymd_opt(year, digits(5..7)?, 1)?;
    let midnight = first.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64;
    let days = f64::from(digits(8..10)?.checked_sub(1)?);
    let clock = f64::from(digits(11..13)? * 3600 + digits(14..16)? * 60 + digits(17..19)?);
    let rest = text.get(19..)?;
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let fraction = match &rest[..zone_at] {
        "" => 0.0,
        f => format!("0{f}").parse::<f64>().ok()?,
    };
    let offset = match &rest[zone_at..] {
        "Z" | "z" => 0.0,
        zone => {
            let sign = if zone.starts_with('-') { -1.0 } else { 1.0 };
            let hours = f64::from(zone.get(1..3)?.parse::<u32>().ok()?);
            let minutes = f64::from(zone.get(4..6)?.parse::<u32>().ok()?);
            sign * (hours * 3600.0 + minutes * 60.0)
        }
    };
    Some(midnight + days * 86_400.0 + clock + fraction - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ids_of(page: &str) -> Vec<String> {
        serde_json::from_str::<Vec<Value>>(page)
            .unwrap()
            .iter()
            .map(|i| id(i).to_owned())
            .collect()
    }

    #[test]
    fn pages_cover_the_workspace_once_newest_first() {
        let ws = Workspace::new(25);
        let mut seen = Vec::new();
        for page in 1..=4 {
            seen.extend(ids_of(
                &ws.page(&query(&[("page", &page.to_string()), ("limit", "10")]))
                    .unwrap(),
            ));
        }
        assert_eq!(seen.len(), 25);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 25);
        let times: Vec<f64> = ws.items.iter().map(timestamp).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn filters_select_matching_items() {
        let ws = Workspace::new(200);
        let page = ws
            .page(&query(&[("status", "completed"), ("limit", "500")]))
            .unwrap();
        let items: Vec<Value> = serde_json::from_str(&page).unwrap();
        assert!(!items.is_empty() && items.len() < 200);
        assert!(items.iter().all(|i| i["status"] == "completed"));
        let wanted = r#"["65a7f3c2e4b0a1d200000003","65a7f3c2e4b0a1d200000007","nope"]"#;
        let mut got = ids_of(&ws.page(&query(&[("callIds", wanted)])).unwrap());
        got.sort();
        assert_eq!(
            got,
            ["65a7f3c2e4b0a1d200000003", "65a7f3c2e4b0a1d200000007"]
        );
    }

    #[test]
    fn bad_parameters_are_refused_with_a_reason() {
        let ws = Workspace::new(3);
        assert!(
            ws.page(&query(&[("page", "0")]))
                .unwrap_err()
                .contains("page")
        );
        assert!(
            ws.page(&query(&[("limit", "x")]))
                .unwrap_err()
                .contains("limit")
        );
        assert!(
            ws.page(&query(&[("callIds", "a,b")]))
                .unwrap_err()
                .contains("callIds")
        );
        assert!(
            ws.page(&query(&[("dateRange", r#"{"from":"soon"}"#)]))
                .unwrap_err()
                .contains("dateRange")
        );
    }

    #[test]
    fn a_day_the_month_lacks_rolls_over_and_a_huge_page_is_empty() {
        assert_eq!(
            rolled_over("2025-02-30T01:00:00.5+01:00"),
            DateTime::parse_from_rfc3339("2025-03-02T00:00:00.5Z")
                .ok()
                .map(|t| t.timestamp_micros() as f64 / 1e6)
        );
        let ws = Workspace::new(3);
        let range = r#"{"from":"2025-02-31T00:00:00Z"}"#;
        assert!(ws.page(&query(&[("dateRange", range)])).is_ok());
        assert_eq!(
            ws.page(&query(&[("page", "100000000000000000000000")]))
                .as_deref(),
            Ok("[]")
        );
        assert_eq!(
            ids_of(&ws.page(&query(&[("limit", "1e30")])).unwrap()).len(),
            3
        );
    }
}
