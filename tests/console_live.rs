//! Following a program that serves tokio-console's protocol: a stand-in streams scripted
//! updates, and the attachment must show each task's exact counters, rates and diagnoses,
//! keep what it saw however the stream ends, and refuse foreign peers in one line.

#[path = "common/console.rs"]
mod console;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use console::{End, expected_percentiles, serve};
use console_api::instrument::Update;
use console_api::{Field, Id, Location, PollStats, field};
use console_api::{async_ops, resources, tasks};
use palavriado::{Attachment, DiagnosisKind, Ended, StageKind, StageState};

const EVERY: Duration = Duration::from_millis(100);
const UPDATES: u64 = 8;

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
fn script(n: u64) -> Vec<Update> {
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

fn blocker_polls() -> Vec<u64> {
    let mut v = vec![15_000_000; 10];
    v.extend([25_000_000, 40_000_000]);
    v
}

#[test]
fn a_console_program_shows_each_task_exactly_with_its_diagnoses() {
    let addr = serve(
        script(UPDATES),
        EVERY,
        End::Close,
        HashMap::from([(2, blocker_polls())]),
    );
    let a = Attachment::connect(&format!("console://{addr}")).expect("attaches");
    assert_eq!(a.addr(), format!("console://{addr}"));
    assert_eq!(a.wait(Some(Duration::from_secs(20))), Some(Ended::Finished));
    let stages = a.stages();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "worker",
            "blocker",
            "sleeper",
            "looper",
            "done",
            "blocking 17",
            "Semaphore 10"
        ]
    );
    let stage = |n: &str| stages.iter().find(|s| s.name == n).unwrap();
    let worker = stage("worker");
    assert_eq!(worker.kind, StageKind::Task);
    assert_eq!(worker.polls, 10 * UPDATES);
    assert_eq!(worker.events_in, 10 * UPDATES);
    assert_eq!(worker.busy_ns, 500_000 * UPDATES);
    let detail = worker.task.as_ref().unwrap();
    assert_eq!(detail.location, "src/jobs.rs:41:9");
    assert_eq!(detail.wakers, 1);
    assert_eq!(stage("done").state, StageState::Done);
    assert_eq!(stage("blocking 17").task.as_ref().unwrap().kind, "blocking");
    let semaphore = stage("Semaphore 10");
    assert_eq!(semaphore.kind, StageKind::Resource);
    assert_eq!(
        semaphore.mailbox_messages, UPDATES,
        "one more waiter each update"
    );
    let sd = semaphore.task.as_ref().unwrap();
    assert_eq!(
        (sd.kind.as_str(), sd.attributes.as_str()),
        ("Semaphore (Sync)", "permits=0")
    );
    // The blocker's histogram was watched: its percentiles are the histogram's.
    assert_eq!(
        stage("blocker").task.as_ref().unwrap().poll_ns,
        Some(expected_percentiles(&blocker_polls()))
    );

    // One row per update; the worker's rate is its busy time over the program's clock.
    let tl = a.timeline();
    assert_eq!(tl.len(), UPDATES as usize);
    let busy = tl.series("stage/worker/busy_ms_per_s");
    assert_eq!(
        busy.len() as u64,
        UPDATES - 1,
        "no rate at the first update"
    );
    for &(_, v) in &busy {
        assert!(
            (v - 5.0).abs() < 1e-6,
            "0.5 ms each 100 ms is 5 ms/s, got {v}"
        );
    }
    let alive = tl.series("tasks/alive");
    assert_eq!(alive.last().unwrap().1, 5.0, "`done` ended at once");

    let diagnoses = a.diagnoses();
    let found = |k: DiagnosisKind| -> Vec<&str> {
        diagnoses
            .iter()
            .filter(|d| d.kind == k)
            .map(|d| d.stage.as_str())
            .collect()
    };
    assert_eq!(found(DiagnosisKind::LongPoll), ["blocker"]);
    let long = diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::LongPoll)
        .unwrap();
    assert!(
        long.summary.contains("src/jobs.rs:42:9"),
        "{}",
        long.summary
    );
    assert!(long.summary.contains("p99"), "{}", long.summary);
    assert_eq!(found(DiagnosisKind::SelfWake), ["looper"]);
    assert_eq!(found(DiagnosisKind::LostWaker), ["sleeper"]);
    assert_eq!(found(DiagnosisKind::WaitersGrowing), ["Semaphore 10"]);
    assert_eq!(found(DiagnosisKind::Saturated), Vec::<&str>::new());
    let warning = a.warning().expect("the unknown task is reported");
    assert!(
        warning.starts_with("1 updates named tasks or resources it never announced"),
        "{warning}"
    );

    // What was seen records and opens again whole.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("console.json.gz");
    let rec = a.recording().expect("a report came");
    rec.save(&path).unwrap();
    let back = palavriado::Recording::open(&path).unwrap();
    assert_eq!(back.stages.len(), 7);
    assert_eq!(back.report.diagnoses.len(), diagnoses.len());
}

#[test]
fn what_was_seen_stays_when_the_stream_is_cut_or_falls_silent() {
    let addr = serve(script(3), EVERY, End::Cut, HashMap::new());
    let a = Attachment::connect(&format!("console://{addr}")).unwrap();
    match a.wait(Some(Duration::from_secs(20))) {
        Some(Ended::Failed(why)) => assert!(why.contains("the stream was cut"), "{why}"),
        other => panic!("ended {other:?}"),
    }
    assert_eq!(a.stages().len(), 7);
    assert_eq!(a.timeline().len(), 3);

    let addr = serve(script(2), EVERY, End::Silence, HashMap::new());
    let a = Attachment::connect_with(&format!("console://{addr}"), Duration::from_secs(1)).unwrap();
    match a.wait(Some(Duration::from_secs(20))) {
        Some(Ended::Failed(why)) => assert!(why.starts_with("no update for 1 s"), "{why}"),
        other => panic!("ended {other:?}"),
    }
    assert_eq!(a.timeline().len(), 2);

    // Detaching keeps what was seen, and says so.
    let addr = serve(script(2), EVERY, End::Silence, HashMap::new());
    let a = Attachment::connect(&format!("console://{addr}")).unwrap();
    a.detach();
    assert_eq!(a.ended(), Some(Ended::Detached));
    assert_eq!(a.stages().len(), 7);
}

/// A local server that answers every connection with `reply` and closes it.
fn foreign(reply: &'static [u8]) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 512];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        }
    });
    addr
}

#[test]
fn a_foreign_peer_is_one_line_naming_it() {
    let http = foreign(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let garbage = foreign(b"\x00\x01garbage that is not a frame of anything\xff\xfe");
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for (addr, says) in [
        (http, "tokio-console's protocol"),
        (garbage, "tokio-console's protocol"),
        (free, "nothing listens there"),
    ] {
        let url = format!("console://{addr}");
        let e = Attachment::connect_with(&url, Duration::from_secs(1))
            .expect_err("not a tokio-console program")
            .to_string();
        assert!(e.starts_with(&format!("cannot attach to '{url}'")), "{e}");
        assert!(e.contains(says), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        eprintln!("{e}");
    }
}
