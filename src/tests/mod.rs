//! Tests of the library's inner parts (probes, the sampler, diagnoses, the tokenizer, the
//! corpus reader), which a program cannot reach: they live in the crate. Tests of the public
//! API, the command line and the app are in `tests/`.

mod common;
mod corpus;
mod diagnoses;
mod probes;
mod wire;
mod words;

use crate::runtime::probe::heap::CountingAlloc;

/// The heap series is read from the counting allocator, as in the binary.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc(std::alloc::System);
