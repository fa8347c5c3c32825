//! Word counts: the map every strategy reduces into, its fingerprint and the talk's printout.

use compact_str::CompactString;
use hashbrown::HashTable;
use sha2::{Digest, Sha256};

use crate::wordcount::words::{Word, stable_hash};

/// Byte equality of two words, inlined: most words are short, and a library `memcmp` call costs
/// more than the comparison itself (two overlapping 8-byte loads cover up to 16 bytes).
#[inline(always)]
fn same_word(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap());
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// A word → count map with a running total; merged across workers at the end of a run.
///
/// Slots are found by the word's stable hash, so a [`Word`] that arrives with its hash is
/// counted without hashing it again. Keys are small-string-optimised (words up to 24 bytes live
/// inside the table), so the hot lookup compares bytes in the slot instead of chasing a pointer.
#[derive(Clone, Debug, Default)]
pub struct WordCounts {
    table: HashTable<(CompactString, u64)>,
    total: u64,
}

impl WordCounts {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one occurrence of `word`, allocating only the first time the word is seen.
    #[inline]
    pub fn add(&mut self, word: &str) {
        self.count(stable_hash(word), word, 1);
    }

    /// Counts one occurrence of a word that carries its hash.
    #[inline]
    pub fn add_word(&mut self, word: &Word) {
        self.count(word.hash(), word, 1);
    }

    #[inline]
    fn count(&mut self, hash: u64, word: &str, n: u64) {
        self.total += n;
        self.bump(hash, word, n);
    }

    /// Adds `n` to `word`'s count (found by `hash`), inserting it first if it is new; the key
    /// becomes a `CompactString` only then (a borrowed word is copied, an owned one moved).
    #[inline]
    fn bump<K: AsRef<str> + Into<CompactString>>(&mut self, hash: u64, word: K, n: u64) {
        match self
            .table
            .find_mut(hash, |(k, _)| same_word(k, word.as_ref()))
        {
            Some((_, c)) => *c += n,
            None => {
                self.table
                    .insert_unique(hash, (word.into(), n), |(k, _)| stable_hash(k));
            }
        }
    }

    /// Adds every count of `other` into `self`.
    pub fn merge(&mut self, other: WordCounts) {
        if self.table.len() < other.table.len() {
            let mine = std::mem::replace(self, other);
            self.merge(mine);
            return;
        }
        self.total += other.total;
        for (w, n) in other.table {
            self.bump(stable_hash(&w), w, n);
        }
    }

    /// Total number of words counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of distinct words.
    pub fn distinct(&self) -> usize {
        self.table.len()
    }

    /// The count of one word (0 if never seen).
    pub fn get(&self, word: &str) -> u64 {
        self.table
            .find(stable_hash(word), |(k, _)| k.as_str() == word)
            .map_or(0, |(_, n)| *n)
    }

    /// Iterates over (word, count) pairs in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table.iter().map(|(w, n)| (w.as_str(), *n))
    }

    /// SHA-256 (hex) of every `word\tcount\n`, words in ascending byte order: two runs agree
    /// exactly when their fingerprints do.
    pub fn sha256(&self) -> String {
        let mut entries: Vec<(&str, u64)> = self.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut hasher = Sha256::new();
        let mut line = String::new();
        for (w, n) in entries {
            use std::fmt::Write;
            line.clear();
            let _ = writeln!(line, "{w}\t{n}");
            hasher.update(line.as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The talk's `Printer`: for each word length (in characters, ascending), the `top` most
    /// frequent words of that length, most frequent first, ties in byte order.
    pub fn top_by_length(&self, top: usize) -> Vec<LengthGroup> {
        let mut by_len: std::collections::BTreeMap<usize, Vec<(&str, u64)>> = Default::default();
        for (w, n) in self.iter() {
            by_len.entry(w.chars().count()).or_default().push((w, n));
        }
        by_len
            .into_iter()
            .map(|(length, mut words)| {
                words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                words.truncate(top);
                LengthGroup {
                    length,
                    words: words.into_iter().map(|(w, n)| (w.to_owned(), n)).collect(),
                }
            })
            .collect()
    }
}

/// The most frequent words of one length.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LengthGroup {
    /// Word length in characters.
    pub length: usize,
    /// (word, count), most frequent first.
    pub words: Vec<(String, u64)>,
}

impl FromIterator<WordCounts> for WordCounts {
    /// Merges maps counted apart (one per worker) into one.
    fn from_iter<I: IntoIterator<Item = WordCounts>>(maps: I) -> Self {
        maps.into_iter().fold(WordCounts::new(), |mut all, part| {
            all.merge(part);
            all
        })
    }
}

/// A count map as an event (Flow's reducers emit one per partition).
impl crate::runtime::event::Event for WordCounts {
    fn heap_bytes(&self) -> u64 {
        // Keys inline up to 24 bytes, plus the count and hash-table control byte.
        self.distinct() as u64 * 33
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_comparison_agrees_with_byte_equality() {
        // Every length the overlapping loads handle differently, equal and differing at each
        // position (first byte, last byte, middle).
        for n in 0..40 {
            let a: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            assert!(same_word(&a, &a.clone()), "len {n}");
            for at in 0..n {
                let mut b = a.clone().into_bytes();
                b[at] = b'Z';
                let b = String::from_utf8(b).unwrap();
                assert!(!same_word(&a, &b), "len {n}, differs at {at}");
            }
            assert!(!same_word(&a, &format!("{a}x")), "len {n} vs {}", n + 1);
        }
    }

    #[test]
    fn words_carrying_their_hash_count_like_plain_strings() {
        let mut a = WordCounts::new();
        let mut b = WordCounts::new();
        for w in [
            "casa",
            "mar",
            "casa",
            "inconstitucionalissimamente",
            "mar",
            "casa",
        ] {
            a.add(w);
            b.add_word(&Word::new(w));
        }
        assert_eq!(a.sha256(), b.sha256());
        assert_eq!(b.get("casa"), 3);
        assert_eq!(b.get("inconstitucionalissimamente"), 1);
    }

    #[test]
    fn merge_and_fingerprint() {
        let mut a = WordCounts::new();
        a.add("casa");
        a.add("casa");
        a.add("árvore");
        let mut b = WordCounts::new();
        b.add("casa");
        b.add("mar");
        a.merge(b);
        assert_eq!(a.total(), 5);
        assert_eq!(a.distinct(), 3);
        assert_eq!(a.get("casa"), 3);
        // "casa\t3\nmar\t1\nárvore\t1\n" in byte order ('á' is 0xC3 > 'm').
        let mut h = Sha256::new();
        h.update(b"casa\t3\nmar\t1\n\xc3\xa1rvore\t1\n");
        let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(a.sha256(), expected);
        let top = a.top_by_length(1);
        assert_eq!(top[0].length, 3);
        assert_eq!(top[1].words, vec![("casa".to_owned(), 3)]);
        assert_eq!(top[2].length, 6);
    }
}
