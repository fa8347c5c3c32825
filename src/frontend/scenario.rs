//! The talk's scenarios: each strategy, with and without the simulated 1 ms delay per line.
//! `reproduce` draws their slides; the app offers them as one-click presets.

use std::time::Duration;

use crate::wordcount::strategy::Strategy;

/// One of the talk's scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// File-name stem of its slides (`concurrent_pull_with_delay`).
    pub name: &'static str,
    /// Strategy.
    pub strategy: Strategy,
    /// With the 1 ms delay (then it runs for a fixed time).
    pub delay: bool,
}

/// The talk's slides in order, plus Flow.
pub const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "eager",
        strategy: Strategy::Eager,
        delay: false,
    },
    Scenario {
        name: "lazy",
        strategy: Strategy::Lazy,
        delay: false,
    },
    Scenario {
        name: "concurrent_push",
        strategy: Strategy::Push,
        delay: false,
    },
    Scenario {
        name: "concurrent_push_with_delay",
        strategy: Strategy::Push,
        delay: true,
    },
    Scenario {
        name: "concurrent_pull",
        strategy: Strategy::Pull,
        delay: false,
    },
    Scenario {
        name: "concurrent_pull_with_delay",
        strategy: Strategy::Pull,
        delay: true,
    },
    Scenario {
        name: "flow",
        strategy: Strategy::Flow,
        delay: false,
    },
    Scenario {
        name: "concurrent_flow_with_delay",
        strategy: Strategy::Flow,
        delay: true,
    },
];

impl Scenario {
    /// The delay it runs with.
    pub fn delay(&self) -> Duration {
        if self.delay {
            Duration::from_millis(1)
        } else {
            Duration::ZERO
        }
    }

    /// A short label for a button: `Push + 1 ms`.
    pub fn label(&self) -> String {
        let mut label = self.strategy.title().to_string();
        if self.delay {
            label.push_str(" + 1 ms");
        }
        label
    }
}
