//! The password policy (DESIGN §3.6) on long, Unicode and pattern-heavy input (repeats,
//! dictionary words in mixed case and l33t, keyboard walks, dates): no panic, and lengths,
//! the common list and similarity to the member's facts decide as documented.

use proptest::prelude::*;

use shared::error::rule;
use shared::password::Password;
use shared::password::policy::{PasswordPolicy, PersonalInfo, is_on_common_list};

use crate::cases;

const POLICY: PasswordPolicy = PasswordPolicy {
    min_length: 12,
    max_length: 128,
};

/// Pieces zxcvbn has a pattern for.
const PIECES: &[&str] = &[
    "password",
    "PassWord",
    "p4ssw0rd",
    "Dragon",
    "MONKEY",
    "qwerty",
    "asdfgh",
    "zxcvbn",
    "1qaz2wsx",
    "123456",
    "abcdef",
    "zyxw",
    "1987",
    "12/25/1990",
    "2024-01-01",
    "aaaa",
    "!!!!",
    "correct",
    "horse",
    "battery",
    "staple",
    "Tr0ub4dor",
    "$",
    "3",
    "é",
    "😀",
    "ﬁ",
];

fn patterned() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(PIECES), 1usize..30).prop_map(|(p, n)| p.repeat(n.min(4))),
        1..60,
    )
    .prop_map(|v| v.concat())
}

/// A random walk along the keyboard's number row, each key shifted or not: the pattern whose
/// guess count overflowed the vendored zxcvbn (vendor/zxcvbn/PATCHED.md).
fn keyboard_walk() -> impl Strategy<Value = String> {
    prop::collection::vec((any::<bool>(), any::<bool>()), 20..200).prop_map(|steps| {
        let keys: Vec<char> = "1234567890-=".chars().collect();
        let shifted: Vec<char> = "!@#$%^&*()_+".chars().collect();
        let mut at = 0usize;
        let mut walk = String::new();
        for (right, shift) in steps {
            walk.push(if shift { shifted[at] } else { keys[at] });
            at = match (right, at) {
                (true, 11) | (false, 0) => at ^ 1,
                (true, _) => at + 1,
                (false, _) => at - 1,
            };
        }
        walk
    })
}

fn violations(raw: &str, personal: &PersonalInfo<'_>) -> Vec<&'static str> {
    match POLICY.parse_new(raw, "password", personal) {
        Ok(_) => vec![],
        Err(v) => v.iter().map(|v| v.violated_rule).collect(),
    }
}

proptest! {
    #![proptest_config(cases(150))]

    #[test]
    fn patterned_and_unicode_passwords_are_judged_without_panicking_and_lengths_hold(
        raw in prop_oneof![patterned(), keyboard_walk(), any::<String>(), "\\PC{90,200}", (any::<char>(), 1usize..600).prop_map(|(c, n)| c.to_string().repeat(n))],
        name in "[A-Za-z]{0,12}",
    ) {
        let personal = PersonalInfo { email_local_part: "ann", first_name: Some(&name), last_name: None };
        for max_length in [128, 1024] {
            let policy = PasswordPolicy { min_length: 12, max_length };
            let parsed = Password::parse(&raw, "password", max_length);
            match policy.parse_new(&raw, "password", &personal) {
                Ok(p) => {
                    prop_assert!((12..=max_length).contains(&p.code_points()));
                    prop_assert!(parsed.is_ok());
                    prop_assert!(!is_on_common_list(p.expose()));
                }
                Err(v) => prop_assert!(!v.is_empty()),
            }
            if raw.chars().count() > 4 * max_length {
                prop_assert!(parsed.is_err(), "refused before normalizing");
            }
        }
    }

    #[test]
    fn a_password_built_from_the_members_name_is_too_similar(
        name in "[a-z]{6,12}",
        upper in any::<bool>(),
        suffix in "[0-9!]{0,2}",
    ) {
        let password = format!("{}{}{suffix}", if upper { name.to_uppercase() } else { name.clone() }, name);
        let personal = PersonalInfo { email_local_part: "zz", first_name: Some(&name), last_name: None };
        let got = violations(&password, &personal);
        prop_assert!(got.contains(&rule::TOO_SIMILAR), "{password}: {got:?}");
    }

    #[test]
    fn lengths_are_counted_in_code_points_at_both_limits(n in 1usize..200, c in prop::sample::select(vec!['x', 'é', '😀', '中'])) {
        let raw = c.to_string().repeat(n);
        let got = violations(&raw, &PersonalInfo::default());
        prop_assert_eq!(got.contains(&rule::TOO_SHORT), n < 12);
        prop_assert_eq!(got.contains(&rule::TOO_LONG), n > 128);
    }
}
