//! A logout request read: its parameters (query string and, for POST, a JSON body), how the
//! caller wants the answer, and caller-supplied values made fit for a log line. Nothing here
//! needs the caller's session.

use lambda_http::Request;
use lambda_http::http::header;
use serde::Deserialize;

use shared::error::{ApiError, FieldViolation, rule};
use shared::http;

use super::{CLIENT_ID_PARAM, REDIRECT_PARAM};

/// How many characters of a caller-supplied value a log line keeps.
const LOGGED_CHARS: usize = 128;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LogoutBody {
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
}

/// A logout request's parameters, parsed.
#[derive(Default)]
pub(super) struct Params {
    pub(super) redirect: Option<String>,
    pub(super) client_id: Option<String>,
}

/// The parameters from the query string and, for POST, a JSON body. A redirect target given
/// twice is refused: two readers of one request must never disagree on where it goes.
pub(super) fn parse(req: &Request, post: bool) -> Result<Params, ApiError> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let given = |name: &str| -> Vec<String> {
        query
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    };
    let body: LogoutBody = if post && !http::body_bytes(req).iter().all(u8::is_ascii_whitespace) {
        http::parse_json(req)?
    } else {
        LogoutBody::default()
    };
    let mut redirects = given(REDIRECT_PARAM);
    redirects.extend(body.post_logout_redirect_uri.filter(|v| !v.is_empty()));
    redirects.dedup();
    if redirects.len() > 1 {
        return Err(ApiError::violation(FieldViolation::new(
            REDIRECT_PARAM,
            rule::AMBIGUOUS,
            "postLogoutRedirectUri is given more than once, with different values.",
        )));
    }
    Ok(Params {
        redirect: redirects.pop(),
        client_id: given(CLIENT_ID_PARAM)
            .into_iter()
            .next()
            .or(body.client_id.filter(|v| !v.is_empty())),
    })
}

/// Whether `Accept` lists `application/json` (with any parameters, but not `q=0`).
pub(super) fn accepts_json(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json")
                && parts.all(|p| match p.trim().split_once('=') {
                    Some((k, q)) if k.trim().eq_ignore_ascii_case("q") => {
                        q.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
                    }
                    _ => true,
                })
        })
}

/// A caller-supplied value made short and single-line for a log field.
pub(super) fn loggable(raw: &str) -> String {
    raw.chars()
        .take(LOGGED_CHARS)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::testing::{answer, request};

    use super::super::redirect::LOOKALIKES;
    use super::{Params, accepts_json, loggable, parse};

    const ALLOWED: &str = "https://app.example.com/signed-out";
    const LOCAL: &str = "http://localhost:3000/";

    fn get(query: &str) -> lambda_http::Request {
        request("GET", &format!("/v1/logout{query}"), &[], "", "203.0.113.9")
    }

    fn post_json(query: &str, body: &str) -> lambda_http::Request {
        request(
            "POST",
            &format!("/v1/logout{query}"),
            &[("content-type", "application/json")],
            body,
            "203.0.113.9",
        )
    }

    /// `?postLogoutRedirectUri=<value>`, the value percent-encoded once, as a browser would.
    fn redirect_query(value: &str) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        format!("?postLogoutRedirectUri={encoded}")
    }

    /// The parameters, or the wire status and rule of the refusal.
    fn parsed(req: &lambda_http::Request, post: bool) -> Result<Params, (u16, String)> {
        parse(req, post).map_err(|e| {
            let a = answer(shared::http::error_response(&e, "req-test"));
            (a.status, a.code().to_owned())
        })
    }

    fn redirect(req: &lambda_http::Request, post: bool) -> Option<String> {
        parsed(req, post).expect("parses").redirect
    }

    #[test]
    fn a_redirect_target_is_read_from_the_query_or_the_body_exactly_as_sent() {
        assert_eq!(
            redirect(&get(&redirect_query(ALLOWED)), false),
            Some(ALLOWED.into())
        );
        // Unencoded, as a hand-written link might send it.
        let p = parsed(
            &get(&format!("?postLogoutRedirectUri={ALLOWED}&clientId=web")),
            false,
        )
        .expect("parses");
        assert_eq!(p.redirect.as_deref(), Some(ALLOWED));
        assert_eq!(p.client_id.as_deref(), Some("web"));
        let body = json!({"postLogoutRedirectUri": ALLOWED, "clientId": "spa"}).to_string();
        let p = parsed(&post_json("", &body), true).expect("parses");
        assert_eq!(p.redirect.as_deref(), Some(ALLOWED));
        assert_eq!(p.client_id.as_deref(), Some("spa"));
        // Nothing given, or given empty, is no target.
        assert_eq!(redirect(&get(""), false), None);
        assert_eq!(redirect(&get("?postLogoutRedirectUri="), false), None);
        assert_eq!(redirect(&post_json("", ""), true), None);
    }

    #[test]
    fn every_lookalike_arrives_verbatim_from_the_query_and_the_body() {
        for target in LOOKALIKES {
            let by_query = get(&redirect_query(target));
            assert_eq!(redirect(&by_query, false).as_deref(), Some(*target));
            let body = json!({ "postLogoutRedirectUri": target }).to_string();
            assert_eq!(
                redirect(&post_json("", &body), true).as_deref(),
                Some(*target)
            );
        }
    }

    #[test]
    fn a_redirect_target_given_twice_with_different_values_is_ambiguous() {
        let evil = "https://evil.example/";
        let encoded: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
        let twice = format!(
            "{}&postLogoutRedirectUri={encoded}",
            redirect_query(ALLOWED)
        );
        assert_eq!(
            parsed(&get(&twice), false).err(),
            Some((400, "AMBIGUOUS".to_owned()))
        );
        let body = json!({ "postLogoutRedirectUri": LOCAL }).to_string();
        assert_eq!(
            parsed(&post_json(&redirect_query(ALLOWED), &body), true).err(),
            Some((400, "AMBIGUOUS".to_owned()))
        );
        // The same value twice is not ambiguous.
        let same = format!(
            "{}&{}",
            redirect_query(ALLOWED),
            &redirect_query(ALLOWED)[1..]
        );
        assert_eq!(redirect(&get(&same), false), Some(ALLOWED.into()));
        let body = json!({ "postLogoutRedirectUri": ALLOWED }).to_string();
        assert_eq!(
            redirect(&post_json(&redirect_query(ALLOWED), &body), true),
            Some(ALLOWED.into())
        );
    }

    #[test]
    fn a_malformed_body_is_refused_with_the_rule_it_breaks() {
        for (body, rule) in [
            ("{", "MALFORMED_JSON"),
            ("{\"postLogoutRedirectUri\": \"", "MALFORMED_JSON"),
            ("\u{0}\u{1}", "MALFORMED_JSON"),
            ("[]", "INVALID_FORMAT"),
            // An array of the body's fields, which serde's derive alone would read.
            ("[null, null]", "INVALID_FORMAT"),
            ("null", "INVALID_FORMAT"),
            ("\"https://app.example.com/signed-out\"", "INVALID_FORMAT"),
            ("{\"postLogoutRedirectUri\": 5}", "INVALID_FORMAT"),
            (
                "{\"postLogoutRedirectUri\": [\"https://app.example.com/signed-out\"]}",
                "INVALID_FORMAT",
            ),
            ("{\"clientId\": {\"$ne\": 1}}", "INVALID_FORMAT"),
        ] {
            assert_eq!(
                parsed(&post_json("", body), true).err(),
                Some((400, rule.to_owned())),
                "{body:?}"
            );
        }
        // A body in another format.
        let req = request(
            "POST",
            "/v1/logout",
            &[("content-type", "text/plain")],
            "postLogoutRedirectUri=x",
            "203.0.113.9",
        );
        assert_eq!(
            parsed(&req, true).err(),
            Some((415, "UNSUPPORTED_MEDIA_TYPE".to_owned()))
        );
    }

    #[test]
    fn only_an_accept_that_wants_json_asks_for_json() {
        for (accept, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("text/html, application/json;q=0.5", true),
            ("text/html", false),
            ("*/*", false),
            ("application/json;q=0", false),
            ("application/json; q=0.0", false),
            ("application/jsonp", false),
        ] {
            let req = request(
                "POST",
                "/v1/logout",
                &[("accept", accept)],
                "",
                "203.0.113.9",
            );
            assert_eq!(accepts_json(&req), json, "{accept}");
        }
        assert!(!accepts_json(&get("")), "no Accept at all");
    }

    #[test]
    fn a_logged_value_is_bounded_and_printable() {
        let raw = format!("web\r\n{{\"event\":\"forged\"}}\u{7}{}", "z".repeat(10_000));
        let logged = loggable(&raw);
        assert_eq!(logged.chars().count(), 128);
        assert!(
            logged.starts_with("web??{\"event\":\"forged\"}?zzz"),
            "{logged}"
        );
        assert!(logged.chars().all(|c| c.is_ascii_graphic()));
        assert_eq!(loggable("caf\u{e9} au lait"), "caf??au?lait");
    }
}
