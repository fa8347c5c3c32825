//! The live wire: a viewer facing peers that are not palavriado programs, that break off or
//! send garbage, and a decoder that survives any bytes.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use proptest::prelude::*;

use crate::observe::live::wire::{self, Frame, Hello, Samples};
use crate::{Attachment, Ended, Profiler};

/// A peer that sends `bytes` to the first viewer, then keeps the connection open for `hold`.
fn peer(bytes: Vec<u8>, hold: Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.write_all(&bytes);
            std::thread::sleep(hold);
        }
    });
    addr
}

fn greeting() -> Vec<u8> {
    let mut b = Vec::new();
    wire::write_header(&mut b).unwrap();
    let hello = Hello {
        program: "fake".into(),
        pid: 1,
        sample_hz: 50,
        started_unix_ms: 0.0,
        sent_by: "test".into(),
    };
    wire::write_frame(&mut b, &Frame::Hello(hello)).unwrap();
    b
}

/// A valid samples frame: two series, two rows, a report.
fn samples() -> Vec<u8> {
    let report = Profiler::new("fake").start().unwrap().finish().unwrap();
    let frame = Samples {
        new_series: vec!["stage/a/msgq".into(), "stage/b/msgq".into()],
        rows: vec![
            (0.02, vec![Some(1.0), None]),
            (0.04, vec![Some(2.0), Some(3.0)]),
        ],
        report: Some(report.to_json()),
        ..Samples::default()
    };
    let mut b = Vec::new();
    wire::write_frame(&mut b, &Frame::Samples(frame)).unwrap();
    b
}

#[test]
fn peers_that_are_not_palavriado_programs_are_refused_in_one_line() {
    let hold = Duration::from_millis(500);
    let mut errors = Vec::new();
    let http = peer(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), hold);
    let e = Attachment::connect(&http).unwrap_err().to_string();
    assert!(
        e.contains("not a palavriado program") && e.contains(&http),
        "{e}"
    );
    errors.push(e);
    let mut newer = wire::MAGIC.to_vec();
    newer.extend(7u32.to_be_bytes());
    let e = Attachment::connect(&peer(newer, hold))
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 7"), "{e}");
    errors.push(e);
    let silent = peer(Vec::new(), Duration::from_secs(3));
    let e = Attachment::connect_with(&silent, Duration::from_millis(200))
        .unwrap_err()
        .to_string();
    assert!(e.contains("stopped sending"), "{e}");
    errors.push(e);
    let mut no_hello = Vec::new();
    wire::write_header(&mut no_hello).unwrap();
    wire::write_frame(&mut no_hello, &Frame::Heartbeat).unwrap();
    let e = Attachment::connect(&peer(no_hello, hold))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a palavriado program"), "{e}");
    errors.push(e);
    for e in errors {
        assert!(!e.contains('\n'), "{e}");
    }
}

/// Attaches to a peer sending a good start then `tail`; returns the attachment once it ended.
fn after_good_start(tail: &[u8], hold: Duration, silence: Duration) -> Attachment {
    let mut bytes = greeting();
    bytes.extend(samples());
    bytes.extend(tail);
    let a = Attachment::connect_with(&peer(bytes, hold), silence).unwrap();
    a.wait(Some(Duration::from_secs(10)));
    a
}

fn ended_failing(a: &Attachment) -> String {
    match a.ended() {
        Some(Ended::Failed(why)) => {
            assert!(!why.contains('\n'), "{why}");
            // What was received before stays.
            assert_eq!(a.timeline().len(), 2);
            assert_eq!(a.timeline().last("stage/b/msgq"), Some(3.0));
            assert!(a.report().is_some());
            why
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_peer_breaking_off_or_sending_garbage_ends_the_attachment_keeping_what_came() {
    let short = Duration::from_millis(300);
    let quick = Duration::from_secs(5);
    let oversized = (wire::MAX_FRAME + 1).to_be_bytes();
    let why = ended_failing(&after_good_start(&oversized, short, quick));
    assert!(why.contains("frame of"), "{why}");
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend(b"{\"type\":\"samples\"");
    let why = ended_failing(&after_good_start(&truncated, Duration::ZERO, quick));
    assert!(why.contains("broke off"), "{why}");
    let mut junk = 5u32.to_be_bytes().to_vec();
    junk.extend(b"\xff\xfe{{{");
    let why = ended_failing(&after_good_start(&junk, short, quick));
    assert!(why.contains("malformed"), "{why}");
    let mut misfit = Vec::new();
    let frame = Samples {
        rows: vec![(0.06, vec![Some(1.0); 9])],
        ..Samples::default()
    };
    wire::write_frame(&mut misfit, &Frame::Samples(frame)).unwrap();
    let why = ended_failing(&after_good_start(&misfit, short, quick));
    assert!(why.contains("does not fit"), "{why}");
    let why = ended_failing(&after_good_start(&[], Duration::ZERO, quick));
    assert!(why.contains("went away"), "{why}");
    let stall = after_good_start(&[], Duration::from_secs(3), Duration::from_millis(200));
    let why = ended_failing(&stall);
    assert!(why.contains("stopped sending"), "{why}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Whatever bytes arrive, reading them gives frames or a named, one-line error: never a
    /// panic. Bytes after a real greeting are read as frames; without it, the greeting is
    /// refused.
    #[test]
    fn the_decoder_survives_any_bytes(
        greet in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = Vec::new();
        if greet {
            wire::write_header(&mut bytes).unwrap();
        }
        bytes.extend(&body);
        let mut r = &bytes[..];
        let header = wire::read_header(&mut r);
        let one_line = |e: &wire::WireError| {
            let m = e.to_string();
            !m.is_empty() && !m.contains('\n')
        };
        match &header {
            Ok(v) => prop_assert!(greet && *v == wire::VERSION),
            Err(e) => {
                prop_assert!(!greet, "a real greeting refused: {e}");
                prop_assert!(one_line(e), "{e}");
            }
        }
        if header.is_ok() {
            let mut ended = false;
            for _ in 0..8 {
                if let Err(e) = wire::read_frame(&mut r) {
                    prop_assert!(one_line(&e), "{e}");
                    ended = true;
                    break;
                }
            }
            // Random bytes never hold eight valid frames in a row.
            prop_assert!(ended);
        }
    }

    /// A valid stream cut anywhere is a clean error, never a panic or a hang.
    #[test]
    fn a_valid_stream_cut_anywhere_is_an_error(cut in 0usize..400) {
        let mut bytes = greeting();
        bytes.extend(samples());
        let cut = cut.min(bytes.len().saturating_sub(1));
        let mut r = &bytes[..cut];
        let ok = wire::read_header(&mut r).is_ok()
            && wire::read_frame(&mut r).is_ok()
            && wire::read_frame(&mut r).is_ok();
        prop_assert!(!ok);
    }
}
