//! The password policy (DESIGN §3.6) that register and change password apply to a new password.
//!
//! Four rules, each reported as its own `FieldViolation` so a UI can list them all at once:
//! - `TOO_SHORT` (`data: {"min"}`) and `TOO_LONG` (`data: {"max"}`): length in Unicode code
//!   points of the NFKC form that `Password` holds, so an emoji counts once and "ﬁ" twice.
//! - `TOO_COMMON` (`data: {"score", "minScore"}`): the password is on the bundled list of common
//!   and breached passwords (`shared/data/common-passwords.txt`, compared lower-cased and
//!   trimmed, as Django does) **or** zxcvbn scores it below 3. The design names both; either one
//!   alone is reason enough to refuse, so they combine with OR: the list catches passwords that
//!   zxcvbn's own dictionaries miss, zxcvbn catches keyboard walks, repeats, dates and
//!   dictionary words with predictable decoration that no list can enumerate.
//! - `TOO_SIMILAR` (`data: {"similarTo": [...]}`): the password is built from the member's own
//!   facts — the email's local part (whole and each piece between `.`, `_`, `+`, `-`) and the
//!   first and last name (whole and each word). See `similar_to` for what "closely" means.
//!
//! There are no composition rules (NIST SP 800-63B §3.1.1.2).

use serde_json::json;

use crate::config::Config;
use crate::error::{FieldViolation, rule};
use crate::password::Password;

/// zxcvbn scores below this are `TOO_COMMON` (3: "safely unguessable", ~10^8 guesses or more).
pub const MIN_ZXCVBN_SCORE: u8 = 3;

/// Personal tokens shorter than this (in letters and digits) are ignored: refusing every
/// password that contains "ann" or "lee" would refuse "planning" and "sleepless" too.
pub const MIN_TOKEN_LEN: usize = 4;

/// Normalized Levenshtein similarity (1 − distance / longer length) from which a password
/// "closely matches" a personal token. 0.7 is the threshold Django's similarity check uses.
pub const SIMILARITY_THRESHOLD: f64 = 0.7;

/// The bundled list's lines, trimmed, sorted and deduplicated by `build.rs`, one per line.
static COMMON_SORTED: &str = include_str!(concat!(env!("OUT_DIR"), "/common-passwords.sorted"));

/// Whether the bundled list holds this password (lower-cased and trimmed).
pub fn is_on_common_list(password: &str) -> bool {
    has_line(COMMON_SORTED, password.trim().to_lowercase().as_str())
}

/// Whether `sorted` (lines in ascending order, separated by `\n`) has the line `wanted`: a
/// binary search over the text itself, so the list costs nothing until it is read, and then
/// about 15 line comparisons (no set is built, nothing allocated).
fn has_line(sorted: &str, wanted: &str) -> bool {
    let bytes = sorted.as_bytes();
    // [lo, hi) holds whole lines: lo starts one, hi ends one (at its `\n` or the end).
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[lo..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = bytes[start..hi]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |i| start + i);
        match sorted[start..end].cmp(wanted) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater if start == lo => return false,
            std::cmp::Ordering::Greater => hi = start - 1,
        }
    }
    false
}

/// The member's facts a password must not be built from.
#[derive(Clone, Copy, Debug, Default)]
pub struct PersonalInfo<'a> {
    /// The email's local part (the part before `@`).
    pub email_local_part: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
}

/// The configured limits; the rules themselves are fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl PasswordPolicy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            min_length: config.password_min_length,
            max_length: config.password_max_length,
        }
    }

    /// Parses a new password and applies every rule. A password over the maximum is refused
    /// by `Password::parse` alone, before any other work (DESIGN §7.7).
    pub fn parse_new(
        &self,
        raw: &str,
        field: &str,
        personal: &PersonalInfo<'_>,
    ) -> Result<Password, Vec<FieldViolation>> {
        let password = Password::parse(raw, field, self.max_length).map_err(|v| vec![v])?;
        let violations = self.violations(&password, field, personal);
        if violations.is_empty() {
            Ok(password)
        } else {
            Err(violations)
        }
    }

    /// Every rule `password` breaks, in the order short, long, common, similar.
    pub fn violations(
        &self,
        password: &Password,
        field: &str,
        personal: &PersonalInfo<'_>,
    ) -> Vec<FieldViolation> {
        let text = password.expose();
        let len = password.code_points();
        let mut out = vec![];
        if len < self.min_length {
            out.push(FieldViolation::too_short(
                field,
                self.min_length,
                format!("A password needs at least {} characters.", self.min_length),
            ));
        }
        if len > self.max_length {
            out.push(FieldViolation::too_long(
                field,
                self.max_length,
                format!("A password has at most {} characters.", self.max_length),
            ));
        }
        // zxcvbn reads only the first 100 characters, which bounds its work.
        let score = u8::from(zxcvbn::zxcvbn(text, &[]).score());
        if is_on_common_list(text) || score < MIN_ZXCVBN_SCORE {
            out.push(
                FieldViolation::new(
                    field,
                    rule::TOO_COMMON,
                    "This password is too common or too easy to guess.",
                )
                .with_data(json!({ "score": score, "minScore": MIN_ZXCVBN_SCORE })),
            );
        }
        let similar = similar_to(text, personal);
        if !similar.is_empty() {
            out.push(
                FieldViolation::new(
                    field,
                    rule::TOO_SIMILAR,
                    "A password must not be built from your email address or name.",
                )
                .with_data(json!({ "similarTo": similar })),
            );
        }
        out
    }
}

/// Lower-cased letters and digits only: "Ann-Lee.99" → "annlee99".
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The password with common character substitutions undone ("j0n@th4n" → "jonathan"); `one`
/// is what `1` stands for ('i' or 'l').
fn unleet(s: &str, one: char) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' | '|' => one,
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' | '+' => 't',
            '8' => 'b',
            '9' => 'g',
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The personal tokens of one fact: the whole value and each piece of it, folded, long enough.
fn tokens(value: &str) -> Vec<String> {
    let mut out: Vec<String> = value
        .split(|c: char| !c.is_alphanumeric())
        .map(fold)
        .chain(std::iter::once(fold(value)))
        .filter(|t| t.chars().count() >= MIN_TOKEN_LEN)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Which of the member's facts (`email`, `firstName`, `lastName`) the password is built from.
///
/// Case, compatibility forms (the password is NFKC already) and everything but letters and
/// digits are ignored.
/// A token (see `tokens`, at least `MIN_TOKEN_LEN` letters or digits) is matched when
/// - the password contains it, forwards or reversed, as typed or with common substitutions
///   undone (`0`→o, `1`→i or l, `3`→e, `4`/`@`→a, `5`/`$`→s, `7`→t, …): "Jonathan-2024!",
///   "j0n4th4n rocks", "nahtanoj"; or
/// - the whole password closely matches it: normalized Levenshtein similarity of at least
///   `SIMILARITY_THRESHOLD` ("jonahtansmihters" for jonathan.smithers).
pub fn similar_to(password: &str, personal: &PersonalInfo<'_>) -> Vec<&'static str> {
    let plain = fold(password);
    let reversed: String = plain.chars().rev().collect();
    let forms = [
        plain.clone(),
        reversed,
        unleet(password, 'i'),
        unleet(password, 'l'),
    ];
    let matches = |value: &str| {
        tokens(value).iter().any(|t| {
            forms.iter().any(|f| f.contains(t.as_str()))
                || strsim::normalized_levenshtein(&plain, t) >= SIMILARITY_THRESHOLD
        })
    };
    let mut out = vec![];
    if matches(personal.email_local_part) {
        out.push("email");
    }
    if personal.first_name.is_some_and(matches) {
        out.push("firstName");
    }
    if personal.last_name.is_some_and(matches) {
        out.push("lastName");
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod list_tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_sorted_list_answers_as_a_set_of_the_published_list_would() {
        let published: HashSet<&str> = include_str!("../../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert!(published.len() > 19_000, "{}", published.len());
        for &word in &published {
            assert!(has_line(COMMON_SORTED, word), "{word}");
            // Near misses: one character more, fewer or changed, and what sorts around it.
            for near in [
                format!("{word}~"),
                format!("!{word}"),
                word.chars().skip(1).collect(),
                format!("{word}\n"),
            ] {
                assert_eq!(
                    has_line(COMMON_SORTED, &near),
                    published.contains(near.as_str()),
                    "{near:?}"
                );
            }
        }
        assert!(!has_line(COMMON_SORTED, ""));
        assert!(is_on_common_list("  PassWord  "));
    }

    #[test]
    fn the_search_holds_at_the_edges_of_tiny_lists() {
        for list in ["", "b", "a\nb", "a\nb\nc", "aa\nab\nb\nbb\nc"] {
            let lines: Vec<&str> = list.split('\n').filter(|l| !l.is_empty()).collect();
            for probe in ["", "a", "aa", "ab", "b", "ba", "bb", "c", "d", "0"] {
                assert_eq!(
                    has_line(list, probe),
                    lines.contains(&probe),
                    "{list:?} {probe:?}"
                );
            }
        }
    }
}
