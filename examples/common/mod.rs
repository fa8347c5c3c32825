//! What the examples share: reading their options, and setting up their profiler the same way
//! (serving live samples unless told not to, recording when asked), and the data of the
//! examples that come plain and profiled.

// Each example uses its own part of what is here.
#![allow(dead_code)]

pub(crate) mod logs;
pub(crate) mod sales;

use palavriado::DEFAULT_ADDR;
use palavriado::Subscription;
use palavriado::{Profiler, ProfilerBuilder};

/// The number after `--name`, or `default`; exits with a one-line error if it is not a number.
pub(crate) fn arg(program: &str, name: &str, default: u64) -> u64 {
    value_of(name)
        .flatten()
        .map(|v| {
            v.parse().unwrap_or_else(|_| {
                eprintln!("{program}: {name} wants a number, got '{v}'");
                std::process::exit(2)
            })
        })
        .unwrap_or(default)
}

/// `Some(Some(value))` for `--name value`, `Some(None)` for a bare `--name`, `None` without it.
pub(crate) fn value_of(name: &str) -> Option<Option<String>> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    Some(args.get(i + 1).filter(|v| !v.starts_with("--")).cloned())
}

/// Starts `builder`: serving live samples on `--serve ADDR` (default `127.0.0.1:7341`; when
/// that default is taken, it runs without serving and says so), not at all with `--no-serve`;
/// recording to `--record FILE` when given; serving Prometheus's `/metrics` on
/// `--metrics ADDR` when given (`--linger SECONDS` keeps it serving after the end).
pub(crate) fn start_profiler(program: &str, builder: ProfilerBuilder) -> Profiler {
    let builder = match value_of("--record").flatten() {
        Some(path) => builder.record_to(path),
        None => builder,
    };
    let builder = match value_of("--metrics") {
        Some(Some(addr)) => builder.metrics(addr),
        Some(None) => {
            eprintln!("{program}: --metrics wants an address, e.g. --metrics 127.0.0.1:9464");
            std::process::exit(2)
        }
        None => builder,
    };
    let profiler = match (value_of("--no-serve"), value_of("--serve")) {
        (Some(_), _) => builder.start(),
        (None, Some(Some(addr))) => builder.serve(addr).start(),
        (None, _) => builder.clone().serve(DEFAULT_ADDR).start().or_else(|e| {
            eprintln!("{program}: not serving live samples ({e})");
            builder.start()
        }),
    };
    let profiler = profiler.unwrap_or_else(|e| {
        eprintln!("{program}: {e}");
        std::process::exit(2)
    });
    if let Some(addr) = profiler.metrics_addr() {
        eprintln!("{program}: serving Prometheus metrics on http://{addr}/metrics");
    }
    if let Some(addr) = profiler.local_addr() {
        eprintln!(
            "{program}: serving live samples on {addr}: watch with `palavriado attach {addr}`"
        );
    }
    profiler
}

/// Reads the file at `path` (after `skip` header lines) in batches of `batch` lines, handing
/// batch `i` to `send`, until the file ends or `send` returns false.
pub(crate) fn read_batches(
    path: &std::path::Path,
    skip: usize,
    batch: usize,
    mut send: impl FnMut(usize, Vec<String>) -> bool,
) {
    use std::io::BufRead;
    let file = std::fs::File::open(path).expect("the generated file");
    let mut lines = std::io::BufReader::new(file)
        .lines()
        .skip(skip)
        .map_while(Result::ok);
    for i in 0.. {
        let chunk: Vec<String> = lines.by_ref().take(batch).collect();
        if chunk.is_empty() || !send(i, chunk) {
            return;
        }
    }
}

/// Ends `profiler`'s run (writing its recording, if one was asked for); exits with the error
/// in one line if it cannot. With `--linger SECONDS` it keeps serving that long first, so a
/// scraper (Prometheus, every few seconds) reads the final counts.
pub(crate) fn finish_profiler(program: &str, profiler: Profiler) -> palavriado::ProgramReport {
    let linger = arg(program, "--linger", 0);
    if linger > 0 {
        std::thread::sleep(std::time::Duration::from_secs(linger));
    }
    profiler.finish().unwrap_or_else(|e| {
        eprintln!("{program}: {e}");
        std::process::exit(1)
    })
}

/// A subscription asking for `max_demand` events, and for more at half of it (GenStage's
/// default `min_demand`).
pub(crate) fn sub<E>(max_demand: u64) -> Subscription<E> {
    Subscription::new()
        .max_demand(max_demand)
        .min_demand(max_demand / 2)
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
