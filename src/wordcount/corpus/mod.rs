//! Corpora: finding the `.txt` files of a folder (or one file), reading them ×N, streaming their
//! lines with bounded memory, and the built-in generated corpus.

mod builtin;
mod line;
mod lines;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

pub use builtin::{BUILTIN_NAME, builtin_dir, generate_builtin};
pub use line::Line;
use line::{BlockBuilder, BlockLines};
pub use lines::{LineReader, MAX_LINE_BYTES};

use crate::runtime::control::{Pipeline, RunControl};

/// One file of a corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes when the corpus was opened.
    pub bytes: u64,
}

/// A set of text files read `repeat` times in a row.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// What the user named (a folder or a file), or the built-in corpus's folder.
    pub root: PathBuf,
    /// The `.txt` files, in sorted path order.
    pub files: Vec<CorpusFile>,
    /// How many times the files are read.
    pub repeat: u32,
    /// Problems found while looking for files (symlink loops, unreadable folders).
    pub warnings: Vec<String>,
    /// True for the built-in generated corpus.
    pub builtin: bool,
}

/// Why a corpus cannot be opened.
#[derive(Debug)]
pub enum CorpusError {
    /// The path does not exist.
    Missing(PathBuf),
    /// A folder with no `.txt` file in it.
    NoTextFiles(PathBuf),
    /// A file that is not a `.txt` file.
    NotText(PathBuf),
    /// `repeat` was 0.
    ZeroRepeat,
    /// The built-in corpus could not be written to the cache folder.
    Builtin(PathBuf, std::io::Error),
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorpusError::Missing(p) => write!(
                f,
                "corpus '{}' does not exist: give a folder of .txt files or a .txt file",
                p.display()
            ),
            CorpusError::NoTextFiles(p) => write!(
                f,
                "corpus folder '{}' has no .txt files (searched recursively): add some or pick another folder",
                p.display()
            ),
            CorpusError::NotText(p) => write!(
                f,
                "corpus file '{}' is not a .txt file: give a .txt file or a folder of them",
                p.display()
            ),
            CorpusError::ZeroRepeat => write!(f, "repeat must be at least 1"),
            CorpusError::Builtin(p, e) => write!(
                f,
                "cannot write the built-in corpus to '{}': {e} (set PALAVRIADO_CACHE_DIR to a writable folder)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for CorpusError {}

fn is_txt(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// [`Corpus::short_name`] of a corpus known by its shown name (`built-in` or its path), as
/// reports and recordings keep it.
pub fn short_name_of(display_name: &str) -> String {
    if display_name == BUILTIN_NAME {
        return BUILTIN_NAME.to_string();
    }
    let path = Path::new(display_name);
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display_name.to_string())
}

impl Corpus {
    /// Opens a folder (searched recursively for `*.txt`, following symlinks, loops reported) or a
    /// single `.txt` file.
    pub fn open(path: &Path, repeat: u32) -> Result<Corpus, CorpusError> {
        if repeat == 0 {
            return Err(CorpusError::ZeroRepeat);
        }
        let meta = std::fs::metadata(path).map_err(|_| CorpusError::Missing(path.to_owned()))?;
        let mut warnings = Vec::new();
        let mut files = Vec::new();
        if meta.is_file() {
            if !is_txt(path) {
                return Err(CorpusError::NotText(path.to_owned()));
            }
            files.push(CorpusFile {
                path: path.to_owned(),
                bytes: meta.len(),
            });
        } else {
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_txt(e.path()) => {
                        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
                        files.push(CorpusFile {
                            path: e.into_path(),
                            bytes,
                        });
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let where_ = err
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| path.display().to_string());
                        let what = if err.loop_ancestor().is_some() {
                            "symlink loop, skipped".to_string()
                        } else {
                            format!("{err}")
                        };
                        warnings.push(format!("{where_}: {what}"));
                    }
                }
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
            if files.is_empty() {
                return Err(CorpusError::NoTextFiles(path.to_owned()));
            }
        }
        Ok(Corpus {
            root: path.to_owned(),
            files,
            repeat,
            warnings,
            builtin: false,
        })
    }

    /// The built-in corpus (generated into the cache folder on first use), read `repeat` times.
    pub fn builtin(repeat: u32) -> Result<Corpus, CorpusError> {
        let dir = builtin_dir();
        generate_builtin(&dir).map_err(|e| CorpusError::Builtin(dir.clone(), e))?;
        let mut c = Corpus::open(&dir, repeat)?;
        c.builtin = true;
        Ok(c)
    }

    /// Opens `path`, or the built-in corpus when `None`.
    pub fn open_or_builtin(path: Option<&Path>, repeat: u32) -> Result<Corpus, CorpusError> {
        match path {
            Some(p) => Corpus::open(p, repeat),
            None => Corpus::builtin(repeat),
        }
    }

    /// A name to show: `built-in` or the path given.
    pub fn display_name(&self) -> String {
        if self.builtin {
            BUILTIN_NAME.to_string()
        } else {
            self.root.display().to_string()
        }
    }

    /// The name for titles and slides: `built-in`, or the folder's (or file's) own name, never
    /// a path (a user's home folder does not belong on a slide).
    pub fn short_name(&self) -> String {
        short_name_of(&self.display_name())
    }

    /// Bytes of one pass over the files.
    pub fn bytes_once(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Bytes of the whole run (all passes).
    pub fn total_bytes(&self) -> u64 {
        self.bytes_once() * self.repeat as u64
    }

    /// Every file of the run, in reading order (the file list `repeat` times).
    pub fn passes(&self) -> impl Iterator<Item = (u32, &CorpusFile)> {
        (0..self.repeat).flat_map(move |pass| self.files.iter().map(move |f| (pass, f)))
    }

    /// Streams every line of the run (without its `\n`), counting progress in `pipeline` and
    /// reporting file problems as its warnings; stops early once `pipeline` is stopped.
    pub fn lines(self: &Arc<Self>, pipeline: &Pipeline) -> Lines {
        self.lines_share(pipeline, 0, 1)
    }

    /// Like [`Corpus::lines`], but only the lines of share `share` of `shares`: every
    /// `shares`-th file of the run, starting with file `share` (so `shares` readers together read
    /// every file exactly once).
    pub fn lines_share(
        self: &Arc<Self>,
        pipeline: &Pipeline,
        share: usize,
        shares: usize,
    ) -> Lines {
        let ctl = pipeline.control().clone();
        Lines {
            corpus: self.clone(),
            next: share,
            step: shares.max(1),
            unpublished: (0, 0),
            current: None,
            ctl,
            block: BlockLines::default(),
            text: String::new(),
        }
    }

    /// Reads each file whole, lossily decoded (Eager's `File.read!`), reporting problems as
    /// warnings; progress counts bytes and lines as they are read.
    pub fn read_file(&self, file: &CorpusFile, pass: u32, ctl: &RunControl) -> Option<String> {
        match std::fs::read(&file.path) {
            Ok(bytes) => {
                ctl.progress
                    .bytes_read
                    .fetch_add(bytes.len() as u64, Relaxed);
                let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64
                    + u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
                ctl.progress.lines_read.fetch_add(lines, Relaxed);
                if bytes.is_empty() && pass == 0 {
                    ctl.warn(format!("{}: empty file", file.path.display()));
                }
                let (text, valid) = lines::decode_lossy(bytes);
                if !valid && pass == 0 {
                    ctl.warn(invalid_utf8_warning(&file.path));
                }
                Some(text)
            }
            Err(e) => {
                if pass == 0 {
                    ctl.warn(format!(
                        "{}: cannot read ({e}), skipped",
                        file.path.display()
                    ));
                }
                None
            }
        }
    }
}

fn invalid_utf8_warning(path: &Path) -> String {
    format!(
        "{}: not valid UTF-8; invalid bytes decoded as U+FFFD (they separate words)",
        path.display()
    )
}

/// Iterator over every line of a run; see [`Corpus::lines`].
pub struct Lines {
    corpus: Arc<Corpus>,
    /// Index of the next file to open, over all passes.
    next: usize,
    /// How far `next` moves after each file (1, or the number of shares).
    step: usize,
    /// Lines and bytes read but not yet added to the shared progress counters (published in
    /// steps, so readers on several threads do not contend for them on every line).
    unpublished: (u64, u64),
    current: Option<(u32, usize, LineReader)>,
    ctl: Arc<RunControl>,
    /// Lines read ahead and not yet handed out.
    block: BlockLines,
    /// The buffer blocks are read into (kept between blocks).
    text: String,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines").finish_non_exhaustive()
    }
}

/// Lines a reader reads between updates of the shared progress counters.
const PROGRESS_LINES: u64 = 64;

impl Lines {
    fn publish(&mut self) {
        let (lines, bytes) = std::mem::take(&mut self.unpublished);
        let p = &self.ctl.progress;
        p.lines_read.fetch_add(lines, Relaxed);
        p.bytes_read.fetch_add(bytes, Relaxed);
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.publish();
    }
}

impl Lines {
    /// Appends the run's next line to `out` and returns the bytes it took from its file; `None`
    /// at the end of the run or once it is stopped.
    fn next_into(&mut self, out: &mut String) -> Option<u64> {
        loop {
            if self.ctl.is_stopped() {
                return None;
            }
            if let Some((pass, index, reader)) = &mut self.current {
                let file = &self.corpus.files[*index];
                match reader.next_line_into(out) {
                    Ok(Some(raw_bytes)) => return Some(raw_bytes),
                    Ok(None) => {
                        if *pass == 0 {
                            let path = file.path.display();
                            let r = &*reader;
                            if r.bytes_read() == 0 {
                                self.ctl.warn(format!("{path}: empty file"));
                            }
                            if r.invalid_lines() > 0 {
                                self.ctl.warn(invalid_utf8_warning(&file.path));
                            }
                            if r.split_lines() > 0 {
                                self.ctl.warn(format!(
                                    "{path}: lines longer than {1} KiB were read in pieces cut between words ({0} cuts)",
                                    r.split_lines(),
                                    MAX_LINE_BYTES / 1024
                                ));
                            }
                        }
                        self.current = None;
                        self.publish();
                    }
                    Err(e) => {
                        if *pass == 0 {
                            self.ctl.warn(format!(
                                "{}: read error ({e}), rest of file skipped",
                                file.path.display()
                            ));
                        }
                        self.current = None;
                    }
                }
                continue;
            }
            let n = self.corpus.files.len();
            if self.next >= n * self.corpus.repeat as usize {
                self.publish();
                return None;
            }
            let (pass, index) = ((self.next / n) as u32, self.next % n);
            self.next += self.step;
            let file = &self.corpus.files[index];
            match LineReader::open(&file.path) {
                Ok(r) => self.current = Some((pass, index, r)),
                Err(e) => {
                    if pass == 0 {
                        self.ctl.warn(format!(
                            "{}: cannot read ({e}), skipped",
                            file.path.display()
                        ));
                    }
                }
            }
        }
    }
}

impl Iterator for Lines {
    type Item = Line;

    /// Lines are read ahead a block at a time but counted as read (progress) when handed out.
    fn next(&mut self) -> Option<Line> {
        if self.ctl.is_stopped() {
            return None;
        }
        let (line, raw_bytes) = match self.block.next() {
            Some(next) => next,
            None => {
                let mut block = BlockBuilder::new(std::mem::take(&mut self.text));
                while !block.is_full() {
                    match self.next_into(block.text()) {
                        Some(raw_bytes) => block.end_line(raw_bytes),
                        None => break,
                    }
                }
                (self.block, self.text) = block.finish();
                self.block.next()?
            }
        };
        self.unpublished.0 += 1;
        self.unpublished.1 += raw_bytes;
        if self.unpublished.0 >= PROGRESS_LINES {
            self.publish();
        }
        Some(line)
    }
}
