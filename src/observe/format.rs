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

/// `1234` µs → `1.2 ms`; `3.4` µs → `3.4 µs`.
pub fn micros(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.1} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

/// `1234567` bytes → `1.2 MB`.
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_delay_reads_in_milliseconds_or_off() {
        use std::time::Duration;
        assert_eq!(super::delay(Duration::from_micros(1500)), "1.5 ms");
        assert_eq!(super::delay(Duration::ZERO), "off");
    }

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
