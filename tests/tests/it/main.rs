//! The integration tests of this crate, in one binary: each module was its own
//! test binary once, and each binary links the whole dependency graph.

mod adding_an_operation;
mod envelope;
mod examples;
mod known_limitations;
mod models;
mod properties;
mod translator;
