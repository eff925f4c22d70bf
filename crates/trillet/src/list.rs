//! Listing call histories: typed filters, and pages fetched lazily one after another
//! under the client's rate limit and retry policy, as a stream of items or of pages.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde_json::value::RawValue;
use trillet_api::types::{CallHistorySummary, CallType};
use trillet_api::{Direction, Status};

use crate::client::{Client, Raw};
use crate::error::Error;

/// A [`CallHistorySummary`] with its exact JSON.
pub type RawCallHistorySummary = Raw<CallHistorySummary>;

/// The page size when none is set. The API's own default is 10; larger pages mean
/// fewer requests against the rate limit.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// A list request: filters, paging and limits. Build it with
/// [`Client::list_call_histories`].
///
/// The API returns a bare array per page with no total, so the listing ends at the
/// first page holding fewer items than the page size (or at [`max_items`](Self::max_items)).
/// A full last page therefore costs one more request, which comes back empty.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use trillet::Status;
/// # async fn run(client: trillet::Client) -> Result<(), trillet::Error> {
/// let since = chrono::Utc::now() - chrono::Duration::days(7);
/// let mut calls = client
///     .list_call_histories()
///     .status(Status::Completed)
///     .since(since)
///     .max_items(500)
///     .stream();
/// while let Some(call) = calls.next().await {
///     println!("{:?}", call?.summary);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a list request does nothing until it is streamed"]
pub struct ListCallHistories {
    client: Client,
    filters: Filters,
    page_size: u32,
    first_page: u64,
    max_items: Option<usize>,
}

#[derive(Clone, Debug, Default)]
struct Filters {
    status: Option<Status>,
    direction: Option<Direction>,
    call_type: Option<CallType>,
    agent_id: Option<String>,
    pathway_id: Option<String>,
    batch_id: Option<String>,
    search: Option<String>,
    call_ids: Option<Vec<String>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    post_analysis: Option<String>,
}

/// One page of results.
#[derive(Clone, Debug)]
pub struct Page {
    /// The page number, from 1.
    pub number: u64,
    items: Vec<RawCallHistorySummary>,
}

impl Page {
    /// The items with their exact JSON.
    pub fn raw_items(&self) -> &[RawCallHistorySummary] {
        &self.items
    }

    /// The typed items.
    pub fn items(&self) -> impl Iterator<Item = &CallHistorySummary> {
        self.items.iter().map(Raw::record)
    }

    /// The items with their exact JSON, by value.
    pub fn into_raw_items(self) -> Vec<RawCallHistorySummary> {
        self.items
    }

    /// How many items the page holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Client {
    /// Lists call-history records; see [`ListCallHistories`].
    pub fn list_call_histories(&self) -> ListCallHistories {
        ListCallHistories {
            client: self.clone(),
            filters: Filters::default(),
            page_size: DEFAULT_PAGE_SIZE,
            first_page: 1,
            max_items: None,
        }
    }
}

impl ListCallHistories {
    /// Only calls with this status.
    pub fn status(mut self, status: impl Into<Status>) -> Self {
        self.filters.status = Some(status.into());
        self
    }

    /// Only calls in this direction.
    pub fn direction(mut self, direction: impl Into<Direction>) -> Self {
        self.filters.direction = Some(direction.into());
        self
    }

    /// Only calls of this kind (SIP or web).
    pub fn call_type(mut self, call_type: CallType) -> Self {
        self.filters.call_type = Some(call_type);
        self
    }

    /// Only calls handled by this agent.
    pub fn agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.filters.agent_id = Some(agent_id.into());
        self
    }

    /// Only calls that followed this pathway.
    pub fn pathway_id(mut self, pathway_id: impl Into<String>) -> Self {
        self.filters.pathway_id = Some(pathway_id.into());
        self
    }

    /// Only calls of this batch.
    pub fn batch_id(mut self, batch_id: impl Into<String>) -> Self {
        self.filters.batch_id = Some(batch_id.into());
        self
    }

    /// Free-text search.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.filters.search = Some(text.into());
        self
    }

    /// Only these records (sent as the JSON array the API expects).
    pub fn call_ids<S: AsRef<str>>(mut self, ids: &[S]) -> Self {
        self.filters.call_ids = Some(ids.iter().map(|id| id.as_ref().to_owned()).collect());
        self
    }

    /// Only calls between `from` and `to` (sent as the JSON object the API expects,
    /// with RFC 3339 bounds).
    pub fn date_range(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.since(from).until(to)
    }

    /// Only calls from this time on.
    pub fn since(mut self, from: DateTime<Utc>) -> Self {
        self.filters.from = Some(from);
        self
    }

    /// Only calls up to this time.
    pub fn until(mut self, to: DateTime<Utc>) -> Self {
        self.filters.to = Some(to);
        self
    }

    /// A filter on post-call analysis, as the JSON text the API takes (passed through).
    pub fn post_analysis(mut self, json: impl Into<String>) -> Self {
        self.filters.post_analysis = Some(json.into());
        self
    }

    /// Items per request (default 100, at least 1).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// The first page to request (default 1).
    pub fn start_page(mut self, page: u64) -> Self {
        self.first_page = page.max(1);
        self
    }

    /// Stops after this many items (requesting no page beyond them).
    pub fn max_items(mut self, max: usize) -> Self {
        self.max_items = Some(max);
        self
    }

    /// Fetches one page.
    pub async fn page(&self, number: u64) -> Result<Page, Error> {
        let raw = self
            .client
            .call_raw(|api| self.request(api, number).send())
            .await?;
        let (items, body) = raw.into_parts();
        Ok(Page {
            number,
            items: raw_items(items, &body)?,
        })
    }

    /// The generated request for page `number` with the filters given.
    fn request<'a>(
        &self,
        api: &'a trillet_api::Client,
        number: u64,
    ) -> trillet_api::builder::ListCallHistories<'a> {
        let f = &self.filters;
        // The generated setters take values, not options: set only what is given.
        fn set<B, T>(builder: B, value: Option<T>, setter: impl FnOnce(B, T) -> B) -> B {
            match value {
                Some(value) => setter(builder, value),
                None => builder,
            }
        }
        let mut request = api
            .list_call_histories()
            .page(number.max(1))
            .limit(u64::from(self.page_size));
        request = set(request, f.status.clone(), |b, v| b.status(v));
        request = set(request, f.direction.clone(), |b, v| b.direction(v));
        request = set(request, f.call_type, |b, v| b.call_type(v));
        request = set(request, f.agent_id.clone(), |b, v| b.agent_id(v));
        request = set(request, f.pathway_id.clone(), |b, v| b.pathway_id(v));
        request = set(request, f.batch_id.clone(), |b, v| b.batch_id(v));
        request = set(request, f.search.clone(), |b, v| b.search(v));
        request = set(request, f.post_analysis.clone(), |b, v| b.post_analysis(v));
        let ids = f
            .call_ids
            .as_ref()
            .map(|ids| serde_json::Value::from(ids.clone()).to_string());
        request = set(request, ids, |b, v| b.call_ids(v));
        let range = (f.from.is_some() || f.to.is_some()).then(|| date_range_json(f.from, f.to));
        set(request, range, |b, v| b.date_range(v))
    }

    /// The pages, each requested only when the previous one has been taken.
    pub fn pages(self) -> BoxStream<'static, Result<Page, Error>> {
        let state = Paging::new(self.first_page);
        stream::unfold((self, state), |(list, mut state)| async move {
            let number = state.next.take()?;
            let page = match list.page(number).await {
                Ok(page) => page,
                Err(e) => return Some((Err(e), (list, state))),
            };
            match state.accept(page, list.page_size, list.max_items) {
                Ok(Some(page)) => Some((Ok(page), (list, state))),
                Ok(None) => None,
                Err(e) => Some((Err(e), (list, state))),
            }
        })
        .boxed()
    }

    /// The items of every page, in order, with their exact JSON.
    pub fn stream_raw(self) -> BoxStream<'static, Result<RawCallHistorySummary, Error>> {
        self.pages()
            .flat_map(|page| match page {
                Ok(page) => stream::iter(
                    page.into_raw_items()
                        .into_iter()
                        .map(Ok)
                        .collect::<Vec<_>>(),
                ),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    /// The items of every page, in order.
    pub fn stream(self) -> BoxStream<'static, Result<CallHistorySummary, Error>> {
        self.stream_raw()
            .map(|item| item.map(Raw::into_record))
            .boxed()
    }
}

/// How many page fingerprints a listing remembers: 8 bytes each, so at most 512 KiB
/// however long it runs; a cycle longer than this many pages goes unnoticed.
const REMEMBERED_PAGES: usize = 65_536;

/// Where a listing stands between pages.
struct Paging {
    next: Option<u64>,
    taken: usize,
    /// Fingerprints of the pages seen, to end a listing whose pages repeat (A, B,
    /// A, …) instead of paging forever; oldest first, for eviction.
    seen: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Paging {
    fn new(first: u64) -> Self {
        Self {
            next: Some(first),
            taken: 0,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers a page; `false` if it was seen before.
    fn remember(&mut self, fingerprint: u64) -> bool {
        if !self.seen.insert(fingerprint) {
            return false;
        }
        self.order.push_back(fingerprint);
        if self.order.len() > REMEMBERED_PAGES
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }

    /// Decides what to do with a fetched page: yield it (trimmed to `max_items`) and
    /// plan the next request, end the listing, or fail on a repeated page.
    fn accept(
        &mut self,
        mut page: Page,
        page_size: u32,
        max: Option<usize>,
    ) -> Result<Option<Page>, Error> {
        if page.is_empty() {
            return Ok(None);
        }
        if !self.remember(fingerprint(&page)) {
            return Err(Error::Pagination {
                page: page.number,
                reason: "the server returned the same items as for an earlier page".into(),
            });
        }
        let full = page.len() >= page_size as usize;
        if let Some(max) = max {
            page.items.truncate(max.saturating_sub(self.taken));
        }
        self.taken += page.len();
        let room = max.is_none_or(|max| self.taken < max);
        if full && room {
            self.next = page.number.checked_add(1);
        }
        Ok((!page.is_empty()).then_some(page))
    }
}

fn fingerprint(page: &Page) -> u64 {
    let mut hasher = DefaultHasher::new();
    for item in &page.items {
        item.json().hash(&mut hasher);
    }
    hasher.finish()
}

/// `{"from": "...", "to": "..."}` with the bounds given.
fn date_range_json(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
    let mut range = serde_json::Map::new();
    for (key, at) in [("from", from), ("to", to)] {
        if let Some(at) = at {
            range.insert(
                key.into(),
                at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
            );
        }
    }
    serde_json::Value::Object(range).to_string()
}

/// Pairs each decoded item with its exact JSON, sliced from the body without copying.
fn raw_items(
    items: Vec<CallHistorySummary>,
    body: &Bytes,
) -> Result<Vec<RawCallHistorySummary>, Error> {
    let raws: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| Error::Decode {
        path: ".".into(),
        message: e.to_string(),
        body: body.clone(),
    })?;
    if raws.len() != items.len() {
        return Err(Error::Decode {
            path: ".".into(),
            message: "the page changed between two readings".into(),
            body: body.clone(),
        });
    }
    items
        .into_iter()
        .zip(raws)
        .map(|(item, raw)| Raw::new(item, body.slice_ref(raw.get().as_bytes())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u64, ids: &[&str]) -> Page {
        let body = Bytes::from(
            serde_json::Value::from(
                ids.iter()
                    .map(|id| serde_json::json!({"_id": id}))
                    .collect::<Vec<_>>(),
            )
            .to_string(),
        );
        let items: Vec<CallHistorySummary> = serde_json::from_slice(&body).unwrap();
        Page {
            number,
            items: raw_items(items, &body).unwrap(),
        }
    }

    fn paging() -> Paging {
        let mut paging = Paging::new(1);
        paging.next = None;
        paging
    }

    #[test]
    fn a_full_page_asks_for_the_next_and_a_short_one_ends() {
        let mut p = paging();
        assert_eq!(
            p.accept(page(1, &["a", "b"]), 2, None)
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(p.next.take(), Some(2));
        assert_eq!(
            p.accept(page(2, &["c"]), 2, None).unwrap().unwrap().len(),
            1
        );
        assert_eq!(p.next, None);
    }

    #[test]
    fn an_empty_page_ends_without_an_item() {
        assert!(paging().accept(page(1, &[]), 2, None).unwrap().is_none());
    }

    #[test]
    fn max_items_trims_and_stops_requesting() {
        let mut p = paging();
        assert_eq!(
            p.accept(page(1, &["a", "b", "c"]), 3, Some(2))
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(p.next, None);
    }

    #[test]
    fn a_repeated_page_is_an_error() {
        let mut p = paging();
        p.accept(page(1, &["a", "b"]), 2, None).unwrap();
        let err = p.accept(page(2, &["a", "b"]), 2, None).unwrap_err();
        assert!(matches!(err, Error::Pagination { page: 2, .. }), "{err:?}");
    }

    #[test]
    fn a_cycle_of_pages_is_an_error_when_it_comes_round() {
        let mut p = paging();
        p.accept(page(1, &["a", "b"]), 2, None).unwrap();
        p.accept(page(2, &["c", "d"]), 2, None).unwrap();
        let err = p.accept(page(3, &["a", "b"]), 2, None).unwrap_err();
        assert!(matches!(err, Error::Pagination { page: 3, .. }), "{err:?}");
    }

    #[test]
    fn the_memory_of_pages_is_bounded() {
        let mut p = paging();
        for n in 0..(REMEMBERED_PAGES as u64 + 10) {
            assert!(p.remember(n));
        }
        assert_eq!(p.seen.len(), REMEMBERED_PAGES);
        assert_eq!(p.order.len(), REMEMBERED_PAGES);
        assert!(p.remember(0), "the oldest fingerprint was forgotten");
        assert!(!p.remember(REMEMBERED_PAGES as u64 + 9));
    }

    #[test]
    fn raw_items_keep_each_items_exact_text() {
        let body = Bytes::from_static(
            br#"[ {"_id":"a","cost":0.10} , {"_id":"b","n":12345678901234567890}]"#,
        );
        let items: Vec<CallHistorySummary> = serde_json::from_slice(&body).unwrap();
        let raws = raw_items(items, &body).unwrap();
        assert_eq!(raws[0].json(), r#"{"_id":"a","cost":0.10}"#);
        assert_eq!(raws[1].json(), r#"{"_id":"b","n":12345678901234567890}"#);
    }

    #[test]
    fn date_ranges_carry_only_the_given_bounds() {
        let at = DateTime::from_timestamp(1_735_689_600, 0).unwrap();
        assert_eq!(
            date_range_json(Some(at), None),
            r#"{"from":"2025-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            date_range_json(Some(at), Some(at)),
            r#"{"from":"2025-01-01T00:00:00Z","to":"2025-01-01T00:00:00Z"}"#
        );
    }
}
