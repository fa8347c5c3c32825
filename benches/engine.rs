//! Criterion benchmarks of the hot loop: word extraction (MB/s, both split modes) and the
//! counting map; and of the mailbox under Push's load (single messages from 2 senders to 2
//! receivers), against tokio's own channel and against threads with crossbeam. The strategies on the talk's corpus ×10 are measured by `palavriado bench`
//! (whole runs, medians of alternating runs), see the README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palavriado::wordcount::Corpus;
use palavriado::wordcount::SplitMode;
use palavriado::wordcount::WordCounts;
use palavriado::{Profiler, Runtime};

/// One pass of a corpus as text: the talk's corpus when `PALAVRIADO_MACHADO` is set, else the
/// built-in one.
fn sample_text() -> String {
    let corpus = match std::env::var_os("PALAVRIADO_MACHADO") {
        Some(p) => Corpus::open(std::path::Path::new(&p), 1).expect("PALAVRIADO_MACHADO"),
        None => Corpus::builtin(1).expect("built-in corpus"),
    };
    corpus
        .files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(&f.path).unwrap()).into_owned())
        .collect()
}

fn extraction(c: &mut Criterion) {
    let text = sample_text();
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    for mode in [SplitMode::Chars, SplitMode::TalkBytes] {
        group.bench_function(format!("{mode} (count words)"), |b| {
            let mut scratch = String::new();
            b.iter(|| {
                let mut n = 0u64;
                mode.for_each_word(black_box(&text), &mut scratch, |_| n += 1);
                n
            })
        });
    }
    group.bench_function("chars + count map", |b| {
        let mut scratch = String::new();
        b.iter(|| {
            let mut counts = WordCounts::new();
            SplitMode::Chars.for_each_word(black_box(&text), &mut scratch, |w| counts.add(w));
            counts.total()
        })
    });
    group.finish();
}

/// Messages in one mailbox run (Push sends 13.7 M on the talk's corpus ×10).
const MESSAGES: u64 = 2_000_000;
/// A sender gives the others a turn this often (stages do the same, every 2,000 events).
const TURN: u64 = 256;

/// Which of the two receivers message `i` goes to (a stable hash, as Push routes words).
fn route(i: u64) -> usize {
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63) as usize
}

/// Our mailbox (a profiled program's channel, the same one the stages use), one `u64` per
/// message: on a 2-thread tokio runtime (`Runtime::Scheduler`: tasks, as the stages run), or
/// one OS thread per sender and receiver.
fn palavriado_mailbox(runtime: Runtime) -> u64 {
    let profiler = Profiler::new("mailbox bench")
        .sample_hz(1)
        .start()
        .expect("a profiler that does not serve");
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..2)
        .map(|i| profiler.channel::<u64>(format!("receiver {i}")))
        .unzip();
    let total = match runtime {
        Runtime::Scheduler => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            rt.block_on(async {
                let receivers: Vec<_> = rxs
                    .into_iter()
                    .map(|rx| {
                        tokio::spawn(async move {
                            let mut sum = 0u64;
                            while let Some(m) = rx.recv().await {
                                sum = sum.wrapping_add(m);
                            }
                            sum
                        })
                    })
                    .collect();
                let senders: Vec<_> = (0..2u64)
                    .map(|s| {
                        let to = txs.clone();
                        tokio::spawn(async move {
                            for i in (s..MESSAGES).step_by(2) {
                                let _ = to[route(i)].send(i);
                                if i % TURN < 2 {
                                    tokio::task::yield_now().await;
                                }
                            }
                        })
                    })
                    .collect();
                drop(txs);
                for s in senders {
                    s.await.unwrap();
                }
                let mut total = 0u64;
                for r in receivers {
                    total = total.wrapping_add(r.await.unwrap());
                }
                total
            })
        }
        Runtime::Threads => {
            let receivers: Vec<_> = rxs
                .into_iter()
                .map(|rx| {
                    std::thread::spawn(move || {
                        std::iter::from_fn(|| rx.recv_blocking()).fold(0u64, u64::wrapping_add)
                    })
                })
                .collect();
            let senders: Vec<_> = (0..2u64)
                .map(|s| {
                    let to = txs.clone();
                    std::thread::spawn(move || {
                        for i in (s..MESSAGES).step_by(2) {
                            let _ = to[route(i)].send(i);
                        }
                    })
                })
                .collect();
            drop(txs);
            senders.into_iter().for_each(|s| s.join().unwrap());
            receivers
                .into_iter()
                .map(|r| r.join().unwrap())
                .fold(0, u64::wrapping_add)
        }
    };
    let _ = profiler.finish();
    total
}

/// tokio's unbounded channel on a 2-thread runtime, the same load.
fn tokio_mpsc() -> u64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| tokio::sync::mpsc::unbounded_channel::<u64>())
            .unzip();
        let receivers: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Some(m) = rx.recv().await {
                        sum = sum.wrapping_add(m);
                    }
                    sum
                })
            })
            .collect();
        let senders: Vec<_> = (0..2u64)
            .map(|s| {
                let to = txs.clone();
                tokio::spawn(async move {
                    for i in (s..MESSAGES).step_by(2) {
                        let _ = to[route(i)].send(i);
                        if i % TURN < 2 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        drop(txs);
        for s in senders {
            s.await.unwrap();
        }
        let mut total = 0u64;
        for r in receivers {
            total = total.wrapping_add(r.await.unwrap());
        }
        total
    })
}

/// One OS thread per sender and receiver with crossbeam channels (the old runtime's mailbox).
fn threads_crossbeam() -> u64 {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..2)
        .map(|_| crossbeam_channel::unbounded::<u64>())
        .unzip();
    let receivers: Vec<_> = rxs
        .into_iter()
        .map(|rx| std::thread::spawn(move || rx.iter().fold(0u64, u64::wrapping_add)))
        .collect();
    let senders: Vec<_> = (0..2u64)
        .map(|s| {
            let to = txs.clone();
            std::thread::spawn(move || {
                for i in (s..MESSAGES).step_by(2) {
                    let _ = to[route(i)].send(i);
                }
            })
        })
        .collect();
    drop(txs);
    senders.into_iter().for_each(|s| s.join().unwrap());
    receivers
        .into_iter()
        .map(|r| r.join().unwrap())
        .fold(0, u64::wrapping_add)
}

fn mailboxes(c: &mut Criterion) {
    let expected = (0..MESSAGES).fold(0u64, u64::wrapping_add);
    let mut group = c.benchmark_group("mailbox (2 senders, 2 receivers)");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(10);
    group.bench_function("palavriado mailbox, scheduler", |b| {
        b.iter(|| assert_eq!(palavriado_mailbox(Runtime::Scheduler), expected))
    });
    group.bench_function("palavriado mailbox, threads", |b| {
        b.iter(|| assert_eq!(palavriado_mailbox(Runtime::Threads), expected))
    });
    group.bench_function("tokio unbounded mpsc", |b| {
        b.iter(|| assert_eq!(tokio_mpsc(), expected))
    });
    group.bench_function("crossbeam on OS threads", |b| {
        b.iter(|| assert_eq!(threads_crossbeam(), expected))
    });
    group.finish();
}

criterion_group!(benches, extraction, mailboxes);
criterion_main!(benches);
