//! The sessions function against DynamoDB Local, through the handler as Lambda calls it. This
//! module holds the calls and constants the tests share. Tests that cross into other functions
//! (the token endpoint refusing a revoked session, login recording the device) are in the
//! workspace's `tests/tests/sessions_across.rs`.

use serde_json::Value;
use shared::session::Device;
use shared::testing::{Answer, Auth, TestApp, answer, request};

mod listing;
mod refusals;
mod revoke;

const IP: &str = "203.0.113.21";
const PASSWORD: &str = "correct horse battery staple";

/// A device as login would record it.
fn device(ip: &str, agent: &str) -> Device {
    Device {
        client_ip: Some(ip.to_owned()),
        user_agent: Some(agent.to_owned()),
    }
}

/// The handler's answer, as `handle` gives it but leaving the app's request log to the test
/// (`handle` takes it for its traffic line).
async fn send(t: &TestApp, req: lambda_http::Request) -> Answer {
    let ip = shared::http::client_ip(&req);
    answer(shared::http::respond(
        super::route(&t.app, &req, &ip).await,
        "req-test",
    ))
}

/// `GET /v2/sessions` with this credential.
async fn list(t: &TestApp, auth: Auth<'_>) -> Answer {
    let header = auth.header();
    let headers: Vec<(&str, &str)> = header.iter().map(|(k, v)| (*k, v.as_str())).collect();
    send(t, request("GET", "/v2/sessions", &headers, "", IP)).await
}

/// `POST /v2/sessions/revoke` of this JSON body with this credential.
async fn revoke(t: &TestApp, auth: Auth<'_>, body: &Value) -> Answer {
    send(
        t,
        auth.post_json("/v2/sessions/revoke", &body.to_string(), IP),
    )
    .await
}

/// The ids an answer lists, in order.
fn ids(a: &Answer) -> Vec<String> {
    a.json["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no list: {}", a.text))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The session id of a session token.
fn id_of(token: &str) -> String {
    token
        .strip_prefix("st_")
        .unwrap()
        .split_once('.')
        .unwrap()
        .0
        .to_owned()
}
