//! Numbers formatted for people: tables, summaries, diagnoses.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A simulated delay for people: `1 ms`, `0.25 ms`, or `off` (one formatter for titles,
/// labels, tables and chart marks).
pub fn delay(d: std::time::Duration) -> String {
    delay_ms(d.as_secs_f64() * 1e3)
}

/// [`delay`] of a number of milliseconds (as run events carry it).
pub fn delay_ms(ms: f64) -> String {
    if ms <= 0.0 {
        return "off".into();
    }
    let text = format!("{ms:.3}");
    format!("{} ms", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_374_803), "1,374,803");
    }

    #[test]
    fn delays_read_plainly() {
        assert_eq!(delay(std::time::Duration::from_millis(1)), "1 ms");
        assert_eq!(delay(std::time::Duration::from_micros(250)), "0.25 ms");
        assert_eq!(delay(std::time::Duration::ZERO), "off");
        assert_eq!(delay_ms(12.5), "12.5 ms");
    }
}
