//! The talk's word extraction (`Palavriado.extract_words`), in two clearly named modes.
//!
//! [`SplitMode::Chars`] (the default) splits on every *character* that is not an ASCII letter,
//! digit or `-`, nor in U+00C0–U+00D6, U+00D8–U+00F6, U+00F8–U+00FF; pieces of at least three
//! characters are kept and lowercased. [`SplitMode::TalkBytes`] reproduces what the talk's Elixir
//! regex really did: it had no Unicode flag, so it split *bytes*, and a `String.valid?` filter then
//! dropped every piece that was not valid UTF-8.

mod spans;

use crate::runtime::unknown_name::UnknownName;
use std::fmt;
use std::str::FromStr;

use spans::Spans;

/// Shortest word kept, in characters (the talk's `String.length(w) >= 3`).
pub const MIN_WORD_CHARS: usize = 3;

/// How a text is split into words.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum SplitMode {
    /// Split on characters outside the talk's class, as the regex was meant to work.
    #[default]
    Chars,
    /// Split bytes like the talk's non-Unicode regex, then drop pieces that are not valid UTF-8.
    TalkBytes,
}

impl SplitMode {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            SplitMode::Chars => "chars",
            SplitMode::TalkBytes => "talk-bytes",
        }
    }

    /// Calls `emit` with every word of `text`, lowercased, in order of appearance.
    ///
    /// `scratch` is a reusable buffer so the hot loop allocates nothing per word.
    pub fn for_each_word(self, text: &str, scratch: &mut String, mut emit: impl FnMut(&str)) {
        match self {
            SplitMode::Chars => for_each_word_chars(text, scratch, &mut emit),
            SplitMode::TalkBytes => for_each_word_talk_bytes(text, scratch, &mut emit),
        }
    }

    /// Iterates over the words of an owned text (for pipelines that pass words on).
    pub fn into_words<T: AsRef<str>>(self, text: T) -> Words<T> {
        Words {
            spans: Spans::default(),
            text,
            pos: 0,
            mode: self,
            scratch: String::new(),
        }
    }

    /// Every word of `text` as owned strings (convenient, allocates per word).
    pub fn words(self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        self.for_each_word(text, &mut scratch, |w| out.push(w.to_owned()));
        out
    }
}

impl fmt::Display for SplitMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SplitMode {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "chars" => Ok(SplitMode::Chars),
            "talk-bytes" => Ok(SplitMode::TalkBytes),
            other => Err(UnknownName::new(
                "split mode",
                other,
                "'chars' or 'talk-bytes'",
            )),
        }
    }
}

/// The words of `text` in the default [`SplitMode::Chars`] mode.
#[cfg(test)]
pub fn extract_words(text: &str) -> Vec<String> {
    SplitMode::Chars.words(text)
}

/// The seed of stable hash: fixed, so a word hashes the same in every run.
const HASH_SEED: u64 = 0x7061_6c61_7672_6961; // "palavria"

/// A hash of a word that is the same in every run (foldhash with a fixed seed). One hash serves
/// twice: it routes a word to its partition and finds it in a [`crate::wordcount::counts::WordCounts`] map.
#[inline]
pub fn stable_hash(word: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(HASH_SEED).build_hasher();
    h.write(word.as_bytes());
    h.finish()
}

/// A word cut out of a text, carrying its stable hash, so a pipeline hashes each word once:
/// the same hash picks its partition and its slot in the count map. Words up to 24 bytes are
/// stored inline (no allocation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    hash: u64,
    text: compact_str::CompactString,
}

impl Word {
    /// Copies `text` and hashes it.
    #[inline]
    pub fn new(text: &str) -> Self {
        Self {
            hash: stable_hash(text),
            text: compact_str::CompactString::new(text),
        }
    }

    /// Copies `text` lowercased (see [`lowercase_latin1`]) and hashes it.
    fn lowercased(text: &str) -> Self {
        let mut text = compact_str::CompactString::new(text);
        lowercase_latin1(text.as_mut_str());
        Self {
            hash: stable_hash(&text),
            text,
        }
    }

    /// The word.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its stable hash.
    #[inline]
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The key to partition words by: the hash's upper half, so the words of one partition still
    /// spread over all of a count map's slots (which the lower bits choose).
    #[inline]
    pub fn partition_key(&self) -> u64 {
        self.hash >> 32
    }

    /// Heap bytes the word owns (0 for words up to 24 bytes).
    pub fn heap_bytes(&self) -> u64 {
        if self.text.is_heap_allocated() {
            self.text.capacity() as u64
        } else {
            0
        }
    }
}

/// A word message weighs its heap text (none up to 24 bytes).
impl crate::runtime::event::Event for Word {
    fn heap_bytes(&self) -> u64 {
        Word::heap_bytes(self)
    }
}

impl std::ops::Deref for Word {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for Word {
    fn from(text: &str) -> Self {
        Word::new(text)
    }
}

/// True for ASCII bytes that belong to words in both modes: letters, digits and `-`.
#[inline(always)]
const fn is_ascii_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn for_each_word_chars(text: &str, scratch: &mut String, emit: &mut dyn FnMut(&str)) {
    let mut spans = Spans::default();
    while let Some((word, needs_lower)) = spans.next_word(text) {
        if needs_lower {
            lowercase_latin1_into(word, scratch);
            emit(scratch);
        } else {
            emit(word);
        }
    }
}

/// Lowercases a word of the character mode in place: ASCII letters and U+00C0–U+00DE (but ×),
/// each of which lowercases to a character of the same UTF-8 length.
fn lowercase_latin1(word: &mut str) {
    // SAFETY: only ASCII bytes become other ASCII bytes, and second bytes of `C3` sequences
    // move from 80–9E to A0–BE, continuation bytes both; so `word` stays valid UTF-8.
    let bytes = unsafe { word.as_bytes_mut() };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0xC3 {
            let t = &mut bytes[i + 1];
            if (0x80..=0x9E).contains(t) && *t != 0x97 {
                *t += 0x20;
            }
            i += 2;
        } else {
            bytes[i] = b.to_ascii_lowercase();
            i += 1;
        }
    }
}

/// Lowercases `word` (see [`lowercase_latin1`]) into `out`, reusing its buffer.
fn lowercase_latin1_into(word: &str, out: &mut String) {
    out.clear();
    out.push_str(word);
    lowercase_latin1(out);
}

/// Bytes that the talk's non-Unicode class `[A-Za-z0-9À-ÖØ-öø-ÿ-]` keeps inside a piece: read as
/// bytes, its ranges `\xC3\x80-\xC3\x96` etc. cover every byte from 0x80 to 0xC3.
#[inline(always)]
fn is_talk_word_byte(b: u8) -> bool {
    is_ascii_word_byte(b) || (0x80..=0xC3).contains(&b)
}

fn for_each_word_talk_bytes(text: &str, scratch: &mut String, emit: &mut dyn FnMut(&str)) {
    let mut pos = 0;
    while let Some(w) = next_word_talk_bytes(text, &mut pos, scratch) {
        emit(w);
    }
}

/// The next word of `text` at or after byte `pos` (the talk's byte semantics), lowercased into
/// `scratch`; advances `pos` past it.
fn next_word_talk_bytes<'a>(
    text: &str,
    pos: &mut usize,
    scratch: &'a mut String,
) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = *pos;
    while i < n {
        if !is_talk_word_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && is_talk_word_byte(bytes[i]) {
            i += 1;
        }
        // `String.valid?`: pieces cut inside a multi-byte character are dropped.
        let Ok(piece) = std::str::from_utf8(&bytes[start..i]) else {
            continue;
        };
        // `String.length` counts graphemes; in these pieces (ASCII and U+0080–U+00FF, no
        // combining marks, no CR LF) a grapheme is one character.
        if piece.chars().count() >= MIN_WORD_CHARS {
            *pos = i;
            scratch.clear();
            for c in piece.chars() {
                scratch.extend(c.to_lowercase());
            }
            return Some(scratch);
        }
    }
    *pos = n;
    None
}

/// The words of an owned text, each with its hash (no allocation for words up to 24 bytes); see
/// [`SplitMode::into_words`].
pub struct Words<T = String> {
    text: T,
    /// Where character mode is in `text`.
    spans: Spans,
    /// Where talk-bytes mode is in `text`.
    pos: usize,
    mode: SplitMode,
    scratch: String,
}

impl<T> std::fmt::Debug for Words<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Words").finish_non_exhaustive()
    }
}

impl<T: AsRef<str>> Iterator for Words<T> {
    type Item = Word;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.mode {
            SplitMode::Chars => {
                let (word, needs_lower) = self.spans.next_word(self.text.as_ref())?;
                Some(if needs_lower {
                    Word::lowercased(word)
                } else {
                    Word::new(word)
                })
            }
            SplitMode::TalkBytes => {
                next_word_talk_bytes(self.text.as_ref(), &mut self.pos, &mut self.scratch)
                    .map(Word::new)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_all_latin1_uppercase() {
        let upper: String = ('\u{C0}'..='\u{DE}').filter(|&c| c != '×').collect();
        assert_eq!(SplitMode::Chars.words(&upper), vec![upper.to_lowercase()]);
    }
}
