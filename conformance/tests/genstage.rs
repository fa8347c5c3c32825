//! GenStage's refill scenarios, exact, on both runtimes, from a crate that depends on
//! palavriado as a user's program does. At every refill point the stage keeps its scheduler
//! thread (blocking it, or computing): the producer must still get the refill and emit, as
//! GenStage's producer, a process of its own, does.

use genstage_conformance::{Busy, Under, genstage_refills, run};
use palavriado::Runtime;

/// Runs one scenario on both runtimes, both ways of being busy, and checks every refill point
/// against the model.
fn scenario(under: Under, max: u64, min: u64, total: u64) {
    let want = genstage_refills(max, min, total);
    for runtime in [Runtime::Scheduler, Runtime::Threads] {
        for busy in [Busy::Blocks, Busy::Computes] {
            let (seen, n) = run(runtime, under, max, min, total, busy);
            assert_eq!(n, total, "{runtime}, {busy:?}: every event reaches the end");
            assert_eq!(
                seen, want,
                "{runtime}, {busy:?}, {under:?} max {max} min {min}: (handled, emitted) at each refill point"
            );
        }
    }
}

#[test]
fn the_model_gives_genstages_published_numbers() {
    // Default demand: 500 more once 500 are handled.
    assert_eq!(
        genstage_refills(1000, 500, 3000),
        [
            (0, 1000),
            (500, 1500),
            (1000, 2000),
            (1500, 2500),
            (2000, 3000)
        ]
    );
    // min_demand at 80 % of max: a refill every 20 events.
    let p = genstage_refills(100, 80, 400);
    assert!(
        p.iter()
            .enumerate()
            .all(|(i, &(h, e))| h == 20 * i as u64 && e == 100 + h)
    );
    // At 20 %: refills at 80, 180, 260, 360, 440…
    let at: Vec<u64> = genstage_refills(100, 20, 600).iter().map(|p| p.0).collect();
    assert_eq!(at[..6], [0, 80, 180, 260, 360, 440]);
    // max 10 / min 5: 15 emitted once 5 of the first 10 are handled.
    assert_eq!(
        genstage_refills(10, 5, 100)[..3],
        [(0, 10), (5, 15), (10, 20)]
    );
}

#[test]
fn default_demand_refills_half_way() {
    scenario(Under::Consumer, 1000, 500, 3000);
}

#[test]
fn min_demand_at_80_percent_refills_every_20() {
    scenario(Under::Consumer, 100, 80, 400);
}

#[test]
fn min_demand_at_20_percent_refills_at_80_180_260() {
    scenario(Under::Consumer, 100, 20, 600);
}

#[test]
fn max_10_min_5_has_emitted_15_after_5() {
    scenario(Under::Consumer, 10, 5, 100);
}

#[test]
fn a_producer_consumer_at_80_percent_refills_every_20() {
    scenario(Under::ProducerConsumer, 100, 80, 400);
}
