//! The token endpoints' parameter parser (form or JSON) as the handler calls it, for the
//! fuzzers and property tests (feature `fuzzing`, issue 16).

use lambda_http::Request;

/// What an accepted request says: its parameters (RFC names, non-empty values) and its
/// `client_id` if that is a valid one.
pub struct Said {
    pub params: Vec<(String, String)>,
    pub client_id: Option<String>,
}

pub fn params(req: &Request) -> Option<Said> {
    let _ = super::request::path(req);
    let p = super::request::parse_params(req).ok()?;
    let names = [
        "grant_type",
        "subject_token",
        "subject_token_type",
        "requested_token_type",
        "actor_token",
        "refresh_token",
        "client_id",
        "token",
        "token_type_hint",
    ];
    let params = names
        .iter()
        .filter_map(|n| p.get(n).map(|v| ((*n).to_owned(), v.to_owned())))
        .collect();
    let client_id = p.client_id().ok().flatten().map(str::to_owned);
    Some(Said { params, client_id })
}
