//! Spec-driven mock server (being built).
