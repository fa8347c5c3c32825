//! A corpus line as an event: a range of a block of consecutive lines read together.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// One line of a corpus (without its `\n`). Lines are cut out of blocks of consecutive lines
/// that share one allocation: a reader allocates per block, not per line, and a stage that takes
/// a batch of lines reads memory in order.
#[derive(Clone)]
pub struct Line {
    block: Arc<str>,
    start: u32,
    end: u32,
}

impl Line {
    /// The line's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.block[self.start as usize..self.end as usize]
    }
}

impl Deref for Line {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Line {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes of text after which a block is handed out.
const BLOCK_BYTES: usize = 32 * 1024;
/// Lines a block holds at most (so a slow consumer of short lines does not pin much text).
const BLOCK_LINES: usize = 512;

/// One block being read: lines are appended to its text, each closed by [`BlockBuilder::end_line`].
pub(super) struct BlockBuilder {
    text: String,
    /// Per line: where it ends in `text`, and the bytes it took from its file.
    ends: Vec<(u32, u64)>,
}

impl BlockBuilder {
    /// An empty block reading into `buffer` (cleared; its capacity is reused).
    pub(super) fn new(mut buffer: String) -> Self {
        buffer.clear();
        Self {
            text: buffer,
            ends: Vec::new(),
        }
    }

    /// The text to append the next line to.
    pub(super) fn text(&mut self) -> &mut String {
        &mut self.text
    }

    /// Ends the line appended last, which took `raw_bytes` from its file.
    pub(super) fn end_line(&mut self, raw_bytes: u64) {
        self.ends.push((self.text.len() as u32, raw_bytes));
    }

    /// Whether the block should be handed out now.
    pub(super) fn is_full(&self) -> bool {
        self.ends.len() >= BLOCK_LINES || self.text.len() >= BLOCK_BYTES
    }

    /// The block's lines, and the buffer back for the next block.
    pub(super) fn finish(self) -> (BlockLines, String) {
        let block = (!self.ends.is_empty()).then(|| Arc::from(self.text.as_str()));
        (
            BlockLines {
                block,
                ends: self.ends,
                next: 0,
                start: 0,
            },
            self.text,
        )
    }
}

/// The lines of one block, handed out in order with the bytes each took from its file.
#[derive(Default)]
pub(super) struct BlockLines {
    block: Option<Arc<str>>,
    ends: Vec<(u32, u64)>,
    next: usize,
    start: u32,
}

impl Iterator for BlockLines {
    type Item = (Line, u64);

    #[inline]
    fn next(&mut self) -> Option<(Line, u64)> {
        let (end, raw_bytes) = *self.ends.get(self.next)?;
        let line = Line {
            block: self.block.clone()?,
            start: self.start,
            end,
        };
        self.start = end;
        self.next += 1;
        Some((line, raw_bytes))
    }
}

/// A line's share of its block: its length (the block lives as long as any of its lines).
impl crate::runtime::event::Event for Line {
    fn heap_bytes(&self) -> u64 {
        self.len() as u64
    }
}
