//! Every strategy gives the same counts; runs stop promptly and join every thread.

#[path = "../src/tests/common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use palavriado::StageState;
use palavriado::wordcount::{Corpus, SplitMode, Strategy};
use palavriado::{Run, RunSettings};
use palavriado::{Runtime, StopReason};

fn settings(s: Strategy, workers: usize) -> RunSettings {
    let mut st = RunSettings::new(s);
    st.workers = workers;
    st
}

/// Settings whose stages run on `rt` (2 scheduler threads on the scheduler).
fn settings_on(s: Strategy, workers: usize, rt: Runtime) -> RunSettings {
    let mut st = settings(s, workers);
    st.runtime = rt;
    st.schedulers = 2;
    st
}

#[test]
fn all_strategies_agree_on_the_builtin_corpus() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    let lazy = Run::start(corpus.clone(), settings(Strategy::Lazy, 1)).wait();
    assert!(lazy.completed);
    assert!(lazy.total_words > 1_000_000);
    for rt in Runtime::ALL {
        for s in Strategy::RUNNABLE {
            for workers in [1, 3] {
                let r = Run::start(corpus.clone(), settings_on(s, workers, rt)).wait();
                assert!(r.completed, "{s} on {rt}");
                assert_eq!(r.runtime, rt);
                assert_eq!(r.total_words, lazy.total_words, "{s} ×{workers} on {rt}");
                assert_eq!(
                    r.distinct_words, lazy.distinct_words,
                    "{s} ×{workers} on {rt}"
                );
                assert_eq!(
                    r.counts_sha256, lazy.counts_sha256,
                    "{s} ×{workers} on {rt}"
                );
                assert_eq!(r.lines, lazy.lines, "{s} on {rt}");
                assert!(r.errors.is_empty(), "{s} on {rt}: {:?}", r.errors);
            }
        }
    }
}

#[test]
fn small_demand_shows_as_context_switches_on_threads_and_not_on_the_scheduler() {
    // Pull with max_demand 10 on threads hands the built-in corpus's 1.3 M words over in
    // messages of at most 10 between 5 threads: hundreds of thousands of switches. Lazy's one
    // thread counts alone and is switched in only when the OS takes it off its core now and
    // then. On the scheduler the same hand-offs are queue pushes between tasks.
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    let lazy = Run::start(
        corpus.clone(),
        settings_on(Strategy::Lazy, 1, Runtime::Threads),
    )
    .wait();
    let pull = Run::start(
        corpus.clone(),
        settings_on(Strategy::Pull, 2, Runtime::Threads),
    )
    .wait();
    let tasks = Run::start(corpus, settings_on(Strategy::Pull, 2, Runtime::Scheduler)).wait();
    assert_eq!(tasks.counts_sha256, pull.counts_sha256);
    assert!(
        tasks.context_switches * 5 < pull.context_switches,
        "scheduler {} vs threads {}",
        tasks.context_switches,
        pull.context_switches
    );
    // The scheduler's report says where the time went, per stage and per scheduler.
    assert_eq!(tasks.mean_scheduler_percent.len(), 2);
    assert_eq!(tasks.stages.len(), 5);
    assert!(tasks.stages.iter().all(|s| s.polls > 0 && s.busy_ms > 0.0));
    assert!(lazy.context_switches > 0);
    assert!(
        pull.context_switches > 50_000 && pull.context_switches > 20 * lazy.context_switches,
        "pull {} vs lazy {}",
        pull.context_switches,
        lazy.context_switches
    );
    let json = serde_json::to_value(&pull).unwrap();
    assert_eq!(json["context_switches"], pull.context_switches);
}

#[test]
fn repeat_multiplies_every_count() {
    let once = Arc::new(Corpus::builtin(1).unwrap());
    let twice = Arc::new(Corpus::builtin(2).unwrap());
    let a = Run::start(once, settings(Strategy::Lazy, 1)).wait();
    let b = Run::start(twice, settings(Strategy::Push, 2)).wait();
    assert_eq!(b.total_words, 2 * a.total_words);
    assert_eq!(b.distinct_words, a.distinct_words);
    for (w, n) in a.counts.iter().take(50) {
        assert_eq!(b.counts.get(w), 2 * n, "{w}");
    }
}

#[test]
fn stop_mid_run_joins_every_thread_promptly() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    for (rt, s) in Runtime::ALL
        .into_iter()
        .flat_map(|rt| Strategy::RUNNABLE.map(|s| (rt, s)))
    {
        let mut st = settings_on(s, 2, rt);
        // Eager extracts once per file, the others once per line.
        st.delay = Duration::from_millis(if s == Strategy::Eager { 50 } else { 1 });
        let run = Run::start(corpus.clone(), st);
        std::thread::sleep(Duration::from_millis(300));
        let ctl = run.pipeline();
        assert!(!run.is_finished(), "{s} on {rt} finished before the stop");
        let asked = Instant::now();
        run.stop();
        let r = run.wait();
        let took = asked.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{s} on {rt} took {took:?} to stop"
        );
        assert!(!r.completed);
        assert_eq!(r.stop_reason, Some(StopReason::Cancelled));
        assert!(r.total_words > 0, "{s} counted nothing in 300 ms");
        for stage in ctl.stages() {
            assert_eq!(stage.state(), StageState::Done, "{s}: {}", stage.name);
            assert_eq!(
                stage.mailbox_len(),
                0,
                "{s}: {} still holds messages",
                stage.name
            );
        }
    }
}

#[test]
fn duration_stops_the_run() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    let mut st = settings(Strategy::Lazy, 1);
    st.delay = Duration::from_millis(1);
    st.duration = Some(Duration::from_millis(200));
    let r = Run::start(corpus, st).wait();
    assert_eq!(r.stop_reason, Some(StopReason::Duration));
    assert!(!r.completed);
    assert!(r.wall_ms < 1_000.0, "{}", r.wall_ms);
    // At most one line per ms of the run with a 1 ms delay (the stop itself can come a sample
    // late on a loaded machine, so the bound is the run's wall time, not the 200 ms asked).
    assert!(
        r.lines > 0 && r.lines as f64 <= r.wall_ms + 5.0,
        "{} lines in {} ms",
        r.lines,
        r.wall_ms
    );
}

#[test]
fn delay_changes_live_and_is_recorded() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    let mut st = settings(Strategy::Lazy, 1);
    st.delay = Duration::from_millis(2);
    let run = Run::start(corpus, st);
    std::thread::sleep(Duration::from_millis(100));
    let before = run.lines_read();
    assert!(before <= 60, "{before} lines in 100 ms with a 2 ms delay");
    run.pipeline().set_delay(Duration::ZERO);
    let r = run.wait();
    assert!(r.completed);
    assert!(r.events.iter().any(|e| matches!(
        e.kind,
        palavriado::RunEventKind::DelayChanged { delay_ms } if delay_ms == 0.0
    )));
}

#[test]
fn a_long_delay_is_interrupted_by_stop() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    for rt in Runtime::ALL {
        for s in [Strategy::Push, Strategy::Pull, Strategy::Lazy] {
            let mut st = settings_on(s, 2, rt);
            st.delay = Duration::from_secs(30);
            let run = Run::start(corpus.clone(), st);
            std::thread::sleep(Duration::from_millis(100));
            let asked = Instant::now();
            run.stop();
            run.wait();
            assert!(asked.elapsed() < Duration::from_secs(1), "{s} on {rt}");
        }
    }
}

#[test]
fn turning_a_long_delay_off_acts_at_once() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    for rt in Runtime::ALL {
        let mut st = settings_on(Strategy::Pull, 2, rt);
        st.delay = Duration::from_secs(30);
        let run = Run::start(corpus.clone(), st);
        std::thread::sleep(Duration::from_millis(100));
        let off = Instant::now();
        run.pipeline().set_delay(Duration::ZERO);
        let r = run.wait();
        assert!(r.completed, "{rt}");
        // The built-in corpus takes well under a second without the delay; a sleeping
        // extractor that slept out its 30 s would hold the run.
        assert!(
            off.elapsed() < Duration::from_secs(10),
            "{rt}: {:?}",
            off.elapsed()
        );
    }
}

#[test]
fn a_one_ms_delay_lasts_one_ms_not_a_timer_tick_more() {
    // With 1 ms per line, one extractor handles about 1,000 lines a second; timers that round
    // each sleep up to the next tick would give about 500. A generous band: this is a shared
    // machine, and the run is short.
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    for rt in Runtime::ALL {
        let mut st = settings_on(Strategy::Pull, 1, rt);
        st.delay = Duration::from_millis(1);
        st.duration = Some(Duration::from_millis(1500));
        let r = Run::start(corpus.clone(), st).wait();
        let per_s = r.lines as f64 / (r.wall_ms / 1e3);
        assert!(
            (650.0..=1_150.0).contains(&per_s),
            "{rt}: {per_s:.0} lines/s"
        );
    }
}

#[test]
#[ignore = "reads the talk's corpus: run with --run-ignored only (CI does)"]
fn talks_corpus_counts_exactly() {
    let machado = common::machado();
    let corpus = Arc::new(Corpus::open(&machado, 1).unwrap());
    assert_eq!(corpus.files.len(), 116);
    let mut sha = None;
    for (rt, s) in Runtime::ALL
        .into_iter()
        .flat_map(|rt| Strategy::RUNNABLE.map(|s| (rt, s)))
    {
        let r = Run::start(corpus.clone(), settings_on(s, 2, rt)).wait();
        assert_eq!(r.total_words, 1_374_803, "{s}");
        assert_eq!(r.distinct_words, 72_458, "{s}");
        assert_eq!(r.lines, 183_409, "{s}");
        assert!(r.warnings.is_empty(), "{s}: {:?}", r.warnings);
        let prev = sha.get_or_insert(r.counts_sha256.clone());
        assert_eq!(&r.counts_sha256, prev, "{s}");
    }
    let mut st = settings(Strategy::Lazy, 1);
    st.split = SplitMode::TalkBytes;
    let r = Run::start(corpus, st).wait();
    // The talk's real output on ×10 is 13,731,010 words, 72,405 distinct.
    assert_eq!(r.total_words, 1_373_101);
    assert_eq!(r.distinct_words, 72_405);
}

#[test]
fn report_top_words_match_the_counts_at_every_depth() {
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    let r = Run::start(corpus, settings(Strategy::Lazy, 1)).wait();
    // Kept depths (computed once, then cut) and a deeper one (computed on demand) both read
    // exactly what the counts say.
    for top in [1, 5, palavriado::RunReport::TOP_WORDS_KEPT, 25] {
        assert_eq!(r.top_words(top), r.counts.top_by_length(top), "top {top}");
    }
}
