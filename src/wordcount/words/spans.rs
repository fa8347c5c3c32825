//! Finding the words of a text in [`super::SplitMode::Chars`] mode, 64 bytes at a time.
//!
//! Each 64-byte block is classified into bit masks (which bytes belong to words, which start a
//! two-byte Latin-1 letter, which make a word need lowercasing) with SSE2 on x86-64 and a
//! branch-free loop elsewhere; words are then the runs of set bits. A byte-at-a-time scanner
//! mispredicts a branch at nearly every word edge, and scanning was the largest cost of every
//! strategy's extraction.
//!
//! Why bytes are enough: word characters are ASCII letters, digits and `-` (one byte) or
//! U+00C0–U+00FF minus × and ÷ (`C3 80`–`C3 BF` minus `C3 97` and `C3 B7`). In valid UTF-8 a
//! `C3` is always followed by a continuation byte, and no other sequence contains `C3`, so a
//! byte is a word byte exactly when it is ASCII word byte, a `C3` whose next byte is not `97`/`B7`,
//! or a byte after a `C3` that is not `97`/`B7`.

use super::MIN_WORD_CHARS;

/// The masks of one block: bit *i* describes byte *i* of the block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct BlockMasks {
    /// Bytes that belong to a word.
    word: u64,
    /// Bytes of uppercase letters (ASCII, or the second byte of U+00C0–U+00DE).
    upper: u64,
}

/// Bytes of one block with one byte of context on each side: `[prev, block (64), next]`.
type Window = [u8; 66];

/// `window` classified by a per-byte loop (the portable path, and the tests' reference).
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(super) fn masks_scalar(window: &Window) -> BlockMasks {
    let mut m = BlockMasks::default();
    for i in 0..64 {
        let (prev, b, next) = (window[i], window[i + 1], window[i + 2]);
        let bad = |x: u8| x == 0x97 || x == 0xB7;
        let ascii = b.is_ascii_alphanumeric() || b == b'-';
        let lead = b == 0xC3 && !bad(next);
        let tail = prev == 0xC3 && !bad(b);
        let bit = 1u64 << i;
        if ascii || lead || tail {
            m.word |= bit;
        }
        if b.is_ascii_uppercase() || (tail && (0x80..=0x9E).contains(&b)) {
            m.upper |= bit;
        }
    }
    m
}

/// `window` classified 16 bytes per instruction (SSE2 is part of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
pub(super) fn masks_sse2(window: &Window) -> BlockMasks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is baseline on x86-64; every load reads 16 bytes at offsets 0..=50 of a
    // 66-byte array.
    unsafe {
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        // lo <= x <= hi, unsigned: (x - lo) saturating-minus (hi - lo) is zero.
        let within = |x: __m128i, lo: u8, hi: u8| {
            _mm_cmpeq_epi8(
                _mm_subs_epu8(_mm_sub_epi8(x, splat(lo)), splat(hi - lo)),
                _mm_setzero_si128(),
            )
        };
        let is = |x: __m128i, b: u8| _mm_cmpeq_epi8(x, splat(b));
        let bad = |x: __m128i| _mm_or_si128(is(x, 0x97), is(x, 0xB7));
        let mut m = BlockMasks::default();
        let p = window.as_ptr();
        for k in 0..4 {
            let load = |at: usize| _mm_loadu_si128(p.add(at + 16 * k) as *const __m128i);
            let (prev, b, next) = (load(0), load(1), load(2));
            let letter = within(_mm_or_si128(b, splat(0x20)), b'a', b'z');
            let ascii = _mm_or_si128(_mm_or_si128(letter, within(b, b'0', b'9')), is(b, b'-'));
            let lead = _mm_andnot_si128(bad(next), is(b, 0xC3));
            let tail = _mm_andnot_si128(bad(b), is(prev, 0xC3));
            let word = _mm_or_si128(ascii, _mm_or_si128(lead, tail));
            let upper = _mm_or_si128(
                within(b, b'A', b'Z'),
                _mm_and_si128(tail, within(b, 0x80, 0x9E)),
            );
            let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16) << (16 * k);
            m.word |= bits(word);
            m.upper |= bits(upper);
        }
        m
    }
}

/// The fastest classifier this target has.
#[inline]
fn masks(window: &Window) -> BlockMasks {
    #[cfg(target_arch = "x86_64")]
    {
        masks_sse2(window)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        masks_scalar(window)
    }
}

/// The block of `text` at byte `base`, with its neighbours (zero, a separator, past the ends).
pub(super) fn window_at(text: &[u8], base: usize) -> Window {
    let mut w = [0u8; 66];
    if base > 0 {
        w[0] = text[base - 1];
    }
    let end = text.len().min(base + 65);
    w[1..1 + end - base].copy_from_slice(&text[base..end]);
    w
}

/// The bits `from..from + len` (`len` ≥ 1, `from + len` ≤ 64).
#[inline]
fn bit_range(from: u32, len: u32) -> u64 {
    (u64::MAX >> (64 - len)) << from
}

/// Whether a run of word bytes has at least [`MIN_WORD_CHARS`] characters. Each is one byte or
/// two (`C3 xx`), so only runs of 3 to 5 bytes need counting.
#[inline]
fn chars_at_least_min(run: &[u8]) -> bool {
    match run.len() {
        n if n >= 2 * MIN_WORD_CHARS => true,
        n if n < MIN_WORD_CHARS => false,
        n => n - run.iter().filter(|&&b| b == 0xC3).count() >= MIN_WORD_CHARS,
    }
}

/// Walks the words of one text from its start (`Spans::default()`): call
/// [`Spans::next_word`] with the same text each time. Blocks are classified as the walk reaches
/// them.
#[derive(Clone, Debug, Default)]
pub(super) struct Spans {
    /// Byte offset of the current block.
    base: usize,
    /// Byte offset of the next block to classify.
    next_block: usize,
    /// The current block's masks; word bits already handed out are cleared.
    masks: BlockMasks,
}

impl Spans {
    /// Moves to the next block; false past the end of `text`.
    #[inline]
    fn advance(&mut self, text: &[u8]) -> bool {
        if self.next_block >= text.len() {
            self.masks = BlockMasks::default();
            return false;
        }
        self.base = self.next_block;
        self.next_block += 64;
        self.masks = masks(&window_at(text, self.base));
        true
    }

    /// Takes the run of word bits of `len` bits from bit `from` of the current block: returns
    /// whether it has uppercase letters.
    #[inline]
    fn take(&mut self, from: u32, len: u32) -> bool {
        let bits = bit_range(from, len);
        self.masks.word &= !bits;
        self.masks.upper & bits != 0
    }

    /// The next word of `text`: its byte range and whether it needs lowercasing.
    #[inline]
    pub(super) fn next_span(&mut self, text: &[u8]) -> Option<(usize, usize, bool)> {
        loop {
            while self.masks.word == 0 {
                if !self.advance(text) {
                    return None;
                }
            }
            let from = self.masks.word.trailing_zeros();
            let len = (!(self.masks.word >> from)).trailing_zeros().min(64 - from);
            let start = self.base + from as usize;
            let mut upper = self.take(from, len);
            let mut end = start + len as usize;
            // A run that reaches the block's last byte may go on in the next blocks.
            let mut reaches_end = from + len == 64;
            while reaches_end && self.advance(text) {
                let more = (!self.masks.word).trailing_zeros();
                if more == 0 {
                    break;
                }
                upper |= self.take(0, more);
                end += more as usize;
                reaches_end = more == 64;
            }
            if chars_at_least_min(&text[start..end]) {
                return Some((start, end, upper));
            }
        }
    }

    /// The next word of `text`, and whether it needs lowercasing.
    #[inline]
    pub(super) fn next_word<'a>(&mut self, text: &'a str) -> Option<(&'a str, bool)> {
        let (start, end, needs_lower) = self.next_span(text.as_bytes())?;
        Some((&text[start..end], needs_lower))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule as written for characters: runs of word characters of at least three, and
    /// whether a run has an uppercase one.
    fn reference(text: &str) -> Vec<(usize, usize, bool)> {
        let is_word = |c: char| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || (('\u{C0}'..='\u{FF}').contains(&c) && c != '×' && c != '÷')
        };
        let is_upper =
            |c: char| c.is_ascii_uppercase() || (('\u{C0}'..='\u{DE}').contains(&c) && c != '×');
        let mut out = Vec::new();
        let mut run: Option<(usize, usize, bool)> = None; // start, chars, upper
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            match (&mut run, is_word(c) && i < text.len()) {
                (Some((_, n, u)), true) => {
                    *n += 1;
                    *u |= is_upper(c);
                }
                (None, true) => run = Some((i, 1, is_upper(c))),
                (Some((start, n, u)), false) => {
                    if *n >= MIN_WORD_CHARS {
                        out.push((*start, i, *u));
                    }
                    run = None;
                }
                (None, false) => {}
            }
        }
        out
    }

    fn spans(text: &str) -> Vec<(usize, usize, bool)> {
        let mut s = Spans::default();
        std::iter::from_fn(|| s.next_span(text.as_bytes())).collect()
    }

    /// Characters that exercise every byte rule: ASCII word and separator bytes, Latin-1
    /// letters of both cases, × and ÷ (C3 97 / C3 B7), other two- and three-byte characters
    /// whose continuation bytes look like Latin-1 tails, and a four-byte one.
    fn text() -> impl Strategy<Value = String> {
        let chars = prop::sample::select(vec![
            'a', 'Z', '7', '-', ' ', '.', '\n', 'é', 'É', 'ç', 'Ç', 'ÿ', 'ß', 'Þ', '×', '÷', 'À',
            'Ā', '\u{A0}', '—', '€', '\u{FFFD}', '🙂', 'ã', 'Ö', 'ø',
        ]);
        prop::collection::vec(chars, 0..300).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn spans_follow_the_character_rule(text in text()) {
            prop_assert_eq!(spans(&text), reference(&text));
        }

        #[test]
        fn both_classifiers_agree(window in prop::array::uniform32(any::<u8>()), tail in prop::array::uniform32(any::<u8>()), ends in prop::array::uniform2(any::<u8>())) {
            let mut w = [0u8; 66];
            w[..32].copy_from_slice(&window);
            w[32..64].copy_from_slice(&tail);
            w[64..].copy_from_slice(&ends);
            #[cfg(target_arch = "x86_64")]
            prop_assert_eq!(masks_sse2(&w), masks_scalar(&w));
            prop_assert_eq!(masks(&w), masks_scalar(&w));
        }
    }

    #[test]
    fn words_across_block_edges() {
        // Words ending at, starting at and straddling the 64-byte edges, and one spanning
        // three blocks.
        for pad in 0..70 {
            let long = "Ç".repeat(40) + &"x".repeat(70);
            let text = format!(
                "{} Ãbc {} ab {long} ÉÉ",
                "-".repeat(pad),
                "é".repeat(pad % 7)
            );
            assert_eq!(spans(&text), reference(&text), "pad {pad}");
        }
        assert_eq!(spans(""), vec![]);
        assert_eq!(spans(&"a".repeat(64)), vec![(0, 64, false)]);
        assert_eq!(spans(&"a".repeat(128)), vec![(0, 128, false)]);
    }
}
