//! The admin function's request parsers (route, `email` query, the bodies block and unblock
//! ignore), as the handler calls them, for the fuzzers and property tests (feature `fuzzing`,
//! issue 16).

use lambda_http::Request;
use shared::http;

/// Whether the request names a route, an email (canonical key) and an acceptable body.
pub fn request(req: &Request) -> (bool, Option<String>, bool) {
    let routed = super::route::parse(req.method().as_str(), http::route_path(req)).is_ok();
    let email = super::email_param(req).ok().map(|e| e.key().to_owned());
    let body = http::check_size(req).is_ok() && super::no_body(req).is_ok();
    (routed, email, body)
}
