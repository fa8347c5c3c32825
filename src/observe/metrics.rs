//! OpenMetrics out: what a [`crate::Profiler`] samples, in the OpenMetrics (Prometheus) text
//! format on `GET /metrics`, read from the probes when scraped — nothing is kept or computed
//! between scrapes. Encoded by the Prometheus project's `prometheus-client` (its `Collector`
//! reads our probes at scrape time; its encoder gets names, units, escaping and the format
//! right); served by `tiny_http` on a thread of its own.

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::observe::error::Error;
use crate::observe::timeline::Timeline;
use crate::runtime::control::RunControl;
use crate::runtime::probe::heap;
use crate::runtime::probe::os::{process_cpu_seconds, resident_bytes_now};
use crate::runtime::probe::{
    StageKind, StageProbe, StateTimes, WAIT_BUCKETS, wait_bucket_upper_s, wait_bucket_us,
};

/// The content type of an OpenMetrics text exposition (what Prometheus asks for first).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the Prometheus text format (what a scraper that does not ask gets:
/// `curl`, `promtool check metrics`).
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets of the time-in-mailbox histogram merged into one exposed bucket (the probes keep 3
/// per doubling; 9 make one per ×8: 800 ns, 6.4 µs … 13.4 s, then +Inf), so a scrape of
/// hundreds of stages stays small.
const MERGED_BUCKETS: usize = 9;
/// The probe bucket the first exposed bucket ends at (800 ns), and the last (13.4 s).
const FIRST_EXPOSED: usize = MERGED_BUCKETS;
const LAST_EXPOSED: usize = 9 * MERGED_BUCKETS;
/// Series a stage of a program's own does not have (its queues are its channels).
const MAILBOX_METRICS: [&str; 2] = [
    "palavriado_stage_mailbox_messages",
    "palavriado_stage_queued",
];

/// A program's probes, read when scraped.
#[derive(Debug)]
struct Program {
    name: String,
    ctl: Arc<RunControl>,
    timeline: Arc<Timeline>,
}

/// One stage's labels: the program, the stage and its kind.
fn labels<'a>(program: &'a str, s: &Now<'a>) -> [(&'static str, &'a str); 3] {
    [
        ("program", program),
        ("stage", s.name),
        ("kind", s.kind.label()),
    ]
}

/// What a scrape reads of a stage's probe (its name borrowed: a scrape of hundreds of stages
/// copies no names).
struct Now<'a> {
    name: &'a str,
    kind: StageKind,
    times: StateTimes,
    events_in: u64,
    events_out: u64,
    mailbox_messages: u64,
    queued_bytes: u64,
    capacity: Option<u64>,
}

impl<'a> Now<'a> {
    fn of(p: &'a StageProbe) -> Self {
        Now {
            name: &p.name,
            kind: p.kind(),
            times: p.state_times(),
            events_in: p.events_in(),
            events_out: p.events_out(),
            mailbox_messages: p.mailbox_len(),
            queued_bytes: p.queued_bytes(),
            capacity: p.capacity(),
        }
    }
}

/// A sample's value: a count (written as an integer, which is cheaper) or a measure.
#[derive(Clone, Copy)]
enum Num {
    Count(u64),
    Measure(f64),
}

/// A counter or gauge over stages: name, help, unit, type, which stages, the value.
type StageMetric = (
    &'static str,
    &'static str,
    Option<Unit>,
    MetricType,
    fn(&Now<'_>) -> Option<Num>,
);

/// Seconds from nanoseconds; `None` for a channel (it has no time split).
fn time(s: &Now<'_>, ns: fn(&StateTimes) -> u64) -> Option<Num> {
    (s.kind != StageKind::Channel).then(|| Num::Measure(ns(&s.times) as f64 / 1e9))
}

const STAGE_METRICS: [StageMetric; 9] = [
    (
        "palavriado_stage_busy",
        "Time the stage handled events (running, or ready and waiting for a thread)",
        Some(Unit::Seconds),
        MetricType::Counter,
        |s| time(s, |t| t.busy_ns),
    ),
    (
        "palavriado_stage_backpressured",
        "Time the stage had output it could not send (no demand downstream, or a full channel)",
        Some(Unit::Seconds),
        MetricType::Counter,
        |s| time(s, |t| t.backpressured_ns),
    ),
    (
        "palavriado_stage_idle",
        "Time the stage waited for events (its mailbox or channel empty)",
        Some(Unit::Seconds),
        MetricType::Counter,
        |s| time(s, |t| t.idle_ns),
    ),
    (
        "palavriado_stage_delay",
        "Time the stage slept in the simulated delay",
        Some(Unit::Seconds),
        MetricType::Counter,
        |s| time(s, |t| t.sleeping_ns),
    ),
    (
        "palavriado_stage_events_in",
        "Events the stage handled (a channel: messages sent into it)",
        None,
        MetricType::Counter,
        |s| Some(Num::Count(s.events_in)),
    ),
    (
        "palavriado_stage_events_out",
        "Events the stage emitted (a channel: messages received from it)",
        None,
        MetricType::Counter,
        |s| Some(Num::Count(s.events_out)),
    ),
    (
        "palavriado_stage_mailbox_messages",
        "Messages waiting in the stage's mailbox, or in the channel",
        None,
        MetricType::Gauge,
        |s| Some(Num::Count(s.mailbox_messages)),
    ),
    (
        "palavriado_stage_queued",
        "Bytes waiting in the stage's mailbox and buffer, or in the channel",
        Some(Unit::Bytes),
        MetricType::Gauge,
        |s| Some(Num::Count(s.queued_bytes)),
    ),
    (
        "palavriado_channel_capacity",
        "A bounded channel's capacity, in messages",
        None,
        MetricType::Gauge,
        |s| s.capacity.map(Num::Count),
    ),
];

impl Collector for Program {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let probes = self.ctl.stages();
        let stages: Vec<Now<'_>> = probes.iter().map(|p| Now::of(p)).collect();
        let program = self.name.as_str();
        let mailbox: Vec<bool> = probes.iter().map(|p| p.has_mailbox()).collect();
        for (name, help, unit, kind, value) in &STAGE_METRICS {
            let mut metric = encoder.encode_descriptor(name, help, unit.as_ref(), *kind)?;
            let needs_mailbox = MAILBOX_METRICS.contains(name);
            for (s, &has_mailbox) in stages.iter().zip(&mailbox) {
                if needs_mailbox && !has_mailbox {
                    continue;
                }
                let Some(v) = value(s) else { continue };
                let l = labels(program, s);
                let mut m = metric.encode_family(&l)?;
                match (kind, v) {
                    (MetricType::Counter, Num::Count(n)) => {
                        m.encode_counter::<NoLabelSet, _, u64>(&n, None)?
                    }
                    (MetricType::Counter, Num::Measure(x)) => {
                        m.encode_counter::<NoLabelSet, _, f64>(&x, None)?
                    }
                    (_, Num::Count(n)) => m.encode_gauge(&i64::try_from(n).unwrap_or(i64::MAX))?,
                    (_, Num::Measure(x)) => m.encode_gauge(&x)?,
                }
            }
        }
        let mut links = encoder.encode_descriptor(
            "palavriado_stage_link",
            "1 for each stage or channel `to` that this stage sends to (the pipeline's arrows)",
            None,
            MetricType::Gauge,
        )?;
        for (s, p) in stages.iter().zip(&probes) {
            let mut result = Ok(());
            p.for_each_subscription(|_, sub| {
                if result.is_ok() {
                    let l = [
                        ("program", program),
                        ("stage", s.name),
                        ("to", sub.subscriber.as_str()),
                    ];
                    result = links
                        .encode_family(&l)
                        .and_then(|mut m| m.encode_gauge(&1i64));
                }
            });
            result?;
        }
        let mut waits = encoder.encode_descriptor(
            "palavriado_stage_mailbox_wait",
            "Time messages waited in the mailbox or channel (a sample of them; the sum is \
             estimated from the buckets)",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (s, p) in stages.iter().zip(&probes) {
            // A stage of a program's own has no mailbox; a mailbox nothing went through, no
            // series yet.
            if p.messages_received() == 0 && s.mailbox_messages == 0 {
                continue;
            }
            let hist = p.mailbox_waits();
            let l = labels(program, s);
            let (sum, count, buckets) = merged(&hist);
            waits
                .encode_family(&l)?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }

        let process = [("program", program)];
        let gauges: [(&str, &str, Option<f64>); 2] = [
            (
                "palavriado_process_resident_memory",
                "The process's resident memory",
                resident_bytes_now().map(|b| b as f64),
            ),
            (
                "palavriado_process_heap",
                "Heap the process's allocator holds (when it counts: palavriado::CountingAlloc)",
                heap::is_tracking().then(|| heap::live_bytes() as f64),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                encoder
                    .encode_descriptor(name, help, Some(&Unit::Bytes), MetricType::Gauge)?
                    .encode_family(&process)?
                    .encode_gauge(&v)?;
            }
        }
        encoder
            .encode_descriptor(
                "palavriado_process_cpu",
                "CPU time the process used, user and system",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?
            .encode_family(&process)?
            .encode_counter::<NoLabelSet, _, f64>(&process_cpu_seconds(), None)?;
        let mut diagnoses = encoder.encode_descriptor(
            "palavriado_diagnosis",
            "1 for each diagnosis that holds now, by stage and kind",
            None,
            MetricType::Gauge,
        )?;
        for d in self
            .timeline
            .diagnoses()
            .iter()
            .filter(|d| d.until_ms.is_none())
        {
            let l = [
                ("program", program),
                ("stage", d.stage.as_str()),
                ("diagnosis", d.kind.name()),
            ];
            diagnoses.encode_family(&l)?.encode_gauge(&1i64)?;
        }
        Ok(())
    }
}

/// A probe's time-in-mailbox histogram in exposed buckets: (estimated sum in seconds, count,
/// (upper bound, count) per bucket, the last +Inf).
fn merged(hist: &[u64]) -> (f64, u64, Vec<(f64, u64)>) {
    let count = hist.iter().sum();
    let sum = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| n as f64 * wait_bucket_us(i) / 1e6)
        .sum();
    // Exposed bucket k holds the probes' buckets up to 9k: waits up to 100 ns × 8^k.
    let mut buckets = Vec::with_capacity(10);
    let mut from = 0;
    for end in (FIRST_EXPOSED..=LAST_EXPOSED).step_by(MERGED_BUCKETS) {
        buckets.push((wait_bucket_upper_s(end), hist[from..=end].iter().sum()));
        from = end + 1;
    }
    buckets.push((f64::INFINITY, hist[from..].iter().sum()));
    debug_assert_eq!(hist.len(), WAIT_BUCKETS);
    (sum, count, buckets)
}

/// The exposition of `program`'s probes now, in OpenMetrics (`openmetrics`) or the Prometheus
/// text format.
pub(crate) fn exposition(
    name: &str,
    ctl: &Arc<RunControl>,
    timeline: &Arc<Timeline>,
    openmetrics: bool,
) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Program {
        name: name.to_string(),
        ctl: ctl.clone(),
        timeline: timeline.clone(),
    }));
    // Room for what the last scrape wrote (growing a buffer of hundreds of KB copies it).
    static LAST_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut out = String::with_capacity(LAST_LEN.load(std::sync::atomic::Ordering::Relaxed) + 4096);
    // Writing into a String cannot fail.
    let _ = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
    };
    LAST_LEN.store(out.len(), std::sync::atomic::Ordering::Relaxed);
    out
}

/// Answers `request` with `body` in one write: tiny_http copies a response's body to the
/// socket 8 KB at a time (a send each), which for a scrape of hundreds of stages costs more
/// than encoding it.
fn write_whole(request: tiny_http::Request, body: &str, openmetrics: bool) -> std::io::Result<()> {
    let kind = if openmetrics {
        OPENMETRICS
    } else {
        PROMETHEUS_TEXT
    };
    // An HTTP/1.0 client without keep-alive reads to the end: tiny_http then closes the
    // connection, as it does after its own responses.
    let close = request.http_version() == &tiny_http::HTTPVersion(1, 0)
        && !request.headers().iter().any(|h| {
            h.field.equiv("Connection") && h.value.as_str().eq_ignore_ascii_case("keep-alive")
        });
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    );
    // The head waits in tiny_http's small buffer; the body, larger, goes out in one send.
    let mut out = request.into_writer();
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    out.flush()
}

/// Serves `GET /metrics` on an address until dropped.
pub(crate) struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: std::net::SocketAddr,
}

impl MetricsServer {
    /// Listens on `addr`; each scrape encodes `program`'s probes then.
    pub(crate) fn bind(
        addr: &str,
        name: String,
        ctl: Arc<RunControl>,
        timeline: Arc<Timeline>,
    ) -> Result<Self, Error> {
        let server = tiny_http::Server::http(addr).map_err(|e| {
            Error::Serve(format!(
                "cannot serve metrics on '{addr}': {e} (choose another address, e.g. 127.0.0.1:9464)"
            ))
        })?;
        let server = Arc::new(server);
        let local = server.server_addr().to_ip().ok_or_else(|| {
            Error::Serve(format!(
                "cannot serve metrics on '{addr}': not an IP address"
            ))
        })?;
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    if request.method() != &tiny_http::Method::Get
                        || request.url().split('?').next() != Some("/metrics")
                    {
                        let response =
                            tiny_http::Response::from_string("palavriado serves GET /metrics\n")
                                .with_status_code(404);
                        // A scraper that went away takes nothing with it.
                        let _ = request.respond(response);
                        continue;
                    }
                    // OpenMetrics for a scraper that asks for it (Prometheus does).
                    let openmetrics = request.headers().iter().any(|h| {
                        h.field.equiv("Accept")
                            && h.value.as_str().contains("application/openmetrics-text")
                    });
                    let body = exposition(&name, &ctl, &timeline, openmetrics);
                    let _ = write_whole(request, &body, openmetrics);
                }
            })
            .map_err(|e| Error::Serve(format!("cannot start the metrics thread: {e}")))?;
        Ok(Self {
            server,
            thread: Some(thread),
            addr: local,
        })
    }

    /// The address it listens on (with the port a `:0` address was given).
    pub(crate) fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
