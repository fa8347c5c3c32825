//! Pipelines of a program's own threads and tasks, joined by instrumented tokio and crossbeam
//! channels: exact counts, the stages at each channel's ends, their time split, and the names of
//! ends used without a stage handle.

use std::time::Duration;

use palavriado::channel::{Named, crossbeam, mpsc};
use palavriado::{Profiler, ProgramReport, StageKind, StageReport};

fn stage<'a>(report: &'a ProgramReport, name: &str) -> &'a StageReport {
    report
        .stages()
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = report.stages().iter().map(|s| &s.name).collect();
            panic!("no stage {name} in {names:?}")
        })
}

#[test]
fn threads_and_crossbeam_count_every_message_at_both_ends() {
    let profiler = Profiler::new("threads").start().unwrap();
    let (lines, lines_rx) = crossbeam::bounded::<String>(&profiler, Named::events("lines"), 4);
    let (lengths, lengths_rx) = crossbeam::unbounded::<usize>(&profiler, "lengths");
    let reader = profiler.stage("reader");
    let reader = std::thread::spawn(move || {
        let _on = reader.enter();
        for i in 0..10_000 {
            lines.send(format!("line {i}")).unwrap();
        }
    });
    // Two parsers share the receiving end (crossbeam's channels are many-to-many).
    let parsers: Vec<_> = (1..=2)
        .map(|i| {
            let (rx, tx, me) = (
                lines_rx.clone(),
                lengths.clone(),
                profiler.stage(format!("parser {i}")),
            );
            std::thread::spawn(move || {
                let _on = me.enter();
                for line in rx {
                    tx.send(line.len()).unwrap();
                }
            })
        })
        .collect();
    drop((lines_rx, lengths));
    let total: usize = {
        let _on = profiler.stage("sum").enter();
        lengths_rx.iter().sum()
    };
    reader.join().unwrap();
    parsers.into_iter().for_each(|p| p.join().unwrap());
    let expected: usize = (0..10_000).map(|i| format!("line {i}").len()).sum();
    assert_eq!(total, expected);

    let report = profiler.finish().unwrap();
    let reader = stage(&report, "reader");
    assert_eq!(
        (reader.kind, reader.events_in, reader.events_out),
        (StageKind::Producer, 0, 10_000)
    );
    let (p1, p2) = (stage(&report, "parser 1"), stage(&report, "parser 2"));
    assert_eq!(p1.kind, StageKind::ProducerConsumer);
    assert_eq!(p1.events_in + p2.events_in, 10_000);
    assert_eq!(p1.events_out + p2.events_out, 10_000);
    let lines = stage(&report, "lines");
    assert_eq!(
        (
            lines.kind,
            lines.capacity,
            lines.events_in,
            lines.events_out
        ),
        (StageKind::Channel, Some(4), 10_000, 10_000)
    );
    assert!(lines.max_mailbox <= 4, "{}", lines.max_mailbox);
    let sum = stage(&report, "sum");
    assert_eq!((sum.kind, sum.events_in), (StageKind::Consumer, 10_000));
    assert_eq!(stage(&report, "lengths").capacity, None);
}

#[test]
fn a_sleeping_writer_backpressures_its_reader_and_idles_nobody() {
    let profiler = Profiler::new("backpressure").start().unwrap();
    let (tx, rx) = crossbeam::bounded::<u32>(&profiler, "queue", 1);
    let reader = profiler.stage("reader");
    let t = std::thread::spawn(move || {
        let _on = reader.enter();
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    {
        let _on = profiler.stage("writer").enter();
        for _ in rx.iter() {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    t.join().unwrap();
    let report = profiler.finish().unwrap();
    let reader = stage(&report, "reader");
    let share = reader.backpressured_ms / (reader.busy_ms + reader.backpressured_ms);
    assert!(
        share > 0.8,
        "the reader waits on the full channel: {reader:?}"
    );
    let writer = stage(&report, "writer");
    assert!(
        writer.idle_ms < writer.busy_ms / 4.0,
        "the writer rarely waits for lines: {writer:?}"
    );
}

#[test]
fn tokio_tasks_count_every_message_and_wait_where_they_wait() {
    let profiler = Profiler::new("tasks").start().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel::<u64>(&profiler, "numbers", 8);
    let (sums_tx, mut sums_rx) = mpsc::unbounded_channel::<u64>(&profiler, "sums");
    let producer = profiler.stage("producer");
    let adder = profiler.stage("adder");
    let total = rt.block_on(async move {
        let p = tokio::spawn(producer.instrument(async move {
            for n in 1..=5_000u64 {
                tx.send(n).await.unwrap();
            }
        }));
        let a = tokio::spawn(adder.instrument(async move {
            let mut batch = Vec::new();
            let mut sum = 0;
            while rx.recv_many(&mut batch, 100).await > 0 {
                sum += batch.drain(..).sum::<u64>();
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            sums_tx.send(sum).unwrap();
        }));
        p.await.unwrap();
        a.await.unwrap();
        sums_rx.recv().await.unwrap()
    });
    assert_eq!(total, 5_000 * 5_001 / 2);
    let report = profiler.finish().unwrap();
    let producer = stage(&report, "producer");
    assert_eq!(
        (producer.kind, producer.events_out),
        (StageKind::Producer, 5_000)
    );
    assert!(producer.backpressured_ms > 0.0, "{producer:?}");
    assert!(producer.polls > 0);
    let adder = stage(&report, "adder");
    assert_eq!(
        (adder.kind, adder.events_in, adder.events_out),
        (StageKind::ProducerConsumer, 5_000, 1)
    );
    let numbers = stage(&report, "numbers");
    assert_eq!((numbers.events_in, numbers.events_out), (5_000, 5_000));
    assert!(numbers.max_mailbox <= 8, "{numbers:?}");
    // The main task received the sum without a handle: it shows under the channel's end.
    let end = stage(&report, "sums receiver");
    assert_eq!((end.kind, end.events_in), (StageKind::Consumer, 1));
}

#[test]
fn ends_used_without_a_handle_show_under_the_thread_or_the_channel_end() {
    let profiler = Profiler::new("names").start().unwrap();
    let (tx, rx) = crossbeam::bounded::<u8>(&profiler, "bytes", 16);
    std::thread::Builder::new()
        .name("loader".into())
        .spawn(move || {
            for b in 0..10 {
                tx.send(b).unwrap();
            }
        })
        .unwrap()
        .join()
        .unwrap();
    // An unnamed thread receives: the stage is the channel's end.
    std::thread::spawn(move || assert_eq!(rx.iter().count(), 10))
        .join()
        .unwrap();
    let report = profiler.finish().unwrap();
    let loader = stage(&report, "loader");
    assert_eq!((loader.kind, loader.events_out), (StageKind::Producer, 10));
    let end = stage(&report, "bytes receiver");
    assert_eq!((end.kind, end.events_in), (StageKind::Consumer, 10));
}

#[test]
fn std_channels_between_threads_count_every_message() {
    use palavriado::channel::std_mpsc;
    let profiler = Profiler::new("std").start().unwrap();
    let (tx, rx) = std_mpsc::sync_channel::<u32>(&profiler, "squares", 2);
    let (done_tx, done_rx) = std_mpsc::channel::<u64>(&profiler, "sum");
    let squarer = profiler.stage("squarer");
    let t = std::thread::spawn(move || {
        let _on = squarer.enter();
        for i in 0..1_000u32 {
            tx.send(i * i).unwrap();
        }
    });
    let adder = profiler.stage("adder");
    let a = std::thread::spawn(move || {
        let _on = adder.enter();
        done_tx.send(rx.iter().map(u64::from).sum()).unwrap();
    });
    t.join().unwrap();
    a.join().unwrap();
    assert_eq!(
        done_rx.recv().unwrap(),
        (0..1_000u64).map(|i| i * i).sum::<u64>()
    );
    let report = profiler.finish().unwrap();
    let squares = stage(&report, "squares");
    assert_eq!(
        (
            squares.kind,
            squares.capacity,
            squares.events_in,
            squares.events_out
        ),
        (StageKind::Channel, Some(2), 1_000, 1_000)
    );
    let adder = stage(&report, "adder");
    assert_eq!(
        (adder.kind, adder.events_in, adder.events_out),
        (StageKind::ProducerConsumer, 1_000, 1)
    );
}

#[test]
fn weak_senders_do_as_tokios_do_and_their_sends_count() {
    let profiler = Profiler::new("weak").start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel::<u8>(&profiler, "bounded", 4);
    let (btx, mut brx) = tokio::sync::mpsc::channel::<u8>(4);
    let (weak, bweak) = (tx.downgrade(), btx.downgrade());
    assert_eq!((weak.strong_count(), weak.weak_count()), (1, 1));
    assert_eq!((bweak.strong_count(), bweak.weak_count()), (1, 1));
    rt.block_on(weak.upgrade().unwrap().send(7)).unwrap();
    rt.block_on(bweak.upgrade().unwrap().send(7)).unwrap();
    drop((tx, btx));
    assert!(weak.upgrade().is_none() && bweak.upgrade().is_none());
    assert_eq!(rt.block_on(rx.recv()), rt.block_on(brx.recv()));
    assert_eq!(rt.block_on(rx.recv()), None);
    assert_eq!(rt.block_on(brx.recv()), None);

    let (utx, mut urx) = mpsc::unbounded_channel::<u8>(&profiler, "unbounded");
    let uweak = utx.downgrade();
    uweak.upgrade().unwrap().send(1).unwrap();
    drop(utx);
    assert!(uweak.upgrade().is_none());
    assert_eq!(rt.block_on(urx.recv()), Some(1));
    assert_eq!(rt.block_on(urx.recv()), None);

    let report = profiler.finish().unwrap();
    assert_eq!(stage(&report, "bounded").events_in, 1);
    assert_eq!(stage(&report, "unbounded").events_out, 1);
}

#[test]
fn a_runtime_dropping_its_waiting_tasks_makes_no_stage_up() {
    let profiler = Profiler::new("dropped").start().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel::<u64>(&profiler, "full", 1);
    let (tx2, mut rx2) = mpsc::channel::<u64>(&profiler, "empty", 1);
    rt.spawn(
        profiler
            .stage("writer")
            .instrument(async move { while tx.send(1).await.is_ok() {} }),
    );
    rt.spawn(
        profiler
            .stage("reader")
            .instrument(async move { while rx2.recv().await.is_some() {} }),
    );
    // Both wait (one on the full channel, one on the empty one) when their runtime goes.
    std::thread::sleep(Duration::from_millis(100));
    drop(rt);
    let report = profiler.finish().unwrap();
    let mut names: Vec<&str> = report.stages().iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["empty", "full", "reader", "writer"]);
    assert_eq!(stage(&report, "full").events_in, 1);
    drop((rx, tx2));
}
