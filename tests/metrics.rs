//! OpenMetrics out: a profiler's `/metrics`, scraped over HTTP while its pipeline runs, says
//! what its probes say, in a format Prometheus's own checker accepts.

use std::io::{Read, Write};

use palavriado::Profiler;
use palavriado::channel::crossbeam;

/// `GET path` on `addr` (asking for OpenMetrics, as Prometheus does, when `openmetrics`);
/// returns (status line, headers and body).
fn get(addr: std::net::SocketAddr, path: &str, openmetrics: bool) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let accept = if openmetrics {
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    } else {
        ""
    };
    write!(s, "GET {path} HTTP/1.0\r\n{accept}\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.lines().next().unwrap_or_default().to_string();
    (status, text)
}

/// The value of the sample line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn a_scrape_says_what_the_probes_say() {
    let profiler = Profiler::new("scraped")
        .metrics("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = profiler.metrics_addr().unwrap();
    let (tx, rx) = crossbeam::bounded::<u64>(&profiler, "numbers", 8);
    let producer = profiler.stage("producer");
    let t = std::thread::spawn(move || {
        let _on = producer.enter();
        // Slowly enough that the sampler stamps messages for the time in channel.
        for n in 0..1_000 {
            if n % 100 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            tx.send(n).unwrap();
        }
    });
    let sum: u64 = {
        let _on = profiler.stage("sum").enter();
        rx.iter().sum()
    };
    t.join().unwrap();
    assert_eq!(sum, 499_500);

    let (status, text) = get(addr, "/metrics", true);
    assert!(status.contains("200"), "{status}");
    assert!(
        text.contains("application/openmetrics-text; version=1.0.0"),
        "{text}"
    );
    let sum_labels = r#"{program="scraped",stage="sum",kind="consumer"}"#;
    assert_eq!(
        value(
            &text,
            &format!("palavriado_stage_events_in_total{sum_labels}")
        ),
        1_000.0
    );
    let channel = r#"{program="scraped",stage="numbers",kind="channel"}"#;
    assert_eq!(
        value(
            &text,
            &format!("palavriado_stage_events_out_total{channel}")
        ),
        1_000.0
    );
    assert_eq!(
        value(&text, &format!("palavriado_channel_capacity{channel}")),
        8.0
    );
    // The arrows: the producer sends into the channel, the channel feeds the sum.
    assert_eq!(
        value(
            &text,
            r#"palavriado_stage_link{program="scraped",stage="producer",to="numbers"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"palavriado_stage_link{program="scraped",stage="numbers",to="sum"}"#
        ),
        1.0
    );
    // The Grafana dashboard asks only for series a scrape has.
    let dashboard = include_str!("../docs/grafana/palavriado-fleet.json");
    let json: serde_json::Value = serde_json::from_str(dashboard).expect("the dashboard's JSON");
    let exprs: Vec<&str> = json["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().expect("targets"))
        .map(|t| t["expr"].as_str().expect("an expression"))
        .collect();
    assert_eq!(exprs.len(), 9);
    for e in exprs {
        for name in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if name.starts_with("palavriado_") && name != "palavriado_diagnosis" {
                assert!(
                    text.contains(&format!("\n{name}{{")),
                    "{name} is not scraped"
                );
            }
        }
    }
    // A channel has no time split; a stage's adds up to its life.
    assert!(!text.contains(&format!("palavriado_stage_busy_seconds_total{channel}")));
    let producer = r#"{program="scraped",stage="producer",kind="producer"}"#;
    let split: f64 = ["busy", "backpressured", "idle"]
        .iter()
        .map(|m| {
            value(
                &text,
                &format!("palavriado_stage_{m}_seconds_total{producer}"),
            )
        })
        .sum();
    assert!(split > 0.0 && split < 60.0, "{split}");
    // Every message counted in the channel's histogram is in its +Inf bucket.
    let count = value(
        &text,
        &format!("palavriado_stage_mailbox_wait_seconds_count{channel}"),
    );
    let inf = value(
        &text,
        r#"palavriado_stage_mailbox_wait_seconds_bucket{le="+Inf",program="scraped",stage="numbers",kind="channel"}"#,
    );
    assert_eq!(count, inf);
    assert!(count > 0.0, "some messages were stamped");
    // A stage of the program's own has no mailbox: no queue series, no histogram.
    assert!(!text.contains(&format!("palavriado_stage_mailbox_messages{producer}")));
    assert!(!text.contains(&format!(
        "palavriado_stage_mailbox_wait_seconds_count{producer}"
    )));
    assert!(
        value(
            &text,
            r#"palavriado_process_cpu_seconds_total{program="scraped"}"#
        ) > 0.0
    );
    assert!(
        value(
            &text,
            r#"palavriado_process_resident_memory_bytes{program="scraped"}"#
        ) > 1e6
    );
    assert!(text.trim_end().ends_with("# EOF"));

    // Without asking, the Prometheus text format, the same samples; Prometheus's own checker
    // passes it where it is installed (CI installs it).
    let (_, text) = get(addr, "/metrics", false);
    assert!(text.contains("text/plain; version=0.0.4"), "{text}");
    assert_eq!(
        value(
            &text,
            &format!("palavriado_stage_events_in_total{sum_labels}")
        ),
        1_000.0
    );
    if let Ok(mut check) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
        check
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (status, _) = get(addr, "/other", false);
    assert!(status.contains("404"), "{status}");
    profiler.finish().unwrap();
}

#[test]
fn an_address_it_cannot_serve_on_is_one_line_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = Profiler::new("x")
        .metrics(addr.clone())
        .start()
        .unwrap_err();
    let line = err.to_string();
    assert!(line.contains(&addr) && !line.contains('\n'), "{line}");
    assert!(matches!(err, palavriado::Error::Serve(_)));
}
