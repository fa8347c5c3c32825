//! The command line: `palavriado run …` and friends, a thin front end over [`crate::Run`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::observe::format::thousands;
use crate::observe::recording::Recording;
use crate::observe::run::{MemoryLimit, Run, RunReport, RunSettings, default_workers};
use crate::observe::sampler::DEFAULT_SAMPLE_HZ;
use crate::runtime::executor::{Runtime, default_schedulers};
use crate::wordcount::corpus::Corpus;
use crate::wordcount::strategy::Strategy;
use crate::wordcount::words::SplitMode;

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
    /// Measure strategies (medians of alternating runs) and the cost of the probes.
    Bench(BenchArgs),
    /// Print a recorded run (`run --record`) exactly as `run` printed it.
    Show(ShowArgs),
    /// Follow a program profiled with palavriado's library, live: in the app, or recorded to
    /// a file (`--record`)
    Attach(AttachArgs),
    /// Read a fleet of profiled programs back from Prometheus (each serving `--metrics`): their
    /// stages over time and the diagnoses across them; print it, save it, or open it in the app
    Fleet(FleetArgs),
    /// Open the desktop app (the default with no subcommand), optionally set up and running.
    #[cfg(feature = "gui")]
    App(AppArgs),
    /// Re-create the talk's observer slides: run each scenario and save its charts as PNG.
    #[cfg(feature = "gui")]
    Reproduce(ReproduceArgs),
}

/// Options of `palavriado app`.
#[cfg(feature = "gui")]
#[derive(Args, Debug, Clone, Default)]
pub struct AppArgs {
    /// Start with this corpus selected [default: the built-in corpus]
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Start with this repeat
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
    /// Start with this strategy selected
    #[arg(long, short)]
    pub strategy: Option<Strategy>,
    /// Start with the simulated delay on, at this many ms
    #[arg(long, value_name = "MS", value_parser = parse_delay_ms)]
    pub delay_ms: Option<f64>,
    /// Start with this runtime selected: scheduler or threads
    #[arg(long)]
    pub runtime: Option<Runtime>,
    /// How the window is drawn: glow (OpenGL) or wgpu [default: glow, the cheaper of the two
    /// under a software GL driver, measured]
    #[arg(long, value_parser = ["glow", "wgpu"])]
    pub renderer: Option<String>,
    /// Most frames a second the charts are redrawn while a run is live (1 to 30)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=30))]
    pub fps: Option<u32>,
    /// Press Run as soon as the window opens
    #[arg(long)]
    pub run: bool,
    /// Open these recordings (palavriado's, or tokio-console's) as the window opens
    #[arg(long, value_name = "FILE")]
    pub open: Vec<PathBuf>,
}

#[cfg(feature = "gui")]
impl AppArgs {
    /// The app's start-up options these arguments describe.
    pub fn options(&self) -> crate::frontend::app::AppOptions {
        crate::frontend::app::AppOptions {
            corpus: self.corpus.clone(),
            repeat: self.repeat,
            strategy: self.strategy,
            delay: self.delay_ms.map(|ms| Duration::from_secs_f64(ms / 1e3)),
            runtime: self.runtime,
            renderer: match self.renderer.as_deref() {
                Some("wgpu") => crate::frontend::app::Renderer::Wgpu,
                _ => crate::frontend::app::Renderer::Glow,
            },
            fps: self.fps,
            run: self.run,
            attach: Vec::new(),
            fleet: None,
            open: self.open.clone(),
        }
    }
}

/// Options of `palavriado reproduce`.
#[cfg(feature = "gui")]
#[derive(Args, Debug, Clone)]
pub struct ReproduceArgs {
    /// A folder of .txt files or one .txt file [default: the built-in corpus]
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Read the corpus this many times in a row (the talk used 10)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Where to write the PNGs
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How long each scenario with the 1 ms delay runs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
    pub delay_duration: f64,
    /// Workers of the concurrent strategies [default: number of cores]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: Option<u32>,
    /// Only these scenarios (repeatable), e.g. `--only concurrent_pull_with_delay`
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

/// Runs `palavriado reproduce`; returns the process exit code.
#[cfg(feature = "gui")]
pub fn reproduce_command(args: &ReproduceArgs) -> i32 {
    use crate::frontend::reproduce::reproduce;
    use crate::frontend::scenario::SCENARIOS;
    if let Some(bad) = args
        .only
        .iter()
        .find(|o| !SCENARIOS.iter().any(|s| &s.name == o))
    {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        eprintln!(
            "palavriado: unknown scenario '{bad}' for --only: use one of {}",
            names.join(", ")
        );
        return 2;
    }
    let corpus = match open_corpus(args.corpus.as_deref(), args.repeat) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let workers = workers_or_default(args.workers);
    let outcomes = match reproduce(
        &corpus,
        &args.out,
        Duration::from_secs_f64(args.delay_duration),
        workers,
        &args.only,
        |msg| eprintln!("{msg}"),
    ) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("palavriado: reproduce failed: {e}");
            return 1;
        }
    };
    print_out(0, |out| {
        writeln!(
            out,
            "| scenario | wall | peak resident | largest mailbox | lines/s | words |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
        for o in &outcomes {
            writeln!(
                out,
                "| {} | {:.2} s | {:.1} MB | {} | {:.0} | {} |",
                o.name,
                o.wall_s,
                o.peak_rss_bytes as f64 / 1e6,
                o.max_mailbox_len,
                o.lines_per_s,
                o.words
            )?;
        }
        for o in &outcomes {
            for i in &o.images {
                writeln!(out, "wrote {i}")?;
            }
        }
        Ok(())
    })
}

/// Options of `palavriado bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// A folder of .txt files or one .txt file [default: the built-in corpus]
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Read the corpus this many times in a row
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Runs of each case (alternated; medians are reported)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Workers of the concurrent strategies [default: number of cores]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: Option<u32>,
    /// Only these strategies (repeatable; the sharded reference is always measured) [default: all, plus pull with --max-demand 1000]
    #[arg(long, short)]
    pub strategy: Vec<Strategy>,
    /// Also measure the probes' cost: this strategy alternately with probes on and off
    #[arg(long, value_name = "STRATEGY")]
    pub probe_cost: Option<Strategy>,
    /// Runtimes to measure every case on (repeatable, printed side by side) [default: scheduler]
    #[arg(long)]
    pub runtime: Vec<Runtime>,
    /// Scheduler threads of the scheduler runtime [default: number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub schedulers: Option<u32>,
    /// Print one JSON object instead of tables
    #[arg(long)]
    pub json: bool,
}

/// Options of `palavriado show`.
#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    /// A recording written by `run --record` or the app's Save run…
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How many of the most frequent words of each length to print (a recording keeps 10)
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print exactly one JSON object (the same as `run --json` printed)
    #[arg(long)]
    pub json: bool,
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
    /// How to count: eager, lazy, push, pull or flow (or sharded, the benchmark's reference)
    #[arg(long, short, default_value = "lazy")]
    pub strategy: Strategy,
    /// Workers of the concurrent strategies [default: number of cores]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: Option<u32>,
    /// Where the stages run: scheduler (tasks on one thread per core, like the BEAM) or threads (one OS thread per stage)
    #[arg(long, default_value = "scheduler")]
    pub runtime: Runtime,
    /// Scheduler threads of the scheduler runtime, like `erl +S N` [default: number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub schedulers: Option<u32>,
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
    /// Record the run to this file (gzip-compressed JSON: settings, every sample, events,
    /// stages, diagnoses, result) to open later with `show` or in the app
    #[arg(long, value_name = "FILE.json.gz")]
    pub record: Option<PathBuf>,
    /// Turn the probes off (no sampling, allocator not counting): how `bench --probe-cost`
    /// measures what they cost
    #[arg(long, hide = true)]
    pub no_probes: bool,
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
            workers: workers_or_default(self.workers),
            delay: Duration::from_secs_f64(self.delay_ms / 1e3),
            split: self.split,
            max_demand: self.max_demand.map(|n| n as usize),
            duration: self.duration.map(Duration::from_secs_f64),
            sample_hz: if self.no_probes { 0 } else { self.sample_hz },
            memory_limit: match (self.no_probes, self.memory_limit) {
                (true, _) => MemoryLimit::Unlimited,
                (false, Some(mb)) => MemoryLimit::Bytes(mb * 1_000_000),
                (false, None) => MemoryLimit::HalfOfRam,
            },
            runtime: self.runtime,
            schedulers: schedulers_or_default(self.schedulers),
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

/// Opens the corpus named on the command line; on failure prints one line and gives exit code 2.
fn open_corpus(path: Option<&std::path::Path>, repeat: u32) -> Result<Arc<Corpus>, i32> {
    Corpus::open_or_builtin(path, repeat)
        .map(Arc::new)
        .map_err(|e| {
            eprintln!("palavriado: {e}");
            2
        })
}

fn workers_or_default(workers: Option<u32>) -> usize {
    workers.map(|w| w as usize).unwrap_or_else(default_workers)
}

fn schedulers_or_default(schedulers: Option<u32>) -> usize {
    schedulers
        .map(|n| n as usize)
        .unwrap_or_else(default_schedulers)
}

/// Runs `palavriado bench`; returns the process exit code.
pub fn bench_command(args: &BenchArgs) -> i32 {
    use crate::frontend::bench::{
        Bench, REFERENCE_LABEL, default_cases, median, relate_to_reference,
    };
    // Fail early, with the usual one-line error, on a bad corpus.
    let corpus = match open_corpus(args.corpus.as_deref(), args.repeat) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let workers = workers_or_default(args.workers);
    let runtimes = if args.runtime.is_empty() {
        vec![Runtime::Scheduler]
    } else {
        args.runtime.clone()
    };
    let schedulers = schedulers_or_default(args.schedulers);
    let cases: Vec<_> = default_cases(workers, &runtimes, schedulers)
        .into_iter()
        .filter(|c| {
            // The reference is always measured: every other case is reported relative to it.
            c.label == REFERENCE_LABEL
                || args.strategy.is_empty()
                || args.strategy.iter().any(|s| s.name() == c.label)
        })
        .collect();
    let bench = match std::env::current_exe() {
        Ok(exe) => Bench {
            exe,
            corpus: args.corpus.clone(),
            repeat: args.repeat,
        },
        Err(e) => {
            eprintln!("palavriado: cannot find this program to run the measurements: {e}");
            return 1;
        }
    };
    let runs = args.runs as usize;
    let mut results = match bench.measure(&cases, runs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("palavriado: bench failed: {e}");
            return 1;
        }
    };
    relate_to_reference(&mut results);
    let cost = match args
        .probe_cost
        .map(|s| bench.probe_cost(s, workers, runtimes[0], schedulers, runs))
        .transpose()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("palavriado: bench failed: {e}");
            return 1;
        }
    };
    if args.json {
        let v = serde_json::json!({
            "corpus": corpus.display_name(),
            "repeat": corpus.repeat,
            "bytes": corpus.total_bytes(),
            "workers": workers,
            "runs": runs,
            "cases": results,
            "probe_cost": cost,
        });
        return print_out(0, |out| writeln!(out, "{v}"));
    }
    print_out(0, |out| {
        writeln!(
            out,
            "{} ×{} ({:.1} MB), {workers} workers, {schedulers} schedulers, median of {runs} alternating runs, each in a fresh process",
            corpus.display_name(),
            corpus.repeat,
            corpus.total_bytes() as f64 / 1e6
        )?;
        writeln!(
            out,
            "| strategy | runtime | wall (median) | × reference | wall (min–max) | CPU (median) | context switches | peak resident | peak heap | largest mailbox | hand-offs/s |"
        )?;
        writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for r in &results {
            let min = r.wall_ms.iter().copied().fold(f64::INFINITY, f64::min);
            let max = r.wall_ms.iter().copied().fold(0.0, f64::max);
            writeln!(
                out,
                "| {} | {} | {:.2} s | {} | {:.2}–{:.2} s | {} | {} | {:.1} MB | {:.1} MB | {} | {} |",
                r.label,
                r.runtime,
                r.median_wall_ms / 1e3,
                r.relative_to_reference
                    .map_or_else(|| "–".to_string(), |x| format!("{x:.2}×")),
                min / 1e3,
                max / 1e3,
                r.median_cpu_ms
                    .map_or_else(|| "–".to_string(), |ms| format!("{:.2} s", ms / 1e3)),
                r.median_context_switches
                    .map_or_else(|| "–".to_string(), |n| thousands(n.round() as u64)),
                r.peak_rss_bytes as f64 / 1e6,
                r.peak_heap_bytes as f64 / 1e6,
                thousands(r.max_mailbox_len),
                if r.median_messages_per_s > 0.0 {
                    format!("{:.2} M", r.median_messages_per_s / 1e6)
                } else {
                    "–".to_string()
                }
            )?;
        }
        if let Some(c) = cost {
            writeln!(
                out,
                "probe cost ({}): median {:.0} ms with probes vs {:.0} ms without: {:+.1} %",
                c.strategy,
                median(&c.on_ms),
                median(&c.off_ms),
                c.overhead_percent
            )?;
        }
        Ok(())
    })
}

/// Runs `palavriado run`; returns the process exit code.
pub fn run_command(args: &RunArgs) -> i32 {
    let corpus = match open_corpus(args.corpus.as_deref(), args.repeat) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Output files are checked before the run, so a long run never ends unable to write.
    for (flag, path) in [("--trace", &args.trace), ("--record", &args.record)] {
        if let Some(path) = path
            && let Err(e) = std::fs::File::create(path)
        {
            eprintln!(
                "palavriado: cannot write {flag} file '{}': {e}",
                path.display()
            );
            return 2;
        }
    }
    if args.no_probes {
        crate::runtime::probe::heap::set_counting(false);
    }
    let run = Run::start(corpus, args.settings());
    let ctl = run.control().clone();
    let report = Arc::new(run.wait());
    if let Some(trace) = &args.trace
        && let Err(e) = write_trace(trace, &report)
    {
        eprintln!(
            "palavriado: cannot write --trace file '{}': {e}",
            trace.display()
        );
        return 1;
    }
    if let Some(record) = &args.record {
        let stages = ctl.stages_to_record();
        let recording = Recording::new(report.clone(), stages, args.sample_hz, args.duration);
        if let Err(e) = recording.save(record) {
            eprintln!("palavriado: {e}");
            return 1;
        }
    }
    print_report(&report, args.json, args.top)
}

/// Prints a report as `run` does (the summary, or one JSON object); returns the exit code.
fn print_report(report: &RunReport, json: bool, top: usize) -> i32 {
    let code = if report.errors.is_empty() { 0 } else { 1 };
    print_out(code, |out| {
        if json {
            writeln!(out, "{}", report.to_json(top))
        } else {
            write_summary(out, report, top)
        }
    })
}

/// Writes a command's result to standard output and returns `code`. A reader that closed the
/// pipe early (`| head`, `| grep -q`) took what it wanted: that ends quietly, as in other tools;
/// any other write error is said in one line and fails.
fn print_out(
    code: i32,
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> i32 {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("palavriado: cannot write the result: {e}");
            1
        }
    }
}

/// Options of `palavriado attach`.
#[derive(Args, Debug, Clone)]
pub struct AttachArgs {
    /// Where the program serves its samples (its `Profiler`'s `serve` address; `console://ADDR`
    /// for a tokio program serving tokio-console's protocol); several addresses open the app
    /// following them all at once [default: 127.0.0.1:7878, or 127.0.0.1:6669 with --console]
    #[arg(num_args = 0..)]
    pub addr: Vec<String>,
    /// The programs are tokio programs instrumented for tokio-console (`console-subscriber`):
    /// follow their tasks and resources over its gRPC protocol
    #[arg(long)]
    pub console: bool,
    /// Record what the program sends to this file instead of opening the app, until the program
    /// finishes or exits (or `--duration` passes)
    #[arg(long, value_name = "FILE.json.gz")]
    pub record: Option<PathBuf>,
    /// With `--record`: detach after this many seconds
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
}

impl AttachArgs {
    /// The addresses to follow: those given (each a tokio-console program's with `--console`),
    /// or the default one.
    pub fn addresses(&self) -> Vec<String> {
        use crate::observe::console::live::{DEFAULT_ADDR, console_addr};
        if self.addr.is_empty() {
            return vec![if self.console {
                console_addr(DEFAULT_ADDR)
            } else {
                crate::observe::live::wire::DEFAULT_ADDR.to_string()
            }];
        }
        self.addr
            .iter()
            .map(|a| {
                if self.console {
                    console_addr(a)
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

/// Options of `palavriado fleet`.
#[derive(Args, Debug, Clone)]
pub struct FleetArgs {
    /// Prometheus's address
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9090")]
    pub prometheus: String,
    /// How far back to read: 90s, 15m, 1h30m, 2d
    #[arg(long, value_name = "SPAN", default_value = "15m", value_parser = crate::observe::fleet::parse_span)]
    pub since: std::time::Duration,
    /// Only the programs whose series match these labels (PromQL, no braces): 'job="sales"'
    #[arg(long = "match", value_name = "LABELS")]
    pub matchers: Option<String>,
    /// Save what was read as a recording (opens in the app, `show` prints it)
    #[arg(long, value_name = "FILE.json.gz")]
    pub record: Option<PathBuf>,
    /// Print exactly one JSON object (as `show --json` does)
    #[arg(long)]
    pub json: bool,
    /// Open it in the app instead of printing it
    #[cfg(feature = "gui")]
    #[arg(long, conflicts_with = "json")]
    pub app: bool,
}

impl FleetArgs {
    /// The query these options ask for.
    pub fn query(&self) -> crate::FleetQuery {
        crate::FleetQuery::new(self.prometheus.clone())
            .since(self.since)
            .matching(self.matchers.clone().unwrap_or_default())
    }
}

/// Runs `palavriado fleet`: reads the fleet from Prometheus, then prints it (saving it with
/// `--record`), or opens the app on it.
pub fn fleet_command(args: &FleetArgs) -> i32 {
    #[cfg(feature = "gui")]
    if args.app {
        let options = crate::frontend::app::AppOptions {
            fleet: Some(args.query()),
            ..AppArgs::default().options()
        };
        return match crate::frontend::app::run_app(options) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("palavriado: cannot open the app window: {e} (no display? drop --app)");
                1
            }
        };
    }
    let started = std::time::Instant::now();
    let rec = match args.query().load() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("palavriado: {e}");
            return 2;
        }
    };
    eprintln!(
        "palavriado: read {} stages, {} points each, in {:.2} s",
        rec.stages.len(),
        rec.report.samples,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.record {
        if let Err(e) = rec.save(path) {
            eprintln!("palavriado: {e}");
            return 1;
        }
        eprintln!("palavriado: saved the fleet to {}", path.display());
    }
    print_report(&rec.report, args.json, 0)
}

/// Runs `palavriado attach`: opens the app attached, or records headless with `--record`.
pub fn attach_command(args: &AttachArgs) -> i32 {
    let addrs = args.addresses();
    let Some(path) = &args.record else {
        #[cfg(feature = "gui")]
        {
            let options = crate::frontend::app::AppOptions {
                attach: addrs,
                ..AppArgs::default().options()
            };
            return match crate::frontend::app::run_app(options) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!(
                        "palavriado: cannot open the app window: {e} (no display? `attach --record FILE` records without one)"
                    );
                    1
                }
            };
        }
        #[cfg(not(feature = "gui"))]
        {
            eprintln!(
                "palavriado: this build has no app (built without the `gui` feature): use `attach --record FILE`"
            );
            return 2;
        }
    };
    let [addr] = addrs.as_slice() else {
        eprintln!(
            "palavriado: --record follows one program: give one address, not {}",
            addrs.len()
        );
        return 2;
    };
    let a = match crate::observe::live::Attachment::connect(addr) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("palavriado: {e}");
            return 2;
        }
    };
    let hello = a.hello();
    eprintln!(
        "attached to {} (pid {}) at {}, recording to {}",
        hello.program,
        hello.pid,
        addr,
        path.display()
    );
    let ended = a.wait(args.duration.map(Duration::from_secs_f64));
    a.detach();
    let ended = ended.unwrap_or(crate::observe::live::Ended::Detached);
    let Some(recording) = a.recording() else {
        eprintln!(
            "palavriado: nothing to record: the program at '{}' sent no report ({})",
            addr, ended
        );
        return 1;
    };
    if let Err(e) = recording.save(path) {
        eprintln!("palavriado: {e}");
        return 1;
    }
    let latency = a.median_latency().map_or("-".to_string(), |l| {
        format!("{:.0} ms", l.as_secs_f64() * 1e3)
    });
    if let Some(w) = a.warning() {
        eprintln!("palavriado: {w}");
    }
    let code = match ended {
        crate::observe::live::Ended::Failed(_) => 1,
        _ => 0,
    };
    print_out(code, |out| {
        writeln!(
            out,
            "{} samples of {} recorded to {} ({}); median sample-to-arrival latency {latency}, {} rows dropped",
            a.timeline().len(),
            hello.program,
            path.display(),
            ended,
            a.dropped_rows()
        )
    })
}

/// Runs `palavriado show`: prints a recorded run exactly as `run` printed it.
pub fn show_command(args: &ShowArgs) -> i32 {
    match Recording::open(&args.file) {
        Ok(r) => print_report(&r.report, args.json, args.top),
        Err(e) => {
            eprintln!("palavriado: {e}");
            2
        }
    }
}

fn write_trace(path: &std::path::Path, report: &RunReport) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    report.timeline.write_csv(&mut w)?;
    w.flush()
}

/// The summary of a program's own pipeline: its stages and where their time went.
fn write_program_summary(
    out: &mut impl Write,
    r: &RunReport,
    program: &str,
    status: &str,
) -> std::io::Result<()> {
    let is_channel = |s: &&crate::observe::run::StageReport| s.kind == crate::StageKind::Channel;
    let channels: Vec<_> = r.stages.iter().filter(is_channel).collect();
    let and_channels = match channels.len() {
        0 => String::new(),
        1 => " and 1 channel".to_string(),
        n => format!(" and {n} channels"),
    };
    writeln!(
        out,
        "program {program}: {status}, {:.0} ms wall, {} stages{and_channels}, {} messages, largest mailbox {}",
        r.wall_ms,
        r.stages.len() - channels.len(),
        thousands(r.messages),
        thousands(r.max_mailbox_len)
    )?;
    writeln!(
        out,
        "peak memory {:.1} MB resident ({} samples)",
        r.peak_rss_bytes as f64 / 1e6,
        r.samples
    )?;
    writeln!(
        out,
        "  {:<20} {:>12} {:>12} {:>9} {:>14} {:>9}",
        "stage", "in", "out", "busy ms", "backpressured", "idle ms"
    )?;
    for s in r.stages.iter().filter(|s| !is_channel(s)) {
        writeln!(
            out,
            "  {:<20} {:>12} {:>12} {:>9.0} {:>14.0} {:>9.0}",
            s.name,
            thousands(s.events_in),
            thousands(s.events_out),
            s.busy_ms,
            s.backpressured_ms,
            s.idle_ms
        )?;
    }
    if !channels.is_empty() {
        writeln!(
            out,
            "  {:<20} {:>12} {:>12} {:>9} {:>14}",
            "channel", "sent", "received", "bound", "largest"
        )?;
    }
    for c in channels {
        writeln!(
            out,
            "  {:<20} {:>12} {:>12} {:>9} {:>14}",
            c.name,
            thousands(c.events_in),
            thousands(c.events_out),
            c.capacity.map_or("none".to_string(), thousands),
            thousands(c.max_mailbox)
        )?;
    }
    for e in &r.errors {
        writeln!(out, "error: {e}")?;
    }
    write_diagnoses(out, r)
}

fn write_diagnoses(out: &mut impl Write, r: &RunReport) -> std::io::Result<()> {
    if !r.diagnoses.is_empty() {
        writeln!(out, "where the backpressure was:")?;
    }
    for d in &r.diagnoses {
        let until = d.until_ms.map_or_else(
            || "to the end".to_string(),
            |u| format!("to {:.1} s", u / 1e3),
        );
        writeln!(
            out,
            "  {} ({:.1} s {until}): {}",
            d.kind.name(),
            d.since_ms / 1e3,
            d.summary
        )?;
    }
    Ok(())
}

/// The readable summary: totals, then the talk's `Printer` table.
pub fn write_summary(out: &mut impl Write, r: &RunReport, top: usize) -> std::io::Result<()> {
    let status = match r.stop_reason {
        None => "completed".to_string(),
        Some(reason) => format!("stopped ({})", reason.name()),
    };
    if let Some(program) = &r.program {
        return write_program_summary(out, r, program, &status);
    }
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
        "{} words, {} distinct, {:.0} ms wall, largest mailbox {} messages, {} context switches",
        thousands(r.total_words),
        thousands(r.distinct_words as u64),
        r.wall_ms,
        thousands(r.max_mailbox_len),
        thousands(r.context_switches)
    )?;
    writeln!(out, "counts_sha256 {}", r.counts_sha256)?;
    let runtime = match r.runtime {
        Runtime::Scheduler => format!("scheduler ({} threads)", r.schedulers),
        Runtime::Threads => "threads (one per stage)".to_string(),
    };
    let utilisation: Vec<String> = r
        .mean_scheduler_percent
        .iter()
        .map(|u| format!("{u:.0}%"))
        .collect();
    if utilisation.is_empty() {
        writeln!(out, "runtime {runtime}")?;
    } else {
        writeln!(
            out,
            "runtime {runtime}, mean scheduler utilisation {}",
            utilisation.join(" ")
        )?;
    }
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
        for group in r.top_words(top) {
            let words: Vec<String> = group
                .words
                .iter()
                .map(|(w, n)| format!("{w} ({n})"))
                .collect();
            writeln!(out, "{:>3}: {}", group.length, words.join(", "))?;
        }
    }
    write_diagnoses(out, r)
}
