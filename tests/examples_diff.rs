//! The profiled examples are their plain versions with a few changed lines: the code (doc
//! comments aside) differs by at most the lines the README's diff shows.

/// Lines of code of an example: its doc comments and blank lines left out.
fn code(example: &str) -> Vec<String> {
    let path = format!("{}/examples/{example}.rs", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim_start().starts_with("//!") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Lines removed from `a` plus lines added in `b` (by their longest common subsequence).
fn changed(a: &[String], b: &[String]) -> usize {
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let added = b.len() - lcs[0][0];
    let removed = a.len() - lcs[0][0];
    added.max(removed)
}

#[test]
fn profiling_an_example_changes_a_few_lines() {
    for (example, most) in [("tokio_sales", 11), ("thread_logs", 5)] {
        let (plain, profiled) = (code(&format!("{example}_plain")), code(example));
        let n = changed(&plain, &profiled);
        assert!(
            n <= most,
            "{example}: {n} lines changed or added to profile it (at most {most})"
        );
        assert!(n > 0, "{example} is profiled");
    }
}
