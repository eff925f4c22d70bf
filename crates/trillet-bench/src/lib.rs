//! Benchmarks of the Trillet client against baselines in the same run, and the
//! harness behind `cargo xtask bench` (the `trillet-bench` binary).
//!
//! Every figure is a ratio of two things measured side by side on the same machine
//! in the same process ([`paired`]), never an absolute time: the machines these run
//! on are shared and noisy.
//!
//! - [`hand`]: the hand-written `#[derive(Deserialize)]` baseline of `CallHistory`.
//! - [`codec`]: decode, encode and per-record output cases (CPU only).
//! - [`net`]: one request, batches and the rate-limited batch against the loopback mock.
//!
//! The criterion benches in `benches/` run the CPU and single-request cases for a
//! closer look (`cargo bench -p trillet-bench`).

pub mod codec;
pub mod hand;
pub mod net;
pub mod paired;
