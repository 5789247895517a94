//! Logout benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For each kind of logout it reports the handler's wall time, the time spent waiting on
//! DynamoDB, the DynamoDB requests and sequential round trips (recorded by the SDK
//! interceptor), and what is left: the service's own compute per logout.

use shared::member::Status;
use shared::testing::stats::{measure, report};
use shared::testing::{self, request};

const RUNS: usize = 200;
const ALLOWED: &str = "https://app.example.com/signed-out";

#[tokio::main]
async fn main() {
    let t = testing::app_with(&[("LOGOUT_REDIRECT_ALLOWLIST", ALLOWED)]).await;
    let member = t.member("bench@example.com", None, Status::Active).await;
    let mut tokens = vec![];
    let mut access_tokens = vec![];
    for i in 0..RUNS * 3 {
        let s = t
            .app
            .sessions
            .create(&member, t.app.clock.now_ms(), 3600)
            .await
            .expect("session stored");
        if i >= RUNS * 2 {
            access_tokens.push(t.access_token(&s.session));
        }
        tokens.push(s.token);
    }
    t.app.requests.take();
    let redirect = format!(
        "/v1/logout?postLogoutRedirectUri={}",
        url::form_urlencoded::byte_serialize(ALLOWED.as_bytes()).collect::<String>()
    );
    let scenarios: [(&str, usize); 6] = [
        ("cookie, live session", 0),
        ("bearer + redirect", 1),
        ("access token (EdDSA)", 4),
        ("again (already ended)", 0),
        ("unknown session", 2),
        ("no credential", 3),
    ];
    for (name, kind) in scenarios {
        let mut samples = vec![];
        for i in 0..RUNS {
            let req = match kind {
                0 => request(
                    "GET",
                    "/v1/logout",
                    &[("cookie", &format!("__Host-session={}", tokens[i]))],
                    "",
                    "10.0.0.1",
                ),
                1 => request(
                    "POST",
                    &redirect,
                    &[
                        ("authorization", &format!("Bearer {}", tokens[RUNS + i])),
                        ("accept", "application/json"),
                        ("content-type", "application/json"),
                    ],
                    "{}",
                    "10.0.0.1",
                ),
                2 => request(
                    "GET",
                    "/v1/logout",
                    &[(
                        "cookie",
                        &format!("__Host-session=st_unknown{i}.{}", "s".repeat(43)),
                    )],
                    "",
                    "10.0.0.1",
                ),
                4 => request(
                    "POST",
                    "/v1/logout",
                    &[
                        ("authorization", &format!("Bearer {}", access_tokens[i])),
                        ("accept", "application/json"),
                    ],
                    "",
                    "10.0.0.1",
                ),
                _ => request("GET", "/v1/logout", &[], "", "10.0.0.1"),
            };
            let (resp, sample) =
                measure(&t.app, logout::handler::respond(&t.app, &req, "bench")).await;
            assert!(resp.status().as_u16() < 400, "{name}: {}", resp.status());
            samples.push(sample);
        }
        report("logout", name, &samples);
    }
}
