//! A function's response as a test reads it, and the checks several flows make of one.

use lambda_http::{Body, Response};
use serde_json::Value;

/// A response's status, headers and JSON body (`Null` when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// Every (field, violatedRule) of a validationError, in order; empty for any other body.
    pub fn violations(&self) -> Vec<(String, String)> {
        self.json["details"]["validationError"]["fieldViolations"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .map(|v| {
                        (
                            v["field"].as_str().unwrap_or("").to_owned(),
                            v["violatedRule"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The applicationError code, or the first violated rule of a validationError.
    pub fn code(&self) -> &str {
        self.json["details"]["applicationError"]["code"]
            .as_str()
            .or_else(|| {
                self.json["details"]["validationError"]["fieldViolations"][0]["violatedRule"]
                    .as_str()
            })
            .unwrap_or("")
    }
}

pub fn answer(resp: Response<Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// Asserts the answer to a dependency that did not answer (DynamoDB, the CAPTCHA provider):
/// 503 `SERVICE_UNAVAILABLE` with `Retry-After: 2`, naming neither the address that failed nor
/// the SDK's error.
pub fn assert_unavailable(a: &Answer) {
    assert_eq!(
        (a.status, a.code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        a.text
    );
    assert_eq!(a.header("retry-after"), Some("2"));
    assert!(
        !a.text.contains("127.0.0.1") && !a.text.contains("dispatch"),
        "the answer tells what failed: {}",
        a.text
    );
}

/// Asserts that the answer sets the session cookie to `token`: a `__Host-` cookie, Secure,
/// HttpOnly, SameSite=Lax, for the whole site and the default thirty days.
pub fn assert_session_cookie(a: &Answer, token: &str) {
    let cookie = a.header("set-cookie").expect("a session cookie is set");
    assert!(
        cookie.starts_with(&format!("__Host-session={token};")),
        "{cookie}"
    );
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(
            cookie.split("; ").any(|p| p == attr),
            "{cookie} lacks {attr}"
        );
    }
}

/// Asserts that `identity` (an answer's `identity`) is a member created just now: ACTIVE, at
/// revision 1, with this email address, verified or not.
pub fn assert_new_active_identity(identity: &Value, address: &str, verified: bool) {
    assert_eq!(identity["email"]["address"], address);
    assert_eq!(identity["email"]["isVerified"], verified);
    assert_eq!(identity["status"]["name"], "ACTIVE");
    assert_eq!(identity["revision"], "1");
}

/// The secret half of a session token (`st_<id>.<secret>`): what must never be logged or
/// stored.
pub fn session_secret(token: &str) -> &str {
    token
        .split_once('.')
        .expect("a session token has an id and a secret")
        .1
}
