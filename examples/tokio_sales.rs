//! Sales by region, as a tokio program, profiled: `tokio_sales_plain` with its channels made by
//! palavriado and its tasks named as stages (the README shows the diff). It serves live samples
//! on palavriado's default address unless told not to (`--no-serve`, `--serve ADDR`) and records
//! the run with `--record FILE`.
//!
//! `cargo run --release --example tokio_sales -- --rows 10000000 --parsers 3`, then
//! `palavriado attach`.

mod common;

use common::sales::{Sale, Totals, parse, write_csv};
use common::{arg, read_batches};
use palavriado::channel::mpsc;

fn main() {
    let rows = arg("tokio_sales", "--rows", 10_000_000);
    let parsers = arg("tokio_sales", "--parsers", 3).max(1);
    let profiler = common::start_profiler("tokio_sales", palavriado::Profiler::new("tokio_sales"));
    let csv = write_csv("tokio_sales", rows);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let totals = rt.block_on(async {
        let (sales_tx, mut sales_rx) = mpsc::channel::<Vec<Sale>>(&profiler, "sales", 64);
        let mut lines_txs: Vec<mpsc::Sender<Vec<String>>> = Vec::new();
        for i in 1..=parsers {
            let (lines_tx, mut lines_rx) = mpsc::channel(&profiler, format!("lines {i}"), 16);
            lines_txs.push(lines_tx);
            let sales_tx = sales_tx.clone();
            let stage = profiler.stage(format!("parser {i}"));
            tokio::spawn(stage.instrument(async move {
                while let Some(lines) = lines_rx.recv().await {
                    let sales = lines.iter().filter_map(|l| parse(l)).collect();
                    if sales_tx.send(sales).await.is_err() {
                        break;
                    }
                }
            }));
        }
        drop(sales_tx);
        let path = csv.clone();
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                read_batches(&path, 1, 500, |i, lines| {
                    lines_txs[i % lines_txs.len()].blocking_send(lines).is_ok()
                })
            })
            .expect("a reader thread");
        let aggregator = tokio::spawn(profiler.stage("aggregator").instrument(async move {
            let mut totals = Totals::default();
            while let Some(sales) = sales_rx.recv().await {
                sales.iter().for_each(|s| totals.add(s));
            }
            totals
        }));
        let totals = aggregator.await.expect("the aggregator");
        reader.join().expect("the reader");
        totals
    });
    totals.print();
    common::finish_profiler("tokio_sales", profiler);
    std::fs::remove_file(csv).ok();
}
