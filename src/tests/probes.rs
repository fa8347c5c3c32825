//! Probe accuracy: the counting allocator, per-core and per-stage CPU, queued bytes, limits.

use super::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::observe::run::{Run, RunSettings};
use crate::observe::series::{self, StageMetric};
use crate::observe::timeline::Timeline;
use crate::observe::watch;
use crate::runtime::probe::StageKind;
use crate::runtime::probe::heap::{self, CountingAlloc};
use crate::runtime::run_event::RunEventKind;
use crate::wordcount::{Corpus, Strategy};
use crate::{Pipeline, Runtime, StopReason};

/// The heap counters and per-core CPU are process-wide: under `cargo test`, which runs this
/// file's tests as threads of one process, each test holds this lock so none reads another's
/// allocations or CPU.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn sampled(hz: u32, body: impl FnOnce(&Pipeline)) -> Arc<Timeline> {
    sampled_on(Runtime::Threads, hz, body)
}

/// Samples at `hz` while `body` runs stages on `runtime` (2 scheduler threads).
fn sampled_on(runtime: Runtime, hz: u32, body: impl FnOnce(&Pipeline)) -> Arc<Timeline> {
    CountingAlloc::activate();
    let ctl = Pipeline::builder().runtime(runtime).schedulers(2).build();
    let timeline = Arc::new(Timeline::default());
    let sampler = watch::spawn(ctl.control().clone(), timeline.clone(), hz, None, None);
    body(&ctl);
    ctl.control().mark_finished();
    sampler.join().unwrap();
    timeline
}

#[test]
fn heap_series_moves_by_a_64_mib_buffer() {
    let _serial = serial();
    const SIZE: usize = 64 << 20;
    let tl = sampled(200, |_| {
        std::thread::sleep(Duration::from_millis(100));
        let buf = vec![7u8; SIZE];
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(buf[SIZE - 1], 7);
        drop(buf);
        std::thread::sleep(Duration::from_millis(100));
    });
    let heap = tl.series(series::HEAP);
    assert!(heap.len() > 30, "{} samples", heap.len());
    let max = heap.iter().map(|p| p.1).fold(0.0, f64::max);
    let first = heap[0].1;
    let last = heap[heap.len() - 1].1;
    let tolerance = 1.0 * (1 << 20) as f64;
    assert!(
        (max - first - SIZE as f64).abs() < tolerance,
        "rise {}",
        max - first
    );
    assert!(
        (max - last - SIZE as f64).abs() < tolerance,
        "fall {}",
        max - last
    );
    assert!(heap::peak_bytes() as f64 >= max - tolerance);
}

/// CPU time of the calling thread from its own clock (ms).
fn own_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

#[test]
fn a_spinning_stage_shows_on_one_core_and_in_its_cpu_time() {
    let _serial = serial();
    let mut truth_ms = 0.0;
    let tl = sampled(50, |ctl| {
        let probe = ctl.control().register_stage("spinner", StageKind::Consumer);
        truth_ms = ctl
            .control()
            .spawn(probe, async {
                // Spin until this thread has really used 1 s of CPU (other tests may share
                // the cores), with a wall-clock bound.
                let give_up = Instant::now() + Duration::from_secs(20);
                while own_cpu_ms() < 1000.0 && Instant::now() < give_up {
                    std::hint::spin_loop();
                }
                own_cpu_ms()
            })
            .join()
            .unwrap();
    });
    // The probe's reading matches the thread's own CPU clock: ≈ 1 s.
    let cpu_ms = tl
        .last(&series::stage("spinner", StageMetric::CpuMs))
        .unwrap();
    assert!(
        (cpu_ms - truth_ms).abs() < 30.0,
        "probe {cpu_ms} ms, thread clock {truth_ms} ms"
    );
    // (The last sample may precede the thread's exit by one 20 ms period.)
    assert!(
        (950.0..1100.0).contains(&cpu_ms),
        "stage CPU time {cpu_ms} ms"
    );
    // Busiest core over the spin: the two cores' samples summed, averaged, ≈ one full core.
    let cores = crate::runtime::probe::os::logical_cores();
    let mut busy = vec![0.0; tl.series(&series::core(0)).len()];
    for c in 0..cores {
        for (i, (_, v)) in tl.series(&series::core(c)).into_iter().enumerate() {
            if i < busy.len() {
                busy[i] += v;
            }
        }
    }
    let mean = busy.iter().skip(2).sum::<f64>() / (busy.len().saturating_sub(2)).max(1) as f64;
    assert!(
        (70.0..=100.0 * cores as f64).contains(&mean),
        "{mean} % over {cores} cores"
    );
}

#[test]
fn a_spinning_task_shows_as_busy_time_and_a_full_scheduler() {
    let _serial = serial();
    // On the scheduler a stage has no thread of its own: its busy time is the time inside its
    // polls, and the scheduler that runs it reads ≈ 100 % from the runtime's own counters. Like
    // every stage, it gives others a turn now and then (the runtime counts a poll when it ends).
    let spin = Duration::from_millis(600);
    let mut inside_ms = 0.0;
    let tl = sampled_on(Runtime::Scheduler, 50, |ctl| {
        let probe = ctl.control().register_stage("spinner", StageKind::Consumer);
        inside_ms = ctl
            .control()
            .spawn(probe, async move {
                // The time it spends between its turns, by its own clock.
                let mut inside = Duration::ZERO;
                let until = Instant::now() + spin;
                while Instant::now() < until {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_micros(200) {
                        std::hint::spin_loop();
                    }
                    inside += start.elapsed();
                    crate::runtime::executor::yield_now().await;
                }
                inside.as_secs_f64() * 1e3
            })
            .join()
            .unwrap();
        // Idle for a few samples, so the end of the spin is sampled.
        std::thread::sleep(Duration::from_millis(100));
    });
    // Every poll of 200 µs is timed: busy time is the spin's own, plus the few instructions
    // around it in each poll.
    let busy = tl
        .last(&series::stage("spinner", StageMetric::BusyMs))
        .unwrap();
    assert!(
        busy >= inside_ms && busy < inside_ms * 1.1 + 10.0,
        "busy {busy} ms for {inside_ms} ms of spinning"
    );
    assert_eq!(
        tl.last(&series::stage("spinner", StageMetric::CpuMs)),
        Some(busy)
    );
    // Its share of the run's CPU (the schedulers' CPU time, shared out by busy time) adds up to
    // what it spun, by its own clock.
    let pts = tl.series(&series::stage("spinner", StageMetric::CpuPercent));
    let cpu_s: f64 = pts
        .windows(2)
        .map(|w| w[1].1 / 100.0 * (w[1].0 - w[0].0))
        .sum();
    assert!(
        (cpu_s * 1e3 - inside_ms).abs() < inside_ms * 0.15 + 20.0,
        "{cpu_s:.3} s of CPU for {inside_ms:.0} ms of spinning"
    );
    // The spin kept one scheduler's worth busy: the schedulers' utilisation, integrated over
    // the samples, is ≈ 600 ms. (A stage that yields goes to the back of a run queue idle
    // schedulers steal from, so the spin may move between them.)
    let per_scheduler: Vec<Vec<(f64, f64)>> =
        (0..2).map(|i| tl.series(&series::scheduler(i))).collect();
    let integral = |pts: &[(f64, f64)]| -> f64 {
        pts.windows(2)
            .map(|w| w[1].1 / 100.0 * (w[1].0 - w[0].0))
            .sum()
    };
    let total: f64 = per_scheduler.iter().map(|p| integral(p)).sum();
    assert!((0.5..0.75).contains(&total), "{total} s of scheduler time");
    // While it spins, the two together read one full scheduler.
    let full = per_scheduler[0]
        .iter()
        .zip(&per_scheduler[1])
        .filter(|((_, a), (_, b))| a + b > 90.0)
        .count();
    assert!(full >= 5, "only {full} samples show a full scheduler");
}

#[test]
fn a_stage_that_sleeps_200_times_is_switched_in_about_200_times() {
    let _serial = serial();
    let tl = sampled(50, |ctl| {
        let probe = ctl.control().register_stage("napper", StageKind::Consumer);
        ctl.control()
            .spawn(probe, async {
                for _ in 0..200 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Stay alive, without sleeping, for a few sample periods, so samples are taken
                // after the last sleep (an ended thread's counters can no longer be read).
                let until = Instant::now() + Duration::from_millis(80);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            })
            .join()
            .unwrap();
    });
    // Every sleep gives the core up and every wake-up switches the thread back in; being
    // preempted adds more, up to about as many again when the other tests load both cores.
    let switches = tl
        .last(&series::stage("napper", StageMetric::Switches))
        .unwrap();
    assert!(
        (200.0..=600.0).contains(&switches),
        "{switches} switches for 200 sleeps"
    );
    // Between samples, the rate times the interval is the growth of the total.
    let rates = tl.series(&series::stage("napper", StageMetric::SwitchesPerS));
    let totals = tl.series(&series::stage("napper", StageMetric::Switches));
    assert!(rates.len() > 2 && rates.len() == totals.len());
    let summed: f64 = (1..rates.len())
        .map(|i| rates[i].1 * (rates[i].0 - rates[i - 1].0))
        .sum();
    let grown = totals[totals.len() - 1].1 - totals[0].1;
    assert!(
        (summed - grown).abs() < 0.5,
        "rates sum to {summed}, totals grew by {grown}"
    );
}

#[test]
fn queued_bytes_drop_to_zero_when_a_run_ends() {
    let _serial = serial();
    CountingAlloc::activate();
    let corpus = Arc::new(Corpus::builtin(2).unwrap());
    let mut st = RunSettings::new(Strategy::Push);
    st.workers = 2;
    st.delay = Duration::from_millis(1);
    st.duration = Some(Duration::from_millis(500));
    st.sample_hz = 100;
    let r = Run::start(corpus, st).wait();
    assert_eq!(r.stop_reason, Some(StopReason::Duration));
    let queued = r.timeline.series(series::QUEUED);
    let peak = queued.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(peak > 1e6, "push with delay queued only {peak} bytes");
    assert_eq!(queued.last().unwrap().1, 0.0);
    assert!(r.samples >= 40, "{} samples in 0.5 s at 100 Hz", r.samples);
    // The run's events are on the timeline.
    let events = r.timeline.events();
    assert!(events.len() >= 3, "{events:?}");
}

#[test]
fn memory_limit_stops_push_with_delay_cleanly() {
    let _serial = serial();
    CountingAlloc::activate();
    let corpus = Arc::new(Corpus::builtin(10).unwrap());
    for rt in Runtime::ALL {
        let mut st = RunSettings::new(Strategy::Push);
        st.workers = 2;
        st.runtime = rt;
        st.delay = Duration::from_millis(1);
        st.memory_limit = crate::observe::run::MemoryLimit::Bytes(60_000_000);
        let started = Instant::now();
        let r = Run::start(corpus.clone(), st).wait();
        assert_eq!(r.stop_reason, Some(StopReason::MemoryLimit), "{rt}");
        assert!(started.elapsed() < Duration::from_secs(20), "{rt}");
        assert!(r.total_words > 0, "{rt}: partial result kept");
        assert!(r.peak_rss_bytes < 100_000_000, "{rt}: {}", r.peak_rss_bytes);
        assert!(r.timeline.len() > 5, "{rt}");
    }
}

#[test]
#[ignore = "reads the talk's corpus: run with --run-ignored only (CI does)"]
fn talks_shapes_pull_stays_bounded_push_explodes() {
    let _serial = serial();
    let machado = common::machado();
    CountingAlloc::activate();
    let corpus = Arc::new(Corpus::open(&machado, 10).unwrap());
    let run = |s: Strategy| {
        let mut st = RunSettings::new(s);
        st.workers = 2;
        st.delay = Duration::from_millis(1);
        st.duration = Some(Duration::from_secs(3));
        Run::start(corpus.clone(), st).wait()
    };
    let pull = run(Strategy::Pull);
    // Bound from the demand settings: a counter's mailbox holds at most max_demand one-event
    // batches from each of the 2 extractors plus their completions; asks and line batches
    // are fewer. So no mailbox exceeds workers × (max_demand + 1) = 22.
    assert!(
        pull.max_mailbox_len <= 22,
        "pull max mailbox {}",
        pull.max_mailbox_len
    );
    let queued = pull.timeline.max(series::QUEUED).unwrap();
    assert!(queued < 100_000.0, "pull queued {queued} bytes");
    let push = run(Strategy::Push);
    let extractor_max = push
        .timeline
        .max(&series::stage("extractor 1", StageMetric::Msgq))
        .unwrap();
    assert!(
        extractor_max > 10_000.0,
        "push extractor mailbox {extractor_max}"
    );
    assert!(push.timeline.max(series::QUEUED).unwrap() > 10_000_000.0);
    println!(
        "pull: max mailbox {}, queued ≤ {queued} B; push: extractor 1 mailbox {extractor_max}",
        pull.max_mailbox_len
    );
}

#[test]
fn words_counted_progress_is_live_for_every_strategy() {
    let _serial = serial();
    // Before, Pull and Flow published their count only at the end, so the live words/s read
    // 0 and then one absurd spike.
    let corpus = Arc::new(Corpus::builtin(1).unwrap());
    for s in Strategy::RUNNABLE {
        if s == Strategy::Eager {
            continue; // counts a whole file at a time, by design
        }
        let mut st = RunSettings::new(s);
        st.workers = 2;
        st.delay = Duration::from_micros(200);
        st.duration = Some(Duration::from_millis(600));
        st.sample_hz = 100;
        let r = Run::start(corpus.clone(), st).wait();
        let words = r.timeline.series(series::WORDS);
        let stop = r
            .timeline
            .events()
            .iter()
            .find(|e| {
                matches!(
                    e.kind,
                    RunEventKind::StopRequested { .. } | RunEventKind::Finished { .. }
                )
            })
            .map(|e| e.at_secs)
            .unwrap_or(f64::INFINITY);
        let live = words.iter().filter(|(t, w)| *t < stop && *w > 0.0).count();
        assert!(
            live >= 3,
            "{s}: only {live} samples counted words before the stop"
        );
        assert!(
            words.windows(2).all(|p| p[1].1 >= p[0].1),
            "{s}: words counted went down"
        );
        assert_eq!(words.last().unwrap().1, r.total_words as f64, "{s}");
    }
}

#[test]
fn per_core_cpu_is_live_at_the_sample_rate() {
    // A thread spins 400 ms. The per-core series (the kernel's per-CPU counters, read at every
    // sample) summed over the cores reads ≥ 80 % of one core in the first sample that ends
    // 60 ms or more after the spin starts: no 200 ms blind start, no staircase.
    let _serial = serial();
    let mut spin_started = 0.0;
    let tl = sampled(50, |ctl| {
        std::thread::sleep(Duration::from_millis(100));
        spin_started = ctl.control().elapsed_secs();
        let until = Instant::now() + Duration::from_millis(400);
        let spinner = std::thread::spawn(move || {
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        });
        spinner.join().unwrap();
    });
    let cores = crate::runtime::probe::os::logical_cores();
    let series: Vec<Vec<(f64, f64)>> = (0..cores).map(|c| tl.series(&series::core(c))).collect();
    // Each core's reading at time t (a core whose interval had no tick yet has none).
    let at = |s: &Vec<(f64, f64)>, t: f64| s.iter().find(|p| p.0 == t).map_or(0.0, |p| p.1);
    let (t, sum) = series[0]
        .iter()
        .map(|&(t, _)| (t, series.iter().map(|s| at(s, t)).sum::<f64>()))
        .find(|&(t, _)| t >= spin_started + 0.060)
        .expect("a sample after the spin started");
    assert!(
        sum >= 80.0,
        "{sum:.0} % summed over {cores} cores at {:.0} ms into the spin",
        (t - spin_started) * 1e3
    );
    // Samples are 20 ms apart, and each one has a reading (no repeated values standing in).
    let n = series[0].len();
    assert!(n >= 20, "{n} samples");
}

#[test]
fn palavriado_itself_is_the_process_but_the_run() {
    // A stage thread spins 300 ms while a thread outside the run (standing for the app's UI)
    // spins 300 ms too: "palavriado itself" counts the second, not the first.
    let _serial = serial();
    // Spins until the calling thread has used `ms` of CPU (other tests may share the cores).
    let spin = |ms: f64| {
        let start = own_cpu_ms();
        let give_up = Instant::now() + Duration::from_secs(20);
        while own_cpu_ms() - start < ms && Instant::now() < give_up {
            std::hint::spin_loop();
        }
    };
    for rt in Runtime::ALL {
        let tl = sampled_on(rt, 50, |ctl| {
            let probe = ctl.control().register_stage("spinner", StageKind::Consumer);
            let stage = ctl.control().spawn(probe, async move { spin(300.0) });
            let ui = std::thread::spawn(move || spin(300.0));
            stage.join().unwrap();
            ui.join().unwrap();
            std::thread::sleep(Duration::from_millis(60));
        });
        let own = tl.series(series::SELF_CPU);
        let own_s: f64 = own
            .windows(2)
            .map(|w| w[1].1 / 100.0 * (w[1].0 - w[0].0))
            .sum();
        assert!(
            (0.2..0.45).contains(&own_s),
            "{rt}: palavriado itself {own_s:.3} s"
        );
    }
}
