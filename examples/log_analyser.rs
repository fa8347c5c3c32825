//! A pipeline of your own on palavriado's stage runtime, profiled with its [`Profiler`]: an
//! access-log analyser. A reader emits generated log lines, parsers turn them into requests
//! (partitioned by HTTP status class), aggregators count requests and bytes per status and path.
//! At the end it prints the result, where each stage's time went and the diagnoses.
//!
//! ```text
//! cargo run --release --example log_analyser        # 30 M lines, served live: palavriado attach
//! cargo run --release --example log_analyser -- --lines 2000000 --max-demand 10
//! cargo run --release --example log_analyser -- --lines 2000000 --max-demand 1000
//! cargo run --release --example log_analyser -- --record run.json.gz --trace run.csv
//! ```
//!
//! It serves live samples on `127.0.0.1:7341` (`--serve ADDR` for another address,
//! `--no-serve` not to): `palavriado attach` or the app's "Attach…" follow it. `--record FILE`
//! records the run for `palavriado show` and the app, `--trace FILE` writes every sample as CSV.
//!
//! Small demand shows as `small_demand` and a lot of time backpressured; raising it moves the
//! cost back into the stages' own work.

use std::collections::HashMap;
use std::time::Instant;

use palavriado::Profiler;

mod common;
use common::{arg, start_profiler, sub, thousands, value_of};
use palavriado::{Consumer, Dispatch, Event, Producer, ProducerConsumer};

/// One parsed request: what flows from the parsers to the aggregators.
struct Request {
    status: u16,
    path: Box<str>,
    bytes: u64,
}

impl Event for Request {
    fn heap_bytes(&self) -> u64 {
        self.path.len() as u64
    }
}

const PATHS: [&str; 8] = [
    "/",
    "/index.html",
    "/api/orders",
    "/api/users",
    "/static/app.js",
    "/static/style.css",
    "/login",
    "/search",
];
const STATUSES: [u16; 6] = [200, 200, 200, 304, 404, 500];

/// Line `i` of a deterministic access log (common log format).
fn log_line(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    let path = PATHS[(x % PATHS.len() as u64) as usize];
    let status = STATUSES[((x >> 8) % STATUSES.len() as u64) as usize];
    let bytes = 200 + (x >> 16) % 20_000;
    format!(
        "10.0.{}.{} - - [01/Dec/2026:00:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} {bytes}",
        (x >> 24) % 256,
        (x >> 32) % 256,
        (i / 60) % 60,
        i % 60
    )
}

/// The request of a log line, if it is one.
fn parse(line: &str) -> Option<Request> {
    let (_, rest) = line.split_once("\"GET ")?;
    let (path, rest) = rest.split_once(' ')?;
    let mut tail = rest.split_once("\" ")?.1.split(' ');
    let status = tail.next()?.parse().ok()?;
    let bytes = tail.next()?.parse().ok()?;
    Some(Request {
        status,
        path: path.into(),
        bytes,
    })
}

type Totals = HashMap<(u16, Box<str>), (u64, u64)>;

fn main() {
    let lines = arg("log_analyser", "--lines", 30_000_000);
    let max_demand = arg("log_analyser", "--max-demand", 100).max(2);
    let parsers = arg("log_analyser", "--parsers", 2).max(1) as usize;
    let aggregators = 3;
    let trace = value_of("--trace").flatten().map(std::path::PathBuf::from);

    // The profiler: samples every stage at 50 Hz, diagnoses the pipeline, serves it live and
    // records it when asked. Its control block runs the stages (tasks on one scheduler per
    // core).
    let profiler = start_profiler(
        "log_analyser",
        Profiler::new("log_analyser").max_demand(max_demand as usize),
    );
    let ctl = profiler.pipeline().clone();
    let started = Instant::now();
    let mut reader =
        Producer::from_iter(&ctl, "reader", (0..lines).map(log_line), Dispatch::Demand);
    let mut parser_stages: Vec<_> = (0..parsers)
        .map(|i| {
            let mut p = ProducerConsumer::new(
                &ctl,
                format!("parser {}", i + 1),
                |line: String, out: &mut Vec<Request>| out.extend(parse(&line)),
                // Partition by status class (2xx, 3xx, 4xx and 5xx), three aggregators.
                Dispatch::partition_by(aggregators, |r: &Request| {
                    u64::from(r.status / 100).saturating_sub(2).min(2)
                }),
            );
            p.subscribe(&mut reader, sub(max_demand))
                .expect("valid demand");
            p
        })
        .collect();
    let aggregator_stages: Vec<_> = (0..aggregators)
        .map(|j| {
            let mut a = Consumer::new(
                &ctl,
                format!("aggregator {}", j + 1),
                Totals::new(),
                |totals: &mut Totals, r: Request| {
                    let e = totals.entry((r.status, r.path)).or_default();
                    e.0 += 1;
                    e.1 += r.bytes;
                },
            );
            for p in &mut parser_stages {
                a.subscribe(p, sub(max_demand).partition(j))
                    .expect("valid demand");
            }
            a
        })
        .collect();
    let reader = reader.start();
    let parser_workers: Vec<_> = parser_stages.into_iter().map(|p| p.start()).collect();
    // Every stage starts before any is waited for: a stage left unstarted would hold back
    // the demand its upstream needs.
    let aggregator_workers: Vec<_> = aggregator_stages.into_iter().map(|a| a.start()).collect();
    let totals: Vec<Totals> = aggregator_workers
        .into_iter()
        .filter_map(|a| a.join())
        .collect();
    for p in parser_workers {
        p.join();
    }
    reader.join();
    let wall = started.elapsed();
    let timeline = profiler.timeline().clone();
    let report = profiler.finish().unwrap_or_else(|e| {
        eprintln!("log_analyser: {e}");
        std::process::exit(1)
    });

    // The result.
    let mut by_status: HashMap<u16, u64> = HashMap::new();
    let mut by_path: HashMap<&str, u64> = HashMap::new();
    for t in &totals {
        for ((status, path), (n, bytes)) in t {
            *by_status.entry(*status).or_default() += n;
            *by_path.entry(path).or_default() += bytes;
        }
    }
    let requests: u64 = by_status.values().sum();
    println!(
        "{} requests in {:.2} s (max_demand {max_demand}, {parsers} parsers)",
        thousands(requests),
        wall.as_secs_f64()
    );
    let mut statuses: Vec<_> = by_status.into_iter().collect();
    statuses.sort();
    for (status, n) in statuses {
        println!("  {status}: {}", thousands(n));
    }
    let mut paths: Vec<_> = by_path.into_iter().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.1));
    println!("bytes by path:");
    for (path, bytes) in paths.iter().take(5) {
        println!("  {path:<18} {:>8.1} MB", *bytes as f64 / 1e6);
    }

    // Where each stage's time went, and what the diagnoses say.
    println!("stage               busy  backpressured  idle   (ms)   messages");
    for (s, probe) in report.stages().iter().zip(ctl.stages()) {
        println!(
            "  {:<16} {:>6.0} {:>14.0} {:>6.0} {:>16}",
            s.name,
            s.busy_ms,
            s.backpressured_ms,
            s.idle_ms,
            thousands(probe.messages_received())
        );
    }
    for d in report.diagnoses() {
        println!("{}: {}", d.kind.name(), d.summary);
    }
    if let Some(path) = trace {
        match std::fs::File::create(&path).and_then(|mut f| timeline.write_csv(&mut f)) {
            Ok(()) => println!("trace written to {}", path.display()),
            Err(e) => {
                eprintln!("log_analyser: cannot write '{}': {e}", path.display());
                std::process::exit(1)
            }
        }
    }
    assert_eq!(requests, lines, "every line is one request");
}
