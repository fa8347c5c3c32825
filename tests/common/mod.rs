//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The talk's corpus when `PALAVRIADO_MACHADO` is set; the test must fail (not skip) if the
/// variable names a folder that is missing. Without the variable, prints why and returns None.
pub(crate) fn machado() -> Option<PathBuf> {
    match std::env::var_os("PALAVRIADO_MACHADO") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_dir(),
                "PALAVRIADO_MACHADO={} is not a folder",
                p.display()
            );
            Some(p)
        }
        None => {
            eprintln!(
                "skipped: set PALAVRIADO_MACHADO to the talk's corpus folder to run this test"
            );
            None
        }
    }
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
