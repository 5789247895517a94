//! The recovery body parsers and the link they lead to, as the handler calls them, for the
//! fuzzers and property tests (feature `fuzzing`, issue 16).

use lambda_http::Request;
use shared::config::RecoveryConfig;

/// `PASSWORD_MAX_LENGTH`'s default (DESIGN §3.6).
pub const PASSWORD_MAX_LENGTH: usize = 128;

/// An accepted send-email body's email key, the page its link opens (an allowed one, or the
/// default) and the link mailed.
pub fn send_email(req: &Request, config: &RecoveryConfig) -> Option<(String, String, String)> {
    let s = super::request::send_email(req, config).ok()?;
    let link = super::link(&s.url, "rc_fuzz.token");
    Some((s.email.key().to_owned(), s.url, link))
}

/// Whether a recover body is accepted, and whether its token has the shape of one.
pub fn recover(req: &Request) -> Option<bool> {
    let r = super::request::recover(req, PASSWORD_MAX_LENGTH).ok()?;
    Some(r.token.is_some())
}
