//! The demand-driven stage runtime: GenStage's semantics, as properties and golden cases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palavriado::Flow;
use palavriado::StageState;
use palavriado::{Consumer, Dispatch, Producer, ProducerConsumer, Subscription};
use palavriado::{Pipeline, Runtime};
use proptest::prelude::*;

/// A run control whose stages run on `rt` (2 scheduler threads on the scheduler).
fn ctl(rt: Runtime) -> Pipeline {
    Pipeline::builder().runtime(rt).schedulers(2).build()
}

fn spin(micros: u64) {
    if micros > 0 {
        let end = Instant::now() + Duration::from_micros(micros);
        while Instant::now() < end {
            std::hint::spin_loop();
        }
    }
}

#[test]
fn demand_dispatcher_delivers_every_event_once() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..10_000u64, Dispatch::Demand);
        let consumers: Vec<_> = (0..3)
            .map(|i| {
                let mut c =
                    Consumer::new(&ctl, format!("c{i}"), Vec::new(), |v: &mut Vec<u64>, e| {
                        v.push(e)
                    });
                c.subscribe(&mut p, Subscription::new().max_demand(7).min_demand(2))
                    .unwrap();
                c
            })
            .collect();
        p.start();
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|c| c.start().join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
        assert!(ctl.errors().is_empty(), "{:?}", ctl.errors());
    }
}

#[test]
fn many_partitions_send_single_events_in_order_and_lose_none() {
    // 64 partitions fed by a stage that emits one event per input: most messages then carry a
    // single event (sent inline, without a vector); every partition still gets exactly its
    // events, in the order they were made.
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let parts = 64u64;
        let mut numbers = Producer::from_iter(&ctl, "numbers", 0..20_000u64, Dispatch::Demand);
        let mut fan = ProducerConsumer::new(
            &ctl,
            "fan",
            |n: u64, out: &mut Vec<u64>| out.push(n),
            Dispatch::partition_by(parts as usize, |n: &u64| n.wrapping_mul(7) % 64),
        );
        fan.subscribe(
            &mut numbers,
            Subscription::new().max_demand(4).min_demand(2),
        )
        .unwrap();
        let parts_seen: Vec<_> = (0..parts as usize)
            .map(|i| {
                let mut c =
                    Consumer::new(&ctl, format!("p{i}"), Vec::new(), |v: &mut Vec<u64>, n| {
                        v.push(n)
                    });
                c.subscribe(&mut fan, Subscription::new().max_demand(10).partition(i))
                    .unwrap();
                c
            })
            .collect();
        let probes: Vec<_> = parts_seen.iter().map(|c| c.probe().clone()).collect();
        numbers.start();
        fan.start();
        // Every partition's consumer runs before any is joined: a partition nobody drains
        // holds the others (GenStage's Partition dispatcher).
        let running: Vec<_> = parts_seen.into_iter().map(|c| c.start()).collect();
        let got: Vec<Vec<u64>> = running.into_iter().map(|w| w.join().unwrap()).collect();
        for (i, v) in got.iter().enumerate() {
            let want: Vec<u64> = (0..20_000u64)
                .filter(|n| n.wrapping_mul(7) % 64 == i as u64)
                .collect();
            assert_eq!(v, &want, "partition {i} on {rt}");
        }
        // At most 4 events are made per batch upstream, spread over 64 partitions: nearly every
        // message carries one event.
        let messages: u64 = probes.iter().map(|p| p.messages_received()).sum();
        assert!(
            messages >= 20_000 * 9 / 10,
            "{messages} messages for 20,000 events on {rt}"
        );
        assert!(ctl.errors().is_empty(), "{:?}", ctl.errors());
    }
}

#[test]
fn partition_skew_is_held_by_demand_not_piled_up() {
    for rt in Runtime::ALL {
        // 60 % of events hash to partition 0, 20 % to each of the others; every consumer handles
        // events at the same pace, max 10 / min 5.
        let ctl = ctl(rt);
        let skew = |e: &u64| match e % 10 {
            0..=5 => 0,
            6 | 7 => 1,
            _ => 2,
        };
        let mut p = Producer::from_iter(
            &ctl,
            "producer",
            0..3_000u64,
            Dispatch::partition_by(3, skew),
        );
        let probe = p.probe().clone();
        let consumers: Vec<_> = (0..3)
            .map(|i| {
                let mut c = Consumer::new(
                    &ctl,
                    format!("partition {i}"),
                    Vec::new(),
                    |v: &mut Vec<u64>, e| {
                        spin(20);
                        v.push(e)
                    },
                );
                c.subscribe(
                    &mut p,
                    Subscription::new()
                        .max_demand(10)
                        .min_demand(5)
                        .partition(i),
                )
                .unwrap();
                c
            })
            .collect();
        p.start();
        let workers: Vec<_> = consumers.into_iter().map(|c| c.start()).collect();
        let mut max_queued = [0u64; 3];
        while workers.iter().any(|_| probe.state() != StageState::Done) {
            for (i, s) in probe.subscriptions().iter().enumerate() {
                max_queued[i] = max_queued[i].max(s.queued);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let got: Vec<Vec<u64>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        // Routing is exact and nothing is lost.
        assert_eq!(got[0].len(), 1_800);
        assert_eq!(got[1].len(), 600);
        assert_eq!(got[2].len(), 600);
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, v)| v.iter().all(|e| skew(e) == i as u64))
        );
        // GenStage's Partition dispatcher: the producer makes only what was asked, so the busy
        // partition's queue stays within the subscribers' demand (three subscriptions of 10,
        // each asking again after 5) instead of piling up; the busy partition sets the pace.
        assert!(max_queued.iter().all(|&q| q <= 60), "{rt}: {max_queued:?}");
        assert!(ctl.warnings().is_empty(), "{rt}: {:?}", ctl.warnings());
    }
}

#[test]
fn broadcast_sends_every_event_to_every_accepting_subscriber() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..2_000u64, Dispatch::broadcast());
        let mut all = Consumer::new(&ctl, "all", Vec::new(), |v: &mut Vec<u64>, e| v.push(e));
        let mut even = Consumer::new(&ctl, "even", Vec::new(), |v: &mut Vec<u64>, e| v.push(e));
        all.subscribe(&mut p, Subscription::new().max_demand(50))
            .unwrap();
        even.subscribe(
            &mut p,
            Subscription::new().max_demand(3).filter(|e| e % 2 == 0),
        )
        .unwrap();
        p.start();
        let (all, even) = (all.start(), even.start());
        assert_eq!(all.join().unwrap(), (0..2_000).collect::<Vec<_>>());
        assert_eq!(
            even.join().unwrap(),
            (0..2_000).filter(|e| e % 2 == 0).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_panicking_stage_stops_the_pipeline_with_its_name() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..1_000_000u64, Dispatch::Demand);
        let mut pc = ProducerConsumer::new(
            &ctl,
            "fragile",
            |e: u64, out: &mut Vec<u64>| {
                assert!(e != 500, "event 500 is cursed");
                out.push(e)
            },
            Dispatch::Demand,
        );
        pc.subscribe(&mut p, Subscription::new()).unwrap();
        let mut c = Consumer::new(&ctl, "sink", 0u64, |n: &mut u64, _| *n += 1);
        c.subscribe(&mut pc, Subscription::new()).unwrap();
        let started = Instant::now();
        let (p, pc, c) = (p.start(), pc.start(), c.start());
        let counted = c.join();
        p.join();
        assert!(pc.join().is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(counted.unwrap() < 1_000_000);
        let errors = ctl.errors();
        assert!(
            errors[0].contains("'fragile'") && errors[0].contains("cursed"),
            "{errors:?}"
        );
    }
}

#[test]
fn a_partition_without_its_subscriber_is_an_error_not_a_hang() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..100u64, Dispatch::partition(2));
        let mut c = Consumer::new(&ctl, "only one", 0u64, |n: &mut u64, _| *n += 1);
        c.subscribe(&mut p, Subscription::new().partition(0))
            .unwrap();
        let (p, c) = (p.start(), c.start());
        p.join();
        c.join();
        assert!(ctl.errors()[0].contains("partition 1 has 0 subscribers"));
    }
}

#[test]
fn zero_partitions_is_an_error_not_a_division_by_zero() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let zero = Dispatch::Partition {
            partitions: 0,
            hash: std::sync::Arc::new(|n: &u64| *n),
        };
        let mut p = Producer::from_iter(&ctl, "producer", 0..100u64, zero);
        let mut c = Consumer::new(&ctl, "consumer", 0u64, |n: &mut u64, _| *n += 1);
        c.subscribe(&mut p, Subscription::new().partition(0))
            .unwrap();
        let (p, c) = (p.start(), c.start());
        p.join();
        c.join();
        assert_eq!(
            ctl.errors(),
            ["stage 'producer': a Partition dispatcher needs at least 1 partition"]
        );
    }
}

#[test]
fn completion_never_loses_an_event_with_skewed_stages() {
    for rt in Runtime::ALL {
        // Three extractors (one slow) feeding three counters by partition, many times: every run
        // must count every event, however the completions interleave.
        for round in 0..20u64 {
            let ctl = ctl(rt);
            let mut p = Producer::from_iter(&ctl, "producer", 0..3_000u64, Dispatch::Demand);
            let mut pcs: Vec<_> = (0..3u64)
                .map(|i| {
                    let mut pc = ProducerConsumer::new(
                        &ctl,
                        format!("extractor {i}"),
                        move |e: u64, out: &mut Vec<u64>| {
                            if i == round % 3 {
                                spin(30);
                            }
                            out.extend([e * 2, e * 2 + 1]);
                        },
                        Dispatch::partition(3),
                    );
                    pc.subscribe(&mut p, Subscription::new().max_demand(10))
                        .unwrap();
                    pc
                })
                .collect();
            let cs: Vec<_> = (0..3)
                .map(|i| {
                    let mut c = Consumer::new(
                        &ctl,
                        format!("counter {i}"),
                        BTreeMap::new(),
                        |m: &mut BTreeMap<u64, u32>, e| {
                            *m.entry(e).or_insert(0) += 1;
                        },
                    );
                    for pc in &mut pcs {
                        c.subscribe(pc, Subscription::new().max_demand(10).partition(i))
                            .unwrap();
                    }
                    c
                })
                .collect();
            p.start();
            pcs.into_iter().for_each(|pc| {
                pc.start();
            });
            // Every counter runs at once: with GenStage's Partition dispatcher a counter that
            // is not running holds the others back.
            let cs: Vec<_> = cs.into_iter().map(|c| c.start()).collect();
            let maps: Vec<_> = cs.into_iter().map(|c| c.join().unwrap()).collect();
            let total: usize = maps.iter().map(|m| m.len()).sum();
            assert_eq!(total, 6_000, "round {round}");
            assert!(
                maps.iter().all(|m| m.values().all(|&n| n == 1)),
                "round {round}"
            );
            assert!(ctl.errors().is_empty());
        }
    }
}

#[test]
fn flow_api_reads_naturally() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let words = ["casa", "mar", "casa", "sol", "mar", "casa"];
        let mut counts: Vec<(String, u64)> = Flow::from_iter(&ctl, words.map(String::from))
            .stages(3)
            .filter(|w| w.len() > 2)
            .map(|w| w.to_uppercase())
            .partition()
            .reduce(BTreeMap::<String, u64>::new, |m, w| {
                *m.entry(w).or_insert(0) += 1
            })
            .collect()
            .into_iter()
            .flatten()
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            [("CASA".into(), 3), ("MAR".into(), 2), ("SOL".into(), 1)]
        );
        let doubled = Flow::from_iter(&ctl, 1..=5u64)
            .flat_map(|n| [n, n])
            .collect();
        assert_eq!(doubled.iter().sum::<u64>(), 30);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Random demand settings, stage counts and consumer speeds: no subscription ever receives
    /// more than it asked (the runtime checks and fails the run otherwise), every event arrives
    /// exactly once, routing is stable, completion arrives and every thread is joined.
    #[test]
    fn partitioned_pipelines_deliver_exactly_once(
        max in 1u64..40,
        min_frac in 0u64..100,
        extractors in 1usize..4,
        counters in 1usize..4,
        slow in 0usize..4,
        n in 0u64..3_000,
        threads in any::<bool>(),
    ) {
        let rt = if threads { Runtime::Threads } else { Runtime::Scheduler };
        let min = max * min_frac / 100;
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..n, Dispatch::Demand);
        let mut pcs: Vec<_> = (0..extractors)
            .map(|i| {
                let mut pc = ProducerConsumer::new(
                    &ctl,
                    format!("extractor {i}"),
                    move |e: u64, out: &mut Vec<u64>| {
                        if i == slow { spin(5); }
                        out.push(e);
                    },
                    Dispatch::partition(counters),
                );
                pc.subscribe(&mut p, Subscription::new().max_demand(max).min_demand(min)).unwrap();
                pc
            })
            .collect();
        let cs: Vec<_> = (0..counters)
            .map(|i| {
                let mut c = Consumer::new(&ctl, format!("counter {i}"), Vec::new(), |v: &mut Vec<u64>, e| v.push(e));
                for pc in &mut pcs {
                    c.subscribe(pc, Subscription::new().max_demand(max).min_demand(min).partition(i)).unwrap();
                }
                c
            })
            .collect();
        let p = p.start();
        let pcs: Vec<_> = pcs.into_iter().map(|pc| pc.start()).collect();
        let cs: Vec<_> = cs.into_iter().map(|c| c.start()).collect();
        let got: Vec<Vec<u64>> = cs.into_iter().map(|c| c.join().unwrap()).collect();
        prop_assert!(p.join().is_some());
        for pc in pcs { prop_assert!(pc.join().is_some()); }
        prop_assert!(ctl.errors().is_empty(), "{:?}", ctl.errors());
        let mut all: Vec<u64> = got.iter().flatten().copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        // Stable routing: the same event always lands on the same counter.
        let route = |e: u64| {
            let Dispatch::Partition { hash, .. } = Dispatch::<u64>::partition(counters) else { unreachable!() };
            (hash(&e) % counters as u64) as usize
        };
        for (i, v) in got.iter().enumerate() {
            prop_assert!(v.iter().all(|&e| route(e) == i));
        }
        for s in ctl.stages() {
            prop_assert_eq!(s.state(), StageState::Done);
            prop_assert_eq!(s.mailbox_len(), 0);
        }
    }
}

/// The skew of GenStage's partition scenarios: 60 % of events to partition 0, 20 % to 1 and 2.
fn skew(e: &u64) -> u64 {
    match e % 10 {
        0..=5 => 0,
        6 | 7 => 1,
        _ => 2,
    }
}

/// A consumer of partition `i` that holds each event until `gate` opens.
fn gated_consumer(
    ctl: &Pipeline,
    p: &mut Producer<u64>,
    i: usize,
    gate: Arc<std::sync::atomic::AtomicBool>,
) -> Consumer<u64, Vec<u64>, impl FnMut(&mut Vec<u64>, u64) + Send + use<>> {
    let mut c = Consumer::new(
        ctl,
        format!("partition {i}"),
        Vec::new(),
        move |v: &mut Vec<u64>, e| {
            while !gate.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            v.push(e)
        },
    );
    c.subscribe(
        p,
        Subscription::new()
            .max_demand(10)
            .min_demand(5)
            .partition(i),
    )
    .unwrap();
    c
}

/// Waits until the producer has made nothing new for 200 ms; returns what it made.
fn settled(probe: &palavriado::StageProbe) -> u64 {
    let mut last = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let made = probe.events_in();
        if made == last {
            return made;
        }
        last = made;
    }
}

#[test]
fn partition_producer_makes_exactly_the_sum_of_the_asks() {
    // GenStage's case: three partitions at 60/20/20 %, each asking max 10 / min 5, nothing
    // handled yet. The producer makes 30 events: A is sent 10 with 8 queued, B and C are sent
    // 6 each and still want 4.
    for rt in Runtime::ALL {
        // Enough schedulers that the held consumers never hold the producer's.
        let ctl = Pipeline::builder().runtime(rt).schedulers(5).build();
        let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut p =
            Producer::from_iter(&ctl, "producer", 0..100u64, Dispatch::partition_by(3, skew));
        let probe = p.probe().clone();
        let cs: Vec<_> = (0..3)
            .map(|i| gated_consumer(&ctl, &mut p, i, gate.clone()))
            .collect();
        let p = p.start();
        let cs: Vec<_> = cs.into_iter().map(|c| c.start()).collect();
        assert_eq!(settled(&probe), 30, "{rt}");
        let subs = probe.subscriptions();
        assert_eq!((subs[0].outstanding, subs[0].queued), (0, 8), "{rt}");
        assert_eq!((subs[1].outstanding, subs[1].queued), (4, 0), "{rt}");
        assert_eq!((subs[2].outstanding, subs[2].queued), (4, 0), "{rt}");
        assert_eq!(probe.events_out(), 22, "{rt}");
        gate.store(true, std::sync::atomic::Ordering::Relaxed);
        let got: Vec<Vec<u64>> = cs.into_iter().map(|c| c.join().unwrap()).collect();
        p.join();
        assert_eq!([got[0].len(), got[1].len(), got[2].len()], [60, 20, 20]);
        assert!(ctl.errors().is_empty() && ctl.warnings().is_empty(), "{rt}");
    }
}

#[test]
fn a_stalled_partition_slows_the_others_and_loses_nothing() {
    // GenStage's second case: A stalled, B and C running. A backed-up partition slows all the
    // others: the producer stops near 56 events (GenStage) instead of filling A's queue, and
    // when A resumes every one of its events is there.
    for rt in Runtime::ALL {
        let ctl = Pipeline::builder().runtime(rt).schedulers(3).build();
        let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut p = Producer::from_iter(
            &ctl,
            "producer",
            0..10_000u64,
            Dispatch::partition_by(3, skew),
        );
        let probe = p.probe().clone();
        let a = gated_consumer(&ctl, &mut p, 0, gate.clone());
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let others: Vec<_> = (1..3)
            .map(|i| gated_consumer(&ctl, &mut p, i, open.clone()))
            .collect();
        let p = p.start();
        let a = a.start();
        let others: Vec<_> = others.into_iter().map(|c| c.start()).collect();
        let made = settled(&probe);
        assert!((40..=70).contains(&made), "{rt}: made {made}");
        assert!(probe.subscriptions()[0].queued <= 60, "{rt}");
        gate.store(true, std::sync::atomic::Ordering::Relaxed);
        let a = a.join().unwrap();
        let others: Vec<Vec<u64>> = others.into_iter().map(|c| c.join().unwrap()).collect();
        p.join();
        assert_eq!(
            a,
            (0..10_000).filter(|e| skew(e) == 0).collect::<Vec<_>>(),
            "{rt}"
        );
        assert_eq!([others[0].len(), others[1].len()], [2_000, 2_000], "{rt}");
        assert!(ctl.warnings().is_empty(), "{rt}: {:?}", ctl.warnings());
    }
}

#[test]
fn bad_demand_settings_are_refused_at_subscribe() {
    for rt in Runtime::ALL {
        let ctl = ctl(rt);
        let mut p = Producer::from_iter(&ctl, "producer", 0..10u64, Dispatch::Demand);
        let mut c = Consumer::new(&ctl, "sink", 0u64, |n: &mut u64, _| *n += 1);
        let zero = c.subscribe(&mut p, Subscription::new().max_demand(0));
        assert_eq!(
            zero.unwrap_err().to_string(),
            "stage 'sink': max_demand must be at least 1 (it is the most events in flight)"
        );
        let min = c.subscribe(&mut p, Subscription::new().max_demand(10).min_demand(10));
        assert_eq!(
            min.unwrap_err().to_string(),
            "stage 'sink': min_demand (10) must be below max_demand (10)"
        );
        // Flow checks the same settings and fails the run with the same words.
        let out = Flow::from_iter(&ctl, 0..10u64).max_demand(0).collect();
        assert!(out.is_empty());
        assert!(
            ctl.errors()[0].contains("max_demand must be at least 1"),
            "{:?}",
            ctl.errors()
        );
    }
}

#[test]
fn a_sleeping_stage_does_not_hold_its_scheduler() {
    // One scheduler thread; one pipeline sleeps 20 ms before each event. Another pipeline on
    // the same scheduler still runs 100,000 events meanwhile: the delay is a timer, not a
    // blocked thread. Stop then ends the sleeping stage at once.
    let ctl = Pipeline::builder()
        .runtime(Runtime::Scheduler)
        .schedulers(1)
        .delay(Duration::from_millis(20))
        .build();
    let mut slow_src = Producer::from_iter(&ctl, "slow source", 0..1_000u64, Dispatch::Demand);
    let mut slow =
        Consumer::new(&ctl, "slow", 0u64, |n: &mut u64, _| *n += 1).with_simulated_delay();
    slow.subscribe(&mut slow_src, Subscription::new().max_demand(10))
        .unwrap();
    let mut fast_src = Producer::from_iter(&ctl, "fast source", 0..100_000u64, Dispatch::Demand);
    let mut fast = Consumer::new(&ctl, "fast", 0u64, |n: &mut u64, _| *n += 1);
    fast.subscribe(&mut fast_src, Subscription::new().max_demand(10))
        .unwrap();
    let slow_probe = slow.probe().clone();
    let started = Instant::now();
    let (slow_src, slow) = (slow_src.start(), slow.start());
    let (fast_src, fast) = (fast_src.start(), fast.start());
    assert_eq!(fast.join(), Some(100_000));
    fast_src.join();
    let slept = started.elapsed();
    let handled = slow_probe.events_in();
    // At 20 ms an event, the sleeper handled about slept/20ms events, not fewer: both ran.
    assert!(
        (handled as f64) < slept.as_secs_f64() / 0.020 + 10.0,
        "{handled} events in {slept:?}"
    );
    assert!(handled < 1_000, "the fast pipeline waited for the slow one");
    let stop = Instant::now();
    ctl.stop();
    assert!(slow.join().is_some());
    slow_src.join();
    assert!(
        stop.elapsed() < Duration::from_millis(500),
        "{:?}",
        stop.elapsed()
    );
}

#[test]
fn a_stage_panic_names_its_stage_on_one_scheduler_too() {
    let ctl = Pipeline::builder()
        .runtime(Runtime::Scheduler)
        .schedulers(1)
        .build();
    let mut p = Producer::from_iter(&ctl, "producer", 0..1_000u64, Dispatch::Demand);
    let mut c = Consumer::new(&ctl, "picky", 0u64, |n: &mut u64, e| {
        assert!(e != 7, "seven is not allowed");
        *n += 1
    });
    c.subscribe(&mut p, Subscription::new().max_demand(5))
        .unwrap();
    let (p, c) = (p.start(), c.start());
    assert!(c.join().is_none());
    p.join();
    assert!(ctl.errors()[0].contains("'picky'") && ctl.errors()[0].contains("seven"));
}
