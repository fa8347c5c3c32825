//! The talk's word count, one user of the stage runtime among others: corpora, the tokenizer,
//! word counts, and the five strategies (Eager, Lazy, Push, Pull, Flow). [`crate::Run`] runs
//! one of them, observed.

pub(crate) mod corpus;
pub(crate) mod counts;
pub(crate) mod strategy;
pub(crate) mod words;

pub use corpus::{Corpus, CorpusError, Line};
pub use counts::{LengthGroup, WordCounts};
pub use strategy::Strategy;
pub use words::{SplitMode, Word};
