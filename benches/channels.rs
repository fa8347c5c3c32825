//! What instrumenting a channel costs per message: tokio's bounded `mpsc` and crossbeam's
//! bounded channel, bare and instrumented (each end in a stage of its own, as a program uses
//! them), one sender to one receiver and four senders to one, benchmarked alternately so the
//! pairs share the machine's mood. Throughput is messages per second; the cost per message is
//! the difference of the two times per message.
//!
//! `calls` measures the calls alone: one task (or thread) fills a channel and drains it, so no
//! hand-off between threads blurs the difference.
//!
//! `cargo bench --bench channels`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palavriado::Profiler;
use palavriado::channel::{crossbeam, mpsc};

/// Messages per iteration (spread over the senders).
const MESSAGES: u64 = 200_000;
/// The channels' bound.
const BOUND: usize = 1024;

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// `senders` tasks send `MESSAGES` in all through bare tokio channels; returns their sum.
fn tokio_bare(rt: &tokio::runtime::Runtime, senders: u64) -> u64 {
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(BOUND);
        for s in 0..senders {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..MESSAGES / senders {
                    tx.send(i + s).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}

/// The same through an instrumented channel, each task a stage.
fn tokio_instrumented(rt: &tokio::runtime::Runtime, profiler: &Profiler, senders: u64) -> u64 {
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u64>(profiler, "numbers", BOUND);
        for s in 0..senders {
            let tx = tx.clone();
            let stage = profiler.stage(format!("sender {s}"));
            tokio::spawn(stage.instrument(async move {
                for i in 0..MESSAGES / senders {
                    tx.send(i + s).await.unwrap();
                }
            }));
        }
        drop(tx);
        profiler
            .stage("receiver")
            .instrument(async move {
                let mut sum = 0;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            })
            .await
    })
}

/// `senders` threads send `MESSAGES` in all through a bare crossbeam channel.
fn crossbeam_bare(senders: u64) -> u64 {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(BOUND);
    let threads: Vec<_> = (0..senders)
        .map(|s| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..MESSAGES / senders {
                    tx.send(i + s).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let sum = rx.iter().sum();
    threads.into_iter().for_each(|t| t.join().unwrap());
    sum
}

/// The same through an instrumented channel, each thread a stage.
fn crossbeam_instrumented(profiler: &Profiler, senders: u64) -> u64 {
    let (tx, rx) = crossbeam::bounded::<u64>(profiler, "numbers", BOUND);
    let threads: Vec<_> = (0..senders)
        .map(|s| {
            let (tx, stage) = (tx.clone(), profiler.stage(format!("sender {s}")));
            std::thread::spawn(move || {
                let _on = stage.enter();
                for i in 0..MESSAGES / senders {
                    tx.send(i + s).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let sum = {
        let _on = profiler.stage("receiver").enter();
        rx.iter().sum()
    };
    threads.into_iter().for_each(|t| t.join().unwrap());
    sum
}

/// One task sends a channel full and receives it, over and over: the cost of the calls
/// themselves, without the threads' hand-offs (`tokio` on a current-thread runtime).
fn one_task(rt: &tokio::runtime::Runtime, profiler: Option<&Profiler>) -> u64 {
    rt.block_on(async {
        let rounds = MESSAGES / BOUND as u64;
        let mut sum = 0;
        match profiler {
            None => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(BOUND);
                for r in 0..rounds {
                    for i in 0..BOUND as u64 {
                        tx.send(r + i).await.unwrap();
                    }
                    for _ in 0..BOUND {
                        sum += rx.recv().await.unwrap();
                    }
                }
            }
            Some(p) => {
                let (tx, mut rx) = mpsc::channel::<u64>(p, "numbers", BOUND);
                sum = p
                    .stage("loop")
                    .instrument(async move {
                        for r in 0..rounds {
                            for i in 0..BOUND as u64 {
                                tx.send(r + i).await.unwrap();
                            }
                            for _ in 0..BOUND {
                                sum += rx.recv().await.unwrap();
                            }
                        }
                        sum
                    })
                    .await;
            }
        }
        sum
    })
}

/// One thread fills a crossbeam channel and drains it, over and over.
fn one_thread(profiler: Option<&Profiler>) -> u64 {
    let rounds = MESSAGES / BOUND as u64;
    let mut sum = 0;
    match profiler {
        None => {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(BOUND);
            for r in 0..rounds {
                for i in 0..BOUND as u64 {
                    tx.send(r + i).unwrap();
                }
                sum += rx.try_iter().sum::<u64>();
            }
        }
        Some(p) => {
            let (tx, rx) = crossbeam::bounded::<u64>(p, "numbers", BOUND);
            let _on = p.stage("loop").enter();
            for r in 0..rounds {
                for i in 0..BOUND as u64 {
                    tx.send(r + i).unwrap();
                }
                sum += rx.try_iter().sum::<u64>();
            }
        }
    }
    sum
}

fn calls(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("calls");
    group.throughput(Throughput::Elements(MESSAGES / BOUND as u64 * BOUND as u64));
    group.sample_size(20);
    let profiler = || Profiler::new("bench").start().unwrap();
    let per_iteration = criterion::BatchSize::PerIteration;
    group.bench_function("tokio bare", |b| {
        b.iter_batched(
            profiler,
            |p| (black_box(one_task(&rt, None)), p),
            per_iteration,
        )
    });
    group.bench_function("tokio instrumented", |b| {
        b.iter_batched(
            profiler,
            |p| (black_box(one_task(&rt, Some(&p))), p),
            per_iteration,
        )
    });
    group.bench_function("crossbeam bare", |b| {
        b.iter_batched(
            profiler,
            |p| (black_box(one_thread(None)), p),
            per_iteration,
        )
    });
    group.bench_function("crossbeam instrumented", |b| {
        b.iter_batched(
            profiler,
            |p| (black_box(one_thread(Some(&p))), p),
            per_iteration,
        )
    });
    group.finish();
}

fn channels(c: &mut Criterion) {
    let rt = tokio_runtime();
    let mut group = c.benchmark_group("channel");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(20);
    // Every iteration has a fresh profiler sampling at its default rate (made and let go
    // outside the timing), so the bare and instrumented runs share its cost, and stages do not
    // pile up across iterations.
    let profiler = || Profiler::new("bench").start().unwrap();
    let per_iteration = criterion::BatchSize::PerIteration;
    for senders in [1u64, 4] {
        let case = format!("{senders}→1");
        group.bench_with_input(BenchmarkId::new("tokio bare", &case), &senders, |b, &s| {
            b.iter_batched(
                profiler,
                |p| (black_box(tokio_bare(&rt, s)), p),
                per_iteration,
            )
        });
        group.bench_with_input(
            BenchmarkId::new("tokio instrumented", &case),
            &senders,
            |b, &s| {
                b.iter_batched(
                    profiler,
                    |p| (black_box(tokio_instrumented(&rt, &p, s)), p),
                    per_iteration,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new("crossbeam bare", &case),
            &senders,
            |b, &s| {
                b.iter_batched(
                    profiler,
                    |p| (black_box(crossbeam_bare(s)), p),
                    per_iteration,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new("crossbeam instrumented", &case),
            &senders,
            |b, &s| {
                b.iter_batched(
                    profiler,
                    |p| (black_box(crossbeam_instrumented(&p, s)), p),
                    per_iteration,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, calls, channels);
criterion_main!(benches);
