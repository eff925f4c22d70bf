//! Fetching many records: bounded concurrency, optional input order, one shared rate
//! limit. Results stream out as they complete; nothing is collected.

use futures_util::stream::{self, BoxStream, StreamExt};
use trillet_api::types::CallHistory;

use crate::client::{Client, RawCallHistory};
use crate::error::Error;

/// A batch of ids to fetch; build it with [`Client::call_histories`].
///
/// Every request goes through the client's rate limiter and retry policy, so a
/// batch of any size stays under the configured rate by itself.
#[must_use = "a batch does nothing until its stream is polled"]
pub struct Batch<I> {
    client: Client,
    ids: I,
    concurrency: usize,
    ordered: bool,
}

impl<I> Batch<I>
where
    I: Iterator + Send + 'static,
    I::Item: Into<String>,
{
    pub(crate) fn new(client: Client, ids: I, concurrency: usize) -> Self {
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
        self.run(|client, id| async move { client.call_history(&id).await })
    }

    /// Like [`stream`](Self::stream), keeping each record's exact JSON.
    pub fn stream_raw(self) -> BoxStream<'static, (String, Result<RawCallHistory, Error>)> {
        self.run(|client, id| async move { client.call_history_raw(&id).await })
    }

    fn run<T, F, Fut>(self, fetch: F) -> BoxStream<'static, (String, Result<T, Error>)>
    where
        T: Send + 'static,
        F: Fn(Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let Self {
            client,
            ids,
            concurrency,
            ordered,
        } = self;
        let requests = stream::iter(ids.map(Into::into)).map(move |id: String| {
            let pending = fetch(client.clone(), id.clone());
            async move { (id, pending.await) }
        });
        if ordered {
            requests.buffered(concurrency).boxed()
        } else {
            requests.buffer_unordered(concurrency).boxed()
        }
    }
}
