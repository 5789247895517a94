//! The change-password body parser as the handler calls it, for the fuzzers and property tests
//! (feature `fuzzing`, issue 16).

use lambda_http::Request;

/// `PASSWORD_MAX_LENGTH`'s default (DESIGN §3.6).
pub const PASSWORD_MAX_LENGTH: usize = 128;

/// The lengths of an accepted body's new and current password (0: none given).
pub fn body(req: &Request) -> Option<(usize, usize)> {
    let c = super::request::parse(req, PASSWORD_MAX_LENGTH).ok()?;
    let current = c.current_password.as_ref().map_or(0, |p| p.code_points());
    Some((c.new_password.code_points(), current))
}
