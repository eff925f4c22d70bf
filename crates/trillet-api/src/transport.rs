//! The seam between the generated client and whoever runs its requests.
//! The generated `send()` builds a request; a [`Transport`] decides how it is sent.
//!
//! progenitor lets a crate customise execution through `progenitor_client::ClientHooks`,
//! but that trait can only be implemented here, beside the generated `Client`. This
//! module implements it once, forwarding to a [`Transport`] object carried in the
//! client's inner value ([`Hooks`]), so policy (retries, rate limits, body limits,
//! capturing the raw body) lives in the caller's crate.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use progenitor_client::OperationInfo;
use progenitor_client::{ClientHooks, ClientInfo, Error};

/// A boxed, sendable future, as returned by [`Transport::execute`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the HTTP exchange of one operation on behalf of the generated client.
pub trait Transport: Send + Sync {
    /// Sends `request` (as many times as the policy wants) and returns the response
    /// the generated code should decode.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        info: &'a OperationInfo,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>>;

    /// Called with the result of [`execute`](Self::execute) before anything is
    /// decoded; an `Err` ends the operation with [`Error::Custom`]. This is how a
    /// transport reports failures that are not `reqwest` errors (an over-long body, a
    /// refused redirect): `execute` can mark its response, e.g. in its extensions.
    fn check(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        info: &OperationInfo,
    ) -> Result<(), String> {
        let _ = (result, info);
        Ok(())
    }
}

/// The generated client's inner value: the transport to use, if any.
/// `Hooks::default()` sends each request once with the `reqwest::Client` as is.
#[derive(Clone, Default)]
pub struct Hooks {
    transport: Option<Arc<dyn Transport>>,
}

impl Hooks {
    /// Hooks that run every request through `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport: Some(transport),
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("transport", &self.transport.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl ClientHooks<Hooks> for crate::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner().transport {
            Some(transport) => transport.execute(self.client(), request, info).await,
            None => self.client().execute(request).await,
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        match &self.inner().transport {
            Some(transport) => transport.check(result, info).map_err(Error::Custom),
            None => Ok(()),
        }
    }
}
