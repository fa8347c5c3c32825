//! A stand-in for Prometheus's HTTP API (the shapes its docs give) serving a fleet of two
//! instances of one pipeline, `slow:1` with a bottleneck and a full queue, and `fine:1`, which
//! has ended (its totals only over the range). Shared by the fleet's tests and the app's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Each instance's stages: (stage, kind, busy, backpressured, idle ms/s, queue, feeds).
type Stage = (
    &'static str,
    &'static str,
    f64,
    f64,
    f64,
    f64,
    Option<&'static str>,
);

const SLOW: [Stage; 3] = [
    ("reader", "producer", 80.0, 920.0, 0.0, 0.0, Some("lines")),
    ("lines", "channel", 0.0, 0.0, 0.0, 64.0, Some("parser")),
    ("parser", "consumer", 995.0, 0.0, 5.0, 0.0, None),
];
const FINE: [Stage; 3] = [
    ("reader", "producer", 500.0, 0.0, 500.0, 0.0, Some("lines")),
    ("lines", "channel", 0.0, 0.0, 0.0, 1.0, Some("parser")),
    ("parser", "consumer", 400.0, 0.0, 600.0, 0.0, None),
];

/// Serves Prometheus's API on a free loopback port: `answer(path, query params)` gives the
/// status and the body. Returns the base URL and how many requests came.
pub(crate) fn prometheus(
    answer: impl Fn(&str, &HashMap<String, String>) -> (u16, String) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("a free port");
    let base = format!(
        "http://{}",
        server.server_addr().to_ip().expect("an IP address")
    );
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            counted.fetch_add(1, Ordering::Relaxed);
            let url = request.url().to_string();
            let (path, query) = url.split_once('?').unwrap_or((&url, ""));
            let params: HashMap<String, String> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), decode(v)))
                .collect();
            let (status, body) = answer(path, &params);
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (base, requests)
}

/// A query parameter, percent-decoded (`+` is a space).
fn decode(v: &str) -> String {
    let mut out = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).expect("hex"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

pub(crate) fn success(result: Vec<serde_json::Value>) -> (u16, String) {
    let kind = if result.iter().any(|r| r.get("values").is_some()) {
        "matrix"
    } else {
        "vector"
    };
    let body =
        serde_json::json!({"status": "success", "data": {"resultType": kind, "result": result}});
    (200, body.to_string())
}

/// The stand-in's answers for the two instances `slow:1` and `fine:1` of program `sales`.
pub(crate) fn fleet_api(path: &str, p: &HashMap<String, String>) -> (u16, String) {
    if path == "/api/v1/targets" {
        let body = serde_json::json!({"status": "success", "data": {"activeTargets": [
            {"scrapeInterval": "1s", "health": "up"}, {"scrapeInterval": "1s", "health": "up"}
        ]}});
        return (200, body.to_string());
    }
    let q = p.get("query").cloned().unwrap_or_default();
    let instances = [("slow:1", SLOW), ("fine:1", FINE)];
    let labels = |instance: &str, s: &Stage| {
        serde_json::json!({"instance": instance, "job": "palavriado", "program": "sales",
                           "stage": s.0, "kind": s.1})
    };
    if path == "/api/v1/query_range" {
        let num = |k: &str| p[k].parse::<f64>().expect("a number");
        let (start, end, step) = (num("start"), num("end"), num("step"));
        let grid: Vec<f64> = (0..)
            .map(|i| start + f64::from(i) * step)
            .take_while(|t| *t <= end + 1e-6)
            .collect();
        let series = |labels: serde_json::Value, v: f64| {
            let values: Vec<_> = grid
                .iter()
                .map(|t| serde_json::json!([t, v.to_string()]))
                .collect();
            serde_json::json!({"metric": labels, "values": values})
        };
        if q.contains("resident_memory") {
            return success(
                ["slow:1", "fine:1"]
                    .iter()
                    .map(|i| series(serde_json::json!({"instance": i}), 5e6))
                    .collect(),
            );
        }
        let pick = |s: &Stage| -> Option<f64> {
            let timed = s.1 != "channel";
            match () {
                _ if q.contains("busy_seconds") => timed.then_some(s.2),
                _ if q.contains("backpressured_seconds") => timed.then_some(s.3),
                _ if q.contains("idle_seconds") => timed.then_some(s.4),
                _ if q.contains("delay_seconds") => timed.then_some(0.0),
                _ if q.contains("mailbox_messages") => Some(s.5),
                _ if q.contains("events_in") => Some(100.0),
                _ => None,
            }
        };
        return success(
            instances
                .iter()
                .flat_map(|(i, stages)| {
                    stages
                        .iter()
                        .filter_map(move |s| pick(s).map(|v| series(labels(i, s), v)))
                })
                .collect(),
        );
    }
    // Instant queries: the totals at the end. The fine instance has ended: its series are
    // stale now, its last values only in the range.
    let at = p["time"].parse::<f64>().expect("a time");
    let lookback = q.starts_with("last_over_time");
    let value = |labels: serde_json::Value, v: f64| serde_json::json!({"metric": labels, "value": [at, v.to_string()]});
    let mut result = Vec::new();
    for (i, stages) in &instances {
        if *i == "fine:1" && !lookback && !q.starts_with("max_over_time") {
            continue;
        }
        if lookback && !q.contains(r#"instance=~"fine:1""#) {
            panic!("the lookback is asked only for the program that ended: {q}");
        }
        for s in stages {
            let mut l = labels(i, s);
            let v = match () {
                _ if q.contains("events_in") => Some(1000.0),
                _ if q.contains("events_out") => Some(999.0),
                _ if q.contains("busy_seconds") && s.1 != "channel" => Some(s.2 / 100.0),
                _ if q.contains("channel_capacity") && s.1 == "channel" => Some(64.0),
                _ if q.contains("max_over_time(palavriado_stage_queued_bytes") => Some(s.5 * 100.0),
                _ if q.contains("stage_link") => s.6.map(|to| {
                    l["to"] = to.into();
                    1.0
                }),
                _ => None,
            };
            if let Some(v) = v {
                result.push(value(l, v));
            }
        }
    }
    success(result)
}
