//! The talk's word extraction, in both split modes.

use crate::wordcount::words::{SplitMode, extract_words, stable_hash};

fn chars(s: &str) -> Vec<String> {
    SplitMode::Chars.words(s)
}
fn talk(s: &str) -> Vec<String> {
    SplitMode::TalkBytes.words(s)
}

#[test]
fn examples_from_the_talk() {
    assert_eq!(chars("Cumprimentou-me"), ["cumprimentou-me"]);
    assert_eq!(chars("CAPÍTULO I"), ["capítulo"]);
    assert_eq!(chars("três pé"), ["três"]);
    assert_eq!(chars("Olá—mundo"), ["olá", "mundo"]);
    assert_eq!(extract_words("O Alienista"), ["alienista"]);
}

#[test]
fn three_characters_not_bytes() {
    // "pé" is 3 bytes but 2 characters; "àé" likewise; "ação" is 4 characters.
    assert_eq!(chars("pé àé ação ab abc"), ["ação", "abc"]);
    assert_eq!(talk("pé àé ação ab abc"), ["ação", "abc"]);
}

#[test]
fn digits_hyphens_and_dashes() {
    assert_eq!(chars("1839 a 1908"), ["1839", "1908"]);
    assert_eq!(chars("--- -- a-b"), ["---", "a-b"]);
    assert_eq!(
        chars("bem-te-vi, guarda-chuva."),
        ["bem-te-vi", "guarda-chuva"]
    );
}

#[test]
fn uppercase_accents_lowercase() {
    assert_eq!(
        chars("ÁGUA ÇÃO ÉPOCA ÜBER ÑANDU"),
        ["água", "ção", "época", "über", "ñandu"]
    );
    // ß and ÿ are lowercase already; Þ lowercases to þ.
    assert_eq!(chars("STRAßE ÞORN ÿÿÿ"), ["straße", "þorn", "ÿÿÿ"]);
}

#[test]
fn times_and_divide() {
    // In character mode × and ÷ are outside the class and separate words.
    assert_eq!(chars("abc×def ghi÷jkl"), ["abc", "def", "ghi", "jkl"]);
    // The talk's byte regex keeps them inside words.
    assert_eq!(talk("abc×def ghi÷jkl"), ["abc×def", "ghi÷jkl"]);
}

#[test]
fn other_characters_separate() {
    assert_eq!(
        chars("“Aspas” «ângulo» ŝpa ĉapelo"),
        ["aspas", "ângulo", "apelo"]
    );
    assert_eq!(chars("tab\tnew\nline\r\n"), ["tab", "new", "line"]);
    assert_eq!(chars("a\u{FFFD}bcd"), ["bcd"]);
    assert!(chars("").is_empty());
    assert!(chars("— , ; ! ?").is_empty());
}

#[test]
fn talk_bytes_drops_pieces_touching_other_characters() {
    // The em dash is E2 80 94: E2 separates, 80 94 glue onto the next word, which is then not
    // valid UTF-8 and is dropped. Words before it survive.
    assert_eq!(talk("—Olá, disse ele—mas"), ["disse", "ele"]);
    assert_eq!(talk("“Aspas” fim"), ["fim"]);
    // « is C2 AB: both bytes are in the class, so it stays inside the piece (valid UTF-8).
    assert_eq!(talk("«ângulo»"), ["«ângulo»"]);
    assert_eq!(
        talk("CAPÍTULO Cumprimentou-me"),
        ["capítulo", "cumprimentou-me"]
    );
}

#[test]
fn modes_agree_on_plain_portuguese() {
    let text = "Uma noite destas, vindo da cidade para o Engenho Novo, encontrei no trem da \
                Central um rapaz aqui do bairro, que eu conheço de vista e de chapéu.";
    assert_eq!(chars(text), talk(text));
    assert_eq!(chars(text).len(), 18);
}

#[test]
fn stable_hash_is_stable() {
    assert_eq!(stable_hash("capitu"), stable_hash(&String::from("capitu")));
    assert_ne!(stable_hash("capitu"), stable_hash("bentinho"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn words_are_lowercase_and_long_enough(s in "\\PC{0,200}") {
            for w in chars(&s) {
                prop_assert!(w.chars().count() >= 3);
                prop_assert_eq!(w.to_lowercase(), w.clone());
                let ok = w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'
                    || ('\u{C0}'..='\u{FF}').contains(&c) && c != '×' && c != '÷');
                prop_assert!(ok, "unexpected character in {:?}", w);
            }
        }

        #[test]
        fn owned_words_match_the_callback(s in "[a-zA-Z0-9À-ÿ \\-—“.,]{0,120}") {
            // The owned iterator lowercases on the stack; the callback through a scratch string.
            let owned: Vec<String> = SplitMode::Chars
                .into_words(s.clone())
                .map(|w| w.to_string())
                .collect();
            prop_assert_eq!(owned, chars(&s));
        }

        #[test]
        fn chars_mode_matches_a_plain_char_split(s in "[a-zA-Z0-9À-ÿ \\-—“.,]{0,120}") {
            let is_word = |c: char| c.is_ascii_alphanumeric() || c == '-'
                || (('\u{C0}'..='\u{FF}').contains(&c) && c != '×' && c != '÷');
            let expected: Vec<String> = s
                .split(|c: char| !is_word(c))
                .filter(|p| p.chars().count() >= 3)
                .map(|p| p.to_lowercase())
                .collect();
            prop_assert_eq!(chars(&s), expected);
        }
    }
}

#[test]
fn owned_word_iterator_matches_the_callback() {
    // The last word is longer than the owned iterator's 64-byte stack buffer.
    let long = "Ç".repeat(40);
    let text = format!("— Cumprimentou-me, CAPÍTULO três; pé «ângulo» abc×def {long}");
    let text = text.as_str();
    for mode in [SplitMode::Chars, SplitMode::TalkBytes] {
        let owned: Vec<String> = mode.into_words(text).map(|w| w.to_string()).collect();
        assert_eq!(owned, mode.words(text), "{mode}");
        assert_eq!(owned.last(), Some(&"ç".repeat(40)), "{mode}");
    }
}
