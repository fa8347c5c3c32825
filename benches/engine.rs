//! Criterion benchmarks of the hot loop: word extraction (MB/s, both split modes) and the
//! counting map; and of the mailbox under Push's load (single messages from 2 senders to 2
//! receivers), against tokio's own channel and against threads with crossbeam. The strategies on the talk's corpus ×10 are measured by `palavriado bench`
//! (whole runs, medians of alternating runs), see the README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palavriado::corpus::Corpus;
use palavriado::counts::WordCounts;
use palavriado::words::SplitMode;
use palavriado::{Pipeline, Runtime};

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

/// Our mailbox on the scheduler: 2 sender stages, 2 receiver stages, one `u64` per message.
fn palavriado_mailbox(runtime: Runtime) -> u64 {
    use palavriado::mailbox::{Received, mailbox};
    use palavriado::probe::{StageKind, StageState};
    let ctl = Pipeline::builder().runtime(runtime, 2).build();
    let boxes: Vec<_> = (0..2)
        .map(|i| {
            mailbox::<u64>(
                ctl.control()
                    .register_stage(format!("receiver {i}"), StageKind::Consumer),
            )
        })
        .collect();
    let senders: Vec<_> = boxes.iter().map(|(tx, _)| tx.clone()).collect();
    let receivers: Vec<_> = boxes
        .into_iter()
        .map(|(tx, rx)| {
            drop(tx);
            let c = ctl.clone();
            ctl.control().spawn(rx.probe().clone(), async move {
                let mut sum = 0u64;
                while let Received::Message(m) =
                    rx.recv(c.control(), StageState::WaitingForEvents).await
                {
                    sum = sum.wrapping_add(m);
                }
                sum
            })
        })
        .collect();
    let workers: Vec<_> = (0..2u64)
        .map(|s| {
            let to = senders.clone();
            let probe = ctl
                .control()
                .register_stage(format!("sender {s}"), StageKind::Producer);
            ctl.control().spawn(probe, async move {
                for i in (s..MESSAGES).step_by(2) {
                    let _ = to[route(i)].send(i);
                    if i % TURN < 2 {
                        palavriado::executor::yield_now().await;
                    }
                }
            })
        })
        .collect();
    drop(senders);
    workers.into_iter().for_each(|w| {
        w.join();
    });
    receivers.into_iter().filter_map(|r| r.join()).sum()
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
