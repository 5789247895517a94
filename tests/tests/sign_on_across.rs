//! Sign-on followed by other flows: a member a trusted server signed on sets a first password
//! at change-password and logs in, and an existing member keeps logging in with its password.
//! And the README's development key, which dev.env configures.

mod common;

use std::path::Path;

use serde_json::{Value, json};
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, Auth, TestApp, answer};

const KEY: &str = "sok_test-only-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
const PASSWORD: &str = "correct horse battery staple";

/// An app whose sign-on accepts `KEY`.
async fn app() -> TestApp {
    let hash = sha256_hex(KEY.as_bytes());
    testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hash)]).await
}

/// `POST /v2/sign-on` with this body, from a server holding `KEY`.
async fn sign_on(t: &TestApp, body: &Value) -> Answer {
    let req = Auth::Bearer(KEY).post_json("/v2/sign-on", &body.to_string(), common::IP);
    answer(sign_on::handler::handle(&t.app, req, "req-test".into()).await)
}

#[tokio::test]
async fn a_signed_on_member_sets_a_first_password_at_change_password_and_then_logs_in() {
    let t = app().await;
    let a = sign_on(&t, &json!({"loginId": {"email": "sso@example.com"}})).await;
    assert_eq!(a.status, 200);
    let token = a.json["sessionToken"].as_str().unwrap().to_owned();
    let a = common::login(&t, "sso@example.com", PASSWORD).await;
    assert_eq!(
        (a.status, a.code()),
        (401, "INVALID_CREDENTIALS"),
        "no password yet"
    );
    // Past the re-authentication window: only "no password yet" spares currentPassword.
    t.app
        .clock
        .advance_secs(t.app.config.reauth_window_seconds + 1);
    let a = common::change_password(&t, &token, &json!({"newPassword": PASSWORD})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        t.authenticates(&token).await.is_some(),
        "the sign-on session stays valid"
    );
    let a = common::login(&t, "sso@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
}

/// The login half of sign-on's test that an existing member gets only the given fields.
#[tokio::test]
async fn an_existing_member_whose_profile_sign_on_updates_still_logs_in_with_its_password() {
    let t = app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    t.app.clock.advance_secs(3600);
    let b = json!({
        "loginId": {"email": "ANN@example.com"},
        "profile": {"firstName": "Annie", "picture": "https://cdn.example.com/ann.png", "phonesV2": []},
    });
    let a = sign_on(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["created"], false);
    let a = common::login(&t, "ann@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "the old password still logs in: {}", a.text);
}

/// DESIGN §3.3, §7.12: an attacker registers the victim's address first (ACTIVE, unverified,
/// with the attacker's password) and holds a session and a refresh token; the real owner then
/// arrives through the trusted server with `verifyEmail: true`. The attacker keeps nothing.
#[tokio::test]
async fn the_owners_verified_sign_on_ends_everything_an_unverified_registrant_left_behind() {
    let t = app().await;
    const ATTACKERS: &str = "attacker's own password 1";
    let req = testing::post_json(
        "/v2/register",
        &json!({"loginId": {"email": "victim@corp.example"}, "password": ATTACKERS}),
        "198.51.100.66",
    );
    let a = answer(register::handler::handle(&t.app, req, "r".into()).await);
    assert_eq!(a.status, 200, "{}", a.text);
    let attacker_session = a.json["sessionToken"].as_str().unwrap().to_owned();
    let second_session = common::login(&t, "victim@corp.example", ATTACKERS).await;
    let second_session = second_session.json["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = common::exchange(&t, &attacker_session).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let attacker_refresh = a.json["refresh_token"].as_str().unwrap().to_owned();

    let a = sign_on(
        &t,
        &json!({"loginId": {"email": "Victim@corp.example"}, "verifyEmail": true}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["created"], false);
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    let owner_session = a.json["sessionToken"].as_str().unwrap().to_owned();

    let a = common::login(&t, "victim@corp.example", ATTACKERS).await;
    assert_eq!(
        a.code(),
        "INVALID_CREDENTIALS",
        "the attacker's password is gone"
    );
    for token in [&attacker_session, &second_session] {
        assert!(
            t.authenticates(token).await.is_none(),
            "attacker session ended"
        );
        let a = common::exchange(&t, token).await;
        assert_eq!(a.json["error"], "invalid_grant");
    }
    let a = common::refresh(&t, &attacker_refresh).await;
    assert_eq!(
        a.json["error"], "invalid_grant",
        "the refresh token ended with its session"
    );

    // The owner's session works, and sets a first password without knowing the attacker's.
    let a = common::exchange(&t, &owner_session).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = common::change_password(&t, &owner_session, &json!({"newPassword": PASSWORD})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = common::login(&t, "victim@corp.example", PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text);

    // Once verified, a later verifying sign-on takes nothing away: the owner's password stays.
    let a = sign_on(
        &t,
        &json!({"loginId": {"email": "victim@corp.example"}, "verifyEmail": true}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        common::login(&t, "victim@corp.example", PASSWORD)
            .await
            .status,
        200
    );
}

#[test]
fn the_readme_shows_the_development_key_whose_hash_dev_env_configures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let key = readme
        .split(|c: char| c.is_whitespace() || c == '\'')
        .find(|w| w.starts_with("sok_dev"))
        .expect("the README shows the development key");
    let dev_env = std::fs::read_to_string(root.join("dev.env")).unwrap();
    let configured = dev_env
        .lines()
        .find_map(|l| l.strip_prefix("SIGN_ON_API_KEY_HASHES="))
        .expect("dev.env sets SIGN_ON_API_KEY_HASHES");
    assert_eq!(sha256_hex(key.as_bytes()), configured);
}
