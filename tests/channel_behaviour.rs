//! The instrumented channels (tokio's, crossbeam's, std's) behave exactly as the channels they
//! wrap: random sequences of sends, receives, closes, clones and drops on both give the same
//! results, lengths and capacities, and the channel's probe counts exactly what is in it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use palavriado::channel::{crossbeam, mpsc};
use palavriado::{Profiler, StageProbe};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// The waiting send (polled once, or with a zero timeout).
    Send(u16),
    TrySend(u16),
    /// The waiting receive (polled once, or with a zero timeout).
    Recv,
    TryRecv,
    /// Two receives in one call (`recv_many` on tokio's, `try_iter` on crossbeam's).
    RecvTwo,
    /// Reserve room, then send into it (tokio's only).
    Reserve(u16),
    CloneSender,
    DropSender(usize),
    /// Close (tokio's) or drop (crossbeam's) the receiving end.
    Close,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u16>().prop_map(Op::Send),
            3 => any::<u16>().prop_map(Op::TrySend),
            3 => Just(Op::Recv),
            3 => Just(Op::TryRecv),
            1 => Just(Op::RecvTwo),
            1 => any::<u16>().prop_map(Op::Reserve),
            1 => Just(Op::CloneSender),
            1 => (0..4usize).prop_map(Op::DropSender),
            1 => Just(Op::Close),
        ],
        1..120,
    )
}

/// Clones the first sender of each side, when there is one (nothing to compare).
fn clone_first<A: Clone, B: Clone>(a: &mut Vec<A>, b: &mut Vec<B>) -> (String, String) {
    if let (Some(x), Some(y)) = (a.first().cloned(), b.first().cloned()) {
        a.push(x);
        b.push(y);
    }
    (String::new(), String::new())
}

/// Drops sender `i` of each side, when there is one (nothing to compare).
fn drop_nth<A, B>(i: usize, a: &mut Vec<A>, b: &mut Vec<B>) -> (String, String) {
    if i < a.len() {
        a.remove(i);
        b.remove(i);
    }
    (String::new(), String::new())
}

/// Polls a future once (no waiting): `None` if it would wait.
fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn probe(profiler: &Profiler, name: &str) -> std::sync::Arc<StageProbe> {
    profiler
        .pipeline()
        .stages()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

/// One tokio channel pair, bounded or not, behind the same calls.
macro_rules! tokio_case {
    ($ours:expr, $bare:expr, $ops:expr, $bounded:expr) => {{
        let profiler = Profiler::new("prop").start().unwrap();
        let ((tx, mut rx), (btx, mut brx)) = ($ours(&profiler), $bare());
        let chan = probe(&profiler, "c");
        let (mut txs, mut btxs) = (vec![tx], vec![btx]);
        let mut received = 0u64;
        for op in $ops {
            let (a, b): (String, String) = match op {
                Op::Send(v) => (
                    format!("{:?}", txs.first().map(|t| poll_once(send(t, v)))),
                    format!("{:?}", btxs.first().map(|t| poll_once(send_bare(t, v)))),
                ),
                Op::TrySend(v) => (
                    format!("{:?}", txs.first().map(|t| try_send(t, v))),
                    format!("{:?}", btxs.first().map(|t| try_send_bare(t, v))),
                ),
                Op::Recv => {
                    let (a, b) = (poll_once(rx.recv()), poll_once(brx.recv()));
                    received += u64::from(matches!(a, Some(Some(_))));
                    (format!("{a:?}"), format!("{b:?}"))
                }
                Op::TryRecv => {
                    let (a, b) = (rx.try_recv(), brx.try_recv());
                    received += u64::from(a.is_ok());
                    (format!("{a:?}"), format!("{b:?}"))
                }
                Op::RecvTwo => {
                    let (mut va, mut vb) = (Vec::new(), Vec::new());
                    let a = poll_once(rx.recv_many(&mut va, 2));
                    let b = poll_once(brx.recv_many(&mut vb, 2));
                    received += va.len() as u64;
                    (format!("{a:?} {va:?}"), format!("{b:?} {vb:?}"))
                }
                Op::Reserve(v) => (
                    format!("{:?}", txs.first().map(|t| reserve(t, v))),
                    format!("{:?}", btxs.first().map(|t| reserve_bare(t, v))),
                ),
                Op::CloneSender => clone_first(&mut txs, &mut btxs),
                Op::DropSender(i) => drop_nth(i, &mut txs, &mut btxs),
                Op::Close => {
                    rx.close();
                    brx.close();
                    (String::new(), String::new())
                }
            };
            prop_assert_eq!(a, b);
            prop_assert_eq!(rx.len(), brx.len());
            prop_assert_eq!(rx.is_empty(), brx.is_empty());
            prop_assert_eq!(rx.is_closed(), brx.is_closed());
            prop_assert_eq!(
                txs.first().map(|t| t.is_closed()),
                btxs.first().map(|t| t.is_closed())
            );
            if $bounded {
                prop_assert_eq!(capacity(&rx), capacity_bare(&brx));
            }
            // Single-threaded, the probe counts exactly what is in the channel.
            prop_assert_eq!(chan.mailbox_len(), rx.len() as u64);
            prop_assert_eq!(chan.messages_received(), received);
        }
        drop(profiler);
    }};
}

mod bounded {
    use super::*;
    pub type Tx = mpsc::Sender<u16>;
    pub async fn send(t: &Tx, v: u16) -> String {
        format!("{:?}", t.send(v).await.map_err(|e| e.0))
    }
    pub async fn send_bare(t: &tokio::sync::mpsc::Sender<u16>, v: u16) -> String {
        format!("{:?}", t.send(v).await.map_err(|e| e.0))
    }
    pub fn try_send(t: &Tx, v: u16) -> String {
        format!("{:?}", t.try_send(v).map_err(describe))
    }
    pub fn try_send_bare(t: &tokio::sync::mpsc::Sender<u16>, v: u16) -> String {
        format!("{:?}", t.try_send(v).map_err(describe))
    }
    fn describe(e: tokio::sync::mpsc::error::TrySendError<u16>) -> String {
        match e {
            tokio::sync::mpsc::error::TrySendError::Full(v) => format!("full {v}"),
            tokio::sync::mpsc::error::TrySendError::Closed(v) => format!("closed {v}"),
        }
    }
    pub fn reserve(t: &Tx, v: u16) -> String {
        match t.try_reserve() {
            Ok(p) => {
                p.send(v);
                "sent".into()
            }
            Err(e) => format!("{e:?}"),
        }
    }
    pub fn reserve_bare(t: &tokio::sync::mpsc::Sender<u16>, v: u16) -> String {
        match t.try_reserve() {
            Ok(p) => {
                p.send(v);
                "sent".into()
            }
            Err(e) => format!("{e:?}"),
        }
    }
    pub fn capacity(r: &mpsc::Receiver<u16>) -> (usize, usize) {
        (r.capacity(), r.max_capacity())
    }
    pub fn capacity_bare(r: &tokio::sync::mpsc::Receiver<u16>) -> (usize, usize) {
        (r.capacity(), r.max_capacity())
    }
}

mod unbounded {
    use super::*;
    pub type Tx = mpsc::UnboundedSender<u16>;
    pub async fn send(t: &Tx, v: u16) -> String {
        format!("{:?}", t.send(v).map_err(|e| e.0))
    }
    pub async fn send_bare(t: &tokio::sync::mpsc::UnboundedSender<u16>, v: u16) -> String {
        format!("{:?}", t.send(v).map_err(|e| e.0))
    }
    pub fn try_send(t: &Tx, v: u16) -> String {
        format!("{:?}", t.send(v).map_err(|e| e.0))
    }
    pub fn try_send_bare(t: &tokio::sync::mpsc::UnboundedSender<u16>, v: u16) -> String {
        format!("{:?}", t.send(v).map_err(|e| e.0))
    }
    pub fn reserve(t: &Tx, v: u16) -> String {
        try_send(t, v)
    }
    pub fn reserve_bare(t: &tokio::sync::mpsc::UnboundedSender<u16>, v: u16) -> String {
        try_send_bare(t, v)
    }
    pub fn capacity<T>(_: &T) {}
    pub fn capacity_bare<T>(_: &T) {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn tokio_bounded_behaves_as_tokios(ops in ops(), bound in 1..6usize) {
        use bounded::*;
        tokio_case!(
            |p: &Profiler| mpsc::channel::<u16>(p, "c", bound),
            || tokio::sync::mpsc::channel::<u16>(bound),
            ops,
            true
        );
    }

    #[test]
    fn tokio_unbounded_behaves_as_tokios(ops in ops()) {
        use unbounded::*;
        tokio_case!(
            |p: &Profiler| mpsc::unbounded_channel::<u16>(p, "c"),
            tokio::sync::mpsc::unbounded_channel::<u16>,
            ops,
            false
        );
    }

    #[test]
    fn crossbeam_behaves_as_crossbeams(ops in ops(), bound in prop::option::of(0..6usize)) {
        let profiler = Profiler::new("prop").start().unwrap();
        let ((tx, rx), (btx, brx)) = match bound {
            Some(n) => (crossbeam::bounded::<u16>(&profiler, "c", n), crossbeam_channel::bounded(n)),
            None => (crossbeam::unbounded::<u16>(&profiler, "c"), crossbeam_channel::unbounded()),
        };
        let chan = probe(&profiler, "c");
        let (mut rx, mut brx) = (Some(rx), Some(brx));
        let (mut txs, mut btxs) = (vec![tx], vec![btx]);
        let mut received = 0u64;
        let zero = Duration::ZERO;
        for op in ops {
            let (a, b) = match op {
                Op::Send(v) | Op::Reserve(v) => (
                    format!("{:?}", txs.first().map(|t| t.send_timeout(v, zero))),
                    format!("{:?}", btxs.first().map(|t| t.send_timeout(v, zero))),
                ),
                Op::TrySend(v) => (
                    format!("{:?}", txs.first().map(|t| t.try_send(v))),
                    format!("{:?}", btxs.first().map(|t| t.try_send(v))),
                ),
                Op::Recv => {
                    let a = rx.as_ref().map(|r| r.recv_timeout(zero));
                    let b = brx.as_ref().map(|r| r.recv_timeout(zero));
                    received += u64::from(matches!(a, Some(Ok(_))));
                    (format!("{a:?}"), format!("{b:?}"))
                }
                Op::TryRecv => {
                    let a = rx.as_ref().map(|r| r.try_recv());
                    let b = brx.as_ref().map(|r| r.try_recv());
                    received += u64::from(matches!(a, Some(Ok(_))));
                    (format!("{a:?}"), format!("{b:?}"))
                }
                Op::RecvTwo => {
                    let a: Option<Vec<u16>> = rx.as_ref().map(|r| r.try_iter().take(2).collect());
                    let b: Option<Vec<u16>> = brx.as_ref().map(|r| r.try_iter().take(2).collect());
                    received += a.as_ref().map_or(0, |v| v.len() as u64);
                    (format!("{a:?}"), format!("{b:?}"))
                }
                Op::CloneSender => clone_first(&mut txs, &mut btxs),
                Op::DropSender(i) => drop_nth(i, &mut txs, &mut btxs),
                Op::Close => {
                    rx = None;
                    brx = None;
                    (String::new(), String::new())
                }
            };
            prop_assert_eq!(a, b);
            if let (Some(t), Some(bt)) = (txs.first(), btxs.first()) {
                prop_assert_eq!(
                    (t.len(), t.is_empty(), t.is_full(), t.capacity()),
                    (bt.len(), bt.is_empty(), bt.is_full(), bt.capacity())
                );
            }
            if let (Some(r), Some(br)) = (&rx, &brx) {
                prop_assert_eq!(
                    (r.len(), r.is_empty(), r.is_full(), r.capacity()),
                    (br.len(), br.is_empty(), br.is_full(), br.capacity())
                );
                prop_assert_eq!(chan.mailbox_len(), r.len() as u64);
            } else {
                // The receiver gone, what waited in the channel is gone with it.
                prop_assert_eq!(chan.mailbox_len(), 0);
            }
            prop_assert_eq!(chan.messages_received(), received);
        }
    }
}

/// A sending end of std's channels, bounded or not, behind the same calls.
trait StdSender: Clone {
    fn send_now(&self, v: u16) -> String;
    fn try_send_now(&self, v: u16) -> String;
}

macro_rules! std_sender {
    ($t:ty, bounded) => {
        impl StdSender for $t {
            fn send_now(&self, v: u16) -> String {
                format!("{:?}", self.send(v).map_err(|e| e.0))
            }
            fn try_send_now(&self, v: u16) -> String {
                format!("{:?}", self.try_send(v))
            }
        }
    };
    ($t:ty, unbounded) => {
        impl StdSender for $t {
            fn send_now(&self, v: u16) -> String {
                format!("{:?}", self.send(v).map_err(|e| e.0))
            }
            fn try_send_now(&self, v: u16) -> String {
                self.send_now(v)
            }
        }
    };
}
std_sender!(palavriado::channel::std_mpsc::SyncSender<u16>, bounded);
std_sender!(std::sync::mpsc::SyncSender<u16>, bounded);
std_sender!(palavriado::channel::std_mpsc::Sender<u16>, unbounded);
std_sender!(std::sync::mpsc::Sender<u16>, unbounded);

/// Drives both std channels through `ops`; `bound` `None` is unbounded. A waiting send is made
/// only when it cannot wait (the test's one thread would wait forever).
fn std_case(
    profiler: &Profiler,
    ops: Vec<Op>,
    bound: Option<usize>,
    (tx, rx): (impl StdSender, palavriado::channel::std_mpsc::Receiver<u16>),
    (btx, brx): (impl StdSender, std::sync::mpsc::Receiver<u16>),
) -> Result<(), TestCaseError> {
    let chan = probe(profiler, "c");
    let (mut rx, mut brx) = (Some(rx), Some(brx));
    let (mut txs, mut btxs) = (vec![tx], vec![btx]);
    let (mut received, mut in_channel) = (0u64, 0usize);
    let zero = Duration::ZERO;
    for op in ops {
        let (a, b) = match op {
            Op::Send(v) | Op::Reserve(v) => {
                let room = rx.is_none() || bound.is_none_or(|n| in_channel < n);
                let (a, b) = if room {
                    (
                        format!("{:?}", txs.first().map(|t| t.send_now(v))),
                        format!("{:?}", btxs.first().map(|t| t.send_now(v))),
                    )
                } else {
                    (String::new(), String::new())
                };
                in_channel += usize::from(room && a.contains("Ok"));
                (a, b)
            }
            Op::TrySend(v) => {
                let a = format!("{:?}", txs.first().map(|t| t.try_send_now(v)));
                let b = format!("{:?}", btxs.first().map(|t| t.try_send_now(v)));
                in_channel += usize::from(a.contains("Ok"));
                (a, b)
            }
            Op::Recv | Op::TryRecv => {
                let a = rx.as_ref().map(|r| match op {
                    Op::Recv => format!("{:?}", r.recv_timeout(zero)),
                    _ => format!("{:?}", r.try_recv()),
                });
                let b = brx.as_ref().map(|r| match op {
                    Op::Recv => format!("{:?}", r.recv_timeout(zero)),
                    _ => format!("{:?}", r.try_recv()),
                });
                let got = a.as_deref().is_some_and(|s| s.starts_with("Ok"));
                received += u64::from(got);
                in_channel -= usize::from(got);
                (format!("{a:?}"), format!("{b:?}"))
            }
            Op::RecvTwo => {
                let a: Option<Vec<u16>> = rx.as_ref().map(|r| r.try_iter().take(2).collect());
                let b: Option<Vec<u16>> = brx.as_ref().map(|r| r.try_iter().take(2).collect());
                let n = a.as_ref().map_or(0, Vec::len);
                received += n as u64;
                in_channel -= n;
                (format!("{a:?}"), format!("{b:?}"))
            }
            Op::CloneSender => clone_first(&mut txs, &mut btxs),
            Op::DropSender(i) => drop_nth(i, &mut txs, &mut btxs),
            Op::Close => {
                rx = None;
                brx = None;
                in_channel = 0;
                (String::new(), String::new())
            }
        };
        prop_assert_eq!(a, b);
        prop_assert_eq!(chan.mailbox_len(), in_channel as u64);
        prop_assert_eq!(chan.messages_received(), received);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn std_behaves_as_stds(ops in ops(), bound in prop::option::of(0..6usize)) {
        use palavriado::channel::std_mpsc;
        let profiler = Profiler::new("prop").start().unwrap();
        match bound {
            Some(n) => std_case(
                &profiler,
                ops,
                bound,
                std_mpsc::sync_channel::<u16>(&profiler, "c", n),
                std::sync::mpsc::sync_channel::<u16>(n),
            )?,
            None => std_case(
                &profiler,
                ops,
                bound,
                std_mpsc::channel::<u16>(&profiler, "c"),
                std::sync::mpsc::channel::<u16>(),
            )?,
        }
    }
}
