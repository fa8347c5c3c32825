//! What profiling costs a program: one pipeline of a program's own (a producer of log-like
//! lines, two parsers, three partitioned aggregators, `max_demand` 100) run in alternating
//! rounds without a profiler (its stages only), with a [`Profiler`] sampling at 50 Hz, and with
//! the profiler serving live samples to an attached viewer. Prints each configuration's median
//! wall time and its ratio to the first, measured side by side in one run.
//!
//! `cargo bench --bench profiler` (`-- --rounds N --lines N` to change the load).

use std::time::{Duration, Instant};

use palavriado::Attachment;
use palavriado::Pipeline;
use palavriado::Profiler;
use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};

/// One pass of the pipeline on `ctl`; returns the number of records aggregated.
fn pipeline(ctl: &Pipeline, lines: u64) -> u64 {
    fn sub<E>() -> Subscription<E> {
        Subscription::new().max_demand(100).min_demand(50)
    }
    let mut reader = Producer::from_iter(
        ctl,
        "reader",
        (0..lines).map(|i| format!("10.0.0.{} GET /item/{} {}", i % 256, i % 977, 200 + i % 4)),
        Dispatch::Demand,
    );
    let mut parsers: Vec<_> = (1..=2)
        .map(|i| {
            let mut p = ProducerConsumer::new(
                ctl,
                format!("parser {i}"),
                |line: String, out: &mut Vec<(u64, u64)>| {
                    let mut f = line.split(' ');
                    let path = f.nth(2).and_then(|p| p.rsplit('/').next()?.parse().ok());
                    let status = f.next().and_then(|s| s.parse().ok());
                    if let (Some(path), Some(status)) = (path, status) {
                        out.push((path, status));
                    }
                },
                Dispatch::partition_by(3, |r: &(u64, u64)| r.0 % 3),
            );
            p.subscribe(&mut reader, sub()).unwrap();
            p
        })
        .collect();
    let aggregators: Vec<_> = (0..3)
        .map(|j| {
            let mut a = Consumer::new(ctl, format!("aggregator {}", j + 1), 0u64, |n, _r| *n += 1);
            for p in &mut parsers {
                a.subscribe(p, sub().partition(j)).unwrap();
            }
            a
        })
        .collect();
    let reader = reader.start();
    let parsers: Vec<_> = parsers.into_iter().map(|p| p.start()).collect();
    let aggregators: Vec<_> = aggregators.into_iter().map(|a| a.start()).collect();
    let n = aggregators.into_iter().filter_map(|a| a.join()).sum();
    for p in parsers {
        p.join();
    }
    reader.join();
    n
}

#[derive(Clone, Copy, Debug)]
enum Setup {
    /// The stages alone: no sampler, nothing served.
    Bare,
    /// A profiler sampling at 50 Hz.
    Profiled,
    /// The profiler serving, a viewer attached for the whole run.
    Attached,
}

/// The pipeline's wall time on `ctl` (its throughput: the profiler's start and finish, once
/// per program, are not in it).
fn timed(ctl: &Pipeline, lines: u64) -> Duration {
    let t = Instant::now();
    let n = pipeline(ctl, lines);
    let wall = t.elapsed();
    assert_eq!(n, lines, "every line aggregated once");
    wall
}

/// CPU time of this process so far (user + system).
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One run under `setup`: the pipeline's wall time, the process's CPU time over the whole run
/// (profiler, server and viewer included), and the viewer's median sample-to-arrival latency.
fn run(setup: Setup, lines: u64) -> (Duration, Duration, Option<Duration>) {
    let cpu = process_cpu();
    let (wall, latency) = run_setup(setup, lines);
    (wall, process_cpu() - cpu, latency)
}

fn run_setup(setup: Setup, lines: u64) -> (Duration, Option<Duration>) {
    match setup {
        Setup::Bare => (timed(&Pipeline::new(), lines), None),
        Setup::Profiled => {
            let p = Profiler::new("bench").start().unwrap();
            let wall = timed(p.pipeline(), lines);
            p.finish().unwrap();
            (wall, None)
        }
        Setup::Attached => {
            let p = Profiler::new("bench").serve("127.0.0.1:0").start().unwrap();
            let viewer = Attachment::connect(&p.local_addr().unwrap().to_string()).unwrap();
            let wall = timed(p.pipeline(), lines);
            p.finish().unwrap();
            viewer.wait(Some(Duration::from_secs(10)));
            (wall, viewer.median_latency())
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs benches with `--bench`-less args: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { arg("--rounds", 9) } as usize;
    let lines = if quick {
        20_000
    } else {
        arg("--lines", 3_000_000)
    };
    let setups = [Setup::Bare, Setup::Profiled, Setup::Attached];
    let mut walls: Vec<Vec<Duration>> = vec![Vec::new(); setups.len()];
    let mut cpus: Vec<Vec<Duration>> = vec![Vec::new(); setups.len()];
    let mut latencies = Vec::new();
    for round in 0..rounds {
        // Alternate the order each round, so drift in the machine's speed falls on all.
        let order: Vec<usize> = if round % 2 == 0 {
            vec![0, 1, 2]
        } else {
            vec![2, 1, 0]
        };
        for i in order {
            let (wall, cpu, latency) = run(setups[i], lines);
            walls[i].push(wall);
            cpus[i].push(cpu);
            latencies.extend(latency);
        }
    }
    let base = median(walls[0].clone()).as_secs_f64();
    println!("profiler cost, {lines} lines, median of {rounds} alternating rounds:");
    let base_cpu = median(cpus[0].clone()).as_secs_f64();
    println!("  setup       wall (pipeline)     CPU (whole run)");
    for ((setup, w), c) in setups.iter().zip(walls).zip(cpus) {
        let (m, c) = (median(w).as_secs_f64(), median(c).as_secs_f64());
        println!(
            "  {:<9} {:>7.3} s {:>+6.1} %   {:>7.3} s {:>+6.1} %",
            format!("{setup:?}"),
            m,
            (m / base - 1.0) * 100.0,
            c,
            (c / base_cpu - 1.0) * 100.0
        );
    }
    if !latencies.is_empty() {
        println!(
            "  viewer's median sample-to-arrival latency: {:.1} ms",
            median(latencies).as_secs_f64() * 1e3
        );
    }
}
