//! The viewer's side: attaches to a profiled program and keeps what it sends.
//!
//! A background thread reads the program's frames into a local [`Timeline`] and the latest
//! stages, diagnoses and report. Whatever ends the connection (the program finishing or exiting,
//! a detach, garbage on the wire, a stall), what was received stays, with one line saying why
//! it ended.

use std::collections::VecDeque;
use std::io::BufReader;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::wire::{self, Frame, Hello, WireError};
use crate::observe::diagnosis::Diagnosis;
use crate::observe::program_report::ProgramReport;
use crate::observe::run::RunReport;
use crate::observe::timeline::{Row, Timeline};
use crate::runtime::probe::StageSnapshot;

/// How long a program may send nothing (it sends twenty times a second) before the viewer gives up.
pub const SILENCE: Duration = Duration::from_secs(5);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Latencies kept for the median.
const LATENCIES_KEPT: usize = 500;

/// Why an attachment ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ended {
    /// The program's pipeline finished and sent its report.
    Finished,
    /// The viewer detached.
    Detached,
    /// The connection failed: the one-line reason.
    Failed(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Finished => f.write_str("the program finished"),
            Ended::Detached => f.write_str("detached"),
            Ended::Failed(why) => f.write_str(why),
        }
    }
}

/// What has been received so far.
#[derive(Debug, Default)]
pub(crate) struct State {
    stages: Vec<StageSnapshot>,
    diagnoses: Vec<Diagnosis>,
    report: Option<RunReport>,
    ended: Option<Ended>,
    dropped: u64,
    frames: u64,
    /// Sample-to-arrival latencies of the last rows (s).
    latencies: VecDeque<f64>,
    /// One line on what the program sent that was ignored or lost, if anything.
    warning: Option<String>,
}

/// What a follower thread shares with its [`Attachment`]: where it puts what it receives,
/// and the flag that tells it to stop.
#[derive(Clone, Debug)]
pub(crate) struct Following {
    pub(crate) timeline: Arc<Timeline>,
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) detach: Arc<AtomicBool>,
}

impl Following {
    /// Nothing received yet (a timeline of six times the default history).
    pub(crate) fn new() -> Self {
        Self {
            timeline: Arc::new(Timeline::new(
                crate::observe::timeline::DEFAULT_CAPACITY * 6,
            )),
            state: Arc::default(),
            detach: Arc::default(),
        }
    }

    /// Keeps one update: the stages, diagnoses and (when made) report as they are now, how late it came
    /// (s), a warning to show, if any, and how many rows were dropped so far (merged into
    /// later ones because this viewer fell behind).
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    pub(crate) fn received(
        &self,
        stages: Vec<StageSnapshot>,
        diagnoses: Vec<Diagnosis>,
        report: Option<RunReport>,
        latency_s: f64,
        warning: Option<String>,
        dropped: u64,
    ) {
        let mut st = self.state.lock();
        st.frames += 1;
        st.dropped = dropped;
        st.stages = stages;
        st.diagnoses = diagnoses;
        if report.is_some() {
            st.report = report;
        }
        st.warning = warning;
        st.latencies.push_back(latency_s);
        while st.latencies.len() > LATENCIES_KEPT {
            st.latencies.pop_front();
        }
    }

    /// Keeps the report made at the end.
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    pub(crate) fn final_report(&self, report: RunReport) {
        self.state.lock().report = Some(report);
    }

    /// Records why the connection ended (a detach asked for wins).
    pub(crate) fn end(&self, ended: Ended) {
        let ended = if self.detach.load(Relaxed) {
            Ended::Detached
        } else {
            ended
        };
        self.state.lock().ended = Some(ended);
    }
}

/// A live connection to a profiled program (or what is left of one).
#[derive(Debug)]
pub struct Attachment {
    addr: String,
    hello: Hello,
    timeline: Arc<Timeline>,
    state: Arc<Mutex<State>>,
    detach: Arc<AtomicBool>,
    /// The connection, shut down to wake a reader blocked on it (a palavriado program's).
    stream: Option<TcpStream>,
    reader: Mutex<Option<JoinHandle<()>>>,
    /// How old the newest sample was each time a viewer showed it (s).
    shown: Mutex<VecDeque<f64>>,
}

/// Seconds since the Unix epoch now.
pub(crate) fn unix_now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Attachment {
    /// An attachment whose `reader` thread fills `following`.
    pub(crate) fn followed(
        addr: String,
        hello: Hello,
        following: Following,
        stream: Option<TcpStream>,
        reader: JoinHandle<()>,
    ) -> Attachment {
        Attachment {
            addr,
            hello,
            timeline: following.timeline,
            state: following.state,
            detach: following.detach,
            stream,
            reader: Mutex::new(Some(reader)),
            shown: Mutex::new(VecDeque::new()),
        }
    }

    /// Connects to the palavriado program serving at `addr` (the greeting read, then a reader
    /// thread follows it); `Err` is the one-line reason.
    pub(crate) fn open(addr: &str, silence: Duration) -> Result<Attachment, String> {
        let fail = |e: &dyn std::fmt::Display| format!("cannot attach to '{addr}': {e}");
        let target = addr
            .to_socket_addrs()
            .map_err(|e| fail(&e))?
            .next()
            .ok_or_else(|| fail(&"the address resolves to nothing"))?;
        let stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT).map_err(|e| {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                fail(&"nothing listens there (is the program running, with its profiler serving?)")
            } else {
                fail(&e)
            }
        })?;
        stream
            .set_read_timeout(Some(silence.max(Duration::from_millis(1))))
            .map_err(|e| fail(&e))?;
        let mut r = BufReader::new(stream.try_clone().map_err(|e| fail(&e))?);
        wire::read_header(&mut r).map_err(|e| fail(&e))?;
        let hello = match wire::read_frame(&mut r).map_err(|e| fail(&e))? {
            Frame::Hello(h) => h,
            _ => return Err(fail(&WireError::NotPalavriado)),
        };
        let following = Following::new();
        let reader = {
            let (f, started) = (following.clone(), hello.started_unix_ms / 1e3);
            std::thread::Builder::new()
                .name("attachment".into())
                .spawn(move || {
                    let ended = follow(&mut r, &f.timeline, &f.state, started);
                    f.end(ended);
                })
                .map_err(|e| fail(&e))?
        };
        Ok(Attachment::followed(
            addr.to_string(),
            hello,
            following,
            Some(stream),
            reader,
        ))
    }

    /// The address attached to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The program's greeting.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// The samples received.
    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    /// Every stage's counters as last received.
    pub fn stages(&self) -> Vec<StageSnapshot> {
        self.state.lock().stages.clone()
    }

    /// `f` of every stage's counters as last received, without copying them.
    pub fn with_stages<R>(&self, f: impl FnOnce(&[StageSnapshot]) -> R) -> R {
        f(&self.state.lock().stages)
    }

    /// The diagnoses as last received.
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        self.state.lock().diagnoses.clone()
    }

    /// The latest report (the final one once the program finished; until then, or if it
    /// never does, `completed` is false); `None` before the first.
    pub fn report(&self) -> Option<ProgramReport> {
        self.run_report().map(ProgramReport::new)
    }

    /// [`Attachment::report`] as the app shows it and recordings keep it.
    pub(crate) fn run_report(&self) -> Option<RunReport> {
        let st = self.state.lock();
        let mut r = st.report.clone()?;
        r.completed &= st.ended == Some(Ended::Finished);
        Some(r)
    }

    /// Why it ended, once it has.
    pub fn ended(&self) -> Option<Ended> {
        self.state.lock().ended.clone()
    }

    /// One line on what the program sent that was ignored or lost (updates for unknown
    /// tasks, events its instrumentation dropped), if anything was.
    pub fn warning(&self) -> Option<String> {
        self.state.lock().warning.clone()
    }

    /// Rows the program could not send this viewer in time (it was too slow).
    pub fn dropped_rows(&self) -> u64 {
        self.state.lock().dropped
    }

    /// Frames received.
    pub fn frames(&self) -> u64 {
        self.state.lock().frames
    }

    /// Median time from a sample being taken in the program to it arriving here, over the last
    /// rows received (`None` before any).
    pub fn median_latency(&self) -> Option<Duration> {
        let l: Vec<f64> = self.state.lock().latencies.iter().copied().collect();
        median(l)
    }

    /// How far behind the program the newest sample here is, now.
    pub fn behind(&self) -> Option<Duration> {
        let last = self
            .timeline
            .rows_since(self.timeline.next_seq().saturating_sub(1))
            .0;
        let t = last.last()?.t;
        Some(Duration::from_secs_f64(
            (unix_now_s() - self.hello.started_unix_ms / 1e3 - t).max(0.0),
        ))
    }

    /// What was received, as a recording (the latest report, the stages as last seen, every
    /// sample); `None` before the first report arrived.
    pub fn recording(&self) -> Option<crate::observe::recording::Recording> {
        let report = self.run_report()?;
        Some(crate::observe::recording::Recording::new(
            Arc::new(report),
            self.stages(),
            self.hello.sample_hz,
            None,
        ))
    }

    /// Notes that a viewer has just shown the newest sample (the app calls it every frame it
    /// draws while following): what [`Attachment::median_shown_latency`] reports.
    pub fn note_shown(&self) {
        if let Some(b) = self.behind() {
            let mut shown = self.shown.lock();
            shown.push_back(b.as_secs_f64());
            while shown.len() > LATENCIES_KEPT {
                shown.pop_front();
            }
        }
    }

    /// Median age of the newest sample when it was shown, over the last frames: the
    /// sample-to-screen latency.
    pub fn median_shown_latency(&self) -> Option<Duration> {
        median(self.shown.lock().iter().copied().collect())
    }

    /// Stops following the program; what was received stays.
    pub fn detach(&self) {
        self.detach.store(true, Relaxed);
        if let Some(s) = &self.stream {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(r) = self.reader.lock().take() {
            let _ = r.join();
        }
    }

    /// Waits until the connection ends (the program finishes, exits or fails) or `limit`
    /// passes; returns why it ended, if it has.
    pub fn wait(&self, limit: Option<Duration>) -> Option<Ended> {
        let until = limit.map(|l| std::time::Instant::now() + l);
        loop {
            if let Some(e) = self.ended() {
                return Some(e);
            }
            if until.is_some_and(|u| std::time::Instant::now() >= u) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.detach();
    }
}

fn median(mut l: Vec<f64>) -> Option<Duration> {
    if l.is_empty() {
        return None;
    }
    l.sort_by(f64::total_cmp);
    Some(Duration::from_secs_f64(l[l.len() / 2].max(0.0)))
}

/// Reads frames until the connection ends; returns why.
fn follow(
    r: &mut BufReader<TcpStream>,
    timeline: &Arc<Timeline>,
    state: &Mutex<State>,
    started_s: f64,
) -> Ended {
    let mut names = 0usize;
    loop {
        let frame = match wire::read_frame(r) {
            Ok(f) => f,
            Err(WireError::Closed) => {
                return Ended::Failed(
                    "the program went away before it finished (what was received is kept)".into(),
                );
            }
            Err(e) => return Ended::Failed(format!("{e} (what was received is kept)")),
        };
        match frame {
            Frame::Hello(_) => {
                return Ended::Failed("it sent a second greeting: not a palavriado program".into());
            }
            Frame::Heartbeat => {}
            Frame::Samples(s) => {
                for n in &s.new_series {
                    if timeline.column(n) != names {
                        return Ended::Failed(format!(
                            "it sent series '{n}' twice: not a palavriado program"
                        ));
                    }
                    names += 1;
                }
                let now = unix_now_s();
                let mut lat = Vec::with_capacity(s.rows.len());
                for (t, values) in s.rows {
                    if values.len() > names || !t.is_finite() {
                        return Ended::Failed(
                            "it sent a row that does not fit its series: not a palavriado program"
                                .into(),
                        );
                    }
                    lat.push(now - started_s - t);
                    let values = values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
                    timeline.push(Row { t, values });
                }
                if let Some(events) = s.events {
                    timeline.set_events(events);
                }
                let report = match s.report.map(|v| report_from(v, timeline)) {
                    Some(Err(e)) => return Ended::Failed(e),
                    Some(Ok(r)) => Some(r),
                    None => None,
                };
                let mut st = state.lock();
                st.frames += 1;
                st.stages = s.stages;
                st.diagnoses = s.diagnoses;
                st.dropped = s.dropped;
                st.report = report.or(st.report.take());
                // Latency of the newest rows only: a burst of history is not late, it is old.
                if let Some(&newest) = lat.last() {
                    st.latencies.push_back(newest);
                    while st.latencies.len() > LATENCIES_KEPT {
                        st.latencies.pop_front();
                    }
                }
            }
            Frame::Finished { report, stages } => {
                let report = match report_from(report, timeline) {
                    Ok(r) => r,
                    Err(e) => return Ended::Failed(e),
                };
                let mut st = state.lock();
                st.frames += 1;
                st.diagnoses = report.diagnoses.clone();
                st.report = Some(report);
                st.stages = stages;
                return Ended::Finished;
            }
        }
    }
}

/// A report sent by the program, tied to the samples received.
fn report_from(v: serde_json::Value, timeline: &Arc<Timeline>) -> Result<RunReport, String> {
    let mut r: RunReport = serde_json::from_value(v)
        .map_err(|e| format!("it sent a malformed report ({e}): not a palavriado program"))?;
    r.restore(Vec::new(), timeline.clone());
    Ok(r)
}
