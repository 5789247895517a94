//! `Email`: a member's login id, parsed once at the edge (DESIGN §7.10: one mailbox, one member).
//!
//! Every table is keyed by the canonical form, so that every spelling of one mailbox is one
//! member, one lockout counter and one rate limit:
//! - the input is trimmed, and refused when longer than [`MAX_LEN`] before any other work;
//! - control characters and Unicode format characters (category Cf: zero-width spaces and
//!   joiners, bidirectional overrides and isolates, the BOM, soft hyphens, tag characters) and
//!   non-ASCII spaces are refused anywhere, since they make one address look like another;
//! - the address is normalized to Unicode NFC, so precomposed and decomposed `é` are one letter;
//! - the domain is converted to its ASCII form (IDNA/UTS 46: punycode, lower case), so
//!   `bücher.de`, `BÜCHER.DE` and `xn--bcher-kva.de` are one domain;
//! - the local part (before the last `@`) is lower-cased (Unicode), and a quoted one is refused;
//! - the result, `local@ascii-domain`, is at most [`MAX_LEN`] characters and a plain mailbox:
//!   no display name, comment or domain literal, and a dot in the domain.
//!
//! The identity shows [`Email::address`], what the member typed after NFC; only
//! [`Email::key`] is compared. No provider-specific folding (Gmail's dots, `+tags`): those are
//! distinct mailboxes elsewhere.

use email_address::{EmailAddress, Options};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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
    /// Parses and canonicalizes an address; `field` names it in the violation (e.g.
    /// `loginId.email`).
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
            return Err(too_long(field));
        }
        if trimmed.chars().any(is_invisible) {
            return Err(FieldViolation::new(
                field,
                rule::INVALID_FORMAT,
                "An email may not contain invisible, control or space characters.",
            ));
        }
        let address: String = trimmed.nfc().collect();
        let (local, domain) = address.rsplit_once('@').ok_or_else(|| invalid(field))?;
        if local.contains('"') {
            return Err(FieldViolation::new(
                field,
                rule::INVALID_FORMAT,
                "An email with a quoted local part is not accepted.",
            ));
        }
        let domain = canonical_domain(domain).ok_or_else(|| invalid(field))?;
        // Lower-casing can undo NFC (`İ` becomes `i` + a combining dot): normalize again.
        let local: String = local.to_lowercase().nfc().collect();
        let key = format!("{local}@{domain}");
        // Punycode can lengthen the domain past what was typed; NFC rarely lengthens text.
        if key.chars().count() > MAX_LEN || address.chars().count() > MAX_LEN {
            return Err(too_long(field));
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        EmailAddress::parse_with_options(&key, options).map_err(|_| invalid(field))?;
        Ok(Self { address, key })
    }

    /// The address as the member typed it (trimmed, NFC): what the identity shows.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The canonical form every table is keyed by: `local@ascii-domain`, lower-cased.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part before the `@`, lower-cased, for the password-similarity rule.
    pub fn local_part(&self) -> &str {
        self.key
            .rsplit_once('@')
            .map(|(local, _)| local)
            .unwrap_or_default()
    }

    /// The domain in its ASCII form (punycode, lower-cased): `xn--bcher-kva.de` for
    /// `bücher.de`. Compare configured domains in their [`canonical_domain`] form.
    pub fn domain(&self) -> &str {
        self.key
            .rsplit_once('@')
            .map(|(_, domain)| domain)
            .unwrap_or_default()
    }
}

/// A domain as [`Email::domain`] gives it: IDNA (UTS 46, which also applies NFC) to ASCII,
/// lower-cased; `None` when it has no ASCII form. Configuration that lists domains
/// (`SIGN_ON_ALLOWED_EMAIL_DOMAINS`) compares in this form, so a configured `bücher.de` matches.
pub fn canonical_domain(domain: &str) -> Option<String> {
    idna::domain_to_ascii(domain).ok()
}

/// A character that makes one address look like another: control characters, Unicode format
/// characters (Cf) and spaces of any kind (ASCII spaces are refused later anyway, but
/// `email_address` lets every non-ASCII character through).
fn is_invisible(c: char) -> bool {
    c.is_control() || c.is_whitespace() || c.general_category() == GeneralCategory::Format
}

fn invalid(field: &str) -> FieldViolation {
    FieldViolation::new(
        field,
        rule::INVALID_FORMAT,
        "This is not a valid email address.",
    )
}

fn too_long(field: &str) -> FieldViolation {
    FieldViolation::too_long(
        field,
        MAX_LEN,
        format!("An email has at most {MAX_LEN} characters."),
    )
}

#[cfg(test)]
mod tests;
