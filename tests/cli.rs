//! The `palavriado` binary: options, JSON, exit codes.

#[path = "../src/tests/common.rs"]
mod common;

use std::process::Command;

fn palavriado(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palavriado"))
        .args(args)
        .output()
        .expect("running palavriado")
}

#[test]
fn run_json_has_the_documented_fields() {
    let dir = common::corpus_dir(&[("a.txt", b"Capitu Capitu olhos de ressaca\n")]);
    let out = palavriado(&[
        "run",
        "--corpus",
        dir.path().to_str().unwrap(),
        "--repeat",
        "2",
        "-s",
        "push",
        "--json",
        "--top",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["strategy"], "push");
    assert_eq!(v["files"], 1);
    assert_eq!(v["repeat"], 2);
    assert_eq!(v["bytes"], 62);
    assert_eq!(v["lines"], 2);
    assert_eq!(v["total_words"], 8);
    assert_eq!(v["distinct_words"], 3);
    assert_eq!(v["completed"], true);
    assert!(v["stop_reason"].is_null());
    assert!(v["warnings"].as_array().unwrap().is_empty());
    assert_eq!(v["counts_sha256"].as_str().unwrap().len(), 64);
    assert!(
        v["wall_ms"].as_f64().unwrap() > 0.0,
        "a run that read 62 bytes took time"
    );
    assert_eq!(v["top_words"][0]["words"][0][0], "olhos");
    assert_eq!(v["top_words"][1]["words"][0][0], "capitu");
    assert_eq!(v["top_words"][1]["words"][0][1], 4);
}

#[test]
fn runtime_is_chosen_on_the_command_line_and_reported() {
    let dir = common::corpus_dir(&[("a.txt", b"Capitu Capitu olhos de ressaca\n")]);
    let path = dir.path().to_str().unwrap();
    for (runtime, schedulers) in [("threads", 0), ("scheduler", 3)] {
        let out = palavriado(&[
            "run",
            "--corpus",
            path,
            "-s",
            "pull",
            "--workers",
            "2",
            "--runtime",
            runtime,
            "--schedulers",
            "3",
            "--json",
            "--top",
            "0",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["runtime"], runtime);
        assert_eq!(v["schedulers"], schedulers);
        assert_eq!(v["total_words"], 4);
        let names: Vec<&str> = v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "producer",
                "extractor 1",
                "extractor 2",
                "counter 1",
                "counter 2"
            ]
        );
        assert!(v["stages"][0]["polls"].as_u64().unwrap() > 0);
        let per_scheduler = v["mean_scheduler_percent"].as_array().unwrap().len();
        assert_eq!(per_scheduler, schedulers, "{runtime}");
    }
    let text =
        String::from_utf8(palavriado(&["run", "--corpus", path, "--runtime", "threads"]).stdout)
            .unwrap();
    assert!(text.contains("runtime threads (one per stage)"), "{text}");
    let bad = palavriado(&["run", "--runtime", "fibers"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("fibers") && err.contains("scheduler or threads"),
        "{err}"
    );
}

#[test]
fn readable_summary_prints_top_words_by_length() {
    let dir = common::corpus_dir(&[("a.txt", b"Capitu Capitu olhos de ressaca\n")]);
    let out = palavriado(&["run", "--corpus", dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("4 words, 3 distinct"), "{text}");
    assert!(text.contains("6: capitu (2)"), "{text}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_it() {
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "--corpus", "/no/such/corpus"],
            "/no/such/corpus",
        ),
        (vec!["run", "--strategy", "quantum"], "quantum"),
        (vec!["run", "--repeat", "0"], "--repeat"),
        (vec!["run", "--delay-ms", "-3"], "--delay-ms"),
        (vec!["run", "--split", "words"], "words"),
        (vec!["run", "--schedulers", "0"], "--schedulers"),
        (vec!["bench", "--runtime", "fibers"], "fibers"),
        (vec!["attach", "--duration", "0"], "--duration"),
        (
            vec![
                "attach",
                "--record",
                "x.json.gz",
                "127.0.0.1:1",
                "127.0.0.1:2",
            ],
            "--record follows one program",
        ),
        (
            vec!["fleet", "--prometheus", "http://127.0.0.1:1"],
            "cannot reach Prometheus at 'http://127.0.0.1:1'",
        ),
        (vec!["fleet", "--since", "a while"], "--since"),
    ];
    if cfg!(feature = "gui") {
        cases.push((vec!["app", "--fps", "0"], "--fps"));
        cases.push((vec!["app", "--renderer", "vulkan"], "vulkan"));
    } else {
        // Without the app, `attach` needs a file to record to.
        cases.push((vec!["attach"], "--record"));
    }
    for (args, needle) in cases {
        let out = palavriado(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let empty = tempfile::tempdir().unwrap();
    let out = palavriado(&["run", "--corpus", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no .txt files"), "{err}");
}

#[test]
fn duration_reports_a_partial_run() {
    let out = palavriado(&[
        "run",
        "-s",
        "push",
        "--delay-ms",
        "1",
        "--duration",
        "0.3",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["completed"], false);
    assert_eq!(v["stop_reason"], "duration");
    assert!(v["total_words"].as_u64().unwrap() > 0);
}

#[test]
fn bench_measures_the_reference_and_reports_every_case_relative_to_it() {
    let dir = common::corpus_dir(&[
        (
            "a.txt",
            "Capitu Capitu olhos de ressaca\n".repeat(50).as_bytes(),
        ),
        (
            "b.txt",
            "Bentinho e Escobar no seminário\n".repeat(50).as_bytes(),
        ),
        (
            "c.txt",
            "Dom Casmurro, Machado de Assis\n".repeat(50).as_bytes(),
        ),
    ]);
    let out = palavriado(&[
        "bench",
        "--corpus",
        dir.path().to_str().unwrap(),
        "--repeat",
        "2",
        "--runs",
        "1",
        "--workers",
        "2",
        "-s",
        "pull",
        "--runtime",
        "scheduler",
        "--runtime",
        "threads",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let cases = v["cases"].as_array().unwrap();
    let labels: Vec<&str> = cases.iter().map(|c| c["label"].as_str().unwrap()).collect();
    // `-s pull` keeps Pull, once per runtime, side by side; the reference is always measured,
    // first.
    assert_eq!(labels, ["sharded (reference)", "pull", "pull"]);
    let runtimes: Vec<&str> = cases
        .iter()
        .map(|c| c["runtime"].as_str().unwrap())
        .collect();
    assert_eq!(runtimes, ["scheduler", "scheduler", "threads"]);
    assert_eq!(cases[1]["counts_sha256"], cases[2]["counts_sha256"]);
    assert_eq!(cases[0]["relative_to_reference"], 1.0);
    let pull = &cases[1];
    let ratio = pull["relative_to_reference"].as_f64().unwrap();
    let expected =
        pull["median_wall_ms"].as_f64().unwrap() / cases[0]["median_wall_ms"].as_f64().unwrap();
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    // Both counted the same words: 4, 3 and 4 words of ≥ 3 letters per line, 50 lines each, ×2.
    assert_eq!(cases[0]["counts_sha256"], pull["counts_sha256"]);
    assert_eq!(pull["total_words"], (50 * 4 + 50 * 3 + 50 * 4) * 2);
    // Each case's process CPU time and context switches are measured: Pull on threads, with a
    // demand of 10, hands ~1,100 words over in small messages between 5 threads; the
    // reference's two threads never wait for each other.
    let cpu = |c: &serde_json::Value| c["median_cpu_ms"].as_f64().unwrap();
    let switches = |c: &serde_json::Value| c["median_context_switches"].as_f64().unwrap();
    assert!(cpu(&cases[0]) > 0.0 && cpu(pull) > 0.0);
    assert!(
        switches(&cases[2]) > switches(&cases[0]),
        "pull on threads {} vs reference {}",
        switches(&cases[2]),
        switches(&cases[0])
    );
}

#[test]
fn a_recorded_run_shows_exactly_as_it_ran() {
    let corpus = common::corpus_dir(&[("a.txt", b"Capitu Capitu olhos de ressaca\nBento\n")]);
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("run.json.gz");
    let file = file.to_str().unwrap();
    let base = ["-s", "pull", "--repeat", "50", "--corpus"];
    for json in [true, false] {
        let mut args = vec!["run", "--record", file];
        args.extend(base);
        args.push(corpus.path().to_str().unwrap());
        let mut show = vec!["show", file];
        if json {
            args.push("--json");
            show.push("--json");
        }
        let ran = palavriado(&args);
        assert!(
            ran.status.success(),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let shown = palavriado(&show);
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&shown.stdout)
        );
    }
    // Gzip-compressed JSON anyone can read: the documented fields are there.
    let raw = std::fs::read(file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "palavriado-recording");
    assert_eq!(v["version"], 1);
    assert_eq!(v["report"]["total_words"], 250);
    let names = v["timeline"]["names"].as_array().unwrap();
    let t = v["timeline"]["t"].as_array().unwrap();
    assert!(names.iter().any(|n| n == "memory/resident"));
    assert_eq!(
        v["timeline"]["columns"].as_array().unwrap().len(),
        names.len()
    );
    assert_eq!(
        v["timeline"]["columns"][0].as_array().unwrap().len(),
        t.len()
    );
    assert_eq!(v["stages"].as_array().unwrap().len(), 5);

    // Truncated, foreign, newer and missing files: one line, exit 2.
    let dir = out_dir.path();
    std::fs::write(dir.join("cut.json.gz"), &raw[..raw.len() / 2]).unwrap();
    std::fs::write(dir.join("foreign.json"), b"{\"hello\": 1}").unwrap();
    std::fs::write(dir.join("notes.txt"), b"just words").unwrap();
    let mut newer = v.clone();
    newer["version"] = 99.into();
    std::fs::write(dir.join("newer.json"), newer.to_string()).unwrap();
    let mut broken = v.clone();
    broken["timeline"]["t"] = serde_json::json!([1.0]);
    std::fs::write(dir.join("broken.json"), broken.to_string()).unwrap();
    for (name, needle) in [
        ("cut.json.gz", "truncated"),
        ("foreign.json", "not a palavriado recording"),
        ("notes.txt", "not a palavriado recording"),
        ("newer.json", "newer palavriado"),
        ("broken.json", "corrupt"),
        ("missing.json.gz", "cannot read"),
    ] {
        let path = dir.join(name);
        let out = palavriado(&["show", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn attach_records_a_running_program_and_refuses_nothing_in_one_line() {
    use palavriado::Profiler;
    use palavriado::{Consumer, Dispatch, Producer, Subscription};

    // Nothing listening: exit 2, one line naming the address.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = palavriado(&["attach", &free, "--record", "x.json.gz"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&free), "{err}");

    // A program of the test's own, serving; `attach --record` follows it to its end.
    let profiler = Profiler::new("cli test")
        .serve("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seen.json.gz");
    let attach = Command::new(env!("CARGO_BIN_EXE_palavriado"))
        .args(["attach", &addr, "--record", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the viewer is attached before the pipeline runs.
    let t = std::time::Instant::now();
    while profiler.viewers() == 0 {
        assert!(t.elapsed().as_secs() < 60, "the viewer never attached");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let ctl = profiler.pipeline();
    let mut numbers = Producer::from_iter(ctl, "numbers", 0..100_000u64, Dispatch::Demand);
    let mut sum = Consumer::new(ctl, "sum", 0u64, |t: &mut u64, x: u64| *t += x);
    sum.subscribe(&mut numbers, Subscription::new().max_demand(50))
        .unwrap();
    let (numbers, sum) = (numbers.start(), sum.start());
    assert_eq!(sum.join(), Some(4_999_950_000));
    numbers.join();
    profiler.finish().unwrap();
    let out = attach.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("the program finished"), "{said}");
    let shown = palavriado(&["show", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.starts_with("program cli test: completed"), "{text}");
    assert!(text.contains("100,000"), "{text}");
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    // `palavriado run … | head -1`: the summary is many lines; the reader leaves after none.
    let dir = common::corpus_dir(&[("a.txt", b"Capitu Capitu olhos de ressaca\n")]);
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_palavriado"))
        .args([
            "run",
            "--corpus",
            dir.path().to_str().unwrap(),
            "--top",
            "5",
        ])
        .stdout(writer)
        .output()
        .expect("running palavriado");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "nothing to say about a closed pipe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
