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
use console_api::{Field, Id, Location, PollStats, field};
use console_api::{async_ops, resources, tasks};
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

/// A streaming answer of what `rx` receives.
fn streamed<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<Result<T, Status>>,
) -> Response<Boxed<T>> {
    Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

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
        Ok(streamed(rx))
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
        Ok(streamed(rx))
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

/// An HdrHistogram of `values` (ns), bounded as console-subscriber's are.
fn recorded(values: &[u64]) -> hdrhistogram::Histogram<u64> {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 2).unwrap();
    for &v in values {
        h.record(v).unwrap();
    }
    h
}

/// A serialized HdrHistogram of `values` (ns), as console-subscriber sends one.
pub fn histogram(values: &[u64]) -> DurationHistogram {
    let h = recorded(values);
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
    let h = recorded(values);
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

fn at(base: SystemTime, ms: u64) -> prost_types::Timestamp {
    (base + Duration::from_millis(ms)).into()
}

fn dur(ns: u64) -> prost_types::Duration {
    Duration::from_nanos(ns).try_into().unwrap()
}

fn named(name: &str) -> Vec<Field> {
    vec![Field {
        name: Some(field::Name::StrName("task.name".into())),
        value: Some(field::Value::DebugVal(format!("\"{name}\""))),
        metadata_id: None,
    }]
}

fn task(id: u64, fields: Vec<Field>, kind: tasks::task::Kind) -> tasks::Task {
    tasks::Task {
        id: Some(Id { id }),
        metadata: None,
        kind: kind as i32,
        fields,
        parents: Vec::new(),
        location: Some(Location {
            file: Some("src/jobs.rs".into()),
            module_path: None,
            line: Some(40 + id as u32),
            column: Some(9),
        }),
    }
}

/// Stats of a task at update `k` (ms since `base`).
#[allow(clippy::too_many_arguments)]
fn stats(
    base: SystemTime,
    polls: u64,
    busy_ns: u64,
    wakes: u64,
    self_wakes: u64,
    (clones, drops): (u64, u64),
    (started, ended, woken): (Option<u64>, Option<u64>, Option<u64>),
    dropped: Option<u64>,
) -> tasks::Stats {
    tasks::Stats {
        created_at: Some(at(base, 0)),
        dropped_at: dropped.map(|d| at(base, d)),
        wakes,
        waker_clones: clones,
        waker_drops: drops,
        last_wake: woken.map(|w| at(base, w)),
        poll_stats: Some(PollStats {
            polls,
            first_poll: Some(at(base, 1)),
            last_poll_started: started.map(|s| at(base, s)),
            last_poll_ended: ended.map(|e| at(base, e)),
            busy_time: Some(dur(busy_ns)),
        }),
        self_wakes,
        scheduled_time: Some(dur(0)),
    }
}

/// The updates of a program of six tasks and a semaphore, one every 100 ms (by its clock):
/// `worker` polls 10 times for 0.5 ms each 100 ms, `blocker` twice for 40 ms, `sleeper` polled
/// once and has no waker left, `looper` woke itself 150 of 200 times, `done` ends at once, an
/// unnamed blocking task runs; the semaphore has one more waiter at each update; the third
/// update also has stats for a task never announced.
pub fn script(n: u64) -> Vec<Update> {
    let base = SystemTime::now();
    (0..n)
        .map(|k| {
            let ms = k * 100;
            let mut stats_update = HashMap::new();
            let woke = Some(ms + 2);
            stats_update.insert(
                1,
                stats(
                    base,
                    10 * (k + 1),
                    500_000 * (k + 1),
                    10 * (k + 1),
                    0,
                    (10 * (k + 1), 10 * (k + 1) - 1),
                    (Some(ms + 1), Some(ms + 1), woke),
                    None,
                ),
            );
            stats_update.insert(
                2,
                stats(
                    base,
                    2 * (k + 1),
                    40_000_000 * (k + 1),
                    2 * (k + 1),
                    0,
                    (1, 0),
                    (Some(ms + 1), Some(ms + 1), woke),
                    None,
                ),
            );
            stats_update.insert(
                3,
                stats(
                    base,
                    1,
                    20_000,
                    0,
                    0,
                    (1, 1),
                    (Some(1), Some(2), None),
                    None,
                ),
            );
            stats_update.insert(
                4,
                stats(
                    base,
                    200,
                    1_000_000,
                    200,
                    150,
                    (1, 0),
                    (Some(ms + 1), Some(ms + 1), woke),
                    None,
                ),
            );
            stats_update.insert(
                5,
                stats(
                    base,
                    1,
                    10_000,
                    0,
                    0,
                    (0, 0),
                    (Some(1), Some(2), None),
                    Some(3),
                ),
            );
            stats_update.insert(
                6,
                stats(
                    base,
                    1,
                    1_000_000 * (k + 1),
                    0,
                    0,
                    (0, 0),
                    (Some(1), None, None),
                    None,
                ),
            );
            if k == 2 {
                stats_update.insert(
                    99,
                    stats(base, 1, 1, 0, 0, (0, 0), (None, None, None), None),
                );
            }
            let new_tasks = if k == 0 {
                vec![
                    task(1, named("worker"), tasks::task::Kind::Spawn),
                    task(2, named("blocker"), tasks::task::Kind::Spawn),
                    task(3, named("sleeper"), tasks::task::Kind::Spawn),
                    task(4, named("looper"), tasks::task::Kind::Spawn),
                    task(5, named("done"), tasks::task::Kind::Spawn),
                    task(
                        6,
                        vec![Field {
                            name: Some(field::Name::StrName("task.id".into())),
                            value: Some(field::Value::U64Val(17)),
                            metadata_id: None,
                        }],
                        tasks::task::Kind::Blocking,
                    ),
                ]
            } else {
                Vec::new()
            };
            let semaphore = resources::Resource {
                id: Some(Id { id: 10 }),
                metadata: None,
                concrete_type: "Semaphore".into(),
                kind: Some(resources::resource::Kind {
                    kind: Some(resources::resource::kind::Kind::Other("Sync".into())),
                }),
                location: None,
                parent_resource_id: None,
                is_internal: false,
            };
            let mut resource_stats = HashMap::new();
            resource_stats.insert(
                10,
                resources::Stats {
                    created_at: Some(at(base, 0)),
                    dropped_at: None,
                    attributes: vec![console_api::Attribute {
                        field: Some(Field {
                            name: Some(field::Name::StrName("permits".into())),
                            value: Some(field::Value::U64Val(0)),
                            metadata_id: None,
                        }),
                        unit: None,
                    }],
                },
            );
            let op = 100 + k;
            let mut op_stats = HashMap::new();
            op_stats.insert(
                op,
                async_ops::Stats {
                    created_at: Some(at(base, ms)),
                    dropped_at: None,
                    task_id: Some(Id { id: 1 }),
                    poll_stats: Some(PollStats {
                        polls: 1,
                        ..PollStats::default()
                    }),
                    attributes: Vec::new(),
                },
            );
            Update {
                now: Some(at(base, ms)),
                task_update: Some(tasks::TaskUpdate {
                    new_tasks,
                    stats_update,
                    dropped_events: 0,
                }),
                resource_update: Some(resources::ResourceUpdate {
                    new_resources: if k == 0 { vec![semaphore] } else { Vec::new() },
                    stats_update: resource_stats,
                    new_poll_ops: Vec::new(),
                    dropped_events: 0,
                }),
                async_op_update: Some(async_ops::AsyncOpUpdate {
                    new_async_ops: vec![async_ops::AsyncOp {
                        id: Some(Id { id: op }),
                        metadata: None,
                        source: "Semaphore::acquire".into(),
                        parent_async_op_id: None,
                        resource_id: Some(Id { id: 10 }),
                    }],
                    stats_update: op_stats,
                    dropped_events: 0,
                }),
                new_metadata: None,
            }
        })
        .collect()
}

pub fn blocker_polls() -> Vec<u64> {
    let mut v = vec![15_000_000; 10];
    v.extend([25_000_000, 40_000_000]);
    v
}

/// `updates` updates of a program of `tasks` tasks named `job 1…`, each polled once more per
/// update (job `i` for `i` µs).
#[allow(dead_code)]
pub fn many_tasks(tasks: u64, updates: u64) -> Vec<Update> {
    let base = SystemTime::now();
    (0..updates)
        .map(|k| {
            let stats_update = (1..=tasks)
                .map(|i| {
                    let poll = Some(k * 100 + 1);
                    (
                        i,
                        stats(
                            base,
                            k + 1,
                            i * 1_000 * (k + 1),
                            k + 1,
                            0,
                            (1, 0),
                            (poll, poll, poll),
                            None,
                        ),
                    )
                })
                .collect();
            Update {
                now: Some(at(base, k * 100)),
                task_update: Some(tasks::TaskUpdate {
                    new_tasks: if k == 0 {
                        (1..=tasks)
                            .map(|i| task(i, named(&format!("job {i}")), tasks::task::Kind::Spawn))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    stats_update,
                    dropped_events: 0,
                }),
                resource_update: None,
                async_op_update: None,
                new_metadata: None,
            }
        })
        .collect()
}
