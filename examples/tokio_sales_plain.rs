//! Sales by region, as a tokio program: a reader thread streams a generated CSV in batches to
//! parser tasks (a bounded channel each), which send what they parse to one aggregator task.
//!
//! This is the program as written without palavriado; `tokio_sales` is the same program
//! profiled (the README shows the diff).
//!
//! `cargo run --release --example tokio_sales_plain -- --rows 10000000 --parsers 3`

mod common;

use common::sales::{Sale, Totals, parse, write_csv};
use common::{arg, read_batches};
use tokio::sync::mpsc;

fn main() {
    let rows = arg("tokio_sales", "--rows", 10_000_000);
    let parsers = arg("tokio_sales", "--parsers", 3).max(1);
    let csv = write_csv("tokio_sales", rows);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let totals = rt.block_on(async {
        let (sales_tx, mut sales_rx) = mpsc::channel::<Vec<Sale>>(64);
        let mut lines_txs: Vec<mpsc::Sender<Vec<String>>> = Vec::new();
        for _ in 1..=parsers {
            let (lines_tx, mut lines_rx) = mpsc::channel(16);
            lines_txs.push(lines_tx);
            let sales_tx = sales_tx.clone();
            tokio::spawn(async move {
                while let Some(lines) = lines_rx.recv().await {
                    let sales = lines.iter().filter_map(|l| parse(l)).collect();
                    if sales_tx.send(sales).await.is_err() {
                        break;
                    }
                }
            });
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
        let aggregator = tokio::spawn(async move {
            let mut totals = Totals::default();
            while let Some(sales) = sales_rx.recv().await {
                sales.iter().for_each(|s| totals.add(s));
            }
            totals
        });
        let totals = aggregator.await.expect("the aggregator");
        reader.join().expect("the reader");
        totals
    });
    totals.print();
    std::fs::remove_file(csv).ok();
}
