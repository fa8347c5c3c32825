//! Diagnoses on real pipelines: each one built to trigger a diagnosis, and one built not to.

use std::sync::Arc;
use std::time::Duration;

use palavriado::diagnosis::DiagnosisKind;
use palavriado::run::{Run, RunReport, RunSettings};
use palavriado::{Corpus, Strategy};

fn run(strategy: Strategy, repeat: u32, delay_ms: u64, seconds: u64) -> RunReport {
    let corpus = Arc::new(Corpus::builtin(repeat).unwrap());
    let mut st = RunSettings::new(strategy);
    st.workers = 2;
    st.delay = Duration::from_millis(delay_ms);
    st.duration = Some(Duration::from_secs(seconds));
    Run::start(corpus, st).wait()
}

fn named(r: &RunReport, kind: DiagnosisKind) -> Vec<String> {
    r.diagnoses
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.stage.clone())
        .collect()
}

#[test]
fn push_with_the_delay_grows_an_extractors_mailbox_and_pull_does_not() {
    let push = run(Strategy::Push, 10, 1, 3);
    let growing = named(&push, DiagnosisKind::MailboxGrowth);
    assert!(
        growing.iter().any(|s| s.starts_with("extractor")),
        "{:?}",
        push.diagnoses
    );
    let d = push
        .diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::MailboxGrowth)
        .unwrap();
    assert!(d.summary.contains("messages/s"), "{}", d.summary);
    assert!(d.since_ms >= 1000.0 && d.since_ms < 3000.0, "{d:?}");

    let pull = run(Strategy::Pull, 10, 1, 3);
    assert!(
        named(&pull, DiagnosisKind::MailboxGrowth).is_empty(),
        "{:?}",
        pull.diagnoses
    );
    let mut bottlenecks = named(&pull, DiagnosisKind::Bottleneck);
    bottlenecks.sort();
    assert_eq!(
        bottlenecks,
        ["extractor 1", "extractor 2"],
        "{:?}",
        pull.diagnoses
    );
}

#[test]
fn one_word_per_message_is_small_demand_and_flows_batches_are_not() {
    let push = run(Strategy::Push, 20, 0, 4);
    let small = named(&push, DiagnosisKind::SmallDemand);
    assert!(!small.is_empty(), "{:?}", push.diagnoses);
    assert!(
        push.diagnoses
            .iter()
            .filter(|d| d.kind == DiagnosisKind::SmallDemand)
            .all(|d| d.summary.contains("send events in batches")),
        "{:?}",
        push.diagnoses
    );
    let flow = run(Strategy::Flow, 20, 0, 4);
    assert!(
        named(&flow, DiagnosisKind::SmallDemand).is_empty(),
        "{:?}",
        flow.diagnoses
    );
    // No delay: nothing sleeps, so no bottleneck is blamed on the delay.
    assert!(
        flow.diagnoses
            .iter()
            .all(|d| !d.summary.contains("simulated delay")),
        "{:?}",
        flow.diagnoses
    );
}
