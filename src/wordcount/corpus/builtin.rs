//! The built-in corpus: a deterministic, Portuguese-like text the program writes itself, about the
//! size and line count of Machado de Assis's works (~11 MB, ~180k lines), so the app runs on a
//! fresh machine with no download.
//!
//! Words come from `assets/vocabulario.txt` (real Portuguese words, most frequent first) and from
//! regular derivations of them (plurals, diminutives, adverbs …), drawn with a Zipf-like weight
//! 1/(rank + 2.7). A fixed-seed SplitMix64 generator makes the output byte-identical on every
//! machine for a given [`BUILTIN_VERSION`].

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// Name shown for the built-in corpus.
pub const BUILTIN_NAME: &str = "built-in";

/// Bump when the generator's output changes (the cache folder is named after it).
pub(crate) const BUILTIN_VERSION: u32 = 1;

const VOCABULARY: &str = include_str!("../../../assets/vocabulario.txt");
const SEED: u64 = 0x1839_0621_1908_0929; // Machado's birth and death dates
const FOLDERS: [&str; 7] = [
    "romance",
    "conto",
    "crônica",
    "poesia",
    "teatro",
    "crítica",
    "miscelânea",
];
const FILES: usize = 112;
const BYTES_PER_FILE: usize = 100_000;
const SUFFIXES: [&str; 12] = [
    "s", "inho", "inha", "mente", "zinhos", "íssimo", "ada", "ado", "eira", "eiro", "ável", "ência",
];

/// Where the built-in corpus lives: `$PALAVRIADO_CACHE_DIR` or the user's cache folder.
pub fn builtin_dir() -> PathBuf {
    let base = std::env::var_os("PALAVRIADO_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("palavriado")))
        .unwrap_or_else(|| std::env::temp_dir().join("palavriado"));
    base.join(format!("builtin-v{BUILTIN_VERSION}"))
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
}

struct Vocabulary {
    words: Vec<String>,
    /// Cumulative weights scaled to u64.
    cumulative: Vec<u64>,
}

impl Vocabulary {
    fn new() -> Self {
        let base: Vec<&str> = VOCABULARY
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let mut words: Vec<String> = base.iter().map(|w| w.to_string()).collect();
        for suffix in SUFFIXES {
            for w in &base {
                if w.chars().count() >= 4 && !w.contains('-') {
                    words.push(format!("{w}{suffix}"));
                }
            }
        }
        let weights: Vec<f64> = (0..words.len()).map(|k| 1.0 / (k as f64 + 2.7)).collect();
        let sum: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / sum;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn pick(&self, rng: &mut SplitMix64) -> &str {
        let r = rng.next();
        let i = self.cumulative.partition_point(|&c| c < r);
        &self.words[i.min(self.words.len() - 1)]
    }
}

fn capitalize(word: &str, out: &mut String) {
    let mut chars = word.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_uppercase());
        out.push_str(chars.as_str());
    }
}

fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 9] = [
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut s = String::new();
    for (v, r) in TABLE {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

/// Writes one work (one file's text).
fn work(vocab: &Vocabulary, rng: &mut SplitMix64, out: &mut String) {
    let mut chapter = 0;
    while out.len() < BYTES_PER_FILE {
        let kind = rng.below(100);
        if kind < 4 {
            out.push('\n');
            continue;
        }
        if kind < 5 {
            chapter += 1;
            let _ = writeln!(out, "CAPÍTULO {}", roman(chapter));
            continue;
        }
        if kind < 30 {
            out.push_str("— ");
        }
        let words = 4 + rng.below(11) as usize;
        for i in 0..words {
            let w = vocab.pick(rng);
            if i == 0 {
                capitalize(w, out);
            } else {
                out.push(' ');
                out.push_str(w);
                if i + 1 < words && rng.below(9) == 0 {
                    out.push(',');
                }
            }
        }
        let end = match rng.below(20) {
            0..=13 => ".",
            14..=15 => "?",
            16..=17 => "!",
            18 => "…",
            _ => ";",
        };
        out.push_str(end);
        if rng.below(50) == 0 {
            let _ = write!(out, " ({})", 1839 + rng.below(70));
        }
        out.push('\n');
    }
}

/// Writes the built-in corpus into `dir` unless it is already there.
///
/// Written to a temporary sibling folder and renamed into place, so an interrupted write never
/// leaves a partial corpus behind.
pub fn generate_builtin(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    // One temporary folder per call: two threads of one process (the app scanning the corpus
    // while a run starts) may generate at once, and neither may remove the other's.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = parent.join(format!(
        ".{}.tmp-{}-{}",
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("builtin"),
        std::process::id(),
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let vocab = Vocabulary::new();
    let mut rng = SplitMix64(SEED);
    let mut text = String::with_capacity(BYTES_PER_FILE + 1024);
    for i in 0..FILES {
        let folder = tmp.join(FOLDERS[i % FOLDERS.len()]);
        std::fs::create_dir_all(&folder)?;
        text.clear();
        work(&vocab, &mut rng, &mut text);
        std::fs::write(folder.join(format!("obra-{:03}.txt", i + 1)), &text)?;
    }
    match std::fs::rename(&tmp, dir) {
        Ok(()) => Ok(()),
        // Another process finished first: use its copy.
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals() {
        assert_eq!(roman(1), "I");
        assert_eq!(roman(14), "XIV");
        assert_eq!(roman(49), "XLIX");
    }

    #[test]
    fn threads_of_one_process_generate_at_once() {
        let base = std::env::temp_dir().join(format!("palavriado-gen-{}", std::process::id()));
        let dir = base.join("builtin-v1");
        let _ = std::fs::remove_dir_all(&base);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || generate_builtin(&dir))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let files = walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count();
        assert_eq!(files, FILES);
        // No temporary folder is left behind.
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 1);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn generator_is_deterministic() {
        let vocab = Vocabulary::new();
        let (mut a, mut b) = (String::new(), String::new());
        work(&vocab, &mut SplitMix64(SEED), &mut a);
        work(&vocab, &mut SplitMix64(SEED), &mut b);
        assert_eq!(a, b);
        assert!(a.len() >= BYTES_PER_FILE);
    }
}
