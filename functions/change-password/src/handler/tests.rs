//! Change password against DynamoDB Local, through the handler as Lambda calls it.

use serde_json::{Value, json};
use shared::member::{Member, Status};
use shared::session::SessionToken;
use shared::testing::{self, Answer, TestApp, answer};
use shared::token::{RefreshToken, Rotation};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase for ann";
const IP: &str = "203.0.113.7";

/// How a request proves who is calling.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

fn request(auth: Auth<'_>, content_type: Option<&str>, body: &str) -> lambda_http::Request {
    let cookie;
    let bearer;
    let mut headers: Vec<(&str, &str)> = vec![];
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => {
            bearer = format!("Bearer {t}");
            headers.push(("authorization", &bearer));
        }
        Auth::Cookie(t) => {
            cookie = format!("theme=dark; __Host-session={t}");
            headers.push(("cookie", &cookie));
        }
    }
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    testing::request("POST", "/v2/change-password", &headers, body, IP)
}

async fn send(t: &TestApp, req: lambda_http::Request) -> Answer {
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn change(t: &TestApp, auth: Auth<'_>, body: &Value) -> Answer {
    send(
        t,
        request(auth, Some("application/json"), &body.to_string()),
    )
    .await
}

async fn login(t: &TestApp, email: &str, password: &str) -> Answer {
    let req = testing::post_json(
        "/v2/login",
        &json!({"loginId": {"email": email}, "password": password}),
        "198.51.100.200",
    );
    answer(login::handler::handle(&t.app, req, "req-test".into()).await)
}

/// A member with `PASSWORD` and a fresh session; returns the member and the session token.
async fn ann(t: &TestApp) -> (Member, String) {
    let m = t
        .member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let token = session_of(t, &m).await;
    (m, token)
}

async fn session_of(t: &TestApp, m: &Member) -> String {
    let s = t
        .app
        .sessions
        .create(m, t.app.clock.now_ms(), t.app.config.session_ttl_seconds)
        .await
        .unwrap();
    t.app.requests.take();
    s.token
}

async fn is_live(t: &TestApp, token: &str) -> bool {
    let parsed = SessionToken::parse(token).unwrap();
    t.app
        .sessions
        .authenticate(&parsed, t.app.clock.now_ms())
        .await
        .unwrap()
        .is_some()
}

fn rules(a: &Answer) -> Vec<(String, String)> {
    a.json["details"]["validationError"]["fieldViolations"]
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

fn pair(field: &str, rule: &str) -> (String, String) {
    (field.to_owned(), rule.to_owned())
}

#[tokio::test]
async fn the_new_password_works_at_login_and_the_old_one_stops_working() {
    let t = testing::app().await;
    let (m, token) = ann(&t).await;
    t.app.clock.advance_secs(5);
    let a = change(
        &t,
        Auth::Bearer(&token),
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
    assert!(is_live(&t, &token).await);
    let again = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": NEW_PASSWORD, "newPassword": "yet another passphrase here"}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn revoke_other_sessions_ends_every_other_session_and_its_refresh_tokens() {
    let t = testing::app().await;
    let (m, mine) = ann(&t).await;
    let other = session_of(&t, &m).await;
    let third = session_of(&t, &m).await;
    // A session already revoked is not counted again.
    let gone = session_of(&t, &m).await;
    let gone_id = SessionToken::parse(&gone).unwrap().session_id().to_owned();
    t.app
        .sessions
        .revoke(&gone_id, t.app.clock.now_ms())
        .await
        .unwrap();
    // Another member's session is not touched.
    let bob = t
        .member("bob@example.com", Some(PASSWORD), Status::Active)
        .await;
    let bobs = session_of(&t, &bob).await;
    // The other session holds a refresh token (token exchange).
    let now = t.app.clock.now_ms();
    let grant = t
        .app
        .sessions
        .start_refresh_family(&SessionToken::parse(&other).unwrap(), None, now, 3600)
        .await
        .unwrap()
        .unwrap();

    let a = change(
        &t,
        Auth::Bearer(&mine),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json, json!({"revokedSessions": 2}));
    assert!(is_live(&t, &mine).await, "the calling session stays valid");
    assert!(!is_live(&t, &other).await && !is_live(&t, &third).await);
    assert!(is_live(&t, &bobs).await);
    let refreshed = t
        .app
        .sessions
        .rotate_refresh(
            &RefreshToken::parse(&grant.refresh_token).unwrap(),
            None,
            t.app.clock.now_ms(),
            3600,
        )
        .await
        .unwrap();
    assert!(matches!(refreshed, Rotation::Refused), "{refreshed:?}");
    // The revoked session's token is refused here too.
    let b = change(
        &t,
        Auth::Bearer(&other),
        &json!({"newPassword": "whatever comes next 42"}),
    )
    .await;
    assert_eq!((b.status, b.code()), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_change_takes_three_round_trips_besides_argon2() {
    let t = testing::app().await;
    let (m, mine) = ann(&t).await;
    for _ in 0..3 {
        session_of(&t, &m).await;
    }
    let req = request(
        Auth::Bearer(&mine),
        Some("application/json"),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}).to_string(),
    );
    assert!(super::change_password(&t.app, &req, IP).await.is_ok());
    let traffic = t.app.requests.take();
    // Session read; count + member read + sessions query; hash write + 3 revocations.
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (8, 3),
        "{traffic:?}"
    );

    let req = request(
        Auth::Bearer(&mine),
        Some("application/json"),
        &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}).to_string(),
    );
    assert!(super::change_password(&t.app, &req, IP).await.is_ok());
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (4, 3),
        "{traffic:?}"
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_401_and_changes_nothing() {
    let t = testing::app().await;
    let (_, token) = ann(&t).await;
    let hashed = t.app.hasher.hash_time();
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": "not my password at all", "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
    assert_eq!(t.app.hasher.verifications(), 1);
    assert_eq!(t.app.hasher.hash_time(), hashed, "no new hash is made");
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
    assert!(is_live(&t, &token).await);
}

#[tokio::test]
async fn the_current_password_is_required_once_the_session_is_older_than_the_reauth_window() {
    let t = testing::app().await;
    let (_, token) = ann(&t).await;
    // A fresh session may change the password without it.
    t.app.clock.advance_secs(599);
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(t.app.hasher.verifications(), 0);
    // Ten minutes after login it may not; an empty currentPassword is none.
    t.app.clock.advance_secs(1);
    for body in [
        json!({"newPassword": "the second new passphrase"}),
        json!({"newPassword": "the second new passphrase", "currentPassword": ""}),
        json!({"newPassword": "the second new passphrase", "currentPassword": null}),
    ] {
        let a = change(&t, Auth::Bearer(&token), &body).await;
        assert_eq!(a.status, 400, "{}", a.text);
        assert_eq!(
            rules(&a),
            [pair("currentPassword", "REQUIRED_FIELD_MISSING")]
        );
    }
    // Given, it is verified even when it would not be required.
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": "the second new passphrase", "currentPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let fresh = login(&t, "ann@example.com", "the second new passphrase").await;
    let fresh = fresh.json["sessionToken"].as_str().unwrap().to_owned();
    let a = change(
        &t,
        Auth::Bearer(&fresh),
        &json!({"newPassword": "a third passphrase to try", "currentPassword": "a wrong guess here"}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn a_member_without_a_password_sets_one_without_a_current_password() {
    let t = testing::app().await;
    let m = t.member("sso@example.com", None, Status::Active).await;
    let token = session_of(&t, &m).await;
    t.app.clock.advance_secs(86_400);
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(login(&t, "sso@example.com", NEW_PASSWORD).await.status, 200);

    // A current password given for a member without one cannot match.
    let m = t.member("sso2@example.com", None, Status::Active).await;
    let token = session_of(&t, &m).await;
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": NEW_PASSWORD, "currentPassword": "anything at all here"}),
    )
    .await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn no_session_an_expired_or_revoked_one_or_a_forged_token_is_401_unauthenticated() {
    let t = testing::app().await;
    let (m, token) = ann(&t).await;
    let hashed = t.app.hasher.hash_time();
    let body = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD});
    let expired = session_of(&t, &m).await;
    let revoked = session_of(&t, &m).await;
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

    let a = change(&t, Auth::None, &body).await;
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
            let a = change(&t, auth, &body).await;
            assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{bad}");
        }
    }
    // Thirty days on, the session has expired (checked in code, whatever DynamoDB TTL did).
    t.app.clock.advance_secs(t.app.config.session_ttl_seconds);
    let a = change(&t, Auth::Bearer(&expired), &body).await;
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
    let (_, token) = ann(&t).await;
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
    // A bearer token is never sent by a browser on its own: no content type is needed.
    let a = send(
        &t,
        request(
            Auth::Bearer(&token),
            None,
            &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}).to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn an_access_token_of_a_live_session_authenticates() {
    let t = testing::app().await;
    let (m, token) = ann(&t).await;
    let session_id = SessionToken::parse(&token).unwrap().session_id().to_owned();
    let session = t.app.sessions.get(&session_id).await.unwrap().unwrap();
    let access = t.access_token(&session);
    let a = change(
        &t,
        Auth::Bearer(&access),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(login(&t, "ann@example.com", NEW_PASSWORD).await.status, 200);

    // A tampered token, or one whose session has since been revoked, is refused.
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let other = session_of(&t, &m).await;
    let other_id = SessionToken::parse(&other).unwrap().session_id().to_owned();
    let other_access = t.access_token(&t.app.sessions.get(&other_id).await.unwrap().unwrap());
    t.app
        .sessions
        .revoke(&other_id, t.app.clock.now_ms())
        .await
        .unwrap();
    for bad in [tampered.as_str(), other_access.as_str()] {
        let a = change(
            &t,
            Auth::Bearer(bad),
            &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}),
        )
        .await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    }
}

#[tokio::test]
async fn attempts_per_member_are_limited_before_any_argon2_work() {
    let t = testing::app_with(&[("CHANGE_PASSWORD_MAX_ATTEMPTS", "2")]).await;
    let (m, token) = ann(&t).await;
    let wrong = json!({"currentPassword": "a wrong guess here", "newPassword": NEW_PASSWORD});
    // Refusals that need no argon2 (a weak new password) give their attempt back.
    for _ in 0..4 {
        let a = change(
            &t,
            Auth::Bearer(&token),
            &json!({"currentPassword": PASSWORD, "newPassword": "password1234"}),
        )
        .await;
        assert_eq!(rules(&a), [pair("newPassword", "TOO_COMMON")]);
    }
    for _ in 0..2 {
        assert_eq!(change(&t, Auth::Bearer(&token), &wrong).await.status, 401);
    }
    let verified = t.app.hasher.verifications();
    // Even the right password, from another session of the member, is now refused.
    let other = session_of(&t, &m).await;
    let right = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD});
    let a = change(&t, Auth::Bearer(&other), &right).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    let retry: i64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(
        t.app.hasher.verifications(),
        verified,
        "no argon2 work when throttled"
    );
    // Another member is not affected; after the window this one may try again.
    let bob = t
        .member("bob@example.com", Some(PASSWORD), Status::Active)
        .await;
    let bobs = session_of(&t, &bob).await;
    assert_eq!(
        change(
            &t,
            Auth::Bearer(&bobs),
            &json!({"currentPassword": PASSWORD, "newPassword": "bob picks a fresh passphrase"})
        )
        .await
        .status,
        200
    );
    t.app.clock.advance_secs(900);
    let a = change(&t, Auth::Bearer(&token), &right).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn the_new_password_must_pass_the_policy_against_the_members_own_facts() {
    let t = testing::app().await;
    let mut m = Member::new(
        &shared::email::Email::parse("jonathan.smithers@example.com", "e").unwrap(),
        Status::Active,
        t.app.clock.now_ms(),
    );
    m.profile.first_name = Some("Margaret".into());
    let p = shared::password::Password::parse(PASSWORD, "p", 128).unwrap();
    m.password_hash = Some(t.app.hasher.hash(&p).await.unwrap());
    t.app.members.create(&m).await.unwrap();
    let token = session_of(&t, &m).await;
    let hashed = t.app.hasher.hash_time();
    for (password, expected) in [
        ("Margaret", vec!["TOO_SHORT", "TOO_COMMON", "TOO_SIMILAR"]),
        ("jonathan rocks the boat", vec!["TOO_SIMILAR"]),
        ("margaret likes tea 2024", vec!["TOO_SIMILAR"]),
        ("kartoffelpuffer", vec!["TOO_COMMON"]),
        ("11 chars ok", vec!["TOO_SHORT"]),
    ] {
        let a = change(
            &t,
            Auth::Bearer(&token),
            &json!({"currentPassword": PASSWORD, "newPassword": password}),
        )
        .await;
        assert_eq!(a.status, 400, "{password}");
        let got: Vec<String> = rules(&a)
            .into_iter()
            .map(|(f, r)| {
                assert_eq!(f, "newPassword");
                r
            })
            .collect();
        assert_eq!(got, expected, "{password}");
    }
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(t.app.hasher.hash_time(), hashed);
    // Missing current password and a weak new one: both reported.
    t.app.clock.advance_secs(3600);
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": "kartoffelpuffer"}),
    )
    .await;
    assert_eq!(
        rules(&a),
        [
            pair("currentPassword", "REQUIRED_FIELD_MISSING"),
            pair("newPassword", "TOO_COMMON")
        ]
    );
}

#[tokio::test]
async fn malformed_oversize_and_hostile_bodies_are_400() {
    let t = testing::app().await;
    let (_, token) = ann(&t).await;
    let hashed = t.app.hasher.hash_time();
    let json_ct = Some("application/json");
    let emoji = [
        "\u{1F34E}",
        "\u{1F680}",
        "\u{1F436}",
        "\u{1F3B8}",
        "\u{1F9C0}",
        "\u{1F30B}",
        "\u{1F9ED}",
    ];
    let long: String = (0..129).map(|i| emoji[(i * 5 + i / 3) % 7]).collect();
    let cases: Vec<(String, (&str, &str))> = vec![
        ("{\"newPassword\": ".into(), ("body", "MALFORMED_JSON")),
        ("".into(), ("body", "REQUIRED_FIELD_MISSING")),
        ("\"just a string\"".into(), ("body", "INVALID_FORMAT")),
        (
            "{\"newPassword\": 12345678901234}".into(),
            ("body", "INVALID_FORMAT"),
        ),
        (
            "{\"newPassword\": \"a new passphrase\", \"revokeOtherSessions\": \"yes\"}".into(),
            ("body", "INVALID_FORMAT"),
        ),
        (
            format!("{{\"newPassword\": \"{}\"}}", "a".repeat(17 * 1024)),
            ("body", "TOO_LONG"),
        ),
        (
            json!({"currentPassword": PASSWORD}).to_string(),
            ("newPassword", "REQUIRED_FIELD_MISSING"),
        ),
        (
            json!({"newPassword": null}).to_string(),
            ("newPassword", "REQUIRED_FIELD_MISSING"),
        ),
        (
            json!({"newPassword": ""}).to_string(),
            ("newPassword", "REQUIRED_FIELD_MISSING"),
        ),
        (
            json!({"newPassword": long, "currentPassword": PASSWORD}).to_string(),
            ("newPassword", "TOO_LONG"),
        ),
        (
            json!({"newPassword": NEW_PASSWORD, "currentPassword": "x".repeat(10_000)}).to_string(),
            ("currentPassword", "TOO_LONG"),
        ),
    ];
    for (body, (field, rule)) in cases {
        let a = send(&t, request(Auth::Bearer(&token), json_ct, &body)).await;
        assert_eq!(a.status, 400, "{body:.80}: {}", a.text);
        assert_eq!(rules(&a)[0], pair(field, rule), "{body:.80}");
        assert!(
            !a.text.contains("line 1"),
            "serde's message leaks: {}",
            a.text
        );
    }
    // An oversize body is refused before even the session is looked up.
    t.app.requests.take();
    let huge = format!("{{\"newPassword\": \"{}\"}}", "a".repeat(17 * 1024));
    assert_eq!(
        send(&t, request(Auth::Bearer(&token), json_ct, &huge))
            .await
            .code(),
        "TOO_LONG"
    );
    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(t.app.hasher.hash_time(), hashed);
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_blocked_member_cannot_change_the_password() {
    let t = testing::app().await;
    let m = t
        .member("blocked@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let token = session_of(&t, &m).await;
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert_eq!(t.app.hasher.verifications(), 0);
}

#[tokio::test]
async fn of_two_concurrent_changes_exactly_one_wins() {
    let t = testing::app().await;
    let (m, mine) = ann(&t).await;
    let other = session_of(&t, &m).await;
    let run = |token: String, new: &'static str| {
        let app = t.app.clone();
        async move {
            let req = request(
                Auth::Bearer(&token),
                Some("application/json"),
                &json!({"currentPassword": PASSWORD, "newPassword": new}).to_string(),
            );
            answer(super::handle(&app, req, "r".into()).await)
        }
    };
    let (a, b) = tokio::join!(
        run(mine, "first concurrent passphrase"),
        run(other, "second concurrent passphrase"),
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

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let dead = testing::dead_url().await;
    let endpoint = dead.trim_end_matches("/siteverify");
    let t = testing::app_at(endpoint, &[("SKIP_TABLES", "1")]).await;
    let token = format!("st_{}.{}", "b".repeat(22), "A".repeat(43));
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert_eq!(a.header("retry-after"), Some("2"));
    assert!(
        !a.text.contains("127.0.0.1") && !a.text.contains("dispatch"),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    let (m, token) = ann(&t).await;
    let logs = testing::LogCapture::start();
    let none = change(&t, Auth::None, &json!({"newPassword": NEW_PASSWORD})).await;
    let wrong = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": "a wrong guess here", "newPassword": NEW_PASSWORD}),
    )
    .await;
    let weak = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": "password1234"}),
    )
    .await;
    let ok = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        [none.status, wrong.status, weak.status, ok.status],
        [401, 401, 400, 200]
    );
    let text = logs.text();
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        "a wrong guess here",
        "password1234",
        token.as_str(),
        token.split_once('.').unwrap().1,
    ] {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
    let decisions = logs.events("change_password");
    let outcomes = logs.outcomes("change_password");
    assert_eq!(
        outcomes,
        [
            "unauthenticated",
            "invalid_credentials",
            "weak_password",
            "success"
        ]
    );
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert!(
        decisions[1..]
            .iter()
            .all(|d| d["fields"]["member_id"] == m.member_id.as_str())
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let t = testing::app().await;
    let (m, first) = ann(&t).await;
    // The fixtures carry the session token of a session this test stores for ann: a copy of
    // her first session under the fixture's id and secret.
    let req = testing::fixture("change-password.json");
    let raw = shared::http::bearer(&req).unwrap();
    let parsed = SessionToken::parse(&raw).unwrap();
    let first_id = SessionToken::parse(&first).unwrap().session_id().to_owned();
    let mut session = t.app.sessions.get(&first_id).await.unwrap().unwrap();
    session.session_id = parsed.session_id().to_owned();
    session.token_hash = shared::secret::sha256_hex(raw.split_once('.').unwrap().1.as_bytes());
    t.client
        .put_item()
        .table_name(&t.tables.sessions)
        .set_item(Some(serde_dynamo::to_item(&session).unwrap()))
        .send()
        .await
        .unwrap();
    let other = session_of(&t, &m).await;

    let weak = send(&t, testing::fixture("change-password-weak.json")).await;
    assert_eq!(
        (weak.status, weak.code()),
        (400, "TOO_COMMON"),
        "{}",
        weak.text
    );
    let a = send(&t, testing::fixture("change-password.json")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["revokedSessions"], 2, "{}", a.text);
    assert!(!is_live(&t, &other).await && !is_live(&t, &first).await);
}
