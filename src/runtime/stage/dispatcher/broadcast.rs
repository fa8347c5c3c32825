//! The Broadcast dispatcher: every event to every subscriber (each may filter); upstream demand
//! is the smallest outstanding demand.

use super::{Dispatcher, take_front};
use crate::runtime::event::{Event, batch_bytes};

impl<E: Event> Dispatcher<E> {
    /// Sends as many buffered events as every subscriber can take, a copy (made by `clone`) to
    /// each, minus what its filter refuses.
    pub(super) fn flush_broadcast(&mut self, clone: fn(&E) -> E) {
        let k = (self.min_demand() as usize).min(self.buffer.len());
        if k == 0 || self.subs.is_empty() {
            return;
        }
        let events = take_front(&mut self.buffer, k);
        let events = events.as_slice();
        self.buffered_bytes = self.buffered_bytes.saturating_sub(batch_bytes(events));
        for i in 0..self.subs.len() {
            let mine: Vec<E> = match &self.subs[i].outlet.filter {
                Some(f) => events.iter().filter(|e| f(e)).map(clone).collect(),
                None => events.iter().map(clone).collect(),
            };
            // Events a subscriber filters out do not use its demand (otherwise it
            // would wait for events it was charged for but never sent).
            if !mine.is_empty() {
                self.send(i, mine.into(), None);
            }
        }
    }
}
