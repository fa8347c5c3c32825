//! The thread examples' data: a generated web server access log (written to a temporary file),
//! how a line parses, and the summary by status and path.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// One parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) status: u16,
    pub(crate) path: String,
    pub(crate) bytes: u64,
}

/// Writes `lines` requests in the common log format to a file of the temporary folder and
/// returns its path. The same `lines` always give the same file.
pub(crate) fn write_log(program: &str, lines: u64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("palavriado-{program}-{}.log", std::process::id()));
    let written = (|| {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..lines {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let status = [200, 200, 200, 200, 304, 404, 500][(x % 7) as usize];
            let (h, m, s) = (i / 3_600_000 % 24, i / 60_000 % 60, i / 1000 % 60);
            writeln!(
                out,
                "10.0.{}.{} - - [06/Dec/2026:{h:02}:{m:02}:{s:02} +0000] \"GET /item/{} HTTP/1.1\" {status} {}",
                (x >> 8) % 256,
                (x >> 16) % 256,
                (x >> 24) % 2_000,
                (x >> 40) % 50_000
            )?;
        }
        out.flush()
    })();
    if let Err(e) = written {
        eprintln!(
            "{program}: cannot write the generated log '{}': {e}",
            path.display()
        );
        std::process::exit(1);
    }
    path
}

/// The request on a log line, `None` if it is malformed.
pub(crate) fn parse(line: &str) -> Option<Request> {
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once("\" ")?;
    let mut parts = request.split(' ');
    let (_method, path) = (parts.next()?, parts.next()?);
    let (status, bytes) = rest.split_once(' ')?;
    Some(Request {
        status: status.parse().ok()?,
        path: path.to_string(),
        bytes: bytes.trim().parse().ok()?,
    })
}

/// Requests by status, and bytes by path.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    by_status: HashMap<u16, u64>,
    bytes_by_path: HashMap<String, u64>,
}

impl Summary {
    pub(crate) fn add(&mut self, r: &Request) {
        *self.by_status.entry(r.status).or_default() += 1;
        *self.bytes_by_path.entry(r.path.clone()).or_default() += r.bytes;
    }

    /// Prints requests by status and the five paths that served the most bytes.
    pub(crate) fn print(&self) {
        let mut statuses: Vec<_> = self.by_status.iter().collect();
        statuses.sort();
        for (status, n) in statuses {
            println!("{status}: {} requests", super::thousands(*n));
        }
        let mut paths: Vec<_> = self.bytes_by_path.iter().collect();
        paths.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (path, bytes) in paths.iter().take(5) {
            println!("{path}: {} bytes", super::thousands(**bytes));
        }
    }
}
