//! The Partition dispatcher (GenStage's): `partitions` partitions, one subscriber each; an event
//! goes to partition `hash(event) mod partitions`. Every ask passes upstream, so the stage makes
//! exactly what was asked; events for a partition without demand wait in its queue.

use super::{Dispatcher, PartitionFn, take_front};
use crate::runtime::event::{Event, batch_bytes};

impl<E: Event> Dispatcher<E> {
    /// Checks that there is exactly one subscriber per partition and indexes them.
    pub(super) fn index_partitions(
        &mut self,
        stage: &str,
        partitions: usize,
    ) -> Result<(), String> {
        if partitions == 0 {
            return Err(format!(
                "stage '{stage}': a Partition dispatcher needs at least 1 partition"
            ));
        }
        self.partition_subs.clear();
        for p in 0..partitions {
            let subs: Vec<usize> = (0..self.subs.len())
                .filter(|&i| self.subs[i].outlet.partition == Some(p))
                .collect();
            if subs.len() != 1 {
                return Err(format!(
                    "stage '{stage}': partition {p} has {} subscribers, needs exactly 1",
                    subs.len()
                ));
            }
            self.partition_subs.push(subs[0]);
        }
        Ok(())
    }

    /// Puts every event in its partition's queue, then sends each queue what its subscriber's
    /// demand covers.
    pub(super) fn route(&mut self, events: &mut Vec<E>, partitions: usize, hash: &PartitionFn<E>) {
        let n = partitions as u64;
        // `hash mod n`, with a mask when n is a power of two (no division per event).
        let mask = n.is_power_of_two().then(|| n - 1);
        self.buffered_bytes += batch_bytes(events);
        // Every event goes to its partition's queue; each queue then sends what its
        // subscriber's demand covers (the whole queue, without a copy, when it all fits).
        for e in events.drain(..) {
            let h = hash(&e);
            let p = match mask {
                Some(m) => h & m,
                None => h % n,
            };
            let sub = self.partition_subs[p as usize];
            self.touch(sub);
            self.subs[sub].queue.push_back(e);
        }
        for s in 0..self.subs.len() {
            self.flush_queue(s);
        }
    }

    /// Sends subscriber `sub`'s queued events within its demand.
    pub(super) fn flush_queue(&mut self, sub: usize) {
        let s = &mut self.subs[sub];
        let k = (s.demand as usize).min(s.queue.len());
        if k == 0 {
            return;
        }
        let batch = take_front(&mut s.queue, k);
        self.send_buffered(sub, batch);
    }
}
