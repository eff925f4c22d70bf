//! Ergonomic client for the Trillet AI call-history API (being built).
