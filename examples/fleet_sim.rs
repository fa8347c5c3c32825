//! A simulated fleet on one machine: `--programs N` pipelines of `--stages S` stages each, every
//! one a `Profiler` of its own serving Prometheus's `/metrics` on consecutive loopback ports from
//! `--port`, so a Prometheus scrapes a fleet of N and `palavriado fleet` reads it back.
//!
//! Each pipeline is S tokio tasks joined by bounded channels (`q 1` … `q S-1`): the first sends
//! as fast as it may, each stage passes events on, the last takes `--sink-ms` per event (a
//! sleep, so the fleet costs little CPU) and is each pipeline's bottleneck. In the first
//! program the middle stage is slower still: its bottleneck is there, and its queue is the
//! fleet's longest.
//!
//! `cargo run --release --example fleet_sim -- --programs 50 --stages 20 --port 9500`
//! (runs until stopped, or `--duration SECONDS`).

mod common;

use std::time::Duration;

use common::arg;
use palavriado::channel::mpsc;

fn main() {
    let programs = arg("fleet_sim", "--programs", 50).max(1);
    let stages = arg("fleet_sim", "--stages", 20).max(2);
    let port = arg("fleet_sim", "--port", 9500);
    let duration = arg("fleet_sim", "--duration", 0);
    let sink = Duration::from_millis(arg("fleet_sim", "--sink-ms", 10).max(1));
    if port + programs > 65_536 {
        eprintln!("fleet_sim: ports {port}.. run past 65535: choose a lower --port");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut profilers = Vec::new();
    for p in 0..programs {
        let addr = format!("127.0.0.1:{}", port + p);
        let profiler = palavriado::Profiler::new(format!("sim {}", p + 1))
            .sample_hz(2)
            .metrics(addr.clone())
            .start()
            .unwrap_or_else(|e| {
                eprintln!("fleet_sim: {e}");
                std::process::exit(2)
            });
        // The first program's middle stage is the slowest of the fleet.
        let slow = (p == 0).then_some(stages / 2);
        let _guard = rt.enter();
        let (tx, first) = mpsc::channel::<u64>(&profiler, "q 1", 8);
        tokio::spawn(profiler.stage("stage 1").instrument(async move {
            for n in 0.. {
                if tx.send(n).await.is_err() {
                    break;
                }
            }
        }));
        let mut rx = Some(first);
        for k in 2..=stages {
            let mut input = rx.take().expect("the channel into this stage");
            let tx = (k < stages).then(|| {
                let (tx, next) = mpsc::channel::<u64>(&profiler, format!("q {k}"), 8);
                rx = Some(next);
                tx
            });
            let pause = match (slow == Some(k), tx.is_none()) {
                (true, _) => Some(sink * 3),
                (false, true) => Some(sink),
                (false, false) => None,
            };
            tokio::spawn(profiler.stage(format!("stage {k}")).instrument(async move {
                while let Some(n) = input.recv().await {
                    if let Some(d) = pause {
                        tokio::time::sleep(d).await;
                    }
                    if let Some(tx) = &tx
                        && tx.send(n).await.is_err()
                    {
                        break;
                    }
                }
            }));
        }
        profilers.push(profiler);
    }
    eprintln!(
        "fleet_sim: {programs} programs of {stages} stages serving /metrics on 127.0.0.1:{port}..{}",
        port + programs - 1
    );
    if duration > 0 {
        std::thread::sleep(Duration::from_secs(duration));
    } else {
        loop {
            std::thread::park();
        }
    }
    drop(rt);
    drop(profilers);
}
