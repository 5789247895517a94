//! The register body parser as the handler calls it (default policy, a fixed date), for the
//! fuzzers and property tests (feature `fuzzing`, issue 16).

use lambda_http::Request;
use shared::password::policy::PasswordPolicy;

/// `PASSWORD_MIN_LENGTH` and `PASSWORD_MAX_LENGTH`'s defaults (DESIGN §3.6).
pub const POLICY: PasswordPolicy = PasswordPolicy {
    min_length: 12,
    max_length: 128,
};

/// What an accepted registration holds: the email's key and the password's length.
pub fn body(req: &Request) -> Option<(String, usize)> {
    let today = time::macros::date!(2026 - 01 - 01);
    let r = super::request::parse(req, POLICY, today).ok()?;
    Some((r.email.key().to_owned(), r.password.code_points()))
}
