//! The pacing of the simulated delay: the talk's `Process.sleep(1)` before each event, as a
//! timer that frees the scheduler.

use std::time::{Duration, Instant};

use super::control::RunControl;
use super::probe::{StageProbe, StageState};

/// How far behind its running deadline a paced stage may fall and still catch up: more than a
/// timer tick (1 ms) late, less than a visible burst.
pub const PACING_SLACK: Duration = Duration::from_millis(5);

/// Paces a stage by the run's simulated delay: the talk's `Process.sleep(1)` before each event,
/// as a timer that frees the scheduler (never a blocked scheduler thread).
///
/// It lasts what it says: each pause ends at a running deadline one delay after the previous
/// one, so the work between pauses does not add to it and a timer's rounding up to the next
/// tick does not accumulate (1 ms gives 1,000 events a second, not ~500). A stage that fell
/// more than [`PACING_SLACK`] behind its deadline (it waited for events, or the delay was just
/// turned on) restarts from now: it never bursts to catch up more than that. A stop, or the delay turned off or
/// shortened, ends a pause at once.
#[derive(Debug, Default)]
pub struct Pacer {
    /// The deadline the previous pause ended at.
    last: Option<Instant>,
}

impl Pacer {
    /// A pacer with no deadline yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits the run's delay (if any), marking the stage sleeping meanwhile.
    #[inline]
    pub async fn pause(&mut self, ctl: &RunControl, probe: &StageProbe) {
        if ctl.delay().is_zero() {
            self.last = None;
            return;
        }
        self.sleep(ctl, probe).await;
    }

    async fn sleep(&mut self, ctl: &RunControl, probe: &StageProbe) {
        let now = Instant::now();
        let mut delay = ctl.delay();
        let from = match self.last {
            Some(last) if now <= last + delay + PACING_SLACK => last,
            _ => now,
        };
        let before = probe.state();
        probe.set_state(StageState::Sleeping);
        loop {
            let deadline = from + delay;
            if ctl.is_stopped() || Instant::now() >= deadline {
                self.last = Some(deadline);
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {}
                _ = probe.doorbell().kicked() => {}
            }
            delay = ctl.delay();
            if delay.is_zero() {
                self.last = None;
                break;
            }
        }
        probe.set_state(before);
    }
}
