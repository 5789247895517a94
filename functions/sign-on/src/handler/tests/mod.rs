//! Sign-on against DynamoDB Local, through the handler as Lambda calls it.

use lambda_http::Request;
use serde_json::{Value, json};
use shared::member::Member;
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, Auth, TestApp, answer};

mod callers;
mod logs;
mod members;
mod round_trips;
mod statuses;
mod validation;

const KEY: &str = "sok_test-only-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
const IP: &str = "192.0.2.44";
const PASSWORD: &str = "correct horse battery staple";
const ROLE: &str = "arn:aws:iam::123456789012:role/idp-bridge";
const ROLE_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/idp-bridge/job-1";

fn key_hash() -> String {
    sha256_hex(KEY.as_bytes())
}

/// An app that accepts `KEY`, with more configuration if given.
async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let hash = key_hash();
    let mut all = vec![("SIGN_ON_API_KEY_HASHES", hash.as_str())];
    all.extend_from_slice(vars);
    testing::app_with(&all).await
}

async fn app() -> TestApp {
    app_with(&[]).await
}

/// A JSON sign-on request of this raw body, with `key` as its bearer credential if given.
fn with_key(body: &str, key: Option<&str>) -> Request {
    let auth = key.map_or(Auth::None, Auth::Bearer);
    auth.post_json("/v2/sign-on", body, IP)
}

/// The event API Gateway delivers when the route's IAM authorizer verified `arn`.
fn with_iam(body: &Value, arn: &str, extra_headers: Value) -> Request {
    let mut headers = json!({"content-type": "application/json"});
    for (k, v) in extra_headers.as_object().unwrap() {
        headers[k] = v.clone();
    }
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /v2/sign-on",
        "rawPath": "/v2/sign-on",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "authorizer": {"iam": {
                "accessKey": "ASIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:job-1",
                "principalOrgId": null,
                "userArn": arn,
                "userId": "AROAEXAMPLE:job-1"
            }},
            "domainName": "auth.example.com",
            "http": {"method": "POST", "path": "/v2/sign-on", "protocol": "HTTP/1.1",
                     "sourceIp": IP, "userAgent": "backend"},
            "requestId": "req",
            "routeKey": "POST /v2/sign-on",
            "stage": "$default",
            "time": "28/Nov/2026:01:00:00 +0000",
            "timeEpoch": 1795827600000u64
        },
        "isBase64Encoded": false,
        "body": body.to_string()
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API v2 event")
}

async fn call(t: &TestApp, req: Request) -> Answer {
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn sign_on(t: &TestApp, body: &Value) -> Answer {
    call(t, with_key(&body.to_string(), Some(KEY))).await
}

fn body(email: &str) -> Value {
    json!({"loginId": {"email": email}})
}

async fn stored(t: &TestApp, email_key: &str) -> Option<Member> {
    t.app.members.get(email_key).await.unwrap()
}

/// The status of a sign-on answer and whether the sign-on created the member.
fn outcome(a: &Answer) -> (u16, Option<bool>) {
    (a.status, a.json["created"].as_bool())
}

/// The member whose session a token opens, as any authenticated endpoint sees it.
async fn authenticated_member(t: &TestApp, token: &str) -> Option<String> {
    t.authenticates(token).await.map(|s| s.session.member_id)
}
