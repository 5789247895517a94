//! The HTTP edge: reading requests (size limit, JSON, client IP, credentials) and writing
//! responses (JSON, errors, cookies). Handlers return `Ok(response)` for every client error;
//! `serve` turns even a panic into a 500 whose body carries only the request id.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::App;
use crate::config::ConfigError;
use crate::error::{ApiError, FieldViolation, rule};

/// Bodies larger than this are refused before any other work (DESIGN §7.7).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The session cookie's name; the `__Host-` prefix pins it to this host, `Secure` and `Path=/`.
pub const SESSION_COOKIE: &str = "__Host-session";

/// The request's body bytes.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether the request declares a JSON body (`application/json`, any parameters).
pub fn is_json(req: &Request) -> bool {
    header(req, "content-type")
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mt| mt.trim().eq_ignore_ascii_case("application/json"))
}

/// Refuses a body over the limit, before anything looks at it.
pub fn check_size(req: &Request) -> Result<(), ApiError> {
    if body_bytes(req).len() > MAX_BODY_BYTES {
        return Err(ApiError::violation(FieldViolation::too_long(
            "body",
            MAX_BODY_BYTES,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        )));
    }
    Ok(())
}

/// Parses a JSON body into `T` (whose fields should all be optional, so that the handler
/// names the missing one). Only a body declared `application/json` is read (DESIGN §3): a
/// form, a text body or one with no Content-Type at all is refused with 415, since browsers
/// send those cross-site without a preflight (`fetch` in `no-cors` mode, `sendBeacon`).
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    check_size(req)?;
    if !is_json(req) {
        return Err(ApiError::unsupported_media_type());
    }
    let bytes = body_bytes(req);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::violation(FieldViolation::new(
            "body",
            rule::REQUIRED_FIELD_MISSING,
            "A JSON body is required.",
        )));
    }
    let refused = |rule, what: &str| {
        ApiError::violation(FieldViolation::new(
            "body",
            rule,
            format!("The request body {what}."),
        ))
    };
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| refused(rule::MALFORMED_JSON, "is not valid JSON"))?;
    if !value.is_object() {
        return Err(refused(rule::INVALID_FORMAT, "must be a JSON object"));
    }
    T::deserialize(value)
        .map_err(|_| refused(rule::INVALID_FORMAT, "has a field of the wrong type"))
}

/// For `#[serde(default, deserialize_with = "http::object")]` on an `Option<T>` field whose
/// `T` derives `Deserialize`: the value must be a JSON object (or null or absent). serde's
/// derive also builds a struct from an array of its fields in order (`[null, null]`), which
/// no client means and the contract does not allow.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    Option::<serde_json::Map<String, Value>>::deserialize(d)?
        .map(|m| T::deserialize(Value::Object(m)).map_err(serde::de::Error::custom))
        .transpose()
}

/// As [`object`], for a `Vec<T>` field: a list whose every item is a JSON object.
pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    Vec::<serde_json::Map<String, Value>>::deserialize(d)?
        .into_iter()
        .map(|m| T::deserialize(Value::Object(m)).map_err(serde::de::Error::custom))
        .collect()
}

/// A required string field: present and not blank.
pub fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, FieldViolation> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(FieldViolation::required(field)),
    }
}

/// The caller's IP as API Gateway saw it.
pub fn client_ip(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// The request path as a route names it: without an API Gateway stage prefix (there is none
/// on `$default`) or a trailing slash.
pub fn route_path(req: &Request) -> &str {
    let path = req.uri().path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    let path = match stage {
        Some(stage) if stage != "$default" => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    };
    match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    }
}

/// 405 for a method `path` does not take, with the `Allow` header (`allow`: e.g. `GET`).
pub fn method_not_allowed(allow: &str) -> Response<Body> {
    with_header(
        error_response(&ApiError::method_not_allowed(allow), ""),
        "allow",
        allow,
    )
}

/// The invocation's request id, or a fresh one where there is no Lambda context (tests).
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| crate::secret::random_b64(12))
}

/// The value of one cookie. API Gateway joins cookies with `;` (no space), browsers with `; `.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(req: &Request) -> Option<String> {
    let value = header(req, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(token: &str, max_age_seconds: i64) -> String {
    cookie::Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build()
        .to_string()
}

/// `Set-Cookie` that expires the session cookie, with the attributes it was set with.
pub fn clear_session_cookie() -> String {
    session_cookie("", 0)
}

/// The answer of every sign-in (login, register, recovery, email verification):
/// `200 {"state": "SUCCESS", "sessionToken", "identity"}` with the session cookie.
pub fn signed_in(session_token: &str, identity: Value, ttl_seconds: i64) -> Response<Body> {
    let body = serde_json::json!({
        "state": "SUCCESS",
        "sessionToken": session_token,
        "identity": identity,
    });
    with_header(
        json_response(200, &body),
        "set-cookie",
        &session_cookie(session_token, ttl_seconds),
    )
}

/// A JSON response that no cache keeps.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The wire form of an error.
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Body> {
    let mut resp = json_response(err.status(), &err.body(request_id));
    if let Some(secs) = err.retry_after()
        && let Ok(v) = http::HeaderValue::from_str(&secs.max(1).to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

/// A flow's answer: its response, or the wire form of its error.
pub fn respond(result: Result<Response<Body>, ApiError>, request_id: &str) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(&e, request_id))
}

/// Appends a header; values built here are always valid header text.
pub fn with_header(mut resp: Response<Body>, name: &'static str, value: &str) -> Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        resp.headers_mut().append(name, v);
    }
    resp
}

/// A function's whole `main`: JSON logs, the app built once from the environment, then every
/// request served by `handler` (through `serve`, so a panic is a 500 with only a request id).
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request, String) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    run_checked(|_| Ok(()), handler).await
}

/// `run`, after `check` has accepted the app (e.g. the token function insists on its keys):
/// a configuration it refuses fails the init, naming the variable.
pub async fn run_checked<C, F, Fut>(check: C, handler: F) -> Result<(), lambda_http::Error>
where
    C: FnOnce(&App) -> Result<(), ConfigError>,
    F: Fn(&'static App, Request, String) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    let app = init(check).await?;
    lambda_http::run(lambda_http::service_fn(|req: Request| {
        let request_id = request_id(&req);
        serve(request_id.clone(), handler(app, req, request_id))
    }))
    .await
}

/// Every function's init: JSON logs, then the app built from the environment and checked,
/// kept for the life of the execution environment.
pub(crate) async fn init<C>(check: C) -> Result<&'static App, lambda_http::Error>
where
    C: FnOnce(&App) -> Result<(), ConfigError>,
{
    crate::telemetry::init();
    let app = App::from_env().await?;
    check(&app)?;
    Ok(Box::leak(Box::new(app)))
}

/// Runs a handler so that a panic becomes a 500 carrying only the request id; every 5xx the
/// runtime is given is counted (`metrics::answered`: `http_5xx`, and `http_503`).
pub async fn serve<F>(req_id: String, fut: F) -> Result<Response<Body>, lambda_http::Error>
where
    F: Future<Output = Response<Body>>,
{
    let resp = match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::error!(event = "panic", request_id = %req_id);
            error_response(&ApiError::Internal, &req_id)
        }
    };
    crate::metrics::answered(resp.status().as_u16(), &req_id);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/v2/login");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn the_session_cookie_has_every_protective_attribute() {
        let c = session_cookie("st_a.b", 2_592_000);
        for part in [
            "__Host-session=st_a.b",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=2592000",
        ] {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(!c.contains("Domain"));
        assert!(clear_session_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn a_sign_in_answers_success_with_the_token_in_body_and_cookie_and_no_cache() {
        let r = signed_in("st_a.b", serde_json::json!({"id": "m1"}), 60);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies.len(), 1);
        assert!(
            cookies[0]
                .to_str()
                .unwrap()
                .starts_with("__Host-session=st_a.b;")
        );
        let Body::Text(text) = r.body() else {
            panic!("a text body")
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"state": "SUCCESS", "sessionToken": "st_a.b", "identity": {"id": "m1"}})
        );
    }

    #[test]
    fn cookies_are_found_however_they_are_joined() {
        let r = req(&[("cookie", "a=1;__Host-session=xyz;b=2")], "");
        assert_eq!(cookie(&r, SESSION_COOKIE).as_deref(), Some("xyz"));
        let r = req(&[("cookie", "a=1; __Host-session=xyz")], "");
        assert_eq!(cookie(&r, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&r, "session"), None);
    }

    #[test]
    fn bearer_tokens_need_the_scheme() {
        assert_eq!(
            bearer(&req(&[("authorization", "Bearer abc")], "")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            bearer(&req(&[("authorization", "bearer abc")], "")).as_deref(),
            Some("abc")
        );
        assert_eq!(bearer(&req(&[("authorization", "Basic abc")], "")), None);
        assert_eq!(bearer(&req(&[("authorization", "Bearer ")], "")), None);
    }

    #[derive(serde::Deserialize)]
    struct B {
        #[allow(dead_code)]
        a: Option<String>,
    }

    /// What `parse_json` makes of this body: read, or the refusal's status and code (or rule).
    fn parsed(content_type: Option<&str>, body: &str) -> Result<(), (u16, &'static str)> {
        let headers: Vec<_> = content_type
            .map(|ct| ("content-type", ct))
            .into_iter()
            .collect();
        parse_json::<B>(&req(&headers, body))
            .map(drop)
            .map_err(|e| match e {
                ApiError::Validation(v) => (400, v[0].violated_rule),
                ApiError::Application { status, code, .. } => (status, code),
                other => panic!("{other:?}"),
            })
    }

    const REFUSED: Result<(), (u16, &str)> = Err((415, "UNSUPPORTED_MEDIA_TYPE"));

    #[test]
    fn only_a_body_declared_as_json_is_read() {
        for (content_type, expected) in [
            (Some("application/json"), Ok(())),
            (Some("application/json; charset=utf-8"), Ok(())),
            (Some("Application/JSON; charset=UTF-8"), Ok(())),
            (Some("APPLICATION/JSON"), Ok(())),
            (Some(" application/json ;charset=utf-8"), Ok(())),
            // What a cross-site page sends without a preflight: `fetch` in no-cors mode and
            // `sendBeacon` send a Blob or ArrayBuffer with no Content-Type, a string as text.
            (None, REFUSED),
            (Some(""), REFUSED),
            (Some("text/plain"), REFUSED),
            (Some("text/plain; charset=utf-8"), REFUSED),
            (Some("application/x-www-form-urlencoded"), REFUSED),
            (Some("multipart/form-data; boundary=x"), REFUSED),
            // Lookalikes of the JSON type are other types.
            (Some("application/jsonp"), REFUSED),
            (Some("application/json-seq"), REFUSED),
            (Some("application/merge-patch+json"), REFUSED),
            (Some("text/json"), REFUSED),
            (Some("application/json, text/plain"), REFUSED),
        ] {
            assert_eq!(
                parsed(content_type, "{\"a\":\"b\"}"),
                expected,
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn a_json_body_is_checked_for_size_then_type_then_syntax() {
        const JSON: Option<&str> = Some("application/json");
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        for (case, content_type, body, expected) in [
            ("oversize", JSON, big.as_str(), Err((400, "TOO_LONG"))),
            (
                "oversize, untyped",
                None,
                big.as_str(),
                Err((400, "TOO_LONG")),
            ),
            ("unparsable", JSON, "{", Err((400, "MALFORMED_JSON"))),
            ("unparsable, untyped", None, "{", REFUSED),
            (
                "a field of another type",
                JSON,
                "{\"a\":1}",
                Err((400, "INVALID_FORMAT")),
            ),
            ("not an object", JSON, "\"a\"", Err((400, "INVALID_FORMAT"))),
            ("empty", JSON, "", Err((400, "REQUIRED_FIELD_MISSING"))),
            ("blank", JSON, " \n", Err((400, "REQUIRED_FIELD_MISSING"))),
            ("empty, untyped", None, "", REFUSED),
            ("empty, as text", Some("text/plain"), "", REFUSED),
        ] {
            assert_eq!(parsed(content_type, body), expected, "{case}");
        }
    }

    #[test]
    fn a_json_array_is_refused_even_where_its_elements_would_fill_the_struct() {
        const JSON: Option<&str> = Some("application/json");
        // B's one field, given as the first element of an array: serde's struct visitor reads it.
        assert!(serde_json::from_str::<B>("[\"b\"]").is_ok());
        for body in ["[\"b\"]", " \n[null]", "[]"] {
            assert_eq!(parsed(JSON, body), Err((400, "INVALID_FORMAT")), "{body}");
        }
        assert_eq!(parsed(JSON, " {\"a\": \"b\"}"), Ok(()));
    }

    #[tokio::test]
    async fn a_panic_becomes_a_500_with_only_the_request_id() {
        let metrics = crate::testing::MetricCapture::start();
        let resp = serve("req-1".into(), async { panic!("boom: secret detail") })
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        let Body::Text(t) = resp.body() else { panic!() };
        assert!(t.contains("req-1") && !t.contains("boom"));
        assert_eq!(metrics.values("http_5xx"), [1]);
        assert_eq!(metrics.values("http_503"), [] as [u64; 0]);
        assert_eq!(metrics.lines()[0]["requestId"], "req-1");
    }

    #[tokio::test]
    async fn every_5xx_answer_is_counted_and_a_503_also_as_such() {
        let metrics = crate::testing::MetricCapture::start();
        for (err, http_5xx, http_503) in [
            (ApiError::invalid_credentials(), 0, 0),
            (ApiError::method_not_allowed("GET"), 0, 0),
            (ApiError::Unavailable, 1, 1),
            (ApiError::Internal, 1, 0),
        ] {
            metrics.clear();
            serve("r".into(), async { error_response(&err, "r") })
                .await
                .unwrap();
            assert_eq!(metrics.count("http_5xx", ""), http_5xx, "{err:?}");
            assert_eq!(metrics.count("http_503", ""), http_503, "{err:?}");
        }
    }
}
