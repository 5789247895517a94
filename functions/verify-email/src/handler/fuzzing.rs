//! The verify-email body parser as the handler calls it, for the fuzzers and property tests
//! (feature `fuzzing`, issue 16).

use lambda_http::Request;

/// Whether a `/v2/verify` (`with_code`) or `/v2/verify/resend` body is accepted.
pub fn body(req: &Request, with_code: bool) -> bool {
    super::parse(req, with_code).is_ok()
}
