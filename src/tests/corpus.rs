//! Corpus discovery, streaming and bad input.

use super::common;

use std::sync::Arc;

use crate::Pipeline;
use crate::observe::run::{Run, RunSettings};
use crate::wordcount::corpus::{Corpus, CorpusError, MAX_LINE_BYTES};
use crate::wordcount::{SplitMode, Strategy};
use common::corpus_dir;

#[test]
fn finds_txt_files_recursively_in_sorted_order() {
    let dir = corpus_dir(&[
        ("b.txt", b"beta\n"),
        ("a/z.txt", b"zeta\n"),
        ("crítica/ação.txt", b"acao\n"),
        ("a/notes.md", b"ignored\n"),
        ("A.TXT", b"upper\n"),
    ]);
    let c = Corpus::open(dir.path(), 1).unwrap();
    let names: Vec<String> = c
        .files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["A.TXT", "a/z.txt", "b.txt", "crítica/ação.txt"]);
    assert_eq!(c.bytes_once(), 5 + 5 + 5 + 6);
}

#[test]
fn single_file_and_repeat() {
    let dir = corpus_dir(&[("um.txt", b"casa casa\nmar\n")]);
    let c = Arc::new(Corpus::open(&dir.path().join("um.txt"), 3).unwrap());
    assert_eq!(c.files.len(), 1);
    assert_eq!(c.total_bytes(), 14 * 3);
    let ctl = Pipeline::new();
    let lines: Vec<String> = c.lines(&ctl).map(|l| l.to_string()).collect();
    assert_eq!(lines, ["casa casa", "mar"].repeat(3));
    assert_eq!(
        ctl.control()
            .progress
            .bytes_read
            .load(std::sync::atomic::Ordering::Relaxed),
        42
    );
}

#[test]
fn lines_come_out_whole_and_in_order_across_read_blocks() {
    // Lines are read in shared blocks (up to 512 lines or 32 KiB); every line must come out
    // exactly once and whole, across block and file edges, with invalid UTF-8 decoded lossily
    // and CRLF endings and empty lines kept as they are.
    let mut a = String::new();
    for i in 0..1_500 {
        a.push_str(&format!("linha {i} {}\n", "é".repeat(i % 40)));
    }
    a.push_str(&"x".repeat(40_000));
    a.push_str("\n\nfim\r\n");
    let mut b = b"sem fim de linha \xff".to_vec();
    b.extend_from_slice(&[b'z'; 100]);
    let dir = corpus_dir(&[("a.txt", a.as_bytes()), ("b.txt", &b)]);
    let c = Arc::new(Corpus::open(dir.path(), 2).unwrap());
    let ctl = Pipeline::new();
    let got: Vec<_> = c.lines(&ctl).collect();
    let b_text = String::from_utf8_lossy(&b).into_owned();
    let want: Vec<&str> = a.split('\n').take(1_503).chain([b_text.as_str()]).collect();
    assert_eq!(got.len(), want.len() * 2);
    for (i, (g, w)) in got.iter().zip(want.iter().cycle()).enumerate() {
        assert_eq!(g.as_str(), *w, "line {i}");
    }
    let total: u64 = got
        .iter()
        .map(crate::runtime::stage::Event::heap_bytes)
        .sum();
    assert_eq!(total, 2 * want.iter().map(|w| w.len() as u64).sum::<u64>());
    drop(got);
    assert_eq!(
        ctl.control()
            .progress
            .bytes_read
            .load(std::sync::atomic::Ordering::Relaxed),
        2 * (a.len() + b.len()) as u64
    );
}

#[test]
fn bad_paths_are_clear_errors() {
    let dir = corpus_dir(&[("x/readme.md", b"no text here")]);
    let missing = dir.path().join("nope");
    let e = Corpus::open(&missing, 1).unwrap_err();
    assert!(matches!(e, CorpusError::Missing(_)));
    assert!(e.to_string().contains("nope") && e.to_string().contains("does not exist"));

    let e = Corpus::open(dir.path(), 1).unwrap_err();
    assert!(matches!(e, CorpusError::NoTextFiles(_)), "{e}");
    assert!(e.to_string().contains("no .txt files"));

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Corpus::open(empty.path(), 1).unwrap_err(),
        CorpusError::NoTextFiles(_)
    ));
    let e = Corpus::open(&dir.path().join("x/readme.md"), 1).unwrap_err();
    assert!(matches!(e, CorpusError::NotText(_)));
    assert!(matches!(
        Corpus::open(dir.path(), 0).unwrap_err(),
        CorpusError::ZeroRepeat
    ));
}

fn run_all(corpus: Arc<Corpus>) -> Vec<crate::RunReport> {
    Strategy::ALL
        .iter()
        .map(|&s| {
            let mut settings = RunSettings::new(s);
            settings.workers = 2;
            Run::start(corpus.clone(), settings).wait()
        })
        .collect()
}

#[test]
fn broken_files_warn_and_the_run_goes_on() {
    let mut latin1 = b"cora\xe7\xe3o bonito\n".to_vec(); // Latin-1 "coração"
    latin1.extend_from_slice(b"fim\n");
    let dir = corpus_dir(&[
        ("latin1.txt", &latin1),
        (
            "binary.txt",
            &[0u8, 159, 146, 150, 255, b'a', b'b', b'c', b'\n'],
        ),
        ("crlf.txt", b"linha um\r\nlinha dois\r\n"),
        ("empty.txt", b""),
        ("nonl.txt", b"sem quebra no fim"),
    ]);
    // A broken symlink stands for an unreadable file (root can read any mode), a loop for a loop.
    std::os::unix::fs::symlink(dir.path().join("gone.txt"), dir.path().join("broken.txt")).unwrap();
    std::fs::create_dir(dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop/back")).unwrap();

    let corpus = Arc::new(Corpus::open(dir.path(), 1).unwrap());
    for report in run_all(corpus) {
        assert!(report.completed, "{:?}", report.strategy);
        // coração splits at the invalid bytes: cora bonito fim | abc | linha linha dois ("um" is
        // too short) | sem quebra fim.
        assert_eq!(report.counts.get("cora"), 1);
        assert_eq!(report.counts.get("bonito"), 1);
        assert_eq!(report.counts.get("abc"), 1);
        assert_eq!(report.counts.get("linha"), 2);
        assert_eq!(report.counts.get("dois"), 1);
        assert_eq!(report.counts.get("fim"), 2);
        assert_eq!(report.total_words, 10, "{:?}", report.strategy);
        let w = report.warnings.join("\n");
        assert!(w.contains("latin1.txt: not valid UTF-8"), "{w}");
        assert!(w.contains("binary.txt: not valid UTF-8"), "{w}");
        assert!(w.contains("empty.txt: empty file"), "{w}");
        assert!(w.contains("loop/back") && w.contains("symlink loop"), "{w}");
        assert!(w.contains("broken.txt"), "{w}");
    }
}

#[test]
fn one_huge_line_is_streamed_in_pieces_without_losing_words() {
    // ~8 MB with no newline at all: the streaming strategies must cut it between words.
    let unit = "palavra grande-demais ação ";
    let n = 8 * 1024 * 1024 / unit.len();
    let text = unit.repeat(n);
    let dir = corpus_dir(&[("one.txt", text.as_bytes())]);
    let corpus = Arc::new(Corpus::open(dir.path(), 1).unwrap());
    let ctl = Pipeline::new();
    let longest = corpus.lines(&ctl).map(|l| l.len()).max().unwrap();
    assert!(longest <= MAX_LINE_BYTES, "{longest}");
    assert!(ctl.warnings().iter().any(|w| w.contains("read in pieces")));
    for report in run_all(corpus) {
        assert_eq!(
            report.counts.get("palavra"),
            n as u64,
            "{:?}",
            report.strategy
        );
        assert_eq!(report.counts.get("grande-demais"), n as u64);
        assert_eq!(report.total_words, 3 * n as u64);
    }
}

#[test]
fn a_word_longer_than_a_piece_is_cut_on_a_character_boundary() {
    let text = "é".repeat(MAX_LINE_BYTES); // 2 bytes each, no separator at all
    let dir = corpus_dir(&[("w.txt", text.as_bytes())]);
    let corpus = Arc::new(Corpus::open(dir.path(), 1).unwrap());
    let ctl = Pipeline::new();
    let pieces: Vec<String> = corpus.lines(&ctl).map(|l| l.to_string()).collect();
    assert!(pieces.len() >= 2);
    assert_eq!(pieces.concat(), text, "no byte lost or replaced");
    assert!(ctl.warnings().iter().all(|w| !w.contains("UTF-8")));
}

#[test]
fn builtin_corpus_is_generated_once_and_looks_like_machado() {
    let c = Corpus::builtin(1).unwrap();
    assert!(c.builtin);
    assert!(c.files.len() >= 100);
    let bytes = c.bytes_once();
    assert!((10_000_000..13_000_000).contains(&bytes), "{bytes}");
    let again = Corpus::builtin(1).unwrap();
    assert_eq!(again.files, c.files);
    let mut settings = RunSettings::new(Strategy::Lazy);
    settings.split = SplitMode::Chars;
    let r = Run::start(Arc::new(c), settings).wait();
    assert!((150_000..220_000).contains(&r.lines), "{}", r.lines);
    assert!(r.counts.get("não") > r.counts.get("casa"));
    assert!(r.counts.get("cumprimentou-me") > 0);
    assert!(r.distinct_words > 5_000);
}

#[test]
fn builtin_corpus_is_byte_identical_everywhere() {
    use sha2::{Digest, Sha256};
    let c = Corpus::builtin(1).unwrap();
    let mut h = Sha256::new();
    for f in &c.files {
        h.update(
            f.path
                .strip_prefix(&c.root)
                .unwrap()
                .to_str()
                .unwrap()
                .as_bytes(),
        );
        h.update(std::fs::read(&f.path).unwrap());
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(c.files.len(), 112);
    assert_eq!(
        hex,
        "a12b2958c5011735a29c9a2b0927ad16f13474d1fecd56cac541426d58cf3a8a"
    );
}

#[test]
fn titles_name_a_corpus_by_its_folder_never_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("machado");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("a.txt"), "Capitu olhos de ressaca\n").unwrap();
    let c = Corpus::open(&folder, 10).unwrap();
    assert_eq!(c.short_name(), "machado");
    assert!(c.display_name().ends_with("machado") && c.display_name().len() > 7);
    assert_eq!(Corpus::builtin(1).unwrap().short_name(), "built-in");
    // The same from the name a report or recording keeps.
    assert_eq!(
        crate::wordcount::corpus::short_name_of(&c.display_name()),
        "machado"
    );
    assert_eq!(
        crate::wordcount::corpus::short_name_of("built-in"),
        "built-in"
    );
}
