//! A fleet read from Prometheus: a stand-in answering Prometheus's HTTP API (the shapes its
//! docs give) for two instances of one pipeline, one of them with a bottleneck and a full
//! queue; and the one-line errors. CI reads a real Prometheus (`.ci/fleet.sh`).
#![cfg(feature = "fleet")]

use std::collections::HashMap;
use std::sync::atomic::Ordering;

#[path = "common/prometheus.rs"]
mod prometheus;
use prometheus::{fleet_api, prometheus, success};

use palavriado::{DiagnosisKind, Error, FleetQuery, Recording, StageKind};

#[test]
fn a_fleet_reads_as_one_run_with_each_programs_stages_and_the_fleets_diagnoses() {
    let (url, requests) = prometheus(fleet_api);
    let rec = FleetQuery::new(&url)
        .since(std::time::Duration::from_secs(120))
        .load()
        .expect("the fleet");
    // One request for the targets, 7 ranges (6 charted, memory), 10 totals, then 9 totals
    // again over the range for the program that ended.
    assert_eq!(requests.load(Ordering::Relaxed), 27);
    let names: Vec<&str> = rec.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fine:1/lines",
            "fine:1/parser",
            "fine:1/reader",
            "slow:1/lines",
            "slow:1/parser",
            "slow:1/reader"
        ]
    );
    let stage = |n: &str| rec.stages.iter().find(|s| s.name == n).expect(n);
    let reader = stage("slow:1/reader");
    assert_eq!(reader.program.as_deref(), Some("sales on slow:1"));
    assert_eq!(reader.kind, StageKind::Producer);
    assert_eq!(reader.feeds, ["slow:1/lines"]);
    assert_eq!(stage("slow:1/lines").feeds, ["slow:1/parser"]);
    assert_eq!(stage("slow:1/lines").capacity, Some(64));
    assert_eq!(stage("slow:1/lines").mailbox_messages, 64);
    assert_eq!(stage("slow:1/lines").peak_bytes, 6_400);
    assert_eq!((reader.events_in, reader.events_out), (1000, 999));
    assert_eq!(stage("slow:1/parser").times.busy_ns, 9_950_000_000);
    // The program that ended counts too.
    assert_eq!(stage("fine:1/reader").events_out, 999);
    assert_eq!(stage("fine:1/reader").feeds, ["fine:1/lines"]);

    // One point a second over the two minutes, each stage's rates charted.
    let report = &rec.report;
    assert_eq!(report.samples, 121);
    let name = format!("fleet of 2 programs from {url}");
    assert_eq!(report.program.as_deref(), Some(name.as_str()));
    let tl = &report.timeline;
    assert_eq!(tl.mean("stage/slow:1/parser/busy_ms_per_s"), Some(995.0));
    assert_eq!(tl.mean("stage/fine:1/reader/idle_ms_per_s"), Some(500.0));
    assert_eq!(tl.mean("stage/slow:1/lines/msgq"), Some(64.0));
    assert_eq!(tl.mean("memory/resident"), Some(1e7));

    // Diagnosed across the fleet: the slow instance's parser, and its queue against the other's.
    let found: Vec<(DiagnosisKind, &str)> = report
        .diagnoses
        .iter()
        .map(|d| (d.kind, d.stage.as_str()))
        .collect();
    assert!(
        found.contains(&(DiagnosisKind::Bottleneck, "slow:1/parser")),
        "{found:?}"
    );
    assert!(
        found.contains(&(DiagnosisKind::PartitionSkew, "slow:1/lines")),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(_, s)| s.starts_with("slow:1/")),
        "the fine instance is named: {found:?}"
    );
    let skew = report
        .diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::PartitionSkew)
        .expect("skew");
    assert!(
        skew.summary.contains("lines on slow:1 holds 98 %"),
        "{}",
        skew.summary
    );

    // Saved and opened again, it is the same fleet.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("fleet.json.gz");
    rec.save(&path).expect("saved");
    let again = Recording::open(&path).expect("opened");
    assert_eq!(again.stages, rec.stages);
    assert_eq!(again.report.diagnoses, rec.report.diagnoses);
}

#[test]
fn what_goes_wrong_is_one_line_naming_the_address() {
    let one_line = |e: Error| {
        assert!(matches!(e, Error::Fleet(_)), "{e:?}");
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        text
    };
    // Nothing listens.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = free.local_addr().expect("its address");
    drop(free);
    let e = one_line(FleetQuery::new(addr.to_string()).load().unwrap_err());
    assert!(
        e.contains(&format!("cannot reach Prometheus at 'http://{addr}'")),
        "{e}"
    );

    // A query Prometheus refuses, with its reason.
    let (url, _) = prometheus(|path, _| match path {
        "/api/v1/targets" => fleet_api(path, &HashMap::new()),
        _ => (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error: unexpected \"}\""}"#
                .into(),
        ),
    });
    let e = one_line(FleetQuery::new(&url).matching("job=").load().unwrap_err());
    assert!(
        e.contains(&format!("Prometheus at '{url}' refused the query")),
        "{e}"
    );
    assert!(e.contains("parse error: unexpected"), "{e}");

    // Nothing matches.
    let (url, _) = prometheus(|path, p| match path {
        "/api/v1/targets" => fleet_api(path, p),
        _ => success(Vec::new()),
    });
    let e = one_line(
        FleetQuery::new(&url)
            .matching(r#"job="none""#)
            .load()
            .unwrap_err(),
    );
    assert!(
        e.contains(r#"no palavriado stage series matching {job="none"} in the last 15m"#),
        "{e}"
    );

    // Something that is not Prometheus.
    let (url, _) = prometheus(|_, _| (200, "<html>hello</html>".into()));
    let e = one_line(FleetQuery::new(&url).load().unwrap_err());
    assert!(e.contains("does not answer as Prometheus does"), "{e}");
}
