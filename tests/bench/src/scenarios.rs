//! What each function is given to do while it is timed: one real request of its flow against
//! the local tables (API Gateway v2 events, as on AWS), and what it must answer. Members and
//! sessions a scenario needs are made first through the functions themselves.

use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";
/// The development sign-on key of dev.env and the README.
const SIGN_ON_KEY: &str = "sok_dev-only-key-for-local-development-never-deploy";
/// The development admin key of dev.env and the README.
const ADMIN_KEY: &str = "adk_dev-only-key-for-local-development-never-deploy";

/// An API Gateway HTTP API (payload 2.0) event.
pub fn http(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
    ip: &str,
) -> String {
    let mut h = serde_json::Map::new();
    h.insert("host".into(), "auth.example.com".into());
    h.insert("user-agent".into(), "Mozilla/5.0 (cold-start bench)".into());
    h.insert("x-forwarded-proto".into(), "https".into());
    if body.is_some() {
        h.insert("content-type".into(), "application/json".into());
    }
    for (k, v) in headers {
        h.insert((*k).into(), (*v).into());
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "auth.example.com",
            "domainPrefix": "auth",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip,
                     "userAgent": "Mozilla/5.0 (cold-start bench)"},
            "requestId": "cold-start",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1796083200000u64
        },
        "isBase64Encoded": false,
        "body": body.map(|b| b.to_string()),
    })
    .to_string()
}

pub fn register(email: &str, password: &str, ip: &str) -> String {
    http(
        "POST",
        "/v2/register",
        &[],
        Some(&json!({"loginId": {"email": email}, "password": password})),
        ip,
    )
}

pub fn login(email: &str, password: &str) -> String {
    http(
        "POST",
        "/v2/login",
        &[],
        Some(&json!({"loginId": {"email": email}, "password": password})),
        "198.51.100.7",
    )
}

pub fn sign_on(email: &str, first_name: &str) -> String {
    let bearer = format!("Bearer {SIGN_ON_KEY}");
    http(
        "POST",
        "/v2/sign-on",
        &[("authorization", &bearer)],
        Some(&json!({"loginId": {"email": email}, "profile": {"firstName": first_name}})),
        "203.0.113.5",
    )
}

pub fn jwks() -> String {
    http("GET", "/.well-known/jwks.json", &[], None, "198.51.100.8")
}

pub fn change_password(session_token: &str, current: &str, new: &str, ip: &str) -> String {
    let bearer = format!("Bearer {session_token}");
    http(
        "POST",
        "/v2/change-password",
        &[("authorization", &bearer)],
        Some(&json!({"currentPassword": current, "newPassword": new})),
        ip,
    )
}

pub fn logout(session_token: &str) -> String {
    let bearer = format!("Bearer {session_token}");
    http(
        "POST",
        "/v1/logout",
        &[("authorization", &bearer)],
        Some(&json!({})),
        "198.51.100.10",
    )
}

/// A member's own device list.
pub fn sessions(session_token: &str) -> String {
    let bearer = format!("Bearer {session_token}");
    http(
        "GET",
        "/v2/sessions",
        &[("authorization", &bearer)],
        None,
        "198.51.100.11",
    )
}

/// An operator's lookup of a member by email.
pub fn admin_find(email: &str) -> String {
    let bearer = format!("Bearer {ADMIN_KEY}");
    let mut event: Value = serde_json::from_str(&http(
        "GET",
        "/v2/admin/members",
        &[("authorization", &bearer)],
        None,
        "203.0.113.9",
    ))
    .unwrap_or_default();
    let query = format!("email={}", email.replace('@', "%40"));
    event["rawQueryString"] = query.into();
    event["queryStringParameters"] = json!({ "email": email });
    event.to_string()
}

/// A recovery link asked for: an email with no member does the same DynamoDB work as a
/// member's (DESIGN 3.9) and leaves the per-email limit alone; `ip` varies under the per-IP one.
pub fn recovery_send_email(email: &str, ip: &str) -> String {
    http(
        "POST",
        "/v2/recovery/send-email",
        &[],
        Some(&json!({ "email": email })),
        ip,
    )
}

/// A code checked against a well-formed stateToken that names no state: the lookup a guess
/// costs, answered 400 `INVALID_STATE_TOKEN`.
pub fn verify_unknown_state(n: usize) -> String {
    http(
        "POST",
        "/v2/verify",
        &[],
        Some(&json!({ "stateToken": format!("vs_cold{n}.bench-secret-{n}"), "code": "123456" })),
        "198.51.100.12",
    )
}

pub fn scheduled() -> String {
    json!({
        "version": "0",
        "id": "cold-start",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/cold-start"],
        "detail": {}
    })
    .to_string()
}

/// The n-th password of a member whose password the bench changes over and over.
pub fn rolling_password(n: usize) -> String {
    format!("violet tangerine hippo parade {n}")
}

/// An HTTP function's answer: its status and its body as JSON (when it is JSON).
pub fn answer(raw: &str) -> (u16, Value) {
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let status = v["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = v["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}
