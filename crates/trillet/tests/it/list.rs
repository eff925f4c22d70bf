//! Listing: filters on the wire, lazy paging, and every way a listing can end.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{client, envelope, json, query_param, serve};
use futures_util::{StreamExt, TryStreamExt};
use trillet::{CallType, Direction, Error, RetryPolicy, Status};

/// A server holding `total` records, paging like the API (bare arrays, no total).
async fn workspace(total: usize) -> common::Server {
    serve(move |_, seen| {
        let page: usize = query_param(seen, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let limit: usize = query_param(seen, "limit")
            .and_then(|p| p.parse().ok())
            .unwrap_or(10);
        let start = (page - 1) * limit;
        let items: Vec<String> = (start..total.min(start + limit))
            .map(|i| format!(r#"{{"_id":"r{i:04}","timestamp":1737062894.9754236,"cost":0.10}}"#))
            .collect();
        json(200, &format!("[{}]", items.join(",")))
    })
    .await
}

async fn ids(list: trillet::ListCallHistories) -> Vec<String> {
    list.stream()
        .map(|item| item.expect("item").id.expect("id"))
        .collect()
        .await
}

#[tokio::test]
async fn an_exact_multiple_of_the_page_size_ends_on_an_empty_page() {
    let server = workspace(1000).await;
    let got = ids(client(&server.url)
        .build()
        .unwrap()
        .list_call_histories()
        .page_size(100))
    .await;
    assert_eq!(got.len(), 1000);
    assert_eq!(got[999], "r0999");
    // 10 full pages, then the empty 11th that proves the end (there is no total).
    assert_eq!(server.requests().len(), 11);
}

#[tokio::test]
async fn max_items_at_a_page_boundary_saves_the_empty_request() {
    let server = workspace(1000).await;
    let got = ids(client(&server.url)
        .build()
        .unwrap()
        .list_call_histories()
        .page_size(100)
        .max_items(1000))
    .await;
    assert_eq!(got.len(), 1000);
    assert_eq!(server.requests().len(), 10);
}

#[tokio::test]
async fn an_empty_workspace_is_one_request_and_no_items() {
    let server = workspace(0).await;
    assert!(
        ids(client(&server.url).build().unwrap().list_call_histories())
            .await
            .is_empty()
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn one_short_page_is_the_last() {
    let server = workspace(7).await;
    let got = ids(client(&server.url)
        .build()
        .unwrap()
        .list_call_histories()
        .page_size(10))
    .await;
    assert_eq!(got.len(), 7);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn pages_are_requested_only_when_needed() {
    let server = workspace(1000).await;
    let c = client(&server.url).build().unwrap();
    let first: Vec<_> = c
        .list_call_histories()
        .page_size(5)
        .stream()
        .take(7)
        .collect()
        .await;
    assert_eq!(first.len(), 7);
    assert_eq!(
        server.requests().len(),
        2,
        "7 items of 5-item pages need 2 pages"
    );
}

#[tokio::test]
async fn a_server_error_mid_listing_ends_it_with_that_error_after_the_earlier_items() {
    let server = serve(|_, seen| match query_param(seen, "page").as_deref() {
        Some("1") => json(200, r#"[{"_id":"a"},{"_id":"b"}]"#),
        _ => envelope(500, "internal_error"),
    })
    .await;
    let c = client(&server.url)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let got: Vec<Result<_, Error>> = c
        .list_call_histories()
        .page_size(2)
        .stream()
        .collect()
        .await;
    assert_eq!(got.len(), 3);
    assert!(got[0].is_ok() && got[1].is_ok());
    assert_eq!(
        got[2].as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(500)
    );
}

#[tokio::test]
async fn a_server_repeating_the_same_page_is_stopped() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    let server = serve(move |_, _| {
        count.fetch_add(1, Ordering::Relaxed);
        json(200, r#"[{"_id":"a"},{"_id":"b"}]"#)
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let err = c
        .list_call_histories()
        .page_size(2)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pagination { page: 2, .. }), "{err:?}");
    assert_eq!(served.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn filters_are_sent_as_the_api_documents_them() {
    let server = workspace(0).await;
    let from = chrono::DateTime::from_timestamp(1_735_689_600, 0).unwrap();
    let to = chrono::DateTime::from_timestamp(1_738_368_000, 0).unwrap();
    let list = client(&server.url)
        .build()
        .unwrap()
        .list_call_histories()
        .status(Status::InProgress)
        .direction(Direction::Unknown("sideways".into()))
        .call_type(CallType::Sip)
        .agent_id("ag 1")
        .search("a&b=c")
        .call_ids(&["x", "y\"z"])
        .date_range(from, to)
        .page_size(25);
    let _ = ids(list).await;
    let seen = &server.requests()[0];
    let q = |name| query_param(seen, name);
    assert_eq!(q("page").as_deref(), Some("1"));
    assert_eq!(q("limit").as_deref(), Some("25"));
    assert_eq!(q("status").as_deref(), Some("in-progress"));
    assert_eq!(q("direction").as_deref(), Some("sideways"));
    assert_eq!(q("callType").as_deref(), Some("sip"));
    assert_eq!(q("agentId").as_deref(), Some("ag 1"));
    assert_eq!(q("search").as_deref(), Some("a&b=c"));
    assert_eq!(q("callIds").as_deref(), Some(r#"["x","y\"z"]"#));
    assert_eq!(
        q("dateRange").as_deref(),
        Some(r#"{"from":"2025-01-01T00:00:00Z","to":"2025-02-01T00:00:00Z"}"#)
    );
    assert_eq!(q("pathwayId"), None, "unset filters are not sent");
    assert_eq!(seen.headers["x-api-key"], common::KEY);
}

#[tokio::test]
async fn raw_items_keep_the_servers_exact_json() {
    let server = workspace(2).await;
    let items: Vec<_> = client(&server.url)
        .build()
        .unwrap()
        .list_call_histories()
        .stream_raw()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        items[0].json(),
        r#"{"_id":"r0000","timestamp":1737062894.9754236,"cost":0.10}"#
    );
    assert_eq!(items[1].record().cost, Some(0.1));
}

#[tokio::test]
async fn pages_that_cycle_between_two_answers_end_the_listing() {
    // Pages alternate A, B, A, B, ...: each differs from the one before it.
    let server = serve(|_, seen| {
        let odd = query_param(seen, "page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
            % 2
            == 1;
        let body = if odd {
            r#"[{"_id":"a1"},{"_id":"a2"}]"#
        } else {
            r#"[{"_id":"b1"},{"_id":"b2"}]"#
        };
        json(200, body)
    })
    .await;
    let results: Vec<_> = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client(&server.url)
            .build()
            .unwrap()
            .list_call_histories()
            .page_size(2)
            .stream()
            .collect(),
    )
    .await
    .expect("the listing never ended");
    assert_eq!(results.len(), 5, "4 items, then the error");
    assert!(
        matches!(results.last(), Some(Err(Error::Pagination { page: 3, .. }))),
        "{:?}",
        results.last()
    );
    assert_eq!(server.requests().len(), 3);
}
