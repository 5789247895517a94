//! Helpers the cross-flow tests share: each calls one function's handler as Lambda would.
//! (A module of the test files, not the crate's library, so that no normal build of the
//! workspace compiles the `testing` harness into anything.)

#![allow(dead_code)]

use serde_json::{Value, json};
use shared::testing::{Answer, Auth, TestApp, answer, post_json};

/// The client IP the cross-flow calls come from.
pub const IP: &str = "198.51.100.200";

/// `POST /v2/login` with this email and password.
pub async fn login(t: &TestApp, email: &str, password: &str) -> Answer {
    let body = json!({"loginId": {"email": email}, "password": password});
    let req = post_json("/v2/login", &body, IP);
    answer(login::handler::handle(&t.app, req, "req-test".into()).await)
}

/// `POST /v2/change-password` with `Authorization: Bearer <credential>` and this JSON body.
pub async fn change_password(t: &TestApp, credential: &str, body: &Value) -> Answer {
    let req = Auth::Bearer(credential).post_json("/v2/change-password", &body.to_string(), IP);
    answer(change_password::handler::handle(&t.app, req, "req-test".into()).await)
}

/// A form POST to the token function (`/oauth2/token` or `/oauth2/revoke`).
pub async fn token_form(t: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let req = shared::testing::request(
        "POST",
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        &body,
        IP,
    );
    answer(token::handler::handle(&t.app, req, "req-test".into()).await)
}

/// Token exchange of a session token: the answer carries access and refresh tokens.
pub async fn exchange(t: &TestApp, session_token: &str) -> Answer {
    token_form(
        t,
        "/oauth2/token",
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", session_token),
            ("subject_token_type", "urn:x-member-auth:token-type:session"),
        ],
    )
    .await
}

/// A refresh with this refresh token.
pub async fn refresh(t: &TestApp, refresh_token: &str) -> Answer {
    token_form(
        t,
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// The operator key every cross-flow admin app accepts (a test value).
pub const ADMIN_KEY: &str = "adk_cross-flow-test-key-0123456789abcdefghijklmnopqrstuvwx";

/// An app whose operators' routes accept `ADMIN_KEY`.
pub async fn admin_app() -> TestApp {
    let hash = shared::secret::sha256_hex(ADMIN_KEY.as_bytes());
    shared::testing::app_with(&[("ADMIN_API_KEY_HASHES", &hash)]).await
}

/// An operator's call (`/v2/admin/...`) with `ADMIN_KEY`.
pub async fn admin(t: &TestApp, method: &str, path: &str) -> Answer {
    let auth = format!("Bearer {ADMIN_KEY}");
    let req = shared::testing::request(method, path, &[("authorization", &auth)], "", IP);
    answer(admin::handler::handle(&t.app, req, "req-test".into()).await)
}

/// `GET /v2/sessions` with `Authorization: Bearer <credential>`.
pub async fn my_sessions(t: &TestApp, credential: &str) -> Answer {
    let auth = format!("Bearer {credential}");
    let req = shared::testing::request("GET", "/v2/sessions", &[("authorization", &auth)], "", IP);
    answer(sessions::handler::handle(&t.app, req, "req-test".into()).await)
}

/// `POST /v1/logout` (JSON) with `Authorization: Bearer <credential>`.
pub async fn logout_by_token(t: &TestApp, credential: &str) -> Answer {
    let req = Auth::Bearer(credential).post(
        "/v1/logout",
        &[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ],
        "{}",
        IP,
    );
    answer(logout::handler::handle(&t.app, req, "req-test".into()).await)
}
