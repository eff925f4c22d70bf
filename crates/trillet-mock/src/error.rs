//! Why a mock server could not start, run or stop.
//! Request-level problems never surface here: they become HTTP responses.

use std::io;
use std::net::SocketAddr;

/// A failure of the mock server itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The configuration has a value out of range.
    #[error("invalid mock configuration: {0}")]
    Config(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the mock server failed: {0}")]
    Serve(#[source] io::Error),
    /// The Ctrl-C handler could not be installed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(#[source] io::Error),
}
