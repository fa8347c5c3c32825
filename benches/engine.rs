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

/// One direction of a channel under the mailbox load: how the benchmark sends and receives
/// on it, in a task or on a thread.
trait Channel: Send + 'static {
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;
    fn send(tx: &Self::Tx, n: u64);
    fn recv(rx: &mut Self::Rx) -> impl std::future::Future<Output = Option<u64>> + Send;
    fn recv_blocking(rx: &mut Self::Rx) -> Option<u64>;
}

/// palavriado's mailbox: a profiled program's channel, the same one the stages use.
struct Mailbox;
impl Channel for Mailbox {
    type Tx = palavriado::Sender<u64>;
    type Rx = palavriado::Receiver<u64>;
    fn send(tx: &Self::Tx, n: u64) {
        let _ = tx.send(n);
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
    fn recv_blocking(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_blocking()
    }
}

/// tokio's unbounded channel (every send pays for a wake-up path).
struct TokioMpsc;
impl Channel for TokioMpsc {
    type Tx = tokio::sync::mpsc::UnboundedSender<u64>;
    type Rx = tokio::sync::mpsc::UnboundedReceiver<u64>;
    fn send(tx: &Self::Tx, n: u64) {
        let _ = tx.send(n);
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
    fn recv_blocking(rx: &mut Self::Rx) -> Option<u64> {
        rx.blocking_recv()
    }
}

/// crossbeam's unbounded channel: keeps no counters and never waits on a task.
struct Crossbeam;
impl Channel for Crossbeam {
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn send(tx: &Self::Tx, n: u64) {
        let _ = tx.send(n);
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn recv_blocking(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

/// 2 senders and 2 receivers of `C`, one `u64` per message: as tasks on a 2-thread tokio
/// runtime (`Runtime::Scheduler`, as the stages run; senders give a turn every [`TURN`] sends),
/// or one OS thread each. Returns the receivers' wrapping sum.
fn two_by_two<C: Channel>(runtime: Runtime, txs: Vec<C::Tx>, rxs: Vec<C::Rx>) -> u64 {
    match runtime {
        Runtime::Scheduler => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            rt.block_on(async {
                let receivers: Vec<_> = rxs
                    .into_iter()
                    .map(|mut rx| {
                        tokio::spawn(async move {
                            let mut sum = 0u64;
                            while let Some(m) = C::recv(&mut rx).await {
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
                                C::send(&to[route(i)], i);
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
                .map(|mut rx| {
                    std::thread::spawn(move || {
                        std::iter::from_fn(|| C::recv_blocking(&mut rx))
                            .fold(0u64, u64::wrapping_add)
                    })
                })
                .collect();
            let senders: Vec<_> = (0..2u64)
                .map(|s| {
                    let to = txs.clone();
                    std::thread::spawn(move || {
                        for i in (s..MESSAGES).step_by(2) {
                            C::send(&to[route(i)], i);
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
    }
}

/// Our mailbox, counted by a profiler as a program's channel is.
fn palavriado_mailbox(runtime: Runtime) -> u64 {
    let profiler = Profiler::new("mailbox bench")
        .sample_hz(1)
        .start()
        .expect("a profiler that does not serve");
    let (txs, rxs) = (0..2)
        .map(|i| profiler.channel::<u64>(format!("receiver {i}")))
        .unzip();
    let total = two_by_two::<Mailbox>(runtime, txs, rxs);
    let _ = profiler.finish();
    total
}

/// tokio's unbounded channel on a 2-thread runtime, the same load.
fn tokio_mpsc() -> u64 {
    let (txs, rxs) = (0..2)
        .map(|_| tokio::sync::mpsc::unbounded_channel::<u64>())
        .unzip();
    two_by_two::<TokioMpsc>(Runtime::Scheduler, txs, rxs)
}

/// One OS thread per sender and receiver with crossbeam channels (the old runtime's mailbox).
fn threads_crossbeam() -> u64 {
    let (txs, rxs) = (0..2)
        .map(|_| crossbeam_channel::unbounded::<u64>())
        .unzip();
    two_by_two::<Crossbeam>(Runtime::Threads, txs, rxs)
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
