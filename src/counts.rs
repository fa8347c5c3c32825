//! Word counts: the map every strategy reduces into, its fingerprint and the talk's printout.

use compact_str::CompactString;
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
use sha2::{Digest, Sha256};

/// A word → count map with a running total; merged across workers at the end of a run.
///
/// Keys are small-string-optimised (words up to 24 bytes live inside the table), so the hot
/// lookup compares bytes in the bucket instead of chasing a pointer per word.
#[derive(Clone, Debug, Default)]
pub struct WordCounts {
    map: FastMap<CompactString, u64>,
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
        self.add_n(word, 1);
    }

    /// Counts `n` occurrences of `word`.
    #[inline]
    pub fn add_n(&mut self, word: &str, n: u64) {
        self.total += n;
        if let Some(c) = self.map.get_mut(word) {
            *c += n;
        } else {
            self.map.insert(CompactString::from(word), n);
        }
    }

    /// Adds every count of `other` into `self`.
    pub fn merge(&mut self, other: WordCounts) {
        if self.map.len() < other.map.len() {
            let mine = std::mem::replace(self, other);
            self.merge(mine);
            return;
        }
        self.total += other.total;
        for (w, n) in other.map {
            *self.map.entry(w).or_insert(0) += n;
        }
    }

    /// Total number of words counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of distinct words.
    pub fn distinct(&self) -> usize {
        self.map.len()
    }

    /// The count of one word (0 if never seen).
    pub fn get(&self, word: &str) -> u64 {
        self.map.get(word).copied().unwrap_or(0)
    }

    /// Iterates over (word, count) pairs in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.map.iter().map(|(w, &n)| (&**w, n))
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LengthGroup {
    /// Word length in characters.
    pub length: usize,
    /// (word, count), most frequent first.
    pub words: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
