//! Logout, then the flows that take a session's credentials: the token endpoint and change
//! password refuse every credential of the ended session. The logout tests that need no other
//! flow are in `functions/logout/src/handler/tests/`.

mod common;

use common::{IP, change_password, exchange, refresh};
use serde_json::json;
use shared::member::Status;
use shared::testing::{self, Answer, TestApp, answer};

const NEW_PASSWORD: &str = "a brand new passphrase for ann";

/// `GET /v1/logout` with the session cookie.
async fn logout_by_cookie(t: &TestApp, session_token: &str) -> Answer {
    let cookie = format!("__Host-session={session_token}");
    let req = testing::request("GET", "/v1/logout", &[("cookie", &cookie)], "", IP);
    answer(logout::handler::handle(&t.app, req, "req-test".into()).await)
}

/// `POST /v2/change-password` authenticated by the session cookie alone.
async fn change_password_by_cookie(t: &TestApp, session_token: &str) -> Answer {
    let cookie = format!("__Host-session={session_token}");
    let req = testing::request(
        "POST",
        "/v2/change-password",
        &[("cookie", &cookie), ("content-type", "application/json")],
        &json!({"newPassword": NEW_PASSWORD}).to_string(),
        IP,
    );
    answer(change_password::handler::handle(&t.app, req, "req-test".into()).await)
}

#[tokio::test]
async fn after_logout_the_token_endpoint_and_change_password_refuse_every_credential_of_it() {
    let t = testing::app().await;
    let m = t
        .member("logout-across@example.com", None, Status::Active)
        .await;
    let session_token = t.session_token(&m).await;

    // Before: an exchange, then a refresh, so the session has a rotated and a current token.
    let granted = exchange(&t, &session_token).await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    let access = granted.json["access_token"].as_str().unwrap().to_owned();
    let rotated = granted.json["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = refresh(&t, &rotated).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let current = refreshed.json["refresh_token"].as_str().unwrap().to_owned();

    let a = logout_by_cookie(&t, &session_token).await;
    assert_eq!(a.status, 200);

    let a = exchange(&t, &session_token).await;
    assert_eq!((a.status, &a.json["error"]), (400, &json!("invalid_grant")));
    for rt in [&current, &rotated] {
        let a = refresh(&t, rt).await;
        assert_eq!(
            (a.status, &a.json["error"]),
            (400, &json!("invalid_grant")),
            "{}",
            a.text
        );
    }
    let body = json!({"newPassword": NEW_PASSWORD});
    for (name, a) in [
        (
            "bearer session token",
            change_password(&t, &session_token, &body).await,
        ),
        (
            "session cookie",
            change_password_by_cookie(&t, &session_token).await,
        ),
        (
            "bearer access token",
            change_password(&t, &access, &body).await,
        ),
    ] {
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{name}");
    }
}
