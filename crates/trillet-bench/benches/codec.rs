//! Criterion benches of the CPU cases (`cargo bench -p trillet-bench --bench codec`):
//! decode, encode and per-record output over the corpus of `trillet_bench::codec`.
//! Group `decode`: `generated`, `hand`, `hand_string_dates`; `encode`: `generated`,
//! `hand`; `lossless`: `raw_jsonl`, `typed_jsonl`, `typed_decode`.
//!
//! Criterion measures one function after the other, so on a busy machine compare
//! these with care; `cargo xtask bench` reports the interleaved ratios.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trillet_bench::codec;

fn benches(c: &mut Criterion) {
    let corpus = codec::corpus();
    let bytes = codec::corpus_bytes(&corpus);

    let mut decode = c.benchmark_group("decode");
    decode.throughput(Throughput::Bytes(bytes));
    decode.bench_function("generated", |b| b.iter(|| codec::decode_generated(&corpus)));
    decode.bench_function("hand", |b| b.iter(|| codec::decode_hand(&corpus)));
    decode.bench_function("hand_string_dates", |b| {
        b.iter(|| codec::decode_hand_string_dates(&corpus))
    });
    decode.finish();

    #[allow(clippy::expect_used)] // bench setup: the corpus is the spec's own examples
    let generated = codec::decoded_generated(&corpus).expect("the corpus decodes");
    #[allow(clippy::expect_used)]
    let hand = codec::decoded_hand(&corpus).expect("the corpus decodes");
    let mut out = Vec::new();
    let mut encode = c.benchmark_group("encode");
    encode.throughput(Throughput::Bytes(bytes));
    encode.bench_function("generated", |b| {
        b.iter(|| codec::encode(&generated, &mut out))
    });
    encode.bench_function("hand", |b| b.iter(|| codec::encode(&hand, &mut out)));
    encode.finish();

    let mut lossless = c.benchmark_group("lossless");
    lossless.throughput(Throughput::Bytes(bytes));
    lossless.bench_function("raw_jsonl", |b| {
        b.iter(|| codec::lossless_lines(&corpus, &mut out))
    });
    lossless.bench_function("typed_jsonl", |b| {
        b.iter(|| codec::typed_lines(&corpus, &mut out))
    });
    lossless.bench_function("typed_decode", |b| {
        b.iter(|| codec::decode_generated(&corpus))
    });
    lossless.finish();
}

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(codec);
