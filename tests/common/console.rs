//! A stand-in for a program serving tokio-console's protocol: it streams the updates a test
//! scripts (one every `every`), then ends the stream, cuts it, or falls silent; task details
//! stream the histograms given.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use console_api::instrument::instrument_server::{Instrument, InstrumentServer};
use console_api::instrument::{
    InstrumentRequest, PauseRequest, PauseResponse, ResumeRequest, ResumeResponse, State,
    StateRequest, TaskDetailsRequest, Update,
};
use console_api::tasks::{DurationHistogram, TaskDetails, task_details::PollTimesHistogram};
use hdrhistogram::serialization::Serializer;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// How the stand-in's stream ends once its updates are sent.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(dead_code)]
pub enum End {
    /// The stream ends cleanly (the program exited).
    Close,
    /// The stream fails mid-way (a reset).
    Cut,
    /// Nothing more is sent.
    Silence,
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

struct Script {
    updates: Vec<Update>,
    every: Duration,
    end: End,
    /// Each task's poll-time histogram (ns values recorded).
    polls: HashMap<u64, Vec<u64>>,
}

#[tonic::async_trait]
impl Instrument for Script {
    type WatchUpdatesStream = Boxed<Update>;
    type WatchTaskDetailsStream = Boxed<TaskDetails>;
    type WatchStateStream = Boxed<State>;

    async fn watch_updates(
        &self,
        _: Request<InstrumentRequest>,
    ) -> Result<Response<Self::WatchUpdatesStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (updates, every, end) = (self.updates.clone(), self.every, self.end);
        tokio::spawn(async move {
            for (i, u) in updates.into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(every).await;
                }
                if tx.send(Ok(u)).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(every).await;
            match end {
                End::Close => {}
                End::Cut => {
                    let _ = tx
                        .send(Err(Status::aborted("stand-in cut the stream")))
                        .await;
                }
                End::Silence => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn watch_task_details(
        &self,
        r: Request<TaskDetailsRequest>,
    ) -> Result<Response<Self::WatchTaskDetailsStream>, Status> {
        let id = r.into_inner().id.map_or(0, |i| i.id);
        let Some(values) = self.polls.get(&id) else {
            return Err(Status::not_found("no such task"));
        };
        let details = TaskDetails {
            task_id: Some(console_api::Id { id }),
            now: Some(SystemTime::now().into()),
            poll_times_histogram: Some(PollTimesHistogram::Histogram(histogram(values))),
            scheduled_times_histogram: Some(histogram(&[1_000, 2_000])),
        };
        let every = self.every;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while tx.send(Ok(details.clone())).await.is_ok() {
                tokio::time::sleep(every).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn watch_state(
        &self,
        _: Request<StateRequest>,
    ) -> Result<Response<Self::WatchStateStream>, Status> {
        Err(Status::unimplemented("not in the stand-in"))
    }

    async fn pause(&self, _: Request<PauseRequest>) -> Result<Response<PauseResponse>, Status> {
        Ok(Response::new(PauseResponse {}))
    }

    async fn resume(&self, _: Request<ResumeRequest>) -> Result<Response<ResumeResponse>, Status> {
        Ok(Response::new(ResumeResponse {}))
    }
}

/// A serialized HdrHistogram of `values` (ns), as console-subscriber sends one.
pub fn histogram(values: &[u64]) -> DurationHistogram {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 2).unwrap();
    for &v in values {
        h.record(v).unwrap();
    }
    let mut raw = Vec::new();
    hdrhistogram::serialization::V2Serializer::new()
        .serialize(&h, &mut raw)
        .unwrap();
    DurationHistogram {
        raw_histogram: raw,
        max_value: h.max(),
        high_outliers: 0,
        highest_outlier: None,
    }
}

/// The p50, p99 and max palavriado should read from a histogram of `values`.
#[allow(dead_code)]
pub fn expected_percentiles(values: &[u64]) -> [u64; 3] {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 2).unwrap();
    for &v in values {
        h.record(v).unwrap();
    }
    [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()]
}

/// Serves `updates` (one every `every`) on a free local port, on a thread of its own, until the
/// process ends; returns its address.
pub fn serve(
    updates: Vec<Update>,
    every: Duration,
    end: End,
    polls: HashMap<u64, Vec<u64>>,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tonic::transport::Server::builder()
                .add_service(InstrumentServer::new(Script {
                    updates,
                    every,
                    end,
                    polls,
                }))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
    });
    addr
}
