//! `Email`: a member's login id, parsed once at the edge.
//!
//! The key every table uses is the normalized form (trimmed, lower-cased), so `Ann@X.com` and
//! `ann@x.com` are one member, one lockout counter and one rate limit.

use email_address::{EmailAddress, Options};

use crate::error::{FieldViolation, rule};

/// RFC 5321's limit on a forward path; longer input is refused before any work.
pub const MAX_LEN: usize = 254;

/// Wix's `loginId` object, as login, register and sign-on take it: `{"email": "..."}`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LoginId {
    pub email: Option<String>,
}

impl LoginId {
    /// The wire name of the field the email comes in.
    pub const FIELD: &str = "loginId.email";

    /// `loginId.email` of a body (absent object or field: required), canonicalized.
    pub fn email(login_id: Option<&LoginId>) -> Result<Email, FieldViolation> {
        let raw = login_id.and_then(|l| l.email.clone());
        crate::http::required(&raw, Self::FIELD).and_then(|e| Email::parse(e, Self::FIELD))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

impl Email {
    /// Parses an address; `field` names it in the violation (e.g. `loginId.email`).
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(
                field,
                rule::REQUIRED_FIELD_MISSING,
                "An email is required.",
            ));
        }
        if trimmed.chars().count() > MAX_LEN {
            return Err(FieldViolation::new(
                field,
                rule::TOO_LONG,
                format!("An email has at most {MAX_LEN} characters."),
            )
            .with_data(serde_json::json!({ "max": MAX_LEN })));
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = EmailAddress::parse_with_options(trimmed, options).map_err(|_| {
            FieldViolation::new(
                field,
                rule::INVALID_FORMAT,
                "This is not a valid email address.",
            )
        })?;
        let address = parsed.email().to_owned();
        Ok(Self {
            key: address.to_lowercase(),
            address,
        })
    }

    /// The address as the member typed it (trimmed).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The normalized form every table is keyed by.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part before the `@`, lower-cased, for the password-similarity rule.
    pub fn local_part(&self) -> &str {
        self.key.split('@').next().unwrap_or_default()
    }

    /// The domain, lower-cased.
    pub fn domain(&self) -> &str {
        self.key.rsplit('@').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace_into_the_key() {
        let e = Email::parse("  Ann.Lee@Example.COM ", "email").unwrap();
        assert_eq!(e.address(), "Ann.Lee@Example.COM");
        assert_eq!(e.key(), "ann.lee@example.com");
        assert_eq!(e.local_part(), "ann.lee");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn refuses_what_is_not_a_mailbox() {
        for (raw, rule) in [
            ("", "REQUIRED_FIELD_MISSING"),
            ("   ", "REQUIRED_FIELD_MISSING"),
            ("plain", "INVALID_FORMAT"),
            ("a@b", "INVALID_FORMAT"),
            ("Ann <ann@example.com>", "INVALID_FORMAT"),
            ("ann@[127.0.0.1]", "INVALID_FORMAT"),
            ("a\u{0}b@example.com", "INVALID_FORMAT"),
            ("a b@example.com", "INVALID_FORMAT"),
        ] {
            let v = Email::parse(raw, "loginId.email").unwrap_err();
            assert_eq!(v.violated_rule, rule, "{raw:?}");
            assert_eq!(v.field, "loginId.email");
        }
    }

    #[test]
    fn refuses_more_than_254_characters() {
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(long.len(), 255);
        assert_eq!(
            Email::parse(&long, "e").unwrap_err().violated_rule,
            "TOO_LONG"
        );
        let ok = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&ok, "e").is_ok());
    }
}
