//! Reading a file line by line with a bound on line length, so a file with no newline (one
//! 100 MB line) never has to sit in memory whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// Longest piece handed out as one line; longer lines are cut between words.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// `bytes` as text, and whether they were valid UTF-8 (invalid sequences become U+FFFD).
///
/// Validation is SIMD (`simdutf8`): it runs on every byte of the corpus, and std's check costs
/// several times more on accented text.
pub(crate) fn decode_lossy(bytes: Vec<u8>) -> (String, bool) {
    if simdutf8::basic::from_utf8(&bytes).is_ok() {
        // SAFETY: `simdutf8` has just checked that `bytes` is valid UTF-8.
        (unsafe { String::from_utf8_unchecked(bytes) }, true)
    } else {
        (String::from_utf8_lossy(&bytes).into_owned(), false)
    }
}

/// Appends `bytes` to `out` as text (invalid sequences become U+FFFD); false if they were not
/// valid UTF-8.
pub(crate) fn append_lossy(bytes: &[u8], out: &mut String) -> bool {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => {
            out.push_str(text);
            true
        }
        Err(_) => {
            out.push_str(&String::from_utf8_lossy(bytes));
            false
        }
    }
}

/// Streams the lines of one file.
pub struct LineReader {
    inner: BufReader<File>,
    carry: Vec<u8>,
    bytes_read: u64,
    invalid_lines: u64,
    split_lines: u64,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader").finish_non_exhaustive()
    }
}

/// Bytes after which a line may be cut without splitting a word in either split mode.
fn is_cut_byte(b: u8) -> bool {
    b.is_ascii() && !(b.is_ascii_alphanumeric() || b == b'-')
}

impl LineReader {
    /// Opens a file.
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            inner: BufReader::with_capacity(64 * 1024, File::open(path)?),
            carry: Vec::new(),
            bytes_read: 0,
            invalid_lines: 0,
            split_lines: 0,
        })
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Lines that were not valid UTF-8.
    pub fn invalid_lines(&self) -> u64 {
        self.invalid_lines
    }

    /// Cuts made in lines longer than [`MAX_LINE_BYTES`].
    pub fn split_lines(&self) -> u64 {
        self.split_lines
    }

    /// Appends the next line (lossily decoded, without its `\n`) to `out` and returns the bytes
    /// it took from the file (with the `\n`), or `None` at the end of the file.
    pub fn next_line_into(&mut self, out: &mut String) -> io::Result<Option<u64>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut consumed = 0u64;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if buf.is_empty() && consumed == 0 {
                    return Ok(None);
                }
                break;
            }
            let room = MAX_LINE_BYTES.saturating_sub(buf.len()).max(1);
            let window = &avail[..avail.len().min(room)];
            if let Some(i) = memchr::memchr(b'\n', window) {
                if buf.is_empty() {
                    // Most lines lie whole in the read buffer: decode them from there.
                    let raw = consumed + i as u64 + 1;
                    self.invalid_lines += u64::from(!append_lossy(&window[..i], out));
                    self.inner.consume(i + 1);
                    self.bytes_read += raw;
                    return Ok(Some(raw));
                }
                buf.extend_from_slice(&window[..i]);
                self.inner.consume(i + 1);
                consumed += i as u64 + 1;
                break;
            }
            let n = window.len();
            buf.extend_from_slice(window);
            self.inner.consume(n);
            consumed += n as u64;
            if buf.len() >= MAX_LINE_BYTES {
                let cut = match buf.iter().rposition(|&b| is_cut_byte(b)) {
                    Some(i) => i + 1,
                    // One huge word: cut before its last character, on a character boundary.
                    None => {
                        let mut i = buf.len() - 1;
                        while i > 0 && (0x80..0xC0).contains(&buf[i]) {
                            i -= 1;
                        }
                        if i == 0 { buf.len() } else { i }
                    }
                };
                self.carry = buf.split_off(cut);
                self.split_lines += 1;
                break;
            }
        }
        self.bytes_read += consumed;
        self.invalid_lines += u64::from(!append_lossy(&buf, out));
        Ok(Some(consumed))
    }
}
