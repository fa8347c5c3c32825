//! The command line: `palavriado run …` and friends, a thin front end over [`crate::run`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::corpus::Corpus;
use crate::probe::sampler::DEFAULT_SAMPLE_HZ;
use crate::run::{Run, RunReport, RunSettings, default_workers};
use crate::strategy::Strategy;
use crate::words::SplitMode;

/// Count a corpus's words eagerly, lazily, pushed or pulled on demand, and watch what each
/// way does to memory, CPU and queues.
#[derive(Parser, Debug)]
#[command(name = "palavriado", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one strategy headless and print its result.
    Run(RunArgs),
}

/// Options of `palavriado run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A folder of .txt files (searched recursively) or one .txt file [default: the built-in corpus]
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Read the corpus this many times in a row (the talk used 10)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// How to count: eager, lazy, push, pull or flow
    #[arg(long, short, default_value = "lazy")]
    pub strategy: Strategy,
    /// Workers of the concurrent strategies [default: number of cores]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: Option<u32>,
    /// Simulated delay in ms before each extraction call (the talk's Process.sleep(1)); fractions allowed
    #[arg(long, value_name = "MS", default_value_t = 0.0, value_parser = parse_delay_ms, allow_negative_numbers = true)]
    pub delay_ms: f64,
    /// max_demand of the demand-driven strategies [default: pull 10, flow 1000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_demand: Option<u32>,
    /// Stop the run after this many seconds (the result is reported as not completed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// How to split words: chars (default) or talk-bytes (the talk's byte regex, to match its numbers)
    #[arg(long, default_value = "chars")]
    pub split: SplitMode,
    /// Probe sampling rate in Hz (1 to 1000)
    #[arg(long, value_name = "HZ", default_value_t = DEFAULT_SAMPLE_HZ, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub sample_hz: u32,
    /// Stop the run cleanly when the process would go past this many MB [default: half of RAM]
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_limit: Option<u64>,
    /// Write every probe sample to this CSV file (one row per sample, a header naming the columns)
    #[arg(long, value_name = "FILE.csv")]
    pub trace: Option<PathBuf>,
    /// How many of the most frequent words of each length to print
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print exactly one JSON object instead of the readable summary
    #[arg(long)]
    pub json: bool,
}

fn parse_delay_ms(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of milliseconds"))?;
    if !v.is_finite() || !(0.0..=60_000.0).contains(&v) {
        return Err(format!("{v} ms is out of range: use 0 to 60000"));
    }
    Ok(v)
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("{v} is not a positive number of seconds"));
    }
    Ok(v)
}

impl RunArgs {
    /// The run settings these options describe.
    pub fn settings(&self) -> RunSettings {
        RunSettings {
            strategy: self.strategy,
            workers: self
                .workers
                .map(|w| w as usize)
                .unwrap_or_else(default_workers),
            delay: Duration::from_secs_f64(self.delay_ms / 1e3),
            split: self.split,
            max_demand: self.max_demand.map(|n| n as usize),
            duration: self.duration.map(Duration::from_secs_f64),
            sample_hz: self.sample_hz,
            memory_limit: self.memory_limit.map(|mb| mb * 1_000_000),
        }
    }
}

/// Parses the command line; on a bad option prints one line naming it and returns exit code 2
/// (help and version print in full and return 0).
pub fn parse_args() -> Result<Cli, i32> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("palavriado: {first} (see palavriado --help)");
            2
        }
    })
}

/// Runs `palavriado run`; returns the process exit code.
pub fn run_command(args: &RunArgs) -> i32 {
    let corpus = match Corpus::open_or_builtin(args.corpus.as_deref(), args.repeat) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("palavriado: {e}");
            return 2;
        }
    };
    if let Some(trace) = &args.trace
        && let Err(e) = std::fs::File::create(trace)
    {
        eprintln!(
            "palavriado: cannot write --trace file '{}': {e}",
            trace.display()
        );
        return 2;
    }
    let report = Run::start(corpus, args.settings()).wait();
    if let Some(trace) = &args.trace
        && let Err(e) = write_trace(trace, &report)
    {
        eprintln!(
            "palavriado: cannot write --trace file '{}': {e}",
            trace.display()
        );
        return 1;
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        writeln!(out, "{}", report_json(&report, args.top))
    } else {
        write_summary(&mut out, &report, args.top)
    };
    if let Err(e) = written {
        eprintln!("palavriado: cannot write the result: {e}");
        return 1;
    }
    if report.errors.is_empty() { 0 } else { 1 }
}

fn write_trace(path: &std::path::Path, report: &RunReport) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    report.timeline.write_csv(&mut w)?;
    w.flush()
}

/// The `--json` object: the report's fields plus the top words by length.
pub fn report_json(report: &RunReport, top: usize) -> serde_json::Value {
    let mut v = serde_json::to_value(report).expect("a report always serializes");
    v["top_words"] =
        serde_json::to_value(report.counts.top_by_length(top)).expect("top words always serialize");
    v
}

/// The readable summary: totals, then the talk's `Printer` table.
pub fn write_summary(out: &mut impl Write, r: &RunReport, top: usize) -> std::io::Result<()> {
    let status = match r.stop_reason {
        None => "completed".to_string(),
        Some(reason) => format!("stopped ({})", reason.name()),
    };
    writeln!(
        out,
        "{} on {} ×{} ({} files, {:.1} MB, {} lines): {status}",
        r.strategy,
        r.corpus,
        r.repeat,
        r.files,
        r.bytes as f64 / 1e6,
        r.lines
    )?;
    writeln!(
        out,
        "{} words, {} distinct, {:.0} ms wall, largest mailbox {} messages",
        r.total_words, r.distinct_words, r.wall_ms, r.max_mailbox_len
    )?;
    writeln!(out, "counts_sha256 {}", r.counts_sha256)?;
    let cpu: Vec<String> = r
        .mean_cpu_percent
        .iter()
        .map(|c| format!("{c:.0}%"))
        .collect();
    writeln!(
        out,
        "peak memory {:.1} MB resident, {:.1} MB heap; mean CPU per core {} ({} samples)",
        r.peak_rss_bytes as f64 / 1e6,
        r.peak_heap_bytes as f64 / 1e6,
        cpu.join(" "),
        r.samples
    )?;
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    for e in &r.errors {
        writeln!(out, "error: {e}")?;
    }
    if top > 0 {
        for group in r.counts.top_by_length(top) {
            let words: Vec<String> = group
                .words
                .iter()
                .map(|(w, n)| format!("{w} ({n})"))
                .collect();
            writeln!(out, "{:>3}: {}", group.length, words.join(", "))?;
        }
    }
    Ok(())
}
