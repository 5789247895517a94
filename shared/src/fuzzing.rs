//! What the parser fuzzers (`fuzz/`) and property tests (`tests/parsers`) drive the edge with
//! (issue 16): a request built from arbitrary bytes as API Gateway could hand it over, and a
//! fixed key ring to mint and verify access tokens with. Feature `fuzzing`, never in a
//! production binary; every parser it reaches is the production one, called as a handler calls
//! it.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerIamDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::http::{HeaderName, HeaderValue, Method, Uri};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

use crate::token::{TokenConfig, Tokens};

/// What a fuzzed request is made of; every part may be anything.
#[derive(Clone, Debug, Default)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// Path and query (`/v1/logout?postLogoutRedirectUri=...`).
    pub uri: &'a str,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
    /// `requestContext.http.sourceIp`, when API Gateway would set one.
    pub source_ip: Option<&'a str>,
    /// The IAM principal an IAM authorizer verified, when the route has one.
    pub iam_arn: Option<&'a str>,
    /// The API Gateway stage (`$default` on the service's HTTP API).
    pub stage: Option<&'a str>,
}

/// The request a function would receive. Parts API Gateway could never hand over (a header
/// name or value `http` refuses, a method that is no token, a URI that does not parse) are
/// left out or replaced by defaults, as the gateway would refuse such requests itself. A body
/// that is UTF-8 arrives as text, any other as binary (base64-decoded by the runtime).
pub fn request(raw: &RawRequest<'_>) -> Request {
    let body = if raw.body.is_empty() {
        Body::Empty
    } else {
        match std::str::from_utf8(raw.body) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(_) => Body::Binary(raw.body.to_vec()),
        }
    };
    let mut req = Request::new(body);
    *req.method_mut() = Method::from_bytes(raw.method.as_bytes()).unwrap_or(Method::POST);
    *req.uri_mut() = raw
        .uri
        .parse::<Uri>()
        .unwrap_or_else(|_| Uri::from_static("/"));
    for (name, value) in raw.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            req.headers_mut().append(name, value);
        }
    }
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http.method = req.method().clone();
    ctx.http.path = Some(req.uri().path().to_owned());
    ctx.http.source_ip = raw.source_ip.map(str::to_owned);
    ctx.stage = raw.stage.map(str::to_owned);
    if let Some(arn) = raw.iam_arn {
        let mut iam = ApiGatewayRequestAuthorizerIamDescription::default();
        iam.user_arn = Some(arn.to_owned());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.iam = Some(iam);
        ctx.authorizer = Some(authorizer);
    }
    req.with_request_context(RequestContext::ApiGatewayV2(ctx))
}

/// A JSON request: `content_type` (e.g. `application/json`, or none), `body` as it is.
pub fn with_body(content_type: Option<&str>, body: &[u8]) -> Request {
    let headers: Vec<(&str, &[u8])> = content_type
        .map(|ct| ("content-type", ct.as_bytes()))
        .into_iter()
        .collect();
    request(&RawRequest {
        method: "POST",
        uri: "/",
        headers: &headers,
        body,
        source_ip: Some("192.0.2.1"),
        ..RawRequest::default()
    })
}

/// The issuer and audience of [`tokens`].
pub const ISSUER: &str = "https://auth.fuzz.example";
pub const AUDIENCE: &str = "fuzz-audience";

/// A key ring of one fixed Ed25519 key (and a second, verifying only), with the default token
/// settings: the same `Tokens` a function builds at init, deterministic so a fuzzer's finding
/// replays.
pub fn tokens() -> Tokens {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let signing = SigningKey::from_bytes(&[7; 32]);
    let older = SigningKey::from_bytes(&[9; 32]).verifying_key();
    let block =
        |tag: &str, der: Option<Vec<u8>>| pem::encode(&pem::Pem::new(tag, der.unwrap_or_default()));
    let pem = [
        block(
            "PRIVATE KEY",
            signing.to_pkcs8_der().ok().map(|d| d.as_bytes().to_vec()),
        ),
        block(
            "PUBLIC KEY",
            older
                .to_public_key_der()
                .ok()
                .map(|d| d.as_bytes().to_vec()),
        ),
    ]
    .join("");
    let vars: std::collections::HashMap<String, String> =
        [("ISSUER", ISSUER), ("AUDIENCE", AUDIENCE)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let config = TokenConfig::from_source(&vars).expect("fixed token settings are valid");
    Tokens::new(config, &pem, "SIGNING_KEY").expect("a fixed Ed25519 key ring is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_keeps_every_part_http_allows_and_drops_the_rest() {
        let headers: &[(&str, &[u8])] = &[
            ("content-type", b"application/json"),
            ("bad name", b"x"),
            ("cookie", b"a=\n"),
            ("authorization", b"Bearer abc"),
        ];
        let req = request(&RawRequest {
            method: "GET",
            uri: "/v1/logout?x=1",
            headers,
            body: b"\xff",
            source_ip: Some("198.51.100.7"),
            iam_arn: Some("arn:aws:iam::1:user/a"),
            stage: None,
        });
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().query(), Some("x=1"));
        assert_eq!(req.headers().len(), 2);
        assert_eq!(crate::http::body_bytes(&req), b"\xff");
        assert_eq!(crate::http::client_ip(&req), "198.51.100.7");
        assert_eq!(crate::http::bearer(&req).as_deref(), Some("abc"));
    }

    #[test]
    fn the_fixed_key_ring_mints_tokens_it_verifies() {
        let tokens = tokens();
        let now = 1_700_000_000_000;
        let t = tokens
            .mint_access("m1", "s1", now + 3_600_000, None, now)
            .unwrap();
        assert_eq!(tokens.verify_access(&t.token, now).unwrap(), t.claims);
        assert_eq!(tokens.keys.verifying_kids().count(), 2);
    }
}
