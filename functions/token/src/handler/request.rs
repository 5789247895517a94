//! What a request to the token function says, before any table is read: the route path it
//! names (without an API Gateway stage prefix) and its parameters (form-encoded or JSON, with
//! camelCase twins in JSON). Refusals are RFC 6749 `invalid_request` errors.

use std::collections::BTreeMap;

use lambda_http::Request;
use serde_json::Value;

use shared::http;

use super::OAuthError;

/// Longest accepted `client_id` (RFC 6749 allows any printable ASCII).
const MAX_CLIENT_ID: usize = 128;

/// The parameters this endpoint reads, with their JSON camelCase twins.
const PARAMETERS: &[(&str, &str)] = &[
    ("grant_type", "grantType"),
    ("subject_token", "subjectToken"),
    ("subject_token_type", "subjectTokenType"),
    ("requested_token_type", "requestedTokenType"),
    ("actor_token", "actorToken"),
    ("refresh_token", "refreshToken"),
    ("client_id", "clientId"),
    ("token", "token"),
    ("token_type_hint", "tokenTypeHint"),
];

/// The request path as a route names it (the one definition, shared by every function).
pub(super) use shared::http::route_path as path;

/// The request's parameters, by their RFC names; a parameter sent empty counts as absent.
#[derive(Debug, Default)]
pub(super) struct Params(BTreeMap<&'static str, String>);

impl Params {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(super) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required.")))
    }

    fn insert(&mut self, name: &'static str, value: String) -> Result<(), OAuthError> {
        if value.is_empty() {
            return Ok(());
        }
        if self.0.insert(name, value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "{name} is given more than once."
            )));
        }
        Ok(())
    }

    /// The `client_id`, when given: printable ASCII, at most 128 characters.
    pub(super) fn client_id(&self) -> Result<Option<&str>, OAuthError> {
        match self.get("client_id") {
            Some(c)
                if c.len() > MAX_CLIENT_ID || !c.bytes().all(|b| (0x20..=0x7e).contains(&b)) =>
            {
                Err(OAuthError::invalid_request(format!(
                    "client_id must be at most {MAX_CLIENT_ID} printable ASCII characters."
                )))
            }
            other => Ok(other),
        }
    }
}

fn media_type(req: &Request) -> Option<String> {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase())
}

/// Reads the body, form-encoded or JSON, refusing oversize, malformed and ambiguous input.
pub(super) fn parse_params(req: &Request) -> Result<Params, OAuthError> {
    let bytes = http::body_bytes(req);
    if bytes.len() > http::MAX_BODY_BYTES {
        return Err(OAuthError::invalid_request(format!(
            "The request body is larger than {} bytes.",
            http::MAX_BODY_BYTES
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("The request body is not UTF-8."))?;
    let mut params = Params::default();
    match media_type(req).as_deref() {
        Some("application/x-www-form-urlencoded") => {
            for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
                if let Some((name, _)) = PARAMETERS.iter().find(|(snake, _)| *snake == key) {
                    params.insert(name, value.into_owned())?;
                }
            }
        }
        Some("application/json") => {
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
                return Err(OAuthError::invalid_request(
                    "The request body is not a JSON object.",
                ));
            };
            for (key, value) in fields {
                let Some((name, _)) = PARAMETERS
                    .iter()
                    .find(|(snake, camel)| *snake == key || *camel == key)
                else {
                    continue;
                };
                match value {
                    Value::Null => {}
                    Value::String(s) => params.insert(name, s)?,
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "{name} must be a string."
                        )));
                    }
                }
            }
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "Send the parameters as application/x-www-form-urlencoded or application/json.",
            ));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    use lambda_http::{Body, RequestExt};
    use serde_json::json;
    use shared::testing;

    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    fn form(pairs: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    /// A POST with this `Content-Type` (none when empty) and body.
    fn post(content_type: &str, body: &str) -> Request {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("content-type", content_type)]
        };
        testing::request("POST", "/oauth2/token", &headers, body, "203.0.113.9")
    }

    fn parsed(content_type: &str, body: &str) -> Params {
        parse_params(&post(content_type, body)).expect("the body parses")
    }

    /// An `invalid_request` with a description; the description is returned.
    fn assert_invalid_request(
        result: Result<impl std::fmt::Debug, OAuthError>,
        case: &str,
    ) -> String {
        let e = result.expect_err(case);
        assert_eq!(e.error, "invalid_request", "{case}");
        assert!(!e.description.is_empty(), "{case}");
        e.description
    }

    #[test]
    fn form_parameters_are_read_by_their_rfc_names_and_others_are_ignored() {
        let p = parsed(
            FORM,
            &form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt_a.b"),
                ("scope", "ignored"),
                ("refreshToken", "camelCase is for JSON"),
            ]),
        );
        assert_eq!(p.get("grant_type"), Some("refresh_token"));
        assert_eq!(p.get("refresh_token"), Some("rt_a.b"));
        assert_eq!(p.0.len(), 2, "{p:?}");
    }

    #[test]
    fn the_media_type_is_matched_without_regard_to_case_or_its_parameters() {
        let body = form(&[("grant_type", "refresh_token"), ("refresh_token", "rt_a.b")]);
        let p = parsed("Application/X-WWW-Form-URLEncoded; charset=UTF-8", &body);
        assert_eq!(p.get("refresh_token"), Some("rt_a.b"));
        let p = parsed("application/json; charset=utf-8", r#"{"token":"x"}"#);
        assert_eq!(p.get("token"), Some("x"));
    }

    #[test]
    fn json_parameters_are_read_by_snake_case_or_camel_case_names() {
        let camel = json!({
            "grantType": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subjectToken": "st_a.b",
            "subjectTokenType": "urn:ietf:params:oauth:token-type:session_token",
            "clientId": "spa",
            "unknownField": 1,
        });
        let p = parsed(JSON, &camel.to_string());
        assert_eq!(
            p.get("grant_type"),
            Some("urn:ietf:params:oauth:grant-type:token-exchange")
        );
        assert_eq!(p.get("subject_token"), Some("st_a.b"));
        assert_eq!(
            p.get("subject_token_type"),
            Some("urn:ietf:params:oauth:token-type:session_token")
        );
        assert_eq!(p.client_id(), Ok(Some("spa")));
        assert_eq!(p.0.len(), 4, "an unknown field is ignored: {p:?}");

        let snake =
            json!({"grant_type": "refresh_token", "refresh_token": "rt_a.b", "scope": null});
        let p = parsed(JSON, &snake.to_string());
        assert_eq!(p.get("grant_type"), Some("refresh_token"));
        assert_eq!(p.get("refresh_token"), Some("rt_a.b"));
        assert_eq!(p.client_id(), Ok(None));
    }

    #[test]
    fn a_parameter_sent_empty_or_null_counts_as_absent() {
        let p = parsed(FORM, &form(&[("grant_type", ""), ("token", "x")]));
        assert_eq!(p.get("grant_type"), None);
        assert_invalid_request(p.require("grant_type"), "required but empty");
        assert_eq!(p.require("token"), Ok("x"));
        assert_eq!(parsed(FORM, "").0.len(), 0, "an empty body");
        let p = parsed(JSON, &json!({"grantType": "", "token": null}).to_string());
        assert_eq!((p.get("grant_type"), p.get("token")), (None, None));
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        for (case, content_type, body) in [
            (
                "a repeated form parameter",
                FORM,
                form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "rt_a.b"),
                    ("refresh_token", "rt_c.d"),
                ]),
            ),
            (
                "a parameter and its camelCase twin",
                JSON,
                json!({"grant_type": "refresh_token", "refreshToken": "rt_a.b", "refresh_token": "rt_c.d"})
                    .to_string(),
            ),
        ] {
            let why = assert_invalid_request(parse_params(&post(content_type, &body)), case);
            assert!(why.contains("refresh_token"), "{case}: {why}");
        }
    }

    #[test]
    fn a_json_body_that_is_not_an_object_of_strings_is_refused() {
        for (case, body) in [
            ("JSON that does not parse", "{\"grant_type\":".to_owned()),
            ("a JSON array", "[\"refresh_token\"]".to_owned()),
            ("a JSON string", "\"refresh_token\"".to_owned()),
            (
                "a number where a string belongs",
                json!({"grant_type": "refresh_token", "refresh_token": 12345}).to_string(),
            ),
            (
                "an object where a string belongs",
                json!({"grantType": {"$ne": null}}).to_string(),
            ),
        ] {
            assert_invalid_request(parse_params(&post(JSON, &body)), case);
        }
    }

    #[test]
    fn a_body_neither_form_encoded_nor_json_is_refused() {
        let body = form(&[("grant_type", "refresh_token"), ("refresh_token", "rt_a.b")]);
        for (case, content_type, body) in [
            ("no content type", "", body.as_str()),
            ("text/plain", "text/plain", body.as_str()),
            (
                "multipart",
                "multipart/form-data; boundary=x",
                "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n--x--",
            ),
        ] {
            assert_invalid_request(parse_params(&post(content_type, body)), case);
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_is_refused() {
        let mut req = post(FORM, "");
        *req.body_mut() = Body::Binary(b"grant_type=refresh_token&refresh_token=\xff\xfe".to_vec());
        assert_invalid_request(parse_params(&req), "not UTF-8");
    }

    #[test]
    fn a_body_over_the_limit_is_refused_and_one_at_it_is_read() {
        let at_limit = format!("token=x&padding={}", "x".repeat(http::MAX_BODY_BYTES - 16));
        assert_eq!(at_limit.len(), http::MAX_BODY_BYTES);
        assert_eq!(parsed(FORM, &at_limit).get("token"), Some("x"));
        let over = format!("{at_limit}x");
        let why = assert_invalid_request(parse_params(&post(FORM, &over)), "one byte over");
        assert!(why.contains("16384"), "{why}");
    }

    #[test]
    fn a_client_id_is_at_most_128_printable_ascii_characters() {
        let client_id = |c: &str| {
            parsed(FORM, &form(&[("client_id", c)]))
                .client_id()
                .map(|c| c.map(str::to_owned))
        };
        assert_eq!(client_id(&"c".repeat(128)), Ok(Some("c".repeat(128))));
        assert_eq!(client_id(" ~"), Ok(Some(" ~".to_owned())));
        assert_eq!(client_id(""), Ok(None), "an empty client_id is none");
        for (case, c) in [
            ("a client_id too long", "c".repeat(129)),
            ("a client_id with a control character", "app\n".to_owned()),
            ("a client_id with a tab", "app\tb".to_owned()),
            ("a client_id beyond ASCII", "appé".to_owned()),
        ] {
            assert_invalid_request(client_id(&c), case);
        }
    }

    /// A request for `uri` as API Gateway sends it on `stage`.
    fn on_stage(uri: &str, stage: Option<&str>) -> Request {
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.stage = stage.map(str::to_owned);
        testing::request("GET", uri, &[], "", "203.0.113.9")
            .with_request_context(RequestContext::ApiGatewayV2(ctx))
    }

    #[test]
    fn the_path_is_read_without_its_stage_prefix_or_a_trailing_slash() {
        for (uri, stage, expected) in [
            ("/oauth2/token", None, "/oauth2/token"),
            ("/oauth2/token", Some("$default"), "/oauth2/token"),
            ("/prod/oauth2/token", Some("prod"), "/oauth2/token"),
            (
                "/prod/.well-known/jwks.json/",
                Some("prod"),
                "/.well-known/jwks.json",
            ),
            ("/.well-known/jwks.json/", None, "/.well-known/jwks.json"),
            (
                "/production/oauth2/token",
                Some("prod"),
                "/production/oauth2/token",
            ),
            ("/oauth2/token", Some("prod"), "/oauth2/token"),
            ("/prod", Some("prod"), "/prod"),
            ("/", None, "/"),
        ] {
            assert_eq!(path(&on_stage(uri, stage)), expected, "{uri} on {stage:?}");
        }
    }
}
