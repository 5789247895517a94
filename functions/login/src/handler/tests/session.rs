//! What a right password gets: a session for an ACTIVE member, a state for a PENDING one, a
//! refusal for a BLOCKED one; and the DynamoDB round trips a login takes.

use base64::Engine;
use shared::member::Status;
use shared::testing::{self, post_json};

use super::{IP, PASSWORD, body, login};

#[tokio::test]
async fn a_member_with_the_right_password_gets_a_session_token_and_cookie() {
    let t = testing::app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let a = login(&t, &body("Ann@Example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
    assert_eq!(a.json["identity"]["id"], m.member_id.as_str());
    assert_eq!(a.json["identity"]["email"]["address"], "ann@example.com");
    assert_eq!(a.json["identity"]["status"]["name"], "ACTIVE");
    assert_eq!(a.header("cache-control"), Some("no-store"));

    let token = a.json["sessionToken"].as_str().unwrap();
    let secret = testing::session_secret(token);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap();
    assert!(
        bytes.len() * 8 >= 256,
        "token secret has {} bits",
        bytes.len() * 8
    );

    testing::assert_session_cookie(&a, token);

    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1);
    let stored = format!("{:?}", sessions[0]);
    assert!(
        !stored.contains(secret) && !stored.contains(token),
        "the session item holds the token"
    );
    let hash = sessions[0]["tokenHash"].as_s().unwrap();
    assert_eq!(hash, &shared::secret::sha256_hex(secret.as_bytes()));
    // The token opens its session.
    let signed_in = t
        .authenticates(token)
        .await
        .expect("the token opens a session");
    assert_eq!(signed_in.session.member_id, m.member_id);
}

#[tokio::test]
async fn a_login_takes_two_round_trips_on_success_and_one_on_failure() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let req = post_json(
        "/v2/login",
        &body("ann@example.com", "wrong password here"),
        IP,
    );
    assert!(crate::handler::login(&t.app, &req, IP).await.is_err());
    // Stage 1: the email's counter, its verification ceiling, the IP's counter, the member.
    t.assert_traffic(4, 1, "failure");
    let req = post_json("/v2/login", &body("ann@example.com", PASSWORD), IP);
    assert!(crate::handler::login(&t.app, &req, IP).await.is_ok());
    // Stage 2 beside it: the session, the member's session list (the cap), the counter reset
    // and the IP refund.
    t.assert_traffic(8, 2, "success");
}

#[tokio::test]
async fn pending_members_are_told_what_is_missing_and_get_no_session() {
    let t = testing::app().await;
    t.member("new@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let mut verified = t
        .member("vip@example.com", Some(PASSWORD), Status::Pending)
        .await;
    verified.email_verified = true;
    t.put_member(&verified).await;
    let a = login(&t, &body("new@example.com", PASSWORD)).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("REQUIRE_EMAIL_VERIFICATION"))
    );
    assert!(a.json.get("sessionToken").is_none() && a.header("set-cookie").is_none());
    let a = login(&t, &body("vip@example.com", PASSWORD)).await;
    assert_eq!(a.json["state"], "REQUIRE_OWNER_APPROVAL");
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_blocked_member_is_refused_only_once_the_password_is_right() {
    let t = testing::app().await;
    t.member("bad@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let a = login(&t, &body("bad@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
    let a = login(&t, &body("bad@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_member_holds_at_most_max_sessions_per_member_and_the_oldest_go_first() {
    let t = testing::app_with(&[("MAX_SESSIONS_PER_MEMBER", "3")]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let mut tokens = vec![];
    for _ in 0..5 {
        let a = login(&t, &body("ann@example.com", PASSWORD)).await;
        assert_eq!(a.status, 200, "{}", a.text);
        tokens.push(a.json["sessionToken"].as_str().unwrap().to_owned());
        t.app.clock.advance_secs(1);
    }
    let mut live = vec![];
    for token in &tokens {
        live.push(t.authenticates(token).await.is_some());
    }
    assert_eq!(live, [false, false, true, true, true]);
}

#[tokio::test]
async fn an_unverified_member_with_the_right_password_gets_a_new_state_token_and_code() {
    let t = testing::mail_app(&[]).await;
    let email = testing::unique_email("unverified");
    t.member(&email, Some(PASSWORD), Status::Pending).await;
    let a = login(&t, &body(&email, PASSWORD)).await;
    assert_eq!(a.json["state"], "REQUIRE_EMAIL_VERIFICATION", "{}", a.text);
    assert!(a.json["stateToken"].as_str().unwrap().starts_with("vs_"));
    assert!(a.json["sessionToken"].is_null());
    let again = login(&t, &body(&email, PASSWORD)).await;
    assert_ne!(again.json["stateToken"], a.json["stateToken"]);
    let inbox = t.inbox(&email).await;
    assert_eq!(inbox.len(), 2);
    assert!(inbox.iter().all(|m| m.code().is_some()));
    // A wrong password tells nothing of the state.
    let wrong = login(&t, &body(&email, "wrong password here")).await;
    assert_eq!(wrong.code(), "INVALID_CREDENTIALS");
    assert_eq!(t.inbox(&email).await.len(), 2);
}
