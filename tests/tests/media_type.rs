//! Every POST that takes a JSON body reads it only when it is declared `application/json`
//! (DESIGN §3 intro). A body with no Content-Type, or as `text/plain`, is what any page can
//! make its visitors' browsers send cross-site without a CORS preflight (`fetch` in `no-cors`
//! mode, `sendBeacon`): it is refused with 415 before anything happens — no member created, no
//! counter moved, no argon2 work, no session revoked. The OAuth endpoints also take forms and
//! refuse in RFC 6749's words; logout keeps §3.7's rules for an empty POST.

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, Auth, TestApp, answer};
use shared::token::SESSION_TOKEN_TYPE;

use common::IP;

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase for ann";
const MEMBER: &str = "ann@example.com";
/// The sign-on API key of the test apps (only its SHA-256 is configured).
const SIGN_ON_KEY: &str = "sok_media-type-test-key-0123456789abcdefghijklmnopqrstuvwxyz";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The Content-Types every endpoint is tried with, and whether its body is to be read.
const MEDIA_TYPES: [(Option<&str>, bool); 4] = [
    (None, false),
    (Some("text/plain"), false),
    (Some("application/json"), true),
    (Some("Application/JSON; charset=UTF-8"), true),
];

/// A JSON POST endpoint, with the caller and body that make it succeed.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Login,
    Register,
    SignOn,
    /// Authenticated by a bearer session token, revoking the member's other session.
    ChangePassword,
    /// Authenticated by the session cookie alone, revoking the member's other session.
    ChangePasswordByCookie,
}

const ENDPOINTS: [Endpoint; 5] = [
    Endpoint::Login,
    Endpoint::Register,
    Endpoint::SignOn,
    Endpoint::ChangePassword,
    Endpoint::ChangePasswordByCookie,
];

/// A fresh app that accepts `SIGN_ON_KEY`, with ann signed in twice: `mine` is the session
/// a request comes from, `other` one that change password can revoke.
struct Scene {
    t: TestApp,
    mine: String,
    other: String,
}

async fn scene() -> Scene {
    let hash = sha256_hex(SIGN_ON_KEY.as_bytes());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", hash.as_str())]).await;
    let (member, mine) = t.signed_in(MEMBER, PASSWORD).await;
    let other = t.session_token(&member).await;
    Scene { t, mine, other }
}

impl Endpoint {
    /// Sends the request that succeeds when its body is read, declared as `content_type`.
    async fn send(self, s: &Scene, content_type: Option<&str>) -> Answer {
        let (path, auth, body) = match self {
            Endpoint::Login => (
                "/v2/login",
                Auth::None,
                json!({"loginId": {"email": MEMBER}, "password": PASSWORD}),
            ),
            Endpoint::Register => (
                "/v2/register",
                Auth::None,
                json!({"loginId": {"email": "new@example.com"}, "password": PASSWORD}),
            ),
            Endpoint::SignOn => (
                "/v2/sign-on",
                Auth::Bearer(SIGN_ON_KEY),
                json!({"loginId": {"email": "sso@example.com"}, "verifyEmail": true}),
            ),
            Endpoint::ChangePassword | Endpoint::ChangePasswordByCookie => (
                "/v2/change-password",
                match self {
                    Endpoint::ChangePassword => Auth::Bearer(&s.mine),
                    _ => Auth::Cookie(&s.mine),
                },
                json!({
                    "currentPassword": PASSWORD,
                    "newPassword": NEW_PASSWORD,
                    "revokeOtherSessions": true,
                }),
            ),
        };
        let req = auth.post_as(path, content_type, &body.to_string(), IP);
        let (t, id) = (&s.t, "req-test".to_owned());
        answer(match self {
            Endpoint::Login => login::handler::handle(&t.app, req, id).await,
            Endpoint::Register => register::handler::handle(&t.app, req, id).await,
            Endpoint::SignOn => sign_on::handler::handle(&t.app, req, id).await,
            Endpoint::ChangePassword | Endpoint::ChangePasswordByCookie => {
                change_password::handler::handle(&t.app, req, id).await
            }
        })
    }
}

/// Everything a request could have changed: every item of the three tables (members,
/// sessions with their refresh tokens, counters) and the argon2 work done so far.
async fn state(t: &TestApp) -> Vec<String> {
    let mut state = vec![];
    for table in [&t.tables.members, &t.tables.sessions, &t.tables.counters] {
        for item in t.items(table).await {
            let item: BTreeMap<_, _> = item.into_iter().collect();
            state.push(format!("{table}: {item:?}"));
        }
    }
    state.sort();
    state.push(format!("verifications: {}", t.app.hasher.verifications()));
    state.push(format!("hashing: {:?}", t.app.hasher.hash_time()));
    state
}

#[tokio::test]
async fn a_json_post_without_the_json_content_type_is_refused_and_changes_nothing() {
    for endpoint in ENDPOINTS {
        for (content_type, read) in MEDIA_TYPES {
            let case = format!("{endpoint:?} with Content-Type {content_type:?}");
            let s = scene().await;
            let before = state(&s.t).await;
            let a = endpoint.send(&s, content_type).await;
            if read {
                assert_eq!(a.status, 200, "{case}: {}", a.text);
                assert_ne!(state(&s.t).await, before, "{case}: the request took effect");
            } else {
                assert_eq!(
                    (a.status, a.code()),
                    (415, "UNSUPPORTED_MEDIA_TYPE"),
                    "{case}: {}",
                    a.text
                );
                assert_eq!(state(&s.t).await, before, "{case}: nothing happened");
                assert!(
                    a.header("set-cookie").is_none(),
                    "{case}: no session cookie"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_refused_body_creates_no_member_moves_no_counter_and_revokes_no_session() {
    // The effects the brief names, checked one by one beside the whole-state comparison above.
    for content_type in [None, Some("text/plain")] {
        let s = scene().await;
        let a = Endpoint::Register.send(&s, content_type).await;
        assert_eq!(a.status, 415, "register, {content_type:?}");
        let a = Endpoint::SignOn.send(&s, content_type).await;
        assert_eq!(a.status, 415, "sign-on, {content_type:?}");
        assert_eq!(
            s.t.items(&s.t.tables.members).await.len(),
            1,
            "only ann is a member, {content_type:?}"
        );

        let a = Endpoint::Login.send(&s, content_type).await;
        assert_eq!(a.status, 415, "login, {content_type:?}");
        assert!(
            s.t.items(&s.t.tables.counters).await.is_empty(),
            "no counter moved, {content_type:?}"
        );
        assert_eq!(s.t.app.hasher.verifications(), 0, "no argon2 work");

        let a = Endpoint::ChangePassword.send(&s, content_type).await;
        assert_eq!(a.status, 415, "change password, {content_type:?}");
        assert!(
            s.t.authenticates(&s.other).await.is_some(),
            "the other session is live, {content_type:?}"
        );
        assert_eq!(common::login(&s.t, MEMBER, PASSWORD).await.status, 200);
    }
}

/// An OAuth request of the token function (`/oauth2/token` or `/oauth2/revoke`).
#[derive(Clone, Copy, Debug)]
enum OAuth {
    Exchange,
    Refresh,
    Revoke,
}

/// What the token function answers to `kind` with these parameters declared as
/// `content_type`: JSON for a JSON type (or none), a form for the form type.
async fn oauth(
    t: &TestApp,
    kind: OAuth,
    params: &[(&str, &str)],
    content_type: Option<&str>,
) -> Answer {
    let path = match kind {
        OAuth::Revoke => "/oauth2/revoke",
        _ => "/oauth2/token",
    };
    let body = match content_type {
        Some(testing::FORM) => url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish(),
        _ => Value::Object(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        )
        .to_string(),
    };
    let req = Auth::None.post_as(path, content_type, &body, IP);
    answer(token::handler::handle(&t.app, req, "req-test".into()).await)
}

#[tokio::test]
async fn the_oauth_endpoints_read_json_and_forms_and_refuse_other_bodies_as_invalid_requests() {
    let mut media_types = MEDIA_TYPES.to_vec();
    media_types.push((Some(testing::FORM), true));
    media_types.push((Some("text/plain; charset=utf-8"), false));
    for kind in [OAuth::Exchange, OAuth::Refresh, OAuth::Revoke] {
        for &(content_type, read) in &media_types {
            let case = format!("{kind:?} with Content-Type {content_type:?}");
            let s = scene().await;
            let refresh_token = common::exchange(&s.t, &s.mine).await.json["refresh_token"]
                .as_str()
                .expect("the exchange gives a refresh token")
                .to_owned();
            let params: Vec<(&str, &str)> = match kind {
                OAuth::Exchange => vec![
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &s.mine),
                    ("subject_token_type", SESSION_TOKEN_TYPE),
                ],
                OAuth::Refresh => vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                ],
                OAuth::Revoke => vec![("token", &refresh_token)],
            };
            let before = state(&s.t).await;
            let a = oauth(&s.t, kind, &params, content_type).await;
            if read {
                assert_eq!(a.status, 200, "{case}: {}", a.text);
                assert_ne!(state(&s.t).await, before, "{case}: the request took effect");
            } else {
                // RFC 6749 §5.2 has no 415: a body it cannot read is an invalid request.
                assert_eq!(
                    (a.status, a.json["error"].as_str()),
                    (400, Some("invalid_request")),
                    "{case}: {}",
                    a.text
                );
                assert_eq!(state(&s.t).await, before, "{case}: nothing happened");
                // The refresh token was neither rotated nor revoked: it still refreshes once.
                let again = common::refresh(&s.t, &refresh_token).await;
                assert_eq!(again.status, 200, "{case}: {}", again.text);
            }
        }
    }
}

/// How a logout POST proves whose session it ends.
#[derive(Clone, Copy, Debug)]
enum Credential {
    Cookie,
    Bearer,
}

#[tokio::test]
async fn logout_reads_a_body_only_as_json_and_keeps_its_rules_for_an_empty_post() {
    const BODY: &str = r#"{"clientId": "spa"}"#;
    // (credential, Content-Type, body, status, whether the session is revoked)
    let cases = [
        // A body: read only as JSON. The cookie is what a cross-site page can make a
        // browser send, so a cookie-only request is refused before anything is revoked.
        (Credential::Cookie, None, BODY, 415, false),
        (Credential::Cookie, Some("text/plain"), BODY, 415, false),
        (
            Credential::Cookie,
            Some("application/json"),
            BODY,
            200,
            true,
        ),
        (
            Credential::Cookie,
            Some("Application/JSON; charset=UTF-8"),
            BODY,
            200,
            true,
        ),
        // No page can attach a bearer token without a preflight: the session named is ended,
        // and the unreadable body is then refused, as any bad parameter of a logout is.
        (Credential::Bearer, None, BODY, 415, true),
        (Credential::Bearer, Some("text/plain"), BODY, 415, true),
        (
            Credential::Bearer,
            Some("application/json"),
            BODY,
            200,
            true,
        ),
        (
            Credential::Bearer,
            Some("Application/JSON; charset=UTF-8"),
            BODY,
            200,
            true,
        ),
        // An empty POST (§3.7): by cookie alone it must still say JSON; by bearer it need not.
        (Credential::Cookie, None, "", 415, false),
        (Credential::Cookie, Some("text/plain"), "", 415, false),
        (Credential::Cookie, Some("application/json"), "", 200, true),
        (Credential::Bearer, None, "", 200, true),
        (Credential::Bearer, Some("text/plain"), "", 200, true),
    ];
    for (credential, content_type, body, status, revoked) in cases {
        let case = format!("{credential:?}, Content-Type {content_type:?}, body {body:?}");
        let s = scene().await;
        let auth = match credential {
            Credential::Cookie => Auth::Cookie(&s.mine),
            Credential::Bearer => Auth::Bearer(&s.mine),
        };
        let mut headers = vec![("accept", "application/json")];
        headers.extend(content_type.map(|ct| ("content-type", ct)));
        let req = auth.post("/v1/logout", &headers, body, IP);
        let a = answer(logout::handler::handle(&s.t.app, req, "req-test".into()).await);
        assert_eq!(a.status, status, "{case}: {}", a.text);
        if status == 415 {
            assert_eq!(a.code(), "UNSUPPORTED_MEDIA_TYPE", "{case}");
        }
        assert_eq!(
            s.t.authenticates(&s.mine).await.is_none(),
            revoked,
            "{case}: revoked"
        );
        assert!(
            s.t.authenticates(&s.other).await.is_some(),
            "{case}: another session of the member is untouched"
        );
    }
}
