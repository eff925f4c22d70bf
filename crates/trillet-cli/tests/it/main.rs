//! The integration tests of this crate, in one binary: each module was its own
//! test binary once, and each binary links the whole dependency graph.

mod api;
mod cli;
mod common;
mod drift;
mod mock_serve;
mod process;
mod proxy;
