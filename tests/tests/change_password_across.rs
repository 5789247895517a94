//! Change password, then login: the new password works at login and the old one stops
//! working, and a refused change leaves the old one working. The change-password tests that
//! need no other flow are in `functions/change-password/src/handler/tests/`.

mod common;

use common::{IP, change_password, login};
use serde_json::json;
use shared::member::Status;
use shared::session::SessionToken;
use shared::testing::{self, Answer, Auth, TestApp, answer};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase for ann";

/// A change-password request with this content type and raw body.
fn request(auth: Auth<'_>, content_type: Option<&str>, body: &str) -> lambda_http::Request {
    let headers: Vec<_> = content_type
        .map(|ct| ("content-type", ct))
        .into_iter()
        .collect();
    auth.post("/v2/change-password", &headers, body, IP)
}

async fn send(t: &TestApp, req: lambda_http::Request) -> Answer {
    answer(change_password::handler::handle(&t.app, req, "req-test".into()).await)
}

fn pair(field: &str, rule: &str) -> (String, String) {
    (field.to_owned(), rule.to_owned())
}

#[tokio::test]
async fn the_new_password_works_at_login_and_the_old_one_stops_working() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    t.app.clock.advance_secs(5);
    let a = change_password(
        &t,
        &token,
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json, json!({"revokedSessions": 0}));
    assert_eq!(a.header("cache-control"), Some("no-store"));

    assert_eq!(
        login(&t, "ann@example.com", PASSWORD).await.code(),
        "INVALID_CREDENTIALS"
    );
    let l = login(&t, "ann@example.com", NEW_PASSWORD).await;
    assert_eq!(l.status, 200, "{}", l.text);
    // The change advanced the member's revision and updatedDate.
    assert_eq!(l.json["identity"]["revision"], "2");
    assert_ne!(
        l.json["identity"]["updatedDate"],
        l.json["identity"]["createdDate"]
    );
    let stored = &t.items(&t.tables.members).await[0];
    let hash = stored["passwordHash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$") && Some(hash.as_str()) != m.password_hash.as_deref());
    assert!(!format!("{stored:?}").contains(NEW_PASSWORD));

    // The calling session still authenticates, for this function and for the store.
    assert!(t.authenticates(&token).await.is_some());
    let again = change_password(
        &t,
        &token,
        &json!({"currentPassword": NEW_PASSWORD, "newPassword": "yet another passphrase here"}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn a_wrong_current_password_is_401_and_changes_nothing() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let hashed = t.app.hasher.hash_time();
    let a = change_password(
        &t,
        &token,
        &json!({"currentPassword": "not my password at all", "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
    assert_eq!(t.app.hasher.verifications(), 1);
    assert_eq!(t.app.hasher.hash_time(), hashed, "no new hash is made");
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_current_password_is_required_once_the_session_is_older_than_the_reauth_window() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    // A fresh session may change the password without it.
    t.app.clock.advance_secs(599);
    let a = change_password(&t, &token, &json!({"newPassword": NEW_PASSWORD})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(t.app.hasher.verifications(), 0);
    // Ten minutes after login it may not; an empty currentPassword is none.
    t.app.clock.advance_secs(1);
    for body in [
        json!({"newPassword": "the second new passphrase"}),
        json!({"newPassword": "the second new passphrase", "currentPassword": ""}),
        json!({"newPassword": "the second new passphrase", "currentPassword": null}),
    ] {
        let a = change_password(&t, &token, &body).await;
        assert_eq!(a.status, 400, "{}", a.text);
        assert_eq!(
            a.violations(),
            [pair("currentPassword", "REQUIRED_FIELD_MISSING")]
        );
    }
    // Given, it is verified even when it would not be required.
    let a = change_password(
        &t,
        &token,
        &json!({"newPassword": "the second new passphrase", "currentPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let fresh = login(&t, "ann@example.com", "the second new passphrase").await;
    let fresh = fresh.json["sessionToken"].as_str().unwrap().to_owned();
    let a = change_password(
        &t,
        &fresh,
        &json!({"newPassword": "a third passphrase to try", "currentPassword": "a wrong guess here"}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn a_member_without_a_password_sets_one_without_a_current_password() {
    let t = testing::app().await;
    let m = t.member("sso@example.com", None, Status::Active).await;
    let token = t.session_token(&m).await;
    t.app.clock.advance_secs(86_400);
    let a = change_password(&t, &token, &json!({"newPassword": NEW_PASSWORD})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(login(&t, "sso@example.com", NEW_PASSWORD).await.status, 200);

    // A current password given for a member without one cannot match.
    let m = t.member("sso2@example.com", None, Status::Active).await;
    let token = t.session_token(&m).await;
    let a = change_password(
        &t,
        &token,
        &json!({"newPassword": NEW_PASSWORD, "currentPassword": "anything at all here"}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn no_session_an_expired_or_revoked_one_or_a_forged_token_is_401_unauthenticated() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let hashed = t.app.hasher.hash_time();
    let body = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}).to_string();
    let json_ct = Some("application/json");
    let expired = t.session_token(&m).await;
    let revoked = t.session_token(&m).await;
    let revoked_id = SessionToken::parse(&revoked)
        .unwrap()
        .session_id()
        .to_owned();
    t.app
        .sessions
        .revoke(&revoked_id, t.app.clock.now_ms())
        .await
        .unwrap();
    let (id, _) = token.split_once('.').unwrap();
    let wrong_secret = format!("{id}.{}", "A".repeat(43));
    let unknown = format!("st_{}.{}", "b".repeat(22), "A".repeat(43));

    let a = send(&t, request(Auth::None, json_ct, &body)).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    assert!(a.header("set-cookie").is_none());
    for bad in [
        revoked.as_str(),
        wrong_secret.as_str(),
        unknown.as_str(),
        "st_",
        "not-a-token",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ] {
        for auth in [Auth::Bearer(bad), Auth::Cookie(bad)] {
            let a = send(&t, request(auth, json_ct, &body)).await;
            assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{bad}");
        }
    }
    // Thirty days on, the session has expired (checked in code, whatever DynamoDB TTL did).
    t.app.clock.advance_secs(t.app.config.session_ttl_seconds);
    let a = send(&t, request(Auth::Bearer(&expired), json_ct, &body)).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(t.app.hasher.hash_time(), hashed);
    assert!(
        t.items(&t.tables.counters).await.is_empty(),
        "no attempt was counted"
    );
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_cookie_authenticated_change_must_declare_json() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let body = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}).to_string();
    // What a cross-site form or a no-preflight fetch could send with the member's cookie.
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let a = send(&t, request(Auth::Cookie(&token), ct, &body)).await;
        assert_eq!(
            (a.status, a.code()),
            (415, "UNSUPPORTED_MEDIA_TYPE"),
            "{ct:?}"
        );
    }
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
    let a = send(
        &t,
        request(
            Auth::Cookie(&token),
            Some("application/json; charset=utf-8"),
            &body,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // Every JSON POST declares its type (DESIGN §3), bearer-authenticated ones too: without
    // it, 415 and the password stays as it was.
    let a = send(
        &t,
        request(
            Auth::Bearer(&token),
            None,
            &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}).to_string(),
        ),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        "{}",
        a.text
    );
    assert_eq!(
        common::login(&t, "ann@example.com", NEW_PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_access_token_of_a_live_session_authenticates() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let session_id = SessionToken::parse(&token).unwrap().session_id().to_owned();
    let session = t.app.sessions.get(&session_id).await.unwrap().unwrap();
    let access = t.access_token(&session);
    let a = change_password(
        &t,
        &access,
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(login(&t, "ann@example.com", NEW_PASSWORD).await.status, 200);

    // A tampered token, or one whose session has since been revoked, is refused.
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let other = t.session_token(&m).await;
    let other_id = SessionToken::parse(&other).unwrap().session_id().to_owned();
    let other_access = t.access_token(&t.app.sessions.get(&other_id).await.unwrap().unwrap());
    t.app
        .sessions
        .revoke(&other_id, t.app.clock.now_ms())
        .await
        .unwrap();
    for bad in [tampered.as_str(), other_access.as_str()] {
        let a = change_password(
            &t,
            bad,
            &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}),
        )
        .await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    }
}

/// Which bodies are refused, and how, is tested in `functions/change-password`; here, that the
/// refusals leave the old password working at login.
#[tokio::test]
async fn refused_bodies_leave_the_old_password_working() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    for body in [
        json!({"currentPassword": PASSWORD}),
        json!({"currentPassword": PASSWORD, "newPassword": testing::emoji_password(129)}),
        json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": "yes"}),
    ] {
        let a = change_password(&t, &token, &body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
    }
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn of_two_concurrent_changes_exactly_one_wins() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let other = t.session_token(&m).await;
    let first = json!({"currentPassword": PASSWORD, "newPassword": "first concurrent passphrase"});
    let second =
        json!({"currentPassword": PASSWORD, "newPassword": "second concurrent passphrase"});
    let (a, b) = tokio::join!(
        change_password(&t, &mine, &first),
        change_password(&t, &other, &second),
    );
    let statuses = [a.status, b.status];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    let loser = if a.status == 200 { &b } else { &a };
    // It lost at the conditional write (409), or read the winner's hash already (401).
    assert!(
        [
            (409, "CONCURRENT_MODIFICATION"),
            (401, "INVALID_CREDENTIALS")
        ]
        .contains(&(loser.status, loser.code())),
        "{}",
        loser.text
    );
    let winner = if a.status == 200 {
        "first concurrent passphrase"
    } else {
        "second concurrent passphrase"
    };
    let loser_pw = if a.status == 200 {
        "second concurrent passphrase"
    } else {
        "first concurrent passphrase"
    };
    assert_eq!(login(&t, "ann@example.com", winner).await.status, 200);
    assert_eq!(login(&t, "ann@example.com", loser_pw).await.status, 401);
    assert_eq!(
        t.items(&t.tables.members).await[0]["revision"]
            .as_n()
            .unwrap(),
        "2"
    );
}
