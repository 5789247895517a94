//! The logout parameters, the redirect allowlist check and the log fields made of them, as the
//! handler calls them, for the fuzzers and property tests (feature `fuzzing`, issue 16).

use lambda_http::Request;

use super::redirect::{Target, log_refused_redirect, target};
use super::request::{accepts_json, loggable, parse};

/// Where a logout would send the browser.
#[derive(Debug, PartialEq, Eq)]
pub enum Redirect {
    /// The parameters were refused (a redirect given twice, a malformed body).
    BadRequest,
    Stay,
    /// The allowlist entry redirected to.
    Allowed(String),
    Refused,
}

/// Parses a logout (`post`: a POST, whose JSON body counts) and judges its redirect against
/// `allowlist`; also makes what the handler logs of it.
pub fn logout(req: &Request, post: bool, allowlist: &[String]) -> Redirect {
    let _ = accepts_json(req);
    let Ok(params) = parse(req, post) else {
        return Redirect::BadRequest;
    };
    let _ = params.client_id.as_deref().map(loggable);
    match target(allowlist, params.redirect.as_deref()) {
        Target::Stay => Redirect::Stay,
        Target::Allowed(entry) => Redirect::Allowed(entry.to_owned()),
        Target::Refused => {
            log_refused_redirect(params.redirect.as_deref().unwrap_or_default());
            Redirect::Refused
        }
    }
}

/// The allowlist check alone.
pub fn allowed<'a>(allowlist: &'a [String], requested: &str) -> Option<&'a str> {
    match target(allowlist, Some(requested)) {
        Target::Allowed(entry) => Some(entry),
        _ => None,
    }
}

/// A caller-supplied value as a log line keeps it.
pub fn logged(raw: &str) -> String {
    loggable(raw)
}
