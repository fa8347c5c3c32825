//! Profile a pipeline of your own: a [`Profiler`] in your program samples its stages and
//! mailboxes exactly as palavriado samples its own runs, records the run to a file (the format
//! of `run --record`, opened by `palavriado show` and the app), and serves it live to
//! `palavriado attach`.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::observe::error::Error;
use crate::observe::live::Server;
use crate::observe::live::server::Publication;
use crate::observe::live::wire::Hello;
use crate::observe::metrics::MetricsServer;
use crate::observe::program_report::ProgramReport;
use crate::observe::recording::Recording;
use crate::observe::run::RunReport;
use crate::observe::sampler::{DEFAULT_SAMPLE_HZ, MAX_SAMPLE_HZ};
use crate::observe::timeline::Timeline;
use crate::observe::watch;
use crate::runtime::control::{Pipeline, PipelineBuilder, RunControl};
use crate::runtime::event::Event;
use crate::runtime::executor::Runtime;
use crate::runtime::mailbox::{MailboxReceiver, MailboxSender, mailbox};
use crate::runtime::own::stage::StageHandle;
use crate::runtime::probe::{StageKind, StageProbe};

/// How a [`Profiler`] samples, keeps, records and serves; made by [`Profiler::new`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start`"]
pub struct ProfilerBuilder {
    name: String,
    sample_hz: u32,
    retention: Duration,
    memory_limit: Option<u64>,
    record: Option<PathBuf>,
    serve: Option<String>,
    metrics: Option<String>,
    /// Where the stages run.
    pipeline: PipelineBuilder,
    max_demand: Option<usize>,
}

impl ProfilerBuilder {
    /// Samples per second (1–1000; default 50).
    pub fn sample_hz(mut self, hz: u32) -> Self {
        self.sample_hz = hz.clamp(1, MAX_SAMPLE_HZ);
        self
    }

    /// How much history the program keeps (default 10 minutes): older samples are let go, so
    /// the profiler's memory stays bounded however long the program runs.
    pub fn retention(mut self, keep: Duration) -> Self {
        self.retention = keep;
        self
    }

    /// Stops the pipeline cleanly (stop reason `memory_limit`) when the process's resident
    /// memory goes past `bytes`. No limit by default.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Records the run to `path` when it finishes (gzip JSON, as `run --record`): the app and
    /// `palavriado show` open it, and so does [`Recording::open`].
    ///
    /// ```
    /// use palavriado::{Consumer, Dispatch, Producer, Profiler, Recording, Subscription};
    /// let file = std::env::temp_dir().join(format!("palavriado-doc-{}.json.gz", std::process::id()));
    /// let profiler = Profiler::new("recorded").record_to(&file).start()?;
    /// let pipeline = profiler.pipeline();
    /// let mut numbers = Producer::from_iter(pipeline, "numbers", 1..=100u64, Dispatch::Demand);
    /// let mut sum = Consumer::new(pipeline, "sum", 0u64, |t: &mut u64, n: u64| *t += n);
    /// sum.subscribe(&mut numbers, Subscription::new())?;
    /// numbers.start();
    /// assert_eq!(sum.start().join(), Some(5050));
    /// profiler.finish()?;
    /// let recording = Recording::open(&file)?;
    /// assert_eq!(recording.report.program.as_deref(), Some("recorded"));
    /// assert_eq!(recording.report.stages[1].events_in, 100);
    /// # std::fs::remove_file(&file)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record = Some(path.into());
        self
    }

    /// Serves live samples to `palavriado attach` on `addr`. Use [`crate::DEFAULT_ADDR`]
    /// (`127.0.0.1:7341`, this machine only) unless you mean otherwise: an address such as
    /// `0.0.0.0:7341` lets any machine that reaches this one read the program's stage names
    /// and counters (nothing else, and nothing can be sent back).
    ///
    /// ```
    /// use palavriado::{Attachment, Profiler};
    /// // Port 0: any free port (`local_addr` says which).
    /// let profiler = Profiler::new("served").serve("127.0.0.1:0").start()?;
    /// let addr = profiler.local_addr().expect("it serves").to_string();
    /// let viewer = Attachment::connect(&addr)?;
    /// assert_eq!(viewer.hello().program, "served");
    /// profiler.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve(mut self, addr: impl Into<String>) -> Self {
        self.serve = Some(addr.into());
        self
    }

    /// Serves what it samples to Prometheus: `GET /metrics` on `addr`, in the OpenMetrics text
    /// format to a scraper that asks for it (Prometheus does), else the Prometheus text format,
    /// read from the probes when scraped. Use a loopback address (`127.0.0.1:9464`)
    /// unless a Prometheus on another machine must reach it: anyone who reaches the port reads
    /// the stage names and counters (nothing else).
    ///
    /// ```
    /// use palavriado::Profiler;
    /// use std::io::{Read, Write};
    /// let profiler = Profiler::new("scraped").metrics("127.0.0.1:0").start()?;
    /// let addr = profiler.metrics_addr().expect("it serves metrics");
    /// let mut scrape = std::net::TcpStream::connect(addr)?;
    /// scrape.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
    /// let mut text = String::new();
    /// scrape.read_to_string(&mut text)?;
    /// assert!(text.contains("palavriado_process_cpu_seconds_total{program=\"scraped\"}"));
    /// profiler.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(mut self, addr: impl Into<String>) -> Self {
        self.metrics = Some(addr.into());
        self
    }

    /// Where the stages run (default: tasks on scheduler threads).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.pipeline = self.pipeline.runtime(runtime);
        self
    }

    /// Scheduler threads for [`Runtime::Scheduler`] (at least 1; default: one per core).
    pub fn schedulers(mut self, n: usize) -> Self {
        self.pipeline = self.pipeline.schedulers(n);
        self
    }

    /// The `max_demand` the program's subscriptions use, for the diagnoses' advice.
    pub fn max_demand(mut self, max_demand: usize) -> Self {
        self.max_demand = Some(max_demand);
        self
    }

    /// Starts sampling (and serving, if asked). Fails with one line if the address cannot be
    /// served on.
    pub fn start(self) -> Result<Profiler, Error> {
        let pipeline = self.pipeline.build();
        let ctl = pipeline.control().clone();
        ctl.set_memory_limit(self.memory_limit);
        let rows = (self.retention.as_secs_f64() * f64::from(self.sample_hz)).ceil() as usize;
        let timeline = Arc::new(Timeline::new(rows.max(2)));
        let started = Instant::now();
        let started_unix_ms = (crate::observe::live::client::unix_now_s()
            - ctl.started().elapsed().as_secs_f64())
            * 1e3;
        let server = match &self.serve {
            None => None,
            Some(addr) => {
                let (c, tl, name) = (ctl.clone(), timeline.clone(), self.name.clone());
                let hello = Hello {
                    program: self.name.clone(),
                    pid: std::process::id(),
                    sample_hz: self.sample_hz,
                    started_unix_ms,
                    sent_by: format!("palavriado {}", env!("CARGO_PKG_VERSION")),
                };
                let report = Box::new(move || {
                    measured_program(&name, &c, &tl, c.started().elapsed()).to_json(0)
                });
                Some(
                    Server::bind(
                        addr,
                        Publication::new(hello, ctl.clone(), timeline.clone(), report),
                    )
                    .map_err(Error::Serve)?,
                )
            }
        };
        let metrics = match &self.metrics {
            None => None,
            Some(addr) => Some(MetricsServer::bind(
                addr,
                self.name.clone(),
                ctl.clone(),
                timeline.clone(),
            )?),
        };
        let sampler = watch::spawn(
            ctl.clone(),
            timeline.clone(),
            self.sample_hz,
            None,
            self.max_demand,
        );
        Ok(Profiler {
            builder: self,
            pipeline,
            ctl,
            timeline,
            sampler: Some(sampler),
            server,
            metrics,
            started,
        })
    }
}

/// The profiler of a program's pipeline: create stages with [`Profiler::pipeline`], end with
/// [`Profiler::finish`]. See the module docs.
#[derive(Debug)]
pub struct Profiler {
    builder: ProfilerBuilder,
    ctl: Arc<RunControl>,
    pipeline: Pipeline,
    timeline: Arc<Timeline>,
    sampler: Option<JoinHandle<()>>,
    server: Option<Server>,
    metrics: Option<MetricsServer>,
    started: Instant,
}

/// The report of a program's run as it stands.
fn measured_program(
    name: &str,
    ctl: &RunControl,
    timeline: &Arc<Timeline>,
    wall: Duration,
) -> RunReport {
    let mut report = RunReport::measured(ctl, timeline, wall);
    report.program = Some(name.to_string());
    report.corpus = name.to_string();
    report
}

impl Profiler {
    /// A builder for the profiler of the program `name` (shown in the app and recordings).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> ProfilerBuilder {
        ProfilerBuilder {
            name: name.into(),
            sample_hz: DEFAULT_SAMPLE_HZ,
            retention: Duration::from_secs(600),
            memory_limit: None,
            record: None,
            serve: None,
            metrics: None,
            pipeline: Pipeline::builder(),
            max_demand: None,
        }
    }

    /// The profiled pipeline: make the program's stages with it ([`crate::Producer`],
    /// [`crate::Flow`], …) so they are sampled.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Everything sampled so far.
    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    /// The address it serves on (with the port a `:0` address was given), if it serves.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().map(|s| s.local_addr())
    }

    /// The address it serves `/metrics` on, if it does.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }

    /// Samples slow viewers missed so far (each was told how many it missed).
    pub fn rows_missed_by_viewers(&self) -> u64 {
        self.server.as_ref().map_or(0, |s| s.dropped_rows())
    }

    /// Viewers attached now.
    pub fn viewers(&self) -> usize {
        self.server.as_ref().map_or(0, |s| s.viewers())
    }

    /// An instrumented unbounded channel for a program's own threads or tasks: its length,
    /// events and bytes are sampled as the mailbox of a stage called `name` (MsgQ in
    /// Processes, a line in Queues). Receive with [`MailboxReceiver::recv_blocking`] on a
    /// thread, or [`MailboxReceiver::recv`] in a task.
    pub fn channel<T: Event>(
        &self,
        name: impl Into<String>,
    ) -> (MailboxSender<T>, MailboxReceiver<T>) {
        let probe: Arc<StageProbe> = self.ctl.register_stage(name, StageKind::Consumer);
        mailbox(probe)
    }

    /// A stage that is a thread or task of the program's own, called `name`: it counts the
    /// instrumented channels ([`crate::channel`]) it uses. See [`StageHandle`].
    pub fn stage(&self, name: impl Into<String>) -> StageHandle {
        StageHandle::new(self, name)
    }

    /// The report so far (the pipeline may still be running).
    pub fn report(&self) -> ProgramReport {
        ProgramReport::new(self.run_report())
    }

    /// The report so far, as the app shows it and recordings keep it.
    fn run_report(&self) -> RunReport {
        measured_program(
            &self.builder.name,
            &self.ctl,
            &self.timeline,
            self.started.elapsed(),
        )
    }

    /// Ends the run once the pipeline is done: takes a last sample, tells attached viewers
    /// (waiting up to a second for them), writes the recording if one was asked for, and
    /// returns the report. The error is the recording's, in one line.
    pub fn finish(mut self) -> Result<ProgramReport, Error> {
        self.end().map(ProgramReport::new)
    }

    fn end(&mut self) -> Result<RunReport, Error> {
        let Some(sampler) = self.sampler.take() else {
            return Ok(self.run_report());
        };
        self.ctl.mark_finished();
        let _ = sampler.join();
        let report = self.run_report();
        let stages = self.ctl.stages_to_record();
        if let Some(server) = &mut self.server {
            server.finish(report.to_json(0), stages.clone(), Duration::from_secs(1));
        }
        if let Some(path) = &self.builder.record {
            Recording::new(
                Arc::new(report.clone()),
                stages,
                self.builder.sample_hz,
                None,
            )
            .save(path)?;
        }
        Ok(report)
    }
}

impl AsRef<Pipeline> for Profiler {
    fn as_ref(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl Drop for Profiler {
    /// A profiler dropped without [`Profiler::finish`] still ends its run (and writes its
    /// recording, reporting a failure on stderr).
    fn drop(&mut self) {
        if self.sampler.is_some()
            && let Err(e) = self.end()
        {
            eprintln!("palavriado: {e}");
        }
    }
}
