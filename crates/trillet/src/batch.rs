//! Fetching many records: bounded concurrency, optional input order, one shared rate
//! limit whose permits are taken in input order, so ordered results stream out at
//! the configured rate instead of in bursts. Nothing is collected.

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use trillet_api::types::CallHistory;

use crate::client::{Client, RawCallHistory};
use crate::error::Error;

/// A batch of ids to fetch; build it with [`Client::call_histories`] (ids in hand)
/// or [`Client::call_histories_from`] (ids that arrive as a stream, read only as
/// request slots free up).
///
/// Every request goes through the client's rate limiter and retry policy, so a
/// batch of any size stays under the configured rate by itself.
#[must_use = "a batch does nothing until its stream is polled"]
pub struct Batch {
    client: Client,
    ids: BoxStream<'static, String>,
    concurrency: usize,
    ordered: bool,
}

impl Batch {
    pub(crate) fn new(client: Client, ids: BoxStream<'static, String>, concurrency: usize) -> Self {
        Self {
            client,
            ids,
            concurrency,
            ordered: true,
        }
    }

    /// Requests kept in flight at once (default: the client's, 8 unless set; at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Whether results come out in input order (the default) or as they complete.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// The results as `(id, result)` pairs.
    pub fn stream(self) -> BoxStream<'static, (String, Result<CallHistory, Error>)> {
        self.run(false)
            .map(|(id, result)| (id, result.map(crate::Raw::into_record)))
            .boxed()
    }

    /// Like [`stream`](Self::stream), keeping each record's exact JSON.
    pub fn stream_raw(self) -> BoxStream<'static, (String, Result<RawCallHistory, Error>)> {
        self.run(true)
    }

    /// Each record's body exactly as the server sent it, not decoded: for tools
    /// that pass records through and read only what they need from them. Nothing
    /// but the bytes is held per record, so a large record costs about its size
    /// (the typed model keeps free-form parts as `serde_json` values, which can cost
    /// many times the text they came from). Every error is the one
    /// [`stream_raw`](Self::stream_raw) gives, except that the body is not checked
    /// against the model: any 2xx body is returned.
    pub fn stream_json(self) -> BoxStream<'static, (String, Result<Bytes, Error>)> {
        let Self {
            client,
            ids,
            concurrency,
            ordered,
        } = self;
        let requests = in_order(client, ids).map(|(client, id)| async move {
            let result = client.call_history_body_prepaid(&id).await;
            (id, result)
        });
        if ordered {
            requests.buffered(concurrency).boxed()
        } else {
            requests.buffer_unordered(concurrency).boxed()
        }
    }

    fn run(self, keep_body: bool) -> BoxStream<'static, (String, Result<RawCallHistory, Error>)> {
        let Self {
            client,
            ids,
            concurrency,
            ordered,
        } = self;
        let requests = in_order(client, ids).map(move |(client, id)| async move {
            let result = client.call_history_prepaid(&id, keep_body).await;
            (id, result)
        });
        if ordered {
            requests.buffered(concurrency).boxed()
        } else {
            requests.buffer_unordered(concurrency).boxed()
        }
    }
}

/// The ids, each with a client, once it holds the first rate-limit permit for it:
/// one id at a time takes its permit, in input order, and only when a request slot
/// is free; the request itself then skips that permit.
fn in_order(
    client: Client,
    ids: BoxStream<'static, String>,
) -> impl futures_util::Stream<Item = (Client, String)> + Send + 'static {
    ids.then(move |id: String| {
        let client = client.clone();
        async move {
            client.permit().await;
            (client, id)
        }
    })
}
