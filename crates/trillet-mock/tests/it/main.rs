//! The integration tests of this crate, in one binary: each module was its own
//! test binary once, and each binary links the whole dependency graph.

mod common;
mod connections;
mod deletes;
mod every_operation;
mod faults;
mod listing;
mod logging;
mod requests;
mod schema;
mod summary_log;
