//! The integration tests of this crate, in one binary: each module was its own
//! test binary once, and each binary links the whole dependency graph.

mod client;
mod common;
mod faults;
mod list;
mod observability;
mod operation_request;
mod secrets;
mod writes;
