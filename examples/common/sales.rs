//! The sales examples' data: a generated CSV of orders (written to a temporary file), how a
//! line parses, and the totals by region.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Brazil's regions, the CSV's second column.
pub(crate) const REGIONS: [&str; 5] = ["norte", "nordeste", "centro-oeste", "sudeste", "sul"];

/// One parsed order.
#[derive(Debug)]
pub(crate) struct Sale {
    pub(crate) region: usize,
    pub(crate) cents: u64,
}

/// Writes `rows` orders (`id,region,product,quantity,unit_cents`, one header line) to a file of
/// the temporary folder and returns its path. The same `rows` always give the same file.
pub(crate) fn write_csv(program: &str, rows: u64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("palavriado-{program}-{}.csv", std::process::id()));
    let written = (|| {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        writeln!(out, "id,region,product,quantity,unit_cents")?;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for id in 0..rows {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // A region in five, the south-east twice as often; quantities 1–20.
            let region = [0, 1, 2, 3, 3, 4][(x % 6) as usize];
            let product = (x >> 8) % 5_000;
            let quantity = (x >> 24) % 20 + 1;
            let cents = (x >> 32) % 100_000 + 99;
            writeln!(
                out,
                "{id},{},sku-{product:04},{quantity},{cents}",
                REGIONS[region]
            )?;
        }
        out.flush()
    })();
    if let Err(e) = written {
        eprintln!(
            "{program}: cannot write the generated CSV '{}': {e}",
            path.display()
        );
        std::process::exit(1);
    }
    path
}

/// The order on a CSV line, `None` if it is malformed.
pub(crate) fn parse(line: &str) -> Option<Sale> {
    let mut fields = line.split(',');
    let _id: u64 = fields.next()?.parse().ok()?;
    let region = fields.next()?;
    let region = REGIONS.iter().position(|r| *r == region)?;
    let product = fields.next()?;
    if !product.starts_with("sku-") {
        return None;
    }
    let quantity: u64 = fields.next()?.parse().ok()?;
    let unit: u64 = fields.next()?.parse().ok()?;
    Some(Sale {
        region,
        cents: quantity * unit,
    })
}

/// Orders and revenue by region.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    orders: [u64; REGIONS.len()],
    cents: [u64; REGIONS.len()],
}

impl Totals {
    pub(crate) fn add(&mut self, sale: &Sale) {
        self.orders[sale.region] += 1;
        self.cents[sale.region] += sale.cents;
    }

    /// Prints the table, regions by revenue.
    pub(crate) fn print(&self) {
        let mut order: Vec<usize> = (0..REGIONS.len()).collect();
        order.sort_by_key(|&r| std::cmp::Reverse(self.cents[r]));
        println!("{:<14} {:>12} {:>24}", "region", "orders", "revenue");
        for r in order {
            println!(
                "{:<14} {:>12} {:>24}",
                REGIONS[r],
                super::thousands(self.orders[r]),
                format!(
                    "R$ {}.{:02}",
                    super::thousands(self.cents[r] / 100),
                    self.cents[r] % 100
                )
            );
        }
        println!(
            "{:<14} {:>12}",
            "total",
            super::thousands(self.orders.iter().sum())
        );
    }
}
