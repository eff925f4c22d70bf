//! The integration tests of this crate, in one binary: each module was its own
//! test binary once, and each binary links the whole dependency graph.

mod drift_suggest;
mod msrv;
mod spec_diff_cli;
