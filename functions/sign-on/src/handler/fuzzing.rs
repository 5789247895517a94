//! The sign-on body parser as the handler calls it, for the fuzzers and property tests
//! (feature `fuzzing`, issue 16).

use lambda_http::Request;
use shared::config::SignOnConfig;

/// An accepted sign-on body's email key, under `config`'s allowed domains and required fields.
pub fn body(config: &SignOnConfig, req: &Request) -> Option<String> {
    let today = time::macros::date!(2026 - 01 - 01);
    let s = super::parse_body(config, today, req).ok()?;
    Some(s.email.key().to_owned())
}
