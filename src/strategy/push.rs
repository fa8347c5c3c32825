//! Push: a reader sends lines round-robin to `workers` extractors; each extractor sends **one
//! message per word** to the counter chosen by a stable hash of the word. Every mailbox is
//! unbounded, so when extractors lag (the 1 ms delay) lines pile up without limit.
//!
//! A word message is a [`Word`] (inline up to 24 bytes, no heap allocation, hashed once), so the cost
//! measured is the messaging itself, not the allocator.

use std::time::Duration;

use super::{Job, count_word};
use crate::corpus::Line;
use crate::counts::WordCounts;
use crate::mailbox::{MailboxReceiver, MailboxSender, mailbox};
use crate::probe::{StageKind, StageState};
use crate::words::Word;

/// How long an idle worker waits before re-checking the stop signal.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// Mailbox length beyond which the reader yields its core after each send.
const SEND_PENALTY_QUEUE: u64 = 10_000;
/// Words a counter handles between updates of its stage's events-in counter.
const PROGRESS_STEP: u64 = 256;

pub(super) fn run(job: &Job) -> WordCounts {
    let n = job.workers.max(1);
    let ctl = &job.ctl;
    let reader_probe = ctl.register_stage("reader", StageKind::Producer);
    let mut extractor_boxes = Vec::new();
    for i in 1..=n {
        let p = ctl.register_stage(format!("extractor {i}"), StageKind::ProducerConsumer);
        extractor_boxes.push(mailbox::<Line>(p));
    }
    let mut counter_boxes = Vec::new();
    for i in 1..=n {
        let p = ctl.register_stage(format!("counter {i}"), StageKind::Consumer);
        counter_boxes.push(mailbox::<Word>(p));
    }
    let counter_senders: Vec<MailboxSender<Word>> =
        counter_boxes.iter().map(|(tx, _)| tx.clone()).collect();

    let mut counters = Vec::new();
    for (tx, rx) in counter_boxes {
        drop(tx);
        let probe = rx.probe().clone();
        let ctl2 = ctl.clone();
        counters.push(ctl.spawn(probe.clone(), move || {
            let mut counts = WordCounts::new();
            drain_loop(&ctl2, &probe, &rx, |word: Word| {
                count_word(&ctl2, &mut counts, &word);
                // The stage's own counter too is updated in steps, not per word.
                if counts.total().is_multiple_of(PROGRESS_STEP) {
                    probe.add_in(PROGRESS_STEP);
                }
            });
            probe.add_in(counts.total() % PROGRESS_STEP);
            counts
        }));
    }

    let mut extractor_senders = Vec::new();
    let mut extractors = Vec::new();
    for (tx, rx) in extractor_boxes {
        let probe = tx.probe().clone();
        extractor_senders.push(tx);
        let job = job.clone();
        let outs = counter_senders.clone();
        extractors.push(ctl.spawn(probe.clone(), move || {
            let mut scratch = String::new();
            drain_loop(&job.ctl, &probe, &rx, |line: Line| {
                job.ctl.simulate_delay();
                probe.add_in(1);
                let mut sent = 0;
                job.split.for_each_word(&line, &mut scratch, |w| {
                    let word = Word::new(w);
                    let to = &outs[(word.partition_key() % outs.len() as u64) as usize];
                    send_penalty(to.probe());
                    let _ = to.send(word);
                    sent += 1;
                });
                probe.add_out(sent);
            });
        }));
    }
    drop(counter_senders);

    let reader = {
        let job = job.clone();
        let probe = reader_probe.clone();
        ctl.spawn(reader_probe, move || {
            let mut next = 0;
            for line in job.corpus.lines(job.ctl.clone()) {
                if job.ctl.check_memory() {
                    break;
                }
                let to = &extractor_senders[next];
                send_penalty(to.probe());
                let _ = to.send(line);
                probe.add_out(1);
                next = (next + 1) % extractor_senders.len();
            }
        })
    };

    reader.join();
    for e in extractors {
        e.join();
    }
    counters.into_iter().filter_map(|c| c.join()).collect()
}

/// The BEAM charges a sender for a long receiver queue; likewise a sender gives up its time
/// slice (it never blocks) when the receiver's mailbox is long, so busy receivers get the CPU.
/// Receivers that sleep (the delay) don't use it, and then mailboxes grow without bound, as in
/// the talk.
#[inline]
fn send_penalty(receiver: &crate::probe::StageProbe) {
    if receiver.mailbox_len() > SEND_PENALTY_QUEUE {
        std::thread::yield_now();
    }
}

/// Handles every message of `rx` until all senders are gone, or drops them all once the run is
/// stopped (so queued memory is released promptly).
pub(crate) fn drain_loop<T: crate::mailbox::Weigh>(
    ctl: &crate::control::RunControl,
    probe: &crate::probe::StageProbe,
    rx: &MailboxReceiver<T>,
    mut handle: impl FnMut(T),
) {
    loop {
        if ctl.is_stopped() {
            rx.drain();
            return;
        }
        let msg = match rx.try_recv() {
            Ok(m) => m,
            Err(true) => return,
            Err(false) => {
                probe.set_state(StageState::WaitingForEvents);
                let r = rx.recv_timeout(IDLE_POLL);
                probe.set_state(StageState::Running);
                match r {
                    Ok(m) => m,
                    Err(true) => return,
                    Err(false) => continue,
                }
            }
        };
        handle(msg);
    }
}
