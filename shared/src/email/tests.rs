//! `Email::parse`, both directions of DESIGN §7.10: every spelling of one mailbox gives one key,
//! different mailboxes keep different keys, and lookalike or non-mailbox input is refused.

use super::*;

const FIELD: &str = "loginId.email";

fn key(raw: &str) -> String {
    match Email::parse(raw, FIELD) {
        Ok(e) => e.key().to_owned(),
        Err(v) => panic!("{raw:?} is refused: {v:?}"),
    }
}

/// The violated rule of a refused address (the field is checked too).
fn refusal(raw: &str) -> &'static str {
    match Email::parse(raw, FIELD) {
        Ok(e) => panic!("{raw:?} is accepted as {:?}", e.key()),
        Err(v) => {
            assert_eq!(v.field, FIELD, "{raw:?}");
            v.violated_rule
        }
    }
}

/// The Unicode format characters (category Cf) that hide in an address, by name.
const INVISIBLE: &[(&str, char)] = &[
    ("zero-width space", '\u{200B}'),
    ("zero-width non-joiner", '\u{200C}'),
    ("zero-width joiner", '\u{200D}'),
    ("left-to-right mark", '\u{200E}'),
    ("right-to-left mark", '\u{200F}'),
    ("left-to-right embedding", '\u{202A}'),
    ("right-to-left embedding", '\u{202B}'),
    ("pop directional formatting", '\u{202C}'),
    ("left-to-right override", '\u{202D}'),
    ("right-to-left override", '\u{202E}'),
    ("word joiner", '\u{2060}'),
    ("left-to-right isolate", '\u{2066}'),
    ("right-to-left isolate", '\u{2067}'),
    ("first strong isolate", '\u{2068}'),
    ("pop directional isolate", '\u{2069}'),
    ("byte order mark", '\u{FEFF}'),
    ("soft hyphen", '\u{00AD}'),
    ("language tag", '\u{E0001}'),
    ("tag latin small letter a", '\u{E0061}'),
];

/// Control characters and spaces other than ASCII's (which `trim` removes only at the ends).
const CONTROL_AND_SPACE: &[(&str, char)] = &[
    ("null", '\u{0}'),
    ("tab", '\t'),
    ("line feed", '\n'),
    ("escape", '\u{1B}'),
    ("delete", '\u{7F}'),
    ("next line", '\u{85}'),
    ("C1 control", '\u{9B}'),
    ("no-break space", '\u{A0}'),
    ("em space", '\u{2003}'),
    ("line separator", '\u{2028}'),
    ("ideographic space", '\u{3000}'),
];

#[test]
fn every_spelling_of_one_mailbox_gives_one_key() {
    for (spellings, canonical) in [
        (
            &["Ann@Example.COM", "ann@example.com", " ANN@EXAMPLE.com\t"][..],
            "ann@example.com",
        ),
        (
            &[
                "ann@bücher.de",
                "ann@xn--bcher-kva.de",
                "ANN@BÜCHER.DE",
                "Ann@XN--BCHER-KVA.DE",
                // NFD: `u` + combining diaeresis.
                "ann@bu\u{308}cher.de",
            ][..],
            "ann@xn--bcher-kva.de",
        ),
        (
            // NFC `é`, NFD `e` + combining acute, and upper-case `É` in both forms.
            &[
                "jos\u{e9}@x.com",
                "jose\u{301}@x.com",
                "JOS\u{c9}@X.COM",
                "JOSE\u{301}@x.com",
            ][..],
            "jos\u{e9}@x.com",
        ),
        (
            &[
                "\u{dc}nal@Stra\u{df}e.example",
                "U\u{308}NAL@xn--strae-oqa.EXAMPLE",
            ][..],
            // UTS 46 (non-transitional) keeps `ß` in the domain, so `straße` is its own label.
            "\u{fc}nal@xn--strae-oqa.example",
        ),
    ] {
        for raw in spellings {
            assert_eq!(key(raw), canonical, "{raw:?}");
        }
    }
}

#[test]
fn different_mailboxes_keep_different_keys() {
    for (a, b) in [
        ("ann@x.com", "anne@x.com"),
        // No provider-specific folding: dots and tags are the mailbox's own.
        ("a.nn@x.com", "ann@x.com"),
        ("ann+news@x.com", "ann@x.com"),
        // Accents are letters, not decoration.
        ("jos\u{e9}@x.com", "jose@x.com"),
        ("ann@b\u{fc}cher.de", "ann@bucher.de"),
        ("ann@x.com", "ann@x.co"),
        ("ann@mail.x.com", "ann@x.com"),
    ] {
        assert_ne!(key(a), key(b), "{a:?} and {b:?}");
    }
}

#[test]
fn the_address_shown_is_what_was_typed_after_nfc_and_trimming() {
    for (raw, shown) in [
        ("  Ann.Lee@Example.COM ", "Ann.Lee@Example.COM"),
        ("ANN@BÜCHER.DE", "ANN@BÜCHER.DE"),
        ("ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"),
        ("Jose\u{301}@x.com", "Jos\u{e9}@x.com"),
    ] {
        let e = Email::parse(raw, FIELD).unwrap();
        assert_eq!(e.address(), shown, "{raw:?}");
    }
}

#[test]
fn the_parts_are_those_of_the_key_with_the_domain_in_ascii() {
    let e = Email::parse("Ann.Lee@Bücher.DE", FIELD).unwrap();
    assert_eq!(e.local_part(), "ann.lee");
    assert_eq!(e.domain(), "xn--bcher-kva.de");
    assert_eq!(
        canonical_domain("B\u{fc}cher.DE").as_deref(),
        Some(e.domain())
    );
    assert_eq!(
        canonical_domain("Bu\u{308}cher.de").as_deref(),
        Some(e.domain())
    );
    assert_eq!(canonical_domain("a\u{5d0}.com"), None, "no ASCII form");
}

#[test]
fn every_invisible_character_is_refused_in_the_local_part_and_in_the_domain() {
    for (name, c) in INVISIBLE.iter().chain(CONTROL_AND_SPACE) {
        let inside = [
            format!("an{c}n@example.com"),
            format!("ann{c}@example.com"),
            format!("ann@exa{c}mple.com"),
            format!("ann@{c}example.com"),
            format!("ann@example.c{c}om"),
        ];
        // Spaces at either end are trimmed like ASCII ones; anything else is refused there too.
        let ends = [format!("{c}ann@example.com"), format!("ann@example.com{c}")];
        let ends = if c.is_whitespace() {
            vec![]
        } else {
            ends.to_vec()
        };
        for raw in inside.iter().chain(&ends) {
            assert_eq!(refusal(raw), rule::INVALID_FORMAT, "{name} in {raw:?}");
        }
    }
}

#[test]
fn what_is_not_a_plain_mailbox_is_refused() {
    for (raw, rule) in [
        ("", rule::REQUIRED_FIELD_MISSING),
        ("   ", rule::REQUIRED_FIELD_MISSING),
        ("\"ann\"@example.com", rule::INVALID_FORMAT),
        ("\"a b\"@x.com", rule::INVALID_FORMAT),
        ("\"ann@x\"@x.com", rule::INVALID_FORMAT),
        ("an\"n@x.com", rule::INVALID_FORMAT),
        ("ann@[127.0.0.1]", rule::INVALID_FORMAT),
        ("ann@[IPv6:::1]", rule::INVALID_FORMAT),
        ("Ann <ann@x.com>", rule::INVALID_FORMAT),
        ("<ann@x.com>", rule::INVALID_FORMAT),
        ("ann(work)@x.com", rule::INVALID_FORMAT),
        ("ann@x.com (work)", rule::INVALID_FORMAT),
        ("ann@localhost", rule::INVALID_FORMAT),
        ("ann@bücher", rule::INVALID_FORMAT),
        ("plain", rule::INVALID_FORMAT),
        ("ann@", rule::INVALID_FORMAT),
        ("@x.com", rule::INVALID_FORMAT),
        ("a b@example.com", rule::INVALID_FORMAT),
        ("ann@x..com", rule::INVALID_FORMAT),
        // No ASCII form: a Hebrew letter in a left-to-right label (the IDNA bidi rule),
        // and punycode labels that do not decode.
        ("ann@a\u{5d0}.com", rule::INVALID_FORMAT),
        ("ann@xn--.com", rule::INVALID_FORMAT),
        ("ann@xn--a-ecp.com", rule::INVALID_FORMAT),
    ] {
        assert_eq!(refusal(raw), rule, "{raw:?}");
    }
}

#[test]
fn more_than_254_characters_are_refused_and_254_accepted() {
    let (local, label) = ("a".repeat(64), "b".repeat(63));
    let short = format!("{local}@{label}.example.com").len();
    let at_limit = format!(
        "{local}@{}{label}.example.com",
        "c.".repeat((MAX_LEN - short) / 2)
    );
    assert_eq!(at_limit.len(), MAX_LEN);
    assert_eq!(key(&at_limit), at_limit);

    let over = format!("c{at_limit}");
    assert_eq!(refusal(&over), rule::TOO_LONG);
    let v = Email::parse(&over, FIELD).unwrap_err();
    assert_eq!(v.data, serde_json::json!({ "max": MAX_LEN }));
    // Counted in characters, before anything else: not a valid address either way.
    assert_eq!(refusal(&"\u{200B}".repeat(MAX_LEN + 1)), rule::TOO_LONG);
}

#[test]
fn a_unicode_domain_whose_ascii_form_is_past_254_characters_is_refused() {
    let local = "a".repeat(64);
    // k labels `bücherbücher.`: 13 characters typed, 20 in ASCII (`xn--bcherbcher-9dbf.`).
    let email = |k: usize| format!("{local}@{}de", "bücherbücher.".repeat(k));
    let ascii_len =
        |k: usize| local.len() + 1 + idna::domain_to_ascii(&email(k)[65..]).unwrap().len();

    let (fits, crosses) = (9, 10);
    assert!(ascii_len(fits) <= MAX_LEN);
    assert_eq!(key(&email(fits)).len(), ascii_len(fits));

    assert!(email(crosses).chars().count() <= MAX_LEN, "short as typed");
    assert!(ascii_len(crosses) > MAX_LEN, "too long in ASCII");
    assert_eq!(refusal(&email(crosses)), rule::TOO_LONG);
}
