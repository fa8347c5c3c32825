//! The live wire format: what a profiled program sends to a viewer over TCP.
//!
//! A connection starts with the 16 bytes `palavriado-live\n` and the protocol version as a
//! big-endian `u32`, then carries frames: a big-endian `u32` length followed by that many bytes
//! of JSON, one [`Frame`] each (at most [`MAX_FRAME`] bytes). The first frame is a
//! [`Frame::Hello`]; then [`Frame::Samples`] about twenty times a second, and a last
//! [`Frame::Finished`] when the program's pipeline ends. The viewer sends nothing.

use std::io::{self, Read, Write};

use crate::observe::diagnosis::Diagnosis;
use crate::runtime::probe::StageSnapshot;
use crate::runtime::run_event::RunEvent;

/// The bytes every connection starts with.
pub const MAGIC: &[u8; 16] = b"palavriado-live\n";
/// The protocol version this build speaks (and the only one it reads).
pub const VERSION: u32 = 1;
/// Largest frame accepted (bytes of JSON): far above the largest a program sends (a frame of
/// history holds at most [`HISTORY_ROWS`] rows).
pub const MAX_FRAME: u32 = 16 << 20;
/// Rows of history sent per frame when a viewer attaches to a program that has run a while.
pub const HISTORY_ROWS: usize = 1000;
/// The address a program serves on unless told otherwise: this machine only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7341";

/// One message from the program to a viewer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// Who is talking: sent once, first.
    Hello(Hello),
    /// Samples the viewer has not seen yet, and the program's state now.
    Samples(Samples),
    /// Nothing new (the program is alive).
    Heartbeat,
    /// The pipeline ended: its report (as `run --json` prints it) and its stages at the end.
    Finished {
        /// The final report.
        report: serde_json::Value,
        /// Each stage's counters at the end.
        stages: Vec<StageSnapshot>,
    },
}

/// The first frame: the program and how it samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    /// The program's name (given to its profiler).
    pub program: String,
    /// Its process id.
    pub pid: u32,
    /// Samples per second.
    pub sample_hz: u32,
    /// When its run started, in ms since the Unix epoch (for the sample-to-screen latency).
    pub started_unix_ms: f64,
    /// `palavriado <version>` of the program's library.
    pub sent_by: String,
}

/// New samples and the state of the program's stages.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    /// Series that appeared since the last frame, appended in order to the names already sent
    /// (so column `i` of a row is the `i`-th name ever sent).
    pub new_series: Vec<String>,
    /// Rows: seconds since the start, then one value per series (`null` where not sampled).
    pub rows: Vec<(f64, Vec<Option<f64>>)>,
    /// Rows this viewer missed so far (it read too slowly and the program's bounded history
    /// moved on): counted, never waited for.
    pub dropped: u64,
    /// Every stage's counters now.
    pub stages: Vec<StageSnapshot>,
    /// The diagnoses now.
    pub diagnoses: Vec<Diagnosis>,
    /// The run's events, when they changed.
    pub events: Option<Vec<RunEvent>>,
    /// The report so far (as `run --json` prints it), about once a second.
    pub report: Option<serde_json::Value>,
}

/// What can go wrong reading a connection, each a one-line message.
#[derive(Debug)]
pub enum WireError {
    /// The peer does not start like a palavriado program.
    NotPalavriado,
    /// It speaks another version of the protocol.
    Version(u32),
    /// A frame longer than [`MAX_FRAME`].
    TooLarge(u32),
    /// The connection ended in the middle of something.
    Truncated,
    /// The connection ended between frames.
    Closed,
    /// A frame that is not a frame of this protocol.
    Malformed(String),
    /// Nothing arrived for too long.
    Silent,
    /// Any other read error.
    Io(io::Error),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::NotPalavriado => f.write_str(
                "it is not a palavriado program (it did not greet like one): check the address",
            ),
            WireError::Version(v) => write!(
                f,
                "it speaks palavriado's live protocol version {v}, this app reads version \
                 {VERSION}: use the same palavriado version on both sides"
            ),
            WireError::TooLarge(n) => write!(
                f,
                "it sent a frame of {n} bytes (at most {MAX_FRAME}): not a palavriado program, or a corrupt stream"
            ),
            WireError::Truncated => {
                f.write_str("the connection broke off in the middle of a frame")
            }
            WireError::Closed => f.write_str("the program closed the connection"),
            WireError::Malformed(e) => write!(f, "it sent a malformed frame ({e})"),
            WireError::Silent => {
                f.write_str("the program stopped sending (stalled, or paused in a debugger)")
            }
            WireError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for WireError {}

fn read_error(e: io::Error, mid_frame: bool) -> WireError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof if mid_frame => WireError::Truncated,
        io::ErrorKind::UnexpectedEof => WireError::Closed,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => WireError::Silent,
        _ => WireError::Io(e),
    }
}

/// Writes the connection's greeting: [`MAGIC`] and [`VERSION`].
pub fn write_header(w: &mut impl Write) -> io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_be_bytes())
}

/// Reads and checks the greeting; returns the version (always [`VERSION`]: any other is an
/// error).
pub fn read_header(r: &mut impl Read) -> Result<u32, WireError> {
    let mut head = [0u8; 20];
    r.read_exact(&mut head)
        .map_err(|e| match read_error(e, true) {
            WireError::Truncated | WireError::Closed => WireError::NotPalavriado,
            other => other,
        })?;
    if &head[..16] != MAGIC {
        return Err(WireError::NotPalavriado);
    }
    let version = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    if version != VERSION {
        return Err(WireError::Version(version));
    }
    Ok(version)
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, frame: &Frame) -> io::Result<()> {
    let body = serde_json::to_vec(frame).map_err(io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n <= MAX_FRAME)
        .ok_or_else(|| io::Error::other("frame over the protocol's limit"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()
}

/// Reads one frame: a length within [`MAX_FRAME`], then that much JSON of a [`Frame`].
pub fn read_frame(r: &mut impl Read) -> Result<Frame, WireError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|e| read_error(e, false))?;
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| read_error(e, true))?;
    serde_json::from_slice(&body).map_err(|e| WireError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_header_and_a_frame_read_back() {
        let mut bytes = Vec::new();
        super::write_header(&mut bytes).unwrap();
        super::write_frame(&mut bytes, &super::Frame::Heartbeat).unwrap();
        let mut r = &bytes[..];
        assert_eq!(super::read_header(&mut r).unwrap(), super::VERSION);
        assert!(matches!(
            super::read_frame(&mut r).unwrap(),
            super::Frame::Heartbeat
        ));
    }

    use super::*;

    #[test]
    fn a_foreign_greeting_is_refused() {
        let mut r = &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..];
        assert!(matches!(read_header(&mut r), Err(WireError::NotPalavriado)));
        let mut other = MAGIC.to_vec();
        other.extend(2u32.to_be_bytes());
        assert!(matches!(
            read_header(&mut &other[..]),
            Err(WireError::Version(2))
        ));
        assert!(matches!(
            read_header(&mut &MAGIC[..10]),
            Err(WireError::NotPalavriado)
        ));
    }

    #[test]
    fn bad_frames_are_named() {
        let big = (MAX_FRAME + 1).to_be_bytes();
        assert!(matches!(
            read_frame(&mut &big[..]),
            Err(WireError::TooLarge(n)) if n == MAX_FRAME + 1
        ));
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend(b"{\"ty");
        assert!(matches!(
            read_frame(&mut &short[..]),
            Err(WireError::Truncated)
        ));
        let mut junk = 4u32.to_be_bytes().to_vec();
        junk.extend(b"1234");
        assert!(matches!(
            read_frame(&mut &junk[..]),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(read_frame(&mut &[][..]), Err(WireError::Closed)));
    }

    #[test]
    fn frames_round_trip() {
        let samples = Samples {
            new_series: vec!["memory/rss".into()],
            rows: vec![(0.02, vec![Some(1.5), None])],
            dropped: 3,
            ..Samples::default()
        };
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &Frame::Samples(samples)).unwrap();
        match read_frame(&mut &bytes[..]).unwrap() {
            Frame::Samples(s) => {
                assert_eq!(s.rows, vec![(0.02, vec![Some(1.5), None])]);
                assert_eq!(s.dropped, 3);
                assert_eq!(s.new_series, ["memory/rss"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
