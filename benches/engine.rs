//! Criterion benchmarks of the hot loop: word extraction (MB/s, both split modes) and the
//! counting map. The strategies on the talk's corpus ×10 are measured by `palavriado bench`
//! (whole runs, medians of alternating runs), see the README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palavriado::corpus::Corpus;
use palavriado::counts::WordCounts;
use palavriado::words::SplitMode;

/// One pass of a corpus as text: the talk's corpus when `PALAVRIADO_MACHADO` is set, else the
/// built-in one.
fn sample_text() -> String {
    let corpus = match std::env::var_os("PALAVRIADO_MACHADO") {
        Some(p) => Corpus::open(std::path::Path::new(&p), 1).expect("PALAVRIADO_MACHADO"),
        None => Corpus::builtin(1).expect("built-in corpus"),
    };
    corpus
        .files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(&f.path).unwrap()).into_owned())
        .collect()
}

fn extraction(c: &mut Criterion) {
    let text = sample_text();
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    for mode in [SplitMode::Chars, SplitMode::TalkBytes] {
        group.bench_function(format!("{mode} (count words)"), |b| {
            let mut scratch = String::new();
            b.iter(|| {
                let mut n = 0u64;
                mode.for_each_word(black_box(&text), &mut scratch, |_| n += 1);
                n
            })
        });
    }
    group.bench_function("chars + count map", |b| {
        let mut scratch = String::new();
        b.iter(|| {
            let mut counts = WordCounts::new();
            SplitMode::Chars.for_each_word(black_box(&text), &mut scratch, |w| counts.add(w));
            counts.total()
        })
    });
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
