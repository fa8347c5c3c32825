//! What happens during a run, in time: start, delay changes, stop requests, the finish, and
//! why a run stopped early. Plain data, marked on every chart and kept in recordings.

/// Why a run ended before its input did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A stop request (the Stop button, Ctrl-C).
    Cancelled,
    /// The `--duration` ran out.
    Duration,
    /// The process went past the memory limit.
    MemoryLimit,
    /// A stage failed (panicked); the message names it.
    Error,
}

impl StopReason {
    /// The JSON/CLI name.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Cancelled => "cancelled",
            StopReason::Duration => "duration",
            StopReason::MemoryLimit => "memory_limit",
            StopReason::Error => "error",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            StopReason::Cancelled => 1,
            StopReason::Duration => 2,
            StopReason::MemoryLimit => 3,
            StopReason::Error => 4,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => StopReason::Cancelled,
            2 => StopReason::Duration,
            3 => StopReason::MemoryLimit,
            4 => StopReason::Error,
            _ => return None,
        })
    }
}

/// Something that happened during a run, at a time since its start (marked on charts).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunEvent {
    /// Seconds since the run started.
    pub at_secs: f64,
    /// What happened.
    pub kind: RunEventKind,
}

/// Kinds of [`RunEvent`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum RunEventKind {
    /// The run started.
    Started,
    /// The simulated delay changed (0 = off).
    DelayChanged {
        /// New delay in milliseconds.
        delay_ms: f64,
    },
    /// A stop was requested.
    StopRequested {
        /// Why.
        reason: StopReason,
    },
    /// Every worker finished.
    Finished {
        /// True when the whole input was counted.
        completed: bool,
    },
}
