//! Requests as API Gateway's HTTP API (v2) hands them to a function: plain, JSON, a form a
//! cross-site page could send, a body of any declared type (or none), and with a credential in
//! the header a caller would put it in. Every JSON helper declares `application/json`, as the
//! functions require (DESIGN §3).

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;

/// The content type of JSON bodies.
pub const JSON: &str = "application/json";
/// The content type of HTML form posts.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// An API Gateway HTTP API (v2) request as the function receives it.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    source_ip: &str,
) -> Request {
    let mut b = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut http_desc = ApiGatewayV2httpRequestContextHttpDescription::default();
    http_desc.method = method.parse().unwrap_or(http::Method::POST);
    http_desc.path = Some(path.to_owned());
    http_desc.source_ip = Some(source_ip.to_owned());
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http = http_desc;
    b.body(if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_owned())
    })
    .expect("request builds")
    .with_request_context(RequestContext::ApiGatewayV2(ctx))
}

/// A POST of `text`, however malformed, declared as `application/json`.
pub fn post_json_text(path: &str, text: &str, source_ip: &str) -> Request {
    request("POST", path, &[("content-type", JSON)], text, source_ip)
}

/// A JSON POST from `source_ip`.
pub fn post_json(path: &str, body: &Value, source_ip: &str) -> Request {
    post_json_text(path, &body.to_string(), source_ip)
}

/// A form post (`a=b`): what a cross-site page can send without a CORS preflight.
pub fn form_post(path: &str, source_ip: &str) -> Request {
    request("POST", path, &[("content-type", FORM)], "a=b", source_ip)
}

/// How a test request proves who is calling.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    /// No credential at all.
    None,
    /// `Authorization: Bearer <credential>`.
    Bearer(&'a str),
    /// The `__Host-session` cookie, after another cookie, as a browser sends it.
    Cookie(&'a str),
}

impl Auth<'_> {
    /// The header that carries the credential, if there is one.
    pub fn header(self) -> Option<(&'static str, String)> {
        match self {
            Auth::None => None,
            Auth::Bearer(t) => Some(("authorization", format!("Bearer {t}"))),
            Auth::Cookie(t) => Some(("cookie", format!("theme=dark; __Host-session={t}"))),
        }
    }

    /// A POST from `ip` carrying this credential besides `headers`.
    pub fn post(self, path: &str, headers: &[(&str, &str)], body: &str, ip: &str) -> Request {
        let credential = self.header();
        let mut all: Vec<(&str, &str)> = credential.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(headers);
        request("POST", path, &all, body, ip)
    }

    /// A POST of `text`, however malformed, declared as `application/json`, carrying this
    /// credential.
    pub fn post_json(self, path: &str, text: &str, ip: &str) -> Request {
        self.post(path, &[("content-type", JSON)], text, ip)
    }

    /// A POST of `body` declared as `content_type`, or with no `Content-Type` at all when it
    /// is `None` (as `fetch` in `no-cors` mode and `sendBeacon` can send), carrying this
    /// credential.
    pub fn post_as(self, path: &str, content_type: Option<&str>, body: &str, ip: &str) -> Request {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("content-type", ct))
            .into_iter()
            .collect();
        self.post(path, &headers, body, ip)
    }
}
