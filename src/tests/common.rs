//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The talk's corpus: `PALAVRIADO_MACHADO`, or `../shared/corpus/machado` beside the checkout
/// (where CI has it). The tests that read it are `#[ignore]`d, so a fresh clone's tests pass
/// without it; CI runs them with `--run-ignored only`, and then a missing corpus fails them
/// with this message instead of letting them pass.
pub(crate) fn machado() -> PathBuf {
    let p = std::env::var_os("PALAVRIADO_MACHADO")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/machado")
        });
    assert!(
        p.is_dir(),
        "the talk's corpus is not at {}: set PALAVRIADO_MACHADO to its folder",
        p.display()
    );
    p
}

/// Writes `files` (relative path, bytes) under a new temp dir.
pub(crate) fn corpus_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}
