//! Several programs followed at once: their attachments merged into one timeline (each
//! program's series under its name, `program/stage`), their stages and diagnoses side by side,
//! one report once none is followed any more. Detaching one keeps the others going and what
//! was seen of it.
//!
//! A thread samples every member's newest row ten times a second into the merged timeline
//! (the first member's history is copied in whole): a program's columns hold its latest values
//! while it is followed and are empty once it has ended; memory adds up across programs, a
//! core's CPU is the highest any program saw (they share the machine).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::client::{Attachment, Ended, unix_now_s};
use crate::observe::diagnosis::Diagnosis;
use crate::observe::run::{RunReport, StageReport};
use crate::observe::timeline::{Row, Timeline};
use crate::runtime::probe::StageSnapshot;

/// How often the merged timeline takes a row.
const TICK: Duration = Duration::from_millis(100);
/// A program whose newest row is older than this is not charted at the tick (it stalled).
const STALE_S: f64 = 2.0;

/// How a program's series goes into the merged timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Merge {
    /// Under the program's name.
    Own,
    /// Added across programs (memory).
    Sum,
    /// The highest across programs (a core's CPU, seen by every program on the machine).
    Max,
}

/// The merged name of a program's series `name`, and how it merges.
fn merged_name(label: &str, name: &str) -> (String, Merge) {
    if let Some(rest) = name.strip_prefix("stage/") {
        return (format!("stage/{label}/{rest}"), Merge::Own);
    }
    if name.starts_with("memory/") {
        return (name.to_string(), Merge::Sum);
    }
    if name.starts_with("cpu/core") {
        return (name.to_string(), Merge::Max);
    }
    (format!("{label}/{name}"), Merge::Own)
}

/// `label/name`: a stage's name in the group.
fn qualified(label: &str, name: &str) -> String {
    format!("{label}/{name}")
}

/// One program of the group.
struct Member {
    attachment: Arc<Attachment>,
    /// Its name in the group: the program's, with its address when two share a name.
    label: String,
    /// Seconds from the group's start to the program's.
    offset_s: f64,
    /// The next row of its timeline to read.
    next_seq: u64,
    /// Its column `i` → (merged column, how it merges).
    columns: Vec<(usize, Merge)>,
    /// Its newest row, and when (its own seconds).
    latest: Option<Row>,
}

impl Member {
    /// Reads what arrived since the last tick: new columns mapped, the newest row kept.
    fn catch_up(&mut self, merged: &Timeline) {
        let tl = self.attachment.timeline();
        for name in tl.names_from(self.columns.len()) {
            let (m, how) = merged_name(&self.label, &name);
            self.columns.push((merged.column(&m), how));
        }
        let (rows, next) = tl.rows_since(self.next_seq);
        self.next_seq = next;
        if let Some(r) = rows.into_iter().last() {
            self.latest = Some(r);
        }
    }

    /// True while its newest row is recent and it is still followed.
    fn charted_at(&self, t: f64) -> bool {
        self.attachment.ended().is_none()
            && self
                .latest
                .as_ref()
                .is_some_and(|r| t - (r.t + self.offset_s) <= STALE_S)
    }
}

/// What the group's thread and its users share.
struct Shared {
    members: Mutex<Vec<Member>>,
    timeline: Arc<Timeline>,
    /// The group's start (Unix seconds): its first program's.
    origin_s: f64,
    stop: AtomicBool,
}

/// Several programs followed at once; see the module docs.
pub struct Group {
    shared: Arc<Shared>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("programs", &self.labels())
            .finish_non_exhaustive()
    }
}

impl Group {
    /// A group of `first` (what it received so far copied in) and `second`.
    pub fn new(first: Arc<Attachment>, second: Arc<Attachment>) -> Group {
        let origin_s = first.hello().started_unix_ms / 1e3;
        let shared = Arc::new(Shared {
            members: Mutex::new(Vec::new()),
            timeline: Arc::new(Timeline::default()),
            origin_s,
            stop: AtomicBool::new(false),
        });
        let group = Group {
            shared: shared.clone(),
            ticker: Mutex::new(None),
        };
        group.add(first);
        // The first program's history, as it was received.
        {
            let mut members = shared.members.lock();
            let m = &mut members[0];
            let (rows, next) = m.attachment.timeline().rows_since(0);
            m.catch_up(&shared.timeline);
            let width = shared.timeline.width();
            for r in rows {
                let mut values = vec![f64::NAN; width];
                for (i, &(to, _)) in m.columns.iter().enumerate() {
                    values[to] = r.get(i);
                }
                shared.timeline.push(Row { t: r.t, values });
            }
            m.next_seq = next;
        }
        group.add(second);
        let ticker = std::thread::Builder::new()
            .name("group".into())
            .spawn(move || {
                while !shared.stop.load(Relaxed) {
                    let live = shared.tick();
                    if !live {
                        break;
                    }
                    std::thread::sleep(TICK);
                }
            })
            .expect("spawning the group's thread");
        *group.ticker.lock() = Some(ticker);
        group
    }

    /// Follows `a` too (from now on); returns its name in the group.
    pub fn add(&self, a: Arc<Attachment>) -> String {
        let mut members = self.shared.members.lock();
        let program = &a.hello().program;
        let taken = |l: &str| members.iter().any(|m| m.label == l);
        let label = if taken(program) {
            format!("{program} ({})", a.addr())
        } else {
            program.clone()
        };
        members.push(Member {
            offset_s: a.hello().started_unix_ms / 1e3 - self.shared.origin_s,
            attachment: a,
            label: label.clone(),
            next_seq: 0,
            columns: Vec::new(),
            latest: None,
        });
        label
    }

    /// Each program's name in the group and its attachment, in the order they joined.
    pub fn members(&self) -> Vec<(String, Arc<Attachment>)> {
        self.shared
            .members
            .lock()
            .iter()
            .map(|m| (m.label.clone(), m.attachment.clone()))
            .collect()
    }

    /// The programs' names in the group.
    pub fn labels(&self) -> Vec<String> {
        self.members().into_iter().map(|(l, _)| l).collect()
    }

    /// The merged timeline.
    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.shared.timeline
    }

    /// Every program's stages as last received, named `program/stage`, each knowing its
    /// program.
    pub fn stages(&self) -> Vec<StageSnapshot> {
        let members = self.shared.members.lock();
        members
            .iter()
            .flat_map(|m| {
                m.attachment.stages().into_iter().map(|mut s| {
                    s.name = qualified(&m.label, &s.name);
                    s.feeds = s.feeds.iter().map(|f| qualified(&m.label, f)).collect();
                    s.program = Some(m.label.clone());
                    s
                })
            })
            .collect()
    }

    /// Every program's diagnoses, each naming its program (`program/stage`, and the summary
    /// led by the program), dated from the group's start.
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        let members = self.shared.members.lock();
        let mut all: Vec<Diagnosis> = members
            .iter()
            .flat_map(|m| {
                let shift = m.offset_s * 1e3;
                m.attachment.diagnoses().into_iter().map(move |mut d| {
                    d.stage = qualified(&m.label, &d.stage);
                    d.summary = format!("{}: {}", m.label, d.summary);
                    d.since_ms += shift;
                    d.until_ms = d.until_ms.map(|u| u + shift);
                    d
                })
            })
            .collect();
        all.sort_by(|a, b| a.since_ms.total_cmp(&b.since_ms));
        all
    }

    /// Stops following the program named `label` in the group; the others go on. False if
    /// there is none by that name.
    pub fn detach(&self, label: &str) -> bool {
        let a = {
            let members = self.shared.members.lock();
            members
                .iter()
                .find(|m| m.label == label)
                .map(|m| m.attachment.clone())
        };
        a.map(|a| a.detach()).is_some()
    }

    /// Stops following every program.
    pub fn detach_all(&self) {
        for (_, a) in self.members() {
            a.detach();
        }
    }

    /// True while at least one program is followed.
    pub fn is_live(&self) -> bool {
        self.members().iter().any(|(_, a)| a.ended().is_none())
    }

    /// Once no program is followed: the group's report (every program's stages, the merged
    /// timeline, all the diagnoses); `None` while one is, or if none sent a report.
    pub fn run_report(&self) -> Option<RunReport> {
        if self.is_live() {
            return None;
        }
        // The last rows, taken before the report.
        self.shared.tick();
        let members = self.members();
        let reports: Vec<(String, RunReport)> = members
            .iter()
            .filter_map(|(l, a)| Some((l.clone(), a.run_report()?)))
            .collect();
        if reports.is_empty() {
            return None;
        }
        let stages: Vec<StageReport> = reports
            .iter()
            .flat_map(|(l, r)| {
                r.stages.iter().cloned().map(move |mut s| {
                    s.name = qualified(l, &s.name);
                    s
                })
            })
            .collect();
        let wall = self
            .shared
            .timeline
            .rows_since(self.shared.timeline.next_seq().saturating_sub(1))
            .0
            .last()
            .map_or(0.0, |r| r.t);
        let mut report = RunReport::of_fleet(
            format!("{} programs: {}", members.len(), self.labels().join(", ")),
            stages,
            self.shared.timeline.clone(),
            Duration::from_secs_f64(wall.max(0.0)),
            self.diagnoses(),
        );
        report.completed = members
            .iter()
            .all(|(_, a)| a.ended() == Some(Ended::Finished));
        report.errors = reports.iter().flat_map(|(_, r)| r.errors.clone()).collect();
        report.messages = reports.iter().map(|(_, r)| r.messages).sum();
        report.peak_heap_bytes = reports.iter().map(|(_, r)| r.peak_heap_bytes).sum();
        Some(report)
    }
}

impl Shared {
    /// Takes one merged row of every followed program's newest values; false once none is
    /// followed.
    fn tick(&self) -> bool {
        let mut members = self.members.lock();
        let t = unix_now_s() - self.origin_s;
        for m in members.iter_mut() {
            m.catch_up(&self.timeline);
        }
        let width = self.timeline.width();
        let mut values = vec![f64::NAN; width];
        let mut any = false;
        for m in members.iter().filter(|m| m.charted_at(t)) {
            any = true;
            let Some(r) = &m.latest else { continue };
            for (i, &(to, how)) in m.columns.iter().enumerate() {
                let v = r.get(i);
                if v.is_nan() {
                    continue;
                }
                let slot = &mut values[to];
                *slot = match how {
                    Merge::Own => v,
                    _ if slot.is_nan() => v,
                    Merge::Sum => *slot + v,
                    Merge::Max => slot.max(v),
                };
            }
        }
        if any {
            self.timeline.push(Row { t, values });
        }
        any
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        if let Some(t) = self.ticker.lock().take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_series_merge_by_what_they_are() {
        assert_eq!(
            merged_name("sales", "stage/parser 1/busy_ms_per_s"),
            ("stage/sales/parser 1/busy_ms_per_s".into(), Merge::Own)
        );
        assert_eq!(
            merged_name("sales", "memory/resident"),
            ("memory/resident".into(), Merge::Sum)
        );
        assert_eq!(
            merged_name("sales", "cpu/core1"),
            ("cpu/core1".into(), Merge::Max)
        );
        assert_eq!(
            merged_name("sales", "progress/lines_read"),
            ("sales/progress/lines_read".into(), Merge::Own)
        );
    }
}
