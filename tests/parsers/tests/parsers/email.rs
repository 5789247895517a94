//! Email canonicalization (DESIGN §7.10) over IDN and Unicode addresses: the key is idempotent,
//! one for the NFC and NFD spellings and for any case of an ASCII domain, at most 254
//! characters; invisible and bidirectional characters and quoted local parts are refused.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

use shared::email::{Email, MAX_LEN, canonical_domain};

use crate::cases;

fn key(raw: &str) -> Option<String> {
    Email::parse(raw, "email").ok().map(|e| e.key().to_owned())
}

fn local() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._+-]{1,20}",
        "[A-Za-zÀ-ÿ0-9.]{1,20}",
        "\\PC{1,20}",
        Just("josé".to_owned()),
        Just("jose\u{301}".to_owned()),
        Just("İstanbul".to_owned()),
        Just("ǅ".to_owned()),
    ]
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,15}\\.(com|de|org)",
        Just("bücher.de".to_owned()),
        Just("BÜCHER.DE".to_owned()),
        Just("xn--bcher-kva.de".to_owned()),
        Just("例え.テスト".to_owned()),
        Just("ａｐｐ.example.com".to_owned()),
        Just("faß.de".to_owned()),
        "\\PC{1,15}\\.[a-z]{2,3}",
    ]
}

/// Characters that make one address look like another.
const INVISIBLE: &[char] = &[
    '\u{200B}',
    '\u{200D}',
    '\u{202E}',
    '\u{2066}',
    '\u{FEFF}',
    '\u{00AD}',
    '\u{E0041}',
    '\u{0}',
    '\u{7F}',
    '\u{00A0}',
    '\u{3000}',
    '\n',
];

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn canonicalization_is_idempotent_and_bounded(raw in prop_oneof![
        (local(), domain()).prop_map(|(l, d)| format!("{l}@{d}")),
        any::<String>(),
        "[a-z@.\"]{0,30}",
        (1usize..300).prop_map(|n| format!("{}@example.com", "a".repeat(n))),
    ]) {
        if let Some(k) = key(&raw) {
            prop_assert!(k.chars().count() <= MAX_LEN);
            prop_assert_eq!(key(&k), Some(k.clone()), "{:?}", raw);
            let domain = k.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            prop_assert!(domain.is_ascii() && domain.contains('.'));
            prop_assert_eq!(domain.to_ascii_lowercase(), domain);
        }
        if raw.trim().chars().count() > MAX_LEN {
            prop_assert_eq!(key(&raw), None);
        }
    }

    #[test]
    fn nfc_and_nfd_spellings_and_domain_case_are_one_mailbox(l in local(), d in domain()) {
        let raw = format!("{l}@{d}");
        let nfc: String = raw.nfc().collect();
        let nfd: String = raw.nfd().collect();
        prop_assume!(!d.contains('@'));
        prop_assert_eq!(key(&nfc), key(&nfd));
        if d.is_ascii() {
            prop_assert_eq!(key(&format!("{l}@{}", d.to_ascii_uppercase())), key(&raw));
        }
        if let Some(ascii) = canonical_domain(&d) {
            prop_assert_eq!(canonical_domain(&ascii), Some(ascii.clone()));
            prop_assert_eq!(key(&format!("{l}@{ascii}")), key(&raw));
        }
    }

    #[test]
    fn an_invisible_character_or_a_quoted_local_part_is_refused(
        l in "[a-z]{1,10}",
        c in prop::sample::select(INVISIBLE),
        at in any::<prop::sample::Index>(),
        quoted in any::<bool>(),
    ) {
        let mut raw = format!("{l}@example.com");
        if quoted {
            raw = format!("\"{l}\"@example.com");
        } else {
            // Anywhere but at the ends, which are trimmed.
            let i = 1 + at.index(raw.len() - 1);
            raw.insert(i, c);
        }
        prop_assert_eq!(key(&raw), None, "{:?}", raw);
    }
}
