//! Push: a reader sends lines round-robin to `workers` extractors; each extractor sends **one
//! message per word** to the counter chosen by a stable hash of the word. Every mailbox is
//! unbounded, so when extractors lag (the 1 ms delay) lines pile up without limit.
//!
//! A word message is a [`Word`] (inline up to 24 bytes, no heap allocation, hashed once), so the cost
//! measured is the messaging itself, not the allocator.

use super::{Job, count_word};
use crate::runtime::control::RunControl;
use crate::runtime::executor::{Reductions, yield_now};
use crate::runtime::mailbox::{MailboxReceiver, MailboxSender, Received, Weigh, mailbox};
use crate::runtime::pacing::Pacer;
use crate::runtime::probe::{StageKind, StageProbe, StageState};
use crate::wordcount::corpus::Line;
use crate::wordcount::counts::WordCounts;
use crate::wordcount::words::Word;

/// Mailbox length beyond which a sender gives others a turn after each send.
const SEND_PENALTY_QUEUE: u64 = 10_000;
/// A sender looks at its receiver's mailbox length once in this many sends.
const CROWD_CHECK_EVERY: u32 = 16;
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
        counters.push(ctl.spawn(probe.clone(), async move {
            let mut counts = WordCounts::new();
            drain_loop(&ctl2, &probe, &rx, false, |word: Word| {
                count_word(&ctl2, &mut counts, &word);
                // The stage's own counter too is updated in steps, not per word.
                if counts.total().is_multiple_of(PROGRESS_STEP) {
                    probe.add_in(PROGRESS_STEP);
                }
                0
            })
            .await;
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
        extractors.push(ctl.spawn(probe.clone(), async move {
            let mut scratch = String::new();
            let mut crowded = 0;
            let mut sends = 0u32;
            drain_loop(&job.ctl, &probe, &rx, true, |line: Line| {
                probe.add_in(1);
                let mut sent = 0;
                job.split.for_each_word(&line, &mut scratch, |w| {
                    let word = Word::new(w);
                    let to = &outs[(word.partition_key() % outs.len() as u64) as usize];
                    // Looking at a receiver's mailbox reads a counter its owner keeps
                    // writing (a cache miss), so a sender looks every few words: the
                    // penalty is about mailboxes of thousands.
                    sends = sends.wrapping_add(1);
                    if sends.is_multiple_of(CROWD_CHECK_EVERY)
                        && to.probe().mailbox_len() > SEND_PENALTY_QUEUE
                    {
                        crowded += 1;
                    }
                    let _ = to.send(word);
                    sent += 1;
                });
                probe.add_out(sent);
                std::mem::take(&mut crowded)
            })
            .await;
        }));
    }
    drop(counter_senders);

    let reader = {
        let job = job.clone();
        let probe = reader_probe.clone();
        ctl.spawn(reader_probe, async move {
            let mut next = 0;
            let mut reductions = Reductions::default();
            for line in job.corpus.lines(&job.pipeline()) {
                if job.ctl.check_memory() {
                    break;
                }
                let to = &extractor_senders[next];
                let crowded = to.probe().mailbox_len() > SEND_PENALTY_QUEUE;
                let _ = to.send(line);
                probe.add_out(1);
                next = (next + 1) % extractor_senders.len();
                if crowded {
                    send_penalty(&probe).await;
                } else {
                    reductions.spend(1).await;
                }
            }
        })
    };

    reader.join();
    for e in extractors {
        e.join();
    }
    counters.into_iter().filter_map(|c| c.join()).collect()
}

/// The BEAM charges a sender for a long receiver queue; likewise a sender gives others a turn
/// (it never blocks) when the receiver's mailbox is long, so busy receivers get the CPU.
/// Receivers that sleep (the delay) don't use it, and then mailboxes grow without bound, as in
/// the talk.
async fn send_penalty(probe: &StageProbe) {
    let before = probe.state();
    probe.set_state(StageState::WaitingForDemand);
    yield_now().await;
    probe.set_state(before);
}

/// Handles every message of `rx` until all senders are gone, or drops them all once the run is
/// stopped (so queued memory is released promptly). A `paced` stage (an extractor) first waits
/// the simulated delay for each message. `handle` returns how many of its sends met a
/// crowded mailbox; the stage then pays the send penalty once.
async fn drain_loop<T: Weigh>(
    ctl: &RunControl,
    probe: &StageProbe,
    rx: &MailboxReceiver<T>,
    paced: bool,
    mut handle: impl FnMut(T) -> u32,
) {
    let mut pacer = Pacer::new();
    let mut reductions = Reductions::default();
    loop {
        let msg = match rx.recv_or_stop(ctl, StageState::WaitingForEvents).await {
            Received::Message(m) => m,
            Received::Closed => return,
            Received::Stopped => {
                rx.drain();
                return;
            }
        };
        if paced {
            pacer.pause(ctl, probe).await;
        }
        if handle(msg) > 0 {
            send_penalty(probe).await;
        } else {
            reductions.spend(1).await;
        }
    }
}
