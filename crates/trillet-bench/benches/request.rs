//! Criterion bench of one request against the loopback mock
//! (`cargo bench -p trillet-bench --bench request`): group `request`, functions
//! `trillet` (through `trillet::Client`) and `reqwest` (the raw baseline).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use trillet::RateLimit;
use trillet_bench::net;

#[allow(clippy::expect_used)] // bench setup and a loopback mock: a failure is a bug to see
fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let mock = runtime
        .block_on(net::start_mock(None))
        .expect("the mock starts");
    let client = net::trillet_client(&mock, RateLimit::Off).expect("a client for the mock");
    let raw = runtime
        .block_on(async { net::Raw::new(&mock) })
        .expect("a reqwest client");

    let mut group = c.benchmark_group("request");
    group.bench_function("trillet", |b| {
        b.iter(|| {
            runtime
                .block_on(client.call_history(net::SEED_ID))
                .expect("the mock answers")
        })
    });
    group.bench_function("reqwest", |b| {
        b.iter(|| {
            runtime
                .block_on(raw.fetch(net::SEED_ID))
                .expect("the mock answers")
        })
    });
    group.finish();
    drop(mock);
}

criterion_group! {
    name = request;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(request);
