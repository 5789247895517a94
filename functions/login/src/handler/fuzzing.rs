//! The login body parser as the handler calls it, for the fuzzers and property tests
//! (feature `fuzzing`, issue 16).

use lambda_http::Request;

/// `PASSWORD_MAX_LENGTH`'s default (DESIGN §3.6).
pub const PASSWORD_MAX_LENGTH: usize = 128;

/// What an accepted login body holds: the email's key and the password's length in code points.
pub fn body(req: &Request) -> Option<(String, usize)> {
    let c = super::request::parse(req, PASSWORD_MAX_LENGTH).ok()?;
    Some((c.email.key().to_owned(), c.password.code_points()))
}
