//! The Demand dispatcher: each batch goes to the subscriber with the most outstanding demand.

use super::{Dispatcher, take_front};
use crate::runtime::event::Event;

impl<E: Event> Dispatcher<E> {
    /// Sends from the shared buffer while some subscriber has demand, each batch to the one
    /// with the most (the first of equals).
    pub(super) fn flush_by_demand(&mut self) {
        while !self.buffer.is_empty() {
            let best = (0..self.subs.len())
                .filter(|&i| !self.subs[i].gone && self.subs[i].demand > 0)
                .max_by_key(|&i| (self.subs[i].demand, std::cmp::Reverse(i)));
            let Some(best) = best else { break };
            let k = (self.subs[best].demand as usize).min(self.buffer.len());
            let batch = take_front(&mut self.buffer, k);
            self.send_buffered(best, batch);
        }
    }
}
