//! The program's side: serves its samples to viewers on a local TCP port.
//!
//! Each viewer gets a thread of its own that reads the program's timeline from its own cursor
//! and writes frames with a write timeout. The program's stages never wait for a viewer: a slow
//! viewer only falls behind (rows the bounded timeline let go of before it read them are
//! counted as dropped and told to it), a stuck one is dropped after [`WRITE_TIMEOUT`].

use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::wire::{self, Frame, HISTORY_ROWS, Hello, Samples};
use crate::observe::timeline::Timeline;
use crate::runtime::control::RunControl;
use crate::runtime::probe::StageSnapshot;

/// How often a viewer is sent what is new.
pub const SEND_PERIOD: Duration = Duration::from_millis(50);
/// How long a write to a viewer may take before the viewer is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Viewers served at once; more are turned away.
pub const MAX_VIEWERS: usize = 8;
/// How often the report so far is sent.
const REPORT_PERIOD: Duration = Duration::from_secs(1);

/// What a program publishes: its run, and how to report it.
pub struct Publication {
    /// The greeting.
    pub hello: Hello,
    /// The run's control block (stages, diagnoses, events).
    pub ctl: Arc<RunControl>,
    /// Its samples.
    pub timeline: Arc<Timeline>,
    /// The report so far, as JSON.
    pub report: Box<dyn Fn() -> serde_json::Value + Send + Sync>,
    /// The final report and stages, once the pipeline ended.
    finished: Mutex<Option<(serde_json::Value, Vec<StageSnapshot>)>>,
}

impl std::fmt::Debug for Publication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publication")
            .field("hello", &self.hello)
            .finish_non_exhaustive()
    }
}

impl Publication {
    /// A publication of `ctl`'s run sampled into `timeline`.
    pub fn new(
        hello: Hello,
        ctl: Arc<RunControl>,
        timeline: Arc<Timeline>,
        report: Box<dyn Fn() -> serde_json::Value + Send + Sync>,
    ) -> Self {
        Self {
            hello,
            ctl,
            timeline,
            report,
            finished: Mutex::new(None),
        }
    }
}

/// A running server; dropping it stops accepting and lets the viewers go.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    viewers: Arc<Mutex<Vec<JoinHandle<()>>>>,
    connected: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    published: Arc<Publication>,
}

impl Server {
    /// Listens on `addr` (e.g. [`wire::DEFAULT_ADDR`]; port 0 picks a free one).
    pub fn bind(addr: &str, published: Publication) -> Result<Server, String> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            format!("cannot serve on '{addr}': {e} (choose another address or port)")
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot serve on '{addr}': {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot serve on '{addr}': {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let viewers: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let connected = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let published = Arc::new(published);
        let accept = {
            let (stop, viewers, connected, dropped, published) = (
                stop.clone(),
                viewers.clone(),
                connected.clone(),
                dropped.clone(),
                published.clone(),
            );
            std::thread::Builder::new()
                .name("palavriado server".into())
                .spawn(move || {
                    while !stop.load(Relaxed) {
                        let Ok((stream, _)) = listener.accept() else {
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        };
                        if connected.load(Relaxed) >= MAX_VIEWERS {
                            continue; // turned away: the stream closes here
                        }
                        connected.fetch_add(1, Relaxed);
                        let (stop, connected, dropped, published) = (
                            stop.clone(),
                            connected.clone(),
                            dropped.clone(),
                            published.clone(),
                        );
                        let viewer = std::thread::Builder::new()
                            .name("palavriado viewer".into())
                            .spawn(move || {
                                let _ = serve(stream, &published, &stop, &dropped);
                                connected.fetch_sub(1, Relaxed);
                            });
                        if let Ok(v) = viewer {
                            let mut vs = viewers.lock();
                            vs.retain(|v| !v.is_finished());
                            vs.push(v);
                        }
                    }
                })
                .map_err(|e| format!("cannot start the server thread: {e}"))?
        };
        Ok(Server {
            addr: local,
            stop,
            accept: Some(accept),
            viewers,
            connected,
            dropped,
            published,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> usize {
        self.connected.load(Relaxed)
    }

    /// Rows viewers missed because they read too slowly, summed over viewers.
    pub fn dropped_rows(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Tells every viewer the pipeline ended (its last samples, then its report) and waits up
    /// to `wait` for them to be sent.
    pub fn finish(
        &mut self,
        report: serde_json::Value,
        stages: Vec<StageSnapshot>,
        wait: Duration,
    ) {
        *self.published.finished.lock() = Some((report, stages));
        let until = Instant::now() + wait;
        while self.connected.load(Relaxed) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        // Viewer threads end within one send period (or their write timeout); none is joined
        // here, so a stuck viewer never holds the program's exit.
        self.viewers.lock().clear();
    }
}

/// Sends one viewer everything from the start, then what is new every [`SEND_PERIOD`].
fn serve(
    stream: TcpStream,
    p: &Publication,
    stop: &AtomicBool,
    dropped_total: &AtomicU64,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut w = BufWriter::new(stream);
    wire::write_header(&mut w)?;
    wire::write_frame(&mut w, &Frame::Hello(p.hello.clone()))?;
    let (mut seq, mut names_sent, mut events_sent, mut dropped) = (0u64, 0usize, usize::MAX, 0);
    let mut reported: Option<Instant> = None;
    loop {
        // Read "finished" before the rows: the last sample is in the timeline by then.
        let finished = p.finished.lock().clone();
        let (rows, next) = p.timeline.rows_since(seq);
        let first = next - rows.len() as u64;
        if first > seq {
            dropped += first - seq;
            dropped_total.fetch_add(first - seq, Relaxed);
        }
        seq = next;
        let mut new_series = p.timeline.names_from(names_sent);
        let events = p.ctl.events();
        let chunks: Vec<&[crate::observe::timeline::Row]> = if rows.is_empty() {
            vec![&[]]
        } else {
            rows.chunks(HISTORY_ROWS).collect()
        };
        names_sent += new_series.len();
        for chunk in chunks {
            let report = if reported.is_none_or(|r| r.elapsed() >= REPORT_PERIOD) {
                reported = Some(Instant::now());
                Some((p.report)())
            } else {
                None
            };
            let frame = Samples {
                // New series go out once, with the first chunk.
                new_series: std::mem::take(&mut new_series),
                rows: chunk
                    .iter()
                    .map(|r| {
                        let values = r.values.iter().map(|v| Some(*v).filter(|v| !v.is_nan()));
                        (r.t, values.collect())
                    })
                    .collect(),
                dropped,
                stages: p.ctl.stages().iter().map(|s| s.snapshot()).collect(),
                diagnoses: p.timeline.diagnoses(),
                events: (events.len() != events_sent).then(|| events.clone()),
                report,
            };
            events_sent = events.len();
            wire::write_frame(&mut w, &Frame::Samples(frame))?;
        }
        if let Some((report, stages)) = finished {
            wire::write_frame(&mut w, &Frame::Finished { report, stages })?;
            return w.flush();
        }
        if stop.load(Relaxed) {
            return w.flush();
        }
        std::thread::sleep(SEND_PERIOD);
    }
}
