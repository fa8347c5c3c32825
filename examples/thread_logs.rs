//! An access log summarised by threads joined by crossbeam channels, profiled:
//! `thread_logs_plain` with its channels made by palavriado (the README shows the diff). Its
//! threads have names, so they need no stage handle: each shows as a stage under its name. It
//! serves live samples on palavriado's default address unless told not to (`--no-serve`,
//! `--serve ADDR`) and records the run with `--record FILE`.
//!
//! `cargo run --release --example thread_logs -- --lines 6000000 --parsers 2`, then
//! `palavriado attach`.

mod common;

use std::thread;

use common::logs::{Request, Summary, parse, write_log};
use common::{arg, read_batches};
use palavriado::channel::crossbeam::bounded;

fn main() {
    let lines = arg("thread_logs", "--lines", 6_000_000);
    let parsers = arg("thread_logs", "--parsers", 2).max(1);
    let profiler = common::start_profiler("thread_logs", palavriado::Profiler::new("thread_logs"));
    let log = write_log("thread_logs", lines);
    let (lines_tx, lines_rx) = bounded::<Vec<String>>(&profiler, "lines", 32);
    let (requests_tx, requests_rx) = bounded::<Vec<Request>>(&profiler, "requests", 32);
    let path = log.clone();
    let reader = thread::Builder::new()
        .name("reader".into())
        .spawn(move || read_batches(&path, 0, 1000, |_, batch| lines_tx.send(batch).is_ok()))
        .expect("a reader thread");
    let parsers: Vec<_> = (1..=parsers)
        .map(|i| {
            let (lines_rx, requests_tx) = (lines_rx.clone(), requests_tx.clone());
            thread::Builder::new()
                .name(format!("parser {i}"))
                .spawn(move || {
                    for batch in lines_rx {
                        let requests = batch.iter().filter_map(|l| parse(l)).collect();
                        if requests_tx.send(requests).is_err() {
                            break;
                        }
                    }
                })
                .expect("a parser thread")
        })
        .collect();
    drop((lines_rx, requests_tx));
    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            let mut summary = Summary::default();
            for requests in requests_rx {
                requests.iter().for_each(|r| summary.add(r));
            }
            summary
        })
        .expect("a writer thread");
    reader.join().expect("the reader");
    parsers
        .into_iter()
        .for_each(|p| p.join().expect("a parser"));
    writer.join().expect("the writer").print();
    std::fs::remove_file(log).ok();
    common::finish_profiler("thread_logs", profiler);
}
