//! A CPU-heavy pipeline of your own, profiled with palavriado's [`Profiler`]: content hashing
//! as a backup or dedup tool does it. A reader cuts generated data into chunks, hashers compute
//! each chunk's SHA-256 (`--hashers N` of them, on the stage runtime's schedulers), a manifest
//! stage hands every digest to the program's own writer thread through an instrumented channel
//! (`Profiler::channel`), which writes one manifest line per chunk.
//!
//! ```text
//! cargo run --release --example chunk_hasher -- --hashers 1     # the hasher is the bottleneck
//! cargo run --release --example chunk_hasher -- --hashers 2     # twice the hashers, ~twice the speed
//! cargo run --release --example chunk_hasher -- --chunk-kib 1 --max-demand 1    # small_demand
//! cargo run --release --example chunk_hasher -- --chunk-kib 1 --max-demand 100
//! cargo run --release --example chunk_hasher -- --hashers 1 --runtime threads
//! cargo run --release --example chunk_hasher -- --chunks 300000     # long enough to attach
//! ```
//!
//! Like `log_analyser` it serves live samples on `127.0.0.1:7341` (`--serve ADDR`,
//! `--no-serve`) and records with `--record FILE`.
//!
//! With one hasher the hasher is the bottleneck (busy nearly all the time, the reader
//! backpressured): a hasher's refill hands the reader to the other scheduler, so the two work
//! side by side, as with `--runtime threads`; more hashers spread the work over the schedulers.
//!
//! The fingerprint it prints (the XOR of every chunk's digest) is the same whatever the hashers
//! and demand: nothing is lost or hashed twice.

use std::io::Write;
use std::time::Instant;

use palavriado::Event;
use palavriado::Runtime;

use palavriado::Profiler;

mod common;
use common::{arg, start_profiler, sub, thousands, value_of};
use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer};
use sha2::{Digest as _, Sha256};

/// A chunk of data to hash.
struct Chunk {
    id: u64,
    data: Vec<u8>,
}

impl Event for Chunk {
    fn heap_bytes(&self) -> u64 {
        self.data.capacity() as u64
    }
}

/// A chunk's digest: what the hashers emit.
struct Digest {
    id: u64,
    len: u32,
    sha256: [u8; 32],
}

impl Event for Digest {}

/// Chunk `id`: `len` deterministic pseudo-random bytes (xorshift).
fn chunk(id: u64, len: usize) -> Chunk {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    Chunk { id, data }
}

fn hash(c: Chunk, out: &mut Vec<Digest>) {
    out.push(Digest {
        id: c.id,
        len: c.data.len() as u32,
        sha256: Sha256::digest(&c.data).into(),
    });
}

fn main() {
    let chunks = arg("chunk_hasher", "--chunks", 60_000);
    let chunk_len = arg("chunk_hasher", "--chunk-kib", 64).max(1) as usize * 1024;
    let hashers = arg("chunk_hasher", "--hashers", 1).max(1);
    let max_demand = arg("chunk_hasher", "--max-demand", 8).max(1);

    let runtime = match value_of("--runtime").flatten().as_deref() {
        None | Some("scheduler") => Runtime::Scheduler,
        Some("threads") => Runtime::Threads,
        Some(other) => {
            eprintln!("chunk_hasher: --runtime is scheduler or threads, not '{other}'");
            std::process::exit(2)
        }
    };
    let profiler = start_profiler(
        "chunk_hasher",
        Profiler::new("chunk_hasher")
            .max_demand(max_demand as usize)
            .runtime(runtime),
    );
    let ctl = profiler.pipeline().clone();
    // The program's own writer thread, fed through an instrumented channel: its queue shows in
    // Processes and Queues like any stage's mailbox.
    let (to_writer, from_hashers) = profiler.channel::<Digest>("writer");
    let writer = std::thread::spawn(move || {
        let mut manifest = std::io::BufWriter::new(std::io::sink());
        let mut fingerprint = [0u8; 32];
        let (mut n, mut bytes) = (0u64, 0u64);
        while let Some(d) = from_hashers.recv_blocking() {
            let hex: String = d.sha256.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(manifest, "{:>10} {:>8} {hex}", d.id, d.len);
            for (f, b) in fingerprint.iter_mut().zip(d.sha256) {
                *f ^= b;
            }
            n += 1;
            bytes += u64::from(d.len);
        }
        (n, bytes, fingerprint)
    });

    let started = Instant::now();
    let mut reader = Producer::from_iter(
        &ctl,
        "reader",
        (0..chunks).map(move |id| chunk(id, chunk_len)),
        Dispatch::Demand,
    );
    let mut hasher_stages: Vec<_> = (1..=hashers)
        .map(|i| {
            let mut h = ProducerConsumer::new(&ctl, format!("hasher {i}"), hash, Dispatch::Demand);
            h.subscribe(&mut reader, sub(max_demand))
                .expect("valid demand");
            h
        })
        .collect();
    let mut manifest = Consumer::new(&ctl, "manifest", to_writer, |tx, d: Digest| {
        let _ = tx.send(d);
    });
    for h in &mut hasher_stages {
        manifest
            .subscribe(h, sub(max_demand))
            .expect("valid demand");
    }
    let reader = reader.start();
    let hasher_workers: Vec<_> = hasher_stages.into_iter().map(|h| h.start()).collect();
    // Joining the manifest stage drops its sender: the writer ends when it has written all.
    drop(manifest.start().join());
    for h in hasher_workers {
        h.join();
    }
    reader.join();
    let (n, bytes, fingerprint) = writer.join().expect("the writer thread");
    let wall = started.elapsed().as_secs_f64();
    let report = profiler.finish().unwrap_or_else(|e| {
        eprintln!("chunk_hasher: {e}");
        std::process::exit(1)
    });

    let hex: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
    println!(
        "{} chunks ({:.0} MB) hashed in {wall:.2} s: {:.0} MB/s ({hashers} hashers, max_demand {max_demand})",
        thousands(n),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / wall
    );
    println!("fingerprint {hex}");
    println!("stage              busy  backpressured   idle   (ms)");
    for s in report.stages() {
        println!(
            "  {:<14} {:>7.0} {:>14.0} {:>6.0}",
            s.name, s.busy_ms, s.backpressured_ms, s.idle_ms
        );
    }
    for d in report.diagnoses() {
        println!("{}: {}", d.kind.name(), d.summary);
    }
    assert_eq!(n, chunks, "every chunk hashed once");
}
