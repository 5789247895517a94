//! The admin function against DynamoDB Local, through the handler as Lambda calls it. This
//! module holds the calls and constants the tests share. What an operator's action does to the
//! other flows (a blocked member's refresh, exchange, change password and logout; an erased
//! email registering again; a block racing a refresh) is in `tests/tests/admin_across.rs`.

use lambda_http::Request;
use serde_json::json;
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, TestApp, answer, request};

mod callers;
mod delete;
mod lookups;
mod refusals;
mod sessions;
mod status;

const KEY: &str = "adk_test-only-operator-key-0123456789abcdefghijklmnopqrstu";
const IP: &str = "192.0.2.80";
const PASSWORD: &str = "correct horse battery staple";
const ROLE: &str = "arn:aws:iam::123456789012:role/operators";
const ROLE_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/operators/alice";
const MEMBERS: &str = "/v2/admin/members";

/// An app that accepts `KEY` as an operator key, with more configuration if given.
async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let hash = sha256_hex(KEY.as_bytes());
    let mut all = vec![("ADMIN_API_KEY_HASHES", hash.as_str())];
    all.extend_from_slice(vars);
    testing::app_with(&all).await
}

async fn app() -> TestApp {
    app_with(&[]).await
}

/// The handler's answer, leaving the app's request log to the test.
async fn send(t: &TestApp, req: Request) -> Answer {
    let ip = shared::http::client_ip(&req);
    answer(shared::http::respond(
        super::admin(&t.app, &req, &ip).await,
        "req-test",
    ))
}

/// `method path` with `Authorization: Bearer <key>` (when given) and a JSON body (when not
/// empty).
fn with_key(method: &str, path: &str, body: &str, key: Option<&str>) -> Request {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    request(method, path, &headers, body, IP)
}

/// A call with the operator key.
async fn call(t: &TestApp, method: &str, path: &str, body: &str) -> Answer {
    send(t, with_key(method, path, body, Some(KEY))).await
}

/// The event API Gateway delivers when the route's IAM authorizer verified `arn`.
fn with_iam(method: &str, path: &str, arn: &str) -> Request {
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "authorizer": {"iam": {
                "accessKey": "ASIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:alice",
                "principalOrgId": null,
                "userArn": arn,
                "userId": "AROAEXAMPLE:alice"
            }},
            "domainName": "auth.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": IP, "userAgent": "aws-cli/2"},
            "requestId": "req",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "28/Nov/2026:01:00:00 +0000",
            "timeEpoch": 1795827600000u64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API v2 event")
}

fn member_path(id: &str, tail: &str) -> String {
    format!("{MEMBERS}/{id}{tail}")
}

/// The identity's status name in an answer.
fn status_of(a: &Answer) -> &str {
    a.json["identity"]["status"]["name"].as_str().unwrap_or("")
}

/// Every route, with a well-shaped member id, as (method, path, body).
fn every_route(id: &str) -> Vec<(&'static str, String, String)> {
    let revoke = json!({"allOthers": true}).to_string();
    vec![
        (
            "GET",
            format!("{MEMBERS}?email=ann%40example.com"),
            String::new(),
        ),
        ("GET", member_path(id, ""), String::new()),
        ("POST", member_path(id, "/block"), String::new()),
        ("POST", member_path(id, "/unblock"), String::new()),
        ("GET", member_path(id, "/sessions"), String::new()),
        ("POST", member_path(id, "/sessions/revoke"), revoke),
        ("DELETE", member_path(id, ""), String::new()),
    ]
}
