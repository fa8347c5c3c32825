//! What a Prometheus scrape of a profiled program costs: `GET /metrics` over loopback on a
//! profiler with 256 stages (128 stage handles, 128 bounded channels that each carried
//! messages, so every channel has its time-in-channel histogram): the scrape's wall time, the
//! client's side included, and the CPU the program's metrics thread spends on it.
//!
//! `cargo bench --bench metrics`

use std::io::{Read, Write};

use criterion::{Criterion, criterion_group, criterion_main};
use palavriado::Profiler;
use palavriado::channel::crossbeam;

/// CPU time of the profiler's thread named `metrics` so far (ns).
fn metrics_thread_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| t.ok())
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "metrics")
        })
        .and_then(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("the metrics thread")
}

fn scrape(c: &mut Criterion) {
    let profiler = Profiler::new("bench")
        .metrics("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.metrics_addr().unwrap();
    let mut ends = Vec::new();
    for i in 0..128 {
        let (tx, rx) = crossbeam::bounded::<u64>(&profiler, format!("channel {i}"), 64);
        let _on = profiler.stage(format!("stage {i}")).enter();
        for n in 0..32 {
            tx.send(n).unwrap();
        }
        for _ in 0..16 {
            rx.recv().unwrap();
        }
        ends.push((tx, rx));
    }
    let get = || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = Vec::new();
        s.read_to_end(&mut body).unwrap();
        body.len()
    };
    eprintln!("one scrape: {} bytes", get());
    // The program's side: CPU its metrics thread spends per scrape (from its schedstat).
    let before = metrics_thread_cpu_ns();
    let scrapes = 200;
    for _ in 0..scrapes {
        get();
    }
    let per = (metrics_thread_cpu_ns() - before) as f64 / scrapes as f64 / 1e6;
    eprintln!("the program's CPU per scrape: {per:.3} ms (mean of {scrapes})");
    c.bench_function("scrape 256 stages", |b| b.iter(get));
    drop(ends);
    profiler.finish().unwrap();
}

criterion_group!(benches, scrape);
criterion_main!(benches);
