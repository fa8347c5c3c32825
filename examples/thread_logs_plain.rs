//! An access log summarised by threads joined by crossbeam channels: a reader thread streams a
//! generated log in batches into one bounded channel that the parser threads share, and they
//! send what they parse to a writer thread that sums it up.
//!
//! This is the program as written without palavriado; `thread_logs` is the same program
//! profiled (the README shows the diff).
//!
//! `cargo run --release --example thread_logs_plain -- --lines 6000000 --parsers 2`

mod common;

use std::thread;

use common::logs::{Request, Summary, parse, write_log};
use common::{arg, read_batches};
use crossbeam_channel::bounded;

fn main() {
    let lines = arg("thread_logs", "--lines", 6_000_000);
    let parsers = arg("thread_logs", "--parsers", 2).max(1);
    let log = write_log("thread_logs", lines);
    let (lines_tx, lines_rx) = bounded::<Vec<String>>(32);
    let (requests_tx, requests_rx) = bounded::<Vec<Request>>(32);
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
}
